//! Sending frames on an interface in batches with `sendmmsg(2)`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use netwire::{IfName, MacAddr};

use crate::error::IoError;
use crate::sys;

/// How to open a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxConfig {
    /// Most frames per `sendmmsg` call.
    pub batch: usize,
    /// Skip the qdisc layer (`PACKET_QDISC_BYPASS`); frames then never queue in the kernel.
    pub qdisc_bypass: bool,
}

impl Default for TxConfig {
    fn default() -> Self {
        TxConfig {
            batch: 64,
            qdisc_bypass: true,
        }
    }
}

/// Send-side counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxCounters {
    /// Frames the kernel accepted.
    pub packets: u64,
    /// Bytes of those frames.
    pub bytes: u64,
    /// Frames refused with a hard error (too big, link down, ...) and therefore dropped.
    pub errors: u64,
    /// Calls that found the device busy (`EAGAIN`/`ENOBUFS`); the caller keeps the frames.
    pub busy: u64,
}

/// A sender bound to one interface of the calling thread's network namespace.
pub struct PacketTx {
    ifname: IfName,
    fd: OwnedFd,
    batch: usize,
    iov: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
    counters: TxCounters,
}

// SAFETY: the raw pointers in `iov`/`msgs` are scratch space rewritten on every call and
// never dereferenced outside `send_batch`, so moving the sender between threads is sound.
unsafe impl Send for PacketTx {}

impl PacketTx {
    /// Opens a send-only packet socket on `ifname` (bound with protocol 0: it receives nothing).
    pub fn open(ifname: &IfName, cfg: &TxConfig) -> Result<Self, IoError> {
        let ifindex = sys::ifindex(ifname)?;
        let fd = sys::packet_socket(ifname)?;
        if cfg.qdisc_bypass {
            let one: libc::c_int = 1;
            sys::setsockopt(
                &fd,
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                &one,
                "setsockopt(PACKET_QDISC_BYPASS)",
                ifname,
            )?;
        }
        sys::bind_packet(&fd, ifindex, 0, ifname)?;
        let batch = cfg.batch.clamp(1, 1024);
        Ok(PacketTx {
            ifname: ifname.clone(),
            fd,
            batch,
            iov: Vec::with_capacity(batch),
            msgs: Vec::with_capacity(batch),
            counters: TxCounters::default(),
        })
    }

    /// The interface this sender is bound to.
    pub fn ifname(&self) -> &IfName {
        &self.ifname
    }

    /// Most frames per system call.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Sends a prefix of `frames` (at most `batch()` per system call, looping over the rest).
    /// Returns how many leading frames are done: sent, or dropped after a hard error (counted
    /// in `errors`). Fewer than `frames.len()` means the device was busy; retry the rest later.
    pub fn send_batch<T: AsRef<[u8]>>(&mut self, frames: &[T]) -> usize {
        self.send_batch_with(frames, |f| f.as_ref())
    }

    /// [`send_batch`](Self::send_batch) for items whose bytes `data` extracts (e.g. packets).
    pub fn send_batch_with<T>(&mut self, frames: &[T], data: impl Fn(&T) -> &[u8]) -> usize {
        let mut done = 0;
        while done < frames.len() {
            let chunk = &frames[done..frames.len().min(done + self.batch)];
            match self.try_send_with(chunk, &data) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if is_busy(&e) => {
                    self.counters.busy += 1;
                    break;
                }
                Err(e) => {
                    // The first frame of the chunk was refused; drop it and go on.
                    tracing::debug!(ifname = %self.ifname, error = %e, "sendmmsg dropped a frame");
                    self.counters.errors += 1;
                    done += 1;
                }
            }
        }
        done
    }

    /// One `sendmmsg` call with up to `batch()` leading frames of `frames`: how many the
    /// kernel took, or its error (busy: [`is_busy`]; else the first frame was refused). For
    /// callers with their own retry policy; counters count what was sent.
    pub fn try_send<T: AsRef<[u8]>>(&mut self, frames: &[T]) -> io::Result<usize> {
        self.try_send_with(frames, |f| f.as_ref())
    }

    /// [`try_send`](Self::try_send) for items whose bytes `data` extracts.
    pub fn try_send_with<T>(
        &mut self,
        frames: &[T],
        data: impl Fn(&T) -> &[u8],
    ) -> io::Result<usize> {
        let chunk = &frames[..frames.len().min(self.batch)];
        self.iov.clear();
        self.msgs.clear();
        for f in chunk {
            let f = data(f);
            self.iov.push(libc::iovec {
                iov_base: f.as_ptr() as *mut libc::c_void,
                iov_len: f.len(),
            });
        }
        for i in 0..chunk.len() {
            // SAFETY: mmsghdr is plain old data; all-zero (no name, no control) is valid.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            // SAFETY: `i` < iov.len(); iov is not reallocated until the call below returns.
            m.msg_hdr.msg_iov = unsafe { self.iov.as_mut_ptr().add(i) };
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        // SAFETY: every mmsghdr points at one iovec describing a live frame borrowed from
        // `chunk` for the duration of the call; the socket is bound so no address is needed.
        let rc = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                self.msgs.as_mut_ptr(),
                self.msgs.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = rc as usize;
        self.counters.packets += n as u64;
        self.counters.bytes += self.iov[..n].iter().map(|v| v.iov_len as u64).sum::<u64>();
        Ok(n)
    }

    /// The interface's MAC address (`SIOCGIFHWADDR`).
    pub fn hw_addr(&self) -> Result<MacAddr, IoError> {
        // SAFETY: ifreq is plain old data; all-zero is valid.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        // IfName is at most 15 bytes, so the name and its NUL fit ifr_name (16).
        for (d, s) in req.ifr_name.iter_mut().zip(self.ifname.as_str().bytes()) {
            *d = s as libc::c_char;
        }
        // SAFETY: SIOCGIFHWADDR fills ifr_hwaddr of a valid ifreq.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
        if rc < 0 {
            return Err(IoError::sys("ioctl(SIOCGIFHWADDR)", self.ifname.as_str()));
        }
        // SAFETY: the kernel filled the hwaddr member of the union.
        let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (m, b) in mac.iter_mut().zip(sa.sa_data.iter()) {
            *m = *b as u8;
        }
        Ok(MacAddr(mac))
    }

    /// Blocks up to `timeout_ms` until the socket can take more frames.
    pub fn wait_writable(&self, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) > 0 }
    }

    /// Counters so far.
    pub fn counters(&self) -> TxCounters {
        self.counters
    }

    /// Resets the counters to zero.
    pub fn reset_counters(&mut self) {
        self.counters = TxCounters::default();
    }
}

impl AsRawFd for PacketTx {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// True for the errors that mean "device busy, try again" (`EAGAIN`, `ENOBUFS`, `EINTR`).
pub fn is_busy(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::EINTR)
    )
}
