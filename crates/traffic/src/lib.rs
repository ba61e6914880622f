//! `traffic`: the test-traffic generator and sinks of coo-bench (privileged: AF_PACKET, setns).
//!
//! [`run_trial`] runs one trial: sinks start first (each on its own thread, inside its
//! namespace, with a TPACKET_V3 ring), then the generator (own thread, own namespace, sendmmsg
//! batches paced by a token bucket) sends a warm-up phase and the measured phase; every frame
//! carries a trial tag, a stream id, a sequence number and a CLOCK_MONOTONIC TX timestamp. A
//! low-rate latency stream (stream 255) runs beside the load; the generator records how well it
//! kept to its schedule ([`GeneratorTiming`]). After the generator's last frame, the trial
//! drains until no test frame of the trial has reached any sink for [`TrialSpec::quiet`] (at
//! most [`TrialSpec::drain`]); frames arriving more than [`TrialSpec::late_after`] after the
//! last send are counted as late. Then the sinks stop and the per-stream accounting is merged
//! and checked against the generator's counts and the kernel's interface counters.
//!
//! [`host`] samples /proc around a trial ([`host::HostSampler`]): steal, softirq, per-CPU busy
//! time and the CPU time of processes that are not ours. Namespace threads, rings and sendmmsg
//! are `netsys`'s, the same code coo-click's devices use. [`sys`] has the affinity helpers
//! ([`sys::pin_to_cpus`], [`sys::set_process_affinity`]).

pub mod accounting;
pub mod error;
pub mod frame;
pub mod generator;
pub mod host;
pub mod learn;
pub mod sink;
pub mod sys;
mod trial;

pub use accounting::StreamStats;
pub use error::{Result, TrafficError};
pub use frame::{Distribution, FlowField, FlowSpec, FlowTuple, FrameSizes, Protocol};
pub use generator::GeneratorTiming;
pub use host::{HostSampler, HostUsage};
pub use trial::{run_trial, Attach, ReverseSpec, TrialResult, TrialSpec};
// In TrialSpec::dst_mac.
pub use netwire::MacAddr;
