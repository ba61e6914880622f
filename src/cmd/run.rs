//! `coo-bench run`: CLI glue around the `campaign` crate. Topology → testbed up → CPU
//! placement → the campaign (generator→sink ceiling, kernel-forward baseline and every
//! variant in interleaved rounds; latency at common loads) → report → testbed down (also on
//! error and Ctrl-C). Exit 0 only when every variant yielded a sound NDR.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use campaign::{Settings, VariantPlan, BASELINE, CEILING};

use crate::cmd::progress;
use measure::report::{
    CpuPlacement, HostFingerprint, LatencySettings, RunSettings, ToolInfo, TrialSettings,
    VariantRole,
};
use measure::{FrameSize, Goal, Report, SearchConfig, SoundnessLimits, SCHEMA_VERSION};
use testbed::Testbed;
use topology::{EngineSpec, Topology};
use vnf_client::{Endpoint, Options, VnfClient};

const INVALID: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Topology file or PyCOO directory.
    pub path: PathBuf,
    /// Variant to measure (repeatable; default: every variant of the topology).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Smoke test: one frame size (unless --frame-sizes), short trials, 2 % precision, latency
    /// at 50 % only (about 100 s with 4 variants).
    #[arg(long)]
    pub quick: bool,
    /// Directory under which `<topology>-<UTC timestamp>/` is created.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Do not measure the kernel-forward baseline even when the topology asks for it.
    #[arg(long)]
    pub no_baseline: bool,
    /// Do not measure the direct generator→sink ceiling (then nothing is labelled at-ceiling).
    #[arg(long)]
    pub no_ceiling: bool,
    /// Override the frame sizes (bytes including FCS, or `imix`), e.g. `64,1518`.
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    pub frame_sizes: Vec<String>,
    /// Rounds: every variant is measured once per round, interleaved (default: the
    /// topology's `benchmark.repetitions`, 3).
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// Rate of the probe (latency) stream during search trials, frames per second (≤ 10 % of
    /// the offered load; it counts in the offered load).
    #[arg(long, default_value_t = TrialSettings::default().probe_pps)]
    pub latency_stream_pps: f64,
    /// Frame size of the latency measurement (default: the first frame size).
    #[arg(long, value_name = "SIZE")]
    pub latency_frame_size: Option<String>,
    /// CPU placement `GEN:SINK:NFS`, each a CPU list (`0`, `1-3`, `2,3`), or `none` for no
    /// pinning. Default: chosen from the CPUs this process may use (see docs/measurement.md).
    #[arg(long, value_name = "GEN:SINK:NFS")]
    pub cpus: Option<String>,
    /// I/O mode of the Click engines (`throughput`: batched rings; `latency`: per-frame
    /// wake-ups); default: the agent's.
    #[arg(long, value_parser = ["throughput", "latency"])]
    pub io_mode: Option<String>,
    /// Driver (default: the topology's `driver`, else netns).
    #[arg(long, value_enum)]
    pub driver: Option<crate::cmd::testbed::DriverArg>,
    /// Traffic profile file replacing the topology's (a PyCOO directory has none), e.g.
    /// `traffic/tcp.json`; recorded in the report's settings.
    #[arg(long, value_name = "FILE")]
    pub traffic: Option<PathBuf>,
    /// Print only the report (report.json's content) on stdout; the table goes to stderr.
    #[arg(long)]
    pub json: bool,
}

/// Set by SIGINT/SIGTERM (signal-hook); checked between trials, and `testbed::up`'s cancel flag.
static INTERRUPTED: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

fn install_signal_handlers() -> Arc<AtomicBool> {
    let flag = INTERRUPTED.get_or_init(Arc::default).clone();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            eprintln!("warning: cannot handle signal {sig}: {e}");
        }
    }
    flag
}

fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(Ordering::SeqCst))
}

/// Removes the testbed when dropped (normal end, error, or interruption).
struct DownGuard {
    run_id: String,
}

impl Drop for DownGuard {
    fn drop(&mut self) {
        match testbed::down(&self.run_id) {
            Ok(rep) => eprintln!("testbed {} removed ({} objects)", rep.run_id, rep.removed),
            Err(e) => eprintln!(
                "error: teardown of {} failed: {e}; run `coo-bench clean`",
                self.run_id
            ),
        }
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    // Validation first (with the Click functions): nothing is created for an invalid topology.
    let opts = topology::LoadOptions {
        traffic: args.traffic.clone(),
        ..Default::default()
    };
    let topo = match crate::cmd::validate::load_checked_with(&args.path, args.json, &opts) {
        Ok(checked) => {
            crate::cmd::validate::print_warnings(&checked.warnings);
            checked.topology
        }
        Err(code) => return Ok(code),
    };
    let prepared = settings(&topo, &args).and_then(|s| Ok((s, variant_plans(&topo, &args)?)));
    let (mut settings, plans) = match prepared {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let placement = match campaign::plan_placement(&available_cpus(), args.cpus.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let placement = placement.map(|mut p| {
        if settings.run.direction == measure::TrafficDirection::Both {
            p.rationale.push_str(
                "; bidirectional: the reply generator shares the generator's CPUs and the reply \
                 sink the sinks' (the ceiling is measured with one generator only)",
            );
        }
        p
    });
    settings.run.placement = placement.clone();
    if let Some(e) = unavailable_engine_cpus(&plans, &available_cpus()) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(INVALID));
    }
    let cancel = install_signal_handlers();
    let started_at = chrono::Utc::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("tokio runtime")?;

    let mode = progress::mode(args.json);
    let up_opts = testbed::UpOptions {
        cancel: Some(cancel.clone()),
        io_mode: args.io_mode.clone(),
        driver: args.driver.map(crate::cmd::testbed::DriverArg::kind),
        vm_progress: progress::vm_progress(mode),
        ..Default::default()
    };
    tracing::info!(topology = topo.id.as_str(), "bringing up the testbed");
    if mode != progress::Mode::Silent {
        progress::println(&format!("bringing up {} ...", topo.id.as_str()));
    }
    let up = testbed::up(&topo, &up_opts);
    let tb = up.with_context(|| format!("testbed up for {}", topo.id.as_str()))?;
    let guard = DownGuard {
        run_id: tb.run_id.clone(),
    };
    let vm = tb.driver == testbed::DriverKind::Vm;
    let mut notes = Vec::new();
    if vm {
        settings.warmup_retries = 10;
        // Emulated guests (TCG) add tens of milliseconds per hop at load.
        settings.run.trial.late_after_ms = 500.0;
        // The guests are QEMU processes libvirt starts (not descendants of the agents): their
        // CPU use is the measurement's own, so other processes' use is not judged here.
        settings.limits.max_other_cpu_pct = f64::INFINITY;
        notes.push("VM driver: host disturbance by other processes is not judged (QEMU's CPU use is the chain's)".into());
    }
    let pids = agent_pids(&tb);
    if let Some(p) = &placement {
        if vm {
            notes.push("CPU placement applies to the generator and sinks only (VMs are QEMU processes libvirt places)".into());
        } else {
            for pid in &pids {
                // Engines the agent starts later inherit its mask.
                traffic::sys::set_process_affinity(*pid, &p.nfs)
                    .with_context(|| format!("pin agent {pid} to CPUs {:?}", p.nfs))?;
            }
        }
    }
    let plans: Vec<VariantPlan> = if tb.ceiling.is_none() {
        notes.push(
            "no ceiling link in this testbed: the generator→sink ceiling was not measured".into(),
        );
        plans
            .into_iter()
            .filter(|p| p.role != VariantRole::Ceiling)
            .collect()
    } else {
        plans
    };
    settings.run.order = plans.iter().map(|p| p.name.clone()).collect();

    let clients = clients(&tb)?;
    // VNFs booting their own disk image speak only the COO API (no /v1, no engine choice).
    let coo_only: BTreeSet<String> = tb
        .vnfs
        .iter()
        .filter(|v| v.vm.as_ref().is_some_and(|vm| vm.disk.is_some()))
        .map(|v| v.id.clone())
        .collect();
    let mut host = host_fingerprint(&tb);
    let mut runner = traffic_runner(&topo, &tb, placement.as_ref(), &settings, pids);
    let dir = args.out.join(format!(
        "{}-{}",
        topo.id.as_str(),
        started_at.format("%Y%m%dT%H%M%SZ")
    ));
    let mut agents = campaign::real::VnfAgents {
        clients,
        coo_only,
        rt: &rt,
        // Under the VM driver the agents' workdirs are inside the guests.
        configs: (!vm).then(|| campaign::real::ConfigArchive {
            dir: dir.clone(),
            workdirs: tb
                .vnfs
                .iter()
                .map(|v| (v.id.clone(), v.workdir.clone()))
                .collect(),
        }),
    };
    let bar = progress::Campaign::new(mode, interrupted);
    let outcome = campaign::run_campaign(&settings, &plans, &mut runner, &mut agents, &bar);
    bar.finish();
    drop(guard);

    host.engines = engine_builds(outcome.engines.keys(), vm);
    notes.extend(outcome.notes.iter().cloned());
    let finished_at = chrono::Utc::now();
    let baseline = outcome
        .variants
        .iter()
        .find(|v| {
            v.role == VariantRole::Baseline && v.status == measure::report::VariantStatus::Measured
        })
        .map(|v| v.name.clone());
    let mut variants = outcome.variants.clone();
    for v in &mut variants {
        let Some(plan) = plans.iter().find(|p| p.name == v.name) else {
            continue;
        };
        if matches!(v.status, measure::report::VariantStatus::Skipped { .. }) {
            continue;
        }
        v.engine_runs = engine_runs(plan, &dir, args.io_mode.as_deref(), placement.as_ref(), vm);
    }
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "coo-bench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_revision: git_revision(),
        },
        topology: topo.id.as_str().to_string(),
        topology_path: args.path.display().to_string(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: finished_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        host,
        settings: settings.run.clone(),
        baseline,
        latency_loads: outcome.latency_loads.clone(),
        variants,
        notes: ratio_notes(&outcome.variants, notes),
    };
    write_report(&report, &dir)?;
    let mut summary = measure::table::variants_table(&report);
    let chain = linear_chain(&topo);
    let attribution = measure::table::attribution_along(&report, chain.as_deref());
    if !attribution.is_empty() {
        summary.push_str("loss attribution (trial just above NDR):\n");
        summary.push_str(&attribution);
    }
    for n in &report.notes {
        summary.push_str(&format!("note: {n}\n"));
    }
    summary.push_str(&format!("report: {}\n", dir.join("report.json").display()));
    if args.json {
        eprint!("{summary}");
        println!("{}", report.to_json()?);
    } else {
        print!("{summary}");
    }
    let problems = outcome.problems();
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("run did not yield a sound result for every variant:");
    for p in &problems {
        eprintln!("  - {p}");
    }
    Ok(ExitCode::from(1))
}

/// How each VNF's engine ran in a variant (I/O, polling, CPUs, the configuration kept).
fn engine_runs(
    plan: &VariantPlan,
    dir: &Path,
    io_mode: Option<&str>,
    placement: Option<&CpuPlacement>,
    vm: bool,
) -> BTreeMap<String, measure::report::EngineRun> {
    plan.vnfs
        .iter()
        .map(|vnf| {
            let (id, engine) = (vnf.id.as_str(), &vnf.engine);
            let profile = agent::profile::io_profile(engine, io_mode, &vnf.options);
            let config = campaign::real::ConfigArchive::relative(&plan.name, id);
            let placed = placement.filter(|_| !vm).map(|p| p.nfs.clone());
            let cpus = match &vnf.options.cpus {
                Some(c) => Some(c.iter().map(|c| *c as usize).collect()),
                None => placed,
            };
            (
                id.to_owned(),
                measure::report::EngineRun {
                    engine: engine.to_string(),
                    io: profile.io,
                    polls: profile.polls,
                    cpus: cpus.map(|c: Vec<usize>| {
                        c.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
                    }),
                    config: dir.join(&config).is_file().then_some(config),
                    rx_buffer_kib: profile.rx_buffer_kib,
                    options: (!vnf.options.is_empty()).then(|| vnf.options.describe()),
                },
            )
        })
        .collect()
}

/// Notes on what the ratios mean (or why there are none).
fn ratio_notes(variants: &[measure::report::VariantReport], mut notes: Vec<String>) -> Vec<String> {
    let Some(base) = variants.iter().find(|v| v.role == VariantRole::Baseline) else {
        return notes;
    };
    let limited: Vec<String> = base
        .results
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{} B: {}",
                r.frame_size,
                r.limit.as_ref()?.short_name()
            ))
        })
        .collect();
    if limited.is_empty() {
        notes.push(format!(
            "ratios are NDR(variant) / NDR({BASELINE}) at the same frame size, measured side by side in this run"
        ));
    } else {
        notes.push(format!(
            "{BASELINE} is bounded by the measurement here ({}): it is not the chain's kernel forwarding rate, and no ratio is computed against it",
            limited.join(", ")
        ));
    }
    notes
}

/// CPUs this process may run on.
/// `engine_options.cpus` naming a CPU this run may not use (a named error, before anything
/// is created).
fn unavailable_engine_cpus(plans: &[VariantPlan], available: &[usize]) -> Option<String> {
    plans.iter().flat_map(|p| p.vnfs.iter().map(move |v| (p, v))).find_map(|(p, v)| {
        let missing = v
            .options
            .cpus
            .iter()
            .flatten()
            .find(|c| !available.contains(&(**c as usize)))?;
        Some(format!(
            "engine-option-cpu-unavailable: variant `{}`, VNF `{}`: CPU {missing} is not available to this run (available: {available:?})",
            p.name, v.id
        ))
    })
}

fn available_cpus() -> Vec<usize> {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|c| set.is_set(*c).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

fn agent_pids(tb: &Testbed) -> Vec<i32> {
    tb.vnfs.iter().filter_map(|v| v.agent.pid).collect()
}

fn traffic_runner(
    topo: &Topology,
    tb: &Testbed,
    placement: Option<&CpuPlacement>,
    settings: &Settings,
    pids: Vec<i32>,
) -> campaign::real::TrafficRunner {
    let gen_cpus = placement.map(|p| p.generator.clone()).unwrap_or_default();
    let sink_cpus = placement.map(|p| p.sinks.clone()).unwrap_or_default();
    let attach = |netns: &Path, ifname: &str, cpus: &[usize]| traffic::Attach {
        netns: Some(netns.to_path_buf()),
        ifname: ifname.to_string(),
        cpus: cpus.to_vec(),
    };
    let src = &tb.source;
    let ceiling = match (&tb.ceiling, tb.sinks.first()) {
        (Some(c), Some(first)) => Some((
            attach(&src.netns_path, c.source_if.as_str(), &gen_cpus),
            attach(&first.netns_path, c.sink_if.as_str(), &sink_cpus),
        )),
        _ => None,
    };
    campaign::real::TrafficRunner {
        chain: (
            attach(&src.netns_path, src.ifname.as_str(), &gen_cpus),
            tb.sinks
                .iter()
                .map(|s| attach(&s.netns_path, s.ifname.as_str(), &sink_cpus))
                .collect(),
        ),
        ceiling,
        // Replies start at the (single, as validation checks) Outgoing Point and end at the
        // Incoming Point.
        reverse: match (topo.traffic.direction, tb.sinks.first()) {
            (topology::TrafficDirection::Both, Some(first)) => Some(traffic::ReverseSpec {
                source: attach(&first.netns_path, first.ifname.as_str(), &gen_cpus),
                sink: attach(&src.netns_path, src.ifname.as_str(), &sink_cpus),
            }),
            _ => None,
        },
        flows: campaign::real::flow_spec(topo),
        trial: settings.run.trial.clone(),
        pids,
    }
}

fn parse_size(s: &str) -> anyhow::Result<FrameSize> {
    match s.trim() {
        "imix" => Ok(FrameSize::IMIX),
        n => n
            .parse::<u32>()
            .map(FrameSize::Bytes)
            .map_err(|_| anyhow!("bad frame size {n:?}")),
    }
}

fn settings(topo: &Topology, args: &RunArgs) -> anyhow::Result<Settings> {
    let b = &topo.benchmark;
    // One field says what is measured: the traffic profile's frame_sizes (or --frame-sizes).
    let mut sizes: Vec<FrameSize> = if args.frame_sizes.is_empty() {
        topo.traffic
            .frame_sizes
            .entries()
            .into_iter()
            .map(|s| match s {
                topology::traffic::FrameSize::Bytes(b) => FrameSize::Bytes(u32::from(b)),
                topology::traffic::FrameSize::Named(_) => FrameSize::IMIX,
            })
            .collect()
    } else {
        args.frame_sizes
            .iter()
            .map(|s| parse_size(s))
            .collect::<anyhow::Result<_>>()?
    };
    if sizes.is_empty() {
        sizes.push(FrameSize::Bytes(64));
    }
    // TCP headers + the test header do not fit in 64 B: a named error, never another size.
    let min = u32::from(campaign::real::flow_spec(topo).protocol.min_frame());
    for size in &sizes {
        if let FrameSize::Bytes(b) = size {
            if *b < min {
                bail!(
                    "frame-too-small: {b} B frames cannot carry {:?} and the test header; the smallest is {min} B",
                    topo.traffic.protocol
                );
            }
        }
    }
    sizes.dedup();
    let goals = match b.mode {
        topology::BenchmarkMode::Ndr => vec![Goal::Ndr],
        topology::BenchmarkMode::Pdr => vec![Goal::Pdr],
        _ => vec![Goal::Ndr, Goal::Pdr],
    };
    let mut search = SearchConfig {
        min_rate_pps: b.min_rate_pps as f64,
        max_rate_pps: b.max_rate_pps as f64,
        ndr_loss_pct: b.ndr_loss_pct,
        pdr_loss_pct: b.pdr_loss_pct,
        precision_pct: b.precision_pct,
        coarse_precision_pct: (b.precision_pct * 4.0).max(2.0),
        initial_duration_s: (b.trial_duration_s / 4.0).max(0.25).min(b.trial_duration_s),
        final_duration_s: b.trial_duration_s,
        goals,
        ..SearchConfig::default()
    };
    let mut latency = LatencySettings {
        frame_size: match &args.latency_frame_size {
            Some(s) => Some(parse_size(s)?),
            None => sizes.first().copied(),
        },
        loads_pct: b.latency_loads_pct.clone(),
        ..LatencySettings::default()
    };
    let mut repetitions = args.repetitions.unwrap_or(b.repetitions).max(1);
    let mut warmup_s = topo.traffic.warmup_s;
    if args.quick {
        if args.frame_sizes.is_empty() {
            sizes.truncate(1);
        }
        if args.latency_frame_size.is_none() {
            latency.frame_size = sizes.first().copied();
        }
        search.precision_pct = search.precision_pct.max(2.0);
        search.coarse_precision_pct = search.precision_pct * 2.5;
        search.initial_duration_s = 0.2;
        search.final_duration_s = 0.5;
        search.max_trials = 40;
        latency.loads_pct = vec![50.0];
        repetitions = args.repetitions.unwrap_or(3).max(1);
        warmup_s = warmup_s.min(0.3);
    }
    search.validate().map_err(|e| anyhow!(e))?;
    let warmup_rate_pps = match topo.traffic.rate {
        topology::traffic::Rate::Pps(p) => p as f64,
        topology::traffic::Rate::Bps(bps) => bps as f64 / ((sizes[0].average_bytes() + 20.0) * 8.0),
    }
    .clamp(search.min_rate_pps, search.max_rate_pps);
    let mode = serde_json::to_value(b.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(Settings {
        run: RunSettings {
            direction: match topo.traffic.direction {
                topology::TrafficDirection::Forward => measure::TrafficDirection::Forward,
                topology::TrafficDirection::Both => measure::TrafficDirection::Both,
            },
            mode,
            frame_sizes: sizes,
            repetitions,
            warmup_s,
            quick: args.quick,
            search,
            io_mode: args.io_mode.clone(),
            trial: TrialSettings {
                probe_pps: args.latency_stream_pps,
                ..TrialSettings::default()
            },
            placement: None,
            latency,
            order: Vec::new(),
            traffic: Some(match &topo.traffic_file {
                Some(file) => file.display().to_string(),
                None => "topology".to_owned(),
            }),
        },
        warmup_rate_pps,
        limits: SoundnessLimits::default(),
        ceiling_margin_pct: 5.0,
        warmup_retries: 0,
    })
}

fn variant_plans(topo: &Topology, args: &RunArgs) -> anyhow::Result<Vec<VariantPlan>> {
    let mut plans = Vec::new();
    if !args.no_ceiling {
        plans.push(VariantPlan::ceiling());
    }
    if topo.benchmark.baseline && !args.no_baseline {
        plans.push(VariantPlan {
            name: BASELINE.into(),
            role: VariantRole::Baseline,
            vnfs: topo
                .vnfs
                .iter()
                .map(|v| topology::ResolvedVnf {
                    id: v.id.clone(),
                    engine: EngineSpec::KernelForward,
                    function: v.function.clone(),
                    options: Default::default(),
                })
                .collect(),
            skip: None,
        });
    }
    let chosen: Vec<&topology::Variant> = if args.variants.is_empty() {
        topo.variants.iter().collect()
    } else {
        args.variants
            .iter()
            .map(|n| {
                topo.variant(n).ok_or_else(|| {
                    let names: Vec<&str> = topo.variants.iter().map(|v| v.name.as_str()).collect();
                    anyhow!(
                        "topology has no variant {n:?} (available: {})",
                        names.join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    for v in chosen {
        if v.name == BASELINE || v.name == CEILING {
            bail!("variant name {:?} is reserved", v.name);
        }
        let vnfs = topo.resolve(v);
        let vm = testbed::UpOptions {
            driver: args.driver.map(crate::cmd::testbed::DriverArg::kind),
            ..Default::default()
        }
        .driver_for(topo)
            == topology::DriverKind::Vm;
        let skip = vnfs.iter().find_map(|v| engine_missing(&v.engine, vm));
        plans.push(VariantPlan {
            name: v.name.clone(),
            role: VariantRole::Variant,
            vnfs,
            skip,
        });
    }
    Ok(plans)
}

/// Why an engine cannot run here (None = it can).
fn engine_missing(engine: &EngineSpec, vm: bool) -> Option<String> {
    let installed = |var: &str, what: &str| match std::env::var_os(var) {
        None => Some(format!("{what} is not installed ({var} is not set)")),
        Some(p) if !Path::new(&p).is_file() => Some(format!(
            "{what} not found at {} ({var})",
            Path::new(&p).display()
        )),
        Some(_) => None,
    };
    match engine {
        EngineSpec::ReferenceClick => installed("COO_BENCH_REFERENCE_CLICK", "reference Click"),
        EngineSpec::FastClick if vm => {
            Some("FastClick runs only under the netns driver (the guest image has no DPDK)".into())
        }
        EngineSpec::FastClick => installed("COO_BENCH_FASTCLICK", "FastClick"),
        EngineSpec::External(p) if !p.is_file() => {
            Some(format!("engine {} not found", p.display()))
        }
        _ => None,
    }
}

fn clients(tb: &Testbed) -> anyhow::Result<BTreeMap<String, VnfClient>> {
    let token = testbed::agent_token(tb).context("the run's agent token")?;
    let mut out = BTreeMap::new();
    for v in &tb.vnfs {
        let ep = Endpoint::from_str(&v.agent.endpoint)
            .map_err(|e| anyhow!("agent endpoint of {}: {e}", v.id))?;
        let opts = Options {
            timeout: Duration::from_secs(20),
            token: token.clone(),
            ..Options::default()
        };
        out.insert(v.id.clone(), VnfClient::new(ep, opts));
    }
    Ok(out)
}

fn first_line(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn host_fingerprint(tb: &Testbed) -> HostFingerprint {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    HostFingerprint {
        hostname: read("/proc/sys/kernel/hostname").unwrap_or_default(),
        cpu_model: first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
        cpu_count: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        kernel: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
        driver: driver_label(tb),
        // The vm driver probes the accelerator (KVM only when guests really boot with it).
        accelerator: tb.accelerator.clone().unwrap_or_else(|| "none".into()),
        governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        engines: BTreeMap::new(),
    }
}

/// `netns`, or `vm (tcg)` / `vm (kvm)`.
fn driver_label(tb: &Testbed) -> String {
    match &tb.accelerator {
        Some(accel) if tb.driver == testbed::DriverKind::Vm => format!("vm ({accel})"),
        _ => tb.driver.to_string(),
    }
}

/// The source revision this binary was built from (recorded by build.rs; `None` outside a
/// git checkout), not whatever repository the current directory is in.
/// What each engine that ran is, for the report: name → version and build (the agents' own
/// version answer is the COO API's, not the engine's). Under the VM driver coo-click runs the
/// guest image's build of this revision.
fn engine_builds<'a>(
    names: impl Iterator<Item = &'a String>,
    vm: bool,
) -> BTreeMap<String, String> {
    names
        .map(|name| {
            let info = match name.parse::<agent::engine::EngineSpec>() {
                Ok(agent::engine::EngineSpec::CooClick) => format!(
                    "coo-click {} (revision {}){}",
                    env!("CARGO_PKG_VERSION"),
                    git_revision().unwrap_or_else(|| "unknown".into()),
                    if vm { ", in the guest image" } else { "" }
                ),
                Ok(agent::engine::EngineSpec::ReferenceClick) => {
                    agent::build_info::describe(&agent::engine::reference_click_path())
                }
                Ok(agent::engine::EngineSpec::FastClick) => {
                    agent::build_info::describe(&agent::fastclick::binary())
                }
                Ok(agent::engine::EngineSpec::External(path)) => agent::build_info::describe(&path),
                Ok(agent::engine::EngineSpec::KernelForward) | Err(_) => {
                    format!("Linux {} (tc mirred)", kernel_release())
                }
            };
            (name.clone(), info)
        })
        .collect()
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn git_revision() -> Option<String> {
    option_env!("COO_BENCH_GIT_REVISION").map(String::from)
}

fn write_report(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("write {}", p.display()))
    };
    write("report.json", &report.to_json()?)?;
    write("report.csv", &measure::csv::to_csv(report))?;
    write("report.html", &measure::html::report_html(report))?;
    match measure::plot::throughput_svg(report) {
        Ok(svg) => write("throughput.svg", &svg)?,
        Err(e) => eprintln!("warning: {e}"),
    }
    if let Some(loads) = &report.latency_loads {
        let load = loads
            .loads
            .iter()
            .map(|l| l.0)
            .min_by(|a, b| (a - 50.0).abs().total_cmp(&(b - 50.0).abs()));
        if let Some(load) = load {
            match measure::plot::latency_cdf_svg(report, loads.frame_size, load) {
                Ok(svg) => write(&format!("latency-cdf-{}.svg", loads.frame_size), &svg)?,
                Err(e) => eprintln!("warning: {e}"),
            }
        }
    }
    Ok(())
}

/// The VNF ids in traffic order when the topology is one path from the Incoming Point to its
/// only Outgoing Point through every VNF (the loss attribution can then name the hop).
fn linear_chain(topo: &topology::Topology) -> Option<Vec<String>> {
    let [op] = topo.outgoing.as_slice() else {
        return None;
    };
    let mut order: Vec<String> = Vec::new();
    let mut at = topo.incoming.id.as_str();
    loop {
        let mut next = topo.links.iter().filter(|l| l.from.as_str() == at);
        let link = next.next()?;
        if next.next().is_some() {
            return None;
        }
        at = link.to.as_str();
        if at == op.id.as_str() {
            break;
        }
        if order.iter().any(|o| o == at) {
            return None;
        }
        order.push(at.to_owned());
    }
    (order.len() == topo.vnfs.len()).then_some(order)
}

#[cfg(test)]
mod tests {
    use super::linear_chain;
    use std::path::Path;

    fn load(rel: &str) -> topology::Topology {
        topology::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn linear_chain_in_traffic_order_or_none() {
        assert_eq!(
            linear_chain(&load("topologies/fw-nat.json")),
            Some(vec!["fw".to_owned(), "nat".to_owned()])
        );
        assert_eq!(
            linear_chain(&load("topologies/pycoo-xyz.json")),
            Some(vec!["x".to_owned(), "y".to_owned(), "z".to_owned()])
        );
        // Two Outgoing Points: no single path to name hops along.
        assert_eq!(
            linear_chain(&load("tests/fixtures/topologies/valid/fan-out.json")),
            None
        );
    }

    #[test]
    fn topology_and_generator_agree_on_the_smallest_frame() {
        use topology::traffic::Protocol as T;
        for (t, g) in [
            (T::Udp, traffic::Protocol::Udp),
            (T::Tcp, traffic::Protocol::Tcp),
            (T::Icmp, traffic::Protocol::Icmp),
        ] {
            assert_eq!(t.min_frame(), g.min_frame(), "{t:?}");
        }
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        run: super::RunArgs,
    }

    #[test]
    fn the_traffic_profile_frame_sizes_are_what_runs() {
        use measure::FrameSize;
        let args = |extra: &[&str]| {
            let mut argv = vec!["coo-bench", "topologies/fw-nat.json"];
            argv.extend_from_slice(extra);
            <Cli as clap::Parser>::parse_from(argv).run
        };
        let topo = load("topologies/fw-nat.json");
        let s = super::settings(&topo, &args(&[])).expect("fw-nat settings");
        assert_eq!(
            s.run.frame_sizes,
            [FrameSize::Bytes(64), FrameSize::Bytes(1518)]
        );
        let s = super::settings(&topo, &args(&["--frame-sizes", "128,imix"]))
            .expect("settings with --frame-sizes");
        assert_eq!(s.run.frame_sizes, [FrameSize::Bytes(128), FrameSize::IMIX]);
        // TCP at 64 B: a named error, not 74 B measured silently.
        let mut tcp = topo.clone();
        tcp.traffic.protocol = topology::traffic::Protocol::Tcp;
        let err = super::settings(&tcp, &args(&["--frame-sizes", "64"]))
            .expect_err("64 B TCP must be refused");
        assert!(err.to_string().contains("frame-too-small"), "{err}");
    }
}
