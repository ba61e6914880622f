//! RFC 2544 throughput search for NDR and PDR (sans-IO state machine).
//!
//! The caller asks [`Search::next_step`] for the next trial, runs it, and hands the measured
//! [`TrialRecord`] to [`Search::record`]. The strategy follows FD.io CSIT's MLRsearch
//! (draft-ietf-bmwg-mlrsearch):
//! - the first trial runs at the maximum rate; when it loses frames, the *received* rate is the
//!   next candidate (the device's forwarding rate is usually close to its NDR);
//! - from the newest bound the search steps outward with doubling widths (external search) and
//!   never beyond the middle of the current interval (so it is never slower than bisection);
//! - while the interval is wider than the coarse width, trials are short; short trials only
//!   steer the search;
//! - a **load** (offered rate) is judged from all full-length trials at that load: with `bad`
//!   the duration of the trials that lost more than the goal's threshold, `good` that of the
//!   others, `D` the goal duration sum and `e` the exceed ratio, the load is an upper bound
//!   when `bad > e·D`, a lower bound when `good ≥ (1−e)·D` and `bad ≤ e·D`, and undecided
//!   otherwise (another full-length trial runs at it). Both final bounds are judged loads, so
//!   one sporadic loss never becomes a bound;
//! - one pass serves both goals: every valid trial counts for NDR and for PDR.
//!
//! Soundness: only unflagged trials are judged. A generator shortfall or a sink bottleneck
//! lowers the *ceiling* (the highest rate this setup can measure); a result that ends at the
//! ceiling says so. Broken trials and disturbed trials (the host or the generator stalled) are
//! retried at the same load, each with its own in-a-row budget.
//!
//! Bidirectional trials: a trial fails when either direction lost more than the threshold
//! (the worse direction decides), so the NDR is the highest load both directions pass. After
//! the search, [`Search::direction`] judges the same trials one direction at a time: each
//! direction's own NDR/PDR among the loads the search visited (a lower bound when that
//! direction never failed there) and its loss at the NDR of both.

use serde::{Deserialize, Serialize};

use crate::trial::{Direction, SoundnessFlag, TrialRecord};

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

/// Search parameters. Defaults follow NFVbench (loss thresholds), CSIT (0.5 % width) and
/// MLRsearch (exceed ratio 0.5: a load's verdict is the verdict of the majority of its time).
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
    /// Goal duration sum `D`, seconds: how much full-length trial time a load's verdict
    /// rests on. `None` (default) = 2 × `final_duration_s`: one passing trial makes a lower
    /// bound, a single failing one does not make an upper bound (a second trial runs), and
    /// two failures do; with `exceed_ratio` 0.5 a load is judged by the majority of its time.
    #[serde(default)]
    pub duration_sum_s: Option<f64>,
    /// Goal exceed ratio `e`: the fraction of `D` that may be spent in trials losing more than
    /// the threshold while the load still counts as a lower bound.
    #[serde(default = "default_exceed_ratio")]
    pub exceed_ratio: f64,
    /// Disturbed trials (host or generator stalled) in a row before a goal gives up.
    #[serde(default = "default_max_disturbed_in_a_row")]
    pub max_disturbed_in_a_row: usize,
}

fn default_exceed_ratio() -> f64 {
    0.5
}

fn default_max_disturbed_in_a_row() -> usize {
    6
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
            max_trials: 60,
            max_broken_in_a_row: 3,
            duration_sum_s: None,
            exceed_ratio: default_exceed_ratio(),
            max_disturbed_in_a_row: default_max_disturbed_in_a_row(),
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

    /// The goal duration sum in effect, seconds.
    pub fn duration_sum(&self) -> f64 {
        self.duration_sum_s.unwrap_or(2.0 * self.final_duration_s)
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
            && self.max_trials > 0
            && self.duration_sum() > 0.0
            && (0.0..1.0).contains(&self.exceed_ratio)
            && self.max_disturbed_in_a_row > 0;
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
    /// Too many disturbed trials in a row (the host or the generator kept stalling).
    TooManyDisturbedTrials,
}

impl ResultFlag {
    pub fn short_name(&self) -> &'static str {
        match self {
            ResultFlag::AtMaxRate => "at-max-rate",
            ResultFlag::MeasurementLimited { .. } => "measurement-limited",
            ResultFlag::BelowMinRate => "below-min-rate",
            ResultFlag::TrialBudgetExhausted => "trial-budget-exhausted",
            ResultFlag::TooManyBrokenTrials => "too-many-broken-trials",
            ResultFlag::TooManyDisturbedTrials => "too-many-disturbed-trials",
        }
    }

    /// True when the number is a lower bound set by the measurement, not by the device.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            ResultFlag::AtMaxRate | ResultFlag::MeasurementLimited { .. }
        )
    }
}

/// Result of one goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalResult {
    pub goal: Goal,
    pub loss_threshold_pct: f64,
    /// Highest load judged a lower bound (from full-length trials) below `upper_pps`.
    pub rate_pps: Option<f64>,
    /// Lowest load judged an upper bound (from full-length trials).
    pub upper_pps: Option<f64>,
    /// Loss over all full-length trials at `rate_pps` (lost / sent; both directions together
    /// in a bidirectional search).
    pub loss_pct: Option<f64>,
    #[serde(default)]
    pub flags: Vec<ResultFlag>,
    /// Full-length trials at `rate_pps` (and how many of them exceeded the threshold).
    #[serde(default)]
    pub lower_trials: usize,
    #[serde(default)]
    pub lower_failed_trials: usize,
    /// Full-length trials at `upper_pps` (and how many of them exceeded the threshold).
    #[serde(default)]
    pub upper_trials: usize,
    #[serde(default)]
    pub upper_failed_trials: usize,
}

impl GoalResult {
    /// Relative width of the final interval, percent (when both bounds exist).
    pub fn width_pct(&self) -> Option<f64> {
        match (self.rate_pps, self.upper_pps) {
            (Some(lo), Some(hi)) if hi > 0.0 => Some(100.0 * (hi - lo) / hi),
            _ => None,
        }
    }

    /// True when a flag says the rate is bounded by the measurement (max rate, generator or
    /// sink), not by the device.
    pub fn is_limited(&self) -> bool {
        self.flags.iter().any(ResultFlag::is_limit)
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
    disturbed_in_a_row: usize,
}

enum Decision {
    Run(f64, f64),
    Finish(GoalResult),
}

const REL_EPS: f64 = 1e-9;

fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL_EPS * a.abs().max(b.abs())
}

/// The verdict on one load for one goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Full-length trials say: loss above the threshold.
    Upper,
    /// Full-length trials say: loss within the threshold.
    Lower,
    /// Full-length trials exist but do not decide yet.
    Undecided,
    /// Only short trials, all within the threshold (steering only).
    ShortLower,
    /// Only short trials, one above the threshold (steering only).
    ShortUpper,
}

impl Verdict {
    fn is_upper(self) -> bool {
        matches!(self, Verdict::Upper | Verdict::ShortUpper)
    }
    fn is_lower(self) -> bool {
        matches!(self, Verdict::Lower | Verdict::ShortLower)
    }
    fn is_full(self) -> bool {
        matches!(self, Verdict::Upper | Verdict::Lower)
    }
}

/// Which direction(s) decide whether a trial failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    /// The worse direction (what the search steers by).
    Worse,
    Only(Direction),
}

/// One direction's results, judged from the trials of a finished (bidirectional) search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionGoals {
    /// This direction's NDR among the loads tried (flags as the search's own result).
    pub ndr: Option<GoalResult>,
    pub pdr: Option<GoalResult>,
    /// This direction's loss over the full-length trials at the NDR of both directions.
    pub loss_at_ndr_pct: Option<f64>,
}

/// Everything the valid trials say about one load, for one goal.
#[derive(Debug, Clone)]
struct Load {
    rate: f64,
    verdict: Verdict,
    /// Index of the first trial at this load (visit order).
    first: usize,
    full_trials: usize,
    full_failed: usize,
    full_sent: u64,
    full_lost: u64,
    /// Received rate of the newest trial at this load.
    rx_pps: f64,
}

impl Load {
    /// Loss over the load's full-length trials (lost / sent).
    fn loss_pct(&self) -> f64 {
        if self.full_sent == 0 {
            0.0
        } else {
            100.0 * self.full_lost as f64 / self.full_sent as f64
        }
    }
}

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
            disturbed_in_a_row: 0,
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
                    self.disturbed_in_a_row = 0;
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
    pub fn record(&mut self, mut record: TrialRecord) {
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
        // A host that stays disturbed must still yield a result: after the budget of retries
        // in a row, the trial is charged as measured (and says so) instead of retried again.
        if record.flags.iter().any(SoundnessFlag::is_disturbance)
            && self.disturbed_in_a_row + 1 >= self.config.max_disturbed_in_a_row
        {
            let n = record.flags.len();
            record.flags.retain(|f| !f.is_disturbance());
            if record.flags.len() < n {
                record.warnings.push(format!(
                    "disturbed {} times in a row: charged as measured",
                    self.disturbed_in_a_row + 1
                ));
            }
        }
        let p = self.config.precision_pct / 100.0;
        let mut broken = false;
        let mut disturbed = false;
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
                SoundnessFlag::CatchUpBurst { .. } | SoundnessFlag::HostDisturbed { .. } => {
                    disturbed = true
                }
            }
        }
        self.broken_in_a_row = if broken { self.broken_in_a_row + 1 } else { 0 };
        self.disturbed_in_a_row = if disturbed && !broken {
            self.disturbed_in_a_row + 1
        } else {
            0
        };
        self.history.push(Done { request, record });
    }

    fn is_final(&self, d: &Done) -> bool {
        d.request.duration_s >= self.config.final_duration_s * (1.0 - REL_EPS)
    }

    /// Judges every load at or below the ceiling from the valid trials, for one threshold.
    fn loads(&self, thr: f64) -> Vec<Load> {
        self.loads_judged(thr, Judged::Worse)
    }

    /// One direction's verdict on the goal, from the trials recorded so far (None when no
    /// trial carried that direction).
    fn direction_goal(&self, goal: Goal, dir: Direction) -> Option<GoalResult> {
        let thr = self.config.threshold_pct(goal);
        let loads = self.loads_judged(thr, Judged::Only(dir));
        if loads.is_empty() {
            return None;
        }
        let upper = loads
            .iter()
            .filter(|l| l.verdict == Verdict::Upper)
            .min_by(|a, b| a.rate.total_cmp(&b.rate));
        let lower = loads
            .iter()
            .filter(|l| l.verdict == Verdict::Lower)
            .filter(|l| upper.is_none_or(|u| l.rate < u.rate))
            .max_by(|a, b| a.rate.total_cmp(&b.rate));
        let flags = self
            .results
            .iter()
            .find(|r| r.goal == goal)
            .map(|r| r.flags.clone())
            .unwrap_or_default();
        Some(GoalResult {
            goal,
            loss_threshold_pct: thr,
            rate_pps: lower.map(|l| l.rate),
            upper_pps: upper.map(|u| u.rate),
            loss_pct: lower.map(Load::loss_pct),
            flags,
            lower_trials: lower.map_or(0, |l| l.full_trials),
            lower_failed_trials: lower.map_or(0, |l| l.full_failed),
            upper_trials: upper.map_or(0, |u| u.full_trials),
            upper_failed_trials: upper.map_or(0, |u| u.full_failed),
        })
    }

    /// One direction's results of a bidirectional search (None when no trial carried that
    /// direction, e.g. the reverse of a forward-only search).
    pub fn direction(&self, dir: Direction) -> Option<DirectionGoals> {
        let goals = &self.config.goals;
        let ndr = goals
            .contains(&Goal::Ndr)
            .then(|| self.direction_goal(Goal::Ndr, dir))
            .flatten();
        let pdr = goals
            .contains(&Goal::Pdr)
            .then(|| self.direction_goal(Goal::Pdr, dir))
            .flatten();
        if ndr.is_none() && pdr.is_none() {
            return None;
        }
        let both_ndr = self
            .results
            .iter()
            .find(|r| r.goal == Goal::Ndr)
            .and_then(|r| r.rate_pps);
        let loss_at_ndr_pct = both_ndr.and_then(|rate| {
            let thr = self.config.threshold_pct(Goal::Ndr);
            let loads = self.loads_judged(thr, Judged::Only(dir));
            let l = loads.iter().find(|l| same_rate(l.rate, rate))?;
            (l.full_trials > 0).then(|| l.loss_pct())
        });
        Some(DirectionGoals {
            ndr,
            pdr,
            loss_at_ndr_pct,
        })
    }

    fn loads_judged(&self, thr: f64, judged: Judged) -> Vec<Load> {
        let cfg = &self.config;
        let sum = cfg.duration_sum();
        let e = cfg.exceed_ratio;
        let tol = REL_EPS * sum.max(1.0);
        let mut loads: Vec<Load> = Vec::new();
        // (good, bad, short failed) per load, in the same order as `loads`.
        let mut acc: Vec<(f64, f64, bool)> = Vec::new();
        for (i, d) in self.history.iter().enumerate() {
            let rate = d.request.rate_pps;
            if !d.record.is_valid() || rate > self.ceiling * (1.0 + REL_EPS) {
                continue;
            }
            let (loss_pct, sent, lost) = match judged {
                Judged::Worse => {
                    let (sent, lost) = d.record.total_sent_lost();
                    (d.record.verdict_loss_pct(), sent, lost)
                }
                Judged::Only(dir) => match d.record.direction(dir) {
                    Some(r) => (r.loss_pct(), r.sent, r.lost),
                    None => continue,
                },
            };
            let k = match loads.iter().position(|l| same_rate(l.rate, rate)) {
                Some(k) => k,
                None => {
                    loads.push(Load {
                        rate,
                        verdict: Verdict::ShortLower,
                        first: i,
                        full_trials: 0,
                        full_failed: 0,
                        full_sent: 0,
                        full_lost: 0,
                        rx_pps: 0.0,
                    });
                    acc.push((0.0, 0.0, false));
                    loads.len() - 1
                }
            };
            let failed = loss_pct > thr;
            let (l, a) = (&mut loads[k], &mut acc[k]);
            l.rx_pps = d.record.rx_pps();
            if self.is_final(d) {
                l.full_trials += 1;
                l.full_sent += sent;
                l.full_lost += lost;
                if failed {
                    l.full_failed += 1;
                    a.1 += d.request.duration_s;
                } else {
                    a.0 += d.request.duration_s;
                }
            } else if failed {
                a.2 = true;
            }
        }
        for (l, (good, bad, short_failed)) in loads.iter_mut().zip(acc) {
            l.verdict = if l.full_trials == 0 {
                if short_failed {
                    Verdict::ShortUpper
                } else {
                    Verdict::ShortLower
                }
            } else if bad > e * sum + tol {
                Verdict::Upper
            } else if good >= (1.0 - e) * sum - tol {
                Verdict::Lower
            } else {
                Verdict::Undecided
            };
        }
        loads
    }

    fn decide(&self, goal: Goal) -> Decision {
        let cfg = &self.config;
        let thr = cfg.threshold_pct(goal);
        let p = cfg.precision_pct / 100.0;
        let coarse = cfg.coarse_precision_pct / 100.0;
        let loads = self.loads(thr);

        // The final bounds: judged loads only.
        let full_upper = loads
            .iter()
            .filter(|l| l.verdict == Verdict::Upper)
            .min_by(|a, b| a.rate.total_cmp(&b.rate));
        let full_lower = loads
            .iter()
            .filter(|l| l.verdict == Verdict::Lower)
            .filter(|l| full_upper.is_none_or(|u| l.rate < u.rate))
            .max_by(|a, b| a.rate.total_cmp(&b.rate));
        let finish = |flags: Vec<ResultFlag>, lower: Option<&Load>, upper: Option<&Load>| {
            Decision::Finish(GoalResult {
                goal,
                loss_threshold_pct: thr,
                rate_pps: lower.map(|l| l.rate),
                upper_pps: upper.map(|u| u.rate),
                loss_pct: lower.map(Load::loss_pct),
                flags,
                lower_trials: lower.map_or(0, |l| l.full_trials),
                lower_failed_trials: lower.map_or(0, |l| l.full_failed),
                upper_trials: upper.map_or(0, |u| u.full_trials),
                upper_failed_trials: upper.map_or(0, |u| u.full_failed),
            })
        };

        if self.broken_in_a_row >= cfg.max_broken_in_a_row {
            return finish(
                vec![ResultFlag::TooManyBrokenTrials],
                full_lower,
                full_upper,
            );
        }
        if self.disturbed_in_a_row >= cfg.max_disturbed_in_a_row {
            return finish(
                vec![ResultFlag::TooManyDisturbedTrials],
                full_lower,
                full_upper,
            );
        }
        if self.history.len() >= cfg.max_trials {
            return finish(
                vec![ResultFlag::TrialBudgetExhausted],
                full_lower,
                full_upper,
            );
        }
        // A broken or disturbed trial is retried as it was (below the ceiling).
        if self.broken_in_a_row > 0 || self.disturbed_in_a_row > 0 {
            if let Some(last) = self.history.last() {
                return Decision::Run(
                    last.request.rate_pps.min(self.ceiling),
                    last.request.duration_s,
                );
            }
        }
        let ceiling = self.ceiling;
        if ceiling < cfg.min_rate_pps {
            return Decision::Finish(GoalResult {
                goal,
                loss_threshold_pct: thr,
                rate_pps: None,
                upper_pps: full_upper.map(|u| u.rate),
                loss_pct: None,
                flags: vec![ResultFlag::MeasurementLimited {
                    ceiling_pps: ceiling,
                }],
                lower_trials: 0,
                lower_failed_trials: 0,
                upper_trials: full_upper.map_or(0, |u| u.full_trials),
                upper_failed_trials: full_upper.map_or(0, |u| u.full_failed),
            });
        }
        // A load with full-length trials but no verdict gets another full-length trial.
        if let Some(l) = loads
            .iter()
            .filter(|l| l.verdict == Verdict::Undecided)
            .max_by_key(|l| l.first)
        {
            return Decision::Run(l.rate, cfg.final_duration_s);
        }

        // Steering bounds: judged loads, and short results that no judgement contradicts (a
        // short failure below a judged lower bound, or a short pass above a judged upper
        // bound, was sporadic).
        let any_full_lower = loads
            .iter()
            .filter(|l| l.verdict == Verdict::Lower)
            .map(|l| l.rate)
            .fold(f64::NEG_INFINITY, f64::max);
        let min_full_upper = full_upper.map_or(f64::INFINITY, |u| u.rate);
        let steering: Vec<&Load> = loads
            .iter()
            .filter(|l| match l.verdict {
                Verdict::ShortUpper => l.rate > any_full_lower,
                Verdict::ShortLower => l.rate < min_full_upper,
                _ => true,
            })
            .collect();
        let su = steering
            .iter()
            .filter(|l| l.verdict.is_upper())
            .min_by(|a, b| a.rate.total_cmp(&b.rate))
            .copied();
        let sl = steering
            .iter()
            .filter(|l| l.verdict.is_lower())
            .filter(|l| su.is_none_or(|u| l.rate < u.rate))
            .max_by(|a, b| a.rate.total_cmp(&b.rate))
            .copied();
        let streak = self.trailing_streak(&steering);

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
        let Some(u) = su else {
            if let Some(l) = sl.filter(|l| l.rate >= ceiling * (1.0 - p)) {
                if l.verdict.is_full() {
                    return finish(vec![limited_flag()], Some(l), None);
                }
                return Decision::Run(l.rate, cfg.final_duration_s);
            }
            return Decision::Run(ceiling, cfg.initial_duration_s);
        };
        let u_full = u.verdict.is_full();

        let Some(lo) = sl else {
            // Only an upper bound: step down from it, anchored on the received rate.
            if u.rate <= cfg.min_rate_pps * (1.0 + REL_EPS) {
                if u_full {
                    return finish(vec![ResultFlag::BelowMinRate], None, Some(u));
                }
                return Decision::Run(u.rate, cfg.final_duration_s);
            }
            // Doubling widths, but never more than a quarter per step: repeated trials at one
            // load lengthen the streak without saying the rate is far off.
            let w = (p * 2f64.powi(streak.1.saturating_sub(1) as i32)).min(0.25);
            let anchor = u.rate.min(u.rx_pps.max(cfg.min_rate_pps));
            let candidate = (anchor * (1.0 - w)).max(cfg.min_rate_pps);
            let duration = if u_full {
                cfg.final_duration_s
            } else {
                cfg.initial_duration_s
            };
            return Decision::Run(candidate, duration);
        };
        let lo_full = lo.verdict.is_full();

        let width = (u.rate - lo.rate) / u.rate;
        if width > coarse && !u_full {
            return Decision::Run(
                self.step(lo.rate, u.rate, streak, p),
                cfg.initial_duration_s,
            );
        }
        // Both bounds must be judged from full-length trials: the lower first (the result),
        // then the upper (a short failure may have been sporadic).
        if !lo_full {
            return Decision::Run(lo.rate, cfg.final_duration_s);
        }
        if !u_full {
            return Decision::Run(u.rate, cfg.final_duration_s);
        }
        if width <= p * (1.0 + REL_EPS) {
            return finish(Vec::new(), Some(lo), Some(u));
        }
        Decision::Run(self.step(lo.rate, u.rate, streak, p), cfg.final_duration_s)
    }

    /// Next rate inside (lo, u): doubling steps away from the bound the last verdict produced,
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

    /// (newest load was a lower bound?, how many loads in a row, newest first, had that
    /// verdict), over the loads in the order they were first visited.
    fn trailing_streak(&self, loads: &[&Load]) -> (bool, usize) {
        let mut decided: Vec<&&Load> = loads
            .iter()
            .filter(|l| l.verdict.is_upper() || l.verdict.is_lower())
            .collect();
        decided.sort_by_key(|l| l.first);
        let mut iter = decided.iter().rev();
        let Some(last) = iter.next() else {
            return (false, 0);
        };
        let passed = last.verdict.is_lower();
        let count = 1 + iter.take_while(|l| l.verdict.is_lower() == passed).count();
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
