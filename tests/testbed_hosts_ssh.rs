//! The network part of a testbed spread over a controller and a REAL-KIND remote host: host
//! b is reached only over ssh (an sshd of its own in b's simulated namespace, throw-away
//! keys, `tests/testbed_support/sim_hosts.rs`), host a stays a simulated namespace, libvirt is
//! the recording fake (no VMs). Checks: b's switch namespace, bridges, taps and tunnel ends
//! are made by b's own iproute2 over ssh and ledgered with b; frames cross the VXLAN in
//! both directions between the controller and b; b's root namespace gets no address; `down`,
//! and `clean` after a SIGKILL of `up`, leave nothing on b (asked over ssh) or here.
//! Root, sshd and socat needed; skips with the reason otherwise.
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hostnet::{IfName, NetOps, RealProcesses, RemoteNetOps, RtNetOps, SshShell, VethEnd};
use testbed::{DriverKind, FakeAgents, Ops, Testbed, Underlay, UpOptions, VmDriver};
use testbed_support::child_up::{self, ChildUp};
use testbed_support::sim_hosts::{ifn, ns, SimHosts, SimSshd};
use testbed_support::*;
use vmdriver::fake::FakeHypervisors;

fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces, bridges)".into());
    }
    SimSshd::missing()
}

/// The split chain with host b behind ssh (`root@198.18.200.3`; its URI stays the fake's).
fn split_over_ssh() -> topology::Topology {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/pycoo-xyz-two-hosts.json");
    let mut t = topology::load(&p).unwrap_or_else(|e| panic!("{e}"));
    t.hosts[1].ssh = Some(hostnet::SshTarget::new("root@198.18.200.3").unwrap());
    t
}

fn underlay(sim: &SimHosts) -> Underlay {
    let mut u = sim.underlay();
    u.host_netns.remove("b");
    u
}

fn up_split(
    sim: &SimHosts,
    root: &Path,
    hyp: &FakeHypervisors,
) -> Result<Testbed, testbed::UpError> {
    let net = RtNetOps::new().unwrap();
    let procs = RealProcesses::default();
    let be = vmdriver::fake::backend(hyp.local.clone());
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
        underlay: Some(underlay(sim)),
    };
    let opts = UpOptions {
        run_root: Some(root.to_owned()),
        driver: Some(DriverKind::Vm),
        ..Default::default()
    };
    testbed::up_with(&split_over_ssh(), &opts, &ops, &driver)
}

/// b's network objects, as b lists them over ssh.
fn remote(sshd: &SimSshd) -> RemoteNetOps<SshShell> {
    RemoteNetOps::new(sshd.shell())
}

/// Links and addresses of b's root namespace (`lo` and its underlay veth are b's own).
fn b_root_state(sshd: &SimSshd) -> (Vec<String>, Vec<String>) {
    let r = remote(sshd);
    let mut links: Vec<String> = r
        .list_links(None)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    let mut addrs: Vec<String> = r
        .list_addresses(None)
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {}/{}", a.link, a.address, a.prefix_len))
        .collect();
    links.sort();
    addrs.sort();
    (links, addrs)
}

/// Sends `count` frames carrying `marker` from `src` and counts them at `dst` (each a
/// namespace path and an interface).
fn frames_across(src: (&Path, &IfName), dst: (&Path, &IfName), count: usize) -> usize {
    let marker = b"coo-bench-ssh-vxlan-probe".to_vec();
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0x02, 0xcc, 0, 0, 9, 9, 0x88, 0xb5]);
    frame.extend_from_slice(&marker);
    frame.resize(80, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    let (dpath, dif) = (dst.0.to_owned(), dst.1.clone());
    let recv = std::thread::spawn(move || {
        netsys::netns::run_in(Some(&dpath), move || {
            let mut rx = netsys::PacketRx::open(&dif, &netsys::RxConfig::per_frame()).unwrap();
            tx.send(()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(3);
            let mut got = 0;
            while got < count && Instant::now() < deadline {
                rx.wait(200);
                rx.recv_batch(64, |f| {
                    if f.windows(marker.len()).any(|w| w == marker.as_slice()) {
                        got += 1;
                    }
                });
            }
            got.min(count)
        })
        .unwrap()
    });
    rx.recv().unwrap();
    let sif = src.1.clone();
    netsys::netns::run_in(Some(src.0), move || {
        let mut tx = netsys::PacketTx::open(&sif, &netsys::TxConfig::default()).unwrap();
        for _ in 0..count {
            while tx.send_batch(&[&frame]) == 0 {
                tx.wait_writable(10);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .unwrap();
    recv.join().unwrap()
}

/// A probe namespace on b (made over ssh) with a veth onto `bridge` in b's `switch`.
fn probe_on_b(
    sshd: &SimSshd,
    sim: &SimHosts,
    i: u8,
    switch: &str,
    bridge: &IfName,
) -> (PathBuf, IfName) {
    let r = remote(sshd);
    let pns = sim.ns(&format!("p{i}"));
    r.create_netns(&pns).unwrap();
    let name = ifn(&format!("{}p{i}", sim.tag));
    r.create_veth(
        &VethEnd {
            name: name.clone(),
            netns: Some(pns.clone()),
            mac: None,
        },
        &VethEnd {
            name: name.clone(),
            netns: Some(ns(switch)),
            mac: None,
        },
    )
    .unwrap();
    r.set_bridge_port(Some(&ns(switch)), &name, bridge).unwrap();
    r.set_up(Some(&ns(switch)), &name).unwrap();
    r.set_up(Some(&pns), &name).unwrap();
    (sshd.netns_path(pns.as_str()), name)
}

/// The two tests share the machine's /run/netns and start sshds, bridges and tunnels on the
/// same simulated underlay: run one at a time (in parallel one's teardown raced the other's
/// namespaces in CI).
static SSH_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn testbed_remote_host_over_ssh_vxlan_frames_and_zero_residue() {
    let _one = SSH_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let sim = SimHosts::new();
    let sshd = SimSshd::start(&sim, "b").unwrap();
    // SAFETY (set_var): set before any thread of this test reads the environment; the other
    // test of this file sets the same value.
    std::env::set_var(hostnet::remote::SSH_CONFIG_ENV, sshd.client_config());
    let root = tempfile::tempdir().unwrap();
    let hyp = FakeHypervisors::new();
    let b_before = b_root_state(&sshd);
    let t0 = Instant::now();
    let tb = up_split(&sim, root.path(), &hyp).unwrap();
    let up_ms = t0.elapsed().as_millis();
    let p = tb.prefix.clone();
    let hb = tb.hosts.iter().find(|h| h.name == "b").unwrap().clone();
    assert_eq!(hb.ssh, Some(sshd.target.clone()));
    assert_eq!(hb.netns, None, "b is no namespace of this machine");
    // b's switch namespace, as b lists it over ssh (the simulation shares /run/netns with
    // this machine, so it is not checked that this machine does not see it).
    assert!(sshd.netns_list().contains(&hb.switch_netns.to_string()));
    // Its bridges, tunnel ends and the taps of y and z, as b lists them.
    let b_links = remote(&sshd).list_links(Some(&hb.switch_netns)).unwrap();
    let tunnel = &tb.bridges.iter().find(|b| b.link == "br3").unwrap().tunnels[0];
    let dev = b_links
        .iter()
        .find(|l| l.name == tunnel.device.as_str())
        .unwrap();
    assert_eq!(dev.kind.as_deref(), Some("vxlan"));
    assert_eq!(dev.master.as_deref(), Some(format!("{p}-br3").as_str()));
    assert!(dev.up);
    for v in tb
        .vnfs
        .iter()
        .filter(|v| v.vm.as_ref().unwrap().host.as_deref() == Some("b"))
    {
        for tap in &v.vm.as_ref().unwrap().taps {
            let l = b_links.iter().find(|l| l.name == tap.as_str()).unwrap();
            assert_eq!(l.kind.as_deref(), Some("tun"), "{tap}");
            assert!(l.master.is_some() && l.up, "{tap}");
        }
    }
    // The ledger names b for each object made there.
    let ledger = std::fs::read_to_string(tb.run_dir.join("ledger")).unwrap();
    let on_b = ledger
        .lines()
        .filter(|l| l.contains(r#""host":"root@198.18.200.3""#))
        .count();
    assert_eq!(
        on_b,
        1 + 4 + 3 + 6,
        "switch namespace, 4 bridges, 3 tunnel ends, 6 taps"
    );
    // Network safety on b: its root namespace has what it had plus, at most, the tunnel
    // sockets' devices — none, they moved; no address at all.
    assert_eq!(b_root_state(&sshd), b_before);

    // Frames: b → controller (b's br3 over the tunnel to the sink) and controller → b (the
    // management namespace to b's management bridge).
    let n = 5;
    let (from_b, from_b_if) = probe_on_b(
        &sshd,
        &sim,
        1,
        hb.switch_netns.as_str(),
        &tb.bridges[3].name,
    );
    let sink = &tb.sinks[0];
    let got = frames_across((&from_b, &from_b_if), (&sink.netns_path, &sink.ifname), n);
    assert_eq!(got, n, "host b → sink over VXLAN");
    let mgmt = tb.mgmt.clone().unwrap();
    let (to_b, to_b_if) = probe_on_b(&sshd, &sim, 2, hb.switch_netns.as_str(), &mgmt.bridge);
    let got = frames_across((&mgmt.netns_path, &mgmt.veth), (&to_b, &to_b_if), n);
    assert_eq!(got, n, "management → host b over VXLAN");
    let r = remote(&sshd);
    r.delete_netns(&sim.ns("p1")).unwrap();
    r.delete_netns(&sim.ns("p2")).unwrap();

    // down: nothing of the run on b (asked over ssh) or here.
    let net = RtNetOps::new().unwrap();
    let procs = RealProcesses::default();
    let ops = Ops {
        net: &net,
        procs: &procs,
        vms: &hyp,
    };
    let t1 = Instant::now();
    testbed::down_with(root.path(), &tb.run_id, &ops).unwrap();
    let down_ms = t1.elapsed().as_millis();
    let left: Vec<String> = sshd
        .netns_list()
        .into_iter()
        .filter(|n| n.starts_with(&p))
        .collect();
    assert!(left.is_empty(), "on b: {left:?}");
    assert_eq!(b_root_state(&sshd), b_before);
    assert!(
        netns_with_prefix(&p).is_empty(),
        "{:?}",
        netns_with_prefix(&p)
    );
    for site in ["a", "c"] {
        assert!(
            sim.foreign_links(site).is_empty(),
            "{site}: {:?}",
            sim.foreign_links(site)
        );
    }
    // What one command on b costs through the control master (most of `up`'s time on b).
    let shell = sshd.shell();
    let t2 = Instant::now();
    for _ in 0..20 {
        assert_eq!(hostnet::RemoteShell::run(&shell, "true").unwrap().status, 0);
    }
    let per_cmd = t2.elapsed().as_millis() / 20;
    eprintln!(
        "network part over ssh to host b (fake libvirt, {on_b} objects on b): up {up_ms} ms, down {down_ms} ms; one command on b {per_cmd} ms"
    );
}

/// Child half of the SIGKILL test: `up` of the split chain, then wait to be killed.
#[test]
fn testbed_hosts_ssh_child_up_then_hang() {
    child_up::up_then_hang(Duration::from_secs(60), |sim, root| {
        let _ = up_split(sim, root, &FakeHypervisors::new());
    });
}

#[test]
fn testbed_remote_host_sigkill_during_up_then_clean_leaves_nothing_on_it() {
    let _one = SSH_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let sim = SimHosts::new();
    let sshd = SimSshd::start(&sim, "b").unwrap();
    // SAFETY (set_var): see the other test; the child inherits it.
    std::env::set_var(hostnet::remote::SSH_CONFIG_ENV, sshd.client_config());
    let b_before = b_root_state(&sshd);
    // Ledger lines: 6 namespaces (b's switch namespace the 6th), bridges and veths, tunnel
    // ends (b's made over ssh), taps (b's over ssh) and domains: kill across them.
    for k in [6usize, 12, 24, 28, 36, 40] {
        let root = tempfile::tempdir().unwrap();
        let child = ChildUp::spawn(
            "testbed_hosts_ssh_child_up_then_hang",
            &sim.tag,
            root.path(),
        );
        let text = child.kill_at_ledger_line(k, Duration::from_secs(60));
        let had = text.lines().count();
        let on_b = text
            .lines()
            .filter(|l| l.contains("root@198.18.200.3"))
            .count();
        let prefix = child_up::clean_killed_run(
            root.path(),
            k,
            &format!("had {had}, {on_b} on b"),
            &sim,
            &["a", "c"],
        );
        if let Some(p) = prefix {
            let left: Vec<String> = sshd
                .netns_list()
                .into_iter()
                .filter(|n| n.starts_with(&p))
                .collect();
            assert!(left.is_empty(), "kill at {k}, on b: {left:?}");
        }
        assert_eq!(
            b_root_state(&sshd),
            b_before,
            "kill at {k}: b's root namespace"
        );
    }
}
