//! Report building, rendering (JSON, CSV, SVG, table) and comparison, from simulated devices.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use measure::latency::{new_histogram, LatencySummary};
use measure::report::{
    FrameSizeResult, HostFingerprint, LatencyPoint, Repetition, RunSettings, ToolInfo,
    VariantReport, VariantStatus,
};
use measure::search::run_search;
use measure::sim::SimulatedDevice;
use measure::{
    compare, CompareOptions, FrameSize, Goal, Report, SearchConfig, Verdict, SCHEMA_VERSION,
};

fn latency(base_us: u64) -> LatencySummary {
    let mut h = new_histogram();
    for i in 0..1000u64 {
        h.record(base_us * 1000 + i * 10).unwrap();
    }
    LatencySummary::from_histogram(&h).unwrap()
}

fn variant(name: &str, capacity: f64, reps: usize, seed: u64, lat_us: u64) -> VariantReport {
    let cfg = SearchConfig::default();
    let repetitions: Vec<Repetition> = (0..reps)
        .map(|i| {
            let mut dev = SimulatedDevice::new(capacity, seed + i as u64).with_noise(0.002);
            let (o, trials) = run_search(cfg.clone(), |r| dev.trial(r)).unwrap();
            Repetition {
                ndr: o.goal(Goal::Ndr).cloned(),
                pdr: o.goal(Goal::Pdr).cloned(),
                trials,
            }
        })
        .collect();
    let lat = vec![LatencyPoint {
        load_pct: 50.0,
        rate_pps: capacity / 2.0,
        probe: Some(latency(lat_us)),
        load: Some(latency(lat_us)),
        trial: Default::default(),
    }];
    VariantReport {
        name: name.into(),
        status: VariantStatus::Measured,
        engines: BTreeMap::from([("fw".into(), "coo-click".into())]),
        functions: BTreeMap::new(),
        results: vec![FrameSizeResult::new(FrameSize::Bytes(64), repetitions, lat)],
        notes: vec![],
    }
}

fn report(variants: Vec<VariantReport>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "coo-bench".into(),
            version: "0.1.0".into(),
            git_revision: None,
        },
        topology: "fw-nat".into(),
        topology_path: "topologies/fw-nat.json".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
        host: HostFingerprint {
            cpu_model: "sim".into(),
            cpu_count: 2,
            ..Default::default()
        },
        settings: RunSettings {
            mode: "ndr-pdr".into(),
            frame_sizes: vec![FrameSize::Bytes(64)],
            repetitions: 5,
            latency_loads_pct: vec![50.0],
            warmup_s: 1.0,
            latency_stream_pps: 1000.0,
            quick: false,
            search: SearchConfig::default(),
            io_mode: None,
        },
        baseline: Some("kernel-forward".into()),
        variants,
        notes: vec![],
    }
}

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
    assert!(csv.starts_with("variant,status,frame_size,metric,value,unit\n"));
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
    let json = r
        .to_json()
        .unwrap()
        .replacen("\"schema_version\": 1", "\"schema_version\": 99", 1);
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
    assert_eq!(ndr.method, "bootstrap");
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
fn single_repetition_uses_search_interval() {
    let a = report(vec![variant("coo-click", 1.0e6, 1, 100, 20)]);
    let b = report(vec![variant("coo-click", 1.001e6, 1, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.method, "search-interval");
    assert_eq!(ndr.verdict, Verdict::NoSignificantDifference);
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

#[test]
fn a_generator_limited_result_is_only_a_lower_bound() {
    let limit = |r: &mut Report, at: f64| {
        for rep in &mut r.variants[0].results[0].repetitions {
            rep.ndr.as_mut().unwrap().flags =
                vec![measure::ResultFlag::MeasurementLimited { ceiling_pps: at }];
        }
    };
    // A only reached 0.8 Mpps because its generator could not go faster: B at 1 Mpps is not
    // known to be better.
    let mut a = report(vec![variant("coo-click", 0.8e6, 1, 100, 20)]);
    limit(&mut a, 0.8e6);
    let b = report(vec![variant("coo-click", 1.0e6, 1, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(
        ndr.verdict,
        Verdict::NoSignificantDifference,
        "{}",
        c.render_table()
    );
    assert!(ndr.method.contains("A limited"), "{}", ndr.method);
    // ...but a B measured below A's lower bound is a real regression.
    let mut a = report(vec![variant("coo-click", 1.0e6, 1, 100, 20)]);
    limit(&mut a, 1.0e6);
    let b = report(vec![variant("coo-click", 0.8e6, 1, 200, 20)]);
    let c = compare(&a, &b, &CompareOptions::default());
    let ndr = c.metrics.iter().find(|m| m.metric == "ndr").unwrap();
    assert_eq!(ndr.verdict, Verdict::Worse);
}
