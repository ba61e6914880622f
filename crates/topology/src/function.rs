//! The Click functions family of validation: what can be known about a VNF's Click function
//! before anything runs, each finding located in the function file (`file:line:column`).
//!
//! Pure: the caller reads the function files and supplies coo-click's element classes (the
//! coo-bench binary adds the I/O classes of click-io), and runs other engines' binaries for
//! their own dry run, whose output [`engine_output`] maps to the same rules.
//!
//! Rules: `click-syntax`, `click-unknown-class`, `click-element-config`,
//! `click-port-out-of-range`, `click-port-count`, `click-push-pull`; warnings
//! `click-port-unused` and `click-engine-unchecked`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use click::{FlatConfig, Registry, Router};

use crate::error::{ErrorKind, LoadError, Location, Warning, WarningKind};
use crate::model::{EngineSpec, Topology, VnfInterface};

/// The DPDK device classes whose first argument is a port (data interface) number.
const DPDK_CLASSES: [&str; 2] = ["FromDPDKDevice", "ToDPDKDevice"];

/// Errors and warnings of the Click checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    pub errors: Vec<LoadError>,
    pub warnings: Vec<Warning>,
}

impl Findings {
    pub fn extend(&mut self, other: Findings) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }
}

/// One function as some VNFs run it under some variants: checked once for all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionUse {
    pub function: PathBuf,
    pub engine: EngineSpec,
    /// Data interfaces of the (first) VNF; Click port N is `interfaces[N]`.
    pub interfaces: Vec<VnfInterface>,
    /// Who runs it, for messages: "VNF `fw` (coo-click, variant `default`)".
    pub what: String,
}

/// Every (VNF, variant) pair of `topo`, once per distinct (function, engine, interface count),
/// in VNF then variant order. Kernel-forward VNFs run no function and are left out.
pub fn function_uses(topo: &Topology) -> Vec<FunctionUse> {
    // Keyed by (function, engine, ports); `order` keeps the first-use order.
    type Key = (PathBuf, String, usize);
    struct Users {
        interfaces: Vec<VnfInterface>,
        engine: EngineSpec,
        /// (VNF, variant) pairs.
        who: Vec<(String, String)>,
    }
    let mut order: Vec<Key> = Vec::new();
    let mut users: BTreeMap<Key, Users> = BTreeMap::new();
    for vnf in &topo.vnfs {
        for variant in &topo.variants {
            let Some(resolved) = topo.resolve(variant).into_iter().find(|r| r.id == vnf.id) else {
                continue;
            };
            if resolved.engine == EngineSpec::KernelForward {
                continue;
            }
            let key = (
                resolved.function.clone(),
                resolved.engine.to_string(),
                vnf.interfaces.len(),
            );
            let entry = users.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                Users {
                    interfaces: vnf.interfaces.clone(),
                    engine: resolved.engine.clone(),
                    who: Vec::new(),
                }
            });
            entry.who.push((vnf.id.to_string(), variant.name.clone()));
        }
    }
    order
        .into_iter()
        .filter_map(|key| {
            let u = users.remove(&key)?;
            Some(FunctionUse {
                what: describe(&u.who, &u.engine),
                function: key.0,
                engine: u.engine,
                interfaces: u.interfaces,
            })
        })
        .collect()
}

fn describe(who: &[(String, String)], engine: &EngineSpec) -> String {
    let vnfs: BTreeSet<&str> = who.iter().map(|(v, _)| v.as_str()).collect();
    let variants: BTreeSet<&str> = who.iter().map(|(_, v)| v.as_str()).collect();
    let list = |items: &BTreeSet<&str>| {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "VNF{} {} ({engine}, variant{} {})",
        if vnfs.len() == 1 { "" } else { "s" },
        list(&vnfs),
        if variants.len() == 1 { "" } else { "s" },
        list(&variants)
    )
}

/// Checks one function's text for `usage`'s engine. `registry` holds coo-click's classes:
/// for coo-click they decide which classes exist, and the router is configured without I/O
/// ([`Router::check`]); for another engine they only help parsing, and classes,
/// configurations and push/pull are left to that engine's dry run.
pub fn check_text(text: &str, usage: &FunctionUse, registry: &Registry) -> Findings {
    let file = usage.function.as_path();
    let shown = file.display().to_string();
    let src = Source {
        text,
        file,
        shown: &shown,
    };
    let ours = usage.engine == EngineSpec::CooClick;
    let mut findings = Findings::default();

    // Parse and flatten. Classes the registry lacks are collected and accepted on a new pass,
    // so a function for another engine still flattens (and coo-click's unknown classes are
    // all reported at once).
    let mut assumed: BTreeSet<String> = BTreeSet::new();
    let flat = loop {
        let is_class = |c: &str| registry.contains(c) || assumed.contains(c);
        match click::lang::parse(text, &shown, &is_class) {
            Ok(flat) => break Some(flat),
            Err(messages) => {
                let mut new_classes = false;
                let mut syntax = Vec::new();
                for message in messages {
                    match unknown_class(&message) {
                        Some(class) if !assumed.contains(&class) => {
                            if ours {
                                findings.errors.push(src.error(&message, None, |_| {
                                    ErrorKind::ClickUnknownClass {
                                        what: usage.what.clone(),
                                        class: class.clone(),
                                        engine: usage.engine.to_string(),
                                        suggestions: registry.suggestions(&class),
                                    }
                                }));
                            }
                            assumed.insert(class);
                            new_classes = true;
                        }
                        _ => syntax.push(message),
                    }
                }
                if !new_classes || !syntax.is_empty() {
                    for message in syntax {
                        findings.errors.push(src.error(&message, None, |m| {
                            ErrorKind::ClickSyntax {
                                what: usage.what.clone(),
                                message: m,
                            }
                        }));
                    }
                    break None;
                }
            }
        }
    };
    let Some(flat) = flat else {
        return findings;
    };

    let flagged = dpdk_ports(&src, &flat, usage, &mut findings);
    if ours && assumed.is_empty() {
        if let Err(e) = Router::check(text, &shown, registry) {
            for group in group_messages(&e.messages) {
                // Ports flagged above are reported with the VNF's interfaces already.
                if group.configuring.as_ref().is_some_and(|(name, class)| {
                    DPDK_CLASSES.contains(&class.as_str()) && flagged.contains(name)
                }) {
                    continue;
                }
                if let Some(err) = src.classify(&group, &flat, usage) {
                    findings.errors.push(err);
                }
            }
        }
    }
    // For another engine, the caller's dry run judges classes, configurations and push/pull.
    findings
}

/// Maps the error output of a Click-compatible engine's dry run (`click -q FILE`) of the
/// rewritten function to rules located in the original function. `landmark_file` is the file
/// name the engine printed (the rewritten copy); the rewrite keeps line numbers. Errors of
/// initializing the rewritten devices (FromDevice/ToDevice on interfaces that only exist in
/// the testbed) are expected in a dry run and dropped.
pub fn engine_output(
    output: &str,
    landmark_file: &str,
    text: &str,
    usage: &FunctionUse,
) -> Vec<LoadError> {
    let shown = usage.function.display().to_string();
    let src = Source {
        text,
        file: &usage.function,
        shown: &shown,
    };
    let lines: Vec<String> = output
        .lines()
        .filter(|l| {
            let t = l.trim();
            // FastClick's chatter: its EAL banner and per-thread placement warnings.
            !t.is_empty()
                && !l.contains("Router could not be initialized")
                && t != "Initializing DPDK"
                && !t.starts_with("warning:")
        })
        .map(|l| match l.strip_prefix(landmark_file) {
            Some(rest) => format!("{shown}{rest}"),
            None => l.to_owned(),
        })
        .collect();
    let flat = click::lang::parse(text, &shown, &|_| true).unwrap_or_default();
    group_messages(&lines)
        .into_iter()
        .filter(|g| !(g.initializing && is_device(g)))
        .filter_map(|g| src.classify(&g, &flat, usage))
        .collect()
}

fn is_device(group: &Group) -> bool {
    group.configuring.as_ref().is_some_and(|(_, class)| {
        [
            "FromDevice",
            "ToDevice",
            "Queue",
            "FromDPDKDevice",
            "ToDPDKDevice",
        ]
        .contains(&class.as_str())
    })
}

/// `FromDPDKDevice(N)` / `ToDPDKDevice(N)` against the VNF's interfaces: out of range is an
/// error, an interface no element names is a warning. Returns the elements flagged here.
fn dpdk_ports(
    src: &Source<'_>,
    flat: &FlatConfig,
    usage: &FunctionUse,
    findings: &mut Findings,
) -> BTreeSet<String> {
    let count = usage.interfaces.len();
    let mut used = BTreeSet::new();
    let mut flagged = BTreeSet::new();
    for element in &flat.elements {
        if !DPDK_CLASSES.contains(&element.class.as_str()) {
            continue;
        }
        let line = landmark_line(&element.landmark);
        let Some(port) = dpdk_port(&element.config) else {
            // An interface name cannot work: the testbed names interfaces per run, and the
            // agent's rewrite for other engines needs the number.
            let arg = click::args::split_args(&element.config)
                .first()
                .cloned()
                .unwrap_or_default();
            findings.errors.push(LoadError::new(
                ErrorKind::ClickElementConfig {
                    what: usage.what.clone(),
                    message: format!(
                        "{}({arg}): the port must be a data interface number (0..{count}), not a name",
                        element.class
                    ),
                },
                Some(src.at(line, src.column_of(line, &element.class))),
            ));
            flagged.insert(element.name.clone());
            continue;
        };
        used.insert(port);
        if port >= count {
            let hint = format!("{}({port}", element.class);
            let column = src
                .column_of(line, &hint)
                .or_else(|| src.column_of(line, &element.class));
            findings.errors.push(LoadError::new(
                ErrorKind::ClickPortOutOfRange {
                    what: usage.what.clone(),
                    element: element.class.clone(),
                    port,
                    count,
                },
                Some(src.at(line, column)),
            ));
            flagged.insert(element.name.clone());
        }
    }
    for iface in &usage.interfaces {
        if !used.contains(&iface.port) && iface.explicit {
            // The topology named this port: a function without it would not wire the chain.
            // Located at the function's first device line (where the port would go).
            let line = (1..)
                .map_while(|n| src.line_text(n).map(|t| (n, t)))
                .find(|(_, t)| t.contains("DPDKDevice"))
                .map_or(1, |(n, _)| n);
            findings.errors.push(LoadError::new(
                ErrorKind::ClickPortMissing {
                    what: usage.what.clone(),
                    port: iface.port,
                    link: iface.link.to_string(),
                    peer: iface.peer.to_string(),
                },
                Some(src.at(line, None)),
            ));
        } else if !used.contains(&iface.port) {
            findings.warnings.push(Warning::new(
                WarningKind::ClickPortUnused {
                    what: usage.what.clone(),
                    port: iface.port,
                    link: iface.link.to_string(),
                    peer: iface.peer.to_string(),
                },
                Some(src.at(0, None)),
            ));
        }
    }
    flagged
}

/// The port of a DPDK device configuration: the first positional argument or `PORT n`.
fn dpdk_port(config: &str) -> Option<usize> {
    let args = click::args::split_args(config);
    let first = args.first()?.trim();
    let value = first.strip_prefix("PORT").map_or(first, str::trim);
    click::args::unquote(value).trim().parse().ok()
}

/// The class an "unknown class" or "undeclared element" message names, when it looks like a
/// class (Click classes start with a capital letter; element names by convention do not).
fn unknown_class(message: &str) -> Option<String> {
    ["unknown element class '", "undeclared element '"]
        .iter()
        .find_map(|p| message.split_once(p).and_then(|(_, r)| r.split_once('\'')))
        .map(|(name, _)| name.to_owned())
        .filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// One error of Click's output: a `file:line: message` line and its indented continuation.
#[derive(Debug)]
struct Group {
    line: usize,
    /// Without the landmark; continuation lines joined with "; ".
    message: String,
    /// (element name, class) of "While configuring/initializing 'name :: Class':".
    configuring: Option<(String, String)>,
    initializing: bool,
}

fn group_messages(lines: &[String]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for line in lines {
        if let (Some(stripped), Some(last)) = (line.strip_prefix("  "), groups.last_mut()) {
            last.message.push_str(if last.message.ends_with(':') {
                " "
            } else {
                "; "
            });
            last.message.push_str(stripped.trim());
            continue;
        }
        let (line_no, message) = split_landmark(line);
        let configuring = ["While configuring '", "While initializing '"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|r| r.split_once('\''))
            .and_then(|(decl, _)| decl.split_once(" :: "))
            .map(|(n, c)| (n.to_owned(), c.to_owned()));
        groups.push(Group {
            line: line_no,
            initializing: message.starts_with("While initializing"),
            message: message.to_owned(),
            configuring,
        });
    }
    groups
}

/// `file:12: message` → (12, "message"); (0, line) when there is no landmark.
fn split_landmark(line: &str) -> (usize, &str) {
    // The file part may itself contain ':'; the landmark ends at the first ":<digits>: ".
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(colon) = line[i..].find(':').map(|c| c + i) {
        let digits_end = colon
            + 1
            + bytes[colon + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if digits_end > colon + 1 && line[digits_end..].starts_with(": ") {
            let n = line[colon + 1..digits_end].parse().unwrap_or(0);
            return (n, &line[digits_end + 2..]);
        }
        i = colon + 1;
    }
    (0, line)
}

fn landmark_line(landmark: &str) -> usize {
    landmark
        .rsplit_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// The function text, for locating findings.
struct Source<'a> {
    text: &'a str,
    file: &'a Path,
    shown: &'a str,
}

impl Source<'_> {
    fn at(&self, line: usize, column: Option<usize>) -> Location {
        let column = match (line, column) {
            (0, _) => 0,
            (_, Some(c)) => c,
            // The first non-blank character of the line.
            (_, None) => self
                .line_text(line)
                .map_or(1, |l| l.len() - l.trim_start().len() + 1),
        };
        Location {
            file: self.file.to_path_buf(),
            line,
            column,
        }
    }

    fn line_text(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }

    /// 1-based column of `needle` on `line`, as a whole word when it is an identifier.
    fn column_of(&self, line: usize, needle: &str) -> Option<usize> {
        let text = self.line_text(line)?;
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '@';
        text.match_indices(needle)
            .find(|(i, _)| {
                let before = text[..*i].chars().next_back();
                let after = text[i + needle.len()..].chars().next();
                let glued_before = before.is_some_and(ident);
                let glued_after = needle.ends_with(ident) && after.is_some_and(ident);
                !glued_before && !glued_after
            })
            .map(|(i, _)| text[..i].chars().count() + 1)
    }

    /// The column of the parenthesis left open on `line` (or an earlier one still open there).
    fn unclosed_paren(&self, line: usize) -> Option<usize> {
        let text = self.line_text(line)?;
        let mut open = Vec::new();
        let mut quote = None;
        for (i, c) in text.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '(') => open.push(i),
                (None, ')') => {
                    open.pop();
                }
                _ => {}
            }
        }
        open.first().map(|i| text[..*i].chars().count() + 1)
    }

    /// A located error from a Click message (`file:line: text`).
    fn error(
        &self,
        message: &str,
        column: Option<usize>,
        kind: impl FnOnce(String) -> ErrorKind,
    ) -> LoadError {
        let shown_prefix = format!("{}:", self.shown);
        let (line, text) = if message.starts_with(&shown_prefix) {
            split_landmark(message)
        } else {
            (0, message)
        };
        let column = column.or_else(|| self.hint_column(line, text));
        LoadError::new(kind(text.to_owned()), Some(self.at(line, column)))
    }

    /// Where on `line` the message's subject is: a quoted class or element, the open
    /// parenthesis of an unterminated configuration, the token of a syntax error.
    fn hint_column(&self, line: usize, message: &str) -> Option<usize> {
        if line == 0 {
            return None;
        }
        if message.contains("unterminated configuration string") {
            return self.unclosed_paren(line);
        }
        let quoted = message.split('\'').nth(1)?;
        // 'name :: Class' → the element's own name (anonymous `Class@N` → its class).
        let subject = match quoted.split_once(" :: ") {
            Some((name, class)) => {
                let name = name.rsplit('/').next().unwrap_or(name);
                if name.contains('@') {
                    class
                } else {
                    name
                }
            }
            None => quoted,
        };
        self.column_of(line, subject)
    }

    /// Click's post-parse messages → rules. Messages without a landmark (push/pull) are placed
    /// at the first element they name.
    fn classify(&self, group: &Group, flat: &FlatConfig, usage: &FunctionUse) -> Option<LoadError> {
        let m = group.message.as_str();
        let what = usage.what.clone();
        let message = m.to_owned();
        let kind = if let Some(class) = unknown_class(m) {
            // The engine's own suggestions stay out: they name its classes, in its words.
            ErrorKind::ClickUnknownClass {
                what,
                class,
                engine: usage.engine.to_string(),
                suggestions: Vec::new(),
            }
        } else if m.starts_with("While configuring") || m.starts_with("While initializing") {
            ErrorKind::ClickElementConfig { what, message }
        } else if m.contains(" has no output ")
            || m.contains(" has no input ")
            || (m.ends_with(" unused") && (m.contains(" input ") || m.contains(" output ")))
        {
            ErrorKind::ClickPortCount { what, message }
        } else if m.contains(" connected to ")
            || m.starts_with("agnostic ")
            || m.contains("illegal reuse of")
        {
            ErrorKind::ClickPushPull { what, message }
        } else if m.contains("syntax error") || m.contains("unterminated") {
            ErrorKind::ClickSyntax { what, message }
        } else {
            ErrorKind::ClickElementConfig { what, message }
        };
        let mut line = group.line;
        if line == 0 {
            // "'a :: A' push output 0 connected to ..." → where `a` is declared.
            let name = m.split('\'').nth(1).and_then(|d| d.split_once(" :: "));
            if let Some(e) = name.and_then(|(n, _)| flat.elements.iter().find(|e| e.name == n)) {
                line = landmark_line(&e.landmark);
            }
        }
        let column = self.hint_column(line, m);
        Some(LoadError::new(kind, Some(self.at(line, column))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LinkName, NodeId};
    use crate::model::Direction;

    fn usage(engine: EngineSpec, ports: usize) -> FunctionUse {
        FunctionUse {
            function: PathBuf::from("/f/nf.click"),
            engine,
            interfaces: (0..ports)
                .map(|port| VnfInterface {
                    port,
                    link: LinkName::new(format!("l{port}")),
                    mac: None,
                    peer: NodeId::new("p"),
                    direction: Direction::Ingress,
                    explicit: false,
                })
                .collect(),
            what: "VNF `fw`".to_owned(),
        }
    }

    /// coo-click's classes, as the binary builds them (click-io adds the device classes).
    fn registry() -> Registry {
        let mut r = Registry::standard();
        let ports = ["v0", "v1"]
            .iter()
            .map(|n| click_io::IfName::new(*n).unwrap())
            .collect();
        click_io::register_elements(
            &mut r,
            &click_io::IoOptions {
                ports,
                ..Default::default()
            },
        );
        r
    }

    fn check(text: &str) -> Findings {
        check_text(text, &usage(EngineSpec::CooClick, 2), &registry())
    }

    fn rules(f: &Findings) -> Vec<(&'static str, usize, usize)> {
        f.errors
            .iter()
            .map(|e| {
                let at =
                    e.at.clone()
                        .unwrap_or_else(|| panic!("{e} has no location"));
                (e.rule(), at.line, at.column)
            })
            .collect()
    }

    #[test]
    fn forward_function_is_clean() {
        let f =
            check("FromDPDKDevice(0) -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> ToDPDKDevice(0);");
        assert_eq!(f, Findings::default());
    }

    #[test]
    fn unterminated_configuration_is_a_syntax_error_at_its_parenthesis() {
        let f = check("FromDPDKDevice(0) -> Strip(14 -> ToDPDKDevice(1);");
        assert_eq!(rules(&f), [("click-syntax", 1, 27)]);
        assert!(f.errors[0]
            .to_string()
            .starts_with("/f/nf.click:1:27: error[click-syntax]"));
    }

    #[test]
    fn unknown_class_is_named_with_its_column() {
        let f = check("// comment\nFromDPDKDevice(0)\n  -> NoSuchElement -> ToDPDKDevice(1);");
        assert_eq!(rules(&f), [("click-unknown-class", 3, 6)]);
        assert!(f.errors[0].to_string().contains("NoSuchElement"));
    }

    #[test]
    fn a_port_the_vnf_lacks_is_out_of_range_and_an_unnamed_one_unused() {
        let f = check("FromDPDKDevice(0) -> ToDPDKDevice(2);");
        assert_eq!(rules(&f), [("click-port-out-of-range", 1, 22)]);
        let warned: Vec<_> = f.warnings.iter().map(Warning::rule).collect();
        assert_eq!(warned, ["click-port-unused"]);
        assert!(f.warnings[0].to_string().contains("data interface 1"));
    }

    #[test]
    fn a_device_name_instead_of_a_port_number_is_rejected_for_every_engine() {
        let text =
            "FromDPDKDevice(eth0) -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> ToDPDKDevice(0);";
        for engine in [EngineSpec::CooClick, EngineSpec::ReferenceClick] {
            let f = check_text(text, &usage(engine, 2), &registry());
            assert_eq!(rules(&f), [("click-element-config", 1, 1)]);
            assert!(f.errors[0].to_string().contains("FromDPDKDevice(eth0)"));
        }
    }

    #[test]
    fn element_configuration_errors_without_io() {
        let f = check(
            "FromDPDKDevice(0)\n -> IPFilter(allow src host 300.1.1.1, deny all)\n -> ToDPDKDevice(1);",
        );
        assert_eq!(rules(&f), [("click-element-config", 2, 5)]);
        let f = check(
            "rw :: IPRewriter(pattern 198.18.0.1 - - - 0 0 0);\nFromDPDKDevice(0) -> rw -> ToDPDKDevice(1);",
        );
        assert_eq!(rules(&f).first().map(|r| r.0), Some("click-element-config"));
        assert_eq!(rules(&f)[0].1, 1);
    }

    #[test]
    fn port_counts_and_push_pull() {
        let f = check("FromDPDKDevice(0) -> s :: Strip(14);\ns [1] -> ToDPDKDevice(1);");
        assert_eq!(
            rules(&f).first().map(|r| (r.0, r.1)),
            Some(("click-port-count", 2))
        );
        let f = check("FromDPDKDevice(0) -> q :: Queue -> Queue -> ToDPDKDevice(1);");
        let found = rules(&f);
        assert_eq!(
            found.first().map(|r| (r.0, r.1)),
            Some(("click-push-pull", 1)),
            "{f:?}"
        );
    }

    #[test]
    fn another_engine_gets_syntax_and_ports_only() {
        let u = usage(EngineSpec::ReferenceClick, 2);
        let f = check_text(
            "FromDPDKDevice(0) -> FastClickOnly(1) -> ToDPDKDevice(3);",
            &u,
            &registry(),
        );
        assert_eq!(rules(&f), [("click-port-out-of-range", 1, 42)]);
    }

    #[test]
    fn engine_output_maps_back_to_the_function() {
        let u = usage(EngineSpec::ReferenceClick, 2);
        let text = "FromDPDKDevice(0)\n -> Frob(1)\n -> ToDPDKDevice(1);";
        let out = "/tmp/x.click:2: unknown element class 'Frob'\n\
                   /tmp/x.click:1: While initializing 'FromDevice@1 :: FromDevice':\n  \
                   FromDevice: no such device\nRouter could not be initialized!\n";
        let errs = engine_output(out, "/tmp/x.click", text, &u);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].rule(), "click-unknown-class");
        assert_eq!(
            errs[0].at.as_ref().map(|a| (a.line, a.column)),
            Some((2, 5))
        );
        assert!(errs[0].to_string().starts_with("/f/nf.click:2:5:"));
    }

    #[test]
    fn landmarks_split_at_the_line_number() {
        assert_eq!(split_landmark("a:b.click:12: oops: x"), (12, "oops: x"));
        assert_eq!(split_landmark("no landmark"), (0, "no landmark"));
        assert_eq!(dpdk_port("PORT 3, BURST 32"), Some(3));
        assert_eq!(dpdk_port("1, N_QUEUES 1"), Some(1));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "FromDPDKDevice(0)",
            "ToDPDKDevice(1)",
            "ToDPDKDevice(7)",
            "Strip(14",
            ")",
            "(",
            " -> ",
            "[1]",
            ";",
            "\n",
            "x :: ",
            "x",
            "Queue",
            "Frob",
            "IPFilter(allow all)",
            "elementclass E { input -> output }",
            "E",
            "\"",
            "//",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any text gives findings (never a panic), each located in the function file.
        #[test]
        fn every_finding_is_located_in_the_function(tokens in prop::collection::vec(token(), 0..24)) {
            let text: String = tokens.concat();
            let usage = FunctionUse {
                function: PathBuf::from("/f/p.click"),
                engine: EngineSpec::CooClick,
                interfaces: Vec::new(),
                what: "VNF `p`".to_owned(),
            };
            let f = check_text(&text, &usage, &Registry::standard());
            for e in &f.errors {
                let at = e.at.as_ref().map(|a| a.file.clone());
                prop_assert_eq!(at, Some(PathBuf::from("/f/p.click")), "{}", e);
                let line = e.at.as_ref().map_or(0, |a| a.line);
                prop_assert!(line <= text.matches('\n').count() + 1, "{} in {:?}", e, text);
            }
        }
    }
}
