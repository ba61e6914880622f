//! Equal receive buffers for engines whose packet sockets have no buffer option: reference
//! Click's `FromDevice(METHOD LINUX)` receives into a socket sized by `net.core.rmem_default`,
//! which cannot be set per namespace (read-only outside the host's namespace), while coo-click
//! and FastClick size their rings themselves. After such an engine has started, the agent
//! takes a duplicate of each of its packet sockets (`pidfd_getfd`) and forces SO_RCVBUF and
//! SO_SNDBUF to the run's buffer size, so every engine of a comparison gets the same kernel
//! buffer (issue #14).
//!
//! `pidfd_getfd` on a process of another user needs CAP_SYS_PTRACE: the agent keeps it in
//! its permitted set only and raises it on the calling thread for this call alone.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use caps::{CapSet, Capability};

/// What forcing the buffers did (no socket: an engine that opened no packet socket, such as
/// a Click binary given a function without devices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forced {
    /// Packet sockets found and resized.
    pub sockets: usize,
    /// SO_RCVBUF the kernel reports afterwards (bytes, the smallest over the sockets; 0
    /// without sockets).
    pub rcvbuf: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SockBufError {
    #[error("engine {pid}: {what}: {source}")]
    Os {
        pid: u32,
        what: &'static str,
        source: std::io::Error,
    },
}

fn os(pid: u32, what: &'static str) -> impl FnOnce(std::io::Error) -> SockBufError {
    move |source| SockBufError::Os { pid, what, source }
}

fn last(pid: u32, what: &'static str) -> SockBufError {
    os(pid, what)(std::io::Error::last_os_error())
}

/// Raises CAP_SYS_PTRACE on this thread while alive (when the agent holds it at all).
struct PtraceRaised(bool);

impl PtraceRaised {
    fn raise() -> Self {
        let held =
            caps::has_cap(None, CapSet::Permitted, Capability::CAP_SYS_PTRACE).unwrap_or(false);
        PtraceRaised(
            held && caps::raise(None, CapSet::Effective, Capability::CAP_SYS_PTRACE).is_ok(),
        )
    }
}

impl Drop for PtraceRaised {
    fn drop(&mut self) {
        if self.0 {
            let _ = caps::drop(None, CapSet::Effective, Capability::CAP_SYS_PTRACE);
        }
    }
}

fn int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int) -> std::io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid pointers to an int and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(v)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn set_int_opt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: valid pointer to an int and its length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Forces SO_RCVBUF and SO_SNDBUF of every AF_PACKET socket of process `pid` to `bytes`
/// (what the kernel reports back, it counts its own overhead in it). Blocking; call it
/// from a blocking thread.
pub fn force_packet_buffers(pid: u32, bytes: usize) -> Result<Forced, SockBufError> {
    let _cap = PtraceRaised::raise();
    // SAFETY: pidfd_open(pid, 0) returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if raw < 0 {
        return Err(last(pid, "pidfd_open"));
    }
    // SAFETY: a fresh fd we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as RawFd) };
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(os(pid, "list fds"))?;
    // The kernel doubles the value given (its bookkeeping overhead): ask for half.
    let ask = libc::c_int::try_from(bytes / 2).unwrap_or(libc::c_int::MAX);
    let mut forced = Forced {
        sockets: 0,
        rcvbuf: usize::MAX,
    };
    for entry in dir.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .map(|l| l.to_string_lossy().starts_with("socket:"))
            .unwrap_or(false);
        let Some(target_fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: pidfd_getfd(pidfd, fd, 0) returns a new fd (a duplicate) or -1.
        let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target_fd, 0) };
        if dup < 0 {
            return Err(last(pid, "pidfd_getfd (needs CAP_SYS_PTRACE)"));
        }
        // SAFETY: a fresh fd we own; closing it leaves the engine's socket open.
        let sock = unsafe { OwnedFd::from_raw_fd(dup as RawFd) };
        let fd = sock.as_raw_fd();
        if int_opt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN).ok() != Some(libc::AF_PACKET) {
            continue;
        }
        set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, ask)
            .map_err(os(pid, "SO_RCVBUFFORCE"))?;
        set_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, ask)
            .map_err(os(pid, "SO_SNDBUFFORCE"))?;
        let got = int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).map_err(os(pid, "SO_RCVBUF"))?;
        forced.sockets += 1;
        forced.rcvbuf = forced.rcvbuf.min(usize::try_from(got).unwrap_or(0));
    }
    if forced.sockets == 0 {
        forced.rcvbuf = 0;
    }
    Ok(forced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizes_a_packet_socket_of_this_process() {
        // SAFETY: plain socket(2) call.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        if raw < 0 {
            println!("skipped: no AF_PACKET socket here (needs CAP_NET_RAW)");
            return;
        }
        // SAFETY: fresh fd.
        let sock = unsafe { OwnedFd::from_raw_fd(raw) };
        let forced = force_packet_buffers(std::process::id(), 4 << 20).unwrap();
        assert!(forced.sockets >= 1);
        assert_eq!(forced.rcvbuf, 4 << 20);
        assert_eq!(
            int_opt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF).unwrap(),
            4 << 20
        );
    }
}
