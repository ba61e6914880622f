//! The packet type: an owned buffer with headroom, a data window and Click-style annotations.
//!
//! Buffers are recycled through a thread-local pool so the steady-state hot path does not
//! allocate per packet.

use std::cell::RefCell;
use std::fmt;

/// Default headroom in front of new packet data (room for Unstrip/EtherEncap/IP encapsulation).
pub const DEFAULT_HEADROOM: usize = 64;
/// Default tailroom after new packet data.
pub const DEFAULT_TAILROOM: usize = 0;
/// Size of the generic annotation area (Click's 48 user-annotation bytes).
pub const ANNO_SIZE: usize = 48;
/// Click's DST_IP_ANNO_OFFSET.
pub const DST_IP_ANNO_OFFSET: usize = 0;
/// Click's PAINT_ANNO_OFFSET.
pub const PAINT_ANNO_OFFSET: usize = 16;
/// Click's ICMP_PARAMPROB_ANNO_OFFSET.
pub const ICMP_PARAMPROB_ANNO_OFFSET: usize = 17;
/// Click's FIX_IP_SRC_ANNO_OFFSET.
pub const FIX_IP_SRC_ANNO_OFFSET: usize = 19;
/// Click's AGGREGATE_ANNO offset (a 4-byte flow/aggregate number).
pub const AGGREGATE_ANNO_OFFSET: usize = 20;
/// Click's VLAN_TCI_ANNO_OFFSET.
pub const VLAN_TCI_ANNO_OFFSET: usize = 20;
/// Click's EXTRA_PACKETS_ANNO_OFFSET.
pub const EXTRA_PACKETS_ANNO_OFFSET: usize = 24;
/// Click's EXTRA_LENGTH_ANNO_OFFSET.
pub const EXTRA_LENGTH_ANNO_OFFSET: usize = 28;
/// Click's FIRST_TIMESTAMP_ANNO_OFFSET.
pub const FIRST_TIMESTAMP_ANNO_OFFSET: usize = 32;

const NO_HEADER: u32 = u32::MAX;
const POOL_MAX: usize = 8192;
const POOL_BUF_MIN: usize = 2048;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

#[inline]
fn pool_get(size: usize) -> Vec<u8> {
    if size <= POOL_BUF_MIN {
        if let Some(b) = POOL.with(|p| p.borrow_mut().pop()) {
            return b;
        }
        return vec![0u8; POOL_BUF_MIN];
    }
    vec![0u8; size]
}

/// Append `n` packets holding copies of `data` (default headroom) to `batch`, taking their
/// buffers from the pool under one borrow (a source makes a whole burst at once).
#[inline]
pub fn extend_with_copies(batch: &mut PacketBatch, data: &[u8], n: usize) {
    let need = DEFAULT_HEADROOM + data.len() + DEFAULT_TAILROOM;
    if need > POOL_BUF_MIN {
        batch.extend((0..n).map(|_| Packet::from_data(data)));
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.try_borrow_mut().ok();
        for _ in 0..n {
            let buf = pool
                .as_mut()
                .and_then(|p| p.pop())
                .unwrap_or_else(|| vec![0u8; POOL_BUF_MIN]);
            batch.push(Packet::in_buf(
                buf,
                DEFAULT_HEADROOM,
                data,
                DEFAULT_TAILROOM,
            ));
        }
    });
}

/// Drop the packets of `batch`, returning their buffers to the pool under one borrow.
#[inline]
pub fn drop_all(batch: &mut PacketBatch) {
    POOL.with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            for p in batch.iter_mut() {
                if p.buf.len() == POOL_BUF_MIN && pool.len() < POOL_MAX {
                    pool.push(std::mem::take(&mut p.buf));
                }
            }
        }
    });
    batch.clear();
}

#[inline]
fn pool_put(buf: Vec<u8>) {
    if buf.len() == POOL_BUF_MIN {
        POOL.with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                if p.len() < POOL_MAX {
                    p.push(buf);
                }
            }
        });
    }
}

/// A point in time or a duration, in nanoseconds (since the Unix epoch for points).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Zero.
    pub const ZERO: Timestamp = Timestamp(0);
    /// From seconds and nanoseconds.
    pub fn new(sec: i64, nsec: i64) -> Self {
        Timestamp(sec * 1_000_000_000 + nsec)
    }
    /// From (fractional) seconds.
    pub fn from_secs_f64(s: f64) -> Self {
        Timestamp((s * 1e9).round() as i64)
    }
    /// Whole seconds (floor).
    pub fn sec(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    /// Nanoseconds within the second.
    pub fn nsec(self) -> i64 {
        self.0.rem_euclid(1_000_000_000)
    }
    /// Microseconds within the second.
    pub fn usec(self) -> i64 {
        self.nsec() / 1000
    }
    /// As f64 seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Is it zero?
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::Add for Timestamp {
    type Output = Timestamp;
    fn add(self, o: Timestamp) -> Timestamp {
        Timestamp(self.0.saturating_add(o.0))
    }
}
impl std::ops::Sub for Timestamp {
    type Output = Timestamp;
    fn sub(self, o: Timestamp) -> Timestamp {
        Timestamp(self.0.saturating_sub(o.0))
    }
}

impl fmt::Display for Timestamp {
    /// Click style: `SEC.USEC` (6 digits), e.g. `1.000010`; negative values as a sign and
    /// the magnitude (`-0.900000`, not `-1.100000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            let m = Timestamp(self.0.saturating_neg());
            return write!(f, "-{}.{:06}", m.sec(), m.usec());
        }
        write!(f, "{}.{:06}", self.sec(), self.usec())
    }
}

/// Link-level packet type (Click's packet_type_anno).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    /// Addressed to this host.
    #[default]
    Host = 0,
    /// Link broadcast.
    Broadcast = 1,
    /// Link multicast.
    Multicast = 2,
    /// Addressed elsewhere.
    OtherHost = 3,
    /// Outgoing.
    Outgoing = 4,
    /// Loopback.
    Loopback = 5,
    /// Fastroute.
    Fastroute = 6,
}

/// A network packet: owned buffer, data window `[head, tail)`, header offsets and annotations.
///
/// Header offsets are absolute positions in the buffer, so they survive `pull`/`push` of the
/// data window like Click's header pointers. All header accessors are bounds-checked and return
/// `None` (never panic) for malformed packets.
pub struct Packet {
    buf: Vec<u8>,
    head: u32,
    tail: u32,
    mac: u32,
    net: u32,
    transport: u32,
    /// Timestamp annotation.
    pub timestamp: Timestamp,
    /// Packet type annotation.
    pub packet_type: PacketType,
    /// Generic annotation bytes (Click layout: dst IP at 0, paint at 16, ...).
    pub anno: [u8; ANNO_SIZE],
}

impl Clone for Packet {
    fn clone(&self) -> Self {
        let mut buf = pool_get(self.buf.len());
        let (h, t) = (self.head as usize, self.tail as usize);
        buf[h..t].copy_from_slice(&self.buf[h..t]);
        // Keep bytes in front of the data too: headers may be annotated there (Unstrip after Strip).
        buf[..h].copy_from_slice(&self.buf[..h]);
        Packet {
            buf,
            head: self.head,
            tail: self.tail,
            mac: self.mac,
            net: self.net,
            transport: self.transport,
            timestamp: self.timestamp,
            packet_type: self.packet_type,
            anno: self.anno,
        }
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        pool_put(std::mem::take(&mut self.buf));
    }
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet")
            .field("len", &self.len())
            .field("headroom", &self.headroom())
            .finish()
    }
}

impl Packet {
    /// A packet holding a copy of `data`, with `headroom` bytes before and `tailroom` after.
    pub fn make(headroom: usize, data: &[u8], tailroom: usize) -> Packet {
        let need = headroom + data.len() + tailroom;
        Packet::in_buf(pool_get(need), headroom, data, tailroom)
    }

    /// `make` in a buffer taken from the pool already.
    #[inline]
    fn in_buf(mut buf: Vec<u8>, headroom: usize, data: &[u8], tailroom: usize) -> Packet {
        let need = headroom + data.len() + tailroom;
        if buf.len() < need {
            buf.resize(need, 0);
        }
        buf[headroom..headroom + data.len()].copy_from_slice(data);
        Packet {
            buf,
            head: headroom as u32,
            tail: (headroom + data.len()) as u32,
            mac: NO_HEADER,
            net: NO_HEADER,
            transport: NO_HEADER,
            timestamp: Timestamp::ZERO,
            packet_type: PacketType::Host,
            anno: [0; ANNO_SIZE],
        }
    }

    /// A packet holding a copy of `data` with the default headroom.
    pub fn from_data(data: &[u8]) -> Packet {
        Packet::make(DEFAULT_HEADROOM, data, DEFAULT_TAILROOM)
    }

    /// A zero-filled packet of `len` bytes.
    pub fn zeroed(len: usize) -> Packet {
        let mut p = Packet::make(DEFAULT_HEADROOM, &[], len);
        let t = p.tail as usize;
        p.buf[t..t + len].fill(0);
        p.tail += len as u32;
        p
    }

    /// Packet data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head as usize..self.tail as usize]
    }
    /// Mutable packet data.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head as usize..self.tail as usize]
    }
    /// Data length.
    #[inline]
    pub fn len(&self) -> usize {
        (self.tail - self.head) as usize
    }
    /// True when the data is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tail == self.head
    }
    /// Bytes available in front of the data.
    pub fn headroom(&self) -> usize {
        self.head as usize
    }
    /// Bytes available after the data.
    pub fn tailroom(&self) -> usize {
        self.buf.len() - self.tail as usize
    }
    /// Offset of the data start within the buffer.
    pub fn data_offset(&self) -> usize {
        self.head as usize
    }

    /// Remove `n` bytes from the front (Click `pull`); clamps to the length.
    #[inline]
    pub fn pull(&mut self, n: usize) {
        let n = n.min(self.len()) as u32;
        self.head += n;
    }

    /// Prepend `n` bytes (Click `push`); grows the headroom if needed. New bytes keep whatever
    /// the buffer held before (e.g. the header Strip removed).
    pub fn push(&mut self, n: usize) {
        if n > self.head as usize {
            let extra = n - self.head as usize + DEFAULT_HEADROOM;
            let mut nb = vec![0u8; self.buf.len() + extra];
            nb[extra..].copy_from_slice(&self.buf);
            let old = std::mem::replace(&mut self.buf, nb);
            pool_put(old);
            let e = extra as u32;
            self.head += e;
            self.tail += e;
            for h in [&mut self.mac, &mut self.net, &mut self.transport] {
                if *h != NO_HEADER {
                    *h += e;
                }
            }
        }
        self.head -= n as u32;
    }

    /// Remove `n` bytes from the end (Click `take`); clamps.
    pub fn take(&mut self, n: usize) {
        let n = n.min(self.len()) as u32;
        self.tail -= n;
    }

    /// Append `n` zero bytes (Click `put`), growing the buffer if needed.
    pub fn put(&mut self, n: usize) {
        let t = self.tail as usize;
        if t + n > self.buf.len() {
            self.buf.resize(t + n, 0);
        }
        self.buf[t..t + n].fill(0);
        self.tail += n as u32;
    }

    /// Truncate or extend (with zeros) the data to `len` bytes.
    pub fn set_len(&mut self, len: usize) {
        if len <= self.len() {
            self.tail = self.head + len as u32;
        } else {
            self.put(len - self.len());
        }
    }

    fn hdr_rel(&self, off: u32) -> Option<isize> {
        if off == NO_HEADER {
            None
        } else {
            Some(off as isize - self.head as isize)
        }
    }

    /// MAC header offset relative to the data start (may be negative after `pull`).
    pub fn mac_header_offset(&self) -> Option<isize> {
        self.hdr_rel(self.mac)
    }
    /// Network header offset relative to the data start.
    pub fn network_header_offset(&self) -> Option<isize> {
        self.hdr_rel(self.net)
    }
    /// Transport header offset relative to the data start.
    pub fn transport_header_offset(&self) -> Option<isize> {
        self.hdr_rel(self.transport)
    }
    /// Is a network header annotated?
    pub fn has_network_header(&self) -> bool {
        self.net != NO_HEADER
    }
    /// Is a MAC header annotated?
    pub fn has_mac_header(&self) -> bool {
        self.mac != NO_HEADER
    }
    /// Set the MAC header at `off` bytes from the data start.
    pub fn set_mac_header(&mut self, off: usize) {
        self.mac = self.head + off as u32;
    }
    /// Set the network header at `off` bytes from the data start, of `len` bytes (the transport
    /// header follows it).
    pub fn set_network_header(&mut self, off: usize, len: usize) {
        self.net = self.head + off as u32;
        self.transport = self.net + len as u32;
    }
    /// Set only the transport header position (relative to the data start).
    pub fn set_transport_header(&mut self, off: usize) {
        self.transport = self.head + off as u32;
    }
    /// Clear header annotations.
    pub fn clear_headers(&mut self) {
        self.mac = NO_HEADER;
        self.net = NO_HEADER;
        self.transport = NO_HEADER;
    }

    /// Bytes from the MAC header to the data end.
    pub fn mac_header(&self) -> Option<&[u8]> {
        (self.mac != NO_HEADER && self.mac <= self.tail)
            .then(|| &self.buf[self.mac as usize..self.tail as usize])
    }
    /// Mutable bytes from the MAC header to the data end.
    pub fn mac_header_mut(&mut self) -> Option<&mut [u8]> {
        if self.mac != NO_HEADER && self.mac <= self.tail {
            Some(&mut self.buf[self.mac as usize..self.tail as usize])
        } else {
            None
        }
    }
    /// Bytes from the network (IP) header to the data end.
    #[inline]
    pub fn network_header(&self) -> Option<&[u8]> {
        (self.net != NO_HEADER && self.net <= self.tail)
            .then(|| &self.buf[self.net as usize..self.tail as usize])
    }
    /// Mutable bytes from the network header to the data end.
    #[inline]
    pub fn network_header_mut(&mut self) -> Option<&mut [u8]> {
        if self.net != NO_HEADER && self.net <= self.tail {
            Some(&mut self.buf[self.net as usize..self.tail as usize])
        } else {
            None
        }
    }
    /// Bytes from the transport header to the data end.
    pub fn transport_header(&self) -> Option<&[u8]> {
        (self.transport != NO_HEADER && self.transport <= self.tail)
            .then(|| &self.buf[self.transport as usize..self.tail as usize])
    }
    /// Mutable bytes from the transport header to the data end.
    pub fn transport_header_mut(&mut self) -> Option<&mut [u8]> {
        if self.transport != NO_HEADER && self.transport <= self.tail {
            Some(&mut self.buf[self.transport as usize..self.tail as usize])
        } else {
            None
        }
    }
    /// Length of the network header (transport − network offset), when both are set.
    pub fn network_header_length(&self) -> Option<usize> {
        if self.net == NO_HEADER || self.transport == NO_HEADER || self.transport < self.net {
            None
        } else {
            Some((self.transport - self.net) as usize)
        }
    }

    /// Destination IP annotation (network byte order as 4 bytes).
    #[inline]
    pub fn dst_ip_anno(&self) -> [u8; 4] {
        [self.anno[0], self.anno[1], self.anno[2], self.anno[3]]
    }
    /// Set the destination IP annotation.
    #[inline]
    pub fn set_dst_ip_anno(&mut self, ip: [u8; 4]) {
        self.anno[0..4].copy_from_slice(&ip);
    }
    /// Paint annotation.
    #[inline]
    pub fn paint(&self) -> u8 {
        self.anno[PAINT_ANNO_OFFSET]
    }
    /// Set the paint annotation.
    #[inline]
    pub fn set_paint(&mut self, c: u8) {
        self.anno[PAINT_ANNO_OFFSET] = c;
    }
    /// Read a u32 (host order as stored) annotation at `off`.
    pub fn anno_u32(&self, off: usize) -> u32 {
        if off + 4 > ANNO_SIZE {
            return 0;
        }
        u32::from_ne_bytes([
            self.anno[off],
            self.anno[off + 1],
            self.anno[off + 2],
            self.anno[off + 3],
        ])
    }
    /// Write a u32 annotation at `off` (ignored when out of range).
    pub fn set_anno_u32(&mut self, off: usize, v: u32) {
        if off + 4 <= ANNO_SIZE {
            self.anno[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        }
    }
}

/// A batch of packets moved through the graph in one call (FastClick-style).
pub type PacketBatch = Vec<Packet>;

#[cfg(test)]
mod tests {

    #[test]
    fn negative_timestamps_print_as_sign_and_magnitude() {
        assert_eq!(Timestamp(-900_000_000).to_string(), "-0.900000");
        assert_eq!(Timestamp::new(-2, -500_000_000).to_string(), "-2.500000");
        assert_eq!(Timestamp::new(1, 10_000).to_string(), "1.000010");
    }

    use super::*;

    #[test]
    fn push_pull_keep_headers() {
        let mut p = Packet::from_data(&[1, 2, 3, 4, 5, 6]);
        p.set_network_header(2, 2);
        p.pull(2);
        assert_eq!(p.data(), &[3, 4, 5, 6]);
        assert_eq!(p.network_header_offset(), Some(0));
        p.push(100);
        assert_eq!(p.len(), 104);
        assert_eq!(&p.data()[100..], &[3, 4, 5, 6]);
        assert_eq!(p.network_header().map(|h| h.len()), Some(4));
        assert_eq!(p.transport_header(), Some(&[5u8, 6][..]));
        p.take(1000);
        assert!(p.is_empty());
    }

    #[test]
    fn clone_is_deep() {
        let mut p = Packet::from_data(&[9; 10]);
        p.set_paint(3);
        let mut q = p.clone();
        q.data_mut()[0] = 1;
        assert_eq!(p.data()[0], 9);
        assert_eq!(q.paint(), 3);
    }

    #[test]
    fn timestamp_display() {
        assert_eq!(Timestamp::new(1, 10_000).to_string(), "1.000010");
    }
}
