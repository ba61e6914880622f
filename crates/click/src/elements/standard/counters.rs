//! Counter and AverageCounter.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{PacketBatch, Timestamp};
use crate::{element_class, simple_push_pull};

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
    element_class!(class: "Counter", ports: "1/1");
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
    element_class!(class: "AverageCounter", ports: "1/1");
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
}
