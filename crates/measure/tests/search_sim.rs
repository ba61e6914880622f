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
        let truth = dev.true_rate(0.001);
        let ndr = outcome.goal(Goal::Ndr).unwrap();
        let rate = ndr.rate_pps.unwrap();
        // precision plus the capacity noise (3 sigma)
        let tol = 0.5 + 300.0 * noise;
        prop_assert!(within(rate, truth, tol), "ndr {} truth {} trials {}", rate, truth, trials.len());
        prop_assert!(ndr.flags.is_empty(), "{:?}", ndr.flags);
        let pdr = outcome.goal(Goal::Pdr).unwrap().rate_pps.unwrap();
        prop_assert!(within(pdr, dev.true_rate(0.1), tol), "pdr {} truth {}", pdr, dev.true_rate(0.1));
        prop_assert!(trials.len() <= 24, "{} trials", trials.len());
    }
}
