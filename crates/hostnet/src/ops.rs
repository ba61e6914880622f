//! The `NetOps` trait: every privileged network operation the testbed needs.
//! `None` as a namespace means the caller's (host) namespace.

use std::io;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::names::{IfName, Ipv4Cidr, MacAddr, NetnsName};
use crate::remote::{RemoteNetOps, SshShell, SshTarget};

/// A failed network operation.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{op} {object}: {source}")]
    Os {
        op: &'static str,
        object: String,
        #[source]
        source: io::Error,
    },
    #[error("no link {name} in {}", ns_label(.netns))]
    NoSuchLink {
        netns: Option<NetnsName>,
        name: IfName,
    },
    #[error("the `tc` tool is needed for link impairments (netem) but was not found in PATH; install the Debian package `iproute2`")]
    TcMissing,
    #[error(
        "this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM); link impairments are unavailable"
    )]
    NetemUnsupported,
    #[error("`{command}` failed: {stderr}")]
    Tc { command: String, stderr: String },
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A ledger's VM domain could not be destroyed (the VM driver's message).
    #[error("{0}")]
    Domain(String),
    /// A command on another host failed (or ssh could not reach it: status 255).
    #[error("{host}: {op} {object}: `{command}` failed: {stderr}")]
    Remote {
        host: String,
        op: &'static str,
        object: String,
        command: String,
        stderr: String,
    },
    /// Network-safety: another host's root namespace gets no address from coo-bench.
    #[error("{host}: refusing to put an address on {link} in the host's root namespace (testbed addresses go only into namespaces coo-bench made)")]
    RemoteAddressRefused { host: String, link: IfName },
}

impl NetError {
    pub fn os(op: &'static str, object: impl Into<String>, source: io::Error) -> Self {
        NetError::Os {
            op,
            object: object.into(),
            source,
        }
    }
    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

pub(crate) fn ns_label(ns: &Option<NetnsName>) -> String {
    match ns {
        Some(n) => format!("netns {n}"),
        None => "the host namespace".to_owned(),
    }
}

/// One end of a veth pair: its name, the namespace it is created in, its MAC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VethEnd {
    pub name: IfName,
    pub netns: Option<NetnsName>,
    pub mac: Option<MacAddr>,
}

/// A VXLAN tunnel end: Ethernet frames of one link carried in UDP between two hosts'
/// underlay addresses (RFC 7348).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vxlan {
    pub name: IfName,
    /// One per link.
    pub vni: u32,
    /// This end's underlay address (the namespace the device is made in has it).
    pub local: std::net::Ipv4Addr,
    /// The other end's underlay address.
    pub remote: std::net::Ipv4Addr,
    /// UDP destination port (IANA: 4789).
    pub port: u16,
}

/// Bytes a VXLAN over IPv4 adds to each frame: outer IPv4 (20), UDP (8), VXLAN (8) headers
/// and the inner Ethernet header (14), which the underlay MTU does not count otherwise.
pub const VXLAN_OVERHEAD: u32 = 50;

/// Link impairment applied with `tc qdisc replace dev X root netem ...` (egress of X).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Netem {
    pub delay_us: u64,
    pub jitter_us: u64,
    pub loss_pct: f64,
    /// 0 = unlimited.
    pub rate_mbit: f64,
}

impl Netem {
    /// `tc` arguments after `netem`.
    pub fn tc_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if self.delay_us > 0 || self.jitter_us > 0 {
            a.push("delay".to_owned());
            a.push(format!("{}us", self.delay_us));
            if self.jitter_us > 0 {
                a.push(format!("{}us", self.jitter_us));
            }
        }
        if self.loss_pct > 0.0 {
            a.push("loss".to_owned());
            a.push(format!("{}%", self.loss_pct));
        }
        if self.rate_mbit > 0.0 {
            a.push("rate".to_owned());
            a.push(format!("{}kbit", (self.rate_mbit * 1000.0).round() as u64));
        }
        a
    }
}

/// A link as seen by `list_links`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    pub name: String,
    pub index: u32,
    pub up: bool,
    pub mac: Option<MacAddr>,
    /// Name of the bridge this link is a port of.
    pub master: Option<String>,
    pub kind: Option<String>,
}

/// An address as seen by `list_addresses`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrState {
    pub link: String,
    pub address: String,
    pub prefix_len: u8,
}

/// A route as seen by `list_routes` (main and local tables, IPv4 and IPv6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteState {
    /// `None` = default route (prefix length 0).
    pub destination: Option<String>,
    pub prefix_len: u8,
    pub link: Option<String>,
    pub table: u32,
}

impl RouteState {
    pub fn is_default(&self) -> bool {
        self.prefix_len == 0
    }
}

/// Privileged network operations. Deletions are idempotent (already gone = `Ok`).
/// Implementations block; from async code call them through `spawn_blocking`.
pub trait NetOps: Send + Sync {
    fn create_netns(&self, name: &NetnsName) -> Result<(), NetError>;
    fn delete_netns(&self, name: &NetnsName) -> Result<(), NetError>;
    fn netns_exists(&self, name: &NetnsName) -> bool;
    fn list_netns(&self) -> Result<Vec<NetnsName>, NetError>;
    /// `key` is a path under /proc/sys. `Ok(false)`: the key does not exist here (inside a
    /// batch the answer is not known yet: `Ok(true)`, and an absent key is skipped).
    fn set_sysctl(
        &self,
        netns: Option<&NetnsName>,
        key: &str,
        value: &str,
    ) -> Result<bool, NetError>;
    /// A bridge with its netfilter hooks off (`nf_call_{ip,ip6,arp}tables` = 0).
    fn create_bridge(
        &self,
        netns: Option<&NetnsName>,
        name: &IfName,
        mac: Option<MacAddr>,
    ) -> Result<(), NetError>;
    /// Both ends are created directly in their namespaces, down.
    fn create_veth(&self, a: &VethEnd, b: &VethEnd) -> Result<(), NetError>;
    /// A persistent tap device (IFF_TAP | IFF_NO_PI), down.
    fn create_tap(&self, netns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError>;
    /// A VXLAN device, down. Its UDP socket stays in `netns` (where the underlay address
    /// is) when the device is moved to another namespace.
    fn create_vxlan(&self, netns: Option<&NetnsName>, vxlan: &Vxlan) -> Result<(), NetError>;
    fn delete_link(&self, netns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError>;
    fn link_exists(&self, netns: Option<&NetnsName>, name: &IfName) -> Result<bool, NetError>;
    fn set_mac(
        &self,
        netns: Option<&NetnsName>,
        name: &IfName,
        mac: MacAddr,
    ) -> Result<(), NetError>;
    fn set_mtu(&self, netns: Option<&NetnsName>, name: &IfName, mtu: u32) -> Result<(), NetError>;
    fn set_up(&self, netns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError>;
    fn set_down(&self, netns: Option<&NetnsName>, name: &IfName) -> Result<(), NetError>;
    fn move_link(
        &self,
        netns: Option<&NetnsName>,
        name: &IfName,
        to: Option<&NetnsName>,
    ) -> Result<(), NetError>;
    fn add_address(
        &self,
        netns: Option<&NetnsName>,
        name: &IfName,
        addr: Ipv4Cidr,
    ) -> Result<(), NetError>;
    fn set_bridge_port(
        &self,
        netns: Option<&NetnsName>,
        port: &IfName,
        bridge: &IfName,
    ) -> Result<(), NetError>;
    /// Turn off netfilter for bridged traffic: the bridge's own `nf_call_*` options and,
    /// when `netns` is a namespace of ours, its `net.bridge.bridge-nf-call-*` sysctls
    /// (the kernel ORs both, so a bridge in the host namespace stays subject to the
    /// host's sysctls, which we never change).
    fn disable_bridge_netfilter(
        &self,
        netns: Option<&NetnsName>,
        bridge: &IfName,
    ) -> Result<(), NetError>;
    fn set_netem(
        &self,
        netns: Option<&NetnsName>,
        dev: &IfName,
        netem: &Netem,
    ) -> Result<(), NetError>;
    fn list_links(&self, netns: Option<&NetnsName>) -> Result<Vec<LinkState>, NetError>;
    fn list_addresses(&self, netns: Option<&NetnsName>) -> Result<Vec<AddrState>, NetError>;
    fn list_routes(&self, netns: Option<&NetnsName>) -> Result<Vec<RouteState>, NetError>;
    /// From now until [`NetOps::end_batch`], changes (creations, deletions, settings) may be
    /// deferred and carried out together: a remote host gets them in one round trip instead
    /// of one each. Queries carry out what was deferred first, so they see its effect. Local
    /// implementations carry out every change at once (the default).
    fn begin_batch(&self) {}
    /// Carries out the deferred changes in order, stopping at the first failure, which is
    /// returned as that change's own error; ends the batch either way.
    fn end_batch(&self) -> Result<(), NetError> {
        Ok(())
    }
    /// The same operations on another machine, reached over ssh
    /// ([`crate::remote::RemoteNetOps`] over [`crate::remote::SshShell`]); fakes answer with
    /// fakes.
    fn on_host(&self, host: &SshTarget) -> Result<Arc<dyn NetOps>, NetError> {
        Ok(Arc::new(RemoteNetOps::new(SshShell::new(host.clone()))))
    }
}
