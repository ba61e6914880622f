//! Small classes from Click's test, standard and analysis sets: Message, Hub, Resize,
//! AdjustTimestamp.

use crate::args;
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{PacketBatch, Timestamp, FIRST_TIMESTAMP_ANNO_OFFSET};
use crate::registry::Registry;
use crate::{any_impl, simple_push_pull};

/// Register the classes of this module.
pub fn register(r: &mut Registry) {
    r.register("Message", || Box::<Message>::default());
    r.register("Hub", || Box::<Hub>::default());
    r.register("Resize", || Box::<Resize>::default());
    r.register("AdjustTimestamp", || Box::<AdjustTimestamp>::default());
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
    fn class_name(&self) -> &'static str {
        "AdjustTimestamp"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
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
    any_impl!();
}

/// Message(MESSAGE [, TYPE]): reports MESSAGE while the router is configured; no ports.
#[derive(Default)]
pub struct Message;
impl Element for Message {
    fn class_name(&self) -> &'static str {
        "Message"
    }
    fn port_count(&self) -> &'static str {
        "0/0"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        let msg = a.first().map(|m| args::unquote(m)).unwrap_or_default();
        match a.get(1).map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t == "error" => Err(msg),
            Some(t) if t == "warning" => {
                cx.warnings.push(msg);
                Ok(())
            }
            // Click's default type is a plain message.
            _ => {
                cx.messages.push(msg);
                Ok(())
            }
        }
    }
    any_impl!();
}

/// Hub: a packet arriving on input i is copied to every output except output i.
#[derive(Default)]
pub struct Hub {
    n: usize,
}
impl Element for Hub {
    fn class_name(&self) -> &'static str {
        "Hub"
    }
    fn port_count(&self) -> &'static str {
        "-/="
    }
    fn processing(&self) -> &'static str {
        "h"
    }
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
    any_impl!();
}

/// Resize(HEAD, TAIL): add (positive) or remove (negative) bytes at the front and the end.
#[derive(Default)]
pub struct Resize {
    head: i64,
    tail: i64,
}
impl Resize {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if self.head >= 0 {
                p.push(self.head as usize);
            } else {
                p.pull((self.head.unsigned_abs() as usize).min(p.len()));
            }
            if self.tail >= 0 {
                p.put(self.tail as usize);
            } else {
                p.take((self.tail.unsigned_abs() as usize).min(p.len()));
            }
        }
    }
}
impl Element for Resize {
    fn class_name(&self) -> &'static str {
        "Resize"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = args::bind(conf, &[("HEAD", args::Kind::P), ("TAIL", args::Kind::P)])?;
        self.head = b.i64("HEAD")?.unwrap_or(0);
        self.tail = b.i64("TAIL")?.unwrap_or(0);
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}
