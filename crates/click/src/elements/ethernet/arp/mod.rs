//! ARP: the ARP table (Click's ARPTable, shared or owned), ARPQuerier and ARPPrint.

pub mod print;
pub mod querier;
pub mod table;

use crate::registry::Registry;

/// Register the ARP classes.
pub fn register(r: &mut Registry) {
    r.register("ARPQuerier", || Box::<querier::ARPQuerier>::default());
    r.register("ARPTable", || Box::<table::ARPTableElement>::default());
    r.register("ARPPrint", || Box::<print::ArpPrint>::default());
}
