//! Graph: PyCOO's graphValidation (-7..-11), one bridge per point link (duplicate-link),
//! then reachability and cycles on a sound structure.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use super::{Checker, Ids, Kind, Parts};
use crate::error::ErrorKind;
use crate::spec::SpecConn;

/// Links of the connections, once per distinct connection: exact repeats are already -5, and
/// counting them again would add a spurious -11.
pub(super) fn connection_links(conns: &[SpecConn]) -> Vec<&String> {
    conns
        .iter()
        .enumerate()
        .filter(|(i, c)| !conns[..*i].contains(c))
        .filter_map(|(_, c)| c.link.as_ref())
        .collect()
}

/// -7..-11 (PyCOO) plus duplicate-link (ours).
pub(super) fn pycoo_graph(
    ck: &mut Checker<'_>,
    parts: Parts<'_>,
    ids: &Ids,
    conn_links: &[&String],
) {
    let keys = ck.spec.keys;
    if let Some(ip) = &ids.ip_id {
        let count = parts
            .conns
            .iter()
            .filter(|c| c.from.as_deref() == Some(ip.as_str()))
            .count();
        if count != 1 {
            let at = ck.at_pair(keys.id, ip);
            ck.push(
                ErrorKind::PycooIncomingFanOut {
                    ip: ip.clone(),
                    count,
                },
                at,
            );
        }
        if let Some(link) = &ids.ip_link {
            if conn_links.contains(&link) {
                let at = ck.spec.main.find_nth_pair(keys.link, link, 1);
                ck.push(
                    ErrorKind::PycooIncomingLinkReused {
                        ip: ip.clone(),
                        link: link.clone(),
                    },
                    at,
                );
            }
        }
    }
    let mut point_links: BTreeMap<String, String> = BTreeMap::new();
    if let (Some(ip), Some(link)) = (&ids.ip_id, &ids.ip_link) {
        point_links.insert(link.clone(), format!("the Incoming Point `{ip}`"));
    }
    for op in parts.ops {
        let Some(id) = &op.id else { continue };
        let incoming = parts
            .conns
            .iter()
            .filter(|c| c.to.as_deref() == Some(id.as_str()))
            .count();
        if incoming == 0 {
            let at = ck.at_pair(keys.id, id);
            ck.push(ErrorKind::PycooOutgoingNeverReached { op: id.clone() }, at);
        }
        // Several connections into one OP (fan-in) are fine, as in PyCOO: the senders share
        // the OP's bridge.
        if let Some(link) = &op.link {
            if conn_links.contains(&link) {
                let at = ck.spec.main.find_nth_pair(keys.link, link, 1);
                ck.push(
                    ErrorKind::PycooOutgoingLinkReused {
                        op: id.clone(),
                        link: link.clone(),
                    },
                    at,
                );
            }
            let this = format!("Outgoing Point `{id}`");
            if let Some(first) = point_links.get(link) {
                let at = ck.spec.main.find_nth_pair(keys.link, link, 1);
                ck.push(
                    ErrorKind::DuplicateLink {
                        link: link.clone(),
                        first: first.clone(),
                        second: this,
                    },
                    at,
                );
            } else {
                point_links.insert(link.clone(), this);
            }
        }
    }
    for vnf in parts.vnfs {
        let Some(id) = &vnf.id else { continue };
        let at = ck.at_pair(keys.id, id);
        if !parts
            .conns
            .iter()
            .any(|c| c.to.as_deref() == Some(id.as_str()))
        {
            ck.push(
                ErrorKind::PycooVnfWithoutInput { vnf: id.clone() },
                at.clone(),
            );
        }
        if !parts
            .conns
            .iter()
            .any(|c| c.from.as_deref() == Some(id.as_str()))
        {
            ck.push(ErrorKind::PycooVnfWithoutOutput { vnf: id.clone() }, at);
        }
    }
    let mut link_uses: BTreeMap<&String, usize> = BTreeMap::new();
    for link in conn_links {
        *link_uses.entry(link).or_default() += 1;
    }
    for (link, count) in link_uses {
        if count > 1 {
            let at = ck.spec.main.find_nth_pair(keys.link, link, 1);
            ck.push(
                ErrorKind::PycooSharedLink {
                    link: link.clone(),
                    count,
                },
                at,
            );
        }
    }
}

/// Every VNF is reachable from the Incoming Point and leads to an Outgoing Point; no cycles.
pub(super) fn reachability_and_cycles(
    ck: &mut Checker<'_>,
    parts: Parts<'_>,
    ids: &Ids,
    good: &[usize],
) {
    let Some(ip) = &ids.ip_id else { return };
    let good_conns: Vec<(usize, &SpecConn)> = good.iter().map(|&i| (i, &parts.conns[i])).collect();
    graph_rules(ck, ip, &ids.kinds, &good_conns);
}

fn graph_rules(
    ck: &mut Checker<'_>,
    ip: &str,
    kinds: &BTreeMap<String, Kind>,
    conns: &[(usize, &SpecConn)],
) {
    let mut graph: DiGraph<&str, ()> = DiGraph::new();
    let index: HashMap<&str, NodeIndex> = kinds
        .keys()
        .map(|id| (id.as_str(), graph.add_node(id.as_str())))
        .collect();
    for (_, conn) in conns {
        if let (Some(from), Some(to)) = (&conn.from, &conn.to) {
            if let (Some(&a), Some(&b)) = (index.get(from.as_str()), index.get(to.as_str())) {
                graph.add_edge(a, b, ());
            }
        }
    }
    let Some(&start) = index.get(ip) else { return };
    let mut from_ip = HashSet::new();
    let mut dfs = Dfs::new(&graph, start);
    while let Some(n) = dfs.next(&graph) {
        from_ip.insert(n);
    }
    let mut to_op = HashSet::new();
    let reversed = Reversed(&graph);
    for (id, kind) in kinds {
        if *kind == Kind::Op {
            let mut dfs = Dfs::new(reversed, index[id.as_str()]);
            while let Some(n) = dfs.next(reversed) {
                to_op.insert(n);
            }
        }
    }
    let keys = ck.spec.keys;
    for (id, kind) in kinds {
        if *kind != Kind::Vnf {
            continue;
        }
        let n = index[id.as_str()];
        let at = ck.at_pair(keys.id, id);
        if !from_ip.contains(&n) {
            ck.push(
                ErrorKind::UnreachableVnf {
                    vnf: id.clone(),
                    ip: ip.to_owned(),
                },
                at.clone(),
            );
        }
        if !to_op.contains(&n) {
            ck.push(ErrorKind::DeadEndVnf { vnf: id.clone() }, at);
        }
    }
    for scc in petgraph::algo::tarjan_scc(&graph) {
        if scc.len() < 2 {
            continue;
        }
        // Walk the cycle inside the component so the message shows it in traffic order.
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let Some(&first) = members.iter().next() else {
            continue;
        };
        let mut path = vec![graph[first].to_owned()];
        let mut current = first;
        let mut visited = HashSet::from([first]);
        loop {
            let next = graph.neighbors(current).find(|n| members.contains(n));
            match next {
                Some(n) if n == first || visited.contains(&n) => {
                    path.push(graph[n].to_owned());
                    break;
                }
                Some(n) => {
                    visited.insert(n);
                    path.push(graph[n].to_owned());
                    current = n;
                }
                None => break,
            }
        }
        let at = ck.at_pair(keys.id, &path[0]);
        ck.push(ErrorKind::Cycle { path }, at);
    }
}

#[cfg(test)]
mod tests {
    use super::super::structure;
    use super::super::testing::{good_with, rules, GOOD};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            let ids = structure::ids(ck, parts);
            let good = structure::connections(ck, parts, &ids);
            let links = connection_links(parts.conns);
            pycoo_graph(ck, parts, &ids, &links);
            if ck.errors.is_empty() {
                reachability_and_cycles(ck, parts, &ids, &good);
            }
        })
    }

    #[test]
    fn a_chain_passes() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn a_vnf_without_output_is_pycoo_09() {
        let json = good_with(
            r#"{"from": "b", "to": "sink"}"#,
            r#"{"from": "a", "to": "sink"}"#,
        );
        let found = all(&json);
        assert!(
            found.contains(&"pycoo-09-vnf-without-output".to_owned()),
            "{found:?}"
        );
    }

    #[test]
    fn a_shared_link_is_pycoo_11() {
        let json = good_with(
            r#"{"from": "b", "to": "sink"}"#,
            r#"{"from": "b", "to": "sink"}, {"from": "b", "to": "a", "link": "ab"}"#,
        );
        assert!(all(&json).contains(&"pycoo-11-shared-link".to_owned()));
    }

    #[test]
    fn a_loop_back_is_a_cycle() {
        let json = good_with(
            r#"{"from": "b", "to": "sink"}"#,
            r#"{"from": "b", "to": "sink"}, {"from": "b", "to": "a", "link": "ba"}"#,
        );
        assert_eq!(all(&json), ["cycle"]);
    }
}
