//! Topology parsers on arbitrary bytes: unified topology, PyCOO SFC and VNF descriptors,
//! execution scripts, traffic profiles. None may panic; whatever parses must survive validation,
//! and a valid unified topology must round-trip through the exporter.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = topology::LoadOptions {
        function_dirs: Vec::new(),
        check_files: false,
        traffic: None,
    };
    let file = Path::new("/fuzz/topology.json");
    let _ = topology::raw::pycoo::parse_vnf(text);
    let _ = topology::script::parse(text, Path::new("/fuzz/script.json"));
    let _ = topology::parse_traffic(text, Path::new("/fuzz/traffic.json"));
    // SFC text validated against a directory that does not exist: descriptors are missing,
    // which must be reported, not crash.
    let _ = topology::parse_pycoo_sfc(Path::new("/nonexistent-fuzz-dir"), text, &opts);
    match topology::parse_unified(text, file, &opts) {
        Ok(topo) => {
            let _ = topology::graph::to_dot(&topo);
            let exported = topology::export::to_unified_json(&topo, Path::new("/fuzz"));
            let back = topology::parse_unified(&exported, file, &opts)
                .unwrap_or_else(|e| panic!("exported topology does not validate: {e}\n{exported}"));
            assert_eq!(back.links, topo.links, "round trip changed the links");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let _ = errors.to_string();
        }
    }
});
