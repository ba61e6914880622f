//! Bypass([ACTIVE]): while inactive, input 0 goes straight to output 0; while active, input 0
//! goes to output 1 (the detour) and input 1 (its return) to output 0. Push or pull.

use crate::any_impl;
use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::PacketBatch;

/// See the module docs.
#[derive(Default)]
pub struct Bypass {
    active: bool,
}

impl Element for Bypass {
    fn class_name(&self) -> &'static str {
        "Bypass"
    }
    fn port_count(&self) -> &'static str {
        "1-2/1-2"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ACTIVE", Kind::P)])?;
        self.active = b.bool("ACTIVE")?.unwrap_or(false);
        Ok(())
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let out = if port == 0 && self.active && ctx.noutputs() > 1 {
            1
        } else {
            0
        };
        ctx.output(out, batch);
    }
    fn pull(&mut self, port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let input = if port == 0 && self.active && ctx.ninputs() > 1 {
            1
        } else {
            0
        };
        ctx.pull(input, max)
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "active").then(|| Ok(super::bool_str(self.active)))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| super::parse_bool_h(v).map(|b| self.active = b))
    }
    any_impl!();
}
