//! IPv4: header checks and marks, TTL, address annotations, encapsulation and checksums
//! (`headers`), route lookups (`lookup`), IPPrint (`print`), the forwarding path's options,
//! fragmentation and combos (`gateway`), DSCP/ECN marks (`dscp_ecn`) and IPReassembler
//! (`reassembly`). ICMP and TCP/UDP have their own domains.

pub mod dscp_ecn;
pub mod dynamic_udp_ip_encap;
pub mod gateway;
pub mod headers;
pub mod lookup;
pub mod print;
pub mod reassembly;

pub use dscp_ecn::{MarkIpCe, SetIpDscp};
pub use dynamic_udp_ip_encap::DynamicUdpIpEncap;
pub use gateway::{IpFragmenter, IpGwOptions, IpInputCombo, IpOutputCombo};
pub use headers::*;
pub use lookup::IPLookup;
pub use print::IPPrint;

use crate::registry::Registry;

/// Register the IP classes.
pub fn register(r: &mut Registry) {
    r.register("CheckIPHeader", || {
        Box::new(CheckIPHeader::new(true, "CheckIPHeader"))
    });
    r.register("CheckIPHeader2", || {
        Box::new(CheckIPHeader::new(false, "CheckIPHeader2"))
    });
    r.register("MarkIPHeader", || Box::<MarkIPHeader>::default());
    r.register("GetIPAddress", || Box::<GetIPAddress>::default());
    r.register("DecIPTTL", || Box::<DecIPTTL>::default());
    r.register("FixIPSrc", || Box::<FixIPSrc>::default());
    r.register("DropBroadcasts", || Box::new(DropBroadcasts { drops: 0 }));
    for c in [
        "StaticIPLookup",
        "LinearIPLookup",
        "RadixIPLookup",
        "DirectIPLookup",
        "RangeIPLookup",
    ] {
        r.register(c, move || Box::new(IPLookup::new(c)));
    }
    r.register("IPEncap", || Box::new(IPEncap::new(false)));
    r.register("UDPIPEncap", || Box::new(IPEncap::new(true)));
    r.register("SetIPChecksum", || Box::new(SetChecksum { which: 0 }));
    r.register("SetUDPChecksum", || Box::new(SetChecksum { which: 17 }));
    r.register("SetTCPChecksum", || Box::new(SetChecksum { which: 6 }));
    r.register("IPPrint", || Box::<IPPrint>::default());
    r.register("StripIPHeader", || Box::new(StripIPHeader));
    r.register("UnstripIPHeader", || Box::new(UnstripIPHeader));
    r.register("StoreIPAddress", || Box::<StoreIPAddress>::default());
    r.register("SetIPAddress", || Box::<SetIPAddress>::default());
    r.register("StripToNetworkHeader", || Box::new(StripToNetworkHeader));
    r.register("IPGWOptions", || Box::<IpGwOptions>::default());
    r.register("IPFragmenter", || Box::<IpFragmenter>::default());
    r.register("IPInputCombo", || Box::<IpInputCombo>::default());
    r.register("IPOutputCombo", || Box::<IpOutputCombo>::default());
    r.register("SetIPDSCP", || Box::<SetIpDscp>::default());
    r.register("MarkIPCE", || Box::<MarkIpCe>::default());
    r.register("DynamicUDPIPEncap", || Box::<DynamicUdpIpEncap>::default());
    reassembly::register(r);
}
