//! `traffic`: the test-traffic generator and sinks of coo-bench (privileged: AF_PACKET, setns).
//!
//! [`run_trial`] runs one trial: sinks start first (each on its own thread, inside its
//! namespace, with a TPACKET_V3 ring), then the generator (own thread, own namespace, sendmmsg
//! batches paced by a token bucket) sends a warm-up phase and the measured phase; every frame
//! carries a trial tag, a stream id, a sequence number and a CLOCK_MONOTONIC TX timestamp. A
//! low-rate latency stream (stream 255) runs beside the load. After a drain period the sinks
//! stop and the per-stream accounting is merged and checked against the generator's counts
//! and the kernel's interface counters.

pub mod accounting;
pub mod error;
pub mod frame;
pub mod generator;
pub mod ring;
pub mod sink;
pub mod sys;
mod trial;

pub use accounting::StreamStats;
pub use error::{Result, TrafficError};
pub use frame::{Distribution, FlowField, FlowSpec, FrameSizes, MacAddr, Protocol};
pub use trial::{run_trial, Attach, TrialResult, TrialSpec};
