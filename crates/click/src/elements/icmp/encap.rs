//! ICMPIPEncap: wraps packets in an IP header and an ICMP header of a given type/code.

use super::error::{icmp_code, icmp_type};
use crate::args::{bind, parse_ip, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::element_class;
use crate::elements::ip::gateway::PROTO_ICMP;
use crate::elements::ip::set_ip_checksum;
use crate::packet::PacketBatch;
use crate::simple_push_pull;
use netwire::checksum;
use std::net::Ipv4Addr;

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
            set_ip_checksum(&mut d[..20]);
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
    element_class!(class: "ICMPIPEncap", ports: "1/1");
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
}

// ---------------------------------------------------------------- ICMPError
