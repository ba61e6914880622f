//! `coo-bench run`: topology → testbed up → kernel-forward baseline and every variant
//! (configure engines/functions through the agents, warm up, NDR/PDR search per frame size,
//! latency at fractions of NDR, per-NF counters around each trial) → report → testbed down
//! (also on error and Ctrl-C).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use measure::report::{
    FrameSizeResult, HostFingerprint, LatencyPoint, Repetition, RunSettings, ToolInfo,
    VariantReport, VariantStatus,
};
use measure::search::{Search, Step};
use measure::{
    FrameSize, Goal, LatencySummary, NfCounters, Report, SearchConfig, SoundnessFlag,
    SoundnessLimits, TrialPurpose, TrialRecord, SCHEMA_VERSION,
};
use testbed::Testbed;
use topology::{EngineSpec, Topology};
use vnf_client::{Counters, Endpoint, Options, VnfClient};

const INVALID: u8 = 2;
const BASELINE: &str = "kernel-forward";

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Topology file or PyCOO directory.
    pub path: PathBuf,
    /// Variant to measure (repeatable; default: every variant of the topology).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Smoke test: short trials, coarse precision, one frame size, one latency load (< 1 min).
    #[arg(long)]
    pub quick: bool,
    /// Directory under which `<topology>-<UTC timestamp>/` is created.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Do not measure the kernel-forward baseline even when the topology asks for it.
    #[arg(long)]
    pub no_baseline: bool,
    /// Override the frame sizes (bytes including FCS, or `imix`), e.g. `64,1518`.
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    pub frame_sizes: Vec<String>,
    /// Override the number of search repetitions.
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// Rate of the latency stream that runs beside the load, frames per second.
    #[arg(long, default_value_t = 1000.0)]
    pub latency_stream_pps: f64,
    /// I/O mode of the Click engines (`throughput`: batched rings; `latency`: per-frame
    /// wake-ups); default: the agent's.
    #[arg(long, value_parser = ["throughput", "latency"])]
    pub io_mode: Option<String>,
    /// Driver (default: the topology's `driver`, else netns).
    #[arg(long, value_enum)]
    pub driver: Option<crate::cmd::testbed::DriverArg>,
}

/// Set by SIGINT/SIGTERM; checked between trials.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// One variant to measure: the engine and function of every VNF.
#[derive(Debug, Clone)]
struct VariantPlan {
    name: String,
    vnfs: Vec<(String, EngineSpec, PathBuf)>,
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
    let topo = match topology::load(&args.path) {
        Ok(t) => t,
        Err(errs) => {
            eprintln!("{}: invalid topology:\n{errs}", args.path.display());
            return Ok(ExitCode::from(INVALID));
        }
    };
    let settings = match settings(&topo, &args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let plans = match variant_plans(&topo, &args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    install_signal_handlers();
    let started_at = chrono::Utc::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("tokio runtime")?;

    let cancel = Arc::new(AtomicBool::new(false));
    let watcher = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            // Forwards the signal flag to testbed::up's cancel flag while up is running.
            while !cancel.load(Ordering::SeqCst) {
                if interrupted() {
                    cancel.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let up_opts = testbed::UpOptions {
        cancel: Some(cancel.clone()),
        io_mode: args.io_mode.clone(),
        driver: args.driver.map(crate::cmd::testbed::DriverArg::kind),
        ..Default::default()
    };
    eprintln!("bringing up {} ...", topo.id.as_str());
    let up = testbed::up(&topo, &up_opts);
    cancel.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    let tb = up.with_context(|| format!("testbed up for {}", topo.id.as_str()))?;
    let guard = DownGuard {
        run_id: tb.run_id.clone(),
    };

    let clients = clients(&tb)?;
    // VNFs booting their own disk image speak only the COO API (no /v1, no engine choice).
    let coo_only: std::collections::BTreeSet<String> = tb
        .vnfs
        .iter()
        .filter(|v| v.vm.as_ref().is_some_and(|vm| vm.disk.is_some()))
        .map(|v| v.id.clone())
        .collect();
    let mut host = host_fingerprint(&tb);
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));

    let ctx = Ctx {
        tb: &tb,
        clients: &clients,
        coo_only: &coo_only,
        rt: &rt,
        settings: &settings,
        bar: &bar,
        flows: flows(&topo),
        nf_fault: std::cell::RefCell::new(None),
    };
    let mut variants = Vec::new();
    let mut notes = Vec::new();
    for plan in &plans {
        if interrupted() {
            notes.push(format!("interrupted before variant {}", plan.name));
            break;
        }
        let report = measure_variant(&ctx, plan, &mut host);
        variants.push(report);
    }
    bar.finish_and_clear();
    drop(guard);

    let finished_at = chrono::Utc::now();
    let baseline = variants
        .iter()
        .find(|v| v.name == BASELINE && v.status == VariantStatus::Measured)
        .map(|v| v.name.clone());
    if baseline.is_some() {
        notes.push("ratios are NDR(variant) / NDR(kernel-forward) at the same frame size, measured in this run".into());
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
        variants,
        notes,
    };
    let dir = args.out.join(format!(
        "{}-{}",
        topo.id.as_str(),
        started_at.format("%Y%m%dT%H%M%SZ")
    ));
    write_report(&report, &dir)?;
    print!("{}", measure::table::variants_table(&report));
    let chain = linear_chain(&topo);
    let attribution = measure::table::attribution_along(&report, chain.as_deref());
    if !attribution.is_empty() {
        println!("loss attribution (trial just above NDR):");
        print!("{attribution}");
    }
    println!("report: {}", dir.join("report.json").display());
    if interrupted() {
        eprintln!("interrupted; partial report written");
        return Ok(ExitCode::from(1));
    }
    let measured = report
        .variants
        .iter()
        .any(|v| v.status == VariantStatus::Measured);
    Ok(if measured {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Everything a measurement needs.
struct Settings {
    run: RunSettings,
    sizes: Vec<FrameSize>,
    latency_duration_s: f64,
    warmup_rate_pps: f64,
    limits: SoundnessLimits,
}

fn settings(topo: &Topology, args: &RunArgs) -> anyhow::Result<Settings> {
    let b = &topo.benchmark;
    let mut sizes: Vec<FrameSize> = if args.frame_sizes.is_empty() {
        b.frame_sizes
            .iter()
            .map(|s| FrameSize::Bytes(u32::from(*s)))
            .collect()
    } else {
        args.frame_sizes
            .iter()
            .map(|s| match s.trim() {
                "imix" => Ok(FrameSize::IMIX),
                n => n
                    .parse::<u32>()
                    .map(FrameSize::Bytes)
                    .map_err(|_| anyhow!("bad frame size {n:?}")),
            })
            .collect::<anyhow::Result<_>>()?
    };
    if sizes.is_empty() {
        sizes.push(FrameSize::Bytes(64));
    }
    // TCP headers + the test header do not fit in 64 B: measure the smallest frame that does
    // instead of failing every trial.
    let min = u32::from(flows(topo).protocol.min_frame());
    for size in &mut sizes {
        if let FrameSize::Bytes(b) = size {
            if *b < min {
                eprintln!(
                    "note: {b} B frames cannot carry {:?} + the test header; using {min} B",
                    topo.traffic.protocol
                );
                *b = min;
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
    let mut loads = b.latency_loads_pct.clone();
    let mut repetitions = args.repetitions.unwrap_or(b.repetitions).max(1);
    let mut warmup_s = topo.traffic.warmup_s;
    if args.quick {
        sizes.truncate(1);
        search.precision_pct = search.precision_pct.max(2.0);
        search.coarse_precision_pct = search.precision_pct * 2.5;
        search.initial_duration_s = 0.2;
        search.final_duration_s = 0.4;
        search.max_trials = 20;
        loads = vec![50.0];
        repetitions = 1;
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
        latency_duration_s: search.final_duration_s,
        run: RunSettings {
            mode,
            frame_sizes: sizes.clone(),
            repetitions,
            latency_loads_pct: loads,
            warmup_s,
            latency_stream_pps: args.latency_stream_pps,
            quick: args.quick,
            search,
            io_mode: args.io_mode.clone(),
        },
        sizes,
        warmup_rate_pps,
        limits: SoundnessLimits::default(),
    })
}

fn variant_plans(topo: &Topology, args: &RunArgs) -> anyhow::Result<Vec<VariantPlan>> {
    let mut plans = Vec::new();
    if topo.benchmark.baseline && !args.no_baseline {
        plans.push(VariantPlan {
            name: BASELINE.into(),
            vnfs: topo
                .vnfs
                .iter()
                .map(|v| {
                    (
                        v.id.as_str().to_string(),
                        EngineSpec::KernelForward,
                        v.function.clone(),
                    )
                })
                .collect(),
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
        if v.name == BASELINE {
            bail!("variant name {BASELINE:?} is reserved for the baseline");
        }
        plans.push(VariantPlan {
            name: v.name.clone(),
            vnfs: topo
                .resolve(v)
                .into_iter()
                .map(|r| (r.id.as_str().to_string(), r.engine, r.function))
                .collect(),
        });
    }
    Ok(plans)
}

fn flows(topo: &Topology) -> traffic::FlowSpec {
    use topology::traffic as t;
    let f = &topo.traffic.flows;
    traffic::FlowSpec {
        protocol: match topo.traffic.protocol {
            t::Protocol::Udp => traffic::Protocol::Udp,
            t::Protocol::Tcp => traffic::Protocol::Tcp,
            t::Protocol::Icmp => traffic::Protocol::Icmp,
        },
        count: f.count,
        src_ip: f.src_ip,
        dst_ip: f.dst_ip,
        src_port: f.src_port,
        dst_port: f.dst_port,
        vary: f
            .vary
            .iter()
            .map(|v| match v {
                t::FlowField::SrcIp => traffic::FlowField::SrcIp,
                t::FlowField::DstIp => traffic::FlowField::DstIp,
                t::FlowField::SrcPort => traffic::FlowField::SrcPort,
                t::FlowField::DstPort => traffic::FlowField::DstPort,
            })
            .collect(),
        distribution: match f.distribution {
            t::Distribution::RoundRobin => traffic::Distribution::RoundRobin,
            t::Distribution::Random => traffic::Distribution::Random,
        },
    }
}

/// Why an engine cannot run here (None = it can).
fn engine_missing(engine: &EngineSpec) -> Option<String> {
    match engine {
        EngineSpec::ReferenceClick => match std::env::var_os("COO_BENCH_REFERENCE_CLICK") {
            None => Some(
                "reference Click is not installed (COO_BENCH_REFERENCE_CLICK is not set)".into(),
            ),
            Some(p) if !Path::new(&p).is_file() => Some(format!(
                "reference Click not found at {}",
                Path::new(&p).display()
            )),
            Some(_) => None,
        },
        EngineSpec::External(p) if !p.is_file() => {
            Some(format!("engine {} not found", p.display()))
        }
        _ => None,
    }
}

fn clients(tb: &Testbed) -> anyhow::Result<BTreeMap<String, VnfClient>> {
    let mut out = BTreeMap::new();
    for v in &tb.vnfs {
        let ep = Endpoint::from_str(&v.agent.endpoint)
            .map_err(|e| anyhow!("agent endpoint of {}: {e}", v.id))?;
        let opts = Options {
            timeout: Duration::from_secs(20),
            ..Options::default()
        };
        out.insert(v.id.clone(), VnfClient::new(ep, opts));
    }
    Ok(out)
}

struct Ctx<'a> {
    tb: &'a Testbed,
    clients: &'a BTreeMap<String, VnfClient>,
    /// VNFs managed through the COO API only (their own disk image).
    coo_only: &'a std::collections::BTreeSet<String>,
    rt: &'a tokio::runtime::Runtime,
    settings: &'a Settings,
    bar: &'a ProgressBar,
    flows: traffic::FlowSpec,
    /// First VNF fault seen in this variant (agent gone, engine exited): later trials would
    /// measure a broken chain, so the variant stops and fails with this reason.
    nf_fault: std::cell::RefCell<Option<String>>,
}

impl Ctx<'_> {
    fn nf_fault(&self) -> Option<String> {
        self.nf_fault.borrow().clone()
    }
}

fn measure_variant(ctx: &Ctx<'_>, plan: &VariantPlan, host: &mut HostFingerprint) -> VariantReport {
    let engines: BTreeMap<String, String> = plan
        .vnfs
        .iter()
        .map(|(id, e, _)| (id.clone(), e.to_string()))
        .collect();
    let functions: BTreeMap<String, String> = plan
        .vnfs
        .iter()
        .map(|(id, _, f)| (id.clone(), f.display().to_string()))
        .collect();
    let mut report = VariantReport {
        name: plan.name.clone(),
        status: VariantStatus::Measured,
        engines,
        functions,
        results: Vec::new(),
        notes: Vec::new(),
    };
    if let Some(reason) = plan.vnfs.iter().find_map(|(id, e, _)| {
        (ctx.coo_only.contains(id) && *e != EngineSpec::CooClick).then(|| {
            format!("VNF {id} boots its own image (COO API only): engine {e} cannot be selected")
        })
    }) {
        say(ctx.bar, format!("variant {}: skipped: {reason}", plan.name));
        report.status = VariantStatus::Skipped { reason };
        return report;
    }
    for id in plan
        .vnfs
        .iter()
        .map(|(id, _, _)| id)
        .filter(|id| ctx.coo_only.contains(*id))
    {
        report.notes.push(format!(
            "VNF {id} boots its own image (COO API only): its engine is the image's; no per-NF counters"
        ));
    }
    if let Some(reason) = plan.vnfs.iter().find_map(|(_, e, _)| engine_missing(e)) {
        say(ctx.bar, format!("variant {}: skipped: {reason}", plan.name));
        report.status = VariantStatus::Skipped { reason };
        return report;
    }
    ctx.nf_fault.replace(None);
    ctx.bar
        .set_message(format!("{}: configuring engines", plan.name));
    match ctx.rt.block_on(configure(ctx.clients, ctx.coo_only, plan)) {
        Ok(versions) => {
            for (engine, version) in versions {
                host.engines.entry(engine).or_insert(version);
            }
        }
        Err(e) => {
            say(ctx.bar, format!("variant {}: failed: {e:#}", plan.name));
            report.status = VariantStatus::Failed {
                error: format!("{e:#}"),
            };
            return report;
        }
    }
    let s = ctx.settings;
    let mut warmup = Some(
        run_one(
            ctx,
            &plan.name,
            s.sizes[0],
            s.warmup_rate_pps,
            s.run.warmup_s.max(0.1),
            TrialPurpose::Warmup,
        )
        .0,
    );
    // A VM's engine needs seconds after `start` returns under TCG before frames cross: retry
    // the warm-up for a while instead of failing the variant at once.
    let mut retries = if ctx.tb.driver == "vm" { 10 } else { 0 };
    while retries > 0
        && warmup.as_ref().is_some_and(|w| w.received == 0)
        && ctx.nf_fault().is_none()
        && !interrupted()
    {
        retries -= 1;
        std::thread::sleep(Duration::from_secs(1));
        warmup = Some(
            run_one(
                ctx,
                &plan.name,
                s.sizes[0],
                s.warmup_rate_pps,
                s.run.warmup_s.max(1.0),
                TrialPurpose::Warmup,
            )
            .0,
        );
    }
    if let Some(fault) = ctx.nf_fault() {
        // Keep the warm-up trial that saw the fault, for the record.
        let reps = vec![Repetition {
            ndr: None,
            pdr: None,
            trials: warmup.into_iter().collect(),
        }];
        report
            .results
            .push(FrameSizeResult::new(s.sizes[0], reps, Vec::new()));
        return fail_on_fault(ctx, plan, report, "warm-up", &fault);
    }
    if warmup.as_ref().is_some_and(|w| w.received == 0) {
        let why = warmup
            .as_ref()
            .and_then(|w| {
                w.flags.iter().find_map(|f| match f {
                    SoundnessFlag::Broken { reason } => Some(format!(" ({reason})")),
                    _ => None,
                })
            })
            .unwrap_or_default();
        let error = format!("readiness check: no test frame crossed the chain during warm-up{why}");
        say(ctx.bar, format!("variant {}: failed: {error}", plan.name));
        report.status = VariantStatus::Failed { error };
        return report;
    }
    for size in &s.sizes {
        let mut reps = Vec::new();
        for rep in 0..s.run.repetitions {
            if interrupted() {
                report.notes.push("interrupted".into());
                break;
            }
            let mut r = search_once(ctx, &plan.name, *size, rep);
            if let Some(w) = warmup.take() {
                r.trials.insert(0, w);
            }
            reps.push(r);
            if ctx.nf_fault().is_some() {
                break;
            }
        }
        if let Some(fault) = ctx.nf_fault() {
            report
                .results
                .push(FrameSizeResult::new(*size, reps, Vec::new()));
            let at = format!("{size} B search");
            return fail_on_fault(ctx, plan, report, &at, &fault);
        }
        let ndr = measure::stats::median(
            &reps
                .iter()
                .filter_map(|r| r.ndr.as_ref()?.rate_pps)
                .collect::<Vec<_>>(),
        );
        let mut latency = Vec::new();
        if let Some(ndr) = ndr {
            for load in &s.run.latency_loads_pct {
                if interrupted() {
                    break;
                }
                let rate = (ndr * load / 100.0).max(1.0);
                let (trial, probe, load_lat) = run_one(
                    ctx,
                    &plan.name,
                    *size,
                    rate,
                    s.latency_duration_s,
                    TrialPurpose::Latency,
                );
                let valid = trial.is_valid();
                latency.push(LatencyPoint {
                    load_pct: *load,
                    rate_pps: rate,
                    probe: if valid { probe } else { None },
                    load: if valid { load_lat } else { None },
                    trial,
                });
                if ctx.nf_fault().is_some() {
                    break;
                }
            }
        } else {
            report
                .notes
                .push(format!("{size} B: no valid NDR, latency not measured"));
        }
        let result = FrameSizeResult::new(*size, reps, latency);
        if let Some(fault) = ctx.nf_fault() {
            report.results.push(result);
            let at = format!("{size} B latency");
            return fail_on_fault(ctx, plan, report, &at, &fault);
        }
        let mpps = |a: &Option<measure::stats::Aggregate>| {
            a.as_ref()
                .map_or("-".to_string(), |a| format!("{:.3} Mpps", a.median / 1e6))
        };
        say(
            ctx.bar,
            format!(
                "variant {}: {size} B: NDR {}, PDR {}",
                plan.name,
                mpps(&result.ndr),
                mpps(&result.pdr)
            ),
        );
        report.results.push(result);
    }
    ctx.rt.block_on(stop_all(ctx.clients));
    report
}

/// Ends a variant at a VNF fault: status failed (no rate of it counts as measured), the
/// trials so far kept for the record, engines stopped.
fn fail_on_fault(
    ctx: &Ctx<'_>,
    plan: &VariantPlan,
    mut report: VariantReport,
    at: &str,
    fault: &str,
) -> VariantReport {
    let error = format!("VNF fault during the {at} trials: {fault}");
    say(ctx.bar, format!("variant {}: failed: {error}", plan.name));
    report.notes.push(error.clone());
    report.status = VariantStatus::Failed { error };
    ctx.rt.block_on(stop_all(ctx.clients));
    report
}

/// A line above the progress bar, or plain stderr when the bar is hidden (not a terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn search_once(ctx: &Ctx<'_>, variant: &str, size: FrameSize, rep: u32) -> Repetition {
    let s = ctx.settings;
    let mut search = match Search::new(s.run.search.clone()) {
        Ok(x) => x,
        Err(e) => {
            return Repetition {
                ndr: None,
                pdr: None,
                trials: vec![broken(0.0, 0.0, &e)],
            };
        }
    };
    let mut trials = Vec::new();
    loop {
        match search.next_step() {
            Step::Trial(req) => {
                if interrupted() {
                    break;
                }
                ctx.bar.set_message(format!(
                    "{variant}, {size} B, rep {}: {} trial {} at {:.4} Mpps for {:.2} s",
                    rep + 1,
                    req.goal,
                    trials.len() + 1,
                    req.rate_pps / 1e6,
                    req.duration_s
                ));
                let (rec, _, _) = run_one(
                    ctx,
                    variant,
                    size,
                    req.rate_pps,
                    req.duration_s,
                    TrialPurpose::Search,
                );
                trials.push(rec.clone());
                if ctx.nf_fault().is_some() {
                    break;
                }
                search.record(rec);
            }
            Step::Done(outcome) => {
                return Repetition {
                    ndr: outcome.goal(Goal::Ndr).cloned(),
                    pdr: outcome.goal(Goal::Pdr).cloned(),
                    trials,
                };
            }
        }
    }
    Repetition {
        ndr: None,
        pdr: None,
        trials,
    }
}

fn broken(rate: f64, duration: f64, reason: &str) -> TrialRecord {
    TrialRecord {
        requested_rate_pps: rate,
        requested_duration_s: duration,
        flags: vec![SoundnessFlag::Broken {
            reason: reason.to_string(),
        }],
        ..Default::default()
    }
}

fn attach(netns_path: &Path, ifname: &str) -> traffic::Attach {
    traffic::Attach {
        netns: Some(netns_path.to_path_buf()),
        ifname: ifname.to_string(),
        cpu: None,
    }
}

/// Runs one trial with per-NF counters read before and after.
fn run_one(
    ctx: &Ctx<'_>,
    _variant: &str,
    size: FrameSize,
    rate: f64,
    duration_s: f64,
    purpose: TrialPurpose,
) -> (TrialRecord, Option<LatencySummary>, Option<LatencySummary>) {
    let tb = ctx.tb;
    let before = ctx.rt.block_on(read_counters(ctx.clients, ctx.coo_only));
    let src = &tb.source;
    let frame_size = match size {
        FrameSize::Bytes(b) => traffic::FrameSizes::Fixed(u16::try_from(b).unwrap_or(u16::MAX)),
        FrameSize::Imix(_) => traffic::FrameSizes::Imix,
    };
    let spec = traffic::TrialSpec {
        source: attach(&src.netns_path, src.ifname.as_str()),
        sinks: tb
            .sinks
            .iter()
            .map(|s| attach(&s.netns_path, s.ifname.as_str()))
            .collect(),
        flows: ctx.flows.clone(),
        frame_size,
        rate_pps: rate,
        duration: Duration::from_secs_f64(duration_s),
        warmup: Duration::ZERO,
        latency_stream_pps: ctx.settings.run.latency_stream_pps.min(rate / 10.0),
        // None = a MAC nobody owns: kernel IP stacks in the VNF namespaces drop the frames at
        // once (PACKET_OTHERHOST) instead of routing each one; bridges flood to their one
        // other port; AF_PACKET NFs see every frame anyway.
        dst_mac: None,
        drain: Duration::from_millis(100),
    };
    let (mut rec, probe, load) = match traffic::run_trial(&spec) {
        Ok(r) => {
            let probe = LatencySummary::from_histogram(&r.latency);
            let load = LatencySummary::from_histogram(&r.load_latency);
            let mut rec = TrialRecord {
                purpose: Some(purpose),
                requested_rate_pps: rate,
                requested_duration_s: duration_s,
                sent: r.sent,
                received: r.received,
                lost: r.lost,
                duplicated: r.duplicated,
                reordered: r.reordered,
                sink_drops: r.sink_drops,
                achieved_tx_pps: r.achieved_pps,
                elapsed_s: r.elapsed.as_secs_f64(),
                flags: Vec::new(),
                latency: probe.clone().or_else(|| load.clone()),
                nf_counters: Vec::new(),
            };
            for a in &r.anomalies {
                rec.flags
                    .push(SoundnessFlag::CountersDisagree { detail: a.clone() });
            }
            (rec, probe, load)
        }
        Err(e) => {
            let mut rec = broken(rate, duration_s, &e.to_string());
            rec.purpose = Some(purpose);
            (rec, None, None)
        }
    };
    let after = ctx.rt.block_on(read_counters(ctx.clients, ctx.coo_only));
    let faults = nf_faults(&before, &after);
    for reason in &faults {
        rec.flags.push(SoundnessFlag::Broken {
            reason: reason.clone(),
        });
    }
    if !faults.is_empty() && ctx.nf_fault.borrow().is_none() {
        ctx.nf_fault.replace(Some(faults.join("; ")));
    }
    let ok = |m: &BTreeMap<String, Result<Counters, String>>| -> BTreeMap<String, Counters> {
        m.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_ref().ok()?.clone())))
            .collect()
    };
    rec.nf_counters = nf_deltas(&ok(&before), &ok(&after));
    if purpose != TrialPurpose::Warmup {
        measure::assess(&mut rec, &ctx.settings.limits);
    }
    (rec, probe, load)
}

/// Every agent's counters, or why it did not answer.
async fn read_counters(
    clients: &BTreeMap<String, VnfClient>,
    coo_only: &std::collections::BTreeSet<String>,
) -> BTreeMap<String, Result<Counters, String>> {
    let mut out = BTreeMap::new();
    for (id, c) in clients {
        let r = if coo_only.contains(id) {
            // COO has no counters: only whether Click runs (no interfaces = nothing to count).
            c.running().await.map(|running| Counters {
                engine: "image".into(),
                running,
                elements: Vec::new(),
                interfaces: Vec::new(),
            })
        } else {
            c.counters().await
        };
        out.insert(id.clone(), r.map_err(|e| e.to_string()));
    }
    out
}

/// What went wrong with a VNF around one trial: an agent that stopped answering, or an
/// engine that was running before and is not after (crashed or killed).
fn nf_faults(
    before: &BTreeMap<String, Result<Counters, String>>,
    after: &BTreeMap<String, Result<Counters, String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (id, a) in after {
        let b = before.get(id);
        match (b, a) {
            (Some(Err(e)), _) => out.push(format!(
                "VNF {id}: agent not answering before the trial ({e})"
            )),
            (_, Err(e)) => out.push(format!(
                "VNF {id}: agent stopped answering during the trial ({e})"
            )),
            (Some(Ok(b)), _) if !b.running => out.push(format!(
                "VNF {id}: engine {} not running before the trial (crashed or killed)",
                b.engine
            )),
            (Some(Ok(_)), Ok(a)) if !a.running => out.push(format!(
                "VNF {id}: engine {} stopped during the trial (crashed or killed)",
                a.engine
            )),
            _ => {}
        }
    }
    out
}

/// Per-NF in/out/dropped over one trial from the agents' interface counters.
fn nf_deltas(
    before: &BTreeMap<String, Counters>,
    after: &BTreeMap<String, Counters>,
) -> Vec<NfCounters> {
    let mut out = Vec::new();
    for (id, a) in after {
        let Some(b) = before.get(id) else { continue };
        if a.interfaces.is_empty() && b.interfaces.is_empty() {
            continue;
        }
        let sum = |c: &Counters, f: fn(&vnf_client::InterfaceCounters) -> u64| {
            c.interfaces.iter().map(f).sum::<u64>()
        };
        let packets_in = sum(a, |i| i.rx_packets).saturating_sub(sum(b, |i| i.rx_packets));
        let packets_out = sum(a, |i| i.tx_packets).saturating_sub(sum(b, |i| i.tx_packets));
        // Click handlers that count packets (Counter.count, Queue.drops, ...), as deltas.
        let mut elements = BTreeMap::new();
        for e in &a.elements {
            for (h, v) in &e.handlers {
                if !matches!(h.as_str(), "count" | "drops" | "highwater_length") {
                    continue;
                }
                let (Ok(after_v), Some(before_v)) = (
                    v.trim().parse::<u64>(),
                    b.elements
                        .iter()
                        .find(|x| x.name == e.name)
                        .and_then(|x| x.handlers.get(h))
                        .and_then(|x| x.trim().parse::<u64>().ok()),
                ) else {
                    continue;
                };
                let delta = if h == "highwater_length" {
                    after_v
                } else {
                    after_v.saturating_sub(before_v)
                };
                elements.insert(format!("{}.{h}", e.name), delta);
            }
        }
        out.push(NfCounters {
            vnf: id.clone(),
            packets_in,
            packets_out,
            dropped: packets_in.saturating_sub(packets_out),
            source: format!("interfaces ({})", a.engine),
            elements,
        });
    }
    out
}

/// Switches every VNF to the variant's engine and function and starts it; returns engine
/// name → version.
async fn configure(
    clients: &BTreeMap<String, VnfClient>,
    coo_only: &std::collections::BTreeSet<String>,
    plan: &VariantPlan,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut versions = BTreeMap::new();
    for (id, engine, function) in &plan.vnfs {
        let c = clients
            .get(id)
            .ok_or_else(|| anyhow!("VNF {id}: no agent"))?;
        let _ = c.stop().await;
        if coo_only.contains(id) {
            configure_coo(c, id, function).await?;
            continue;
        }
        let spec = engine.to_string();
        c.set_engine(&spec)
            .await
            .with_context(|| format!("VNF {id}: select engine {spec}"))?;
        if *engine != EngineSpec::KernelForward {
            let text = std::fs::read_to_string(function)
                .with_context(|| format!("VNF {id}: read {}", function.display()))?;
            c.put_function(&text)
                .await
                .with_context(|| format!("VNF {id}: install {}", function.display()))?;
        }
        c.start()
            .await
            .with_context(|| format!("VNF {id}: start {spec}"))?;
        let mut running = false;
        for _ in 0..50 {
            if c.health().await.map(|h| h.running).unwrap_or(false) {
                running = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !running {
            let log = c.log().await.unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            bail!(
                "VNF {id}: engine {spec} is not running after start; log tail: {}",
                tail.join(" | ")
            );
        }
        if let Ok(v) = c.version().await {
            versions.entry(spec).or_insert(v);
        }
    }
    Ok(versions)
}

/// A VNF on its own image, through the COO API only: write the function, start, and wait
/// until `running` says so.
async fn configure_coo(c: &VnfClient, id: &str, function: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(function)
        .with_context(|| format!("VNF {id}: read {}", function.display()))?;
    c.write_file("func.click", &text)
        .await
        .with_context(|| format!("VNF {id}: COO write_file"))?;
    c.start()
        .await
        .with_context(|| format!("VNF {id}: COO start"))?;
    for _ in 0..50 {
        if c.running().await.unwrap_or(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = c.log().await.unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    bail!(
        "VNF {id}: Click is not running after COO start; log tail: {}",
        tail.join(" | ")
    )
}

async fn stop_all(clients: &BTreeMap<String, VnfClient>) {
    for c in clients.values() {
        let _ = c.stop().await;
    }
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
        Some(accel) if tb.driver == "vm" => format!("vm ({accel})"),
        _ => tb.driver.clone(),
    }
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    Some(if dirty { format!("{rev}-dirty") } else { rev })
}

fn write_report(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("write {}", p.display()))
    };
    write("report.json", &report.to_json()?)?;
    write("report.csv", &measure::csv::to_csv(report))?;
    match measure::plot::throughput_svg(report) {
        Ok(svg) => write("throughput.svg", &svg)?,
        Err(e) => eprintln!("warning: {e}"),
    }
    for size in &report.settings.frame_sizes {
        let load = report
            .settings
            .latency_loads_pct
            .iter()
            .copied()
            .find(|l| (*l - 50.0).abs() < 1e-9)
            .or_else(|| report.settings.latency_loads_pct.first().copied());
        let Some(load) = load else { break };
        match measure::plot::latency_cdf_svg(report, *size, load) {
            Ok(svg) => write(&format!("latency-cdf-{size}.svg"), &svg)?,
            Err(e) => eprintln!("warning: {e}"),
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
}
