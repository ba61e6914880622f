//! The agent's state machine: which engine, whether it runs, the function file, metrics
//! samples. The REST layer (`api`) only translates these results to HTTP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use coo_api::{
    Counters, ElementCounters, Health, InterfaceCounters, Metrics, StartOutcome, StopOutcome,
};

use crate::allow::{EngineAllowList, EngineNotAllowed};
use crate::control::{self, ControlClient, ControlError};
use crate::engine::{self, EngineSpec, Launch, ProcessEngine, StartError};
use crate::fastclick;
use crate::header::{self, VnfHeader};
use crate::kernel_forward::{KernelForward, TcOps};
use crate::privilege::EngineUser;
use crate::rewrite;
use crate::sockbuf;
use crate::sysinfo;
use caps::Capability;
use coo_api::EngineOptions;

/// Fixed settings of one agent.
pub struct AgentConfig {
    pub function: PathBuf,
    pub interfaces: Vec<String>,
    pub io_mode: Option<String>,
    /// Engine options until the API sets others.
    pub initial_options: EngineOptions,
    pub workdir: PathBuf,
    pub start_timeout: Duration,
    pub call_timeout: Duration,
    pub stop_grace: Duration,
    pub tc: Arc<dyn TcOps>,
    /// The engines `set_engine` may select (fixed at start).
    pub allowed_engines: EngineAllowList,
    /// (uid, gid) engines run as; `None` = the agent's own (an agent that is not root).
    pub engine_ids: Option<(u32, u32)>,
}

/// Failures of agent operations (mapped to HTTP status codes by the REST layer).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("Click is not running")]
    NotRunning,
    #[error("engine {0} has no control socket")]
    NoControlSocket(String),
    #[error("engine failed to start: {0}")]
    Start(#[from] StartError),
    #[error("{0}")]
    Control(#[from] ControlError),
    #[error("function file {path} not found")]
    FunctionMissing { path: PathBuf },
    #[error("function file {path}: {message}")]
    FunctionIo { path: PathBuf, message: String },
    #[error("stop the engine before switching engines")]
    Busy,
    #[error(transparent)]
    EngineNotAllowed(#[from] EngineNotAllowed),
    #[error("error while stopping: {0}")]
    Stop(String),
    #[error("engine options: {0}")]
    Options(String),
}

/// `vnf_identification` states, as COO distinguishes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identification {
    NotRunning,
    Valid(VnfHeader),
    Invalid,
}

/// Largest engine log returned by `/log`.
const MAX_LOG: u64 = 1024 * 1024;

/// Read handlers that hold counters; `/v1/counters` reports these.
const COUNTER_HANDLERS: &[&str] = &[
    "count",
    "byte_count",
    "in_bytes",
    "out_bytes",
    "n_sent",
    "n_dropped",
    "drops",
    "dropped",
    "length",
    "highwater_length",
    "rate",
    "bit_rate",
    "byte_rate",
    "packets",
    "bytes",
    "received",
    "sent",
];

enum Running {
    Process(ProcessEngine),
    Kernel(KernelForward),
}

struct Slot {
    engine: EngineSpec,
    /// Applied at the next start.
    options: EngineOptions,
    running: Option<Running>,
    header: Option<VnfHeader>,
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    cpu_ticks: Option<u64>,
    rx: u64,
    tx: u64,
}

#[derive(Default)]
struct Samples {
    generation: u64,
    ring: Vec<Sample>,
    /// (generation, in_bytes handlers, out_bytes handlers) discovered over the ControlSocket.
    io_handlers: Option<(u64, Vec<String>, Vec<String>)>,
}

/// A snapshot of what the engine is, taken under the lock and used without it.
#[derive(Debug, Clone)]
enum Target {
    None,
    Process {
        socket: PathBuf,
        pid: u32,
        generation: u64,
    },
    Kernel {
        generation: u64,
    },
}

/// Shared agent state.
pub struct Agent {
    cfg: AgentConfig,
    slot: tokio::sync::Mutex<Slot>,
    samples: Mutex<Samples>,
    /// The current (or last) engine's own directory; removed when replaced or dropped.
    engine_dir: Mutex<Option<tempfile::TempDir>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Agent {
    pub fn new(cfg: AgentConfig, engine: EngineSpec) -> Self {
        let options = cfg.initial_options.clone();
        Agent {
            cfg,
            slot: tokio::sync::Mutex::new(Slot {
                engine,
                options,
                running: None,
                header: None,
                generation: 0,
            }),
            samples: Mutex::new(Samples::default()),
            engine_dir: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    fn log_path(&self) -> PathBuf {
        self.cfg.workdir.join("engine.log")
    }

    /// A fresh directory for the next engine (owned by the engine user, mode 0700, random
    /// name under $TMPDIR so the unprivileged engine can reach it whatever the workdir's
    /// ancestors allow): control socket, config snapshot, and the only place coo-click
    /// elements may write files. It replaces (removes) the previous run's directory.
    fn fresh_engine_dir(&self, user: Option<&EngineUser>) -> Result<PathBuf, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("coo-engine-")
            .tempdir()
            .map_err(|e| StartError::Io(format!("engine directory: {e}")))?;
        if let Some(u) = user {
            u.own_dir(dir.path())
                .map_err(|e| StartError::Io(format!("{}: {e}", dir.path().display())))?;
        }
        let path = dir.path().to_owned();
        tracing::info!(dir = %path.display(), "engine directory");
        if let Ok(mut d) = self.engine_dir.lock() {
            *d = Some(dir);
        }
        Ok(path)
    }

    /// Forgets an engine that exited on its own (its log stays readable).
    fn refresh(slot: &mut Slot) {
        if let Some(Running::Process(p)) = &mut slot.running {
            if let Some(status) = p.exited() {
                tracing::warn!(%status, "engine exited");
                slot.running = None;
            }
        }
    }

    async fn target(&self) -> Target {
        let mut slot = self.slot.lock().await;
        Self::refresh(&mut slot);
        match &slot.running {
            None => Target::None,
            Some(Running::Process(p)) => Target::Process {
                socket: p.socket().to_owned(),
                pid: p.pid(),
                generation: slot.generation,
            },
            Some(Running::Kernel(_)) => Target::Kernel {
                generation: slot.generation,
            },
        }
    }

    pub async fn running(&self) -> bool {
        !matches!(self.target().await, Target::None)
    }

    pub async fn engine(&self) -> EngineSpec {
        self.slot.lock().await.engine.clone()
    }

    /// Selects the engine for the next start; refused while one runs.
    pub async fn set_engine(&self, spec: EngineSpec) -> Result<(), AgentError> {
        let mut slot = self.slot.lock().await;
        Self::refresh(&mut slot);
        if slot.running.is_some() {
            return Err(AgentError::Busy);
        }
        if !self.cfg.allowed_engines.allows(&spec) {
            return Err(EngineNotAllowed(
                spec.to_string(),
                self.cfg.allowed_engines.names().join(", "),
            )
            .into());
        }
        tracing::info!(engine = %spec, "engine selected");
        slot.engine = spec;
        Ok(())
    }

    pub async fn options(&self) -> EngineOptions {
        self.slot.lock().await.options.clone()
    }

    /// Sets the engine options for the next start; refused while an engine runs.
    pub async fn set_options(&self, options: EngineOptions) -> Result<(), AgentError> {
        options
            .check()
            .map_err(|e| AgentError::Options(e.to_string()))?;
        let mut slot = self.slot.lock().await;
        Self::refresh(&mut slot);
        if slot.running.is_some() {
            return Err(AgentError::Busy);
        }
        slot.options = options;
        Ok(())
    }

    fn read_function_bytes(&self) -> Result<Vec<u8>, AgentError> {
        std::fs::read(&self.cfg.function).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AgentError::FunctionMissing {
                    path: self.cfg.function.clone(),
                }
            } else {
                AgentError::FunctionIo {
                    path: self.cfg.function.clone(),
                    message: e.to_string(),
                }
            }
        })
    }

    /// The function file as text (`read_file`).
    pub fn read_function(&self) -> Result<String, AgentError> {
        let bytes = self.read_function_bytes()?;
        String::from_utf8(bytes).map_err(|_| AgentError::FunctionIo {
            path: self.cfg.function.clone(),
            message: "not valid UTF-8".into(),
        })
    }

    /// Replaces the function file atomically; it takes effect at the next start (as in COO).
    pub fn write_function(&self, content: &str) -> Result<(), AgentError> {
        let path = &self.cfg.function;
        let io = |message: String| AgentError::FunctionIo {
            path: path.clone(),
            message,
        };
        use std::io::Write;
        let dir = path.parent().unwrap_or(Path::new("."));
        // A random temp name created with O_EXCL (never an existing file or symlink), one per
        // call so concurrent writers do not race on it; removed if anything fails.
        let mut tmp = tempfile::Builder::new()
            .prefix(".func-")
            .tempfile_in(dir)
            .map_err(|e| io(e.to_string()))?;
        tmp.write_all(content.as_bytes())
            .map_err(|e| io(e.to_string()))?;
        // Rename is atomic: the file always holds one writer's whole content.
        tmp.persist(path)
            .map(|_| ())
            .map_err(|e| io(e.error.to_string()))?;
        tracing::debug!(path = %path.display(), bytes = content.len(), "function replaced");
        Ok(())
    }

    /// Starts the selected engine on the current function file.
    pub async fn start(&self) -> Result<StartOutcome, AgentError> {
        let mut slot = self.slot.lock().await;
        Self::refresh(&mut slot);
        if slot.running.is_some() {
            return Ok(StartOutcome::AlreadyRunning);
        }
        let bytes = self.read_function_bytes()?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let header = header::parse(&text);
        let engine = slot.engine.clone();
        let options = slot.options.clone();
        if let Some((name, why)) = options.unsupported_by(&engine) {
            return Err(AgentError::Options(format!(
                "`{name}` does not apply: {why}"
            )));
        }
        let running = match &engine {
            EngineSpec::KernelForward => {
                let ifs = self.cfg.interfaces.clone();
                let tc = self.cfg.tc.clone();
                let kf = tokio::task::spawn_blocking(move || KernelForward::start(&ifs, tc))
                    .await
                    .map_err(|e| StartError::KernelForward(e.to_string()))?
                    .map_err(StartError::KernelForward)?;
                Running::Kernel(kf)
            }
            spec => Running::Process(self.launch(spec, &bytes, &options).await?),
        };
        let pid = match &running {
            Running::Process(p) => p.pid(),
            Running::Kernel(_) => std::process::id(),
        };
        tracing::info!(%engine, pid, "engine started");
        slot.generation += 1;
        slot.header = header;
        slot.running = Some(running);
        let generation = slot.generation;
        let target = match &slot.running {
            Some(Running::Process(p)) => Target::Process {
                socket: p.socket().to_owned(),
                pid,
                generation,
            },
            _ => Target::Kernel { generation },
        };
        drop(slot);
        // The first metrics call after a start then reports the average since the start.
        if let Ok(mut s) = self.samples.lock() {
            *s = Samples {
                generation,
                ..Samples::default()
            };
        }
        if let Some(sample) = self.sample(&target).await {
            if let Ok(mut s) = self.samples.lock() {
                s.ring.push(sample);
            }
        }
        Ok(StartOutcome::Started { pid })
    }

    async fn launch(
        &self,
        spec: &EngineSpec,
        function: &[u8],
        options: &EngineOptions,
    ) -> Result<ProcessEngine, StartError> {
        std::fs::create_dir_all(&self.cfg.workdir)
            .map_err(|e| StartError::Io(format!("workdir {}: {e}", self.cfg.workdir.display())))?;
        // Packet sockets need CAP_NET_RAW; Click binaries may also set interface flags;
        // DPDK's EAL locks its memory and the af_packet PMD's rings (CAP_IPC_LOCK: the engine
        // user's RLIMIT_MEMLOCK is far below EAL's 512 MiB).
        let user = self.cfg.engine_ids.map(|(uid, gid)| {
            let caps: &[Capability] = match spec {
                EngineSpec::CooClick => &[Capability::CAP_NET_RAW],
                EngineSpec::FastClick => &[
                    Capability::CAP_NET_RAW,
                    Capability::CAP_NET_ADMIN,
                    Capability::CAP_IPC_LOCK,
                ],
                _ => &[Capability::CAP_NET_RAW, Capability::CAP_NET_ADMIN],
            };
            EngineUser::new(uid, gid, caps)
        });
        let engine_dir = self.fresh_engine_dir(user.as_ref())?;
        let socket = engine_dir.join("click.sock");
        let name = self
            .cfg
            .function
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "func.click".into());
        // The engine runs a snapshot, so write_file during a run cannot change it under it.
        // In its own directory: the function file itself may live in the workdir.
        let snapshot = engine_dir.join(&name);
        let burst_set;
        let function = match options.burst {
            Some(burst) => {
                let text = std::str::from_utf8(function)
                    .map_err(|_| StartError::Config("function is not valid UTF-8".into()))?;
                burst_set = rewrite::set_burst(text, burst)
                    .map_err(|e| StartError::Config(e.to_string()))?;
                burst_set.as_bytes()
            }
            None => function,
        };
        let (binary, contents, mut args) = match spec {
            EngineSpec::CooClick => {
                let mut args = Vec::new();
                if !self.cfg.interfaces.is_empty() {
                    args.push("--ports".to_owned());
                    args.push(self.cfg.interfaces.join(","));
                }
                let io = options.io.map(|m| m.to_string());
                if let Some(m) = io.as_ref().or(self.cfg.io_mode.as_ref()) {
                    args.push("--io-mode".to_owned());
                    args.push(m.clone());
                }
                if let Some(kib) = options.rx_buffer_kib {
                    args.push("--rx-buffer-kib".to_owned());
                    args.push(kib.to_string());
                }
                // A configuration is code: its file outputs stay in the engine's directory.
                args.push("--confine-files".to_owned());
                args.push(engine_dir.display().to_string());
                (engine::coo_click_path(), function.to_vec(), args)
            }
            EngineSpec::ReferenceClick | EngineSpec::External(_) => {
                let text = std::str::from_utf8(function)
                    .map_err(|_| StartError::Config("function is not valid UTF-8".into()))?;
                let rewritten = rewrite::rewrite_dpdk(text, &self.cfg.interfaces)
                    .map_err(|e| StartError::Config(e.to_string()))?;
                let binary = match spec {
                    EngineSpec::External(p) => p.clone(),
                    _ => engine::reference_click_path(),
                };
                (binary, rewritten.into_bytes(), Vec::new())
            }
            EngineSpec::FastClick => {
                let cpu = options
                    .cpus
                    .as_ref()
                    .and_then(|c| c.first())
                    .map(|c| *c as usize)
                    .unwrap_or_else(fastclick::first_allowed_cpu);
                let framecnt = fastclick::framecnt_for(options.rx_buffer_bytes());
                let args = fastclick::eal_args(&self.cfg.interfaces, cpu, framecnt);
                (fastclick::binary(), function.to_vec(), args)
            }
            EngineSpec::KernelForward => {
                return Err(StartError::Config("kernel-forward has no process".into()))
            }
        };
        std::fs::write(&snapshot, &contents)
            .map_err(|e| StartError::Io(format!("write {}: {e}", snapshot.display())))?;
        // The agent's own record of the exact configuration the engine was given (the engine's
        // directory is the engine's): `coo-bench run` keeps it beside the report.
        let record = self.cfg.workdir.join("running");
        if std::fs::create_dir_all(&record).is_ok() {
            let _ = std::fs::write(record.join(&name), &contents);
        }
        args.push("-u".to_owned());
        args.push(socket.display().to_string());
        args.push(snapshot.display().to_string());
        tracing::info!(binary = %binary.display(), ?args, "starting engine");
        let engine = ProcessEngine::launch(Launch {
            binary,
            args,
            socket: &socket,
            log: &self.log_path(),
            ready_timeout: self.cfg.start_timeout,
            user: user.as_ref(),
            cwd: Some(&engine_dir),
            cpus: options.cpus.clone(),
        })
        .await?;
        if matches!(spec, EngineSpec::ReferenceClick | EngineSpec::External(_))
            && !self.cfg.interfaces.is_empty()
        {
            // Click's packet sockets get the same buffer the other engines' rings have.
            let (pid, bytes) = (engine.pid(), options.rx_buffer_bytes());
            let forced =
                tokio::task::spawn_blocking(move || sockbuf::force_packet_buffers(pid, bytes))
                    .await
                    .map_err(|e| StartError::Config(e.to_string()))?
                    .map_err(|e| StartError::Config(format!("socket buffers: {e}")))?;
            if forced.sockets == 0 {
                tracing::warn!(pid, "engine opened no packet socket: no buffer to size");
            } else {
                tracing::info!(?forced, "packet socket buffers set");
            }
        }
        Ok(engine)
    }

    /// Stops the engine (SIGTERM, then SIGKILL) or removes kernel forwarding.
    pub async fn stop(&self) -> Result<StopOutcome, AgentError> {
        let mut slot = self.slot.lock().await;
        Self::refresh(&mut slot);
        let Some(running) = slot.running.take() else {
            return Ok(StopOutcome::NotRunning);
        };
        slot.header = None;
        match running {
            Running::Process(p) => {
                p.stop(self.cfg.stop_grace)
                    .await
                    .map_err(|e| AgentError::Stop(e.to_string()))?;
                if slot.engine == EngineSpec::FastClick {
                    fastclick::remove_runtime_dir(&self.cfg.interfaces);
                }
            }
            Running::Kernel(k) => tokio::task::spawn_blocking(move || k.stop())
                .await
                .map_err(|e| AgentError::Stop(e.to_string()))?
                .map_err(AgentError::Stop)?,
        }
        tracing::info!(engine = %slot.engine, "engine stopped");
        Ok(StopOutcome::Stopped)
    }

    pub async fn identification(&self) -> Identification {
        let mut slot = self.slot.lock().await;
        Self::refresh(&mut slot);
        match (&slot.running, &slot.header) {
            (None, _) => Identification::NotRunning,
            (Some(_), Some(h)) => Identification::Valid(h.clone()),
            (Some(_), None) => Identification::Invalid,
        }
    }

    /// The engine's stdout+stderr of the current or last run; `None` if no engine ever ran.
    /// Only the last `MAX_LOG` bytes are returned (a `Print` element can log every packet).
    pub fn log(&self) -> Option<String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(self.log_path()).ok()?;
        let len = f.metadata().ok()?.len();
        let skip = len.saturating_sub(MAX_LOG);
        f.seek(SeekFrom::Start(skip)).ok()?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        Some(if skip > 0 {
            format!("[... {skip} earlier bytes omitted]\n{text}")
        } else {
            text.into_owned()
        })
    }

    async fn control(&self) -> Result<ControlClient, AgentError> {
        match self.target().await {
            Target::None => Err(AgentError::NotRunning),
            Target::Kernel { .. } => Err(AgentError::NoControlSocket("kernel-forward".into())),
            Target::Process { socket, .. } => {
                Ok(ControlClient::connect(&socket, self.cfg.call_timeout).await?)
            }
        }
    }

    pub async fn read_handler(&self, name: &str) -> Result<Vec<u8>, AgentError> {
        control::validate_handler_name(name)?;
        let mut c = self.control().await?;
        let v = c.read(name).await?;
        c.quit().await;
        Ok(v)
    }

    pub async fn write_handler(&self, name: &str, value: &[u8]) -> Result<String, AgentError> {
        control::validate_handler_name(name)?;
        let mut c = self.control().await?;
        let v = c.write(name, value).await?;
        c.quit().await;
        Ok(v)
    }

    fn interface_counters(&self) -> Vec<InterfaceCounters> {
        self.cfg
            .interfaces
            .iter()
            .enumerate()
            .map(|(port, name)| {
                let s = sysinfo::if_stats(name).unwrap_or_default();
                InterfaceCounters {
                    name: name.clone(),
                    port,
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_dropped: s.rx_dropped,
                    tx_dropped: s.tx_dropped,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                }
            })
            .collect()
    }

    /// Element counters over the ControlSocket plus kernel interface counters.
    pub async fn counters(&self) -> Result<Counters, AgentError> {
        let engine = self.engine().await.to_string();
        let target = self.target().await;
        let mut elements = Vec::new();
        if let Target::Process { socket, .. } = &target {
            let mut c = ControlClient::connect(socket, self.cfg.call_timeout).await?;
            let list = c.read_string("list").await?;
            for name in control::parse_list(&list) {
                let class = c
                    .read_string(&format!("{name}.class"))
                    .await
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default();
                let readable = match c.read_string(&format!("{name}.handlers")).await {
                    Ok(h) => control::parse_readable_handlers(&h),
                    Err(ControlError::Handler { .. }) => {
                        let mut found = Vec::new();
                        for h in COUNTER_HANDLERS {
                            if c.check_read(&format!("{name}.{h}")).await? {
                                found.push((*h).to_owned());
                            }
                        }
                        found
                    }
                    Err(e) => return Err(e.into()),
                };
                let mut handlers = std::collections::BTreeMap::new();
                for h in readable
                    .iter()
                    .filter(|h| COUNTER_HANDLERS.contains(&h.as_str()))
                {
                    if let Ok(v) = c.read_string(&format!("{name}.{h}")).await {
                        handlers.insert(h.clone(), v.trim().to_owned());
                    }
                }
                elements.push(ElementCounters {
                    name,
                    class,
                    handlers,
                });
            }
            c.quit().await;
        }
        Ok(Counters {
            engine,
            running: !matches!(target, Target::None),
            elements,
            interfaces: self.interface_counters(),
        })
    }

    pub async fn health(&self) -> Health {
        let target = self.target().await;
        let pid = match target {
            Target::Process { pid, .. } => Some(pid),
            Target::Kernel { .. } => Some(std::process::id()),
            Target::None => None,
        };
        Health {
            status: "ok".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            engine: self.engine().await.to_string(),
            running: pid.is_some(),
            pid,
            function: self.cfg.function.display().to_string(),
            interfaces: self.cfg.interfaces.clone(),
        }
    }

    /// Sum of the engine's in_bytes/out_bytes handlers; kernel counters when it has none.
    async fn io_bytes(&self, socket: &Path, generation: u64) -> (u64, u64) {
        let cached = self
            .samples
            .lock()
            .ok()
            .and_then(|s| s.io_handlers.clone())
            .filter(|(g, _, _)| *g == generation);
        let result = async {
            let mut c = ControlClient::connect(socket, self.cfg.call_timeout).await?;
            let (ins, outs) = match cached {
                Some((_, i, o)) => (i, o),
                None => {
                    let list = c.read_string("list").await?;
                    let (mut i, mut o) = (Vec::new(), Vec::new());
                    for name in control::parse_list(&list) {
                        let hi = format!("{name}.in_bytes");
                        if c.check_read(&hi).await? {
                            i.push(hi);
                        }
                        let ho = format!("{name}.out_bytes");
                        if c.check_read(&ho).await? {
                            o.push(ho);
                        }
                    }
                    if let Ok(mut s) = self.samples.lock() {
                        s.io_handlers = Some((generation, i.clone(), o.clone()));
                    }
                    (i, o)
                }
            };
            if ins.is_empty() && outs.is_empty() {
                c.quit().await;
                return Ok::<_, ControlError>(None);
            }
            let (mut rx, mut tx) = (0u64, 0u64);
            for h in &ins {
                rx += c.read_string(h).await?.trim().parse::<u64>().unwrap_or(0);
            }
            for h in &outs {
                tx += c.read_string(h).await?.trim().parse::<u64>().unwrap_or(0);
            }
            c.quit().await;
            Ok(Some((rx, tx)))
        }
        .await;
        match result {
            Ok(Some(v)) => v,
            _ => self.kernel_bytes(),
        }
    }

    fn kernel_bytes(&self) -> (u64, u64) {
        self.interface_counters()
            .iter()
            .fold((0, 0), |(rx, tx), i| (rx + i.rx_bytes, tx + i.tx_bytes))
    }

    async fn sample(&self, target: &Target) -> Option<Sample> {
        match target {
            Target::None => None,
            Target::Process {
                socket,
                pid,
                generation,
            } => {
                let (rx, tx) = self.io_bytes(socket, *generation).await;
                Some(Sample {
                    at: Instant::now(),
                    cpu_ticks: sysinfo::process_cpu_ticks(*pid),
                    rx,
                    tx,
                })
            }
            Target::Kernel { .. } => {
                let (rx, tx) = self.kernel_bytes();
                Some(Sample {
                    at: Instant::now(),
                    cpu_ticks: None,
                    rx,
                    tx,
                })
            }
        }
    }

    /// COO's five metrics. Rates are computed against a stored sample chosen by age only, so
    /// concurrent pollers do not disturb each other's values (COO kept one global "previous").
    pub async fn metrics(&self) -> Metrics {
        let target = self.target().await;
        let disk = sysinfo::disk_usage_pct(&self.cfg.workdir);
        let memory = sysinfo::memory_usage_pct();
        let generation = match &target {
            Target::Process { generation, .. } | Target::Kernel { generation } => Some(*generation),
            Target::None => None,
        };
        let now = self.sample(&target).await;
        let (mut cpu, mut net_tx, mut net_rx) = (0, 0, 0);
        if let (Some(now), Some(generation)) = (now, generation) {
            let base = self.samples.lock().ok().and_then(|mut s| {
                if s.generation != generation {
                    return None;
                }
                s.ring
                    .retain(|x| now.at.duration_since(x.at) < Duration::from_secs(30));
                let base = pick_baseline(&s.ring, now.at);
                s.ring.push(now);
                if s.ring.len() > 64 {
                    s.ring.remove(0);
                }
                base
            });
            if let Some(base) = base {
                (cpu, net_tx, net_rx) = rates(&base, &now);
            }
        }
        Metrics::coo(now_ms(), [cpu, disk, memory, net_tx, net_rx])
    }

    /// Stops whatever runs (agent shutdown).
    pub async fn shutdown(&self) {
        if let Err(e) = self.stop().await {
            tracing::warn!("stopping engine at shutdown: {e}");
        }
        // Removes the engine's directory (the handle's drop does).
        if let Ok(mut d) = self.engine_dir.lock() {
            d.take();
        }
    }
}

/// The newest sample at least 200 ms old, else the oldest one (there is always some interval).
fn pick_baseline(ring: &[Sample], now: Instant) -> Option<Sample> {
    let min_age = Duration::from_millis(200);
    ring.iter()
        .rev()
        .find(|s| now.duration_since(s.at) >= min_age)
        .or_else(|| {
            ring.iter()
                .find(|s| now.duration_since(s.at) > Duration::ZERO)
        })
        .copied()
}

/// (cpu %, tx %, rx %) between two samples. Net: bytes/ms scaled so 100 % = 100 MB/s, as
/// COO at 20ddef2; clamped to 0..=100.
fn rates(base: &Sample, now: &Sample) -> (i64, i64, i64) {
    let secs = now.at.duration_since(base.at).as_secs_f64();
    if secs <= 0.0 {
        return (0, 0, 0);
    }
    let cpu = match (base.cpu_ticks, now.cpu_ticks) {
        (Some(a), Some(b)) => {
            let used = b.saturating_sub(a) as f64 / sysinfo::ticks_per_second() as f64;
            used / secs * 100.0
        }
        _ => 0.0,
    };
    let pct = |a: u64, b: u64| {
        let bytes_per_ms = b.saturating_sub(a) as f64 / (secs * 1000.0);
        bytes_per_ms / 100_000.0 * 100.0
    };
    let clamp = |v: f64| v.round().clamp(0.0, 100.0) as i64;
    (
        clamp(cpu),
        clamp(pct(base.tx, now.tx)),
        clamp(pct(base.rx, now.rx)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: Instant, ticks: u64, rx: u64, tx: u64) -> Sample {
        Sample {
            at,
            cpu_ticks: Some(ticks),
            rx,
            tx,
        }
    }

    #[test]
    fn baseline_by_age() {
        let t0 = Instant::now();
        let ring = vec![
            s(t0, 0, 0, 0),
            s(t0 + Duration::from_millis(900), 0, 0, 0),
            s(t0 + Duration::from_millis(950), 0, 0, 0),
        ];
        let now = t0 + Duration::from_millis(1000);
        assert_eq!(pick_baseline(&ring, now).unwrap().at, t0);
        let now = t0 + Duration::from_millis(1100);
        assert_eq!(
            pick_baseline(&ring, now).unwrap().at,
            t0 + Duration::from_millis(900)
        );
        assert!(pick_baseline(&[], now).is_none());
    }

    /// Concurrent writers all succeed and the file always holds one writer's whole content
    /// (no shared temp name; reliability finding 2).
    #[test]
    #[allow(clippy::unwrap_used)]
    fn concurrent_function_writes_never_fail_or_mix() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = AgentConfig {
            function: dir.path().join("func.click"),
            interfaces: Vec::new(),
            io_mode: None,
            initial_options: EngineOptions::default(),
            workdir: dir.path().to_owned(),
            start_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(1),
            stop_grace: Duration::from_secs(1),
            tc: Arc::new(crate::kernel_forward::RecordingTc::default()),
            allowed_engines: EngineAllowList::default(),
            engine_ids: None,
        };
        let agent = Agent::new(cfg, EngineSpec::CooClick);
        let bodies: Vec<String> = (0..8)
            .map(|w| format!("// writer {w}\n{}\n", "x".repeat(8192 * (w + 1))))
            .collect();
        std::thread::scope(|sc| {
            for b in &bodies {
                let agent = &agent;
                sc.spawn(move || {
                    for _ in 0..40 {
                        agent.write_function(b).unwrap();
                    }
                });
            }
            // Readers never see a torn file.
            for _ in 0..200 {
                if let Ok(t) = agent.read_function() {
                    assert!(bodies.contains(&t), "mixed content of {} bytes", t.len());
                }
            }
        });
        assert!(bodies.contains(&agent.read_function().unwrap()));
        // No temp file left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["func.click"], "{names:?}");
    }

    #[test]
    fn rate_scaling() {
        let t0 = Instant::now();
        let tps = sysinfo::ticks_per_second();
        // 1 s, half a CPU second, 50 MB received (50 %), 200 MB sent (clamped to 100 %).
        let (cpu, tx, rx) = rates(
            &s(t0, 0, 0, 0),
            &s(
                t0 + Duration::from_secs(1),
                tps / 2,
                50_000_000,
                200_000_000,
            ),
        );
        assert_eq!((cpu, tx, rx), (50, 100, 50));
        assert_eq!(rates(&s(t0, 5, 5, 5), &s(t0, 9, 9, 9)), (0, 0, 0));
    }
}
