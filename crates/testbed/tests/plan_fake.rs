//! Orchestration against the recording fakes: no root needed.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use hostnet::fake::{Call, RecordingNetOps, RecordingProcesses};
use hostnet::ledger;
use testbed::{plan, Action, FakeLauncher, NetnsDriver, Ops, UpError, UpOptions};
use vmdriver::fake::FakeHypervisors;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pycoo/ClickOnOSvManager")
}

fn xyz() -> topology::Topology {
    let opts = topology::LoadOptions {
        check_files: false,
        ..Default::default()
    };
    topology::load_with(&fixture(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn plan_xyz_layout() {
    let topo = xyz();
    let p = plan(
        &topo,
        &topo.variants[0],
        "cb1a2b",
        "sfc-1a2b",
        Path::new("/run/coo-bench/sfc-1a2b"),
    )
    .unwrap();
    let ns: Vec<String> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateNetns { name } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ns,
        [
            "cb1a2b",
            "cb1a2b-x",
            "cb1a2b-y",
            "cb1a2b-z",
            "cb1a2b-IP",
            "cb1a2b-OP1"
        ]
    );
    let bridges: Vec<String> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateBridge { name, netns, .. } => {
                assert_eq!(netns.as_str(), "cb1a2b");
                Some(name.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        bridges,
        ["cb1a2b-br0", "cb1a2b-br1", "cb1a2b-br2", "cb1a2b-br3"]
    );
    // PyCOO interface order and the SFC's MACs.
    let x = p.testbed.vnf("x").unwrap();
    let names: Vec<&str> = x.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["cb1a2b-x-0", "cb1a2b-x-1"]);
    assert_eq!(x.interfaces[0].mac.to_string(), "52:54:00:6c:22:13");
    assert_eq!(x.interfaces[0].bridge.as_str(), "cb1a2b-br0");
    assert_eq!(x.interfaces[1].mac.to_string(), "52:54:00:6c:22:14");
    assert_eq!(x.interfaces[1].bridge.as_str(), "cb1a2b-br1");
    let z = p.testbed.vnf("z").unwrap();
    assert_eq!(z.interfaces[1].mac.to_string(), "52:54:00:6c:22:18");
    assert_eq!(z.interfaces[1].bridge.as_str(), "cb1a2b-br3");
    assert!(p
        .testbed
        .vnfs
        .iter()
        .flat_map(|v| &v.interfaces)
        .all(|i| i.address.is_none()));
    // Addresses only on source and sink, inside 198.18.0.0/15.
    let bench: hostnet::Ipv4Cidr = "198.18.0.0/15".parse().unwrap();
    let addrs: Vec<(String, String)> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::AddAddress { netns, addr, .. } => {
                assert!(bench.contains(addr.addr));
                Some((netns.to_string(), addr.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        addrs,
        [
            ("cb1a2b-IP".to_owned(), "198.18.0.1/15".to_owned()),
            ("cb1a2b-OP1".to_owned(), "198.19.0.1/15".to_owned())
        ]
    );
    assert_eq!(p.testbed.source.bridge.as_str(), "cb1a2b-br0");
    assert_eq!(p.testbed.sinks[0].bridge.as_str(), "cb1a2b-br3");
    // Generated MACs are locally administered unicast.
    assert_eq!(p.testbed.source.mac.0[0] & 0x03, 0x02);
    // Agents come last, with interfaces in port order.
    let n = p.actions.len();
    let agents: Vec<&testbed::AgentSpec> = p.actions[n - 3..]
        .iter()
        .map(|a| match a {
            Action::StartAgent(s) => s,
            other => panic!("expected agent, got {other:?}"),
        })
        .collect();
    assert_eq!(agents[1].vnf, "y");
    assert_eq!(
        agents[1]
            .interfaces
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>(),
        ["cb1a2b-y-0", "cb1a2b-y-1"]
    );
    assert_eq!(
        agents[1].socket,
        Path::new("/run/coo-bench/sfc-1a2b/agents/y.sock")
    );
    assert_eq!(
        agents[1].function,
        Path::new("/run/coo-bench/sfc-1a2b/y/func.click")
    );
    // Netfilter off on every bridge, IPv6 off in every namespace.
    let nf = p
        .actions
        .iter()
        .filter(|a| matches!(a, Action::DisableBridgeNetfilter { .. }))
        .count();
    assert_eq!(nf, 4);
    let v6 = p
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Sysctl { key, .. } if key == "net/ipv6/conf/default/disable_ipv6"))
        .count();
    assert_eq!(v6, 6);
}

#[test]
fn plan_rejects_bad_prefix() {
    let topo = xyz();
    assert!(matches!(
        plan(&topo, &topo.variants[0], "xx12", "r", Path::new("/tmp")),
        Err(testbed::PlanError::BadPrefix(_))
    ));
}

fn opts(root: &Path) -> UpOptions {
    UpOptions {
        run_root: Some(root.to_owned()),
        ..Default::default()
    }
}

#[test]
fn up_then_down_with_fakes_leaves_nothing() {
    let topo = xyz();
    let root = tempfile::tempdir().unwrap();
    let net = RecordingNetOps::default();
    let procs = RecordingProcesses::default();
    let launcher = FakeLauncher::default();
    let vms = FakeHypervisors::new();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &vms,
    };
    let host = NetnsDriver {
        launcher: &launcher,
    };
    let tb = testbed::up_with(&topo, &opts(root.path()), &ops, &host).unwrap();
    assert!(tb.run_id.starts_with("sfc-"));
    assert_eq!(launcher.started().len(), 3);
    // Every agent gets the run's token file (0600), which clients read back.
    let token_file = tb.run_dir.join(testbed::TOKEN_FILE);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(launcher
        .started()
        .iter()
        .all(|s| s.token_file.as_deref() == Some(token_file.as_path())));
    assert!(testbed::agent_token(&tb).unwrap().is_some());
    let (ns, links) = net.live_objects();
    assert_eq!(ns.len(), 6);
    // 4 bridges + 9 veth pairs (6 VNF ports, source, sink, the source→sink ceiling veth),
    // both ends.
    assert_eq!(links.len(), 22);
    // testbed.json round-trips; the topology id resolves to the single run.
    let loaded = testbed::load_in(root.path(), "sfc").unwrap();
    assert_eq!(loaded, tb);
    assert!(tb.vnfs.iter().all(|v| v.agent.pid.is_some()));
    let st = testbed::status_in(root.path()).unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].state, "up");

    let rep = testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    assert!(rep.removed > 0);
    let (ns, links) = net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    assert_eq!(procs.stopped().len(), 3);
    assert!(!root.path().join(&tb.run_id).exists());
    // Nothing deleted that the ledger did not list; namespaces deleted in reverse order.
    let deletes: Vec<String> = net
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::DeleteNetns(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        deletes.first().map(String::as_str),
        Some(&*format!("{}-OP1", tb.prefix))
    );
    assert_eq!(deletes.last().map(String::as_str), Some(tb.prefix.as_str()));
}

#[test]
fn failure_mid_up_rolls_back() {
    let topo = xyz();
    let root = tempfile::tempdir().unwrap();
    let net = RecordingNetOps::default();
    let procs = RecordingProcesses::default();
    let launcher = FakeLauncher::default();
    let vms = FakeHypervisors::new();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &vms,
    };
    let host = NetnsDriver {
        launcher: &launcher,
    };
    // The prefix is random: fail the sink's address (late in the plan) under every prefix.
    for hex in 0..=0xffffu32 {
        net.fail_on(&format!("add_address cb{hex:04x}-OP1-0"));
    }
    let err = testbed::up_with(&topo, &opts(root.path()), &ops, &host).unwrap_err();
    assert!(matches!(err, UpError::Net(_)), "{err}");
    let (ns, links) = net.live_objects();
    assert!(ns.is_empty() && links.is_empty(), "{ns:?} {links:?}");
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
}

#[test]
fn cancel_flag_aborts_and_cleans() {
    let topo = xyz();
    let root = tempfile::tempdir().unwrap();
    let net = RecordingNetOps::default();
    let procs = RecordingProcesses::default();
    let launcher = FakeLauncher::default();
    let vms = FakeHypervisors::new();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &vms,
    };
    let host = NetnsDriver {
        launcher: &launcher,
    };
    let mut o = opts(root.path());
    o.cancel = Some(Arc::new(AtomicBool::new(true)));
    let err = testbed::up_with(&topo, &o, &ops, &host).unwrap_err();
    assert!(matches!(err, UpError::Interrupted));
    assert!(net.live_objects().0.is_empty());
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
}

#[test]
fn two_runs_of_one_topology_get_distinct_prefixes_and_clean_removes_both() {
    let topo = xyz();
    let root = tempfile::tempdir().unwrap();
    let net = RecordingNetOps::default();
    let procs = RecordingProcesses::default();
    let launcher = FakeLauncher::default();
    let vms = FakeHypervisors::new();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &vms,
    };
    let host = NetnsDriver {
        launcher: &launcher,
    };
    let a = testbed::up_with(&topo, &opts(root.path()), &ops, &host).unwrap();
    let b = testbed::up_with(&topo, &opts(root.path()), &ops, &host).unwrap();
    assert_ne!(a.prefix, b.prefix);
    assert_ne!(a.run_id, b.run_id);
    // The topology id is now ambiguous.
    assert!(matches!(
        testbed::load_in(root.path(), "sfc"),
        Err(UpError::Ambiguous { .. })
    ));
    assert_eq!(net.live_objects().0.len(), 12);
    let rep = testbed::clean_with(root.path(), &ops, false).unwrap();
    assert_eq!(rep.removed_runs.len(), 2);
    assert!(rep.failed.is_empty());
    assert!(net.live_objects().0.is_empty());
    assert!(net.live_objects().1.is_empty());
    // Ledgers were complete.
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
    let _ = ledger::entries;
}
