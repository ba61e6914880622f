//! The shipped examples and the PyCOO example set load, with PyCOO's interface order.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use topology::{Direction, EngineSpec, SourceFormat};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn pycoo_example_directory_loads_with_pycoo_port_order() {
    let topo = topology::load(&repo().join("tests/fixtures/pycoo/ClickOnOSvManager"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topo.format, SourceFormat::Pycoo);
    assert_eq!(topo.id.as_str(), "sfc");
    let ids: Vec<&str> = topo.vnfs.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["x", "y", "z"]);
    let y = topo.vnf("y").unwrap();
    assert_eq!(y.interfaces.len(), 2);
    assert_eq!(y.interfaces[0].port, 0);
    assert_eq!(y.interfaces[0].link.as_str(), "br1");
    assert_eq!(y.interfaces[0].direction, Direction::Ingress);
    assert_eq!(
        y.interfaces[0].mac.unwrap().to_string(),
        "52:54:00:6c:22:15"
    );
    assert_eq!(y.interfaces[1].link.as_str(), "br2");
    assert_eq!(y.interfaces[1].direction, Direction::Egress);
    assert_eq!(y.management_mac.unwrap().to_string(), "52:54:01:6c:22:02");
    assert_eq!(y.memory_mib, 300);
    // The script names firewall.click for y; the PyCOO set has no FUNCTIONS/, so the built-in one is used.
    assert!(
        y.function.ends_with("topologies/functions/firewall.click"),
        "{}",
        y.function.display()
    );
    assert!(topo.vnf("x").unwrap().function.ends_with("forward.click"));
    let links: Vec<&str> = topo.links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(links, ["br0", "br1", "br2", "br3"]);
    assert_eq!(topo.incoming.link.as_str(), "br0");
    assert_eq!(topo.outgoing[0].link.as_str(), "br3");
    let script = topo.script.as_ref().unwrap();
    assert_eq!(script.task_names(), ["end", "instantiate", "update"]);
    assert_eq!(topo.variants.len(), 1);
    assert_eq!(topo.variants[0].name, "default");
}

#[test]
fn reference_copy_of_pycoo_examples_loads_too() {
    let dir = Path::new("/work/shared/reference/pycoo-examples/ClickOnOSvManager");
    if !dir.exists() {
        eprintln!("skipped: {} not present on this machine", dir.display());
        return;
    }
    topology::load(dir).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn sfc_file_path_loads_its_directory() {
    let topo = topology::load(&repo().join("tests/fixtures/pycoo/ClickOnOSvManager/SFC/sfc.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topo.vnfs.len(), 3);
}

#[test]
fn fw_nat_example_has_three_variants() {
    let topo =
        topology::load(&repo().join("topologies/fw-nat.json")).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = topo.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["ipfilter", "classifier", "reference-click", "fastclick"]
    );
    let reference = topo.resolve(topo.variant("reference-click").unwrap());
    assert!(reference
        .iter()
        .all(|r| r.engine == EngineSpec::ReferenceClick));
    let classifier = topo.resolve(topo.variant("classifier").unwrap());
    assert!(classifier[0]
        .function
        .ends_with("functions/firewall-classifier.click"));
    assert!(classifier[1].function.ends_with("functions/nat.click"));
    assert_eq!(topo.traffic.flows.count, 256);
    assert_eq!(
        topo.vnf("fw").unwrap().interfaces[1].link.as_str(),
        "fw-nat"
    );
    assert_eq!(topo.traffic.frame_sizes.sizes(), [64, 1518]);
}

#[test]
fn pycoo_xyz_example_matches_the_pycoo_directory() {
    let unified =
        topology::load(&repo().join("topologies/pycoo-xyz.json")).unwrap_or_else(|e| panic!("{e}"));
    let pycoo = topology::load(&repo().join("tests/fixtures/pycoo/ClickOnOSvManager")).unwrap();
    assert_eq!(unified.links, pycoo.links);
    for (a, b) in unified.vnfs.iter().zip(&pycoo.vnfs) {
        assert_eq!(a.interfaces, b.interfaces);
        assert_eq!(a.function, b.function);
        assert_eq!(a.management_mac, b.management_mac);
    }
}

#[test]
fn export_round_trips() {
    let pycoo = topology::load(&repo().join("tests/fixtures/pycoo/ClickOnOSvManager")).unwrap();
    let out_dir = repo().join("topologies");
    let text = topology::export::to_unified_json(&pycoo, &std::fs::canonicalize(&out_dir).unwrap());
    let back = topology::parse_unified(&text, &out_dir.join("imported.json"), &Default::default())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.links, pycoo.links);
    assert_eq!(back.vnfs.len(), 3);
    for (a, b) in back.vnfs.iter().zip(&pycoo.vnfs) {
        assert_eq!(a.interfaces, b.interfaces);
    }
}

#[test]
fn dot_labels_ports() {
    let topo = topology::load(&repo().join("topologies/fw-nat.json")).unwrap();
    let dot = topology::graph::to_dot(&topo);
    assert!(dot.starts_with("digraph \"fw-nat\""), "{dot}");
    assert!(
        dot.contains(
            "\"fw\" -> \"nat\" [label=\"fw-nat\", taillabel=\"port 1\", headlabel=\"port 0\"]"
        ),
        "{dot}"
    );
    assert!(dot.contains("\"src\" -> \"fw\""), "{dot}");
    // Labels break lines with DOT's `\n`, not a literal backslash.
    assert!(
        dot.contains("label=\"fw\\nfirewall-ipfilter.click\\ncoo-click\""),
        "{dot}"
    );
    assert!(!dot.contains("\\\\n"), "{dot}");
    let g = topology::graph::to_petgraph(&topo);
    assert_eq!(g.node_count(), 4);
    assert_eq!(g.edge_count(), 3);
}

#[test]
fn pycoo_descriptors_with_long_names_load_unchanged() {
    let topo = topology::load(&repo().join("tests/fixtures/pycoo/LongNames"))
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = topo.vnfs.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["firewall", "forwarder-one", "forwarder-two"]);
    assert!(topo.link("bridge-fw2").is_some());
    let bridge = topology::names::bridge_name("cb0001", &topology::LinkName::new("bridge-fw2"));
    assert!(bridge.len() <= topology::names::IFNAME_MAX, "{bridge}");
}

#[test]
fn a_pycoo_vnf_descriptor_starts_alone_between_a_source_and_sinks() {
    let topo = topology::load(&repo().join("tests/fixtures/pycoo/ClickOnOSvManager/VNF/y.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topo.vnfs.len(), 1);
    let y = &topo.vnfs[0];
    assert_eq!(y.id.as_str(), "y");
    // Its data NICs in INTERFACES order, on the bridges the descriptor names.
    let links: Vec<&str> = y.interfaces.iter().map(|i| i.link.as_str()).collect();
    assert_eq!(links, ["br0", "br1"]);
    assert_eq!(topo.incoming.link.as_str(), "br0");
    assert_eq!(topo.outgoing[0].link.as_str(), "br1");
    // The script next to VNF/ names its function, as for the SFC.
    let function = topo.resolve(&topo.variants[0])[0].function.clone();
    assert!(
        function.ends_with("firewall.click"),
        "{}",
        function.display()
    );
}

#[test]
fn a_traffic_file_replaces_the_topology_profile_also_for_pycoo() {
    let opts = topology::LoadOptions {
        traffic: Some(repo().join("traffic/tcp.json")),
        ..Default::default()
    };
    let dir = repo().join("tests/fixtures/pycoo/ClickOnOSvManager");
    let topo = topology::load_with(&dir, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topo.traffic.protocol, topology::traffic::Protocol::Tcp);
    assert!(topo
        .traffic_file
        .as_ref()
        .unwrap()
        .ends_with("traffic/tcp.json"));
    // Without it, a PyCOO directory has the default (UDP) profile and no file.
    let plain = topology::load(&dir).unwrap();
    assert_eq!(plain.traffic.protocol, topology::traffic::Protocol::Udp);
    assert!(plain.traffic_file.is_none());
    // A bad profile is named, located in its own file.
    let tmp =
        std::env::temp_dir().join(format!("coo-bench-bad-traffic-{}.json", std::process::id()));
    std::fs::write(
        &tmp,
        r#"{"protocol": "tcp", "flows": {"dst_ip": "8.8.8.8"}}"#,
    )
    .unwrap();
    let opts = topology::LoadOptions {
        traffic: Some(tmp.clone()),
        ..Default::default()
    };
    let errors = topology::load_with(&dir, &opts).unwrap_err();
    let _ = std::fs::remove_file(&tmp);
    assert!(errors.has("address-outside-benchmark-range"), "{errors}");
    assert!(
        errors.to_string().contains("coo-bench-bad-traffic"),
        "{errors}"
    );
}

#[test]
fn explicit_ports_keep_the_wiring_when_connections_are_reordered() {
    let path = repo().join("tests/fixtures/topologies/valid/explicit-ports.json");
    let topo = topology::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let links = |topo: &topology::Topology, vnf: &str| -> Vec<String> {
        let v = topo.vnf(vnf).unwrap();
        v.interfaces.iter().map(|i| i.link.to_string()).collect()
    };
    assert_eq!(links(&topo, "fw"), ["in", "fw-nat"]);
    assert_eq!(links(&topo, "nat"), ["fw-nat", "out"]);
    assert!(topo
        .vnf("nat")
        .unwrap()
        .interfaces
        .iter()
        .all(|i| i.explicit));
    // The same connections without ports follow their order (PyCOO's): nat's port 0 would
    // be its egress.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(":0\"", "\"")
        .replace(":1\"", "\"");
    let implicit = topology::parse_unified(&text, &path, &Default::default()).unwrap();
    assert_eq!(links(&implicit, "nat"), ["out", "fw-nat"]);
}

#[test]
fn the_bidirectional_profile_loads_and_an_unknown_direction_is_an_error() {
    let opts = topology::LoadOptions {
        traffic: Some(repo().join("traffic/fw-nat-bidir.json")),
        ..Default::default()
    };
    let topo = topology::load_with(&repo().join("topologies/fw-nat.json"), &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topo.traffic.direction, topology::TrafficDirection::Both);
    // Without the field, traffic flows forward only.
    let plain = topology::load(&repo().join("topologies/fw-nat.json")).unwrap();
    assert_eq!(plain.traffic.direction, topology::TrafficDirection::Forward);
    let bad: Result<topology::TrafficProfile, _> =
        serde_json::from_str(r#"{"direction": "reverse"}"#);
    let err = bad.unwrap_err().to_string();
    assert!(err.contains("unknown variant `reverse`"), "{err}");
}
