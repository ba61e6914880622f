//! Processes we started (agents), identified by pid + kernel start time so a reused pid is
//! never signalled.

use std::fs;
use std::io;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::names::NetnsName;
use crate::ops::NetError;

/// A process identity that survives pid reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcId {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat (clock ticks after boot).
    pub start_time: u64,
}

/// (state, start time) from /proc/PID/stat.
fn stat(pid: i32) -> io::Result<(char, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces and ')'; fields resume after the last ')'.
    let rest = s
        .rfind(')')
        .map(|i| &s[i + 1..])
        .ok_or_else(|| io::Error::other("malformed stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields
        .first()
        .and_then(|f| f.chars().next())
        .ok_or_else(|| io::Error::other("malformed stat"))?;
    let start = fields
        .get(19)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| io::Error::other("malformed stat"))?;
    Ok((state, start))
}

impl ProcId {
    /// Identity of a running process.
    pub fn of(pid: u32) -> io::Result<Self> {
        let pid = i32::try_from(pid).map_err(io::Error::other)?;
        let (_, start_time) = stat(pid)?;
        Ok(Self { pid, start_time })
    }

    /// Running (not a zombie) and still the same process.
    pub fn alive(&self) -> bool {
        matches!(stat(self.pid), Ok((st, t)) if t == self.start_time && st != 'Z' && st != 'X')
    }

    fn reap(&self) {
        // Only succeeds for our own children; ECHILD otherwise, which is fine.
        let _ = waitpid(Pid::from_raw(self.pid), Some(WaitPidFlag::WNOHANG));
    }
}

/// Stopping processes; a trait so teardown is testable without real processes.
pub trait ProcessOps: Send + Sync {
    /// Ask to exit (SIGTERM) without waiting.
    fn request_stop(&self, p: &ProcId);
    /// Make sure it is gone: SIGTERM, wait, SIGKILL after a grace period. Gone = Ok.
    fn stop(&self, p: &ProcId) -> Result<(), NetError>;
    fn alive(&self, p: &ProcId) -> bool;
    /// Stop every process whose network namespace is `netns` (covers a process started
    /// just before a crash, before its pid reached the ledger). Only ever called for
    /// namespaces we created.
    fn stop_all_in_netns(&self, netns: &NetnsName) -> Result<(), NetError>;
}

/// Processes whose network namespace is the one bound at `path`.
pub fn pids_in_netns(path: &std::path::Path) -> io::Result<Vec<ProcId>> {
    use std::os::unix::fs::MetadataExt;
    let target = match fs::metadata(path) {
        Ok(m) => (m.dev(), m.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(m) = fs::metadata(entry.path().join("ns/net")) else {
            continue;
        };
        if (m.dev(), m.ino()) == target && pid != std::process::id() {
            if let Ok(p) = ProcId::of(pid) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Real processes.
pub struct RealProcesses {
    pub grace: Duration,
}

impl Default for RealProcesses {
    fn default() -> Self {
        Self {
            grace: Duration::from_millis(300),
        }
    }
}

fn wait_gone(p: &ProcId, until: Instant) -> bool {
    loop {
        p.reap();
        if !p.alive() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

impl ProcessOps for RealProcesses {
    fn request_stop(&self, p: &ProcId) {
        if p.alive() {
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGTERM);
        }
    }

    fn stop(&self, p: &ProcId) -> Result<(), NetError> {
        if !p.alive() {
            p.reap();
            return Ok(());
        }
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGTERM);
        if wait_gone(p, Instant::now() + self.grace) {
            return Ok(());
        }
        if p.alive() {
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
        if wait_gone(p, Instant::now() + Duration::from_secs(2)) {
            Ok(())
        } else {
            Err(NetError::os(
                "stop process",
                p.pid.to_string(),
                io::Error::other("still alive after SIGKILL"),
            ))
        }
    }

    fn alive(&self, p: &ProcId) -> bool {
        p.alive()
    }

    fn stop_all_in_netns(&self, netns: &NetnsName) -> Result<(), NetError> {
        let pids = pids_in_netns(&netns.path())
            .map_err(|e| NetError::os("list processes in", netns.to_string(), e))?;
        for p in &pids {
            self.request_stop(p);
        }
        for p in &pids {
            self.stop(p)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stop_child_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let p = ProcId::of(child.id()).unwrap();
        assert!(p.alive());
        RealProcesses::default().stop(&p).unwrap();
        assert!(!p.alive());
        // Idempotent.
        RealProcesses::default().stop(&p).unwrap();
        // Already reaped by stop(): wait() reports ECHILD or the status, never hangs.
        let _ = child.try_wait();
    }

    #[test]
    fn wrong_start_time_is_not_alive() {
        let me = ProcId::of(std::process::id()).unwrap();
        assert!(me.alive());
        let other = ProcId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!other.alive());
    }
}
