//! `coo-bench compare`: verdicts and exit codes on reports built from a simulated device.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use measure::report::{
    FrameSizeResult, HostFingerprint, Repetition, RunSettings, ToolInfo, VariantReport,
    VariantStatus,
};
use measure::search::run_search;
use measure::sim::SimulatedDevice;
use measure::{FrameSize, Goal, Report, SearchConfig, SCHEMA_VERSION};

fn report(capacity: f64, seed: u64) -> Report {
    report_of(&[("coo-click", capacity)], seed)
}

fn report_of(variants: &[(&str, f64)], seed: u64) -> Report {
    let variant = |name: &str, capacity: f64, k: u64| {
        let reps = (0..5)
            .map(|i| {
                let mut dev = SimulatedDevice::new(capacity, seed + 1000 * k + i).with_noise(0.002);
                let (o, trials) = run_search(SearchConfig::default(), |r| dev.trial(r)).unwrap();
                Repetition {
                    directions: None,
                    ndr: o.goal(Goal::Ndr).cloned(),
                    pdr: o.goal(Goal::Pdr).cloned(),
                    trials,
                }
            })
            .collect();
        VariantReport {
            name: name.into(),
            role: Default::default(),
            status: VariantStatus::Measured,
            engines: BTreeMap::new(),
            functions: BTreeMap::new(),
            engine_runs: BTreeMap::new(),
            results: vec![FrameSizeResult::new(FrameSize::Bytes(64), reps, vec![])],
            notes: vec![],
        }
    };
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "coo-bench".into(),
            version: "test".into(),
            git_revision: None,
        },
        topology: "sim".into(),
        topology_path: "sim.json".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:00:10Z".into(),
        host: HostFingerprint::default(),
        settings: RunSettings {
            direction: Default::default(),
            mode: "ndr-pdr".into(),
            frame_sizes: vec![FrameSize::Bytes(64)],
            repetitions: 5,
            warmup_s: 0.0,
            quick: false,
            search: SearchConfig::default(),
            io_mode: None,
            trial: Default::default(),
            placement: None,
            latency: Default::default(),
            order: vec![],
            traffic: None,
        },
        baseline: None,
        latency_loads: None,
        variants: variants
            .iter()
            .enumerate()
            .map(|(k, (n, c))| variant(n, *c, k as u64))
            .collect(),
        notes: vec![],
    }
}

fn write(dir: &Path, name: &str, r: &Report) -> String {
    let p = dir.join(name);
    std::fs::write(&p, r.to_json().unwrap()).unwrap();
    p.display().to_string()
}

fn compare(args: &[&str]) -> (i32, String) {
    let (code, out, _) = coo_bench("compare", args);
    (code, out)
}

fn coo_bench(cmd: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .arg(cmd)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn regression_fails_the_gate_and_a_a_passes() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.json", &report(1.0e6, 1));
    let a2 = write(dir.path(), "a2.json", &report(1.0e6, 100));
    let worse = write(dir.path(), "worse.json", &report(0.9e6, 200));

    let (code, out) = compare(&[&a, &worse, "--fail-if-worse", "5"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("WORSE"), "{out}");

    let (code, out) = compare(&[&a, &worse, "--fail-if-worse", "20"]);
    assert_eq!(code, 0, "a 10 % regression passes a 20 % gate: {out}");

    let (code, out) = compare(&[&a, &a2, "--fail-if-worse", "0", "--calibrate"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no significant difference"), "{out}");
    assert!(out.contains("A/A calibration: --noise-pct"), "{out}");
}

#[test]
fn unreadable_reports_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 42}").unwrap();
    let a = write(dir.path(), "a.json", &report(1.0e6, 1));
    let (code, _) = compare(&[&a, bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    let (code, _) = compare(&[&a, "/nonexistent/report.json"]);
    assert_eq!(code, 2);
}

#[test]
fn json_is_only_json_and_the_gate_names_its_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.json",
        &report_of(&[("coo-click", 1.0e6), ("ipfilter", 0.8e6)], 1),
    );
    // B: 10 % slower coo-click, and ipfilter is gone.
    let b = write(
        dir.path(),
        "b.json",
        &report_of(&[("coo-click", 0.9e6)], 50),
    );
    let (code, out, err) = coo_bench(
        "compare",
        &[&a, &b, "--json", "--fail-if-worse", "5", "--calibrate"],
    );
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON document");
    let reasons = v["gate"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 3, "{reasons:?}"); // ndr, pdr worse; ipfilter missing
    assert!(
        err.contains(
            "ipfilter was measured with a sound NDR at 64 B in A, but in B ipfilter is missing"
        ),
        "{err}"
    );
    assert!(err.contains("coo-click 64 B ndr: worse by"), "{err}");
    assert!(err.contains("A/A calibration"), "{err}");
    assert!(!out.contains("A/A calibration"));
}

#[test]
fn pairs_and_calibration_files_drive_compare() {
    let dir = tempfile::tempdir().unwrap();
    let variants = [("ipfilter", 1.0e6), ("ipfilter-slow", 0.9e6)];
    let mut files = Vec::new();
    for i in 0..4u64 {
        files.push(write(
            dir.path(),
            &format!("a{i}.json"),
            &report_of(&variants, 100 + 10 * i),
        ));
        files.push(write(
            dir.path(),
            &format!("b{i}.json"),
            &report_of(&variants, 500 + 10 * i),
        ));
    }
    let out_dir = dir.path().join("cal");
    let list = files.join(",");
    let (code, out, err) = coo_bench(
        "calibrate",
        &[
            "--reports",
            &list,
            "--out",
            out_dir.to_str().unwrap(),
            "--pair",
            "ipfilter:ipfilter-slow",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let cal: serde_json::Value = serde_json::from_str(&out).expect("only JSON on stdout");
    assert_eq!(cal["format"], "coo-bench-calibration/1");
    assert_eq!(cal["pairs"], 4);
    let t = cal["thresholds"]["ipfilter/64/ndr"].as_f64().unwrap();
    assert!((0.5..5.0).contains(&t), "{t}");
    assert_eq!(cal["false_alarm_rate_suggested"], 0.0);
    let det = cal["detection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metric"] == "ndr")
        .unwrap();
    assert_eq!(det["detected"], 4, "{det}");
    let file = out_dir.join("calibration.json");
    assert!(file.exists());

    // The table form.
    let (code, out, _) = coo_bench(
        "calibrate",
        &["--reports", &list, "--out", out_dir.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("threshold") && out.contains("false-alarm rate"),
        "{out}"
    );

    // compare --noise uses the per-metric threshold; --pair compares two variants.
    let (code, out) = compare(&[
        &files[0],
        &files[1],
        "--noise",
        file.to_str().unwrap(),
        "--fail-if-worse",
        "0",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("±{t:.2}%")), "{out}");
    let (code, out) = compare(&[
        &files[0],
        &files[1],
        "--pair",
        "ipfilter:ipfilter-slow",
        "--noise",
        file.to_str().unwrap(),
        "--fail-if-worse",
        "5",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ipfilter→ipfilter-slow") && out.contains("WORSE"),
        "{out}"
    );

    // Bad input: odd number of reports, malformed pair, not a calibration file.
    let (code, _, err) = coo_bench("calibrate", &["--reports", &files[0]]);
    assert_eq!(code, 2, "{err}");
    let (code, _) = compare(&[&files[0], &files[1], "--pair", "nocolon"]);
    assert_eq!(code, 2);
    let (code, _) = compare(&[&files[0], &files[1], "--noise", &files[0]]);
    assert_eq!(code, 2);
}
