//! Engine options: in range, and meaningful for the engine each VNF runs in each variant
//! (`io` is coo-click's; kernel-forward takes none).

use std::collections::BTreeSet;

use super::{Checker, Parts};
use crate::error::ErrorKind;
use crate::model::{EngineSpec, Variant};

/// Checks the options every VNF resolves to under every variant (each problem once).
pub(super) fn engine_options(
    ck: &mut Checker<'_>,
    parts: Parts<'_>,
    engines: &[Option<EngineSpec>],
    variants: &[Variant],
) {
    let mut seen = BTreeSet::new();
    for variant in variants {
        for (vnf, engine) in parts.vnfs.iter().zip(engines) {
            let id = vnf.id.clone().unwrap_or_default();
            let over = variant
                .vnfs
                .iter()
                .find(|(k, _)| k.as_str() == id)
                .map(|(_, o)| o);
            let Some(engine) = over
                .and_then(|o| o.engine.clone())
                .or_else(|| engine.clone())
            else {
                continue;
            };
            let options = vnf
                .engine_options
                .overlay(&variant.engine_options)
                .overlay(&over.map(|o| o.engine_options.clone()).unwrap_or_default());
            let what = if variants.len() > 1 {
                format!("variant `{}`, VNF `{id}`", variant.name)
            } else {
                format!("VNF `{id}`")
            };
            let at = ck.at_key("engine_options");
            let kind = if let Err(e) = options.check() {
                ErrorKind::EngineOptionRange {
                    what,
                    reason: e.to_string(),
                }
            } else if let Some((option, why)) = options.unsupported_by(&engine) {
                ErrorKind::EngineOptionUnsupported {
                    what,
                    option: option.to_owned(),
                    engine: engine.to_string(),
                    why: why.to_owned(),
                }
            } else {
                continue;
            };
            if seen.insert(kind.to_string()) {
                ck.push(kind, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{good_with, rules};
    use super::super::{files, structure, variants};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            let ids = structure::ids(ck, parts);
            let per_vnf = files::per_vnf(ck, parts);
            let vs = variants::variants(ck, parts, &ids);
            engine_options(ck, parts, &per_vnf.engines, &vs);
        })
    }

    #[test]
    fn options_in_range_for_their_engine_pass() {
        let json = good_with(
            r#""connections""#,
            r#""variants": [
                {"name": "coo", "engine_options": {"io": "latency", "burst": 8, "cpus": [1]}},
                {"name": "ref", "engine_options": {"burst": 8, "rx_buffer_kib": 1024},
                 "vnfs": {"a": {"engine": "click"}, "b": {"engine": "click"}}}
              ],
              "connections""#,
        );
        assert_eq!(all(&json), Vec::<String>::new());
    }

    #[test]
    fn io_on_click_and_out_of_range_are_named() {
        let json = good_with(
            r#""connections""#,
            r#""variants": [
                {"name": "ref", "engine_options": {"io": "latency"},
                 "vnfs": {"a": {"engine": "click"}}},
                {"name": "big", "vnfs": {"b": {"engine_options": {"burst": 5000}}}},
                {"name": "kf", "vnfs": {"a": {"engine": "kernel-forward", "engine_options": {"cpus": [0]}}}}
              ],
              "connections""#,
        );
        assert_eq!(
            all(&json),
            [
                "engine-option-unsupported",
                "engine-option-range",
                "engine-option-unsupported"
            ]
        );
    }
}
