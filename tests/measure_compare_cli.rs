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
    let reps = (0..5)
        .map(|i| {
            let mut dev = SimulatedDevice::new(capacity, seed + i).with_noise(0.002);
            let (o, trials) = run_search(SearchConfig::default(), |r| dev.trial(r)).unwrap();
            Repetition {
                ndr: o.goal(Goal::Ndr).cloned(),
                pdr: o.goal(Goal::Pdr).cloned(),
                trials,
            }
        })
        .collect();
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
            mode: "ndr-pdr".into(),
            frame_sizes: vec![FrameSize::Bytes(64)],
            repetitions: 5,
            latency_loads_pct: vec![],
            warmup_s: 0.0,
            latency_stream_pps: 0.0,
            quick: false,
            search: SearchConfig::default(),
            io_mode: None,
        },
        baseline: None,
        variants: vec![VariantReport {
            name: "coo-click".into(),
            status: VariantStatus::Measured,
            engines: BTreeMap::new(),
            functions: BTreeMap::new(),
            results: vec![FrameSizeResult::new(FrameSize::Bytes(64), reps, vec![])],
            notes: vec![],
        }],
        notes: vec![],
    }
}

fn write(dir: &Path, name: &str, r: &Report) -> String {
    let p = dir.join(name);
    std::fs::write(&p, r.to_json().unwrap()).unwrap();
    p.display().to_string()
}

fn compare(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .arg("compare")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
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
