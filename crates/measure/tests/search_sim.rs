//! The NDR/PDR search against the simulated device.

#![allow(clippy::unwrap_used)]

use measure::sim::SimulatedDevice;
use measure::{search::run_search, Goal, ResultFlag, SearchConfig};
use proptest::prelude::*;

fn config() -> SearchConfig {
    SearchConfig {
        min_rate_pps: 10_000.0,
        max_rate_pps: 3_000_000.0,
        ..SearchConfig::default()
    }
}

fn within(found: f64, truth: f64, pct: f64) -> bool {
    (found - truth).abs() / truth * 100.0 <= pct
}

#[test]
fn sharp_cliff_is_found_within_precision_in_few_trials() {
    let mut dev = SimulatedDevice::new(1_234_567.0, 1);
    let (outcome, trials) = run_search(config(), |r| dev.trial(r)).unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    let pdr = outcome.goal(Goal::Pdr).unwrap();
    let truth = dev.true_rate(0.001);
    let rate = ndr.rate_pps.unwrap();
    assert!(
        rate <= truth * 1.000_001 && within(rate, truth, 0.5),
        "ndr {rate} vs {truth}"
    );
    assert!(ndr.width_pct().unwrap() <= 0.5);
    assert!(pdr.rate_pps.unwrap() >= rate);
    assert!(within(pdr.rate_pps.unwrap(), dev.true_rate(0.1), 0.5));
    eprintln!("trials: {}", trials.len());
    assert!(trials.len() <= 12, "{} trials", trials.len());
}

#[test]
fn soft_knee_separates_ndr_and_pdr() {
    let mut dev = SimulatedDevice::new(800_000.0, 2).with_knee(0.1, 0.01);
    let (outcome, _) = run_search(config(), |r| dev.trial(r)).unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap().rate_pps.unwrap();
    let pdr = outcome.goal(Goal::Pdr).unwrap().rate_pps.unwrap();
    assert!(
        within(ndr, dev.true_rate(0.001), 0.5),
        "{ndr} vs {}",
        dev.true_rate(0.001)
    );
    assert!(
        within(pdr, dev.true_rate(0.1), 0.5),
        "{pdr} vs {}",
        dev.true_rate(0.1)
    );
    assert!(pdr > ndr * 1.02);
}

#[test]
fn lossless_device_reports_max_rate_flag() {
    let mut dev = SimulatedDevice::new(10_000_000.0, 3);
    let (outcome, trials) = run_search(config(), |r| dev.trial(r)).unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    assert_eq!(ndr.rate_pps, Some(3_000_000.0));
    assert_eq!(ndr.flags, vec![ResultFlag::AtMaxRate]);
    assert!(trials.len() <= 3);
}

#[test]
fn generator_shortfall_caps_the_search_and_never_counts_as_a_bound() {
    let mut dev = SimulatedDevice::new(10_000_000.0, 4).with_generator_max(1_500_000.0);
    let (outcome, trials) = run_search(config(), |r| dev.trial(r)).unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    let rate = ndr.rate_pps.unwrap();
    assert!(rate <= 1_500_000.0 && rate > 1_450_000.0, "{rate}");
    assert!(
        matches!(ndr.flags[0], ResultFlag::MeasurementLimited { .. }),
        "{:?}",
        ndr.flags
    );
    // The flagged trial exists but is not the reported rate.
    assert!(trials.iter().any(|t| !t.is_valid()));
    assert!(trials
        .iter()
        .filter(|t| !t.is_valid())
        .all(|t| t.requested_rate_pps > rate));
}

#[test]
fn generator_jitter_does_not_fake_a_measurement_limit() {
    for seed in 0..20 {
        // The generator is faster than the device, but wobbles by 3 % from trial to trial.
        let mut dev = SimulatedDevice::new(1_000_000.0, seed)
            .with_generator_max(1_050_000.0)
            .with_generator_jitter(0.03);
        let (outcome, _) = run_search(config(), |r| dev.trial(r)).unwrap();
        let ndr = outcome.goal(Goal::Ndr).unwrap();
        let rate = ndr.rate_pps.unwrap();
        if ndr.flags.is_empty() {
            assert!(within(rate, 1_000_000.0, 0.5), "seed {seed}: {rate}");
        } else {
            // Only when the generator could not even reach the capacity.
            assert!(
                matches!(ndr.flags[0], ResultFlag::MeasurementLimited { .. }),
                "seed {seed}: {:?}",
                ndr.flags
            );
            assert!(rate <= 1_000_000.0, "seed {seed}: {rate}");
        }
    }
}

#[test]
fn sporadic_losses_still_end_with_a_confirmed_rate() {
    for seed in 0..20 {
        let mut dev = SimulatedDevice::new(500_000.0, seed).with_sporadic_loss(0.8);
        let (outcome, trials) = run_search(config(), |r| dev.trial(r)).unwrap();
        let ndr = outcome.goal(Goal::Ndr).unwrap();
        assert!(
            ndr.flags.is_empty(),
            "seed {seed}: {:?} after {} trials",
            ndr.flags,
            trials.len()
        );
        let rate = ndr.rate_pps.unwrap();
        assert!(rate <= 500_000.0 && rate > 250_000.0, "seed {seed}: {rate}");
    }
}

#[test]
fn device_below_min_rate_yields_no_number() {
    let mut dev = SimulatedDevice::new(5_000.0, 5);
    let (outcome, _) = run_search(config(), |r| dev.trial(r)).unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    assert_eq!(ndr.rate_pps, None);
    assert_eq!(ndr.flags, vec![ResultFlag::BelowMinRate]);
}

#[test]
fn broken_trials_are_retried_then_give_up() {
    let cfg = config();
    let (outcome, trials) = run_search(cfg.clone(), |r| {
        let mut rec = measure::TrialRecord {
            requested_rate_pps: r.rate_pps,
            requested_duration_s: r.duration_s,
            ..Default::default()
        };
        measure::assess(&mut rec, &measure::SoundnessLimits::default());
        rec
    })
    .unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    assert_eq!(ndr.rate_pps, None);
    assert_eq!(ndr.flags, vec![ResultFlag::TooManyBrokenTrials]);
    assert!(trials.len() <= 2 * cfg.max_broken_in_a_row);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ndr_is_within_precision_of_the_truth(
        capacity in 20_000.0f64..2_900_000.0,
        knee in 0.0f64..0.2,
        noise in 0.0f64..0.0005,
        seed in any::<u64>(),
    ) {
        let mut dev = SimulatedDevice::new(capacity, seed).with_knee(knee, 0.02).with_noise(noise);
        let (outcome, trials) = run_search(config(), |r| dev.trial(r)).unwrap();
        // Whole frames: at a low rate the NDR threshold is below one frame per trial.
        let truth = dev.true_rate_in_frames(0.001, config().final_duration_s);
        let ndr = outcome.goal(Goal::Ndr).unwrap();
        let rate = ndr.rate_pps.unwrap();
        // precision plus the capacity noise (3 sigma)
        let tol = 0.5 + 300.0 * noise;
        prop_assert!(within(rate, truth, tol), "ndr {} truth {} trials {}", rate, truth, trials.len());
        prop_assert!(ndr.flags.is_empty(), "{:?}", ndr.flags);
        let pdr = outcome.goal(Goal::Pdr).unwrap().rate_pps.unwrap();
        prop_assert!(within(pdr, dev.true_rate(0.1), tol), "pdr {} truth {}", pdr, dev.true_rate(0.1));
        // A budget, not a timing: a noisy knee near the NDR threshold can take a few more.
        prop_assert!(trials.len() <= 40, "{} trials", trials.len());
    }
}

/// NDR of 20 seeded searches on a device with descheduling stalls, and the median number of
/// trials and of trial seconds per search.
fn stalled_runs(cfg: &SearchConfig, capacity: f64) -> (Vec<f64>, f64, f64) {
    let mut ndrs = Vec::new();
    let mut counts = Vec::new();
    let mut seconds = Vec::new();
    for seed in 0..20 {
        // This host: about one stall per second of 5–20 ms; the veth and socket queues absorb
        // ~2000 frames; the capacity wobbles by 0.5 % from trial to trial.
        let mut dev = SimulatedDevice::new(capacity, 1000 + seed)
            .with_noise(0.005)
            .with_stalls(1.0, 20.0, 2000.0);
        let (outcome, trials) = run_search(cfg.clone(), |r| dev.trial(r)).unwrap();
        let ndr = outcome.goal(Goal::Ndr).unwrap();
        ndrs.push(ndr.rate_pps.unwrap_or(0.0));
        counts.push(trials.len() as f64);
        seconds.push(trials.iter().map(|t| t.requested_duration_s).sum::<f64>());
    }
    let med = |v: &[f64]| measure::stats::median(v).unwrap();
    (ndrs.clone(), med(&counts), med(&seconds))
}

fn spread_pct(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    100.0 * (max / min - 1.0)
}

/// Issue #13: on this 2-CPU host the chain is descheduled for 5–20 ms about once a second; a
/// stall loses frames only at rates where `rate × stall` exceeds what the queues hold, so a
/// single trial at a rate the chain forwards losslessly can still lose frames. With one trial
/// per load (the old search), such a sporadic loss becomes the upper bound and the NDR of the
/// same device wanders by ~10 % from run to run; judging each load by the majority of its
/// full-length trial time (duration sum 2 × trial, exceed ratio 0.5) keeps it within 5 %.
#[test]
fn stalls_make_single_trial_ndr_wander_but_not_the_judged_search() {
    let new = config();
    assert_eq!(new.duration_sum(), 2.0 * new.final_duration_s);
    let single = SearchConfig {
        duration_sum_s: Some(new.final_duration_s),
        exceed_ratio: 0.0,
        ..config()
    };
    let capacity = 120_000.0;
    let (n, n_trials, n_secs) = stalled_runs(&new, capacity);
    let (o, o_trials, o_secs) = stalled_runs(&single, capacity);
    eprintln!(
        "judged: spread {:.2}%, median {n_trials} trials / {n_secs} s; single trial: spread {:.2}%, median {o_trials} trials / {o_secs} s",
        spread_pct(&n),
        spread_pct(&o)
    );
    assert!(n.iter().all(|r| *r > 0.0 && *r <= capacity * 1.02), "{n:?}");
    assert!(
        spread_pct(&n) <= 5.0,
        "judged search spread {:.2}%: {n:?}",
        spread_pct(&n)
    );
    assert!(
        spread_pct(&o) > 5.0,
        "single-trial spread {:.2}%: {o:?}",
        spread_pct(&o)
    );
    assert!(spread_pct(&o) > 2.0 * spread_pct(&n));
    // The price: more trials, still a bounded search.
    assert!(
        n_trials <= 30.0 && n_secs <= 40.0,
        "{n_trials} trials, {n_secs} s"
    );
}

/// A generator that falls behind and bursts to catch up makes the trial `catch-up-burst`:
/// such a trial is retried at the same load and never becomes a bound.
#[test]
fn catch_up_bursts_are_retried_not_bounds() {
    let mut any_flagged = false;
    for seed in 0..10 {
        let mut dev = SimulatedDevice::new(120_000.0, seed)
            .with_stalls(0.0, 20.0, 2000.0)
            .with_generator_stalls(0.3, 20.0);
        let (outcome, trials) = run_search(config(), |r| dev.trial(r)).unwrap();
        let ndr = outcome.goal(Goal::Ndr).unwrap();
        let rate = ndr.rate_pps.unwrap();
        assert!(ndr.flags.is_empty(), "seed {seed}: {:?}", ndr.flags);
        assert!(within(rate, 120_000.0, 0.6), "seed {seed}: {rate}");
        let flagged: Vec<_> = trials
            .iter()
            .filter(|t| t.flags.iter().any(|f| f.is_disturbance()))
            .collect();
        // Only a burst that overflowed the buffer (the trial lost frames) is suspect.
        assert!(flagged.iter().all(|t| t.lost > 0), "seed {seed}");
        any_flagged |= !flagged.is_empty();
        // Every disturbed trial is followed by a trial at the same load and duration.
        for (i, t) in trials.iter().enumerate() {
            if t.flags.iter().any(|f| f.is_disturbance()) {
                let next = &trials[i + 1];
                assert_eq!(next.requested_rate_pps, t.requested_rate_pps);
                assert_eq!(next.requested_duration_s, t.requested_duration_s);
            }
        }
    }
    assert!(any_flagged, "no lossy stall was flagged in 10 seeds");
}

#[test]
fn a_generator_that_always_stalls_is_charged_after_the_retry_budget() {
    // Every trial stalls and overflows the buffer: after `max_disturbed_in_a_row` retries the
    // trial is charged as measured (and says so), so the search still ends with a result.
    let mut dev = SimulatedDevice::new(120_000.0, 1)
        .with_stalls(0.0, 20.0, 500.0)
        .with_generator_stalls(5.0, 20.0);
    let cfg = SearchConfig {
        max_rate_pps: 200_000.0,
        ..config()
    };
    let (outcome, trials) = run_search(cfg.clone(), |r| dev.trial(r)).unwrap();
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    assert!(
        !ndr.flags.contains(&ResultFlag::TooManyDisturbedTrials),
        "{ndr:?}"
    );
    assert!(
        trials
            .iter()
            .any(|t| t.warnings.iter().any(|w| w.contains("charged as measured"))),
        "{:?}",
        trials
            .iter()
            .map(|t| (
                t.requested_rate_pps as u64,
                t.lost,
                t.flags.clone(),
                t.warnings.clone()
            ))
            .collect::<Vec<_>>()
    );
    assert!(trials.len() <= cfg.max_trials);
}

#[test]
fn one_sporadic_full_length_failure_is_outvoted() {
    // A device that forwards 100 kpps losslessly; the first full-length trial between 98 and
    // 100 kpps loses 5 frames once (a stall). The next trial at that load passes, so the
    // load is a lower bound and the NDR stays within the precision of the capacity.
    let mut dev = SimulatedDevice::new(100_000.0, 9);
    let mut struck = false;
    let (outcome, trials) = run_search(config(), |r| {
        let mut t = dev.trial(r);
        if !struck && r.duration_s >= 2.0 && r.rate_pps < 100_000.0 && r.rate_pps > 98_000.0 {
            struck = true;
            t.lost += 5;
            t.received -= 5;
        }
        t
    })
    .unwrap();
    assert!(struck);
    let ndr = outcome.goal(Goal::Ndr).unwrap();
    assert!(within(ndr.rate_pps.unwrap(), 100_000.0, 0.5), "{ndr:?}");
    assert!(ndr.upper_failed_trials >= 2, "{ndr:?}");
    // The struck load got a second trial.
    let struck_rate = trials
        .iter()
        .find(|t| t.requested_duration_s >= 2.0 && t.lost > 0 && t.requested_rate_pps < 100_000.0)
        .map(|t| t.requested_rate_pps)
        .unwrap();
    assert!(
        trials
            .iter()
            .filter(|t| t.requested_rate_pps == struck_rate)
            .count()
            >= 2
    );
}

#[test]
fn a_bidirectional_search_stops_at_the_worse_direction_and_judges_each_alone() {
    use measure::{assess, search::Search, search::Step, Direction, SoundnessLimits};
    // Replies are slower than the forward path (a NAT's reverse lookup, say).
    let mut forward = SimulatedDevice::new(1_000_000.0, 3);
    let mut reverse = SimulatedDevice::new(400_000.0, 4);
    let mut search = Search::new(config()).unwrap();
    let outcome = loop {
        match search.next_step() {
            Step::Trial(req) => {
                let mut record = forward.trial(&req);
                record.reverse = Some(Box::new(reverse.trial(&req)));
                assess(&mut record, &SoundnessLimits::default());
                search.record(record);
            }
            Step::Done(o) => break o,
        }
    };
    let both = outcome.goal(Goal::Ndr).unwrap().rate_pps.unwrap();
    assert!(within(both, reverse.true_rate(0.001), 0.5), "{both}");
    let back = search.direction(Direction::Reverse).unwrap();
    let back_ndr = back.ndr.unwrap();
    assert!(same(back_ndr.rate_pps.unwrap(), both), "{back_ndr:?}");
    assert!(
        back_ndr.upper_pps.is_some(),
        "the reverse direction failed above"
    );
    assert_eq!(back.loss_at_ndr_pct, Some(0.0));
    // The forward direction never failed at the loads tried: its NDR is at least the
    // highest of them and has no upper bound.
    let fwd = search.direction(Direction::Forward).unwrap();
    let fwd_ndr = fwd.ndr.unwrap();
    assert!(fwd_ndr.rate_pps.unwrap() >= both, "{fwd_ndr:?}");
    assert_eq!(fwd.loss_at_ndr_pct, Some(0.0));
    // A forward-only search has no reverse direction.
    let mut plain = Search::new(config()).unwrap();
    while let Step::Trial(req) = plain.next_step() {
        plain.record(forward.trial(&req));
    }
    assert!(plain.direction(Direction::Reverse).is_none());
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.max(b)
}
