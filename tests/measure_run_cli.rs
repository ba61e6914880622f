//! `coo-bench run --quick` end to end on a one-VNF chain (needs root; skips otherwise):
//! testbed up, the generator→sink ceiling, kernel-forward baseline, the topology's variant in
//! interleaved rounds, report files, testbed down — and a run whose variant only reached the
//! configured maximum rate exits 1 (its NDR is not a property of the chain).

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
  "benchmark": {{ "max_rate_pps": 20000, "min_rate_pps": 1000 }}
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
    // 20 kpps is far below what the chain forwards: every result is at-max-rate (or, on a
    // host too loaded to offer even that, generator-limited), which a gate must never take
    // for a measured rate.
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("variant default at 64 B: NDR is at-max-rate")
            || stderr.contains("variant default at 64 B: NDR is generator-limited"),
        "{stderr}"
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
    // 20 kpps is far below what the kernel forwards: the search ends at the maximum rate
    // (below it only when the host could not offer 20 kpps, which the limit then says).
    assert!(ndr.rate_pps.is_some_and(|r| r <= 20_000.0), "{ndr:?}");
    assert!(base.results[0].repetitions[0]
        .trials
        .iter()
        .all(|t| !t.nf_counters.is_empty()));
    assert!(
        matches!(
            base.results[0].limit,
            Some(measure::report::Limit::MaxRate | measure::report::Limit::Generator { .. })
        ),
        "{:?}",
        base.results[0].limit
    );
    // Three interleaved rounds: every variant has three repetitions.
    assert_eq!(base.results[0].repetitions.len(), 3);
    let names: Vec<&str> = report.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["ceiling", "kernel-forward", "default"]);
    assert_eq!(report.settings.order, names);
    // The ceiling path has no NF: no counters are read around its trials.
    let ceiling = report.variant("ceiling").unwrap();
    assert!(ceiling.results[0].repetitions[0]
        .trials
        .iter()
        .all(|t| t.nf_counters.is_empty() && t.sent > 0));
    // No sound NDR anywhere: no common loads, so no latency (and the report says so).
    assert!(report.latency_loads.is_none());
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("latency not measured")));
    for f in ["report.csv", "throughput.svg"] {
        assert!(run_dir.join(f).is_file(), "{f} missing");
    }
    assert!(stdout.contains("kernel-forward"), "{stdout}");
}
