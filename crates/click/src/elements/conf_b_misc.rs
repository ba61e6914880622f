//! Small classes from Click's test and standard sets: Message, Hub, Resize.

use crate::args;
use crate::element::{ConfigureCx, Ctx, Element};
use crate::packet::PacketBatch;
use crate::registry::Registry;
use crate::{any_impl, simple_push_pull};

/// Register the classes of this module.
pub fn register(r: &mut Registry) {
    r.register("Message", || Box::<Message>::default());
    r.register("Hub", || Box::<Hub>::default());
    r.register("Resize", || Box::<Resize>::default());
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
            _ => {
                cx.warnings.push(msg);
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
