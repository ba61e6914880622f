//! Files and engines: each VNF's engine (known name, or an existing binary), Click function
//! file, image, and resources.

use std::path::{Path, PathBuf};

use super::{Checker, Parts};
use crate::error::{ErrorKind, Location};
use crate::locate::closest;
use crate::model::{EngineSpec, SourceFormat};
use crate::spec::FunctionRef;

/// What the per-VNF rules resolved, in VNF order (None where a rule failed).
pub(super) struct PerVnf {
    pub functions: Vec<Option<PathBuf>>,
    pub engines: Vec<Option<EngineSpec>>,
    pub images: Vec<Option<PathBuf>>,
}

/// Engines, functions, images and resources of every VNF.
pub(super) fn per_vnf(ck: &mut Checker<'_>, parts: Parts<'_>) -> PerVnf {
    let mut functions: Vec<Option<PathBuf>> = Vec::new();
    let mut engines: Vec<Option<EngineSpec>> = Vec::new();
    let mut images: Vec<Option<PathBuf>> = Vec::new();
    for vnf in parts.vnfs {
        let id = vnf.id.clone().unwrap_or_default();
        let what = format!("VNF `{id}`");
        let at = ck.at_pair(ck.spec.keys.id, &id);
        engines.push(check_engine(ck, &what, vnf.engine.as_deref(), at.clone()));
        functions.push(check_function(ck, &what, &vnf.function, at.clone()));
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
        if ck.spec.format == SourceFormat::Unified && (vnf.memory_mib <= 0 || vnf.vcpus <= 0) {
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
    PerVnf {
        functions,
        engines,
        images,
    }
}

pub(super) fn check_engine(
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

pub(super) fn check_function(
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
fn normalize(path: &Path) -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{good_with, rules, GOOD};
    use super::*;

    fn all(json: &str) -> Vec<String> {
        rules(json, |ck, parts| {
            per_vnf(ck, parts);
        })
    }

    #[test]
    fn default_engine_and_resources_pass() {
        assert_eq!(all(GOOD), Vec::<String>::new());
    }

    #[test]
    fn unknown_engines_and_zero_resources() {
        let json = good_with(
            r#"{"id": "a", "function": "f.click"}"#,
            r#"{"id": "a", "function": "f.click", "engine": "clik"}"#,
        );
        assert_eq!(all(&json), ["unknown-engine"]);
        let json = good_with(
            r#"{"id": "a", "function": "f.click"}"#,
            r#"{"id": "a", "function": "f.click", "vcpus": 0}"#,
        );
        assert_eq!(all(&json), ["invalid-resources"]);
    }

    #[test]
    fn normalize_drops_dot_components() {
        assert_eq!(
            normalize(Path::new("/a/./b/../c.click")),
            PathBuf::from("/a/c.click")
        );
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }
}
