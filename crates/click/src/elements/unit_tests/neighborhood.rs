//! NeighborhoodTest: Click's `neighborhoodtest.cc` on coo-click's router graph. Read
//! handlers `upstream`, `upstreamN`, `downstream` and `downstreamN` (parameter: the
//! diameter, default 1) list the elements [`crate::Ctx::neighborhood`] finds, one name a line.
//! Packets that reach it are dropped.

use crate::any_impl;
use crate::args::{parse_i64, split_args, uncomment};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::packet::PacketBatch;

/// See the module docs.
#[derive(Default)]
pub struct NeighborhoodTest {
    ninputs: usize,
    noutputs: usize,
}

/// Click's flow code for NeighborhoodTest: no input flows to any output.
const FLOW_CODE: &str = "x/y";

impl NeighborhoodTest {
    /// (downstream?, port) named by a handler, e.g. `upstream1` → (false, Some(1)).
    fn handler_target(&self, name: &str) -> Option<(bool, Option<usize>)> {
        let (downstream, rest, count) = if let Some(r) = name.strip_prefix("upstream") {
            (false, r, self.ninputs)
        } else {
            (true, name.strip_prefix("downstream")?, self.noutputs)
        };
        if rest.is_empty() {
            return Some((downstream, None));
        }
        let port: usize = rest.parse().ok()?;
        (port < count && rest == port.to_string()).then_some((downstream, Some(port)))
    }
}

impl Element for NeighborhoodTest {
    fn class_name(&self) -> &'static str {
        "NeighborhoodTest"
    }
    fn port_count(&self) -> &'static str {
        "-/-"
    }
    fn flow_code(&self) -> &'static str {
        FLOW_CODE
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if !split_args(conf).is_empty() {
            return Err("too many arguments".into());
        }
        self.ninputs = cx.ninputs;
        self.noutputs = cx.noutputs;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, _ctx: &mut Ctx<'_>) {
        drop(batch);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let ports = |base: &'static str, n: usize| {
            std::iter::once(HandlerSpec::r(base))
                .chain((0..n).map(move |p| HandlerSpec::r(&format!("{base}{p}"))))
        };
        ports("upstream", self.ninputs)
            .chain(ports("downstream", self.noutputs))
            .collect()
    }
    fn read_handler(&mut self, name: &str, param: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        let (downstream, port) = self.handler_target(name)?;
        let param = uncomment(param);
        let diameter = if param.is_empty() {
            1
        } else {
            // Click reads an int; a negative diameter finds nothing.
            match parse_i64(&param) {
                Some(d) => usize::try_from(d).unwrap_or(0),
                None => return Some(Err("syntax error".into())),
            }
        };
        let names: String = ctx
            .neighborhood(downstream, port, diameter, FLOW_CODE)
            .into_iter()
            .filter_map(|i| ctx.element_name(i).map(|n| format!("{n}\n")))
            .collect();
        Some(Ok(names))
    }
    any_impl!();
}
