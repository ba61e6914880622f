//! `coo-bench run --quick` end to end on a one-VNF chain (needs root; skips otherwise):
//! testbed up, kernel-forward baseline, the topology's variant, report files, testbed down.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn quick_run_writes_a_report_and_tears_down() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root for namespaces and AF_PACKET");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let function = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/topologies/functions/forward.click"
    );
    let topo = dir.path().join("cbtrun.json");
    std::fs::write(
        &topo,
        format!(
            r#"{{
  "id": "cbtrun",
  "vnfs": [{{ "id": "fw", "function": "{function}" }}],
  "incoming": {{ "id": "src", "link": "in" }},
  "outgoing": [{{ "id": "sink", "link": "out" }}],
  "connections": [{{ "from": "src", "to": "fw" }}, {{ "from": "fw", "to": "sink" }}],
  "benchmark": {{ "frame_sizes": [64], "max_rate_pps": 20000, "min_rate_pps": 1000 }}
}}"#
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("results");
    let out = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .args([
            "run",
            topo.to_str().unwrap(),
            "--quick",
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("removed"),
        "testbed must be torn down: {stderr}"
    );

    let run_dir = std::fs::read_dir(&out_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(run_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("cbtrun-"));
    let report =
        measure::Report::from_json(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report.baseline.as_deref(), Some("kernel-forward"));
    let base = report.variant("kernel-forward").unwrap();
    let ndr = base.results[0].repetitions[0].ndr.as_ref().unwrap();
    // 20 kpps is far below what the kernel forwards: the search ends at the maximum rate.
    assert_eq!(ndr.rate_pps, Some(20_000.0), "{ndr:?}");
    assert!(base.results[0].repetitions[0]
        .trials
        .iter()
        .all(|t| !t.nf_counters.is_empty()));
    assert!(!base.results[0].latency.is_empty());
    assert!(
        report.variants.len() == 2,
        "baseline + the implicit default variant"
    );
    for f in ["report.csv", "throughput.svg", "latency-cdf-64.svg"] {
        assert!(run_dir.join(f).is_file(), "{f} missing");
    }
    assert!(stdout.contains("kernel-forward"), "{stdout}");
}
