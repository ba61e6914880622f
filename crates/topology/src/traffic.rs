//! Traffic profile: what the generator at the Incoming Point sends.

use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A traffic profile (a file under `traffic/` or inline in a topology). Every field is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficProfile {
    /// Ethernet frame sizes in bytes (including the 4-byte FCS, as RFC 2544 counts them), or `"imix"` (7×64, 4×570, 1×1518).
    pub frame_sizes: FrameSizes,
    pub protocol: Protocol,
    pub flows: Flows,
    /// Offered load for fixed-rate trials.
    pub rate: Rate,
    /// Measured part of a trial, seconds.
    pub duration_s: f64,
    /// Traffic sent before measuring, seconds.
    pub warmup_s: f64,
}

impl Default for TrafficProfile {
    fn default() -> Self {
        TrafficProfile {
            frame_sizes: FrameSizes::default(),
            protocol: Protocol::Udp,
            flows: Flows::default(),
            rate: Rate::default(),
            duration_s: 10.0,
            warmup_s: 1.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FrameSizes {
    List(Vec<u16>),
    Named(NamedMix),
}

impl Default for FrameSizes {
    fn default() -> Self {
        FrameSizes::List(vec![64, 512, 1518])
    }
}

impl FrameSizes {
    /// Sizes in send order; IMIX expands to its 12-frame cycle.
    pub fn sizes(&self) -> Vec<u16> {
        match self {
            FrameSizes::List(list) => list.clone(),
            FrameSizes::Named(NamedMix::Imix) => {
                let mut out = vec![64; 7];
                out.extend([570; 4]);
                out.push(1518);
                out
            }
        }
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
