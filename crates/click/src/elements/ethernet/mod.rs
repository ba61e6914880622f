//! Ethernet and ARP: encapsulation, MAC rewrites and checks (`ether`), 802.1Q VLANs (`vlan`),
//! and ARP (`arp`: ARPTable, ARPQuerier, ARPPrint; ARPResponder and CheckARPHeader are in
//! `ether`).

pub mod arp;
pub mod ether;
pub mod vlan;

use crate::registry::Registry;

/// Register the Ethernet, VLAN and ARP classes.
pub fn register(r: &mut Registry) {
    ether::register(r);
    arp::register(r);
    r.register("VLANEncap", || Box::<vlan::VlanEncap>::default());
    r.register("VLANDecap", || Box::<vlan::VlanDecap>::default());
    r.register("SetVLANAnno", || Box::<vlan::SetVlanAnno>::default());
    r.register("EtherVLANEncap", || Box::<vlan::EtherVlanEncap>::default());
    r.register("StripEtherVLANHeader", || {
        Box::<vlan::StripEtherVlanHeader>::default()
    });
}
