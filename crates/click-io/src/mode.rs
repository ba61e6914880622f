//! Throughput versus latency I/O mode.

use std::fmt;
use std::str::FromStr;

use netsys::{RxConfig, RxRing};

/// How device I/O trades batching against delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoMode {
    /// The default: per-frame receive slots (TPACKET_V2), so a frame is visible as soon as the
    /// kernel wrote it, bursts of up to 64, sleep in `poll()` when the ring is empty. Batches
    /// form by themselves under load (frames arrive while the previous batch is processed)
    /// and a lone frame is handled after one wake-up, so it is batched *and* low-latency
    /// without taking a CPU it does not need (issue #14, docs/performance-io.md).
    #[default]
    Balanced,
    /// Large receive blocks (TPACKET_V3, 1 ms block timer), full batches, sleep in `poll()`:
    /// the fewest wake-ups under heavy load, but up to 1 ms of added delay at low load.
    Throughput,
    /// Per-frame receive slots, bursts of 32, busy-poll for up to 1 ms when idle (adaptive):
    /// the lowest delay when the engine has a core to itself.
    Latency,
}

impl IoMode {
    /// `"balanced"`, `"throughput"` or `"latency"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IoMode::Balanced => "balanced",
            IoMode::Throughput => "throughput",
            IoMode::Latency => "latency",
        }
    }

    /// The receive ring of this mode: blocks (TPACKET_V3) for throughput, per-frame slots
    /// (TPACKET_V2) for balanced and latency.
    pub fn rx_config(self) -> RxConfig {
        match self {
            IoMode::Throughput => RxConfig::blocks(),
            IoMode::Balanced | IoMode::Latency => RxConfig::per_frame(),
        }
    }

    /// Receive ring, burst and idle behaviour in words (for reports).
    pub fn describe(self) -> String {
        let ring = match self.rx_config().ring {
            RxRing::V3 {
                block_size,
                block_count,
                retire_tov_ms,
            } => format!(
                "TPACKET_V3 ring {block_count} x {} KiB, block timer {retire_tov_ms} ms",
                block_size / 1024
            ),
            RxRing::V2 {
                frame_size,
                frame_count,
            } => format!("TPACKET_V2 ring {frame_count} x {} KiB", frame_size / 1024),
        };
        let idle = match self {
            IoMode::Latency => "busy-polls up to 1 ms when idle (adaptive), then poll()",
            _ => "sleeps in poll() when idle",
        };
        format!(
            "coo-click {} I/O: {ring}, burst {}, sendmmsg TX, {idle}",
            self.as_str(),
            crate::elements::default_burst(self)
        )
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
