//! Rate shaping and scheduling: BandwidthRatedUnqueue, BandwidthRatedSplitter,
//! Shaper/BandwidthShaper and LinkUnqueue (on a token bucket that refills in whole 1 ms ticks
//! like Click's), TimedSink and StrideSched.

use super::bool_str;
use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{PacketBatch, Timestamp, EXTRA_LENGTH_ANNO_OFFSET};
use crate::registry::Registry;
use crate::token_bucket::{TokenBucket, NS_PER_TICK};
use crate::{any_impl, Packet};
use std::collections::VecDeque;

/// Register the shaping classes.
pub fn register(r: &mut Registry) {
    r.register("BandwidthRatedUnqueue", || {
        Box::<BandwidthRatedUnqueue>::default()
    });
    r.register("BandwidthRatedSplitter", || {
        Box::<BandwidthRatedSplitter>::default()
    });
    r.register("Shaper", || Box::new(Shaper::new(false)));
    r.register("BandwidthShaper", || Box::new(Shaper::new(true)));
    r.register("LinkUnqueue", || Box::<LinkUnqueue>::default());
    r.register("TimedSink", || Box::<TimedSink>::default());
    r.register("StrideSched", || Box::<StrideSched>::default());
    r.register("DelayShaper", || Box::<DelayShaper>::default());
    r.register("DelayUnqueue", || Box::<DelayUnqueue>::default());
}

/// DelayUnqueue(DELAY): pulls packets and pushes each out DELAY after its timestamp (set to
/// now when it has none), one at a time, like Click's.
#[derive(Default)]
pub struct DelayUnqueue {
    delay: Timestamp,
    held: Option<Packet>,
}

impl Element for DelayUnqueue {
    fn class_name(&self) -> &'static str {
        "DelayUnqueue"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        "l/h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("DELAY", Kind::Mp)])?;
        let d = b.time("DELAY")?.ok_or("missing mandatory DELAY argument")?;
        self.delay = Timestamp::from_secs_f64(d);
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        ctx.reschedule();
        Ok(())
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut worked = false;
        loop {
            if self.held.is_none() {
                if let Some(mut p) = ctx.pull(0, 1).pop() {
                    if p.timestamp.sec() == 0 {
                        p.timestamp = ctx.now();
                    }
                    p.timestamp = p.timestamp + self.delay;
                    self.held = Some(p);
                }
            }
            let Some(due) = self.held.as_ref().map(|p| p.timestamp) else {
                if ctx.upstream_active() {
                    ctx.reschedule();
                }
                return worked;
            };
            if due <= ctx.now() {
                if let Some(p) = self.held.take() {
                    ctx.output(0, vec![p]);
                }
                worked = true;
                continue;
            }
            ctx.schedule_timer(0, due);
            return worked;
        }
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        ctx.reschedule();
    }
    any_impl!();
}

/// DelayShaper(DELAY): a pull element holding each packet until DELAY after its timestamp
/// (set to now when zero); its "non-empty" signal is on only while a packet is (nearly)
/// ready or upstream has packets, so the puller downstream can sleep.
#[derive(Default)]
pub struct DelayShaper {
    delay: Timestamp,
    held: Option<Packet>,
}

impl Element for DelayShaper {
    fn class_name(&self) -> &'static str {
        "DelayShaper"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        "l/l"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("DELAY", Kind::Mp)])?;
        self.delay = Timestamp::from_secs_f64(b.time("DELAY")?.unwrap_or(0.0));
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        ctx.set_signal(true);
        Ok(())
    }
    fn is_empty_notifier(&self) -> bool {
        true
    }
    /// The task only relays "upstream became non-empty" to the puller downstream.
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        ctx.set_signal(true);
        false
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        ctx.set_signal(true);
    }
    fn pull(&mut self, _port: usize, _max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let now = ctx.now();
        if self.held.is_none() {
            if let Some(mut p) = ctx.pull(0, 1).pop() {
                if p.timestamp.sec() == 0 {
                    p.timestamp = now;
                }
                p.timestamp = p.timestamp + self.delay;
                self.held = Some(p);
            }
        }
        match self.held.take() {
            Some(mut p) if p.timestamp <= now => {
                p.timestamp = now;
                return vec![p];
            }
            Some(p) => {
                ctx.schedule_timer(0, p.timestamp);
                ctx.set_signal(false);
                self.held = Some(p);
            }
            None if !ctx.upstream_active() => ctx.set_signal(false),
            None => {}
        }
        Vec::new()
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        self.held = None;
    }
    any_impl!();
}

/// StrideSched(TICKETS0, TICKETS1, ...): pulls from its inputs in proportion to their tickets
/// (stride scheduling, Click's order on ties).
#[derive(Default)]
pub struct StrideSched {
    /// (pass, stride) per input.
    clients: Vec<(u32, u32)>,
    /// Inputs with tickets, by pass.
    list: Vec<usize>,
}

impl StrideSched {
    const STRIDE1: u32 = 1 << 16;
    const MAX_TICKETS: u32 = 1 << 15;

    fn insert(&mut self, c: usize) {
        let pass = self.clients[c].0;
        let gt = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0;
        let at = self
            .list
            .iter()
            .position(|&o| !gt(pass, self.clients[o].0))
            .unwrap_or(self.list.len());
        self.list.insert(at, c);
    }
}

impl Element for StrideSched {
    fn class_name(&self) -> &'static str {
        "StrideSched"
    }
    fn port_count(&self) -> &'static str {
        "1-/1"
    }
    fn processing(&self) -> &'static str {
        "l/l"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = crate::args::split_args(conf);
        if a.len() != cx.ninputs {
            return Err(format!("need {} arguments, one per input port", cx.ninputs));
        }
        self.clients.clear();
        for (i, t) in a.iter().enumerate() {
            let t = crate::args::parse_i64(t)
                .ok_or_else(|| format!("argument {i} should be number of tickets (integer)"))?;
            if t < 0 {
                return Err(format!("argument {i} (number of tickets) must be >= 0"));
            }
            let t = (t as u32).min(Self::MAX_TICKETS);
            let stride = Self::STRIDE1.checked_div(t).unwrap_or(0);
            self.clients.push((stride, stride));
        }
        self.list.clear();
        for i in (0..self.clients.len()).rev() {
            if self.clients[i].1 > 0 {
                self.insert(i);
            }
        }
        Ok(())
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut out = Vec::new();
        while out.len() < max {
            let mut visited = 0;
            let mut got = None;
            while visited < self.list.len() && got.is_none() {
                let c = self.list[visited];
                got = ctx.pull(c, 1).pop();
                let (pass, stride) = self.clients[c];
                self.clients[c].0 = pass.wrapping_add(stride);
                visited += 1;
            }
            let stridden: Vec<usize> = self.list.drain(..visited).collect();
            for c in stridden {
                self.insert(c);
            }
            match got {
                Some(p) => out.push(p),
                None => break,
            }
        }
        out
    }
    any_impl!();
}

/// TimedSink([INTERVAL]): pulls and drops one packet every INTERVAL (default 0.5 s).
#[derive(Default)]
pub struct TimedSink {
    interval: Timestamp,
}

impl Element for TimedSink {
    fn class_name(&self) -> &'static str {
        "TimedSink"
    }
    fn port_count(&self) -> &'static str {
        "1/0"
    }
    fn processing(&self) -> &'static str {
        "l"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("INTERVAL", Kind::P)])?;
        self.interval = Timestamp::from_secs_f64(b.time("INTERVAL")?.unwrap_or(0.5));
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        ctx.schedule_timer(0, ctx.now() + self.interval);
        Ok(())
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        drop(ctx.pull(0, 1));
        ctx.schedule_timer(0, ctx.now() + self.interval);
    }
    any_impl!();
}

/// Bandwidth elements send while the bucket holds this many bytes (Click's
/// `RatedUnqueue::tb_bandwidth_thresh`), then remove the packet's length.
const BANDWIDTH_THRESH: u64 = 131072;

/// RATE, BURST_DURATION and BURST_BYTES of the bandwidth elements, as Click sizes the bucket.
fn bandwidth_bucket(conf: &str) -> Result<TokenBucket, String> {
    let b = bind(
        conf,
        &[
            ("RATE", Kind::Mp),
            ("BURST_DURATION", Kind::K),
            ("BURST_BYTES", Kind::K),
            ("BURST_SIZE", Kind::K),
            ("ACTIVE", Kind::K),
        ],
    )?;
    let rate = b.bandwidth("RATE")?.unwrap_or(0.0) as u64;
    let dur = b.time("BURST_DURATION")?;
    let bytes = b.u64("BURST_BYTES")?.or(b.u64("BURST_SIZE")?);
    let tokens = match (dur, bytes) {
        (Some(_), Some(_)) => {
            return Err("cannot specify both BURST_DURATION and BURST_SIZE".into());
        }
        (_, Some(n)) => n,
        (d, None) => rate * (d.unwrap_or(0.020) * 1000.0).round() as u64 / 1000,
    };
    let mut tb = TokenBucket::default();
    tb.assign(rate, tokens + BANDWIDTH_THRESH);
    Ok(tb)
}

/// BandwidthRatedUnqueue(RATE [, BURST_DURATION | BURST_BYTES]): pulls and pushes packets at
/// most RATE bytes/s.
#[derive(Default)]
pub struct BandwidthRatedUnqueue {
    tb: TokenBucket,
    active: bool,
    count: u64,
}

impl Element for BandwidthRatedUnqueue {
    fn class_name(&self) -> &'static str {
        "BandwidthRatedUnqueue"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        "l/h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.tb = bandwidth_bucket(conf)?;
        let b = args_active(conf)?;
        self.active = b;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if self.active {
            ctx.reschedule();
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active {
            return false;
        }
        let now = ctx.now();
        self.tb.refill(now);
        if !self.tb.contains(BANDWIDTH_THRESH) {
            let ticks = self
                .tb
                .time_until_contains(BANDWIDTH_THRESH)
                .unwrap_or(u64::MAX);
            let wait = i64::try_from(ticks)
                .unwrap_or(i64::MAX)
                .saturating_mul(NS_PER_TICK);
            let at = now + Timestamp(wait);
            ctx.schedule_timer(0, at);
            return false;
        }
        let b = ctx.pull(0, 1);
        let worked = !b.is_empty();
        for p in &b {
            self.tb.remove(p.len() as u64);
        }
        self.count += b.len() as u64;
        ctx.output(0, b);
        if worked || ctx.upstream_active() {
            ctx.reschedule();
        }
        worked
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        ctx.reschedule();
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active"), HandlerSpec::r("rate")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "active" => bool_str(self.active),
            "rate" => format!("{}Bps", self.tb.configured_rate()),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| {
            self.active = super::parse_bool_h(v)?;
            if self.active {
                ctx.reschedule();
            }
            Ok(())
        })
    }
    any_impl!();
}

fn args_active(conf: &str) -> Result<bool, String> {
    let b = bind(
        conf,
        &[
            ("RATE", Kind::Mp),
            ("BURST_DURATION", Kind::K),
            ("BURST_BYTES", Kind::K),
            ("BURST_SIZE", Kind::K),
            ("ACTIVE", Kind::K),
        ],
    )?;
    Ok(b.bool("ACTIVE")?.unwrap_or(true))
}

/// BandwidthRatedSplitter(RATE ...): output 0 while within RATE bytes/s, output 1 otherwise.
#[derive(Default)]
pub struct BandwidthRatedSplitter {
    tb: TokenBucket,
}

impl BandwidthRatedSplitter {
    fn split(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) -> PacketBatch {
        let now = ctx.now();
        super::split_batch(batch, |p| {
            self.tb.refill(now);
            if self.tb.contains(BANDWIDTH_THRESH) {
                self.tb.remove(p.len() as u64);
                true
            } else {
                false
            }
        })
    }
}

impl Element for BandwidthRatedSplitter {
    fn class_name(&self) -> &'static str {
        "BandwidthRatedSplitter"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.tb = bandwidth_bucket(conf)?;
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let over = self.split(&mut batch, ctx);
        ctx.output(0, batch);
        ctx.output(1, over);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("rate")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "rate").then(|| Ok(format!("{}Bps", self.tb.configured_rate())))
    }
    any_impl!();
}

/// Shaper(RATE) / BandwidthShaper(RATE): a pull element letting at most RATE packets (bytes)
/// per second through output 0; output 1, when connected, gets packets only when output 0
/// would not.
pub struct Shaper {
    bandwidth: bool,
    rate: f64,
    /// Start of the current measurement and what passed since (Click's GapRate).
    start: Option<Timestamp>,
    passed: f64,
}

impl Shaper {
    fn new(bandwidth: bool) -> Self {
        Shaper {
            bandwidth,
            rate: 0.0,
            start: None,
            passed: 0.0,
        }
    }
    fn allowed(&mut self, now: Timestamp) -> bool {
        let start = *self.start.get_or_insert(now);
        (now - start).as_secs_f64() * self.rate >= self.passed
    }
}

impl Element for Shaper {
    fn class_name(&self) -> &'static str {
        if self.bandwidth {
            "BandwidthShaper"
        } else {
            "Shaper"
        }
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "l"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("RATE", Kind::Mp)])?;
        self.rate = if self.bandwidth {
            b.bandwidth("RATE")?.unwrap_or(0.0)
        } else {
            b.f64("RATE")?.unwrap_or(0.0)
        };
        Ok(())
    }
    fn pull(&mut self, port: usize, _max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let ok = self.allowed(ctx.now());
        if (port == 0) != ok {
            return Vec::new();
        }
        let b = ctx.pull(0, 1);
        if port == 0 {
            for p in &b {
                self.passed += if self.bandwidth { p.len() as f64 } else { 1.0 };
            }
        }
        b
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("rate"), HandlerSpec::w("reset")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "rate" if self.bandwidth => format!("{}Bps", self.rate),
            "rate" => format!("{}", self.rate),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "rate" => {
                let r = if self.bandwidth {
                    crate::args::parse_bandwidth(v)
                } else {
                    v.trim().parse::<f64>().ok()
                };
                Some(
                    r.map(|r| self.rate = r)
                        .ok_or_else(|| "expected rate".into()),
                )
            }
            "reset" => {
                self.start = None;
                self.passed = 0.0;
                Some(Ok(()))
            }
            _ => None,
        }
    }
    any_impl!();
}

/// LinkUnqueue(LATENCY, BANDWIDTH): emulates a serial link: each packet leaves LATENCY after
/// it was pulled plus its transmission time at BANDWIDTH, back to back while the link is busy.
#[derive(Default)]
pub struct LinkUnqueue {
    latency: Timestamp,
    /// Bytes per second / 100 (Click's unit).
    bandwidth: u64,
    /// Packets on the link with their departure times.
    link: VecDeque<(Timestamp, Packet)>,
    back_to_back: bool,
}

impl LinkUnqueue {
    fn departure(&self, p: &Packet, from: Timestamp) -> Timestamp {
        let len = p.len() as u64 + p.anno_u32(EXTRA_LENGTH_ANNO_OFFSET) as u64;
        let delay_us = (len * 10000) / self.bandwidth.max(1);
        from + Timestamp(delay_us as i64 * 1000)
    }
}

impl Element for LinkUnqueue {
    fn class_name(&self) -> &'static str {
        "LinkUnqueue"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        "l/h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LATENCY", Kind::Mp), ("BANDWIDTH", Kind::Mp)])?;
        self.latency = Timestamp::from_secs_f64(b.time("LATENCY")?.unwrap_or(0.0));
        let bw = b.bandwidth("BANDWIDTH")?.unwrap_or(0.0) as u64;
        if bw < 100 {
            return Err("bandwidth too small, minimum 100Bps".into());
        }
        self.bandwidth = bw / 100;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        ctx.reschedule();
        Ok(())
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut worked = false;
        let now = ctx.now();
        let now_delayed = now + self.latency;
        while self.link.back().is_none_or(|(t, _)| *t <= now_delayed) {
            let Some(p) = ctx.pull(0, 1).pop() else {
                self.back_to_back = false;
                break;
            };
            let from = match self.link.back() {
                Some((t, _)) if self.back_to_back => *t,
                _ => now_delayed,
            };
            let t = self.departure(&p, from);
            self.link.push_back((t, p));
            worked = true;
            self.back_to_back = true;
        }
        let mut out = Vec::new();
        while self.link.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((t, mut p)) = self.link.pop_front() {
                p.timestamp = t;
                out.push(p);
            }
        }
        worked |= !out.is_empty();
        ctx.output(0, out);
        let signal = ctx.upstream_active();
        if let Some((head, _)) = self.link.front() {
            let mut expiry = *head;
            if signal {
                if let Some((tail, _)) = self.link.back() {
                    expiry = expiry.min(*tail - self.latency);
                }
            }
            if expiry <= now {
                ctx.reschedule();
            } else {
                ctx.schedule_timer(0, expiry);
            }
        } else if signal {
            ctx.reschedule();
        }
        worked
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        ctx.reschedule();
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        self.link.clear();
    }
    any_impl!();
}
