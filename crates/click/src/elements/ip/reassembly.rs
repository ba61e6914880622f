//! IPReassembler: holds IP fragments until the whole datagram is there and emits it with the
//! MAC header of the fragment at offset 0 (Click's elements/ip/ipreassembler). Incomplete
//! datagrams are dropped after 30 s of silence, or oldest first above HIMEM bytes; with a
//! second output they leave there instead, holding what had arrived.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element};
use crate::element_class;
use crate::elements::ip::set_ip_checksum;
use crate::packet::{Packet, PacketBatch, Timestamp, DEFAULT_HEADROOM};
use std::collections::HashMap;

/// Register IPReassembler.
pub fn register(r: &mut crate::registry::Registry) {
    r.register("IPReassembler", || Box::<IPReassembler>::default());
}

/// (source, destination, id, protocol).
type Key = (u32, u32, u16, u8);

/// One datagram being put back together.
struct Datagram {
    /// The fragment at offset 0 (its MAC header, IP header and annotations are kept).
    head: Option<Packet>,
    payload: Vec<u8>,
    /// Received byte ranges of the payload, merged.
    have: Vec<(usize, usize)>,
    /// Payload length, once the last fragment arrived.
    total: Option<usize>,
    last_seen: Timestamp,
    mem: usize,
}

impl Datagram {
    fn complete(&self) -> bool {
        matches!((self.total, self.head.as_ref(), self.have.first()),
            (Some(t), Some(_), Some(&(0, e))) if e >= t)
    }

    fn add_range(&mut self, s: usize, e: usize) {
        self.have.push((s, e));
        self.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.have.len());
        for &(a, b) in &self.have {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.have = merged;
    }

    /// The datagram as one packet: the head's bytes before the IP header, its IP header
    /// (length and fragment fields fixed) and the payload.
    fn build(self) -> Option<Packet> {
        let head = self.head?;
        let nh = usize::try_from(head.network_header_offset()?).ok()?;
        let ip = head.network_header()?;
        let hl = ((ip[0] & 0xf) as usize * 4).max(20);
        let len = self
            .total
            .unwrap_or(self.payload.len())
            .min(self.payload.len());
        let mut d = Vec::with_capacity(nh + hl + len);
        d.extend_from_slice(&head.data()[..nh]);
        d.extend_from_slice(&ip[..hl]);
        d.extend_from_slice(&self.payload[..len]);
        let tot = (hl + len).min(0xFFFF) as u16;
        d[nh + 2..nh + 4].copy_from_slice(&tot.to_be_bytes());
        // Keep DF, clear MF and the offset.
        d[nh + 6] &= 0x40;
        d[nh + 7] = 0;
        set_ip_checksum(&mut d[nh..nh + hl]);
        let mut p = Packet::make(DEFAULT_HEADROOM, &d, 0);
        p.anno = head.anno;
        p.timestamp = head.timestamp;
        if head.has_mac_header() {
            p.set_mac_header(0);
        }
        p.set_network_header(nh, hl);
        Some(p)
    }
}

pub struct IPReassembler {
    pending: HashMap<Key, Datagram>,
    himem: usize,
    mem: usize,
}

impl Default for IPReassembler {
    fn default() -> Self {
        IPReassembler {
            pending: HashMap::new(),
            himem: 256 * 1024,
            mem: 0,
        }
    }
}

const REAP_TIMEOUT: Timestamp = Timestamp(30_000_000_000);

impl IPReassembler {
    /// Drop (or emit on output 1) datagrams silent for 30 s, then the oldest while above HIMEM.
    fn reap(&mut self, now: Timestamp, ctx: &mut Ctx<'_>) {
        let mut dead: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, d)| now - d.last_seen > REAP_TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        if self.mem > self.himem {
            let mut by_age: Vec<(Timestamp, Key, usize)> = self
                .pending
                .iter()
                .map(|(k, d)| (d.last_seen, *k, d.mem))
                .collect();
            by_age.sort_unstable();
            let mut mem = self.mem;
            for (_, k, m) in by_age {
                if mem <= self.himem * 3 / 4 {
                    break;
                }
                dead.push(k);
                mem -= m;
            }
        }
        dead.sort_unstable();
        dead.dedup();
        for k in dead {
            if let Some(d) = self.pending.remove(&k) {
                self.mem -= d.mem;
                if ctx.noutputs() > 1 {
                    if let Some(p) = d.build() {
                        ctx.output(1, vec![p]);
                    }
                }
            }
        }
    }

    /// A whole datagram for `p`, or None while fragments are missing (or `p` is bad).
    fn handle(&mut self, p: Packet, now: Timestamp) -> Option<Packet> {
        let ip = p.network_header()?;
        if ip.len() < 20 {
            return None;
        }
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        let (off, mf) = (((frag & 0x1fff) as usize) * 8, frag & 0x2000 != 0);
        if off == 0 && !mf {
            return Some(p);
        }
        let hl = (ip[0] & 0xf) as usize * 4;
        let ip_len = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
        if hl < 20 || ip_len < hl {
            return None;
        }
        let data = &ip[hl..ip_len];
        let key: Key = (
            u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]),
            u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]),
            u16::from_be_bytes([ip[4], ip[5]]),
            ip[9],
        );
        let end = off + data.len();
        let d = self.pending.entry(key).or_insert_with(|| Datagram {
            head: None,
            payload: Vec::new(),
            have: Vec::new(),
            total: None,
            last_seen: now,
            mem: 0,
        });
        if d.payload.len() < end {
            d.payload.resize(end, 0);
        }
        d.payload[off..end].copy_from_slice(data);
        d.add_range(off, end);
        if !mf {
            d.total = Some(end);
        }
        d.last_seen = now;
        let size = p.len();
        d.mem += size;
        self.mem += size;
        if off == 0 {
            d.head = Some(p);
        }
        if !d.complete() {
            return None;
        }
        let d = self.pending.remove(&key)?;
        self.mem -= d.mem;
        d.build()
    }
}

impl Element for IPReassembler {
    element_class!(class: "IPReassembler", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("HIMEM", Kind::K), ("MAX_MTU_ANNO", Kind::K)])?;
        if let Some(h) = b.u64("HIMEM")? {
            self.himem = h as usize;
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let out: PacketBatch = batch
            .into_iter()
            .filter_map(|p| self.handle(p, now))
            .collect();
        self.reap(now, ctx);
        ctx.output(0, out);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let now = ctx.now();
        let out = ctx
            .pull(0, max)
            .into_iter()
            .filter_map(|p| self.handle(p, now))
            .collect();
        self.reap(now, ctx);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(off: usize, mf: bool, payload: &[u8]) -> Packet {
        let mut d = vec![0u8; 20 + payload.len()];
        d[0] = 0x45;
        d[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        d[4..6].copy_from_slice(&7u16.to_be_bytes());
        let f = (off / 8) as u16 | if mf { 0x2000 } else { 0 };
        d[6..8].copy_from_slice(&f.to_be_bytes());
        d[9] = 17;
        d[12..16].copy_from_slice(&[1, 0, 0, 1]);
        d[16..20].copy_from_slice(&[3, 0, 0, 3]);
        d[20..].copy_from_slice(payload);
        let mut p = Packet::from_data(&d);
        p.set_network_header(0, 20);
        p
    }

    #[test]
    fn fragments_in_any_order_give_back_the_datagram() {
        let mut r = IPReassembler::default();
        let now = Timestamp::ZERO;
        assert!(r.handle(fragment(16, false, b"tail"), now).is_none());
        assert!(r.handle(fragment(0, true, b"01234567"), now).is_none());
        let p = r
            .handle(fragment(8, true, b"89abcdef"), now)
            .expect("complete");
        let ip = p.network_header().expect("ip header");
        assert_eq!(&ip[20..], b"0123456789abcdeftail");
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 40);
        assert_eq!(u16::from_be_bytes([ip[6], ip[7]]), 0);
        assert!(r.pending.is_empty());
        assert_eq!(r.mem, 0);
    }

    #[test]
    fn whole_packets_pass_through() {
        let mut r = IPReassembler::default();
        let p = r.handle(fragment(0, false, b"x"), Timestamp::ZERO);
        assert!(p.is_some());
    }
}
