//! `Testbed`: what a run instantiated, serialized to `<run dir>/testbed.json`.
//! Everything other parts (run, exec, traffic) need to find namespaces, interfaces and
//! agents is here.

use std::path::PathBuf;

use hostnet::{IfName, Ipv4Cidr, MacAddr, NetnsName};
use serde::{Deserialize, Serialize};

/// Version of the testbed.json format.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Testbed {
    pub version: u32,
    pub run_id: String,
    pub topology_id: String,
    /// The topology file or PyCOO directory `up` was given.
    pub topology_source: PathBuf,
    pub variant: String,
    /// Per-run name prefix, `cb` + 4 hex digits.
    pub prefix: String,
    /// `netns` or `vm`.
    pub driver: topology::DriverKind,
    /// `tcg` or `kvm` (driver `vm` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<String>,
    /// Management namespace and bridge (driver `vm` only): VM agents are reachable from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mgmt: Option<MgmtInfo>,
    pub run_dir: PathBuf,
    /// Namespace holding every bridge of the run (named like the prefix). Bridged traffic
    /// bypasses netfilter there; the host namespace holds nothing of the testbed.
    pub switch_netns: NetnsName,
    /// Milliseconds since the Unix epoch when `up` finished.
    pub created_unix_ms: u64,
    pub bridges: Vec<BridgeInfo>,
    pub vnfs: Vec<VnfInstance>,
    pub source: Attachment,
    pub sinks: Vec<Attachment>,
    /// Direct veth from the source namespace to the first sink namespace (the generator→sink
    /// ceiling of a run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<CeilingLink>,
    /// Several hosts: each host's part of the testbed (empty: everything on this machine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostInfo>,
}

/// One host of a testbed spread over several machines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostInfo {
    pub name: String,
    /// libvirt URI its domains were made through.
    pub uri: String,
    pub underlay: std::net::Ipv4Addr,
    /// Its switch namespace: the bridges of its VNFs' links and its management bridge.
    pub switch_netns: NetnsName,
    /// The namespace standing in for the host's own (a simulated host); None: the host's
    /// own root namespace.
    pub netns: Option<NetnsName>,
    /// A real remote host: the ssh login its network objects were made through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<hostnet::SshTarget>,
}

/// A link whose ends are on different hosts (the controller, where source and sinks are,
/// counts as one): a VXLAN tunnel between their underlay addresses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelInfo {
    pub vni: u32,
    /// The ends' hosts (`controller` for the controller).
    pub from_host: String,
    pub to_host: String,
    /// Device name at both ends (each in its end's switch namespace).
    pub device: IfName,
    pub mtu: u32,
}

/// A veth pair straight from the source namespace to the first sink namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeilingLink {
    /// End in the source namespace.
    pub source_if: IfName,
    /// End in the first sink namespace.
    pub sink_if: IfName,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeInfo {
    /// Link name in the topology.
    pub link: String,
    pub name: IfName,
    pub from: String,
    pub to: String,
    /// netem on the `to` end's bridge port, if the link has an impairment.
    pub netem: Option<hostnet::Netem>,
    /// Several hosts: the tunnels carrying this link between hosts (empty: it crosses none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VnfInstance {
    pub id: String,
    pub netns: NetnsName,
    /// `/run/netns/<netns>`.
    pub netns_path: PathBuf,
    pub engine: String,
    /// The working copy the agent serves (`<workdir>/func.click`).
    pub function: PathBuf,
    /// Where the function was copied from.
    pub function_source: PathBuf,
    pub workdir: PathBuf,
    /// Data interfaces in PyCOO order: `interfaces[n].port == n`.
    pub interfaces: Vec<InterfaceInfo>,
    pub agent: AgentInfo,
    /// The VNF's libvirt domain (driver `vm` only; `netns`/`netns_path` then name the
    /// management namespace, from which the agent is reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<VmInfo>,
}

/// Management network of a `vm` testbed: a namespace with a veth onto a management bridge in
/// the switch namespace; the host itself has no address there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MgmtInfo {
    pub netns: NetnsName,
    pub netns_path: PathBuf,
    /// Bridge in the switch namespace (NIC 0 of every VM).
    pub bridge: IfName,
    /// Veth from the management namespace onto the bridge (same name at both ends).
    pub veth: IfName,
    pub address: Ipv4Cidr,
}

/// One VNF VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmInfo {
    /// Transient libvirt domain `<prefix>-<vnf>`.
    pub domain: String,
    pub accelerator: String,
    pub memory_mib: u32,
    pub vcpus: u32,
    /// Guest management address (198.19.255.x/16) and MAC.
    pub mgmt_ip: Ipv4Cidr,
    pub mgmt_mac: String,
    /// Namespace to connect from to reach the agent (`/run/netns/<prefix>-mgmt`).
    pub mgmt_netns_path: PathBuf,
    /// Host taps: NIC 0 (management) then the data NICs; they live in the switch namespace.
    pub taps: Vec<IfName>,
    /// Serial console log.
    pub console_log: PathBuf,
    /// From the domain create call to the agent answering.
    pub boot_to_ready_ms: Option<u64>,
    /// Several hosts: the host it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The VNF boots its own disk image (through an overlay) and takes its management
    /// address by DHCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<VmDiskInfo>,
}

/// A VM booting a disk image ("bring your own image").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmDiskInfo {
    /// The image as given; only read.
    pub image: PathBuf,
    /// qcow2 overlay backed by `image`, under the run directory (removed by `down`).
    pub overlay: PathBuf,
    /// Address the testbed's DHCP server acknowledged to the management MAC during `up`.
    pub dhcp_ack: Option<std::net::Ipv4Addr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceInfo {
    /// Name inside the VNF namespace; its bridge port in the switch namespace has the same name.
    pub name: IfName,
    pub port: usize,
    pub mac: MacAddr,
    /// Bridge (prefixed name) in the switch namespace.
    pub bridge: IfName,
    /// Link name in the topology.
    pub link: String,
    pub peer: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// VNF data interfaces carry no IP address.
    pub address: Option<Ipv4Cidr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentInfo {
    /// netns driver: `unix:/run/coo-bench/<run>/agents/<vnf>.sock`, reachable from the host;
    /// vm driver: `netns:/run/netns/<prefix>-mgmt@198.19.255.x:8000` (TCP from inside the
    /// management namespace; `vnf_client::Endpoint` parses both).
    pub endpoint: String,
    /// Also listening here, inside the VNF namespace only (vm: the guest address, reachable
    /// from the management namespace only).
    pub tcp_in_netns: String,
    pub pid: Option<i32>,
    pub start_time: Option<u64>,
    /// Agent log (vm: the serial console log).
    pub log: PathBuf,
}

/// The traffic source (Incoming Point) or a sink (Outgoing Point).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// IP / OP id in the topology.
    pub id: String,
    pub netns: NetnsName,
    pub netns_path: PathBuf,
    pub ifname: IfName,
    pub mac: MacAddr,
    pub ip: Ipv4Cidr,
    pub bridge: IfName,
}

impl Testbed {
    pub fn vnf(&self, id: &str) -> Option<&VnfInstance> {
        self.vnfs.iter().find(|v| v.id == id)
    }
    pub fn sink(&self, op_id: &str) -> Option<&Attachment> {
        self.sinks.iter().find(|s| s.id == op_id)
    }
}
