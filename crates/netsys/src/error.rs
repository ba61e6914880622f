//! Errors of the packet sockets.

use std::io;

/// An error opening or driving a packet socket.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The interface name is not a valid Linux interface name.
    #[error(transparent)]
    InvalidIfName(#[from] netwire::IfNameError),
    /// No interface of that name exists in the current network namespace.
    #[error("no interface named {0:?} in this network namespace")]
    NoSuchInterface(String),
    /// A system call failed.
    #[error("{call} on {ifname:?}: {source}")]
    Sys {
        call: &'static str,
        ifname: String,
        #[source]
        source: io::Error,
    },
    /// A ring geometry that the kernel would reject.
    #[error("bad ring geometry: {0}")]
    BadRing(String),
}

impl IoError {
    pub(crate) fn sys(call: &'static str, ifname: &str) -> Self {
        IoError::Sys {
            call,
            ifname: ifname.to_owned(),
            source: io::Error::last_os_error(),
        }
    }

    /// True when the error is "permission denied" (not root / no CAP_NET_RAW).
    pub fn is_permission(&self) -> bool {
        matches!(self, IoError::Sys { source, .. }
            if source.kind() == io::ErrorKind::PermissionDenied
               || source.raw_os_error() == Some(libc::EPERM))
    }
}
