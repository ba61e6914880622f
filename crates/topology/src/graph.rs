//! Graph views of a validated topology: petgraph and Graphviz DOT.

use std::fmt::Write;

use petgraph::graph::DiGraph;

use crate::ids::{LinkName, NodeId};
use crate::model::Topology;

/// Nodes (IP, VNFs, OPs) and one edge per link, in traffic direction.
pub fn to_petgraph(topology: &Topology) -> DiGraph<NodeId, LinkName> {
    let mut graph = DiGraph::new();
    let mut index = std::collections::HashMap::new();
    let ids = std::iter::once(&topology.incoming.id)
        .chain(topology.vnfs.iter().map(|v| &v.id))
        .chain(topology.outgoing.iter().map(|o| &o.id));
    for id in ids {
        index.insert(id.clone(), graph.add_node(id.clone()));
    }
    for link in &topology.links {
        if let (Some(&a), Some(&b)) = (index.get(&link.from), index.get(&link.to)) {
            graph.add_edge(a, b, link.name.clone());
        }
    }
    graph
}

/// A DOT string: backslashes and quotes escaped, line breaks as DOT's `\n` (so a label's own
/// line breaks are not escaped a second time).
fn quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// Graphviz DOT: edges labelled with the link name, tail/head labels with the Click ports.
pub fn to_dot(topology: &Topology) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(topology.id.as_str()));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [fontname=\"Helvetica\"];");
    let _ = writeln!(
        out,
        "  {} [shape=invhouse, label={}];",
        quote(topology.incoming.id.as_str()),
        quote(&format!("{}\n(Incoming Point)", topology.incoming.id))
    );
    for vnf in &topology.vnfs {
        let function = vnf
            .function
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} [shape=box, style=rounded, label={}];",
            quote(vnf.id.as_str()),
            quote(&format!("{}\n{}\n{}", vnf.id, function, vnf.engine))
        );
    }
    for op in &topology.outgoing {
        let _ = writeln!(
            out,
            "  {} [shape=house, label={}];",
            quote(op.id.as_str()),
            quote(&format!("{}\n(Outgoing Point)", op.id))
        );
    }
    let port = |node: &NodeId, link: &LinkName| {
        topology
            .vnf(node.as_str())
            .and_then(|v| v.interfaces.iter().find(|i| &i.link == link))
            .map(|i| format!("port {}", i.port))
    };
    for link in &topology.links {
        let mut attrs = vec![format!("label={}", quote(link.name.as_str()))];
        if let Some(p) = port(&link.from, &link.name) {
            attrs.push(format!("taillabel={}", quote(&p)));
        }
        if let Some(p) = port(&link.to, &link.name) {
            attrs.push(format!("headlabel={}", quote(&p)));
        }
        if link.impairment.is_some() {
            attrs.push("style=dashed".to_owned());
        }
        let _ = writeln!(
            out,
            "  {} -> {} [{}];",
            quote(link.from.as_str()),
            quote(link.to.as_str()),
            attrs.join(", ")
        );
    }
    out.push_str("}\n");
    out
}
