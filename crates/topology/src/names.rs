//! Host-side names derived from a topology. Linux limits interface (and bridge) names to 15
//! bytes; every name carries a per-run prefix of [`RUN_PREFIX_LEN`] bytes (`cb` + 4 hex digits).
//!
//! Scheme (the testbed uses these functions, validation checks the same lengths):
//! - bridge of link `L`: `<prefix>-<L>` → `L` ≤ [`MAX_LINK_NAME`] = 8 bytes;
//! - interface of node `N` (VNF, Incoming or Outgoing Point) on port `P`: `<prefix>-<N>-<P>` →
//!   `N` ≤ [`MAX_NODE_ID`] = 6 bytes while `P` < 10 (a VNF with 10+ interfaces needs a shorter id).
//!
//! Names may use ASCII letters, digits, `_` and `-`. Two derived names must never be equal
//! (e.g. link `x-0` against interface 0 of node `x`): validation rejects that as `name-collision`.

use crate::ids::{LinkName, NodeId};

/// Linux `IFNAMSIZ - 1`.
pub const IFNAME_MAX: usize = 15;
/// `cb` + 4 hex digits.
pub const RUN_PREFIX_LEN: usize = 6;
/// Placeholder prefix used when a name is shown before a run exists.
pub const EXAMPLE_PREFIX: &str = "cbXXXX";
/// Longest link name: `IFNAME_MAX - RUN_PREFIX_LEN - 1` (one separator).
pub const MAX_LINK_NAME: usize = IFNAME_MAX - RUN_PREFIX_LEN - 1;
/// Longest node id: `IFNAME_MAX - RUN_PREFIX_LEN - 3` (two separators and a one-digit port).
pub const MAX_NODE_ID: usize = IFNAME_MAX - RUN_PREFIX_LEN - 3;

/// Bridge name of `link` in a run with `prefix`.
pub fn bridge_name(prefix: &str, link: &LinkName) -> String {
    format!("{prefix}-{link}")
}

/// Host-visible interface name of port `port` of `node` in a run with `prefix`.
pub fn interface_name(prefix: &str, node: &NodeId, port: usize) -> String {
    format!("{prefix}-{node}-{port}")
}

/// Whether `name` only uses characters allowed in derived interface names.
pub fn valid_chars(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_fill_ifnamsiz_exactly() {
        let link = LinkName::new("a".repeat(MAX_LINK_NAME));
        assert_eq!(bridge_name(EXAMPLE_PREFIX, &link).len(), IFNAME_MAX);
        let node = NodeId::new("b".repeat(MAX_NODE_ID));
        assert_eq!(interface_name(EXAMPLE_PREFIX, &node, 9).len(), IFNAME_MAX);
        assert!(valid_chars("fw-nat_1") && !valid_chars("a/b") && !valid_chars(""));
    }
}
