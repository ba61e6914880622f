//! Root-only tests of the rtnetlink implementation on real namespaces (prefix cbt + 4 hex).
#![allow(clippy::unwrap_used)]

use hostnet::ledger::{self, Ledger, Object};
use hostnet::{IfName, Ipv4Cidr, MacAddr, NetOps, NetnsName, RealProcesses, RtNetOps, VethEnd};

fn root_or_skip() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return false;
    }
    true
}

fn prefix() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        ^ std::process::id().rotate_left(16);
    format!("cbt{:04x}", n & 0xffff)
}

/// Tears down every object in the ledger even when the test panics.
struct Guard(std::path::PathBuf, #[allow(dead_code)] tempfile::TempDir);
impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(net) = RtNetOps::new() {
            let _ = ledger::teardown(&self.0, &net, &RealProcesses::default());
        }
    }
}

#[test]
fn bridge_veth_address_in_namespaces() {
    if !root_or_skip() {
        return;
    }
    let p = prefix();
    let dir = tempfile::tempdir().unwrap();
    let lpath = dir.path().join("ledger");
    let mut l = Ledger::create(&lpath).unwrap();
    let guard = Guard(lpath.clone(), dir);
    let net = RtNetOps::new().unwrap();
    let sw = NetnsName::new(format!("{p}-sw")).unwrap();
    let a = NetnsName::new(format!("{p}-a")).unwrap();
    for ns in [&sw, &a] {
        l.create_with(&Object::Netns { name: ns.clone() }, || net.create_netns(ns))
            .unwrap();
        assert!(net.netns_exists(ns));
    }
    // Creating an existing name must fail, never adopt it.
    assert!(net.create_netns(&sw).is_err());
    for ns in [&sw, &a] {
        for k in ["all", "default"] {
            let key = format!("net/ipv6/conf/{k}/disable_ipv6");
            net.set_sysctl(Some(ns), &key, "1").unwrap();
        }
    }
    let br = IfName::new(format!("{p}-br0")).unwrap();
    l.create_with(
        &Object::Link {
            netns: Some(sw.clone()),
            name: br.clone(),
        },
        || net.create_bridge(Some(&sw), &br, None),
    )
    .unwrap();
    net.disable_bridge_netfilter(Some(&sw), &br).unwrap();
    let mac: MacAddr = "02:cb:00:00:00:01".parse().unwrap();
    let va = VethEnd {
        name: IfName::new(format!("{p}a0")).unwrap(),
        netns: Some(a.clone()),
        mac: Some(mac),
    };
    let vb = VethEnd {
        name: IfName::new(format!("{p}a0h")).unwrap(),
        netns: Some(sw.clone()),
        mac: None,
    };
    l.create_with(
        &Object::Link {
            netns: Some(sw.clone()),
            name: vb.name.clone(),
        },
        || net.create_veth(&va, &vb),
    )
    .unwrap();
    net.set_bridge_port(Some(&sw), &vb.name, &br).unwrap();
    net.set_up(Some(&sw), &br).unwrap();
    net.set_up(Some(&sw), &vb.name).unwrap();
    net.set_up(Some(&a), &va.name).unwrap();
    net.set_up(Some(&a), &IfName::new("lo").unwrap()).unwrap();
    net.set_mtu(Some(&a), &va.name, 1400).unwrap();
    let cidr: Ipv4Cidr = "198.18.0.1/15".parse().unwrap();
    net.add_address(Some(&a), &va.name, cidr).unwrap();

    let links = net.list_links(Some(&a)).unwrap();
    let l0 = links.iter().find(|x| x.name == va.name.as_str()).unwrap();
    assert_eq!(l0.mac, Some(mac));
    assert!(l0.up);
    let swl = net.list_links(Some(&sw)).unwrap();
    let port = swl.iter().find(|x| x.name == vb.name.as_str()).unwrap();
    assert_eq!(port.master.as_deref(), Some(br.as_str()));
    // Nothing of ours in the host namespace.
    let host = net.list_links(None).unwrap();
    assert!(host.iter().all(|x| !x.name.starts_with(&p)));
    let addrs = net.list_addresses(Some(&a)).unwrap();
    assert!(addrs
        .iter()
        .any(|x| x.address == "198.18.0.1" && x.prefix_len == 15));
    let routes = net.list_routes(Some(&a)).unwrap();
    assert!(routes.iter().all(|r| !r.is_default()), "{routes:?}");
    // IPv6 off in the switch namespace: no link-local address on the bridge or its ports.
    let sw_addrs = net.list_addresses(Some(&sw)).unwrap();
    assert!(sw_addrs.iter().all(|x| x.link == "lo"), "{sw_addrs:?}");

    // Tap + move into a namespace and back.
    let tap = IfName::new(format!("{p}t0")).unwrap();
    l.create_with(
        &Object::Link {
            netns: Some(a.clone()),
            name: tap.clone(),
        },
        || net.create_tap(Some(&sw), &tap),
    )
    .unwrap();
    net.move_link(Some(&sw), &tap, Some(&a)).unwrap();
    assert!(net.link_exists(Some(&a), &tap).unwrap());
    assert!(!net.link_exists(Some(&sw), &tap).unwrap());

    drop(l);
    let rep = ledger::teardown(&lpath, &net, &RealProcesses::default()).unwrap();
    assert!(rep.errors.is_empty(), "{:?}", rep.errors);
    assert!(!net.netns_exists(&sw));
    assert!(!net.netns_exists(&a));
    // Idempotent removal.
    net.delete_netns(&a).unwrap();
    net.delete_link(None, &br).unwrap();
    drop(guard);
}

#[test]
fn netem_on_a_veth() {
    if !root_or_skip() {
        return;
    }
    if hostnet::find_in_path("tc").is_none() {
        eprintln!("skipped: tc not installed");
        return;
    }
    let p = prefix();
    let dir = tempfile::tempdir().unwrap();
    let lpath = dir.path().join("ledger");
    let mut l = Ledger::create(&lpath).unwrap();
    let _guard = Guard(lpath.clone(), dir);
    let net = RtNetOps::new().unwrap();
    let ns = NetnsName::new(format!("{p}-n")).unwrap();
    l.create_with(&Object::Netns { name: ns.clone() }, || {
        net.create_netns(&ns)
    })
    .unwrap();
    let a = VethEnd {
        name: IfName::new(format!("{p}x")).unwrap(),
        netns: Some(ns.clone()),
        mac: None,
    };
    let b = VethEnd {
        name: IfName::new(format!("{p}y")).unwrap(),
        netns: Some(ns.clone()),
        mac: None,
    };
    net.create_veth(&a, &b).unwrap();
    let em = hostnet::Netem {
        delay_us: 1000,
        jitter_us: 100,
        loss_pct: 0.5,
        rate_mbit: 100.0,
    };
    match net.set_netem(Some(&ns), &a.name, &em) {
        Err(hostnet::NetError::NetemUnsupported) => {
            eprintln!("skipped: kernel without netem (CONFIG_NET_SCH_NETEM)");
            return;
        }
        other => other.unwrap(),
    }
    let out = std::process::Command::new("tc")
        .args(["-n", ns.as_str(), "qdisc", "show", "dev", a.name.as_str()])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("netem"), "{s}");
    assert!(s.contains("delay 1ms"), "{s}");
}
