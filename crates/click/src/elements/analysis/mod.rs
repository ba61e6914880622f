//! Trace analysis and dumps: FromDump/ToDump (pcap) and FromIPSummaryDump/ToIPSummaryDump
//! (`dumps`, with the IP and TCP option texts of IP summary dumps in `ip_options` and
//! `tcp_options`), and trace tools
//! (`trace_tools`: TimeFilter, TimeSortedSched, AggregateCounter, SetTimestampDelta;
//! `aggregate_ip_flows`: AggregateIPFlows).

pub mod aggregate_ip_flows;
pub mod dumps;
pub mod ip_options;
pub mod tcp_options;
pub mod trace_tools;

use crate::registry::Registry;

/// Register the analysis and dump classes.
pub fn register(r: &mut Registry) {
    aggregate_ip_flows::register(r);
    dumps::register(r);
    trace_tools::register(r);
}
