//! Report building, rendering (JSON, CSV, SVG, table) and comparison, from simulated devices.

#![allow(clippy::unwrap_used)]

use measure::report::{FrameSizeResult, Repetition, VariantReport, VariantStatus};
use measure::search::run_search;
use measure::sim::SimulatedDevice;
use measure::{
    compare, CommonLoads, CompareOptions, FrameSize, Goal, Limit, Report, SearchConfig,
    VariantRole, Verdict, SCHEMA_VERSION,
};

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{report, variant};

#[test]
fn report_round_trips_and_renders() {
    let mut skipped = variant("reference-click", 1.0e6, 0, 0, 10);
    skipped.status = VariantStatus::Skipped {
        reason: "COO_BENCH_REFERENCE_CLICK not set".into(),
    };
    skipped.results.clear();
    let r = report(vec![
        variant("kernel-forward", 1.0e6, 3, 1, 10),
        variant("coo-click", 0.6e6, 3, 10, 20),
        skipped,
    ]);
    let json = r.to_json().unwrap();
    let back = Report::from_json(&json).unwrap();
    assert_eq!(back, r);
    let ratio = r
        .ratio_vs_baseline(&r.variants[1], FrameSize::Bytes(64))
        .unwrap();
    assert!((ratio - 0.6).abs() < 0.02, "{ratio}");

    let csv = measure::csv::to_csv(&r);
    assert!(csv.starts_with("variant,status,frame_size,metric,value,unit,role,limit\n"));
    assert!(csv.contains("coo-click,measured,64,ndr_ratio_vs_baseline,"));
    assert!(csv.contains("reference-click,skipped,"));
    assert!(csv.contains("latency_50pct_p99"));

    let table = measure::table::variants_table(&r);
    assert!(
        table.contains("skipped: COO_BENCH_REFERENCE_CLICK not set"),
        "{table}"
    );
    assert!(
        table.contains("0.60×") || table.contains("0.59×") || table.contains("0.61×"),
        "{table}"
    );

    let svg = measure::plot::throughput_svg(&r).unwrap();
    assert!(svg.contains("<svg") && svg.contains("coo-click"));
    let cdf = measure::plot::latency_cdf_svg(&r, FrameSize::Bytes(64), 50.0).unwrap();
    assert!(cdf.contains("<svg") && cdf.contains("kernel-forward"));
}

#[test]
fn wrong_schema_version_is_refused() {
    let r = report(vec![]);
    let json = r.to_json().unwrap().replacen(
        &format!("\"schema_version\": {SCHEMA_VERSION}"),
        "\"schema_version\": 99",
        1,
    );
    let err = Report::from_json(&json).unwrap_err();
    assert!(err.to_string().contains("99"), "{err}");
}

#[test]
fn a_a_comparison_shows_no_difference_and_calibrates_noise() {
    let a = report(vec![variant("coo-click", 1.0e6, 5, 100, 20)]);
    let b = report(vec![variant("coo-click", 1.0e6, 5, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    assert!(!c.metrics.is_empty());
    assert!(
        c.metrics
            .iter()
            .all(|m| m.verdict == Verdict::NoSignificantDifference),
        "{}",
        c.render_table()
    );
    assert!(!c.fails(0.0));
    let (tp, _) = c.suggested_noise();
    assert!(tp.unwrap() < 2.0);
}

#[test]
fn regression_is_detected_and_gates() {
    let a = report(vec![variant("coo-click", 1.0e6, 5, 100, 20)]);
    let b = report(vec![variant("coo-click", 0.8e6, 5, 200, 40)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.verdict, Verdict::Worse);
    assert!(ndr.method.starts_with("bootstrap"), "{}", ndr.method);
    assert!((ndr.diff_pct + 20.0).abs() < 2.0, "{}", ndr.diff_pct);
    let ci = ndr.ci.unwrap();
    assert!(ci.low < ndr.diff_pct && ndr.diff_pct < ci.high);
    assert!(c.fails(10.0));
    assert!(!c.fails(150.0));
    let p50 = c
        .metrics
        .iter()
        .find(|m| m.metric == "latency_50pct_p50")
        .unwrap();
    assert_eq!(p50.verdict, Verdict::Worse);
    // and the other way round it is an improvement
    let back = compare(&b, &a, &CompareOptions::default());
    assert!(back
        .metrics
        .iter()
        .any(|m| m.metric == "ndr" && m.verdict == Verdict::Better));
    assert!(!back.fails(0.0));
}

#[test]
fn too_few_repetitions_are_inconclusive_and_never_fail_the_gate() {
    let a = report(vec![variant("coo-click", 1.0e6, 2, 100, 20)]);
    // Even a 30 % drop: with 2 repetitions per side there is no estimate of the noise.
    let b = report(vec![variant("coo-click", 0.7e6, 2, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert!(
        ndr.method.starts_with("too-few-repetitions"),
        "{}",
        ndr.method
    );
    assert_eq!(ndr.verdict, Verdict::Inconclusive);
    assert!(ndr.ci.is_none());
    assert!(c.gate(&a, &b, 0.0).iter().all(|r| !r.contains(" ndr:")));
    assert!(c.render_table().contains("inconclusive"));
}

/// The trial the loss attribution reads: the last one at the first variant's NDR upper bound.
fn trial_just_above_ndr(r: &mut Report) -> &mut measure::TrialRecord {
    let rep = &mut r.variants[0].results[0].repetitions[0];
    let upper = rep.ndr.as_ref().unwrap().upper_pps.unwrap();
    rep.trials
        .iter_mut()
        .rev()
        .find(|t| (t.requested_rate_pps - upper).abs() < 1e-6)
        .unwrap()
}

#[test]
fn loss_is_attributed_to_the_dropping_nf() {
    let mut r = report(vec![variant("coo-click", 1.0e6, 1, 5, 20)]);
    let t = trial_just_above_ndr(&mut r);
    let lost = t.lost;
    t.nf_counters = vec![
        measure::NfCounters {
            vnf: "fw".into(),
            packets_in: t.sent,
            packets_out: t.sent,
            dropped: 0,
            ..Default::default()
        },
        measure::NfCounters {
            vnf: "nat".into(),
            packets_in: t.sent,
            packets_out: t.sent - lost + 1,
            dropped: lost - 1,
            ..Default::default()
        },
    ];
    let text = measure::table::attribution(&r);
    assert!(text.contains(&format!("fw 0, nat {}", lost - 1)), "{text}");
    assert!(
        text.contains("elsewhere (links, bridges, sink): 1"),
        "{text}"
    );
}

/// Frames no NF counted as dropped, missing between fw's output and nat's input: with the
/// chain's order the attribution names that hop.
#[test]
fn link_loss_is_attributed_to_its_hop() {
    let mut r = report(vec![variant("coo-click", 1.0e6, 1, 5, 20)]);
    let t = trial_just_above_ndr(&mut r);
    let lost = t.lost;
    assert_eq!(t.sent - lost, t.received);
    t.nf_counters = vec![
        measure::NfCounters {
            vnf: "fw".into(),
            packets_in: t.sent,
            packets_out: t.sent,
            ..Default::default()
        },
        measure::NfCounters {
            vnf: "nat".into(),
            packets_in: t.sent - lost,
            packets_out: t.sent - lost,
            ..Default::default()
        },
    ];
    let chain = ["fw".to_owned(), "nat".to_owned()];
    let text = measure::table::attribution_along(&r, Some(&chain));
    assert!(
        text.contains(&format!(
            "elsewhere (links, bridges, sink): {lost}; on links: fw→nat {lost}\n"
        )),
        "{text}"
    );
    // Without the order no hop is named; with a VNF the trial has no counters for, neither.
    assert!(!measure::table::attribution(&r).contains("on links"));
    let other = ["fw".to_owned(), "dpi".to_owned()];
    assert!(!measure::table::attribution_along(&r, Some(&other)).contains("on links"));
}

fn limit(r: &mut Report, at: f64) {
    for rep in &mut r.variants[0].results[0].repetitions {
        rep.ndr.as_mut().unwrap().flags =
            vec![measure::ResultFlag::MeasurementLimited { ceiling_pps: at }];
    }
}

#[test]
fn a_generator_limited_result_is_never_a_difference_between_engines() {
    // A only reached 0.8 Mpps because its generator could not go faster: B at 1 Mpps is not
    // known to be better.
    let mut a = report(vec![variant("coo-click", 0.8e6, 3, 100, 20)]);
    limit(&mut a, 0.8e6);
    let b = report(vec![variant("coo-click", 1.0e6, 3, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.verdict, Verdict::Limited, "{}", c.render_table());
    assert!(
        ndr.method.contains("A measurement-limited"),
        "{}",
        ndr.method
    );
    assert!(c.gate(&a, &b, 0.0).is_empty(), "{:?}", c.gate(&a, &b, 0.0));
    // FrameSizeResult::limit (set by the run, e.g. at the ceiling) does the same.
    let a = report(vec![variant("coo-click", 1.0e6, 3, 100, 20)]);
    let mut b = report(vec![variant("coo-click", 1.2e6, 3, 200, 20)]);
    b.variants[0].results[0].limit = Some(Limit::Ceiling {
        ceiling_pps: 1.2e6,
        margin_pct: 5.0,
    });
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.verdict, Verdict::Limited);
    assert!(ndr.method.contains("B at-ceiling"), "{}", ndr.method);
    // ...and a gate cannot pass because B became limited.
    let reasons = c.gate(&a, &b, 5.0);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("at-ceiling"), "{reasons:?}");
    // A sound B significantly below A's limited lower bound is still a regression.
    let mut a = report(vec![variant("coo-click", 1.0e6, 3, 100, 20)]);
    limit(&mut a, 1.0e6);
    let b = report(vec![variant("coo-click", 0.8e6, 3, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.verdict, Verdict::Limited);
    let reasons = c.gate(&a, &b, 5.0);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("below A's measurement-limited lower bound")),
        "{reasons:?}"
    );
}

#[test]
fn the_gate_fails_when_b_lost_a_variant() {
    let a = report(vec![
        variant("kernel-forward", 1.0e6, 3, 1, 10),
        variant("coo-click", 0.6e6, 3, 10, 20),
        variant("ipfilter", 0.5e6, 3, 20, 20),
    ]);
    let mut failed = variant("coo-click", 0.6e6, 0, 0, 20);
    failed.status = VariantStatus::Failed {
        error: "agent of fw stopped answering\nmore".into(),
    };
    failed.results.clear();
    // B: coo-click failed, ipfilter is missing.
    let b = report(vec![variant("kernel-forward", 1.0e6, 3, 2, 10), failed]);
    let c = compare(&a, &b, &CompareOptions::default());
    assert!(!c.fails(0.0), "no metric is worse: {}", c.render_table());
    let reasons = c.gate(&a, &b, 5.0);
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("coo-click")
            && reasons[0].contains("failed: agent of fw stopped answering")
    );
    assert!(reasons[1].contains("ipfilter") && reasons[1].contains("is missing"));
    // The same report against itself passes.
    let c = compare(&a, &a, &CompareOptions::default());
    assert!(c.gate(&a, &a, 0.0).is_empty(), "{:?}", c.gate(&a, &a, 0.0));
}

#[test]
fn pairs_compare_different_variants_and_ratios_use_rounds() {
    let a = report(vec![
        variant("kernel-forward", 1.0e6, 5, 1, 10),
        variant("ipfilter", 0.6e6, 5, 10, 20),
        variant("ipfilter-slow", 0.45e6, 5, 30, 20),
    ]);
    let pair = [("ipfilter".to_string(), "ipfilter-slow".to_string())];
    let c = measure::compare::compare_pairs(&a, &a, &pair, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.variant, "ipfilter");
    assert_eq!(ndr.b_variant.as_deref(), Some("ipfilter-slow"));
    assert_eq!(ndr.verdict, Verdict::Worse);
    assert!((ndr.diff_pct + 25.0).abs() < 2.0, "{}", ndr.diff_pct);
    let ratio = c
        .metrics
        .iter()
        .find(|m| m.metric == "ndr_ratio_vs_baseline")
        .unwrap();
    assert!(
        ratio.method.starts_with("bootstrap of per-round ratios"),
        "{}",
        ratio.method
    );
    assert_eq!(ratio.verdict, Verdict::Worse);
    assert!(c.render_table().contains("ipfilter→ipfilter-slow"));
    let reasons = c.gate(&a, &a, 10.0);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("ipfilter→ipfilter-slow 64 B ndr")),
        "{reasons:?}"
    );
}

#[test]
fn the_ceiling_is_compared_and_marked_but_does_not_gate() {
    let mut ceil_a = variant("ceiling", 2.0e6, 3, 1, 5);
    ceil_a.role = VariantRole::Ceiling;
    let mut ceil_b = variant("ceiling", 1.5e6, 3, 2, 5);
    ceil_b.role = VariantRole::Ceiling;
    let a = report(vec![ceil_a, variant("coo-click", 0.6e6, 3, 10, 20)]);
    let b = report(vec![ceil_b, variant("coo-click", 0.6e6, 3, 20, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c
        .metrics
        .iter()
        .find(|m| m.metric == "ndr" && m.role == VariantRole::Ceiling)
        .unwrap();
    assert_eq!(ndr.verdict, Verdict::Worse);
    assert!(c.render_table().contains("ceiling (ceiling)"));
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("the host itself changed")),
        "{:?}",
        c.warnings
    );
    assert!(!c.fails(0.0));
    assert!(c.gate(&a, &b, 0.0).is_empty(), "{:?}", c.gate(&a, &b, 0.0));
}

#[test]
fn latency_is_compared_at_the_common_loads_with_calibrated_noise() {
    let common = |r: &mut Report| {
        r.latency_loads = Some(CommonLoads {
            frame_size: FrameSize::Bytes(64),
            reference_variant: "coo-click".into(),
            reference_ndr_pps: 1.0e6,
            loads: vec![(50.0, 0.5e6)],
        });
    };
    let mut a = report(vec![variant("coo-click", 1.0e6, 3, 100, 20)]);
    let mut b = report(vec![variant("coo-click", 1.0e6, 3, 200, 30)]);
    common(&mut a);
    common(&mut b);
    let c = compare(&a, &b, &CompareOptions::default());
    let p50 = c
        .metrics
        .iter()
        .find(|m| m.metric == "latency_50pct_p50")
        .unwrap();
    assert_eq!(
        p50.verdict,
        Verdict::Worse,
        "+40 % > 25 %: {}",
        c.render_table()
    );
    // A calibrated threshold for exactly this metric wins over --latency-noise-pct.
    let mut opts = CompareOptions::default();
    opts.noise.insert(
        measure::compare::noise_key("coo-click", FrameSize::Bytes(64), "latency_50pct_p50"),
        50.0,
    );
    let c = compare(&a, &b, &opts);
    let p50 = c
        .metrics
        .iter()
        .find(|m| m.metric == "latency_50pct_p50")
        .unwrap();
    assert_eq!(p50.noise_pct, 50.0);
    assert_eq!(p50.verdict, Verdict::NoSignificantDifference);
    // A load only one side measured is not compared.
    b.latency_loads.as_mut().unwrap().loads = vec![(90.0, 0.9e6)];
    let c = compare(&a, &b, &CompareOptions::default());
    assert!(!c.metrics.iter().any(|m| m.metric.starts_with("latency")));
}

#[test]
fn calibration_from_a_a_pairs_sets_thresholds_and_detects_a_slower_variant() {
    let runs: Vec<(Report, Report)> = (0..4u64)
        .map(|i| {
            let r = |seed: u64| {
                report(vec![
                    variant("ipfilter", 1.0e6, 3, seed, 20),
                    variant("ipfilter-slow", 0.9e6, 3, seed + 50, 20),
                ])
            };
            (r(1000 + 10 * i), r(2000 + 10 * i))
        })
        .collect();
    let pair = [("ipfilter".to_string(), "ipfilter-slow".to_string())];
    let cal =
        measure::compare::Calibration::from_pairs(&runs, &pair, &[], &CompareOptions::default());
    assert_eq!(cal.pairs, 4);
    let ndr = cal
        .metrics
        .iter()
        .find(|m| m.variant == "ipfilter" && m.metric == "ndr")
        .unwrap();
    assert_eq!(ndr.diffs_pct.len(), 4);
    assert!(ndr.threshold_pct >= 1.5 * ndr.max_abs_diff_pct - 0.01);
    assert!(ndr.threshold_pct >= 0.5);
    assert_eq!(
        cal.thresholds[&measure::compare::noise_key("ipfilter", FrameSize::Bytes(64), "ndr")],
        ndr.threshold_pct
    );
    assert!(
        ndr.run_spread_pct.unwrap() < 3.0,
        "{:?}",
        ndr.run_spread_pct
    );
    assert_eq!(ndr.false_alarms_suggested, 0);
    assert_eq!(cal.false_alarm_rate_suggested, 0.0);
    let det = cal.detection.iter().find(|d| d.metric == "ndr").unwrap();
    assert_eq!((det.detected, det.pairs), (4, 4), "{det:?}");
    assert!((det.median_diff_pct.unwrap() + 10.0).abs() < 2.0);
    let json = serde_json::to_string(&cal).unwrap();
    let back: measure::compare::Calibration = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cal);
    assert!(cal.render_table().contains("B worse in 4/4 pairs"));
}

#[test]
fn roles_limits_and_confidence_intervals_are_rendered() {
    let mut base = variant("kernel-forward", 1.0e6, 3, 1, 10);
    base.role = VariantRole::Baseline;
    base.results[0].limit = Some(Limit::Generator { ceiling_pps: 1.0e6 });
    let mut ceiling = variant("direct", 1.5e6, 3, 5, 5);
    ceiling.role = VariantRole::Ceiling;
    let r = report(vec![ceiling, base, variant("coo-click", 0.6e6, 5, 10, 20)]);
    let table = measure::table::variants_table(&r);
    assert!(table.contains("kernel-forward (baseline)"), "{table}");
    assert!(table.contains("direct (ceiling)"), "{table}");
    assert!(table.contains("generator-limited"), "{table}");
    assert!(
        table.contains("no vs-base: the baseline is generator-limited"),
        "{table}"
    );
    let agg = r.variants[2].results[0].ndr.as_ref().unwrap();
    let ci = agg.ci.unwrap();
    assert!(ci.low <= agg.median && agg.median <= ci.high);
    assert!(
        table.contains(&format!(
            "{:.3} [{:.3}, {:.3}]",
            agg.median / 1e6,
            ci.low / 1e6,
            ci.high / 1e6
        )),
        "{table}"
    );
    let csv = measure::csv::to_csv(&r);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("kernel-forward,measured,64,ndr,")
                && l.ends_with(",baseline,generator-limited")),
        "{csv}"
    );
    assert!(csv.contains(",ndr_ci95_low,"), "{csv}");
    assert!(
        !csv.contains("coo-click,measured,64,ndr_ratio_vs_baseline"),
        "{csv}"
    );
    let svg = measure::plot::throughput_svg(&r).unwrap();
    assert!(svg.contains("generator-limited"), "label missing");
    assert!(svg.contains("kernel-forward (baseline)"));
}

/// A variant whose capacity changes from round to round (`caps[i]` in round i): the host's
/// speed drifting under an interleaved campaign.
fn drifting(name: &str, caps: &[f64], seed: u64) -> VariantReport {
    let mut v = variant(name, caps[0], 1, seed, 20);
    let repetitions: Vec<Repetition> = caps
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let mut dev = SimulatedDevice::new(c, seed + i as u64).with_noise(0.002);
            let (o, trials) = run_search(SearchConfig::default(), |r| dev.trial(r)).unwrap();
            Repetition {
                directions: None,
                ndr: o.goal(Goal::Ndr).cloned(),
                pdr: o.goal(Goal::Pdr).cloned(),
                trials,
            }
        })
        .collect();
    let lat = v.results[0].latency.clone();
    v.results = vec![FrameSizeResult::new(FrameSize::Bytes(64), repetitions, lat)];
    v
}

/// One run of ipfilter, an identical twin and a 10 % slower variant, in rounds whose host
/// speed is `caps` × `scale`.
fn ab_run(scale: f64, seed: u64) -> Report {
    let caps: Vec<f64> = [1.0, 0.8, 1.15, 0.9, 1.05]
        .iter()
        .map(|c| c * scale * 1.0e6)
        .collect();
    let slow: Vec<f64> = caps.iter().map(|c| c * 0.9).collect();
    report(vec![
        drifting("ipfilter", &caps, seed),
        drifting("ipfilter-twin", &caps, seed + 100),
        drifting("ipfilter-slow", &slow, seed + 200),
    ])
}

#[test]
fn side_by_side_cancels_host_drift_between_rounds() {
    use measure::compare::{compare_side_by_side, SIDE_BY_SIDE_NDR};
    let r = ab_run(1.0, 7000);
    let pair = |a: &str, b: &str| [(a.to_string(), b.to_string())];
    let ndr = |c: &measure::Comparison| {
        c.metrics
            .iter()
            .find(|m| m.metric == SIDE_BY_SIDE_NDR)
            .unwrap()
            .clone()
    };
    let twin = compare_side_by_side(&r, &pair("ipfilter", "ipfilter-twin"), &Default::default());
    let m = ndr(&twin);
    assert_eq!(
        m.verdict,
        Verdict::NoSignificantDifference,
        "{}",
        twin.render_table()
    );
    assert!(m.diff_pct.abs() < 1.0, "{m:?}");
    assert!(twin.gate(&r, &r, 0.0).is_empty());
    let slow = compare_side_by_side(&r, &pair("ipfilter", "ipfilter-slow"), &Default::default());
    let m = ndr(&slow);
    assert_eq!(m.verdict, Verdict::Worse, "{}", slow.render_table());
    assert!((m.diff_pct + 10.0).abs() < 1.5, "{m:?}");
    let ci = m.ci.unwrap();
    assert!(ci.high < -2.0, "{ci:?}");
    assert!(!slow.gate(&r, &r, 5.0).is_empty());
    // The same medians compared as independent samples cannot see it: the rounds' drift
    // (−20 %..+15 %) swamps 10 %.
    let unpaired = measure::compare::compare_pairs(
        &r,
        &r,
        &pair("ipfilter", "ipfilter-slow"),
        &Default::default(),
    );
    let u = unpaired.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_ne!(u.verdict, Verdict::Worse, "{}", unpaired.render_table());
    // A variant the run does not have is a warning, not a metric.
    let missing = compare_side_by_side(&r, &pair("ipfilter", "nope"), &Default::default());
    assert!(missing.metrics.is_empty());
    assert!(missing.warnings[0].contains("nope"));
}

#[test]
fn twins_calibrate_side_by_side_thresholds_across_slow_and_fast_runs() {
    // Whole runs 15 % slower or faster than others: across runs that is noise the gate must
    // tolerate; side by side it cancels.
    let scales = [1.0, 0.85, 1.1, 0.95, 1.0, 1.15, 0.9, 1.05];
    let runs: Vec<(Report, Report)> = scales
        .chunks(2)
        .enumerate()
        .map(|(i, s)| {
            let seed = 8000 + 1000 * i as u64;
            (ab_run(s[0], seed), ab_run(s[1], seed + 500))
        })
        .collect();
    let pair = [("ipfilter".to_string(), "ipfilter-slow".to_string())];
    let twin = [("ipfilter".to_string(), "ipfilter-twin".to_string())];
    let cal = measure::compare::Calibration::from_pairs(&runs, &pair, &twin, &Default::default());
    let key = measure::compare::noise_key("ipfilter", FrameSize::Bytes(64), "ndr_side_by_side");
    let t = cal.thresholds[&key];
    assert!((0.5..5.0).contains(&t), "side-by-side threshold {t}");
    let m = cal
        .metrics
        .iter()
        .find(|m| m.metric == "ndr_side_by_side")
        .unwrap();
    assert_eq!(m.samples, 8);
    assert_eq!(m.diffs_pct.len(), 8);
    assert_eq!(cal.false_alarm_rate_side_by_side, Some(0.0));
    let across = cal
        .detection
        .iter()
        .find(|d| !d.side_by_side && d.metric == "ndr")
        .unwrap();
    let within = cal
        .detection
        .iter()
        .find(|d| d.side_by_side && d.metric == "ndr_side_by_side")
        .unwrap();
    assert_eq!((within.detected, within.pairs), (8, 8), "{within:?}");
    assert!(across.detected < across.pairs, "{across:?}");
    assert!(cal
        .render_table()
        .contains("B worse in 8/8 runs, side by side"));
}
