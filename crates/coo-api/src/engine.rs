//! Which Click engine runs a VNF's function: one type for the topology, the agent, the
//! campaign and the report.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which Click engine runs a VNF's function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum EngineSpec {
    /// Our Rust engine (`coo-click`).
    #[default]
    CooClick,
    /// Reference C++ Click userlevel binary (`click`; env `COO_BENCH_REFERENCE_CLICK`).
    ReferenceClick,
    /// No user-space NF: the kernel joins the VNF's two interfaces (baseline).
    KernelForward,
    /// FastClick with DPDK's af_packet poll-mode driver (`fastclick`; env
    /// `COO_BENCH_FASTCLICK`): runs `FromDPDKDevice(N)`/`ToDPDKDevice(N)` functions unchanged.
    FastClick,
    /// Any other Click-compatible binary, by path (absolute after validation).
    External(PathBuf),
}

impl EngineSpec {
    /// Engine names accepted besides paths.
    pub const NAMES: [&'static str; 4] = ["coo-click", "click", "fastclick", "kernel-forward"];

    /// Parses a name; anything containing `/` is a path, any other unknown word is `None`.
    pub fn parse_name(text: &str) -> Option<EngineSpec> {
        match text {
            "coo-click" => Some(EngineSpec::CooClick),
            "click" => Some(EngineSpec::ReferenceClick),
            "kernel-forward" => Some(EngineSpec::KernelForward),
            "fastclick" => Some(EngineSpec::FastClick),
            other if other.contains('/') && !other.contains(['\0', '\n']) => {
                Some(EngineSpec::External(PathBuf::from(other)))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            EngineSpec::CooClick => "coo-click".into(),
            EngineSpec::ReferenceClick => "click".into(),
            EngineSpec::KernelForward => "kernel-forward".into(),
            EngineSpec::FastClick => "fastclick".into(),
            EngineSpec::External(path) => path.to_string_lossy(),
        }
    }
}

impl fmt::Display for EngineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// Error for an engine word that is neither a known name nor a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown engine `{0}` (expected coo-click, click, fastclick, kernel-forward or a path containing `/`)"
)]
pub struct EngineParseError(pub String);

impl FromStr for EngineSpec {
    type Err = EngineParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        EngineSpec::parse_name(s).ok_or_else(|| EngineParseError(s.to_owned()))
    }
}

impl Serialize for EngineSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for EngineSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for EngineSpec {
    fn schema_name() -> String {
        "EngineSpec".to_owned()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        engine_schema()
    }
}

fn engine_schema() -> Schema {
    let mut schema = SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        ..Default::default()
    };
    schema.metadata().description = Some(
        "`coo-click` (default), `click` (reference Click), `fastclick` (FastClick with DPDK af_packet), `kernel-forward`, or a path (containing `/`) to a Click-compatible binary"
            .to_owned(),
    );
    Schema::Object(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_round_trip() {
        for name in EngineSpec::NAMES {
            assert_eq!(name.parse::<EngineSpec>().unwrap().to_string(), name);
        }
        let ext: EngineSpec = " /opt/x/click ".parse().unwrap();
        assert_eq!(ext, EngineSpec::External(PathBuf::from("/opt/x/click")));
        assert!("fastclik".parse::<EngineSpec>().is_err());
        assert!("/bin/x\nrm".parse::<EngineSpec>().is_err());
        let json: EngineSpec = serde_json::from_str("\"click\"").unwrap();
        assert_eq!(json, EngineSpec::ReferenceClick);
    }
}
