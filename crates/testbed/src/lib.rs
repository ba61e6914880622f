//! The netns testbed: instantiate a validated topology as network namespaces, bridges and
//! `coo-vnf` agents (`up`), describe it (`testbed.json`, `status`), and remove exactly what
//! was made (`down`, `clean`) from the cleanup ledger.
//!
//! Flow: checks and plan (pure, by the [`Driver`]) → [`apply::apply`] of the network part
//! over [`hostnet::NetOps`] → the driver starts the VNFs and waits for every agent →
//! `testbed.json`. All functions block; from async code call them through `spawn_blocking`.
//!
//! Drivers ([`driver`]): [`NetnsDriver`] (an [`agents::Launcher`] starts `coo-vnf` in each
//! VNF namespace) and, with [`DriverKind::Vm`] ([`UpOptions::driver`], else the topology's
//! `driver`), [`VmDriver`]: every VNF a transient libvirt domain ([`plan_vm`], [`vm`]) with
//! the same bridges, source and sinks, agents reached over TCP from the management
//! namespace `<prefix>-mgmt`. Every object made, domains too, is in the run's one ledger;
//! `down`, `clean` and `status` read it and need no driver.

pub mod agents;
pub mod apply;
pub mod driver;
pub mod hosts;
pub mod layout;
pub mod plan;
pub mod probe;
pub mod runs;
pub mod vm;

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
pub use driver::{DomainTeardown, Driver, NetnsDriver, StartContext, VmDriver};
pub use hosts::Underlay;
pub use layout::{
    AgentInfo, Attachment, BridgeInfo, CeilingLink, HostInfo, InterfaceInfo, MgmtInfo, Testbed,
    TunnelInfo, VmDiskInfo, VmInfo, VnfInstance,
};
pub use plan::{plan, plan_vm, Action, AgentSpec, Plan, PlanError, VmStart};
pub use runs::run_root;
pub use topology::DriverKind;
pub use vm::{DhcpLeases, FakeAgents, GuestAgents, RestAgents};

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("topology has no variant {name:?} (available: {})", available.join(", "))]
    NoSuchVariant {
        name: String,
        available: Vec<String>,
    },
    #[error("the netns driver needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")]
    NotRoot,
    /// `down`/`clean` as non-root: they remove namespaces, links and processes root made.
    #[error(
        "`coo-bench {0}` needs root (it removes namespaces, links, processes and VMs made as root)"
    )]
    NeedsRoot(&'static str),
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
    #[error("invalid run id {0:?}: use 1-64 of [A-Za-z0-9_.-], not starting with `.`")]
    InvalidRunId(String),
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
    #[error("vm driver: {0}")]
    Vm(String),
    #[error("the topology has `hosts`: VNFs on several machines need the vm driver")]
    HostsNeedVmDriver,
    /// `up_with` was given a driver other than the one the options and topology ask for.
    #[error("the run asks for the {wanted:?} driver but was given the {given:?} driver")]
    DriverMismatch {
        wanted: DriverKind,
        given: DriverKind,
    },
    #[error(
        "not enough memory for the VMs: they need {need_mib} MiB ({vms} VM(s): memory_mib plus \
         QEMU overhead and a host margin), the host has {available_mib} MiB available \
         (MemAvailable in /proc/meminfo); lower memory_mib in the topology or use --driver netns"
    )]
    NotEnoughMemory {
        vms: usize,
        need_mib: u64,
        available_mib: u64,
    },
    #[error("libvirt is unreachable: {0}; prepare the host with `coo-bench doctor --fix`")]
    LibvirtUnavailable(String),
    #[error("VNF {vnf}: disk image {}: {reason}", image.display())]
    DiskImage {
        vnf: String,
        image: PathBuf,
        reason: String,
    },
    #[error("management DHCP server: {0}")]
    Dhcp(String),
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
    /// netns or vm; default: the topology's `driver`, else vm with `hosts`, else netns.
    pub driver: Option<DriverKind>,
    /// vm driver: how long to wait for every guest agent (TCG boots take seconds per VM and
    /// VMs share the host's cores). `ready_timeout` is for the netns driver.
    pub vm_ready_timeout: Duration,
    /// vm driver: told as each VNF's VM moves on (a boot takes seconds to minutes).
    pub vm_progress: Option<VmProgress>,
}

/// Where a VNF's VM is in `up` (vm driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmStage {
    /// Its libvirt domain is about to be defined and started.
    Defining,
    /// The domain runs; the guest boots until its agent answers.
    Booting,
    /// The guest's agent answers.
    AgentAnswering,
    /// Function and engine pushed: the VNF is ready.
    Configured,
}

impl std::fmt::Display for VmStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VmStage::Defining => "defining domain",
            VmStage::Booting => "booting",
            VmStage::AgentAnswering => "agent answering",
            VmStage::Configured => "configured",
        })
    }
}

/// One step of one VNF's VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmEvent {
    pub vnf: String,
    pub stage: VmStage,
}

/// Callback for [`VmEvent`]s (called from `up`'s threads, one per VM while they boot).
#[derive(Clone)]
pub struct VmProgress(pub Arc<dyn Fn(&VmEvent) + Send + Sync>);

impl std::fmt::Debug for VmProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VmProgress(..)")
    }
}

impl UpOptions {
    pub(crate) fn vm_event(&self, vnf: &str, stage: VmStage) {
        tracing::debug!(vnf, %stage, "vm");
        if let Some(p) = &self.vm_progress {
            (p.0)(&VmEvent {
                vnf: vnf.to_owned(),
                stage,
            });
        }
    }
}

impl UpOptions {
    /// The driver `up` uses for `topo`: the option, else the topology's, else vm for a
    /// topology with `hosts` (VNFs on other machines are VMs) and netns otherwise.
    pub fn driver_for(&self, topo: &Topology) -> DriverKind {
        self.driver
            .or(topo.driver)
            .unwrap_or(if topo.hosts.is_empty() {
                DriverKind::Netns
            } else {
                DriverKind::Vm
            })
    }
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
            driver: None,
            vm_ready_timeout: Duration::from_secs(180),
            vm_progress: None,
        }
    }
}

/// The privileged back-ends every testbed operation goes through: real ones from
/// [`RealOps`], recording fakes in tests.
pub struct Ops<'a> {
    pub net: &'a dyn NetOps,
    pub procs: &'a dyn ProcessOps,
    /// The hypervisors a run's domains live on (connected on first use).
    pub vms: &'a dyn vmdriver::Hypervisors,
}

/// The real back-ends: rtnetlink, processes, libvirt.
pub struct RealOps {
    net: RtNetOps,
    procs: RealProcesses,
    vms: vmdriver::hosts::LibvirtHosts,
}

impl RealOps {
    /// Opens the netlink socket; libvirt is connected only when a run needs it.
    pub fn new() -> Result<Self, UpError> {
        Ok(RealOps {
            net: RtNetOps::new()?,
            procs: RealProcesses::default(),
            vms: vmdriver::hosts::LibvirtHosts::new(),
        })
    }

    pub fn ops(&self) -> Ops<'_> {
        Ops {
            net: &self.net,
            procs: &self.procs,
            vms: &self.vms,
        }
    }
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
    let real = RealOps::new()?;
    let ops = real.ops();
    match opts.driver_for(topo) {
        DriverKind::Netns => {
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
                &ops,
                &NetnsDriver {
                    launcher: &launcher,
                },
            )
        }
        DriverKind::Vm => {
            // Checked before anything is created: nothing to undo on failure.
            if !ops.vms.local_may_run() {
                return Err(UpError::LibvirtUnavailable(format!(
                    "{} absent (libvirtd not running)",
                    vmdriver::libvirt::SOCKET
                )));
            }
            let conn = ops
                .vms
                .on(None)
                .map_err(|e| UpError::LibvirtUnavailable(e.to_string()))?;
            // VNFs on other hosts use their memory (`hosts[].memory_mib`, checked by the
            // topology's placement).
            vm::check_host_memory(
                topo.vnfs
                    .iter()
                    .filter(|v| v.host.is_none())
                    .map(|v| v.memory_mib),
            )?;
            let backend = vm::prepare_backend(conn, &external_engines(topo, opts))?;
            // Real hosts: reached over the machine's own underlay and ssh.
            let underlay = if topo.hosts.is_empty() {
                None
            } else {
                Some(Underlay::real(topo, None)?)
            };
            let driver = VmDriver {
                backend: &backend,
                agents: &RestAgents,
                vms: ops.vms,
                underlay,
            };
            up_with(topo, opts, &ops, &driver)
        }
    }
}

/// External engine binaries the variant names: they must be in the guest image.
fn external_engines(topo: &Topology, opts: &UpOptions) -> Vec<PathBuf> {
    let variant = match &opts.variant {
        None => topo.variants.first(),
        Some(n) => topo.variant(n),
    };
    variant
        .map(|v| topo.resolve(v))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| match r.engine {
            topology::EngineSpec::External(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// [`up`] over the given back-ends and driver.
pub fn up_with(
    topo: &Topology,
    opts: &UpOptions,
    ops: &Ops<'_>,
    driver: &dyn Driver,
) -> Result<Testbed, UpError> {
    let variant = match &opts.variant {
        None => topo.variants.first(),
        Some(n) => topo.variant(n),
    }
    .ok_or_else(|| UpError::NoSuchVariant {
        name: opts.variant.clone().unwrap_or_default(),
        available: topo.variants.iter().map(|v| v.name.clone()).collect(),
    })?;
    let wanted = opts.driver_for(topo);
    if wanted != driver.kind() {
        return Err(UpError::DriverMismatch {
            wanted,
            given: driver.kind(),
        });
    }
    let root = opts.run_root.clone().unwrap_or_else(run_root);
    // Checked before anything is created, on a run dir name as long as the one `allocate`
    // will make.
    let id = opts
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{}-0000", topo.id));
    driver.check(topo, &root.join(id))?;
    let run = runs::allocate(&root, topo.id.as_str(), opts.run_id.as_deref(), ops.net)?;
    let result = (|| {
        let mut p = driver.plan(topo, variant, &run.prefix, &run.run_id, &run.dir)?;
        give_agents_a_token(&mut p.actions, &run.dir)?;
        let mut ledger = hostnet::Ledger::create(&run.dir.join(runs::LEDGER))?;
        let first_vnf = p
            .actions
            .iter()
            .position(driver::starts_vnf)
            .unwrap_or(p.actions.len());
        let (net_actions, vnf_actions) = p.actions.split_at(first_vnf);
        apply::apply(
            net_actions,
            ops.net,
            &mut ledger,
            opts.cancel.as_deref(),
            &mut |a, _, _| {
                Err(UpError::Io(format!(
                    "VNF action before the VNF part: {a:?}"
                )))
            },
        )?;
        let mut tb = p.testbed;
        driver.start_vnfs(
            &mut tb,
            vnf_actions,
            &mut StartContext {
                net: ops.net,
                ledger: &mut ledger,
                opts,
            },
        )?;
        tb.created_unix_ms = now_ms();
        write_testbed(&run.dir, &tb)?;
        Ok(tb)
    })();
    match result {
        Ok(tb) => Ok(tb),
        Err(e) => {
            let lp = run.dir.join(runs::LEDGER);
            if lp.exists() {
                let domains = DomainTeardown {
                    vms: ops.vms,
                    prefix: Some(run.prefix.clone()),
                };
                if let Ok(rep) = ledger::teardown_with(&lp, ops.net, ops.procs, &domains) {
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

/// The run's agent token file, mode 0600 (see `docs/rest-api.md`, security).
pub const TOKEN_FILE: &str = "agent.token";

/// A fresh token for the run's agents: netns agents read the file, VM guests get its digest
/// on their kernel command line (the token itself would be visible there).
fn give_agents_a_token(actions: &mut [Action], run_dir: &Path) -> Result<(), UpError> {
    let token = coo_api::Token::generate();
    let file = run_dir.join(TOKEN_FILE);
    token
        .write_new_file(&file)
        .map_err(|e| UpError::Io(e.to_string()))?;
    let digest = token.digest().to_hex();
    for a in actions {
        match a {
            Action::StartAgent(spec) => spec.token_file = Some(file.clone()),
            Action::StartVm(vm) => vm.spec.token_sha256 = Some(digest.clone()),
            _ => {}
        }
    }
    Ok(())
}

/// The token of a run's agents (`None` for a run made before agents had one).
pub fn agent_token(tb: &Testbed) -> Result<Option<coo_api::Token>, UpError> {
    let file = tb.run_dir.join(TOKEN_FILE);
    if !file.exists() {
        return Ok(None);
    }
    coo_api::Token::read_file(&file)
        .map(Some)
        .map_err(|e| UpError::Io(e.to_string()))
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

fn teardown_run(root: &Path, run: &str, ops: &Ops<'_>) -> Result<TeardownReport, UpError> {
    let dir = root.join(run);
    let lp = dir.join(runs::LEDGER);
    vm::adopt_legacy_domains(&dir, &lp)?;
    let prefix = runs::read_prefix_of(&dir);
    if let Some(prefix) = &prefix {
        for base in DPDK_RUNTIME {
            remove_dpdk_runtime(Path::new(base), prefix);
        }
    }
    let rep = if lp.exists() {
        let domains = DomainTeardown {
            vms: ops.vms,
            prefix,
        };
        ledger::teardown_with(&lp, ops.net, ops.procs, &domains)?
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

/// Where DPDK's EAL keeps its runtime directories (`<prefix>/`), which it leaves behind: as
/// root, and as an unprivileged engine (agent::fastclick::RUNTIME_DIRS).
const DPDK_RUNTIME: [&str; 2] = ["/var/run/dpdk", "/tmp/dpdk"];

/// Removes the EAL runtime directories of this run's FastClick engines
/// (`coo-<run prefix>-…`, see `agent::fastclick::file_prefix`), e.g. after a killed run.
fn remove_dpdk_runtime(base: &Path, run_prefix: &str) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    let ours = format!("coo-{run_prefix}-");
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&ours) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Remove a testbed: exactly what its ledger lists, newest first, then its run directory.
pub fn down(id: &str) -> Result<DownReport, UpError> {
    down_in(&run_root(), id)
}

/// [`down`] of a run under `root`, with the real back-ends.
pub fn down_in(root: &Path, id: &str) -> Result<DownReport, UpError> {
    if !is_root() {
        return Err(UpError::NeedsRoot("down"));
    }
    down_with(root, id, &RealOps::new()?.ops())
}

/// [`down`] over the given back-ends.
pub fn down_with(root: &Path, id: &str, ops: &Ops<'_>) -> Result<DownReport, UpError> {
    let run = runs::resolve(root, id)?;
    let dir = root.join(&run);
    let _lock = runs::try_lock(&dir)
        .map_err(|e| UpError::Io(e.to_string()))?
        .ok_or_else(|| UpError::Busy(run.clone()))?;
    let rep = teardown_run(root, &run, ops)?;
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
    /// coo-bench-named domains (`cb…-`, `cbt…-`) of the local hypervisor that no ledger
    /// here lists: reported, not touched (they may belong to a testbed under another run
    /// root, e.g. a test's), unless `clean` was asked to destroy them.
    pub foreign_domains: Vec<String>,
    /// Foreign domains destroyed (`coo-bench clean --domains`).
    pub leftover_domains: Vec<String>,
    /// What was skipped and why (e.g. libvirt not installed).
    pub notes: Vec<String>,
}

/// Remove every run's leftovers (also after SIGKILL), skipping runs in progress.
/// With libvirt reachable it also reports coo-bench domains no ledger lists.
pub fn clean() -> Result<CleanReport, UpError> {
    clean_opts(false)
}

/// [`clean`]; `destroy_foreign_domains`: also destroy coo-bench-named domains no ledger here
/// lists (minus runs in progress).
pub fn clean_opts(destroy_foreign_domains: bool) -> Result<CleanReport, UpError> {
    if !is_root() {
        return Err(UpError::NeedsRoot("clean"));
    }
    clean_with(&run_root(), &RealOps::new()?.ops(), destroy_foreign_domains)
}

/// [`clean`] of the runs under `root` over the given back-ends; `leftovers`: also destroy
/// coo-bench domains of the local hypervisor no busy run owns.
pub fn clean_with(root: &Path, ops: &Ops<'_>, leftovers: bool) -> Result<CleanReport, UpError> {
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
        match teardown_run(root, &run, ops) {
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
    for n in ops.net.list_netns()? {
        if looks_like_ours(n.as_str()) && !known.contains(&n.to_string()) {
            rep.foreign_netns.push(n.to_string());
        }
    }
    if !ops.vms.local_may_run() {
        rep.notes.push(format!(
            "libvirt not running ({} absent): no domain check",
            vmdriver::libvirt::SOCKET
        ));
        return Ok(rep);
    }
    let d = match ops.vms.on(None) {
        Ok(d) => d,
        Err(e) => {
            rep.notes
                .push(format!("libvirt unreachable ({e}): no domain check"));
            return Ok(rep);
        }
    };
    let busy: Vec<String> = rep
        .busy_runs
        .iter()
        .filter_map(|r| runs::read_prefix_of(&root.join(r)))
        .map(|p| format!("{p}-"))
        .collect();
    match d.list("cb") {
        Ok(list) => {
            for dom in list {
                if !vmdriver::driver::is_coo_bench_domain(&dom.name)
                    || busy.iter().any(|p| dom.name.starts_with(p))
                {
                    continue;
                }
                if !leftovers {
                    rep.foreign_domains.push(dom.name);
                    continue;
                }
                match d.destroy(&dom.name) {
                    Ok(()) => rep.leftover_domains.push(dom.name),
                    Err(e) => rep.failed.push(format!("domain {}: {e}", dom.name)),
                }
            }
        }
        Err(e) => rep.failed.push(format!("list domains: {e}")),
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
    /// vm driver: the domain and its libvirt state (`running`, `shutoff`, `gone`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_state: Option<String>,
    pub pid: Option<i32>,
    pub alive: bool,
    pub answers: bool,
    pub endpoint: String,
}

/// One domain of the run's ledger in `status`.
#[derive(Debug, Serialize)]
pub struct DomainStatus {
    pub domain: String,
    /// The host it was made on (absent: the local hypervisor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// libvirt's state (`running`, `shutoff`, `gone`, …); absent when libvirt was not asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
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
    /// vm driver: every domain the run created and has not removed, also for an
    /// `incomplete` run (no testbed.json, so no agents): what `clean` will destroy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainStatus>,
    pub testbed: Option<Testbed>,
}

/// Every testbed under the run root.
pub fn status() -> Result<Vec<RunStatus>, UpError> {
    status_in(&run_root())
}

/// [`status`] of the runs under `root`, asking libvirt (when it runs) for domain states.
pub fn status_in(root: &Path) -> Result<Vec<RunStatus>, UpError> {
    status_with(root, &vmdriver::hosts::LibvirtHosts::new())
}

/// [`status_in`] over the given hypervisors (connected only for runs with domains).
pub fn status_with(
    root: &Path,
    vms: &dyn vmdriver::Hypervisors,
) -> Result<Vec<RunStatus>, UpError> {
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
        let mut refs = vm::ledger_domains(&entries);
        refs.extend(
            vm::legacy_domains(&dir)
                .into_iter()
                .map(|name| hostnet::DomainRef { name, host: None }),
        );
        // Each live domain's state, asked of its hypervisor once (the agents' lines reuse it).
        let domains: Vec<DomainStatus> = refs
            .into_iter()
            .map(|d| {
                let uri = d.host.as_ref().map(|h| h.uri.as_str());
                let may_run = uri.is_some() || vms.local_may_run();
                let state = may_run
                    .then(|| vms.on(uri).ok())
                    .flatten()
                    .map(|drv| domain_state(drv.as_ref(), &d.name));
                DomainStatus {
                    state,
                    host: d.host.map(|h| h.name),
                    domain: d.name,
                }
            })
            .collect();
        let agents = testbed
            .iter()
            .flat_map(|tb| tb.vnfs.iter())
            .map(|v| {
                if let Some(info) = &v.vm {
                    return vm_agent_status(v, info, &domains);
                }
                let alive = match (v.agent.pid, v.agent.start_time) {
                    (Some(pid), Some(start_time)) => ProcId { pid, start_time }.alive(),
                    _ => false,
                };
                let sock = v.agent.endpoint.strip_prefix("unix:").map(PathBuf::from);
                AgentStatus {
                    vnf: v.id.clone(),
                    domain: None,
                    domain_state: None,
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
            domains,
            testbed,
        });
    }
    Ok(out)
}

/// libvirt's state of a domain as `status` shows it; `gone` when libvirt does not know it.
fn domain_state(driver: &dyn vmdriver::VmDriver, domain: &str) -> String {
    match driver.state(domain) {
        Ok(s) => serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{s:?}")),
        Err(vmdriver::VmError::NoSuchDomain(_)) => "gone".to_owned(),
        Err(e) => format!("unknown ({e})"),
    }
}

/// A VM agent's line: its domain's state as the run's ledger lines have it (a domain no
/// longer in the ledger was removed: `gone`).
fn vm_agent_status(v: &VnfInstance, info: &VmInfo, domains: &[DomainStatus]) -> AgentStatus {
    let state = match domains.iter().find(|d| d.domain == info.domain) {
        Some(d) => d.state.clone(),
        None => Some("gone".to_owned()),
    };
    let alive = state.as_deref().is_none_or(|s| s == "running");
    let addr = v.agent.tcp_in_netns.parse().ok();
    AgentStatus {
        vnf: v.id.clone(),
        domain: Some(info.domain.clone()),
        domain_state: state,
        pid: None,
        alive,
        answers: alive && addr.is_some_and(|a| probe::vm_agent_answers(&info.mgmt_netns_path, a)),
        endpoint: v.agent.endpoint.clone(),
    }
}

/// Namespaces of a testbed (switch, the hosts' switches, VNFs or management, source,
/// sinks), e.g. for safety checks.
pub fn namespaces(tb: &Testbed) -> Vec<NetnsName> {
    let mut v = vec![tb.switch_netns.clone()];
    v.extend(tb.hosts.iter().map(|h| h.switch_netns.clone()));
    for x in &tb.vnfs {
        if !v.contains(&x.netns) {
            v.push(x.netns.clone());
        }
    }
    v.push(tb.source.netns.clone());
    v.extend(tb.sinks.iter().map(|s| s.netns.clone()));
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod up_front_tests {
    use super::*;
    use hostnet::fake::{RecordingNetOps, RecordingProcesses};

    fn xyz() -> Topology {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/pycoo/ClickOnOSvManager");
        let opts = topology::LoadOptions {
            check_files: false,
            ..Default::default()
        };
        topology::load_with(&dir, &opts).unwrap()
    }

    /// Socket paths beyond `sun_path` are refused before the run root is even created.
    #[test]
    fn socket_path_too_long_is_refused_before_anything_is_made() {
        let topo = xyz();
        let tmp = tempfile::tempdir().unwrap();
        let net = RecordingNetOps::default();
        let procs = RecordingProcesses::default();
        let launcher = FakeLauncher::default();
        let vms = vmdriver::fake::FakeHypervisors::new();
        let ops = Ops {
            net: &net,
            procs: &procs,
            vms: &vms,
        };
        let root = tmp.path().join("d".repeat(100)).join("run");
        let opts = UpOptions {
            run_root: Some(root.clone()),
            ..Default::default()
        };
        let driver = NetnsDriver {
            launcher: &launcher,
        };
        let err = up_with(&topo, &opts, &ops, &driver).unwrap_err();
        assert!(
            matches!(
                &err,
                UpError::Plan(PlanError::SocketPathTooLong { vnf, len, .. })
                    if vnf == "x" && *len > plan::MAX_SOCKET_PATH
            ),
            "{err}"
        );
        assert!(err.to_string().contains("x.sock"), "{err}");
        assert!(!root.exists());
        assert!(net.calls().is_empty());
        // A short root passes the same check.
        let ok = tmp.path().join("r");
        assert!(plan::check_socket_paths(&topo, &ok.join("sfc-0000")).is_ok());
    }

    /// An explicit run id counts with its own length.
    #[test]
    fn socket_path_check_uses_the_explicit_run_id() {
        let topo = xyz();
        let base = Path::new("/run/coo-bench");
        assert!(plan::check_socket_paths(&topo, &base.join("a".repeat(64))).is_ok());
        let deep = base.join("d".repeat(60)).join("a".repeat(64));
        assert!(plan::check_socket_paths(&topo, &deep).is_err());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod dpdk_runtime_tests {
    use super::*;

    #[test]
    fn only_this_runs_eal_directories_are_removed() {
        let base = tempfile::tempdir().unwrap();
        for d in [
            "coo-cb12ab-fw-0",
            "coo-cb12ab-nat-0",
            "coo-cb12ac-fw-0",
            "rte",
        ] {
            fs::create_dir_all(base.path().join(d).join("x")).unwrap();
        }
        remove_dpdk_runtime(base.path(), "cb12ab");
        let mut left: Vec<String> = fs::read_dir(base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["coo-cb12ac-fw-0", "rte"]);
        // A missing base directory is not an error.
        remove_dpdk_runtime(&base.path().join("absent"), "cb12ab");
    }
}
