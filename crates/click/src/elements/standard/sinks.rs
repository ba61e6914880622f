//! Idle (never produces, an always-empty notifier) and Discard.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::{bool_str, parse_bool_h};
use crate::packet::PacketBatch;

/// Idle: never produces packets, discards pushed ones; an always-empty notifier.
#[derive(Default)]
pub struct Idle;
impl Element for Idle {
    // No packet flows from an input to an output, so push/pull does not propagate across.
    element_class!(class: "Idle", ports: "-/-", flow: "x/y");
    fn is_empty_notifier(&self) -> bool {
        true
    }
}

/// Discard: drops packets; pulls with a task when its input is pull.
pub struct Discard {
    count: u64,
    active: bool,
    burst: usize,
    pulling: bool,
}
impl Discard {
    pub(crate) fn new() -> Self {
        Discard {
            count: 0,
            active: true,
            burst: 1,
            pulling: false,
        }
    }
}
impl Element for Discard {
    element_class!(class: "Discard", ports: "1/0");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ACTIVE", Kind::P), ("BURST", Kind::K)])?;
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.burst = b.u64("BURST")?.unwrap_or(1).max(1) as usize;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.pulling = ctx.input_is_pull(0);
        if self.pulling && self.active {
            ctx.reschedule();
        }
        Ok(())
    }
    #[inline]
    fn push(&mut self, _port: usize, batch: PacketBatch, _ctx: &mut Ctx<'_>) {
        self.count += batch.len() as u64;
        crate::batch_pool::recycle(batch);
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || !self.pulling {
            return false;
        }
        let b = ctx.pull(0, self.burst);
        let n = b.len();
        self.count += n as u64;
        if n > 0 || ctx.upstream_active() {
            ctx.reschedule();
        }
        n > 0
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::w("reset_counts"),
            HandlerSpec::rw("active"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "count" => Some(Ok(self.count.to_string())),
            "active" => Some(Ok(bool_str(self.active))),
            _ => None,
        }
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "reset_counts" => {
                self.count = 0;
                Some(Ok(()))
            }
            "active" => Some(parse_bool_h(v).map(|b| {
                self.active = b;
                if b && self.pulling {
                    ctx.reschedule();
                }
            })),
            _ => None,
        }
    }
}
