//! Topology of a coo-bench chain: file formats (the unified JSON topology and PyCOO's VNF/SFC/
//! script descriptors), validation with named errors, and the validated [`Topology`] model.
//!
//! ```text
//! file / PyCOO dir → raw (strict serde) → spec (format-independent) → validate → Topology
//!                                  Click function text × Topology → function → Findings
//! ```
//!
//! Pure: no network, no processes; it only reads the files it is pointed at. The Click
//! function rules ([`function`]) take the text the caller read.

#![cfg_attr(test, allow(clippy::unwrap_used))]
// LoadError is large but only built on the cold error path.
#![allow(clippy::result_large_err)]

pub mod bench;
pub mod error;
pub mod export;
pub mod function;
pub mod graph;
pub mod ids;
mod load;
mod locate;
pub mod model;
pub mod names;
pub mod raw;
pub mod script;
mod spec;
pub mod traffic;
mod validate;

use std::path::{Path, PathBuf};

pub use bench::{BenchmarkMode, BenchmarkSettings};
pub use error::{ErrorKind, LoadError, LoadErrors, Location, Warning, WarningKind};
pub use ids::{HostName, LinkName, MacAddr, MacParseError, NodeId, TopologyId};
pub use load::DEFAULT_PYCOO_FUNCTION;
pub use model::{
    CpuModel, Direction, DriverKind, EngineOptions, EngineSpec, Host, Impairment, IoMode, Link,
    Point, ResolvedVnf, SourceFormat, Topology, Variant, Vnf, VnfInterface, VnfOverride,
};
pub use script::{Action, Script, ScriptEntry};
pub use traffic::{TrafficDirection, TrafficProfile};

/// Options for loading. [`LoadOptions::default`] is what `coo-bench validate` uses.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Directories of built-in Click functions. PyCOO directories ship no function files: a
    /// script's `function` that is absent under the PyCOO directory is looked up here by file
    /// name, and VNFs without a script entry run `forward.click` from here.
    pub function_dirs: Vec<PathBuf>,
    /// Check that function, engine and image files exist (off only for parser fuzzing).
    pub check_files: bool,
    /// A traffic profile file that replaces the topology's (`run PATH --traffic FILE`; a PyCOO
    /// directory has none of its own). Checked by the same rules, located in that file.
    pub traffic: Option<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            function_dirs: builtin_function_dirs(),
            check_files: true,
            traffic: None,
        }
    }
}

/// `$COO_BENCH_FUNCTIONS` (colon-separated), then this source tree's `topologies/functions`.
pub fn builtin_function_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("COO_BENCH_FUNCTIONS")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/functions");
    if let Ok(dir) = std::fs::canonicalize(in_tree) {
        dirs.push(dir);
    }
    dirs
}

/// Loads and validates a unified topology file, a PyCOO SFC file, or a PyCOO directory
/// (`VNF/`, `SFC/`, `SCRIPT/`). Returns every independent error found.
pub fn load(path: &Path) -> Result<Topology, LoadErrors> {
    load::load_path(path, &LoadOptions::default())
}

pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    load::load_path(path, opts)
}

/// Parses and validates unified topology text; relative paths resolve against `file`'s
/// directory (which should be absolute).
pub fn parse_unified(text: &str, file: &Path, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    load::unified_from_text(text, file, opts)
}

/// Parses and validates PyCOO SFC text; VNF descriptors and the script are read from `dir`.
pub fn parse_pycoo_sfc(dir: &Path, text: &str, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    load::pycoo_from_text(dir, &dir.join("SFC/sfc.json"), text, opts)
}

/// Parses a traffic profile (strict).
pub fn parse_traffic(text: &str, file: &Path) -> Result<TrafficProfile, LoadErrors> {
    locate::SourceText::new(file, text)
        .parse()
        .map_err(|e| LoadErrors(vec![e]))
}

/// Loads a traffic profile file (strict).
pub fn load_traffic(path: &Path) -> Result<TrafficProfile, LoadErrors> {
    let src = locate::read_source(path).map_err(|e| LoadErrors(vec![e]))?;
    src.parse().map_err(|e| LoadErrors(vec![e]))
}

/// JSON Schema of the unified topology file (pretty-printed, with a trailing newline); checked in
/// as docs/topology.schema.json.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(raw::unified::TopologyFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
