//! Which engines the API may select. Fixed when the agent starts: the built-in engines, the
//! start-up `--engine`, and every `--allow-engine NAME=PATH`. `POST /v1/engine` only picks
//! among these, so reaching the API never means choosing a program to run.

use std::path::PathBuf;
use std::str::FromStr;

use crate::engine::EngineSpec;

/// One `--allow-engine` entry: an external Click-compatible binary and the name that selects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEngine {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid --allow-engine {0:?}: expected NAME=PATH or an absolute PATH")]
pub struct BadAllowEngine(String);

impl FromStr for AllowedEngine {
    type Err = BadAllowEngine;
    fn from_str(s: &str) -> Result<Self, BadAllowEngine> {
        let bad = || BadAllowEngine(s.to_owned());
        let (name, path) = match s.split_once('=') {
            Some((n, p)) => (n.trim(), p.trim()),
            None => (s.trim(), s.trim()),
        };
        let builtin = matches!(
            name.parse::<EngineSpec>(),
            Ok(EngineSpec::CooClick
                | EngineSpec::ReferenceClick
                | EngineSpec::FastClick
                | EngineSpec::KernelForward)
        );
        if name.is_empty() || builtin || !path.starts_with('/') || path.contains(['\0', '\n']) {
            return Err(bad());
        }
        Ok(AllowedEngine {
            name: name.to_owned(),
            path: PathBuf::from(path),
        })
    }
}

/// The engines this agent may run.
#[derive(Debug, Clone, Default)]
pub struct EngineAllowList {
    external: Vec<AllowedEngine>,
}

/// An engine the API asked for that this agent may not run.
#[derive(Debug, thiserror::Error)]
#[error(
    "engine {0:?} is not allowed on this agent (allowed: {1}); extra engines are fixed at start \
     with --allow-engine"
)]
pub struct EngineNotAllowed(pub String, pub String);

impl EngineAllowList {
    /// The list from `--allow-engine` entries plus the start-up engine.
    pub fn new(mut external: Vec<AllowedEngine>, initial: &EngineSpec) -> Self {
        if let EngineSpec::External(p) = initial {
            if !external.iter().any(|e| e.path == *p) {
                external.push(AllowedEngine {
                    name: p.display().to_string(),
                    path: p.clone(),
                });
            }
        }
        EngineAllowList { external }
    }

    /// The engine `word` names: a built-in name, or the name or exact path of an allowed one.
    pub fn resolve(&self, word: &str) -> Result<EngineSpec, EngineNotAllowed> {
        let word = word.trim();
        if let Ok(
            s @ (EngineSpec::CooClick
            | EngineSpec::ReferenceClick
            | EngineSpec::FastClick
            | EngineSpec::KernelForward),
        ) = word.parse::<EngineSpec>()
        {
            return Ok(s);
        }
        self.external
            .iter()
            .find(|e| e.name == word || e.path.as_os_str() == word)
            .map(|e| EngineSpec::External(e.path.clone()))
            .ok_or_else(|| EngineNotAllowed(word.to_owned(), self.names().join(", ")))
    }

    /// Whether `spec` may run.
    pub fn allows(&self, spec: &EngineSpec) -> bool {
        match spec {
            EngineSpec::External(p) => self.external.iter().any(|e| e.path == *p),
            _ => true,
        }
    }

    /// Every selectable name.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = ["coo-click", "click", "kernel-forward"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        v.extend(self.external.iter().map(|e| e.name.clone()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_binaries_resolve() {
        let list = EngineAllowList::new(
            vec!["fast=/opt/fastclick/bin/click".parse().unwrap()],
            &EngineSpec::External("/opt/x/click".into()),
        );
        assert_eq!(list.resolve("coo-click").unwrap(), EngineSpec::CooClick);
        assert_eq!(
            list.resolve("fast").unwrap(),
            EngineSpec::External("/opt/fastclick/bin/click".into())
        );
        assert_eq!(
            list.resolve("/opt/fastclick/bin/click").unwrap(),
            EngineSpec::External("/opt/fastclick/bin/click".into())
        );
        assert_eq!(
            list.resolve("/opt/x/click").unwrap(),
            EngineSpec::External("/opt/x/click".into())
        );
        let e = list.resolve("/tmp/evil.sh").unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{e}");
        assert!(list.resolve("../../tmp/evil.sh").is_err());
        assert!(!list.allows(&EngineSpec::External("/bin/sh".into())));
        assert!(list.allows(&EngineSpec::KernelForward));
    }

    #[test]
    fn entries_parse() {
        let a: AllowedEngine = "/opt/c".parse().unwrap();
        assert_eq!(a.name, "/opt/c");
        assert!("x=relative/path".parse::<AllowedEngine>().is_err());
        assert!("coo-click=/tmp/evil".parse::<AllowedEngine>().is_err());
        assert!("=/opt/c".parse::<AllowedEngine>().is_err());
    }
}
