//! The versioned report schema (report.json) and helpers to build it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::latency::LatencySummary;
use crate::search::{DirectionGoals, GoalResult, SearchConfig};
use crate::stats::Aggregate;
use crate::trial::{Direction, TrialRecord};

/// Bump on any incompatible change; readers refuse other versions.
pub const SCHEMA_VERSION: u32 = 2;

/// Frame size of a measurement: bytes on the wire including FCS (RFC 2544), or the IMIX mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FrameSize {
    Bytes(u32),
    Imix(ImixTag),
}

/// Serialized as the string "imix".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImixTag {
    Imix,
}

/// Simple IMIX (7:4:1 of 64, 570, 1518 bytes).
pub const IMIX: [(u32, u32); 3] = [(64, 7), (570, 4), (1518, 1)];

impl FrameSize {
    pub const IMIX: FrameSize = FrameSize::Imix(ImixTag::Imix);

    /// Average bytes per frame (including FCS).
    pub fn average_bytes(&self) -> f64 {
        match self {
            FrameSize::Bytes(b) => f64::from(*b),
            FrameSize::Imix(_) => {
                let (sum, n) = IMIX
                    .iter()
                    .fold((0u32, 0u32), |(s, n), (b, w)| (s + b * w, n + w));
                f64::from(sum) / f64::from(n)
            }
        }
    }

    /// Bits per second on the wire at `pps` (frame + 20 bytes preamble and inter-frame gap).
    pub fn wire_bps(&self, pps: f64) -> f64 {
        pps * (self.average_bytes() + 20.0) * 8.0
    }
}

impl std::fmt::Display for FrameSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameSize::Bytes(b) => write!(f, "{b}"),
            FrameSize::Imix(_) => f.write_str("imix"),
        }
    }
}

/// Where and with what the run happened.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFingerprint {
    pub hostname: String,
    pub cpu_model: String,
    pub cpu_count: usize,
    pub kernel: String,
    /// Testbed driver (netns or vm).
    pub driver: String,
    /// Virtualisation accelerator (kvm, tcg, none).
    pub accelerator: String,
    /// CPU frequency governor when readable.
    pub governor: Option<String>,
    /// Engine name → version string.
    pub engines: BTreeMap<String, String>,
}

/// The tool that produced the report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    pub git_revision: Option<String>,
}

/// Settings the run used (so a report can be reproduced and compared fairly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    pub mode: String,
    pub frame_sizes: Vec<FrameSize>,
    /// Rounds: every variant is measured once per round, in `order`.
    pub repetitions: u32,
    pub warmup_s: f64,
    pub quick: bool,
    pub search: SearchConfig,
    /// I/O mode the Click engines ran with (None = the agent's default).
    #[serde(default)]
    pub io_mode: Option<String>,
    /// How each trial ends (drain) and when a frame counts as late.
    pub trial: TrialSettings,
    /// Where the generator, sinks, agents and engines ran.
    pub placement: Option<CpuPlacement>,
    /// Latency at common offered loads.
    pub latency: LatencySettings,
    /// Order in which variants are measured within each round (rounds repeat it).
    pub order: Vec<String>,
    /// The traffic profile the generator sent: its file (`run --traffic FILE`, or the
    /// topology's `traffic` file), or `topology` (inline in the topology, or the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<String>,
    /// `forward`, or `both` (bidirectional: every chain trial also sends replies from the
    /// Outgoing to the Incoming Point; offered loads are per direction; the ceiling is
    /// measured forward only).
    #[serde(default, skip_serializing_if = "TrafficDirection::is_forward")]
    pub direction: TrafficDirection,
}

/// Which way the run's traffic flowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrafficDirection {
    #[default]
    Forward,
    Both,
}

impl TrafficDirection {
    pub fn is_forward(&self) -> bool {
        *self == TrafficDirection::Forward
    }
}

/// A value per direction of a bidirectional run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directions<T> {
    pub forward: T,
    pub reverse: T,
}

impl<T> Directions<T> {
    pub fn get(&self, d: Direction) -> &T {
        match d {
            Direction::Forward => &self.forward,
            Direction::Reverse => &self.reverse,
        }
    }
}

/// One direction's results at one frame size, over the repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionResult {
    /// Median and spread of this direction's own NDR (among the loads the search tried).
    pub ndr: Option<Aggregate>,
    pub pdr: Option<Aggregate>,
    /// True when, in some repetition, no tried load failed for this direction: its NDR is then
    /// a lower bound (the other direction stopped the search first).
    pub ndr_is_lower_bound: bool,
    /// Median over repetitions of this direction's loss at the NDR of both directions.
    pub loss_at_ndr_pct: Option<f64>,
}

/// Latency of the reverse direction at one latency point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionLatency {
    pub probe: Option<LatencySummary>,
    pub load: Option<LatencySummary>,
}

/// Trial mechanics that decide what counts as lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialSettings {
    /// The drain ends when no frame arrived for this long...
    pub drain_quiet_ms: f64,
    /// ...or after this long at most.
    pub drain_max_s: f64,
    /// Frames arriving later than this after the last frame was sent are late: they are
    /// counted (and charged as lost: the chain's queues grew during the trial).
    pub late_after_ms: f64,
    /// Rate of the probe (latency) stream during search trials; it counts in the offered load.
    pub probe_pps: f64,
}

impl Default for TrialSettings {
    fn default() -> Self {
        TrialSettings {
            drain_quiet_ms: 100.0,
            drain_max_s: 2.0,
            late_after_ms: 20.0,
            probe_pps: 1000.0,
        }
    }
}

impl Default for LatencySettings {
    fn default() -> Self {
        LatencySettings {
            frame_size: None,
            loads_pct: vec![10.0, 50.0, 90.0],
            min_probe_frames: 10_000,
            probe_pps: 5_000.0,
        }
    }
}

/// CPU placement of the measurement (affinity masks, CPU numbers as the kernel counts them).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuPlacement {
    /// CPUs the run could use.
    pub available: Vec<usize>,
    pub generator: Vec<usize>,
    pub sinks: Vec<usize>,
    /// Agents and the engines they start (engines inherit the agent's mask).
    pub nfs: Vec<usize>,
    /// Why this split.
    pub rationale: String,
    /// Where the plan came from: `auto` or `--cpus`.
    pub source: String,
}

/// Latency is measured for one frame size, at the same offered loads for every variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySettings {
    pub frame_size: Option<FrameSize>,
    /// Offered loads as percent of the reference rate (the lowest sound NDR of the variants).
    pub loads_pct: Vec<f64>,
    /// Probe frames per latency point (at least).
    pub min_probe_frames: u64,
    /// Probe stream rate ceiling, frames per second (≤ 10 % of the offered load).
    pub probe_pps: f64,
}

/// The common loads latency was measured at, and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonLoads {
    pub frame_size: FrameSize,
    /// The variant with the lowest sound NDR at this frame size.
    pub reference_variant: String,
    pub reference_ndr_pps: f64,
    /// (percent of the reference, offered rate in frames per second).
    pub loads: Vec<(f64, f64)>,
}

/// What a variant is to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariantRole {
    /// Generator → sink directly on the same namespaces and CPUs: the highest rate this setup
    /// can measure. Never a denominator of a ratio.
    Ceiling,
    /// The chain forwarded by the kernel (no Click).
    Baseline,
    /// A set of engines and functions under test.
    #[default]
    Variant,
}

/// Why a result is not a property of the chain alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Limit {
    /// The generator could not offer more (its CPU also carries kernel work of the chain).
    Generator { ceiling_pps: f64 },
    /// The sink's ring overflowed.
    Sink,
    /// Within `margin_pct` of the direct generator→sink ceiling measured in this run.
    Ceiling { ceiling_pps: f64, margin_pct: f64 },
    /// No loss up to the configured maximum rate.
    MaxRate,
}

impl Limit {
    pub fn short_name(&self) -> &'static str {
        match self {
            Limit::Generator { .. } => "generator-limited",
            Limit::Sink => "sink-limited",
            Limit::Ceiling { .. } => "at-ceiling",
            Limit::MaxRate => "at-max-rate",
        }
    }
}

/// Whether a variant was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VariantStatus {
    Measured,
    Skipped { reason: String },
    Failed { error: String },
}

/// One search repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repetition {
    pub ndr: Option<GoalResult>,
    pub pdr: Option<GoalResult>,
    /// Every trial of this repetition, in order (warm-up included).
    pub trials: Vec<TrialRecord>,
    /// Each direction judged alone (bidirectional runs; `ndr`/`pdr` above are both
    /// directions': the worse direction decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<Directions<DirectionGoals>>,
}

/// Latency at a fixed fraction of NDR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyPoint {
    pub load_pct: f64,
    pub rate_pps: f64,
    /// Latency of the dedicated low-rate latency stream (None when the trial was unsound).
    pub probe: Option<LatencySummary>,
    /// Latency over all load frames.
    pub load: Option<LatencySummary>,
    pub trial: TrialRecord,
    /// The reverse direction's latency (bidirectional runs; `probe`/`load` are then forward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<DirectionLatency>,
}

impl LatencyPoint {
    /// The probe latency of one direction.
    pub fn probe_of(&self, d: Direction) -> Option<&LatencySummary> {
        match d {
            Direction::Forward => self.probe.as_ref(),
            Direction::Reverse => self.reverse.as_ref()?.probe.as_ref(),
        }
    }
}

/// Results for one frame size of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameSizeResult {
    pub frame_size: FrameSize,
    pub repetitions: Vec<Repetition>,
    /// Median and spread of the valid NDR values over repetitions.
    pub ndr: Option<Aggregate>,
    pub pdr: Option<Aggregate>,
    /// Latency at the run's common loads (see [`Report::latency_loads`]).
    pub latency: Vec<LatencyPoint>,
    /// Set when the NDR is bounded by the measurement, not the chain: such a result is never
    /// used as the denominator of a ratio nor presented as a difference between engines.
    #[serde(default)]
    pub limit: Option<Limit>,
    /// Per-direction results of a bidirectional run (None: forward only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<Directions<DirectionResult>>,
}

impl FrameSizeResult {
    /// Builds the aggregates from the repetitions (only numbers the search marked valid).
    pub fn new(
        frame_size: FrameSize,
        repetitions: Vec<Repetition>,
        latency: Vec<LatencyPoint>,
    ) -> Self {
        let ndr: Vec<f64> = repetitions
            .iter()
            .filter_map(|r| r.ndr.as_ref()?.rate_pps)
            .collect();
        let pdr: Vec<f64> = repetitions
            .iter()
            .filter_map(|r| r.pdr.as_ref()?.rate_pps)
            .collect();
        let directions = direction_results(&repetitions);
        FrameSizeResult {
            frame_size,
            ndr: Aggregate::of(&ndr),
            pdr: Aggregate::of(&pdr),
            repetitions,
            latency,
            limit: None,
            directions,
        }
    }

    /// The median NDR when it describes the chain (measured and not limited).
    pub fn sound_ndr(&self) -> Option<f64> {
        if self.limit.is_some() {
            return None;
        }
        Some(self.ndr.as_ref()?.median)
    }
}

/// Per-direction aggregates over the repetitions that judged directions (None when none did).
fn direction_results(reps: &[Repetition]) -> Option<Directions<DirectionResult>> {
    let judged: Vec<&Directions<DirectionGoals>> =
        reps.iter().filter_map(|r| r.directions.as_ref()).collect();
    if judged.is_empty() {
        return None;
    }
    let one = |d: Direction| {
        let goals: Vec<&DirectionGoals> = judged.iter().map(|x| x.get(d)).collect();
        let rates = |pick: fn(&DirectionGoals) -> Option<&GoalResult>| -> Vec<f64> {
            goals.iter().filter_map(|g| pick(g)?.rate_pps).collect()
        };
        let losses: Vec<f64> = goals.iter().filter_map(|g| g.loss_at_ndr_pct).collect();
        DirectionResult {
            ndr: Aggregate::of(&rates(|g| g.ndr.as_ref())),
            pdr: Aggregate::of(&rates(|g| g.pdr.as_ref())),
            ndr_is_lower_bound: goals.iter().any(|g| {
                g.ndr
                    .as_ref()
                    .is_some_and(|n| n.rate_pps.is_some() && n.upper_pps.is_none())
            }),
            loss_at_ndr_pct: crate::stats::median(&losses),
        }
    };
    Some(Directions {
        forward: one(Direction::Forward),
        reverse: one(Direction::Reverse),
    })
}

/// One variant (a set of engine/function choices for the chain's VNFs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantReport {
    pub name: String,
    #[serde(default)]
    pub role: VariantRole,
    pub status: VariantStatus,
    /// VNF id → engine.
    pub engines: BTreeMap<String, String>,
    /// VNF id → function file.
    pub functions: BTreeMap<String, String>,
    /// VNF id → how its engine ran (I/O, polling, CPUs, the exact configuration it was given).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub engine_runs: BTreeMap<String, EngineRun>,
    pub results: Vec<FrameSizeResult>,
    #[serde(default)]
    pub notes: Vec<String>,
}

impl VariantReport {
    pub fn result(&self, frame_size: FrameSize) -> Option<&FrameSizeResult> {
        self.results.iter().find(|r| r.frame_size == frame_size)
    }

    pub fn ndr_median(&self, frame_size: FrameSize) -> Option<f64> {
        Some(self.result(frame_size)?.ndr.as_ref()?.median)
    }
}

/// How one VNF's engine ran in a variant: what a reader needs to judge whether a comparison
/// of engines was like for like.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineRun {
    pub engine: String,
    /// I/O method, buffers and batching, e.g. `TPACKET_V2 ring 4096 × 2 KiB, burst 32, …`.
    pub io: String,
    /// True when the engine busy-polls its CPU whether or not frames arrive.
    #[serde(default)]
    pub polls: bool,
    /// CPUs the engine may run on (the placement plan's NF CPUs), e.g. `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// The exact configuration the engine was given, relative to the report's directory
    /// (`configs/<variant>/<vnf>.click`); None when it could not be read (VM guests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Kernel receive buffer per interface the engine ran with, KiB (ring or forced
    /// SO_RCVBUF: the same for every engine of a run unless the topology says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_buffer_kib: Option<u32>,
    /// The topology's engine options for this VNF in this variant, in words (`burst 32, …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub topology: String,
    pub topology_path: String,
    pub started_at: String,
    pub finished_at: String,
    pub host: HostFingerprint,
    pub settings: RunSettings,
    /// Name of the baseline variant (kernel-forward) when measured.
    pub baseline: Option<String>,
    /// Latency loads shared by every variant (None when no variant had a sound NDR).
    #[serde(default)]
    pub latency_loads: Option<CommonLoads>,
    pub variants: Vec<VariantReport>,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Errors reading a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("not a coo-bench report: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("report schema version {found} is not supported (this build reads {expected})")]
    Version { found: u64, expected: u32 },
    #[error("report has no schema_version")]
    NoVersion,
}

impl Report {
    pub fn variant(&self, name: &str) -> Option<&VariantReport> {
        self.variants.iter().find(|v| v.name == name)
    }

    pub fn baseline_variant(&self) -> Option<&VariantReport> {
        self.variant(self.baseline.as_deref()?)
    }

    /// NDR of `variant` divided by the baseline's NDR at the same frame size, only when
    /// both are sound (measured in this run and not limited by the measurement).
    pub fn ratio_vs_baseline(&self, variant: &VariantReport, frame_size: FrameSize) -> Option<f64> {
        let base = self.baseline_variant()?.result(frame_size)?.sound_ndr()?;
        let v = variant.result(frame_size)?.sound_ndr()?;
        (base > 0.0).then(|| v / base)
    }

    /// The direct generator→sink ceiling of this run, when measured.
    pub fn ceiling(&self) -> Option<&VariantReport> {
        self.variants
            .iter()
            .find(|v| v.role == VariantRole::Ceiling)
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Parses a report, checking the schema version before the strict parse.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let found = value
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .ok_or(ReportError::NoVersion)?;
        if found != u64::from(SCHEMA_VERSION) {
            return Err(ReportError::Version {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(serde_json::from_value(value)?)
    }
}
