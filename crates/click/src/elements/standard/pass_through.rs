//! Pass-throughs: Null, PushNull, PullNull and Align (our packets need no alignment).

use crate::any_impl;
use crate::element::{ConfigureCx, Ctx, Element};
use crate::packet::PacketBatch;

/// A 1/1 agnostic pass-through that ignores its configuration (Align: our packets need no alignment).
pub struct PassThrough(pub &'static str);
impl Element for PassThrough {
    fn class_name(&self) -> &'static str {
        self.0
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        ctx.pull(0, max)
    }
    any_impl!();
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
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn processing(&self) -> &'static str {
        self.processing
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        ctx.pull(0, max)
    }
    any_impl!();
}
