//! Root acceptance tests of the netns testbed: a frame from the source through x, y, z to
//! the sink (inside the namespaces only), and two concurrent testbeds of one topology.
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::time::Duration;

use testbed::Testbed;
use testbed_support::*;

/// Start every VNF's engine with `engine`; `Err(reason)` when the agent cannot.
fn start_all(tb: &Testbed, engine: &str) -> Result<(), String> {
    for v in &tb.vnfs {
        let (st, body) = agent_call(tb, &v.id, "POST", "/v1/engine", engine);
        if st != 200 {
            return Err(format!("{}: POST /v1/engine {engine}: {st} {body}", v.id));
        }
        let (st, body) = agent_call(tb, &v.id, "POST", "/click_plugin/start", "");
        if st != 200 {
            return Err(format!("{}: start with {engine}: {st} {body}", v.id));
        }
    }
    Ok(())
}

fn stop_all(tb: &Testbed) {
    for v in &tb.vnfs {
        let _ = agent_call(tb, &v.id, "POST", "/click_plugin/stop", "");
    }
}

#[test]
fn testbed_chain_frame_goes_source_x_y_z_sink() {
    if !root_or_skip() {
        return;
    }
    let topo = pycoo_xyz();
    let root = tempfile::tempdir().unwrap();
    let up = Up {
        tb: testbed::up(&topo, &options(root.path())).unwrap(),
        root: root.path().to_owned(),
    };
    let tb = &up.tb;
    // Without engines running nothing crosses a VNF: the namespaces are the only path.
    let leaked = send_through_chain(tb, b"coo-bench-no-engine", 3, Duration::from_millis(300));
    assert_eq!(leaked, 0, "frames reached the sink with no engine running");

    let mut reasons = Vec::new();
    for engine in ["coo-click", "kernel-forward"] {
        match start_all(tb, engine) {
            Ok(()) => {}
            Err(r) => {
                stop_all(tb);
                reasons.push(r);
                continue;
            }
        }
        let marker = format!("coo-bench-e2e-{engine}-{}", tb.prefix);
        let got = send_through_chain(tb, marker.as_bytes(), 5, Duration::from_secs(3));
        stop_all(tb);
        assert!(
            got >= 1,
            "{engine}: no frame reached the sink through x, y, z"
        );
        eprintln!("{engine}: {got}/5 frames source → x → y → z → sink");
        for r in &reasons {
            eprintln!("note: an earlier engine could not run: {r}");
        }
        // The frames crossed every VNF's engine.
        for v in &tb.vnfs {
            let (st, body) = agent_call(tb, &v.id, "GET", "/click_plugin/running", "");
            assert_eq!(st, 200, "{body}");
        }
        return;
    }
    eprintln!("skipped: no engine could forward: {}", reasons.join("; "));
}

#[test]
fn testbed_two_concurrent_testbeds_of_one_topology() {
    if !root_or_skip() {
        return;
    }
    let topo = pycoo_xyz();
    let root = tempfile::tempdir().unwrap();
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| testbed::up(&topo, &options(root.path())));
        let hb = s.spawn(|| testbed::up(&topo, &options(root.path())));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let a = Up {
        tb: a.unwrap(),
        root: root.path().to_owned(),
    };
    let b = Up {
        tb: b.unwrap(),
        root: root.path().to_owned(),
    };
    assert_ne!(a.tb.prefix, b.tb.prefix);
    assert_ne!(a.tb.run_id, b.tb.run_id);
    for up in [&a, &b] {
        assert_eq!(netns_with_prefix(&up.tb.prefix).len(), 6);
        for v in &up.tb.vnfs {
            let (st, _) = agent_call(&up.tb, &v.id, "GET", "/click_plugin/version", "");
            assert_eq!(st, 200);
        }
    }
    // Same MACs in both (from the descriptor), yet isolated: a frame sent in A with no
    // engine never shows up in B's sink.
    assert_eq!(
        a.tb.vnfs[0].interfaces[0].mac,
        b.tb.vnfs[0].interfaces[0].mac
    );
    let st = testbed::status_in(root.path()).unwrap();
    assert_eq!(st.len(), 2);
    assert!(st
        .iter()
        .all(|r| r.state == "up" && r.agents.iter().all(|g| g.alive && g.answers)));
    let (pa, pb) = (a.tb.prefix.clone(), b.tb.prefix.clone());
    testbed::down_in(root.path(), &a.tb.run_id).unwrap();
    assert!(netns_with_prefix(&pa).is_empty());
    assert_eq!(netns_with_prefix(&pb).len(), 6, "down of A touched B");
    drop(b);
    assert!(netns_with_prefix(&pb).is_empty());
}

/// The wiring alone (veths, MACs, bridges, port order), proven with kernel redirects the
/// test installs itself inside each VNF namespace (port 0 ⇄ port 1), independent of engines.
#[test]
fn testbed_chain_plumbing_with_tc_redirect() {
    if !root_or_skip() {
        return;
    }
    if hostnet::find_in_path("tc").is_none() {
        eprintln!("skipped: tc not installed (Debian iproute2)");
        return;
    }
    let topo = pycoo_xyz();
    let root = tempfile::tempdir().unwrap();
    let up = Up {
        tb: testbed::up(&topo, &options(root.path())).unwrap(),
        root: root.path().to_owned(),
    };
    let tb = &up.tb;
    for v in &tb.vnfs {
        let (a, b) = (v.interfaces[0].name.as_str(), v.interfaces[1].name.as_str());
        for (from, to) in [(a, b), (b, a)] {
            let ns = v.netns.as_str();
            let run = |args: &[&str]| {
                let out = std::process::Command::new("tc")
                    .arg("-n")
                    .arg(ns)
                    .args(args)
                    .output()
                    .unwrap();
                (
                    out.status.success(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            };
            let (ok, err) = run(&["qdisc", "add", "dev", from, "ingress"]);
            assert!(ok, "{err}");
            let (ok, err) = run(&[
                "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match",
                "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", to,
            ]);
            if !ok {
                eprintln!("skipped: kernel cannot redirect with tc u32+mirred: {err}");
                return;
            }
        }
    }
    let marker = format!("coo-bench-plumbing-{}", tb.prefix);
    let got = send_through_chain(tb, marker.as_bytes(), 5, Duration::from_secs(3));
    assert!(
        got >= 1,
        "no frame reached the sink through the x, y, z namespaces"
    );
    eprintln!("plumbing: {got}/5 frames source → x → y → z → sink");
}

/// PyCOO descriptors with long names, fan-in (two VNFs feeding one Outgoing Point) and keys
/// PyCOO ignores are instantiated unchanged; frames split by the first VNF reach the sink
/// through both branches.
#[test]
fn testbed_pycoo_long_names_and_fan_in() {
    if !root_or_skip() {
        return;
    }
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pycoo/LongNames");
    let topo = topology::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!topo.warnings.is_empty(), "unknown keys should warn");
    let root = tempfile::tempdir().unwrap();
    let up = Up {
        tb: testbed::up(&topo, &options(root.path())).unwrap(),
        root: root.path().to_owned(),
    };
    let tb = &up.tb;
    // The user's names stay; host names fit Linux's 15 bytes.
    let ids: Vec<&str> = tb.vnfs.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["firewall", "forwarder-one", "forwarder-two"]);
    for v in &tb.vnfs {
        for itf in &v.interfaces {
            assert!(itf.name.as_str().len() <= 15, "{}", itf.name);
        }
    }
    let out = tb
        .bridges
        .iter()
        .find(|b| b.link == "bridge-out-long")
        .unwrap();
    assert_eq!(out.from, "forwarder-one,forwarder-two");
    if let Err(reason) = start_all(tb, "coo-click") {
        stop_all(tb);
        eprintln!("skipped: coo-click could not run: {reason}");
        return;
    }
    let marker = format!("coo-bench-fan-in-{}", tb.prefix);
    let got = send_through_chain(tb, marker.as_bytes(), 6, Duration::from_secs(3));
    // Round robin: half the frames cross each forwarder, all of them reach the one sink.
    assert!(
        got >= 2,
        "only {got}/6 frames reached the sink through both branches"
    );
    eprintln!("{got}/6 frames source → firewall → forwarder-one|forwarder-two → sink");

    // Per-VNF control from the command line, by the user's VNF name.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_coo-bench"))
            .args(args)
            .env("COO_BENCH_RUN_DIR", root.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let run = tb.run_id.as_str();
    let (code, out) = cli(&["vnf", "forwarder-two", "--run", run, "status"]);
    assert_eq!(code, Some(0), "{out}");
    let health: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(health["running"], true, "{out}");
    // modify: a function naming a port the VNF lacks is refused before anything changes.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.click");
    std::fs::write(&bad, "FromDPDKDevice(0) -> ToDPDKDevice(5);\n").unwrap();
    let (code, out) = cli(&["modify", run, "forwarder-two", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("click-port-out-of-range"), "{out}");
    let good = dir.path().join("good.click");
    let text = "FromDPDKDevice(0) -> c :: Counter -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> ToDPDKDevice(0);\n";
    std::fs::write(&good, text).unwrap();
    let (code, out) = cli(&["modify", run, "forwarder-two", good.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = cli(&["vnf", "forwarder-two", "--run", run, "function"]);
    assert_eq!((code, out.trim()), (Some(0), text.trim()));
    let (code, out) = cli(&["vnf", "forwarder-two", "--run", run, "stop"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = cli(&["vnf", "nosuch", "--run", run, "status"]);
    assert_eq!(code, Some(2), "{out}");
    stop_all(tb);
}
