//! Standard elements: sources, sinks, counters, queues, schedulers, switches, paint, Print,
//! AddressInfo.

use super::{bool_str, parse_bool_h, parse_u64_h, split_batch};
use crate::args::{self, bind, AddressInfo, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{Packet, PacketBatch, Timestamp, EXTRA_LENGTH_ANNO_OFFSET};
use crate::registry::Registry;
use crate::{any_impl, simple_push_pull};
use std::collections::VecDeque;

/// Register the standard classes.
pub fn register(r: &mut Registry) {
    r.register("Idle", || Box::<Idle>::default());
    r.register("Discard", || Box::new(Discard::new()));
    r.register("Null", || Box::new(Null::new("Null", "a")));
    r.register("PushNull", || Box::new(Null::new("PushNull", "h")));
    r.register("PullNull", || Box::new(Null::new("PullNull", "l")));
    r.register("InfiniteSource", || {
        Box::new(InfiniteSource::new("InfiniteSource"))
    });
    r.register("RatedSource", || {
        Box::new(InfiniteSource::new("RatedSource"))
    });
    r.register("TimedSource", || {
        Box::new(InfiniteSource::new("TimedSource"))
    });
    r.register("Counter", || Box::<Counter>::default());
    r.register("AverageCounter", || Box::<AverageCounter>::default());
    for c in [
        "Queue",
        "SimpleQueue",
        "NotifierQueue",
        "FullNoteQueue",
        "ThreadSafeQueue",
        "QuickNoteQueue",
        "FrontDropQueue",
    ] {
        r.register(c, move || Box::new(Queue::new(c)));
    }
    r.register("MixedQueue", || Box::new(Queue::new("MixedQueue")));
    r.register("Unqueue", || Box::new(Unqueue::new(false)));
    r.register("RatedUnqueue", || Box::new(Unqueue::new(true)));
    r.register("Tee", || Box::<Tee>::default());
    r.register("Paint", || Box::<Paint>::default());
    r.register("CheckPaint", || Box::<CheckPaint>::default());
    r.register("PaintSwitch", || Box::<PaintSwitch>::default());
    r.register("Strip", || {
        Box::new(Strip {
            n: 0,
            unstrip: false,
        })
    });
    r.register("Unstrip", || {
        Box::new(Strip {
            n: 0,
            unstrip: true,
        })
    });
    r.register("Print", || Box::<Print>::default());
    for c in [
        "Switch",
        "StaticSwitch",
        "RoundRobinSwitch",
        "HashSwitch",
        "RandomSwitch",
    ] {
        r.register(c, move || Box::new(Switch::new(c)));
    }
    r.register("RandomSample", || Box::<RandomSample>::default());
    r.register("RatedSplitter", || Box::new(RatedSplitter::default()));
    r.register("SetTimestamp", || Box::<SetTimestamp>::default());
    r.register("Align", || Box::new(PassThrough("Align")));
    r.register("AlignmentInfo", || Box::new(Info("AlignmentInfo")));
    r.register("AddressInfo", || Box::new(Info("AddressInfo")));
    r.register("IPRewriterPatterns", || {
        Box::new(Info("IPRewriterPatterns"))
    });
    r.register("ScheduleInfo", || Box::new(Info("ScheduleInfo")));
    r.register("PortInfo", || Box::new(Info("PortInfo")));
    r.register("RandomSeed", || Box::<RandomSeed>::default());
    r.register("StaticThreadSched", || Box::new(Info("StaticThreadSched")));
    r.register("Truncate", || Box::<Truncate>::default());
    r.register("FastUDPFlows", || Box::<FastUDPFlows>::default());
}

/// Parse `AddressInfo(name addr/prefix eth ..., ...)` into `ai`.
pub fn parse_address_info(conf: &str, ai: &mut AddressInfo) -> Result<(), String> {
    for a in args::split_args(conf) {
        let words = args::split_words(&a);
        let Some((name, vals)) = words.split_first() else {
            continue;
        };
        if vals.is_empty() {
            return Err(format!("expected 'NAME [ADDRS]', got '{a}'"));
        }
        for v in vals {
            if let Some(e) = args::parse_eth(v, &AddressInfo::default()) {
                ai.eth.insert(name.clone(), e);
            } else if let Some((ip, len)) = v.split_once('/').and_then(|(ip, l)| {
                let ip = args::parse_ip(ip, &AddressInfo::default())?;
                let len = l.parse::<u8>().ok().or_else(|| {
                    args::parse_ip(l, &AddressInfo::default()).and_then(args::mask_to_len)
                })?;
                Some((ip, len))
            }) {
                ai.ip.insert(name.clone(), (ip, Some(len)));
            } else if let Some(ip) = args::parse_ip(v, &AddressInfo::default()) {
                ai.ip.insert(name.clone(), (ip, None));
            } else if v.contains(':') {
                // IPv6 addresses are accepted but not used by the IPv4 elements.
            } else {
                return Err(format!("bad address '{v}' for '{name}'"));
            }
        }
    }
    Ok(())
}

/// Elements with no ports that only carry configuration (AddressInfo, ...).
pub struct Info(pub &'static str);
impl Element for Info {
    fn class_name(&self) -> &'static str {
        self.0
    }
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
    any_impl!();
}

/// RandomSeed([SEED]): seeds Click's random generator (from the clock when no seed is given).
#[derive(Default)]
pub struct RandomSeed;
impl Element for RandomSeed {
    fn class_name(&self) -> &'static str {
        "RandomSeed"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        let seed = a.iter().find_map(|x| match args::split_keyword(x) {
            Some(("SEED", v)) => Some(v.to_string()),
            Some(_) => None,
            None => Some(x.clone()),
        });
        if let Some(s) = seed {
            let v = args::parse_u64(s.trim()).ok_or("SEED: expected unsigned integer")?;
            crate::random::srandom(v as u32);
        }
        Ok(())
    }
    any_impl!();
}

/// A 1/1 agnostic pass-through that ignores its configuration (Align: our packets need no alignment).
pub struct PassThrough(pub &'static str);
impl Element for PassThrough {
    fn class_name(&self) -> &'static str {
        self.0
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        ctx.pull(0, max)
    }
    any_impl!();
}

/// Idle: never produces packets, discards pushed ones; an always-empty notifier.
#[derive(Default)]
pub struct Idle;
impl Element for Idle {
    fn class_name(&self) -> &'static str {
        "Idle"
    }
    fn port_count(&self) -> &'static str {
        "-/-"
    }
    /// No packet flows from an input to an output, so push/pull does not propagate across.
    fn flow_code(&self) -> &'static str {
        "x/y"
    }
    fn is_empty_notifier(&self) -> bool {
        true
    }
    any_impl!();
}

/// Null, PushNull, PullNull: 1/1 pass-through (agnostic, push-only, pull-only).
pub struct Null {
    class: &'static str,
    processing: &'static str,
}
impl Null {
    /// `processing` is the Click processing code of `class`.
    pub fn new(class: &'static str, processing: &'static str) -> Self {
        Null { class, processing }
    }
}
impl Element for Null {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        self.processing
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        ctx.pull(0, max)
    }
    any_impl!();
}

/// Discard: drops packets; pulls with a task when its input is pull.
pub struct Discard {
    count: u64,
    active: bool,
    burst: usize,
    pulling: bool,
}
impl Discard {
    fn new() -> Self {
        Discard {
            count: 0,
            active: true,
            burst: 1,
            pulling: false,
        }
    }
}
impl Element for Discard {
    fn class_name(&self) -> &'static str {
        "Discard"
    }
    fn port_count(&self) -> &'static str {
        "1/0"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ACTIVE", Kind::P), ("BURST", Kind::K)])?;
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.burst = b.u64("BURST")?.unwrap_or(1).max(1) as usize;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.pulling = ctx.input_is_pull(0);
        if self.pulling && self.active {
            ctx.reschedule();
        }
        Ok(())
    }
    #[inline]
    fn push(&mut self, _port: usize, batch: PacketBatch, _ctx: &mut Ctx<'_>) {
        self.count += batch.len() as u64;
        crate::batch_pool::recycle(batch);
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || !self.pulling {
            return false;
        }
        let b = ctx.pull(0, self.burst);
        let n = b.len();
        self.count += n as u64;
        if n > 0 || ctx.upstream_active() {
            ctx.reschedule();
        }
        n > 0
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::w("reset_counts"),
            HandlerSpec::rw("active"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "count" => Some(Ok(self.count.to_string())),
            "active" => Some(Ok(bool_str(self.active))),
            _ => None,
        }
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "reset_counts" => {
                self.count = 0;
                Some(Ok(()))
            }
            "active" => Some(parse_bool_h(v).map(|b| {
                self.active = b;
                if b && self.pulling {
                    ctx.reschedule();
                }
            })),
            _ => None,
        }
    }
    any_impl!();
}

const DEFAULT_DATA: &str = "Random bullshit in a packet, at least 64 bytes long. Well, now it is.";

/// InfiniteSource, RatedSource and TimedSource.
pub struct InfiniteSource {
    class: &'static str,
    data: Vec<u8>,
    limit: Option<u64>,
    burst: usize,
    active: bool,
    stop: bool,
    end_call: Option<String>,
    timestamp: bool,
    count: u64,
    rate: f64,
    interval: f64,
    // token bucket for RatedSource
    tokens: f64,
    last: Timestamp,
    pushing: bool,
    ended: bool,
}

impl InfiniteSource {
    fn new(class: &'static str) -> Self {
        InfiniteSource {
            class,
            data: DEFAULT_DATA.as_bytes().to_vec(),
            limit: None,
            burst: 1,
            active: true,
            stop: false,
            end_call: None,
            timestamp: true,
            count: 0,
            rate: 10.0,
            interval: 0.5,
            tokens: 0.0,
            last: Timestamp::ZERO,
            pushing: false,
            ended: false,
        }
    }

    fn make_packets(&mut self, n: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut b = crate::batch_pool::batch_with_capacity(n);
        let ts = if self.timestamp {
            ctx.now()
        } else {
            Timestamp::ZERO
        };
        let sim = ctx.simulated_time();
        crate::packet::extend_with_copies(&mut b, &self.data, n);
        if self.timestamp {
            for (i, p) in b.iter_mut().enumerate() {
                p.timestamp = if sim && i > 0 { ctx.now() } else { ts };
            }
        }
        self.count += n as u64;
        b
    }

    fn remaining(&self) -> u64 {
        match self.limit {
            Some(l) => l.saturating_sub(self.count),
            None => u64::MAX,
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if self.ended {
            return;
        }
        self.ended = true;
        if let Some(h) = self.end_call.clone() {
            let (name, val) = match h.split_once(char::is_whitespace) {
                Some((n, v)) => (n.to_string(), v.trim().to_string()),
                None => (h.clone(), String::new()),
            };
            if let Err(e) = ctx.call_write(&name, &val) {
                ctx.chatter(&format!("{}: {}", ctx.name(), e));
            }
        } else if self.stop {
            ctx.stop_router();
        }
    }
}

impl Element for InfiniteSource {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "0/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let _ = cx;
        let b = match self.class {
            "InfiniteSource" => bind(
                conf,
                &[
                    ("DATA", Kind::P),
                    ("LIMIT", Kind::P),
                    ("BURST", Kind::P),
                    ("ACTIVE", Kind::P),
                    ("TIMESTAMP", Kind::K),
                    ("LENGTH", Kind::K),
                    ("DATASIZE", Kind::K),
                    ("STOP", Kind::K),
                    ("END_CALL", Kind::K),
                ],
            )?,
            "RatedSource" => bind(
                conf,
                &[
                    ("DATA", Kind::P),
                    ("RATE", Kind::P),
                    ("LIMIT", Kind::P),
                    ("ACTIVE", Kind::P),
                    ("LENGTH", Kind::K),
                    ("DATASIZE", Kind::K),
                    ("STOP", Kind::K),
                    ("END_CALL", Kind::K),
                    ("BANDWIDTH", Kind::K),
                    ("BURST", Kind::K),
                    ("TIMESTAMP", Kind::K),
                ],
            )?,
            _ => bind(
                conf,
                &[
                    ("INTERVAL", Kind::P),
                    ("DATA", Kind::P),
                    ("LIMIT", Kind::K),
                    ("ACTIVE", Kind::K),
                    ("STOP", Kind::K),
                    ("HEADROOM", Kind::K),
                    ("DATASIZE", Kind::K),
                    ("LENGTH", Kind::K),
                    ("TIMESTAMP", Kind::K),
                ],
            )?,
        };
        if let Some(d) = b.data("DATA")? {
            self.data = d;
        }
        if let Some(l) = b.i64("LIMIT")? {
            self.limit = (l >= 0).then_some(l as u64);
        }
        if let Some(bu) = b.i64("BURST")? {
            if bu < 1 {
                return Err("burst size must be >= 1".into());
            }
            self.burst = bu as usize;
        }
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.stop = b.bool("STOP")?.unwrap_or(false);
        self.timestamp = b.bool("TIMESTAMP")?.unwrap_or(true);
        self.end_call = b.string("END_CALL")?;
        if self.stop && self.end_call.is_some() {
            return Err("END_CALL and STOP are mutually exclusive".into());
        }
        let len = match b.i64("LENGTH")? {
            Some(l) => Some(l),
            None => b.i64("DATASIZE")?,
        };
        if let Some(l) = len {
            if l >= 0 {
                let l = l as usize;
                let src = self.data.clone();
                self.data = (0..l)
                    .map(|i| {
                        if src.is_empty() {
                            0
                        } else {
                            src[i % src.len()]
                        }
                    })
                    .collect();
            }
        }
        if let Some(r) = b.u64("RATE")? {
            self.rate = r as f64;
        }
        if let Some(bw) = b.bandwidth("BANDWIDTH")? {
            self.rate = bw / (self.data.len().max(1) as f64);
        }
        if let Some(i) = b.time("INTERVAL")? {
            self.interval = i;
        }
        Ok(())
    }
    /// Pulled, InfiniteSource tells its puller when it runs dry (Click's ActiveNotifier).
    fn is_empty_notifier(&self) -> bool {
        self.class == "InfiniteSource"
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.pushing = !ctx.output_is_pull(0);
        self.last = ctx.now();
        if self.class == "InfiniteSource" {
            ctx.set_signal(true);
        }
        if self.pushing && self.active {
            match self.class {
                "TimedSource" => {
                    ctx.schedule_timer(0, ctx.now() + Timestamp::from_secs_f64(self.interval))
                }
                _ => ctx.reschedule(),
            }
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        self.class != "TimedSource"
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || !self.pushing {
            return false;
        }
        // Full downstream queue: sleep until it wakes us (Click's nonfull notifier).
        if !ctx.downstream_nonfull() {
            return false;
        }
        let mut n = (self.burst as u64).min(self.remaining()) as usize;
        if self.class == "RatedSource" {
            let now = ctx.now();
            let dt = (now - self.last).as_secs_f64().max(0.0);
            self.last = now;
            self.tokens = (self.tokens + dt * self.rate).min(self.rate.max(1.0) * 0.1 + 1.0);
            n = n.min(self.tokens.floor() as usize);
            if n == 0 {
                if self.remaining() == 0 {
                    self.finish(ctx);
                    return false;
                }
                let wait = ((1.0 - self.tokens) / self.rate.max(1e-9)).max(1e-6);
                ctx.schedule_timer(1, now + Timestamp::from_secs_f64(wait));
                return false;
            }
            self.tokens -= n as f64;
        }
        if n == 0 {
            self.finish(ctx);
            return false;
        }
        let b = self.make_packets(n, ctx);
        ctx.output(0, b);
        ctx.reschedule();
        true
    }
    fn run_timer(&mut self, id: u32, ctx: &mut Ctx<'_>) {
        if id == 1 {
            ctx.reschedule();
            return;
        }
        // TimedSource
        if !self.active {
            return;
        }
        if self.remaining() == 0 {
            self.finish(ctx);
            return;
        }
        let b = self.make_packets(1, ctx);
        ctx.output(0, b);
        ctx.schedule_timer(0, ctx.now() + Timestamp::from_secs_f64(self.interval));
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        if !self.active {
            ctx.set_signal(false);
            return Vec::new();
        }
        let n = (max as u64).min(self.remaining()) as usize;
        if n == 0 {
            self.finish(ctx);
            ctx.set_signal(false);
            return Vec::new();
        }
        self.make_packets(n.min(1).max(if max > 1 { n } else { 1 }), ctx)
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::r("count"),
            HandlerSpec::w("reset"),
            HandlerSpec::rw("data"),
            HandlerSpec::rw("length"),
            HandlerSpec::rw("limit"),
            HandlerSpec::rw("active"),
        ];
        match self.class {
            "InfiniteSource" => v.push(HandlerSpec::rw("burst")),
            "RatedSource" => v.push(HandlerSpec::rw("rate")),
            _ => v.push(HandlerSpec::rw("interval")),
        }
        v
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "data" => String::from_utf8_lossy(&self.data).into_owned(),
            "length" => self.data.len().to_string(),
            "limit" => self
                .limit
                .map(|l| l.to_string())
                .unwrap_or_else(|| "-1".into()),
            "active" => bool_str(self.active),
            "burst" => self.burst.to_string(),
            "rate" => (self.rate as u64).to_string(),
            "interval" => format!("{}", self.interval),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let r = (|| -> Result<(), String> {
            match name {
                "reset" => {
                    self.count = 0;
                    self.ended = false;
                }
                "data" => self.data = args::parse_data(v),
                "length" => {
                    let l = parse_u64_h(v)? as usize;
                    let src = self.data.clone();
                    self.data = (0..l)
                        .map(|i| {
                            if src.is_empty() {
                                0
                            } else {
                                src[i % src.len()]
                            }
                        })
                        .collect();
                }
                "limit" => {
                    let l = args::parse_i64(v).ok_or("expected integer")?;
                    self.limit = (l >= 0).then_some(l as u64);
                    self.ended = false;
                }
                "active" => self.active = parse_bool_h(v)?,
                "burst" => self.burst = parse_u64_h(v)?.max(1) as usize,
                "rate" => self.rate = parse_u64_h(v)? as f64,
                "interval" => self.interval = args::parse_time(v).ok_or("expected time")?,
                _ => return Err(String::new()),
            }
            Ok(())
        })();
        if let Err(e) = &r {
            if e.is_empty() {
                return None;
            }
        }
        if self.active && !self.pushing && self.remaining() > 0 {
            ctx.set_signal(true);
        }
        if self.active && self.pushing {
            if self.class == "TimedSource" {
                if !ctx.timer_scheduled(0) {
                    ctx.schedule_timer(0, ctx.now() + Timestamp::from_secs_f64(self.interval));
                }
            } else {
                ctx.reschedule();
            }
        }
        Some(r)
    }
    any_impl!();
}

/// Counter.
#[derive(Default)]
pub struct Counter {
    count: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Timestamp,
    /// COUNT_CALL: (threshold, handler, value)
    count_call: Option<(u64, String, String)>,
}
impl Counter {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        self.count += batch.len() as u64;
        let mut bytes = 0u64;
        for p in batch.iter() {
            bytes += p.len() as u64;
        }
        self.bytes += bytes;
        if let Some((n, h, v)) = &self.count_call {
            if self.count >= *n {
                let (h, v) = (h.clone(), v.clone());
                self.count_call = None;
                if let Err(e) = ctx.call_write(&h, &v) {
                    ctx.chatter(&format!("{}: {}", ctx.name(), e));
                }
            }
        }
    }
    fn rate(&self, ctx: &Ctx<'_>) -> f64 {
        match self.first {
            Some(f) => {
                let dt = (ctx.now() - f).as_secs_f64();
                if dt > 0.0 {
                    self.count as f64 / dt
                } else {
                    0.0
                }
            }
            None => 0.0,
        }
    }
}
impl Element for Counter {
    fn class_name(&self) -> &'static str {
        "Counter"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[("COUNT_CALL", Kind::K), ("BYTE_COUNT_CALL", Kind::K)],
        )?;
        if let Some(cc) = b.str("COUNT_CALL") {
            let w = args::split_words(cc);
            let n = w
                .first()
                .and_then(|x| args::parse_u64(x))
                .ok_or("COUNT_CALL: expected 'N HANDLER [VALUE]'")?;
            let h = w
                .get(1)
                .cloned()
                .ok_or("COUNT_CALL: expected 'N HANDLER [VALUE]'")?;
            self.count_call = Some((n, h, w[2.min(w.len())..].join(" ")));
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.first = Some(ctx.now());
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::r("byte_count"),
            HandlerSpec::r("rate"),
            HandlerSpec::r("bit_rate"),
            HandlerSpec::r("byte_rate"),
            HandlerSpec::w("reset"),
            HandlerSpec::w("reset_counts"),
            HandlerSpec::rw("count_call"),
            HandlerSpec::w("byte_count_call"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        let _ = self.last;
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "byte_count" => self.bytes.to_string(),
            "rate" => format!("{}", self.rate(ctx).round()),
            "byte_rate" => {
                let r = self.rate(ctx);
                let avg = if self.count > 0 {
                    self.bytes as f64 / self.count as f64
                } else {
                    0.0
                };
                format!("{}", (r * avg).round())
            }
            "bit_rate" => {
                let r = self.rate(ctx);
                let avg = if self.count > 0 {
                    self.bytes as f64 / self.count as f64
                } else {
                    0.0
                };
                format!("{}", (r * avg * 8.0).round())
            }
            "count_call" => String::new(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, _v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "reset" | "reset_counts" => {
                self.count = 0;
                self.bytes = 0;
                self.first = Some(ctx.now());
                Some(Ok(()))
            }
            "count_call" | "byte_count_call" => Some(Ok(())),
            _ => None,
        }
    }
    any_impl!();
}

/// AverageCounter: rate between the first and the last packet.
#[derive(Default)]
pub struct AverageCounter {
    count: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Timestamp,
    ignore: f64,
}
impl AverageCounter {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let first = *self.first.get_or_insert(now);
        self.last = now;
        if (now - first).as_secs_f64() < self.ignore {
            return;
        }
        self.count += batch.len() as u64;
        self.bytes += batch.iter().map(|p| p.len() as u64).sum::<u64>();
    }
    fn elapsed(&self) -> f64 {
        self.first
            .map(|f| (self.last - f).as_secs_f64() - self.ignore)
            .unwrap_or(0.0)
    }
}
impl Element for AverageCounter {
    fn class_name(&self) -> &'static str {
        "AverageCounter"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("IGNORE", Kind::P)])?;
        self.ignore = b.time("IGNORE")?.unwrap_or(0.0);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::r("byte_count"),
            HandlerSpec::r("rate"),
            HandlerSpec::r("bit_rate"),
            HandlerSpec::r("byte_rate"),
            HandlerSpec::r("time"),
            HandlerSpec::w("reset"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let t = self.elapsed();
        let per = |x: f64| {
            if t > 0.0 {
                format!("{}", (x / t).round())
            } else {
                "0".into()
            }
        };
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "byte_count" => self.bytes.to_string(),
            "rate" => per(self.count as f64),
            "byte_rate" => per(self.bytes as f64),
            "bit_rate" => per(self.bytes as f64 * 8.0),
            "time" => format!("{t:.6}"),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, _v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "reset").then(|| {
            self.count = 0;
            self.bytes = 0;
            self.first = None;
            Ok(())
        })
    }
    any_impl!();
}

/// Queue and its variants: push in, pull out; an optional second push output gets drops.
pub struct Queue {
    class: &'static str,
    /// Set once `capacity` is written: the `config` handler then shows the new keyword.
    reconfigured: bool,
    q: VecDeque<Packet>,
    capacity: usize,
    drops: u64,
    highwater: usize,
    front_drop: bool,
    /// Empty pulls in a row: like Click's NotifierQueue, the empty signal goes off only
    /// after several, so a source refilling the queue now and then keeps its puller awake.
    sleepiness: u8,
}
/// Click's NotifierQueue::SLEEPINESS_TRIGGER.
const SLEEPINESS_TRIGGER: u8 = 9;
impl Queue {
    fn new(class: &'static str) -> Self {
        Queue {
            class,
            reconfigured: false,
            q: VecDeque::new(),
            capacity: 1000,
            drops: 0,
            highwater: 0,
            front_drop: class == "FrontDropQueue",
            sleepiness: 0,
        }
    }
}
impl Element for Queue {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        if self.class == "MixedQueue" {
            "2/1-2"
        } else {
            "1/1-2"
        }
    }
    fn processing(&self) -> &'static str {
        "h/lh"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("CAPACITY", Kind::P)])?;
        self.capacity = b.u64("CAPACITY")?.unwrap_or(1000) as usize;
        Ok(())
    }
    fn is_empty_notifier(&self) -> bool {
        true
    }
    fn is_full_notifier(&self) -> bool {
        matches!(
            self.class,
            "Queue" | "FullNoteQueue" | "ThreadSafeQueue" | "QuickNoteQueue"
        )
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut dropped = Vec::new();
        // MixedQueue's input 1 is LIFO: packets go to the front, and a full queue drops
        // its tail instead of the newcomer.
        let lifo = port == 1;
        for p in batch {
            if lifo {
                self.q.push_front(p);
                if self.q.len() > self.capacity {
                    if let Some(old) = self.q.pop_back() {
                        dropped.push(old);
                    }
                }
            } else if self.q.len() < self.capacity {
                self.q.push_back(p);
            } else if self.front_drop && self.capacity > 0 {
                if let Some(old) = self.q.pop_front() {
                    dropped.push(old);
                }
                self.q.push_back(p);
            } else {
                dropped.push(p);
            }
        }
        self.highwater = self.highwater.max(self.q.len());
        if !dropped.is_empty() {
            if self.drops == 0 && ctx.noutputs() < 2 {
                // Click's "%p{element}": the declaration, where FullNoteQueue calls itself Queue.
                let class = match self.class {
                    "FullNoteQueue" => "Queue",
                    c => c,
                };
                ctx.chatter(&format!("{} :: {class}: overflow", ctx.name()));
            }
            self.drops += dropped.len() as u64;
            ctx.output(1, dropped);
        }
        if !self.q.is_empty() {
            ctx.set_signal(true);
        }
        if self.q.len() >= self.capacity {
            ctx.set_nonfull(false);
        }
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let n = max.min(self.q.len());
        let b: PacketBatch = self.q.drain(..n).collect();
        if self.class == "QuickNoteQueue" {
            // QuickNoteQueue sleeps as soon as it is empty.
            if self.q.is_empty() {
                ctx.set_signal(false);
            }
        } else if n > 0 {
            self.sleepiness = 0;
        } else if self.sleepiness >= SLEEPINESS_TRIGGER {
            ctx.set_signal(false);
        } else {
            self.sleepiness += 1;
        }
        if self.q.len() < self.capacity {
            ctx.set_nonfull(true);
        }
        b
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("length"),
            HandlerSpec::r("highwater_length"),
            HandlerSpec::rw("capacity"),
            HandlerSpec::r("drops"),
            HandlerSpec::w("reset_counts"),
            HandlerSpec::w("reset"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "length" => self.q.len().to_string(),
            "highwater_length" => self.highwater.to_string(),
            "capacity" => self.capacity.to_string(),
            "drops" => self.drops.to_string(),
            "config" if self.reconfigured => format!("CAPACITY {}", self.capacity),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "capacity" => Some(parse_u64_h(v).map(|c| {
                // Click keeps the oldest packets that fit the new capacity.
                self.capacity = c as usize;
                self.reconfigured = true;
                self.q.truncate(self.capacity);
                ctx.set_nonfull(self.q.len() < self.capacity);
                if self.q.is_empty() {
                    ctx.set_signal(false);
                }
            })),
            "reset_counts" => {
                self.drops = 0;
                self.highwater = self.q.len();
                Some(Ok(()))
            }
            "reset" => {
                self.q.clear();
                ctx.set_signal(false);
                ctx.set_nonfull(true);
                Some(Ok(()))
            }
            _ => None,
        }
    }
    any_impl!();
}

/// Unqueue and RatedUnqueue: pull → push with a task.
pub struct Unqueue {
    rated: bool,
    bucket: Option<f64>,
    active: bool,
    limit: Option<u64>,
    burst: usize,
    count: u64,
    rate: f64,
    tokens: f64,
    last: Timestamp,
}
impl Unqueue {
    fn new(rated: bool) -> Self {
        Unqueue {
            rated,
            bucket: None,
            active: true,
            limit: None,
            burst: 1,
            count: 0,
            rate: 0.0,
            tokens: 0.0,
            last: Timestamp::ZERO,
        }
    }
}
impl Element for Unqueue {
    fn class_name(&self) -> &'static str {
        if self.rated {
            "RatedUnqueue"
        } else {
            "Unqueue"
        }
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        "l/h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if self.rated {
            let b = bind(
                conf,
                &[
                    ("RATE", Kind::Mp),
                    ("BURST", Kind::P),
                    ("BURST_SIZE", Kind::K),
                    ("BURST_DURATION", Kind::K),
                    ("BANDWIDTH", Kind::K),
                    ("ACTIVE", Kind::K),
                ],
            )?;
            self.rate = match b.str("RATE") {
                Some(r) if r.contains("bps") || r.contains("Bps") => {
                    b.bandwidth("RATE")?.unwrap_or(0.0) / 64.0
                }
                _ => b.f64("RATE")?.unwrap_or(0.0),
            };
            self.burst = b.u64("BURST")?.unwrap_or(1).max(1) as usize;
            // BURST_SIZE/BURST_DURATION size the token bucket, which starts full.
            let bucket = match (b.u64("BURST_SIZE")?, b.time("BURST_DURATION")?) {
                (Some(s), _) => Some(s as f64),
                (None, Some(d)) => Some((d * self.rate).round()),
                _ => None,
            };
            self.bucket = bucket.map(|s| s.max(1.0));
            self.active = b.bool("ACTIVE")?.unwrap_or(true);
        } else {
            let b = bind(
                conf,
                &[("ACTIVE", Kind::P), ("LIMIT", Kind::K), ("BURST", Kind::K)],
            )?;
            self.active = b.bool("ACTIVE")?.unwrap_or(true);
            self.limit = b.i64("LIMIT")?.filter(|l| *l >= 0).map(|l| l as u64);
            self.burst = b
                .i64("BURST")?
                .map(|b| if b <= 0 { usize::MAX } else { b as usize })
                .unwrap_or(1);
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.last = ctx.now();
        self.tokens = self.bucket.unwrap_or(1.0);
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
        let mut n = self.burst;
        if let Some(l) = self.limit {
            n = n.min(l.saturating_sub(self.count) as usize);
            if n == 0 {
                return false;
            }
        }
        if self.rated {
            let now = ctx.now();
            let dt = (now - self.last).as_secs_f64().max(0.0);
            self.last = now;
            let cap = self.bucket.unwrap_or(self.burst as f64);
            self.tokens = (self.tokens + dt * self.rate).min(cap);
            let avail = self.tokens.floor() as usize;
            if avail == 0 {
                let wait = ((1.0 - self.tokens) / self.rate.max(1e-9)).max(1e-6);
                // Click's timer works in whole jiffies (1 ms) and fires one jiffy late.
                let wait = ((wait * 1000.0).ceil() + 1.0) / 1000.0;
                ctx.schedule_timer(0, now + Timestamp::from_secs_f64(wait));
                return false;
            }
            n = n.min(avail);
        }
        let b = ctx.pull(0, n);
        let got = b.len();
        if self.rated {
            self.tokens -= got as f64;
        }
        self.count += got as u64;
        ctx.output(0, b);
        if got > 0 || ctx.upstream_active() {
            ctx.reschedule();
        }
        got > 0
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        ctx.reschedule();
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::r("count"),
            HandlerSpec::w("reset"),
            HandlerSpec::rw("active"),
        ];
        if self.rated {
            v.push(HandlerSpec::rw("rate"));
        } else {
            v.push(HandlerSpec::rw("limit"));
            v.push(HandlerSpec::rw("burst"));
        }
        v
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "active" => bool_str(self.active),
            "rate" => format!("{}", self.rate),
            "limit" => self
                .limit
                .map(|l| l.to_string())
                .unwrap_or_else(|| "-1".into()),
            "burst" => self.burst.to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let r = match name {
            "reset" => {
                self.count = 0;
                Ok(())
            }
            "active" => parse_bool_h(v).map(|b| self.active = b),
            "rate" => v
                .trim()
                .parse::<f64>()
                .map(|r| self.rate = r)
                .map_err(|_| "expected rate".to_string()),
            "limit" => args::parse_i64(v)
                .map(|l| self.limit = (l >= 0).then_some(l as u64))
                .ok_or_else(|| "expected integer".to_string()),
            "burst" => parse_u64_h(v).map(|b| self.burst = b.max(1) as usize),
            _ => return None,
        };
        ctx.reschedule();
        Some(r)
    }
    any_impl!();
}

/// Tee: copies each packet to every output.
#[derive(Default)]
pub struct Tee {
    n: usize,
}
impl Element for Tee {
    fn class_name(&self) -> &'static str {
        "Tee"
    }
    fn port_count(&self) -> &'static str {
        "1/1-"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("N", Kind::P)])?;
        self.n = cx.noutputs;
        if let Some(n) = b.u64("N")? {
            if n as usize != cx.noutputs {
                return Err(format!(
                    "{} outputs implies {} arms",
                    cx.noutputs, cx.noutputs
                ));
            }
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        // Click's order: clones to outputs 0..n-1, the original to the last one.
        let last = self.n.max(1) - 1;
        for o in 0..last {
            ctx.output(o, batch.to_vec());
        }
        ctx.output(last, batch);
    }
    any_impl!();
}

/// Paint(COLOR [, ANNO]).
#[derive(Default)]
pub struct Paint {
    color: u8,
    anno: usize,
}
impl Paint {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let off = self.anno;
        for p in batch.iter_mut() {
            p.anno[off] = self.color;
        }
    }
}
fn parse_anno(b: &args::Bound) -> Result<usize, String> {
    match b.str("ANNO") {
        None => Ok(crate::packet::PAINT_ANNO_OFFSET),
        Some(s) => match s.trim() {
            "PAINT" => Ok(crate::packet::PAINT_ANNO_OFFSET),
            s => args::parse_u64(s)
                .map(|v| v as usize)
                .filter(|v| *v < crate::packet::ANNO_SIZE)
                .ok_or_else(|| "ANNO: bad annotation".to_string()),
        },
    }
}
impl Element for Paint {
    fn class_name(&self) -> &'static str {
        "Paint"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("COLOR", Kind::Mp), ("ANNO", Kind::P)])?;
        self.color = b.u64("COLOR")?.unwrap_or(0) as u8;
        self.anno = parse_anno(&b)?;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("color")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "color").then(|| Ok(self.color.to_string()))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "color").then(|| parse_u64_h(v).map(|c| self.color = c as u8))
    }
    any_impl!();
}

/// CheckPaint(COLOR): painted packets → out0, others → out1 (or dropped).
#[derive(Default)]
pub struct CheckPaint {
    color: u8,
    anno: usize,
}
impl Element for CheckPaint {
    fn class_name(&self) -> &'static str {
        "CheckPaint"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("COLOR", Kind::Mp), ("ANNO", Kind::P)])?;
        self.color = b.u64("COLOR")?.unwrap_or(0) as u8;
        self.anno = parse_anno(&b)?;
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let (c, off) = (self.color, self.anno);
        let bad = split_batch(&mut batch, |p| p.anno[off] == c);
        ctx.output(0, batch);
        ctx.output(1, bad);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("color")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "color").then(|| Ok(self.color.to_string()))
    }
    any_impl!();
}

/// PaintSwitch([ANNO]): output = paint value.
#[derive(Default)]
pub struct PaintSwitch {
    anno: usize,
    n: usize,
}
impl Element for PaintSwitch {
    fn class_name(&self) -> &'static str {
        "PaintSwitch"
    }
    fn port_count(&self) -> &'static str {
        "1/-"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ANNO", Kind::P)])?;
        self.anno = parse_anno(&b)?;
        self.n = cx.noutputs;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let off = self.anno;
        classify_out(batch, self.n, ctx, |p| p.anno[off] as usize);
    }
    any_impl!();
}

/// Send each packet to output `f(p)` (dropped when ≥ `n`), batching runs of equal outputs.
/// `f` sees the packets in order and may rewrite them (rewriters, route lookups).
#[inline]
pub fn classify_out(
    mut batch: PacketBatch,
    n: usize,
    ctx: &mut Ctx<'_>,
    mut f: impl FnMut(&mut Packet) -> usize,
) {
    let len = batch.len();
    if len == 0 {
        return;
    }
    let first = f(&mut batch[0]);
    // fast path: all packets to the same output
    let mut diverge = None;
    for (i, p) in batch.iter_mut().enumerate().skip(1) {
        let o = f(p);
        if o != first {
            diverge = Some((i, o));
            break;
        }
    }
    let Some((i, o)) = diverge else {
        if first < n {
            ctx.output(first, batch);
        }
        return;
    };
    // Typical batches fit on the stack; no allocation for the per-packet outputs.
    let mut small = [0usize; SMALL_BATCH];
    let mut big = Vec::new();
    let outs: &mut [usize] = if len <= SMALL_BATCH {
        &mut small[..len]
    } else {
        big.resize(len, 0);
        &mut big
    };
    outs[..i].fill(first);
    outs[i] = o;
    for (slot, p) in outs[i + 1..].iter_mut().zip(&mut batch[i + 1..]) {
        *slot = f(p);
    }
    split_to_outputs(batch, outs, n, ctx);
}

const SMALL_BATCH: usize = 64;

/// Send packet `k` of `batch` to output `outs[k]` (dropped when ≥ `n`), one batch per output
/// in output order. The most used output keeps `batch`'s allocation; the others get one
/// allocation each, at their final size.
fn split_to_outputs(mut batch: PacketBatch, outs: &[usize], n: usize, ctx: &mut Ctx<'_>) {
    let mut small = [0usize; SMALL_BATCH];
    let mut big_counts = Vec::new();
    let counts: &mut [usize] = if n <= SMALL_BATCH {
        &mut small[..n]
    } else {
        big_counts.resize(n, 0);
        &mut big_counts
    };
    for &o in outs {
        if o < n {
            counts[o] += 1;
        }
    }
    let Some((big, _)) = counts
        .iter()
        .enumerate()
        .filter(|c| *c.1 > 0)
        .max_by_key(|c| *c.1)
    else {
        return; // every packet dropped
    };
    let mut few: [PacketBatch; FEW_OUTPUTS] = Default::default();
    let mut many = Vec::new();
    let buckets: &mut [PacketBatch] = if n <= FEW_OUTPUTS {
        &mut few[..n]
    } else {
        many.resize_with(n, Vec::new);
        &mut many
    };
    let mut moved = outs.iter().copied().filter(|&o| o != big);
    let mut k = 0;
    for p in batch.extract_if(.., |_| {
        k += 1;
        outs[k - 1] != big
    }) {
        match moved.next() {
            Some(o) if o < n => {
                let b = &mut buckets[o];
                if b.capacity() == 0 {
                    *b = crate::batch_pool::batch_with_capacity(counts[o]);
                }
                b.push(p);
            }
            _ => {} // dropped
        }
    }
    for (o, b) in buckets.iter_mut().enumerate() {
        if o == big {
            ctx.output(o, std::mem::take(&mut batch));
        } else {
            ctx.output(o, std::mem::take(b));
        }
    }
}

const FEW_OUTPUTS: usize = 16;

/// Strip(N) / Unstrip(N).
pub struct Strip {
    n: usize,
    unstrip: bool,
}
impl Strip {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        if self.unstrip {
            for p in batch.iter_mut() {
                p.push(self.n);
            }
        } else {
            for p in batch.iter_mut() {
                p.pull(self.n);
            }
        }
    }
}
impl Element for Strip {
    fn class_name(&self) -> &'static str {
        if self.unstrip {
            "Unstrip"
        } else {
            "Strip"
        }
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::Mp)])?;
        self.n = b.u64("LENGTH")?.unwrap_or(0) as usize;
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// Truncate(LENGTH).
#[derive(Default)]
pub struct Truncate {
    n: usize,
    /// EXTRA_LENGTH: account cut bytes in the extra-length annotation (Click default true).
    extra: bool,
}
impl Truncate {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if p.len() > self.n {
                if self.extra {
                    let cut = (p.len() - self.n) as u32;
                    let e = p.anno_u32(EXTRA_LENGTH_ANNO_OFFSET);
                    p.set_anno_u32(EXTRA_LENGTH_ANNO_OFFSET, e.saturating_add(cut));
                }
                p.set_len(self.n);
            }
        }
    }
}
impl Element for Truncate {
    fn class_name(&self) -> &'static str {
        "Truncate"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::Mp), ("EXTRA_LENGTH", Kind::K)])?;
        self.n = b.u64("LENGTH")?.unwrap_or(0) as usize;
        self.extra = b.bool("EXTRA_LENGTH")?.unwrap_or(true);
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// Print([LABEL, MAXLENGTH], CONTENTS, TIMESTAMP, ACTIVE, HEADROOM).
pub struct Print {
    label: String,
    bytes: i64,
    contents: u8,
    timestamp: bool,
    active: bool,
    headroom: bool,
}
impl Default for Print {
    fn default() -> Self {
        Print {
            label: String::new(),
            bytes: 24,
            contents: 1,
            timestamp: false,
            active: true,
            headroom: false,
        }
    }
}
impl Print {
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        if !self.active {
            return;
        }
        for p in batch.iter() {
            let mut s = String::new();
            let mut sep = "";
            if !self.label.is_empty() {
                s.push_str(&self.label);
                sep = ": ";
            }
            if self.timestamp {
                s.push_str(sep);
                s.push_str(&p.timestamp.to_string());
                sep = ": ";
            }
            s.push_str(&format!("{sep}{:4}", p.len()));
            if self.headroom {
                s.push_str(&format!(" (h{} t{})", p.headroom(), p.tailroom()));
            }
            let n = if self.contents == 0 {
                0
            } else if self.bytes < 0 {
                p.len()
            } else {
                (self.bytes as usize).min(p.len())
            };
            if n > 0 {
                s.push_str(" | ");
                for (i, b) in p.data()[..n].iter().enumerate() {
                    if self.contents == 1 {
                        if i > 0 && i % 4 == 0 {
                            s.push(' ');
                        }
                        s.push_str(&format!("{b:02x}"));
                    } else {
                        if i % 8 == 0 {
                            s.push(' ');
                        }
                        s.push(if (32..=126).contains(b) {
                            *b as char
                        } else {
                            '.'
                        });
                    }
                }
            }
            ctx.chatter(&s);
        }
    }
}
impl Element for Print {
    fn class_name(&self) -> &'static str {
        "Print"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("LABEL", Kind::P),
                ("MAXLENGTH", Kind::P),
                ("LENGTH", Kind::K),
                ("BYTES", Kind::K),
                ("CONTENTS", Kind::K),
                ("TIMESTAMP", Kind::K),
                ("ACTIVE", Kind::K),
                ("HEADROOM", Kind::K),
                ("PRINTANNO", Kind::K),
                ("CPU", Kind::K),
            ],
        )?;
        self.label = b.string("LABEL")?.unwrap_or_default();
        if let Some(v) = b.i64("MAXLENGTH")?.or(b.i64("LENGTH")?).or(b.i64("BYTES")?) {
            self.bytes = v;
        }
        if let Some(c) = b.str("CONTENTS") {
            self.contents = match c.trim().to_ascii_lowercase().as_str() {
                "false" | "none" => 0,
                "true" | "hex" => 1,
                "ascii" => 2,
                _ => return Err("CONTENTS: bad contents value".into()),
            };
        }
        self.timestamp = b.bool("TIMESTAMP")?.unwrap_or(false);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.headroom = b.bool("HEADROOM")?.unwrap_or(false);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "active").then(|| Ok(bool_str(self.active)))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| parse_bool_h(v).map(|b| self.active = b))
    }
    any_impl!();
}

/// Switch, StaticSwitch, RoundRobinSwitch, HashSwitch, RandomSwitch.
pub struct Switch {
    class: &'static str,
    out: i64,
    n: usize,
    rr: usize,
    offset: usize,
    length: usize,
}
impl Switch {
    fn new(class: &'static str) -> Self {
        Switch {
            class,
            out: 0,
            n: 0,
            rr: 0,
            offset: 0,
            length: 0,
        }
    }
}
impl Element for Switch {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1/-"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.n = cx.noutputs;
        match self.class {
            "Switch" | "StaticSwitch" => {
                let b = bind(conf, &[("OUTPUT", Kind::P)])?;
                self.out = b.i64("OUTPUT")?.unwrap_or(0);
            }
            "HashSwitch" => {
                let b = bind(conf, &[("OFFSET", Kind::Mp), ("LENGTH", Kind::Mp)])?;
                self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
                self.length = b.u64("LENGTH")?.unwrap_or(0) as usize;
                if self.length == 0 {
                    return Err("length must be > 0".into());
                }
            }
            _ => {
                bind(conf, &[])?;
            }
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let n = self.n.max(1);
        match self.class {
            "Switch" | "StaticSwitch" => {
                if self.out >= 0 {
                    ctx.output(self.out as usize, batch);
                }
            }
            "RoundRobinSwitch" => {
                let mut rr = self.rr;
                classify_out(batch, self.n, ctx, |_| {
                    let o = rr;
                    rr = (rr + 1) % n;
                    o
                });
                self.rr = rr;
            }
            "HashSwitch" => {
                let (off, len) = (self.offset, self.length);
                classify_out(batch, self.n, ctx, |p| {
                    let d = p.data();
                    let mut h: u32 = 0;
                    if off + len <= d.len() {
                        for &b in &d[off..off + len] {
                            h = h.wrapping_mul(31).wrapping_add(b as u32);
                        }
                    }
                    h as usize % n
                });
            }
            _ => {
                // RandomSwitch: Click's click_random(0, n - 1), one draw per packet.
                classify_out(batch, self.n, ctx, |_| {
                    crate::random::random_range(0, n as u32 - 1) as usize
                });
            }
        }
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        if self.class == "Switch" {
            vec![HandlerSpec::rw("switch")]
        } else {
            Vec::new()
        }
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "switch" && self.class == "Switch").then(|| Ok(self.out.to_string()))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "switch" && self.class == "Switch").then(|| {
            let o = args::parse_i64(v).ok_or("expected integer")?;
            self.out = if o >= self.n as i64 { -1 } else { o };
            Ok(())
        })
    }
    any_impl!();
}

/// RandomSample(P | SAMPLE | DROP, ACTIVE) — keeps packets with probability P (out1 gets the
/// rest). As Click: P is fixed point with 28 fraction bits and each packet draws one
/// `click_random()`, so a seeded run samples exactly the reference's packets.
pub struct RandomSample {
    /// Sampling probability out of `1 << SAMPLING_SHIFT`.
    prob: u32,
    active: bool,
    drops: u64,
}
const SAMPLING_SHIFT: u32 = 28;
impl Default for RandomSample {
    fn default() -> Self {
        RandomSample {
            prob: 1 << SAMPLING_SHIFT,
            active: true,
            drops: 0,
        }
    }
}
fn sampling_fixed(v: &str) -> Option<u32> {
    let p = v.trim().parse::<f64>().ok()?;
    let f = (p * f64::from(1u32 << SAMPLING_SHIFT)).round();
    (0.0..=f64::from(1u32 << SAMPLING_SHIFT))
        .contains(&f)
        .then_some(f as u32)
}
impl RandomSample {
    fn keep(&mut self) -> bool {
        let keep =
            !self.active || (crate::random::random() & ((1 << SAMPLING_SHIFT) - 1)) < self.prob;
        if !keep {
            self.drops += 1;
        }
        keep
    }
}
impl Element for RandomSample {
    fn class_name(&self) -> &'static str {
        "RandomSample"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("P", Kind::P),
                ("SAMPLE", Kind::K),
                ("DROP", Kind::K),
                ("ACTIVE", Kind::K),
            ],
        )?;
        let bad = || "sampling probability must be between 0 and 1".to_string();
        let sample = match b.str("SAMPLE").or(b.str("P")) {
            Some(v) => Some(sampling_fixed(v).ok_or_else(bad)?),
            None => None,
        };
        let drop = match b.str("DROP") {
            Some(v) => Some(sampling_fixed(v).ok_or_else(bad)?),
            None => None,
        };
        self.prob = match (sample, drop) {
            (Some(_), Some(_)) if b.str("SAMPLE").is_some() => {
                return Err("give at most one of SAMPLE and DROP".into())
            }
            (_, Some(d)) => (1 << SAMPLING_SHIFT) - d,
            (Some(p), None) => p,
            (None, None) => 1 << SAMPLING_SHIFT,
        };
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let rest = split_batch(&mut batch, |_| self.keep());
        ctx.output(0, batch);
        if ctx.noutputs() > 1 {
            ctx.output(1, rest);
        }
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut batch = ctx.pull(0, max);
        let rest = split_batch(&mut batch, |_| self.keep());
        if !rest.is_empty() && ctx.noutputs() > 1 {
            ctx.output(1, rest);
        }
        batch
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::rw("sampling_prob"),
            HandlerSpec::rw("drop_prob"),
            HandlerSpec::rw("active"),
            HandlerSpec::r("drops"),
            HandlerSpec::r("config"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let real = |v: u32| args::unparse_real2(v, SAMPLING_SHIFT);
        Some(Ok(match name {
            "sampling_prob" => real(self.prob),
            "drop_prob" => real((1 << SAMPLING_SHIFT) - self.prob),
            "active" => bool_str(self.active),
            "drops" => self.drops.to_string(),
            "config" => format!("SAMPLE {}, ACTIVE {}", real(self.prob), self.active),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        let prob = || {
            sampling_fixed(v)
                .ok_or_else(|| "Must be given a number between 0.0 and 1.0".to_string())
        };
        Some(match name {
            "sampling_prob" => prob().map(|p| self.prob = p),
            "drop_prob" => prob().map(|p| self.prob = (1 << SAMPLING_SHIFT) - p),
            "active" => parse_bool_h(v).map(|a| self.active = a),
            _ => return None,
        })
    }
    any_impl!();
}

/// RatedSplitter(RATE): up to RATE packets/s → out0, the rest → out1.
#[derive(Default)]
pub struct RatedSplitter {
    rate: f64,
    burst: Option<f64>,
    tokens: f64,
    last: Option<Timestamp>,
}
impl Element for RatedSplitter {
    fn class_name(&self) -> &'static str {
        "RatedSplitter"
    }
    fn port_count(&self) -> &'static str {
        "1/2"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("RATE", Kind::Mp),
                ("BURST_SIZE", Kind::K),
                ("BURST_DURATION", Kind::K),
            ],
        )?;
        self.rate = b.f64("RATE")?.unwrap_or(0.0);
        self.tokens = 1.0;
        // A burst makes the bucket start full with that many tokens.
        let burst = match (b.f64("BURST_SIZE")?, b.f64("BURST_DURATION")?) {
            (Some(s), _) => Some(s),
            (None, Some(d)) => Some(d * self.rate),
            _ => None,
        };
        if let Some(s) = burst {
            self.burst = Some(s.max(1.0));
            self.tokens = s.max(1.0);
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let dt = self
            .last
            .map(|l| (now - l).as_secs_f64().max(0.0))
            .unwrap_or(0.0);
        self.last = Some(now);
        let cap = self.burst.unwrap_or(self.rate.max(1.0));
        self.tokens = (self.tokens + dt * self.rate).min(cap);
        let mut tokens = self.tokens;
        let rest = split_batch(&mut batch, |_| {
            if tokens >= 1.0 {
                tokens -= 1.0;
                true
            } else {
                false
            }
        });
        self.tokens = tokens;
        ctx.output(0, batch);
        ctx.output(1, rest);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("rate")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "rate").then(|| Ok(format!("{}", self.rate)))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "rate").then(|| {
            v.trim()
                .parse::<f64>()
                .map(|r| self.rate = r)
                .map_err(|_| "expected rate".to_string())
        })
    }
    any_impl!();
}

/// SetTimestamp([TIMESTAMP]): set the timestamp annotation to now (or a fixed time).
#[derive(Default)]
pub struct SetTimestamp {
    fixed: Option<Timestamp>,
}
impl SetTimestamp {
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        let t = self.fixed.unwrap_or_else(|| ctx.now());
        for p in batch.iter_mut() {
            p.timestamp = t;
        }
    }
}
impl Element for SetTimestamp {
    fn class_name(&self) -> &'static str {
        "SetTimestamp"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("TIMESTAMP", Kind::P),
                ("FIRST", Kind::K),
                ("DELTA", Kind::K),
            ],
        )?;
        if let Some(t) = b.str("TIMESTAMP") {
            self.fixed = Some(Timestamp::from_secs_f64(
                t.trim()
                    .parse::<f64>()
                    .map_err(|_| "TIMESTAMP: expected timestamp")?,
            ));
        }
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// FastUDPFlows(RATE, LIMIT, LEN, SRCETH, SRCIP, DSTETH, DSTIP, FLOWS, FLOWSIZE [, CHECKSUM, ACTIVE]):
/// a pull source of FLOWS UDP flows with pseudo-random ports.
#[derive(Default)]
pub struct FastUDPFlows {
    flows: Vec<(Packet, u64)>,
    limit: Option<u64>,
    flowsize: u64,
    count: u64,
    active: bool,
    cksum: bool,
}
impl FastUDPFlows {
    /// Click's draws: `click_random()`, so a RandomSeed run gives the reference's ports.
    fn rnd(&mut self) -> u64 {
        u64::from(crate::random::random())
    }
    fn set_ports(&mut self, i: usize) {
        let sp = (self.rnd() >> 2) % 0xffff;
        let dp = (self.rnd() >> 2) % 0xffff;
        let ck = self.cksum;
        let p = &mut self.flows[i].0;
        let d = p.data_mut();
        if d.len() >= 42 {
            // Click stores the random ports without htons: host (little-endian) byte order.
            d[34..36].copy_from_slice(&(sp as u16).to_le_bytes());
            d[36..38].copy_from_slice(&(dp as u16).to_le_bytes());
            d[40] = 0;
            d[41] = 0;
            if ck {
                super::ip::set_transport_checksum(&mut d[14..]);
            }
        }
    }
}
impl Element for FastUDPFlows {
    fn class_name(&self) -> &'static str {
        "FastUDPFlows"
    }
    fn port_count(&self) -> &'static str {
        "0/1"
    }
    fn processing(&self) -> &'static str {
        "l"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("RATE", Kind::Mp),
                ("LIMIT", Kind::Mp),
                ("LENGTH", Kind::Mp),
                ("SRCETH", Kind::Mp),
                ("SRCIP", Kind::Mp),
                ("DSTETH", Kind::Mp),
                ("DSTIP", Kind::Mp),
                ("FLOWS", Kind::Mp),
                ("FLOWSIZE", Kind::Mp),
                ("CHECKSUM", Kind::P),
                ("ACTIVE", Kind::P),
            ],
        )?;
        let len = (b.u64("LENGTH")?.unwrap_or(60) as usize).max(60);
        self.limit = b.i64("LIMIT")?.filter(|l| *l >= 0).map(|l| l as u64);
        self.flowsize = b.u64("FLOWSIZE")?.unwrap_or(1).max(1);
        self.cksum = b.bool("CHECKSUM")?.unwrap_or(true);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        let se = b.eth("SRCETH", cx.addrs)?.unwrap_or_default();
        let de = b.eth("DSTETH", cx.addrs)?.unwrap_or_default();
        let si = b
            .ip("SRCIP", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        let di = b
            .ip("DSTIP", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        let n = b.u64("FLOWS")?.unwrap_or(1).max(1) as usize;
        let mut d = vec![0u8; len];
        d[0..6].copy_from_slice(&de);
        d[6..12].copy_from_slice(&se);
        d[12] = 8;
        d[14] = 0x45;
        d[16..18].copy_from_slice(&((len - 14) as u16).to_be_bytes());
        d[22] = 250;
        d[23] = 17;
        d[26..30].copy_from_slice(&si);
        d[30..34].copy_from_slice(&di);
        d[38..40].copy_from_slice(&((len - 34) as u16).to_be_bytes());
        super::ip::set_ip_checksum(&mut d[14..34]);
        for _ in 0..n {
            let mut p = Packet::from_data(&d);
            p.set_network_header(14, 20);
            p.set_mac_header(0);
            p.set_dst_ip_anno(di);
            self.flows.push((p, 0));
        }
        Ok(())
    }
    fn initialize(&mut self, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        // Click draws the first ports when initialising, after every RandomSeed configured.
        for i in 0..self.flows.len() {
            self.set_ports(i);
        }
        Ok(())
    }
    fn pull(&mut self, _port: usize, max: usize, _ctx: &mut Ctx<'_>) -> PacketBatch {
        if !self.active {
            return Vec::new();
        }
        let n = match self.limit {
            Some(l) => (max as u64).min(l.saturating_sub(self.count)) as usize,
            None => max,
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let f = ((self.rnd() >> 2) % self.flows.len() as u64) as usize;
            if self.flows[f].1 == self.flowsize {
                self.flows[f].1 = 0;
                self.set_ports(f);
            }
            self.flows[f].1 += 1;
            out.push(self.flows[f].0.clone());
        }
        self.count += n as u64;
        out
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("count"), HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "active" => bool_str(self.active),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| parse_bool_h(v).map(|b| self.active = b))
    }
    any_impl!();
}
