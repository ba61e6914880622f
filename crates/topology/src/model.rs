//! The validated topology model: what every other crate consumes.

pub use coo_api::{EngineOptions, EngineParseError, EngineSpec, IoMode};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bench::BenchmarkSettings;
use crate::ids::{HostName, LinkName, MacAddr, NodeId, TopologyId};
use crate::script::Script;
use crate::traffic::TrafficProfile;

/// A validated topology. Built only by [`crate::load`] / [`crate::parse_unified`]; every
/// invariant listed in docs/topology-format.md holds.
#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    pub id: TopologyId,
    /// Directory that relative paths were resolved against (absolute).
    pub base_dir: PathBuf,
    /// The file or PyCOO directory this topology was loaded from.
    pub source: PathBuf,
    pub format: SourceFormat,
    pub driver: Option<DriverKind>,
    /// Machines the VNFs run on, in the file's order; empty: everything on this machine.
    pub hosts: Vec<Host>,
    /// VNFs in PyCOO `VNFS` order.
    pub vnfs: Vec<Vnf>,
    pub incoming: Point,
    pub outgoing: Vec<Point>,
    /// One per bridge, in connection order (the IP's and each OP's bridge are links too).
    pub links: Vec<Link>,
    /// Never empty: an implicit variant named "default" when the file lists none.
    pub variants: Vec<Variant>,
    pub traffic: TrafficProfile,
    /// The file `traffic` was read from (None: inline in the topology, or the default).
    pub traffic_file: Option<PathBuf>,
    pub benchmark: BenchmarkSettings,
    /// PyCOO execution script (PyCOO directories only).
    pub script: Option<Script>,
    /// Findings of loading that do not stop the topology (keys PyCOO ignores, ...); the
    /// binary prints them with the Click function findings.
    #[serde(skip)]
    pub warnings: Vec<crate::error::Warning>,
}

/// CPU model of a VNF's VM: `host-passthrough`, `host-model`, `maximum`, or a model name
/// (`SandyBridge`, `qemu64`, ...): letters, digits, `_`, `-`, `.`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct CpuModel(#[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+$"))] String);

impl CpuModel {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CpuModel {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if ok {
            Ok(CpuModel(s))
        } else {
            Err(format!(
                "CPU model {s:?} must be host-passthrough, host-model, maximum or a model name ([A-Za-z0-9_.-])"
            ))
        }
    }
}

impl From<CpuModel> for String {
    fn from(m: CpuModel) -> String {
        m.0
    }
}

/// Where a topology came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    Unified,
    Pycoo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// Each VNF is a network namespace (default).
    Netns,
    /// Each VNF is a libvirt VM.
    Vm,
}

impl std::fmt::Display for DriverKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DriverKind::Netns => "netns",
            DriverKind::Vm => "vm",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Vnf {
    pub id: NodeId,
    /// Click function file of the default variant (absolute).
    pub function: PathBuf,
    pub engine: EngineSpec,
    pub memory_mib: u32,
    pub vcpus: u32,
    pub management_mac: Option<MacAddr>,
    /// Guest image for the VM driver (absolute), when the VNF needs its own.
    pub image: Option<PathBuf>,
    /// CPU model of its VM (None: the driver's default for the accelerator and boot).
    pub cpu_model: Option<CpuModel>,
    /// The host it runs on: given or placed (always set when the topology has `hosts`).
    pub host: Option<HostName>,
    /// Data interfaces; `interfaces[n].port == n`.
    pub interfaces: Vec<VnfInterface>,
    /// Engine options in every variant (a variant may override them field by field).
    #[serde(skip_serializing_if = "EngineOptions::is_empty")]
    pub engine_options: EngineOptions,
}

/// A machine VNFs run on: a libvirt hypervisor reached by `uri`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Host {
    pub name: HostName,
    /// libvirt URI (`qemu:///system`, `qemu+ssh://…`, `qemu+tcp://…`, `qemu+tls://…`).
    pub uri: String,
    /// Endpoint of the VXLAN tunnels of links between hosts.
    pub underlay: std::net::Ipv4Addr,
    pub cpus: u32,
    pub memory_mib: u32,
    /// ssh login for the host's network objects (see [`Host::ssh_target`]).
    pub ssh: Option<netwire::SshTarget>,
}

impl Host {
    /// How the controller logs in to this host: its `ssh`, else the login of a
    /// `qemu+ssh://` URI; None: not reachable with ssh.
    pub fn ssh_target(&self) -> Option<netwire::SshTarget> {
        self.ssh
            .clone()
            .or_else(|| netwire::SshTarget::from_libvirt_uri(&self.uri).ok())
    }
}

impl Topology {
    /// The host `name` of `hosts`.
    pub fn host(&self, name: &HostName) -> Option<&Host> {
        self.hosts.iter().find(|h| &h.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VnfInterface {
    /// Click port N of `FromDPDKDevice(N)` / `ToDPDKDevice(N)`, in PyCOO order.
    pub port: usize,
    /// Bridge this interface is attached to (unprefixed).
    pub link: LinkName,
    pub mac: Option<MacAddr>,
    /// Node at the other end of the link.
    pub peer: NodeId,
    pub direction: Direction,
    /// The port was given in the topology (`"to": "fw:1"`), not taken from connection order:
    /// the function must name it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub explicit: bool,
}

/// Direction of traffic through an interface, seen from its VNF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Traffic enters the VNF here (the VNF is the connection's `ILL` / `to`).
    Ingress,
    /// Traffic leaves the VNF here (the VNF is the connection's `OLL` / `from`).
    Egress,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        })
    }
}

/// The Incoming Point (traffic source) or an Outgoing Point (sink) and its bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    pub id: NodeId,
    pub link: LinkName,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Link {
    pub name: LinkName,
    /// Node traffic leaves from (PyCOO `OLL`).
    pub from: NodeId,
    /// Node traffic enters (PyCOO `ILL`).
    pub to: NodeId,
    pub from_mac: Option<MacAddr>,
    pub to_mac: Option<MacAddr>,
    /// MAC of the host bridge itself (NIEP `LINK_MAC`).
    pub bridge_mac: Option<MacAddr>,
    pub impairment: Option<Impairment>,
}

/// netem-style impairment of one link (applied in the `from` → `to` direction).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Impairment {
    /// Added one-way delay, microseconds.
    #[serde(default)]
    pub delay_us: u32,
    /// Delay jitter, microseconds (needs `delay_us`).
    #[serde(default)]
    pub jitter_us: u32,
    /// Random loss, percent (0..=100).
    #[serde(default)]
    pub loss_pct: f64,
    /// Rate limit, Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_mbit: Option<u32>,
}

/// One alternative implementation of the chain, compared against the others.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Variant {
    pub name: String,
    pub description: Option<String>,
    /// Engine options for every VNF of the variant.
    #[serde(skip_serializing_if = "EngineOptions::is_empty")]
    pub engine_options: EngineOptions,
    /// Per-VNF overrides; VNFs not listed keep their defaults.
    pub vnfs: BTreeMap<NodeId, VnfOverride>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VnfOverride {
    pub engine: Option<EngineSpec>,
    /// Absolute after validation.
    pub function: Option<PathBuf>,
    #[serde(skip_serializing_if = "EngineOptions::is_empty")]
    pub engine_options: EngineOptions,
}

/// Engine and function a VNF runs in one variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedVnf {
    pub id: NodeId,
    pub engine: EngineSpec,
    pub function: PathBuf,
    /// The VNF's options, over them the variant's, over those the variant's for this VNF.
    pub options: EngineOptions,
}

impl ResolvedVnf {
    /// `engine` running `function` on VNF `id` with no engine options.
    pub fn new(id: &str, engine: EngineSpec, function: impl Into<PathBuf>) -> Self {
        ResolvedVnf {
            id: NodeId::new(id),
            engine,
            function: function.into(),
            options: EngineOptions::default(),
        }
    }
}

impl Topology {
    pub fn vnf(&self, id: &str) -> Option<&Vnf> {
        self.vnfs.iter().find(|v| v.id.as_str() == id)
    }

    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name.as_str() == name)
    }

    /// Engine and function of every VNF (in `vnfs` order) under `variant`.
    pub fn resolve(&self, variant: &Variant) -> Vec<ResolvedVnf> {
        self.vnfs
            .iter()
            .map(|vnf| {
                let over = variant.vnfs.get(&vnf.id);
                ResolvedVnf {
                    id: vnf.id.clone(),
                    engine: over
                        .and_then(|o| o.engine.clone())
                        .unwrap_or_else(|| vnf.engine.clone()),
                    function: over
                        .and_then(|o| o.function.clone())
                        .unwrap_or_else(|| vnf.function.clone()),
                    options: vnf
                        .engine_options
                        .overlay(&variant.engine_options)
                        .overlay(&over.map(|o| o.engine_options.clone()).unwrap_or_default()),
                }
            })
            .collect()
    }
}
