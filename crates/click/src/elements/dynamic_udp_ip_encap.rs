//! DynamicUDPIPEncap(SRC, SPORT, DST, DPORT [, CHECKSUM, INTERVAL]): UDPIPEncap whose source
//! and destination ports both advance by one every INTERVAL packets (0 = never), so one
//! source yields a stream of distinct flows.

use super::ip::{set_ip_checksum, set_transport_checksum};
use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element};
use crate::packet::{Packet, PacketBatch};
use crate::{any_impl, simple_push_pull};

/// See the module docs.
#[derive(Default)]
pub struct DynamicUdpIpEncap {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    cksum: bool,
    interval: u32,
    count: u32,
    id: u16,
}

impl DynamicUdpIpEncap {
    /// Click's header: TOS 0, TTL 250, no fragment bits, ID counting from 0.
    fn encap(&mut self, p: &mut Packet) {
        p.push(28);
        let len = p.len();
        // Built on the stack and copied once: fixed-size writes, no per-byte bounds checks.
        let mut h = [0u8; 28];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        h[4..6].copy_from_slice(&self.id.to_be_bytes());
        h[8] = 250;
        h[9] = 17;
        h[12..16].copy_from_slice(&self.src);
        h[16..20].copy_from_slice(&self.dst);
        set_ip_checksum(&mut h[..20]);
        h[20..22].copy_from_slice(&self.sport.to_be_bytes());
        h[22..24].copy_from_slice(&self.dport.to_be_bytes());
        h[24..26].copy_from_slice(&((len - 20) as u16).to_be_bytes());
        let d = p.data_mut();
        d[..28].copy_from_slice(&h);
        if self.cksum {
            set_transport_checksum(d);
        }
        p.set_dst_ip_anno(self.dst);
        p.set_network_header(0, 20);
        self.id = self.id.wrapping_add(1);
        self.count += 1;
        if self.interval > 0 && self.count == self.interval {
            self.sport = self.sport.wrapping_add(1);
            self.dport = self.dport.wrapping_add(1);
            self.count = 0;
        }
    }
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            self.encap(p);
        }
    }
}

impl Element for DynamicUdpIpEncap {
    fn class_name(&self) -> &'static str {
        "DynamicUDPIPEncap"
    }
    fn port_count(&self) -> &'static str {
        "1/1"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("SRC", Kind::Mp),
                ("SPORT", Kind::Mp),
                ("DST", Kind::Mp),
                ("DPORT", Kind::Mp),
                ("CHECKSUM", Kind::P),
                ("INTERVAL", Kind::P),
            ],
        )?;
        let ip = |k: &str| -> Result<[u8; 4], String> {
            Ok(b.ip(k, cx.addrs)?
                .ok_or_else(|| format!("{k}: missing"))?
                .octets())
        };
        self.src = ip("SRC")?;
        self.dst = ip("DST")?;
        let port = |k: &str| -> Result<u16, String> {
            let v = b.str(k).unwrap_or("");
            super::extra::parse_port_in(v, "udp", cx)
                .ok_or_else(|| format!("{k}: invalid port '{v}'"))
        };
        self.sport = port("SPORT")?;
        self.dport = port("DPORT")?;
        self.cksum = b.bool("CHECKSUM")?.unwrap_or(true);
        self.interval = u32::try_from(b.u64("INTERVAL")?.unwrap_or(0))
            .map_err(|_| "INTERVAL: out of range".to_string())?;
        Ok(())
    }
    simple_push_pull!();
    any_impl!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encap() -> DynamicUdpIpEncap {
        DynamicUdpIpEncap {
            src: [10, 0, 0, 1],
            dst: [10, 1, 0, 2],
            sport: 65534,
            dport: 53,
            cksum: true,
            interval: 2,
            ..Default::default()
        }
    }

    #[test]
    fn ports_advance_every_interval_packets_and_wrap() {
        let mut e = encap();
        let ports: Vec<(u16, u16, u16)> = (0..5)
            .map(|_| {
                let mut p = Packet::from_data(&[0u8; 4]);
                e.encap(&mut p);
                let d = p.data();
                let be = |i: usize| u16::from_be_bytes([d[i], d[i + 1]]);
                (be(4), be(20), be(22))
            })
            .collect();
        // (IP ID, sport, dport)
        assert_eq!(
            ports,
            vec![
                (0, 65534, 53),
                (1, 65534, 53),
                (2, 65535, 54),
                (3, 65535, 54),
                (4, 0, 55)
            ]
        );
    }

    #[test]
    fn header_is_a_valid_udp_ip_header() {
        let mut e = encap();
        let mut p = Packet::from_data(&[1, 2, 3, 4]);
        e.encap(&mut p);
        let d = p.data().to_vec();
        assert_eq!(d.len(), 32);
        assert_eq!(&d[..4], &[0x45, 0, 0, 32]);
        assert_eq!((d[8], d[9]), (250, 17));
        assert_eq!(&d[24..26], &[0, 12]);
        assert_eq!(p.dst_ip_anno(), [10, 1, 0, 2]);
        // recomputing either checksum leaves it unchanged
        let mut again = d.clone();
        set_ip_checksum(&mut again[..20]);
        set_transport_checksum(&mut again);
        assert_eq!(again, d);
        assert_ne!(&d[26..28], &[0, 0]);
    }
}
