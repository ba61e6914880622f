//! A short NDR search between two attachments, for printed figures (not pass/fail).

use std::path::Path;
use std::time::Duration;

use measure::{Goal, SearchConfig, SoundnessLimits, TrialRecord};
use testbed::Attachment;

/// The flows of the topology's traffic profile (as `run` makes them).
pub fn flows(topo: &topology::Topology) -> traffic::FlowSpec {
    campaign::real::flow_spec(topo)
}

/// A short NDR search (`run --quick`-like: 0.2 s / 0.5 s trials, 5 % precision, 74 B frames,
/// 0.1 % loss) from `from` to `to`, up to `max_pps`.
pub fn short_ndr(
    from: &Attachment,
    to: &Attachment,
    flows: traffic::FlowSpec,
    max_pps: f64,
) -> Ndr {
    let attach = |netns: &Path, ifname: &str| traffic::Attach {
        netns: Some(netns.to_path_buf()),
        ifname: ifname.to_owned(),
        cpus: Vec::new(),
    };
    let source = attach(&from.netns_path, from.ifname.as_str());
    let sink = attach(&to.netns_path, to.ifname.as_str());
    let config = SearchConfig {
        min_rate_pps: 500.0,
        max_rate_pps: max_pps,
        ndr_loss_pct: 0.1,
        precision_pct: 5.0,
        coarse_precision_pct: 12.5,
        initial_duration_s: 0.2,
        final_duration_s: 0.5,
        goals: vec![Goal::Ndr],
        max_trials: 24,
        ..SearchConfig::default()
    };
    let (outcome, records) = measure::search::run_search(config, |req| {
        let mut spec = traffic::TrialSpec::new(
            source.clone(),
            vec![sink.clone()],
            req.rate_pps,
            Duration::from_secs_f64(req.duration_s),
        );
        spec.flows = flows.clone();
        spec.frame_size = traffic::FrameSizes::Fixed(74);
        spec.drain = Duration::from_secs(1);
        match traffic::run_trial(&spec) {
            Ok(r) => {
                let mut record = TrialRecord {
                    requested_rate_pps: req.rate_pps,
                    sent: r.sent,
                    received: r.received,
                    lost: r.lost,
                    achieved_tx_pps: r.sent as f64 / r.elapsed.as_secs_f64().max(1e-9),
                    elapsed_s: r.elapsed.as_secs_f64(),
                    ..Default::default()
                };
                // A generator that cannot offer the rate limits the result, not the path.
                measure::trial::assess(&mut record, &SoundnessLimits::default());
                record
            }
            Err(e) => panic!("trial at {} pps: {e}", req.rate_pps),
        }
    })
    .unwrap();
    let goal = outcome.goal(Goal::Ndr);
    Ndr {
        pps: goal.and_then(|g| g.rate_pps),
        limited: goal.is_some_and(|g| g.is_limited()),
        trials: records.len(),
        best_offered_pps: records
            .iter()
            .map(|r| r.achieved_tx_pps)
            .fold(0.0, f64::max),
        log: records
            .iter()
            .map(|r| format!("{:.0}:{}/{}", r.requested_rate_pps, r.received, r.sent))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// What [`short_ndr`] found.
#[derive(Debug, Clone)]
pub struct Ndr {
    /// None: no load passed.
    pub pps: Option<f64>,
    /// Bounded by the measurement (generator, sink or maximum rate), not by the path.
    pub limited: bool,
    pub trials: usize,
    /// The highest rate the generator offered in any trial.
    pub best_offered_pps: f64,
    /// Every trial as `requested pps:received/sent`, printed when no load passed.
    pub log: String,
}

impl std::fmt::Display for Ndr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pps {
            None => write!(f, "none (trials {})", self.log)?,
            Some(p) => write!(f, "{:.1} kpps", p / 1e3)?,
        }
        if self.limited {
            write!(
                f,
                " (measurement-limited; generator offered at most {:.0} kpps)",
                self.best_offered_pps / 1e3
            )?;
        }
        write!(f, " [{} trials]", self.trials)
    }
}
