//! Structure: PyCOO's structureValidation (-1..-5, -10) and the id rules PyCOO misses
//! (unknown and duplicate ids across kinds).

use std::collections::{BTreeMap, HashSet};

use super::{Checker, Ids, Kind, Parts};
use crate::error::ErrorKind;
use crate::locate::closest;

/// -1: empty top-level fields.
pub(super) fn empty_fields(ck: &mut Checker<'_>, parts: Parts<'_>) {
    let keys = ck.spec.keys;
    for (field, is_empty) in [
        (keys.id, ck.spec.id.as_deref().is_none_or(str::is_empty)),
        (keys.vnfs, parts.vnfs.is_empty()),
        (keys.ip, parts.ip.is_none()),
        (keys.ops, parts.ops.is_empty()),
        (keys.connections, parts.conns.is_empty()),
    ] {
        if is_empty {
            let at = ck.at_key(field);
            ck.push(
                ErrorKind::PycooEmptyField {
                    field: field.to_owned(),
                },
                at,
            );
        }
    }
}

/// Ids: -2 (VNFs), -3 (IP), -4 (OPs), then uniqueness across kinds.
pub(super) fn ids(ck: &mut Checker<'_>, parts: Parts<'_>) -> Ids {
    let keys = ck.spec.keys;
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    let mut vnf_seen = HashSet::new();
    for (index, vnf) in parts.vnfs.iter().enumerate() {
        match &vnf.id {
            None => {
                let at = ck.at_key(keys.vnfs);
                ck.push(ErrorKind::PycooVnfMissingId { index }, at);
            }
            Some(id) if !vnf_seen.insert(id.clone()) => {
                let at = ck.spec.main.find_nth_pair(keys.id, id, 1);
                ck.push(ErrorKind::PycooDuplicateVnfId { id: id.clone() }, at);
            }
            Some(id) => {
                kinds.insert(id.clone(), Kind::Vnf);
            }
        }
    }
    let mut ip_id = None;
    let mut ip_link = None;
    if let Some(ip) = parts.ip {
        for (field, value) in [(keys.id, &ip.id), (keys.link, &ip.link)] {
            if value.is_none() {
                let at = ck.at_key(keys.ip);
                ck.push(
                    ErrorKind::PycooIncomingPointIncomplete {
                        field: field.to_owned(),
                    },
                    at,
                );
            }
        }
        if let Some(id) = &ip.id {
            if let Some(prev) = kinds.get(id) {
                let at = ck.at_pair(keys.id, id);
                ck.push(duplicate_id(id, *prev, Kind::Ip), at);
            } else {
                kinds.insert(id.clone(), Kind::Ip);
                ip_id = Some(id.clone());
            }
        }
        ip_link = ip.link.clone();
    }
    let mut op_seen = HashSet::new();
    for (index, op) in parts.ops.iter().enumerate() {
        for (field, value) in [(keys.id, &op.id), (keys.link, &op.link)] {
            if value.is_none() {
                let at = ck.at_key(keys.ops);
                ck.push(
                    ErrorKind::PycooOutgoingPointIncomplete {
                        index,
                        field: field.to_owned(),
                    },
                    at,
                );
            }
        }
        if let Some(id) = &op.id {
            if !op_seen.insert(id.clone()) {
                let at = ck.spec.main.find_nth_pair(keys.id, id, 1);
                ck.push(ErrorKind::PycooDuplicateOpId { id: id.clone() }, at);
            } else if let Some(prev) = kinds.get(id) {
                let at = ck.spec.main.find_nth_pair(keys.id, id, 1);
                ck.push(duplicate_id(id, *prev, Kind::Op), at);
            } else {
                kinds.insert(id.clone(), Kind::Op);
            }
        }
    }
    Ids {
        kinds,
        ip_id,
        ip_link,
    }
}

/// -5 / -10 and unknown ids, per connection. Returns the connections fit for graph checks.
pub(super) fn connections(ck: &mut Checker<'_>, parts: Parts<'_>, ids: &Ids) -> Vec<usize> {
    let keys = ck.spec.keys;
    let conns = parts.conns;
    let mut good: Vec<usize> = Vec::new();
    for (index, conn) in conns.iter().enumerate() {
        let at = ck.at_conn(conns, index);
        let (Some(from), Some(to)) = (&conn.from, &conn.to) else {
            for (field, value) in [(keys.to, &conn.to), (keys.from, &conn.from)] {
                if value.is_none() {
                    ck.push(
                        ErrorKind::PycooConnectionMissingEndpoint {
                            index,
                            field: field.to_owned(),
                        },
                        at.clone(),
                    );
                }
            }
            continue;
        };
        if let Some(first) = conns[..index].iter().position(|c| c == conn) {
            ck.push(ErrorKind::PycooDuplicateConnection { index, first }, at);
            continue;
        }
        // PyCOO: an OLL/ILL that is not the kind its place needs (undeclared included) is -5.
        let mut unknown = false;
        for (field, id) in [(keys.from, from), (keys.to, to)] {
            if ids.kind_of(id).is_none() {
                unknown = true;
                let suggestion = closest(id, ids.kinds.keys().map(String::as_str));
                let at = ck.spec.main.find_nth_pair(field, id, 0);
                ck.push(
                    ErrorKind::PycooConnectionUnknownId {
                        index,
                        field: field.to_owned(),
                        id: id.clone(),
                        suggestion,
                    },
                    at,
                );
            }
        }
        if unknown {
            continue;
        }
        let (fk, tk) = (ids.kind_of(from), ids.kind_of(to));
        let bad = |reason: &str| ErrorKind::PycooConnectionBadEndpoints {
            index,
            from: from.clone(),
            to: to.clone(),
            reason: reason.to_owned(),
        };
        let ip_name = ids.ip_id.clone().unwrap_or_default();
        let kind_err = match (fk, tk) {
            (_, Some(Kind::Ip)) => Some(ErrorKind::PycooIncomingAsTarget {
                ip: to.clone(),
                from: from.clone(),
            }),
            (Some(Kind::Op), _) => Some(ErrorKind::PycooOutgoingAsSource {
                op: from.clone(),
                to: to.clone(),
            }),
            (Some(Kind::Ip), Some(Kind::Op)) => Some(ErrorKind::PycooIncomingToOutgoing {
                ip: ip_name,
                op: to.clone(),
            }),
            (Some(Kind::Ip), _) if conn.link.is_some() => Some(bad(&format!(
                "a connection from the Incoming Point uses the point's link; remove `{}`",
                keys.link
            ))),
            (_, Some(Kind::Op)) if conn.link.is_some() => Some(bad(&format!(
                "a connection to an Outgoing Point uses the point's link; remove `{}`",
                keys.link
            ))),
            (Some(Kind::Vnf), Some(Kind::Vnf)) if conn.link.is_none() => Some(bad(&format!(
                "a connection between two VNFs needs `{}`",
                keys.link
            ))),
            _ => None,
        };
        if let Some(kind) = kind_err {
            ck.push(kind, at);
            continue;
        }
        // After the endpoint kinds, as in PyCOO (-10 is a graph rule there).
        if from == to {
            ck.push(
                ErrorKind::PycooSelfLoop {
                    index,
                    node: from.clone(),
                },
                at,
            );
            continue;
        }
        if ck.spec.require_macs {
            let mut wanted = Vec::new();
            if tk == Some(Kind::Vnf) && conn.to_mac.is_none() {
                wanted.push(keys.to_mac);
            }
            if fk == Some(Kind::Vnf) && conn.from_mac.is_none() {
                wanted.push(keys.from_mac);
            }
            for field in wanted {
                ck.push(
                    ErrorKind::PycooConnectionMissingMac {
                        index,
                        from: from.clone(),
                        to: to.clone(),
                        field: field.to_owned(),
                    },
                    at.clone(),
                );
            }
        }
        good.push(index);
    }
    good
}

/// Explicit Click ports (`"fw:1"`): only on VNF ends, a number below the VNF's interface
/// count, each used once per VNF.
pub(super) fn explicit_ports(ck: &mut Checker<'_>, parts: Parts<'_>, ids: &Ids) {
    let conns = parts.conns;
    let mut taken: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for (index, conn) in conns.iter().enumerate() {
        for (id, port) in [(&conn.from, &conn.from_port), (&conn.to, &conn.to_port)] {
            let (Some(id), Some(port)) = (id, port) else {
                continue;
            };
            let endpoint = format!("{id}:{port}");
            let mut bad = |reason: String| {
                let at = ck.at_conn(conns, index);
                ck.push(
                    ErrorKind::InvalidPort {
                        index,
                        endpoint: endpoint.clone(),
                        reason,
                    },
                    at,
                );
            };
            if ids.kind_of(id) != Some(Kind::Vnf) {
                bad("only a VNF end names a port (a point has one interface)".to_owned());
                continue;
            }
            let count = conns
                .iter()
                .filter(|c| c.from.as_deref() == Some(id) || c.to.as_deref() == Some(id))
                .count();
            let Some(n) = port
                .parse::<usize>()
                .ok()
                .filter(|n| n.to_string() == *port)
            else {
                bad(format!("`{port}` is not a port number 0..{count}"));
                continue;
            };
            if n >= count {
                bad(format!(
                    "`{id}` has {count} interfaces (ports 0..={})",
                    count.saturating_sub(1)
                ));
            } else if let Some(first) = taken.insert((id.clone(), n), index) {
                bad(format!(
                    "port {n} of `{id}` is already wired by connection {first}"
                ));
            }
        }
    }
}

pub(super) fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Vnf => "VNF id",
        Kind::Ip => "Incoming Point id",
        Kind::Op => "Outgoing Point id",
    }
}

fn duplicate_id(id: &str, first: Kind, second: Kind) -> ErrorKind {
    let label = |k| match k {
        Kind::Vnf => "a VNF",
        Kind::Ip => "the Incoming Point",
        Kind::Op => "an Outgoing Point",
    };
    ErrorKind::DuplicateId {
        id: id.to_owned(),
        first: label(first).to_owned(),
        second: label(second).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{good_with, rules, GOOD};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            empty_fields(ck, parts);
            let ids = ids(ck, parts);
            connections(ck, parts, &ids);
        })
    }

    #[test]
    fn a_sound_chain_passes() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn empty_lists_are_pycoo_01() {
        let json = good_with(
            r#""outgoing": [{"id": "sink", "link": "out"}]"#,
            r#""outgoing": []"#,
        );
        assert!(all(&json).contains(&"pycoo-01-empty-field".to_owned()));
    }

    #[test]
    fn an_id_shared_by_a_vnf_and_a_point_is_a_duplicate() {
        let json = good_with(r#""id": "sink""#, r#""id": "b""#);
        assert!(all(&json).contains(&"duplicate-id".to_owned()));
    }

    #[test]
    fn connections_to_unknown_ids_self_loops_and_repeats() {
        let json = good_with(
            r#"{"from": "a", "to": "b", "link": "ab"}"#,
            r#"{"from": "a", "to": "c", "link": "ab"}"#,
        );
        assert_eq!(all(&json), ["pycoo-05-unknown-id"]);
        let json = good_with(
            r#"{"from": "a", "to": "b", "link": "ab"}"#,
            r#"{"from": "a", "to": "a", "link": "ab"}"#,
        );
        assert_eq!(all(&json), ["pycoo-10-self-loop"]);
        let json = good_with(
            r#"{"from": "b", "to": "sink"}"#,
            r#"{"from": "b", "to": "sink"}, {"from": "b", "to": "sink"}"#,
        );
        assert_eq!(all(&json), ["pycoo-05-duplicate-connection"]);
    }

    #[test]
    fn endpoint_kinds_are_pycoo_05_to_08() {
        let json = good_with(
            r#"{"from": "b", "to": "sink"}"#,
            r#"{"from": "b", "to": "src"}"#,
        );
        assert_eq!(all(&json), ["pycoo-05-ip-as-target"]);
        let json = good_with(
            r#"{"from": "b", "to": "sink"}"#,
            r#"{"from": "b", "to": "sink"}, {"from": "sink", "to": "a", "link": "x"}"#,
        );
        assert_eq!(all(&json), ["pycoo-05-op-as-source"]);
        let json = good_with(r#""link": "ab""#, r#""link": null"#);
        // A VNF-to-VNF connection without a link gets a generated one in the unified format.
        assert_eq!(all(&json), Vec::<String>::new());
    }
}
