//! IP router support elements: ICMPError, ICMPPingResponder, IPGWOptions, IPFragmenter,
//! IPInputCombo, IPOutputCombo.
//!
//! All header access goes through bounds-checked slices; a packet whose headers do not fit is
//! treated as malformed (rejected or dropped), never read past its end.

use super::extra::{reject, set_ip_cksum};
use crate::any_impl;
use crate::args::{bind, parse_ip, split_words, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::packet::{
    Packet, PacketBatch, PacketType, FIX_IP_SRC_ANNO_OFFSET, ICMP_PARAMPROB_ANNO_OFFSET,
};
use crate::simple_push_pull;
use netwire::checksum;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};

const PROTO_ICMP: u8 = 1;

/// (IP header, IP header length) of an annotated packet, when the header is all there.
fn ip_view(p: &Packet) -> Option<(&[u8], usize)> {
    let ip = p.network_header()?;
    if ip.len() < 20 {
        return None;
    }
    let hl = ((ip[0] & 0x0f) as usize) * 4;
    (hl >= 20 && hl <= ip.len()).then_some((ip, hl))
}

// ---------------------------------------------------------------- ICMPIPEncap

/// ICMPIPEncap(SRC, DST, TYPE [, CODE, IDENTIFIER]): puts an IP + ICMP header in front of
/// each packet.
pub struct IcmpIpEncap {
    src: [u8; 4],
    dst: [u8; 4],
    ty: u8,
    code: u8,
    icmp_id: u16,
    ip_id: u16,
}

impl Default for IcmpIpEncap {
    fn default() -> Self {
        IcmpIpEncap {
            src: [0; 4],
            dst: [0; 4],
            ty: 0,
            code: 0,
            icmp_id: 0,
            ip_id: 1,
        }
    }
}

impl IcmpIpEncap {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        // Timestamp messages have a 20-byte ICMP header, the others 8.
        let ihl = if matches!(self.ty, 13 | 14) { 20 } else { 8 };
        for p in batch.iter_mut() {
            p.push(20 + ihl);
            let len = p.len();
            let d = p.data_mut();
            d[..20 + ihl].fill(0);
            d[0] = 0x45;
            d[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            d[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
            d[8] = 255;
            d[9] = PROTO_ICMP;
            d[12..16].copy_from_slice(&self.src);
            d[16..20].copy_from_slice(&self.dst);
            d[20] = self.ty;
            d[21] = self.code;
            // echo, timestamp and info request/reply carry identifier and sequence
            if matches!(self.ty, 0 | 8 | 13 | 14 | 15 | 16) {
                d[24..26].copy_from_slice(&self.icmp_id.to_be_bytes());
                d[26..28].copy_from_slice(&self.ip_id.to_be_bytes());
            }
            set_ip_cksum(&mut d[..20]);
            let c = checksum::checksum(&d[20..]);
            d[22..24].copy_from_slice(&c.to_be_bytes());
            p.set_dst_ip_anno(self.dst);
            p.set_network_header(0, 20);
            self.ip_id = self
                .ip_id
                .wrapping_add(if self.ip_id == 0xFFFF { 2 } else { 1 });
        }
    }
}

impl Element for IcmpIpEncap {
    fn class_name(&self) -> &'static str {
        "ICMPIPEncap"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("SRC", Kind::Mp),
                ("DST", Kind::Mp),
                ("TYPE", Kind::Mp),
                ("CODE", Kind::P),
                ("IDENTIFIER", Kind::K),
            ],
        )?;
        self.src = b
            .ip("SRC", cx.addrs)?
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
            .octets();
        self.dst = b
            .ip("DST", cx.addrs)?
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
            .octets();
        self.ty = icmp_type(b.str("TYPE").unwrap_or("")).ok_or("invalid TYPE")?;
        self.code = icmp_code(self.ty, b.str("CODE").unwrap_or("0")).ok_or("invalid CODE")?;
        if let Some(id) = b.u64("IDENTIFIER")? {
            self.icmp_id = u16::try_from(id).map_err(|_| "IDENTIFIER: out of range")?;
        }
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("src"), HandlerSpec::rw("dst")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "src" => Ipv4Addr::from(self.src).to_string(),
            "dst" => Ipv4Addr::from(self.dst).to_string(),
            _ => return None,
        }))
    }
    fn write_handler(
        &mut self,
        name: &str,
        v: &str,
        _ctx: &mut Ctx<'_>,
    ) -> crate::element::WriteResult {
        let slot = match name {
            "src" => &mut self.src,
            "dst" => &mut self.dst,
            _ => return None,
        };
        Some(
            parse_ip(v.trim(), &Default::default())
                .map(|a| *slot = a.octets())
                .ok_or_else(|| "syntax error".to_string()),
        )
    }
    any_impl!();
}

// ---------------------------------------------------------------- ICMPError

/// Click numbers IP ids of ICMP errors with one counter shared by all ICMPError elements.
static ICMP_ERROR_ID: AtomicU16 = AtomicU16::new(1);

fn icmp_type(s: &str) -> Option<u8> {
    Some(match s.trim() {
        "echoreply" | "echo-reply" => 0,
        "unreachable" => 3,
        "sourcequench" => 4,
        "redirect" => 5,
        "echo" => 8,
        "routeradvert" => 9,
        "routersolicit" => 10,
        "timeexceeded" => 11,
        "parameterproblem" => 12,
        "timestamp" => 13,
        "timestampreply" | "timestamp-reply" => 14,
        "inforeq" => 15,
        "inforeqreply" | "inforeq-reply" => 16,
        "maskreq" => 17,
        "maskreqreply" | "maskreq-reply" => 18,
        s => return crate::args::parse_u64(s).and_then(|v| u8::try_from(v).ok()),
    })
}

fn icmp_code(ty: u8, s: &str) -> Option<u8> {
    let named = match (ty, s.trim()) {
        (3, "net") => 0,
        (3, "host") => 1,
        (3, "protocol") => 2,
        (3, "port") => 3,
        (3, "needfrag") => 4,
        (3, "srcroutefail") => 5,
        (3, "net_unknown" | "netunknown") => 6,
        (3, "host_unknown" | "hostunknown") => 7,
        (3, "isolated") => 8,
        (3, "net_prohib" | "netprohib" | "netprohibited") => 9,
        (3, "host_prohib" | "hostprohib" | "hostprohibited") => 10,
        (3, "tosnet") => 11,
        (3, "toshost") => 12,
        (3, "filter_prohib" | "filterprohib" | "filterprohibited") => 13,
        (3, "hostprecedence") => 14,
        (3, "precedencecutoff") => 15,
        (5, "net") => 0,
        (5, "host") => 1,
        (5, "tosnet") => 2,
        (5, "toshost") => 3,
        (11, "transit") => 0,
        (11, "reassembly") => 1,
        (12, "erroratptr") => 0,
        (12, "missingopt") => 1,
        (12, "length") => 2,
        (_, s) => return crate::args::parse_u64(s).and_then(|v| u8::try_from(v).ok()),
    };
    Some(named)
}

fn is_error_type(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// ICMPError(SRC, TYPE [, CODE, BADADDRS, MTU, PMTU, SET_FIX_ANNO]): makes ICMP error packets
/// about the IP packets it receives (RFC 1812 rules on when not to).
pub struct IcmpError {
    src: [u8; 4],
    ty: u8,
    code: u8,
    bad: Vec<[u8; 4]>,
    mtu: usize,
    pmtu: u16,
    fix_anno: bool,
}

impl Default for IcmpError {
    fn default() -> Self {
        IcmpError {
            src: [0; 4],
            ty: 3,
            code: 0,
            bad: Vec::new(),
            mtu: 576,
            pmtu: 0,
            fix_anno: true,
        }
    }
}

impl IcmpError {
    fn unicast(&self, a: [u8; 4]) -> bool {
        a != [255; 4] && a[0] & 0xf0 != 0xe0 && !self.bad.contains(&a)
    }
    fn valid_source(&self, a: [u8; 4]) -> bool {
        self.unicast(a) && a[0] != 0 && a[0] != 127 && a[0] & 0xf0 != 0xf0
    }

    /// Offset (within the IP header) of a usable LSRR/SSRR option.
    fn source_route(ip: &[u8], hl: usize) -> Option<usize> {
        let mut oi = 20;
        while oi < hl {
            match ip[oi] {
                1 => oi += 1,
                0 => return None,
                t => {
                    let xlen = *ip.get(oi + 1)? as usize;
                    if xlen < 2 || oi + xlen > hl {
                        return None;
                    }
                    let ptr = *ip.get(oi + 2).unwrap_or(&0) as usize;
                    if (t == 131 || t == 137)
                        && ptr >= 4
                        && ptr.is_multiple_of(4)
                        && ptr <= xlen + 1
                    {
                        return Some(oi);
                    }
                    oi += xlen;
                }
            }
        }
        None
    }

    fn make(&self, p: &Packet, ctx: &mut Ctx<'_>) -> Option<Packet> {
        let (ip, hl) = ip_view(p)?;
        if ip[9] == PROTO_ICMP && (hl + 4 > p.len() || ip.get(hl).is_none_or(|t| is_error_type(*t)))
        {
            return None;
        }
        let (isrc, idst) = (
            [ip[12], ip[13], ip[14], ip[15]],
            [ip[16], ip[17], ip[18], ip[19]],
        );
        if !self.unicast(idst)
            || matches!(p.packet_type, PacketType::Broadcast | PacketType::Multicast)
            || !self.valid_source(isrc)
        {
            return None;
        }
        // Only the first fragment.
        if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
            return None;
        }
        let paramprob = p.anno[ICMP_PARAMPROB_ANNO_OFFSET] as usize;
        let mut sr = Self::source_route(ip, hl);
        if let Some(o) = sr {
            if self.ty == 5 {
                return None;
            }
            if self.ty == 12
                && self.code == 0
                && o <= paramprob
                && paramprob < o + ip[o + 1] as usize
            {
                sr = None;
            }
        }
        let mut d = vec![0u8; self.mtu.max(28)];
        d[0] = 0x45;
        let id = ICMP_ERROR_ID.fetch_add(1, Ordering::Relaxed);
        d[4..6].copy_from_slice(&id.to_be_bytes());
        d[8] = 200;
        d[9] = PROTO_ICMP;
        d[12..16].copy_from_slice(&self.src);
        d[16..20].copy_from_slice(&isrc);
        let mut nhl = 20;
        if let Some(o) = sr {
            // Reversed source route (RFC 1812 4.3.2.6).
            let olen = ip[o + 2] as usize - 1;
            if 20 + olen + 3 <= d.len() {
                d[20] = ip[o];
                d[21] = olen as u8;
                d[22] = 4;
                d[20 + olen] = 0;
                let mut w = 23;
                let mut r = o as isize + ip[o + 2] as isize - 5;
                while r >= o as isize + 3 && w + 4 <= d.len() {
                    let r0 = r as usize;
                    d[w..w + 4].copy_from_slice(&ip[r0..r0 + 4]);
                    r -= 4;
                    w += 4;
                }
                nhl = (20 + olen + 3) & !3;
                d[0] = 0x40 | (nhl / 4) as u8;
            }
        }
        let icmp = nhl;
        d[icmp] = self.ty;
        d[icmp + 1] = self.code;
        if self.ty == 12 && self.code == 0 {
            d[icmp + 4] = paramprob as u8;
        }
        if self.ty == 5 {
            d[icmp + 4..icmp + 8].copy_from_slice(&p.dst_ip_anno());
        }
        if self.ty == 3 && self.code == 4 {
            d[icmp + 6..icmp + 8].copy_from_slice(&self.pmtu.to_be_bytes());
        }
        let room = d.len().saturating_sub(icmp + 8);
        let xlen = room.min(ip.len());
        d[icmp + 8..icmp + 8 + xlen].copy_from_slice(&ip[..xlen]);
        d.truncate(icmp + 8 + xlen);
        let c = checksum::checksum(&d[icmp..]);
        d[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
        let total = d.len() as u16;
        d[2..4].copy_from_slice(&total.to_be_bytes());
        set_ip_cksum(&mut d[..nhl]);
        let mut q = Packet::from_data(&d);
        q.set_network_header(0, nhl);
        q.set_dst_ip_anno(isrc);
        if self.fix_anno {
            q.anno[FIX_IP_SRC_ANNO_OFFSET] = 1;
        }
        q.timestamp = ctx.now();
        Some(q)
    }

    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        let out: PacketBatch = batch.iter().filter_map(|p| self.make(p, ctx)).collect();
        *batch = out;
    }
}

impl Element for IcmpError {
    fn class_name(&self) -> &'static str {
        "ICMPError"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("SRC", Kind::Mp),
                ("TYPE", Kind::Mp),
                ("CODE", Kind::P),
                ("BADADDRS", Kind::P),
                ("MTU", Kind::K),
                ("PMTU", Kind::K),
                ("SET_FIX_ANNO", Kind::K),
            ],
        )?;
        self.src = b
            .ip("SRC", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        let ty = icmp_type(b.str("TYPE").unwrap_or("")).ok_or("TYPE: expected ICMP type")?;
        if !is_error_type(ty) {
            return Err(format!("ICMP type {ty} is not an error type"));
        }
        self.ty = ty;
        self.code = icmp_code(ty, b.str("CODE").unwrap_or("0"))
            .ok_or("argument 2 takes ICMP code (integer between 0 and 255)")?;
        self.bad = match b.str("BADADDRS") {
            None => Vec::new(),
            Some(s) => split_words(s)
                .iter()
                .map(|w| parse_ip(w, cx.addrs).map(|a| a.octets()))
                .collect::<Option<Vec<_>>>()
                .ok_or("BADADDRS: expected list of IP addresses")?,
        };
        self.mtu = b.u64("MTU")?.unwrap_or(576) as usize;
        self.pmtu = u16::try_from(b.u64("PMTU")?.unwrap_or(0)).map_err(|_| "PMTU: out of range")?;
        self.fix_anno = b.bool("SET_FIX_ANNO")?.unwrap_or(true);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::rw("src"),
            HandlerSpec::rw("mtu"),
            HandlerSpec::rw("pmtu"),
        ]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let v = match name {
            "src" => Ipv4Addr::from(self.src).to_string(),
            "mtu" => self.mtu.to_string(),
            "pmtu" => self.pmtu.to_string(),
            _ => return None,
        };
        Some(Ok(v))
    }
    fn write_handler(
        &mut self,
        name: &str,
        value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> crate::element::WriteResult {
        let r = match name {
            "src" => parse_ip(value, &crate::args::AddressInfo::default())
                .map(|a| self.src = a.octets())
                .ok_or_else(|| "expected IP address".to_string()),
            "mtu" => super::parse_u64_h(value).map(|v| self.mtu = v as usize),
            "pmtu" => super::parse_u64_h(value)
                .and_then(|v| u16::try_from(v).map_err(|_| "out of range".to_string()))
                .map(|v| self.pmtu = v),
            _ => return None,
        };
        Some(r)
    }
    any_impl!();
}

// ---------------------------------------------------------------- ICMPPingResponder

/// ICMPPingResponder: turns ICMP echo requests into echo replies; other packets go to output 1.
#[derive(Default)]
pub struct IcmpPingResponder;

impl IcmpPingResponder {
    fn check(&mut self, p: &mut Packet, ctx: &mut Ctx<'_>) -> bool {
        let Some((ip, hl)) = ip_view(p) else {
            return false;
        };
        if ip[9] != PROTO_ICMP || ip.len() < hl + 8 || ip[hl] != 8 {
            return false;
        }
        let now = ctx.now();
        let Some(ip) = p.network_header_mut() else {
            return false;
        };
        let mut sum = u16::from_be_bytes([ip[10], ip[11]]);
        // Swapping addresses keeps the checksum.
        for i in 0..4 {
            ip.swap(12 + i, 16 + i);
        }
        sum = checksum::update(sum, u16::from_be_bytes([ip[6], ip[7]]), 0);
        ip[6] = 0;
        ip[7] = 0;
        let old = u16::from_be_bytes([ip[8], ip[9]]);
        ip[8] = 255;
        sum = checksum::update(sum, old, u16::from_be_bytes([ip[8], ip[9]]));
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let dst = [ip[16], ip[17], ip[18], ip[19]];
        let icmp = &mut ip[hl..];
        let old = u16::from_be_bytes([icmp[0], icmp[1]]);
        icmp[0] = 0;
        icmp[1] = 0;
        let c = checksum::update(u16::from_be_bytes([icmp[2], icmp[3]]), old, 0);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        p.set_dst_ip_anno(dst);
        p.timestamp = now;
        p.set_paint(0);
        true
    }
}

impl Element for IcmpPingResponder {
    fn class_name(&self) -> &'static str {
        "ICMPPingResponder"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    crate::extra_filter_push_pull!();
    any_impl!();
}

// ---------------------------------------------------------------- IPGWOptions

/// IPGWOptions(MYADDR [, OTHERADDRS]): processes Record Route and Timestamp options; packets
/// with bad options get the parameter-problem annotation and go to output 1.
#[derive(Default)]
pub struct IpGwOptions {
    preferred: [u8; 4],
    mine: Vec<[u8; 4]>,
    drops: u64,
}

impl IpGwOptions {
    /// Ok(()) = forward; Err(offset) = parameter problem at `offset` of the IP header.
    fn handle(&self, p: &mut Packet, now_ms: u32) -> Result<(), usize> {
        let hl = p.network_header_length().unwrap_or(20);
        let Some(ip) = p.network_header_mut() else {
            return Ok(());
        };
        let hl = hl.min(ip.len());
        let mut changed = false;
        let mut oi = 20;
        while oi < hl {
            let ty = ip[oi];
            if ty == 1 {
                oi += 1;
                continue;
            } else if ty == 0 {
                break;
            }
            let xlen = ip.get(oi + 1).copied().unwrap_or(0) as usize;
            if xlen < 2 || oi + xlen > hl {
                return Err(oi + 1);
            }
            if ty != 7 && ty != 68 {
                oi += xlen;
                continue;
            }
            let ptr = (ip.get(oi + 2).copied().unwrap_or(0) as usize).wrapping_sub(1);
            if ty == 7 {
                if (3..=xlen.saturating_sub(4)).contains(&ptr) {
                    ip[oi + ptr..oi + ptr + 4].copy_from_slice(&self.preferred);
                    ip[oi + 2] += 4;
                    changed = true;
                } else if ptr != xlen {
                    return Err(oi + 2);
                }
            } else {
                if !(4..=255).contains(&ptr) {
                    return Err(oi + 2);
                }
                let (oflw, flg) = (ip[oi + 3] >> 4, ip[oi + 3] & 0x0f);
                let ms = now_ms.to_be_bytes();
                let mut overflowed = false;
                if flg == 0 {
                    if ptr + 4 <= xlen {
                        ip[oi + ptr..oi + ptr + 4].copy_from_slice(&ms);
                        ip[oi + 2] += 4;
                    } else {
                        overflowed = true;
                    }
                } else if flg == 1 {
                    if ptr + 8 <= xlen {
                        ip[oi + ptr..oi + ptr + 4].copy_from_slice(&self.preferred);
                        ip[oi + ptr + 4..oi + ptr + 8].copy_from_slice(&ms);
                        ip[oi + 2] += 8;
                    } else {
                        overflowed = true;
                    }
                } else if flg == 3 && ptr + 8 <= xlen {
                    let a = [
                        ip[oi + ptr],
                        ip[oi + ptr + 1],
                        ip[oi + ptr + 2],
                        ip[oi + ptr + 3],
                    ];
                    if self.mine.contains(&a) {
                        ip[oi + ptr + 4..oi + ptr + 8].copy_from_slice(&ms);
                        ip[oi + 2] += 8;
                    }
                } else {
                    return Err(oi + 3);
                }
                if overflowed {
                    if oflw < 15 {
                        ip[oi + 3] = ((oflw + 1) << 4) | flg;
                    } else {
                        return Err(oi + 3);
                    }
                }
                changed = true;
            }
            oi += xlen;
        }
        if changed {
            set_ip_cksum(&mut ip[..hl]);
        }
        Ok(())
    }

    fn check(&mut self, p: &mut Packet, ctx: &mut Ctx<'_>) -> bool {
        let hl = ip_view(p).map(|(_, hl)| hl).unwrap_or(20);
        if hl <= 20 {
            return true;
        }
        let now = ctx.now();
        let ms = ((now.sec().rem_euclid(86400) * 1000) + now.nsec() / 1_000_000) as u32;
        match self.handle(p, ms) {
            Ok(()) => true,
            Err(off) => {
                self.drops += 1;
                p.anno[ICMP_PARAMPROB_ANNO_OFFSET] = off.min(255) as u8;
                false
            }
        }
    }
}

impl Element for IpGwOptions {
    fn class_name(&self) -> &'static str {
        "IPGWOptions"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "a/ah"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("MYADDR", Kind::Mp), ("OTHERADDRS", Kind::P)])?;
        self.preferred = b
            .ip("MYADDR", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        self.mine = match b.str("OTHERADDRS") {
            None => Vec::new(),
            Some(s) => split_words(s)
                .iter()
                .map(|w| parse_ip(w, cx.addrs).map(|a| a.octets()))
                .collect::<Option<Vec<_>>>()
                .ok_or("OTHERADDRS: expected list of IP addresses")?,
        };
        self.mine.push(self.preferred);
        Ok(())
    }
    crate::extra_filter_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "drops").then(|| Ok(self.drops.to_string()))
    }
    any_impl!();
}

// ---------------------------------------------------------------- IPFragmenter

/// IPFragmenter(MTU [, HONOR_DF, VERBOSE, HEADROOM]): fragments IP packets longer than MTU;
/// packets that may not be fragmented go to output 1.
pub struct IpFragmenter {
    mtu: usize,
    honor_df: bool,
    verbose: bool,
    headroom: usize,
    drops: u64,
    fragments: u64,
    rng: u32,
}

impl Default for IpFragmenter {
    fn default() -> Self {
        IpFragmenter {
            mtu: 0,
            honor_df: true,
            verbose: false,
            headroom: crate::packet::DEFAULT_HEADROOM,
            drops: 0,
            fragments: 0,
            rng: 0x1234_5678,
        }
    }
}

/// Options copied into every fragment (copy flag set), padded to 4 bytes.
fn copied_options(opts: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            1 => i += 1,
            0 => break,
            t => {
                let Some(&l) = opts.get(i + 1) else { break };
                let l = l as usize;
                if l < 2 || i + l > opts.len() {
                    break;
                }
                if t & 0x80 != 0 {
                    out.extend_from_slice(&opts[i..i + l]);
                }
                i += l;
            }
        }
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

impl IpFragmenter {
    fn fragment(
        &mut self,
        mut p: Packet,
        ok: &mut PacketBatch,
        bad: &mut PacketBatch,
        ctx: &mut Ctx<'_>,
    ) {
        let Some((ip, hl)) = ip_view(&p) else {
            bad.push(p);
            return;
        };
        let first_dlen = self.mtu.saturating_sub(hl) & !7;
        let in_dlen = (u16::from_be_bytes([ip[2], ip[3]]) as usize)
            .saturating_sub(hl)
            .min(ip.len() - hl);
        let off_field = u16::from_be_bytes([ip[6], ip[7]]);
        if (off_field & 0x4000 != 0 && self.honor_df) || first_dlen < 8 {
            if self.verbose || self.drops < 5 {
                ctx.chatter(&format!(
                    "IPFragmenter({}) DF {} {} len={}",
                    self.mtu,
                    Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
                    Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
                    p.len()
                ));
            }
            self.drops += 1;
            bad.push(p);
            return;
        }
        let opts = copied_options(&ip[20..hl]);
        let payload = ip[hl..hl + in_dlen].to_vec();
        let noff = p.network_header_offset().unwrap_or(0).max(0) as usize;
        let Some(ip) = p.network_header_mut() else {
            return;
        };
        let mut off_field = off_field;
        if off_field & 0x4000 != 0 {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 17;
            self.rng ^= self.rng << 5;
            ip[4..6].copy_from_slice(&(self.rng as u16).to_be_bytes());
            off_field &= !0x4000;
        }
        let had_mf = off_field & 0x2000 != 0;
        ip[2..4].copy_from_slice(&((hl + first_dlen) as u16).to_be_bytes());
        ip[6..8].copy_from_slice(&(off_field | 0x2000).to_be_bytes());
        set_ip_cksum(&mut ip[..hl]);
        let base: Vec<u8> = ip[..20].to_vec();
        let mut first = p.clone();
        first.set_len(noff + hl + first_dlen);
        ok.push(first);
        self.fragments += 1;
        let out_hlen = 20 + opts.len();
        let mut off = first_dlen;
        while off < in_dlen {
            let mut out_dlen = self.mtu.saturating_sub(out_hlen) & !7;
            if out_dlen + off > in_dlen {
                out_dlen = in_dlen - off;
            }
            if out_dlen == 0 {
                break;
            }
            let mut d = Vec::with_capacity(out_hlen + out_dlen);
            d.extend_from_slice(&base);
            d.extend_from_slice(&opts);
            d.extend_from_slice(&payload[off..off + out_dlen]);
            d[0] = 0x40 | (out_hlen / 4) as u8;
            let mut fo = (off_field | 0x2000).wrapping_add((off >> 3) as u16);
            if out_dlen + off >= in_dlen && !had_mf {
                fo &= !0x2000;
            }
            d[6..8].copy_from_slice(&fo.to_be_bytes());
            d[2..4].copy_from_slice(&((out_hlen + out_dlen) as u16).to_be_bytes());
            set_ip_cksum(&mut d[..out_hlen]);
            let mut q = Packet::make(self.headroom, &d, 0);
            q.set_network_header(0, out_hlen);
            q.anno = p.anno;
            q.timestamp = p.timestamp;
            q.packet_type = p.packet_type;
            ok.push(q);
            self.fragments += 1;
            off += out_dlen;
        }
    }
}

impl Element for IpFragmenter {
    fn class_name(&self) -> &'static str {
        "IPFragmenter"
    }
    fn port_count(&self) -> &'static str {
        "1/1-2"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("MTU", Kind::Mp),
                ("HONOR_DF", Kind::P),
                ("VERBOSE", Kind::P),
                ("HEADROOM", Kind::K),
            ],
        )?;
        self.mtu = b.u64("MTU")?.unwrap_or(0) as usize;
        if self.mtu < 8 {
            return Err("MTU must be at least 8".into());
        }
        self.honor_df = b.bool("HONOR_DF")?.unwrap_or(true);
        self.verbose = b.bool("VERBOSE")?.unwrap_or(false);
        self.headroom = b
            .u64("HEADROOM")?
            .map(|v| v as usize)
            .unwrap_or(self.headroom);
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut ok = Vec::with_capacity(batch.len());
        let mut bad = Vec::new();
        for p in batch {
            let nlen = p.network_header().map(|h| h.len()).unwrap_or(p.len());
            if nlen <= self.mtu {
                ok.push(p);
            } else {
                self.fragment(p, &mut ok, &mut bad, ctx);
            }
        }
        ctx.output(0, ok);
        reject(ctx, bad);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops"), HandlerSpec::r("fragments")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "drops" => Some(Ok(self.drops.to_string())),
            "fragments" => Some(Ok(self.fragments.to_string())),
            _ => None,
        }
    }
    any_impl!();
}

// ---------------------------------------------------------------- IPInputCombo / IPOutputCombo

fn ip_list(
    s: Option<&str>,
    ai: &crate::args::AddressInfo,
    what: &str,
) -> Result<Vec<[u8; 4]>, String> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => split_words(s)
            .iter()
            .map(|w| parse_ip(w, ai).map(|a| a.octets()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{what}: expected list of IP addresses")),
    }
}

/// IPInputCombo(COLOR [, BADSRC, INTERFACES, GOODDST]): Paint + Strip(14) + CheckIPHeader +
/// GetIPAddress(16) in one element; bad packets are dropped.
#[derive(Default)]
pub struct IpInputCombo {
    color: u8,
    bad_src: Vec<[u8; 4]>,
    good_dst: Vec<[u8; 4]>,
    drops: u64,
}

impl IpInputCombo {
    fn good(&self, p: &mut Packet) -> bool {
        p.set_paint(self.color);
        p.pull(14);
        let d = p.data();
        if d.len() < 20 || d[0] >> 4 != 4 {
            return false;
        }
        let hl = ((d[0] & 0x0f) as usize) * 4;
        let len = u16::from_be_bytes([d[2], d[3]]) as usize;
        if hl < 20 || len > d.len() || len < hl || checksum::checksum(&d[..hl]) != 0 {
            return false;
        }
        let (src, dst) = ([d[12], d[13], d[14], d[15]], [d[16], d[17], d[18], d[19]]);
        if self.bad_src.contains(&src) && !self.good_dst.contains(&dst) {
            return false;
        }
        p.set_network_header(0, hl);
        if p.len() > len {
            p.take(p.len() - len);
        }
        p.set_dst_ip_anno(dst);
        true
    }
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        let before = batch.len();
        let mut kept = Vec::with_capacity(before);
        for mut p in batch.drain(..) {
            if self.good(&mut p) {
                kept.push(p);
            } else {
                if self.drops == 0 {
                    ctx.chatter("IP checksum failed");
                }
                self.drops += 1;
            }
        }
        *batch = kept;
    }
}

impl Element for IpInputCombo {
    fn class_name(&self) -> &'static str {
        "IPInputCombo"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("COLOR", Kind::Mp),
                ("BADSRC", Kind::P),
                ("INTERFACES", Kind::K),
                ("GOODDST", Kind::K),
            ],
        )?;
        self.color =
            u8::try_from(b.u64("COLOR")?.unwrap_or(0)).map_err(|_| "COLOR: out of range")?;
        self.bad_src = ip_list(b.str("BADSRC"), cx.addrs, "BADSRC")?;
        self.good_dst = ip_list(b.str("GOODDST"), cx.addrs, "GOODDST")?;
        if let Some(ifs) = b.str("INTERFACES") {
            for w in split_words(ifs) {
                let (a, m) = crate::args::parse_prefix(&w, cx.addrs)
                    .ok_or("INTERFACES: expected list of IP prefixes")?;
                let (a, m) = (u32::from(a), u32::from(m));
                self.bad_src.push(((a & m) | !m).to_be_bytes());
                self.good_dst.push(a.to_be_bytes());
            }
            self.bad_src.push([0; 4]);
            self.bad_src.push([255; 4]);
        }
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("drops")]
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "drops").then(|| Ok(self.drops.to_string()))
    }
    any_impl!();
}

/// IPOutputCombo(COLOR, IPADDR, MTU): DropBroadcasts + PaintTee + IPGWOptions + FixIPSrc +
/// DecIPTTL + CheckLength in one element. Outputs: 0 normal, 1 PaintTee copies (redirects),
/// 2 bad options, 3 TTL expired, 4 longer than MTU.
#[derive(Default)]
pub struct IpOutputCombo {
    color: u8,
    gw: IpGwOptions,
    mtu: usize,
}

impl IpOutputCombo {
    /// Output port for `p` (None = drop).
    fn route(&self, p: &mut Packet, now_ms: u32) -> Option<usize> {
        let hl = ip_view(p)?.1;
        if hl > 20 {
            if let Err(off) = self.gw.handle(p, now_ms) {
                p.anno[ICMP_PARAMPROB_ANNO_OFFSET] = off.min(255) as u8;
                return Some(2);
            }
        }
        let fix = p.anno[FIX_IP_SRC_ANNO_OFFSET] != 0;
        if fix {
            p.anno[FIX_IP_SRC_ANNO_OFFSET] = 0;
        }
        let my = self.gw.preferred;
        let ip = p.network_header_mut()?;
        if fix {
            ip[12..16].copy_from_slice(&my);
            set_ip_cksum(&mut ip[..hl]);
        }
        if ip[8] <= 1 {
            return Some(3);
        }
        ip[8] -= 1;
        // RFC 1141 incremental update, exactly as Click does it.
        let sum = (!u16::from_be_bytes([ip[10], ip[11]]) as u32) + 0xfeff;
        let c = !((sum + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        if p.len() > self.mtu {
            return Some(4);
        }
        Some(0)
    }
}

impl Element for IpOutputCombo {
    fn class_name(&self) -> &'static str {
        "IPOutputCombo"
    }
    fn port_count(&self) -> &'static str {
        "1/5"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[("COLOR", Kind::Mp), ("IPADDR", Kind::Mp), ("MTU", Kind::Mp)],
        )?;
        self.color =
            u8::try_from(b.u64("COLOR")?.unwrap_or(0)).map_err(|_| "COLOR: out of range")?;
        let ip = b
            .ip("IPADDR", cx.addrs)?
            .map(|a| a.octets())
            .unwrap_or_default();
        self.gw = IpGwOptions {
            preferred: ip,
            mine: vec![ip],
            drops: 0,
        };
        self.mtu = b.u64("MTU")?.unwrap_or(0) as usize;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let ms = ((now.sec().rem_euclid(86400) * 1000) + now.nsec() / 1_000_000) as u32;
        let mut outs: [PacketBatch; 5] = Default::default();
        for mut p in batch {
            if matches!(p.packet_type, PacketType::Broadcast | PacketType::Multicast) {
                continue;
            }
            if p.paint() == self.color {
                outs[1].push(p.clone());
            }
            if let Some(o) = self.route(&mut p, ms) {
                outs[o].push(p);
            }
        }
        // Copies first, as Click pushes them before the packet itself.
        let [o0, o1, o2, o3, o4] = outs;
        ctx.output(1, o1);
        ctx.output(2, o2);
        ctx.output(3, o3);
        ctx.output(4, o4);
        ctx.output(0, o0);
    }
    any_impl!();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::extra::test_util::sim_router;
    use crate::MemEnv;

    /// Hex of every packet printed by `Print(LABEL, -1)` lines with `label`.
    fn printed(env: &MemEnv, label: &str) -> Vec<String> {
        env.chatter
            .borrow()
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{label}: ")))
            .map(|l| l.split('|').nth(1).unwrap_or("").replace(' ', ""))
            .collect()
    }

    // Expected bytes below were produced by reference Click 2.1 on the same input.
    const PING: &str =
        "\\<45000024 00070000 400166d0 0a000001 0a000002 08005435 12340001 61626364 65666768>";

    #[test]
    fn extra_ip_ping_responder_and_icmp_error() {
        let env = MemEnv::default();
        let conf = format!(
            "InfiniteSource(DATA {PING}, LIMIT 1, STOP true) -> MarkIPHeader -> t :: Tee;
             t[0] -> pr :: ICMPPingResponder -> Print(reply, -1) -> Discard; pr[1] -> Discard;
             t[1] -> e :: ICMPError(192.168.1.1, timeexceeded) -> Print(err, -1) -> Discard;"
        );
        let mut r = sim_router(&conf, &env);
        r.run_to_completion(100);
        assert_eq!(
            printed(&env, "reply"),
            vec!["4500002400070000ff01a7cf0a0000020a00000100005c35123400016162636465666768"]
        );
        let err = printed(&env, "err");
        assert_eq!(err.len(), 1);
        // The IP id comes from a process-wide counter (as in Click); compare around it.
        assert_eq!(&err[0][..8], "45000040");
        assert_eq!(&err[0][12..], "0000c8012712c0a801010a0000010b00f4ff000000004500002400070000400166d00a0000010a00000208005435123400016162636465666768"[..].replace("2712", &err[0][20..24]).as_str());
        assert_eq!(r.read_handler("e.src").unwrap(), "192.168.1.1");
        assert_eq!(r.read_handler("e.mtu").unwrap(), "576");
    }

    #[test]
    fn extra_ip_icmp_error_rules() {
        let env = MemEnv::default();
        // No errors about ICMP errors, broadcasts, or non-first fragments.
        let conf = "InfiniteSource(DATA \\<45000024 00070000 400166d0 0a000001 0a000002 0b000000 12340001 61626364 65666768>, LIMIT 1) -> MarkIPHeader -> e :: ICMPError(1.1.1.1, unreachable, host) -> c :: Counter -> Discard;
            InfiniteSource(DATA \\<45000014 00070000 40060000 0a000001 ffffffff>, LIMIT 1) -> MarkIPHeader -> e;
            InfiniteSource(DATA \\<45000014 00070010 40060000 0a000001 0a000002>, LIMIT 1) -> MarkIPHeader -> e;
            InfiniteSource(DATA \\<45000014 00070000 40060000 0a000001 0a000002>, LIMIT 1, STOP true) -> MarkIPHeader -> e;
            InfiniteSource(DATA \\<4500>, LIMIT 1) -> e;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(r.read_handler("c.count").unwrap(), "1");
        let e = crate::Router::new(
            "Idle -> ICMPError(1.1.1.1, echo) -> Idle",
            "t",
            &super::super::extra::test_util::own_registry(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("ICMP type 8 is not an error type"),
            "{e}"
        );
    }

    #[test]
    fn extra_ip_fragmenter_matches_reference() {
        let env = MemEnv::default();
        // 60-byte TCP packet (checksums as reference Click's FromIPSummaryDump made them).
        let conf = "InfiniteSource(DATA \\<4500003c 00010000 400666b9 0a000001 0a000002 04d20050 00000000 00000000 50000000 96ac0000 00000000 00000000 00000000 00000000 00000000>, LIMIT 1, STOP true)
              -> MarkIPHeader -> f :: IPFragmenter(48) -> Print(frag, -1) -> Discard; f[1] -> Discard;
            InfiniteSource(DATA \\<4500003c 00014000 400626b9 0a000001 0a000002 04d20050 00000000 00000000 50000000 96ac0000 00000000 00000000 00000000 00000000 00000000>, LIMIT 1)
              -> MarkIPHeader -> f;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(
            printed(&env, "frag"),
            vec![
                "4500002c00012000400646c90a0000010a00000204d2005000000000000000005000000096ac000000000000",
                "4500002400010003400666ce0a0000010a00000200000000000000000000000000000000",
            ]
        );
        assert_eq!(r.read_handler("f.fragments").unwrap(), "2");
        assert_eq!(r.read_handler("f.drops").unwrap(), "1");
        assert!(env
            .chatter
            .borrow()
            .contains("IPFragmenter(48) DF 10.0.0.1 10.0.0.2 len=60"));
    }

    #[test]
    fn extra_ip_gw_options_record_route() {
        let env = MemEnv::default();
        let conf = "InfiniteSource(DATA \\<4800002c 00010000 40060000 0a000001 0a000002 07070400 00000000 0a0b0c0d 0e0f1011 12131415 16171819>, LIMIT 1)
              -> MarkIPHeader -> SetIPChecksum -> CheckIPHeader -> g :: IPGWOptions(9.9.9.9) -> Print(ok, -1) -> Discard; g[1] -> Print(bad, -1) -> Discard;
            InfiniteSource(DATA \\<4800002c 00010000 400641b2 0a000001 0a000002 07ff0400 00000000 0a0b0c0d 0e0f1011 12131415 16171819>, LIMIT 1, STOP true)
              -> CheckIPHeader -> g;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(printed(&env, "ok"), vec!["4800002c0001000040062c980a0000010a00000207070809090909000a0b0c0d0e0f10111213141516171819"]);
        assert_eq!(printed(&env, "bad"), vec!["4800002c00010000400641b20a0000010a00000207ff0400000000000a0b0c0d0e0f10111213141516171819"]);
        assert_eq!(r.read_handler("g.drops").unwrap(), "1");
    }

    #[test]
    fn extra_ip_input_output_combo_matches_reference() {
        let env = MemEnv::default();
        // Ethernet frames: TCP TTL 64 (forwarded), UDP 100 bytes (> MTU 60), TCP TTL 1 (expired).
        let conf = "InfiniteSource(DATA \\<060708090a0b000102030405 0800 4500003c 00010000 400666b9 0a000001 0a000002 04d20050 00000000 00000000 50000000 96ac0000 00000000 00000000 00000000 00000000 00000000>, LIMIT 1)
              -> ic :: IPInputCombo(1, INTERFACES 10.0.0.254/24) -> oc :: IPOutputCombo(1, 10.0.0.254, 60);
            InfiniteSource(DATA \\<060708090a0b000102030405 0800 45000064 00020000 20118681 0a000003 0a000004 003514e9 0050d629 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000>, LIMIT 1) -> ic;
            InfiniteSource(DATA \\<060708090a0b000102030405 0800 45000028 00030000 0106a5c4 0a000001 0a000009 04d201bb 00000000 00000000 50000000 954e0000>, LIMIT 1, STOP true) -> ic;
            InfiniteSource(DATA \\<060708090a0b000102030405 0800 45000028 00030000 0106a5c5 0a000001 0a000009>, LIMIT 1) -> ic;
            oc[0] -> Print(o0, -1) -> Discard; oc[1] -> c1 :: Counter -> Discard; oc[2] -> Discard;
            oc[3] -> Print(o3, -1) -> Discard; oc[4] -> Print(o4, -1) -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(printed(&env, "o0"), vec!["4500003c000100003f0667b90a0000010a00000204d2005000000000000000005000000096ac00000000000000000000000000000000000000000000"]);
        assert_eq!(
            printed(&env, "o3"),
            vec![
                "45000028000300000106a5c40a0000010a00000904d201bb000000000000000050000000954e0000"
            ]
        );
        assert_eq!(printed(&env, "o4").len(), 1);
        assert!(printed(&env, "o4")[0].starts_with("45000064000200001f1187810a0000030a000004"));
        assert_eq!(r.read_handler("c1.count").unwrap(), "3");
        // The frame with a bad checksum is dropped by IPInputCombo.
        assert_eq!(r.read_handler("ic.drops").unwrap(), "1");
        assert!(env.chatter.borrow().contains("IP checksum failed"));
    }
}
