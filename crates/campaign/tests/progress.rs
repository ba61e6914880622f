//! The campaign's progress events against the simulated chain: one event per trial, numbered
//! in order, naming the variant and frame size; "about m" never below n and exact at the end;
//! the time left always finite.

#![allow(clippy::unwrap_used)]

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;

use campaign::sim::SimChain;
use campaign::{run_campaign, Progress, TrialProgress, VariantPlan, BASELINE};
use measure::report::{FrameSize, VariantRole};
use measure::sim::SimulatedDevice;
use measure::TrialPurpose;

#[derive(Default)]
struct Recorder(RefCell<Vec<TrialProgress>>);

impl Progress for Recorder {
    fn trial(&self, at: &TrialProgress) {
        self.0.borrow_mut().push(at.clone());
    }
}

use support::{plan, settings};

fn chain() -> SimChain {
    SimChain::new()
        .ceiling(SimulatedDevice::new(5.0e6, 1).with_generator_max(1.0e6))
        .variant(BASELINE, SimulatedDevice::new(600_000.0, 2))
        .variant("a", SimulatedDevice::new(400_000.0, 3).with_noise(0.002))
        .variant("b", SimulatedDevice::new(300_000.0, 4).with_noise(0.002))
}

fn plans() -> Vec<VariantPlan> {
    vec![
        VariantPlan::ceiling(),
        plan(BASELINE, VariantRole::Baseline),
        plan("a", VariantRole::Variant),
        plan("b", VariantRole::Variant),
    ]
}

/// Trials per variant as the simulated chain saw them.
fn trials_in_log(sim: &SimChain) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for l in sim.log() {
        if let Some(name) = l.strip_prefix("trial ") {
            *out.entry(name.to_string()).or_default() += 1;
        }
    }
    out
}

fn check_stream(events: &[TrialProgress], total: usize) {
    assert_eq!(events.len(), total, "one event per trial");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.trial, i + 1, "trials are numbered in order");
        assert!(
            e.trials_about >= e.trial,
            "about {} < n {}",
            e.trials_about,
            e.trial
        );
        assert!(
            e.seconds_left.is_finite() && e.seconds_left >= 0.0,
            "time left {}",
            e.seconds_left
        );
    }
    let last = events.last().unwrap();
    assert_eq!(
        last.trials_about, total,
        "the estimate is exact at the last trial"
    );
}

#[test]
fn every_trial_is_announced_with_a_finite_estimate() {
    let sim = chain();
    let sizes = vec![FrameSize::Bytes(64), FrameSize::Bytes(512)];
    let rec = Recorder::default();
    let out = run_campaign(
        &settings(2, sizes.clone()),
        &plans(),
        &mut sim.runner(),
        &mut sim.agents(),
        &rec,
    );
    assert!(out.problems().is_empty(), "{:?}", out.problems());
    let events = rec.0.into_inner();
    let per_variant = trials_in_log(&sim);
    check_stream(&events, per_variant.values().sum());
    // Per variant, the events match what the chain ran.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        *seen.entry(e.variant.clone()).or_default() += 1;
    }
    assert_eq!(seen, per_variant);
    // Search trials: each variant, round and frame size; rounds count from 1, the latency
    // phase is round 0.
    for v in ["ceiling", BASELINE, "a", "b"] {
        for size in &sizes {
            for round in 1..=2 {
                assert!(
                    events.iter().any(|e| e.variant == v
                        && e.frame_size == *size
                        && e.round == round
                        && e.rounds == 2
                        && e.purpose == TrialPurpose::Search),
                    "no search trial of {v} at {size} B in round {round}"
                );
            }
        }
        let latency = events
            .iter()
            .filter(|e| e.variant == v && e.purpose == TrialPurpose::Latency)
            .count();
        assert_eq!(latency, 3, "{v}: one latency trial per load");
    }
    assert!(events
        .iter()
        .filter(|e| e.purpose == TrialPurpose::Latency)
        .all(|e| e.round == 0 && e.frame_size == FrameSize::Bytes(64)));
    // The first estimate comes from the search precision alone; later ones from the
    // searches done: the estimate moves, but stays within a factor of the truth.
    let total = events.len() as f64;
    let first = events[0].trials_about as f64;
    let mid = events[events.len() / 2].trials_about;
    println!("trials: {total}; estimated {first} at the first trial, {mid} half-way");
    assert!(
        first > total / 4.0 && first < total * 4.0,
        "first estimate {first} vs {total}"
    );
}

#[test]
fn a_failed_and_a_crashed_variant_shrink_the_estimate() {
    let sim = chain()
        .fail_configure("a", "engine missing")
        .crash_after("b", 3);
    let rec = Recorder::default();
    let out = run_campaign(
        &settings(3, vec![FrameSize::Bytes(64)]),
        &plans(),
        &mut sim.runner(),
        &mut sim.agents(),
        &rec,
    );
    assert_eq!(out.problems().len(), 2, "{:?}", out.problems());
    let events = rec.0.into_inner();
    check_stream(&events, trials_in_log(&sim).values().sum());
    assert!(
        events.iter().all(|e| e.variant != "a"),
        "a never ran a trial"
    );
}
