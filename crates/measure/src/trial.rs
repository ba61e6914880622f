//! One trial: what was asked, what was measured, and whether the measurement can be trusted.

use serde::{Deserialize, Serialize};

use crate::latency::LatencySummary;

/// Why a trial was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum TrialPurpose {
    /// Discarded warm-up trial (primes ARP/flow caches, faults pages in).
    Warmup,
    /// Part of the NDR/PDR rate search.
    Search,
    /// Fixed-rate latency trial at a fraction of NDR.
    Latency,
    /// Fixed-rate trial requested by the benchmark mode.
    FixedRate,
}

/// A reason not to trust a trial. A trial with any flag never yields a valid number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SoundnessFlag {
    /// The generator did not reach the requested rate (it is the bottleneck, not the device).
    GeneratorShortfall {
        requested_pps: f64,
        achieved_pps: f64,
    },
    /// The sink dropped frames itself (its ring overflowed), so loss is not the device's.
    SinkBottleneck { sink_drops: u64 },
    /// Counters from independent sources disagree (e.g. sent ≠ received + lost).
    CountersDisagree { detail: String },
    /// The trial did not run as specified (thread error, wrong duration, nothing arrived...).
    Broken { reason: String },
}

impl SoundnessFlag {
    pub fn short_name(&self) -> &'static str {
        match self {
            SoundnessFlag::GeneratorShortfall { .. } => "generator-shortfall",
            SoundnessFlag::SinkBottleneck { .. } => "sink-bottleneck",
            SoundnessFlag::CountersDisagree { .. } => "counters-disagree",
            SoundnessFlag::Broken { .. } => "broken",
        }
    }
}

/// Per-NF packet counters over one trial (after − before), for loss attribution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NfCounters {
    pub vnf: String,
    pub packets_in: u64,
    pub packets_out: u64,
    pub dropped: u64,
    /// Where the numbers came from (e.g. "interfaces", "click-handlers").
    pub source: String,
    /// Click handler counters over the trial, `element.handler` → delta (e.g. `c.count`,
    /// `q.drops`), so a loss can be pinned to an element.
    #[serde(default)]
    pub elements: std::collections::BTreeMap<String, u64>,
}

/// Everything recorded about one trial. Rates are frames per second.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRecord {
    pub purpose: Option<TrialPurpose>,
    pub requested_rate_pps: f64,
    pub requested_duration_s: f64,
    /// Frames the generator handed to the kernel (all streams, latency stream included).
    pub sent: u64,
    /// Distinct test frames that reached a sink.
    pub received: u64,
    /// Frames missing at the sinks (sequence gaps plus tail deficit).
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Frames the sink's own ring dropped (kernel PACKET_STATISTICS).
    pub sink_drops: u64,
    /// Rate the generator actually achieved over its sending window.
    pub achieved_tx_pps: f64,
    /// Wall time the generator needed to send `sent` frames.
    pub elapsed_s: f64,
    #[serde(default)]
    pub flags: Vec<SoundnessFlag>,
    #[serde(default)]
    pub latency: Option<LatencySummary>,
    #[serde(default)]
    pub nf_counters: Vec<NfCounters>,
}

impl TrialRecord {
    /// True when no soundness flag is set.
    pub fn is_valid(&self) -> bool {
        self.flags.is_empty()
    }

    /// Loss as a percentage of the frames actually sent (NFVbench: against actual TX).
    pub fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            return 100.0;
        }
        100.0 * self.lost as f64 / self.sent as f64
    }

    /// Received frame rate over the generator's sending window.
    pub fn rx_pps(&self) -> f64 {
        if self.elapsed_s <= 0.0 {
            return 0.0;
        }
        self.received as f64 / self.elapsed_s
    }
}

/// Tolerances for the soundness checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoundnessLimits {
    /// The generator may fall short of the requested rate by this much (percent).
    pub generator_tolerance_pct: f64,
    /// The trial may take this much longer than requested before it counts as broken (percent).
    pub duration_tolerance_pct: f64,
}

impl Default for SoundnessLimits {
    fn default() -> Self {
        SoundnessLimits {
            generator_tolerance_pct: 1.0,
            duration_tolerance_pct: 25.0,
        }
    }
}

/// Adds the flags that follow from the record's own numbers (keeps flags already present,
/// e.g. ones the traffic layer set from kernel counters).
pub fn assess(record: &mut TrialRecord, limits: &SoundnessLimits) {
    let mut add = |flag: SoundnessFlag| {
        if !record_has(&record.flags, &flag) {
            record.flags.push(flag);
        }
    };
    let requested = record.requested_rate_pps;
    if requested > 0.0
        && record.achieved_tx_pps < requested * (1.0 - limits.generator_tolerance_pct / 100.0)
    {
        add(SoundnessFlag::GeneratorShortfall {
            requested_pps: requested,
            achieved_pps: record.achieved_tx_pps,
        });
    }
    if record.sink_drops > 0 {
        add(SoundnessFlag::SinkBottleneck {
            sink_drops: record.sink_drops,
        });
    }
    if record.received + record.lost != record.sent {
        add(SoundnessFlag::CountersDisagree {
            detail: format!(
                "sent {} != received {} + lost {}",
                record.sent, record.received, record.lost
            ),
        });
    }
    if record.sent == 0 {
        add(SoundnessFlag::Broken {
            reason: "nothing was sent".into(),
        });
    } else if record.received == 0 && requested > 0.0 {
        add(SoundnessFlag::Broken {
            reason: "no test frame arrived at any sink".into(),
        });
    }
    // Thread start-up and the generator's stop margin make short trials relatively longer.
    let max_elapsed =
        record.requested_duration_s * (1.0 + limits.duration_tolerance_pct / 100.0) + 0.1;
    if record.requested_duration_s > 0.0 && record.elapsed_s > max_elapsed {
        add(SoundnessFlag::Broken {
            reason: format!(
                "trial took {:.3} s instead of {:.3} s",
                record.elapsed_s, record.requested_duration_s
            ),
        });
    }
}

fn record_has(flags: &[SoundnessFlag], flag: &SoundnessFlag) -> bool {
    flags.iter().any(|f| f.short_name() == flag.short_name())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn clean() -> TrialRecord {
        TrialRecord {
            requested_rate_pps: 1000.0,
            requested_duration_s: 1.0,
            sent: 1000,
            received: 990,
            lost: 10,
            achieved_tx_pps: 1000.0,
            elapsed_s: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn clean_trial_has_no_flags_and_reports_loss() {
        let mut r = clean();
        assess(&mut r, &SoundnessLimits::default());
        assert!(r.is_valid(), "{:?}", r.flags);
        assert!((r.loss_pct() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn each_unsound_condition_is_flagged() {
        let limits = SoundnessLimits::default();
        let mut r = clean();
        r.achieved_tx_pps = 900.0;
        assess(&mut r, &limits);
        assert_eq!(r.flags[0].short_name(), "generator-shortfall");

        let mut r = clean();
        r.sink_drops = 3;
        assess(&mut r, &limits);
        assert_eq!(r.flags[0].short_name(), "sink-bottleneck");

        let mut r = clean();
        r.lost = 5;
        assess(&mut r, &limits);
        assert_eq!(r.flags[0].short_name(), "counters-disagree");

        let mut r = clean();
        r.received = 0;
        r.lost = 1000;
        assess(&mut r, &limits);
        assert_eq!(r.flags[0].short_name(), "broken");

        let mut r = clean();
        r.elapsed_s = 2.0;
        r.achieved_tx_pps = 1000.0;
        assess(&mut r, &limits);
        assert!(r.flags.iter().any(|f| f.short_name() == "broken"));
    }

    #[test]
    fn assess_does_not_duplicate_flags() {
        let mut r = clean();
        r.sink_drops = 1;
        assess(&mut r, &SoundnessLimits::default());
        assess(&mut r, &SoundnessLimits::default());
        assert_eq!(r.flags.len(), 1);
    }
}
