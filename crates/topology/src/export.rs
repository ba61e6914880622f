//! Writing a validated topology as a unified file (`coo-bench import-pycoo`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::model::{EngineSpec, Topology};
use crate::raw::unified::{
    ConnectionEntry, OverrideEntry, PointEntry, TopologyFile, TrafficRef, VariantEntry, VnfEntry,
};
use crate::traffic::TrafficProfile;

/// `path` relative to directory `base` when both are absolute, else `path` unchanged.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    if !path.is_absolute() || !base.is_absolute() {
        return path.to_owned();
    }
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn path_text(path: &Path, out_dir: &Path) -> String {
    relative_to(path, out_dir).to_string_lossy().into_owned()
}

fn engine_text(engine: &EngineSpec, out_dir: &Path) -> String {
    match engine {
        EngineSpec::External(path) => {
            let rel = path_text(path, out_dir);
            // A bare file name would read as an engine name: keep a `/` in it.
            if rel.contains('/') {
                rel
            } else {
                format!("./{rel}")
            }
        }
        other => other.to_string(),
    }
}

/// The unified form of `topology`, with paths relative to `out_dir` (the output file's
/// directory, absolute). The PyCOO execution script has no unified equivalent and is dropped.
pub fn to_unified(topology: &Topology, out_dir: &Path) -> TopologyFile {
    let ip = &topology.incoming;
    let is_endpoint = |from: &str, to: &str| {
        from == ip.id.as_str() || topology.outgoing.iter().any(|o| o.id.as_str() == to)
    };
    let point = |id: &str, link: &str, mac| PointEntry {
        id: id.to_owned(),
        link: (link != id).then(|| link.to_owned()),
        bridge_mac: mac,
    };
    let link_mac = |name: &crate::ids::LinkName| {
        topology
            .link(name.as_str())
            .and_then(|l| l.bridge_mac)
            .map(|m| m.to_string())
    };
    TopologyFile {
        schema: None,
        id: topology.id.to_string(),
        description: None,
        driver: topology.driver,
        hosts: topology
            .hosts
            .iter()
            .map(|h| crate::raw::unified::HostEntry {
                name: h.name.to_string(),
                uri: h.uri.clone(),
                underlay: h.underlay,
                ssh: h.ssh.clone(),
                cpus: h.cpus,
                memory_mib: h.memory_mib,
            })
            .collect(),
        vnfs: topology
            .vnfs
            .iter()
            .map(|v| VnfEntry {
                id: v.id.to_string(),
                function: path_text(&v.function, out_dir),
                engine: (v.engine != EngineSpec::CooClick).then(|| engine_text(&v.engine, out_dir)),
                memory_mib: Some(v.memory_mib),
                vcpus: Some(v.vcpus),
                management_mac: v.management_mac.map(|m| m.to_string()),
                image: v.image.as_ref().map(|p| path_text(p, out_dir)),
                cpu_model: v.cpu_model.clone(),
                engine_options: some_options(&v.engine_options),
                host: v.host.as_ref().map(|h| h.to_string()),
            })
            .collect(),
        incoming: point(ip.id.as_str(), ip.link.as_str(), link_mac(&ip.link)),
        outgoing: topology
            .outgoing
            .iter()
            .map(|o| point(o.id.as_str(), o.link.as_str(), link_mac(&o.link)))
            .collect(),
        connections: topology
            .links
            .iter()
            .map(|l| {
                let endpoint = is_endpoint(l.from.as_str(), l.to.as_str());
                ConnectionEntry {
                    from: l.from.to_string(),
                    to: l.to.to_string(),
                    link: (!endpoint).then(|| l.name.to_string()),
                    from_mac: l.from_mac.map(|m| m.to_string()),
                    to_mac: l.to_mac.map(|m| m.to_string()),
                    bridge_mac: if endpoint {
                        None
                    } else {
                        l.bridge_mac.map(|m| m.to_string())
                    },
                    impairment: l.impairment.clone(),
                }
            })
            .collect(),
        traffic: (topology.traffic != TrafficProfile::default())
            .then(|| TrafficRef::Inline(topology.traffic.clone())),
        variants: if topology.variants.len() == 1
            && topology.variants[0].name == "default"
            && topology.variants[0].vnfs.is_empty()
            && topology.variants[0].engine_options.is_empty()
        {
            Vec::new()
        } else {
            topology
                .variants
                .iter()
                .map(|v| VariantEntry {
                    name: v.name.clone(),
                    description: v.description.clone(),
                    engine_options: some_options(&v.engine_options),
                    vnfs: v
                        .vnfs
                        .iter()
                        .map(|(id, o)| {
                            (
                                id.to_string(),
                                OverrideEntry {
                                    engine: o.engine.as_ref().map(|e| engine_text(e, out_dir)),
                                    function: o.function.as_ref().map(|f| path_text(f, out_dir)),
                                    engine_options: some_options(&o.engine_options),
                                },
                            )
                        })
                        .collect::<BTreeMap<_, _>>(),
                })
                .collect()
        },
        benchmark: (topology.benchmark != Default::default()).then(|| topology.benchmark.clone()),
    }
}

fn some_options(o: &crate::model::EngineOptions) -> Option<crate::model::EngineOptions> {
    (!o.is_empty()).then(|| o.clone())
}

/// Pretty JSON text of [`to_unified`] with a trailing newline.
pub fn to_unified_json(topology: &Topology, out_dir: &Path) -> String {
    let mut text = serde_json::to_string_pretty(&to_unified(topology, out_dir)).unwrap_or_default();
    text.push('\n');
    text
}
