//! Pass-throughs: Null, PushNull, PullNull and Align (our packets need no alignment).

use crate::element::{ConfigureCx, Ctx, Element};
use crate::element_class;
use crate::packet::PacketBatch;

/// A 1/1 agnostic pass-through that ignores its configuration (Align: our packets need no alignment).
pub struct PassThrough(pub &'static str);
impl Element for PassThrough {
    element_class!(self => class: self.0, ports: "1/1");
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        ctx.pull(0, max)
    }
}

/// Null, PushNull, PullNull: 1/1 pass-through (agnostic, push-only, pull-only).
pub struct Null {
    class: &'static str,
    processing: &'static str,
}
impl Null {
    /// `processing` is the Click processing code of `class`.
    pub fn new(class: &'static str, processing: &'static str) -> Self {
        Null { class, processing }
    }
}
impl Element for Null {
    element_class!(self => class: self.class, ports: "1/1", processing: self.processing);
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        ctx.pull(0, max)
    }
}
