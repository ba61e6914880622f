//! Variants: unique names, and overrides only of declared VNFs with valid engines and
//! existing functions.

use std::collections::{BTreeMap, HashSet};

use super::files::{check_engine, check_function};
use super::{Checker, Ids, Kind, Parts};
use crate::error::ErrorKind;
use crate::ids::NodeId;
use crate::locate::closest;
use crate::model::{Variant, VnfOverride};
use crate::spec::FunctionRef;

/// The variants of the spec (a single `default` one when it declares none).
pub(super) fn variants(ck: &mut Checker<'_>, parts: Parts<'_>, ids: &Ids) -> Vec<Variant> {
    let mut variants = Vec::new();
    let mut variant_names = HashSet::new();
    let spec = ck.spec;
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
            if ids.kind_of(vnf_id) != Some(Kind::Vnf) {
                let suggestion = closest(vnf_id, parts.vnfs.iter().filter_map(|v| v.id.as_deref()));
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
                .and_then(|e| check_engine(ck, &what, Some(e), at.clone()));
            let function = over.function.as_ref().and_then(|f| {
                check_function(ck, &what, &FunctionRef::Relative(f.clone()), at.clone())
            });
            overrides.insert(
                NodeId::new(vnf_id.as_str()),
                VnfOverride {
                    engine,
                    function,
                    engine_options: over.engine_options.clone().unwrap_or_default(),
                },
            );
        }
        variants.push(Variant {
            name: entry.name.clone(),
            description: entry.description.clone(),
            engine_options: entry.engine_options.clone().unwrap_or_default(),
            vnfs: overrides,
        });
    }
    if variants.is_empty() {
        variants.push(Variant {
            name: "default".to_owned(),
            description: None,
            engine_options: Default::default(),
            vnfs: BTreeMap::new(),
        });
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::super::structure;
    use super::super::testing::{good_with, rules, GOOD};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            let ids = structure::ids(ck, parts);
            variants(ck, parts, &ids);
        })
    }

    #[test]
    fn no_variants_is_one_default() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn duplicate_names_and_unknown_vnfs() {
        let variants = r#""variants": [
            {"name": "v", "vnfs": {"a": {"engine": "click"}}},
            {"name": "v", "vnfs": {"zz": {"engine": "click"}}}
          ],
          "connections""#;
        let json = good_with(r#""connections""#, variants);
        assert_eq!(all(&json), ["duplicate-variant", "unknown-id"]);
    }
}
