//! Root tests of teardown after interruption: SIGKILL of `coo-bench up` then `clean`
//! leaves zero residue; SIGINT during `up` removes what was made by itself.
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hostnet::ledger;
use testbed_support::*;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pycoo/ClickOnOSvManager")
}

fn spawn_up(root: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .arg("up")
        .arg(fixture())
        .env("COO_BENCH_RUN_DIR", root)
        .env("COO_BENCH_COO_VNF", env!("CARGO_BIN_EXE_coo-vnf"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Wait until the run's ledger lists at least `n` objects (so we interrupt mid-way).
fn wait_for_ledger(root: &Path, n: usize) -> Option<(String, std::path::PathBuf)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(runs) = testbed::runs::list_runs(root) {
            for r in runs {
                let lp = root.join(&r).join("ledger");
                if ledger::entries(&lp).map(|e| e.len() >= n).unwrap_or(false) {
                    return Some((r, lp));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// Objects a run made: namespace names and agent pids (with start times).
fn recorded(lp: &Path) -> (Vec<String>, Vec<hostnet::ProcId>) {
    let text = std::fs::read_to_string(lp).unwrap();
    let mut ns = Vec::new();
    let mut pids = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let o = &v["object"];
        match o["kind"].as_str() {
            Some("netns") => ns.push(o["name"].as_str().unwrap().to_owned()),
            Some("process") => pids.push(hostnet::ProcId {
                pid: o["pid"].as_i64().unwrap() as i32,
                start_time: o["start_time"].as_u64().unwrap(),
            }),
            _ => {}
        }
    }
    (ns, pids)
}

fn prefix_of(ns: &[String]) -> String {
    ns[0].clone()
}

#[test]
fn testbed_sigkill_during_up_then_clean_leaves_nothing() {
    if !root_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let mut child = spawn_up(root.path());
    // Kill once some agents may be running: after the 20th ledger line (netns, bridges,
    // veths, first agent) — wherever that falls, `clean` must remove all of it.
    let found = wait_for_ledger(root.path(), 20);
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let (_run, lp) = found.expect("up never wrote its ledger");
    let (ns, pids) = recorded(&lp);
    let prefix = prefix_of(&ns);
    assert!(
        !netns_with_prefix(&prefix).is_empty(),
        "nothing was created before the kill"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .arg("clean")
        .env("COO_BENCH_RUN_DIR", root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clean failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Zero residue: namespaces (and with them every link and bridge), processes, run dir.
    assert!(
        netns_with_prefix(&prefix).is_empty(),
        "{:?}",
        netns_with_prefix(&prefix)
    );
    for p in &pids {
        assert!(!p.alive(), "agent {} survived clean", p.pid);
    }
    let host_links = hostnet::netns::run_in(None, || {
        std::fs::read_dir("/sys/class/net").unwrap().count()
    })
    .unwrap();
    assert!(host_links > 0);
    let ours = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .count();
    assert_eq!(ours, 0);
    assert!(
        testbed::runs::list_runs(root.path()).unwrap().is_empty(),
        "run dir / ledger left"
    );
    // No process of ours left anywhere: every coo-vnf whose socket lived under this root.
    let root_s = root.path().to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd);
            assert!(
                !(cmd.contains("coo-vnf") && cmd.contains(&root_s)),
                "left: {cmd}"
            );
        }
    }
}

#[test]
fn testbed_sigint_during_up_removes_what_was_made() {
    if !root_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let child = spawn_up(root.path());
    let found = wait_for_ledger(root.path(), 8);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let (_, lp) = found.expect("up never wrote its ledger");
    let prefix_guess = std::fs::read_to_string(lp.parent().unwrap().join("prefix")).ok();
    if out.status.success() {
        // `up` finished before the signal landed; nothing to check but a normal down.
        eprintln!("note: up completed before SIGINT; cleaning");
        let _ = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
            .arg("clean")
            .env("COO_BENCH_RUN_DIR", root.path())
            .status();
    }
    if let Some(p) = prefix_guess {
        assert!(netns_with_prefix(p.trim()).is_empty());
    }
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
}
