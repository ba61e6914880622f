//! Host networking for coo-bench: named network namespaces, bridges, veth pairs, taps,
//! addresses, netem; the [`NetOps`] trait with a real rtnetlink implementation
//! ([`RtNetOps`]) and a recording fake ([`fake::RecordingNetOps`]); and the cleanup
//! [`ledger`] that makes teardown exact even after SIGKILL.
//!
//! Every namespace switch (`setns`) happens on a dedicated short-lived thread; `RtNetOps`
//! blocks on a private runtime, so call it from plain threads or `spawn_blocking`.

pub mod fake;
pub mod ledger;
pub mod names;
pub mod netns;
mod ops;
pub mod process;
mod real;
pub mod remote;
mod tap;

pub use ledger::{DomainHost, DomainOps, DomainRef, Ledger, LedgerError, NoDomains, Object};
pub use names::{IfName, IfNameError, Ipv4Cidr, MacAddr, NameError, NetnsName};
pub use ops::{
    AddrState, LinkState, NetError, NetOps, Netem, RouteState, VethEnd, Vxlan, VXLAN_OVERHEAD,
};
pub use process::{ProcId, ProcessOps, RealProcesses};
pub use real::{find_in_path, RtNetOps};
pub use remote::{RemoteNetOps, RemoteShell, SshShell, SshTarget};
