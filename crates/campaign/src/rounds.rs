//! The campaign loop: interleaved rounds of searches, then latency at common loads.

use std::collections::{BTreeMap, BTreeSet};

use measure::report::{
    Directions, FrameSize, FrameSizeResult, LatencyPoint, Repetition, TrafficDirection,
    VariantReport, VariantRole, VariantStatus,
};
use measure::search::{Search, Step};
use measure::{CommonLoads, Direction, Goal, SoundnessFlag, TrialPurpose, TrialRecord};

use crate::estimate::{Estimator, Work};
use crate::judge::{classify_limits, reference_ndr};
use crate::nf::{answered, nf_deltas, nf_faults};
use crate::{
    Agents, Outcome, Progress, Settings, TrafficPath, TrialInput, TrialOutput, TrialProgress,
    TrialRunner, VariantPlan,
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
    est: Estimator,
    /// (round from 1, rounds) for progress; (0, rounds) in the latency phase.
    round: (u32, u32),
}

/// The campaign's work per variant, for the estimate of how long it takes.
fn work_per_variant(settings: &Settings, rounds: u32) -> Work {
    let rounds = rounds as usize;
    Work {
        searches: rounds * settings.run.frame_sizes.len(),
        // One per round, one before the latency points.
        warmups: rounds + 1,
        latency: settings.run.latency.loads_pct.len(),
    }
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
    let rounds = settings.run.repetitions.max(1);
    let mut ctx = Ctx {
        settings,
        runner,
        agents,
        progress,
        coo_only,
        nf_fault: None,
        engines: BTreeMap::new(),
        est: Estimator::new(&settings.run.search, Work::default()),
        round: (1, rounds),
    };
    let mut states: Vec<State> = plans.iter().map(|p| initial_state(&ctx, p)).collect();
    let active = states.iter().filter(|s| s.active).count();
    let per_variant = work_per_variant(settings, rounds);
    ctx.est = Estimator::new(
        &settings.run.search,
        Work {
            searches: per_variant.searches * active,
            warmups: per_variant.warmups * active,
            latency: per_variant.latency * active,
        },
    );
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
    let mut interrupted = false;
    'rounds: for round in 0..rounds {
        ctx.round = (round + 1, rounds);
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
        log_verdicts(&st.report);
    }
    let mut latency_loads = None;
    if !interrupted {
        latency_loads = common_loads(settings, &states);
        ctx.round = (0, rounds);
        match &latency_loads {
            Some(loads) => measure_latency(&mut ctx, plans, &mut states, loads),
            None => {
                let active = states.iter().filter(|s| s.active).count();
                ctx.est.forget(Work {
                    searches: 0,
                    warmups: active,
                    latency: per_variant.latency * active,
                });
                notes.push(
                    "latency not measured: no variant has a sound NDR at the latency frame size"
                        .into(),
                )
            }
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
        .map(|v| (v.id.to_string(), v.engine.to_string()))
        .collect();
    let functions = plan
        .vnfs
        .iter()
        .map(|v| (v.id.to_string(), v.function.display().to_string()))
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
    let coo_conflict = plan.vnfs.iter().find_map(|v| {
        (ctx.coo_only.contains(v.id.as_str()) && v.engine != topology::EngineSpec::CooClick).then(
            || {
                format!(
                    "VNF {} boots its own image (COO API only): engine {} cannot be selected",
                    v.id, v.engine
                )
            },
        )
    });
    let mut active = true;
    if let Some(reason) = plan.skip.clone().or(coo_conflict) {
        tracing::info!(variant = %plan.name, %reason, "variant skipped");
        ctx.progress
            .line(&format!("variant {}: skipped: {reason}", plan.name));
        report.status = VariantStatus::Skipped { reason };
        active = false;
    }
    for id in plan
        .vnfs
        .iter()
        .map(|v| v.id.as_str())
        .filter(|id| ctx.coo_only.contains(*id))
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
    // Counted as started: the estimate then holds for a configure that fails.
    ctx.est.warmup_started();
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
            &plan.name,
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

/// The variant failed; `unfinished` is the work it will no longer do.
fn fail(ctx: &mut Ctx<'_>, st: &mut State, error: String, unfinished: Work) {
    tracing::info!(variant = %st.report.name, %error, "variant failed");
    ctx.est.forget(unfinished);
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
    let sizes = ctx.settings.run.frame_sizes.len();
    // What this variant will not do when it fails after `done` searches of this round.
    let unfinished = |done: usize| {
        let later_rounds = (rounds - round - 1) as usize;
        Work {
            searches: sizes - done + later_rounds * sizes,
            warmups: later_rounds + 1,
            latency: ctx.settings.run.latency.loads_pct.len(),
        }
    };
    let mut warmup = match prepare(ctx, plan) {
        Ok(w) => w,
        Err(e) => {
            let left = unfinished(0);
            fail(ctx, st, e, left);
            return;
        }
    };
    for (done, size) in ctx.settings.run.frame_sizes.clone().into_iter().enumerate() {
        if ctx.progress.interrupted() {
            return;
        }
        let mut rep = search_once(ctx, plan, size, round, rounds);
        if let Some(w) = warmup.take() {
            rep.trials.insert(0, w);
        }
        st.reps.entry(size).or_default().push(rep);
        if let Some(fault) = ctx.nf_fault.clone() {
            let left = unfinished(done + 1);
            fail(
                ctx,
                st,
                format!("VNF fault during the {size} B search trials: {fault}"),
                left,
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
                    &plan.name,
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
                ctx.est.search_done();
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
    ctx.est.search_done();
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
fn trial(ctx: &mut Ctx<'_>, variant: &str, input: TrialInput) -> TrialOutput {
    let (trial, trials_about, seconds_left) = ctx.est.trial_starts(input.purpose);
    ctx.progress.trial(&TrialProgress {
        variant: variant.to_string(),
        frame_size: input.frame_size,
        purpose: input.purpose,
        round: ctx.round.0,
        rounds: ctx.round.1,
        trial,
        trials_about,
        seconds_left,
    });
    let with_nfs = input.path == TrafficPath::Chain;
    let before = with_nfs.then(|| ctx.agents.counters());
    let mut out = ctx.runner.run(&input);
    ctx.est.trial_done(input.purpose);
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
    let r = &out.record;
    tracing::debug!(
        variant,
        frame = %input.frame_size,
        purpose = ?input.purpose,
        offered_pps = input.offered_pps(),
        duration_s = input.duration_s,
        sent = r.sent,
        received = r.received,
        lost = r.lost,
        flags = ?r.flags,
        "trial {trial} done"
    );
    out
}

/// One info event per (variant, frame size): the verdict a reader of the table would see.
fn log_verdicts(v: &measure::report::VariantReport) {
    for r in &v.results {
        match (&r.ndr, &r.limit) {
            (None, _) => tracing::info!(variant = %v.name, frame = %r.frame_size, "no sound NDR"),
            (Some(ndr), limit) => tracing::info!(
                variant = %v.name,
                frame = %r.frame_size,
                ndr_mpps = ndr.median / 1e6,
                ci_mpps = ?ndr.ci.map(|c| (c.low / 1e6, c.high / 1e6)),
                limit = limit.as_ref().map_or("none", |l| l.short_name()),
                "variant verdict"
            ),
        }
    }
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
        let loads_n = loads.loads.len();
        if let Err(e) = prepare(ctx, plan) {
            fail(
                ctx,
                st,
                e,
                Work {
                    latency: loads_n,
                    ..Work::default()
                },
            );
            continue;
        }
        let mut points = Vec::new();
        // Latency points this variant got through (measured or without a probe).
        let mut handled = 0;
        for (pct, offered) in &loads.loads {
            if ctx.progress.interrupted() {
                break;
            }
            handled += 1;
            let probe = probe_for(*offered, s.run.latency.probe_pps);
            if probe <= 0.0 {
                ctx.est.latency_point_done();
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
            let mut out = trial(ctx, &plan.name, input.clone());
            // A point disturbed by the host is measured again (a few times at most).
            for _ in 0..LATENCY_RETRIES {
                let disturbed = out.record.flags.iter().any(|f| f.is_disturbance());
                if !disturbed || ctx.nf_fault.is_some() || ctx.progress.interrupted() {
                    break;
                }
                out = trial(ctx, &plan.name, input.clone());
            }
            ctx.est.latency_point_done();
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
            let left = Work {
                latency: loads_n.saturating_sub(handled),
                ..Work::default()
            };
            fail(
                ctx,
                st,
                format!("VNF fault during the latency trials: {fault}"),
                left,
            );
        }
    }
}
