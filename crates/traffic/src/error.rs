/// Errors of the traffic generator and sink.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("invalid trial specification: {0}")]
    Spec(String),
    #[error(transparent)]
    Netns(#[from] netsys::NetnsError),
    /// Opening or driving a packet socket.
    #[error(transparent)]
    Packet(#[from] netsys::IoError),
    #[error("interface {ifname}: {source}")]
    Interface {
        ifname: String,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Os {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{0} thread panicked")]
    Panicked(&'static str),
    #[error("sink on {0} did not become ready")]
    SinkNotReady(String),
}

pub type Result<T, E = TrafficError> = std::result::Result<T, E>;
