//! Bypass([ACTIVE]): while inactive, input 0 goes straight to output 0; while active, input 0
//! goes to output 1 (the detour) and input 1 (its return) to output 0. Push or pull.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::packet::PacketBatch;

/// See the module docs.
#[derive(Default)]
pub struct Bypass {
    active: bool,
}

impl Bypass {
    /// Like Click's `Bypass::fix`, take this element out of the packet path: the router
    /// follows its current routes, so a detour that pulls or pushes back through this
    /// Bypass (its input 1 fed from its output 1) never re-enters it.
    fn fix(&self, ctx: &mut Ctx<'_>) {
        let (nin, nout) = (ctx.ninputs(), ctx.noutputs());
        let push: Vec<usize> = (0..nin)
            .map(|i| usize::from(i == 0 && self.active && nout > 1))
            .collect();
        let pull: Vec<usize> = (0..nout)
            .map(|o| usize::from(o == 0 && self.active && nin > 1))
            .collect();
        ctx.set_port_route(&push, &pull);
    }
}

impl Element for Bypass {
    element_class!(class: "Bypass", ports: "1-2/1-2");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("ACTIVE", Kind::P)])?;
        self.active = b.bool("ACTIVE")?.unwrap_or(false);
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.fix(ctx);
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
        (name == "active").then(|| Ok(crate::elements::bool_str(self.active)))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| {
            crate::elements::parse_bool_h(v).map(|b| {
                self.active = b;
                self.fix(ctx);
            })
        })
    }
}
