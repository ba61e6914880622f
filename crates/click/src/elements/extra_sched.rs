//! Pull-side schedulers and small packet utilities: RoundRobinSched, PrioSched, PullSwitch,
//! PullTee, PaintTee, CheckLength, Pad, SetIPDSCP, MarkIPCE, TimestampAccum.

use super::{bool_str, parse_u64_h};
use crate::any_impl;
use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{Packet, PacketBatch, EXTRA_LENGTH_ANNO_OFFSET};
use crate::simple_push_pull;

// ---------------------------------------------------------------- RoundRobinSched / PrioSched

/// RoundRobinSched / PrioSched: pull from inputs in turn, or always from the lowest-numbered
/// input that has a packet.
pub struct Sched {
    prio: bool,
    next: usize,
}

impl Sched {
    /// `prio` = PrioSched, otherwise RoundRobinSched.
    pub fn new(prio: bool) -> Self {
        Sched { prio, next: 0 }
    }
}

impl Element for Sched {
    fn class_name(&self) -> &'static str {
        if self.prio {
            "PrioSched"
        } else {
            "RoundRobinSched"
        }
    }
    fn port_count(&self) -> &'static str {
        "-/1"
    }
    fn processing(&self) -> &'static str {
        "l"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        // Click's RoundRobinSched accepts an optional MAX_CHUNK; neither needs more.
        bind(conf, &[("MAX_CHUNK", Kind::P)]).map(|_| ())
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let n = ctx.ninputs();
        let mut out = Vec::new();
        if n == 0 || max == 0 {
            return out;
        }
        if self.prio {
            for i in 0..n {
                let want = max - out.len();
                if want == 0 {
                    break;
                }
                out.extend(ctx.pull(i, want));
            }
            return out;
        }
        // One packet per input in turn, like Click's one-packet pulls, until `max` or a full
        // round finds nothing.
        let mut idle = 0;
        while out.len() < max && idle < n {
            let i = self.next % n;
            self.next = (i + 1) % n;
            let mut b = ctx.pull(i, 1);
            if b.is_empty() {
                idle += 1;
            } else {
                idle = 0;
                out.append(&mut b);
            }
        }
        out
    }
    any_impl!();
}

// ---------------------------------------------------------------- PullSwitch

/// PullSwitch([INPUT]) and SimplePullSwitch([INPUT]): pull only from the selected input
/// (-1 = none); InputSwitch([INPUT]) is the push form, dropping packets from the other inputs.
/// `switch` handler.
pub struct PullSwitch {
    class: &'static str,
    input: i64,
}

impl PullSwitch {
    /// `class` is "PullSwitch", "SimplePullSwitch" or "InputSwitch".
    pub fn new(class: &'static str) -> Self {
        PullSwitch { class, input: 0 }
    }

    fn set_notifier(&self, active: bool, ctx: &mut Ctx<'_>) {
        if self.class == "PullSwitch" {
            ctx.set_signal(active);
        }
    }
}

impl Element for PullSwitch {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "-/1"
    }
    fn processing(&self) -> &'static str {
        if self.class == "InputSwitch" {
            "h"
        } else {
            "l"
        }
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        if port as i64 == self.input {
            ctx.output(0, batch);
        }
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("INPUT", Kind::P)])?;
        self.input = b.i64("INPUT")?.unwrap_or(0);
        if self.input >= cx.ninputs as i64 {
            self.input = -1;
        }
        Ok(())
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        if self.input < 0 {
            self.set_notifier(false, ctx);
            return Vec::new();
        }
        let b = ctx.pull(self.input as usize, max);
        if !b.is_empty() {
            self.set_notifier(true, ctx);
        } else if !ctx.upstream_active_on(self.input as usize) {
            self.set_notifier(false, ctx);
        }
        b
    }
    // PullSwitch (not SimplePullSwitch) is an empty notifier following its selected input.
    fn is_empty_notifier(&self) -> bool {
        self.class == "PullSwitch"
    }
    fn listens_upstream(&self) -> bool {
        self.class == "PullSwitch"
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if self.class == "PullSwitch" {
            ctx.set_signal(self.input >= 0);
        }
        Ok(())
    }
    fn upstream_wake(&mut self, ctx: &mut Ctx<'_>) {
        if self.input >= 0 && ctx.upstream_active_on(self.input as usize) {
            ctx.set_signal(true);
        }
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("switch")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "switch").then(|| Ok(self.input.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "switch").then(|| match crate::args::parse_i64(value) {
            Some(v) => {
                self.input = if v < 0 || v >= ctx.ninputs() as i64 {
                    -1
                } else {
                    v
                };
                if self.input < 0 {
                    self.set_notifier(false, ctx);
                } else if ctx.upstream_active_on(self.input as usize) {
                    self.set_notifier(true, ctx);
                }
                Ok(())
            }
            None => Err("expected integer".into()),
        })
    }
    any_impl!();
}

// ---------------------------------------------------------------- PullTee

/// PullTee([N]): a pulled packet is returned on output 0 and copied to the push outputs 1..N-1.
#[derive(Default)]
pub struct PullTee;

impl Element for PullTee {
    fn class_name(&self) -> &'static str {
        "PullTee"
    }
    fn port_count(&self) -> &'static str {
        "1/1-"
    }
    fn processing(&self) -> &'static str {
        "l/lh"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("N", Kind::P)])?;
        if let Some(n) = b.u64("N")? {
            if n as usize != cx.noutputs {
                return Err(format!("{n} outputs specified, but {} used", cx.noutputs));
            }
        }
        Ok(())
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let b = ctx.pull(0, max);
        if !b.is_empty() {
            for o in 1..ctx.noutputs() {
                ctx.output(o, b.to_vec());
            }
        }
        b
    }
    any_impl!();
}

// ---------------------------------------------------------------- PaintTee

/// PaintTee(COLOR [, ANNO]): copies packets painted COLOR to output 1; all go to output 0.
#[derive(Default)]
pub struct PaintTee {
    color: u8,
    anno: usize,
}

impl PaintTee {
    fn copies(&self, batch: &PacketBatch) -> PacketBatch {
        batch
            .iter()
            .filter(|p| p.anno[self.anno] == self.color)
            .cloned()
            .collect()
    }
}

impl Element for PaintTee {
    fn class_name(&self) -> &'static str {
        "PaintTee"
    }
    fn port_count(&self) -> &'static str {
        "1/2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("COLOR", Kind::Mp), ("ANNO", Kind::P)])?;
        self.color =
            u8::try_from(b.u64("COLOR")?.unwrap_or(0)).map_err(|_| "COLOR: out of range")?;
        self.anno = match b.str("ANNO").map(str::trim) {
            None | Some("PAINT") => crate::packet::PAINT_ANNO_OFFSET,
            Some(s) => crate::args::parse_u64(s)
                .map(|v| v as usize)
                .filter(|&v| v < crate::packet::ANNO_SIZE)
                .ok_or("ANNO: bad annotation")?,
        };
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let c = self.copies(&batch);
        ctx.output(1, c);
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let b = ctx.pull(0, max);
        let c = self.copies(&b);
        ctx.output(1, c);
        b
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("color")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "color").then(|| Ok(self.color.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "color").then(|| {
            parse_u64_h(value)
                .and_then(|v| u8::try_from(v).map_err(|_| "out of range".to_string()))
                .map(|v| self.color = v)
        })
    }
    any_impl!();
}

// ---------------------------------------------------------------- CheckLength

/// CheckLength(LENGTH): packets longer than LENGTH go to output 1 (or are dropped).
#[derive(Default)]
pub struct CheckLength {
    max: usize,
}

impl CheckLength {
    fn check(&mut self, p: &mut Packet, _ctx: &mut Ctx<'_>) -> bool {
        p.len() <= self.max
    }
}

impl Element for CheckLength {
    fn class_name(&self) -> &'static str {
        "CheckLength"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::Mp)])?;
        self.max = b.u64("LENGTH")?.unwrap_or(0) as usize;
        Ok(())
    }
    crate::extra_filter_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("length")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "length").then(|| Ok(self.max.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "length").then(|| parse_u64_h(value).map(|v| self.max = v as usize))
    }
    any_impl!();
}

// ---------------------------------------------------------------- Pad

/// Pad([LENGTH, ZERO]): extends packets to LENGTH bytes, or by their extra-length annotation.
pub struct Pad {
    len: usize,
    zero: bool,
}

impl Default for Pad {
    fn default() -> Self {
        Pad { len: 0, zero: true }
    }
}

impl Pad {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let add = if self.len != 0 {
                self.len.saturating_sub(p.len())
            } else {
                p.anno_u32(EXTRA_LENGTH_ANNO_OFFSET) as usize
            };
            // `put` always zero-fills, which also covers ZERO false (any content is allowed).
            if add > 0 && add <= 0xffff {
                p.put(add);
            }
            p.set_anno_u32(EXTRA_LENGTH_ANNO_OFFSET, 0);
        }
    }
}

impl Element for Pad {
    fn class_name(&self) -> &'static str {
        "Pad"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("LENGTH", Kind::P), ("ZERO", Kind::K)])?;
        self.len = b.u64("LENGTH")?.unwrap_or(0) as usize;
        self.zero = b.bool("ZERO")?.unwrap_or(true);
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

// ---------------------------------------------------------------- SetIPDSCP / MarkIPCE

/// Rewrite the IP TOS byte, keeping the header checksum valid (incremental update).
fn set_tos(p: &mut Packet, f: impl Fn(u8) -> u8) -> bool {
    let Some(ip) = p.network_header_mut() else {
        return false;
    };
    if ip.len() < 20 {
        return false;
    }
    let old = u16::from_be_bytes([ip[0], ip[1]]);
    ip[1] = f(ip[1]);
    let new = u16::from_be_bytes([ip[0], ip[1]]);
    let c = netwire::checksum::update(u16::from_be_bytes([ip[10], ip[11]]), old, new);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    true
}

/// SetIPDSCP(DSCP): sets the DSCP bits of IP packets (IP header annotation required).
#[derive(Default)]
pub struct SetIpDscp {
    dscp: u8,
}

impl SetIpDscp {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let d = self.dscp << 2;
        for p in batch.iter_mut() {
            set_tos(p, |t| (t & 3) | d);
        }
    }
}

impl Element for SetIpDscp {
    fn class_name(&self) -> &'static str {
        "SetIPDSCP"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("DSCP", Kind::Mp)])?;
        let d = b.u64("DSCP")?.unwrap_or(0);
        if d > 63 {
            return Err("diffserv code point out of range".into());
        }
        self.dscp = d as u8;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("dscp")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "dscp").then(|| Ok(self.dscp.to_string()))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "dscp").then(|| match parse_u64_h(value) {
            Ok(v) if v <= 63 => {
                self.dscp = v as u8;
                Ok(())
            }
            Ok(_) => Err("diffserv code point out of range".into()),
            Err(e) => Err(e),
        })
    }
    any_impl!();
}

/// MarkIPCE([FORCE]): marks ECN-capable IP packets Congestion Experienced; non-ECT packets are
/// dropped unless FORCE.
#[derive(Default)]
pub struct MarkIpCe {
    force: bool,
    drops: u64,
}

impl MarkIpCe {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let force = self.force;
        let before = batch.len();
        batch.retain_mut(|p| {
            let Some(ecn) = p.network_header().and_then(|ip| ip.get(1)).map(|t| t & 3) else {
                return false;
            };
            if ecn == 0 && !force {
                return false;
            }
            if ecn != 3 {
                set_tos(p, |t| t | 3);
            }
            true
        });
        self.drops += (before - batch.len()) as u64;
    }
}

impl Element for MarkIpCe {
    fn class_name(&self) -> &'static str {
        "MarkIPCE"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("FORCE", Kind::P)])?;
        self.force = b.bool("FORCE")?.unwrap_or(false);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops"), HandlerSpec::r("force")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "drops" => Some(Ok(self.drops.to_string())),
            "force" => Some(Ok(bool_str(self.force))),
            _ => None,
        }
    }
    any_impl!();
}

// ---------------------------------------------------------------- TimestampAccum

/// TimestampAccum: accumulates, per packet, the time elapsed since its timestamp annotation.
#[derive(Default)]
pub struct TimestampAccum {
    count: u64,
    secs: f64,
}

impl TimestampAccum {
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        if batch.is_empty() {
            return;
        }
        let now = ctx.now();
        for p in batch.iter() {
            self.secs += (now - p.timestamp).as_secs_f64();
        }
        self.count += batch.len() as u64;
    }
}

impl Element for TimestampAccum {
    fn class_name(&self) -> &'static str {
        "TimestampAccum"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::r("time"),
            HandlerSpec::r("average_time"),
            HandlerSpec::w("reset_counts"),
        ]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let g = |v: f64| super::extra_script::fmt_g(v, 12);
        let v = match name {
            "count" => self.count.to_string(),
            "time" => g(self.secs),
            // 0/0 prints as glibc does in reference Click.
            "average_time" if self.count == 0 => "-nan".into(),
            "average_time" => g(self.secs / self.count as f64),
            _ => return None,
        };
        Some(Ok(v))
    }
    fn write_handler(&mut self, name: &str, _value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "reset_counts").then(|| {
            self.count = 0;
            self.secs = 0.0;
            Ok(())
        })
    }
    any_impl!();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::extra::test_util::sim_router;
    use crate::MemEnv;

    #[test]
    fn extra_sched_round_robin_and_prio() {
        let env = MemEnv::default();
        // Reference Click gives the same counts: RoundRobinSched alternates, PrioSched drains
        // input 0 first.
        let conf = "InfiniteSource(LIMIT 6, STOP false) -> Paint(1) -> q0 :: Queue; InfiniteSource(LIMIT 6, STOP false) -> Paint(2) -> q1 :: Queue;
            rr :: RoundRobinSched; q0 -> [0]rr; q1 -> [1]rr; rr -> u :: Unqueue(LIMIT 4) -> ps :: PaintSwitch;
            ps[0] -> Discard; ps[1] -> a :: Counter -> Discard; ps[2] -> b :: Counter -> Discard;
            InfiniteSource(LIMIT 6, STOP false) -> Paint(1) -> p0 :: Queue; InfiniteSource(LIMIT 6, STOP false) -> Paint(2) -> p1 :: Queue;
            pr :: PrioSched; p0 -> [0]pr; p1 -> [1]pr; pr -> Unqueue(LIMIT 8) -> ps2 :: PaintSwitch;
            ps2[0] -> Discard; ps2[1] -> c :: Counter -> Discard; ps2[2] -> d :: Counter -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(200);
        assert_eq!(r.read_handler("a.count").unwrap(), "2");
        assert_eq!(r.read_handler("b.count").unwrap(), "2");
        assert_eq!(r.read_handler("c.count").unwrap(), "6");
        assert_eq!(r.read_handler("d.count").unwrap(), "2");
    }

    #[test]
    fn extra_sched_tees_checklength_pad_dscp_ce() {
        let env = MemEnv::default();
        let conf = "InfiniteSource(DATA \\<45000014 00000000 40110000 0a000001 0a000002>, LIMIT 3, STOP true) -> MarkIPHeader -> SetIPChecksum
              -> Paint(3) -> pt :: PaintTee(3) -> cl :: CheckLength(19) -> Discard;
            pt[1] -> copies :: Counter -> Pad(30) -> SetIPDSCP(46) -> MarkIPCE(true) -> Print(ce, -1) -> CheckIPHeader -> ok :: Counter -> Discard;
            cl[1] -> long :: Counter -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(r.read_handler("copies.count").unwrap(), "3");
        assert_eq!(r.read_handler("long.count").unwrap(), "3");
        // Checksum still valid after the two TOS rewrites.
        assert_eq!(r.read_handler("ok.count").unwrap(), "3");
        let ch = env.chatter.borrow().clone();
        assert!(ch.contains("ce:   30 | 45bb0014 00000000 4011"), "{ch}");
        r.write_handler("pt.color", "4").unwrap();
        assert_eq!(r.read_handler("pt.color").unwrap(), "4");
        assert_eq!(r.read_handler("cl.length").unwrap(), "19");
    }

    #[test]
    fn extra_sched_pull_switch_and_pull_tee() {
        let env = MemEnv::default();
        let conf = "InfiniteSource(LIMIT 3, STOP false) -> q0 :: Queue; InfiniteSource(LIMIT 5, STOP false) -> q1 :: Queue;
            sw :: PullSwitch(1); q0 -> [0]sw; q1 -> [1]sw; sw -> t :: PullTee(2) -> Unqueue -> a :: Counter -> Discard;
            t[1] -> b :: Counter -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(200);
        assert_eq!(r.read_handler("a.count").unwrap(), "5");
        assert_eq!(r.read_handler("b.count").unwrap(), "5");
        r.write_handler("sw.switch", "0").unwrap();
        r.run_to_completion(200);
        assert_eq!(r.read_handler("a.count").unwrap(), "8");
        r.write_handler("sw.switch", "7").unwrap();
        assert_eq!(r.read_handler("sw.switch").unwrap(), "-1");
    }

    #[test]
    fn extra_sched_timestamp_accum() {
        let env = MemEnv::default();
        let conf = "InfiniteSource(LIMIT 4, STOP false) -> SetTimestamp -> q :: Queue -> Unqueue -> t :: TimestampAccum -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(r.read_handler("t.count").unwrap(), "4");
        let time: f64 = r.read_handler("t.time").unwrap().parse().unwrap();
        assert!(time > 0.0 && time < 1.0, "{time}");
        r.write_handler("t.reset_counts", "").unwrap();
        assert_eq!(r.read_handler("t.count").unwrap(), "0");
        assert_eq!(r.read_handler("t.average_time").unwrap(), "-nan");
    }
}
