//! Named load/validation errors. Each rule has a stable kebab-case name (used by fixtures, the
//! CLI's `--json` output and docs/topology-format.md) and, for PyCOO's rules, the PyCOO code.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Where an error was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based; 0 when only the file is known.
    pub line: usize,
    /// 1-based; 0 when only the file is known.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// One error: what rule failed and where.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    pub kind: ErrorKind,
    pub at: Option<Location>,
}

impl LoadError {
    pub fn new(kind: ErrorKind, at: Option<Location>) -> Self {
        LoadError { kind, at }
    }
    /// Stable rule name, e.g. `pycoo-09-vnf-without-input`.
    pub fn rule(&self) -> &'static str {
        self.kind.rule()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        write!(f, "error[{}]: {}", self.kind.rule(), self.kind)
    }
}

impl Serialize for LoadError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("LoadError", 6)?;
        s.serialize_field("rule", self.kind.rule())?;
        s.serialize_field("pycoo_code", &self.kind.pycoo_code())?;
        s.serialize_field("message", &self.kind.to_string())?;
        s.serialize_field("file", &self.at.as_ref().map(|a| a.file.clone()))?;
        s.serialize_field("line", &self.at.as_ref().map(|a| a.line).filter(|l| *l > 0))?;
        s.serialize_field(
            "column",
            &self.at.as_ref().map(|a| a.column).filter(|c| *c > 0),
        )?;
        s.end()
    }
}

/// Every independent error found while loading one topology.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    pub fn one(kind: ErrorKind, at: Option<Location>) -> Self {
        LoadErrors(vec![LoadError::new(kind, at)])
    }
    pub fn errors(&self) -> &[LoadError] {
        &self.0
    }
    pub fn iter(&self) -> impl Iterator<Item = &LoadError> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Whether some error has rule name `rule`.
    pub fn has(&self, rule: &str) -> bool {
        self.0.iter().any(|e| e.rule() == rule)
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

fn quoted(list: &[String]) -> String {
    list.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn suggest(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// The rules. Field names say which ids are involved.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    // ---- reading and parsing -------------------------------------------------------------
    #[error("cannot read {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{} is neither a topology file nor a PyCOO directory (VNF/, SFC/, SCRIPT/)", path.display())]
    NotATopology { path: PathBuf },
    #[error("{} holds several descriptors ({}); pass the one to use", dir.display(), quoted(candidates))]
    AmbiguousDescriptor {
        dir: PathBuf,
        candidates: Vec<String>,
    },
    #[error("invalid JSON: {message}")]
    JsonSyntax { message: String },
    #[error("unknown field `{field}`{}{}", suggest(suggestion), if expected.is_empty() { String::new() } else { format!(" (known fields: {})", quoted(expected)) })]
    UnknownField {
        field: String,
        suggestion: Option<String>,
        expected: Vec<String>,
    },
    #[error("missing field `{field}`")]
    MissingField { field: String },
    #[error("invalid value: {message}")]
    InvalidValue { message: String },

    // ---- PyCOO VNF descriptor (VNF.py fullValidation) ----------------------------------------
    #[error("[PyCOO VNF -5] descriptor of VNF `{vnf}` not found: {}", path.display())]
    PycooVnfDescriptorMissing { vnf: String, path: PathBuf },
    #[error("[PyCOO VNF -1] VNF `{vnf}`: field `{field}` {reason}")]
    PycooVnfInvalidField {
        vnf: String,
        field: String,
        reason: String,
    },
    #[error("[PyCOO VNF -2] VNF `{vnf}`: INTERFACES item {index} lacks `{field}`")]
    PycooVnfInterfaceIncomplete {
        vnf: String,
        index: usize,
        field: String,
    },
    #[error("descriptor {} declares ID `{found}`, but the SFC expects `{expected}` (PyCOO loads VNF/<ID>.json)", path.display())]
    VnfDescriptorIdMismatch {
        expected: String,
        found: String,
        path: PathBuf,
    },

    // ---- PyCOO SFC structureValidation (-1..-6) -----------------------------------------------
    #[error("[PyCOO -1] SFC field `{field}` is missing or empty")]
    PycooEmptyField { field: String },
    #[error("[PyCOO -2] VNF entry {index} has no ID")]
    PycooVnfMissingId { index: usize },
    #[error("[PyCOO -2] VNF id `{id}` is listed more than once")]
    PycooDuplicateVnfId { id: String },
    #[error("[PyCOO -3] the Incoming Point lacks `{field}`")]
    PycooIncomingPointIncomplete { field: String },
    #[error("[PyCOO -4] Outgoing Point {index} lacks `{field}`")]
    PycooOutgoingPointIncomplete { index: usize, field: String },
    #[error("[PyCOO -4] Outgoing Point id `{id}` is listed more than once")]
    PycooDuplicateOpId { id: String },
    #[error("[PyCOO -5] connection {index} lacks `{field}`")]
    PycooConnectionMissingEndpoint { index: usize, field: String },
    #[error("[PyCOO -5] connection {index} ({from} -> {to}): {reason}")]
    PycooConnectionBadEndpoints {
        index: usize,
        from: String,
        to: String,
        reason: String,
    },
    #[error("[PyCOO -5] connection {index} ({from} -> {to}) lacks `{field}`")]
    PycooConnectionMissingMac {
        index: usize,
        from: String,
        to: String,
        field: String,
    },
    #[error(
        "[PyCOO -5] connection {index}: `{field}` names `{id}`, which is not declared{}",
        suggest(suggestion)
    )]
    PycooConnectionUnknownId {
        index: usize,
        field: String,
        id: String,
        suggestion: Option<String>,
    },
    #[error("[PyCOO -5] the Incoming Point `{ip}` is wired straight to Outgoing Point `{op}`")]
    PycooIncomingToOutgoing { ip: String, op: String },
    #[error(
        "[PyCOO -5] the Incoming Point `{ip}` receives traffic from `{from}` (it can only send)"
    )]
    PycooIncomingAsTarget { ip: String, from: String },
    #[error("[PyCOO -5] Outgoing Point `{op}` sends traffic to `{to}` (it can only receive)")]
    PycooOutgoingAsSource { op: String, to: String },
    #[error("[PyCOO -5] connection {index} repeats connection {first}")]
    PycooDuplicateConnection { index: usize, first: usize },
    #[error("[PyCOO -6] data MAC {mac} is used by both {first} and {second}")]
    PycooDuplicateMac {
        mac: String,
        first: String,
        second: String,
    },

    // ---- PyCOO SFC graphValidation (-7..-11) ---------------------------------------------------
    #[error(
        "[PyCOO -7] the Incoming Point `{ip}` must start exactly one connection, it starts {count}"
    )]
    PycooIncomingFanOut { ip: String, count: usize },
    #[error("[PyCOO -7] link `{link}` of the Incoming Point `{ip}` is also a connection link")]
    PycooIncomingLinkReused { ip: String, link: String },
    #[error(
        "[PyCOO -8] Outgoing Point `{op}` never receives traffic (no connection has it as ILL)"
    )]
    PycooOutgoingNeverReached { op: String },
    #[error("[PyCOO -8] link `{link}` of Outgoing Point `{op}` is also a connection link")]
    PycooOutgoingLinkReused { op: String, link: String },
    #[error("[PyCOO -9] VNF `{vnf}` never receives traffic (no connection has it as ILL)")]
    PycooVnfWithoutInput { vnf: String },
    #[error("[PyCOO -9] VNF `{vnf}` never sends traffic (no connection has it as OLL)")]
    PycooVnfWithoutOutput { vnf: String },
    #[error("[PyCOO -10] connection {index} goes from `{node}` to itself")]
    PycooSelfLoop { index: usize, node: String },
    #[error(
        "[PyCOO -11] link `{link}` is used by {count} connections (shared links are not supported)"
    )]
    PycooSharedLink { link: String, count: usize },

    // ---- rules PyCOO misses --------------------------------------------------------------------
    #[error(
        "{context} refers to `{id}`, which is not declared{}",
        suggest(suggestion)
    )]
    UnknownId {
        id: String,
        context: String,
        suggestion: Option<String>,
    },
    #[error("id `{id}` is used by {first} and {second} (ids must be unique across VNFs, the Incoming Point and Outgoing Points)")]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
    #[error("VNF `{vnf}` is not reachable from the Incoming Point `{ip}`")]
    UnreachableVnf { vnf: String, ip: String },
    #[error("VNF `{vnf}` does not lead to any Outgoing Point")]
    DeadEndVnf { vnf: String },
    #[error("the chain has a cycle: {}", path.join(" -> "))]
    Cycle { path: Vec<String> },
    #[error("{field}: {value:?} is not a MAC address (expected six hex pairs separated by `:`)")]
    InvalidMac { field: String, value: String },
    #[error("{field}: {mac} is not a unicast address (multicast bit set or all zeros)")]
    NonUnicastMac { field: String, mac: String },
    #[error(
        "MAC {mac} is used by both {first} and {second} (MACs must be unique across the topology)"
    )]
    DuplicateMac {
        mac: String,
        first: String,
        second: String,
    },
    #[error("link `{link}` is the bridge of both {first} and {second}")]
    DuplicateLink {
        link: String,
        first: String,
        second: String,
    },
    #[error("{what} `{name}` may only contain ASCII letters, digits, `_` and `-` (it becomes part of interface names)")]
    InvalidName { what: String, name: String },
    #[error("derived interface name `{name}` is used by both {first} and {second}")]
    NameCollision {
        name: String,
        first: String,
        second: String,
    },
    #[error("{what}: Click function file {} does not exist{}", path.display(), if searched.is_empty() { String::new() } else { format!(" (searched: {})", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")) })]
    FunctionMissing {
        what: String,
        path: PathBuf,
        searched: Vec<PathBuf>,
    },
    #[error("{what}: unknown engine `{engine}`{} (known: coo-click, click, kernel-forward, or a path containing `/`)", suggest(suggestion))]
    UnknownEngine {
        what: String,
        engine: String,
        suggestion: Option<String>,
    },
    #[error("{what}: engine binary {} does not exist", path.display())]
    EngineMissing { what: String, path: PathBuf },
    #[error("VNF `{vnf}`: image {} does not exist", path.display())]
    ImageMissing { vnf: String, path: PathBuf },
    #[error("variant `{name}` is defined more than once")]
    DuplicateVariant { name: String },
    #[error("link `{link}`: {reason}")]
    InvalidImpairment { link: String, reason: String },
    #[error("{field}: {reason}")]
    InvalidSetting { field: String, reason: String },
    #[error("{what}: the topology wires port {port} (link `{link}`, to `{peer}`), but the function has no FromDPDKDevice({port}) or ToDPDKDevice({port})")]
    ClickPortMissing {
        what: String,
        port: usize,
        link: String,
        peer: String,
    },
    #[error("connection {index}: `{endpoint}`: {reason}")]
    InvalidPort {
        index: usize,
        endpoint: String,
        reason: String,
    },
    #[error("traffic.frame_sizes: {size} B frames cannot carry {protocol} and the 16-byte test header; the smallest {protocol} frame is {min} B (give it explicitly)")]
    FrameTooSmall {
        size: u16,
        protocol: String,
        min: u16,
    },
    #[error("benchmark.mode `{mode}` is not implemented yet; use `ndr-pdr`, `ndr` or `pdr`")]
    UnsupportedMode { mode: String },
    #[error("{field}: address {address} is outside the benchmarking range 198.18.0.0/15")]
    AddressOutsideBenchmarkRange { field: String, address: String },
    #[error("{what}: engine option {reason}")]
    EngineOptionRange { what: String, reason: String },
    #[error("{what}: engine option `{option}` does not apply to engine {engine}: {why}")]
    EngineOptionUnsupported {
        what: String,
        option: String,
        engine: String,
        why: String,
    },
    #[error("VNF `{vnf}` has {memory_mib} MiB / {vcpus} vCPUs; both must be > 0")]
    InvalidResources {
        vnf: String,
        memory_mib: i64,
        vcpus: i64,
    },

    // ---- Hosts (several machines; validate::hosts) --------------------------------------------
    #[error("host `{host}`: {reason}")]
    InvalidHost { host: String, reason: String },
    #[error("host {what} `{value}` is declared twice")]
    DuplicateHost { what: String, value: String },
    #[error("VNF `{vnf}` names host `{host}`, which {}", if known.is_empty() { "is not declared (the topology has no `hosts`)".to_owned() } else { format!("is not among the declared hosts {}", quoted(known)) })]
    UnknownHost {
        vnf: String,
        host: String,
        known: Vec<String>,
    },
    #[error("`hosts` needs the vm driver (VNFs on other machines are libvirt domains); the topology says `driver: \"{driver}\"`")]
    HostsNeedVmDriver { driver: String },
    #[error("host `{host}` is given VNFs {} needing {memory_mib} MiB and {vcpus} vCPUs; it declares {host_memory_mib} MiB and {host_cpus} CPUs", quoted(vnfs))]
    HostOvercommitted {
        host: String,
        vnfs: Vec<String>,
        memory_mib: u64,
        vcpus: u64,
        host_memory_mib: u32,
        host_cpus: u32,
    },
    #[error("VNF `{vnf}` ({memory_mib} MiB, {vcpus} vCPUs) fits on no host: what is left is {}", left.join(", "))]
    PlacementImpossible {
        vnf: String,
        memory_mib: u32,
        vcpus: u32,
        /// `<host>: <MiB> MiB, <n> CPUs` per host.
        left: Vec<String>,
    },

    // ---- Click functions (crate::function; located in the function file) ----------------------
    #[error("{what}: {message}")]
    ClickSyntax { what: String, message: String },
    #[error("{what}: unknown element class `{class}` for engine {engine}{}", if suggestions.is_empty() { String::new() } else { format!("; did you mean {}?", suggestions.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or ")) })]
    ClickUnknownClass {
        what: String,
        class: String,
        engine: String,
        suggestions: Vec<String>,
    },
    #[error("{what}: {message}")]
    ClickElementConfig { what: String, message: String },
    #[error("{what}: {element}({port}) names data interface {port}, but the VNF has {count} ({})", if *count == 0 { "no Click ports".to_owned() } else { format!("Click ports 0..={}", count - 1) })]
    ClickPortOutOfRange {
        what: String,
        element: String,
        port: usize,
        count: usize,
    },
    #[error("{what}: {message}")]
    ClickPortCount { what: String, message: String },
    #[error("{what}: {message}")]
    ClickPushPull { what: String, message: String },

    // ---- PyCOO execution script ---------------------------------------------------------------
    #[error("script: VNF `{vnf}`, task `{task}`: step \"{missing}\" is missing (steps must be numbered \"1\"..\"N\" without gaps; PyCOO raises KeyError)")]
    ScriptTaskGap {
        vnf: String,
        task: String,
        missing: usize,
    },
    #[error("script: VNF `{vnf}`, task `{task}`, step {step}: unknown action `{action}`{} (PyCOO's script returns -2 there)", suggest(suggestion))]
    ScriptUnknownAction {
        vnf: String,
        task: String,
        step: String,
        action: String,
        suggestion: Option<String>,
    },
    #[error("script: {reason}")]
    ScriptInvalid { reason: String },
}

impl ErrorKind {
    /// Stable rule name; fixtures under tests/fixtures/topologies/invalid/ (Click function
    /// rules: invalid-functions/) are named after it.
    pub fn rule(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            Io { .. } => "io",
            NotATopology { .. } => "not-a-topology",
            AmbiguousDescriptor { .. } => "ambiguous-descriptor",
            JsonSyntax { .. } => "json-syntax",
            UnknownField { .. } => "unknown-field",
            MissingField { .. } => "missing-field",
            InvalidValue { .. } => "invalid-value",
            PycooVnfDescriptorMissing { .. } => "pycoo-vnf-05-descriptor-missing",
            PycooVnfInvalidField { .. } => "pycoo-vnf-01-invalid-field",
            PycooVnfInterfaceIncomplete { .. } => "pycoo-vnf-02-interface-incomplete",
            VnfDescriptorIdMismatch { .. } => "vnf-descriptor-id-mismatch",
            PycooEmptyField { .. } => "pycoo-01-empty-field",
            PycooVnfMissingId { .. } => "pycoo-02-vnf-missing-id",
            PycooDuplicateVnfId { .. } => "pycoo-02-duplicate-vnf-id",
            PycooIncomingPointIncomplete { .. } => "pycoo-03-incoming-point-incomplete",
            PycooOutgoingPointIncomplete { .. } => "pycoo-04-outgoing-point-incomplete",
            PycooDuplicateOpId { .. } => "pycoo-04-duplicate-op-id",
            PycooConnectionMissingEndpoint { .. } => "pycoo-05-connection-missing-endpoint",
            PycooConnectionBadEndpoints { .. } => "pycoo-05-connection-bad-endpoints",
            PycooConnectionMissingMac { .. } => "pycoo-05-connection-missing-mac",
            PycooDuplicateConnection { .. } => "pycoo-05-duplicate-connection",
            PycooDuplicateMac { .. } => "pycoo-06-duplicate-mac",
            PycooIncomingFanOut { .. } => "pycoo-07-ip-fan-out",
            PycooConnectionUnknownId { .. } => "pycoo-05-unknown-id",
            PycooIncomingToOutgoing { .. } => "pycoo-05-ip-to-op",
            PycooIncomingAsTarget { .. } => "pycoo-05-ip-as-target",
            PycooIncomingLinkReused { .. } => "pycoo-07-ip-link-reused",
            PycooOutgoingNeverReached { .. } => "pycoo-08-op-never-reached",
            PycooOutgoingAsSource { .. } => "pycoo-05-op-as-source",
            PycooOutgoingLinkReused { .. } => "pycoo-08-op-link-reused",
            PycooVnfWithoutInput { .. } => "pycoo-09-vnf-without-input",
            PycooVnfWithoutOutput { .. } => "pycoo-09-vnf-without-output",
            PycooSelfLoop { .. } => "pycoo-10-self-loop",
            PycooSharedLink { .. } => "pycoo-11-shared-link",
            UnknownId { .. } => "unknown-id",
            DuplicateId { .. } => "duplicate-id",
            UnreachableVnf { .. } => "unreachable-vnf",
            DeadEndVnf { .. } => "dead-end-vnf",
            Cycle { .. } => "cycle",
            InvalidMac { .. } => "invalid-mac",
            NonUnicastMac { .. } => "non-unicast-mac",
            DuplicateMac { .. } => "duplicate-mac",
            DuplicateLink { .. } => "duplicate-link",
            InvalidName { .. } => "invalid-name",
            NameCollision { .. } => "name-collision",
            FunctionMissing { .. } => "function-missing",
            UnknownEngine { .. } => "unknown-engine",
            EngineMissing { .. } => "engine-missing",
            ImageMissing { .. } => "image-missing",
            DuplicateVariant { .. } => "duplicate-variant",
            InvalidImpairment { .. } => "invalid-impairment",
            InvalidSetting { .. } => "invalid-setting",
            FrameTooSmall { .. } => "frame-too-small",
            ClickPortMissing { .. } => "click-port-missing",
            InvalidPort { .. } => "invalid-port",
            UnsupportedMode { .. } => "unsupported-mode",
            AddressOutsideBenchmarkRange { .. } => "address-outside-benchmark-range",
            InvalidResources { .. } => "invalid-resources",
            EngineOptionRange { .. } => "engine-option-range",
            EngineOptionUnsupported { .. } => "engine-option-unsupported",
            InvalidHost { .. } => "invalid-host",
            DuplicateHost { .. } => "duplicate-host",
            UnknownHost { .. } => "unknown-host",
            HostsNeedVmDriver { .. } => "hosts-need-vm-driver",
            HostOvercommitted { .. } => "host-overcommitted",
            PlacementImpossible { .. } => "placement-impossible",
            ClickSyntax { .. } => "click-syntax",
            ClickUnknownClass { .. } => "click-unknown-class",
            ClickElementConfig { .. } => "click-element-config",
            ClickPortOutOfRange { .. } => "click-port-out-of-range",
            ClickPortCount { .. } => "click-port-count",
            ClickPushPull { .. } => "click-push-pull",
            ScriptTaskGap { .. } => "script-task-gap",
            ScriptUnknownAction { .. } => "script-unknown-action",
            ScriptInvalid { .. } => "script-invalid",
        }
    }

    /// PyCOO's status code for this rule (SFC codes; VNF-descriptor codes for `pycoo-vnf-*`).
    pub fn pycoo_code(&self) -> Option<i32> {
        let rule = self.rule();
        let digits = rule
            .strip_prefix("pycoo-vnf-")
            .or_else(|| rule.strip_prefix("pycoo-"))?;
        digits.get(..2)?.parse::<i32>().ok().map(|n| -n)
    }
}

/// A finding that does not stop the topology from running, with where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub kind: WarningKind,
    pub at: Option<Location>,
}

impl Warning {
    pub fn new(kind: WarningKind, at: Option<Location>) -> Self {
        Warning { kind, at }
    }
    /// Stable rule name, e.g. `click-port-unused`.
    pub fn rule(&self) -> &'static str {
        self.kind.rule()
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        write!(f, "warning[{}]: {}", self.kind.rule(), self.kind)
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Warning", 5)?;
        s.serialize_field("rule", self.kind.rule())?;
        s.serialize_field("message", &self.kind.to_string())?;
        s.serialize_field("file", &self.at.as_ref().map(|a| a.file.clone()))?;
        s.serialize_field("line", &self.at.as_ref().map(|a| a.line).filter(|l| *l > 0))?;
        s.serialize_field(
            "column",
            &self.at.as_ref().map(|a| a.column).filter(|c| *c > 0),
        )?;
        s.end()
    }
}

/// The warning rules.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    #[error(
        "{place}: unknown key `{key}` is ignored, as PyCOO does{}",
        suggest(suggestion)
    )]
    PycooUnknownKey {
        place: String,
        key: String,
        suggestion: Option<String>,
    },
    #[error("script: VNF `{vnf}`, task `{task}`, step {step}: unknown action `{action}` in the error list is skipped, as PyCOO's error routine does{}", suggest(suggestion))]
    ScriptErrorListUnknownAction {
        vnf: String,
        task: String,
        step: String,
        action: String,
        suggestion: Option<String>,
    },
    #[error("{what}: data interface {port} (link `{link}`, to `{peer}`) is never used: no FromDPDKDevice({port}) or ToDPDKDevice({port})")]
    ClickPortUnused {
        what: String,
        port: usize,
        link: String,
        peer: String,
    },
    #[error(
        "{what}: element classes and configurations are not checked for engine {engine}: {reason}"
    )]
    ClickEngineUnchecked {
        what: String,
        engine: String,
        reason: String,
    },
}

impl WarningKind {
    /// Stable rule name; fixtures under tests/fixtures/topologies/warnings/ are named after it.
    pub fn rule(&self) -> &'static str {
        match self {
            WarningKind::PycooUnknownKey { .. } => "pycoo-unknown-key",
            WarningKind::ScriptErrorListUnknownAction { .. } => "script-error-unknown-action",
            WarningKind::ClickPortUnused { .. } => "click-port-unused",
            WarningKind::ClickEngineUnchecked { .. } => "click-engine-unchecked",
        }
    }
}
