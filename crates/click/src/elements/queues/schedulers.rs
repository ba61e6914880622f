//! Pull-side schedulers and switches: RoundRobinSched, PrioSched, PullSwitch (with
//! SimplePullSwitch, InputSwitch) and PullTee.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::packet::PacketBatch;

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
    element_class! {
        self =>
        class: if self.prio { "PrioSched" } else { "RoundRobinSched" },
        ports: "-/1",
        processing: "l",
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
    element_class! {
        self =>
        class: self.class,
        ports: "-/1",
        processing: if self.class == "InputSwitch" { "h" } else { "l" },
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
}

// ---------------------------------------------------------------- PullTee

/// PullTee([N]): a pulled packet is returned on output 0 and copied to the push outputs 1..N-1.
#[derive(Default)]
pub struct PullTee;

impl Element for PullTee {
    element_class!(class: "PullTee", ports: "1/1-", processing: "l/lh");
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
}

// ---------------------------------------------------------------- PaintTee

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::elements::shared::test_util::sim_router;
    use crate::MemEnv;

    #[test]
    fn sched_round_robin_and_prio() {
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
    fn sched_tees_checklength_pad_dscp_ce() {
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
    fn sched_pull_switch_and_pull_tee() {
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
    fn sched_timestamp_accum() {
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
