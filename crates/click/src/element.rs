//! The [`Element`] trait, the run-time context [`Ctx`] and the configure-time context
//! [`ConfigureCx`].

use crate::args::AddressInfo;
use crate::packet::{PacketBatch, Timestamp};
use crate::runtime::Core;
use std::any::Any;

/// Push or pull, as resolved for one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Processing {
    /// Upstream calls downstream.
    Push,
    /// Downstream calls upstream.
    Pull,
    /// Takes the mode of its peer.
    Agnostic,
}

/// A handler an element exposes: name and Click permission flags (`r`, `w`, `rw`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerSpec {
    /// Handler name.
    pub name: String,
    /// Readable?
    pub read: bool,
    /// Writable?
    pub write: bool,
}

impl HandlerSpec {
    /// Read-only handler.
    pub fn r(name: &str) -> Self {
        HandlerSpec {
            name: name.into(),
            read: true,
            write: false,
        }
    }
    /// Write-only handler.
    pub fn w(name: &str) -> Self {
        HandlerSpec {
            name: name.into(),
            read: false,
            write: true,
        }
    }
    /// Read-write handler.
    pub fn rw(name: &str) -> Self {
        HandlerSpec {
            name: name.into(),
            read: true,
            write: true,
        }
    }
}

/// Result of a read handler.
pub type ReadResult = Option<Result<String, String>>;
/// Result of a write handler.
pub type WriteResult = Option<Result<(), String>>;

/// One element instance. Implement this to add an element class (also from another crate) and
/// register a factory with [`crate::Registry::register`].
///
/// Packets move in batches: `push(port, batch)` receives a [`PacketBatch`]; an element forwards
/// with [`Ctx::output`] and pulls with [`Ctx::pull`]. Per-element dispatch is one virtual call
/// per batch, not per packet.
pub trait Element: Any {
    /// Click class name.
    fn class_name(&self) -> &'static str;
    /// Port counts in Click syntax (`"1/1"`, `"1/1-2"`, `"1/-"`, `"-/-"`, `"0/1"`, `"1-/="`).
    fn port_count(&self) -> &'static str {
        "0/0"
    }
    /// Processing code (`"a"`, `"h"`, `"l"`, `"h/l"`, `"a/ah"`, ...).
    fn processing(&self) -> &'static str {
        "a"
    }
    /// Flow code (`"x/x"` = every input reaches every output; `"xy/x"` etc.).
    fn flow_code(&self) -> &'static str {
        "x/x"
    }
    /// Parse the configuration string. Called after port counts are known (`cx.ninputs`,
    /// `cx.noutputs`). Errors are `\n`-separated messages reported Click-style.
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let _ = cx;
        if crate::args::split_args(conf).is_empty() {
            Ok(())
        } else {
            Err("too many arguments".into())
        }
    }
    /// Called once after all elements are configured and connected; schedule tasks/timers here.
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let _ = ctx;
        Ok(())
    }
    /// Receive a batch on a push input.
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let _ = (port, ctx);
        drop(batch);
    }
    /// Produce up to `max` packets on a pull output (empty = nothing available).
    fn pull(&mut self, port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let _ = (port, max, ctx);
        Vec::new()
    }
    /// Does this element own a task?
    fn has_task(&self) -> bool {
        false
    }
    /// Run the task once; return whether it did work. Call [`Ctx::reschedule`] to run again.
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let _ = ctx;
        false
    }
    /// A timer scheduled with [`Ctx::schedule_timer`] fired.
    fn run_timer(&mut self, id: u32, ctx: &mut Ctx<'_>) {
        let _ = (id, ctx);
    }
    /// File descriptor an I/O driver should poll for readability; when ready the driver calls
    /// [`crate::Router::schedule_task`] for this element.
    fn io_fd(&self) -> Option<i32> {
        None
    }
    /// Is this element a source of "non-empty" notifications (a Queue)? Pulling tasks
    /// downstream of it then sleep while it is empty and are woken by [`Ctx::set_signal`].
    fn is_empty_notifier(&self) -> bool {
        false
    }
    /// Is this element a source of "non-full" notifications (a full-note Queue)? Pushing
    /// sources upstream of it may sleep while it is full (see [`Ctx::downstream_nonfull`]).
    fn is_full_notifier(&self) -> bool {
        false
    }
    /// True for a notifier without a task that follows its upstream empty-notifiers (Click's
    /// wake callback): [`Element::upstream_wake`] runs when one of them becomes active.
    fn listens_upstream(&self) -> bool {
        false
    }
    /// An upstream notifier of this listening element became active. Default: relay it.
    fn upstream_wake(&mut self, ctx: &mut Ctx<'_>) {
        ctx.set_signal(true);
    }
    /// Element-specific handlers (generic ones are added by the router).
    fn handlers(&self) -> Vec<HandlerSpec> {
        Vec::new()
    }
    /// Read an element-specific handler; `None` = no such handler.
    fn read_handler(&mut self, name: &str, param: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        let _ = (name, param, ctx);
        None
    }
    /// Write an element-specific handler; `None` = no such handler.
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let _ = (name, value, ctx);
        None
    }
    /// Hot swap: take over state from `old`, the element of the same name and class in the
    /// router being replaced (Click's take_state). Called after initialize.
    fn take_state(&mut self, old: &mut dyn Element, ctx: &mut Ctx<'_>) {
        let _ = (old, ctx);
    }
    /// Router is being torn down or stopped (flush output files).
    fn cleanup(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }
    /// For downcasting by external drivers.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Implements `as_any_mut` for an element type (included in [`element_class!`]).
#[macro_export]
macro_rules! any_impl {
    () => {
        fn as_any_mut(&mut self) -> &mut dyn ::std::any::Any {
            self
        }
    };
}

/// What the router asks every element about its class, defined in one place inside
/// `impl Element for T { ... }`: the Click class name, then optionally the port counts, the
/// processing code and the flow code (defaults `"0/0"`, `"a"`, `"x/x"`), plus `as_any_mut`.
///
/// ```
/// use click::{element_class, Element};
///
/// struct Sink;
/// impl Element for Sink {
///     element_class!(class: "MySink", ports: "1/0", processing: "h");
/// }
///
/// // One type serving several classes reads its own fields after `self =>`.
/// struct Pass {
///     class: &'static str,
/// }
/// impl Element for Pass {
///     element_class!(self => class: self.class, ports: "1/1");
/// }
///
/// assert_eq!((Sink.class_name(), Sink.port_count(), Sink.processing()), ("MySink", "1/0", "h"));
/// let p = Pass { class: "PushPass" };
/// assert_eq!((p.class_name(), p.port_count(), p.flow_code()), ("PushPass", "1/1", "x/x"));
/// ```
#[macro_export]
macro_rules! element_class {
    ($s:ident => class: $class:expr $(, ports: $ports:expr)? $(, processing: $proc:expr)?
        $(, flow: $flow:expr)? $(,)?) => {
        fn class_name(&$s) -> &'static str {
            $class
        }
        $(fn port_count(&$s) -> &'static str {
            $ports
        })?
        $(fn processing(&$s) -> &'static str {
            $proc
        })?
        $(fn flow_code(&$s) -> &'static str {
            $flow
        })?
        fn as_any_mut(&mut self) -> &mut dyn ::std::any::Any {
            self
        }
    };
    (class: $class:expr $(, ports: $ports:expr)? $(, processing: $proc:expr)?
        $(, flow: $flow:expr)? $(,)?) => {
        $crate::element_class!(self => class: $class $(, ports: $ports)? $(, processing: $proc)?
            $(, flow: $flow)?);
    };
}

/// What an element sees while configuring.
pub struct ConfigureCx<'a> {
    /// Element name (e.g. `c` or `Counter@2` or `comp/part`).
    pub name: &'a str,
    /// Number of connected inputs.
    pub ninputs: usize,
    /// Number of connected outputs.
    pub noutputs: usize,
    /// AddressInfo table.
    pub addrs: &'a AddressInfo,
    /// Other elements' (name, class, config) for cross-references (mappers, patterns).
    pub elements: &'a [(String, String, String)],
    /// Warnings to print (without failing).
    pub warnings: Vec<String>,
    /// Plain messages to print in the element's "While configuring" context (Message).
    pub messages: Vec<String>,
}

impl ConfigureCx<'_> {
    /// Look up another element by name, relative to this element's compound scope first.
    pub fn find_element(&self, name: &str) -> Option<&(String, String, String)> {
        let mut prefix = self.name;
        loop {
            let cand = match prefix.rfind('/') {
                Some(i) => {
                    prefix = &prefix[..i];
                    format!("{prefix}/{name}")
                }
                None => name.to_string(),
            };
            if let Some(e) = self.elements.iter().find(|e| e.0 == cand) {
                return Some(e);
            }
            if !cand.contains('/') || cand == name {
                return self.elements.iter().find(|e| e.0 == name);
            }
        }
    }
}

/// Run-time context handed to element code: forwarding, pulling, scheduling, timers, time,
/// chatter, files, and handler calls on other elements.
pub struct Ctx<'a> {
    pub(crate) core: &'a Core,
    pub(crate) idx: usize,
}

impl<'a> Ctx<'a> {
    /// This element's index in the router.
    pub fn index(&self) -> usize {
        self.idx
    }
    /// This element's name.
    pub fn name(&self) -> &str {
        &self.core.names[self.idx]
    }
    /// Push `batch` out of output `port` (dropped when the port is unconnected).
    #[inline]
    pub fn output(&mut self, port: usize, batch: PacketBatch) {
        if batch.is_empty() {
            return;
        }
        self.core.push_to(self.idx, port, batch);
    }
    /// Pull up to `max` packets from input `port`.
    #[inline]
    pub fn pull(&mut self, port: usize, max: usize) -> PacketBatch {
        self.core.pull_from(self.idx, port, max)
    }
    /// Current time (simulated under `--simtime`).
    pub fn now(&self) -> Timestamp {
        self.core.now()
    }
    /// Keep (or put) this element's task on the run queue.
    #[inline]
    pub fn reschedule(&mut self) {
        self.core.schedule(self.idx);
    }
    /// Take this element's task off the run queue.
    pub fn unschedule(&mut self) {
        self.core.unschedule(self.idx);
    }
    /// Is this element's task scheduled?
    pub fn scheduled(&self) -> bool {
        self.core.is_scheduled(self.idx)
    }
    /// Schedule task of element `idx`.
    pub fn schedule_element(&mut self, idx: usize) {
        self.core.schedule(idx);
    }
    /// Schedule (or move) timer `id` of this element to fire at `at`.
    pub fn schedule_timer(&mut self, id: u32, at: Timestamp) {
        self.core.schedule_timer(self.idx, id, at);
    }
    /// Cancel timer `id`.
    pub fn unschedule_timer(&mut self, id: u32) {
        self.core.unschedule_timer(self.idx, id);
    }
    /// Is timer `id` pending?
    pub fn timer_scheduled(&self, id: u32) -> bool {
        self.core.timer_pending(self.idx, id)
    }
    /// Set this element's "non-empty" notifier signal (queues). A false→true change wakes the
    /// pulling tasks that listen to it.
    #[inline]
    pub fn set_signal(&mut self, active: bool) {
        self.core.set_signal(self.idx, active);
    }
    /// Are any of this element's empty-notifier sources (upstream queues) non-empty? Returns
    /// `true` when it has no such source.
    pub fn upstream_active(&self) -> bool {
        self.core.upstream_active(self.idx)
    }
    /// Whether the notifiers upstream of input `port` are active (for elements that
    /// [listen upstream](Element::listens_upstream); true for others).
    pub fn upstream_active_on(&self, port: usize) -> bool {
        self.core.upstream_active_on(self.idx, port)
    }
    /// Set this element's "non-full" signal (full-note queues). A false→true change wakes
    /// the pushing tasks that listen to it.
    pub fn set_nonfull(&mut self, nonfull: bool) {
        self.core.set_nonfull(self.idx, nonfull);
    }
    /// Can this task's pushed packets be taken downstream? `false` only when every push path
    /// ends in a full full-notifier queue.
    pub fn downstream_nonfull(&self) -> bool {
        self.core.downstream_nonfull(self.idx)
    }
    /// Ask the driver to stop (Click `please_stop_driver`): stops the router, or, when a
    /// DriverManager/driver Script exists, counts a stop request for its `wait_stop`.
    /// Call write handler `handler` (e.g. `s.run`) once when the process receives signal
    /// `signo` (the driver delivers it; see `Router::take_signal_handlers`).
    pub fn add_signal_handler(&mut self, signo: i32, handler: String) {
        self.core.add_signal_handler(signo, handler);
    }
    pub fn stop_router(&mut self) {
        self.core.request_stop();
    }
    /// Stop the router unconditionally (a driver script's `stop`).
    pub fn stop_router_now(&mut self) {
        self.core.stop.set(true);
    }
    /// Make this element the router's driver (DriverManager): stop requests are counted and
    /// wake its task instead of stopping.
    pub fn become_driver(&mut self) {
        self.core.driver.set(Some(self.idx));
    }
    /// Consume `n` pending stop requests if available.
    pub fn take_stop_requests(&mut self, n: u32) -> bool {
        let have = self.core.stop_requests.get();
        if have >= n {
            self.core.stop_requests.set(have - n);
            true
        } else {
            false
        }
    }
    /// Print a message (Click chatter).
    pub fn chatter(&mut self, msg: &str) {
        self.core.env.borrow_mut().chatter(msg);
    }
    /// Access the router's environment (files).
    pub fn env(&self) -> std::cell::RefMut<'_, Box<dyn crate::env::Env>> {
        self.core.env.borrow_mut()
    }
    /// Call a read handler (`elem.handler` or a global one) from element code (Script).
    pub fn call_read(&mut self, handler: &str, param: &str) -> Result<String, String> {
        self.core.call_read(handler, param, Some(self.idx))
    }
    /// Call a write handler from element code.
    pub fn call_write(&mut self, handler: &str, value: &str) -> Result<(), String> {
        self.core.call_write(handler, value, Some(self.idx))
    }
    /// Take the writes to this element's own handlers that were deferred because the element
    /// was busy (e.g. a Script it called back wrote one); the element applies them itself.
    pub fn take_own_deferred_writes(&mut self) -> Vec<(String, String)> {
        self.core.take_deferred_writes_for(self.idx)
    }
    /// Make this element a pass-through that the router crosses without calling it (Click's
    /// Bypass rewiring): a push into input `i` continues at output `push[i]`, a pull from
    /// output `o` continues at input `pull[o]`. Call again to change the routes.
    pub fn set_port_route(&mut self, push: &[usize], pull: &[usize]) {
        self.core.set_route(self.idx, push, pull);
    }
    /// Number of connected inputs of this element.
    pub fn ninputs(&self) -> usize {
        self.core.port_counts(self.idx).0
    }
    /// Number of connected outputs of this element.
    pub fn noutputs(&self) -> usize {
        self.core.port_counts(self.idx).1
    }
    /// Is input `port` pull?
    pub fn input_is_pull(&self, port: usize) -> bool {
        self.core.port_is_pull(self.idx, false, port)
    }
    /// Is output `port` pull?
    pub fn output_is_pull(&self, port: usize) -> bool {
        self.core.port_is_pull(self.idx, true, port)
    }
    /// Number of elements in the router.
    pub fn element_count(&self) -> usize {
        self.core.names.len()
    }
    /// Name of element `i`.
    pub fn element_name(&self, i: usize) -> Option<&str> {
        self.core.names.get(i).map(|s| s.as_str())
    }
    /// Run `f` on element `i` (another element sharing state, e.g. a rewriter's flow table);
    /// None when it is busy (it is pushing into this element) or out of range.
    pub fn with_element<R>(&self, i: usize, f: impl FnOnce(&mut dyn Element) -> R) -> Option<R> {
        let mut e = self.core.elems.get(i)?.try_borrow_mut().ok()?;
        Some(f(&mut **e))
    }
    /// Elements within `diameter` connections downstream of this element's outputs (or
    /// upstream of its inputs): all ports, or only `port`; in the order a breadth-first walk
    /// reaches them (Click's `visit_downstream`/`visit_upstream`). The walk crosses elements
    /// along their flow codes; `own_flow_code` stands for this element's, which cannot be
    /// asked while it runs.
    pub fn neighborhood(
        &self,
        downstream: bool,
        port: Option<usize>,
        diameter: usize,
        own_flow_code: &'static str,
    ) -> Vec<usize> {
        let flow_code = |i: usize| {
            if i == self.idx {
                own_flow_code
            } else {
                self.with_element(i, |e| e.flow_code()).unwrap_or("x/x")
            }
        };
        let graph = crate::neighborhood::Graph {
            connections: &self.core.flat.connections,
            ports: &|i| self.core.port_counts(i),
            flow_code: &flow_code,
        };
        graph.neighborhood(self.idx, downstream, port, diameter)
    }
    /// Is the router's clock simulated?
    pub fn simulated_time(&self) -> bool {
        self.core.clock.is_simulated()
    }
}
