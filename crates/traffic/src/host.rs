//! Host usage over a trial: CPU time per category (/proc/stat), the CPU time of our own
//! processes (/proc/PID/stat), and from both how much other processes disturbed the run.
//!
//! Everything is in clock ticks (USER_HZ, the unit of both /proc/stat and /proc/PID/stat).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrafficError};

/// One `cpu` line of /proc/stat (clock ticks since boot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuLine {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuLine {
    /// All time (guest time is already part of user and nice).
    pub fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }

    /// Time not idle: everything but idle and iowait.
    pub fn busy(&self) -> u64 {
        self.total() - self.idle - self.iowait
    }

    fn delta(&self, before: &CpuLine) -> CpuLine {
        CpuLine {
            user: self.user.saturating_sub(before.user),
            nice: self.nice.saturating_sub(before.nice),
            system: self.system.saturating_sub(before.system),
            idle: self.idle.saturating_sub(before.idle),
            iowait: self.iowait.saturating_sub(before.iowait),
            irq: self.irq.saturating_sub(before.irq),
            softirq: self.softirq.saturating_sub(before.softirq),
            steal: self.steal.saturating_sub(before.steal),
        }
    }
}

/// A sample of /proc/stat (+ the 1-minute load average when read from the system).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuTimes {
    /// The aggregate `cpu` line.
    pub total: CpuLine,
    /// `cpuN` lines in order of N.
    pub per_cpu: Vec<CpuLine>,
    /// /proc/loadavg, first field (0 when parsed from text only).
    pub loadavg_1m: f64,
}

impl CpuTimes {
    /// Reads /proc/stat and /proc/loadavg.
    pub fn read() -> Result<CpuTimes> {
        let text = read_proc("/proc/stat", "read /proc/stat")?;
        let mut t = parse_proc_stat(&text).ok_or_else(|| TrafficError::Os {
            what: "parse /proc/stat",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no cpu line"),
        })?;
        let load = read_proc("/proc/loadavg", "read /proc/loadavg")?;
        t.loadavg_1m = parse_loadavg(&load).unwrap_or(0.0);
        Ok(t)
    }
}

fn read_proc(path: &str, what: &'static str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| TrafficError::Os { what, source })
}

/// Parses the `cpu` and `cpuN` lines of /proc/stat; None when the aggregate line is missing.
/// Missing trailing columns (old kernels) count as 0.
pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let mut total = None;
    let mut per_cpu: Vec<(usize, CpuLine)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(name) = fields.next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix("cpu") else {
            continue;
        };
        let v: Vec<u64> = fields.map_while(|f| f.parse().ok()).collect();
        if v.len() < 4 {
            return None;
        }
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        let cpu = CpuLine {
            user: at(0),
            nice: at(1),
            system: at(2),
            idle: at(3),
            iowait: at(4),
            irq: at(5),
            softirq: at(6),
            steal: at(7),
        };
        if rest.is_empty() {
            total = Some(cpu);
        } else if let Ok(n) = rest.parse::<usize>() {
            per_cpu.push((n, cpu));
        }
    }
    per_cpu.sort_by_key(|(n, _)| *n);
    Some(CpuTimes {
        total: total?,
        per_cpu: per_cpu.into_iter().map(|(_, c)| c).collect(),
        loadavg_1m: 0.0,
    })
}

/// The first field of /proc/loadavg.
pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// Parses /proc/PID/stat: (pid, comm, ppid, utime, stime), times in clock ticks. The comm is
/// in parentheses and may itself contain spaces and parentheses: it ends at the LAST `)`.
pub fn parse_pid_stat(text: &str) -> Option<(i32, String, i32, u64, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    // After the comm: field 3 (state), 4 (ppid), ..., 14 (utime), 15 (stime).
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime = rest.get(11)?.parse().ok()?;
    let stime = rest.get(12)?.parse().ok()?;
    Some((pid, comm, ppid, utime, stime))
}

/// CPU time (utime + stime, clock ticks) of our processes at one moment: the given pids and
/// all their descendants, the calling process and its descendants, and every `ksoftirqd/N`
/// kernel thread (it does the network stack's softirq work for our traffic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessTimes {
    /// pid → utime + stime.
    pub per_pid: BTreeMap<i32, u64>,
}

impl ProcessTimes {
    /// Scans /proc once. Processes that exit during the scan are skipped.
    pub fn read(pids: &[i32]) -> Result<ProcessTimes> {
        let dir = std::fs::read_dir("/proc").map_err(|source| TrafficError::Os {
            what: "read /proc",
            source,
        })?;
        let mut all = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                if let Some(p) = parse_pid_stat(&text) {
                    all.push(p);
                }
            }
        }
        let mut roots: Vec<i32> = pids.to_vec();
        roots.push(std::process::id() as i32);
        Ok(ProcessTimes::select(&all, &roots))
    }

    /// The processes of `all` (parsed /proc/PID/stat) that are ours (see the type).
    pub fn select(all: &[(i32, String, i32, u64, u64)], roots: &[i32]) -> ProcessTimes {
        let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for (pid, _, ppid, _, _) in all {
            children.entry(*ppid).or_default().push(*pid);
        }
        let mut ours: BTreeSet<i32> = BTreeSet::new();
        let mut todo: Vec<i32> = roots.to_vec();
        while let Some(p) = todo.pop() {
            if ours.insert(p) {
                todo.extend(children.get(&p).into_iter().flatten());
            }
        }
        let per_pid = all
            .iter()
            .filter(|(pid, comm, ..)| ours.contains(pid) || comm.starts_with("ksoftirqd"))
            .map(|(pid, _, _, u, s)| (*pid, u + s))
            .collect();
        ProcessTimes { per_pid }
    }

    /// Ticks our processes used from `before` to `self`. A process new in `self` counts with
    /// all its time; one whose time went down is a reused pid and counts the same way; one that
    /// exited is lost (its last interval cannot be known).
    pub fn used_since(&self, before: &ProcessTimes) -> u64 {
        self.per_pid
            .iter()
            .map(|(pid, now)| match before.per_pid.get(pid) {
                Some(b) if b <= now => now - b,
                _ => *now,
            })
            .sum()
    }
}

/// How the host was used over an interval (e.g. one trial).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostUsage {
    /// Steal time (the hypervisor ran something else), % of all CPU time.
    pub steal_pct: f64,
    /// Softirq time, % of all CPU time.
    pub softirq_pct: f64,
    /// Per CPU, % of its time not idle (user, system, irq, softirq, steal, ...).
    pub busy_pct: Vec<f64>,
    /// CPU time used by processes that are not ours, in % of ONE CPU over the wall time
    /// (≥ 0): disturbance by other work on the host.
    pub other_cpu_pct: f64,
    /// 1-minute load average at the end.
    pub loadavg_1m: f64,
}

/// CPU clock ticks per second (USER_HZ).
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Usage between two samples taken `wall` apart (ticks at [`clock_ticks_per_sec`]).
pub fn usage_between(
    before: &(CpuTimes, ProcessTimes),
    after: &(CpuTimes, ProcessTimes),
    wall: Duration,
) -> HostUsage {
    usage_between_hz(before, after, wall, clock_ticks_per_sec())
}

/// [`usage_between`] with an explicit tick rate.
///
/// `other_cpu_pct` = (user + nice + system + softirq) − ticks of our processes. Softirq is
/// part of the busy time because that is where the kernel accounts the time ksoftirqd (one of
/// "our" processes) spends on network processing, and, with tick accounting, softirq work done
/// in the context of another task (also charged to that task's stime).
pub fn usage_between_hz(
    before: &(CpuTimes, ProcessTimes),
    after: &(CpuTimes, ProcessTimes),
    wall: Duration,
    ticks_per_sec: u64,
) -> HostUsage {
    let d = after.0.total.delta(&before.0.total);
    let all = d.total();
    let busy_pct = after
        .0
        .per_cpu
        .iter()
        .zip(&before.0.per_cpu)
        .map(|(a, b)| {
            let c = a.delta(b);
            pct(c.busy(), c.total())
        })
        .collect();
    let busy = d.user + d.nice + d.system + d.softirq;
    let ours = after.1.used_since(&before.1);
    let other_ticks = busy.saturating_sub(ours);
    let secs = wall.as_secs_f64();
    let other_cpu_pct = if secs > 0.0 && ticks_per_sec > 0 {
        100.0 * (other_ticks as f64 / ticks_per_sec as f64) / secs
    } else {
        0.0
    };
    HostUsage {
        steal_pct: pct(d.steal, all),
        softirq_pct: pct(d.softirq, all),
        busy_pct,
        other_cpu_pct,
        loadavg_1m: after.0.loadavg_1m,
    }
}

/// Samples the host at `start` and `finish`.
#[derive(Debug)]
pub struct HostSampler {
    pids: Vec<i32>,
    before: (CpuTimes, ProcessTimes),
    started: Instant,
}

impl HostSampler {
    /// Takes the first sample; `pids` are our processes (agents, engines, ...), see
    /// [`ProcessTimes`].
    pub fn start(pids: Vec<i32>) -> Result<HostSampler> {
        let before = (CpuTimes::read()?, ProcessTimes::read(&pids)?);
        Ok(HostSampler {
            pids,
            before,
            started: Instant::now(),
        })
    }

    /// Takes the second sample and computes the usage in between.
    pub fn finish(self) -> Result<HostUsage> {
        let after = (CpuTimes::read()?, ProcessTimes::read(&self.pids)?);
        Ok(usage_between(&self.before, &after, self.started.elapsed()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  31217 0 3820 11849 538 0 22 64 0 0
cpu0 15355 0 1733 6606 36 0 3 27 0 0
cpu1 15862 0 2086 5242 501 0 19 36 0 0
intr 1851926 0 9 0 0 0 0 0 0 0 0
ctxt 3468829
btime 1716200000
processes 6915
procs_running 3
procs_blocked 0
softirq 617070 3 106254 6 9862 0 0 46 125 0 500774
";

    #[test]
    fn proc_stat_is_parsed() {
        let t = parse_proc_stat(STAT).unwrap();
        assert_eq!(
            t.total,
            CpuLine {
                user: 31217,
                nice: 0,
                system: 3820,
                idle: 11849,
                iowait: 538,
                irq: 0,
                softirq: 22,
                steal: 64
            }
        );
        assert_eq!(t.per_cpu.len(), 2, "the `softirq` line is not a CPU");
        assert_eq!(t.per_cpu[1].system, 2086);
        assert_eq!(t.per_cpu[0].steal, 27);
        assert!(parse_proc_stat("intr 1 2 3\n").is_none());
        // Old kernels have fewer columns.
        let old = parse_proc_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!((old.total.idle, old.total.steal), (4, 0));
    }

    #[test]
    fn loadavg_is_parsed() {
        assert_eq!(parse_loadavg("1.59 0.95 0.39 1/113 6914\n"), Some(1.59));
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn pid_stat_with_spaces_and_parentheses_in_comm() {
        let text = "4242 (coo (vnf) 1) S 4200 4242 4200 0 -1 4194560 1234 0 0 0 250 75 3 1 20 0 8 0 123456 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 4096 17664 0 0 0 17 1 0 0 0 0 0\n";
        assert_eq!(
            parse_pid_stat(text),
            Some((4242, "coo (vnf) 1".to_string(), 4200, 250, 75))
        );
        let ks = "14 (ksoftirqd/0) S 2 0 0 0 -1 69238848 0 0 0 0 0 312 0 0 20 0 1 0 3 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0\n";
        assert_eq!(
            parse_pid_stat(ks),
            Some((14, "ksoftirqd/0".to_string(), 2, 0, 312))
        );
        assert_eq!(parse_pid_stat("12 (short) S 1 2\n"), None);
        assert_eq!(parse_pid_stat("garbage"), None);
    }

    fn proc(pid: i32, comm: &str, ppid: i32, u: u64, s: u64) -> (i32, String, i32, u64, u64) {
        (pid, comm.to_string(), ppid, u, s)
    }

    #[test]
    fn descendants_and_ksoftirqd_are_ours() {
        let all = vec![
            proc(1, "init", 0, 50, 50),
            proc(2, "kthreadd", 0, 0, 1),
            proc(14, "ksoftirqd/0", 2, 0, 30),
            proc(22, "ksoftirqd/1", 2, 0, 20),
            proc(15, "kworker/0:1", 2, 0, 99),
            proc(100, "coo-vnf", 1, 10, 5),
            proc(101, "coo-click", 100, 200, 100),
            proc(102, "tc", 101, 1, 1),
            proc(200, "stress", 1, 1000, 0),
        ];
        let t = ProcessTimes::select(&all, &[100]);
        let pids: Vec<i32> = t.per_pid.keys().copied().collect();
        assert_eq!(pids, vec![14, 22, 100, 101, 102]);
        assert_eq!(t.per_pid[&101], 300);
    }

    fn cpu(user: u64, system: u64, idle: u64, softirq: u64, steal: u64) -> CpuLine {
        CpuLine {
            user,
            system,
            idle,
            softirq,
            steal,
            ..CpuLine::default()
        }
    }

    #[test]
    fn other_cpu_pct_is_busy_time_not_ours() {
        // 2 CPUs, 100 ticks/s, 2 s wall: 400 ticks in all.
        let before = (
            CpuTimes {
                total: cpu(1000, 1000, 1000, 100, 10),
                per_cpu: vec![cpu(500, 500, 500, 50, 5), cpu(500, 500, 500, 50, 5)],
                loadavg_1m: 0.5,
            },
            ProcessTimes {
                per_pid: [(10, 100), (11, 50), (12, 7)].into_iter().collect(),
            },
        );
        // Over the interval: user 150, system 90, softirq 40, steal 20, idle 100.
        let after = (
            CpuTimes {
                total: cpu(1150, 1090, 1100, 140, 30),
                // cpu0 fully busy (200 ticks), cpu1 half idle.
                per_cpu: vec![cpu(600, 560, 500, 80, 15), cpu(550, 530, 600, 60, 15)],
                loadavg_1m: 2.25,
            },
            ProcessTimes {
                // pid 10 used 120, pid 11 exited (lost), pid 13 is new with 40, pid 12 was
                // reused (time went down: counts with all of its 3).
                per_pid: [(10, 220), (12, 3), (13, 40)].into_iter().collect(),
            },
        );
        let u = usage_between_hz(&before, &after, Duration::from_secs(2), 100);
        // busy = 150 + 90 + 40 = 280 ticks; ours = 120 + 3 + 40 = 163; other = 117 ticks
        // = 1.17 s of CPU over 2 s = 58.5 % of one CPU.
        assert!((u.other_cpu_pct - 58.5).abs() < 1e-9, "{u:?}");
        assert!((u.steal_pct - 5.0).abs() < 1e-9, "{u:?}");
        assert!((u.softirq_pct - 10.0).abs() < 1e-9, "{u:?}");
        assert_eq!(u.busy_pct.len(), 2);
        assert!((u.busy_pct[0] - 100.0).abs() < 1e-9, "{u:?}");
        assert!((u.busy_pct[1] - 50.0).abs() < 1e-9, "{u:?}");
        assert_eq!(u.loadavg_1m, 2.25);

        // Our processes used more than the busy time (accounting skew): clamped at 0.
        let mut greedy = after.clone();
        greedy.1.per_pid.insert(99, 10_000);
        let u = usage_between_hz(&before, &greedy, Duration::from_secs(2), 100);
        assert_eq!(u.other_cpu_pct, 0.0);
        // A zero wall time never divides by zero.
        let u = usage_between_hz(&before, &after, Duration::ZERO, 100);
        assert_eq!(u.other_cpu_pct, 0.0);
    }

    #[test]
    fn sampler_reads_this_host() {
        let s = HostSampler::start(vec![]).unwrap();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let u = s.finish().unwrap();
        assert!(!u.busy_pct.is_empty());
        assert!(u.other_cpu_pct >= 0.0 && u.loadavg_1m >= 0.0, "{u:?}");
    }
}
