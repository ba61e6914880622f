//! Names: ids and links become parts of Linux interface, bridge and namespace names, so their
//! characters are limited (any length: long names are shortened, see [`crate::names`]), and the
//! names derived from them must not collide.

use std::collections::{HashMap, HashSet};

use super::structure::kind_label;
use super::{Checker, Ids, Kind, Parts};
use crate::error::ErrorKind;
use crate::ids::{LinkName, NodeId};
use crate::names;

/// Characters of every id and link name.
pub(super) fn names(ck: &mut Checker<'_>, parts: Parts<'_>, ids: &Ids) {
    let keys = ck.spec.keys;
    let mut named: Vec<(String, String, bool)> = Vec::new(); // (what, name, is_link)
    for (id, kind) in &ids.kinds {
        named.push((kind_label(*kind).to_owned(), id.clone(), false));
    }
    if let Some(link) = &ids.ip_link {
        named.push(("link".to_owned(), link.clone(), true));
    }
    for op in parts.ops {
        if let Some(link) = &op.link {
            named.push(("link".to_owned(), link.clone(), true));
        }
    }
    for conn in parts.conns {
        if let Some(link) = &conn.link {
            named.push(("link".to_owned(), link.clone(), true));
        }
    }
    let mut name_checked = HashSet::new();
    for (what, name, is_link) in named {
        if !name_checked.insert((name.clone(), is_link)) {
            continue;
        }
        let at = ck.at_pair(if is_link { keys.link } else { keys.id }, &name);
        if !names::valid_chars(&name) {
            ck.push(ErrorKind::InvalidName { what, name }, at);
        }
    }
}

/// Derived interface and bridge names must not collide.
pub(super) fn derived_names(
    ck: &mut Checker<'_>,
    parts: Parts<'_>,
    ids: &Ids,
    conn_links: &[&String],
) {
    let conns = parts.conns;
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut derived = Vec::new();
    for (id, kind) in &ids.kinds {
        let ports = match kind {
            Kind::Vnf => conns
                .iter()
                .filter(|c| c.from.as_deref() == Some(id) || c.to.as_deref() == Some(id))
                .count(),
            _ => 1,
        };
        for port in 0..ports {
            derived.push((
                names::interface_name(names::EXAMPLE_PREFIX, &NodeId::new(id.as_str()), port),
                format!("port {port} of `{id}`"),
            ));
        }
    }
    let all_links = ids
        .ip_link
        .iter()
        .chain(parts.ops.iter().filter_map(|o| o.link.as_ref()))
        .chain(conn_links.iter().copied());
    for link in all_links {
        derived.push((
            names::bridge_name(names::EXAMPLE_PREFIX, &LinkName::new(link.as_str())),
            format!("the bridge of link `{link}`"),
        ));
    }
    for (name, owner) in derived {
        // Lengths always fit (`names` shortens long names); only equality can go wrong.
        if let Some(first) = seen.get(&name) {
            let at = ck.spec.main.file();
            ck.push(
                ErrorKind::NameCollision {
                    name,
                    first: first.clone(),
                    second: owner,
                },
                at,
            );
        } else {
            seen.insert(name, owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{good_with, rules, GOOD};
    use super::super::{graph, structure};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            let ids = structure::ids(ck, parts);
            names(ck, parts, &ids);
            let links = graph::connection_links(parts.conns);
            derived_names(ck, parts, &ids, &links);
        })
    }

    #[test]
    fn sound_names_pass() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn characters_outside_interface_names_are_rejected() {
        let json = good_with(r#""link": "ab""#, r#""link": "a b""#);
        assert_eq!(all(&json), ["invalid-name"]);
    }

    #[test]
    fn names_of_any_length_pass() {
        let json = GOOD
            .replace(r#""a""#, r#""a-very-long-firewall-name""#)
            .replace(r#""link": "ab""#, r#""link": "bridge-from-the-firewall""#);
        assert_eq!(all(&json), Vec::<String>::new());
    }
}
