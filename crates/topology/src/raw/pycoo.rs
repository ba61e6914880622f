//! PyCOO descriptors as written by PyCOO (upper-case keys). Every field is optional here so that
//! a missing one becomes PyCOO's named status code instead of a parse error. PyCOO ignores
//! unknown keys, so serde does too; [`unknown_keys`] lists them for a warning. NIEP (PyCOO's
//! successor) added `LINK_MAC`, `PATH` and `DISK`, which we read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Keys of an SFC descriptor, by nesting.
const SFC_KEYS: &[&str] = &["ID", "VNFS", "IP", "OPS", "CONNECTIONS"];
const SFC_VNF_KEYS: &[&str] = &["ID", "PATH"];
const SFC_POINT_KEYS: &[&str] = &["ID", "LINK", "LINK_MAC"];
const SFC_CONNECTION_KEYS: &[&str] = &["OLL", "ILL", "LINK", "OLL_MAC", "ILL_MAC", "LINK_MAC"];
/// Keys of a VNF descriptor, by nesting.
const VNF_KEYS: &[&str] = &[
    "ID",
    "MEMORY",
    "VCPU",
    "MANAGEMENT_MAC",
    "INTERFACES",
    "DISK",
];
const VNF_INTERFACE_KEYS: &[&str] = &["ID", "MAC", "LINK_MAC"];

/// A key PyCOO would ignore: where it is (`CONNECTIONS[2]`), the key, and the known keys there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKey {
    pub place: String,
    pub key: String,
    pub known: &'static [&'static str],
}

fn unknown_in(
    value: &Value,
    place: &str,
    known: &'static [&'static str],
    out: &mut Vec<UnknownKey>,
) {
    if let Value::Object(map) = value {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                out.push(UnknownKey {
                    place: place.to_owned(),
                    key: key.clone(),
                    known,
                });
            }
        }
    }
}

fn unknown_in_list(
    value: Option<&Value>,
    place: &str,
    known: &'static [&'static str],
    out: &mut Vec<UnknownKey>,
) {
    if let Some(Value::Array(items)) = value {
        for (i, item) in items.iter().enumerate() {
            unknown_in(item, &format!("{place}[{i}]"), known, out);
        }
    }
}

/// Unknown keys of an SFC (`sfc == true`) or VNF descriptor's text; empty when it is not JSON.
pub fn unknown_keys(text: &str, sfc: bool) -> Vec<UnknownKey> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if sfc {
        unknown_in(&value, "the SFC descriptor", SFC_KEYS, &mut out);
        unknown_in_list(value.get("VNFS"), "VNFS", SFC_VNF_KEYS, &mut out);
        if let Some(ip) = value.get("IP") {
            unknown_in(ip, "IP", SFC_POINT_KEYS, &mut out);
        }
        unknown_in_list(value.get("OPS"), "OPS", SFC_POINT_KEYS, &mut out);
        unknown_in_list(
            value.get("CONNECTIONS"),
            "CONNECTIONS",
            SFC_CONNECTION_KEYS,
            &mut out,
        );
    } else {
        unknown_in(&value, "the VNF descriptor", VNF_KEYS, &mut out);
        unknown_in_list(
            value.get("INTERFACES"),
            "INTERFACES",
            VNF_INTERFACE_KEYS,
            &mut out,
        );
    }
    out
}

/// `SFC/<name>.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct SfcVnfRef {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// NIEP: path of the VNF descriptor (relative to the SFC file).
    #[serde(rename = "PATH", default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfcPoint {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "LINK", default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(rename = "LINK_MAC", default, skip_serializing_if = "Option::is_none")]
    pub link_mac: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_listed_by_place() {
        let sfc = r#"{"ID": "s", "VNFS": [{"ID": "a", "COLOR": 1}], "IP": {"ID": "i", "LINK": "l", "NOTE": ""},
            "OPS": [{"ID": "o", "LINK": "m"}], "CONNECTIONS": [{"OLL": "i", "ILL": "a", "ILL_MAC": "x", "ILLMAC": "y"}],
            "DESCRIPTION": "d"}"#;
        let found: Vec<(String, String)> = unknown_keys(sfc, true)
            .into_iter()
            .map(|u| (u.place, u.key))
            .collect();
        assert_eq!(
            found,
            [
                ("the SFC descriptor".to_owned(), "DESCRIPTION".to_owned()),
                ("VNFS[0]".to_owned(), "COLOR".to_owned()),
                ("IP".to_owned(), "NOTE".to_owned()),
                ("CONNECTIONS[0]".to_owned(), "ILLMAC".to_owned()),
            ]
        );
        let vnf = r#"{"ID": "a", "MEMORY": 1, "VCPUS": 1, "INTERFACES": [{"ID": "b", "MAC": "m", "Mac": "n"}]}"#;
        let keys: Vec<String> = unknown_keys(vnf, false)
            .into_iter()
            .map(|u| u.key)
            .collect();
        assert_eq!(keys, ["VCPUS", "Mac"]);
        assert!(unknown_keys("not json", true).is_empty());
    }
}
