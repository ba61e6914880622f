//! ICMP: ICMPError (errors about a packet, with Click's rules on when not to send one),
//! ICMPIPEncap and ICMPPingResponder. ICMP errors about rewritten flows are in `rewriting`.

pub mod encap;
pub mod error;
pub mod ping;

pub use encap::IcmpIpEncap;
pub use error::IcmpError;
pub use ping::IcmpPingResponder;

use crate::registry::Registry;

/// Register the ICMP classes.
pub fn register(r: &mut Registry) {
    r.register("ICMPError", || Box::<IcmpError>::default());
    r.register("ICMPIPEncap", || Box::<IcmpIpEncap>::default());
    r.register("ICMPPingResponder", || Box::<IcmpPingResponder>::default());
}
