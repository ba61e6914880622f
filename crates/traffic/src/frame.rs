//! Test frames: Ethernet/IPv4 + UDP|TCP|ICMP headers built once per flow and frame size, and a
//! 16-byte test header in the payload (magic, trial tag, stream, sequence, TX timestamp).
//!
//! Frame sizes follow RFC 2544: they count the 4-byte FCS, so a 64-byte frame is 60 bytes
//! handed to the kernel (Ethernet 14 + IPv4 20 + UDP 8 + 18 bytes payload).

use std::net::Ipv4Addr;

use netwire::{checksum, MacAddr};
use serde::{Deserialize, Serialize};

use crate::error::TrafficError;

pub const MAGIC: u16 = 0xC0B5;
pub const TEST_HEADER_LEN: usize = 16;
/// Stream id of the low-rate latency stream that runs beside the load.
pub const LATENCY_STREAM: u8 = 255;
/// Load streams use ids 0..MAX_LOAD_STREAMS (flow index modulo this).
pub const MAX_LOAD_STREAMS: u8 = 250;
pub const FCS_LEN: usize = 4;
pub const MAX_FRAME: u16 = 1518;
const ETH_LEN: usize = 14;
const IP_LEN: usize = 20;

/// Locally administered unicast address no interface owns: receivers see test frames as
/// PACKET_OTHERHOST, so kernel IP stacks along the path drop them at their first check
/// instead of routing every frame; bridges flood them to their (single) other port.
pub const UNOWNED_MAC: MacAddr = MacAddr([0x02, 0xc0, 0xb5, 0x00, 0x00, 0x01]);

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Udp,
    Tcp,
    Icmp,
}

impl Protocol {
    fn number(self) -> u8 {
        match self {
            Protocol::Udp => 17,
            Protocol::Tcp => 6,
            Protocol::Icmp => 1,
        }
    }

    fn l4_len(self) -> usize {
        match self {
            Protocol::Udp | Protocol::Icmp => 8,
            Protocol::Tcp => 20,
        }
    }

    /// Smallest frame (FCS included) that holds the headers and the test header.
    pub fn min_frame(self) -> u16 {
        let len = ETH_LEN + IP_LEN + self.l4_len() + TEST_HEADER_LEN + FCS_LEN;
        (len as u16).max(64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowField {
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    #[default]
    RoundRobin,
    Random,
}

/// The flows of a trial: `count` 5-tuples derived from a base tuple by incrementing the
/// fields in `vary` by the flow index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    pub protocol: Protocol,
    pub count: u32,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub vary: Vec<FlowField>,
    pub distribution: Distribution,
}

impl Default for FlowSpec {
    fn default() -> Self {
        FlowSpec {
            protocol: Protocol::Udp,
            count: 1,
            src_ip: Ipv4Addr::new(198, 18, 0, 1),
            dst_ip: Ipv4Addr::new(198, 19, 0, 1),
            src_port: 1024,
            dst_port: 5001,
            vary: vec![FlowField::SrcPort],
            distribution: Distribution::RoundRobin,
        }
    }
}

/// Frame size of a trial (FCS included), or the simple IMIX cycle (7×64, 4×570, 1×1518).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameSizes {
    Fixed(u16),
    Imix,
}

impl FrameSizes {
    /// Sizes in send order (one cycle).
    pub fn cycle(&self) -> Vec<u16> {
        match self {
            FrameSizes::Fixed(s) => vec![*s],
            FrameSizes::Imix => {
                let mut v = vec![64; 7];
                v.extend([570; 4]);
                v.push(1518);
                v
            }
        }
    }
}

/// The test header carried in every frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestHeader {
    /// Identifies the trial so frames of earlier trials still in flight are not counted.
    pub tag: u8,
    pub stream: u8,
    pub seq: u32,
    /// CLOCK_MONOTONIC nanoseconds when the frame was handed to the kernel.
    pub tx_ns: u64,
}

impl TestHeader {
    pub fn write(&self, out: &mut [u8]) {
        out[0..2].copy_from_slice(&MAGIC.to_be_bytes());
        out[2] = self.tag;
        out[3] = self.stream;
        out[4..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..16].copy_from_slice(&self.tx_ns.to_be_bytes());
    }

    pub fn read(b: &[u8]) -> Option<TestHeader> {
        if b.len() < TEST_HEADER_LEN || u16::from_be_bytes([b[0], b[1]]) != MAGIC {
            return None;
        }
        Some(TestHeader {
            tag: b[2],
            stream: b[3],
            seq: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            tx_ns: u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
        })
    }
}

/// Headers of one flow at one frame size.
#[derive(Debug, Clone)]
pub struct Template {
    /// Ethernet + IPv4 + L4 header bytes (the payload follows, zero-filled).
    pub header: Vec<u8>,
    /// Bytes handed to the kernel (frame size minus FCS).
    pub len: usize,
    pub protocol: Protocol,
}

impl Template {
    /// Writes the frame into `buf` (which must be zero beyond the header, as the generator's
    /// slot buffers are) and returns its length.
    pub fn fill(&self, buf: &mut [u8], th: &TestHeader) -> usize {
        let h = self.header.len();
        buf[..h].copy_from_slice(&self.header);
        th.write(&mut buf[h..h + TEST_HEADER_LEN]);
        let l4 = ETH_LEN + IP_LEN;
        match self.protocol {
            Protocol::Udp => {} // UDP checksum 0 = none (valid for IPv4)
            Protocol::Tcp => {
                buf[l4 + 16..l4 + 18].fill(0);
                let sum = l4_checksum(&buf[ETH_LEN..self.len], 6);
                buf[l4 + 16..l4 + 18].copy_from_slice(&sum.to_be_bytes());
            }
            Protocol::Icmp => {
                buf[l4 + 2..l4 + 4].fill(0);
                let sum = checksum::checksum(&buf[l4..self.len]);
                buf[l4 + 2..l4 + 4].copy_from_slice(&sum.to_be_bytes());
            }
        }
        self.len
    }
}

/// TCP/UDP checksum over the pseudo header, given the IPv4 packet.
fn l4_checksum(ip: &[u8], proto: u8) -> u16 {
    let l4 = &ip[IP_LEN..];
    let acc = checksum::add(0, &ip[12..20]) + u32::from(proto) + l4.len() as u32;
    !checksum::fold(checksum::add(acc, l4))
}

fn offset_ip(ip: Ipv4Addr, by: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(ip).wrapping_add(by))
}

/// Builds the template of flow `index` at `frame_size` bytes (FCS included).
pub fn build_template(
    flows: &FlowSpec,
    index: u32,
    frame_size: u16,
    src_mac: MacAddr,
    dst_mac: MacAddr,
) -> Result<Template, TrafficError> {
    let proto = flows.protocol;
    if frame_size < proto.min_frame() || frame_size > MAX_FRAME {
        return Err(TrafficError::Spec(format!(
            "frame size {frame_size} is outside {}..={MAX_FRAME} for {proto:?}",
            proto.min_frame()
        )));
    }
    let vary = |f: FlowField| if flows.vary.contains(&f) { index } else { 0 };
    let src_ip = offset_ip(flows.src_ip, vary(FlowField::SrcIp));
    let dst_ip = offset_ip(flows.dst_ip, vary(FlowField::DstIp));
    let src_port = flows.src_port.wrapping_add(vary(FlowField::SrcPort) as u16);
    let dst_port = flows.dst_port.wrapping_add(vary(FlowField::DstPort) as u16);
    let len = usize::from(frame_size) - FCS_LEN;
    let ip_total = (len - ETH_LEN) as u16;
    let mut h = Vec::with_capacity(ETH_LEN + IP_LEN + proto.l4_len());
    h.extend_from_slice(&dst_mac.0);
    h.extend_from_slice(&src_mac.0);
    h.extend_from_slice(&0x0800u16.to_be_bytes());
    // IPv4: version/IHL, DSCP, total length, id, flags (DF) + fragment offset, TTL, protocol
    h.extend_from_slice(&[0x45, 0]);
    h.extend_from_slice(&ip_total.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, proto.number(), 0, 0]);
    h.extend_from_slice(&src_ip.octets());
    h.extend_from_slice(&dst_ip.octets());
    let ip_sum = checksum::checksum(&h[ETH_LEN..ETH_LEN + IP_LEN]);
    h[ETH_LEN + 10..ETH_LEN + 12].copy_from_slice(&ip_sum.to_be_bytes());
    match proto {
        Protocol::Udp => {
            h.extend_from_slice(&src_port.to_be_bytes());
            h.extend_from_slice(&dst_port.to_be_bytes());
            h.extend_from_slice(&(ip_total - IP_LEN as u16).to_be_bytes());
            h.extend_from_slice(&[0, 0]);
        }
        Protocol::Tcp => {
            h.extend_from_slice(&src_port.to_be_bytes());
            h.extend_from_slice(&dst_port.to_be_bytes());
            h.extend_from_slice(&1u32.to_be_bytes()); // seq
            h.extend_from_slice(&1u32.to_be_bytes()); // ack
            h.extend_from_slice(&[0x50, 0x10]); // data offset 5, flags ACK
            h.extend_from_slice(&0xffffu16.to_be_bytes()); // window
            h.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
        }
        Protocol::Icmp => {
            // echo request; identifier = flow index so flows differ
            h.extend_from_slice(&[8, 0, 0, 0]);
            h.extend_from_slice(&(index as u16).to_be_bytes());
            h.extend_from_slice(&[0, 0]);
        }
    }
    Ok(Template {
        header: h,
        len,
        protocol: proto,
    })
}

/// The addresses and ports of a received test frame as it left the chain (after any NAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowTuple {
    pub protocol: Protocol,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    /// Ports (0 for ICMP).
    pub src_port: u16,
    pub dst_port: u16,
}

impl FlowTuple {
    /// The single flow that answers this one: addresses and ports swapped.
    pub fn reply(&self) -> FlowSpec {
        FlowSpec {
            protocol: self.protocol,
            count: 1,
            src_ip: self.dst_ip,
            dst_ip: self.src_ip,
            src_port: self.dst_port,
            dst_port: self.src_port,
            vary: Vec::new(),
            distribution: Distribution::RoundRobin,
        }
    }
}

/// The flow tuple of a received IPv4 UDP/TCP/ICMP frame (one 802.1Q tag accepted).
pub fn parse_flow(frame: &[u8]) -> Option<FlowTuple> {
    let mut off = 12;
    if u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]) == 0x8100 {
        off += 4;
    }
    if u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]) != 0x0800 {
        return None;
    }
    let ip = off + 2;
    let ihl = usize::from(frame.get(ip)? & 0x0f) * 4;
    let protocol = match *frame.get(ip + 9)? {
        17 => Protocol::Udp,
        6 => Protocol::Tcp,
        1 => Protocol::Icmp,
        _ => return None,
    };
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let b = frame.get(at..at + 4)?;
        Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    };
    let l4 = ip + ihl;
    let port = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]))
    };
    let (src_port, dst_port) = match protocol {
        Protocol::Icmp => (0, 0),
        _ => (port(l4)?, port(l4 + 2)?),
    };
    Some(FlowTuple {
        protocol,
        src_ip: addr(ip + 12)?,
        dst_ip: addr(ip + 16)?,
        src_port,
        dst_port,
    })
}

/// Finds the test header in a received frame (any L2/L3 rewriting by NFs is fine: the
/// payload is located by parsing IPv4 and the L4 header). Accepts one 802.1Q tag.
pub fn parse_test_header(frame: &[u8]) -> Option<TestHeader> {
    let mut off = 12;
    let mut ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    if ethertype == 0x8100 {
        off += 4;
        ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    if ethertype != 0x0800 {
        return None;
    }
    let ip = off + 2;
    let ihl = usize::from(frame.get(ip)? & 0x0f) * 4;
    let proto = *frame.get(ip + 9)?;
    let l4 = ip + ihl;
    let payload = match proto {
        17 | 1 => l4 + 8,
        6 => l4 + usize::from(frame.get(l4 + 12)? >> 4) * 4,
        _ => return None,
    };
    TestHeader::read(frame.get(payload..payload + TEST_HEADER_LEN)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mac(s: &str) -> MacAddr {
        s.parse().unwrap()
    }

    #[test]
    fn udp_64_byte_frame_layout_and_valid_ip_checksum() {
        let t = build_template(
            &FlowSpec::default(),
            3,
            64,
            mac("02:00:00:00:00:01"),
            MacAddr::BROADCAST,
        )
        .unwrap();
        assert_eq!(t.len, 60);
        let mut buf = vec![0u8; 1514];
        let th = TestHeader {
            tag: 7,
            stream: 3,
            seq: 42,
            tx_ns: 123_456_789,
        };
        let n = t.fill(&mut buf, &th);
        let f = &buf[..n];
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(
            checksum::checksum(&f[14..34]),
            0,
            "IPv4 header checksum must verify"
        );
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 46);
        assert_eq!(
            u16::from_be_bytes([f[34], f[35]]),
            1027,
            "src port varies by flow"
        );
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 26);
        assert_eq!(parse_test_header(f), Some(th));
    }

    #[test]
    fn tcp_and_icmp_checksums_verify() {
        for proto in [Protocol::Tcp, Protocol::Icmp] {
            let flows = FlowSpec {
                protocol: proto,
                ..FlowSpec::default()
            };
            let t = build_template(&flows, 0, 128, MacAddr::BROADCAST, MacAddr::BROADCAST).unwrap();
            let mut buf = vec![0u8; 1514];
            let th = TestHeader {
                tag: 1,
                stream: 0,
                seq: 9,
                tx_ns: 77,
            };
            let n = t.fill(&mut buf, &th);
            let f = &buf[..n];
            assert_eq!(checksum::checksum(&f[14..34]), 0);
            match proto {
                Protocol::Tcp => assert_eq!(l4_checksum(&f[14..], 6), 0),
                _ => assert_eq!(checksum::checksum(&f[34..]), 0),
            }
            assert_eq!(parse_test_header(f), Some(th));
        }
    }

    #[test]
    fn too_small_frames_are_refused() {
        let flows = FlowSpec {
            protocol: Protocol::Tcp,
            ..FlowSpec::default()
        };
        assert!(build_template(&flows, 0, 64, MacAddr::BROADCAST, MacAddr::BROADCAST).is_err());
        assert!(build_template(
            &FlowSpec::default(),
            0,
            1519,
            MacAddr::BROADCAST,
            MacAddr::BROADCAST
        )
        .is_err());
        assert!(build_template(
            &FlowSpec::default(),
            0,
            1518,
            MacAddr::BROADCAST,
            MacAddr::BROADCAST
        )
        .is_ok());
    }

    #[test]
    fn a_flow_tuple_is_parsed_and_its_reply_swaps_addresses_and_ports() {
        let t =
            build_template(&FlowSpec::default(), 5, 64, MacAddr::BROADCAST, UNOWNED_MAC).unwrap();
        let mut buf = vec![0u8; 1514];
        let th = TestHeader {
            tag: 1,
            stream: 5,
            seq: 0,
            tx_ns: 1,
        };
        let n = t.fill(&mut buf, &th);
        let tuple = parse_flow(&buf[..n]).unwrap();
        assert_eq!(tuple.src_port, 1029);
        assert_eq!(tuple.dst_port, 5001);
        assert_eq!(tuple.src_ip, Ipv4Addr::new(198, 18, 0, 1));
        let reply = tuple.reply();
        let r = build_template(&reply, 0, 64, MacAddr::BROADCAST, UNOWNED_MAC).unwrap();
        let n = r.fill(&mut buf, &th);
        let back = parse_flow(&buf[..n]).unwrap();
        assert_eq!(
            (back.src_ip, back.dst_ip, back.src_port, back.dst_port),
            (tuple.dst_ip, tuple.src_ip, tuple.dst_port, tuple.src_port)
        );
        assert_eq!(parse_flow(&[0u8; 60]), None);
    }

    #[test]
    fn foreign_frames_are_not_test_frames() {
        assert_eq!(parse_test_header(&[0u8; 60]), None);
        assert_eq!(parse_test_header(&[]), None);
    }
}
