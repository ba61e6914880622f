//! Traffic profile: what the generator at the Incoming Point sends.

use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A traffic profile (a file under `traffic/` or inline in a topology). Every field is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficProfile {
    /// Ethernet frame sizes `run` measures, in bytes including the 4-byte FCS (as RFC 2544
    /// counts them), and/or `"imix"` (7×64, 4×570, 1×1518), e.g. `[64, 1518, "imix"]`.
    /// Default `[64]`. TCP needs at least 74 B (headers + the 16-byte test header).
    pub frame_sizes: FrameSizes,
    pub protocol: Protocol,
    pub flows: Flows,
    /// Rate of the warm-up traffic sent before each variant is measured.
    pub rate: Rate,
    /// Traffic sent before measuring each variant, seconds.
    pub warmup_s: f64,
    /// `forward` (Incoming → Outgoing Point only) or `both` (replies sent back from the
    /// Outgoing Point too, so a NAT's reply path is exercised). The offered load is per direction.
    pub direction: TrafficDirection,
}

/// Which way test traffic flows between the Incoming and the Outgoing Point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrafficDirection {
    /// Incoming Point → Outgoing Point only.
    #[default]
    Forward,
    /// Both ways: the reverse stream answers the forward flows as they left the chain
    /// (addresses and ports as translated by a NAT), from the Outgoing Point to the Incoming
    /// Point.
    Both,
}

impl Default for TrafficProfile {
    fn default() -> Self {
        TrafficProfile {
            frame_sizes: FrameSizes::default(),
            protocol: Protocol::Udp,
            flows: Flows::default(),
            rate: Rate::default(),
            warmup_s: 1.0,
            direction: TrafficDirection::Forward,
        }
    }
}

/// One measured frame size: bytes, or a named mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FrameSize {
    Bytes(u16),
    Named(NamedMix),
}

/// A list of frame sizes, or `"imix"` alone (shorthand for `["imix"]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FrameSizes {
    List(Vec<FrameSize>),
    Named(NamedMix),
}

impl Default for FrameSizes {
    fn default() -> Self {
        FrameSizes::List(vec![FrameSize::Bytes(64)])
    }
}

/// IMIX's 12-frame cycle.
pub const IMIX_CYCLE: [u16; 12] = [64, 64, 64, 64, 64, 64, 64, 570, 570, 570, 570, 1518];

impl FrameSizes {
    /// The measured sizes in order (`"imix"` is one entry).
    pub fn entries(&self) -> Vec<FrameSize> {
        match self {
            FrameSizes::List(list) => list.clone(),
            FrameSizes::Named(mix) => vec![FrameSize::Named(*mix)],
        }
    }

    /// Every frame length sent (IMIX expanded to its cycle).
    pub fn sizes(&self) -> Vec<u16> {
        self.entries()
            .into_iter()
            .flat_map(|e| match e {
                FrameSize::Bytes(b) => vec![b],
                FrameSize::Named(NamedMix::Imix) => IMIX_CYCLE.to_vec(),
            })
            .collect()
    }
}

impl Protocol {
    /// Smallest frame (FCS included) that holds Ethernet, IPv4, this protocol's header and the
    /// generator's 16-byte test header (the traffic crate's `Protocol::min_frame`, tested equal).
    pub fn min_frame(self) -> u16 {
        let l4 = match self {
            Protocol::Udp | Protocol::Icmp => 8,
            Protocol::Tcp => 20,
        };
        (14 + 20 + l4 + 16 + 4).max(64)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NamedMix {
    Imix,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Udp,
    Tcp,
    Icmp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Flows {
    /// Number of distinct flows.
    pub count: u32,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    /// Header fields that change from flow to flow.
    pub vary: Vec<FlowField>,
    pub distribution: Distribution,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlowField {
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    #[default]
    RoundRobin,
    Random,
}

/// `{"pps": N}` or `{"bps": N}` (bits per second of Ethernet frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rate {
    Pps(u64),
    Bps(u64),
}

impl Default for Rate {
    fn default() -> Self {
        Rate::Pps(100_000)
    }
}
