//! Built-in element classes.

use crate::packet::{Packet, PacketBatch};
use crate::registry::Registry;

pub mod aggregate_ip_flows;
pub mod analysis;
pub mod arp;
pub mod bypass;
pub mod classify;
#[cfg(test)]
mod classify_oracle;
pub mod clipboard;
pub mod conf_b_misc;
pub mod dumps;
pub mod dynamic_udp_ip_encap;
pub mod ether;
pub mod extra;
pub mod extra_arp;
pub mod extra_ip;
pub mod extra_sched;
pub mod extra_script;
pub mod extra_vlan;
pub mod ip;
pub mod ip_options;
pub mod reassembly;
pub mod rewriter;
pub mod shaping;
pub mod standard;
pub mod store_data;
pub mod tcp_options;
pub mod unit_tests;

/// Register every built-in class.
pub fn register_all(r: &mut Registry) {
    standard::register(r);
    classify::register(r);
    ether::register(r);
    arp::register(r);
    ip::register(r);
    dumps::register(r);
    rewriter::register(r);
    reassembly::register(r);
    extra::register(r);
    conf_b_misc::register(r);
    shaping::register(r);
    analysis::register(r);
    aggregate_ip_flows::register(r);
    r.register("Bypass", || Box::<bypass::Bypass>::default());
    r.register("Clipboard", || Box::<clipboard::Clipboard>::default());
    unit_tests::register(r);
    r.register("StoreData", || Box::<store_data::StoreData>::default());
    r.register("DynamicUDPIPEncap", || {
        Box::<dynamic_udp_ip_encap::DynamicUdpIpEncap>::default()
    });
}

/// Split `batch` in place: packets for which `keep` returns false are removed and returned.
#[inline]
pub fn split_batch(
    batch: &mut PacketBatch,
    mut keep: impl FnMut(&mut Packet) -> bool,
) -> PacketBatch {
    batch.extract_if(.., |p| !keep(p)).collect()
}

/// Format a bool like Click (`true`/`false`).
pub fn bool_str(b: bool) -> String {
    if b {
        "true".into()
    } else {
        "false".into()
    }
}

/// Parse a handler write value.
pub fn parse_bool_h(v: &str) -> Result<bool, String> {
    crate::args::parse_bool(v).ok_or_else(|| "expected boolean".to_string())
}

/// Parse an unsigned handler write value.
pub fn parse_u64_h(v: &str) -> Result<u64, String> {
    crate::args::parse_u64(v.trim()).ok_or_else(|| "expected unsigned integer".to_string())
}

/// Generate `push` and `pull` for an agnostic element with `fn process(&mut self, &mut PacketBatch, &mut Ctx)`
/// that edits the batch in place (optionally sending rejects to output 1 itself).
#[macro_export]
macro_rules! simple_push_pull {
    () => {
        fn push(
            &mut self,
            _port: usize,
            mut batch: $crate::PacketBatch,
            ctx: &mut $crate::Ctx<'_>,
        ) {
            self.process(&mut batch, ctx);
            ctx.output(0, batch);
        }
        fn pull(
            &mut self,
            _port: usize,
            max: usize,
            ctx: &mut $crate::Ctx<'_>,
        ) -> $crate::PacketBatch {
            let mut batch = ctx.pull(0, max);
            if !batch.is_empty() {
                self.process(&mut batch, ctx);
            }
            batch
        }
    };
}

/// Generate `push`, `pull` and the `drops` read handler for a checking element with
/// `fn $check(&mut self, &mut Packet) -> bool` and a `drops: u64` field: packets that fail the
/// check are counted and go to output 1 (dropped when it is not connected), the rest to output 0.
#[macro_export]
macro_rules! filter_push_pull {
    ($check:ident) => {
        fn push(
            &mut self,
            _port: usize,
            mut batch: $crate::PacketBatch,
            ctx: &mut $crate::Ctx<'_>,
        ) {
            let bad = $crate::elements::split_batch(&mut batch, |p| self.$check(p));
            self.drops += bad.len() as u64;
            ctx.output(0, batch);
            ctx.output(1, bad);
        }
        fn pull(
            &mut self,
            _port: usize,
            max: usize,
            ctx: &mut $crate::Ctx<'_>,
        ) -> $crate::PacketBatch {
            let mut batch = ctx.pull(0, max);
            let bad = $crate::elements::split_batch(&mut batch, |p| self.$check(p));
            self.drops += bad.len() as u64;
            ctx.output(1, bad);
            batch
        }
        fn handlers(&self) -> Vec<$crate::element::HandlerSpec> {
            vec![$crate::element::HandlerSpec::r("drops")]
        }
        fn read_handler(
            &mut self,
            name: &str,
            _p: &str,
            _ctx: &mut $crate::Ctx<'_>,
        ) -> $crate::element::ReadResult {
            (name == "drops").then(|| Ok(self.drops.to_string()))
        }
    };
}
