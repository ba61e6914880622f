//! `campaign`: the measurement campaign of `coo-bench run`, as a library.
//!
//! A campaign measures a list of [`VariantPlan`]s (the generator→sink ceiling, the
//! kernel-forward baseline, the variants under test) in **interleaved rounds**: every round
//! measures every variant once (configure → warm-up → one NDR/PDR search per frame size), so
//! slow drifts of the host hit every variant alike and each variant's result is a median over
//! rounds with a confidence interval. Then latency is measured for one frame size at the
//! **same offered loads** for every variant (fractions of the lowest sound NDR).
//!
//! The campaign talks to the world through two traits, so its policy is tested without root
//! against simulated devices ([`sim`]):
//! - [`TrialRunner`] runs one trial (real: [`real::TrafficRunner`] over the `traffic` crate);
//! - [`Agents`] configures the VNFs and reads their counters (real: [`real::VnfAgents`] over
//!   `vnf-client`).

mod estimate;
mod judge;
mod nf;
pub mod placement;
pub mod real;
mod rounds;
pub mod sim;

use std::collections::{BTreeMap, BTreeSet};

use measure::report::{DirectionLatency, FrameSize, RunSettings, VariantReport, VariantRole};
use measure::{CommonLoads, LatencySummary, SoundnessLimits, TrialPurpose, TrialRecord};
use topology::ResolvedVnf;
use vnf_client::Counters;

pub use placement::{plan_placement, PlacementError};
pub use rounds::run_campaign;

/// Name of the kernel-forward baseline variant.
pub const BASELINE: &str = "kernel-forward";
/// Name of the generator→sink ceiling.
pub const CEILING: &str = "ceiling";

/// One thing to measure: the engine and function of every VNF, or the direct ceiling path.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantPlan {
    pub name: String,
    pub role: VariantRole,
    /// Engine, function and engine options of each VNF; empty for the ceiling.
    pub vnfs: Vec<ResolvedVnf>,
    /// Why this variant cannot run here (engine not installed, ...): reported as skipped.
    pub skip: Option<String>,
}

impl VariantPlan {
    pub fn ceiling() -> VariantPlan {
        VariantPlan {
            name: CEILING.into(),
            role: VariantRole::Ceiling,
            vnfs: Vec::new(),
            skip: None,
        }
    }
}

/// Everything a campaign needs besides the variants.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Recorded in the report as is.
    pub run: RunSettings,
    /// Rate of the warm-up trial that precedes each variant's searches.
    pub warmup_rate_pps: f64,
    pub limits: SoundnessLimits,
    /// A variant whose NDR is within this many percent of the ceiling is labelled at-ceiling.
    pub ceiling_margin_pct: f64,
    /// Warm-up retries while no frame crosses (VMs under TCG need seconds after `start`).
    pub warmup_retries: u32,
}

/// Which path a trial's frames take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficPath {
    /// Source → the chain → sinks.
    Chain,
    /// Source → sink directly (the ceiling veth).
    Ceiling,
}

/// One trial to run. The offered load is `load_pps + probe_pps` (per direction when the runner
/// sends both ways).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialInput {
    pub path: TrafficPath,
    pub frame_size: FrameSize,
    pub load_pps: f64,
    pub probe_pps: f64,
    pub duration_s: f64,
    pub purpose: TrialPurpose,
}

impl TrialInput {
    pub fn offered_pps(&self) -> f64 {
        self.load_pps + self.probe_pps
    }
}

/// What a trial measured: the record (soundness not yet assessed, no NF counters) and the
/// latency of the probe stream and of the load. A bidirectional trial (the runner sends
/// replies on the chain path) carries the reverse direction in `record.reverse` and its
/// latency in `reverse`; the rest is then the forward direction's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrialOutput {
    pub record: TrialRecord,
    pub probe: Option<LatencySummary>,
    pub load: Option<LatencySummary>,
    pub reverse: Option<DirectionLatency>,
}

/// Runs trials (real: AF_PACKET generator and sinks; fake: a simulated device).
pub trait TrialRunner {
    fn run(&mut self, input: &TrialInput) -> TrialOutput;
}

/// The VNFs' agents.
pub trait Agents {
    /// Switches every VNF to the variant's engine and function and starts it; returns engine
    /// name → version.
    fn configure(&mut self, variant: &VariantPlan) -> Result<BTreeMap<String, String>, String>;
    /// Every agent's counters, or why it did not answer.
    fn counters(&mut self) -> BTreeMap<String, Result<Counters, String>>;
    /// Stops every engine (before the ceiling, after a variant).
    fn stop_all(&mut self);
    /// VNFs that speak only the COO API (their own image): no engine choice, no counters.
    fn coo_only(&self) -> BTreeSet<String> {
        BTreeSet::new()
    }
}

/// Where a trial stands in the whole campaign, reported just before it runs: "variant v,
/// frame f, trial n of about m, time left".
#[derive(Debug, Clone, PartialEq)]
pub struct TrialProgress {
    pub variant: String,
    pub frame_size: FrameSize,
    pub purpose: TrialPurpose,
    /// Round from 1; 0 in the latency phase (after the rounds).
    pub round: u32,
    pub rounds: u32,
    /// This trial's number in the campaign, from 1.
    pub trial: usize,
    /// Estimated trials of the whole campaign (≥ `trial`; searches end when they converge,
    /// so the estimate is refined as searches finish).
    pub trials_about: usize,
    /// Estimated seconds until the campaign ends (finite, ≥ 0), from the mean time per trial.
    pub seconds_left: f64,
}

/// Where the campaign reports progress and asks whether to stop. The campaign renders
/// nothing itself: the binary draws bars or prints lines.
pub trait Progress {
    /// A status line that replaces the previous one.
    fn status(&self, _msg: &str) {}
    /// A line worth keeping (a variant's result, a failure).
    fn line(&self, _msg: &str) {}
    /// A trial is about to run.
    fn trial(&self, _at: &TrialProgress) {}
    /// True when the user asked to stop (SIGINT/SIGTERM): checked between trials.
    fn interrupted(&self) -> bool {
        false
    }
}

/// A progress sink that says nothing and never stops.
pub struct Silent;
impl Progress for Silent {}

/// What a campaign produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub variants: Vec<VariantReport>,
    pub latency_loads: Option<CommonLoads>,
    /// Engine name → version, as the agents reported them.
    pub engines: BTreeMap<String, String>,
    pub notes: Vec<String>,
    pub interrupted: bool,
}

impl Outcome {
    /// Why this run must not count as a pass (a failed variant, a variant without a sound
    /// NDR, an interruption); empty when every measured variant has a sound NDR.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.interrupted {
            out.push("interrupted".to_string());
        }
        for v in &self.variants {
            match &v.status {
                measure::report::VariantStatus::Failed { error } => {
                    out.push(format!("variant {} failed: {error}", v.name));
                }
                measure::report::VariantStatus::Skipped { .. } => {}
                measure::report::VariantStatus::Measured => {
                    if v.role == VariantRole::Ceiling {
                        continue;
                    }
                    for r in &v.results {
                        if r.ndr.is_none() {
                            out.push(format!(
                                "variant {} at {} B: no sound NDR",
                                v.name, r.frame_size
                            ));
                        } else if let (Some(limit), VariantRole::Variant) = (&r.limit, v.role) {
                            // The baseline may be limited (it is labelled, and no ratio uses
                            // it); a variant under test must describe its engines.
                            out.push(format!(
                                "variant {} at {} B: NDR is {}, not a property of the chain",
                                v.name,
                                r.frame_size,
                                limit.short_name()
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}
