//! Every command with `--json` prints only JSON on stdout (parsed here with serde_json; human
//! text goes to stderr), and every command's `--help` lists its exit codes as
//! docs/exit-codes.md does. Commands that need root (up, status of a live testbed, down, clean,
//! run) run only as root and print why they skip otherwise; `image build` and `doctor` are
//! covered by tests/vm_cli.rs's environment checks and run here only when libvirt is usable.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use measure::report::{
    FrameSizeResult, HostFingerprint, Repetition, RunSettings, ToolInfo, VariantReport,
    VariantStatus,
};
use measure::search::run_search;
use measure::sim::SimulatedDevice;
use measure::{FrameSize, Goal, Report, SearchConfig, SCHEMA_VERSION};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn coo_bench(run_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coo-bench"));
    // A private run root: nothing here can touch another test's (or user's) testbeds.
    c.env("COO_BENCH_RUN_DIR", run_dir);
    c
}

/// Parses stdout as one JSON document; panics with both streams when it is anything else.
fn json_of(what: &str, out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not JSON ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn sim_report(capacity: f64, seed: u64) -> Report {
    let reps = (0..3)
        .map(|i| {
            let mut dev = SimulatedDevice::new(capacity, seed + i).with_noise(0.002);
            let (o, trials) = run_search(SearchConfig::default(), |r| dev.trial(r)).unwrap();
            Repetition {
                directions: None,
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
            direction: Default::default(),
            mode: "ndr-pdr".into(),
            frame_sizes: vec![FrameSize::Bytes(64)],
            repetitions: 3,
            warmup_s: 0.0,
            quick: true,
            search: SearchConfig::default(),
            io_mode: None,
            trial: Default::default(),
            placement: None,
            latency: Default::default(),
            order: vec!["coo-click".into()],
            traffic: None,
        },
        baseline: None,
        latency_loads: None,
        variants: vec![VariantReport {
            name: "coo-click".into(),
            role: Default::default(),
            status: VariantStatus::Measured,
            engines: BTreeMap::new(),
            functions: BTreeMap::new(),
            engine_runs: BTreeMap::new(),
            results: vec![FrameSizeResult::new(FrameSize::Bytes(64), reps, vec![])],
            notes: vec![],
        }],
        notes: vec![],
    }
}

#[test]
fn unprivileged_commands_print_only_json() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let fw_nat = format!("{ROOT}/topologies/fw-nat.json");

    let out = coo_bench(&runs)
        .args(["validate", &fw_nat, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of("validate", &out)["valid"], true);

    // An invalid topology: still JSON on stdout, exit 2.
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = coo_bench(&runs)
        .args(["validate", bad.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of("validate (invalid)", &out)["valid"], false);

    let out = coo_bench(&runs)
        .args(["graph", &fw_nat, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let g = json_of("graph", &out);
    assert!(g["dot"].as_str().unwrap().starts_with("digraph"));
    assert!(!g["links"].as_array().unwrap().is_empty());

    let imported = tmp.path().join("imported.json");
    let out = coo_bench(&runs)
        .args([
            "import-pycoo",
            &format!("{ROOT}/tests/fixtures/pycoo/ClickOnOSvManager"),
            "-o",
            imported.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of("import-pycoo", &out);
    assert_eq!(j["output"], imported.to_str().unwrap());
    assert!(j["vnfs"].as_u64().unwrap() > 0);
    assert!(imported.is_file());

    let a = tmp.path().join("a.json");
    let b = tmp.path().join("b.json");
    std::fs::write(&a, sim_report(1.0e6, 1).to_json().unwrap()).unwrap();
    std::fs::write(&b, sim_report(1.0e6, 100).to_json().unwrap()).unwrap();
    let md = tmp.path().join("summary.md");
    let page = tmp.path().join("compare.html");
    let out = coo_bench(&runs)
        .args([
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--json",
            "--calibrate",
            "--markdown",
            md.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let c = json_of("compare --json --calibrate", &out);
    assert!(!c["metrics"].as_array().unwrap().is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("A/A calibration"));
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| coo-click | 64 | ndr |"), "{md}");
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(page.contains("id=\"compare-table\"") && page.contains("<svg"));

    let cal = tmp.path().join("cal");
    let reports = format!(
        "{},{},{},{}",
        a.display(),
        b.display(),
        b.display(),
        a.display()
    );
    let out = coo_bench(&runs)
        .args([
            "calibrate",
            "--reports",
            &reports,
            "--out",
            cal.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(json_of("calibrate", &out)["thresholds"].is_object());

    let out = coo_bench(&runs)
        .args(["man", tmp.path().join("man").to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let pages = json_of("man", &out);
    let pages = pages.as_array().unwrap();
    assert!(pages
        .iter()
        .any(|p| p.as_str().unwrap().ends_with("coo-bench-run.1")));
    for p in pages {
        let text = std::fs::read_to_string(p.as_str().unwrap()).unwrap();
        assert!(text.contains(".TH"), "{p} is not a man page");
    }

    let out = coo_bench(&runs)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of("status", &out);
}

#[test]
fn completions_are_generated_for_every_shell() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = coo_bench(tmp.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("coo-bench") && script.contains("import-pycoo"),
            "{shell}"
        );
    }
    let out = coo_bench(tmp.path())
        .args(["completions", "nosuchshell"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_help_lists_the_exit_codes_of_the_docs() {
    let doc = std::fs::read_to_string(format!("{ROOT}/docs/exit-codes.md")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let mut cells = line.trim_matches('|').split('|').map(str::trim);
        let cmd = cells.next().unwrap().trim_matches('`');
        let codes = cells.next().unwrap();
        let word = cmd.split(' ').next().unwrap();
        let out = coo_bench(tmp.path())
            .args([word, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout).to_string();
        let want = format!("Exit codes: {codes}");
        assert!(
            squash(&help).contains(&squash(&want)),
            "{cmd}: --help lacks `{want}`:\n{help}"
        );
        rows += 1;
    }
    assert!(rows >= 15, "docs/exit-codes.md lists {rows} commands");
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// up → status → down → clean with `--json`, and a short `run --json` (root only).
#[test]
fn testbed_commands_print_only_json() {
    if !is_root() {
        println!("skip: up/status/down/clean/run need root (namespaces, AF_PACKET)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let function = format!("{ROOT}/topologies/functions/forward.click");
    let topo = tmp.path().join("cbtjson.json");
    std::fs::write(
        &topo,
        format!(
            r#"{{
  "id": "cbtjson",
  "vnfs": [{{ "id": "fw", "function": "{function}" }}],
  "incoming": {{ "id": "src", "link": "in" }},
  "outgoing": [{{ "id": "sink", "link": "out" }}],
  "connections": [{{ "from": "src", "to": "fw" }}, {{ "from": "fw", "to": "sink" }}],
  "benchmark": {{ "max_rate_pps": 20000, "min_rate_pps": 1000 }}
}}"#
        ),
    )
    .unwrap();
    let topo = topo.to_str().unwrap();

    let out = coo_bench(&runs)
        .args(["up", topo, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let up = json_of("up", &out);
    let run_id = up["run_id"].as_str().unwrap().to_string();

    let out = coo_bench(&runs)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let status = json_of("status", &out).to_string();
    assert!(status.contains(&run_id), "{status}");

    let out = coo_bench(&runs)
        .args(["down", &run_id, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of("down", &out);

    let out = coo_bench(&runs).args(["clean", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of("clean", &out);

    // A run whose only variant reaches the maximum rate exits 1 — with the report on stdout.
    let results = tmp.path().join("results");
    let out = coo_bench(&runs)
        .args([
            "run",
            topo,
            "--quick",
            "--out",
            results.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report = json_of("run", &out);
    assert_eq!(report["topology"], "cbtjson");
    let run_dir = std::fs::read_dir(&results)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    for v in report["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        assert!(
            html.contains(&format!("data-variant=\"{name}\"")),
            "{name} missing from report.html"
        );
    }
    println!("report.html: {} bytes", html.len());
}
