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
    /// The generator fell behind schedule by `lateness_us` and then sent `frames` back to back
    /// to catch up: a loss in this trial may be the burst's, not the chain's. A disturbance.
    CatchUpBurst { frames: u64, lateness_us: f64 },
    /// The host was busy with something else during the trial (hypervisor steal, other
    /// processes): a loss in this trial may be the host's, not the chain's. A disturbance.
    HostDisturbed { detail: String },
}

impl SoundnessFlag {
    pub fn short_name(&self) -> &'static str {
        match self {
            SoundnessFlag::GeneratorShortfall { .. } => "generator-shortfall",
            SoundnessFlag::SinkBottleneck { .. } => "sink-bottleneck",
            SoundnessFlag::CountersDisagree { .. } => "counters-disagree",
            SoundnessFlag::Broken { .. } => "broken",
            SoundnessFlag::CatchUpBurst { .. } => "catch-up-burst",
            SoundnessFlag::HostDisturbed { .. } => "host-disturbed",
        }
    }

    /// True for flags that say the host or the generator was disturbed during the trial (not
    /// the chain, not the setup): the search retries such a trial at the same load.
    pub fn is_disturbance(&self) -> bool {
        matches!(
            self,
            SoundnessFlag::CatchUpBurst { .. } | SoundnessFlag::HostDisturbed { .. }
        )
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
    /// Rate of the probe (latency) stream inside `requested_rate_pps` (the offered load).
    #[serde(default)]
    pub probe_pps: f64,
    /// Frames that arrived more than the late threshold after the last frame was sent (they
    /// are received, not lost; many of them mean deep queues).
    #[serde(default)]
    pub late_frames: u64,
    /// How long the drain after the generator's last frame took, seconds.
    #[serde(default)]
    pub drain_s: f64,
    /// How punctual the generator was.
    #[serde(default)]
    pub generator: Option<GeneratorTiming>,
    /// What else the host did during the trial.
    #[serde(default)]
    pub host: Option<HostUsage>,
    /// Observations that do not invalidate the trial.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The reverse direction (Outgoing → Incoming Point) of a bidirectional trial: its own
    /// counts, timing and flags. The fields above are then the forward direction's, and
    /// [`assess`] copies the reverse flags up (prefixed `reverse:`), so a trial is valid only
    /// when both directions are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<Box<TrialRecord>>,
}

/// One way through the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Incoming Point → Outgoing Point.
    Forward,
    /// Outgoing Point → Incoming Point (replies).
    Reverse,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::Forward, Direction::Reverse];

    pub fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
        }
    }
}

/// The generator's punctuality over one trial.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorTiming {
    /// Largest delay behind schedule, microseconds.
    pub max_lateness_us: f64,
    /// Largest number of frames sent back to back to catch up after a delay.
    pub max_burst_frames: u64,
    /// Frames sent in catch-up batches.
    pub catchup_frames: u64,
    /// Delays over 1 ms.
    pub stalls_over_1ms: u64,
}

/// Host CPU usage over one trial.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostUsage {
    /// CPU time stolen by the hypervisor, percent of all CPU time.
    pub steal_pct: f64,
    /// Softirq time, percent of all CPU time.
    pub softirq_pct: f64,
    /// Busy percent per CPU.
    pub busy_pct: Vec<f64>,
    /// CPU time used by processes that are not the measurement's, percent of one CPU.
    pub other_cpu_pct: f64,
    pub loadavg_1m: f64,
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

    /// The record of one direction (forward = this record; reverse only for bidirectional
    /// trials).
    pub fn direction(&self, d: Direction) -> Option<&TrialRecord> {
        match d {
            Direction::Forward => Some(self),
            Direction::Reverse => self.reverse.as_deref(),
        }
    }

    /// True when the trial sent traffic both ways.
    pub fn is_bidirectional(&self) -> bool {
        self.reverse.is_some()
    }

    /// The loss that decides the trial: the worse direction's (a load passes only when both
    /// directions pass).
    pub fn verdict_loss_pct(&self) -> f64 {
        let back = self.reverse.as_ref().map_or(0.0, |r| r.loss_pct());
        self.loss_pct().max(back)
    }

    /// Frames sent and lost, both directions together.
    pub fn total_sent_lost(&self) -> (u64, u64) {
        let (s, l) = self.reverse.as_ref().map_or((0, 0), |r| (r.sent, r.lost));
        (self.sent + s, self.lost + l)
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
    /// The generator may fall behind schedule by this much (µs) before the trial is flagged
    /// `catch-up-burst` (2 ms: a 2 ms backlog at 1 Mpps is 2000 frames, about what a veth
    /// and socket queue absorb; any stall beyond it is sent as a burst the chain never sees
    /// in a paced trial).
    #[serde(default = "default_max_lateness_us")]
    pub max_lateness_us: f64,
    /// Hypervisor steal above this (percent of all CPU time) flags `host-disturbed`.
    #[serde(default = "default_max_steal_pct")]
    pub max_steal_pct: f64,
    /// CPU used by processes other than the measurement's above this (percent of one CPU)
    /// flags `host-disturbed` (softirq work charged to an idle CPU counts as other: on this
    /// machine kind the measurement itself leaves up to ~20 %).
    #[serde(default = "default_max_other_cpu_pct")]
    pub max_other_cpu_pct: f64,
}

fn default_max_lateness_us() -> f64 {
    2000.0
}

fn default_max_steal_pct() -> f64 {
    5.0
}

fn default_max_other_cpu_pct() -> f64 {
    30.0
}

impl Default for SoundnessLimits {
    fn default() -> Self {
        SoundnessLimits {
            generator_tolerance_pct: 1.0,
            duration_tolerance_pct: 25.0,
            max_lateness_us: default_max_lateness_us(),
            max_steal_pct: default_max_steal_pct(),
            max_other_cpu_pct: default_max_other_cpu_pct(),
        }
    }
}

/// Adds the flags that follow from the record's own numbers (keeps flags already present,
/// e.g. ones the traffic layer set from kernel counters).
pub fn assess(record: &mut TrialRecord, limits: &SoundnessLimits) {
    if let Some(back) = record.reverse.as_mut() {
        assess(back, limits);
        let lifted: Vec<SoundnessFlag> = back.flags.iter().map(reverse_flag).collect();
        for flag in lifted {
            if !record_has(&record.flags, &flag) {
                record.flags.push(flag);
            }
        }
    }
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
    // A stalled generator catches up with a burst; only a trial that then lost frames is
    // suspect (the loss may be the burst's, not the chain's). A generator that simply cannot
    // offer the rate is a shortfall, not a stall.
    let shortfall = requested > 0.0
        && record.achieved_tx_pps < requested * (1.0 - limits.generator_tolerance_pct / 100.0);
    if let (Some(g), false, true) = (&record.generator, shortfall, record.lost > 0) {
        // A loss far larger than the burst is the chain's (it was overloaded), not the burst's.
        if g.max_lateness_us > limits.max_lateness_us && record.lost <= g.max_burst_frames {
            add(SoundnessFlag::CatchUpBurst {
                frames: g.max_burst_frames,
                lateness_us: g.max_lateness_us,
            });
        }
    }
    if let Some(h) = &record.host {
        let mut why = Vec::new();
        if h.steal_pct > limits.max_steal_pct {
            why.push(format!(
                "steal {:.1}% > {:.1}%",
                h.steal_pct, limits.max_steal_pct
            ));
        }
        if h.other_cpu_pct > limits.max_other_cpu_pct {
            why.push(format!(
                "other processes used {:.1}% of a CPU > {:.1}%",
                h.other_cpu_pct, limits.max_other_cpu_pct
            ));
        }
        if !why.is_empty() {
            add(SoundnessFlag::HostDisturbed {
                detail: why.join(", "),
            });
        }
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

/// A reverse-direction flag as the whole trial carries it (sentences say which direction).
fn reverse_flag(flag: &SoundnessFlag) -> SoundnessFlag {
    match flag {
        SoundnessFlag::CountersDisagree { detail } => SoundnessFlag::CountersDisagree {
            detail: format!("reverse: {detail}"),
        },
        SoundnessFlag::Broken { reason } => SoundnessFlag::Broken {
            reason: format!("reverse: {reason}"),
        },
        SoundnessFlag::HostDisturbed { detail } => SoundnessFlag::HostDisturbed {
            detail: format!("reverse: {detail}"),
        },
        other => other.clone(),
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
    fn late_generator_is_a_catch_up_burst_and_a_disturbance() {
        let limits = SoundnessLimits::default();
        let mut r = clean();
        r.generator = Some(GeneratorTiming {
            max_lateness_us: 1500.0,
            max_burst_frames: 64,
            catchup_frames: 300,
            stalls_over_1ms: 1,
        });
        assess(&mut r, &limits);
        assert!(r.is_valid(), "1.5 ms behind is within 2 ms: {:?}", r.flags);

        r.generator = Some(GeneratorTiming {
            max_lateness_us: 12_000.0,
            max_burst_frames: 64,
            catchup_frames: 5000,
            stalls_over_1ms: 3,
        });
        assess(&mut r, &limits);
        assert_eq!(
            r.flags,
            vec![SoundnessFlag::CatchUpBurst {
                frames: 64,
                lateness_us: 12_000.0
            }]
        );
        assert!(r.flags[0].is_disturbance());
        assert!(!r.is_valid());

        // Without loss the burst did no harm; with a shortfall the generator was the limit.
        let mut r = clean();
        r.lost = 0;
        r.received = r.sent;
        r.generator = Some(GeneratorTiming {
            max_lateness_us: 12_000.0,
            ..Default::default()
        });
        assess(&mut r, &limits);
        assert!(r.is_valid(), "{:?}", r.flags);
        let mut r = clean();
        r.achieved_tx_pps = 500.0;
        r.generator = Some(GeneratorTiming {
            max_lateness_us: 250_000.0,
            ..Default::default()
        });
        assess(&mut r, &limits);
        assert_eq!(r.flags.len(), 1, "{:?}", r.flags);
        assert_eq!(r.flags[0].short_name(), "generator-shortfall");
    }

    #[test]
    fn busy_host_is_flagged_disturbed() {
        let limits = SoundnessLimits::default();
        let quiet = HostUsage {
            steal_pct: 1.0,
            other_cpu_pct: 10.0,
            ..Default::default()
        };
        let mut r = clean();
        r.host = Some(quiet.clone());
        assess(&mut r, &limits);
        assert!(r.is_valid(), "{:?}", r.flags);

        for (steal, other, needle) in [(8.0, 0.0, "steal 8.0%"), (0.0, 40.0, "40.0% of a CPU")] {
            let mut r = clean();
            r.host = Some(HostUsage {
                steal_pct: steal,
                other_cpu_pct: other,
                ..quiet.clone()
            });
            assess(&mut r, &limits);
            assert_eq!(r.flags.len(), 1, "{:?}", r.flags);
            let SoundnessFlag::HostDisturbed { detail } = &r.flags[0] else {
                panic!("{:?}", r.flags);
            };
            assert!(detail.contains(needle), "{detail}");
            assert!(r.flags[0].is_disturbance());
        }
        // Other flags are not disturbances.
        let mut r = clean();
        r.sink_drops = 1;
        assess(&mut r, &limits);
        assert!(!r.flags[0].is_disturbance());
    }

    #[test]
    fn old_limits_json_gets_the_new_defaults() {
        let l: SoundnessLimits = serde_json::from_str(
            r#"{"generator_tolerance_pct": 1.0, "duration_tolerance_pct": 25.0}"#,
        )
        .unwrap();
        assert_eq!(l, SoundnessLimits::default());
    }

    #[test]
    fn a_bidirectional_trial_is_judged_by_its_worse_direction_and_both_must_be_sound() {
        let limits = SoundnessLimits::default();
        let mut r = clean();
        r.lost = 0;
        r.received = 1000;
        let mut back = clean();
        back.lost = 50;
        back.received = 950;
        r.reverse = Some(Box::new(back.clone()));
        assess(&mut r, &limits);
        assert!(r.is_valid(), "{:?}", r.flags);
        assert!((r.verdict_loss_pct() - 5.0).abs() < 1e-9);
        assert_eq!(r.loss_pct(), 0.0, "the record's own numbers stay forward");
        assert_eq!(r.total_sent_lost(), (2000, 50));
        assert_eq!(r.direction(Direction::Reverse).map(|b| b.lost), Some(50));
        // A reverse direction that received nothing makes the whole trial unsound.
        back.received = 0;
        back.lost = 1000;
        r.reverse = Some(Box::new(back));
        r.flags.clear();
        assess(&mut r, &limits);
        let SoundnessFlag::Broken { reason } = &r.flags[0] else {
            panic!("{:?}", r.flags);
        };
        assert!(reason.starts_with("reverse: "), "{reason}");
        // A forward-only record has no reverse and serializes as before.
        let plain = clean();
        assert!(!serde_json::to_string(&plain).unwrap().contains("reverse"));
        assert_eq!(plain.verdict_loss_pct(), plain.loss_pct());
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
