//! Rules: PyCOO's structure (-1..-6) and graph (-7..-11) checks, then the ones PyCOO misses.
//! Every independent error is collected; graph-wide checks (reachability, cycles) run only when
//! the structure is sound, because they would just repeat the structural errors.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use crate::error::{ErrorKind, LoadError, LoadErrors, Location};
use crate::ids::{LinkName, MacAddr, NodeId, TopologyId};
use crate::locate::closest;
use crate::model::{
    Direction, EngineSpec, Link, Point, SourceFormat, Topology, Variant, Vnf, VnfInterface,
    VnfOverride,
};
use crate::names;
use crate::spec::{FunctionRef, Spec, SpecConn};
use crate::LoadOptions;

/// Default resources when the unified file gives none (PyCOO's examples use 300 MiB, 1 vCPU).
pub(crate) const DEFAULT_MEMORY_MIB: u32 = 300;
pub(crate) const DEFAULT_VCPUS: u32 = 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Vnf,
    Ip,
    Op,
}

struct Checker<'a> {
    spec: &'a Spec,
    opts: &'a LoadOptions,
    errors: Vec<LoadError>,
}

impl Checker<'_> {
    fn push(&mut self, kind: ErrorKind, at: Location) {
        self.errors.push(LoadError::new(kind, Some(at)));
    }

    fn at_pair(&self, key: &str, value: &str) -> Location {
        self.spec.main.find_pair(key, value)
    }

    fn at_key(&self, key: &str) -> Location {
        self.spec.main.find_key(key, 0)
    }

    /// Location of connection `index`, found through its `from` value.
    fn at_conn(&self, conns: &[SpecConn], index: usize) -> Location {
        let keys = self.spec.keys;
        let conn = &conns[index];
        match (&conn.from, &conn.to) {
            (Some(from), _) => {
                let nth = conns[..index]
                    .iter()
                    .filter(|c| c.from.as_deref() == Some(from.as_str()))
                    .count();
                self.spec.main.find_nth_pair(keys.from, from, nth)
            }
            (None, Some(to)) => {
                let nth = conns[..index]
                    .iter()
                    .filter(|c| c.to.as_deref() == Some(to.as_str()))
                    .count();
                self.spec.main.find_nth_pair(keys.to, to, nth)
            }
            (None, None) => self.at_key(keys.connections),
        }
    }
}

pub(crate) fn validate(spec: Spec, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    let mut ck = Checker {
        spec: &spec,
        opts,
        errors: spec.errors.clone(),
    };
    let keys = spec.keys;
    let empty = Vec::new();
    let vnfs = spec.vnfs.as_ref().unwrap_or(&empty);
    let empty_points = Vec::new();
    let ops = spec.ops.as_ref().unwrap_or(&empty_points);
    let empty_conns = Vec::new();
    let conns = spec.connections.as_ref().unwrap_or(&empty_conns);

    // -1: empty top-level fields.
    let ip_empty = spec
        .ip
        .as_ref()
        .is_none_or(|p| p.id.is_none() && p.link.is_none() && p.bridge_mac.is_none());
    for (field, is_empty) in [
        (keys.id, spec.id.as_deref().is_none_or(str::is_empty)),
        (keys.vnfs, vnfs.is_empty()),
        (keys.ip, ip_empty),
        (keys.ops, ops.is_empty()),
        (keys.connections, conns.is_empty()),
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

    // Ids: -2 (VNFs), -3 (IP), -4 (OPs), then uniqueness across kinds.
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    let mut vnf_seen = HashSet::new();
    for (index, vnf) in vnfs.iter().enumerate() {
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
    let ip = spec.ip.as_ref().filter(|_| !ip_empty);
    let mut ip_id = None;
    let mut ip_link = None;
    if let Some(ip) = ip {
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
    for (index, op) in ops.iter().enumerate() {
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
    let kind_of = |id: &str| kinds.get(id).copied();

    // Names: characters and lengths (they become parts of Linux interface names).
    let mut named: Vec<(String, String, bool)> = Vec::new(); // (what, name, is_link)
    for id in kinds.keys() {
        named.push((kind_label(kinds[id]).to_owned(), id.clone(), false));
    }
    if let Some(link) = &ip_link {
        named.push(("link".to_owned(), link.clone(), true));
    }
    for op in ops {
        if let Some(link) = &op.link {
            named.push(("link".to_owned(), link.clone(), true));
        }
    }
    for conn in conns {
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
            continue;
        }
        let (max, why) = if is_link {
            (
                names::MAX_LINK_NAME,
                format!(
                    "bridge `{}` must fit 15 bytes with a {}-byte run prefix",
                    names::bridge_name(names::EXAMPLE_PREFIX, &LinkName::new(name.as_str())),
                    names::RUN_PREFIX_LEN
                ),
            )
        } else {
            (
                names::MAX_NODE_ID,
                format!(
                    "interface `{}` must fit 15 bytes with a {}-byte run prefix",
                    names::interface_name(names::EXAMPLE_PREFIX, &NodeId::new(name.as_str()), 0),
                    names::RUN_PREFIX_LEN
                ),
            )
        };
        if name.len() > max {
            ck.push(
                ErrorKind::NameTooLong {
                    what,
                    len: name.len(),
                    name,
                    max,
                    why,
                },
                at,
            );
        }
    }

    // -5 / -10 and unknown ids, per connection. `good` = connections fit for graph checks.
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
        let mut unknown = false;
        for (field, id) in [(keys.from, from), (keys.to, to)] {
            if kind_of(id).is_none() {
                unknown = true;
                let suggestion = closest(id, kinds.keys().map(String::as_str));
                let at = ck.spec.main.find_nth_pair(field, id, 0);
                ck.push(
                    ErrorKind::UnknownId {
                        id: id.clone(),
                        context: format!("connection {index} `{field}`"),
                        suggestion,
                    },
                    at,
                );
            }
        }
        if unknown {
            continue;
        }
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
        let (fk, tk) = (kind_of(from), kind_of(to));
        let bad = |reason: &str| ErrorKind::PycooConnectionBadEndpoints {
            index,
            from: from.clone(),
            to: to.clone(),
            reason: reason.to_owned(),
        };
        let ip_name = ip_id.clone().unwrap_or_default();
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
        if spec.require_macs {
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

    // MACs: syntax, unicast, -6 (data MACs of connections), then unique across everything.
    let mut macs: Vec<(MacAddr, String, bool, Location)> = Vec::new(); // (mac, owner, data, at)
    let mut parsed_macs: HashMap<String, MacAddr> = HashMap::new();
    let mut mac_sources: Vec<(String, String, bool, Location)> = Vec::new();
    for vnf in vnfs {
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
    if let Some(ip) = ip {
        point_macs.push((ip.id.clone(), &ip.bridge_mac));
    }
    for op in ops {
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
    for (index, conn) in conns.iter().enumerate() {
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

    // Graph rules -7..-11 (PyCOO) plus op-fan-in and duplicate-link (ours).
    let good_conns: Vec<(usize, &SpecConn)> = good.iter().map(|&i| (i, &conns[i])).collect();
    // Exact repeats are already -5; counting them again would add a spurious -11.
    let conn_links: Vec<&String> = conns
        .iter()
        .enumerate()
        .filter(|(i, c)| !conns[..*i].contains(c))
        .filter_map(|(_, c)| c.link.as_ref())
        .collect();
    if let Some(ip) = &ip_id {
        let count = conns
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
        if let Some(link) = &ip_link {
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
    if let (Some(ip), Some(link)) = (&ip_id, &ip_link) {
        point_links.insert(link.clone(), format!("the Incoming Point `{ip}`"));
    }
    for op in ops {
        let Some(id) = &op.id else { continue };
        let incoming = conns
            .iter()
            .filter(|c| c.to.as_deref() == Some(id.as_str()))
            .count();
        if incoming == 0 {
            let at = ck.at_pair(keys.id, id);
            ck.push(ErrorKind::PycooOutgoingNeverReached { op: id.clone() }, at);
        } else if incoming > 1 {
            let at = ck.at_pair(keys.id, id);
            ck.push(
                ErrorKind::OutgoingFanIn {
                    op: id.clone(),
                    count: incoming,
                },
                at,
            );
        }
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
    for vnf in vnfs {
        let Some(id) = &vnf.id else { continue };
        let at = ck.at_pair(keys.id, id);
        if !conns.iter().any(|c| c.to.as_deref() == Some(id.as_str())) {
            ck.push(
                ErrorKind::PycooVnfWithoutInput { vnf: id.clone() },
                at.clone(),
            );
        }
        if !conns.iter().any(|c| c.from.as_deref() == Some(id.as_str())) {
            ck.push(ErrorKind::PycooVnfWithoutOutput { vnf: id.clone() }, at);
        }
    }
    let mut link_uses: BTreeMap<&String, usize> = BTreeMap::new();
    for link in &conn_links {
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

    // Reachability and cycles, only on a sound structure.
    if ck.errors.is_empty() {
        if let Some(ip) = &ip_id {
            graph_rules(&mut ck, ip, &kinds, &good_conns);
        }
    }

    // Derived names must not collide.
    if ck.errors.is_empty() {
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut derived = Vec::new();
        for (id, kind) in &kinds {
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
        let all_links = ip_link
            .iter()
            .chain(ops.iter().filter_map(|o| o.link.as_ref()))
            .chain(conn_links.iter().copied());
        for link in all_links {
            derived.push((
                names::bridge_name(names::EXAMPLE_PREFIX, &LinkName::new(link.as_str())),
                format!("the bridge of link `{link}`"),
            ));
        }
        for (name, owner) in derived {
            if name.len() > names::IFNAME_MAX {
                let at = ck.spec.main.file();
                ck.push(
                    ErrorKind::NameTooLong {
                        what: "derived interface name".to_owned(),
                        len: name.len(),
                        name,
                        max: names::IFNAME_MAX,
                        why: format!("{owner}: Linux limits interface names to 15 bytes"),
                    },
                    at,
                );
            } else if let Some(first) = seen.get(&name) {
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

    // Per-VNF engines, functions, images, resources.
    let mut functions: Vec<Option<PathBuf>> = Vec::new();
    let mut engines: Vec<Option<EngineSpec>> = Vec::new();
    let mut images: Vec<Option<PathBuf>> = Vec::new();
    for vnf in vnfs {
        let id = vnf.id.clone().unwrap_or_default();
        let what = format!("VNF `{id}`");
        let at = ck.at_pair(keys.id, &id);
        engines.push(check_engine(
            &mut ck,
            &what,
            vnf.engine.as_deref(),
            at.clone(),
        ));
        functions.push(check_function(&mut ck, &what, &vnf.function, at.clone()));
        images.push(vnf.image.as_ref().map(|image| {
            let path = ck.spec.base_dir.join(image);
            if ck.opts.check_files && !path.exists() {
                let at = ck.at_pair("image", image);
                ck.push(
                    ErrorKind::ImageMissing {
                        vnf: id.clone(),
                        path: path.clone(),
                    },
                    at,
                );
            }
            path
        }));
        if spec.format == SourceFormat::Unified && (vnf.memory_mib <= 0 || vnf.vcpus <= 0) {
            ck.push(
                ErrorKind::InvalidResources {
                    vnf: id.clone(),
                    memory_mib: vnf.memory_mib,
                    vcpus: vnf.vcpus,
                },
                at,
            );
        }
    }

    // Variants.
    let mut variants = Vec::new();
    let mut variant_names = HashSet::new();
    for entry in &spec.variants {
        let at = ck.at_pair("name", &entry.name);
        if !variant_names.insert(entry.name.clone()) {
            ck.push(
                ErrorKind::DuplicateVariant {
                    name: entry.name.clone(),
                },
                at.clone(),
            );
        }
        let mut overrides = BTreeMap::new();
        for (vnf_id, over) in &entry.vnfs {
            let what = format!("variant `{}`, VNF `{vnf_id}`", entry.name);
            if kind_of(vnf_id) != Some(Kind::Vnf) {
                let suggestion = closest(vnf_id, vnfs.iter().filter_map(|v| v.id.as_deref()));
                ck.push(
                    ErrorKind::UnknownId {
                        id: vnf_id.clone(),
                        context: format!("variant `{}`", entry.name),
                        suggestion,
                    },
                    at.clone(),
                );
                continue;
            }
            let engine = over
                .engine
                .as_ref()
                .and_then(|e| check_engine(&mut ck, &what, Some(e), at.clone()));
            let function = over.function.as_ref().and_then(|f| {
                check_function(
                    &mut ck,
                    &what,
                    &FunctionRef::Relative(f.clone()),
                    at.clone(),
                )
            });
            overrides.insert(
                NodeId::new(vnf_id.as_str()),
                VnfOverride { engine, function },
            );
        }
        variants.push(Variant {
            name: entry.name.clone(),
            description: entry.description.clone(),
            vnfs: overrides,
        });
    }
    if variants.is_empty() {
        variants.push(Variant {
            name: "default".to_owned(),
            description: None,
            vnfs: BTreeMap::new(),
        });
    }

    check_impairments(&mut ck, conns);
    check_settings(&mut ck);

    if !ck.errors.is_empty() {
        return Err(LoadErrors(ck.errors));
    }

    // Build the model. Every lookup below was validated above.
    let mac = |text: &Option<String>| text.as_ref().and_then(|t| parsed_macs.get(t).copied());
    let ip = ip.cloned().unwrap_or_default();
    let ip_point = Point {
        id: NodeId::new(ip.id.clone().unwrap_or_default()),
        link: LinkName::new(ip.link.clone().unwrap_or_default()),
    };
    let outgoing: Vec<Point> = ops
        .iter()
        .map(|op| Point {
            id: NodeId::new(op.id.clone().unwrap_or_default()),
            link: LinkName::new(op.link.clone().unwrap_or_default()),
        })
        .collect();
    let links: Vec<Link> = conns
        .iter()
        .map(|c| {
            let from = c.from.clone().unwrap_or_default();
            let to = c.to.clone().unwrap_or_default();
            let (name, point_mac) = if Some(&from) == ip.id.as_ref() {
                (ip.link.clone(), ip.bridge_mac.clone())
            } else if let Some(op) = ops.iter().find(|o| o.id.as_ref() == Some(&to)) {
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
    let model_vnfs = vnfs
        .iter()
        .zip(functions)
        .zip(engines)
        .zip(images)
        .map(|(((vnf, function), engine), image)| {
            let id = NodeId::new(vnf.id.clone().unwrap_or_default());
            let mut interfaces = Vec::new();
            for link in &links {
                let (peer, mac, direction) = if link.from == id {
                    (&link.to, link.from_mac, Direction::Egress)
                } else if link.to == id {
                    (&link.from, link.to_mac, Direction::Ingress)
                } else {
                    continue;
                };
                interfaces.push(VnfInterface {
                    port: interfaces.len(),
                    link: link.name.clone(),
                    mac,
                    peer: peer.clone(),
                    direction,
                });
            }
            Vnf {
                id,
                function: function.unwrap_or_default(),
                engine: engine.unwrap_or_default(),
                memory_mib: u32::try_from(vnf.memory_mib).unwrap_or(DEFAULT_MEMORY_MIB),
                vcpus: u32::try_from(vnf.vcpus).unwrap_or(DEFAULT_VCPUS),
                management_mac: mac(&vnf.management_mac),
                image,
                interfaces,
            }
        })
        .collect();
    Ok(Topology {
        id: TopologyId::new(spec.id.clone().unwrap_or_default()),
        base_dir: spec.base_dir.clone(),
        source: spec.source.clone(),
        format: spec.format,
        driver: spec.driver,
        vnfs: model_vnfs,
        incoming: ip_point,
        outgoing,
        links,
        variants,
        traffic: spec.traffic.clone(),
        benchmark: spec.benchmark.clone(),
        script: spec.script.clone(),
    })
}

fn kind_label(kind: Kind) -> &'static str {
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

fn check_engine(
    ck: &mut Checker<'_>,
    what: &str,
    engine: Option<&str>,
    at: Location,
) -> Option<EngineSpec> {
    let Some(text) = engine else {
        return Some(EngineSpec::CooClick);
    };
    let at = match ck.spec.main.find_pair("engine", text) {
        l if l.line > 0 => l,
        _ => at,
    };
    match EngineSpec::parse_name(text) {
        None => {
            ck.push(
                ErrorKind::UnknownEngine {
                    what: what.to_owned(),
                    engine: text.to_owned(),
                    suggestion: closest(text, EngineSpec::NAMES),
                },
                at,
            );
            None
        }
        Some(EngineSpec::External(path)) => {
            let path = ck.spec.base_dir.join(path);
            if ck.opts.check_files && !path.is_file() {
                ck.push(
                    ErrorKind::EngineMissing {
                        what: what.to_owned(),
                        path: path.clone(),
                    },
                    at,
                );
            }
            Some(EngineSpec::External(path))
        }
        Some(other) => Some(other),
    }
}

fn check_function(
    ck: &mut Checker<'_>,
    what: &str,
    function: &FunctionRef,
    at: Location,
) -> Option<PathBuf> {
    match function {
        FunctionRef::Relative(rel) => {
            let path = normalize(&ck.spec.base_dir.join(rel));
            if ck.opts.check_files && !path.is_file() {
                let at = match ck.spec.main.find_pair("function", rel) {
                    l if l.line > 0 => l,
                    _ => at,
                };
                ck.push(
                    ErrorKind::FunctionMissing {
                        what: what.to_owned(),
                        path: path.clone(),
                        searched: Vec::new(),
                    },
                    at,
                );
            }
            Some(path)
        }
        FunctionRef::Candidates { shown, candidates } => {
            if !ck.opts.check_files {
                return candidates.first().map(|p| normalize(p));
            }
            match candidates.iter().find(|p| p.is_file()) {
                Some(found) => Some(normalize(found)),
                None => {
                    ck.push(
                        ErrorKind::FunctionMissing {
                            what: what.to_owned(),
                            path: PathBuf::from(shown),
                            searched: candidates.clone(),
                        },
                        at,
                    );
                    None
                }
            }
        }
    }
}

/// Removes `.` and `a/..` components without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn check_impairments(ck: &mut Checker<'_>, conns: &[SpecConn]) {
    for (index, conn) in conns.iter().enumerate() {
        let Some(imp) = &conn.impairment else {
            continue;
        };
        let link = conn
            .link
            .clone()
            .unwrap_or_else(|| format!("of connection {index}"));
        let mut problems = Vec::new();
        if !(0.0..=100.0).contains(&imp.loss_pct) || imp.loss_pct.is_nan() {
            problems.push(format!("loss_pct {} is not within 0..=100", imp.loss_pct));
        }
        if imp.jitter_us > 0 && imp.delay_us == 0 {
            problems.push("jitter_us needs a non-zero delay_us (netem)".to_owned());
        }
        if imp.rate_mbit == Some(0) {
            problems.push("rate_mbit must be > 0 (omit it for no limit)".to_owned());
        }
        for reason in problems {
            let at = ck.at_key("impairment");
            ck.push(
                ErrorKind::InvalidImpairment {
                    link: link.clone(),
                    reason,
                },
                at,
            );
        }
    }
}

fn in_benchmark_range(addr: Ipv4Addr) -> bool {
    let [a, b, ..] = addr.octets();
    a == 198 && (b == 18 || b == 19)
}

fn check_settings(ck: &mut Checker<'_>) {
    let traffic = ck.spec.traffic.clone();
    let bench = ck.spec.benchmark.clone();
    let src = ck
        .spec
        .traffic_source
        .clone()
        .unwrap_or_else(|| ck.spec.main.clone());
    for (field, addr) in [
        ("traffic.flows.src_ip", traffic.flows.src_ip),
        ("traffic.flows.dst_ip", traffic.flows.dst_ip),
    ] {
        if !in_benchmark_range(addr) {
            let key = field.rsplit('.').next().unwrap_or(field);
            ck.push(
                ErrorKind::AddressOutsideBenchmarkRange {
                    field: field.to_owned(),
                    address: addr.to_string(),
                },
                src.find_pair(key, &addr.to_string()),
            );
        }
    }
    let mut bad = Vec::new();
    if traffic.flows.count == 0 {
        bad.push(("traffic.flows.count", "must be at least 1".to_owned()));
    }
    let sizes = traffic.frame_sizes.sizes();
    if sizes.is_empty() {
        bad.push(("traffic.frame_sizes", "must not be empty".to_owned()));
    }
    for size in sizes.iter().chain(bench.frame_sizes.iter()) {
        if !(60..=9216).contains(size) {
            bad.push((
                "frame_sizes",
                format!("{size} is not within 60..=9216 bytes"),
            ));
        }
    }
    if traffic.duration_s.is_nan() || traffic.duration_s <= 0.0 {
        bad.push(("traffic.duration_s", "must be > 0".to_owned()));
    }
    if traffic.warmup_s.is_nan() || traffic.warmup_s < 0.0 {
        bad.push(("traffic.warmup_s", "must be >= 0".to_owned()));
    }
    if bench.frame_sizes.is_empty() {
        bad.push(("benchmark.frame_sizes", "must not be empty".to_owned()));
    }
    if bench.trial_duration_s.is_nan() || bench.trial_duration_s <= 0.0 {
        bad.push(("benchmark.trial_duration_s", "must be > 0".to_owned()));
    }
    if !(0.0..=100.0).contains(&bench.ndr_loss_pct) || !(0.0..=100.0).contains(&bench.pdr_loss_pct)
    {
        bad.push((
            "benchmark.ndr_loss_pct/pdr_loss_pct",
            "must be within 0..=100".to_owned(),
        ));
    } else if bench.ndr_loss_pct > bench.pdr_loss_pct {
        bad.push((
            "benchmark.ndr_loss_pct",
            "must not exceed pdr_loss_pct".to_owned(),
        ));
    }
    if bench.precision_pct.is_nan() || bench.precision_pct <= 0.0 {
        bad.push(("benchmark.precision_pct", "must be > 0".to_owned()));
    }
    if bench.min_rate_pps == 0 || bench.min_rate_pps > bench.max_rate_pps {
        bad.push((
            "benchmark.min_rate_pps",
            "must be > 0 and <= max_rate_pps".to_owned(),
        ));
    }
    if bench.repetitions == 0 {
        bad.push(("benchmark.repetitions", "must be at least 1".to_owned()));
    }
    if bench
        .latency_loads_pct
        .iter()
        .any(|l| !(*l > 0.0 && *l <= 100.0))
    {
        bad.push((
            "benchmark.latency_loads_pct",
            "every load must be within (0, 100]".to_owned(),
        ));
    }
    for (field, reason) in bad {
        let (file, key) = match field.split_once('.') {
            Some(("traffic", key)) => (&src, key),
            Some((_, key)) => (&ck.spec.main, key),
            None => (&ck.spec.main, field),
        };
        let at = file.find_key(key.split('/').next().unwrap_or(key), 0);
        ck.push(
            ErrorKind::InvalidSetting {
                field: field.to_owned(),
                reason,
            },
            at,
        );
    }
}
