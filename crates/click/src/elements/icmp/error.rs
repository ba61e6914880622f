//! ICMPError: the ICMP error about a packet, with Click's rules on when none is sent.

use crate::args::{bind, parse_ip, split_words, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::element_class;
use crate::elements::ip::gateway::{ip_view, PROTO_ICMP};
use crate::elements::ip::set_ip_checksum;
use crate::packet::{
    Packet, PacketBatch, PacketType, FIX_IP_SRC_ANNO_OFFSET, ICMP_PARAMPROB_ANNO_OFFSET,
};
use crate::simple_push_pull;
use netwire::checksum;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};

/// Click numbers IP ids of ICMP errors with one counter shared by all ICMPError elements.
static ICMP_ERROR_ID: AtomicU16 = AtomicU16::new(1);

pub(crate) fn icmp_type(s: &str) -> Option<u8> {
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

pub(crate) fn icmp_code(ty: u8, s: &str) -> Option<u8> {
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
        set_ip_checksum(&mut d[..nhl]);
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
    element_class!(class: "ICMPError", ports: "1/1");
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
            "mtu" => crate::elements::parse_u64_h(value).map(|v| self.mtu = v as usize),
            "pmtu" => crate::elements::parse_u64_h(value)
                .and_then(|v| u16::try_from(v).map_err(|_| "out of range".to_string()))
                .map(|v| self.pmtu = v),
            _ => return None,
        };
        Some(r)
    }
}

// ---------------------------------------------------------------- ICMPPingResponder
