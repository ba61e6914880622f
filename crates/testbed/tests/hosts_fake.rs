//! A vm testbed spread over two hosts, against the recording fakes (hostnet, one recording
//! libvirt per host URI, agents): no root, no libvirt.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use hostnet::fake::{Call, RecordingNetOps, RecordingProcesses};
use hostnet::NetnsName;
use testbed::{DriverKind, FakeAgents, Ops, PlanError, Underlay, UpError, UpOptions, VmDriver};
use vmdriver::fake::FakeHypervisors;
use vmdriver::vnf::VmBackend;

const URI_A: &str = "qemu+tcp://198.18.200.2/system";
const URI_B: &str = "qemu+tcp://198.18.200.3/system";

fn topo() -> topology::Topology {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/pycoo-xyz-two-hosts.json");
    topology::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn ns(s: &str) -> NetnsName {
    NetnsName::new(s).unwrap()
}

fn underlay() -> Underlay {
    Underlay {
        controller_netns: Some(ns("coosim-c")),
        controller_addr: Ipv4Addr::new(198, 18, 200, 1),
        host_netns: BTreeMap::from([("a".into(), ns("coosim-a")), ("b".into(), ns("coosim-b"))]),
        mtu: 1500,
    }
}

/// One test's recording fakes: this machine's network with the simulated hosts' and the
/// controller's underlay namespaces made (the fixture's, not the run's), processes, one
/// libvirt per host URI, agents, and a run root.
struct Fakes {
    root: tempfile::TempDir,
    net: RecordingNetOps,
    sims: Vec<NetnsName>,
    procs: RecordingProcesses,
    hyp: FakeHypervisors,
    backend: VmBackend,
    agents: FakeAgents,
}

impl Fakes {
    fn new() -> Self {
        use hostnet::NetOps;
        let net = RecordingNetOps::default();
        let sims = vec![ns("coosim-a"), ns("coosim-b"), ns("coosim-c")];
        for n in &sims {
            net.create_netns(n).unwrap();
        }
        let hyp = FakeHypervisors::new();
        Fakes {
            root: tempfile::tempdir().unwrap(),
            net,
            sims,
            procs: RecordingProcesses::default(),
            backend: vmdriver::fake::backend(hyp.local.clone()),
            hyp,
            agents: FakeAgents::default(),
        }
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            net: &self.net,
            procs: &self.procs,
            vms: &self.hyp,
        }
    }

    fn driver(&self, underlay: Option<Underlay>) -> VmDriver<'_> {
        VmDriver {
            backend: &self.backend,
            agents: &self.agents,
            vms: &self.hyp,
            underlay,
        }
    }
}

fn opts(root: &Path) -> UpOptions {
    UpOptions {
        run_root: Some(root.to_owned()),
        driver: Some(DriverKind::Vm),
        ..Default::default()
    }
}

#[test]
fn two_hosts_up_down_with_fakes() {
    let t = topo();
    let f = Fakes::new();
    let (root, net, hyp, ops) = (&f.root, &f.net, &f.hyp, f.ops());
    let sims = f.sims.clone();
    let driver = f.driver(Some(underlay()));
    let tb = testbed::up_with(&t, &opts(root.path()), &ops, &driver).unwrap();
    let p = tb.prefix.clone();
    // Each domain on its host's hypervisor; none on the local one.
    assert!(hyp.local.domains().is_empty());
    assert_eq!(hyp.remote(URI_A).domains(), [format!("{p}-x")]);
    assert_eq!(
        hyp.remote(URI_B).domains(),
        [format!("{p}-y"), format!("{p}-z")]
    );
    // The ledger records the host of every domain.
    let entries = hostnet::ledger::entries(&tb.run_dir.join("ledger")).unwrap();
    let doms: Vec<(String, String)> = entries
        .iter()
        .filter_map(|e| match &e.object {
            hostnet::Object::Domain {
                name,
                host: Some(h),
            } => Some((name.clone(), h.uri.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        doms,
        [
            (format!("{p}-x"), URI_A.to_owned()),
            (format!("{p}-y"), URI_B.to_owned()),
            (format!("{p}-z"), URI_B.to_owned())
        ]
    );
    // Tunnels: IP→x (controller–a), x→y (a–b), z→OP1 (b–controller), and management to a
    // and b; y→z stays on b. Two ends each, made where the underlay address is.
    let vx: Vec<(Option<String>, hostnet::Vxlan)> = net
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::CreateVxlan(n, v) => Some((n.map(|n| n.to_string()), v)),
            _ => None,
        })
        .collect();
    assert_eq!(vx.len(), 10, "{vx:?}");
    let pb = u32::from_str_radix(&p[2..], 16).unwrap();
    let mut vnis: Vec<u32> = vx.iter().map(|(_, v)| v.vni).collect();
    vnis.dedup();
    assert_eq!(
        vnis,
        [
            pb << 8 | 1,
            pb << 8 | 2,
            pb << 8 | 4,
            pb << 8 | 254,
            pb << 8 | 253
        ]
    );
    let x_y: Vec<_> = vx.iter().filter(|(_, v)| v.vni == pb << 8 | 2).collect();
    assert_eq!(x_y[0].0.as_deref(), Some("coosim-a"));
    assert_eq!(
        (x_y[0].1.local, x_y[0].1.remote),
        (
            Ipv4Addr::new(198, 18, 200, 2),
            Ipv4Addr::new(198, 18, 200, 3)
        )
    );
    assert_eq!(x_y[1].0.as_deref(), Some("coosim-b"));
    assert!(
        vx.iter().all(|(n, _)| n.is_some()),
        "none in the host namespace"
    );
    // Every tunnel ends in a switch namespace with the underlay MTU minus 50.
    assert!(net
        .calls()
        .iter()
        .any(|c| matches!(c, Call::SetMtu(Some(n), d, 1450) if n.as_str() == format!("{p}-h0") && d == &x_y[0].1.name)));
    // Taps where each VM's QEMU runs, then in that host's switch namespace.
    let (nss, links) = net.live_objects();
    for v in &tb.vnfs {
        let host = v.vm.as_ref().unwrap().host.clone().unwrap();
        let sw = tb
            .hosts
            .iter()
            .find(|h| h.name == host)
            .unwrap()
            .switch_netns
            .clone();
        for tap in &v.vm.as_ref().unwrap().taps {
            assert!(
                links.contains(&(Some(sw.clone()), tap.clone())),
                "{tap} not in {sw}"
            );
        }
    }
    assert!(
        links.iter().all(|(n, _)| n.is_some()),
        "host namespace holds {links:?}"
    );
    assert!(nss.iter().any(|n| n.as_str() == format!("{p}-h0")));
    // testbed.json says which links crossed hosts.
    let crossed: Vec<(&str, usize)> = tb
        .bridges
        .iter()
        .map(|b| (b.link.as_str(), b.tunnels.len()))
        .collect();
    assert_eq!(crossed, [("br0", 1), ("br1", 1), ("br2", 0), ("br3", 1)]);
    assert_eq!(tb.bridges[1].tunnels[0].from_host, "a");
    assert_eq!(tb.bridges[1].tunnels[0].to_host, "b");
    assert_eq!(testbed::load_in(root.path(), &tb.run_id).unwrap(), tb);
    // status shows each domain's host.
    let st = testbed::status_with(root.path(), hyp).unwrap();
    let hosts: Vec<Option<String>> = st[0].domains.iter().map(|d| d.host.clone()).collect();
    assert_eq!(
        hosts,
        [Some("a".into()), Some("b".into()), Some("b".into())]
    );
    assert!(st[0]
        .domains
        .iter()
        .all(|d| d.state.as_deref() == Some("running")));

    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    assert!(hyp.remote(URI_A).domains().is_empty() && hyp.remote(URI_B).domains().is_empty());
    let (nss, links) = net.live_objects();
    assert!(nss == sims && links.is_empty(), "{nss:?} {links:?}");
    assert!(!tb.run_dir.exists());
}

/// Frames larger than a tunnel carries, a missing underlay and a host without a namespace
/// are named errors before anything is made.
#[test]
fn multi_host_errors_are_named_and_leave_nothing() {
    let f = Fakes::new();
    let (root, net, ops) = (&f.root, &f.net, f.ops());
    let sims = f.sims.clone();
    let up = |t: &topology::Topology, ul: Option<Underlay>| {
        let driver = f.driver(ul);
        testbed::up_with(t, &opts(root.path()), &ops, &driver).unwrap_err()
    };
    let mut big = topo();
    big.traffic.frame_sizes = serde_json::from_str("[64, 1518]").unwrap();
    let err = up(&big, Some(underlay()));
    assert!(
        matches!(
            err,
            UpError::Plan(PlanError::FrameTooLargeForTunnel {
                frame: 1518,
                max: 1468,
                underlay_mtu: 1500
            })
        ),
        "{err}"
    );
    // A jumbo underlay carries them.
    let mut jumbo = underlay();
    jumbo.mtu = 9000;
    let driver = f.driver(Some(jumbo));
    let tb = testbed::up_with(&big, &opts(root.path()), &ops, &driver).unwrap();
    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    let calls_before = net.calls().len();
    let err = up(&topo(), None);
    assert!(matches!(err, UpError::Plan(PlanError::NoUnderlay)), "{err}");
    let mut half = underlay();
    half.host_netns.remove("b");
    let err = up(&topo(), Some(half));
    assert!(
        matches!(&err, UpError::Plan(PlanError::HostUnreachable(h)) if h == "b"),
        "{err}"
    );
    // Nothing made after the successful run went down: only the run directories' reservation
    // checks.
    assert!(net.calls()[calls_before..]
        .iter()
        .all(|c| !matches!(c, Call::CreateNetns(_))));
    assert_eq!(net.live_objects().0, sims);
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());
    // `hosts` without a driver means the vm driver; without `hosts` netns stays the default.
    let mut t = topo();
    t.driver = None;
    assert_eq!(UpOptions::default().driver_for(&t), DriverKind::Vm);
    t.hosts.clear();
    assert_eq!(UpOptions::default().driver_for(&t), DriverKind::Netns);
    // The netns driver refuses a topology with hosts by name.
    let launcher = testbed::FakeLauncher::default();
    let mut o = opts(root.path());
    o.driver = Some(DriverKind::Netns);
    let err = testbed::up_with(
        &topo(),
        &o,
        &ops,
        &testbed::NetnsDriver {
            launcher: &launcher,
        },
    )
    .unwrap_err();
    assert!(matches!(err, UpError::HostsNeedVmDriver), "{err}");
}

/// A host may be named like the controller's end of tunnels (`controller`): it is still a
/// host of its own.
#[test]
fn a_host_named_controller_is_a_host() {
    let mut t = topo();
    t.hosts[0].name = topology::HostName::new("controller");
    t.vnfs[0].host = Some(topology::HostName::new("controller"));
    let f = Fakes::new();
    let (root, hyp, ops) = (&f.root, &f.hyp, f.ops());
    let mut ul = underlay();
    let a = ul.host_netns.remove("a").unwrap();
    ul.host_netns.insert("controller".into(), a);
    let driver = f.driver(Some(ul));
    let tb = testbed::up_with(&t, &opts(root.path()), &ops, &driver).unwrap();
    assert_eq!(hyp.remote(URI_A).domains(), [format!("{}-x", tb.prefix)]);
    assert_eq!(
        tb.vnfs[0].vm.as_ref().unwrap().host.as_deref(),
        Some("controller")
    );
    assert_eq!(tb.hosts.len(), 2);
    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
}

/// Host b as a real remote host (not simulated: no namespace of this machine stands for it):
/// everything of its network part goes over ssh to it, ledgered with it; its root namespace
/// gets tunnel sockets and taps only, never an address; `down`, and the rollback of a failed
/// `up`, remove exactly it there.
#[test]
fn a_real_host_is_reached_over_ssh() {
    let mut t = topo();
    let b = hostnet::SshTarget::new("root@198.18.200.3").unwrap();
    // qemu+tcp: the login is the host's `ssh` field.
    t.hosts[1].ssh = Some(b.clone());
    let f = Fakes::new();
    let (root, net, hyp, ops) = (&f.root, &f.net, &f.hyp, f.ops());
    let sims = f.sims.clone();
    let mut ul = underlay();
    ul.host_netns.remove("b");
    let driver = f.driver(Some(ul.clone()));
    let tb = testbed::up_with(&t, &opts(root.path()), &ops, &driver).unwrap();
    let p = tb.prefix.clone();
    let hb = format!("{p}-h1");
    let on_b = net.host(&b);
    // b's switch namespace, bridges, tunnel ends and taps were made on b.
    let (b_ns, b_links) = on_b.live_objects();
    assert_eq!(b_ns, [ns(&hb)]);
    assert!(
        b_links
            .iter()
            .all(|(n, _)| n.as_ref().map(NetnsName::as_str) == Some(hb.as_str())),
        "{b_links:?}"
    );
    let taps: Vec<_> = tb
        .vnfs
        .iter()
        .filter(|v| v.vm.as_ref().unwrap().host.as_deref() == Some("b"))
        .flat_map(|v| v.vm.as_ref().unwrap().taps.clone())
        .collect();
    assert_eq!(taps.len(), 6, "y and z: management + 2 data NICs each");
    for tap in &taps {
        assert!(b_links.contains(&(Some(ns(&hb)), tap.clone())), "{tap}");
    }
    let b_calls = on_b.calls();
    // b's network part went as one batch (one ssh round trip) before the VMs started; then
    // for each of y and z one for its taps (made before it starts) and one for their moves
    // to the switch namespace (after libvirt opened them).
    let batches = on_b.batches();
    assert_eq!(batches.len(), 5, "{batches:?}");
    assert_eq!(batches[0].start, 0);
    assert_eq!(
        batches.iter().map(|r| r.len()).sum::<usize>(),
        b_calls.len(),
        "every change on b was in a batch: {batches:?}"
    );
    // Tunnel ends: x→y, z→sink and b's management, made in b's root namespace (where its
    // underlay address is) with b's underlay as the local end.
    let vx: Vec<_> = b_calls
        .iter()
        .filter_map(|c| match c {
            Call::CreateVxlan(None, v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(vx.len(), 3, "{b_calls:?}");
    assert!(vx.iter().all(|v| v.local == Ipv4Addr::new(198, 18, 200, 3)));
    assert!(
        !b_calls.iter().any(|c| matches!(c, Call::AddAddress(..))),
        "no address on b at all"
    );
    // Nothing of b's was made on this machine.
    assert!(!net
        .calls()
        .iter()
        .any(|c| matches!(c, Call::CreateNetns(n) if n.as_str() == hb)));
    // The ledger names b for each of its objects.
    let entries = hostnet::ledger::entries(&tb.run_dir.join("ledger")).unwrap();
    let remote: Vec<&hostnet::Object> = entries
        .iter()
        .map(|e| &e.object)
        .filter(|o| {
            matches!(o, hostnet::Object::RemoteNetns { host, .. } | hostnet::Object::RemoteLink { host, .. } if *host == b)
        })
        .collect();
    // b's switch namespace, its bridges (br1, br2, br3, management), 3 tunnel ends, 6 taps.
    assert_eq!(remote.len(), 1 + 4 + 3 + 6, "{remote:?}");
    assert_eq!(tb.hosts[1].ssh.as_ref(), Some(&b));
    // b's VMs log their console in libvirt's log directory on b (the run directory is not
    // there), x's in the run directory.
    for v in &tb.vnfs {
        let vm = v.vm.as_ref().unwrap();
        let dir = vm.console_log.parent().unwrap();
        if vm.host.as_deref() == Some("b") {
            assert_eq!(dir, Path::new("/var/log/libvirt/qemu"), "{}", v.id);
            assert_eq!(v.agent.log, vm.console_log);
        } else {
            assert_eq!(dir, tb.run_dir.join("vm"), "{}", v.id);
        }
    }
    let xml_y = hyp
        .remote(URI_B)
        .calls()
        .into_iter()
        .find_map(|c| match c {
            vmdriver::fake::Call::Start { name, xml } if name == format!("{p}-y") => Some(xml),
            _ => None,
        })
        .unwrap();
    assert!(
        xml_y.contains(&format!(
            "<source path='/var/log/libvirt/qemu/{p}-y.console.log'/>"
        )),
        "{xml_y}"
    );
    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    assert_eq!(on_b.live_objects(), (vec![], vec![]));
    // `down` removed b's objects in one batch.
    assert_eq!(on_b.batches().len(), 6);
    assert_eq!(on_b.batches()[5].end, on_b.calls().len());
    assert_eq!(net.live_objects(), (sims.clone(), vec![]));

    // A failure on b in the middle of `up` (b's switch namespace made, this machine's
    // namespaces too) rolls back everything on both.
    on_b.fail_on("set_sysctl net/ipv6/conf/all/disable_ipv6");
    let made_on_b = on_b.calls().len();
    let err = testbed::up_with(&t, &opts(root.path()), &ops, &driver).unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert!(matches!(on_b.calls()[made_on_b], Call::CreateNetns(_)));
    assert_eq!(on_b.live_objects(), (vec![], vec![]));
    assert_eq!(net.live_objects(), (sims, vec![]));
    assert!(testbed::runs::list_runs(root.path()).unwrap().is_empty());

    // Without an `ssh` login and a qemu+tcp URI, b cannot be reached: a named error.
    t.hosts[1].ssh = None;
    let err = testbed::up_with(&t, &opts(root.path()), &ops, &driver).unwrap_err();
    assert!(
        matches!(&err, UpError::Plan(PlanError::HostUnreachable(h)) if h == "b"),
        "{err}"
    );
}

/// `coo-bench up` with real hosts: the controller's underlay address is the source this
/// machine's routing picks towards the first host (nothing is sent); every host is reached
/// over ssh; Ethernet's MTU unless given.
#[test]
fn real_underlay_takes_the_routes_source_address() {
    let mut t = topo();
    // Loopback stands for an underlay here: its route's source is known.
    t.hosts[0].underlay = Ipv4Addr::new(127, 0, 0, 2);
    let u = Underlay::real(&t, None).unwrap();
    assert!(u.controller_addr.is_loopback(), "{}", u.controller_addr);
    assert_eq!(u.controller_netns, None);
    assert!(u.host_netns.is_empty());
    assert_eq!(u.mtu, 1500);
    assert_eq!(Underlay::real(&t, Some(9000)).unwrap().mtu, 9000);
    t.hosts.clear();
    assert!(matches!(
        Underlay::real(&t, None),
        Err(PlanError::NoUnderlay)
    ));
}
