//! Packet I/O and control sockets for coo-click.
//!
//! - [`PacketRx`] / [`PacketTx`]: batched AF_PACKET I/O on a Linux interface of the calling
//!   thread's network namespace (TPACKET_V3 or V2 receive rings, `sendmmsg` sends; written
//!   once in `netsys` and re-exported here), with throughput and latency modes ([`IoMode`]).
//! - [`controlsocket`]: Click's ControlSocket text protocol as a poll-driven server over
//!   TCP and UNIX sockets, generic over a [`controlsocket::HandlerHost`].
//! - [`register_elements`]: FromDevice, ToDevice, FromDPDKDevice, ToDPDKDevice (port N of
//!   [`IoOptions::ports`]), ControlSocket and McastSocket (multicast UDP) for the `click`
//!   engine's [`click::Registry`].
//! - [`IoDriver`]: ControlSocket listeners and device readiness for a running [`click::Router`]
//!   (which implements [`controlsocket::HandlerHost`]).
//! - [`testnet`]: throw-away namespaces and veth pairs for tests and benchmarks.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod controlsocket;
mod driver;
mod elements;
mod mode;
mod router_host;
pub mod testnet;

pub use driver::{IoDriver, DEFAULT_SPIN};
pub use elements::{
    register_elements, ControlSocketElement, ControlSocketSpec, FromDeviceElement, IoOptions,
    McastSocketElement, ToDeviceElement,
};
pub use mode::{describe as describe_io, rx_config, IoMode, UnknownIoMode};
// The packet sockets are part of this crate's API (devices are opened with them).
pub use netsys::{
    ifindex, wait_readable, IfName, IoError, PacketRx, PacketTx, RxConfig, RxCounters, RxFrame,
    RxRing, TxConfig, TxCounters,
};
