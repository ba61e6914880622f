//! Isolation: two `up` of the same topology at once (same run root) get independent run
//! ids, prefixes and namespaces, both answer, downing one leaves the other intact; and the
//! network-safety rule holds for both: no testbed object, address or route in the host
//! namespace, no default route in any testbed namespace, addresses only in 198.18.0.0/15
//! on the source and sink.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::*;

fn namespaces(tb: &Value) -> Vec<String> {
    let mut v = vec![tb["switch_netns"].as_str().unwrap().to_owned()];
    for x in tb["vnfs"].as_array().unwrap() {
        v.push(x["netns"].as_str().unwrap().to_owned());
    }
    v.push(tb["source"]["netns"].as_str().unwrap().to_owned());
    for s in tb["sinks"].as_array().unwrap() {
        v.push(s["netns"].as_str().unwrap().to_owned());
    }
    v
}

fn sockets(tb: &Value) -> Vec<(String, std::path::PathBuf)> {
    tb["vnfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let ep = v["agent"]["endpoint"].as_str().unwrap();
            (
                v["id"].as_str().unwrap().to_owned(),
                ep.strip_prefix("unix:").unwrap().into(),
            )
        })
        .collect()
}

fn assert_agents_answer(tb: &Value) {
    for (vnf, sock) in sockets(tb) {
        let (code, body) = http_unix(
            &sock,
            "GET",
            "/click_plugin/version",
            "",
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("agent {vnf} of {}: {e}", tb["run_id"]));
        assert_eq!(code, 200, "agent {vnf}: {body}");
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn in_bench_range(addr: &str) -> bool {
    let ip: std::net::Ipv4Addr = addr.parse().unwrap();
    let o = ip.octets();
    o[0] == 198 && (o[1] == 18 || o[1] == 19)
}

/// The safety rule for one testbed, checked with `ip` (independently of hostnet).
fn assert_safety(tb: &Value) {
    let prefix = tb["prefix"].as_str().unwrap();
    // Host namespace: no link, address or route of ours.
    let host_links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    assert!(host_links.is_empty(), "host links: {host_links:?}");
    for line in ip(&["-o", "addr", "show"]).lines() {
        assert!(
            !line.contains(prefix),
            "host address on a testbed link: {line}"
        );
    }
    for line in ip(&["route", "show", "table", "all"]).lines() {
        assert!(
            !line.contains(prefix),
            "host route via a testbed link: {line}"
        );
    }
    let edge: BTreeSet<String> = std::iter::once(tb["source"]["netns"].as_str().unwrap())
        .chain(
            tb["sinks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["netns"].as_str().unwrap()),
        )
        .map(str::to_owned)
        .collect();
    for ns in namespaces(tb) {
        for line in ip(&["-n", &ns, "route", "show", "table", "all"]).lines() {
            assert!(
                !line.starts_with("default"),
                "default route in {ns}: {line}"
            );
        }
        for line in ip(&["-n", &ns, "-6", "route", "show", "table", "all"]).lines() {
            assert!(
                !line.starts_with("default"),
                "IPv6 default route in {ns}: {line}"
            );
        }
        for line in ip(&["-n", &ns, "-o", "-4", "addr", "show"]).lines() {
            let mut it = line.split_whitespace();
            let dev = it.nth(1).unwrap();
            let addr = line
                .split_whitespace()
                .skip_while(|w| *w != "inet")
                .nth(1)
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .to_owned();
            if dev == "lo" {
                assert_eq!(addr, "127.0.0.1", "{ns}: {line}");
                continue;
            }
            assert!(
                in_bench_range(&addr),
                "{ns}: address outside 198.18.0.0/15: {line}"
            );
            assert!(
                edge.contains(&ns),
                "address on a VNF/switch namespace {ns}: {line}"
            );
        }
        // Every link in our namespaces is ours (or loopback): no stray host interfaces.
        for line in ip(&["-n", &ns, "-o", "link", "show"]).lines() {
            let name = line.split(": ").nth(1).unwrap().split('@').next().unwrap();
            assert!(
                name == "lo" || name.starts_with(prefix),
                "foreign link {name} in {ns}"
            );
        }
    }
}

fn up_json(root: &Path) -> std::process::Child {
    cmd(root)
        .args(["up", fixture().to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn reliability_two_concurrent_ups_are_independent_and_safe() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    // Same topology, same run root, started at the same moment.
    let (a, b) = (up_json(rr.path()), up_json(rr.path()));
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(oa.status.success(), "up A: {}", text(&oa.stderr));
    assert!(ob.status.success(), "up B: {}", text(&ob.stderr));
    let ta: Value = serde_json::from_slice(&oa.stdout).unwrap();
    let tb: Value = serde_json::from_slice(&ob.stdout).unwrap();
    assert_ne!(ta["run_id"], tb["run_id"]);
    assert_ne!(ta["prefix"], tb["prefix"]);
    let (na, nb): (BTreeSet<String>, BTreeSet<String>) = (
        namespaces(&ta).into_iter().collect(),
        namespaces(&tb).into_iter().collect(),
    );
    assert!(na.is_disjoint(&nb), "shared namespaces: {na:?} {nb:?}");
    let sa: BTreeSet<_> = sockets(&ta).into_iter().map(|s| s.1).collect();
    let sb: BTreeSet<_> = sockets(&tb).into_iter().map(|s| s.1).collect();
    assert!(sa.is_disjoint(&sb));
    assert_agents_answer(&ta);
    assert_agents_answer(&tb);
    assert_safety(&ta);
    assert_safety(&tb);
    // Bridges of one run have only that run's ports.
    for t in [&ta, &tb] {
        let sw = t["switch_netns"].as_str().unwrap();
        let prefix = t["prefix"].as_str().unwrap();
        for line in ip(&["-n", sw, "-o", "link", "show"]).lines() {
            if let Some(m) = line.split(" master ").nth(1) {
                let master = m.split_whitespace().next().unwrap();
                assert!(master.starts_with(prefix), "{line}");
            }
        }
    }

    let run_a = ta["run_id"].as_str().unwrap().to_owned();
    let run_b = tb["run_id"].as_str().unwrap().to_owned();
    let snap_b = snapshot(rr.path(), &run_b);
    let snap_a = snapshot(rr.path(), &run_a);
    let out = run(rr.path(), &["down", &run_a]);
    assert!(out.status.success(), "down A: {}", text(&out.stderr));
    assert!(
        residue_of_run(rr.path(), &run_a, &snap_a).is_empty(),
        "{:?}",
        residue_of_run(rr.path(), &run_a, &snap_a)
    );
    // B untouched: same namespaces (same inodes), agents alive and answering.
    assert_eq!(
        netns_with_prefix(snap_b.prefix.as_deref().unwrap()),
        snap_b.netns
    );
    assert_agents_answer(&tb);
    assert_safety(&tb);
    let st = status_json(rr.path());
    let runs = st.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{st}");
    assert_eq!(runs[0]["run_id"], run_b.as_str());
    assert_eq!(runs[0]["state"], "up");
    for a in runs[0]["agents"].as_array().unwrap() {
        assert_eq!(a["alive"], true, "{a}");
        assert_eq!(a["answers"], true, "{a}");
    }
    // Downing by topology id now resolves to the only remaining run.
    let out = run(rr.path(), &["down", "sfc"]);
    assert!(out.status.success(), "down B: {}", text(&out.stderr));
    let left = residue(rr.path(), &run_b, &snap_b);
    assert!(left.is_empty(), "{left:#?}");
}

/// Residue of one run while other runs may still be present under the same root.
fn residue_of_run(root: &Path, run_id: &str, snap: &Snapshot) -> Vec<String> {
    residue(root, run_id, snap)
        .into_iter()
        .filter(|r| !r.starts_with("entry under run root") && !r.starts_with("process"))
        .chain(
            // Processes of this run only: inside its namespaces, or naming its directory.
            processes_matching(
                &root.join(run_id).to_string_lossy(),
                &snap.netns.iter().filter_map(|n| n.inode).collect(),
            )
            .into_iter()
            .map(|(p, c)| format!("process {p}: {c}")),
        )
        .collect()
}

/// Two testbeds of the same topology with the same id given twice at once: exactly one
/// wins, the loser fails cleanly and removes nothing of the winner.
#[test]
fn reliability_same_run_id_race_has_one_winner() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let id = format!("race-{}", tag());
    let spawn = || {
        cmd(rr.path())
            .args(["up", fixture().to_str().unwrap(), "--run-id", &id, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let wins = [&oa, &ob].iter().filter(|o| o.status.success()).count();
    assert_eq!(
        wins,
        1,
        "A: {:?} {}\nB: {:?} {}",
        oa.status,
        text(&oa.stderr),
        ob.status,
        text(&ob.stderr)
    );
    let (win, lose) = if oa.status.success() {
        (&oa, &ob)
    } else {
        (&ob, &oa)
    };
    let err = text(&lose.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("error"), "{err}");
    let t: Value = serde_json::from_slice(&win.stdout).unwrap();
    assert_agents_answer(&t);
    assert_safety(&t);
    let snap = snapshot(rr.path(), &id);
    assert_eq!(snap.netns.len(), 6);
    let out = run(rr.path(), &["down", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = residue(rr.path(), &id, &snap);
    assert!(left.is_empty(), "{left:#?}");
}

/// Two `run --quick` of the same topology at once: both finish (exit 0, or 1 naming what the
/// other run's load left unsound), each with its own report
/// whose numbers come only from its own testbed (no NF counted more frames than its source
/// sent, no sink received more), and both testbeds are gone afterwards.
#[test]
fn reliability_two_concurrent_runs_have_independent_results() {
    if !root_or_skip() {
        return;
    }
    let rr = RunRoot::new();
    let outs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let spawn = |out: &Path| {
        cmd(rr.path())
            .env("COO_BENCH_COO_CLICK", env!("CARGO_BIN_EXE_coo-click"))
            .args([
                "run",
                measured_fixture().to_str().unwrap(),
                "--quick",
                "--out",
            ])
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = outs.iter().map(|o| spawn(o.path())).collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (i, (o, out)) in outputs.iter().zip(&outs).enumerate() {
        let err = text(&o.stderr);
        // Two runs on the same 2 CPUs disturb each other: a run may end without a sound NDR
        // for some variant, and then it must say so and exit 1 (never 0, never a crash).
        match o.status.code() {
            Some(0) => {}
            Some(1) => assert!(
                err.contains("run did not yield a sound result for every variant"),
                "run {i}: exit 1 without the list of problems: {err}"
            ),
            c => panic!("run {i}: exit {c:?}: {err}"),
        }
        assert!(!err.contains("panicked"), "run {i}: {err}");
        let reports: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .map(|e| e.path().join("report.json"))
            .filter(|p| p.exists())
            .collect();
        assert_eq!(reports.len(), 1, "run {i}");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap();
        let backed = assert_rates_backed_by_trials(&report);
        let mut trials = 0;
        for v in report["variants"].as_array().unwrap() {
            for res in v["results"].as_array().into_iter().flatten() {
                for rep in res["repetitions"].as_array().into_iter().flatten() {
                    for t in rep["trials"].as_array().into_iter().flatten() {
                        trials += 1;
                        let sent = t["sent"].as_u64().unwrap();
                        let recv = t["received"].as_u64().unwrap();
                        assert!(recv <= sent, "run {i}: received {recv} > sent {sent}");
                        for c in t["nf_counters"].as_array().into_iter().flatten() {
                            // A few readiness frames besides the trial's own.
                            let pin = c["packets_in"].as_u64().unwrap_or(0);
                            assert!(
                                pin <= sent + 100,
                                "run {i}: {} counted {pin} frames, source sent {sent}: {t}",
                                c["vnf"]
                            );
                        }
                    }
                }
            }
        }
        eprintln!("run {i}: {trials} trials, {backed} NDR/PDR rates backed by passing trials");
    }
    let left: Vec<_> = std::fs::read_dir(rr.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "run dirs left: {left:?}");
}
