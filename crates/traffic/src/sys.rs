//! Thin OS calls: CPU affinity, clocks, interface counters. (Namespaces and packet sockets
//! are `netsys`'s.)

use crate::error::{Result, TrafficError};

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
