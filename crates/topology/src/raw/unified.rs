//! The unified topology file (docs/topology-format.md). Paths are relative to the file.

use coo_api::EngineOptions;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::bench::BenchmarkSettings;
use crate::ids::optional_mac_schema;
use crate::model::{CpuModel, DriverKind, Impairment};
use crate::traffic::TrafficProfile;

/// A coo-bench topology: a chain of Click VNFs between one Incoming Point and Outgoing Points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "coo-bench topology")]
pub struct TopologyFile {
    /// Optional reference to the JSON Schema (ignored).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Topology name (PyCOO's SFC `ID`).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How VNFs are instantiated: `netns` (default) or `vm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<DriverKind>,
    /// Machines the VNFs run on (vm driver): each a libvirt hypervisor reached by its URI.
    /// Absent: everything on this machine. A VNF without `host` goes on the first host with
    /// room for it, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostEntry>,
    /// VNFs in PyCOO `VNFS` order (this order, with `connections` order, fixes the Click ports).
    pub vnfs: Vec<VnfEntry>,
    /// The Incoming Point: where the traffic generator attaches.
    pub incoming: PointEntry,
    /// Outgoing Points: where sinks attach.
    pub outgoing: Vec<PointEntry>,
    /// Directed edges, traffic flows `from` → `to`.
    pub connections: Vec<ConnectionEntry>,
    /// A traffic profile file (relative path) or an inline profile; default profile when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficRef>,
    /// Alternative implementations to compare; none means one variant named `default`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BenchmarkSettings>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VnfEntry {
    /// VNF id: ASCII letters, digits, `_`, `-`; any length (long ids are shortened in host names).
    pub id: String,
    /// Click function file (relative to the topology file).
    pub function: String,
    /// `coo-click` (default), `click`, `kernel-forward`, or a path to a Click-compatible binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Memory in MiB (VM driver; default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u32>,
    /// vCPUs (VM driver; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_mac_schema")]
    pub management_mac: Option<String>,
    /// Guest image for the VM driver (relative to the topology file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// CPU model of the VNF's VM: `host-passthrough`, `host-model`, `maximum` (everything the
    /// accelerator offers; QEMU's `max`), or a QEMU/libvirt model name such as `SandyBridge`
    /// (PyCOO's) or `qemu64`. Default: `host-passthrough` under KVM; under TCG `maximum` for a
    /// VNF that boots its own image (OSv needs more than QEMU's default model), else QEMU's
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<CpuModel>,
    /// Engine options of this VNF in every variant (a variant may override them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_options: Option<EngineOptions>,
    /// The host (of `hosts`) this VNF runs on; default: placed by the hosts' order and room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// One machine VNFs run on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// Host name (letters, digits, `_`, `-`), used by VNFs' `host`.
    pub name: String,
    /// libvirt URI of its hypervisor: `qemu:///system` (this machine), `qemu+ssh://root@a/system`,
    /// `qemu+tcp://10.0.0.2/system`, `qemu+tls://…`.
    pub uri: String,
    /// The host's address on the network between hosts: the endpoint of the VXLAN tunnels
    /// carrying links between VNFs on different hosts.
    pub underlay: std::net::Ipv4Addr,
    /// CPUs available for VNFs (their `vcpus` add up to at most this).
    pub cpus: u32,
    /// Memory available for VNFs in MiB (their `memory_mib` add up to at most this).
    pub memory_mib: u32,
    /// `[user@]host[:port]` the controller logs in to with ssh (key login) to make the
    /// host's bridges and VXLAN ends; default: the one of a `qemu+ssh://` `uri`. Needed for a
    /// real host reached by `qemu+tcp://` or `qemu+tls://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<netwire::SshTarget>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PointEntry {
    pub id: String,
    /// Bridge of the point (default: the point's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// MAC of the host bridge (NIEP `LINK_MAC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_mac_schema")]
    pub bridge_mac: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionEntry {
    /// Node traffic leaves from (PyCOO `OLL`): the Incoming Point or a VNF. `"fw:1"` names
    /// the VNF's Click port too (checked against its function), so reordering connections
    /// cannot rewire the chain; without it ports follow connection order (PyCOO's).
    pub from: String,
    /// Node traffic enters (PyCOO `ILL`): a VNF or an Outgoing Point; `"fw:0"` as in `from`.
    pub to: String,
    /// Bridge between two VNFs (default `<from>-<to>`).
    /// Not allowed on connections from the Incoming Point or to an Outgoing Point: they use the
    /// point's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// MAC of `from`'s interface (PyCOO `OLL_MAC`); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_mac_schema")]
    pub from_mac: Option<String>,
    /// MAC of `to`'s interface (PyCOO `ILL_MAC`); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_mac_schema")]
    pub to_mac: Option<String>,
    /// MAC of the host bridge of a VNF-to-VNF link (NIEP `LINK_MAC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_mac_schema")]
    pub bridge_mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impairment: Option<Impairment>,
}

/// Traffic profile reference: a path (string) or an inline object.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TrafficRef {
    File(String),
    Inline(TrafficProfile),
}

impl<'de> Deserialize<'de> for TrafficRef {
    // Hand-written instead of `untagged`, whose error ("did not match any variant") hides the
    // unknown field name inside an inline profile.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(path) => Ok(TrafficRef::File(path)),
            other => TrafficProfile::deserialize(other)
                .map(TrafficRef::Inline)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Engine options for every VNF of this variant (over each VNF's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_options: Option<EngineOptions>,
    /// Per-VNF overrides, keyed by VNF id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vnfs: BTreeMap<String, OverrideEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Click function file (relative to the topology file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Engine options of this VNF in this variant (over the variant's and the VNF's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_options: Option<EngineOptions>,
}

/// Parses unified topology text (strict).
pub fn parse(text: &str) -> Result<TopologyFile, serde_json::Error> {
    serde_json::from_str(text)
}
