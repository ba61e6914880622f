//! PyCOO execution scripts (`SCRIPT/*.json`) on arbitrary bytes: `topology::script::parse`
//! must never panic; whatever it accepts must survive a round trip through the PyCOO form
//! (re-serialized here) unchanged, and every action name must parse back to itself.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use topology::script::{ErrorScope, Script};

/// The script in PyCOO's own shape: one `{"<vnf>": {...}}` object per entry.
fn to_pycoo(script: &Script) -> String {
    let steps = |actions: &[topology::Action]| {
        let mut m = Map::new();
        for (i, a) in actions.iter().enumerate() {
            m.insert((i + 1).to_string(), Value::String(a.to_string()));
        }
        Value::Object(m)
    };
    let items: Vec<Value> = script
        .entries
        .iter()
        .map(|e| {
            let mut block = Map::new();
            if let Some(f) = &e.function {
                block.insert("function".into(), Value::String(f.clone()));
            }
            if let Some(p) = &e.path {
                block.insert("path".into(), Value::String(p.clone()));
            }
            for (name, actions) in &e.tasks {
                block.insert(name.clone(), steps(actions));
            }
            if let Some(err) = &e.error {
                let key = match e.error_scope {
                    ErrorScope::Vnf => "error",
                    ErrorScope::Sfc => "sfcerror",
                };
                block.insert(key.into(), steps(err));
            }
            let mut item = Map::new();
            item.insert(e.vnf.as_str().to_owned(), Value::Object(block));
            Value::Object(item)
        })
        .collect();
    Value::Array(items).to_string()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("/fuzz/SCRIPT/sfcscript.json");
    match topology::script::parse(text, file) {
        Ok(script) => {
            let _ = script.task_names();
            for e in &script.entries {
                let _ = e.function_file();
                let _ = script.entry(e.vnf.as_str());
                for a in e.tasks.values().flatten().chain(e.error.iter().flatten()) {
                    assert_eq!(a.to_string().parse::<topology::Action>().ok(), Some(*a));
                }
            }
            let _ = serde_json::to_string(&script);
            let again = to_pycoo(&script);
            let back = topology::script::parse(&again, file)
                .unwrap_or_else(|e| panic!("re-serialized script rejected: {e}\n{again}"));
            assert_eq!(back, script, "round trip changed the script:\n{again}");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let _ = errors.to_string();
        }
    }
});
