//! `netwire`: the network vocabulary every coo-bench crate shares, written once.
//!
//! - [`MacAddr`]: an Ethernet address, `52:54:00:6c:22:13` in text and JSON.
//! - [`IfName`]: a Linux interface name, validated by the kernel's rules (and a few stricter
//!   ones that keep names safe in Click configurations and command lines).
//! - [`SshTarget`]: how another machine is reached with ssh, `[user@]host[:port]`.
//! - [`checksum`]: the Internet checksum (RFC 1071) with the partial sums and the incremental
//!   update (RFC 1624) that packet rewriters need.
//!
//! Pure: no I/O, no libc, so pure crates (topology, click) can use it. The privileged side
//! (namespaces, packet sockets) is in `netsys`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod checksum;
mod ifname;
mod mac;
mod ssh;

pub use ifname::{IfName, IfNameError};
pub use mac::{MacAddr, MacParseError, MAC_PATTERN};
pub use ssh::{SshTarget, SshTargetError, SSH_TARGET_PATTERN};
