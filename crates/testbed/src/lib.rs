//! The netns testbed: instantiate a validated topology as network namespaces, bridges and
//! `coo-vnf` agents (`up`), describe it (`testbed.json`, `status`), and remove exactly what
//! was made (`down`, `clean`) from the cleanup ledger.
//!
//! Flow: [`plan()`] (pure) → [`apply::apply`] over [`hostnet::NetOps`] and an
//! [`agents::Launcher`] → wait for every agent → `testbed.json`. All functions block; from
//! async code call them through `spawn_blocking`.

pub mod agents;
pub mod apply;
pub mod layout;
pub mod plan;
pub mod probe;
pub mod runs;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use hostnet::ledger::{self, TeardownReport};
use hostnet::{
    LedgerError, NetError, NetOps, NetnsName, ProcId, ProcessOps, RealProcesses, RtNetOps,
};
use serde::Serialize;
use topology::Topology;

pub use agents::{find_agent_binary, FakeLauncher, Launcher, ProcessLauncher};
pub use layout::{AgentInfo, Attachment, BridgeInfo, InterfaceInfo, Testbed, VnfInstance};
pub use plan::{plan, Action, AgentSpec, Plan, PlanError};
pub use runs::run_root;

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("topology has no variant {name:?} (available: {})", available.join(", "))]
    NoSuchVariant {
        name: String,
        available: Vec<String>,
    },
    #[error("the netns driver needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")]
    NotRoot,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Io(String),
    #[error("agent binary not found at {0} (build it with `cargo build --bin coo-vnf`, or set COO_BENCH_COO_VNF)")]
    AgentMissing(PathBuf),
    #[error("agent of {vnf} exited during start-up; {}:\n{tail}", log.display())]
    AgentDied {
        vnf: String,
        log: PathBuf,
        tail: String,
    },
    #[error("agent of {vnf} did not answer in time; {}:\n{tail}", log.display())]
    AgentTimeout {
        vnf: String,
        log: PathBuf,
        tail: String,
    },
    #[error("interrupted; everything created so far was removed")]
    Interrupted,
    #[error("run {0} already exists")]
    RunExists(String),
    #[error("no testbed {0} (see `coo-bench status`)")]
    NoSuchRun(String),
    #[error("{id} names several testbeds ({}); give the run id", runs.join(", "))]
    Ambiguous { id: String, runs: Vec<String> },
    #[error("run {0} is busy (an `up`, `down` or `clean` is working on it)")]
    Busy(String),
    #[error("teardown of {run} left {} object(s): {}", errors.len(), errors.join("; "))]
    Teardown { run: String, errors: Vec<String> },
    #[error("testbed.json of {run}: {msg}")]
    BadTestbedJson { run: String, msg: String },
}

/// Options of [`up`].
#[derive(Clone, Debug)]
pub struct UpOptions {
    /// Variant name; default: the topology's first variant.
    pub variant: Option<String>,
    /// Explicit run id; default `<topology-id>-<4 hex>`.
    pub run_id: Option<String>,
    /// Default: [`run_root()`].
    pub run_root: Option<PathBuf>,
    /// Default: [`find_agent_binary()`].
    pub agent_binary: Option<PathBuf>,
    /// Start every engine right away (`coo-vnf --autostart`).
    pub autostart: bool,
    pub io_mode: Option<String>,
    pub ready_timeout: Duration,
    /// Set (e.g. from SIGINT/SIGTERM) to abort `up`; what was made is removed.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for UpOptions {
    fn default() -> Self {
        Self {
            variant: None,
            run_id: None,
            run_root: None,
            agent_binary: None,
            autostart: false,
            io_mode: None,
            ready_timeout: Duration::from_secs(10),
            cancel: None,
        }
    }
}

/// The privileged back-ends; real ones from [`Host::real`], fakes in tests.
pub struct Host<'a> {
    pub net: &'a dyn NetOps,
    pub procs: &'a dyn ProcessOps,
    pub launcher: &'a dyn Launcher,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Bring up `topo` with the real back-ends; returns when every agent answers.
pub fn up(topo: &Topology, opts: &UpOptions) -> Result<Testbed, UpError> {
    if !is_root() {
        return Err(UpError::NotRoot);
    }
    let net = RtNetOps::new()?;
    let procs = RealProcesses::default();
    let binary = match &opts.agent_binary {
        Some(b) => b.clone(),
        None => find_agent_binary()?,
    };
    if !binary.is_file() {
        return Err(UpError::AgentMissing(binary));
    }
    // Agents start with their workdir as cwd: a relative path would resolve there.
    let binary = std::fs::canonicalize(&binary)
        .map_err(|e| UpError::Io(format!("{}: {e}", binary.display())))?;
    let launcher = ProcessLauncher {
        binary,
        autostart: opts.autostart,
        io_mode: opts.io_mode.clone(),
    };
    up_with(
        topo,
        opts,
        &Host {
            net: &net,
            procs: &procs,
            launcher: &launcher,
        },
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// [`up`] over the given back-ends.
pub fn up_with(topo: &Topology, opts: &UpOptions, host: &Host<'_>) -> Result<Testbed, UpError> {
    let variant = match &opts.variant {
        None => topo.variants.first(),
        Some(n) => topo.variant(n),
    }
    .ok_or_else(|| UpError::NoSuchVariant {
        name: opts.variant.clone().unwrap_or_default(),
        available: topo.variants.iter().map(|v| v.name.clone()).collect(),
    })?;
    let root = opts.run_root.clone().unwrap_or_else(run_root);
    let run = runs::allocate(&root, topo.id.as_str(), opts.run_id.as_deref(), host.net)?;
    let result = (|| {
        let p = plan(topo, variant, &run.prefix, &run.run_id, &run.dir)?;
        let mut ledger = hostnet::Ledger::create(&run.dir.join(runs::LEDGER))?;
        let cancel = opts.cancel.as_deref();
        let agents = apply::apply(&p.actions, host.net, host.launcher, &mut ledger, cancel)
            .inspect_err(|_| drop(ledger))?;
        host.launcher
            .wait_ready(&agents, opts.ready_timeout, cancel)?;
        let mut tb = p.testbed;
        for (spec, id) in &agents {
            if let Some(v) = tb.vnfs.iter_mut().find(|v| v.id == spec.vnf) {
                v.agent.pid = Some(id.pid);
                v.agent.start_time = Some(id.start_time);
            }
        }
        tb.created_unix_ms = now_ms();
        write_testbed(&run.dir, &tb)?;
        Ok(tb)
    })();
    match result {
        Ok(tb) => Ok(tb),
        Err(e) => {
            let lp = run.dir.join(runs::LEDGER);
            if lp.exists() {
                if let Ok(rep) = ledger::teardown(&lp, host.net, host.procs) {
                    if !rep.errors.is_empty() {
                        tracing::warn!("rollback left objects: {:?}", rep.errors);
                        return Err(e);
                    }
                }
            }
            let _ = fs::remove_dir_all(&run.dir);
            Err(e)
        }
    }
}

fn write_testbed(dir: &Path, tb: &Testbed) -> Result<(), UpError> {
    let tmp = dir.join("testbed.json.tmp");
    let text = serde_json::to_string_pretty(tb).map_err(|e| UpError::Io(e.to_string()))?;
    fs::write(&tmp, text + "\n")
        .map_err(|e| UpError::Io(format!("write {}: {e}", tmp.display())))?;
    fs::rename(&tmp, dir.join(runs::TESTBED_JSON))
        .map_err(|e| UpError::Io(format!("rename testbed.json: {e}")))
}

/// Read `testbed.json` of a run (id = run id, or a topology id with exactly one run).
pub fn load(id: &str) -> Result<Testbed, UpError> {
    load_in(&run_root(), id)
}

pub fn load_in(root: &Path, id: &str) -> Result<Testbed, UpError> {
    let run = runs::resolve(root, id)?;
    let path = root.join(&run).join(runs::TESTBED_JSON);
    let text = fs::read_to_string(&path).map_err(|e| UpError::BadTestbedJson {
        run: run.clone(),
        msg: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| UpError::BadTestbedJson {
        run,
        msg: e.to_string(),
    })
}

/// What `down` removed.
#[derive(Debug, Serialize)]
pub struct DownReport {
    pub run_id: String,
    pub removed: usize,
}

fn teardown_run(
    root: &Path,
    run: &str,
    host_net: &dyn NetOps,
    procs: &dyn ProcessOps,
) -> Result<TeardownReport, UpError> {
    let dir = root.join(run);
    let lp = dir.join(runs::LEDGER);
    let rep = if lp.exists() {
        ledger::teardown(&lp, host_net, procs)?
    } else {
        TeardownReport::default()
    };
    if !rep.errors.is_empty() {
        return Err(UpError::Teardown {
            run: run.to_owned(),
            errors: rep
                .errors
                .iter()
                .map(|(o, e)| format!("{o}: {e}"))
                .collect(),
        });
    }
    fs::remove_dir_all(&dir).map_err(|e| UpError::Io(format!("remove {}: {e}", dir.display())))?;
    Ok(rep)
}

/// Remove a testbed: exactly what its ledger lists, newest first, then its run directory.
pub fn down(id: &str) -> Result<DownReport, UpError> {
    let net = RtNetOps::new()?;
    down_with(&run_root(), id, &net, &RealProcesses::default())
}

pub fn down_with(
    root: &Path,
    id: &str,
    net: &dyn NetOps,
    procs: &dyn ProcessOps,
) -> Result<DownReport, UpError> {
    let run = runs::resolve(root, id)?;
    let dir = root.join(&run);
    let _lock = runs::try_lock(&dir)
        .map_err(|e| UpError::Io(e.to_string()))?
        .ok_or_else(|| UpError::Busy(run.clone()))?;
    let rep = teardown_run(root, &run, net, procs)?;
    Ok(DownReport {
        run_id: run,
        removed: rep.removed.len(),
    })
}

/// What `clean` did.
#[derive(Debug, Default, Serialize)]
pub struct CleanReport {
    pub removed_runs: Vec<String>,
    pub objects_removed: usize,
    /// Runs another process is working on right now.
    pub busy_runs: Vec<String>,
    pub failed: Vec<String>,
    /// `cb????`-looking namespaces that no ledger lists: not ours to remove.
    pub foreign_netns: Vec<String>,
}

/// Remove every run's leftovers (also after SIGKILL), skipping runs in progress.
pub fn clean() -> Result<CleanReport, UpError> {
    let net = RtNetOps::new()?;
    clean_with(&run_root(), &net, &RealProcesses::default())
}

pub fn clean_with(
    root: &Path,
    net: &dyn NetOps,
    procs: &dyn ProcessOps,
) -> Result<CleanReport, UpError> {
    let mut rep = CleanReport::default();
    for run in runs::list_runs(root).map_err(|e| UpError::Io(e.to_string()))? {
        let dir = root.join(&run);
        let lock = match runs::try_lock(&dir) {
            Ok(Some(l)) => l,
            Ok(None) => {
                rep.busy_runs.push(run);
                continue;
            }
            Err(e) => {
                rep.failed.push(format!("{run}: {e}"));
                continue;
            }
        };
        match teardown_run(root, &run, net, procs) {
            Ok(t) => {
                rep.objects_removed += t.removed.len();
                rep.removed_runs.push(run);
            }
            Err(e) => rep.failed.push(e.to_string()),
        }
        drop(lock);
    }
    // Report, never touch, prefix-looking namespaces without a ledger.
    let known: Vec<String> = runs::list_runs(root)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| ledger::entries(&root.join(r).join(runs::LEDGER)).ok())
        .flatten()
        .filter_map(|e| match e.object {
            hostnet::Object::Netns { name } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    for n in net.list_netns()? {
        if looks_like_ours(n.as_str()) && !known.contains(&n.to_string()) {
            rep.foreign_netns.push(n.to_string());
        }
    }
    Ok(rep)
}

fn looks_like_ours(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 6
        && name.starts_with("cb")
        && b[2..6].iter().all(|c| c.is_ascii_hexdigit())
        && (b.len() == 6 || b[6] == b'-')
}

/// One agent in `status`.
#[derive(Debug, Serialize)]
pub struct AgentStatus {
    pub vnf: String,
    pub pid: Option<i32>,
    pub alive: bool,
    pub answers: bool,
    pub endpoint: String,
}

/// One run in `status`.
#[derive(Debug, Serialize)]
pub struct RunStatus {
    pub run_id: String,
    /// `up` (testbed.json written), `starting` (an `up` holds the lock), `incomplete`
    /// (ledger only: a crashed `up`; `clean` removes it).
    pub state: String,
    pub ledger_objects: usize,
    pub missing_netns: Vec<String>,
    pub agents: Vec<AgentStatus>,
    pub testbed: Option<Testbed>,
}

/// Every testbed under the run root.
pub fn status() -> Result<Vec<RunStatus>, UpError> {
    status_in(&run_root())
}

pub fn status_in(root: &Path) -> Result<Vec<RunStatus>, UpError> {
    let mut out = Vec::new();
    for run in runs::list_runs(root).map_err(|e| UpError::Io(e.to_string()))? {
        let dir = root.join(&run);
        let testbed = load_in(root, &run).ok();
        let busy = matches!(runs::try_lock(&dir), Ok(None));
        let entries = ledger::entries(&dir.join(runs::LEDGER)).unwrap_or_default();
        let missing_netns = entries
            .iter()
            .filter_map(|e| match &e.object {
                hostnet::Object::Netns { name } if !hostnet::netns::exists(name) => {
                    Some(name.to_string())
                }
                _ => None,
            })
            .collect();
        let agents = testbed
            .iter()
            .flat_map(|tb| tb.vnfs.iter())
            .map(|v| {
                let alive = match (v.agent.pid, v.agent.start_time) {
                    (Some(pid), Some(start_time)) => ProcId { pid, start_time }.alive(),
                    _ => false,
                };
                let sock = v.agent.endpoint.strip_prefix("unix:").map(PathBuf::from);
                AgentStatus {
                    vnf: v.id.clone(),
                    pid: v.agent.pid,
                    alive,
                    answers: alive && sock.is_some_and(|s| probe::agent_answers(&s)),
                    endpoint: v.agent.endpoint.clone(),
                }
            })
            .collect();
        let state = if busy {
            "starting"
        } else if testbed.is_some() {
            "up"
        } else {
            "incomplete"
        };
        out.push(RunStatus {
            run_id: run,
            state: state.to_owned(),
            ledger_objects: entries.len(),
            missing_netns,
            agents,
            testbed,
        });
    }
    Ok(out)
}

/// Namespaces of a testbed (switch, VNFs, source, sinks), e.g. for safety checks.
pub fn namespaces(tb: &Testbed) -> Vec<NetnsName> {
    let mut v = vec![tb.switch_netns.clone()];
    v.extend(tb.vnfs.iter().map(|x| x.netns.clone()));
    v.push(tb.source.netns.clone());
    v.extend(tb.sinks.iter().map(|s| s.netns.clone()));
    v
}
