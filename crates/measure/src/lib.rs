//! `measure`: pure measurement logic for coo-bench (no I/O).
//!
//! - [`search`]: RFC 2544 NDR/PDR search as a sans-IO state machine (MLRsearch-like).
//! - [`trial`]: one trial's record and its soundness flags.
//! - [`latency`]: HDR-histogram summaries (p50, p90, p99, p99.9, max) and CDF points.
//! - [`stats`]: median, spread, seeded bootstrap confidence intervals.
//! - [`report`]: the versioned report schema; [`csv`], [`plot`] (SVG), [`table`], [`html`]
//!   (self-contained page) render it.
//! - [`compare`]: per-metric difference with a confidence interval and a verdict; [`markdown`]
//!   renders one for a CI job summary.
//! - [`sim`]: a seeded simulated device to test the search against.

pub mod compare;
pub mod compare_html;
pub mod csv;
pub mod html;
pub mod latency;
pub mod markdown;
pub mod plot;
pub mod report;
pub mod search;
pub mod sim;
pub mod stats;
pub mod table;
pub mod trial;

pub use compare::{compare, CompareOptions, Comparison, Verdict};
pub use latency::LatencySummary;
pub use report::{
    CommonLoads, CpuPlacement, DirectionLatency, DirectionResult, Directions, FrameSize,
    LatencySettings, Limit, Report, TrafficDirection, TrialSettings, VariantRole, SCHEMA_VERSION,
};
pub use search::{
    DirectionGoals, Goal, GoalResult, ResultFlag, Search, SearchConfig, SearchOutcome, Step,
    TrialRequest,
};
pub use trial::{
    assess, Direction, GeneratorTiming, HostUsage, NfCounters, SoundnessFlag, SoundnessLimits,
    TrialPurpose, TrialRecord,
};
