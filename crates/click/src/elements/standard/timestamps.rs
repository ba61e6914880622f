//! The timestamp annotation: SetTimestamp, AdjustTimestamp, TimestampAccum.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::FIRST_TIMESTAMP_ANNO_OFFSET;
use crate::packet::{PacketBatch, Timestamp};
use crate::{element_class, simple_push_pull};

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
    element_class!(class: "SetTimestamp", ports: "1/1");
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
}

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
    element_class!(class: "TimestampAccum", ports: "1/1");
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
        let g = |v: f64| crate::elements::scripting::script::fmt_g(v, 12);
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
}

/// AdjustTimestamp([TIME, FIRST, ALL]): adds TIME (may be negative) to each packet's nonzero
/// timestamp (every timestamp with ALL; the first-timestamp annotation with FIRST).
#[derive(Default)]
pub struct AdjustTimestamp {
    delta: Timestamp,
    first: bool,
    all: bool,
}
impl AdjustTimestamp {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if self.first {
                // stored as nanoseconds in the FIRST_TIMESTAMP annotation bytes
                let o = FIRST_TIMESTAMP_ANNO_OFFSET;
                let mut b = [0u8; 8];
                b.copy_from_slice(&p.anno[o..o + 8]);
                let t = i64::from_ne_bytes(b);
                if t != 0 || self.all {
                    let t = t.saturating_add(self.delta.0);
                    p.anno[o..o + 8].copy_from_slice(&t.to_ne_bytes());
                }
            } else if !p.timestamp.is_zero() || self.all {
                p.timestamp = p.timestamp + self.delta;
            }
        }
    }
}
impl Element for AdjustTimestamp {
    element_class!(class: "AdjustTimestamp", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = args::bind(
            conf,
            &[
                ("TIME", args::Kind::P),
                ("FIRST", args::Kind::K),
                ("ALL", args::Kind::K),
            ],
        )?;
        if let Some(t) = b.str("TIME") {
            let t = t.trim();
            let (neg, mag) = match t.strip_prefix('-') {
                Some(m) => (true, m),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let v = args::parse_time(mag).ok_or("TIME: expected timestamp")?;
            self.delta = Timestamp::from_secs_f64(if neg { -v } else { v });
        }
        self.first = b.bool("FIRST")?.unwrap_or(false);
        self.all = b.bool("ALL")?.unwrap_or(false);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("time")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "time").then(|| Ok(self.delta.to_string()))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "time").then(|| {
            let v = v.trim();
            let (neg, mag) = match v.strip_prefix('-') {
                Some(m) => (true, m),
                None => (false, v),
            };
            let t = args::parse_time(mag).ok_or("expected timestamp")?;
            self.delta = Timestamp::from_secs_f64(if neg { -t } else { t });
            Ok(())
        })
    }
}
