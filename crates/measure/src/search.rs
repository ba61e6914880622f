//! RFC 2544 throughput search for NDR and PDR (sans-IO state machine).
//!
//! The caller asks [`Search::next_step`] for the next trial, runs it, and hands the measured
//! [`TrialRecord`] to [`Search::record`]. The strategy borrows from FD.io CSIT's MLRsearch:
//! - the first trial runs at the maximum rate; when it loses frames, the *received* rate is the
//!   next candidate (the device's forwarding rate is usually close to its NDR);
//! - from the newest bound the search steps outward with doubling widths (external search) and
//!   never beyond the middle of the current interval (so it is never slower than bisection);
//! - while the interval is wider than the coarse width, trials are short; the final lower bound
//!   is always confirmed with a trial of full duration;
//! - one pass serves both goals: every valid trial is a bound for NDR and for PDR.
//!
//! Soundness: only unflagged trials become bounds. A generator shortfall or a sink bottleneck
//! lowers the *ceiling* (the highest rate this setup can measure); a result that ends at the
//! ceiling says so. Broken trials are retried a few times, then the goal gives up.

use serde::{Deserialize, Serialize};

use crate::trial::{SoundnessFlag, TrialRecord};

/// The two RFC 2544 throughput goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Goal {
    /// No-drop rate: highest rate with loss ≤ `ndr_loss_pct`.
    Ndr,
    /// Partial-drop rate: highest rate with loss ≤ `pdr_loss_pct`.
    Pdr,
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Goal::Ndr => "NDR",
            Goal::Pdr => "PDR",
        })
    }
}

/// Search parameters. Defaults follow NFVbench (loss thresholds) and CSIT (0.5 % width).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub min_rate_pps: f64,
    pub max_rate_pps: f64,
    pub ndr_loss_pct: f64,
    pub pdr_loss_pct: f64,
    /// Final relative width (upper − lower) / upper, percent.
    pub precision_pct: f64,
    /// Width below which trials switch from the initial to the final duration, percent.
    pub coarse_precision_pct: f64,
    pub initial_duration_s: f64,
    pub final_duration_s: f64,
    /// Goals to search, in order.
    pub goals: Vec<Goal>,
    /// Safety net against pathological devices.
    pub max_trials: usize,
    /// Broken trials in a row before a goal gives up.
    pub max_broken_in_a_row: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            min_rate_pps: 1_000.0,
            max_rate_pps: 3_000_000.0,
            ndr_loss_pct: 0.001,
            pdr_loss_pct: 0.1,
            precision_pct: 0.5,
            coarse_precision_pct: 2.0,
            initial_duration_s: 0.5,
            final_duration_s: 2.0,
            goals: vec![Goal::Ndr, Goal::Pdr],
            max_trials: 40,
            max_broken_in_a_row: 3,
        }
    }
}

impl SearchConfig {
    pub fn threshold_pct(&self, goal: Goal) -> f64 {
        match goal {
            Goal::Ndr => self.ndr_loss_pct,
            Goal::Pdr => self.pdr_loss_pct,
        }
    }

    /// Checks the parameters; returns a human-readable reason when they make no sense.
    pub fn validate(&self) -> Result<(), String> {
        let ok = self.min_rate_pps > 0.0
            && self.max_rate_pps >= self.min_rate_pps
            && self.precision_pct > 0.0
            && self.precision_pct < 100.0
            && self.coarse_precision_pct >= self.precision_pct
            && self.initial_duration_s > 0.0
            && self.final_duration_s >= self.initial_duration_s
            && self.ndr_loss_pct >= 0.0
            && self.pdr_loss_pct >= self.ndr_loss_pct
            && self.max_trials > 0;
        if ok {
            Ok(())
        } else {
            Err(format!("inconsistent search settings: {self:?}"))
        }
    }
}

/// What the caller should run next.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRequest {
    pub rate_pps: f64,
    pub duration_s: f64,
    pub goal: Goal,
}

/// Why a goal's number is limited or missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ResultFlag {
    /// No loss up to the configured maximum rate: the real value may be higher.
    AtMaxRate,
    /// The generator or sink could not go higher: the real value may be higher.
    MeasurementLimited { ceiling_pps: f64 },
    /// Even the minimum rate lost too much.
    BelowMinRate,
    /// The trial budget ran out before the precision was reached.
    TrialBudgetExhausted,
    /// Too many broken trials in a row.
    TooManyBrokenTrials,
}

impl ResultFlag {
    pub fn short_name(&self) -> &'static str {
        match self {
            ResultFlag::AtMaxRate => "at-max-rate",
            ResultFlag::MeasurementLimited { .. } => "measurement-limited",
            ResultFlag::BelowMinRate => "below-min-rate",
            ResultFlag::TrialBudgetExhausted => "trial-budget-exhausted",
            ResultFlag::TooManyBrokenTrials => "too-many-broken-trials",
        }
    }
}

/// Result of one goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalResult {
    pub goal: Goal,
    pub loss_threshold_pct: f64,
    /// Highest rate that met the loss threshold in a valid full-duration trial.
    pub rate_pps: Option<f64>,
    /// Lowest rate that exceeded the loss threshold in a valid trial.
    pub upper_pps: Option<f64>,
    /// Loss measured at `rate_pps`.
    pub loss_pct: Option<f64>,
    #[serde(default)]
    pub flags: Vec<ResultFlag>,
}

impl GoalResult {
    /// Relative width of the final interval, percent (when both bounds exist).
    pub fn width_pct(&self) -> Option<f64> {
        match (self.rate_pps, self.upper_pps) {
            (Some(lo), Some(hi)) if hi > 0.0 => Some(100.0 * (hi - lo) / hi),
            _ => None,
        }
    }
}

/// Outcome of a finished search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchOutcome {
    pub results: Vec<GoalResult>,
    pub trials: usize,
    pub ceiling_pps: f64,
}

impl SearchOutcome {
    pub fn goal(&self, goal: Goal) -> Option<&GoalResult> {
        self.results.iter().find(|r| r.goal == goal)
    }
}

/// Next step of the search.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Trial(TrialRequest),
    Done(SearchOutcome),
}

#[derive(Debug, Clone)]
struct Done {
    request: TrialRequest,
    record: TrialRecord,
}

/// The search state machine.
#[derive(Debug, Clone)]
pub struct Search {
    config: SearchConfig,
    history: Vec<Done>,
    pending: Option<TrialRequest>,
    ceiling: f64,
    goal_index: usize,
    results: Vec<GoalResult>,
    broken_in_a_row: usize,
}

enum Decision {
    Run(f64, f64),
    Finish(GoalResult),
}

const REL_EPS: f64 = 1e-9;

impl Search {
    pub fn new(config: SearchConfig) -> Result<Search, String> {
        config.validate()?;
        let ceiling = config.max_rate_pps;
        Ok(Search {
            config,
            history: Vec::new(),
            pending: None,
            ceiling,
            goal_index: 0,
            results: Vec::new(),
            broken_in_a_row: 0,
        })
    }

    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// Trials recorded so far (in order), with the request that produced each.
    pub fn trials(&self) -> impl Iterator<Item = (&TrialRequest, &TrialRecord)> {
        self.history.iter().map(|d| (&d.request, &d.record))
    }

    /// The next trial to run, or the outcome. Calling it twice without `record` returns the
    /// same request.
    pub fn next_step(&mut self) -> Step {
        if let Some(p) = self.pending {
            return Step::Trial(p);
        }
        while let Some(goal) = self.config.goals.get(self.goal_index).copied() {
            match self.decide(goal) {
                Decision::Run(rate, duration) => {
                    let req = TrialRequest {
                        rate_pps: rate,
                        duration_s: duration,
                        goal,
                    };
                    self.pending = Some(req);
                    return Step::Trial(req);
                }
                Decision::Finish(result) => {
                    self.results.push(result);
                    self.goal_index += 1;
                    self.broken_in_a_row = 0;
                }
            }
        }
        Step::Done(SearchOutcome {
            results: self.results.clone(),
            trials: self.history.len(),
            ceiling_pps: self.ceiling,
        })
    }

    /// Records the measurement of the pending trial (flags must already be assessed).
    pub fn record(&mut self, record: TrialRecord) {
        let request = self.pending.take().unwrap_or(TrialRequest {
            rate_pps: record.requested_rate_pps,
            duration_s: record.requested_duration_s,
            goal: self
                .config
                .goals
                .get(self.goal_index)
                .copied()
                .unwrap_or(Goal::Ndr),
        });
        let p = self.config.precision_pct / 100.0;
        let mut broken = false;
        for flag in &record.flags {
            match flag {
                SoundnessFlag::GeneratorShortfall { achieved_pps, .. } => {
                    // Stay below what the generator just achieved (it varies from trial to
                    // trial on a shared host), but never below a rate it already sustained.
                    let sustained = self
                        .history
                        .iter()
                        .filter(|d| d.record.is_valid())
                        .map(|d| d.request.rate_pps)
                        .fold(0.0, f64::max);
                    let below = achieved_pps * (1.0 - p.max(0.01));
                    self.ceiling = self.ceiling.min(below.max(sustained));
                }
                SoundnessFlag::SinkBottleneck { .. } => {
                    self.ceiling = self.ceiling.min(request.rate_pps * (1.0 - 2.0 * p));
                }
                SoundnessFlag::CountersDisagree { .. } | SoundnessFlag::Broken { .. } => {
                    broken = true
                }
            }
        }
        if broken {
            self.broken_in_a_row += 1;
        } else {
            self.broken_in_a_row = 0;
        }
        self.history.push(Done { request, record });
    }

    fn is_final(&self, d: &Done) -> bool {
        d.request.duration_s >= self.config.final_duration_s * (1.0 - REL_EPS)
    }

    fn decide(&self, goal: Goal) -> Decision {
        let cfg = &self.config;
        let thr = cfg.threshold_pct(goal);
        let p = cfg.precision_pct / 100.0;
        let coarse = cfg.coarse_precision_pct / 100.0;
        let finish = |rate: Option<f64>, upper: Option<f64>, loss: Option<f64>, flags| {
            Decision::Finish(GoalResult {
                goal,
                loss_threshold_pct: thr,
                rate_pps: rate,
                upper_pps: upper,
                loss_pct: loss,
                flags,
            })
        };

        let valid: Vec<&Done> = self
            .history
            .iter()
            .filter(|d| d.record.is_valid())
            .collect();
        let fails = |d: &&&Done| d.record.loss_pct() > thr;
        let upper: Option<&Done> = valid
            .iter()
            .filter(fails)
            .min_by(|a, b| a.request.rate_pps.total_cmp(&b.request.rate_pps))
            .copied();
        let upper_rate = upper.map(|d| d.request.rate_pps);
        let below_upper = |d: &&&Done| {
            d.record.loss_pct() <= thr && upper_rate.is_none_or(|u| d.request.rate_pps < u)
        };
        let pass_any = valid
            .iter()
            .filter(below_upper)
            .max_by(|a, b| a.request.rate_pps.total_cmp(&b.request.rate_pps))
            .copied();
        let pass_final = valid
            .iter()
            .filter(below_upper)
            .filter(|d| self.is_final(d))
            .max_by(|a, b| a.request.rate_pps.total_cmp(&b.request.rate_pps))
            .copied();
        let pl = pass_any.map(|d| d.request.rate_pps);
        let fl = pass_final.map(|d| d.request.rate_pps);
        let fl_loss = pass_final.map(|d| d.record.loss_pct());

        if self.broken_in_a_row >= cfg.max_broken_in_a_row {
            return finish(
                fl,
                upper_rate,
                fl_loss,
                vec![ResultFlag::TooManyBrokenTrials],
            );
        }
        if self.history.len() >= cfg.max_trials {
            return finish(
                fl,
                upper_rate,
                fl_loss,
                vec![ResultFlag::TrialBudgetExhausted],
            );
        }
        // A broken trial is retried as it was.
        if self.broken_in_a_row > 0 {
            if let Some(last) = self.history.last() {
                return Decision::Run(
                    last.request.rate_pps.min(self.ceiling),
                    last.request.duration_s,
                );
            }
        }
        let ceiling = self.ceiling;
        if ceiling < cfg.min_rate_pps {
            return finish(
                None,
                upper_rate,
                None,
                vec![ResultFlag::MeasurementLimited {
                    ceiling_pps: ceiling,
                }],
            );
        }
        let limited_flag = || {
            if ceiling >= cfg.max_rate_pps * (1.0 - REL_EPS) {
                ResultFlag::AtMaxRate
            } else {
                ResultFlag::MeasurementLimited {
                    ceiling_pps: ceiling,
                }
            }
        };

        // No failure at or below the ceiling: climb to the ceiling.
        let Some(u) = upper_rate.filter(|u| *u <= ceiling * (1.0 + REL_EPS)) else {
            if fl.is_some_and(|f| f >= ceiling * (1.0 - p)) {
                return finish(fl, upper_rate, fl_loss, vec![limited_flag()]);
            }
            if let Some(l) = pl.filter(|l| *l >= ceiling * (1.0 - p)) {
                return Decision::Run(l, cfg.final_duration_s);
            }
            return Decision::Run(ceiling, cfg.initial_duration_s);
        };

        let streak = self.trailing_streak(thr);
        // A full-length failure makes nearby short passes suspect (noisy devices lose frames
        // sporadically): below it, only full-length trials are used.
        let u_final = upper.is_some_and(|d| self.is_final(d));
        let below_duration = if u_final {
            cfg.final_duration_s
        } else {
            cfg.initial_duration_s
        };
        let Some(lo) = pl else {
            // Only an upper bound: step down from it, anchored on the received rate.
            if u <= cfg.min_rate_pps * (1.0 + REL_EPS) {
                return finish(None, Some(u), None, vec![ResultFlag::BelowMinRate]);
            }
            let rx = upper.map(|d| d.record.rx_pps()).unwrap_or(u);
            let w = p * 2f64.powi(streak.1.saturating_sub(1) as i32);
            let candidate = (u.min(rx.max(cfg.min_rate_pps)) * (1.0 - w)).max(cfg.min_rate_pps);
            return Decision::Run(candidate, below_duration);
        };

        let width_any = (u - lo) / u;
        let confirmed = fl.is_some_and(|f| f >= lo * (1.0 - REL_EPS));
        if !confirmed {
            if width_any > coarse && !u_final {
                return Decision::Run(self.step(lo, u, streak, p), cfg.initial_duration_s);
            }
            return Decision::Run(lo, cfg.final_duration_s);
        }
        if width_any <= p {
            return finish(fl, Some(u), fl_loss, Vec::new());
        }
        Decision::Run(self.step(lo, u, streak, p), cfg.final_duration_s)
    }

    /// Next rate inside (lo, u): doubling steps away from the bound the last trial produced,
    /// never past the midpoint.
    fn step(&self, lo: f64, u: f64, streak: (bool, usize), p: f64) -> f64 {
        let mid = (lo + u) / 2.0;
        let (last_passed, count) = streak;
        let w = p * 2f64.powi(count.saturating_sub(1) as i32);
        if last_passed {
            (lo * (1.0 + w)).min(mid)
        } else {
            (u * (1.0 - w)).max(mid)
        }
    }

    /// (last valid trial passed?, how many valid trials in a row had that result).
    fn trailing_streak(&self, thr: f64) -> (bool, usize) {
        let mut iter = self.history.iter().rev().filter(|d| d.record.is_valid());
        let Some(last) = iter.next() else {
            return (false, 0);
        };
        let passed = last.record.loss_pct() <= thr;
        let count = 1 + iter
            .take_while(|d| (d.record.loss_pct() <= thr) == passed)
            .count();
        (passed, count)
    }
}

/// Runs a whole search with a closure that performs one trial (useful for simulations and
/// for callers without their own loop).
pub fn run_search<F>(
    config: SearchConfig,
    mut trial: F,
) -> Result<(SearchOutcome, Vec<TrialRecord>), String>
where
    F: FnMut(&TrialRequest) -> TrialRecord,
{
    let mut search = Search::new(config)?;
    loop {
        match search.next_step() {
            Step::Trial(req) => {
                let record = trial(&req);
                search.record(record);
            }
            Step::Done(outcome) => {
                let records = search.trials().map(|(_, r)| r.clone()).collect();
                return Ok((outcome, records));
            }
        }
    }
}
