//! Engine selection and engine child processes (coo-click, reference Click, any
//! Click-compatible binary). Each child gets a ControlSocket on a UNIX socket in the workdir,
//! its stdout+stderr go to a log file, and it dies with the agent (PR_SET_PDEATHSIG).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::control::ControlClient;
use crate::privilege::EngineUser;

/// Which engine runs the VNF's function (the one definition, shared with the topology).
pub use coo_api::{EngineParseError as BadEngine, EngineSpec};

/// Path of the coo-click binary: `COO_BENCH_COO_CLICK`, else next to the current executable.
pub fn coo_click_path() -> PathBuf {
    if let Some(p) = std::env::var_os("COO_BENCH_COO_CLICK") {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("coo-click")))
        .unwrap_or_else(|| PathBuf::from("coo-click"))
}

/// Path of the reference Click binary: `COO_BENCH_REFERENCE_CLICK`, else `click` in PATH.
pub fn reference_click_path() -> PathBuf {
    std::env::var_os("COO_BENCH_REFERENCE_CLICK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("click"))
}

/// Why an engine did not come up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start engine {binary}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("engine exited during start-up ({status}): {stderr}")]
    EarlyExit { status: String, stderr: String },
    #[error("engine did not open its control socket within {timeout:?}; stderr: {stderr}")]
    NotReady { timeout: Duration, stderr: String },
    #[error("configuration error: {0}")]
    Config(String),
    #[error("agent i/o error: {0}")]
    Io(String),
    #[error("kernel forwarding setup failed: {0}")]
    KernelForward(String),
}

/// A running engine process.
#[derive(Debug)]
pub struct ProcessEngine {
    child: Child,
    pid: u32,
    socket: PathBuf,
    started: Instant,
}

/// Everything needed to launch an engine process.
pub struct Launch<'a> {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub socket: &'a Path,
    pub log: &'a Path,
    pub ready_timeout: Duration,
    /// Run as this unprivileged user (a root agent); `None` keeps the agent's identity.
    pub user: Option<&'a EngineUser>,
    /// Working directory of the engine (its own directory).
    pub cwd: Option<&'a Path>,
    /// CPUs the engine may run on (None: the agent's own affinity).
    pub cpus: Option<Vec<u32>>,
}

/// The CPU set of `cpus` (numbers past CPU_SETSIZE are ignored; validation keeps them out).
fn cpu_set(cpus: &[u32]) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; all zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus
        .iter()
        .filter(|c| (**c as usize) < libc::CPU_SETSIZE as usize)
    {
        // SAFETY: c < CPU_SETSIZE.
        unsafe { libc::CPU_SET(c as usize, &mut set) };
    }
    set
}

/// Reads the tail of the engine log (bounded, for error messages).
pub fn log_tail(log: &Path, max: usize) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let start = text.len().saturating_sub(max);
    String::from_utf8_lossy(&text[start..]).trim().to_owned()
}

impl ProcessEngine {
    /// Spawns the engine and waits until its ControlSocket answers (or it dies).
    pub async fn launch(l: Launch<'_>) -> Result<Self, StartError> {
        let _ = std::fs::remove_file(l.socket);
        let log = std::fs::File::create(l.log)
            .map_err(|e| StartError::Io(format!("create {}: {e}", l.log.display())))?;
        let log2 = log
            .try_clone()
            .map_err(|e| StartError::Io(format!("dup log: {e}")))?;
        let mut cmd = Command::new(&l.binary);
        if let Some(d) = l.cwd {
            cmd.current_dir(d);
        }
        let user = l.user.cloned();
        cmd.args(&l.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .kill_on_drop(true);
        let agent_pid = std::process::id() as libc::pid_t;
        let cpuset = l.cpus.as_deref().map(cpu_set);
        // SAFETY: only async-signal-safe calls (credential syscalls, prctl, getppid, _exit) run
        // between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Before the death signal: changing credentials clears it.
                if let Some(u) = &user {
                    u.become_in_child()?;
                }
                if let Some(set) = &cpuset {
                    if libc::sched_setaffinity(0, std::mem::size_of_val(set), set) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // The engine must not outlive the agent, even on SIGKILL of the agent.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The agent may have died between fork and prctl.
                if libc::getppid() != agent_pid {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|source| StartError::Spawn {
            binary: l.binary.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(StartError::EarlyExit {
                    status: status.to_string(),
                    stderr: log_tail(l.log, 8192),
                });
            }
            if l.socket.exists() {
                if let Ok(c) = ControlClient::connect(l.socket, Duration::from_millis(500)).await {
                    c.quit().await;
                    return Ok(ProcessEngine {
                        child,
                        pid,
                        socket: l.socket.to_owned(),
                        started,
                    });
                }
            }
            if started.elapsed() >= l.ready_timeout {
                let _ = child.kill().await;
                return Err(StartError::NotReady {
                    timeout: l.ready_timeout,
                    stderr: log_tail(l.log, 8192),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(s)) => Some(s.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("wait failed: {e}")),
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; always reaps the child.
    pub async fn stop(mut self, grace: Duration) -> std::io::Result<()> {
        if self.exited().is_some() {
            return Ok(());
        }
        if self.pid > 0 {
            // SAFETY: plain kill(2) on our own child, which has not been reaped yet.
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            return Ok(());
        }
        self.child.kill().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names() {
        assert_eq!(
            "coo-click".parse::<EngineSpec>().unwrap(),
            EngineSpec::CooClick
        );
        assert_eq!(
            "click".parse::<EngineSpec>().unwrap(),
            EngineSpec::ReferenceClick
        );
        assert_eq!(
            " kernel-forward\n".parse::<EngineSpec>().unwrap(),
            EngineSpec::KernelForward
        );
        assert_eq!(
            "/opt/click".parse::<EngineSpec>().unwrap(),
            EngineSpec::External("/opt/click".into())
        );
        assert_eq!(
            "fastclick".parse::<EngineSpec>().unwrap(),
            EngineSpec::FastClick
        );
        assert!("fastclik".parse::<EngineSpec>().is_err());
        assert_eq!(EngineSpec::External("./x".into()).to_string(), "./x");
    }

    #[tokio::test]
    async fn early_death_reports_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let err = ProcessEngine::launch(Launch {
            binary: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                "echo 'config: syntax error' >&2; exit 3".into(),
            ],
            socket: &dir.path().join("s.sock"),
            log: &dir.path().join("log"),
            ready_timeout: Duration::from_secs(5),
            user: None,
            cwd: None,
            cpus: None,
        })
        .await
        .unwrap_err();
        match err {
            StartError::EarlyExit { stderr, .. } => assert!(stderr.contains("syntax error")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn not_ready_times_out_and_kills() {
        let dir = tempfile::tempdir().unwrap();
        let err = ProcessEngine::launch(Launch {
            binary: "/bin/sh".into(),
            args: vec!["-c".into(), "echo waiting >&2; sleep 30".into()],
            socket: &dir.path().join("s.sock"),
            log: &dir.path().join("log"),
            ready_timeout: Duration::from_millis(200),
            user: None,
            cwd: None,
            cpus: None,
        })
        .await
        .unwrap_err();
        assert!(matches!(err, StartError::NotReady { .. }), "{err:?}");
    }
}
