//! A vm testbed over several hosts: the one-machine plan, spread. The controller (where
//! `coo-bench` runs: source, sinks, management namespace) keeps the switch namespace
//! `<prefix>`; each host with VNFs gets its own switch namespace `<prefix>-h<k>` holding the
//! bridges of its VNFs' links and a management bridge; its taps are made where its QEMU
//! runs. A link whose ends are on different hosts becomes a VXLAN tunnel between their
//! underlay addresses (one VNI per link), and so does each host's management bridge, so the
//! management namespace reaches every guest with no address outside the testbed's
//! namespaces.
//!
//! Network objects on a host are made in the namespace that stands for it
//! ([`Underlay::host_netns`]: simulated hosts are namespaces of this machine), or, on a
//! real remote host, by its own iproute2 over ssh ([`Action::OnHost`], the host's
//! [`topology::Host::ssh_target`]), ledgered with the host.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use hostnet::{DomainHost, IfName, NetnsName, SshTarget, Vxlan, VXLAN_OVERHEAD};
use topology::Topology;

use crate::layout::{HostInfo, TunnelInfo};
use crate::plan::{name_err, Action, Plan, PlanError};

/// Name of the controller as a tunnel end.
pub const CONTROLLER: &str = "controller";
/// IANA's VXLAN port.
pub const VXLAN_PORT: u16 = 4789;
/// Underlay MTU when none is given (Ethernet).
pub const DEFAULT_UNDERLAY_MTU: u32 = 1500;

/// Where the controller and each host meet the network between hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Underlay {
    /// The namespace holding the controller's underlay address (None: the host namespace,
    /// where a real underlay NIC is).
    pub controller_netns: Option<NetnsName>,
    pub controller_addr: Ipv4Addr,
    /// Per host name: the namespace standing for that host (simulated hosts); a host not
    /// listed is a real one, reached over ssh.
    pub host_netns: BTreeMap<String, NetnsName>,
    /// MTU of the underlay; tunnels carry `mtu - 50` bytes of payload per frame.
    pub mtu: u32,
}

impl Underlay {
    /// For real hosts: the controller's underlay address is the one this machine's routing
    /// picks towards the first host's underlay (a connected UDP socket; nothing is sent);
    /// every host is reached over ssh; the underlay MTU is Ethernet's unless given.
    pub fn real(topo: &Topology, mtu: Option<u32>) -> Result<Underlay, PlanError> {
        let first = topo.hosts.first().ok_or(PlanError::NoUnderlay)?;
        let controller_addr = route_source(first.underlay)
            .map_err(|e| PlanError::NoRouteToHost(first.name.to_string(), e.to_string()))?;
        Ok(Underlay {
            controller_netns: None,
            controller_addr,
            host_netns: BTreeMap::new(),
            mtu: mtu.unwrap_or(DEFAULT_UNDERLAY_MTU),
        })
    }
}

/// The local address the kernel uses towards `to`.
fn route_source(to: Ipv4Addr) -> std::io::Result<Ipv4Addr> {
    let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    s.connect((to, VXLAN_PORT))?;
    match s.local_addr()?.ip() {
        std::net::IpAddr::V4(a) if !a.is_unspecified() => Ok(a),
        other => Err(std::io::Error::other(format!("source address {other}"))),
    }
}

/// A place network objects go: the controller (site 0) or a host.
struct Site {
    name: String,
    /// Where its underlay address is (tunnel sockets, taps).
    root: Option<NetnsName>,
    addr: Ipv4Addr,
    switch: NetnsName,
    domain_host: Option<DomainHost>,
    /// A real remote host: its objects are made over ssh (`root` is its root namespace).
    ssh: Option<SshTarget>,
}

impl Site {
    /// `a`, carried out on this site.
    fn step(&self, a: Action) -> Action {
        match &self.ssh {
            Some(h) => Action::OnHost {
                host: h.clone(),
                step: Box::new(a),
            },
            None => a,
        }
    }
}

/// The one-machine vm `plan` of `topo`, spread over its hosts (`topo.hosts` not empty).
pub fn spread(
    plan: Plan,
    topo: &Topology,
    prefix: &str,
    ul: Option<&Underlay>,
) -> Result<Plan, PlanError> {
    let ul = ul.ok_or(PlanError::NoUnderlay)?;
    let controller = Site {
        name: CONTROLLER.to_owned(),
        root: ul.controller_netns.clone(),
        addr: ul.controller_addr,
        switch: plan.testbed.switch_netns.clone(),
        domain_host: None,
        ssh: None,
    };
    let mut sites = vec![controller];
    // Hosts with VNFs, in the topology's order.
    for (k, h) in topo.hosts.iter().enumerate() {
        if !topo.vnfs.iter().any(|v| v.host.as_ref() == Some(&h.name)) {
            continue;
        }
        // A simulated host's namespace, else the real host over ssh.
        let (root, ssh) = match ul.host_netns.get(h.name.as_str()) {
            Some(ns) => (Some(ns.clone()), None),
            None => (
                None,
                Some(
                    h.ssh_target()
                        .ok_or_else(|| PlanError::HostUnreachable(h.name.to_string()))?,
                ),
            ),
        };
        sites.push(Site {
            name: h.name.to_string(),
            root,
            ssh,
            addr: h.underlay,
            switch: NetnsName::new(format!("{prefix}-h{k}"))
                .map_err(name_err(format!("switch namespace of host {}", h.name)))?,
            domain_host: Some(DomainHost {
                name: h.name.to_string(),
                uri: h.uri.clone(),
            }),
        });
    }
    let mut roots = BTreeSet::new();
    for s in &sites {
        if !roots.insert((s.ssh.clone(), s.root.clone())) {
            return Err(PlanError::SharedUnderlayNamespace(s.name.clone()));
        }
    }
    let site_of_node = |node: &str| -> usize {
        topo.vnf(node)
            .and_then(|v| v.host.as_ref())
            // Hosts are sites 1..; a host may well be named like the controller's site.
            .and_then(|h| sites[1..].iter().position(|s| s.name == h.as_str()))
            .map_or(0, |i| i + 1)
    };
    let tunnel_mtu = ul.mtu.saturating_sub(VXLAN_OVERHEAD);
    // VNIs carry the run's prefix (`cbHHHH`): two runs on one underlay never share one.
    let pb = prefix
        .strip_prefix("cb")
        .and_then(|h| u16::from_str_radix(h, 16).ok())
        .map(u32::from)
        .ok_or_else(|| PlanError::BadPrefix(prefix.to_owned()))?;
    let vni = |n: u32| (pb << 8) | n;

    // Which sites each bridge (by name) lives on; the management bridge on all.
    let mut bridge_sites: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for l in &plan.testbed.bridges {
        let set = bridge_sites.entry(l.name.to_string()).or_default();
        for link in topo.links.iter().filter(|x| x.name.as_str() == l.link) {
            set.insert(site_of_node(link.from.as_str()));
            set.insert(site_of_node(link.to.as_str()));
        }
    }
    let mgmt_bridge = plan
        .testbed
        .mgmt
        .as_ref()
        .map(|m| m.bridge.to_string())
        .ok_or(PlanError::NoUnderlay)?;
    bridge_sites.insert(mgmt_bridge.clone(), (0..sites.len()).collect());

    // Tunnels: one per topology link crossing sites (VNI low byte 1..), one per host for
    // management (VNI low byte 255 - host site).
    struct Tunnel {
        vni: u32,
        a: usize,
        b: usize,
        bridge: IfName,
        device: IfName,
        link: Option<String>,
    }
    let mut tunnels = Vec::new();
    for (j, l) in topo.links.iter().enumerate() {
        let (a, b) = (site_of_node(l.from.as_str()), site_of_node(l.to.as_str()));
        if a == b {
            continue;
        }
        let n = u32::try_from(j + 1).unwrap_or(u32::MAX);
        if n >= 255 - sites.len() as u32 {
            return Err(PlanError::TooManyTunnels(topo.links.len()));
        }
        let bridge = plan
            .testbed
            .bridges
            .iter()
            .find(|x| x.link == l.name.as_str())
            .map(|x| x.name.clone())
            .ok_or_else(|| PlanError::UnknownLink {
                node: l.from.to_string(),
                link: l.name.to_string(),
            })?;
        tunnels.push(Tunnel {
            vni: vni(n),
            a,
            b,
            bridge,
            device: IfName::new(format!("{prefix}x{n}"))
                .map_err(name_err(format!("tunnel of link {}", l.name)))?,
            link: Some(l.name.to_string()),
        });
    }
    for s in 1..sites.len() {
        let n = 255 - s as u32;
        tunnels.push(Tunnel {
            vni: vni(n),
            a: 0,
            b: s,
            bridge: IfName::new(mgmt_bridge.clone()).map_err(name_err("management"))?,
            device: IfName::new(format!("{prefix}x{n}")).map_err(name_err("management tunnel"))?,
            link: None,
        });
    }
    // Frames must fit the tunnels: frame sizes count the FCS, which the tunnel does not
    // carry, and the inner Ethernet header is in VXLAN_OVERHEAD.
    if tunnels.iter().any(|t| t.link.is_some()) {
        let max = tunnel_mtu + 14 + 4;
        if let Some(&f) = topo
            .traffic
            .frame_sizes
            .sizes()
            .iter()
            .find(|&&f| u32::from(f) > max)
        {
            return Err(PlanError::FrameTooLargeForTunnel {
                frame: f,
                max,
                underlay_mtu: ul.mtu,
            });
        }
    }

    // Which VM (by its taps) runs where.
    let mut tap_site: BTreeMap<String, usize> = BTreeMap::new();
    let mut vm_site: BTreeMap<String, usize> = BTreeMap::new();
    for a in &plan.actions {
        if let Action::StartVm(s) = a {
            let site = site_of_node(&s.vnf);
            vm_site.insert(s.vnf.clone(), site);
            for (t, _) in &s.taps {
                tap_site.insert(t.to_string(), site);
            }
        }
    }

    let sw0 = sites[0].switch.clone();
    let is_bridge_action = |a: &Action| -> Option<String> {
        match a {
            Action::CreateBridge { netns, name, .. }
            | Action::DisableBridgeNetfilter {
                netns,
                bridge: name,
            }
            | Action::LinkUp { netns, name }
                if *netns == sw0 && bridge_sites.contains_key(name.as_str()) =>
            {
                Some(name.to_string())
            }
            _ => None,
        }
    };
    let mut out: Vec<Action> = Vec::new();
    let mut sites_made = false;
    let mut tunnels_made = false;
    for a in plan.actions {
        // The hosts' switch namespaces, before the first bridge.
        if !sites_made && matches!(a, Action::CreateBridge { .. }) {
            sites_made = true;
            for s in &sites[1..] {
                out.extend(switch_namespace(&s.switch)?.into_iter().map(|a| s.step(a)));
            }
        }
        // The tunnels, once every bridge exists (before the first tap).
        if !tunnels_made && matches!(a, Action::CreateTap { .. } | Action::StartVm(_)) {
            tunnels_made = true;
            for t in &tunnels {
                for (me, other) in [(t.a, t.b), (t.b, t.a)] {
                    out.push(sites[me].step(Action::CreateVxlan {
                        netns: sites[me].root.clone(),
                        vxlan: Vxlan {
                            name: t.device.clone(),
                            vni: t.vni,
                            local: sites[me].addr,
                            remote: sites[other].addr,
                            port: VXLAN_PORT,
                        },
                        switch_netns: sites[me].switch.clone(),
                        bridge: t.bridge.clone(),
                        mtu: tunnel_mtu,
                    }));
                }
            }
        }
        if let Some(bridge) = is_bridge_action(&a) {
            for &s in &bridge_sites[&bridge] {
                out.push(sites[s].step(in_netns(&a, &sites[s].switch)));
            }
            continue;
        }
        match a {
            Action::CreateTap { name, .. } => {
                let s = tap_site.get(name.as_str()).copied().unwrap_or(0);
                out.push(sites[s].step(Action::CreateTap {
                    name,
                    netns: sites[s].root.clone(),
                }));
            }
            Action::StartVm(mut start) => {
                let s = vm_site.get(&start.vnf).copied().unwrap_or(0);
                start.switch_netns = sites[s].switch.clone();
                start.tap_netns = sites[s].root.clone();
                start.host = sites[s].domain_host.clone();
                start.ssh = sites[s].ssh.clone();
                if start.ssh.is_some() {
                    // The run directory is not on a real host: libvirt's log directory is.
                    start.spec.console_dir = Some(vmdriver::vnf::REMOTE_CONSOLE_DIR.into());
                }
                out.push(Action::StartVm(start));
            }
            Action::SetNetem { link, netem, .. } => {
                // The `to` end's port: on the site of the VM owning that tap.
                let s = tap_site.get(link.as_str()).copied().unwrap_or(0);
                out.push(sites[s].step(Action::SetNetem {
                    netns: sites[s].switch.clone(),
                    link,
                    netem,
                }));
            }
            other => out.push(other),
        }
    }

    let mut tb = plan.testbed;
    for t in &tunnels {
        let info = TunnelInfo {
            vni: t.vni,
            from_host: sites[t.a].name.clone(),
            to_host: sites[t.b].name.clone(),
            device: t.device.clone(),
            mtu: tunnel_mtu,
        };
        if let Some(link) = &t.link {
            if let Some(b) = tb.bridges.iter_mut().find(|b| &b.link == link) {
                b.tunnels.push(info);
            }
        }
    }
    for v in tb.vnfs.iter_mut() {
        let s = vm_site.get(&v.id).copied().unwrap_or(0);
        if let Some(info) = v.vm.as_mut() {
            info.host = (s > 0).then(|| sites[s].name.clone());
            if sites[s].ssh.is_some() {
                // On that host, not here.
                let log = std::path::Path::new(vmdriver::vnf::REMOTE_CONSOLE_DIR)
                    .join(format!("{}.console.log", info.domain));
                info.console_log = log.clone();
                v.agent.log = log;
            }
        }
    }
    tb.hosts = sites[1..]
        .iter()
        .filter_map(|s| {
            let h = s.domain_host.as_ref()?;
            let underlay = s.addr;
            Some(HostInfo {
                name: h.name.clone(),
                uri: h.uri.clone(),
                underlay,
                switch_netns: s.switch.clone(),
                netns: s.root.clone(),
                ssh: s.ssh.clone(),
            })
        })
        .collect();
    Ok(Plan {
        actions: out,
        testbed: tb,
    })
}

/// `a` (a bridge action of the controller's switch namespace) in `netns`.
fn in_netns(a: &Action, netns: &NetnsName) -> Action {
    let mut a = a.clone();
    match &mut a {
        Action::CreateBridge { netns: n, .. }
        | Action::DisableBridgeNetfilter { netns: n, .. }
        | Action::LinkUp { netns: n, .. } => *n = netns.clone(),
        _ => {}
    }
    a
}

/// A switch namespace as the one-machine plan makes `<prefix>`: no IPv6, loopback up, no
/// netfilter on bridged frames.
fn switch_namespace(ns: &NetnsName) -> Result<Vec<Action>, PlanError> {
    let mut v = vec![Action::CreateNetns { name: ns.clone() }];
    for k in ["all", "default"] {
        v.push(Action::Sysctl {
            netns: ns.clone(),
            key: format!("net/ipv6/conf/{k}/disable_ipv6"),
            value: "1".into(),
        });
    }
    v.push(Action::LinkUp {
        netns: ns.clone(),
        name: IfName::new("lo").map_err(name_err("lo"))?,
    });
    for k in ["iptables", "ip6tables", "arptables"] {
        v.push(Action::Sysctl {
            netns: ns.clone(),
            key: format!("net/bridge/bridge-nf-call-{k}"),
            value: "0".into(),
        });
    }
    Ok(v)
}
