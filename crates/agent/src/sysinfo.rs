//! Host figures for `/metrics`: network device counters of the agent's own namespace
//! (`/proc/self/net/dev`, correct after setns, unlike a /sys mounted for another netns),
//! process CPU time, memory and disk usage.

use std::path::Path;

/// Counters of one network interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_dropped: u64,
}

/// Parses `/proc/net/dev` text into (name, stats).
pub fn parse_net_dev(text: &str) -> Vec<(String, IfStats)> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let v: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            if v.len() < 12 {
                return None;
            }
            Some((
                name.trim().to_owned(),
                IfStats {
                    rx_bytes: v[0],
                    rx_packets: v[1],
                    rx_dropped: v[3],
                    tx_bytes: v[8],
                    tx_packets: v[9],
                    tx_dropped: v[11],
                },
            ))
        })
        .collect()
}

/// Counters of `ifname` in the agent's current network namespace.
pub fn if_stats(ifname: &str) -> Option<IfStats> {
    let text = std::fs::read_to_string("/proc/self/net/dev").ok()?;
    parse_net_dev(&text)
        .into_iter()
        .find(|(n, _)| n == ifname)
        .map(|(_, s)| s)
}

/// utime+stime of a process in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime = field 14, stime = field 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Percentage of RAM in use (MemTotal − MemAvailable).
pub fn memory_usage_pct() -> i64 {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return 0;
    };
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    match (field("MemTotal:"), field("MemAvailable:")) {
        (Some(total), Some(avail)) if total > 0 => {
            (total.saturating_sub(avail) * 100 / total) as i64
        }
        _ => 0,
    }
}

/// Percentage used of the filesystem holding `path`.
pub fn disk_usage_pct(path: &Path) -> i64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs writes into the zeroed struct we own; c is NUL-terminated.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 || s.f_blocks == 0 {
        return 0;
    }
    let blocks = s.f_blocks as u64;
    let free = s.f_bfree as u64;
    ((blocks.saturating_sub(free)) * 100 / blocks) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev() {
        let t = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:  100  2    0    0    0     0          0         0      300  4    0    5    0     0       0          0\n";
        let v = parse_net_dev(t);
        assert_eq!(v[0].0, "lo");
        assert_eq!(
            v[0].1,
            IfStats {
                rx_bytes: 100,
                rx_packets: 2,
                rx_dropped: 0,
                tx_bytes: 300,
                tx_packets: 4,
                tx_dropped: 5
            }
        );
        assert!(if_stats("lo").is_some());
    }

    #[test]
    fn own_process() {
        assert!(process_cpu_ticks(std::process::id()).is_some());
        assert!(ticks_per_second() > 0);
        let m = memory_usage_pct();
        assert!((0..=100).contains(&m));
        let d = disk_usage_pct(Path::new("/"));
        assert!((0..=100).contains(&d));
    }
}
