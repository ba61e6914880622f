//! MACs: syntax, unicast, -6 (data MACs of connections), then unique across everything.

use std::collections::HashMap;

use super::{Checker, Parts};
use crate::error::{ErrorKind, Location};
use crate::ids::MacAddr;

/// Checks every MAC of the spec; returns the valid ones by their text, for the model.
pub(super) fn macs(ck: &mut Checker<'_>, parts: Parts<'_>) -> HashMap<String, MacAddr> {
    let keys = ck.spec.keys;
    let mut macs: Vec<(MacAddr, String, bool, Location)> = Vec::new(); // (mac, owner, data, at)
    let mut parsed_macs: HashMap<String, MacAddr> = HashMap::new();
    let mut mac_sources: Vec<(String, String, bool, Location)> = Vec::new();
    for vnf in parts.vnfs {
        if let Some(mac) = &vnf.management_mac {
            let id = vnf.id.clone().unwrap_or_default();
            let at = match &vnf.descriptor {
                Some(d) => d.find_pair(keys.management_mac, mac),
                None => ck.at_pair(keys.management_mac, mac),
            };
            mac_sources.push((
                mac.clone(),
                format!("VNF `{id}` {}", keys.management_mac),
                false,
                at,
            ));
        }
    }
    let mut point_macs = Vec::new();
    if let Some(ip) = parts.ip {
        point_macs.push((ip.id.clone(), &ip.bridge_mac));
    }
    for op in parts.ops {
        point_macs.push((op.id.clone(), &op.bridge_mac));
    }
    for (id, mac) in point_macs {
        if let Some(mac) = mac {
            let at = ck.at_pair(keys.bridge_mac, mac);
            mac_sources.push((
                mac.clone(),
                format!("point `{}` {}", id.unwrap_or_default(), keys.bridge_mac),
                false,
                at,
            ));
        }
    }
    for (index, conn) in parts.conns.iter().enumerate() {
        for (field, mac, data) in [
            (keys.from_mac, &conn.from_mac, true),
            (keys.to_mac, &conn.to_mac, true),
            (keys.bridge_mac, &conn.bridge_mac, false),
        ] {
            if let Some(mac) = mac {
                let at = ck.at_pair(field, mac);
                mac_sources.push((mac.clone(), format!("connection {index} {field}"), data, at));
            }
        }
    }
    for (text, owner, data, at) in mac_sources {
        match text.parse::<MacAddr>() {
            Err(_) => ck.push(
                ErrorKind::InvalidMac {
                    field: owner,
                    value: text,
                },
                at,
            ),
            Ok(mac) if !mac.is_unicast() => ck.push(
                ErrorKind::NonUnicastMac {
                    field: owner,
                    mac: mac.to_string(),
                },
                at,
            ),
            Ok(mac) => {
                parsed_macs.insert(text, mac);
                macs.push((mac, owner, data, at));
            }
        }
    }
    let mut first_owner: HashMap<MacAddr, (String, bool)> = HashMap::new();
    for (mac, owner, data, at) in &macs {
        match first_owner.get(mac) {
            None => {
                first_owner.insert(*mac, (owner.clone(), *data));
            }
            Some((first, first_data)) => {
                let kind = if *data && *first_data {
                    ErrorKind::PycooDuplicateMac {
                        mac: mac.to_string(),
                        first: first.clone(),
                        second: owner.clone(),
                    }
                } else {
                    ErrorKind::DuplicateMac {
                        mac: mac.to_string(),
                        first: first.clone(),
                        second: owner.clone(),
                    }
                };
                ck.push(kind, at.clone());
            }
        }
    }
    parsed_macs
}

#[cfg(test)]
mod tests {
    use super::super::testing::{good_with, rules, GOOD};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            macs(ck, parts);
        })
    }

    #[test]
    fn no_macs_no_errors() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn syntax_unicast_and_uniqueness() {
        let conn = r#"{"from": "a", "to": "b", "link": "ab"}"#;
        let with = |macs: &str| {
            good_with(
                conn,
                &format!(r#"{{"from": "a", "to": "b", "link": "ab", {macs}}}"#),
            )
        };
        assert_eq!(
            all(&with(r#""from_mac": "02:00:00:00:00:zz""#)),
            ["invalid-mac"]
        );
        assert_eq!(
            all(&with(r#""from_mac": "01:00:00:00:00:01""#)),
            ["non-unicast-mac"]
        );
        assert_eq!(
            all(&with(
                r#""from_mac": "02:00:00:00:00:01", "to_mac": "02:00:00:00:00:01""#
            )),
            ["pycoo-06-duplicate-mac"]
        );
        assert_eq!(
            all(&with(
                r#""from_mac": "02:00:00:00:00:01", "bridge_mac": "02:00:00:00:00:01""#
            )),
            ["duplicate-mac"]
        );
    }
}
