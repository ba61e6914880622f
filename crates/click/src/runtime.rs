//! The run-time state of a built router ([`Core`]): elements in their cells, port tables,
//! push/pull dispatch (with Bypass routes and deferred re-entrant pushes), task and notifier
//! flags, timers, and handler calls. [`crate::Router`] owns one; every [`Ctx`] borrows it.

use crate::element::{Ctx, Element, HandlerSpec};
use crate::env::{Clock, Env};
use crate::lang::FlatConfig;
use crate::packet::{PacketBatch, Timestamp};
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Version reported by the `version` handler and `--version`.
pub const CLICK_VERSION: &str = "2.1";

/// "No peer" in the port tables.
pub(crate) const NONE: u32 = u32::MAX;

/// Pending timers: a heap ordered by expiry, and the live (element, timer id) entries that
/// make stale heap entries skippable.
#[derive(Default)]
pub(crate) struct Timers {
    pub(crate) heap: BinaryHeap<Reverse<(i64, u64, u32, u32)>>,
    pub(crate) live: HashMap<(u32, u32), (i64, u64)>,
    pub(crate) seq: u64,
}

/// Shared run-time state. Elements sit in `RefCell`s so a push can call into the next element
/// while the caller is still borrowed; a re-entrant push into a busy element is deferred.
pub(crate) struct Core {
    pub(crate) elems: Vec<RefCell<Box<dyn Element>>>,
    pub(crate) names: Vec<String>,
    pub(crate) classes: Vec<&'static str>,
    pub(crate) configs: Vec<String>,
    pub(crate) out_peer: Vec<Vec<(u32, u32)>>,
    pub(crate) in_peer: Vec<Vec<(u32, u32)>>,
    pub(crate) ninputs: Vec<usize>,
    pub(crate) noutputs: Vec<usize>,
    pub(crate) in_push: Vec<Vec<bool>>,
    pub(crate) out_push: Vec<Vec<bool>>,
    pub(crate) scheduled: Vec<Cell<bool>>,
    pub(crate) has_task: Vec<bool>,
    pub(crate) signal: Vec<Cell<bool>>,
    /// Port routes of pass-through elements (Bypass): packets cross a routed element without
    /// calling it, like Click's Bypass rewiring its neighbours' ports. Per element: input →
    /// output for push, output → input for pull.
    pub(crate) routed: Vec<Cell<bool>>,
    pub(crate) push_route: Vec<Vec<Cell<u32>>>,
    pub(crate) pull_route: Vec<Vec<Cell<u32>>>,
    pub(crate) listeners: Vec<Vec<u32>>,
    pub(crate) sources: Vec<Vec<u32>>,
    /// Notifier elements without a task that follow their upstream signals (Click's
    /// wake callbacks): per notifier, the listening elements; per listener, the upstream
    /// notifiers of each input port; wakes that found the listener busy.
    pub(crate) wake_listeners: Vec<Vec<u32>>,
    pub(crate) port_sources: Vec<Vec<Vec<u32>>>,
    pub(crate) pending_wakes: RefCell<Vec<u32>>,
    /// (signal number, write handler) pairs Scripts of TYPE SIGNAL registered; each is used
    /// once, as Click's Master::add_signal_handler.
    pub(crate) signal_handlers: RefCell<Vec<(i32, String)>>,
    /// Non-full signals of full-notifier queues, their listening push tasks, and each push
    /// task's downstream full-notifiers (NONE = a path that never fills).
    pub(crate) nonfull: Vec<Cell<bool>>,
    pub(crate) full_listeners: Vec<Vec<u32>>,
    pub(crate) full_sinks: Vec<Vec<u32>>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) deferred: RefCell<Vec<(u32, u32, PacketBatch)>>,
    pub(crate) deferred_writes: RefCell<Vec<(String, String)>>,
    pub(crate) stop: Cell<bool>,
    pub(crate) driver: Cell<Option<usize>>,
    pub(crate) stop_requests: Cell<u32>,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) env: RefCell<Box<dyn Env>>,
    pub(crate) flat: FlatConfig,
    pub(crate) config_text: String,
    pub(crate) class_list: Vec<String>,
    pub(crate) hotconfig: RefCell<Option<String>>,
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

    pub(crate) fn split_handler(name: &str) -> (Option<&str>, &str) {
        match name.rfind('.') {
            Some(i) => (Some(&name[..i]), &name[i + 1..]),
            None => (None, name),
        }
    }

    pub(crate) fn find_element(&self, name: &str) -> Option<usize> {
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

    pub(crate) fn element_handlers(&self, i: usize) -> Vec<HandlerSpec> {
        let mut v = match self.elems[i].try_borrow() {
            Ok(e) => e.handlers(),
            Err(_) => Vec::new(),
        };
        v.extend(self.generic_handlers(i));
        v
    }

    pub(crate) fn ports_text(&self, i: usize) -> String {
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
                "timewarp" => Ok(match self.clock.warp() {
                    None => "simulation".into(),
                    Some(crate::env::Warp::NoWait) => "nowait".into(),
                    Some(crate::env::Warp::Linear(v)) => {
                        crate::elements::scripting::script::fmt_g(v, 12)
                    }
                }),
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
                    if self.clock.is_simulated() {
                        "timewarp\tr"
                    } else {
                        "timewarp\trw"
                    },
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
                "timewarp" if !self.clock.is_simulated() => {
                    let w = match value.trim() {
                        "nowait" => crate::env::Warp::NoWait,
                        v => crate::env::Warp::Linear(
                            v.parse::<f64>()
                                .map_err(|_| "expected double".to_string())?,
                        ),
                    };
                    self.clock.set_warp(w)
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

    pub(crate) fn flush_deferred(&self) {
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

#[cfg(test)]
mod tests {
    use crate::element::{ConfigureCx, Ctx, Element};
    use crate::packet::Timestamp;
    use crate::{element_class, MemEnv, Registry, Router, RouterOptions, SimClock};

    /// Schedules timers from its configuration (`ID@MICROSECONDS` words) and chatters
    /// `fired ID` when one fires; timer 9 reschedules timer 1 to a later time.
    #[derive(Default)]
    struct TimerProbe {
        plan: Vec<(u32, i64)>,
    }

    impl Element for TimerProbe {
        element_class!(class: "TimerProbe");
        fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
            for w in conf.split_whitespace() {
                let (id, us) = w.split_once('@').ok_or("expected ID@US")?;
                let id = id.parse().map_err(|_| "bad id")?;
                let us = us.parse().map_err(|_| "bad time")?;
                self.plan.push((id, us));
            }
            Ok(())
        }
        fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
            let t0 = ctx.now().0;
            for &(id, us) in &self.plan {
                ctx.schedule_timer(id, Timestamp(t0 + us * 1000));
            }
            Ok(())
        }
        fn run_timer(&mut self, id: u32, ctx: &mut Ctx<'_>) {
            ctx.chatter(&format!("fired {id}"));
            if id == 9 {
                let later = Timestamp(ctx.now().0 + 1_000_000);
                ctx.schedule_timer(1, later);
            }
        }
    }

    fn router(conf: &str, env: &MemEnv) -> Router {
        let mut reg = Registry::standard();
        reg.register("TimerProbe", || Box::<TimerProbe>::default());
        let opts = RouterOptions {
            clock: Box::new(SimClock::default()),
            env: Box::new(env.clone()),
            defines: Vec::new(),
        };
        match Router::with_options(conf, "t.click", &reg, opts) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn timers_fire_in_expiry_order_and_rescheduling_moves_them() {
        let env = MemEnv::default();
        // Timer 1 (at 30 µs) is moved to 1 s later by timer 9 (at 10 µs) before it fires;
        // timers 2 and 3 keep their order although scheduled in reverse.
        let mut r = router("TimerProbe(3@50 2@20 1@30 9@10)", &env);
        r.run_to_completion(1000);
        let fired: Vec<String> = env.chatter.borrow().lines().map(String::from).collect();
        assert_eq!(fired, ["fired 9", "fired 2", "fired 3", "fired 1"]);
        assert!(r.next_timer().is_none());
    }

    #[test]
    fn global_handlers_describe_the_router() {
        let env = MemEnv::default();
        let mut r = router(
            "InfiniteSource(LIMIT 1, STOP true) -> q :: Queue -> Discard",
            &env,
        );
        let read = |r: &mut Router, h: &str| match r.read_handler(h) {
            Ok(v) => v,
            Err(e) => panic!("{h}: {e}"),
        };
        assert_eq!(read(&mut r, "list"), "3\nInfiniteSource@1\nq\nDiscard@3\n");
        assert_eq!(read(&mut r, "version"), "2.1\n");
        assert_eq!(read(&mut r, "q.class"), "Queue");
        // Elements also answer to their 1-based number.
        assert_eq!(read(&mut r, "2.name"), "q");
        assert!(read(&mut r, "classes").lines().any(|c| c == "TimerProbe"));
        assert!(matches!(
            r.read_handler("nosuch.count"),
            Err(crate::HandlerError::NoElement(e)) if e == "nosuch"
        ));
        assert!(matches!(
            r.read_handler("q.nosuch"),
            Err(crate::HandlerError::NoHandler(h)) if h == "q.nosuch"
        ));
        assert!(r.write_handler("stop", "").is_ok());
        assert!(r.stopped());
    }

    #[test]
    fn timewarp_handler_reads_and_sets_the_clock_speed() {
        let env = MemEnv::default();
        let mut sim = router("Idle", &env);
        assert_eq!(
            sim.read_handler("timewarp").ok().as_deref(),
            Some("simulation")
        );
        assert!(sim.write_handler("timewarp", "2").is_err());
        let opts = RouterOptions {
            clock: Box::new(crate::env::SystemClock::default()),
            env: Box::new(env.clone()),
            defines: Vec::new(),
        };
        let mut r = match Router::with_options("Idle", "t.click", &Registry::standard(), opts) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(r.read_handler("timewarp").ok().as_deref(), Some("1"));
        assert!(r.write_handler("timewarp", "2.5").is_ok());
        assert_eq!(r.read_handler("timewarp").ok().as_deref(), Some("2.5"));
        // 5 s of router time are 2 s of real time.
        assert_eq!(
            r.real_wait(crate::packet::Timestamp(5_000_000_000)),
            std::time::Duration::from_secs(2)
        );
        for bad in ["0", "-1", "fast"] {
            assert!(r.write_handler("timewarp", bad).is_err(), "{bad}");
        }
        assert!(r.write_handler("timewarp", "nowait").is_ok());
        assert_eq!(r.read_handler("timewarp").ok().as_deref(), Some("nowait"));
        assert!(r.time_jumps());
    }
}
