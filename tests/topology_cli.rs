//! `coo-bench validate | graph | import-pycoo` as a user runs them: exit codes and output.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn coo_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .args(args)
        .output()
        .expect("run coo-bench")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (rule, path) for invalid/*.json, invalid/pycoo/*.json and the invalid/<rule>/ directories.
fn invalid_fixtures() -> Vec<(String, PathBuf)> {
    let dir = repo().join("tests/fixtures/topologies/invalid");
    let mut cases = Vec::new();
    for sub in [dir.clone(), dir.join("pycoo")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "pycoo" && name != "VNF" {
                    cases.push((name, path));
                }
            } else if let Some(stem) = name.strip_suffix(".json") {
                cases.push((stem.to_owned(), path));
            }
        }
    }
    cases.sort();
    cases
}

#[test]
fn validate_rejects_every_invalid_fixture_with_its_named_error() {
    let cases = invalid_fixtures();
    assert!(cases.len() >= 55, "{} fixtures", cases.len());
    let mut failures = Vec::new();
    for (rule, path) in &cases {
        let out = coo_bench(&["validate", path.to_str().unwrap()]);
        let all = text(&out);
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{}: exit {:?}, expected 2\n{all}",
                path.display(),
                out.status.code()
            ));
        }
        if !all.contains(&format!("error[{rule}]")) {
            failures.push(format!("{}: no `error[{rule}]` in\n{all}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn validate_json_lists_errors_with_positions() {
    let path = repo().join("tests/fixtures/topologies/invalid/pycoo-09-vnf-without-input.json");
    let out = coo_bench(&["validate", "--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let err = &doc["errors"][0];
    assert_eq!(err["rule"], "pycoo-09-vnf-without-input");
    assert_eq!(err["pycoo_code"], -9);
    assert!(err["line"].as_u64().unwrap() > 0);
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("[PyCOO -9] VNF `y` never receives traffic"));
}

#[test]
fn validate_pycoo_directory_prints_the_port_table() {
    let dir = repo().join("tests/fixtures/pycoo/ClickOnOSvManager");
    let out = coo_bench(&["validate", dir.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("sfc: valid (PyCOO directory"), "{all}");
    for row in [
        [
            "x",
            "FromDPDKDevice(0)",
            "ingress",
            "br0",
            "IP",
            "52:54:00:6c:22:13",
        ],
        [
            "y",
            "FromDPDKDevice(0)",
            "ingress",
            "br1",
            "x",
            "52:54:00:6c:22:15",
        ],
        [
            "y",
            "FromDPDKDevice(1)",
            "egress",
            "br2",
            "z",
            "52:54:00:6c:22:16",
        ],
        [
            "z",
            "FromDPDKDevice(1)",
            "egress",
            "br3",
            "OP1",
            "52:54:00:6c:22:18",
        ],
    ] {
        let found = all.lines().any(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            cells.len() >= 8
                && cells[0] == row[0]
                && cells[1] == row[1]
                && cells[2] == row[2]
                && cells[3] == row[3]
                && cells[6] == row[4]
                && cells[7] == row[5]
        });
        assert!(found, "row {row:?} missing in\n{all}");
    }
    assert!(all.contains("firewall.click"), "{all}");
}

#[test]
fn validate_shipped_topologies_and_the_reference_pycoo_set() {
    for path in ["topologies/fw-nat.json", "topologies/pycoo-xyz.json"] {
        let out = coo_bench(&["validate", repo().join(path).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{path}: {}", text(&out));
    }
    let reference = Path::new("/work/shared/reference/pycoo-examples/ClickOnOSvManager");
    if reference.exists() {
        let out = coo_bench(&["validate", reference.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    } else {
        eprintln!("skipped part: {} not on this machine", reference.display());
    }
}

#[test]
fn validate_missing_path_is_invalid_input() {
    let out = coo_bench(&["validate", "/nonexistent/topology.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[io]"));
}

#[test]
fn graph_prints_dot_with_ports() {
    let out = coo_bench(&[
        "graph",
        repo().join("topologies/fw-nat.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(dot.starts_with("digraph \"fw-nat\" {"), "{dot}");
    assert!(
        dot.contains("taillabel=\"port 1\", headlabel=\"port 0\""),
        "{dot}"
    );
    let bad = repo().join("tests/fixtures/topologies/invalid/cycle.json");
    assert_eq!(
        coo_bench(&["graph", bad.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

#[test]
fn import_pycoo_writes_an_equivalent_unified_file() {
    let dir = std::env::temp_dir().join(format!("coo-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("imported.json");
    let src = repo().join("tests/fixtures/pycoo/ClickOnOSvManager");
    let out = coo_bench(&[
        "import-pycoo",
        src.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(written["id"], "sfc");
    assert_eq!(written["connections"][1]["link"], "br1");
    assert_eq!(written["connections"][1]["from_mac"], "52:54:00:6c:22:14");
    // Both describe the same derived ports.
    let a = coo_bench(&["validate", out_file.to_str().unwrap()]);
    let b = coo_bench(&["validate", src.to_str().unwrap()]);
    let table = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.contains("FromDPDKDevice("))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&a), table(&b));
    // Refuses to overwrite without --force.
    let again = coo_bench(&[
        "import-pycoo",
        src.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
