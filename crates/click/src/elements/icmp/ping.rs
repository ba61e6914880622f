//! ICMPPingResponder: turns echo requests into echo replies.

use crate::element::{Ctx, Element};
use crate::element_class;
use crate::elements::ip::gateway::{ip_view, PROTO_ICMP};
use crate::packet::Packet;
use netwire::checksum;

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
    element_class!(class: "ICMPPingResponder", ports: "1/1-2", processing: "a/ah");
    crate::extra_filter_push_pull!();
}

// ---------------------------------------------------------------- IPGWOptions
