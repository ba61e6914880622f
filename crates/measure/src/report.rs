//! The versioned report schema (report.json) and helpers to build it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::latency::LatencySummary;
use crate::search::{GoalResult, SearchConfig};
use crate::stats::Aggregate;
use crate::trial::TrialRecord;

/// Bump on any incompatible change; readers refuse other versions.
pub const SCHEMA_VERSION: u32 = 1;

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
    pub repetitions: u32,
    pub latency_loads_pct: Vec<f64>,
    pub warmup_s: f64,
    pub latency_stream_pps: f64,
    pub quick: bool,
    pub search: SearchConfig,
    /// I/O mode the Click engines ran with (None = the agent's default).
    #[serde(default)]
    pub io_mode: Option<String>,
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
    pub latency: Vec<LatencyPoint>,
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
        FrameSizeResult {
            frame_size,
            ndr: Aggregate::of(&ndr),
            pdr: Aggregate::of(&pdr),
            repetitions,
            latency,
        }
    }
}

/// One variant (a set of engine/function choices for the chain's VNFs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantReport {
    pub name: String,
    pub status: VariantStatus,
    /// VNF id → engine.
    pub engines: BTreeMap<String, String>,
    /// VNF id → function file.
    pub functions: BTreeMap<String, String>,
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

    /// NDR of `variant` divided by the baseline's NDR at the same frame size.
    pub fn ratio_vs_baseline(&self, variant: &VariantReport, frame_size: FrameSize) -> Option<f64> {
        let base = self.baseline_variant()?.ndr_median(frame_size)?;
        let v = variant.ndr_median(frame_size)?;
        (base > 0.0).then(|| v / base)
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
