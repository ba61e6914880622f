//! Built-in element classes, one folder per domain (see `README.md` in this folder for where a
//! new class goes):
//!
//! - [`standard`]: sources, sinks, counters, paint, switches and tees, length edits, Print,
//!   timestamps, Bypass, Clipboard, configuration-only classes (AddressInfo, ...).
//! - [`queues`]: queues, Unqueue, pull schedulers and switches, rate shaping.
//! - [`classification`]: Classifier, IPClassifier, IPFilter.
//! - [`ip`]: IPv4 headers, route lookups, encapsulation, checksums, IPPrint, options,
//!   fragmentation and reassembly, DSCP/ECN.
//! - [`icmp`]: ICMPError, ICMPIPEncap, ICMPPingResponder.
//! - [`tcpudp`]: TCP/UDP header checks.
//! - [`rewriting`]: the NAT rewriters (IPRewriter, TCPRewriter, UDPRewriter, ICMPPingRewriter,
//!   ICMPRewriter, IPAddrRewriter, ...) and FTPPortMapper.
//! - [`ethernet`]: Ethernet encapsulation and checks, VLANs, ARP.
//! - [`analysis`]: trace files (pcap and IP summary dumps) and trace tools.
//! - [`scripting`]: Script and DriverManager.
//! - [`unit_tests`]: Click's C++ unit-test elements, run against our own components.
//! - [`shared`]: helpers several domains use (batch dispatch, checksums, protocol names).

use crate::packet::{Packet, PacketBatch};
use crate::registry::Registry;

pub mod analysis;
pub mod classification;
pub mod ethernet;
pub mod icmp;
pub mod ip;
pub mod queues;
pub mod rewriting;
pub mod scripting;
pub mod shared;
pub mod standard;
pub mod tcpudp;
pub mod unit_tests;

/// Register every built-in class.
pub fn register_all(r: &mut Registry) {
    standard::register(r);
    queues::register(r);
    classification::register(r);
    ip::register(r);
    icmp::register(r);
    tcpudp::register(r);
    rewriting::register(r);
    ethernet::register(r);
    analysis::register(r);
    scripting::register(r);
    unit_tests::register(r);
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
