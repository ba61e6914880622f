//! Trace analysis: TimeFilter, TimeSortedSched and AggregateCounter.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{PacketBatch, Timestamp, AGGREGATE_ANNO_OFFSET};
use crate::registry::Registry;
use crate::{element_class, Packet};
use std::collections::BTreeMap;

/// Register the analysis classes.
pub fn register(r: &mut Registry) {
    r.register("TimeFilter", || Box::<TimeFilter>::default());
    r.register("TimeSortedSched", || Box::<TimeSortedSched>::default());
    r.register("AggregateCounter", || Box::<AggregateCounter>::default());
    r.register("SetTimestampDelta", || Box::<SetTimestampDelta>::default());
}

/// SetTimestampDelta: replaces each nonzero timestamp by its difference from the first
/// nonzero timestamp seen (handler `first`; writing `reset` starts over).
#[derive(Default)]
pub struct SetTimestampDelta {
    first: Option<Timestamp>,
}

impl SetTimestampDelta {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if !p.timestamp.is_zero() {
                let first = *self.first.get_or_insert(p.timestamp);
                p.timestamp = Timestamp(p.timestamp.0 - first.0);
            }
        }
    }
}

impl Element for SetTimestampDelta {
    element_class!(class: "SetTimestampDelta", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("TYPE", Kind::P)])?;
        match b.str("TYPE").map(str::trim) {
            None | Some("RANGE") | Some("FIRST") => Ok(()),
            Some(t) => Err(format!("TYPE: unsupported type '{t}'")),
        }
    }
    crate::simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("first"), HandlerSpec::w("reset")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "first").then(|| Ok(self.first.unwrap_or_default().to_string()))
    }
    fn write_handler(&mut self, name: &str, _v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "reset").then(|| {
            self.first = None;
            Ok(())
        })
    }
}

fn parse_ts(s: &str) -> Option<Timestamp> {
    crate::args::parse_time(s).map(Timestamp::from_secs_f64)
}

/// How TimeFilter's end is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EndMode {
    #[default]
    Absolute,
    /// END_AFTER: relative to the first packet.
    AfterFirst,
    /// INTERVAL: relative to the start.
    Interval,
}

/// TimeFilter(START, END, ...): packets whose timestamp lies in [START, END) go to output 0,
/// others to output 1. END_CALL names a write handler called (with `$t` the packet's time)
/// when the first packet at or after END arrives; it may extend the interval.
#[derive(Default)]
pub struct TimeFilter {
    first: Timestamp,
    last: Timestamp,
    first_relative: bool,
    end_mode: EndMode,
    ready: bool,
    end_call: Option<(String, String)>,
    end_call_ready: bool,
}

impl TimeFilter {
    fn first_packet(&mut self, t: Timestamp) {
        if self.first_relative {
            self.first = self.first + t;
        }
        match self.end_mode {
            EndMode::AfterFirst => self.last = self.last + t,
            EndMode::Interval => self.last = self.last + self.first,
            EndMode::Absolute => {}
        }
        self.ready = true;
    }

    fn keep(&mut self, p: &Packet, ctx: &mut Ctx<'_>) -> bool {
        let t = p.timestamp;
        if !self.ready {
            self.first_packet(t);
        }
        if t < self.first {
            return false;
        }
        if t >= self.last && self.end_call_ready {
            while let Some((h, v)) = self.end_call.clone() {
                let prev = self.last;
                self.end_call_ready = false;
                let v = v.replace("$t", &t.to_string());
                if let Err(e) = ctx.call_write(&h, &v) {
                    ctx.chatter(&format!("{}: {h}: {e}", ctx.name()));
                }
                // The handler may have written ours (extend_interval); we are busy, so the
                // router deferred those writes to us.
                for (name, value) in ctx.take_own_deferred_writes() {
                    let _ = self.write(&name, &value);
                }
                if !(t >= self.last && self.end_call_ready && self.last > prev) {
                    break;
                }
            }
        }
        t < self.last
    }

    fn write(&mut self, name: &str, v: &str) -> Option<Result<(), String>> {
        let parsed = || parse_ts(v).ok_or_else(|| "expected time".to_string());
        Some(match name {
            "start" => parsed().map(|t| {
                if !self.ready {
                    self.first_packet(t);
                }
                self.first = t;
            }),
            "end" => parsed().map(|t| {
                self.last = t;
                self.end_mode = EndMode::Absolute;
                self.end_call_ready = true;
            }),
            "interval" => parsed().map(|t| {
                self.last = self.first + t;
                self.end_call_ready = true;
            }),
            "extend_interval" => parsed().map(|t| {
                self.last = self.last + t;
                self.end_call_ready = true;
            }),
            _ => return None,
        })
    }
}

impl Element for TimeFilter {
    element_class!(class: "TimeFilter", ports: "1/1-2");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("START", Kind::P),
                ("END", Kind::P),
                ("START_DELAY", Kind::K),
                ("END_DELAY", Kind::K),
                ("START_AFTER", Kind::K),
                ("END_AFTER", Kind::K),
                ("INTERVAL", Kind::K),
                ("STOP", Kind::K),
                ("END_CALL", Kind::K),
            ],
        )?;
        let ts = |k: &str| -> Result<Option<Timestamp>, String> {
            Ok(b.time(k)?.map(Timestamp::from_secs_f64))
        };
        let starts = [ts("START")?, ts("START_AFTER")?];
        if starts.iter().flatten().count() > 1 || b.has("START_DELAY") {
            return Err("START, START_AFTER, and START_AFTER_INIT are mutually exclusive".into());
        }
        match starts {
            [Some(t), _] => self.first = t,
            [None, t] => {
                self.first = t.unwrap_or_default();
                self.first_relative = true;
            }
        }
        let ends = [ts("END")?, ts("END_AFTER")?, ts("INTERVAL")?];
        if ends.iter().flatten().count() > 1 {
            return Err(
                "END, END_AFTER, END_AFTER_INIT, and INTERVAL are mutually exclusive".into(),
            );
        }
        match ends {
            [Some(t), _, _] => self.last = t,
            [None, Some(t), _] => {
                self.last = t;
                self.end_mode = EndMode::AfterFirst;
            }
            [None, None, Some(t)] => {
                self.last = t;
                self.end_mode = EndMode::Interval;
            }
            _ => self.last = Timestamp(i64::MAX / 2),
        }
        let stop = b.bool("STOP")?.unwrap_or(false);
        let call = b.string("END_CALL")?;
        self.end_call = match (call, stop) {
            (Some(_), true) => return Err("END_CALL and STOP are mutually exclusive".into()),
            (Some(c), false) => {
                let c = c.trim();
                let (h, v) = c.split_once(char::is_whitespace).unwrap_or((c, ""));
                Some((h.to_string(), v.trim().to_string()))
            }
            (None, true) => Some(("stop".into(), "true".into())),
            (None, false) => None,
        };
        self.end_call_ready = self.end_call.is_some();
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let out = crate::elements::split_batch(&mut batch, |p| self.keep(p, ctx));
        ctx.output(0, batch);
        ctx.output(1, out);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut batch = ctx.pull(0, max);
        let out = crate::elements::split_batch(&mut batch, |p| self.keep(p, ctx));
        ctx.output(1, out);
        batch
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::rw("start"),
            HandlerSpec::rw("end"),
            HandlerSpec::rw("interval"),
            HandlerSpec::w("extend_interval"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "start" => self.first.to_string(),
            "end" => self.last.to_string(),
            "interval" => (self.last - self.first).to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        self.write(name, v)
    }
}

/// TimeSortedSched([BUFFER, STOP]): pulls from every input and emits the packet with the
/// earliest timestamp first, keeping up to BUFFER packets per input.
pub struct TimeSortedSched {
    buffer: usize,
    stop: bool,
    /// Buffered packets per input, in arrival order.
    held: Vec<Vec<Packet>>,
    last_emission: Timestamp,
    well_ordered: bool,
}

impl Default for TimeSortedSched {
    fn default() -> Self {
        TimeSortedSched {
            buffer: 1,
            stop: false,
            held: Vec::new(),
            last_emission: Timestamp::ZERO,
            well_ordered: true,
        }
    }
}

impl TimeSortedSched {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Option<Packet> {
        if self.held.len() != ctx.ninputs() {
            self.held = (0..ctx.ninputs()).map(|_| Vec::new()).collect();
        }
        // Only inputs whose upstream notifiers are active are pulled, and the run stops
        // (STOP) only when none is: a queue that empties for a moment is not the end.
        let mut signals_on = false;
        for i in (0..self.held.len()).rev() {
            if !ctx.upstream_active_on(i) {
                continue;
            }
            signals_on = true;
            while self.held[i].len() < self.buffer {
                match ctx.pull(i, 1).pop() {
                    Some(p) => self.held[i].push(p),
                    None => break,
                }
            }
        }
        // Earliest packet over all buffers (first held wins ties).
        let best = self
            .held
            .iter()
            .enumerate()
            .flat_map(|(i, v)| v.iter().enumerate().map(move |(j, p)| (p.timestamp, i, j)))
            .min();
        ctx.set_signal(best.is_some() || signals_on);
        let Some((ts, i, j)) = best else {
            if self.stop && !signals_on {
                ctx.stop_router();
            }
            return None;
        };
        if !ts.is_zero() {
            if !self.last_emission.is_zero() && ts < self.last_emission {
                self.well_ordered = false;
            }
            self.last_emission = ts;
        }
        Some(self.held[i].remove(j))
    }
}

impl Element for TimeSortedSched {
    element_class!(class: "TimeSortedSched", ports: "-/1", processing: "l/l");
    /// An empty notifier relaying its inputs' notifiers (Click passes its own notifier as
    /// their wake target).
    fn is_empty_notifier(&self) -> bool {
        true
    }
    fn listens_upstream(&self) -> bool {
        true
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        ctx.set_signal(true);
        Ok(())
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("STOP", Kind::K), ("BUFFER", Kind::K)])?;
        self.stop = b.bool("STOP")?.unwrap_or(false);
        let buffer = b.i64("BUFFER")?.unwrap_or(1);
        if buffer <= 0 {
            return Err("BUFFER must be at least 1".into());
        }
        self.buffer = buffer as usize;
        Ok(())
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut out = Vec::new();
        while out.len() < max {
            match self.next(ctx) {
                Some(p) => out.push(p),
                None => break,
            }
        }
        out
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("well_ordered")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "well_ordered").then(|| Ok(crate::elements::bool_str(self.well_ordered)))
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        self.held.clear();
    }
}

/// AggregateCounter: counts packets (and bytes) per aggregate annotation; `write_text_file`
/// writes `AGGREGATE COUNT` lines in aggregate order.
#[derive(Default)]
pub struct AggregateCounter {
    bytes: bool,
    ip_bytes: bool,
    counts: BTreeMap<u32, u64>,
    active: bool,
}

impl AggregateCounter {
    fn count(&mut self, batch: &PacketBatch) {
        if !self.active {
            return;
        }
        for p in batch {
            let a = p.anno_u32(AGGREGATE_ANNO_OFFSET);
            let n = if self.bytes {
                let l = if self.ip_bytes {
                    p.network_header()
                        .and_then(|h| h.get(2..4))
                        .map(|b| u16::from_be_bytes([b[0], b[1]]) as u64)
                        .unwrap_or(p.len() as u64)
                } else {
                    p.len() as u64
                };
                l + p.anno_u32(crate::packet::EXTRA_LENGTH_ANNO_OFFSET) as u64
            } else {
                1
            };
            *self.counts.entry(a).or_insert(0) += n;
        }
    }

    fn text(&self, ctx: &Ctx<'_>) -> String {
        // Click's write_file banner: the format line and the number of nonzero aggregates.
        let mut s = format!(
            "!IPAggregate 1.0\n!num_nonzero {}\n",
            self.counts.values().filter(|c| **c > 0).count(),
        );
        let _ = ctx;
        for (a, c) in &self.counts {
            if *c > 0 {
                s.push_str(&format!("{a} {c}\n"));
            }
        }
        s
    }
}

impl Element for AggregateCounter {
    element_class!(class: "AggregateCounter", ports: "1-2/1-2", flow: "#/#");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("BYTES", Kind::K),
                ("IP_BYTES", Kind::K),
                ("MULTIPACKET", Kind::K),
                ("EXTENDED", Kind::K),
                ("AND_BYTES", Kind::K),
                ("ACTIVE", Kind::K),
                ("BANNER", Kind::K),
                ("STOP_AFTER", Kind::K),
                ("CALL_AFTER", Kind::K),
            ],
        )?;
        self.bytes = b.bool("BYTES")?.unwrap_or(false);
        self.ip_bytes = b.bool("IP_BYTES")?.unwrap_or(false);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        Ok(())
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        self.count(&batch);
        ctx.output(port, batch);
    }
    fn pull(&mut self, port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let b = ctx.pull(port, max);
        self.count(&b);
        b
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::w("write_text_file"),
            HandlerSpec::w("write_file"),
            HandlerSpec::w("write_ip_file"),
            HandlerSpec::w("clear"),
            HandlerSpec::rw("active"),
            HandlerSpec::r("nnz"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "active" => crate::elements::bool_str(self.active),
            "nnz" => self.counts.values().filter(|c| **c > 0).count().to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "write_text_file" | "write_file" | "write_ip_file" => {
                let text = self.text(ctx);
                let path = crate::args::unquote(v.trim());
                let r = ctx.env().create_file(&path).and_then(|mut f| {
                    f.write_all(text.as_bytes())?;
                    f.flush()
                });
                Some(r.map_err(|e| format!("{path}: {e}")))
            }
            "clear" => {
                self.counts.clear();
                Some(Ok(()))
            }
            "active" => Some(crate::elements::parse_bool_h(v).map(|b| self.active = b)),
            _ => None,
        }
    }
}

use std::io::Write as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_filter_extends_its_interval() {
        let mut f = TimeFilter {
            last: Timestamp::new(1, 0),
            ..Default::default()
        };
        assert_eq!(f.write("extend_interval", "1.5"), Some(Ok(())));
        assert_eq!(f.last, Timestamp::new(2, 500_000_000));
        assert!(f.write("bogus", "1").is_none());
    }
}
