//! The validated model, built once every rule passed (every lookup here was validated).

use std::collections::HashMap;

use super::files::PerVnf;
use super::{Parts, DEFAULT_MEMORY_MIB, DEFAULT_VCPUS};
use crate::ids::{HostName, LinkName, MacAddr, NodeId, TopologyId};
use crate::model::{Direction, Host, Link, Point, Topology, Variant, Vnf, VnfInterface};
use crate::spec::Spec;

pub(super) fn build(
    spec: &Spec,
    parts: Parts<'_>,
    macs: &HashMap<String, MacAddr>,
    per_vnf: PerVnf,
    placed: Vec<Option<String>>,
    variants: Vec<Variant>,
) -> Topology {
    let mac = |text: &Option<String>| text.as_ref().and_then(|t| macs.get(t).copied());
    let ip = parts.ip.cloned().unwrap_or_default();
    let ip_point = Point {
        id: NodeId::new(ip.id.clone().unwrap_or_default()),
        link: LinkName::new(ip.link.clone().unwrap_or_default()),
    };
    let outgoing: Vec<Point> = parts
        .ops
        .iter()
        .map(|op| Point {
            id: NodeId::new(op.id.clone().unwrap_or_default()),
            link: LinkName::new(op.link.clone().unwrap_or_default()),
        })
        .collect();
    let links: Vec<Link> = parts
        .conns
        .iter()
        .map(|c| {
            let from = c.from.clone().unwrap_or_default();
            let to = c.to.clone().unwrap_or_default();
            let (name, point_mac) = if Some(&from) == ip.id.as_ref() {
                (ip.link.clone(), ip.bridge_mac.clone())
            } else if let Some(op) = parts.ops.iter().find(|o| o.id.as_ref() == Some(&to)) {
                (op.link.clone(), op.bridge_mac.clone())
            } else {
                (c.link.clone(), None)
            };
            Link {
                name: LinkName::new(name.unwrap_or_default()),
                from: NodeId::new(from),
                to: NodeId::new(to),
                from_mac: mac(&c.from_mac),
                to_mac: mac(&c.to_mac),
                bridge_mac: mac(&c.bridge_mac).or_else(|| mac(&point_mac)),
                impairment: c.impairment.clone(),
            }
        })
        .collect();
    let model_vnfs = parts
        .vnfs
        .iter()
        .zip(per_vnf.functions)
        .zip(per_vnf.engines)
        .zip(per_vnf.images)
        .zip(placed)
        .map(|((((vnf, function), engine), image), host)| {
            let id = NodeId::new(vnf.id.clone().unwrap_or_default());
            let mut interfaces = Vec::new();
            // (interface, explicit port) in connection order.
            let mut given: Vec<Option<usize>> = Vec::new();
            for (link, conn) in links.iter().zip(parts.conns) {
                let (peer, mac, direction, port) = if link.from == id {
                    (&link.to, link.from_mac, Direction::Egress, &conn.from_port)
                } else if link.to == id {
                    (&link.from, link.to_mac, Direction::Ingress, &conn.to_port)
                } else {
                    continue;
                };
                given.push(port.as_ref().and_then(|p| p.parse().ok()));
                interfaces.push(VnfInterface {
                    port: interfaces.len(),
                    link: link.name.clone(),
                    mac,
                    peer: peer.clone(),
                    direction,
                    explicit: port.is_some(),
                });
            }
            // Explicit ports keep their number; the others fill the free numbers in
            // connection order (PyCOO's order when none is given).
            let mut free = (0..interfaces.len()).filter(|n| !given.contains(&Some(*n)));
            for (itf, port) in interfaces.iter_mut().zip(&given) {
                itf.port = match port {
                    Some(n) => *n,
                    None => free.next().unwrap_or(itf.port),
                };
            }
            interfaces.sort_by_key(|i| i.port);
            Vnf {
                id,
                function: function.unwrap_or_default(),
                engine: engine.unwrap_or_default(),
                memory_mib: u32::try_from(vnf.memory_mib).unwrap_or(DEFAULT_MEMORY_MIB),
                vcpus: u32::try_from(vnf.vcpus).unwrap_or(DEFAULT_VCPUS),
                management_mac: mac(&vnf.management_mac),
                image,
                cpu_model: vnf.cpu_model.clone(),
                host: host.map(HostName::new),
                interfaces,
                engine_options: vnf.engine_options.clone(),
            }
        })
        .collect();
    Topology {
        id: TopologyId::new(spec.id.clone().unwrap_or_default()),
        base_dir: spec.base_dir.clone(),
        source: spec.source.clone(),
        format: spec.format,
        driver: spec.driver,
        hosts: spec
            .hosts
            .iter()
            .map(|h| Host {
                name: HostName::new(h.name.clone()),
                uri: h.uri.clone(),
                underlay: h.underlay,
                ssh: h.ssh.clone(),
                cpus: h.cpus,
                memory_mib: h.memory_mib,
            })
            .collect(),
        vnfs: model_vnfs,
        incoming: ip_point,
        outgoing,
        links,
        variants,
        traffic: spec.traffic.clone(),
        traffic_file: spec.traffic_source.as_ref().map(|t| t.path.clone()),
        benchmark: spec.benchmark.clone(),
        script: spec.script.clone(),
        warnings: spec.warnings.clone(),
    }
}
