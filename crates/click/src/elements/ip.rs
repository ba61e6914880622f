//! IPv4 elements: header checks and marks, TTL, lookups, encapsulation, checksums, IPPrint.

use super::standard::classify_out;
use super::{bool_str, split_batch};
use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{Packet, PacketBatch, PacketType, FIX_IP_SRC_ANNO_OFFSET};
use crate::registry::Registry;
use crate::{any_impl, filter_push_pull, simple_push_pull};
use netwire::checksum::{add, checksum, fold, update};
use std::net::Ipv4Addr;

/// Register the IP classes.
pub fn register(r: &mut Registry) {
    r.register("CheckIPHeader", || {
        Box::new(CheckIPHeader::new(true, "CheckIPHeader"))
    });
    r.register("CheckIPHeader2", || {
        Box::new(CheckIPHeader::new(false, "CheckIPHeader2"))
    });
    r.register("MarkIPHeader", || Box::<MarkIPHeader>::default());
    r.register("GetIPAddress", || Box::<GetIPAddress>::default());
    r.register("DecIPTTL", || Box::<DecIPTTL>::default());
    r.register("FixIPSrc", || Box::<FixIPSrc>::default());
    r.register("DropBroadcasts", || Box::new(DropBroadcasts { drops: 0 }));
    for c in [
        "StaticIPLookup",
        "LinearIPLookup",
        "RadixIPLookup",
        "DirectIPLookup",
        "RangeIPLookup",
    ] {
        r.register(c, move || Box::new(IPLookup::new(c)));
    }
    r.register("IPEncap", || Box::new(IPEncap::new(false)));
    r.register("UDPIPEncap", || Box::new(IPEncap::new(true)));
    r.register("SetIPChecksum", || Box::new(SetChecksum { which: 0 }));
    r.register("SetUDPChecksum", || Box::new(SetChecksum { which: 17 }));
    r.register("SetTCPChecksum", || Box::new(SetChecksum { which: 6 }));
    r.register("IPPrint", || Box::<IPPrint>::default());
    r.register("StripIPHeader", || Box::new(StripIPHeader));
    r.register("UnstripIPHeader", || Box::new(UnstripIPHeader));
    r.register("StoreIPAddress", || Box::<StoreIPAddress>::default());
    r.register("SetIPAddress", || Box::<SetIPAddress>::default());
    r.register("StripToNetworkHeader", || Box::new(StripToNetworkHeader));
    for (c, p) in [
        ("CheckTCPHeader", 6u8),
        ("CheckUDPHeader", 17),
        ("CheckICMPHeader", 1),
    ] {
        r.register(c, move || {
            Box::new(CheckTransport {
                class: c,
                proto: p,
                checksum: true,
                drops: 0,
            })
        });
    }
}

/// Recompute the IPv4 header checksum in place (`ip` starts at the header).
#[inline]
pub fn set_ip_checksum(ip: &mut [u8]) {
    if ip.len() < 20 {
        return;
    }
    let hl = (((ip[0] & 0xf) as usize) * 4).clamp(20, ip.len());
    ip[10] = 0;
    ip[11] = 0;
    let c = checksum(&ip[..hl]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The destination address a TCP/UDP pseudo header covers: the final destination, i.e. the
/// last address of a loose or strict source route option when the header has one (RFC 1122
/// 4.1.3.4 / Click's click_in_cksum_pseudohdr), else the header's destination.
pub fn pseudo_header_dst(ip: &[u8]) -> [u8; 4] {
    let dst = [ip[16], ip[17], ip[18], ip[19]];
    let hl = (((ip[0] & 0xf) as usize) * 4).min(ip.len());
    let mut o = 20;
    while o < hl {
        match ip[o] {
            0 => break,
            1 => o += 1,
            kind => {
                let len = ip.get(o + 1).map_or(0, |l| *l as usize);
                if len < 2 || o + len > hl {
                    break;
                }
                if matches!(kind, 131 | 137) && len >= 7 {
                    if let Ok(last) = ip[o + len - 4..o + len].try_into() {
                        return last;
                    }
                }
                o += len;
            }
        }
    }
    dst
}

/// Recompute the TCP/UDP checksum of an IPv4 packet in place.
pub fn set_transport_checksum(ip: &mut [u8]) {
    if ip.len() < 20 {
        return;
    }
    let hl = ((ip[0] & 0xf) as usize) * 4;
    let tot = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
    if hl < 20 || tot < hl {
        return;
    }
    let proto = ip[9];
    let off = match proto {
        6 => 16,
        17 => 6,
        _ => return,
    };
    let tlen = tot - hl;
    if tlen < off + 2 {
        return;
    }
    let dst = pseudo_header_dst(ip);
    let (hdr, rest) = ip.split_at_mut(hl);
    let t = &mut rest[..tlen];
    t[off] = 0;
    t[off + 1] = 0;
    let mut acc = add(add(0, &hdr[12..16]), &dst);
    acc += proto as u32 + tlen as u32;
    acc = add(acc, t);
    let mut c = !fold(acc);
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    t[off..off + 2].copy_from_slice(&c.to_be_bytes());
}

/// Incrementally update a checksum at `sum` for a 16-bit field change (RFC 1624).
#[inline]
pub fn update_checksum(sum: &mut [u8], old: u16, new: u16) {
    if sum.len() < 2 {
        return;
    }
    let hc = u16::from_be_bytes([sum[0], sum[1]]);
    let r = update(hc, old, new);
    sum[0..2].copy_from_slice(&r.to_be_bytes());
}

/// CheckIPHeader / CheckIPHeader2.
pub struct CheckIPHeader {
    class: &'static str,
    checksum: bool,
    offset: usize,
    bad_src: Vec<u32>,
    good_dst: Vec<u32>,
    verbose: bool,
    drops: u64,
    details: [u64; 7],
}
const CIH_REASONS: [&str; 7] = [
    "tiny packet",
    "bad IP version",
    "bad IP header length",
    "bad IP length",
    "bad IP checksum",
    "bad source address",
    "IP fragment",
];
impl CheckIPHeader {
    fn new(checksum: bool, class: &'static str) -> Self {
        CheckIPHeader {
            class,
            checksum,
            offset: 0,
            bad_src: vec![0, u32::MAX],
            good_dst: Vec::new(),
            verbose: false,
            drops: 0,
            details: [0; 7],
        }
    }
    #[inline]
    fn check(&self, p: &mut Packet) -> Result<(), usize> {
        let off = self.offset;
        let d = p.data();
        if d.len() < off + 20 {
            return Err(0);
        }
        let ip = &d[off..];
        if ip[0] >> 4 != 4 {
            return Err(1);
        }
        let hl = ((ip[0] & 0xf) as usize) * 4;
        if hl < 20 || hl > ip.len() {
            return Err(2);
        }
        let len = u16::from_be_bytes([ip[2], ip[3]]) as usize;
        if len < hl || len > ip.len() {
            return Err(3);
        }
        if self.checksum && fold(add(0, &ip[..hl])) != 0xffff {
            return Err(4);
        }
        let src = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
        if self.bad_src.contains(&src) {
            let dst = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
            if !self.good_dst.contains(&dst) {
                return Err(5);
            }
        }
        let extra = ip.len() - len;
        p.set_network_header(off, hl);
        if extra > 0 {
            p.take(extra);
        }
        Ok(())
    }
}
impl Element for CheckIPHeader {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("OFFSET", Kind::P),
                ("BADSRC", Kind::K),
                ("GOODDST", Kind::K),
                ("INTERFACES", Kind::K),
                ("CHECKSUM", Kind::K),
                ("VERBOSE", Kind::K),
                ("DETAILS", Kind::K),
            ],
        )?;
        self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
        if let Some(c) = b.bool("CHECKSUM")? {
            self.checksum = c;
        }
        self.verbose = b.bool("VERBOSE")?.unwrap_or(false);
        let ips = |s: &str| -> Result<Vec<u32>, String> {
            args::split_words(s)
                .iter()
                .map(|w| {
                    args::parse_ip(w, cx.addrs)
                        .map(u32::from)
                        .ok_or_else(|| format!("bad IP address '{w}'"))
                })
                .collect()
        };
        if let Some(s) = b.str("BADSRC") {
            self.bad_src = ips(s)?;
        }
        if let Some(s) = b.str("GOODDST") {
            self.good_dst = ips(s)?;
        }
        if let Some(s) = b.str("INTERFACES") {
            for w in args::split_words(s) {
                let (a, m) = args::parse_prefix(&w, cx.addrs)
                    .ok_or_else(|| format!("bad interface '{w}'"))?;
                let (a, m) = (u32::from(a), u32::from(m));
                self.bad_src.push(a | !m);
                self.bad_src.push(a & m);
                self.good_dst.push(a);
            }
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let bad = self.run(&mut batch, ctx);
        ctx.output(0, batch);
        ctx.output(1, bad);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut batch = ctx.pull(0, max);
        let bad = self.run(&mut batch, ctx);
        ctx.output(1, bad);
        batch
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops"), HandlerSpec::r("drop_details")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "drops" => Some(Ok(self.drops.to_string())),
            "drop_details" => Some(Ok(self
                .details
                .iter()
                .zip(CIH_REASONS)
                .map(|(n, r)| format!("{n:>15} packets due to: {r:>24}\n"))
                .collect())),
            _ => None,
        }
    }
    any_impl!();
}
impl CheckIPHeader {
    /// Check every packet; returns the rejected ones (counted, reported like Click).
    #[inline]
    fn run(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) -> PacketBatch {
        let (mut drops, mut details) = (self.drops, self.details);
        let verbose = self.verbose;
        let this = &*self;
        let bad = split_batch(batch, |p| match this.check(p) {
            Ok(()) => true,
            Err(r) => {
                if drops == 0 || verbose {
                    let msg = format!("{}: IP header check failed: {}", ctx.name(), CIH_REASONS[r]);
                    ctx.chatter(&msg);
                }
                drops += 1;
                details[r] += 1;
                false
            }
        });
        self.drops = drops;
        self.details = details;
        bad
    }
}

/// MarkIPHeader([OFFSET]).
#[derive(Default)]
pub struct MarkIPHeader {
    offset: usize,
}
impl MarkIPHeader {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let hl = p
                .data()
                .get(self.offset)
                .map(|b| ((b & 0xf) as usize) * 4)
                .unwrap_or(20);
            p.set_network_header(self.offset.min(p.len()), hl);
        }
    }
}
impl Element for MarkIPHeader {
    fn class_name(&self) -> &'static str {
        "MarkIPHeader"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("OFFSET", Kind::P)])?;
        self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// StripIPHeader: strip up to the transport header.
pub struct StripIPHeader;
impl StripIPHeader {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if let Some(o) = p.transport_header_offset() {
                if o > 0 {
                    p.pull(o as usize);
                }
            }
        }
    }
}
impl Element for StripIPHeader {
    fn class_name(&self) -> &'static str {
        "StripIPHeader"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    simple_push_pull!();
    any_impl!();
}

/// UnstripIPHeader: push the data back to the IP header (undoes StripIPHeader).
pub struct UnstripIPHeader;
impl UnstripIPHeader {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if let Some(o) = p.network_header_offset() {
                if o < 0 {
                    p.push(o.unsigned_abs());
                }
            }
        }
    }
}
impl Element for UnstripIPHeader {
    fn class_name(&self) -> &'static str {
        "UnstripIPHeader"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    simple_push_pull!();
    any_impl!();
}

/// GetIPAddress(OFFSET) or GetIPAddress(IP src|dst): set the destination IP annotation.
#[derive(Default)]
pub struct GetIPAddress {
    offset: usize,
    from_header: Option<usize>,
}
impl GetIPAddress {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let src = match self.from_header {
                Some(o) => p
                    .network_header()
                    .and_then(|ip| ip.get(o..o + 4))
                    .map(|s| [s[0], s[1], s[2], s[3]]),
                None => p
                    .data()
                    .get(self.offset..self.offset + 4)
                    .map(|s| [s[0], s[1], s[2], s[3]]),
            };
            if let Some(a) = src {
                p.set_dst_ip_anno(a);
            }
        }
    }
}
impl Element for GetIPAddress {
    fn class_name(&self) -> &'static str {
        "GetIPAddress"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        match a.first().map(|s| s.as_str()) {
            Some("IP src") => self.from_header = Some(12),
            Some("IP dst") => self.from_header = Some(16),
            _ => {
                let b = bind(conf, &[("OFFSET", Kind::Mp), ("ANNO", Kind::K)])?;
                self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
            }
        }
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// DecIPTTL: decrement TTL (incremental checksum); expired packets → output 1.
#[derive(Default)]
pub struct DecIPTTL {
    multicast: bool,
    drops: u64,
}
impl DecIPTTL {
    #[inline]
    fn dec(&self, p: &mut Packet) -> bool {
        let Some(ip) = p.network_header_mut() else {
            return false;
        };
        if ip.len() < 20 {
            return false;
        }
        if !self.multicast && (ip[16] & 0xf0) == 0xe0 {
            return true;
        }
        if ip[8] <= 1 {
            return false;
        }
        let old = u16::from_be_bytes([ip[8], ip[9]]);
        ip[8] -= 1;
        let new = u16::from_be_bytes([ip[8], ip[9]]);
        let (_, rest) = ip.split_at_mut(10);
        update_checksum(&mut rest[..2], old, new);
        true
    }
}
impl Element for DecIPTTL {
    fn class_name(&self) -> &'static str {
        "DecIPTTL"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("MULTICAST", Kind::K), ("ACTIVE", Kind::K)])?;
        self.multicast = b.bool("MULTICAST")?.unwrap_or(true);
        Ok(())
    }
    filter_push_pull!(dec);
    any_impl!();
}

/// FixIPSrc(IP): rewrite the source of packets with the FIX_IP_SRC annotation.
#[derive(Default)]
pub struct FixIPSrc {
    ip: [u8; 4],
}
impl FixIPSrc {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if p.anno[FIX_IP_SRC_ANNO_OFFSET] != 0 {
                p.anno[FIX_IP_SRC_ANNO_OFFSET] = 0;
                if let Some(ip) = p.network_header_mut() {
                    if ip.len() >= 20 {
                        ip[12..16].copy_from_slice(&self.ip);
                        set_ip_checksum(ip);
                    }
                }
            }
        }
    }
}
impl Element for FixIPSrc {
    fn class_name(&self) -> &'static str {
        "FixIPSrc"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("IPADDR", Kind::Mp)])?;
        self.ip = b
            .ip("IPADDR", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// DropBroadcasts: drop link-level broadcast/multicast packets.
pub struct DropBroadcasts {
    drops: u64,
}
impl Element for DropBroadcasts {
    fn class_name(&self) -> &'static str {
        "DropBroadcasts"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let bad = split_batch(&mut batch, |p| {
            !matches!(p.packet_type, PacketType::Broadcast | PacketType::Multicast)
        });
        self.drops += bad.len() as u64;
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let mut batch = ctx.pull(0, max);
        let bad = split_batch(&mut batch, |p| {
            !matches!(p.packet_type, PacketType::Broadcast | PacketType::Multicast)
        });
        self.drops += bad.len() as u64;
        batch
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "drops").then(|| Ok(self.drops.to_string()))
    }
    any_impl!();
}

#[derive(Clone, Debug)]
struct Route {
    addr: u32,
    mask: u32,
    gw: u32,
    out: usize,
    /// Position in the configuration (LinearIPLookup's `table` lists routes in this order).
    seq: usize,
}

/// StaticIPLookup / LinearIPLookup / RadixIPLookup / DirectIPLookup: longest-prefix match on
/// the destination IP annotation; sets the annotation to the gateway when one is given.
pub struct IPLookup {
    class: &'static str,
    routes: Vec<Route>,
    n: usize,
    // one-entry cache: most traffic in a batch goes to one destination
    cache: Option<(u32, usize)>,
}
impl IPLookup {
    fn new(class: &'static str) -> Self {
        IPLookup {
            class,
            routes: Vec::new(),
            n: 0,
            cache: None,
        }
    }
    fn parse_route(s: &str, cx_addrs: &args::AddressInfo) -> Result<Route, String> {
        let w = args::split_words(s);
        if w.len() < 2 || w.len() > 3 {
            return Err(format!("expected 'ADDR/MASK [GATEWAY] OUTPUT', got '{s}'"));
        }
        // A bare AddressInfo name is its host address (/32), as in Click's route tables.
        let (a, m) = match cx_addrs.ip.get(w[0].as_str()) {
            Some((ip, _)) => (*ip, Ipv4Addr::new(255, 255, 255, 255)),
            None => args::parse_prefix(&w[0], cx_addrs)
                .ok_or_else(|| format!("bad route prefix '{}'", w[0]))?,
        };
        let gw = if w.len() == 3 {
            u32::from(
                args::parse_ip(&w[1], cx_addrs).ok_or_else(|| format!("bad gateway '{}'", w[1]))?,
            )
        } else {
            0
        };
        let out = w[w.len() - 1]
            .parse::<usize>()
            .map_err(|_| format!("bad output '{}'", w[w.len() - 1]))?;
        let (a, m) = (u32::from(a), u32::from(m));
        Ok(Route {
            addr: a & m,
            mask: m,
            gw,
            out,
            seq: 0,
        })
    }
    fn sort(&mut self) {
        // longest prefix first; stable so earlier routes win ties
        self.routes
            .sort_by_key(|r| std::cmp::Reverse(r.mask.count_ones()));
        self.cache = None;
    }
    #[inline]
    fn lookup(&self, dst: u32) -> Option<usize> {
        self.routes.iter().position(|r| dst & r.mask == r.addr)
    }
}
impl Element for IPLookup {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1/-"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.n = cx.noutputs;
        let mut errs = Vec::new();
        for a in args::split_args(conf) {
            match Self::parse_route(&a, cx.addrs) {
                Ok(mut r) => {
                    r.seq = self.routes.len();
                    if r.out >= cx.noutputs {
                        errs.push(format!(
                            "route '{a}' references nonexistent output {}",
                            r.out
                        ));
                    }
                    self.routes.push(r)
                }
                Err(e) => errs.push(e),
            }
        }
        self.sort();
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        }
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut cache = self.cache;
        classify_out(batch, self.n, ctx, |p| {
            let dst = u32::from_be_bytes(p.dst_ip_anno());
            let ri = match cache {
                Some((d, r)) if d == dst => Some(r),
                _ => {
                    let r = self.lookup(dst);
                    if let Some(r) = r {
                        cache = Some((dst, r));
                    }
                    r
                }
            };
            match ri {
                Some(r) => {
                    let route = &self.routes[r];
                    if route.gw != 0 {
                        p.set_dst_ip_anno(route.gw.to_be_bytes());
                    }
                    route.out
                }
                None => usize::MAX,
            }
        });
        self.cache = cache;
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("table"),
            HandlerSpec::r("lookup"),
            HandlerSpec::w("add"),
            HandlerSpec::w("set"),
            HandlerSpec::w("remove"),
            HandlerSpec::w("ctrl"),
            HandlerSpec::w("flush"),
        ]
    }
    fn read_handler(&mut self, name: &str, param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "table" => {
                let mut s = String::new();
                let mut rs: Vec<&Route> = self.routes.iter().collect();
                if self.class == "LinearIPLookup" {
                    rs.sort_by_key(|r| r.seq);
                }
                for r in rs {
                    let pfx = format!("{}/{}", Ipv4Addr::from(r.addr), r.mask.count_ones());
                    let gw = if r.gw != 0 {
                        Ipv4Addr::from(r.gw).to_string()
                    } else {
                        "-".into()
                    };
                    // Click's IPRoute::unparse: a second tab keeps short columns aligned.
                    let pad = |col: &str, width: usize| {
                        if col.len() + 1 < width {
                            format!("{col}\t\t")
                        } else {
                            format!("{col}\t")
                        }
                    };
                    s.push_str(&format!("{}{}{}\n", pad(&pfx, 17), pad(&gw, 9), r.out));
                }
                Some(Ok(s))
            }
            "lookup" => {
                let Some(a) = args::parse_ip(param, &args::AddressInfo::default()) else {
                    return Some(Err("expected IP address".into()));
                };
                Some(Ok(match self.lookup(u32::from(a)) {
                    Some(r) => {
                        let r = &self.routes[r];
                        if r.gw != 0 {
                            format!("{} {}", r.out, Ipv4Addr::from(r.gw))
                        } else {
                            r.out.to_string()
                        }
                    }
                    None => "-1".into(),
                }))
            }
            _ => None,
        }
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        let ai = args::AddressInfo::default();
        let r = match name {
            "add" | "set" => Self::parse_route(v, &ai).and_then(|mut r| {
                r.seq = self.routes.iter().map(|x| x.seq + 1).max().unwrap_or(0);
                if r.out >= self.n {
                    return Err(format!("output {} out of range", r.out));
                }
                let exists = self
                    .routes
                    .iter()
                    .position(|x| x.addr == r.addr && x.mask == r.mask);
                match (exists, name) {
                    (Some(i), "add") => {
                        let x = &self.routes[i];
                        let gw = if x.gw != 0 {
                            Ipv4Addr::from(x.gw).to_string()
                        } else {
                            "-".into()
                        };
                        return Err(format!(
                            "conflict with existing route '{}/{} {gw} {}'",
                            Ipv4Addr::from(x.addr & x.mask),
                            x.mask.count_ones(),
                            x.out
                        ));
                    }
                    (Some(i), _) => self.routes[i] = r,
                    (None, _) => self.routes.push(r),
                }
                Ok(())
            }),
            "remove" => {
                let w = args::split_words(v);
                match w.first().and_then(|p| args::parse_prefix(p, &ai)) {
                    Some((a, m)) => {
                        let (a, m) = (u32::from(a) & u32::from(m), u32::from(m));
                        let before = self.routes.len();
                        self.routes.retain(|x| !(x.addr == a && x.mask == m));
                        if self.routes.len() == before {
                            Err("route not found".into())
                        } else {
                            Ok(())
                        }
                    }
                    None => Err("bad route".into()),
                }
            }
            "flush" => {
                self.routes.clear();
                Ok(())
            }
            "ctrl" => {
                let mut res = Ok(());
                for line in v.lines() {
                    let (cmd, rest) = line
                        .trim()
                        .split_once(char::is_whitespace)
                        .unwrap_or((line.trim(), ""));
                    let r = self
                        .write_handler(cmd, rest, _ctx)
                        .unwrap_or(Err(format!("bad command '{cmd}'")));
                    if r.is_err() {
                        res = r;
                    }
                }
                res
            }
            _ => return None,
        };
        self.sort();
        Some(r)
    }
    any_impl!();
}

/// IPEncap(PROTO, SRC, DST, ...) and UDPIPEncap(SRC, SPORT, DST, DPORT [, CHECKSUM]).
pub struct IPEncap {
    udp: bool,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    use_dst_anno: bool,
    sport: u16,
    dport: u16,
    cksum: bool,
    tos: u8,
    ttl: u8,
    df: bool,
    id: u16,
}
impl IPEncap {
    fn new(udp: bool) -> Self {
        IPEncap {
            udp,
            proto: 17,
            src: [0; 4],
            dst: [0; 4],
            use_dst_anno: false,
            sport: 0,
            dport: 0,
            cksum: true,
            tos: 0,
            ttl: 250,
            df: false,
            id: 0,
        }
    }
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        let hl = if self.udp { 28 } else { 20 };
        for p in batch.iter_mut() {
            p.push(hl);
            let len = p.len();
            let dst = if self.use_dst_anno {
                p.dst_ip_anno()
            } else {
                self.dst
            };
            let id = self.id;
            self.id = self.id.wrapping_add(1);
            {
                let d = p.data_mut();
                d[0] = 0x45;
                d[1] = self.tos;
                d[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                d[4..6].copy_from_slice(&id.to_be_bytes());
                d[6..8].copy_from_slice(&(if self.df { 0x4000u16 } else { 0 }).to_be_bytes());
                d[8] = self.ttl;
                d[9] = if self.udp { 17 } else { self.proto };
                d[12..16].copy_from_slice(&self.src);
                d[16..20].copy_from_slice(&dst);
                set_ip_checksum(&mut d[..20]);
                if self.udp {
                    d[20..22].copy_from_slice(&self.sport.to_be_bytes());
                    d[22..24].copy_from_slice(&self.dport.to_be_bytes());
                    d[24..26].copy_from_slice(&((len - 20) as u16).to_be_bytes());
                    d[26] = 0;
                    d[27] = 0;
                    if self.cksum {
                        set_transport_checksum(d);
                    }
                }
            }
            if !self.use_dst_anno {
                p.set_dst_ip_anno(dst);
            }
            p.set_network_header(0, 20);
        }
    }
}
impl Element for IPEncap {
    fn class_name(&self) -> &'static str {
        if self.udp {
            "UDPIPEncap"
        } else {
            "IPEncap"
        }
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let ip_or_anno = |s: Option<&str>| -> Result<(Option<[u8; 4]>, bool), String> {
            match s.map(|s| s.trim()) {
                Some("DST_ANNO") => Ok((None, true)),
                Some(v) => Ok((
                    Some(
                        args::parse_ip(v, cx.addrs)
                            .ok_or_else(|| format!("bad IP address '{v}'"))?
                            .octets(),
                    ),
                    false,
                )),
                None => Ok((None, false)),
            }
        };
        if self.udp {
            let b = bind(
                conf,
                &[
                    ("SRC", Kind::Mp),
                    ("SPORT", Kind::Mp),
                    ("DST", Kind::Mp),
                    ("DPORT", Kind::Mp),
                    ("CHECKSUM", Kind::P),
                ],
            )?;
            self.src = b
                .ip("SRC", cx.addrs)?
                .map(|a| a.octets())
                .unwrap_or_default();
            let (d, anno) = ip_or_anno(b.str("DST"))?;
            self.dst = d.unwrap_or_default();
            self.use_dst_anno = anno;
            let port = |k: &str| -> Result<u16, String> {
                let v = b.str(k).unwrap_or("0");
                super::extra::parse_port_in(v, "udp", cx)
                    .ok_or_else(|| format!("{k}: invalid port '{v}'"))
            };
            self.sport = port("SPORT")?;
            self.dport = port("DPORT")?;
            self.cksum = b.bool("CHECKSUM")?.unwrap_or(true);
        } else {
            let b = bind(
                conf,
                &[
                    ("PROTO", Kind::Mp),
                    ("SRC", Kind::Mp),
                    ("DST", Kind::Mp),
                    ("TOS", Kind::K),
                    ("TTL", Kind::K),
                    ("DF", Kind::K),
                    ("DSCP", Kind::K),
                    ("ECT", Kind::K),
                    ("CE", Kind::K),
                ],
            )?;
            let p = b.str("PROTO").unwrap_or("0").trim();
            // Click's IP protocol names (ipnameinfo) that fit in a byte.
            self.proto = match p {
                "tcp" | "TCP" => 6,
                "udp" | "UDP" => 17,
                "icmp" | "ICMP" => 1,
                "igmp" => 2,
                "ipip" => 4,
                "dccp" => 33,
                "gre" => 47,
                "sctp" => 132,
                _ => args::parse_u64(p)
                    .filter(|v| *v < 256)
                    .ok_or("bad protocol")? as u8,
            };
            self.src = b
                .ip("SRC", cx.addrs)?
                .map(|a| a.octets())
                .unwrap_or_default();
            let (d, anno) = ip_or_anno(b.str("DST"))?;
            self.dst = d.unwrap_or_default();
            self.use_dst_anno = anno;
            self.tos = b.u64("TOS")?.unwrap_or(0) as u8;
            if let Some(d) = b.u64("DSCP")? {
                self.tos = (d as u8) << 2;
            }
            self.ttl = b.u64("TTL")?.unwrap_or(250) as u8;
            self.df = b.bool("DF")?.unwrap_or(false);
        }
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::rw("src"),
            HandlerSpec::rw("dst"),
            HandlerSpec::rw("sport"),
            HandlerSpec::rw("dport"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "src" => Ipv4Addr::from(self.src).to_string(),
            "dst" => Ipv4Addr::from(self.dst).to_string(),
            "sport" => self.sport.to_string(),
            "dport" => self.dport.to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        let ai = args::AddressInfo::default();
        Some(match name {
            "src" => args::parse_ip(v, &ai)
                .map(|a| self.src = a.octets())
                .ok_or_else(|| "bad IP".into()),
            "dst" => args::parse_ip(v, &ai)
                .map(|a| self.dst = a.octets())
                .ok_or_else(|| "bad IP".into()),
            "sport" => args::parse_u64(v.trim())
                .map(|a| self.sport = a as u16)
                .ok_or_else(|| "bad port".into()),
            "dport" => args::parse_u64(v.trim())
                .map(|a| self.dport = a as u16)
                .ok_or_else(|| "bad port".into()),
            _ => return None,
        })
    }
    any_impl!();
}

/// SetIPChecksum / SetUDPChecksum / SetTCPChecksum.
pub struct SetChecksum {
    which: u8,
}
impl SetChecksum {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let has = p.has_network_header();
            let ip = if has {
                p.network_header_mut()
            } else {
                Some(p.data_mut())
            };
            if let Some(ip) = ip {
                if self.which == 0 {
                    set_ip_checksum(ip);
                } else if ip.len() >= 20 && ip[9] == self.which {
                    set_transport_checksum(ip);
                }
            }
        }
    }
}
impl Element for SetChecksum {
    fn class_name(&self) -> &'static str {
        match self.which {
            0 => "SetIPChecksum",
            17 => "SetUDPChecksum",
            _ => "SetTCPChecksum",
        }
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// StoreIPAddress(OFFSET) / StoreIPAddress(ADDR, OFFSET): write the dst annotation (or ADDR)
/// into the packet.
#[derive(Default)]
pub struct StoreIPAddress {
    addr: Option<[u8; 4]>,
    offset: usize,
    /// `src`/`dst`: offset is into the IP header and the header checksum is kept valid.
    ip_field: bool,
}
impl StoreIPAddress {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let a = self.addr.unwrap_or(p.dst_ip_anno());
            let o = self.offset;
            if self.ip_field {
                let Some(ip) = p.network_header_mut() else {
                    continue;
                };
                if ip.len() < 20 {
                    continue;
                }
                for w in 0..2 {
                    let at = o + 2 * w;
                    let old = u16::from_be_bytes([ip[at], ip[at + 1]]);
                    let new = u16::from_be_bytes([a[2 * w], a[2 * w + 1]]);
                    ip[at..at + 2].copy_from_slice(&a[2 * w..2 * w + 2]);
                    update_checksum(&mut ip[10..12], old, new);
                }
            } else if let Some(s) = p.data_mut().get_mut(o..o + 4) {
                s.copy_from_slice(&a);
            }
        }
    }
}

/// SetIPAddress(ADDR): set the destination IP address annotation.
#[derive(Default)]
pub struct SetIPAddress {
    addr: [u8; 4],
}
impl SetIPAddress {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            p.set_dst_ip_anno(self.addr);
        }
    }
}
impl Element for SetIPAddress {
    fn class_name(&self) -> &'static str {
        "SetIPAddress"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        let [one] = a.as_slice() else {
            return Err("expected ADDR".into());
        };
        self.addr = args::parse_ip(one, cx.addrs)
            .ok_or("bad IP address")?
            .octets();
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}
impl Element for StoreIPAddress {
    fn class_name(&self) -> &'static str {
        "StoreIPAddress"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        let named = |o: &str| match o {
            "src" => Some(12),
            "dst" => Some(16),
            _ => None,
        };
        match a.len() {
            1 => match named(&a[0]) {
                Some(o) => {
                    self.offset = o;
                    self.ip_field = true;
                }
                None => self.offset = args::parse_u64(&a[0]).ok_or("bad offset")? as usize,
            },
            2 => {
                self.addr = Some(
                    args::parse_ip(&a[0], cx.addrs)
                        .ok_or("bad address")?
                        .octets(),
                );
                match named(&a[1]) {
                    Some(o) => {
                        self.offset = o;
                        self.ip_field = true;
                    }
                    None => self.offset = args::parse_u64(&a[1]).ok_or("bad offset")? as usize,
                }
            }
            _ => return Err("expected OFFSET or ADDR, OFFSET".into()),
        }
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

/// IPPrint([LABEL], CONTENTS, TIMESTAMP, ...): tcpdump-like lines.
#[derive(Default)]
pub struct IPPrint {
    label: String,
    timestamp: bool,
    active: bool,
    /// ID, TTL, TOS, LENGTH prefixes, in Click's order.
    print_id: bool,
    print_ttl: bool,
    print_tos: bool,
    print_len: bool,
    print_paint: bool,
    print_aggregate: bool,
    /// Byte-swap ICMP echo identifiers and sequence numbers (Click's SWAP, default true).
    swap: bool,
    /// 0 = no dump, 1 = hex, 2 = ASCII (CONTENTS or PAYLOAD).
    contents: u8,
    /// Dump starts at the payload rather than at the packet data (PAYLOAD).
    payload: bool,
    /// Most bytes dumped (MAXLENGTH; negative = all).
    max_bytes: i64,
    /// OUTFILE: lines go there instead of to the chatter.
    outfile: Option<String>,
    out: Option<Box<dyn std::io::Write>>,
}

/// Click's names for ICMP codes (ipnameinfo), by (type, code).
fn icmp_code_name(ty: u8, code: u8) -> Option<&'static str> {
    Some(match (ty, code) {
        (3, 0) => "net",
        (3, 1) => "host",
        (3, 2) => "protocol",
        (3, 3) => "port",
        (3, 4) => "needfrag",
        (3, 5) => "srcroutefail",
        (3, 6) => "netunknown",
        (3, 7) => "hostunknown",
        (3, 8) => "isolated",
        (3, 9) => "netprohibited",
        (3, 10) => "hostprohibited",
        (3, 11) => "tosnet",
        (3, 12) => "toshost",
        (3, 13) => "filterprohibited",
        (3, 14) => "hostprecedence",
        (3, 15) => "precedencecutoff",
        (5, 0) => "net",
        (5, 1) => "host",
        (5, 2) => "tosnet",
        (5, 3) => "toshost",
        (11, 0) => "transit",
        (11, 1) => "reassembly",
        (12, 0) => "erroratptr",
        (12, 1) => "missingopt",
        (12, 2) => "length",
        _ => return None,
    })
}

/// Click's IP protocol names (ipnameinfo) for the protocols that fit in a byte.
fn ip_proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        132 => "sctp",
        _ => return None,
    })
}

fn be16(b: &[u8], o: usize) -> u16 {
    b.get(o..o + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

fn be32(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

impl IPPrint {
    /// TCP part of a line; `t` holds `tl` valid transport bytes.
    fn tcp_line(s: &mut String, p: &Packet, ip: &[u8], t: &[u8], tl: i64, first: bool) {
        let (src, dst) = ip_pair(ip);
        if tl < 4 || !first {
            s.push_str(&format!(
                "{src} > {dst}: {}",
                if first { "truncated-tcp" } else { "tcp" }
            ));
            return;
        }
        s.push_str(&format!("{src}.{} > {dst}.{}: ", be16(t, 0), be16(t, 2)));
        if tl < 14 {
            s.push_str("truncated-tcp");
            return;
        }
        let ip_len = be16(ip, 2) as i64;
        let f = t.get(13).copied().unwrap_or(0);
        let thl = (t.get(12).copied().unwrap_or(0) >> 4) as i64 * 4;
        let mut seqlen = ip_len - ((ip[0] & 0xf) as i64 * 4) - thl;
        for (bit, c) in [(2u8, 'S'), (1, 'F'), (4, 'R'), (8, 'P')] {
            if f & bit != 0 {
                s.push(c);
                if bit <= 2 {
                    seqlen += 1;
                }
            }
        }
        if f & 15 == 0 {
            s.push('.');
        }
        let seq = be32(t, 4);
        s.push_str(&format!(
            " {seq}:{}({seqlen},{},{ip_len})",
            seq.wrapping_add(seqlen as u32),
            p.len()
        ));
        if f & 16 != 0 {
            s.push_str(&format!(" ack {}", be32(t, 8)));
        }
        if tl < 16 {
            s.push_str("truncated-tcp");
        } else {
            s.push_str(&format!(" win {}", be16(t, 14)));
        }
    }

    fn udp_line(s: &mut String, ip: &[u8], t: &[u8], tl: i64, first: bool) {
        let (src, dst) = ip_pair(ip);
        if tl < 4 || !first {
            s.push_str(&format!(
                "{src} > {dst}: {}",
                if first { "truncated-udp" } else { "udp" }
            ));
            return;
        }
        s.push_str(&format!("{src}.{} > {dst}.{}: ", be16(t, 0), be16(t, 2)));
        if tl < 8 {
            s.push_str("truncated-udp");
        } else {
            // Click prints the UDP length field as is.
            s.push_str(&format!("udp {}", be16(t, 4)));
        }
    }

    fn icmp_line(&self, s: &mut String, ip: &[u8], t: &[u8], tl: i64, first: bool) {
        let (src, dst) = ip_pair(ip);
        s.push_str(&format!("{src} > {dst}: "));
        if !first {
            s.push_str("icmp");
            return;
        }
        if tl < 2 {
            s.push_str("truncated-icmp");
            return;
        }
        let (ty, code) = (t[0], t[1]);
        match ty {
            0 | 8 => {
                s.push_str(if ty == 0 {
                    "icmp echo-reply "
                } else {
                    "icmp echo "
                });
                if tl < 8 {
                    s.push_str("truncated-icmp");
                    return;
                }
                // Click reads the fields in host (little-endian) order, then swaps if SWAP.
                let raw = |o: usize| u16::from_le_bytes([t[o], t[o + 1]]);
                let sw = |x: u16| if self.swap { x.swap_bytes() } else { x };
                s.push_str(&format!("({}, {})", sw(raw(4)), sw(raw(6))));
            }
            3 => {
                let cname = icmp_code_name(3, code)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("code {code}"));
                let e = t.get(8..tl.max(0) as usize).unwrap_or(&[]);
                if e.len() < 20 {
                    s.push_str(&format!("icmp unreachable {cname} truncated-icmp"));
                    return;
                }
                let edst = Ipv4Addr::new(e[16], e[17], e[18], e[19]);
                s.push_str(&format!("icmp {edst} unreachable {cname}"));
                let ehl = ((e[0] & 0xf) as usize) * 4;
                match code {
                    2 => s.push_str(&format!(
                        " {}",
                        ip_proto_name(e[9])
                            .map(str::to_string)
                            .unwrap_or_else(|| e[9].to_string())
                    )),
                    3 => {
                        s.push_str(&format!(
                            " {}",
                            ip_proto_name(e[9])
                                .map(str::to_string)
                                .unwrap_or_else(|| format!("protocol {}", e[9]))
                        ));
                        match e.get(ehl..).filter(|u| u.len() >= 4) {
                            Some(u) => s.push_str(&format!("/{}", be16(u, 2))),
                            None => s.push_str("truncated-icmp"),
                        }
                    }
                    4 => {
                        let mtu = be16(t, 6);
                        if mtu != 0 {
                            s.push_str(&format!(" (mtu {mtu})"));
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                s.push_str("icmp ");
                match crate::elements::dumps::icmp_type_name(ty) {
                    Some(n) => s.push_str(n),
                    None => s.push_str(&format!("type {ty}")),
                }
                if let Some(c) = icmp_code_name(ty, code) {
                    s.push_str(&format!(" {c}"));
                } else if code != 0 {
                    s.push_str(&format!(" code {code}"));
                }
            }
        }
    }

    /// The line for one packet, or None when it has no network header (Click prints nothing).
    fn line(&self, p: &Packet) -> Option<String> {
        let ip = p.network_header()?;
        let mut s = print_prefix(&self.label, self.timestamp, p);
        if self.print_aggregate {
            s.push_str(&format!("#{}", p.anno_u32(AGGREGATE_ANNO_OFFSET)));
        }
        if self.print_paint {
            s.push_str(if self.print_aggregate { "." } else { "paint " });
            s.push_str(&p.anno[crate::packet::PAINT_ANNO_OFFSET].to_string());
        }
        if self.print_aggregate || self.print_paint {
            s.push_str(": ");
        }
        if ip.len() < 20 {
            s.push_str("truncated-ip");
        } else {
            let hl = ((ip[0] & 0xf) as usize) * 4;
            let ip_len = be16(ip, 2) as i64;
            let payload_len = ip_len - hl as i64;
            let t = p.transport_header().or_else(|| ip.get(hl..)).unwrap_or(&[]);
            let tl = (t.len() as i64).min(payload_len);
            let off = be16(ip, 6);
            let first = off & 0x1fff == 0;
            if self.print_id {
                s.push_str(&format!("id {} ", be16(ip, 4)));
            }
            if self.print_ttl {
                s.push_str(&format!("ttl {} ", ip[8]));
            }
            if self.print_tos {
                s.push_str(&format!("tos {} ", ip[1]));
            }
            if self.print_len {
                s.push_str(&format!("length {ip_len} "));
            }
            match ip[9] {
                6 => Self::tcp_line(&mut s, p, ip, t, tl, first),
                17 => Self::udp_line(&mut s, ip, t, tl, first),
                1 => self.icmp_line(&mut s, ip, t, tl, first),
                pr => {
                    let (src, dst) = ip_pair(ip);
                    s.push_str(&format!("{src} > {dst}: ip-proto-{pr}"));
                }
            }
            if off & 0x3fff != 0 {
                s.push_str(&format!(
                    " (frag {}:{payload_len}@{}{})",
                    be16(ip, 4),
                    (off & 0x1fff) << 3,
                    if off & 0x2000 != 0 { "+" } else { "" }
                ));
            }
            if self.contents > 0 {
                let data: &[u8] = if self.payload {
                    let skip = match ip[9] {
                        6 if first => (t.get(12).copied().unwrap_or(0) >> 4) as usize * 4,
                        17 if first => 8,
                        _ => 0,
                    };
                    t.get(skip..).unwrap_or(&[])
                } else {
                    p.data()
                };
                let n = if self.max_bytes < 0 {
                    data.len()
                } else {
                    data.len().min(self.max_bytes as usize)
                };
                Self::dump(&mut s, &data[..n], self.contents == 2);
            }
        }
        Some(s)
    }

    /// Click's content dump: hex in groups of 4 bytes, 24 a line; ASCII in groups of 8, 48.
    fn dump(s: &mut String, data: &[u8], ascii: bool) {
        let (line, group) = if ascii { (48, 8) } else { (24, 4) };
        for (i, &b) in data.iter().enumerate() {
            if i % line == 0 {
                s.push_str("\n  ");
            } else if i % group == 0 {
                s.push(' ');
            }
            if !ascii {
                s.push_str(&format!("{b:02x}"));
            } else if (32..=126).contains(&b) {
                s.push(b as char);
            } else {
                s.push('.');
            }
        }
    }

    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        if !self.active {
            return;
        }
        for p in batch.iter() {
            let Some(s) = self.line(p) else { continue };
            match self.out.as_mut() {
                Some(w) => {
                    let _ = std::io::Write::write_fmt(w, format_args!("{s}\n"));
                }
                None => ctx.chatter(&s),
            }
        }
    }
}

fn ip_pair(ip: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    (
        Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
    )
}

use crate::packet::AGGREGATE_ANNO_OFFSET;

impl Element for IPPrint {
    fn class_name(&self) -> &'static str {
        "IPPrint"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("LABEL", Kind::P),
                ("CONTENTS", Kind::K),
                ("PAYLOAD", Kind::K),
                ("MAXLENGTH", Kind::K),
                ("NBYTES", Kind::K),
                ("CHANNEL", Kind::K),
                ("ID", Kind::K),
                ("TTL", Kind::K),
                ("TOS", Kind::K),
                ("LENGTH", Kind::K),
                ("TIMESTAMP", Kind::K),
                ("AGGREGATE", Kind::K),
                ("PAINT", Kind::K),
                ("SWAP", Kind::K),
                ("OUTFILE", Kind::K),
                ("ACTIVE", Kind::K),
            ],
        )?;
        self.label = b.string("LABEL")?.unwrap_or_default();
        self.timestamp = b.bool("TIMESTAMP")?.unwrap_or(true);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.print_id = b.bool("ID")?.unwrap_or(false);
        self.print_ttl = b.bool("TTL")?.unwrap_or(false);
        self.print_tos = b.bool("TOS")?.unwrap_or(false);
        self.print_len = b.bool("LENGTH")?.unwrap_or(false);
        self.print_paint = b.bool("PAINT")?.unwrap_or(false);
        self.print_aggregate = b.bool("AGGREGATE")?.unwrap_or(false);
        self.swap = b.bool("SWAP")?.unwrap_or(true);
        self.max_bytes = match b.str("MAXLENGTH").or(b.str("NBYTES")) {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map_err(|_| "MAXLENGTH: expected integer")?,
            None => 1500,
        };
        let contents = b.str("CONTENTS").unwrap_or("no").trim();
        self.contents = match args::parse_bool(contents) {
            Some(v) => u8::from(v),
            None => match contents.to_ascii_uppercase().as_str() {
                "NONE" => 0,
                "HEX" => 1,
                "ASCII" => 2,
                _ => {
                    return Err(format!(
                        "bad contents value '{contents}'; should be 'NONE', 'HEX', or 'ASCII'"
                    ))
                }
            },
        };
        let payload = b.str("PAYLOAD").unwrap_or("no").trim().to_ascii_uppercase();
        let payload = match payload.as_str() {
            "NO" | "FALSE" => 0,
            "YES" | "TRUE" | "HEX" => 1,
            "ASCII" => 2,
            _ => {
                return Err(format!(
                    "bad payload value '{payload}'; should be 'false', 'hex', or 'ascii'"
                ))
            }
        };
        if payload > 0 && self.contents > 0 {
            return Err("specify at most one of PAYLOAD and CONTENTS".into());
        } else if payload > 0 {
            self.contents = payload;
            self.payload = true;
        }
        self.outfile = b.string("OUTFILE")?;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if let Some(f) = &self.outfile {
            let w = ctx.env().create_file(f).map_err(|e| format!("{f}: {e}"))?;
            self.out = Some(w);
        }
        Ok(())
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        if let Some(w) = self.out.as_mut() {
            let _ = std::io::Write::flush(w);
        }
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "active").then(|| Ok(bool_str(self.active)))
    }
    any_impl!();
}

/// StripToNetworkHeader: drop bytes in front of the network header.
pub struct StripToNetworkHeader;
impl StripToNetworkHeader {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            if let Some(o) = p.network_header_offset() {
                if o > 0 {
                    p.pull(o as usize);
                }
            }
        }
    }
}
impl Element for StripToNetworkHeader {
    fn class_name(&self) -> &'static str {
        "StripToNetworkHeader"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    simple_push_pull!();
    any_impl!();
}

/// CheckTCPHeader / CheckUDPHeader / CheckICMPHeader: length and checksum checks on the
/// transport header of annotated IP packets; bad ones go to output 1 (or are dropped).
pub struct CheckTransport {
    class: &'static str,
    proto: u8,
    checksum: bool,
    drops: u64,
}
impl CheckTransport {
    fn ok(&self, p: &mut Packet) -> bool {
        let Some(ip) = p.network_header() else {
            return false;
        };
        if ip.len() < 20 || ip[9] != self.proto {
            return false;
        }
        let hl = ((ip[0] & 0xf) as usize) * 4;
        let len = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
        if hl < 20 || len < hl {
            return false;
        }
        let t = &ip[hl..len];
        let min = if self.proto == 6 { 20 } else { 8 };
        if t.len() < min {
            return false;
        }
        if self.proto == 6 {
            let thl = ((t[12] >> 4) as usize) * 4;
            if thl < 20 || thl > t.len() {
                return false;
            }
        }
        if self.proto == 17 && (u16::from_be_bytes([t[4], t[5]]) as usize) > t.len() {
            return false;
        }
        if !self.checksum || (self.proto == 17 && t[6] == 0 && t[7] == 0) {
            return true;
        }
        let mut acc = 0u32;
        if self.proto != 1 {
            acc = add(add(0, &ip[12..16]), &pseudo_header_dst(ip))
                + self.proto as u32
                + t.len() as u32;
        }
        fold(add(acc, t)) == 0xffff
    }
}
impl Element for CheckTransport {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("CHECKSUM", Kind::K),
                ("VERBOSE", Kind::K),
                ("DETAILS", Kind::K),
            ],
        )?;
        self.checksum = b.bool("CHECKSUM")?.unwrap_or(true);
        Ok(())
    }
    filter_push_pull!(ok);
    any_impl!();
}

/// `LABEL: ` and `TIMESTAMP: `, each when set: how IPPrint and ARPPrint start a line.
pub(super) fn print_prefix(label: &str, timestamp: bool, p: &Packet) -> String {
    let mut s = String::new();
    if !label.is_empty() {
        s.push_str(label);
        s.push_str(": ");
    }
    if timestamp {
        s.push_str(&format!("{}: ", p.timestamp));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_header_covers_the_source_routes_final_destination() {
        // 24-byte header: NOP, then LSRR with one address (pointer at its end), then UDP.
        let mut ip = vec![0u8; 24 + 8];
        ip[0] = 0x46;
        ip[2..4].copy_from_slice(&32u16.to_be_bytes());
        ip[9] = 17;
        ip[12..16].copy_from_slice(&[198, 18, 0, 1]);
        ip[16..20].copy_from_slice(&[198, 18, 0, 2]);
        ip[20..24].copy_from_slice(&[1, 131, 3, 4]);
        // A route too short for an address leaves the header's destination.
        assert_eq!(pseudo_header_dst(&ip), [198, 18, 0, 2]);
        let mut ip = vec![0u8; 28 + 8];
        ip[0] = 0x47;
        ip[2..4].copy_from_slice(&36u16.to_be_bytes());
        ip[9] = 17;
        ip[12..16].copy_from_slice(&[198, 18, 0, 1]);
        ip[16..20].copy_from_slice(&[198, 18, 0, 2]);
        ip[20..28].copy_from_slice(&[131, 7, 4, 198, 19, 0, 9, 0]);
        assert_eq!(pseudo_header_dst(&ip), [198, 19, 0, 9]);
        set_transport_checksum(&mut ip);
        // The checksum verifies against the final destination, not the header's.
        let udp = &ip[28..];
        let sum = |dst: [u8; 4]| {
            fold(add(
                netwire::checksum::pseudo_header([198, 18, 0, 1], dst, 17, 8),
                udp,
            ))
        };
        assert_eq!(sum([198, 19, 0, 9]), 0xffff);
        assert_ne!(sum([198, 18, 0, 2]), 0xffff);
    }

    #[test]
    fn checksums() {
        let mut h = [
            0x45u8, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        set_ip_checksum(&mut h);
        assert_eq!(fold(add(0, &h)), 0xffff);
        let old = u16::from_be_bytes([h[8], h[9]]);
        h[8] -= 1;
        let new = u16::from_be_bytes([h[8], h[9]]);
        let (_, rest) = h.split_at_mut(10);
        update_checksum(&mut rest[..2], old, new);
        assert_eq!(fold(add(0, &h)), 0xffff);
    }
}
