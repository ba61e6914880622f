//! Thin, RAII-wrapped OS calls: network namespaces, AF_PACKET sockets, interface facts, clocks.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::error::{os, Result, TrafficError};
use crate::frame::MacAddr;

/// Moves the calling thread into the network namespace at `path` (e.g. /run/netns/NAME).
/// Only this thread changes namespace; the caller runs it on a thread of its own.
pub fn enter_netns(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|source| TrafficError::Netns {
        path: path.into(),
        source,
    })?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| TrafficError::Netns {
        path: path.into(),
        source: std::io::Error::from_raw_os_error(e as i32),
    })
}

/// Pins the calling thread to one CPU (best effort is not good enough for benchmarks: errors
/// are returned).
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    pin_to_cpus(&[cpu])
}

fn cpu_set(cpus: &[usize]) -> Result<nix::sched::CpuSet> {
    if cpus.is_empty() {
        return Err(TrafficError::Spec("empty CPU set".into()));
    }
    let mut set = nix::sched::CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)
            .map_err(|e| TrafficError::Spec(format!("cpu {cpu}: {e}")))?;
    }
    Ok(set)
}

fn set_affinity(tid: i32, set: &nix::sched::CpuSet) -> nix::Result<()> {
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(tid), set)
}

/// Pins the calling thread to a set of CPUs (errors are returned, e.g. a CPU that is offline or
/// outside the cgroup's cpuset).
pub fn pin_to_cpus(cpus: &[usize]) -> Result<()> {
    let set = cpu_set(cpus)?;
    set_affinity(0, &set).map_err(|e| TrafficError::Os {
        what: "sched_setaffinity",
        source: std::io::Error::from_raw_os_error(e as i32),
    })
}

/// Sets the CPU affinity of every thread of process `pid` (each entry of /proc/PID/task), so
/// threads and children it creates later inherit it. Threads that exit meanwhile are skipped.
pub fn set_process_affinity(pid: i32, cpus: &[usize]) -> Result<()> {
    let set = cpu_set(cpus)?;
    let dir = format!("/proc/{pid}/task");
    let entries = std::fs::read_dir(&dir).map_err(|source| TrafficError::Os {
        what: "read /proc/PID/task",
        source,
    })?;
    let mut done = 0;
    for entry in entries.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok())
        else {
            continue;
        };
        match set_affinity(tid, &set) {
            Ok(()) => done += 1,
            Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => {
                return Err(TrafficError::Os {
                    what: "sched_setaffinity",
                    source: std::io::Error::from_raw_os_error(e as i32),
                })
            }
        }
    }
    if done == 0 {
        return Err(TrafficError::Os {
            what: "sched_setaffinity (no thread left)",
            source: std::io::Error::from_raw_os_error(libc::ESRCH),
        });
    }
    Ok(())
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME in nanoseconds (kernel packet timestamps use it).
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; these clocks always exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// An AF_PACKET raw socket bound to one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    pub ifindex: i32,
    pub ifname: String,
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

const ETH_P_ALL: u16 = 0x0003;

impl PacketSocket {
    /// Opens a socket on `ifname` in the current thread's namespace. `receive` false binds
    /// with protocol 0, so the socket never queues received frames (a pure sender).
    pub fn open(ifname: &str, receive: bool) -> Result<PacketSocket> {
        let proto = if receive { ETH_P_ALL.to_be() } else { 0 };
        // SAFETY: plain socket(2) call.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(proto),
            )
        };
        if raw < 0 {
            return Err(os("socket(AF_PACKET)"));
        }
        // SAFETY: raw is a fresh, owned descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let ifindex = ifindex(ifname)?;
        let sock = PacketSocket {
            fd,
            ifindex,
            ifname: ifname.to_string(),
        };
        if receive {
            // Bound later, after an optional ring is set up, so the ring sees every frame.
        } else {
            sock.bind(0)?;
        }
        Ok(sock)
    }

    pub fn bind(&self, proto: u16) -> Result<()> {
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid initial value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = self.ifindex;
        // SAFETY: pointer and length describe `sll`.
        let rc = unsafe {
            libc::bind(
                self.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(TrafficError::Interface {
                ifname: self.ifname.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    pub fn bind_all(&self) -> Result<()> {
        self.bind(ETH_P_ALL.to_be())
    }

    pub fn set_int_opt(&self, level: i32, name: i32, value: i32, what: &'static str) -> Result<()> {
        // SAFETY: pointer and length describe `value`.
        let rc = unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                level,
                name,
                (&value as *const i32).cast(),
                4,
            )
        };
        if rc < 0 {
            return Err(os(what));
        }
        Ok(())
    }

    /// Sends straight to the driver, skipping the qdisc (faster; drops surface as ENOBUFS).
    pub fn bypass_qdisc(&self) -> Result<()> {
        self.set_int_opt(
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            1,
            "PACKET_QDISC_BYPASS",
        )
    }

    /// The interface's MAC address.
    pub fn mac(&self) -> Result<MacAddr> {
        // SAFETY: ifreq is plain old data.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        copy_ifname(&mut req, &self.ifname)?;
        // SAFETY: SIOCGIFHWADDR fills ifr_hwaddr of a valid ifreq.
        let rc = unsafe { libc::ioctl(self.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
        if rc < 0 {
            return Err(TrafficError::Interface {
                ifname: self.ifname.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: the kernel filled the hwaddr member of the union.
        let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (m, b) in mac.iter_mut().zip(sa.sa_data.iter()) {
            *m = *b as u8;
        }
        Ok(MacAddr(mac))
    }

    /// Frames the kernel dropped because this socket's buffer or ring was full (resets on read).
    pub fn take_drops(&self) -> Result<u64> {
        // tpacket_stats_v3 is the largest variant; the kernel fills what applies.
        let mut stats = [0u32; 3];
        let mut len: libc::socklen_t = std::mem::size_of_val(&stats) as u32;
        // SAFETY: pointer and length describe `stats`.
        let rc = unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                stats.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(os("PACKET_STATISTICS"));
        }
        Ok(u64::from(stats[1]))
    }
}

fn copy_ifname(req: &mut libc::ifreq, ifname: &str) -> Result<()> {
    let bytes = ifname.as_bytes();
    if bytes.is_empty() || bytes.len() >= req.ifr_name.len() {
        return Err(TrafficError::Spec(format!("bad interface name {ifname:?}")));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(())
}

/// Interface index in the current thread's namespace.
pub fn ifindex(ifname: &str) -> Result<i32> {
    let c = CString::new(ifname)
        .map_err(|_| TrafficError::Spec(format!("bad interface name {ifname:?}")))?;
    // SAFETY: c is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(TrafficError::Interface {
            ifname: ifname.into(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(idx as i32)
}

/// Kernel counters of one interface, read from /proc/thread-self/net/dev (which shows the
/// calling thread's namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfCounters {
    pub rx_packets: u64,
    pub rx_dropped: u64,
    pub tx_packets: u64,
    pub tx_dropped: u64,
}

pub fn if_counters(ifname: &str) -> Result<IfCounters> {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").map_err(|source| {
        TrafficError::Os {
            what: "read /proc/thread-self/net/dev",
            source,
        }
    })?;
    parse_net_dev(&text, ifname).ok_or_else(|| TrafficError::Interface {
        ifname: ifname.into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "not in /proc/net/dev"),
    })
}

/// Parses one interface's line of /proc/net/dev.
pub fn parse_net_dev(text: &str, ifname: &str) -> Option<IfCounters> {
    for line in text.lines().skip(2) {
        let (name, rest) = line.split_once(':')?;
        if name.trim() != ifname {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() < 16 {
            return None;
        }
        return Some(IfCounters {
            rx_packets: v[1],
            rx_dropped: v[3],
            tx_packets: v[9],
            tx_dropped: v[11],
        });
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_line_is_parsed() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n  veth0: 6000 100 0 5 0 0 0 0 12000 200 0 7 0 0 0 0\n";
        let c = parse_net_dev(text, "veth0").unwrap();
        assert_eq!(
            c,
            IfCounters {
                rx_packets: 100,
                rx_dropped: 5,
                tx_packets: 200,
                tx_dropped: 7
            }
        );
        assert!(parse_net_dev(text, "eth9").is_none());
    }
}
