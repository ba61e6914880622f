//! Thin, checked wrappers around the few system calls the packet sockets need.

use std::ffi::CString;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

use crate::error::IoError;
use netwire::IfName;

/// The index of interface `ifname` in the calling thread's network namespace.
pub fn ifindex(ifname: &IfName) -> Result<u32, IoError> {
    // IfName holds no NUL (printable ASCII only), so this cannot fail.
    let c =
        CString::new(ifname.as_str()).map_err(|_| IoError::NoSuchInterface(ifname.to_string()))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(IoError::NoSuchInterface(ifname.to_string()))
    } else {
        Ok(idx)
    }
}

/// `ETH_P_ALL` in network byte order, as `bind` and `socket` want it.
pub(crate) const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// Opens a non-blocking, close-on-exec AF_PACKET SOCK_RAW socket with protocol 0, so it
/// receives nothing until it is bound with a protocol.
pub(crate) fn packet_socket(ifname: &IfName) -> Result<OwnedFd, IoError> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(IoError::sys("socket(AF_PACKET)", ifname.as_str()));
    }
    // SAFETY: `fd` is a fresh descriptor we own exclusively.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, value)`.
pub(crate) fn setsockopt<T>(
    fd: &OwnedFd,
    level: i32,
    name: i32,
    value: &T,
    call: &'static str,
    ifname: &IfName,
) -> Result<(), IoError> {
    // SAFETY: `value` points to a live `T` of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(IoError::sys(call, ifname.as_str()))
    } else {
        Ok(())
    }
}

/// Binds a packet socket to `ifindex`; `protocol_be` 0 means "send only".
pub(crate) fn bind_packet(
    fd: &OwnedFd,
    ifindex: u32,
    protocol_be: u16,
    ifname: &IfName,
) -> Result<(), IoError> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = protocol_be;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll and we pass its exact size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(IoError::sys("bind(AF_PACKET)", ifname.as_str()))
    } else {
        Ok(())
    }
}

/// Puts the interface in promiscuous mode for as long as `fd` is open (the kernel drops the
/// membership when the socket closes, so no cleanup is needed).
pub(crate) fn add_promisc(fd: &OwnedFd, ifindex: u32, ifname: &IfName) -> Result<(), IoError> {
    // SAFETY: packet_mreq is plain old data; all-zero is valid.
    let mut mreq: libc::packet_mreq = unsafe { mem::zeroed() };
    mreq.mr_ifindex = ifindex as i32;
    mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_ADD_MEMBERSHIP,
        &mreq,
        "setsockopt(PACKET_ADD_MEMBERSHIP)",
        ifname,
    )
}

/// Reads and resets the kernel's `PACKET_STATISTICS` (packets seen, packets dropped).
pub(crate) fn packet_stats(fd: &OwnedFd) -> Option<(u64, u64)> {
    // V3 stats are a superset of V1/V2 ones; the kernel fills what fits.
    // SAFETY: plain old data, all-zero valid.
    let mut st: libc::tpacket_stats_v3 = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
    // SAFETY: `st` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats_v3).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some((u64::from(st.tp_packets), u64::from(st.tp_drops)))
}

/// Waits until `fd` is readable or `timeout_ms` passes (-1: forever). Returns readiness.
pub fn wait_readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    rc > 0 && pfd.revents & (libc::POLLIN | libc::POLLERR) != 0
}

/// A shared memory mapping of a packet ring, unmapped on drop.
pub(crate) struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mmap {
    pub(crate) fn ring(fd: &OwnedFd, len: usize, ifname: &IfName) -> Result<Self, IoError> {
        // SAFETY: mapping a packet ring the kernel just set up on `fd`; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(IoError::sys("mmap(packet ring)", ifname.as_str()));
        }
        let ptr = NonNull::new(p.cast::<u8>())
            .ok_or_else(|| IoError::BadRing("mmap returned NULL".into()))?;
        Ok(Mmap { ptr, len })
    }

    pub(crate) fn base(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: we own this mapping and nothing refers to it after drop.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

// SAFETY: the mapping is owned memory; access is synchronised through the owning ring,
// which is itself used by one thread at a time (&mut self methods).
unsafe impl Send for Mmap {}
