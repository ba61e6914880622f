//! Network safety of the netns testbed (root): after `up`, the host namespace holds no
//! address and no route on any testbed bridge or port, no namespace has a default route,
//! and every address lies in 198.18.0.0/15 inside a testbed namespace.
#![allow(clippy::unwrap_used)]

mod testbed_support;

use hostnet::{Ipv4Cidr, NetOps, RtNetOps};
use testbed_support::*;

#[test]
fn testbed_safety_no_host_address_no_default_route() {
    if !root_or_skip() {
        return;
    }
    let topo = pycoo_xyz();
    let root = tempfile::tempdir().unwrap();
    let tb = testbed::up(&topo, &options(root.path())).unwrap();
    let up = Up {
        tb,
        root: root.path().to_owned(),
    };
    let tb = &up.tb;
    let net = RtNetOps::new().unwrap();

    // Host namespace: no testbed link at all, so no address or route on one either.
    let host_links = net.list_links(None).unwrap();
    let ours: Vec<_> = host_links
        .iter()
        .filter(|l| l.name.starts_with(&tb.prefix))
        .collect();
    assert!(
        ours.is_empty(),
        "testbed links in the host namespace: {ours:?}"
    );
    let bridge_names: Vec<&str> = tb.bridges.iter().map(|b| b.name.as_str()).collect();
    for a in net.list_addresses(None).unwrap() {
        assert!(
            !a.link.starts_with(&tb.prefix) && !bridge_names.contains(&a.link.as_str()),
            "{a:?}"
        );
    }
    for r in net.list_routes(None).unwrap() {
        if let Some(l) = &r.link {
            assert!(
                !l.starts_with(&tb.prefix),
                "host route via testbed link: {r:?}"
            );
        }
    }

    // Every testbed namespace: no default route; addresses only on source/sink, in range.
    let bench: Ipv4Cidr = "198.18.0.0/15".parse().unwrap();
    let namespaces = testbed::namespaces(tb);
    assert_eq!(namespaces.len(), 6);
    for ns in &namespaces {
        let routes = net.list_routes(Some(ns)).unwrap();
        let defaults: Vec<_> = routes.iter().filter(|r| r.is_default()).collect();
        assert!(defaults.is_empty(), "default route in {ns}: {defaults:?}");
        for a in net.list_addresses(Some(ns)).unwrap() {
            if a.link == "lo" {
                assert!(a.address == "127.0.0.1", "{ns}: {a:?}");
                continue;
            }
            let ip: std::net::Ipv4Addr = a
                .address
                .parse()
                .unwrap_or_else(|_| panic!("non-IPv4 address in {ns}: {a:?}"));
            assert!(bench.contains(ip), "{ns}: {a:?}");
            assert!(
                ns == &tb.source.netns || tb.sinks.iter().any(|s| &s.netns == ns),
                "address in {ns}: {a:?}"
            );
        }
    }
    // Bridges: in the switch namespace, up, no address; every port attached.
    let sw_links = net.list_links(Some(&tb.switch_netns)).unwrap();
    for b in &tb.bridges {
        let l = sw_links.iter().find(|l| l.name == b.name.as_str()).unwrap();
        assert!(l.up, "{l:?}");
    }
    for v in &tb.vnfs {
        for i in &v.interfaces {
            let port = sw_links.iter().find(|l| l.name == i.name.as_str()).unwrap();
            assert_eq!(port.master.as_deref(), Some(i.bridge.as_str()));
            let inner = net.list_links(Some(&v.netns)).unwrap();
            let l = inner.iter().find(|l| l.name == i.name.as_str()).unwrap();
            assert_eq!(l.mac, Some(i.mac));
            assert!(l.up);
        }
    }
    // Bridge netfilter off in the switch namespace (where br_netfilter exists).
    if let Some(v) =
        hostnet::netns::read_sysctl(Some(&tb.switch_netns), "net/bridge/bridge-nf-call-iptables")
            .unwrap()
    {
        assert_eq!(v, "0");
    }
    drop(up);
    assert!(netns_with_prefix(&topo_prefix(&namespaces)).is_empty());
}

fn topo_prefix(ns: &[hostnet::NetnsName]) -> String {
    ns[0].to_string()
}
