//! CheckTCPHeader, CheckUDPHeader and CheckICMPHeader: transport header checks (lengths and
//! checksums); bad packets go to output 1 or are dropped.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Element};
use crate::packet::Packet;
use crate::{element_class, filter_push_pull};
use netwire::checksum::{add, fold};

/// CheckTCPHeader / CheckUDPHeader / CheckICMPHeader: length and checksum checks on the
/// transport header of annotated IP packets; bad ones go to output 1 (or are dropped).
pub struct CheckTransport {
    pub(crate) class: &'static str,
    pub(crate) proto: u8,
    pub(crate) checksum: bool,
    pub(crate) drops: u64,
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
            acc = add(
                add(0, &ip[12..16]),
                &crate::elements::ip::pseudo_header_dst(ip),
            ) + self.proto as u32
                + t.len() as u32;
        }
        fold(add(acc, t)) == 0xffff
    }
}
impl Element for CheckTransport {
    element_class!(self => class: self.class, ports: "1/1-2", processing: "a/ah");
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
}
