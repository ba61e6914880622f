//! Recording fakes: `NetOps` and `ProcessOps` that remember every call and simulate just
//! enough state (namespaces, links, addresses) for orchestration tests without root.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Arc, Mutex};

use crate::names::{IfName, Ipv4Cidr, MacAddr, NetnsName};
use crate::ops::{AddrState, LinkState, NetError, NetOps, Netem, RouteState, VethEnd};
use crate::process::{ProcId, ProcessOps};
use crate::remote::SshTarget;

type Ns = Option<NetnsName>;

/// One recorded call.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    CreateNetns(NetnsName),
    DeleteNetns(NetnsName),
    SetSysctl(Ns, String, String),
    CreateBridge(Ns, IfName, Option<MacAddr>),
    CreateVeth(VethEnd, VethEnd),
    CreateTap(Ns, IfName),
    CreateVxlan(Ns, crate::ops::Vxlan),
    DeleteLink(Ns, IfName),
    SetMac(Ns, IfName, MacAddr),
    SetMtu(Ns, IfName, u32),
    SetUp(Ns, IfName),
    SetDown(Ns, IfName),
    MoveLink(Ns, IfName, Ns),
    AddAddress(Ns, IfName, Ipv4Cidr),
    SetBridgePort(Ns, IfName, IfName),
    DisableBridgeNetfilter(Ns, IfName),
    SetNetem(Ns, IfName, Netem),
}

impl Call {
    /// Short form used by `fail_on`, e.g. `create_netns cb12-x`, `set_up cb12p0`.
    pub fn key(&self) -> String {
        match self {
            Call::CreateNetns(n) => format!("create_netns {n}"),
            Call::DeleteNetns(n) => format!("delete_netns {n}"),
            Call::SetSysctl(_, k, _) => format!("set_sysctl {k}"),
            Call::CreateBridge(_, n, _) => format!("create_bridge {n}"),
            Call::CreateVeth(a, _) => format!("create_veth {}", a.name),
            Call::CreateTap(_, n) => format!("create_tap {n}"),
            Call::CreateVxlan(_, v) => format!("create_vxlan {}", v.name),
            Call::DeleteLink(_, n) => format!("delete_link {n}"),
            Call::SetMac(_, n, _) => format!("set_mac {n}"),
            Call::SetMtu(_, n, _) => format!("set_mtu {n}"),
            Call::SetUp(_, n) => format!("set_up {n}"),
            Call::SetDown(_, n) => format!("set_down {n}"),
            Call::MoveLink(_, n, _) => format!("move_link {n}"),
            Call::AddAddress(_, n, _) => format!("add_address {n}"),
            Call::SetBridgePort(_, n, _) => format!("set_bridge_port {n}"),
            Call::DisableBridgeNetfilter(_, n) => format!("disable_bridge_netfilter {n}"),
            Call::SetNetem(_, n, _) => format!("set_netem {n}"),
        }
    }
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    fail_on: BTreeSet<String>,
    netns: BTreeSet<NetnsName>,
    /// (namespace, name) → (peer, up, master, mac, kind)
    links: BTreeMap<(Ns, IfName), FakeLink>,
    addrs: Vec<(Ns, IfName, Ipv4Cidr)>,
    /// Index of the first call of the open batch.
    batch_from: Option<usize>,
    /// The calls of each ended batch, as ranges of indices into `calls`.
    batches: Vec<std::ops::Range<usize>>,
}

#[derive(Clone, Debug)]
struct FakeLink {
    peer: Option<(Ns, IfName)>,
    up: bool,
    master: Option<IfName>,
    mac: Option<MacAddr>,
    kind: &'static str,
}

/// The recording fake.
#[derive(Default)]
pub struct RecordingNetOps {
    state: Mutex<State>,
    /// The fakes standing for other hosts ([`NetOps::on_host`]), made on first use.
    hosts: Mutex<BTreeMap<SshTarget, Arc<RecordingNetOps>>>,
}

fn fake_err(call: &Call, msg: &str) -> NetError {
    NetError::os("fake", call.key(), io::Error::other(msg.to_owned()))
}

impl RecordingNetOps {
    /// Make every call whose `Call::key()` equals `key` fail (after recording it).
    pub fn fail_on(&self, key: &str) {
        self.lock().fail_on.insert(key.to_owned());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The ended batches ([`NetOps::begin_batch`] … [`NetOps::end_batch`]), as ranges of
    /// indices into [`RecordingNetOps::calls`]. The fake carries out every call at once.
    pub fn batches(&self) -> Vec<std::ops::Range<usize>> {
        self.lock().batches.clone()
    }

    /// Namespaces and links currently "existing".
    pub fn live_objects(&self) -> (Vec<NetnsName>, Vec<(Ns, IfName)>) {
        let s = self.lock();
        (
            s.netns.iter().cloned().collect(),
            s.links.keys().cloned().collect(),
        )
    }

    /// The fake standing for `host` (what was done there).
    pub fn host(&self, host: &SshTarget) -> Arc<RecordingNetOps> {
        let mut h = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        h.entry(host.clone()).or_default().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run<T>(
        &self,
        call: Call,
        f: impl FnOnce(&mut State) -> Result<T, NetError>,
    ) -> Result<T, NetError> {
        let mut s = self.lock();
        s.calls.push(call.clone());
        if s.fail_on.contains(&call.key()) {
            return Err(fake_err(&call, "injected failure"));
        }
        f(&mut s)
    }
}

fn check_ns(s: &State, ns: &Ns, call: &Call) -> Result<(), NetError> {
    match ns {
        Some(n) if !s.netns.contains(n) => Err(fake_err(call, "no such netns")),
        _ => Ok(()),
    }
}

fn add_link(s: &mut State, call: &Call, key: (Ns, IfName), link: FakeLink) -> Result<(), NetError> {
    check_ns(s, &key.0, call)?;
    if s.links.contains_key(&key) {
        return Err(fake_err(call, "exists"));
    }
    s.links.insert(key, link);
    Ok(())
}

fn link_mut<'a>(s: &'a mut State, ns: &Ns, name: &IfName) -> Result<&'a mut FakeLink, NetError> {
    s.links
        .get_mut(&(ns.clone(), name.clone()))
        .ok_or_else(|| NetError::NoSuchLink {
            netns: ns.clone(),
            name: name.clone(),
        })
}

fn remove_link(s: &mut State, key: &(Ns, IfName)) {
    if let Some(l) = s.links.remove(key) {
        if let Some(p) = l.peer {
            s.links.remove(&p);
        }
        s.addrs.retain(|(n, i, _)| !(n == &key.0 && i == &key.1));
    }
}

impl NetOps for RecordingNetOps {
    fn on_host(&self, host: &SshTarget) -> Result<Arc<dyn NetOps>, NetError> {
        Ok(self.host(host))
    }

    fn begin_batch(&self) {
        let mut s = self.lock();
        if s.batch_from.is_none() {
            s.batch_from = Some(s.calls.len());
        }
    }

    fn end_batch(&self) -> Result<(), NetError> {
        let mut s = self.lock();
        if let Some(from) = s.batch_from.take() {
            let to = s.calls.len();
            s.batches.push(from..to);
        }
        Ok(())
    }

    fn create_netns(&self, name: &NetnsName) -> Result<(), NetError> {
        let call = Call::CreateNetns(name.clone());
        self.run(call.clone(), |s| {
            if !s.netns.insert(name.clone()) {
                return Err(fake_err(&call, "exists"));
            }
            Ok(())
        })
    }

    fn delete_netns(&self, name: &NetnsName) -> Result<(), NetError> {
        self.run(Call::DeleteNetns(name.clone()), |s| {
            s.netns.remove(name);
            let inside: Vec<_> = s
                .links
                .keys()
                .filter(|(n, _)| n.as_ref() == Some(name))
                .cloned()
                .collect();
            for k in inside {
                remove_link(s, &k);
            }
            Ok(())
        })
    }

    fn netns_exists(&self, name: &NetnsName) -> bool {
        self.lock().netns.contains(name)
    }

    fn list_netns(&self) -> Result<Vec<NetnsName>, NetError> {
        Ok(self.lock().netns.iter().cloned().collect())
    }

    fn set_sysctl(&self, ns: Option<&NetnsName>, key: &str, value: &str) -> Result<bool, NetError> {
        let call = Call::SetSysctl(ns.cloned(), key.to_owned(), value.to_owned());
        self.run(call.clone(), |s| {
            check_ns(s, &ns.cloned(), &call)?;
            Ok(true)
        })
    }

    fn create_bridge(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        mac: Option<MacAddr>,
    ) -> Result<(), NetError> {
        let call = Call::CreateBridge(ns.cloned(), name.clone(), mac);
        self.run(call.clone(), |s| {
            let link = FakeLink {
                peer: None,
                up: false,
                master: None,
                mac,
                kind: "bridge",
            };
            add_link(s, &call, (ns.cloned(), name.clone()), link)
        })
    }

    fn create_veth(&self, a: &VethEnd, b: &VethEnd) -> Result<(), NetError> {
        let call = Call::CreateVeth(a.clone(), b.clone());
        self.run(call.clone(), |s| {
            let ka = (a.netns.clone(), a.name.clone());
            let kb = (b.netns.clone(), b.name.clone());
            check_ns(s, &kb.0, &call)?;
            if s.links.contains_key(&kb) {
                return Err(fake_err(&call, "peer exists"));
            }
            add_link(
                s,
                &call,
                ka.clone(),
                FakeLink {
                    peer: Some(kb.clone()),
                    up: false,
                    master: None,
                    mac: a.mac,
                    kind: "veth",
                },
            )?;
            s.links.insert(
                kb,
                FakeLink {
                    peer: Some(ka),
                    up: false,
                    master: None,
                    mac: b.mac,
                    kind: "veth",
                },
            );
            Ok(())
        })
    }

    fn create_tap(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        let call = Call::CreateTap(ns.cloned(), name.clone());
        self.run(call.clone(), |s| {
            let link = FakeLink {
                peer: None,
                up: false,
                master: None,
                mac: None,
                kind: "tun",
            };
            add_link(s, &call, (ns.cloned(), name.clone()), link)
        })
    }

    fn create_vxlan(&self, ns: Option<&NetnsName>, vx: &crate::ops::Vxlan) -> Result<(), NetError> {
        let call = Call::CreateVxlan(ns.cloned(), vx.clone());
        self.run(call.clone(), |s| {
            let link = FakeLink {
                peer: None,
                up: false,
                master: None,
                mac: None,
                kind: "vxlan",
            };
            add_link(s, &call, (ns.cloned(), vx.name.clone()), link)
        })
    }

    fn delete_link(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        self.run(Call::DeleteLink(ns.cloned(), name.clone()), |s| {
            remove_link(s, &(ns.cloned(), name.clone()));
            Ok(())
        })
    }

    fn link_exists(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<bool, NetError> {
        Ok(self.lock().links.contains_key(&(ns.cloned(), name.clone())))
    }

    fn set_mac(&self, ns: Option<&NetnsName>, name: &IfName, mac: MacAddr) -> Result<(), NetError> {
        self.run(Call::SetMac(ns.cloned(), name.clone(), mac), |s| {
            link_mut(s, &ns.cloned(), name)?.mac = Some(mac);
            Ok(())
        })
    }

    fn set_mtu(&self, ns: Option<&NetnsName>, name: &IfName, mtu: u32) -> Result<(), NetError> {
        self.run(Call::SetMtu(ns.cloned(), name.clone(), mtu), |s| {
            link_mut(s, &ns.cloned(), name).map(|_| ())
        })
    }

    fn set_up(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        self.run(Call::SetUp(ns.cloned(), name.clone()), |s| {
            if name.as_str() == "lo" {
                return Ok(());
            }
            link_mut(s, &ns.cloned(), name)?.up = true;
            Ok(())
        })
    }

    fn set_down(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        self.run(Call::SetDown(ns.cloned(), name.clone()), |s| {
            link_mut(s, &ns.cloned(), name)?.up = false;
            Ok(())
        })
    }

    fn move_link(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        to: Option<&NetnsName>,
    ) -> Result<(), NetError> {
        let call = Call::MoveLink(ns.cloned(), name.clone(), to.cloned());
        self.run(call.clone(), |s| {
            check_ns(s, &to.cloned(), &call)?;
            let key = (ns.cloned(), name.clone());
            let link = s
                .links
                .remove(&key)
                .ok_or_else(|| fake_err(&call, "no such link"))?;
            let new_key = (to.cloned(), name.clone());
            if let Some(p) = &link.peer {
                if let Some(pl) = s.links.get_mut(p) {
                    pl.peer = Some(new_key.clone());
                }
            }
            s.links.insert(new_key, link);
            Ok(())
        })
    }

    fn add_address(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        addr: Ipv4Cidr,
    ) -> Result<(), NetError> {
        self.run(Call::AddAddress(ns.cloned(), name.clone(), addr), |s| {
            link_mut(s, &ns.cloned(), name)?;
            s.addrs.push((ns.cloned(), name.clone(), addr));
            Ok(())
        })
    }

    fn set_bridge_port(
        &self,
        ns: Option<&NetnsName>,
        port: &IfName,
        bridge: &IfName,
    ) -> Result<(), NetError> {
        self.run(
            Call::SetBridgePort(ns.cloned(), port.clone(), bridge.clone()),
            |s| {
                link_mut(s, &ns.cloned(), bridge)?;
                link_mut(s, &ns.cloned(), port)?.master = Some(bridge.clone());
                Ok(())
            },
        )
    }

    fn disable_bridge_netfilter(
        &self,
        ns: Option<&NetnsName>,
        bridge: &IfName,
    ) -> Result<(), NetError> {
        self.run(
            Call::DisableBridgeNetfilter(ns.cloned(), bridge.clone()),
            |s| link_mut(s, &ns.cloned(), bridge).map(|_| ()),
        )
    }

    fn set_netem(
        &self,
        ns: Option<&NetnsName>,
        dev: &IfName,
        netem: &Netem,
    ) -> Result<(), NetError> {
        self.run(Call::SetNetem(ns.cloned(), dev.clone(), *netem), |s| {
            link_mut(s, &ns.cloned(), dev).map(|_| ())
        })
    }

    fn list_links(&self, ns: Option<&NetnsName>) -> Result<Vec<LinkState>, NetError> {
        let s = self.lock();
        Ok(s.links
            .iter()
            .filter(|((n, _), _)| n.as_ref() == ns)
            .enumerate()
            .map(|(i, ((_, name), l))| LinkState {
                name: name.to_string(),
                index: i as u32 + 2,
                up: l.up,
                mac: l.mac,
                master: l.master.as_ref().map(|m| m.to_string()),
                kind: Some(l.kind.to_owned()),
            })
            .collect())
    }

    fn list_addresses(&self, ns: Option<&NetnsName>) -> Result<Vec<AddrState>, NetError> {
        let s = self.lock();
        Ok(s.addrs
            .iter()
            .filter(|(n, _, _)| n.as_ref() == ns)
            .map(|(_, l, a)| AddrState {
                link: l.to_string(),
                address: a.addr.to_string(),
                prefix_len: a.prefix_len,
            })
            .collect())
    }

    fn list_routes(&self, ns: Option<&NetnsName>) -> Result<Vec<RouteState>, NetError> {
        // Connected routes only, like the kernel adds for each address; never a default.
        let s = self.lock();
        Ok(s.addrs
            .iter()
            .filter(|(n, _, _)| n.as_ref() == ns)
            .map(|(_, l, a)| RouteState {
                destination: Some(a.addr.to_string()),
                prefix_len: a.prefix_len,
                link: Some(l.to_string()),
                table: 254,
            })
            .collect())
    }
}

/// A `ProcessOps` that records which processes were stopped.
#[derive(Default)]
pub struct RecordingProcesses {
    stopped: Mutex<Vec<ProcId>>,
}

impl RecordingProcesses {
    pub fn stopped(&self) -> Vec<ProcId> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ProcessOps for RecordingProcesses {
    fn request_stop(&self, _p: &ProcId) {}
    fn stop(&self, p: &ProcId) -> Result<(), NetError> {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(*p);
        Ok(())
    }
    fn alive(&self, p: &ProcId) -> bool {
        !self.stopped().contains(p)
    }
    fn stop_all_in_netns(&self, _netns: &NetnsName) -> Result<(), NetError> {
        Ok(())
    }
}
