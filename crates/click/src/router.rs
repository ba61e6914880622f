//! The router: builds elements from a flattened configuration, checks ports and push/pull,
//! runs tasks and timers, and dispatches handlers.

use crate::element::{Ctx, Element, HandlerSpec};
use crate::runtime::Core;

mod build;

use crate::env::{Clock, Env, StdEnv, SystemClock};
use crate::lang::{self, FlatConfig};
use crate::packet::Timestamp;
use crate::registry::Registry;
pub(crate) use build::{flow_linked, processing_codes};
use std::cmp::Reverse;
use std::fmt;

pub use crate::runtime::CLICK_VERSION;

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
            clock: Box::new(SystemClock::default()),
            env: Box::new(StdEnv),
            defines: Vec::new(),
        }
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
        // No timer, no clock read (a system call's worth per task round). Simulated time
        // still reads: every read advances it, as in Click.
        if core.timers.borrow().heap.is_empty() && !core.clock.is_simulated() {
            return false;
        }
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

    /// Does router time jump to the next timer when idle (`--simtime`, or `timewarp nowait`)?
    pub fn time_jumps(&self) -> bool {
        self.simulated_time() || self.core.clock.warp() == Some(crate::env::Warp::NoWait)
    }

    /// Real time that passes while router time advances by `d`, under the clock's warp.
    pub fn real_wait(&self, d: Timestamp) -> std::time::Duration {
        self.core.clock.real_wait(d)
    }

    /// A handle on this router's clock, for the router that replaces it (hot swap).
    pub fn share_clock(&self) -> Box<dyn Clock> {
        self.core.clock.share()
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
                "timewarp" => Some((true, !self.simulated_time())),
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
