//! Format-independent description of a chain, as read from either format and before any rule is
//! checked. It mirrors PyCOO's SFC structure (everything optional) so PyCOO's rules apply to both.

use std::path::PathBuf;

use crate::bench::BenchmarkSettings;
use crate::error::{LoadError, Warning};
use crate::locate::SourceText;
use crate::model::{DriverKind, Impairment, SourceFormat};
use crate::raw::unified::VariantEntry;
use crate::script::Script;
use crate::traffic::TrafficProfile;

/// Key names of the source format, to locate values in the text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys {
    pub id: &'static str,
    pub vnfs: &'static str,
    pub ip: &'static str,
    pub ops: &'static str,
    pub connections: &'static str,
    pub link: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub from_mac: &'static str,
    pub to_mac: &'static str,
    pub bridge_mac: &'static str,
    pub management_mac: &'static str,
}

pub(crate) const UNIFIED_KEYS: Keys = Keys {
    id: "id",
    vnfs: "vnfs",
    ip: "incoming",
    ops: "outgoing",
    connections: "connections",
    link: "link",
    from: "from",
    to: "to",
    from_mac: "from_mac",
    to_mac: "to_mac",
    bridge_mac: "bridge_mac",
    management_mac: "management_mac",
};

pub(crate) const PYCOO_KEYS: Keys = Keys {
    id: "ID",
    vnfs: "VNFS",
    ip: "IP",
    ops: "OPS",
    connections: "CONNECTIONS",
    link: "LINK",
    from: "OLL",
    to: "ILL",
    from_mac: "OLL_MAC",
    to_mac: "ILL_MAC",
    bridge_mac: "LINK_MAC",
    management_mac: "MANAGEMENT_MAC",
};

pub(crate) struct Spec {
    pub format: SourceFormat,
    pub keys: Keys,
    pub source: PathBuf,
    pub base_dir: PathBuf,
    /// The unified file or the SFC descriptor.
    pub main: SourceText,
    pub id: Option<String>,
    pub driver: Option<DriverKind>,
    /// Machines VNFs run on (unified format only; empty: this machine).
    pub hosts: Vec<crate::raw::unified::HostEntry>,
    pub vnfs: Option<Vec<SpecVnf>>,
    pub ip: Option<SpecPoint>,
    pub ops: Option<Vec<SpecPoint>>,
    pub connections: Option<Vec<SpecConn>>,
    /// PyCOO requires every data MAC; the unified format generates missing ones.
    pub require_macs: bool,
    pub variants: Vec<VariantEntry>,
    pub traffic: TrafficProfile,
    /// Where the traffic profile came from (for error locations).
    pub traffic_source: Option<SourceText>,
    pub benchmark: BenchmarkSettings,
    pub script: Option<Script>,
    /// Errors found while reading descriptors, scripts and profiles.
    pub errors: Vec<LoadError>,
    /// Findings that do not stop the topology (e.g. keys PyCOO ignores).
    pub warnings: Vec<Warning>,
}

pub(crate) struct SpecVnf {
    pub id: Option<String>,
    pub function: FunctionRef,
    pub engine: Option<String>,
    pub memory_mib: i64,
    pub vcpus: i64,
    pub management_mac: Option<String>,
    pub image: Option<String>,
    pub cpu_model: Option<crate::model::CpuModel>,
    pub engine_options: coo_api::EngineOptions,
    /// Host name the VNF asks for (unified format only).
    pub host: Option<String>,
    /// The PyCOO VNF descriptor the management MAC came from.
    pub descriptor: Option<SourceText>,
}

/// How to find a VNF's Click function file.
#[derive(Clone, Debug)]
pub(crate) enum FunctionRef {
    /// Relative to the base directory (unified format).
    Relative(String),
    /// First existing candidate wins (PyCOO: script `path`+`function`, then built-in functions).
    Candidates {
        shown: String,
        candidates: Vec<PathBuf>,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SpecPoint {
    pub id: Option<String>,
    pub link: Option<String>,
    pub bridge_mac: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SpecConn {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Explicit Click port of `from` / `to` (unified `"fw:1"`), as written after the `:`.
    pub from_port: Option<String>,
    pub to_port: Option<String>,
    pub link: Option<String>,
    pub from_mac: Option<String>,
    pub to_mac: Option<String>,
    pub bridge_mac: Option<String>,
    pub impairment: Option<Impairment>,
}
