//! Throughput versus latency I/O mode.

use std::fmt;
use std::str::FromStr;

/// How device I/O trades batching against delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoMode {
    /// Large receive blocks, full batches, sleep in `poll()` when idle.
    #[default]
    Throughput,
    /// Per-frame receive slots, flush every batch at once, busy-poll when idle.
    Latency,
}

impl IoMode {
    /// `"throughput"` or `"latency"`.
    pub fn as_str(self) -> &'static str {
        match self {
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
#[error("unknown I/O mode {0:?} (expected \"throughput\" or \"latency\")")]
pub struct UnknownIoMode(pub String);

impl FromStr for IoMode {
    type Err = UnknownIoMode;
    fn from_str(s: &str) -> Result<Self, UnknownIoMode> {
        match s.to_ascii_lowercase().as_str() {
            "throughput" => Ok(IoMode::Throughput),
            "latency" | "low-latency" => Ok(IoMode::Latency),
            _ => Err(UnknownIoMode(s.to_owned())),
        }
    }
}
