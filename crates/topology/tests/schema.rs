//! docs/topology.schema.json is generated from the Rust types and must stay in sync.

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn checked_in_schema_matches_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/topology.schema.json");
    let generated = topology::schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/topology.schema.json is out of date with the Rust types; regenerate it with:\n  \
         UPDATE_SCHEMA=1 cargo test -p topology --test schema"
    );
}

#[test]
fn schema_describes_the_main_fields() {
    let schema: serde_json::Value = serde_json::from_str(&topology::schema_json()).unwrap();
    let props = &schema["properties"];
    for key in [
        "id",
        "vnfs",
        "incoming",
        "outgoing",
        "connections",
        "traffic",
        "variants",
        "benchmark",
        "driver",
    ] {
        assert!(props.get(key).is_some(), "schema lacks `{key}`");
    }
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}
