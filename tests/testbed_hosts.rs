//! A vm testbed spread over two SIMULATED hosts (root; libvirt is the recording fake, one
//! per host URI): each host is a network namespace of this machine holding its underlay
//! address, the controller has one too, and an underlay namespace bridges them (all in
//! 198.18.200.0/24, inside these namespaces only). The real part is the network: per-host
//! switch namespaces, taps where each host's QEMU would open them, and VXLAN tunnels over the
//! simulated underlay, checked by passing frames across them; `down`, and `clean` after a
//! SIGKILL of `up`, leave nothing on either simulated host.
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use hostnet::{IfName, Ipv4Cidr, MacAddr, NetOps, NetnsName, RealProcesses, RtNetOps, VethEnd};
use testbed::{Attachment, DriverKind, FakeAgents, Ops, Testbed, UpOptions, VmDriver};
use testbed_support::child_up::{self, ChildUp};
use testbed_support::ndr;
use testbed_support::sim_hosts::{ifn, SimHosts};
use testbed_support::*;
use vmdriver::fake::FakeHypervisors;
use vmdriver::vnf::VmBackend;

const URI_A: &str = "qemu+tcp://198.18.200.2/system";
const URI_B: &str = "qemu+tcp://198.18.200.3/system";

fn backend(hyp: &FakeHypervisors) -> VmBackend {
    vmdriver::fake::backend(hyp.local.clone())
}

fn two_hosts() -> topology::Topology {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/pycoo-xyz-two-hosts.json");
    topology::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

/// `up` of the split chain on the simulated hosts (fake libvirt, real network).
fn up_split(
    sim: &SimHosts,
    root: &Path,
    hyp: &FakeHypervisors,
) -> Result<Testbed, testbed::UpError> {
    let net = RtNetOps::new().unwrap();
    let procs = RealProcesses::default();
    let be = backend(hyp);
    let agents = FakeAgents::default();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: hyp,
    };
    let driver = VmDriver {
        backend: &be,
        agents: &agents,
        vms: hyp,
        underlay: Some(sim.underlay()),
    };
    let opts = UpOptions {
        run_root: Some(root.to_owned()),
        driver: Some(DriverKind::Vm),
        ..Default::default()
    };
    testbed::up_with(&two_hosts(), &opts, &ops, &driver)
}

/// A veth from a new namespace `<tag>-p<i>` onto `bridge` in `switch`, as an attachment
/// frames can be sent from or counted at.
fn probe(sim: &SimHosts, i: u8, switch: &NetnsName, bridge: &IfName) -> Attachment {
    let net = RtNetOps::new().unwrap();
    let pns = sim.ns(&format!("p{i}"));
    net.create_netns(&pns).unwrap();
    let name = ifn(&format!("{}p{i}", sim.tag));
    let mac = MacAddr([0x02, 0xcc, 0, 0, 0, i]);
    net.create_veth(
        &VethEnd {
            name: name.clone(),
            netns: Some(pns.clone()),
            mac: Some(mac),
        },
        &VethEnd {
            name: name.clone(),
            netns: Some(switch.clone()),
            mac: None,
        },
    )
    .unwrap();
    net.set_bridge_port(Some(switch), &name, bridge).unwrap();
    net.set_up(Some(switch), &name).unwrap();
    net.set_up(Some(&pns), &name).unwrap();
    Attachment {
        id: format!("probe{i}"),
        netns: pns.clone(),
        netns_path: pns.path(),
        ifname: name,
        mac,
        ip: Ipv4Cidr {
            addr: Ipv4Addr::new(198, 19, 0, 200 + i),
            prefix_len: 15,
        },
        bridge: bridge.clone(),
    }
}

fn address_snapshot() -> (Vec<String>, Vec<String>) {
    let net = RtNetOps::new().unwrap();
    let mut a: Vec<String> = net
        .list_addresses(None)
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {}/{}", a.link, a.address, a.prefix_len))
        .collect();
    let mut r: Vec<String> = net
        .list_routes(None)
        .unwrap()
        .into_iter()
        .map(|r| format!("{:?}/{} {:?}", r.destination, r.prefix_len, r.link))
        .collect();
    a.sort();
    r.sort();
    (a, r)
}

#[test]
fn testbed_two_simulated_hosts_vxlan_frames_and_zero_residue() {
    if !root_or_skip() {
        return;
    }
    let sim = SimHosts::new();
    let root = tempfile::tempdir().unwrap();
    let hyp = FakeHypervisors::new();
    let before = address_snapshot();
    let t0 = Instant::now();
    let tb = up_split(&sim, root.path(), &hyp).unwrap();
    let up_ms = t0.elapsed().as_millis();
    let p = tb.prefix.clone();
    eprintln!("up of the split chain (network part, fake libvirt): {up_ms} ms");
    let lines: Vec<String> = std::fs::read_to_string(tb.run_dir.join("ledger"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = &v["object"];
            format!(
                "{}:{}",
                o["kind"].as_str().unwrap_or("?"),
                o["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    eprintln!("ledger ({} lines): {}", lines.len(), lines.join(" "));
    // Domains went to each host's hypervisor.
    assert_eq!(hyp.remote(URI_A).domains(), [format!("{p}-x")]);
    assert_eq!(
        hyp.remote(URI_B).domains(),
        [format!("{p}-y"), format!("{p}-z")]
    );
    // Network safety: the host namespace got no address or route.
    assert_eq!(address_snapshot(), before);
    // The tunnel of x→y sits on br1 in host a's switch namespace, as a real VXLAN device.
    let net = RtNetOps::new().unwrap();
    let h = |name: &str| tb.hosts.iter().find(|h| h.name == name).unwrap().clone();
    let (ha, hb) = (h("a"), h("b"));
    let tunnel = &tb.bridges.iter().find(|b| b.link == "br1").unwrap().tunnels[0];
    let links = net.list_links(Some(&ha.switch_netns)).unwrap();
    let dev = links
        .iter()
        .find(|l| l.name == tunnel.device.as_str())
        .unwrap();
    assert_eq!(dev.kind.as_deref(), Some("vxlan"));
    assert_eq!(dev.master.as_deref(), Some(format!("{p}-br1").as_str()));
    assert!(dev.up);
    // Frames cross the tunnels over the simulated underlay: the source to host a's br0
    // (controller → a), host b's br3 to the sink (b → controller), and the management
    // namespace to host b's management bridge (controller → b).
    let marker = b"coo-bench-vxlan-probe";
    let to_a = probe(&sim, 1, &ha.switch_netns, &tb.bridges[0].name);
    let mut t = tb.clone();
    t.sinks[0] = to_a;
    let got = send_frame_through_chain(
        &t,
        udp_frame(&tb, marker),
        marker,
        5,
        Duration::from_secs(3),
    );
    assert_eq!(got, 5, "source → host a over VXLAN");
    // NDR of the bare network path (no VNF): source → host a's br0 over the tunnel vs source
    // → a veth on the controller's own br0 (a local bridge). Both attached during both
    // searches, so each sees the same flooding.
    let local = probe(&sim, 4, &tb.switch_netns, &tb.bridges[0].name);
    let flows = ndr::flows(&two_hosts());
    let over_vxlan = ndr::short_ndr(&tb.source, &t.sinks[0], flows.clone(), 3e6);
    let over_bridge = ndr::short_ndr(&tb.source, &local, flows, 3e6);
    eprintln!(
        "NDR source → bridge, no VNF (74 B, 0.1 % loss): across the VXLAN {over_vxlan}, local bridge {over_bridge}"
    );
    assert!(over_vxlan.pps.is_some() && over_bridge.pps.is_some());
    let from_b = probe(&sim, 2, &hb.switch_netns, &tb.bridges[3].name);
    let mut t = tb.clone();
    t.source = from_b;
    let got = send_frame_through_chain(
        &t,
        udp_frame(&tb, marker),
        marker,
        5,
        Duration::from_secs(3),
    );
    assert_eq!(got, 5, "host b → sink over VXLAN");
    let mgmt = tb.mgmt.clone().unwrap();
    let to_b_mgmt = probe(&sim, 3, &hb.switch_netns, &mgmt.bridge);
    let mut t = tb.clone();
    t.source = Attachment {
        id: "mgmt".into(),
        netns: mgmt.netns.clone(),
        netns_path: mgmt.netns_path.clone(),
        ifname: mgmt.veth.clone(),
        mac: MacAddr([0x02, 0xcc, 0, 0, 1, 0]),
        ip: mgmt.address,
        bridge: mgmt.bridge.clone(),
    };
    t.sinks[0] = to_b_mgmt;
    let got = send_frame_through_chain(
        &t,
        udp_frame(&tb, marker),
        marker,
        5,
        Duration::from_secs(3),
    );
    assert_eq!(got, 5, "management → host b over VXLAN");

    // down: nothing of the run on either simulated host or here.
    let procs = RealProcesses::default();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &hyp,
    };
    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    assert!(
        netns_with_prefix(&p).is_empty(),
        "{:?}",
        netns_with_prefix(&p)
    );
    for site in ["a", "b", "c"] {
        assert!(
            sim.foreign_links(site).is_empty(),
            "{site}: {:?}",
            sim.foreign_links(site)
        );
    }
    assert!(hyp.remote(URI_A).domains().is_empty() && hyp.remote(URI_B).domains().is_empty());
    assert_eq!(address_snapshot(), before);
    for i in 1..=4 {
        let _ = net.delete_netns(&sim.ns(&format!("p{i}")));
    }

    // The same chain on one machine (no `hosts`), same back-ends, for the printed figure.
    let mut one = two_hosts();
    one.hosts.clear();
    for v in &mut one.vnfs {
        v.host = None;
    }
    let be = backend(&hyp);
    let agents = FakeAgents::default();
    let driver = VmDriver {
        backend: &be,
        agents: &agents,
        vms: &hyp,
        underlay: None,
    };
    let opts = UpOptions {
        run_root: Some(root.path().to_owned()),
        driver: Some(DriverKind::Vm),
        ..Default::default()
    };
    let t1 = Instant::now();
    let local = testbed::up_with(&one, &opts, &ops, &driver).unwrap();
    let one_ms = t1.elapsed().as_millis();
    assert!(local.hosts.is_empty() && local.bridges.iter().all(|b| b.tunnels.is_empty()));
    testbed::down_with(root.path(), &local.run_id, &ops).unwrap();
    eprintln!("network part of up, fake libvirt: split over 2 simulated hosts {up_ms} ms, one machine {one_ms} ms");
}

/// Child half of the SIGKILL test: `up` of the split chain, then wait to be killed.
#[test]
fn testbed_hosts_child_up_then_hang() {
    child_up::up_then_hang(Duration::from_secs(60), |sim, root| {
        let _ = up_split(sim, root, &FakeHypervisors::new());
    });
}

#[test]
fn testbed_hosts_sigkill_during_up_then_clean_leaves_nothing_on_either_host() {
    if !root_or_skip() {
        return;
    }
    let sim = SimHosts::new();
    // The split chain's ledger (42 lines): 6 namespaces (the controller's switch, management,
    // source and sink, and a switch namespace per host), 14 bridges and veths (7–20), 10
    // tunnel ends (21–30: each made in its simulated host's namespace, then moved), then per
    // VM 3 taps (in its host's namespace) and its domain (31–42). Kill across all of them.
    for k in [4usize, 14, 22, 27, 33, 38, 41] {
        let root = tempfile::tempdir().unwrap();
        let child = ChildUp::spawn("testbed_hosts_child_up_then_hang", &sim.tag, root.path());
        let lines = child
            .kill_at_ledger_line(k, Duration::from_secs(30))
            .lines()
            .count();
        child_up::clean_killed_run(
            root.path(),
            k,
            &format!("had {lines}"),
            &sim,
            &["a", "b", "c"],
        );
    }
}
