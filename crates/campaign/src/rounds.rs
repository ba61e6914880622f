//! The campaign loop: interleaved rounds of searches, then latency at common loads.

use std::collections::{BTreeMap, BTreeSet};

use measure::report::{
    Directions, FrameSize, FrameSizeResult, LatencyPoint, Repetition, TrafficDirection,
    VariantReport, VariantRole, VariantStatus,
};
use measure::search::{Search, Step};
use measure::{CommonLoads, Direction, Goal, SoundnessFlag, TrialPurpose, TrialRecord};

use crate::judge::{classify_limits, reference_ndr};
use crate::nf::{answered, nf_deltas, nf_faults};
use crate::{
    Agents, Outcome, Progress, Settings, TrafficPath, TrialInput, TrialOutput, TrialRunner,
    VariantPlan,
};

/// Extra attempts at a latency point the host disturbed.
const LATENCY_RETRIES: usize = 3;

/// Per-variant state across rounds.
struct State {
    report: VariantReport,
    /// Repetitions per frame size, in round order.
    reps: BTreeMap<FrameSize, Vec<Repetition>>,
    /// Whether the variant still takes part (not skipped, not failed).
    active: bool,
}

struct Ctx<'a> {
    settings: &'a Settings,
    runner: &'a mut dyn TrialRunner,
    agents: &'a mut dyn Agents,
    progress: &'a dyn Progress,
    coo_only: BTreeSet<String>,
    /// First VNF fault seen in the current variant (agent gone, engine exited).
    nf_fault: Option<String>,
    engines: BTreeMap<String, String>,
}

/// Runs the whole campaign over `plans` (measured in this order in every round).
pub fn run_campaign(
    settings: &Settings,
    plans: &[VariantPlan],
    runner: &mut dyn TrialRunner,
    agents: &mut dyn Agents,
    progress: &dyn Progress,
) -> Outcome {
    let coo_only = agents.coo_only();
    let mut ctx = Ctx {
        settings,
        runner,
        agents,
        progress,
        coo_only,
        nf_fault: None,
        engines: BTreeMap::new(),
    };
    let mut states: Vec<State> = plans.iter().map(|p| initial_state(&ctx, p)).collect();
    let mut notes = Vec::new();
    if settings.run.direction == TrafficDirection::Both {
        notes.push(
            "bidirectional: every chain trial also sends replies from the Outgoing to the \
             Incoming Point; offered loads and NDR/PDR are per direction (a load passes only when \
             both directions pass); the ceiling is measured forward only (one generator): a \
             result whose two directions together come near it is labelled at-ceiling, and a \
             reply generator that falls short is flagged generator-shortfall like the forward one"
                .to_string(),
        );
    }
    let rounds = settings.run.repetitions.max(1);
    let mut interrupted = false;
    'rounds: for round in 0..rounds {
        for (plan, st) in plans.iter().zip(states.iter_mut()) {
            if !st.active {
                continue;
            }
            if ctx.progress.interrupted() {
                notes.push(format!(
                    "interrupted in round {} before variant {}",
                    round + 1,
                    plan.name
                ));
                interrupted = true;
                break 'rounds;
            }
            measure_round(&mut ctx, plan, st, round, rounds);
        }
    }
    let ceiling: BTreeMap<FrameSize, f64> = states
        .iter()
        .filter(|s| s.report.role == VariantRole::Ceiling && s.active)
        .flat_map(|s| {
            s.reps.iter().filter_map(|(size, reps)| {
                let r = FrameSizeResult::new(*size, reps.clone(), Vec::new());
                Some((*size, r.ndr?.median))
            })
        })
        .collect();
    for st in &mut states {
        let reps = std::mem::take(&mut st.reps);
        for (size, reps) in reps {
            let mut r = FrameSizeResult::new(size, reps, Vec::new());
            r.limit = classify_limits(
                &r,
                st.report.role,
                ceiling.get(&size).copied(),
                settings.ceiling_margin_pct,
            );
            st.report.results.push(r);
        }
    }
    let mut latency_loads = None;
    if !interrupted {
        latency_loads = common_loads(settings, &states);
        match &latency_loads {
            Some(loads) => measure_latency(&mut ctx, plans, &mut states, loads),
            None => notes.push(
                "latency not measured: no variant has a sound NDR at the latency frame size".into(),
            ),
        }
        interrupted = ctx.progress.interrupted();
    }
    ctx.agents.stop_all();
    Outcome {
        variants: states.into_iter().map(|s| s.report).collect(),
        latency_loads,
        engines: ctx.engines,
        notes,
        interrupted,
    }
}

fn initial_state(ctx: &Ctx<'_>, plan: &VariantPlan) -> State {
    let engines = plan
        .vnfs
        .iter()
        .map(|(id, e, _)| (id.clone(), e.to_string()))
        .collect();
    let functions = plan
        .vnfs
        .iter()
        .map(|(id, _, f)| (id.clone(), f.display().to_string()))
        .collect();
    let mut report = VariantReport {
        name: plan.name.clone(),
        role: plan.role,
        status: VariantStatus::Measured,
        engines,
        functions,
        engine_runs: Default::default(),
        results: Vec::new(),
        notes: Vec::new(),
    };
    let coo_conflict = plan.vnfs.iter().find_map(|(id, e, _)| {
        (ctx.coo_only.contains(id) && *e != topology::EngineSpec::CooClick).then(|| {
            format!("VNF {id} boots its own image (COO API only): engine {e} cannot be selected")
        })
    });
    let mut active = true;
    if let Some(reason) = plan.skip.clone().or(coo_conflict) {
        ctx.progress
            .line(&format!("variant {}: skipped: {reason}", plan.name));
        report.status = VariantStatus::Skipped { reason };
        active = false;
    }
    for (id, _, _) in plan
        .vnfs
        .iter()
        .filter(|(id, _, _)| ctx.coo_only.contains(id))
    {
        report.notes.push(format!(
            "VNF {id} boots its own image (COO API only): its engine is the image's; no per-NF counters"
        ));
    }
    State {
        report,
        reps: BTreeMap::new(),
        active,
    }
}

fn path_of(plan: &VariantPlan) -> TrafficPath {
    if plan.role == VariantRole::Ceiling {
        TrafficPath::Ceiling
    } else {
        TrafficPath::Chain
    }
}

/// Configures the VNFs for `plan` (the ceiling stops them: its path has no NF, and idle
/// engines must not compete for the CPUs) and warms up. Err = the variant failed.
fn prepare(ctx: &mut Ctx<'_>, plan: &VariantPlan) -> Result<Option<TrialRecord>, String> {
    ctx.nf_fault = None;
    ctx.progress
        .status(&format!("{}: configuring engines", plan.name));
    if plan.role == VariantRole::Ceiling {
        ctx.agents.stop_all();
    } else {
        let versions = ctx.agents.configure(plan)?;
        for (engine, version) in versions {
            ctx.engines.entry(engine).or_insert(version);
        }
    }
    let s = ctx.settings;
    let size = s
        .run
        .frame_sizes
        .first()
        .copied()
        .unwrap_or(FrameSize::Bytes(64));
    let warm = |ctx: &mut Ctx<'_>, duration_s: f64| {
        trial(
            ctx,
            TrialInput {
                path: path_of(plan),
                frame_size: size,
                load_pps: s.warmup_rate_pps,
                probe_pps: 0.0,
                duration_s,
                purpose: TrialPurpose::Warmup,
            },
        )
        .record
    };
    let mut warmup = warm(ctx, s.run.warmup_s.max(0.1));
    let mut retries = s.warmup_retries;
    while retries > 0 && warmup.received == 0 && ctx.nf_fault.is_none() {
        if ctx.progress.interrupted() {
            break;
        }
        retries -= 1;
        std::thread::sleep(std::time::Duration::from_secs(1));
        warmup = warm(ctx, s.run.warmup_s.max(1.0));
    }
    if let Some(fault) = &ctx.nf_fault {
        return Err(format!("VNF fault during the warm-up trials: {fault}"));
    }
    if warmup.received == 0 {
        let why = warmup
            .flags
            .iter()
            .find_map(|f| match f {
                SoundnessFlag::Broken { reason } => Some(format!(" ({reason})")),
                _ => None,
            })
            .unwrap_or_default();
        return Err(format!(
            "readiness check: no test frame crossed the chain during warm-up{why}"
        ));
    }
    Ok(Some(warmup))
}

fn fail(ctx: &mut Ctx<'_>, st: &mut State, error: String) {
    ctx.progress
        .line(&format!("variant {}: failed: {error}", st.report.name));
    // No rate of a failed variant counts (earlier rounds included); its trials stay.
    for rep in st.reps.values_mut().flatten() {
        rep.ndr = None;
        rep.pdr = None;
    }
    for r in &mut st.report.results {
        for rep in &mut r.repetitions {
            rep.ndr = None;
            rep.pdr = None;
        }
        r.ndr = None;
        r.pdr = None;
    }
    st.report.notes.push(error.clone());
    st.report.status = VariantStatus::Failed { error };
    st.active = false;
    ctx.agents.stop_all();
}

/// One round of one variant: prepare, then one search per frame size.
fn measure_round(ctx: &mut Ctx<'_>, plan: &VariantPlan, st: &mut State, round: u32, rounds: u32) {
    let mut warmup = match prepare(ctx, plan) {
        Ok(w) => w,
        Err(e) => {
            fail(ctx, st, e);
            return;
        }
    };
    for size in ctx.settings.run.frame_sizes.clone() {
        if ctx.progress.interrupted() {
            return;
        }
        let mut rep = search_once(ctx, plan, size, round, rounds);
        if let Some(w) = warmup.take() {
            rep.trials.insert(0, w);
        }
        st.reps.entry(size).or_default().push(rep);
        if let Some(fault) = ctx.nf_fault.clone() {
            fail(
                ctx,
                st,
                format!("VNF fault during the {size} B search trials: {fault}"),
            );
            return;
        }
        let ndr = st.reps[&size].last().and_then(|r| r.ndr.as_ref()?.rate_pps);
        ctx.progress.line(&format!(
            "round {}/{rounds}: {} {size} B: NDR {}",
            round + 1,
            plan.name,
            ndr.map_or("-".to_string(), |n| format!("{:.4} Mpps", n / 1e6))
        ));
    }
}

/// Probe rate inside an offered load: the configured rate, at most 10 % of the load.
fn probe_for(offered: f64, probe_pps: f64) -> f64 {
    probe_pps.min(offered / 10.0).max(0.0)
}

fn search_once(
    ctx: &mut Ctx<'_>,
    plan: &VariantPlan,
    size: FrameSize,
    round: u32,
    rounds: u32,
) -> Repetition {
    let s = ctx.settings;
    let mut search = match Search::new(s.run.search.clone()) {
        Ok(x) => x,
        Err(e) => {
            return Repetition {
                directions: None,
                ndr: None,
                pdr: None,
                trials: vec![broken_record(0.0, 0.0, &e)],
            }
        }
    };
    let mut trials = Vec::new();
    loop {
        match search.next_step() {
            Step::Trial(req) => {
                if ctx.progress.interrupted() {
                    break;
                }
                ctx.progress.status(&format!(
                    "round {}/{rounds}, {}, {size} B: {} trial {} at {:.4} Mpps for {:.2} s",
                    round + 1,
                    plan.name,
                    req.goal,
                    trials.len() + 1,
                    req.rate_pps / 1e6,
                    req.duration_s
                ));
                let probe = probe_for(req.rate_pps, s.run.trial.probe_pps);
                let out = trial(
                    ctx,
                    TrialInput {
                        path: path_of(plan),
                        frame_size: size,
                        load_pps: req.rate_pps - probe,
                        probe_pps: probe,
                        duration_s: req.duration_s,
                        purpose: TrialPurpose::Search,
                    },
                );
                trials.push(out.record.clone());
                if ctx.nf_fault.is_some() {
                    break;
                }
                search.record(out.record);
            }
            Step::Done(outcome) => {
                let directions = match (
                    search.direction(Direction::Forward),
                    search.direction(Direction::Reverse),
                ) {
                    (Some(forward), Some(reverse)) => Some(Directions { forward, reverse }),
                    _ => None,
                };
                return Repetition {
                    directions,
                    ndr: outcome.goal(Goal::Ndr).cloned(),
                    pdr: outcome.goal(Goal::Pdr).cloned(),
                    trials,
                };
            }
        }
    }
    Repetition {
        directions: None,
        ndr: None,
        pdr: None,
        trials,
    }
}

pub(crate) fn broken_record(rate: f64, duration: f64, reason: &str) -> TrialRecord {
    TrialRecord {
        requested_rate_pps: rate,
        requested_duration_s: duration,
        flags: vec![SoundnessFlag::Broken {
            reason: reason.to_string(),
        }],
        ..Default::default()
    }
}

/// One trial with the agents' counters read before and after (not for the ceiling, whose
/// path has no NF), faults turned into flags, soundness assessed.
fn trial(ctx: &mut Ctx<'_>, input: TrialInput) -> TrialOutput {
    let with_nfs = input.path == TrafficPath::Chain;
    let before = with_nfs.then(|| ctx.agents.counters());
    let mut out = ctx.runner.run(&input);
    out.record.purpose = Some(input.purpose);
    out.record.requested_rate_pps = input.offered_pps();
    out.record.requested_duration_s = input.duration_s;
    out.record.probe_pps = input.probe_pps;
    if let Some(back) = out.record.reverse.as_mut() {
        // The offered load is per direction.
        back.purpose = Some(input.purpose);
        back.requested_rate_pps = input.offered_pps();
        back.requested_duration_s = input.duration_s;
        back.probe_pps = input.probe_pps;
    }
    if let Some(before) = before {
        let after = ctx.agents.counters();
        let faults = nf_faults(&before, &after);
        for reason in &faults {
            out.record.flags.push(SoundnessFlag::Broken {
                reason: reason.clone(),
            });
        }
        if !faults.is_empty() && ctx.nf_fault.is_none() {
            ctx.nf_fault = Some(faults.join("; "));
        }
        out.record.nf_counters = nf_deltas(&answered(&before), &answered(&after));
    }
    if input.purpose != TrialPurpose::Warmup {
        measure::assess(&mut out.record, &ctx.settings.limits);
    }
    out
}

/// The loads every variant's latency is measured at: fractions of the lowest sound NDR.
fn common_loads(settings: &Settings, states: &[State]) -> Option<CommonLoads> {
    let size = settings
        .run
        .latency
        .frame_size
        .or_else(|| settings.run.frame_sizes.first().copied())?;
    let (name, ndr) = reference_ndr(states.iter().map(|s| &s.report), size)?;
    Some(CommonLoads {
        frame_size: size,
        reference_variant: name,
        reference_ndr_pps: ndr,
        loads: settings
            .run
            .latency
            .loads_pct
            .iter()
            .map(|pct| (*pct, ndr * pct / 100.0))
            .collect(),
    })
}

/// Latency of every still-active variant (ceiling included: the measurement's own floor) at
/// the common loads, with enough probe frames for a p99.9 resting on ≥ 10 samples.
fn measure_latency(
    ctx: &mut Ctx<'_>,
    plans: &[VariantPlan],
    states: &mut [State],
    loads: &CommonLoads,
) {
    let s = ctx.settings;
    for (plan, st) in plans.iter().zip(states.iter_mut()) {
        if !st.active || ctx.progress.interrupted() {
            continue;
        }
        if let Err(e) = prepare(ctx, plan) {
            fail(ctx, st, e);
            continue;
        }
        let mut points = Vec::new();
        for (pct, offered) in &loads.loads {
            if ctx.progress.interrupted() {
                break;
            }
            let probe = probe_for(*offered, s.run.latency.probe_pps);
            if probe <= 0.0 {
                continue;
            }
            // 2 % more probe frames than asked, so a p99.9 rests on ≥ 10 samples even when a
            // few probe frames are lost.
            let duration_s = (s.run.latency.min_probe_frames as f64 * 1.02 / probe)
                .max(s.run.search.final_duration_s);
            ctx.progress.status(&format!(
                "{}: latency at {pct}% ({:.4} Mpps) for {duration_s:.1} s",
                plan.name,
                offered / 1e6
            ));
            let input = TrialInput {
                path: path_of(plan),
                frame_size: loads.frame_size,
                load_pps: offered - probe,
                probe_pps: probe,
                duration_s,
                purpose: TrialPurpose::Latency,
            };
            let mut out = trial(ctx, input.clone());
            // A point disturbed by the host is measured again (a few times at most).
            for _ in 0..LATENCY_RETRIES {
                let disturbed = out.record.flags.iter().any(|f| f.is_disturbance());
                if !disturbed || ctx.nf_fault.is_some() || ctx.progress.interrupted() {
                    break;
                }
                out = trial(ctx, input.clone());
            }
            let valid = out.record.is_valid();
            points.push(LatencyPoint {
                reverse: if valid { out.reverse } else { None },
                load_pct: *pct,
                rate_pps: *offered,
                probe: if valid { out.probe } else { None },
                load: if valid { out.load } else { None },
                trial: out.record,
            });
            if ctx.nf_fault.is_some() {
                break;
            }
        }
        if let Some(r) = st
            .report
            .results
            .iter_mut()
            .find(|r| r.frame_size == loads.frame_size)
        {
            r.latency = points;
        }
        if let Some(fault) = ctx.nf_fault.clone() {
            fail(
                ctx,
                st,
                format!("VNF fault during the latency trials: {fault}"),
            );
        }
    }
}
