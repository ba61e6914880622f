use std::path::PathBuf;

/// Errors of the traffic generator and sink.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("invalid trial specification: {0}")]
    Spec(String),
    #[error("cannot enter network namespace {path}: {source}")]
    Netns {
        path: PathBuf,
        source: std::io::Error,
    },
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

/// Wraps the last OS error with a short description.
pub(crate) fn os(what: &'static str) -> TrafficError {
    TrafficError::Os {
        what,
        source: std::io::Error::last_os_error(),
    }
}
