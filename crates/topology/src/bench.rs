//! Benchmark settings (RFC 2544 style search parameters).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BenchmarkSettings {
    /// `ndr-pdr` (default), `ndr` or `pdr`; `fixed-rate` and `latency` are rejected
    /// (`unsupported-mode`) until they are implemented. Frame sizes: `traffic.frame_sizes`.
    pub mode: BenchmarkMode,
    /// Length of one trial, seconds.
    pub trial_duration_s: f64,
    /// Loss ratio accepted for the No-Drop Rate, percent.
    pub ndr_loss_pct: f64,
    /// Loss ratio accepted for the Partial-Drop Rate, percent.
    pub pdr_loss_pct: f64,
    /// The search stops when the bracket is narrower than this, percent of the rate.
    pub precision_pct: f64,
    pub max_rate_pps: u64,
    pub min_rate_pps: u64,
    /// Rounds: every variant is measured once per round, rounds interleave the variants.
    pub repetitions: u32,
    /// Offered loads of the latency trials, percent of the lowest sound NDR of the variants
    /// (the same loads for every variant).
    pub latency_loads_pct: Vec<f64>,
    /// Also measure the kernel-forward baseline.
    pub baseline: bool,
}

impl Default for BenchmarkSettings {
    fn default() -> Self {
        BenchmarkSettings {
            mode: BenchmarkMode::NdrPdr,
            trial_duration_s: 1.0,
            ndr_loss_pct: 0.001,
            pdr_loss_pct: 0.1,
            precision_pct: 0.5,
            max_rate_pps: 3_000_000,
            min_rate_pps: 1000,
            repetitions: 3,
            latency_loads_pct: vec![10.0, 50.0, 90.0],
            baseline: true,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BenchmarkMode {
    #[default]
    NdrPdr,
    Ndr,
    Pdr,
    FixedRate,
    Latency,
}
