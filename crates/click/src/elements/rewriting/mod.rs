//! The rewriter family, as Click's elements/ip and elements/tcpudp rewriters: input specs and
//! patterns (`spec`), the flow table with its capacity, guarantees and expiry (`table`), the
//! port-rewriting NAPT elements (`napt`: IPRewriter, TCPRewriter, UDPRewriter,
//! ICMPPingRewriter), ICMPRewriter for ICMP errors about mapped flows (`icmp_error`) and the
//! address-only rewriters (`addr`), and FTPPortMapper for FTP `PORT` commands (`ftp`).

pub mod addr;
pub mod ftp;
pub mod icmp_error;
pub mod napt;
pub mod spec;
pub mod table;

use crate::registry::Registry;

/// Register the rewriter classes.
pub fn register(r: &mut Registry) {
    for c in napt::Class::ALL {
        r.register(c.name(), move || Box::new(napt::Rewriter::new(c)));
    }
    r.register("ICMPRewriter", || {
        Box::<icmp_error::ICMPRewriter>::default()
    });
    r.register("FTPPortMapper", || Box::<ftp::FTPPortMapper>::default());
    for (c, m) in [
        ("IPAddrRewriter", addr::Mode::Addr),
        ("IPAddrPairRewriter", addr::Mode::Pair),
    ] {
        r.register(c, move || Box::new(addr::AddrRewriter::new(c, m)));
    }
    r.register("RoundRobinIPMapper", || {
        Box::new(crate::elements::standard::Info("RoundRobinIPMapper"))
    });
}
