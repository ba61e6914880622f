//! Packet sources: InfiniteSource, RatedSource, TimedSource and FastUDPFlows.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::{bool_str, parse_bool_h, parse_u64_h};
use crate::packet::{Packet, PacketBatch, Timestamp};

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
    pub(crate) fn new(class: &'static str) -> Self {
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
    element_class!(self => class: self.class, ports: "0/1");
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
                crate::elements::ip::set_transport_checksum(&mut d[14..]);
            }
        }
    }
}
impl Element for FastUDPFlows {
    element_class!(class: "FastUDPFlows", ports: "0/1", processing: "l");
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
        crate::elements::ip::set_ip_checksum(&mut d[14..34]);
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
}
