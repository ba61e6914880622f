//! `netsys`: the privileged Linux networking primitives of coo-bench, written once.
//!
//! - [`netns`]: run code on a thread that joined a network namespace (`setns` changes only
//!   the calling thread), and the async-signal-safe `setns` for a forked child.
//! - [`PacketRx`] / [`PacketTx`]: batched AF_PACKET I/O on an interface of the calling
//!   thread's namespace: TPACKET_V3 (block) or TPACKET_V2 (per-frame) receive rings, and
//!   `sendmmsg` batches on send. coo-click's devices (click-io) and the traffic generator
//!   and sinks (traffic) both use them.
//! - [`ifindex`], [`PacketTx::hw_addr`]: interface facts.
//!
//! The vocabulary (MAC addresses, interface names, checksums) is the pure crate `netwire`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod netns;
mod rx;
mod sys;
mod tx;

pub use error::IoError;
pub use netns::NetnsError;
pub use netwire::{IfName, MacAddr};
pub use rx::{PacketRx, RxConfig, RxCounters, RxFrame, RxRing};
pub use sys::{ifindex, wait_readable};
pub use tx::{is_busy, PacketTx, TxConfig, TxCounters};
