//! Engine options: how an engine does its I/O and where it runs, set per VNF and per variant in
//! the topology and sent to the agent before the engine starts (`PUT /v1/engine/options`), so
//! a comparison can give every engine the same burst, buffers and CPUs (issue #14).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::EngineSpec;

/// How device I/O trades batching against delay (coo-click's I/O modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IoMode {
    /// Per-frame receive slots (TPACKET_V2), bursts under load, sleeps in `poll()` when idle.
    #[default]
    Balanced,
    /// Large receive blocks (TPACKET_V3, 1 ms block timer): fewest wake-ups, up to 1 ms delay.
    Throughput,
    /// Per-frame slots, busy-polls up to 1 ms when idle: lowest delay, takes its CPU.
    Latency,
}

impl IoMode {
    pub const NAMES: [&'static str; 3] = ["balanced", "throughput", "latency"];

    /// `"balanced"`, `"throughput"` or `"latency"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IoMode::Balanced => "balanced",
            IoMode::Throughput => "throughput",
            IoMode::Latency => "latency",
        }
    }
}

impl fmt::Display for IoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown mode name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown I/O mode {0:?} (expected \"balanced\", \"throughput\" or \"latency\")")]
pub struct UnknownIoMode(pub String);

impl FromStr for IoMode {
    type Err = UnknownIoMode;
    fn from_str(s: &str) -> Result<Self, UnknownIoMode> {
        match s.to_ascii_lowercase().as_str() {
            "balanced" | "default" => Ok(IoMode::Balanced),
            "throughput" => Ok(IoMode::Throughput),
            "latency" | "low-latency" => Ok(IoMode::Latency),
            _ => Err(UnknownIoMode(s.to_owned())),
        }
    }
}

impl Serialize for IoMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IoMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for IoMode {
    fn schema_name() -> String {
        "IoMode".to_owned()
    }
    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            enum_values: Some(IoMode::NAMES.iter().map(|n| (*n).into()).collect()),
            ..Default::default()
        };
        schema.metadata().description = Some(
            "coo-click's I/O mode: `balanced` (default), `throughput` or `latency`".to_owned(),
        );
        schema.into()
    }
}

/// Receive buffer every engine gets per interface when nothing else is said, KiB: the size of
/// coo-click's balanced ring (4096 slots of 2 KiB), FastClick's `framecnt 4096` and what the
/// agent forces on reference Click's packet sockets, so buffers are equal by default.
pub const DEFAULT_RX_BUFFER_KIB: u32 = 8192;
/// Frames per FromDevice/ToDevice run when nothing else is said.
pub const DEFAULT_BURST: u32 = 32;
/// Accepted ranges.
pub const BURST_RANGE: std::ops::RangeInclusive<u32> = 1..=1024;
pub const RX_BUFFER_KIB_RANGE: std::ops::RangeInclusive<u32> = 64..=1_048_576;
/// Highest CPU number accepted in `cpus` (the machine's own limit is checked at run time).
pub const MAX_CPU: u32 = 1023;

/// How an engine does its I/O and where it runs. Every field is optional; a more specific
/// place (variant's VNF > variant > VNF) overrides field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineOptions {
    /// coo-click's I/O mode (other engines have none: a named error there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<IoMode>,
    /// Frames per device-element run (FromDevice/ToDevice BURST, FromDPDKDevice/
    /// ToDPDKDevice BURST), 1..=1024; default 32, or the function's own BURST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Kernel receive buffer per data interface, KiB, 64..=1048576 (coo-click: ring size;
    /// reference Click: the packet socket's SO_RCVBUF, forced; FastClick: af_packet
    /// `framecnt` of 2 KiB frames). Default 8192 for every engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_buffer_kib: Option<u32>,
    /// CPUs the engine may run on (affinity; FastClick's lcore is the first). Default: the
    /// run's placement plan (every NF on the same CPUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Vec<u32>>,
}

/// A value out of range or a list that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineOptionError {
    #[error("burst {0} is outside 1..=1024")]
    Burst(u32),
    #[error("rx_buffer_kib {0} is outside 64..=1048576")]
    RxBuffer(u32),
    #[error("cpus must name at least one CPU, each once, each at most 1023 (got {0:?})")]
    Cpus(Vec<u32>),
}

impl EngineOptions {
    /// `self` with every field `over` sets replaced.
    pub fn overlay(&self, over: &EngineOptions) -> EngineOptions {
        EngineOptions {
            io: over.io.or(self.io),
            burst: over.burst.or(self.burst),
            rx_buffer_kib: over.rx_buffer_kib.or(self.rx_buffer_kib),
            cpus: over.cpus.clone().or_else(|| self.cpus.clone()),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == EngineOptions::default()
    }

    /// Range checks (which engine accepts which option is the caller's rule).
    pub fn check(&self) -> Result<(), EngineOptionError> {
        if let Some(b) = self.burst.filter(|b| !BURST_RANGE.contains(b)) {
            return Err(EngineOptionError::Burst(b));
        }
        if let Some(k) = self
            .rx_buffer_kib
            .filter(|k| !RX_BUFFER_KIB_RANGE.contains(k))
        {
            return Err(EngineOptionError::RxBuffer(k));
        }
        if let Some(cpus) = &self.cpus {
            let mut seen = std::collections::BTreeSet::new();
            let bad = cpus.is_empty() || cpus.iter().any(|c| *c > MAX_CPU || !seen.insert(*c));
            if bad {
                return Err(EngineOptionError::Cpus(cpus.clone()));
            }
        }
        Ok(())
    }

    /// The first option `engine` has no meaning for, with why: `("io", "…")`.
    pub fn unsupported_by(&self, engine: &EngineSpec) -> Option<(&'static str, &'static str)> {
        match engine {
            EngineSpec::CooClick => None,
            EngineSpec::KernelForward => {
                let set = [
                    ("io", self.io.is_some()),
                    ("burst", self.burst.is_some()),
                    ("rx_buffer_kib", self.rx_buffer_kib.is_some()),
                    ("cpus", self.cpus.is_some()),
                ];
                set.iter().find(|(_, on)| *on).map(|(name, _)| {
                    (
                        *name,
                        "kernel-forward runs no engine process (the kernel forwards)",
                    )
                })
            }
            EngineSpec::FastClick => self.io.map(|_| {
                (
                    "io",
                    "FastClick always busy-polls its lcore; it has no I/O modes",
                )
            }),
            _ => self.io.map(|_| {
                (
                    "io",
                    "Click's FromDevice always sleeps in select(); it has no I/O modes",
                )
            }),
        }
    }

    /// The receive buffer in bytes (the default when unset).
    pub fn rx_buffer_bytes(&self) -> usize {
        self.rx_buffer_kib.unwrap_or(DEFAULT_RX_BUFFER_KIB) as usize * 1024
    }

    /// The options in `key value` words for reports (`"io throughput, burst 64"`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(io) = self.io {
            parts.push(format!("io {io}"));
        }
        if let Some(b) = self.burst {
            parts.push(format!("burst {b}"));
        }
        if let Some(k) = self.rx_buffer_kib {
            parts.push(format!("rx buffer {k} KiB"));
        }
        if let Some(c) = &self.cpus {
            let list: Vec<String> = c.iter().map(u32::to_string).collect();
            parts.push(format!("cpus {}", list.join(",")));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_is_field_by_field() {
        let vnf = EngineOptions {
            io: Some(IoMode::Latency),
            burst: Some(8),
            ..Default::default()
        };
        let variant = EngineOptions {
            burst: Some(64),
            rx_buffer_kib: Some(1024),
            ..Default::default()
        };
        let merged = vnf.overlay(&variant);
        assert_eq!(merged.io, Some(IoMode::Latency));
        assert_eq!(merged.burst, Some(64));
        assert_eq!(merged.rx_buffer_kib, Some(1024));
        assert_eq!(merged.rx_buffer_bytes(), 1024 * 1024);
        assert_eq!(
            merged.describe(),
            "io latency, burst 64, rx buffer 1024 KiB"
        );
    }

    #[test]
    fn io_modes_are_coo_click_only() {
        let io = EngineOptions {
            io: Some(IoMode::Latency),
            ..Default::default()
        };
        assert_eq!(io.unsupported_by(&EngineSpec::CooClick), None);
        assert_eq!(
            io.unsupported_by(&EngineSpec::ReferenceClick).map(|u| u.0),
            Some("io")
        );
        assert_eq!(
            io.unsupported_by(&EngineSpec::FastClick).map(|u| u.0),
            Some("io")
        );
        let burst = EngineOptions {
            burst: Some(64),
            ..Default::default()
        };
        assert_eq!(burst.unsupported_by(&EngineSpec::ReferenceClick), None);
        assert_eq!(
            burst
                .unsupported_by(&EngineSpec::KernelForward)
                .map(|u| u.0),
            Some("burst")
        );
    }

    #[test]
    fn strict_and_checked() {
        let ok: EngineOptions =
            serde_json::from_str(r#"{"io": "throughput", "burst": 64, "cpus": [1]}"#).unwrap();
        assert!(ok.check().is_ok());
        assert!(serde_json::from_str::<EngineOptions>(r#"{"bursts": 1}"#).is_err());
        assert!(serde_json::from_str::<EngineOptions>(r#"{"io": "fast"}"#).is_err());
        let zero = EngineOptions {
            burst: Some(0),
            ..Default::default()
        };
        assert_eq!(zero.check(), Err(EngineOptionError::Burst(0)));
        let dup = EngineOptions {
            cpus: Some(vec![1, 1]),
            ..Default::default()
        };
        assert!(matches!(dup.check(), Err(EngineOptionError::Cpus(_))));
        let small = EngineOptions {
            rx_buffer_kib: Some(4),
            ..Default::default()
        };
        assert_eq!(small.check(), Err(EngineOptionError::RxBuffer(4)));
    }
}
