//! The router: builds elements from a flattened configuration, checks ports and push/pull,
//! runs tasks and timers, and dispatches handlers.

use crate::args::AddressInfo;
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec};
use crate::env::{Clock, Env, StdEnv, SystemClock};
use crate::lang::{self, FlatConfig};
use crate::packet::{PacketBatch, Timestamp};
use crate::registry::Registry;
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;

/// Version reported by the `version` handler and `--version`.
pub const CLICK_VERSION: &str = "2.1";

/// Configuration errors, one Click-style `file:line: message` per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Messages in order.
    pub messages: Vec<String>,
    /// True when parsing succeeded but configuring/checking/initializing failed (Click then
    /// adds "Router could not be initialized!").
    pub during_init: bool,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.messages.join("\n"))
    }
}

/// Handler call errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// No element with that name.
    #[error("no element named '{0}'")]
    NoElement(String),
    /// No handler with that name.
    #[error("no handler named '{0}'")]
    NoHandler(String),
    /// The handler exists but is not readable/writable.
    #[error("{0}")]
    Permission(String),
    /// The handler failed.
    #[error("{0}")]
    Failed(String),
}

/// Router construction options.
pub struct RouterOptions {
    /// Time source (real or simulated).
    pub clock: Box<dyn Clock>,
    /// Files and chatter.
    pub env: Box<dyn Env>,
    /// `NAME=value` overrides of top-level `define`s.
    pub defines: Vec<(String, String)>,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            clock: Box::new(SystemClock),
            env: Box::new(StdEnv),
            defines: Vec::new(),
        }
    }
}

const NONE: u32 = u32::MAX;

#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(i64, u64, u32, u32)>>,
    live: HashMap<(u32, u32), (i64, u64)>,
    seq: u64,
}

/// Shared run-time state. Elements sit in `RefCell`s so a push can call into the next element
/// while the caller is still borrowed; a re-entrant push into a busy element is deferred.
pub(crate) struct Core {
    pub(crate) elems: Vec<RefCell<Box<dyn Element>>>,
    pub(crate) names: Vec<String>,
    classes: Vec<&'static str>,
    configs: Vec<String>,
    out_peer: Vec<Vec<(u32, u32)>>,
    in_peer: Vec<Vec<(u32, u32)>>,
    ninputs: Vec<usize>,
    noutputs: Vec<usize>,
    in_push: Vec<Vec<bool>>,
    out_push: Vec<Vec<bool>>,
    scheduled: Vec<Cell<bool>>,
    has_task: Vec<bool>,
    signal: Vec<Cell<bool>>,
    /// Port routes of pass-through elements (Bypass): packets cross a routed element without
    /// calling it, like Click's Bypass rewiring its neighbours' ports. Per element: input →
    /// output for push, output → input for pull.
    routed: Vec<Cell<bool>>,
    push_route: Vec<Vec<Cell<u32>>>,
    pull_route: Vec<Vec<Cell<u32>>>,
    listeners: Vec<Vec<u32>>,
    sources: Vec<Vec<u32>>,
    /// Notifier elements without a task that follow their upstream signals (Click's
    /// wake callbacks): per notifier, the listening elements; per listener, the upstream
    /// notifiers of each input port; wakes that found the listener busy.
    wake_listeners: Vec<Vec<u32>>,
    port_sources: Vec<Vec<Vec<u32>>>,
    pending_wakes: RefCell<Vec<u32>>,
    /// (signal number, write handler) pairs Scripts of TYPE SIGNAL registered; each is used
    /// once, as Click's Master::add_signal_handler.
    signal_handlers: RefCell<Vec<(i32, String)>>,
    /// Non-full signals of full-notifier queues, their listening push tasks, and each push
    /// task's downstream full-notifiers (NONE = a path that never fills).
    nonfull: Vec<Cell<bool>>,
    full_listeners: Vec<Vec<u32>>,
    full_sinks: Vec<Vec<u32>>,
    timers: RefCell<Timers>,
    deferred: RefCell<Vec<(u32, u32, PacketBatch)>>,
    deferred_writes: RefCell<Vec<(String, String)>>,
    pub(crate) stop: Cell<bool>,
    pub(crate) driver: Cell<Option<usize>>,
    pub(crate) stop_requests: Cell<u32>,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) env: RefCell<Box<dyn Env>>,
    pub(crate) flat: FlatConfig,
    config_text: String,
    class_list: Vec<String>,
    hotconfig: RefCell<Option<String>>,
}

impl Core {
    #[inline]
    pub(crate) fn push_to(&self, from: usize, port: usize, batch: PacketBatch) {
        let Some(&(mut e, mut p)) = self.out_peer[from].get(port) else {
            return;
        };
        let mut hops = 0;
        while e != NONE && self.routed[e as usize].get() {
            let o = self.push_route[e as usize][p as usize].get() as usize;
            hops += 1;
            match self.out_peer[e as usize].get(o) {
                // A loop of routed elements only: the packet has nowhere to go.
                Some(&next) if hops <= self.elems.len() => (e, p) = next,
                _ => return,
            }
        }
        if e == NONE {
            return;
        }
        match self.elems[e as usize].try_borrow_mut() {
            Ok(mut el) => {
                let mut cx = Ctx {
                    core: self,
                    idx: e as usize,
                };
                el.push(p as usize, batch, &mut cx);
            }
            Err(_) => self.deferred.borrow_mut().push((e, p, batch)),
        }
    }

    #[inline]
    pub(crate) fn pull_from(&self, to: usize, port: usize, max: usize) -> PacketBatch {
        let Some(&(mut e, mut p)) = self.in_peer[to].get(port) else {
            return Vec::new();
        };
        let mut hops = 0;
        while e != NONE && self.routed[e as usize].get() {
            let i = self.pull_route[e as usize][p as usize].get() as usize;
            hops += 1;
            match self.in_peer[e as usize].get(i) {
                Some(&next) if hops <= self.elems.len() => (e, p) = next,
                _ => return Vec::new(),
            }
        }
        if e == NONE {
            return Vec::new();
        }
        match self.elems[e as usize].try_borrow_mut() {
            Ok(mut el) => {
                let mut cx = Ctx {
                    core: self,
                    idx: e as usize,
                };
                el.pull(p as usize, max, &mut cx)
            }
            Err(_) => Vec::new(),
        }
    }

    /// Make element `idx` a pass-through: a push into input `i` continues at output
    /// `push[i]`, a pull from output `o` continues at input `pull[o]`.
    pub(crate) fn set_route(&self, idx: usize, push: &[usize], pull: &[usize]) {
        for (c, &o) in self.push_route[idx].iter().zip(push) {
            c.set(o as u32);
        }
        for (c, &i) in self.pull_route[idx].iter().zip(pull) {
            c.set(i as u32);
        }
        self.routed[idx].set(true);
    }

    pub(crate) fn port_counts(&self, idx: usize) -> (usize, usize) {
        (self.ninputs[idx], self.noutputs[idx])
    }
    pub(crate) fn port_is_pull(&self, idx: usize, output: bool, port: usize) -> bool {
        let v = if output {
            &self.out_push[idx]
        } else {
            &self.in_push[idx]
        };
        v.get(port).is_some_and(|p| !p)
    }
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }
    #[inline]
    pub(crate) fn schedule(&self, idx: usize) {
        if let Some(s) = self.scheduled.get(idx) {
            s.set(true);
        }
    }
    pub(crate) fn unschedule(&self, idx: usize) {
        if let Some(s) = self.scheduled.get(idx) {
            s.set(false);
        }
    }
    pub(crate) fn is_scheduled(&self, idx: usize) -> bool {
        self.scheduled.get(idx).is_some_and(|s| s.get())
    }
    pub(crate) fn schedule_timer(&self, idx: usize, id: u32, at: Timestamp) {
        let mut t = self.timers.borrow_mut();
        t.seq += 1;
        let seq = t.seq;
        t.live.insert((idx as u32, id), (at.0, seq));
        t.heap.push(Reverse((at.0, seq, idx as u32, id)));
    }
    pub(crate) fn unschedule_timer(&self, idx: usize, id: u32) {
        self.timers.borrow_mut().live.remove(&(idx as u32, id));
    }
    pub(crate) fn timer_pending(&self, idx: usize, id: u32) -> bool {
        self.timers.borrow().live.contains_key(&(idx as u32, id))
    }
    #[inline]
    pub(crate) fn set_signal(&self, idx: usize, active: bool) {
        let s = &self.signal[idx];
        if active && !s.get() {
            s.set(true);
            for &l in &self.listeners[idx] {
                self.scheduled[l as usize].set(true);
            }
            for &l in &self.wake_listeners[idx] {
                self.wake(l as usize);
            }
        }
        s.set(active);
    }
    /// Tell listening notifier `idx` that one of its upstream signals became active; a
    /// listener busy further up the call chain hears it when the chain has unwound.
    fn wake(&self, idx: usize) {
        match self.elems[idx].try_borrow_mut() {
            Ok(mut el) => {
                let mut cx = Ctx { core: self, idx };
                el.upstream_wake(&mut cx);
            }
            Err(_) => self.pending_wakes.borrow_mut().push(idx as u32),
        }
    }
    /// Whether any notifier upstream of input `port` of listening element `idx` is active
    /// (true where no notifier bounds the path, or for elements that do not listen).
    pub(crate) fn upstream_active_on(&self, idx: usize, port: usize) -> bool {
        match self.port_sources[idx].get(port) {
            Some(src) => {
                src.is_empty()
                    || src
                        .iter()
                        .any(|&s| s == NONE || self.signal[s as usize].get())
            }
            None => true,
        }
    }
    pub(crate) fn set_nonfull(&self, idx: usize, nonfull: bool) {
        let s = &self.nonfull[idx];
        if nonfull && !s.get() {
            for &l in &self.full_listeners[idx] {
                self.scheduled[l as usize].set(true);
            }
        }
        s.set(nonfull);
    }
    pub(crate) fn downstream_nonfull(&self, idx: usize) -> bool {
        let sinks = &self.full_sinks[idx];
        sinks.is_empty()
            || sinks
                .iter()
                .any(|&s| s == NONE || self.nonfull[s as usize].get())
    }
    pub(crate) fn upstream_active(&self, idx: usize) -> bool {
        let src = &self.sources[idx];
        src.is_empty()
            || src
                .iter()
                .any(|&s| s == NONE || self.signal[s as usize].get())
    }
    pub(crate) fn add_signal_handler(&self, signo: i32, handler: String) {
        let mut all = self.signal_handlers.borrow_mut();
        if !all.iter().any(|h| h.0 == signo && h.1 == handler) {
            all.push((signo, handler));
        }
    }
    pub(crate) fn request_stop(&self) {
        match self.driver.get() {
            Some(d) => {
                self.stop_requests.set(self.stop_requests.get() + 1);
                self.schedule(d);
            }
            None => self.stop.set(true),
        }
    }

    pub(crate) fn take_deferred_writes_for(&self, idx: usize) -> Vec<(String, String)> {
        let mut all = self.deferred_writes.borrow_mut();
        let (mine, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut *all).into_iter().partition(|(h, _)| {
                Self::split_handler(h).0.and_then(|e| self.find_element(e)) == Some(idx)
            });
        *all = rest;
        mine.into_iter()
            .map(|(h, v)| (Self::split_handler(&h).1.to_string(), v))
            .collect()
    }

    fn split_handler(name: &str) -> (Option<&str>, &str) {
        match name.rfind('.') {
            Some(i) => (Some(&name[..i]), &name[i + 1..]),
            None => (None, name),
        }
    }

    fn find_element(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Some(i);
        }
        // Click also accepts 1-based element numbers.
        name.parse::<usize>()
            .ok()
            .filter(|&n| n >= 1 && n <= self.names.len())
            .map(|n| n - 1)
    }

    pub(crate) fn generic_handlers(&self, i: usize) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::r("name"),
            HandlerSpec::r("class"),
            HandlerSpec::r("config"),
            HandlerSpec::r("ports"),
            HandlerSpec::r("handlers"),
        ];
        if self.has_task[i] {
            v.push(HandlerSpec::r("scheduled"));
            v.push(HandlerSpec::rw("tickets"));
        }
        v
    }

    fn element_handlers(&self, i: usize) -> Vec<HandlerSpec> {
        let mut v = match self.elems[i].try_borrow() {
            Ok(e) => e.handlers(),
            Err(_) => Vec::new(),
        };
        v.extend(self.generic_handlers(i));
        v
    }

    fn ports_text(&self, i: usize) -> String {
        let mut s = String::new();
        let side = |n: usize, push: &Vec<bool>, what: &str, peers: Vec<String>| {
            let mut s = format!("{} {}{}\n", n, what, if n == 1 { "" } else { "s" });
            for p in 0..n {
                s.push_str(if push.get(p).copied().unwrap_or(true) {
                    "push"
                } else {
                    "pull"
                });
                s.push('\t');
                s.push_str(peers.get(p).map(|x| x.as_str()).unwrap_or(""));
                s.push('\n');
            }
            s
        };
        let ins: Vec<String> = (0..self.ninputs[i])
            .map(|p| {
                let mut v = Vec::new();
                for (e, outs) in self.out_peer.iter().enumerate() {
                    for (q, &(t, tp)) in outs.iter().enumerate() {
                        if t as usize == i && tp as usize == p {
                            v.push(format!("{} [{}]", self.names[e], q));
                        }
                    }
                }
                for (e, ins) in self.in_peer.iter().enumerate() {
                    let _ = (e, ins);
                }
                if let Some(&(e, q)) = self.in_peer[i].get(p) {
                    if e != NONE {
                        v.push(format!("{} [{}]", self.names[e as usize], q));
                    }
                }
                v.join(", ")
            })
            .collect();
        let outs: Vec<String> = (0..self.noutputs[i])
            .map(|p| {
                let mut v = Vec::new();
                if let Some(&(e, q)) = self.out_peer[i].get(p) {
                    if e != NONE {
                        v.push(format!("[{}] {}", q, self.names[e as usize]));
                    }
                }
                for (e, ins) in self.in_peer.iter().enumerate() {
                    for (q, &(t, tp)) in ins.iter().enumerate() {
                        if t as usize == i && tp as usize == p {
                            v.push(format!("[{}] {}", q, self.names[e]));
                        }
                    }
                }
                v.join(", ")
            })
            .collect();
        s.push_str(&side(self.ninputs[i], &self.in_push[i], "input", ins));
        s.push_str(&side(self.noutputs[i], &self.out_push[i], "output", outs));
        s
    }

    pub(crate) fn call_read(
        &self,
        handler: &str,
        param: &str,
        _caller: Option<usize>,
    ) -> Result<String, String> {
        let (elem, h) = Self::split_handler(handler);
        let Some(elem) = elem else {
            return match h {
                "version" => Ok(format!("{CLICK_VERSION}\n")),
                "config" => Ok(self.flat.unparse()),
                "flatconfig" => Ok(self.flat.unparse()),
                "list" => {
                    let mut s = format!("{}\n", self.names.len());
                    for n in &self.names {
                        s.push_str(n);
                        s.push('\n');
                    }
                    Ok(s)
                }
                "classes" => Ok(self.class_list.iter().map(|c| format!("{c}\n")).collect()),
                "requirements" => Ok(self
                    .flat
                    .requirements
                    .iter()
                    .map(|c| format!("{c}\n"))
                    .collect()),
                "packages" => Ok(String::new()),
                "handlers" => Ok([
                    "version\tr",
                    "config\tr",
                    "flatconfig\tr",
                    "list\tr",
                    "classes\tr",
                    "requirements\tr",
                    "packages\tr",
                    "stop\tw",
                    "hotconfig\tw",
                ]
                .iter()
                .map(|s| format!("{s}\n"))
                .collect()),
                "stop" | "hotconfig" => Err(format!("'{h}' not a read handler")),
                _ => Err(format!("no global handler '{h}'")),
            };
        };
        let Some(i) = self.find_element(elem) else {
            return Err(format!("no element named '{elem}'"));
        };
        match h {
            // As reference Click: no trailing newline (the `-h` printer adds one; a
            // ControlSocket READ returns exactly these bytes).
            "name" => return Ok(self.names[i].clone()),
            "class" => return Ok(self.classes[i].to_string()),
            "config" => {
                // An element may report a live-reconfigured configuration.
                if let Ok(mut e) = self.elems[i].try_borrow_mut() {
                    let mut cx = Ctx { core: self, idx: i };
                    if let Some(Ok(c)) = e.read_handler("config", "", &mut cx) {
                        return Ok(c);
                    }
                }
                return Ok(self.configs[i].clone());
            }
            "ports" => return Ok(self.ports_text(i)),
            "scheduled" if self.has_task[i] => return Ok(self.scheduled[i].get().to_string()),
            "tickets" if self.has_task[i] => return Ok("1024".into()),
            "handlers" => {
                let mut s = String::new();
                for hs in self.element_handlers(i) {
                    let perm = match (hs.read, hs.write) {
                        (true, true) => "rw",
                        (true, false) => "r",
                        _ => "w",
                    };
                    s.push_str(&format!("{}\t{}\n", hs.name, perm));
                }
                return Ok(s);
            }
            _ => {}
        }
        let Ok(mut e) = self.elems[i].try_borrow_mut() else {
            return Err(format!("element '{elem}' is busy"));
        };
        let mut cx = Ctx { core: self, idx: i };
        match e.read_handler(h, param, &mut cx) {
            Some(r) => r,
            None => {
                let hs = e.handlers();
                if hs.iter().any(|x| x.name == h) {
                    Err(format!("'{handler}' not a read handler"))
                } else {
                    Err(format!("no handler '{handler}'"))
                }
            }
        }
    }

    pub(crate) fn call_write(
        &self,
        handler: &str,
        value: &str,
        _caller: Option<usize>,
    ) -> Result<(), String> {
        let (elem, h) = Self::split_handler(handler);
        let Some(elem) = elem else {
            return match h {
                "stop" => {
                    self.request_stop();
                    Ok(())
                }
                "hotconfig" => {
                    *self.hotconfig.borrow_mut() = Some(value.to_string());
                    Ok(())
                }
                _ => Err(format!("'{h}' not a write handler")),
            };
        };
        let Some(i) = self.find_element(elem) else {
            return Err(format!("no element named '{elem}'"));
        };
        if h == "tickets" && self.has_task[i] {
            return Ok(());
        }
        let Ok(mut e) = self.elems[i].try_borrow_mut() else {
            // The element is on the call stack (its handler is written from downstream code):
            // deliver the write as soon as the current call returns.
            self.deferred_writes
                .borrow_mut()
                .push((handler.to_string(), value.to_string()));
            return Ok(());
        };
        let mut cx = Ctx { core: self, idx: i };
        match e.write_handler(h, value, &mut cx) {
            Some(r) => r,
            None => {
                if e.handlers().iter().any(|x| x.name == h)
                    || ["name", "class", "config", "ports", "handlers"].contains(&h)
                {
                    Err(format!("'{handler}' not a write handler"))
                } else {
                    Err(format!("no handler '{handler}'"))
                }
            }
        }
    }

    fn flush_deferred(&self) {
        loop {
            let w = std::mem::take(&mut *self.deferred_writes.borrow_mut());
            for (h, v) in w {
                let _ = self.call_write(&h, &v, None);
            }
            let wakes = std::mem::take(&mut *self.pending_wakes.borrow_mut());
            for l in wakes {
                // Nothing is borrowed here, so a wake cannot be deferred again.
                if let Ok(mut el) = self.elems[l as usize].try_borrow_mut() {
                    let mut cx = Ctx {
                        core: self,
                        idx: l as usize,
                    };
                    el.upstream_wake(&mut cx);
                }
            }
            let d = std::mem::take(&mut *self.deferred.borrow_mut());
            if d.is_empty() {
                if self.deferred_writes.borrow().is_empty()
                    && self.pending_wakes.borrow().is_empty()
                {
                    return;
                }
                continue;
            }
            for (e, p, b) in d {
                if let Ok(mut el) = self.elems[e as usize].try_borrow_mut() {
                    let mut cx = Ctx {
                        core: self,
                        idx: e as usize,
                    };
                    el.push(p as usize, b, &mut cx);
                }
            }
        }
    }
}

/// Parsed port-count spec: (in_lo, in_hi, out_lo, out_hi, out_equals_in_plus).
#[derive(Clone, Copy, Debug)]
struct PortCount {
    in_lo: usize,
    in_hi: usize,
    out_lo: usize,
    out_hi: usize,
    out_eq: Option<usize>,
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

fn parse_port_count(s: &str) -> PortCount {
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

/// A configured, initialized router.
pub struct Router {
    core: Core,
    tasks: Vec<usize>,
    cleaned: bool,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("elements", &self.core.names)
            .finish()
    }
}

const P_PUSH: u8 = 1;
const P_PULL: u8 = 2;
const P_AGN: u8 = 0;

impl Router {
    /// Parse, check, configure and initialize a router with the real clock and environment.
    pub fn new(text: &str, file_name: &str, registry: &Registry) -> Result<Router, ConfigError> {
        Router::with_options(text, file_name, registry, RouterOptions::default())
    }

    /// Parse only: the flattened configuration (for `-o` without initializing).
    pub fn flatten(
        text: &str,
        file_name: &str,
        registry: &Registry,
        defines: &[(String, String)],
    ) -> Result<FlatConfig, ConfigError> {
        let is_class = |c: &str| registry.contains(c);
        lang::parse_with_defines(text, file_name, &is_class, defines).map_err(|messages| {
            let messages = messages
                .into_iter()
                .map(|m| {
                    // Name close class matches for unknown classes and class-like undeclared names.
                    let name = ["unknown element class '", "undeclared element '"]
                        .iter()
                        .find_map(|p| {
                            m.split_once(p)
                                .and_then(|(_, r)| r.split_once('\''))
                                .map(|(n, _)| n.to_string())
                        });
                    match name {
                        Some(n) if n.starts_with(|c: char| c.is_ascii_uppercase()) => {
                            let sugg = registry.suggestions(&n);
                            if sugg.is_empty() {
                                m
                            } else {
                                format!(
                                    "{m} (did you mean {}?)",
                                    sugg.iter()
                                        .map(|s| format!("'{s}'"))
                                        .collect::<Vec<_>>()
                                        .join(" or ")
                                )
                            }
                        }
                        _ => m,
                    }
                })
                .collect();
            ConfigError {
                messages,
                during_init: false,
            }
        })
    }

    /// Build a router with explicit options (clock, environment, defines).
    pub fn with_options(
        text: &str,
        file_name: &str,
        registry: &Registry,
        opts: RouterOptions,
    ) -> Result<Router, ConfigError> {
        Router::build(text, file_name, registry, opts, true)
    }

    /// Everything [`Router::new`] checks except element initialization, so no element opens a
    /// device, file or socket: parsing, flattening, element classes, configuration strings,
    /// port counts and push/pull. For validating a configuration before it runs anywhere.
    pub fn check(text: &str, file_name: &str, registry: &Registry) -> Result<(), ConfigError> {
        let opts = RouterOptions {
            clock: Box::new(crate::env::SimClock::default()),
            env: Box::new(crate::env::MemEnv::default()),
            defines: Vec::new(),
        };
        Router::build(text, file_name, registry, opts, false).map(|_| ())
    }

    fn build(
        text: &str,
        file_name: &str,
        registry: &Registry,
        opts: RouterOptions,
        initialize: bool,
    ) -> Result<Router, ConfigError> {
        let flat = Router::flatten(text, file_name, registry, &opts.defines)?;
        let mut errors: Vec<String> = Vec::new();
        let n = flat.elements.len();
        // instantiate
        let mut elems: Vec<Box<dyn Element>> = Vec::with_capacity(n);
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
                    elems.push(Box::new(crate::elements::standard::Idle));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ConfigError {
                messages: errors,
                during_init: false,
            });
        }
        let decl = |i: usize| format!("'{} :: {}'", flat.elements[i].name, flat.elements[i].class);
        // port counts
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
        // configure (AddressInfo first, like Click's configure order)
        let mut addrs = AddressInfo::default();
        for (i, e) in flat.elements.iter().enumerate() {
            if e.class == "AddressInfo" {
                if let Err(m) = crate::elements::standard::parse_address_info(&e.config, &mut addrs)
                {
                    errors.push(format!("{}: While configuring {}:", e.landmark, decl(i)));
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
        for i in 0..n {
            let mut cx = ConfigureCx {
                name: &flat.elements[i].name,
                ninputs: ninputs[i],
                noutputs: noutputs[i],
                addrs: &addrs,
                elements: &infos,
                warnings: Vec::new(),
                messages: Vec::new(),
            };
            if let Err(m) = elems[i].configure(&flat.elements[i].config, &mut cx) {
                errors.push(format!(
                    "{}: While configuring {}:",
                    flat.elements[i].landmark,
                    decl(i)
                ));
                errors.extend(m.lines().map(|l| format!("  {l}")));
            }
            for w in cx.warnings {
                warnings.push(format!("{}: warning: {}", flat.elements[i].landmark, w));
            }
            for m in cx.messages {
                let body: String = m.lines().map(|l| format!("\n  {l}")).collect();
                warnings.push(format!(
                    "{}: While configuring {}:{body}",
                    flat.elements[i].landmark,
                    decl(i)
                ));
            }
        }
        let mut env = opts.env;
        for w in &warnings {
            env.chatter(w);
        }
        // port ranges
        let mut conns = Vec::new();
        for (k, c) in flat.connections.iter().enumerate() {
            let mut ok = true;
            if c.from_port >= noutputs[c.from] {
                errors.push(format!(
                    "{}: {} has no output {}",
                    flat.connection_landmarks[k],
                    decl(c.from),
                    c.from_port
                ));
                ok = false;
            }
            if c.to_port >= ninputs[c.to] {
                errors.push(format!(
                    "{}: {} has no input {}",
                    flat.connection_landmarks[k],
                    decl(c.to),
                    c.to_port
                ));
                ok = false;
            }
            if ok {
                conns.push(*c);
            }
        }
        if !errors.is_empty() {
            return Err(ConfigError {
                messages: errors,
                during_init: true,
            });
        }
        // push/pull resolution (Click's algorithm: spread through connections and flow codes)
        let mut ipers: Vec<Vec<u8>> = Vec::with_capacity(n);
        let mut opers: Vec<Vec<u8>> = Vec::with_capacity(n);
        for i in 0..n {
            let (ic, oc) = processing_codes(elems[i].processing());
            let conv = |c: u8| match c {
                b'h' => P_PUSH,
                b'l' => P_PULL,
                _ => P_AGN,
            };
            ipers.push((0..ninputs[i]).map(|p| conv(code_at(ic, p))).collect());
            opers.push((0..noutputs[i]).map(|p| conv(code_at(oc, p))).collect());
        }
        // (from elem, from port, to elem, to port, is_internal)
        let mut all: Vec<(usize, usize, usize, usize, bool)> = conns
            .iter()
            .map(|c| (c.from, c.from_port, c.to, c.to_port, false))
            .collect();
        for i in 0..n {
            let fc = elems[i].flow_code();
            let (fi, fo) = processing_codes(fc);
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
                            decl(c.0),
                            t1,
                            c.1,
                            decl(c.2),
                            t2,
                            c.3
                        ));
                    } else {
                        errors.push(format!(
                            "agnostic {} in mixed context: {} input {}, {} output {}",
                            decl(c.0),
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
        if !errors.is_empty() {
            return Err(ConfigError {
                messages: errors,
                during_init: true,
            });
        }
        let in_push: Vec<Vec<bool>> = ipers
            .iter()
            .map(|v| v.iter().map(|&p| p != P_PULL).collect())
            .collect();
        let out_push: Vec<Vec<bool>> = opers
            .iter()
            .map(|v| v.iter().map(|&p| p != P_PULL).collect())
            .collect();
        // completeness: reuse of push outputs / pull inputs, unused ports
        let mut out_peer: Vec<Vec<(u32, u32)>> =
            (0..n).map(|i| vec![(NONE, 0); noutputs[i]]).collect();
        let mut in_peer: Vec<Vec<(u32, u32)>> =
            (0..n).map(|i| vec![(NONE, 0); ninputs[i]]).collect();
        let mut in_used: Vec<Vec<bool>> = (0..n).map(|i| vec![false; ninputs[i]]).collect();
        let mut out_used: Vec<Vec<bool>> = (0..n).map(|i| vec![false; noutputs[i]]).collect();
        let mut sorted = conns.clone();
        sorted.sort_by_key(|c| (c.to, c.to_port, c.from, c.from_port));
        for c in &sorted {
            if !in_push[c.to][c.to_port] {
                if in_used[c.to][c.to_port] {
                    errors.push(format!(
                        "{}: illegal reuse of {} pull input {}",
                        flat.elements[c.to].landmark,
                        decl(c.to),
                        c.to_port
                    ));
                }
                in_peer[c.to][c.to_port] = (c.from as u32, c.from_port as u32);
            }
            in_used[c.to][c.to_port] = true;
        }
        sorted.sort_by_key(|c| (c.from, c.from_port, c.to, c.to_port));
        for c in &sorted {
            if out_push[c.from][c.from_port] {
                if out_used[c.from][c.from_port] {
                    errors.push(format!(
                        "{}: illegal reuse of {} push output {}",
                        flat.elements[c.from].landmark,
                        decl(c.from),
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
                        decl(i),
                        p
                    ));
                }
            }
            for (p, used) in out_used[i].iter().enumerate() {
                if !used {
                    errors.push(format!(
                        "{}: {} output {} unused",
                        flat.elements[i].landmark,
                        decl(i),
                        p
                    ));
                }
            }
        }
        errors.dedup();
        if !errors.is_empty() {
            return Err(ConfigError {
                messages: errors,
                during_init: true,
            });
        }
        // notifier sources for pulling tasks
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
                } else if in_peer[s].iter().any(|p| p.0 != NONE) {
                    stack.extend(
                        in_peer[s]
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
            let task = has_task[i] && !in_push[i].iter().all(|&p| p);
            if !task && !listening[i] {
                continue;
            }
            for p in &in_peer[i] {
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
        // full-notifier sinks for pushing tasks (Click's downstream nonfull signal)
        let full_notifier: Vec<bool> = elems.iter().map(|e| e.is_full_notifier()).collect();
        let mut full_sinks: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut full_listeners: Vec<Vec<u32>> = vec![Vec::new(); n];
        if full_notifier.iter().any(|&f| f) {
            let push_peers = |s: usize| -> Vec<usize> {
                out_peer[s]
                    .iter()
                    .zip(&out_push[s])
                    .filter(|(p, &push)| push && p.0 != NONE)
                    .map(|(p, _)| p.0 as usize)
                    .collect()
            };
            for i in 0..n {
                if !has_task[i] || !out_push[i].iter().any(|&p| p) {
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
        let mut class_list = registry.class_names();
        class_list.sort();
        let route = |counts: &[usize]| -> Vec<Vec<Cell<u32>>> {
            counts
                .iter()
                .map(|&k| (0..k).map(|_| Cell::new(0)).collect())
                .collect()
        };
        let (push_route, pull_route) = (route(&ninputs), route(&noutputs));
        let core = Core {
            names: flat.elements.iter().map(|e| e.name.clone()).collect(),
            classes: elems.iter().map(|e| e.class_name()).collect(),
            configs: flat.elements.iter().map(|e| e.config.clone()).collect(),
            elems: elems.into_iter().map(RefCell::new).collect(),
            out_peer,
            in_peer,
            ninputs,
            noutputs,
            in_push,
            out_push,
            scheduled: (0..n).map(|_| Cell::new(false)).collect(),
            has_task: has_task.clone(),
            signal: (0..n).map(|_| Cell::new(false)).collect(),
            routed: (0..n).map(|_| Cell::new(false)).collect(),
            push_route,
            pull_route,
            listeners,
            sources,
            wake_listeners,
            port_sources,
            pending_wakes: RefCell::new(Vec::new()),
            signal_handlers: RefCell::new(Vec::new()),
            nonfull: (0..n).map(|_| Cell::new(true)).collect(),
            full_listeners,
            full_sinks,
            timers: RefCell::new(Timers::default()),
            deferred: RefCell::new(Vec::new()),
            deferred_writes: RefCell::new(Vec::new()),
            stop: Cell::new(false),
            driver: Cell::new(None),
            stop_requests: Cell::new(0),
            clock: opts.clock,
            env: RefCell::new(env),
            flat,
            config_text: text.to_string(),
            class_list,
            hotconfig: RefCell::new(None),
        };
        if !initialize {
            // Nothing was initialized, so nothing needs cleaning up.
            return Ok(Router {
                core,
                tasks: Vec::new(),
                cleaned: true,
            });
        }
        // initialize
        for i in 0..n {
            let r = {
                let mut e = core.elems[i].borrow_mut();
                let mut cx = Ctx {
                    core: &core,
                    idx: i,
                };
                e.initialize(&mut cx)
            };
            if let Err(m) = r {
                errors.push(format!(
                    "{}: While initializing {}:",
                    core.flat.elements[i].landmark,
                    decl_of(&core, i)
                ));
                errors.extend(m.lines().map(|l| format!("  {l}")));
            }
        }
        if !errors.is_empty() {
            return Err(ConfigError {
                messages: errors,
                during_init: true,
            });
        }
        let tasks = (0..n).filter(|&i| has_task[i]).collect();
        Ok(Router {
            core,
            tasks,
            cleaned: false,
        })
    }

    /// Run every scheduled task once, then expired timers. Returns whether anything did work.
    pub fn run_tasks_once(&mut self) -> bool {
        let core = &self.core;
        let mut work = false;
        for &t in &self.tasks {
            if core.stop.get() {
                break;
            }
            let s = &core.scheduled[t];
            if s.get() {
                s.set(false);
                if let Ok(mut e) = core.elems[t].try_borrow_mut() {
                    let mut cx = Ctx { core, idx: t };
                    work |= e.run_task(&mut cx);
                }
                if !core.deferred.borrow().is_empty()
                    || !core.deferred_writes.borrow().is_empty()
                    || !core.pending_wakes.borrow().is_empty()
                {
                    core.flush_deferred();
                }
            }
        }
        work |= self.run_timers();
        work
    }

    /// Fire all timers whose time has come. Returns whether any fired.
    pub fn run_timers(&mut self) -> bool {
        let core = &self.core;
        let mut fired = false;
        let now = core.clock.now();
        loop {
            if core.stop.get() {
                break;
            }
            let next = {
                let mut t = core.timers.borrow_mut();
                match t.heap.peek() {
                    Some(Reverse((at, seq, e, id))) if *at <= now.0 => {
                        let (at, seq, e, id) = (*at, *seq, *e, *id);
                        t.heap.pop();
                        if t.live.get(&(e, id)) == Some(&(at, seq)) {
                            t.live.remove(&(e, id));
                            Some((e, id))
                        } else {
                            None
                        }
                    }
                    Some(_) => break,
                    None => break,
                }
            };
            if let Some((e, id)) = next {
                fired = true;
                if let Ok(mut el) = core.elems[e as usize].try_borrow_mut() {
                    let mut cx = Ctx {
                        core,
                        idx: e as usize,
                    };
                    el.run_timer(id, &mut cx);
                }
                core.flush_deferred();
            }
        }
        fired
    }

    /// Expiry of the earliest pending timer.
    pub fn next_timer(&self) -> Option<Timestamp> {
        let mut t = self.core.timers.borrow_mut();
        while let Some(Reverse((at, seq, e, id))) = t.heap.peek().copied() {
            if t.live.get(&(e, id)) == Some(&(at, seq)) {
                return Some(Timestamp(at));
            }
            t.heap.pop();
        }
        None
    }

    /// Is any task scheduled?
    pub fn has_scheduled_tasks(&self) -> bool {
        self.tasks.iter().any(|&t| self.core.scheduled[t].get())
    }

    /// Current router time.
    pub fn now(&self) -> Timestamp {
        self.core.clock.now()
    }

    /// Is the clock simulated?
    pub fn simulated_time(&self) -> bool {
        self.core.clock.is_simulated()
    }

    /// Move a simulated clock forward to `t` (no-op for real time).
    pub fn advance_clock(&mut self, t: Timestamp) {
        self.core.clock.advance_to(t);
    }

    /// Has a stop been requested (DriverManager, Script `stop`, InfiniteSource STOP, `stop` handler)?
    pub fn stopped(&self) -> bool {
        self.core.stop.get()
    }

    /// Whether any Script TYPE SIGNAL waits for a signal.
    pub fn has_signal_handlers(&self) -> bool {
        !self.core.signal_handlers.borrow().is_empty()
    }

    /// Signal numbers with a registered handler (Script TYPE SIGNAL).
    pub fn signal_numbers(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .core
            .signal_handlers
            .borrow()
            .iter()
            .map(|h| h.0)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Remove and return the handlers registered for `signo`: each registration serves one
    /// signal, and a script that should hear the next one registers again.
    pub fn take_signal_handlers(&mut self, signo: i32) -> Vec<String> {
        let mut all = self.core.signal_handlers.borrow_mut();
        let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|h| h.0 == signo);
        *all = rest;
        mine.into_iter().map(|h| h.1).collect()
    }

    /// Whether a stop was requested, including one a DriverManager has not handled yet.
    pub fn stop_pending(&self) -> bool {
        self.core.stop.get() || self.core.stop_requests.get() > 0
    }

    /// Request a stop.
    pub fn stop(&mut self) {
        self.core.request_stop();
    }

    /// Clear a previous stop request (Click's DriverManager may continue after `stop`).
    pub fn clear_stop(&mut self) {
        self.core.stop.set(false);
    }

    /// Put element `idx`'s task on the run queue (I/O readiness).
    pub fn schedule_task(&self, idx: usize) {
        self.core.schedule(idx);
    }

    /// Element names in router order.
    pub fn element_names(&self) -> &[String] {
        &self.core.names
    }

    /// Index of the element called `name`.
    pub fn element_index(&self, name: &str) -> Option<usize> {
        self.core.find_element(name)
    }

    /// Class name of element `idx`.
    pub fn element_class(&self, idx: usize) -> Option<&'static str> {
        self.core.classes.get(idx).copied()
    }

    /// Handlers of element `idx` (element-specific then generic).
    pub fn element_handlers(&self, idx: usize) -> Vec<HandlerSpec> {
        if idx >= self.core.names.len() {
            return Vec::new();
        }
        self.core.element_handlers(idx)
    }

    /// `(element index, fd)` for every element that wants readiness polling.
    pub fn io_fds(&self) -> Vec<(usize, i32)> {
        self.core
            .elems
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.try_borrow()
                    .ok()
                    .and_then(|e| e.io_fd())
                    .map(|fd| (i, fd))
            })
            .collect()
    }

    /// Hot swap: let each element take over the state of the element with the same name and
    /// class in `old` (the router this one replaces).
    pub fn take_state_from(&mut self, old: &Router) {
        for i in 0..self.core.elems.len() {
            let Some(j) = old.element_index(&self.core.names[i]) else {
                continue;
            };
            if old.core.classes.get(j) != self.core.classes.get(i) {
                continue;
            }
            let (Ok(mut e), Ok(mut o)) = (
                self.core.elems[i].try_borrow_mut(),
                old.core.elems[j].try_borrow_mut(),
            ) else {
                continue;
            };
            let mut cx = Ctx {
                core: &self.core,
                idx: i,
            };
            e.take_state(&mut **o, &mut cx);
        }
        self.core.flush_deferred();
    }

    /// Run `f` on element `idx` with a context (for I/O drivers and tests).
    pub fn with_element<R>(
        &self,
        idx: usize,
        f: impl FnOnce(&mut dyn Element, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let cell = self.core.elems.get(idx)?;
        let mut e = cell.try_borrow_mut().ok()?;
        let mut cx = Ctx {
            core: &self.core,
            idx,
        };
        let r = f(&mut **e, &mut cx);
        drop(e);
        self.core.flush_deferred();
        Some(r)
    }

    /// Read handler `elem.handler` or a global handler (`version`, `list`, `config`, ...).
    pub fn read_handler(&mut self, name: &str) -> Result<String, HandlerError> {
        self.read_handler_param(name, "")
    }

    /// Read handler with a parameter.
    pub fn read_handler_param(&mut self, name: &str, param: &str) -> Result<String, HandlerError> {
        self.check_handler(name)?;
        let r = self
            .core
            .call_read(name, param, None)
            .map_err(HandlerError::Failed);
        self.core.flush_deferred();
        r
    }

    /// Write handler.
    pub fn write_handler(&mut self, name: &str, value: &str) -> Result<(), HandlerError> {
        self.check_handler(name)?;
        let r = self
            .core
            .call_write(name, value, None)
            .map_err(HandlerError::Failed);
        self.core.flush_deferred();
        r
    }

    fn check_handler(&self, name: &str) -> Result<(), HandlerError> {
        if let (Some(e), h) = Core::split_handler(name) {
            let Some(i) = self.core.find_element(e) else {
                return Err(HandlerError::NoElement(e.to_string()));
            };
            if !self.core.element_handlers(i).iter().any(|x| x.name == h)
                && !matches!(h, "scheduled" | "tickets")
            {
                return Err(HandlerError::NoHandler(name.to_string()));
            }
        }
        Ok(())
    }

    /// Does handler `name` exist, and is it readable / writable?
    pub fn handler_flags(&self, name: &str) -> Option<(bool, bool)> {
        match Core::split_handler(name) {
            (Some(e), h) => {
                let i = self.core.find_element(e)?;
                self.core
                    .element_handlers(i)
                    .into_iter()
                    .find(|x| x.name == h)
                    .map(|x| (x.read, x.write))
            }
            (None, h) => match h {
                "version" | "config" | "flatconfig" | "list" | "classes" | "requirements"
                | "packages" | "handlers" => Some((true, false)),
                "stop" | "hotconfig" => Some((false, true)),
                _ => None,
            },
        }
    }

    /// The configuration text the router was built from.
    pub fn config_text(&self) -> &str {
        &self.core.config_text
    }

    /// The flattened configuration.
    pub fn flat_config(&self) -> &FlatConfig {
        &self.core.flat
    }

    /// A pending `hotconfig` write (the driver replaces the router with it).
    pub fn take_hotconfig(&mut self) -> Option<String> {
        self.core.hotconfig.borrow_mut().take()
    }

    /// Replace the environment (chatter/files).
    pub fn set_env(&mut self, env: Box<dyn Env>) {
        *self.core.env.borrow_mut() = env;
    }

    /// Let elements flush output files; called automatically on drop.
    pub fn cleanup(&mut self) {
        if self.cleaned {
            return;
        }
        self.cleaned = true;
        for i in 0..self.core.elems.len() {
            if let Ok(mut e) = self.core.elems[i].try_borrow_mut() {
                let mut cx = Ctx {
                    core: &self.core,
                    idx: i,
                };
                e.cleanup(&mut cx);
            }
        }
    }

    /// Drive the router until it stops or nothing can happen any more: runs tasks, fires timers
    /// (jumping simulated time forward when idle). `max_rounds` bounds the loop (0 = no bound).
    /// Returns whether the router stopped by request. With real time, idles by busy-waiting,
    /// so tests and benches should prefer simulated time or sources with STOP.
    pub fn run_to_completion(&mut self, max_rounds: u64) -> bool {
        let mut rounds = 0u64;
        while !self.stopped() {
            rounds += 1;
            if max_rounds != 0 && rounds > max_rounds {
                return false;
            }
            if self.run_tasks_once() {
                continue;
            }
            if self.has_scheduled_tasks() {
                continue;
            }
            match self.next_timer() {
                Some(t) if self.simulated_time() => self.advance_clock(t),
                Some(_) => {}
                None => return self.stopped(),
            }
        }
        true
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn decl_of(core: &Core, i: usize) -> String {
    format!("'{} :: {}'", core.names[i], core.classes[i])
}

pub(crate) fn flow_linked(fi: &str, fo: &str, ip: usize, op: usize) -> bool {
    let a = code_at(fi, ip);
    let b = code_at(fo, op);
    a == b || a == b'#' && b == b'#' && ip == op
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn check_stops_before_initialize() {
        let reg = Registry::standard();
        let config = "FromDump(/nonexistent/trace.pcap) -> Discard;";
        assert!(Router::check(config, "f.click", &reg).is_ok());
        // The same configuration fails at initialization, where the file is opened.
        let built = Router::with_options(
            config,
            "f.click",
            &reg,
            RouterOptions {
                clock: Box::new(crate::env::SimClock::default()),
                env: Box::new(crate::env::MemEnv::default()),
                defines: Vec::new(),
            },
        );
        assert!(built.is_err_and(|e| e.during_init));
    }

    fn sim_router(config: &str) -> Router {
        Router::with_options(
            config,
            "f.click",
            &Registry::standard(),
            RouterOptions {
                clock: Box::new(crate::env::SimClock::default()),
                env: Box::new(crate::env::MemEnv::default()),
                defines: Vec::new(),
            },
        )
        .unwrap()
    }

    #[test]
    fn pullswitch_notifier_follows_its_selected_input() {
        // Discard sleeps while PullSwitch's selected input (Idle) is empty and is woken
        // when the switch selects the source, through PullSwitch's notifier (no task).
        let mut r = sim_router(
            "s :: InfiniteSource(LIMIT 2) -> [0]ps :: PullSwitch(1); Idle -> [1]ps; ps -> d :: Discard;",
        );
        for _ in 0..5 {
            r.run_tasks_once();
        }
        assert_eq!(r.read_handler("d.scheduled").unwrap().trim(), "false");
        assert_eq!(r.read_handler("d.count").unwrap().trim(), "0");
        r.write_handler("ps.switch", "0").unwrap();
        assert_eq!(r.read_handler("d.scheduled").unwrap().trim(), "true");
        for _ in 0..5 {
            r.run_tasks_once();
        }
        assert_eq!(r.read_handler("d.count").unwrap().trim(), "2");
        // The source ran dry: its notifier, then PullSwitch's, went off.
        assert_eq!(r.read_handler("d.scheduled").unwrap().trim(), "false");
    }

    #[test]
    fn check_reports_configuration_ports_and_push_pull() {
        let reg = Registry::standard();
        let err = |c: &str| match Router::check(c, "f.click", &reg) {
            Ok(()) => panic!("{c}: no error"),
            Err(e) => e.messages.join("\n"),
        };
        assert!(err("Idle -> IPFilter(allow nonsense) -> Discard;").contains("While configuring"));
        assert!(err("Idle -> Strip(14) [1] -> Discard;").contains("has no output 1"));
        assert!(err("InfiniteSource -> Queue -> Queue -> Discard;").contains("connected to"));
        assert!(err("Idle -> NoSuchElement -> Discard;").contains("NoSuchElement"));
    }
}
