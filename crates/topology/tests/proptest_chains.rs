//! Random valid chains validate; one mutation gives the expected named error.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{json, Value};
use topology::{Direction, LoadOptions};

const FUNCTIONS: [&str; 4] = [
    "functions/forward.click",
    "functions/firewall-ipfilter.click",
    "functions/nat.click",
    "functions/router.click",
];

fn topology_file() -> PathBuf {
    // Inside topologies/ so the relative function paths resolve.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/generated.json")
}

fn mac(n: usize) -> String {
    format!("02:00:00:00:{:02x}:{:02x}", n / 256, n % 256)
}

/// src -> v0 -> v1 -> ... -> v(n-1) -> sink, every MAC given.
fn chain(n: usize, functions: &[usize], engines: &[bool]) -> Value {
    let vnfs: Vec<Value> = (0..n)
        .map(|i| {
            let mut v = json!({"id": format!("v{i}"), "function": FUNCTIONS[functions[i] % FUNCTIONS.len()]});
            if engines[i] {
                v["engine"] = json!("click");
            }
            v
        })
        .collect();
    let mut conns = vec![json!({"from": "src", "to": "v0", "to_mac": mac(0)})];
    for i in 1..n {
        conns.push(
            json!({"from": format!("v{}", i - 1), "to": format!("v{i}"), "link": format!("l{i}"),
            "from_mac": mac(2 * i - 1), "to_mac": mac(2 * i)}),
        );
    }
    conns.push(json!({"from": format!("v{}", n - 1), "to": "sink", "from_mac": mac(2 * n - 1)}));
    json!({"id": "gen", "vnfs": vnfs, "incoming": {"id": "src", "link": "in"},
           "outgoing": [{"id": "sink", "link": "out"}], "connections": conns})
}

fn check(topo: &Value) -> Result<topology::Topology, topology::LoadErrors> {
    topology::parse_unified(&topo.to_string(), &topology_file(), &LoadOptions::default())
}

fn params() -> impl Strategy<Value = (usize, Vec<usize>, Vec<bool>)> {
    (1usize..7).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec(0usize..4, n),
            proptest::collection::vec(any::<bool>(), n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_chains_validate_with_pycoo_ports((n, functions, engines) in params()) {
        let topo = check(&chain(n, &functions, &engines)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(topo.vnfs.len(), n);
        prop_assert_eq!(topo.links.len(), n + 1);
        for vnf in &topo.vnfs {
            prop_assert_eq!(vnf.interfaces.len(), 2);
            prop_assert_eq!(vnf.interfaces[0].direction, Direction::Ingress);
            prop_assert_eq!(vnf.interfaces[1].direction, Direction::Egress);
            prop_assert_eq!(vnf.interfaces[1].port, 1);
        }
    }

    #[test]
    fn one_mutation_gives_its_named_error(
        (n, functions, engines) in params(),
        mutation in 0usize..10,
        pick in any::<proptest::sample::Index>(),
        pick2 in any::<proptest::sample::Index>(),
    ) {
        let mut topo = chain(n, &functions, &engines);
        let k = pick.index(n);
        let conns = topo["connections"].as_array_mut().unwrap();
        let expected = match mutation {
            0 => { conns.remove(k); "pycoo-09-vnf-without-input" }
            1 => { conns.remove(k + 1); "pycoo-09-vnf-without-output" }
            2 => {
                let other = pick2.index(n + 1);
                let from_mac = conns[k + 1]["from_mac"].clone();
                // Any other connection's `to_mac` (the ingress one when `other` is this one).
                let target = if other == k + 1 { 0 } else { other };
                conns[target]["to_mac"] = from_mac;
                "pycoo-06-duplicate-mac"
            }
            3 => { conns.push(json!({"from": format!("v{k}"), "to": format!("v{k}"), "link": "loop"})); "pycoo-10-self-loop" }
            4 => {
                if n < 2 { return Ok(()); }
                let (i, j) = (pick2.index(n - 1), n - 1);
                conns.push(json!({"from": format!("v{j}"), "to": format!("v{i}"), "link": "back"}));
                "cycle"
            }
            5 => { conns[k]["to"] = json!("zz"); "pycoo-05-unknown-id" }
            6 => {
                if n < 2 { return Ok(()); }
                conns[1]["link"] = json!("a.b");
                "invalid-name"
            }
            7 => { conns[k]["to_mac"] = json!("zz:00:00:00:00:01"); "invalid-mac" }
            8 => { topo["vnfs"][k]["engine"] = json!("kliq"); "unknown-engine" }
            _ => { topo["vnfs"][k]["fuction"] = json!("x"); "unknown-field" }
        };
        match check(&topo) {
            Ok(_) => prop_assert!(false, "mutation {} was accepted", mutation),
            Err(errors) => prop_assert!(errors.has(expected), "expected {}, got:\n{}", expected, errors),
        }
    }
}
