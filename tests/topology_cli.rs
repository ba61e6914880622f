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

/// (rule, topology) for invalid-functions/*.json: a one-VNF chain whose Click function breaks
/// rule `<rule>` (stem up to `--`), with the function file `<stem>.click` beside it.
fn function_fixtures(dir: &str) -> Vec<(String, PathBuf)> {
    let dir = repo().join("tests/fixtures/topologies").join(dir);
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let rule = stem.split("--").next().unwrap().to_owned();
            (rule, p)
        })
        .collect();
    cases.sort();
    cases
}

/// Runs coo-bench without the reference Click binary (so the result does not depend on the
/// machine) unless `reference` names one.
fn coo_bench_env(args: &[&str], reference: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coo-bench"));
    cmd.args(args).env_remove("COO_BENCH_REFERENCE_CLICK");
    if let Some(r) = reference {
        cmd.env("COO_BENCH_REFERENCE_CLICK", r);
    }
    cmd.output().expect("run coo-bench")
}

#[test]
fn validate_rejects_every_invalid_function_with_its_named_error_and_location() {
    let cases = function_fixtures("invalid-functions");
    let rules: std::collections::BTreeSet<&str> = cases.iter().map(|(r, _)| r.as_str()).collect();
    for rule in [
        "click-syntax",
        "click-unknown-class",
        "click-element-config",
        "click-port-out-of-range",
        "click-port-count",
        "click-push-pull",
    ] {
        assert!(rules.contains(rule), "no fixture for {rule}");
    }
    let mut failures = Vec::new();
    for (rule, path) in &cases {
        let out = coo_bench_env(&["validate", path.to_str().unwrap()], None);
        let all = text(&out);
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{}: exit {:?}\n{all}",
                path.display(),
                out.status.code()
            ));
        }
        // `<function>.click:<line>:<column>: error[<rule>]` with a real line.
        let function = path.with_extension("click");
        let prefix = format!("{}:", function.display());
        let located = all.lines().any(|l| {
            l.strip_prefix(&prefix).is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                let line: usize = parts.next().unwrap_or("").parse().unwrap_or(0);
                let col: usize = parts.next().unwrap_or("").parse().unwrap_or(0);
                line > 0
                    && col > 0
                    && parts
                        .next()
                        .unwrap_or("")
                        .starts_with(&format!(" error[{rule}]"))
            })
        });
        if !located {
            failures.push(format!(
                "{}: no `{prefix}L:C: error[{rule}]` in\n{all}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_three_cases_of_issue_20_point_at_the_broken_spot() {
    for (stem, at, words) in [
        ("click-syntax", "1:27", "unterminated configuration string"),
        (
            "click-unknown-class",
            "1:22",
            "unknown element class `NoSuchElement`",
        ),
        (
            "click-port-out-of-range",
            "1:22",
            "ToDPDKDevice(2) names data interface 2, but the VNF has 2",
        ),
    ] {
        let path = repo().join(format!(
            "tests/fixtures/topologies/invalid-functions/{stem}.json"
        ));
        let out = coo_bench_env(&["validate", path.to_str().unwrap()], None);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{all}");
        let function = path.with_extension("click");
        assert!(
            all.contains(&format!("{}:{at}: error[{stem}]", function.display())),
            "{all}"
        );
        assert!(all.contains(words), "{all}");
    }
}

#[test]
fn validate_json_carries_function_errors_with_file_line_column() {
    let path = repo().join("tests/fixtures/topologies/invalid-functions/click-element-config.json");
    let out = coo_bench_env(&["validate", "--json", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let err = &doc["errors"][0];
    assert_eq!(err["rule"], "click-element-config");
    assert_eq!(err["file"], path.with_extension("click").to_str().unwrap());
    assert_eq!(err["line"], 5);
    assert_eq!(err["column"], 6);
    assert!(
        err["message"].as_str().unwrap().contains("198.18.0.300"),
        "{err}"
    );
}

#[test]
fn warnings_do_not_fail_validation_and_are_named() {
    for (rule, path) in function_fixtures("warnings") {
        let out = coo_bench_env(&["validate", path.to_str().unwrap()], None);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(0), "{all}");
        assert!(all.contains(&format!("warning[{rule}]")), "{all}");
        let json = coo_bench_env(&["validate", "--json", path.to_str().unwrap()], None);
        let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(doc["valid"], true);
        assert_eq!(doc["warnings"][0]["rule"], rule.as_str());
    }
}

#[test]
fn run_and_up_refuse_an_invalid_function_before_creating_anything() {
    let path = repo().join("tests/fixtures/topologies/invalid-functions/click-syntax.json");
    let run_id = format!("v20x{}", std::process::id() % 10000);
    for args in [
        vec!["run", path.to_str().unwrap(), "--quick"],
        vec!["up", path.to_str().unwrap(), "--run-id", run_id.as_str()],
    ] {
        let out = coo_bench_env(&args, None);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains("error[click-syntax]"), "{args:?}: {all}");
        assert!(all.contains("click-syntax.click:1:27"), "{args:?}: {all}");
        assert!(!all.contains("bringing up"), "{args:?}: {all}");
    }
    let status = coo_bench_env(&["status", "--json"], None);
    assert!(!text(&status).contains(&run_id), "{}", text(&status));
    let json = coo_bench_env(
        &["up", "--json", path.to_str().unwrap(), "--run-id", &run_id],
        None,
    );
    assert_eq!(json.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["errors"][0]["rule"], "click-syntax");
    assert_eq!(doc["errors"][0]["line"], 1);
    assert_eq!(doc["errors"][0]["column"], 27);
}

/// A stand-in for the reference Click binary: it checks that it got the rewritten
/// configuration (`-q FILE`, DPDK devices turned into FromDevice/ToDevice) and complains
/// about class `Frob` the way Click does.
fn fake_click(dir: &Path) -> PathBuf {
    let script = dir.join("click");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         [ \"$1\" = -q ] || { echo \"expected -q, got $1\" >&2; exit 3; }\n\
         grep -q 'FromDevice(coo-port0, METHOD LINUX' \"$2\" || { echo \"not rewritten: $(cat \"$2\")\" >&2; exit 3; }\n\
         if grep -q Frob \"$2\"; then\n\
           echo \"$2:2: unknown element class 'Frob'\" >&2\n\
           echo 'Router could not be initialized!' >&2\n\
           exit 1\n\
         fi\n\
         echo \"$2:1: While initializing 'FromDevice@1 :: FromDevice':\" >&2\n\
         echo '  FromDevice(coo-port0): No such device' >&2\n\
         exit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn reference_click_functions_are_dry_run_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let click = fake_click(dir.path());
    let topo = |function: &str| {
        format!(
            r#"{{"id": "ref", "vnfs": [{{"id": "nf", "function": "{function}", "engine": "click"}}],
              "incoming": {{"id": "src", "link": "in"}}, "outgoing": [{{"id": "sink", "link": "out"}}],
              "connections": [{{"from": "src", "to": "nf"}}, {{"from": "nf", "to": "sink"}}]}}"#
        )
    };
    std::fs::write(
        dir.path().join("bad.click"),
        "FromDPDKDevice(0)\n  -> Frob(1)\n  -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> ToDPDKDevice(0);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("good.click"),
        "FromDPDKDevice(0) -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> ToDPDKDevice(0);\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.json"), topo("bad.click")).unwrap();
    std::fs::write(dir.path().join("good.json"), topo("good.click")).unwrap();

    let bad = dir.path().join("bad.json");
    let out = coo_bench_env(&["validate", bad.to_str().unwrap()], Some(&click));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    let at = format!(
        "{}:2:6: error[click-unknown-class]",
        dir.path().join("bad.click").display()
    );
    assert!(all.contains(&at), "{all}");
    assert!(
        all.contains("unknown element class `Frob` for engine click"),
        "{all}"
    );

    // Only the rewritten devices fail to initialize in a dry run: that is not an error.
    let good = dir.path().join("good.json");
    let out = coo_bench_env(&["validate", good.to_str().unwrap()], Some(&click));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("warning["), "{all}");

    // Without the binary the same function is accepted with a warning.
    let out = coo_bench_env(&["validate", bad.to_str().unwrap()], None);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("warning[click-engine-unchecked]"), "{all}");
}

/// Issue 20's acceptance bound: every shipped topology validates (Click functions included)
/// in under 1 s, without privileges, and without any warning but the one about the reference
/// binary this machine may lack. Times are printed.
#[test]
fn shipped_topologies_validate_clean_fast_and_unprivileged() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("topologies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths.push(repo().join("tests/fixtures/pycoo/ClickOnOSvManager"));
    // As root, drop to nobody so the check proves no privilege is needed.
    let setpriv = Path::new("/usr/bin/setpriv");
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    // nobody must be able to reach the binary and the files (a checkout under /root is not).
    let drop = nix::unistd::Uid::effective().is_root()
        && setpriv.exists()
        && paths.iter().all(|p| {
            Command::new(setpriv)
                .args(nobody)
                .arg(env!("CARGO_BIN_EXE_coo-bench"))
                .arg("graph")
                .arg(p)
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if nix::unistd::Uid::effective().is_root() && !drop {
        eprintln!("note: privileges not dropped (no setpriv, or nobody cannot read this checkout)");
    }
    for path in &paths {
        let mut cmd = if drop {
            let mut c = Command::new(setpriv);
            c.args(nobody).arg(env!("CARGO_BIN_EXE_coo-bench"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        };
        // Without the C++ engines: their dry runs (FastClick's EAL takes ~0.5 s) are not
        // what this bound is about.
        cmd.arg("validate")
            .arg(path)
            .env_remove("COO_BENCH_REFERENCE_CLICK")
            .env_remove("COO_BENCH_FASTCLICK");
        let started = std::time::Instant::now();
        let out = cmd.output().unwrap();
        let took = started.elapsed();
        let all = text(&out);
        eprintln!("validate {}: {:.3} s", path.display(), took.as_secs_f64());
        assert_eq!(out.status.code(), Some(0), "{}: {all}", path.display());
        assert!(took.as_secs_f64() < 1.0, "{}: {took:?}", path.display());
        for line in all.lines().filter(|l| l.contains("warning[")) {
            assert!(
                line.contains("warning[click-engine-unchecked]"),
                "{}: {line}",
                path.display()
            );
        }
    }
}

#[test]
fn graph_renders_svg_through_graphviz_or_falls_back_to_dot() {
    let path = repo().join("topologies/fw-nat.json");
    let out = coo_bench_env(&["graph", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let dot = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(dot.starts_with("digraph \"fw-nat\""), "{dot}");
    assert!(
        !dot.contains("\\\\n"),
        "labels must not show a literal \\n: {dot}"
    );
    let svg = coo_bench_env(&["graph", "--format", "svg", path.to_str().unwrap()], None);
    assert_eq!(svg.status.code(), Some(0), "{}", text(&svg));
    let body = String::from_utf8_lossy(&svg.stdout);
    let has_dot = std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_dot {
        assert!(body.contains("<svg"), "{body}");
        // Each label line is its own text element: no literal "\n" drawn.
        assert!(
            body.contains(">firewall&#45;ipfilter.click<")
                || body.contains(">firewall-ipfilter.click<"),
            "{body}"
        );
        assert!(!body.contains("\\n"), "{body}");
    } else {
        eprintln!("note: Graphviz `dot` not installed: checking the DOT fallback only");
        assert!(body.starts_with("digraph"), "{body}");
        assert!(text(&svg).contains("not installed"));
    }
}
