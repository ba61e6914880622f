//! TCP and UDP: header checks (CheckTCPHeader, CheckUDPHeader and, sharing the code,
//! CheckICMPHeader). Their checksums are set by SetTCPChecksum/SetUDPChecksum (`ip::headers`)
//! and their ports rewritten by the `rewriting` domain.

pub mod check_headers;

pub use check_headers::CheckTransport;

use crate::registry::Registry;

/// Register the TCP/UDP classes.
pub fn register(r: &mut Registry) {
    for (c, p) in [
        ("CheckTCPHeader", 6u8),
        ("CheckUDPHeader", 17),
        ("CheckICMPHeader", 1),
    ] {
        r.register(c, move || {
            Box::new(CheckTransport {
                class: c,
                proto: p,
                checksum: true,
                drops: 0,
            })
        });
    }
}
