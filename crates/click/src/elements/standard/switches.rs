//! Output choosers: Tee, Switch and its variants (StaticSwitch, RoundRobinSwitch, HashSwitch,
//! RandomSwitch), Hub, RandomSample, RatedSplitter.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::shared::classify_out;
use crate::elements::{bool_str, parse_bool_h, split_batch};
use crate::packet::{PacketBatch, Timestamp};

/// Tee: copies each packet to every output.
#[derive(Default)]
pub struct Tee {
    n: usize,
}
impl Element for Tee {
    element_class!(class: "Tee", ports: "1/1-", processing: "h");
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
    pub(crate) fn new(class: &'static str) -> Self {
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
    element_class!(self => class: self.class, ports: "1/-", processing: "h");
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
    element_class!(class: "RandomSample", ports: "1/1-2", processing: "a/ah");
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
    element_class!(class: "RatedSplitter", ports: "1/2", processing: "h");
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
}

/// Hub: a packet arriving on input i is copied to every output except output i.
#[derive(Default)]
pub struct Hub {
    n: usize,
}
impl Element for Hub {
    element_class!(class: "Hub", ports: "-/=", processing: "h");
    fn configure(&mut self, _conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.n = cx.noutputs;
        Ok(())
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let outs: Vec<usize> = (0..self.n).filter(|&o| o != port).collect();
        let Some((&last, rest)) = outs.split_last() else {
            return;
        };
        for &o in rest {
            ctx.output(o, batch.to_vec());
        }
        ctx.output(last, batch);
    }
}
