//! Helpers shared by elements of several domains: sending a batch to outputs by a per-packet
//! choice (`classify_out`) or a check (`filter_batch`, `reject`), IP/transport checksums,
//! protocol and port names (with PortInfo), and bounds-checked header field reads.

use crate::element::Ctx;
use crate::packet::{Packet, PacketBatch};
use netwire::checksum;
use std::net::Ipv4Addr;

/// Send each packet to output `f(p)` (dropped when ≥ `n`), batching runs of equal outputs.
/// `f` sees the packets in order and may rewrite them (rewriters, route lookups).
#[inline]
pub fn classify_out(
    mut batch: PacketBatch,
    n: usize,
    ctx: &mut Ctx<'_>,
    mut f: impl FnMut(&mut Packet) -> usize,
) {
    let len = batch.len();
    if len == 0 {
        return;
    }
    let first = f(&mut batch[0]);
    // fast path: all packets to the same output
    let mut diverge = None;
    for (i, p) in batch.iter_mut().enumerate().skip(1) {
        let o = f(p);
        if o != first {
            diverge = Some((i, o));
            break;
        }
    }
    let Some((i, o)) = diverge else {
        if first < n {
            ctx.output(first, batch);
        }
        return;
    };
    // Typical batches fit on the stack; no allocation for the per-packet outputs.
    let mut small = [0usize; SMALL_BATCH];
    let mut big = Vec::new();
    let outs: &mut [usize] = if len <= SMALL_BATCH {
        &mut small[..len]
    } else {
        big.resize(len, 0);
        &mut big
    };
    outs[..i].fill(first);
    outs[i] = o;
    for (slot, p) in outs[i + 1..].iter_mut().zip(&mut batch[i + 1..]) {
        *slot = f(p);
    }
    split_to_outputs(batch, outs, n, ctx);
}

const SMALL_BATCH: usize = 64;

/// Send packet `k` of `batch` to output `outs[k]` (dropped when ≥ `n`), one batch per output
/// in output order. The most used output keeps `batch`'s allocation; the others get one
/// allocation each, at their final size.
fn split_to_outputs(mut batch: PacketBatch, outs: &[usize], n: usize, ctx: &mut Ctx<'_>) {
    let mut small = [0usize; SMALL_BATCH];
    let mut big_counts = Vec::new();
    let counts: &mut [usize] = if n <= SMALL_BATCH {
        &mut small[..n]
    } else {
        big_counts.resize(n, 0);
        &mut big_counts
    };
    for &o in outs {
        if o < n {
            counts[o] += 1;
        }
    }
    let Some((big, _)) = counts
        .iter()
        .enumerate()
        .filter(|c| *c.1 > 0)
        .max_by_key(|c| *c.1)
    else {
        return; // every packet dropped
    };
    let mut few: [PacketBatch; FEW_OUTPUTS] = Default::default();
    let mut many = Vec::new();
    let buckets: &mut [PacketBatch] = if n <= FEW_OUTPUTS {
        &mut few[..n]
    } else {
        many.resize_with(n, Vec::new);
        &mut many
    };
    let mut moved = outs.iter().copied().filter(|&o| o != big);
    let mut k = 0;
    for p in batch.extract_if(.., |_| {
        k += 1;
        outs[k - 1] != big
    }) {
        match moved.next() {
            Some(o) if o < n => {
                let b = &mut buckets[o];
                if b.capacity() == 0 {
                    *b = crate::batch_pool::batch_with_capacity(counts[o]);
                }
                b.push(p);
            }
            _ => {} // dropped
        }
    }
    for (o, b) in buckets.iter_mut().enumerate() {
        if o == big {
            ctx.output(o, std::mem::take(&mut batch));
        } else {
            ctx.output(o, std::mem::take(b));
        }
    }
}

const FEW_OUTPUTS: usize = 16;

/// Transport checksum over `seg` (checksum field already zeroed) with the IPv4 pseudo-header.
/// Like Click, a result of 0 is stored as 0.
pub fn transport_cksum(src: [u8; 4], dst: [u8; 4], proto: u8, seg: &[u8]) -> u16 {
    let s = checksum::pseudo_header(src, dst, proto, seg.len() as u16);
    !checksum::fold(checksum::add(s, seg))
}

/// IP protocol names Click knows (NameInfo T_IP_PROTO), or a number.
pub fn parse_ip_proto(s: &str) -> Option<u8> {
    let s = s.trim();
    let v = match s.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "ipip" => 4,
        "tcp" => 6,
        "udp" => 17,
        "ipv6" => 41,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmp6" | "icmpv6" => 58,
        "pim" => 103,
        "sctp" => 132,
        "dccp" => 33,
        "udplite" => 136,
        _ => return crate::args::parse_u64(s).and_then(|v| u8::try_from(v).ok()),
    };
    Some(v)
}

/// TCP/UDP port numbers or a few well-known names.
pub fn parse_port(s: &str) -> Option<u16> {
    let s = s.trim();
    let v = match s {
        "echo" => 7,
        "discard" => 9,
        "daytime" => 13,
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" | "dns" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "finger" => 79,
        "www" | "http" => 80,
        "pop3" => 110,
        "auth" => 113,
        "ntp" => 123,
        "imap" | "imap2" => 143,
        "snmp" => 161,
        "https" => 443,
        _ => return crate::args::parse_u64(s).and_then(|v| u16::try_from(v).ok()),
    };
    Some(v)
}

/// A TCP/UDP port as an element in `cx`'s scope reads it: a number, a name declared by a
/// `PortInfo` in the element's compound or an enclosing one (innermost wins), or a
/// well-known name. `proto` is `"tcp"` or `"udp"`.
pub fn parse_port_in(s: &str, proto: &str, cx: &crate::ConfigureCx<'_>) -> Option<u16> {
    let s = s.trim();
    if let Some(v) = crate::args::parse_u64(s) {
        return u16::try_from(v).ok();
    }
    let mut scope = cx.name;
    loop {
        scope = match scope.rfind('/') {
            Some(i) => &scope[..i],
            None => "",
        };
        for (name, class, conf) in cx.elements {
            let parent = name.rfind('/').map_or("", |i| &name[..i]);
            if class != "PortInfo" || parent != scope {
                continue;
            }
            if let Some(p) = portinfo_lookup(conf, s, proto) {
                return Some(p);
            }
        }
        if scope.is_empty() {
            return parse_port(s);
        }
    }
}

/// `NAME PORT[/PROTO] [COMMENT]` entries of a PortInfo configuration; `#` starts a comment.
fn portinfo_lookup(conf: &str, want: &str, proto: &str) -> Option<u16> {
    for arg in crate::args::split_args(conf) {
        let w = crate::args::split_words(&arg);
        // `NAME PORT[/PROTO] [ALIAS...] [# COMMENT]`
        let names: Vec<&String> = w
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, n)| n)
            .take_while(|n| !n.starts_with('#'))
            .collect();
        if w.len() < 2 || !names.iter().any(|n| *n == want) {
            continue;
        }
        let (num, p) = match w[1].split_once('/') {
            Some((n, p)) => (n, Some(p)),
            None => (w[1].as_str(), None),
        };
        if p.is_none_or(|p| p.eq_ignore_ascii_case(proto)) {
            if let Some(v) = crate::args::parse_u64(num).and_then(|v| u16::try_from(v).ok()) {
                return Some(v);
            }
        }
    }
    None
}

/// IPv4 address from 4 bytes at `off` of `b` (None when out of range).
pub fn ip_at(b: &[u8], off: usize) -> Option<Ipv4Addr> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
}

/// Big-endian u16 at `off`.
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Big-endian u32 at `off`.
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Send `rejects` out of output 1 when it exists, otherwise drop them (Click
/// `checked_output_push(1, p)`).
pub fn reject(ctx: &mut Ctx<'_>, rejects: PacketBatch) {
    if !rejects.is_empty() && ctx.noutputs() > 1 {
        ctx.output(1, rejects);
    }
}

/// Run `f` on every packet of `batch`; packets for which it returns false go to output 1 (or
/// are dropped). Returns the kept packets.
pub fn filter_batch(
    batch: PacketBatch,
    ctx: &mut Ctx<'_>,
    mut f: impl FnMut(&mut Packet, &mut Ctx<'_>) -> bool,
) -> PacketBatch {
    let mut keep = Vec::with_capacity(batch.len());
    let mut bad = Vec::new();
    for mut p in batch {
        if f(&mut p, ctx) {
            keep.push(p);
        } else {
            bad.push(p);
        }
    }
    reject(ctx, bad);
    keep
}

/// Generate `push`/`pull` for an agnostic `a/ah` element with
/// `fn check(&mut self, &mut Packet, &mut Ctx) -> bool` (false = reject to output 1).
#[macro_export]
macro_rules! extra_filter_push_pull {
    () => {
        fn push(&mut self, _port: usize, batch: $crate::PacketBatch, ctx: &mut $crate::Ctx<'_>) {
            let keep = $crate::elements::shared::filter_batch(batch, ctx, |p, c| self.check(p, c));
            ctx.output(0, keep);
        }
        fn pull(
            &mut self,
            _port: usize,
            max: usize,
            ctx: &mut $crate::Ctx<'_>,
        ) -> $crate::PacketBatch {
            let batch = ctx.pull(0, max);
            if batch.is_empty() {
                return batch;
            }
            $crate::elements::shared::filter_batch(batch, ctx, |p, c| self.check(p, c))
        }
    };
}

/// Split a handler/instruction argument at its first run of whitespace.
pub fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Test helpers shared by element tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod test_util {
    use crate::{MemEnv, Registry, Router, RouterOptions, SimClock};

    /// A router on simulated time whose chatter and files go to `env`, with every built-in
    /// class.
    pub(crate) fn sim_router(conf: &str, env: &MemEnv) -> Router {
        let opts = RouterOptions {
            clock: Box::new(SimClock::default()),
            env: Box::new(env.clone()),
            defines: Vec::new(),
        };
        match Router::with_options(conf, "test", &Registry::standard(), opts) {
            Ok(r) => r,
            Err(e) => panic!("config failed: {e}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shared_checksums_and_names() {
        // RFC 1071 example-ish: header with a known checksum.
        let mut ip = [
            0x45, 0, 0, 0x1c, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        crate::elements::ip::set_ip_checksum(&mut ip);
        assert_eq!(checksum::checksum(&ip), 0);
        assert_eq!(parse_ip_proto("UDP"), Some(17));
        assert_eq!(parse_ip_proto("300"), None);
        assert_eq!(parse_port("www"), Some(80));
        assert_eq!(be16(&[1], 0), None);
        assert_eq!(first_word("  a  b c"), ("a", "b c"));
    }

    /// Malformed packets (random bytes, truncated headers, lying length fields) pass through
    /// every class of this batch without a panic.
    #[test]
    fn malformed_packets_never_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut packets: Vec<Vec<u8>> = Vec::new();
        for len in [
            0usize, 1, 4, 13, 14, 19, 20, 21, 24, 27, 28, 34, 40, 60, 61, 100,
        ] {
            for variant in 0..3 {
                let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                if variant > 0 && len > 0 {
                    // Look like IPv4 (and, for variant 2, like ICMP with options and bad lengths).
                    d[0] = if variant == 1 { 0x45 } else { 0x4f };
                }
                if variant == 2 && len > 9 {
                    d[9] = 1;
                }
                packets.push(d);
            }
        }
        let sources: String = packets
            .iter()
            .map(|d| {
                let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                format!("InfiniteSource(DATA \\<{hex}>, LIMIT 2, STOP false) -> m;\n")
            })
            .collect();
        for elem in [
            "ICMPError(1.1.1.1, parameterproblem)",
            "ICMPError(1.1.1.1, redirect, host)",
            "ICMPPingResponder",
            "IPGWOptions(1.1.1.1)",
            "IPFragmenter(8, false)",
            "IPInputCombo(1)",
            "PaintTee(0)",
            "CheckLength(20)",
            "Pad",
            "SetIPDSCP(7)",
            "MarkIPCE(true)",
            "TimestampAccum",
            "VLANEncap(VLAN_ID 3)",
            "VLANDecap",
            "SetVLANAnno(3)",
            "EtherVLANEncap(0x800, 0:0:0:0:0:1, 0:0:0:0:0:2, 5)",
            "Script(TYPE PACKET, return $(mod $input 2))",
        ] {
            for mark in ["MarkIPHeader", "Null"] {
                let conf = format!(
                    "m :: {mark};\n{sources} m -> e :: {elem} -> Discard; e[1] -> Discard;"
                );
                let conf = if elem.starts_with("IPInputCombo")
                    || elem.starts_with("Pad")
                    || elem.starts_with("Set")
                    || elem.starts_with("MarkIPCE")
                    || elem.starts_with("Timestamp")
                    || elem.starts_with("VLAN")
                    || elem.starts_with("EtherVLAN")
                    || elem.starts_with("ICMPError")
                {
                    conf.replace("e[1] -> Discard;", "")
                } else {
                    conf
                };
                let env = crate::MemEnv::default();
                let mut r = test_util::sim_router(&conf, &env);
                r.run_to_completion(1000);
            }
        }
        let env = crate::MemEnv::default();
        let conf = format!("m :: MarkIPHeader;\n{sources} m -> oc :: IPOutputCombo(0, 1.1.1.1, 20); oc[0] -> Discard; oc[1] -> Discard; oc[2] -> Discard; oc[3] -> Discard; oc[4] -> Discard;");
        let mut r = test_util::sim_router(&conf, &env);
        r.run_to_completion(1000);
    }
}
