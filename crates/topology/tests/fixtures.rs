//! Every invalid fixture fails with the rule it is named after; every valid fixture loads.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/topologies")
}

/// (expected rule, path): invalid/*.json, invalid/pycoo/*.json (PyCOO SFC files), invalid/<rule>/ dirs.
pub fn invalid_cases() -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    let dir = fixtures().join("invalid");
    for sub in [dir.clone(), dir.join("pycoo")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "pycoo" && name != "VNF" {
                    cases.push((name, path));
                }
            } else if let Some(stem) = name.strip_suffix(".json") {
                cases.push((stem.to_owned(), path));
            }
        }
    }
    cases.sort();
    cases
}

#[test]
fn each_invalid_fixture_reports_its_rule() {
    let cases = invalid_cases();
    assert!(cases.len() >= 55, "only {} invalid fixtures", cases.len());
    let mut failures = Vec::new();
    for (rule, path) in &cases {
        match topology::load(path) {
            Ok(_) => failures.push(format!("{}: loaded, expected {rule}", path.display())),
            Err(errors) => {
                if !errors.has(rule) {
                    failures.push(format!(
                        "{}: expected {rule}, got:\n{errors}",
                        path.display()
                    ));
                }
                let text = errors.to_string();
                if !text.contains(&format!("error[{rule}]")) {
                    failures.push(format!(
                        "{}: message lacks the rule name:\n{text}",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_error_rule_has_a_fixture() {
    let cases = invalid_cases();
    let documented = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/topology-format.md"),
    )
    .unwrap_or_default();
    for (rule, _) in &cases {
        assert!(
            documented.contains(&format!("`{rule}`")),
            "rule {rule} is not documented in docs/topology-format.md"
        );
    }
}

#[test]
fn pycoo_messages_carry_the_pycoo_code() {
    let errors =
        topology::load(&fixtures().join("invalid/pycoo-09-vnf-without-input.json")).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains("[PyCOO -9] VNF `y` never receives traffic (no connection has it as ILL)"),
        "{text}"
    );
    let e = errors
        .iter()
        .find(|e| e.rule() == "pycoo-09-vnf-without-input")
        .unwrap();
    assert_eq!(e.kind.pycoo_code(), Some(-9));
    let at = e.at.as_ref().unwrap();
    assert!(at.line > 0 && at.column > 0, "{at:?}");
}

#[test]
fn unknown_field_names_field_and_suggestion_with_position() {
    let errors = topology::load(&fixtures().join("invalid/unknown-field.json")).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains("unknown field `functon`; did you mean `function`?"),
        "{text}"
    );
    assert!(text.contains("unknown-field.json:"), "{text}");
    // PyCOO ignores keys it does not know: a warning naming the closest known key.
    let topo = topology::load(&fixtures().join("warnings/pycoo-unknown-key.json")).unwrap();
    let warnings: Vec<String> = topo.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("unknown key `DESCRIPTION` is ignored"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("CONNECTIONS[1]: unknown key `OL_MAC`")
            && warnings[1].contains("did you mean `OLL_MAC`?")
            && warnings[1].contains("warning[pycoo-unknown-key]"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("pycoo-unknown-key.json:"),
        "{warnings:?}"
    );
}

#[test]
fn independent_errors_are_reported_together() {
    let text = r#"{"id": "t", "vnfs": [{"id": "a", "function": "nope.click", "engine": "clik"}],
        "incoming": {"id": "src"}, "outgoing": [{"id": "sink"}],
        "connections": [{"from": "src", "to": "a", "to_mac": "zz"}, {"from": "a", "to": "sink"}]}"#;
    let errors =
        topology::parse_unified(text, Path::new("/nonexistent/t.json"), &Default::default())
            .unwrap_err();
    for rule in ["function-missing", "unknown-engine", "invalid-mac"] {
        assert!(errors.has(rule), "{rule} missing from:\n{errors}");
    }
}

#[test]
fn valid_fixtures_load() {
    let dir = fixtures().join("valid");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        topology::load(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        count += 1;
    }
    assert!(count >= 5);
    let niep = topology::load(&dir.join("niep")).unwrap();
    assert_eq!(
        niep.link("br1").unwrap().bridge_mac.unwrap().to_string(),
        "00:54:00:6c:22:03"
    );
    assert_eq!(
        niep.link("br0").unwrap().bridge_mac.unwrap().to_string(),
        "00:54:00:6c:22:01"
    );
    let full = topology::load(&dir.join("full.json")).unwrap();
    assert_eq!(full.driver, Some(topology::DriverKind::Vm));
    assert!(
        matches!(full.vnfs[1].engine, topology::EngineSpec::External(ref p) if p.is_absolute())
    );
    let fan = topology::load(&dir.join("fan-out.json")).unwrap();
    assert_eq!(fan.vnf("lb").unwrap().interfaces.len(), 3);
}

/// `hosts`: a VNF naming its host keeps it, the others fill the hosts in order; the
/// placement survives an export round trip; without `hosts` no VNF has a host.
#[test]
fn hosts_are_loaded_and_vnfs_placed() {
    let dir = fixtures().join("valid");
    let t = topology::load(&dir.join("hosts.json")).unwrap();
    let names: Vec<&str> = t.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let b = t.host(&topology::HostName::new("b")).unwrap();
    assert_eq!(b.uri, "qemu+tcp://198.18.100.2/system");
    assert_eq!(b.underlay, std::net::Ipv4Addr::new(198, 18, 100, 2));
    assert_eq!((b.cpus, b.memory_mib), (4, 4096));
    let placed: Vec<&str> = t
        .vnfs
        .iter()
        .map(|v| v.host.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(placed, ["a", "b"]);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let text = topology::export::to_unified_json(&t, &dir);
    let again = topology::parse_unified(&text, &dir.join("exported.json"), &Default::default())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.hosts, t.hosts);
    assert_eq!(
        again
            .vnfs
            .iter()
            .map(|v| v.host.clone())
            .collect::<Vec<_>>(),
        t.vnfs.iter().map(|v| v.host.clone()).collect::<Vec<_>>()
    );
    // Without `hosts` nothing changes: no VNF is placed anywhere.
    let minimal = topology::load(&dir.join("minimal.json")).unwrap();
    assert!(minimal.hosts.is_empty() && minimal.vnfs.iter().all(|v| v.host.is_none()));
}
