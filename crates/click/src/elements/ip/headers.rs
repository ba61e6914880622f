//! IPv4 headers: checks and marks, TTL, address annotations, broadcasts, encapsulation
//! (IPEncap, UDPIPEncap), checksums and address stores.

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::elements::split_batch;
use crate::packet::{Packet, PacketBatch, PacketType, FIX_IP_SRC_ANNO_OFFSET};
use crate::{element_class, filter_push_pull, simple_push_pull};
use netwire::checksum::{add, checksum, fold, update};
use std::net::Ipv4Addr;

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
    pub(crate) fn new(checksum: bool, class: &'static str) -> Self {
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
    element_class!(self => class: self.class, ports: "1/1-2", processing: "a/ah");
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
    element_class!(class: "MarkIPHeader", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("OFFSET", Kind::P)])?;
        self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
        Ok(())
    }
    simple_push_pull!();
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
    element_class!(class: "StripIPHeader", ports: "1/1");
    simple_push_pull!();
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
    element_class!(class: "UnstripIPHeader", ports: "1/1");
    simple_push_pull!();
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
    element_class!(class: "GetIPAddress", ports: "1/1");
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
    element_class!(class: "DecIPTTL", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("MULTICAST", Kind::K), ("ACTIVE", Kind::K)])?;
        self.multicast = b.bool("MULTICAST")?.unwrap_or(true);
        Ok(())
    }
    filter_push_pull!(dec);
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
    element_class!(class: "FixIPSrc", ports: "1/1");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("IPADDR", Kind::Mp)])?;
        self.ip = b
            .ip("IPADDR", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        Ok(())
    }
    simple_push_pull!();
}

/// DropBroadcasts: drop link-level broadcast/multicast packets.
pub struct DropBroadcasts {
    pub(crate) drops: u64,
}
impl Element for DropBroadcasts {
    element_class!(class: "DropBroadcasts", ports: "1/1");
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
    pub(crate) fn new(udp: bool) -> Self {
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
    element_class!(self => class: if self.udp { "UDPIPEncap" } else { "IPEncap" }, ports: "1/1");
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
                crate::elements::shared::parse_port_in(v, "udp", cx)
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
}

/// SetIPChecksum / SetUDPChecksum / SetTCPChecksum.
pub struct SetChecksum {
    pub(crate) which: u8,
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
    element_class! {
        self =>
        class: match self.which { 0 => "SetIPChecksum", 17 => "SetUDPChecksum", _ => "SetTCPChecksum", },
        ports: "1/1",
    }
    fn configure(&mut self, _conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        Ok(())
    }
    simple_push_pull!();
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
    element_class!(class: "SetIPAddress", ports: "1/1");
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
}
impl Element for StoreIPAddress {
    element_class!(class: "StoreIPAddress", ports: "1/1");
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
    element_class!(class: "StripToNetworkHeader", ports: "1/1");
    simple_push_pull!();
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
