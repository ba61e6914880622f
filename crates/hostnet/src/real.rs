//! `NetOps` over rtnetlink. One netlink socket per namespace, opened on a thread that has
//! joined that namespace (a netlink socket stays bound to the namespace it was created in,
//! so it can then be used from any thread). Requests are driven by a private
//! current-thread runtime: call these methods from plain threads or `spawn_blocking`.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{
    InfoBridge, InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlag, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, IpVersion};

use crate::names::{IfName, Ipv4Cidr, MacAddr, NetnsName};
use crate::netns;
use crate::ops::{AddrState, LinkState, NetError, NetOps, Netem, RouteState, VethEnd, Vxlan};

/// The real implementation.
pub struct RtNetOps {
    rt: tokio::runtime::Runtime,
    handles: Mutex<HashMap<Option<NetnsName>, NsConn>>,
}

/// Per-namespace netlink handle plus a datagram socket for SIOCGIFINDEX (name → index
/// without an RTM_GETLINK dump, whose IFLA_AF_SPEC parsing warns on newer kernels).
#[derive(Clone)]
struct NsConn {
    handle: Handle,
    ioctl_sock: std::sync::Arc<std::os::fd::OwnedFd>,
}

#[repr(C)]
struct IfReqIndex {
    name: [u8; libc::IFNAMSIZ],
    index: libc::c_int,
    _pad: [u8; 20],
}

fn ifindex(sock: &std::os::fd::OwnedFd, name: &str) -> io::Result<Option<u32>> {
    let mut req = IfReqIndex {
        name: [0; libc::IFNAMSIZ],
        index: 0,
        _pad: [0; 20],
    };
    if name.len() >= libc::IFNAMSIZ {
        return Ok(None);
    }
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: SIOCGIFINDEX reads the name and writes the index of an ifreq-shaped buffer.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFINDEX, &mut req) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENODEV) {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(req.index as u32))
}

fn nl_err(op: &'static str, object: impl Into<String>, e: rtnetlink::Error) -> NetError {
    let source = match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io(),
        other => io::Error::other(other.to_string()),
    };
    NetError::os(op, object, source)
}

fn obj(netns: Option<&NetnsName>, name: &str) -> String {
    match netns {
        Some(n) => format!("{name} (netns {n})"),
        None => name.to_owned(),
    }
}

const ENODEV: i32 = 19;

fn bridge_nf_off() -> LinkAttribute {
    LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Bridge),
        LinkInfo::Data(InfoData::Bridge(vec![
            InfoBridge::NfCallIpTables(0),
            InfoBridge::NfCallIp6Tables(0),
            InfoBridge::NfCallArpTables(0),
        ])),
    ])
}

impl RtNetOps {
    pub fn new() -> Result<Self, NetError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NetError::os("start", "netlink runtime", e))?;
        Ok(Self {
            rt,
            handles: Mutex::new(HashMap::new()),
        })
    }

    fn handle(&self, netns: Option<&NetnsName>) -> Result<Handle, NetError> {
        Ok(self.conn(netns)?.handle)
    }

    fn conn(&self, netns: Option<&NetnsName>) -> Result<NsConn, NetError> {
        let key = netns.cloned();
        let mut map = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = map.get(&key) {
            return Ok(h.clone());
        }
        let rt = self.rt.handle().clone();
        let opened = netns::run_in(netns, move || -> io::Result<_> {
            // The socket registers with the runtime's reactor on creation.
            let _guard = rt.enter();
            let nl = rtnetlink::new_connection()?;
            let sock = nix::sys::socket::socket(
                nix::sys::socket::AddressFamily::Unix,
                nix::sys::socket::SockType::Datagram,
                nix::sys::socket::SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            Ok((nl, sock))
        })
        .and_then(|r| r)
        .map_err(|e| NetError::os("open netlink socket in", obj(netns, ""), e))?;
        let ((conn, handle, _), sock) = opened;
        self.rt.spawn(conn);
        let c = NsConn {
            handle,
            ioctl_sock: std::sync::Arc::new(sock),
        };
        map.insert(key, c.clone());
        Ok(c)
    }

    fn forget(&self, netns: &NetnsName) {
        let mut map = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        // Dropping the handle lets the connection task end and close the socket, which
        // otherwise would keep the namespace alive.
        map.remove(&Some(netns.clone()));
    }

    fn index(&self, netns: Option<&NetnsName>, name: &IfName) -> Result<(Handle, u32), NetError> {
        let c = self.conn(netns)?;
        let h = c.handle;
        let idx = ifindex(&c.ioctl_sock, name.as_str())
            .map_err(|e| NetError::os("look up", obj(netns, name.as_str()), e))?;
        match idx {
            Some(i) => Ok((h, i)),
            None => Err(NetError::NoSuchLink {
                netns: netns.cloned(),
                name: name.clone(),
            }),
        }
    }

    fn set_link(
        &self,
        op: &'static str,
        netns: Option<&NetnsName>,
        name: &IfName,
        f: impl FnOnce(rtnetlink::LinkSetRequest) -> rtnetlink::LinkSetRequest,
    ) -> Result<(), NetError> {
        let (h, idx) = self.index(netns, name)?;
        let req = f(h.link().set(idx));
        self.rt
            .block_on(req.execute())
            .map_err(|e| nl_err(op, obj(netns, name.as_str()), e))
    }
}

fn open_ns(ns: Option<&NetnsName>) -> Result<Option<File>, NetError> {
    ns.map(|n| netns::open(n).map_err(|e| NetError::os("open", n.to_string(), e)))
        .transpose()
}

impl NetOps for RtNetOps {
    fn create_netns(&self, name: &NetnsName) -> Result<(), NetError> {
        netns::create(name).map_err(|e| NetError::os("create netns", name.to_string(), e))
    }

    fn delete_netns(&self, name: &NetnsName) -> Result<(), NetError> {
        self.forget(name);
        netns::delete(name).map_err(|e| NetError::os("delete netns", name.to_string(), e))
    }

    fn netns_exists(&self, name: &NetnsName) -> bool {
        netns::exists(name)
    }

    fn list_netns(&self) -> Result<Vec<NetnsName>, NetError> {
        netns::list().map_err(|e| NetError::os("list", netns::NETNS_DIR, e))
    }

    fn set_sysctl(&self, ns: Option<&NetnsName>, key: &str, value: &str) -> Result<bool, NetError> {
        netns::write_sysctl(ns, key, value).map_err(|e| NetError::os("set sysctl", obj(ns, key), e))
    }

    fn create_bridge(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        mac: Option<MacAddr>,
    ) -> Result<(), NetError> {
        let h = self.handle(ns)?;
        let mut req = h.link().add();
        let m = req.message_mut();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mac) = mac {
            m.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        m.attributes.push(bridge_nf_off());
        self.rt
            .block_on(req.execute())
            .map_err(|e| nl_err("create bridge", obj(ns, name.as_str()), e))
    }

    fn create_veth(&self, a: &VethEnd, b: &VethEnd) -> Result<(), NetError> {
        // Sent from the host namespace; each end names its own target namespace, so
        // neither end ever appears in the host namespace.
        let h = self.handle(None)?;
        let fa = open_ns(a.netns.as_ref())?;
        let fb = open_ns(b.netns.as_ref())?;
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(b.name.to_string()));
        if let Some(mac) = b.mac {
            peer.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some(f) = &fb {
            peer.attributes.push(LinkAttribute::NetNsFd(f.as_raw_fd()));
        }
        let mut req = h.link().add();
        let m = req.message_mut();
        m.attributes.push(LinkAttribute::IfName(a.name.to_string()));
        if let Some(mac) = a.mac {
            m.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some(f) = &fa {
            m.attributes.push(LinkAttribute::NetNsFd(f.as_raw_fd()));
        }
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        let res = self.rt.block_on(req.execute());
        drop((fa, fb));
        res.map_err(|e| {
            nl_err(
                "create veth",
                format!(
                    "{} / {}",
                    obj(a.netns.as_ref(), a.name.as_str()),
                    obj(b.netns.as_ref(), b.name.as_str())
                ),
                e,
            )
        })
    }

    fn create_tap(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        let n = name.to_string();
        netns::run_in(ns, move || crate::tap::create_persistent_tap(&n))
            .and_then(|r| r)
            .map_err(|e| NetError::os("create tap", obj(ns, name.as_str()), e))
    }

    fn create_vxlan(&self, ns: Option<&NetnsName>, vx: &Vxlan) -> Result<(), NetError> {
        let h = self.handle(ns)?;
        let req = h
            .link()
            .add()
            .vxlan(vx.name.to_string(), vx.vni)
            .local(vx.local)
            .remote(vx.remote)
            .port(vx.port)
            .learning(true);
        self.rt
            .block_on(req.execute())
            .map_err(|e| nl_err("create vxlan", obj(ns, vx.name.as_str()), e))
    }

    fn delete_link(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        if let Some(n) = ns {
            if !netns::exists(n) {
                return Ok(()); // the namespace, and so the link, is gone
            }
        }
        let c = self.conn(ns)?;
        let h = c.handle;
        let idx = ifindex(&c.ioctl_sock, name.as_str())
            .map_err(|e| NetError::os("look up", obj(ns, name.as_str()), e))?;
        let Some(idx) = idx else { return Ok(()) };
        match self.rt.block_on(h.link().del(idx).execute()) {
            Ok(()) => Ok(()),
            // Raced with the peer's deletion.
            Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code().abs() == ENODEV => Ok(()),
            Err(e) => Err(nl_err("delete link", obj(ns, name.as_str()), e)),
        }
    }

    fn link_exists(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<bool, NetError> {
        if let Some(n) = ns {
            if !netns::exists(n) {
                return Ok(false);
            }
        }
        let c = self.conn(ns)?;
        ifindex(&c.ioctl_sock, name.as_str())
            .map(|i| i.is_some())
            .map_err(|e| NetError::os("look up", obj(ns, name.as_str()), e))
    }

    fn set_mac(&self, ns: Option<&NetnsName>, name: &IfName, mac: MacAddr) -> Result<(), NetError> {
        self.set_link("set MAC of", ns, name, |r| r.address(mac.0.to_vec()))
    }

    fn set_mtu(&self, ns: Option<&NetnsName>, name: &IfName, mtu: u32) -> Result<(), NetError> {
        self.set_link("set MTU of", ns, name, |r| r.mtu(mtu))
    }

    fn set_up(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        self.set_link("set up", ns, name, |r| r.up())
    }

    fn set_down(&self, ns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError> {
        self.set_link("set down", ns, name, |r| r.down())
    }

    fn move_link(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        to: Option<&NetnsName>,
    ) -> Result<(), NetError> {
        let target = match to {
            Some(n) => netns::open(n),
            // Our main thread never leaves the host namespace.
            None => File::open("/proc/self/ns/net"),
        }
        .map_err(|e| NetError::os("open target netns for", name.to_string(), e))?;
        let fd = target.as_raw_fd();
        let res = self.set_link("move", ns, name, |r| r.setns_by_fd(fd));
        drop(target);
        res
    }

    fn add_address(
        &self,
        ns: Option<&NetnsName>,
        name: &IfName,
        addr: Ipv4Cidr,
    ) -> Result<(), NetError> {
        let (h, idx) = self.index(ns, name)?;
        self.rt
            .block_on(
                h.address()
                    .add(idx, IpAddr::V4(addr.addr), addr.prefix_len)
                    .execute(),
            )
            .map_err(|e| nl_err("add address to", obj(ns, name.as_str()), e))
    }

    fn set_bridge_port(
        &self,
        ns: Option<&NetnsName>,
        port: &IfName,
        bridge: &IfName,
    ) -> Result<(), NetError> {
        let (_, bidx) = self.index(ns, bridge)?;
        self.set_link("attach to bridge", ns, port, |r| r.controller(bidx))
    }

    fn disable_bridge_netfilter(
        &self,
        ns: Option<&NetnsName>,
        bridge: &IfName,
    ) -> Result<(), NetError> {
        let mut h = self.handle(ns)?;
        let (_, idx) = self.index(ns, bridge)?;
        // RTM_NEWLINK on an existing device with neither NLM_F_EXCL nor NLM_F_REPLACE is a
        // changelink, like `ip link set BR type bridge nf_call_iptables 0`.
        let mut msg = LinkMessage::default();
        msg.header.index = idx;
        msg.attributes.push(bridge_nf_off());
        let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewLink(msg));
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        let res: Result<(), rtnetlink::Error> = self.rt.block_on(async {
            let mut resp = h.request(req)?;
            while let Some(m) = resp.next().await {
                if let NetlinkPayload::Error(e) = m.payload {
                    if e.code.is_some() {
                        return Err(rtnetlink::Error::NetlinkError(e));
                    }
                }
            }
            Ok(())
        });
        res.map_err(|e| nl_err("disable netfilter on", obj(ns, bridge.as_str()), e))?;
        if ns.is_some() {
            for k in ["iptables", "ip6tables", "arptables"] {
                // Absent when br_netfilter is not loaded: nothing to turn off then.
                self.set_sysctl(ns, &format!("net/bridge/bridge-nf-call-{k}"), "0")?;
            }
        }
        Ok(())
    }

    fn set_netem(
        &self,
        ns: Option<&NetnsName>,
        dev: &IfName,
        netem: &Netem,
    ) -> Result<(), NetError> {
        let tc = find_in_path("tc").ok_or(NetError::TcMissing)?;
        let mut cmd = Command::new(&tc);
        if let Some(n) = ns {
            cmd.arg("-n").arg(n.as_str());
        }
        cmd.args(["qdisc", "replace", "dev", dev.as_str(), "root", "netem"]);
        cmd.args(netem.tc_args());
        let command = format!("{cmd:?}");
        let out = cmd
            .output()
            .map_err(|e| NetError::os("run", command.clone(), e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("qdisc kind is unknown") {
                return Err(NetError::NetemUnsupported);
            }
            return Err(NetError::Tc {
                command,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(())
    }

    fn list_links(&self, ns: Option<&NetnsName>) -> Result<Vec<LinkState>, NetError> {
        let h = self.handle(ns)?;
        let msgs: Vec<LinkMessage> = self
            .rt
            .block_on(h.link().get().execute().try_collect())
            .map_err(|e| nl_err("list links in", obj(ns, ""), e))?;
        let mut names = HashMap::new();
        for m in &msgs {
            for a in &m.attributes {
                if let LinkAttribute::IfName(n) = a {
                    names.insert(m.header.index, n.clone());
                }
            }
        }
        let mut out = Vec::new();
        for m in &msgs {
            let mut st = LinkState {
                name: names.get(&m.header.index).cloned().unwrap_or_default(),
                index: m.header.index,
                up: m.header.flags.contains(&LinkFlag::Up),
                mac: None,
                master: None,
                kind: None,
            };
            for a in &m.attributes {
                match a {
                    LinkAttribute::Address(b) if b.len() == 6 => {
                        let mut mac = [0u8; 6];
                        mac.copy_from_slice(b);
                        st.mac = Some(MacAddr(mac));
                    }
                    LinkAttribute::Controller(i) => st.master = names.get(i).cloned(),
                    LinkAttribute::LinkInfo(infos) => {
                        for i in infos {
                            if let LinkInfo::Kind(k) = i {
                                st.kind = Some(k.to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.push(st);
        }
        Ok(out)
    }

    fn list_addresses(&self, ns: Option<&NetnsName>) -> Result<Vec<AddrState>, NetError> {
        let links = self.list_links(ns)?;
        let h = self.handle(ns)?;
        let msgs: Vec<_> = self
            .rt
            .block_on(h.address().get().execute().try_collect::<Vec<_>>())
            .map_err(|e| nl_err("list addresses in", obj(ns, ""), e))?;
        let mut out = Vec::new();
        for m in msgs {
            let link = links
                .iter()
                .find(|l| l.index == m.header.index)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            let mut addr = None;
            for a in &m.attributes {
                match a {
                    AddressAttribute::Local(ip) => addr = Some(*ip),
                    AddressAttribute::Address(ip) if addr.is_none() => addr = Some(*ip),
                    _ => {}
                }
            }
            if let Some(ip) = addr {
                out.push(AddrState {
                    link,
                    address: ip.to_string(),
                    prefix_len: m.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    fn list_routes(&self, ns: Option<&NetnsName>) -> Result<Vec<RouteState>, NetError> {
        let links = self.list_links(ns)?;
        let h = self.handle(ns)?;
        let mut out = Vec::new();
        for v in [IpVersion::V4, IpVersion::V6] {
            let msgs: Vec<_> = self
                .rt
                .block_on(h.route().get(v).execute().try_collect::<Vec<_>>())
                .map_err(|e| nl_err("list routes in", obj(ns, ""), e))?;
            for m in msgs {
                let mut st = RouteState {
                    destination: None,
                    prefix_len: m.header.destination_prefix_length,
                    link: None,
                    table: u32::from(m.header.table),
                };
                for a in &m.attributes {
                    match a {
                        RouteAttribute::Destination(RouteAddress::Inet(ip)) => {
                            st.destination = Some(ip.to_string())
                        }
                        RouteAttribute::Destination(RouteAddress::Inet6(ip)) => {
                            st.destination = Some(ip.to_string())
                        }
                        RouteAttribute::Oif(i) => {
                            st.link = links.iter().find(|l| l.index == *i).map(|l| l.name.clone())
                        }
                        RouteAttribute::Table(t) => st.table = *t,
                        _ => {}
                    }
                }
                out.push(st);
            }
        }
        Ok(out)
    }
}

/// Absolute path of `prog` in $PATH (plus the sbin directories, often missing for users).
pub fn find_in_path(prog: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(std::path::PathBuf::from))
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}
