//! Validation of a [`Spec`], rule family by rule family, then the [`Topology`] model.
//!
//! Families, in the order they run (a new rule goes into the family whose input it reads):
//! - [`structure`]: PyCOO's structure rules (-1..-5, -10): empty fields, ids, connection
//!   endpoints;
//! - [`naming`]: characters and lengths of ids and links, and the derived interface and bridge
//!   names;
//! - [`macs`]: MAC syntax, unicast, uniqueness (-6);
//! - [`graph`]: PyCOO's graph rules (-7..-11), one bridge per link, reachability and cycles;
//! - [`files`]: engines, Click function files, images and resources of each VNF;
//! - [`hosts`]: the machines VNFs run on and the placement of VNFs that name none;
//! - [`variants`]: variant names and their per-VNF overrides;
//! - [`settings`]: link impairments, traffic and benchmark settings;
//! - Click functions: [`crate::function`], run on the validated model with the function texts
//!   the caller read (the file reading, and other engines' dry runs, are the binary's).
//!
//! Every independent error is collected. Graph-wide checks (reachability, cycles) and derived
//! names run only when the structure is sound, because they would just repeat its errors.

mod engine_options;
mod files;
mod graph;
mod hosts;
mod macs;
mod model;
mod naming;
mod settings;
mod structure;
mod variants;

use std::collections::BTreeMap;

use crate::error::{ErrorKind, LoadError, LoadErrors, Location};
use crate::model::Topology;
use crate::spec::{Spec, SpecConn, SpecPoint, SpecVnf};
use crate::LoadOptions;

/// Default resources when the unified file gives none (PyCOO's examples use 300 MiB, 1 vCPU).
pub(crate) const DEFAULT_MEMORY_MIB: u32 = 300;
pub(crate) const DEFAULT_VCPUS: u32 = 1;

/// What a declared id names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Vnf,
    Ip,
    Op,
}

/// Collects errors while the families run, and finds where their values are in the source.
struct Checker<'a> {
    spec: &'a Spec,
    opts: &'a LoadOptions,
    errors: Vec<LoadError>,
}

impl Checker<'_> {
    fn push(&mut self, kind: ErrorKind, at: Location) {
        self.errors.push(LoadError::new(kind, Some(at)));
    }

    fn at_pair(&self, key: &str, value: &str) -> Location {
        self.spec.main.find_pair(key, value)
    }

    fn at_key(&self, key: &str) -> Location {
        self.spec.main.find_key(key, 0)
    }

    /// Location of connection `index`, found through its `from` value.
    fn at_conn(&self, conns: &[SpecConn], index: usize) -> Location {
        let keys = self.spec.keys;
        let conn = &conns[index];
        match (&conn.from, &conn.to) {
            (Some(from), _) => {
                let nth = conns[..index]
                    .iter()
                    .filter(|c| c.from.as_deref() == Some(from.as_str()))
                    .count();
                self.spec.main.find_nth_pair(keys.from, from, nth)
            }
            (None, Some(to)) => {
                let nth = conns[..index]
                    .iter()
                    .filter(|c| c.to.as_deref() == Some(to.as_str()))
                    .count();
                self.spec.main.find_nth_pair(keys.to, to, nth)
            }
            (None, None) => self.at_key(keys.connections),
        }
    }
}

/// The spec's lists (empty when absent) and its Incoming Point (None when absent or empty).
#[derive(Clone, Copy)]
struct Parts<'s> {
    vnfs: &'s [SpecVnf],
    ip: Option<&'s SpecPoint>,
    ops: &'s [SpecPoint],
    conns: &'s [SpecConn],
}

impl<'s> Parts<'s> {
    fn of(spec: &'s Spec) -> Self {
        Parts {
            vnfs: spec.vnfs.as_deref().unwrap_or_default(),
            ip: spec.ip.as_ref().filter(|p| !ip_is_empty(Some(p))),
            ops: spec.ops.as_deref().unwrap_or_default(),
            conns: spec.connections.as_deref().unwrap_or_default(),
        }
    }
}

fn ip_is_empty(ip: Option<&SpecPoint>) -> bool {
    ip.is_none_or(|p| p.id.is_none() && p.link.is_none() && p.bridge_mac.is_none())
}

/// Ids the structure rules accepted, for the families after them.
struct Ids {
    kinds: BTreeMap<String, Kind>,
    /// The Incoming Point's id, when it is unique.
    ip_id: Option<String>,
    ip_link: Option<String>,
}

impl Ids {
    fn kind_of(&self, id: &str) -> Option<Kind> {
        self.kinds.get(id).copied()
    }
}

pub(crate) fn validate(mut spec: Spec, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    if let Some(path) = &opts.traffic {
        crate::load::replace_traffic(&mut spec, path);
    }
    let mut ck = Checker {
        spec: &spec,
        opts,
        errors: spec.errors.clone(),
    };
    let parts = Parts::of(&spec);

    structure::empty_fields(&mut ck, parts);
    let ids = structure::ids(&mut ck, parts);
    naming::names(&mut ck, parts, &ids);
    let good = structure::connections(&mut ck, parts, &ids);
    structure::explicit_ports(&mut ck, parts, &ids);
    let macs = macs::macs(&mut ck, parts);
    let conn_links = graph::connection_links(parts.conns);
    // PyCOO runs graphValidation (-7..-11) only when structureValidation (-1..-6) passed.
    let structure_failed = ck
        .errors
        .iter()
        .any(|e| matches!(e.kind.pycoo_code(), Some(-6..=-1)));
    if !structure_failed {
        graph::pycoo_graph(&mut ck, parts, &ids, &conn_links);
    }
    if ck.errors.is_empty() {
        graph::reachability_and_cycles(&mut ck, parts, &ids, &good);
    }
    if ck.errors.is_empty() {
        naming::derived_names(&mut ck, parts, &ids, &conn_links);
    }
    let per_vnf = files::per_vnf(&mut ck, parts);
    let placed = hosts::hosts(&mut ck, parts);
    let variants = variants::variants(&mut ck, parts, &ids);
    engine_options::engine_options(&mut ck, parts, &per_vnf.engines, &variants);
    settings::impairments(&mut ck, parts.conns);
    settings::settings(&mut ck);
    settings::direction(&mut ck, parts.ops.len());

    if !ck.errors.is_empty() {
        return Err(LoadErrors(ck.errors));
    }
    Ok(model::build(&spec, parts, &macs, per_vnf, placed, variants))
}

#[cfg(test)]
pub(super) mod testing {
    //! Runs one family on a unified topology text and returns the rules it reported.

    use std::path::Path;

    use super::{Checker, Parts};
    use crate::locate::SourceText;
    use crate::LoadOptions;

    /// A chain that passes every rule: src -> a -> b -> sink.
    pub(in crate::validate) const GOOD: &str = r#"{
      "id": "t",
      "vnfs": [{"id": "a", "function": "f.click"}, {"id": "b", "function": "f.click"}],
      "incoming": {"id": "src", "link": "in"},
      "outgoing": [{"id": "sink", "link": "out"}],
      "connections": [
        {"from": "src", "to": "a"},
        {"from": "a", "to": "b", "link": "ab"},
        {"from": "b", "to": "sink"}
      ]
    }"#;

    /// Rules reported by `family` on `json` (the spec's own read errors excluded).
    pub(in crate::validate) fn rules(
        json: &str,
        family: impl FnOnce(&mut Checker<'_>, Parts<'_>),
    ) -> Vec<String> {
        let src = SourceText::new(Path::new("/t/topology.json"), json);
        let spec = match crate::load::unified_spec(src) {
            Ok(spec) => spec,
            Err(e) => panic!("test topology does not parse: {e}"),
        };
        let opts = LoadOptions {
            function_dirs: Vec::new(),
            check_files: false,
            traffic: None,
        };
        let mut ck = Checker {
            spec: &spec,
            opts: &opts,
            errors: Vec::new(),
        };
        family(&mut ck, Parts::of(&spec));
        ck.errors.iter().map(|e| e.rule().to_owned()).collect()
    }

    /// `GOOD` with `from` replaced by `to` (once; panics when `from` is absent).
    pub(in crate::validate) fn good_with(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "`{from}` not in GOOD");
        GOOD.replacen(from, to, 1)
    }
}
