//! Building a router from a flattened configuration, in Click's order: instantiate the
//! elements, count their ports, configure them, check the connections against the port
//! ranges, resolve push/pull, wire the ports (reuse and unused-port checks), link notifiers,
//! and initialize. Each step reports Click-style `file:line: message` errors.

use super::{ConfigError, Router, RouterOptions};
use crate::args::AddressInfo;
use crate::element::{ConfigureCx, Ctx, Element};
use crate::env::Env;
use crate::lang::{FlatConfig, FlatConnection};
use crate::registry::Registry;
use crate::runtime::{Core, Timers, NONE};
use std::cell::{Cell, RefCell};

/// Resolved push/pull of one port while resolving.
const P_PUSH: u8 = 1;
const P_PULL: u8 = 2;
const P_AGN: u8 = 0;

/// Port counts of every element (index = element).
pub(super) struct PortCounts {
    pub(super) ninputs: Vec<usize>,
    pub(super) noutputs: Vec<usize>,
}

/// Push (true) or pull (false) of every input and output port.
pub(super) struct PushPull {
    pub(super) in_push: Vec<Vec<bool>>,
    pub(super) out_push: Vec<Vec<bool>>,
}

/// The peer of every push output and every pull input (`(NONE, 0)` = none).
pub(super) struct Wiring {
    pub(super) out_peer: Vec<Vec<(u32, u32)>>,
    pub(super) in_peer: Vec<Vec<(u32, u32)>>,
}

/// Who wakes whom: upstream empty-notifiers of pulling tasks, downstream full-notifiers of
/// pushing tasks, and the reverse listener lists.
pub(super) struct NotifierLinks {
    sources: Vec<Vec<u32>>,
    listeners: Vec<Vec<u32>>,
    wake_listeners: Vec<Vec<u32>>,
    port_sources: Vec<Vec<Vec<u32>>>,
    full_sinks: Vec<Vec<u32>>,
    full_listeners: Vec<Vec<u32>>,
}

impl Router {
    pub(super) fn build(
        text: &str,
        file_name: &str,
        registry: &Registry,
        opts: RouterOptions,
        initialize: bool,
    ) -> Result<Router, ConfigError> {
        let flat = Router::flatten(text, file_name, registry, &opts.defines)?;
        let mut elems = instantiate(&flat, registry)?;
        let ports = count_ports(&flat, &elems);
        let mut env = opts.env;
        let mut errors = configure(&flat, &mut elems, &ports, env.as_mut());
        let conns = check_port_ranges(&flat, &ports, &mut errors);
        fail_during_init(errors)?;
        let push_pull = resolve_push_pull(&flat, &elems, &conns, &ports)?;
        let wiring = wire_ports(&flat, &conns, &ports, &push_pull)?;
        let links = link_notifiers(&elems, &push_pull, &wiring);
        let mut class_list = registry.class_names();
        class_list.sort();
        let has_task: Vec<bool> = elems.iter().map(|e| e.has_task()).collect();
        let core = new_core(
            text, flat, elems, ports, push_pull, wiring, links, &has_task, class_list, env,
            opts.clock,
        );
        if !initialize {
            // Nothing was initialized, so nothing needs cleaning up.
            return Ok(Router {
                core,
                tasks: Vec::new(),
                cleaned: true,
            });
        }
        initialize_elements(&core)?;
        let tasks = (0..has_task.len()).filter(|&i| has_task[i]).collect();
        Ok(Router {
            core,
            tasks,
            cleaned: false,
        })
    }
}

/// `'name :: Class'`, as Click names an element in errors.
fn decl(flat: &FlatConfig, i: usize) -> String {
    format!("'{} :: {}'", flat.elements[i].name, flat.elements[i].class)
}

fn fail_during_init(errors: Vec<String>) -> Result<(), ConfigError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError {
            messages: errors,
            during_init: true,
        })
    }
}

/// Step 1: one fresh element per declaration; unknown classes are errors (with suggestions).
pub(super) fn instantiate(
    flat: &FlatConfig,
    registry: &Registry,
) -> Result<Vec<Box<dyn Element>>, ConfigError> {
    let mut errors = Vec::new();
    let mut elems: Vec<Box<dyn Element>> = Vec::with_capacity(flat.elements.len());
    for e in &flat.elements {
        match registry.create(&e.class) {
            Some(el) => elems.push(el),
            None => {
                let sugg = registry.suggestions(&e.class);
                let mut m = format!("{}: unknown element class '{}'", e.landmark, e.class);
                if !sugg.is_empty() {
                    m.push_str(&format!(
                        " (did you mean {}?)",
                        sugg.iter()
                            .map(|s| format!("'{s}'"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ));
                }
                errors.push(m);
            }
        }
    }
    if errors.is_empty() {
        Ok(elems)
    } else {
        Err(ConfigError {
            messages: errors,
            during_init: false,
        })
    }
}

/// Step 2: each element gets as many ports as its connections use, clamped to the range its
/// port-count spec allows (`=` outputs follow the inputs).
pub(super) fn count_ports(flat: &FlatConfig, elems: &[Box<dyn Element>]) -> PortCounts {
    let n = elems.len();
    let mut nin = vec![0usize; n];
    let mut nout = vec![0usize; n];
    for c in &flat.connections {
        nout[c.from] = nout[c.from].max(c.from_port + 1);
        nin[c.to] = nin[c.to].max(c.to_port + 1);
    }
    let mut ninputs = vec![0usize; n];
    let mut noutputs = vec![0usize; n];
    for i in 0..n {
        let pc = parse_port_count(elems[i].port_count());
        ninputs[i] = nin[i].clamp(pc.in_lo, pc.in_hi.max(pc.in_lo));
        noutputs[i] = match pc.out_eq {
            Some(plus) => ninputs[i] + plus,
            None => nout[i].clamp(pc.out_lo, pc.out_hi.max(pc.out_lo)),
        };
    }
    PortCounts { ninputs, noutputs }
}

/// Step 3: configure every element (AddressInfo tables first, like Click's configure order).
/// Warnings and Message texts go to `env` at once; errors are returned.
fn configure(
    flat: &FlatConfig,
    elems: &mut [Box<dyn Element>],
    ports: &PortCounts,
    env: &mut dyn Env,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut addrs = AddressInfo::default();
    for (i, e) in flat.elements.iter().enumerate() {
        if e.class == "AddressInfo" {
            if let Err(m) = crate::elements::standard::parse_address_info(&e.config, &mut addrs) {
                errors.push(format!(
                    "{}: While configuring {}:",
                    e.landmark,
                    decl(flat, i)
                ));
                errors.extend(m.lines().map(|l| format!("  {l}")));
            }
        }
    }
    let infos: Vec<(String, String, String)> = flat
        .elements
        .iter()
        .map(|e| (e.name.clone(), e.class.clone(), e.config.clone()))
        .collect();
    let mut warnings = Vec::new();
    for (i, el) in elems.iter_mut().enumerate() {
        let fe = &flat.elements[i];
        let mut cx = ConfigureCx {
            name: &fe.name,
            ninputs: ports.ninputs[i],
            noutputs: ports.noutputs[i],
            addrs: &addrs,
            elements: &infos,
            warnings: Vec::new(),
            messages: Vec::new(),
        };
        if let Err(m) = el.configure(&fe.config, &mut cx) {
            errors.push(format!(
                "{}: While configuring {}:",
                fe.landmark,
                decl(flat, i)
            ));
            errors.extend(m.lines().map(|l| format!("  {l}")));
        }
        for w in cx.warnings {
            warnings.push(format!("{}: warning: {}", fe.landmark, w));
        }
        for m in cx.messages {
            let body: String = m.lines().map(|l| format!("\n  {l}")).collect();
            warnings.push(format!(
                "{}: While configuring {}:{body}",
                fe.landmark,
                decl(flat, i)
            ));
        }
    }
    for w in &warnings {
        env.chatter(w);
    }
    errors
}

/// Step 4: connections to ports an element does not have are errors; the others are returned.
fn check_port_ranges(
    flat: &FlatConfig,
    ports: &PortCounts,
    errors: &mut Vec<String>,
) -> Vec<FlatConnection> {
    let mut conns = Vec::new();
    for (k, c) in flat.connections.iter().enumerate() {
        let mut ok = true;
        if c.from_port >= ports.noutputs[c.from] {
            errors.push(format!(
                "{}: {} has no output {}",
                flat.connection_landmarks[k],
                decl(flat, c.from),
                c.from_port
            ));
            ok = false;
        }
        if c.to_port >= ports.ninputs[c.to] {
            errors.push(format!(
                "{}: {} has no input {}",
                flat.connection_landmarks[k],
                decl(flat, c.to),
                c.to_port
            ));
            ok = false;
        }
        if ok {
            conns.push(*c);
        }
    }
    conns
}

/// Step 5: push/pull of every port, by Click's algorithm: spread the known modes through the
/// connections and, inside agnostic elements, through their flow codes until nothing changes;
/// a push port meeting a pull port is an error.
pub(super) fn resolve_push_pull(
    flat: &FlatConfig,
    elems: &[Box<dyn Element>],
    conns: &[FlatConnection],
    ports: &PortCounts,
) -> Result<PushPull, ConfigError> {
    let n = elems.len();
    let mut errors = Vec::new();
    let mut ipers: Vec<Vec<u8>> = Vec::with_capacity(n);
    let mut opers: Vec<Vec<u8>> = Vec::with_capacity(n);
    for (i, el) in elems.iter().enumerate() {
        let (ic, oc) = processing_codes(el.processing());
        let conv = |c: u8| match c {
            b'h' => P_PUSH,
            b'l' => P_PULL,
            _ => P_AGN,
        };
        ipers.push(
            (0..ports.ninputs[i])
                .map(|p| conv(code_at(ic, p)))
                .collect(),
        );
        opers.push(
            (0..ports.noutputs[i])
                .map(|p| conv(code_at(oc, p)))
                .collect(),
        );
    }
    // (from elem, from port, to elem, to port, is_internal)
    let mut all: Vec<(usize, usize, usize, usize, bool)> = conns
        .iter()
        .map(|c| (c.from, c.from_port, c.to, c.to_port, false))
        .collect();
    for (i, el) in elems.iter().enumerate() {
        let (fi, fo) = processing_codes(el.flow_code());
        for (ip, &ipc) in ipers[i].iter().enumerate() {
            if ipc != P_AGN {
                continue;
            }
            for (op, &opc) in opers[i].iter().enumerate() {
                if opc == P_AGN && flow_linked(fi, fo, ip, op) {
                    all.push((i, op, i, ip, true));
                }
            }
        }
    }
    let mut bad = vec![false; all.len()];
    loop {
        let mut changed = false;
        for (k, c) in all.iter().enumerate() {
            if bad[k] {
                continue;
            }
            let pf = opers[c.0][c.1];
            let pt = ipers[c.2][c.3];
            if pt == P_AGN {
                if pf != P_AGN {
                    ipers[c.2][c.3] = pf;
                    changed = true;
                }
            } else if pf == P_AGN {
                opers[c.0][c.1] = pt;
                changed = true;
            } else if pf != pt {
                let (t1, t2) = if pf == P_PUSH {
                    ("push", "pull")
                } else {
                    ("pull", "push")
                };
                if !c.4 {
                    errors.push(format!(
                        "{} {} output {} connected to {} {} input {}",
                        decl(flat, c.0),
                        t1,
                        c.1,
                        decl(flat, c.2),
                        t2,
                        c.3
                    ));
                } else {
                    errors.push(format!(
                        "agnostic {} in mixed context: {} input {}, {} output {}",
                        decl(flat, c.0),
                        t2,
                        c.3,
                        t1,
                        c.1
                    ));
                }
                bad[k] = true;
            }
        }
        if !changed {
            break;
        }
    }
    fail_during_init(errors)?;
    let to_push = |v: &Vec<Vec<u8>>| -> Vec<Vec<bool>> {
        v.iter()
            .map(|v| v.iter().map(|&p| p != P_PULL).collect())
            .collect()
    };
    Ok(PushPull {
        in_push: to_push(&ipers),
        out_push: to_push(&opers),
    })
}

/// Step 6: a push output or a pull input has exactly one peer, and every port is used.
pub(super) fn wire_ports(
    flat: &FlatConfig,
    conns: &[FlatConnection],
    ports: &PortCounts,
    pp: &PushPull,
) -> Result<Wiring, ConfigError> {
    let n = flat.elements.len();
    let mut errors = Vec::new();
    let mut out_peer: Vec<Vec<(u32, u32)>> =
        (0..n).map(|i| vec![(NONE, 0); ports.noutputs[i]]).collect();
    let mut in_peer: Vec<Vec<(u32, u32)>> =
        (0..n).map(|i| vec![(NONE, 0); ports.ninputs[i]]).collect();
    let mut in_used: Vec<Vec<bool>> = (0..n).map(|i| vec![false; ports.ninputs[i]]).collect();
    let mut out_used: Vec<Vec<bool>> = (0..n).map(|i| vec![false; ports.noutputs[i]]).collect();
    let mut sorted = conns.to_vec();
    sorted.sort_by_key(|c| (c.to, c.to_port, c.from, c.from_port));
    for c in &sorted {
        if !pp.in_push[c.to][c.to_port] {
            if in_used[c.to][c.to_port] {
                errors.push(format!(
                    "{}: illegal reuse of {} pull input {}",
                    flat.elements[c.to].landmark,
                    decl(flat, c.to),
                    c.to_port
                ));
            }
            in_peer[c.to][c.to_port] = (c.from as u32, c.from_port as u32);
        }
        in_used[c.to][c.to_port] = true;
    }
    sorted.sort_by_key(|c| (c.from, c.from_port, c.to, c.to_port));
    for c in &sorted {
        if pp.out_push[c.from][c.from_port] {
            if out_used[c.from][c.from_port] {
                errors.push(format!(
                    "{}: illegal reuse of {} push output {}",
                    flat.elements[c.from].landmark,
                    decl(flat, c.from),
                    c.from_port
                ));
            }
            out_peer[c.from][c.from_port] = (c.to as u32, c.to_port as u32);
        }
        out_used[c.from][c.from_port] = true;
    }
    for i in 0..n {
        for (p, used) in in_used[i].iter().enumerate() {
            if !used {
                errors.push(format!(
                    "{}: {} input {} unused",
                    flat.elements[i].landmark,
                    decl(flat, i),
                    p
                ));
            }
        }
        for (p, used) in out_used[i].iter().enumerate() {
            if !used {
                errors.push(format!(
                    "{}: {} output {} unused",
                    flat.elements[i].landmark,
                    decl(flat, i),
                    p
                ));
            }
        }
    }
    errors.dedup();
    fail_during_init(errors)?;
    Ok(Wiring { out_peer, in_peer })
}

/// Step 7: a pulling task listens to the empty-notifiers (queues) upstream of it, a pushing
/// task to the full-notifiers downstream of it (`NONE` = a path without one, which never
/// sleeps).
fn link_notifiers(elems: &[Box<dyn Element>], pp: &PushPull, w: &Wiring) -> NotifierLinks {
    let n = elems.len();
    let notifier: Vec<bool> = elems.iter().map(|e| e.is_empty_notifier()).collect();
    let has_task: Vec<bool> = elems.iter().map(|e| e.has_task()).collect();
    let listening: Vec<bool> = elems.iter().map(|e| e.listens_upstream()).collect();
    let mut sources: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut listeners: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut wake_listeners: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut port_sources: Vec<Vec<Vec<u32>>> = vec![Vec::new(); n];
    // The notifiers upstream of `start` (NONE: a path no notifier bounds).
    let upstream_notifiers = |start: usize| -> Vec<u32> {
        let mut found = Vec::new();
        let mut stack = vec![start];
        let mut seen = vec![false; n];
        while let Some(s) = stack.pop() {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            if notifier[s] {
                found.push(s as u32);
            } else if w.in_peer[s].iter().any(|p| p.0 != NONE) {
                stack.extend(
                    w.in_peer[s]
                        .iter()
                        .filter(|p| p.0 != NONE)
                        .map(|p| p.0 as usize),
                );
            } else {
                found.push(NONE);
            }
        }
        found
    };
    for i in 0..n {
        let task = has_task[i] && !pp.in_push[i].iter().all(|&p| p);
        if !task && !listening[i] {
            continue;
        }
        for p in &w.in_peer[i] {
            let found = if p.0 == NONE {
                Vec::new()
            } else {
                upstream_notifiers(p.0 as usize)
            };
            for &s in found.iter().filter(|&&s| s != NONE) {
                let l = if task {
                    &mut listeners[s as usize]
                } else {
                    &mut wake_listeners[s as usize]
                };
                if !l.contains(&(i as u32)) {
                    l.push(i as u32);
                }
            }
            for &s in &found {
                if !sources[i].contains(&s) {
                    sources[i].push(s);
                }
            }
            if listening[i] {
                port_sources[i].push(found);
            }
        }
    }
    // Full-notifier sinks for pushing tasks (Click's downstream nonfull signal).
    let full_notifier: Vec<bool> = elems.iter().map(|e| e.is_full_notifier()).collect();
    let mut full_sinks: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut full_listeners: Vec<Vec<u32>> = vec![Vec::new(); n];
    if full_notifier.iter().any(|&f| f) {
        let push_peers = |s: usize| -> Vec<usize> {
            w.out_peer[s]
                .iter()
                .zip(&pp.out_push[s])
                .filter(|(p, &push)| push && p.0 != NONE)
                .map(|(p, _)| p.0 as usize)
                .collect()
        };
        for i in 0..n {
            if !has_task[i] || !pp.out_push[i].iter().any(|&p| p) {
                continue;
            }
            let mut stack = push_peers(i);
            let mut seen = vec![false; n];
            while let Some(s) = stack.pop() {
                if seen[s] {
                    continue;
                }
                seen[s] = true;
                if full_notifier[s] {
                    full_sinks[i].push(s as u32);
                    full_listeners[s].push(i as u32);
                    continue;
                }
                let next = push_peers(s);
                if next.is_empty() {
                    full_sinks[i].push(NONE);
                }
                stack.extend(next);
            }
        }
    }
    NotifierLinks {
        sources,
        listeners,
        wake_listeners,
        port_sources,
        full_sinks,
        full_listeners,
    }
}

/// The run-time state of the checked configuration.
#[allow(clippy::too_many_arguments)]
fn new_core(
    text: &str,
    flat: FlatConfig,
    elems: Vec<Box<dyn Element>>,
    ports: PortCounts,
    pp: PushPull,
    w: Wiring,
    links: NotifierLinks,
    has_task: &[bool],
    class_list: Vec<String>,
    env: Box<dyn Env>,
    clock: Box<dyn crate::env::Clock>,
) -> Core {
    let n = elems.len();
    let route = |counts: &[usize]| -> Vec<Vec<Cell<u32>>> {
        counts
            .iter()
            .map(|&k| (0..k).map(|_| Cell::new(0)).collect())
            .collect()
    };
    let (push_route, pull_route) = (route(&ports.ninputs), route(&ports.noutputs));
    Core {
        names: flat.elements.iter().map(|e| e.name.clone()).collect(),
        classes: elems.iter().map(|e| e.class_name()).collect(),
        configs: flat.elements.iter().map(|e| e.config.clone()).collect(),
        elems: elems.into_iter().map(RefCell::new).collect(),
        out_peer: w.out_peer,
        in_peer: w.in_peer,
        ninputs: ports.ninputs,
        noutputs: ports.noutputs,
        in_push: pp.in_push,
        out_push: pp.out_push,
        scheduled: (0..n).map(|_| Cell::new(false)).collect(),
        has_task: has_task.to_vec(),
        signal: (0..n).map(|_| Cell::new(false)).collect(),
        routed: (0..n).map(|_| Cell::new(false)).collect(),
        push_route,
        pull_route,
        listeners: links.listeners,
        sources: links.sources,
        wake_listeners: links.wake_listeners,
        port_sources: links.port_sources,
        pending_wakes: RefCell::new(Vec::new()),
        signal_handlers: RefCell::new(Vec::new()),
        nonfull: (0..n).map(|_| Cell::new(true)).collect(),
        full_listeners: links.full_listeners,
        full_sinks: links.full_sinks,
        timers: RefCell::new(Timers::default()),
        deferred: RefCell::new(Vec::new()),
        deferred_writes: RefCell::new(Vec::new()),
        stop: Cell::new(false),
        driver: Cell::new(None),
        stop_requests: Cell::new(0),
        clock,
        env: RefCell::new(env),
        flat,
        config_text: text.to_string(),
        class_list,
        hotconfig: RefCell::new(None),
    }
}

/// Step 8: initialize every element in order; all failures are reported.
fn initialize_elements(core: &Core) -> Result<(), ConfigError> {
    let mut errors = Vec::new();
    for i in 0..core.elems.len() {
        let r = {
            let mut e = core.elems[i].borrow_mut();
            let mut cx = Ctx { core, idx: i };
            e.initialize(&mut cx)
        };
        if let Err(m) = r {
            errors.push(format!(
                "{}: While initializing '{} :: {}':",
                core.flat.elements[i].landmark, core.names[i], core.classes[i]
            ));
            errors.extend(m.lines().map(|l| format!("  {l}")));
        }
    }
    fail_during_init(errors)
}

/// Parsed port-count spec: input range, output range, or outputs = inputs + `out_eq`.
#[derive(Clone, Copy, Debug)]
pub(super) struct PortCount {
    pub(super) in_lo: usize,
    pub(super) in_hi: usize,
    pub(super) out_lo: usize,
    pub(super) out_hi: usize,
    pub(super) out_eq: Option<usize>,
}

fn parse_range(s: &str) -> (usize, usize) {
    let s = s.trim();
    if s == "-" {
        return (0, usize::MAX);
    }
    match s.split_once('-') {
        Some((a, b)) => {
            let lo = a.parse().unwrap_or(0);
            let hi = if b.is_empty() {
                usize::MAX
            } else {
                b.parse().unwrap_or(usize::MAX)
            };
            (lo, hi)
        }
        None => {
            let n = s.parse().unwrap_or(0);
            (n, n)
        }
    }
}

pub(super) fn parse_port_count(s: &str) -> PortCount {
    let (i, o) = match s.split_once('/') {
        Some((i, o)) => (i, o),
        None => (s, s),
    };
    let (in_lo, in_hi) = parse_range(i);
    if let Some(rest) = o.strip_prefix('=') {
        let plus = rest.chars().filter(|c| *c == '+').count();
        return PortCount {
            in_lo,
            in_hi,
            out_lo: 0,
            out_hi: usize::MAX,
            out_eq: Some(plus),
        };
    }
    let (out_lo, out_hi) = parse_range(o);
    PortCount {
        in_lo,
        in_hi,
        out_lo,
        out_hi,
        out_eq: None,
    }
}

fn code_at(code: &str, port: usize) -> u8 {
    let b = code.as_bytes();
    if b.is_empty() {
        return b'a';
    }
    b[port.min(b.len() - 1)]
}

pub(crate) fn processing_codes(p: &str) -> (&str, &str) {
    match p.split_once('/') {
        Some((i, o)) => (i, o),
        None => (p, p),
    }
}

/// Does input `ip` flow to output `op` under flow code `fi/fo`? Equal letters link, except
/// `#`, which links an input only to the output of the same number (Click's port_flow).
pub(crate) fn flow_linked(fi: &str, fo: &str, ip: usize, op: usize) -> bool {
    let a = code_at(fi, ip);
    let b = code_at(fo, op);
    a == b && (a != b'#' || ip == op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemEnv, SimClock};

    fn flat(conf: &str) -> FlatConfig {
        match Router::flatten(conf, "t.click", &Registry::standard(), &[]) {
            Ok(f) => f,
            Err(e) => panic!("{conf}: {e}"),
        }
    }

    fn steps_until_push_pull(
        conf: &str,
    ) -> (FlatConfig, PortCounts, Result<PushPull, ConfigError>) {
        let f = flat(conf);
        let elems = match instantiate(&f, &Registry::standard()) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let ports = count_ports(&f, &elems);
        let conns = f.connections.clone();
        let pp = resolve_push_pull(&f, &elems, &conns, &ports);
        (f, ports, pp)
    }

    fn index(f: &FlatConfig, name: &str) -> usize {
        match f.elements.iter().position(|e| e.name == name) {
            Some(i) => i,
            None => panic!("no element {name}"),
        }
    }

    #[test]
    fn port_count_specs_parse_like_click() {
        let pc = parse_port_count("1/1-2");
        assert_eq!((pc.in_lo, pc.in_hi, pc.out_lo, pc.out_hi), (1, 1, 1, 2));
        let pc = parse_port_count("-/-");
        assert_eq!(
            (pc.in_lo, pc.in_hi, pc.out_lo, pc.out_hi),
            (0, usize::MAX, 0, usize::MAX)
        );
        let pc = parse_port_count("1-/=");
        assert_eq!((pc.in_lo, pc.in_hi, pc.out_eq), (1, usize::MAX, Some(0)));
        assert_eq!(parse_port_count("1/=+").out_eq, Some(1));
        // One number applies to both sides.
        let pc = parse_port_count("2");
        assert_eq!((pc.in_lo, pc.in_hi, pc.out_lo, pc.out_hi), (2, 2, 2, 2));
    }

    #[test]
    fn processing_and_flow_codes_repeat_their_last_letter() {
        assert_eq!(processing_codes("h/l"), ("h", "l"));
        assert_eq!(processing_codes("a"), ("a", "a"));
        assert_eq!(code_at("ah", 0), b'a');
        assert_eq!(code_at("ah", 5), b'h');
        assert_eq!(code_at("", 3), b'a');
        assert!(flow_linked("x", "x", 0, 1));
        assert!(!flow_linked("xy", "x", 1, 0));
        assert!(flow_linked("#", "#", 2, 2) && !flow_linked("#", "#", 0, 1));
    }

    #[test]
    fn ports_are_counted_from_connections_within_the_spec() {
        let (f, ports, _) = steps_until_push_pull(
            "s :: InfiniteSource -> t :: Tee; t[0] -> Discard; t[2] -> Discard; \
             t[1] -> Discard; q :: Queue; Idle -> q -> Discard;",
        );
        let (t, q) = (index(&f, "t"), index(&f, "q"));
        assert_eq!((ports.ninputs[t], ports.noutputs[t]), (1, 3));
        // Queue is "1/1-2": one used output is within range.
        assert_eq!((ports.ninputs[q], ports.noutputs[q]), (1, 1));
        // A source with nothing connected still gets the spec's minimum.
        let (f, ports, _) = steps_until_push_pull("s :: InfiniteSource -> Discard; d :: Discard;");
        assert_eq!(ports.ninputs[index(&f, "d")], 1);
    }

    #[test]
    fn push_pull_spreads_through_agnostic_elements() {
        let (f, _, pp) = steps_until_push_pull(
            "s :: InfiniteSource -> a :: Null -> q :: Queue -> b :: Null -> u :: Unqueue -> d :: Discard;",
        );
        let pp = match pp {
            Ok(pp) => pp,
            Err(e) => panic!("{e}"),
        };
        let (a, b, d) = (index(&f, "a"), index(&f, "b"), index(&f, "d"));
        assert!(
            pp.in_push[a][0] && pp.out_push[a][0],
            "Null before the queue pushes"
        );
        assert!(
            !pp.in_push[b][0] && !pp.out_push[b][0],
            "Null after the queue pulls"
        );
        assert!(pp.in_push[d][0], "Discard after Unqueue is pushed to");
    }

    #[test]
    fn push_meeting_pull_is_an_error() {
        let (_, _, pp) = steps_until_push_pull("Idle -> PushNull -> PullNull -> Discard;");
        let e = match pp {
            Ok(_) => panic!("no error"),
            Err(e) => e,
        };
        assert!(e.during_init);
        assert_eq!(
            e.messages,
            ["'PushNull@2 :: PushNull' push output 0 connected to 'PullNull@3 :: PullNull' pull input 0"]
        );
    }

    #[test]
    fn wiring_rejects_reused_push_outputs_and_unused_ports() {
        let err = |conf: &str| match Router::check(conf, "config", &Registry::standard()) {
            Ok(()) => panic!("{conf}: no error"),
            Err(e) => e.messages,
        };
        // Messages as reference Click 2.1 prints them.
        assert_eq!(
            err("s :: InfiniteSource; s -> Discard; s -> Discard;"),
            ["config:1: illegal reuse of 's :: InfiniteSource' push output 0"]
        );
        assert_eq!(
            err("Idle -> t :: Tee; t[1] -> Discard"),
            ["config:1: 't :: Tee' output 0 unused"]
        );
        assert_eq!(
            err("Idle -> Unstrip(2)[1] -> Discard"),
            ["config:1: 'Unstrip@2 :: Unstrip' has no output 1"]
        );
    }

    #[test]
    fn pulling_tasks_listen_to_the_queues_upstream() {
        let f = flat(
            "src :: InfiniteSource(LIMIT 3, STOP false) -> q :: Queue -> n :: Null -> u :: Unqueue -> Discard; \
             Idle -> u2 :: Unqueue -> Discard;",
        );
        let reg = Registry::standard();
        let elems = match instantiate(&f, &reg) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let ports = count_ports(&f, &elems);
        let pp = match resolve_push_pull(&f, &elems, &f.connections, &ports) {
            Ok(pp) => pp,
            Err(e) => panic!("{e}"),
        };
        let w = match wire_ports(&f, &f.connections, &ports, &pp) {
            Ok(w) => w,
            Err(e) => panic!("{e}"),
        };
        let links = link_notifiers(&elems, &pp, &w);
        let (q, u, u2) = (index(&f, "q"), index(&f, "u"), index(&f, "u2"));
        assert_eq!(links.sources[u], [q as u32], "through Null to the queue");
        assert_eq!(links.listeners[q], [u as u32]);
        // Idle is an (always empty) notifier too.
        assert_eq!(links.sources[u2], [index(&f, "Idle@6") as u32]);
    }

    #[test]
    fn initialize_failures_name_the_element() {
        let opts = RouterOptions {
            clock: Box::new(SimClock::default()),
            env: Box::new(MemEnv::default()),
            defines: Vec::new(),
        };
        let e = match Router::with_options(
            "f :: FromDump(/nonexistent/x.pcap) -> Discard;",
            "config",
            &Registry::standard(),
            opts,
        ) {
            Ok(_) => panic!("no error"),
            Err(e) => e,
        };
        assert!(e.during_init);
        assert_eq!(
            e.messages[0],
            "config:1: While initializing 'f :: FromDump':"
        );
        assert!(e.messages.len() > 1 && e.messages[1].starts_with("  "));
    }
}
