//! Starting `coo-vnf` agents inside VNF namespaces and waiting until they answer.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hostnet::ProcId;

use crate::plan::AgentSpec;
use crate::{probe, UpError};

/// Starts agents; a trait so orchestration is testable without processes.
pub trait Launcher: Send + Sync {
    /// Prepare the workdir (function copy) and start the agent; returns its identity.
    fn start(&self, spec: &AgentSpec) -> Result<ProcId, UpError>;
    /// Return when every agent answers `GET /click_plugin/version`.
    fn wait_ready(
        &self,
        agents: &[(AgentSpec, ProcId)],
        timeout: Duration,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), UpError>;
}

/// Where the `coo-vnf` binary is: `$COO_BENCH_COO_VNF`, else next to the current executable.
pub fn find_agent_binary() -> Result<PathBuf, UpError> {
    if let Some(p) = std::env::var_os("COO_BENCH_COO_VNF") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| UpError::Io(format!("current_exe: {e}")))?;
    let dir = exe
        .parent()
        .ok_or_else(|| UpError::Io("current_exe has no parent".into()))?;
    for cand in [dir.join("coo-vnf"), dir.join("../coo-vnf")] {
        if cand.is_file() {
            return Ok(cand);
        }
    }
    Err(UpError::AgentMissing(dir.join("coo-vnf")))
}

/// Real agents: `coo-vnf` processes.
pub struct ProcessLauncher {
    pub binary: PathBuf,
    pub autostart: bool,
    pub io_mode: Option<String>,
}

fn log_tail(path: &std::path::Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

impl Launcher for ProcessLauncher {
    fn start(&self, spec: &AgentSpec) -> Result<ProcId, UpError> {
        let io = |what: &str, e: std::io::Error| UpError::Io(format!("{what}: {e}"));
        fs::create_dir_all(&spec.workdir)
            .map_err(|e| io(&spec.workdir.display().to_string(), e))?;
        if let Some(d) = spec.socket.parent() {
            fs::create_dir_all(d).map_err(|e| io(&d.display().to_string(), e))?;
        }
        fs::copy(&spec.function_source, &spec.function).map_err(|e| {
            io(
                &format!("copy function {}", spec.function_source.display()),
                e,
            )
        })?;
        let log = File::create(&spec.log).map_err(|e| io("agent log", e))?;
        let log2 = log.try_clone().map_err(|e| io("agent log", e))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--listen")
            .arg(format!("unix:{}", spec.socket.display()))
            .arg("--listen")
            .arg(format!("tcp:{}", spec.tcp))
            .arg("--function")
            .arg(&spec.function)
            .arg("--interfaces")
            .arg(
                spec.interfaces
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .arg("--engine")
            .arg(&spec.engine)
            .arg("--workdir")
            .arg(&spec.workdir);
        for e in &spec.allow_engines {
            cmd.arg("--allow-engine").arg(e);
        }
        // The token travels in a file, never on the command line (`ps` shows that).
        if let Some(t) = &spec.token_file {
            cmd.arg("--token-file").arg(t);
        }
        if self.autostart {
            cmd.arg("--autostart");
        }
        if let Some(m) = &self.io_mode {
            cmd.arg("--io-mode").arg(m);
        }
        if !spec.engine_options.is_empty() {
            let json = serde_json::to_string(&spec.engine_options)
                .map_err(|e| UpError::Io(format!("engine options: {e}")))?;
            cmd.arg("--engine-options").arg(json);
        }
        cmd.current_dir(&spec.workdir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let _ns = hostnet::netns::command_in(&mut cmd, &spec.netns)
            .map_err(|e| io(&format!("netns {}", spec.netns), e))?;
        // SAFETY: setsid(2) is async-signal-safe. A session of its own keeps the agent
        // out of the terminal's Ctrl-C after `up` has returned (agents outlive `up`).
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| UpError::Io(format!("start {}: {e}", self.binary.display())))?;
        ProcId::of(child.id()).map_err(|e| io("agent identity", e))
    }

    fn wait_ready(
        &self,
        agents: &[(AgentSpec, ProcId)],
        timeout: Duration,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), UpError> {
        let deadline = Instant::now() + timeout;
        let mut pending: Vec<&(AgentSpec, ProcId)> = agents.iter().collect();
        loop {
            pending.retain(|(spec, _)| !probe::agent_answers(&spec.socket));
            if pending.is_empty() {
                return Ok(());
            }
            if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(UpError::Interrupted);
            }
            for (spec, id) in &pending {
                if !id.alive() {
                    return Err(UpError::AgentDied {
                        vnf: spec.vnf.clone(),
                        log: spec.log.clone(),
                        tail: log_tail(&spec.log),
                    });
                }
            }
            if Instant::now() >= deadline {
                let (spec, _) = pending[0];
                return Err(UpError::AgentTimeout {
                    vnf: spec.vnf.clone(),
                    log: spec.log.clone(),
                    tail: log_tail(&spec.log),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A launcher that records specs and hands out fake identities.
#[derive(Default)]
pub struct FakeLauncher {
    started: Mutex<Vec<AgentSpec>>,
}

impl FakeLauncher {
    pub fn started(&self) -> Vec<AgentSpec> {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Launcher for FakeLauncher {
    fn start(&self, spec: &AgentSpec) -> Result<ProcId, UpError> {
        let mut s = self.started.lock().unwrap_or_else(|p| p.into_inner());
        s.push(spec.clone());
        Ok(ProcId {
            pid: 100_000 + s.len() as i32,
            start_time: 1,
        })
    }
    fn wait_ready(
        &self,
        _agents: &[(AgentSpec, ProcId)],
        _timeout: Duration,
        _cancel: Option<&AtomicBool>,
    ) -> Result<(), UpError> {
        Ok(())
    }
}
