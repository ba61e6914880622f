//! PyCOO descriptors as written by PyCOO (upper-case keys). Every field is optional here so that
//! a missing one becomes PyCOO's named status code instead of a parse error. Unknown keys are
//! rejected, except the ones NIEP (PyCOO's successor) added: `LINK_MAC`, `PATH`, `DISK`.

use serde::{Deserialize, Serialize};

/// `SFC/<name>.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfcDescriptor {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "VNFS", default, skip_serializing_if = "Option::is_none")]
    pub vnfs: Option<Vec<SfcVnfRef>>,
    #[serde(rename = "IP", default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<SfcPoint>,
    #[serde(rename = "OPS", default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<SfcPoint>>,
    #[serde(
        rename = "CONNECTIONS",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connections: Option<Vec<SfcConnection>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfcVnfRef {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// NIEP: path of the VNF descriptor (relative to the SFC file).
    #[serde(rename = "PATH", default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfcPoint {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "LINK", default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(rename = "LINK_MAC", default, skip_serializing_if = "Option::is_none")]
    pub link_mac: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfcConnection {
    #[serde(rename = "OLL", default, skip_serializing_if = "Option::is_none")]
    pub oll: Option<String>,
    #[serde(rename = "ILL", default, skip_serializing_if = "Option::is_none")]
    pub ill: Option<String>,
    #[serde(rename = "LINK", default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(rename = "OLL_MAC", default, skip_serializing_if = "Option::is_none")]
    pub oll_mac: Option<String>,
    #[serde(rename = "ILL_MAC", default, skip_serializing_if = "Option::is_none")]
    pub ill_mac: Option<String>,
    #[serde(rename = "LINK_MAC", default, skip_serializing_if = "Option::is_none")]
    pub link_mac: Option<String>,
}

/// `VNF/<ID>.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VnfDescriptor {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "MEMORY", default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(rename = "VCPU", default, skip_serializing_if = "Option::is_none")]
    pub vcpu: Option<i64>,
    #[serde(
        rename = "MANAGEMENT_MAC",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub management_mac: Option<String>,
    /// Ignored when the VNF is part of an SFC (the SFC derives the interfaces).
    #[serde(
        rename = "INTERFACES",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub interfaces: Option<Vec<VnfDescriptorInterface>>,
    /// NIEP: disk image name: `IMAGES/<DISK>.qcow2` under the PyCOO directory (PyCOO itself
    /// always boots `IMAGES/click-on-osv.qcow2`); see `load::pycoo_image`.
    #[serde(rename = "DISK", default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VnfDescriptorInterface {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "MAC", default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(rename = "LINK_MAC", default, skip_serializing_if = "Option::is_none")]
    pub link_mac: Option<String>,
}

pub fn parse_sfc(text: &str) -> Result<SfcDescriptor, serde_json::Error> {
    serde_json::from_str(text)
}

pub fn parse_vnf(text: &str) -> Result<VnfDescriptor, serde_json::Error> {
    serde_json::from_str(text)
}
