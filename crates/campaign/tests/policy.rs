//! The campaign's policy against simulated devices (no root, no network).

#![allow(clippy::unwrap_used)]

mod support;

use campaign::sim::SimChain;
use campaign::{run_campaign, Settings, Silent, VariantPlan, BASELINE};
use measure::report::{FrameSize, Limit, VariantRole, VariantStatus};
use measure::sim::SimulatedDevice;

fn settings(rounds: u32) -> Settings {
    support::settings(rounds, vec![FrameSize::Bytes(64)])
}

use support::plan;

/// Runs the campaign over `plans` on the simulated chain, silently.
fn measure_all(sim: &SimChain, rounds: u32, plans: &[VariantPlan]) -> campaign::Outcome {
    run_campaign(
        &settings(rounds),
        plans,
        &mut sim.runner(),
        &mut sim.agents(),
        &Silent,
    )
}

fn plans() -> Vec<VariantPlan> {
    vec![
        VariantPlan::ceiling(),
        plan(BASELINE, VariantRole::Baseline),
        plan("a", VariantRole::Variant),
        plan("b", VariantRole::Variant),
    ]
}

/// Ceiling 1 Mpps (the generator's limit); the kernel-forward baseline is generator-limited
/// at 0.6 Mpps; variants forward 400 and 300 kpps.
fn chain(seed: u64) -> SimChain {
    SimChain::new()
        .ceiling(SimulatedDevice::new(5.0e6, seed).with_generator_max(1.0e6))
        .variant(
            BASELINE,
            SimulatedDevice::new(5.0e6, seed + 1).with_generator_max(0.6e6),
        )
        .variant(
            "a",
            SimulatedDevice::new(400_000.0, seed + 2).with_noise(0.002),
        )
        .variant(
            "b",
            SimulatedDevice::new(300_000.0, seed + 3).with_noise(0.002),
        )
}

#[test]
fn variants_are_interleaved_in_rounds_and_results_are_medians_over_rounds() {
    let sim = chain(1);
    let out = measure_all(&sim, 3, &plans());
    // Round order: ceiling (engines stopped), baseline, a, b — three times; then latency.
    let configures: Vec<String> = sim
        .log()
        .into_iter()
        .filter(|l| l.starts_with("configure") || l == "stop")
        .collect();
    let round = [
        "stop",
        "configure kernel-forward",
        "configure a",
        "configure b",
    ];
    for r in 0..3 {
        assert_eq!(&configures[r * 4..r * 4 + 4], &round, "{configures:?}");
    }
    for v in &out.variants {
        assert_eq!(v.status, VariantStatus::Measured, "{}", v.name);
        let r = &v.results[0];
        assert_eq!(r.repetitions.len(), 3, "{}", v.name);
        assert_eq!(r.ndr.as_ref().map(|a| a.samples.len()), Some(3));
    }
    let a = out.variants.iter().find(|v| v.name == "a").unwrap();
    let ndr = a.results[0].ndr.as_ref().unwrap().median;
    assert!((ndr / 400_000.0 - 1.0).abs() < 0.02, "{ndr}");
    assert!(out.problems().is_empty(), "{:?}", out.problems());
}

#[test]
fn limited_results_are_labelled_and_never_a_denominator() {
    let sim = chain(2);
    let out = measure_all(&sim, 1, &plans());
    let get = |n: &str| out.variants.iter().find(|v| v.name == n).unwrap();
    assert!(get("ceiling").results[0].limit.is_some());
    assert!(matches!(
        get(BASELINE).results[0].limit,
        Some(Limit::Generator { .. })
    ));
    assert_eq!(get("a").results[0].limit, None);
    assert!(get("a").results[0].sound_ndr().is_some());
    assert_eq!(get(BASELINE).results[0].sound_ndr(), None);
}

#[test]
fn a_variant_near_the_ceiling_is_labelled_at_ceiling() {
    let sim = chain(3).variant("a", SimulatedDevice::new(990_000.0, 9));
    let out = measure_all(&sim, 1, &plans());
    let a = out.variants.iter().find(|v| v.name == "a").unwrap();
    assert!(
        matches!(
            a.results[0].limit,
            Some(Limit::Ceiling { .. }) | Some(Limit::Generator { .. })
        ),
        "{:?}",
        a.results[0].limit
    );
    assert!(out.problems().iter().any(|p| p.contains("variant a")));
}

#[test]
fn latency_is_measured_at_the_same_offered_loads_for_every_variant() {
    let sim = chain(4);
    let out = measure_all(&sim, 1, &plans());
    let loads = out.latency_loads.clone().expect("common loads");
    // The reference is the lowest sound NDR: variant b (the baseline is limited).
    assert_eq!(loads.reference_variant, "b");
    let rates: Vec<f64> = loads.loads.iter().map(|l| l.1).collect();
    for v in &out.variants {
        let pts: Vec<f64> = v.results[0].latency.iter().map(|p| p.rate_pps).collect();
        assert_eq!(pts, rates, "{}", v.name);
        for p in &v.results[0].latency {
            // ≥ 10 000 probe frames so p99.9 rests on ≥ 10 samples, probe ≤ 10 % of the load.
            let t = &p.trial;
            assert!(
                t.probe_pps * t.requested_duration_s >= 10_200.0 - 1e-6,
                "{t:?}"
            );
            assert!(t.probe_pps <= t.requested_rate_pps / 10.0 + 1e-9);
        }
    }
}

#[test]
fn failures_fail_the_variant_and_the_run() {
    let sim = chain(5)
        .fail_configure("b", "VNF nf: engine coo-click is not running after start")
        .crash_after("a", 3);
    let out = measure_all(&sim, 2, &plans());
    let get = |n: &str| out.variants.iter().find(|v| v.name == n).unwrap();
    assert!(matches!(get("b").status, VariantStatus::Failed { .. }));
    match &get("a").status {
        VariantStatus::Failed { error } => assert!(error.contains("VNF nf"), "{error}"),
        s => panic!("{s:?}"),
    }
    // A failed variant reports no rate, not even from rounds before the failure.
    for r in &get("a").results {
        assert!(r.ndr.is_none());
        assert!(r
            .repetitions
            .iter()
            .all(|rep| rep.ndr.is_none() && rep.pdr.is_none()));
        assert!(r.repetitions.iter().any(|rep| !rep.trials.is_empty()));
    }
    // A failed variant is not measured again in later rounds.
    let b_configures = sim.log().iter().filter(|l| *l == "configure b").count();
    assert_eq!(b_configures, 1);
    let problems = out.problems();
    assert!(problems.iter().any(|p| p.contains("variant a failed")));
    assert!(problems.iter().any(|p| p.contains("variant b failed")));
}

#[test]
fn sporadic_stalls_do_not_make_runs_disagree() {
    // Descheduling stalls (about one a second, 5-20 ms) on a device that buffers 2000 frames:
    // the NDR of 20 independent campaigns of 3 rounds each stays within 5 %.
    let mut medians = Vec::new();
    for seed in 0..20u64 {
        let sim = SimChain::new()
            .ceiling(SimulatedDevice::new(5.0e6, seed).with_generator_max(1.0e6))
            .variant(
                "a",
                SimulatedDevice::new(400_000.0, 100 + seed)
                    .with_noise(0.005)
                    .with_stalls(1.0, 12.0, 2000.0),
            );
        let out = measure_all(
            &sim,
            3,
            &[VariantPlan::ceiling(), plan("a", VariantRole::Variant)],
        );
        let a = out.variants.iter().find(|v| v.name == "a").unwrap();
        medians.push(a.results[0].ndr.as_ref().map(|x| x.median).unwrap_or(0.0));
    }
    let max = medians.iter().copied().fold(f64::MIN, f64::max);
    let min = medians.iter().copied().fold(f64::MAX, f64::min);
    assert!(min > 0.0, "{medians:?}");
    assert!(
        max / min - 1.0 <= 0.05,
        "spread {:.1}%: {medians:?}",
        100.0 * (max / min - 1.0)
    );
}

#[test]
fn a_bidirectional_variant_passes_a_load_only_when_both_directions_do() {
    use measure::Direction;
    // Variant a: forward 400 kpps, replies only 250 kpps (a slow reverse path).
    let sim = chain(11).reverse("a", SimulatedDevice::new(250_000.0, 99).with_noise(0.002));
    let mut s = settings(2);
    s.run.direction = measure::TrafficDirection::Both;
    let out = run_campaign(&s, &plans(), &mut sim.runner(), &mut sim.agents(), &Silent);
    assert!(
        out.notes.iter().any(|n| n.contains("forward only")),
        "{:?}",
        out.notes
    );
    let a = out.variants.iter().find(|v| v.name == "a").unwrap();
    let r = &a.results[0];
    let both = r.ndr.as_ref().unwrap().median;
    assert!(
        (both / 250_000.0 - 1.0).abs() < 0.02,
        "the worse direction decides: {both}"
    );
    let dirs = r.directions.as_ref().expect("per-direction results");
    let back = dirs.reverse.ndr.as_ref().unwrap().median;
    assert!((back / both - 1.0).abs() < 1e-9, "{back} vs {both}");
    assert!(!dirs.reverse.ndr_is_lower_bound);
    let fwd = dirs.forward.ndr.as_ref().unwrap().median;
    assert!(fwd >= both, "{fwd}");
    assert_eq!(dirs.forward.loss_at_ndr_pct, Some(0.0));
    for rep in &r.repetitions {
        let search_trials = rep
            .trials
            .iter()
            .filter(|t| t.purpose == Some(measure::TrialPurpose::Search));
        for t in search_trials {
            let b = t
                .direction(Direction::Reverse)
                .expect("every chain trial went both ways");
            assert_eq!(
                b.requested_rate_pps, t.requested_rate_pps,
                "load per direction"
            );
        }
    }
    // Latency per direction at the common loads.
    for p in &r.latency {
        let (f, b) = (
            p.probe_of(Direction::Forward),
            p.probe_of(Direction::Reverse),
        );
        assert!(b.unwrap().p50_ns > f.unwrap().p50_ns, "{p:?}");
    }
    // Variants without a reply path, and the ceiling, stay forward only.
    for v in out.variants.iter().filter(|v| v.name != "a") {
        assert!(v.results[0].directions.is_none(), "{}", v.name);
    }
}
