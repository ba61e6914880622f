//! Host-side names derived from a topology. Linux limits interface (and bridge) names to 15
//! bytes and namespace names (bind mounts under `/run/netns`) are kept to 64; every name
//! carries a per-run prefix of [`RUN_PREFIX_LEN`] bytes (`cb` + 4 hex digits).
//!
//! Scheme (the testbed uses these functions; PyCOO has no length limit, so neither do we):
//! - bridge of link `L`: `<prefix>-<L>` when that fits 15 bytes (`L` ≤ [`MAX_LINK_NAME`] = 8);
//! - interface of node `N` (VNF, Incoming or Outgoing Point) on port `P`: `<prefix>-<N>-<P>`
//!   when that fits (`N` ≤ [`MAX_NODE_ID`] = 6 bytes while `P` < 10);
//! - namespace of node `N`: `<prefix>-<N>` when that fits 64 bytes.
//!
//! A longer name is shortened to its first bytes, a `.` and hex digits of a SHA-256 of the
//! whole name (as containerlab does): stable across runs, and never equal to an unshortened
//! name because user names cannot contain `.`. Two shortened names could still share a hash
//! prefix; validation rejects that (and any other clash) as `name-collision`.

use sha2::{Digest, Sha256};

use crate::ids::{LinkName, NodeId};

/// Linux `IFNAMSIZ - 1`.
pub const IFNAME_MAX: usize = netwire::IfName::MAX_LEN;
/// Longest namespace name we create.
pub const NETNS_MAX: usize = 64;
/// `cb` + 4 hex digits.
pub const RUN_PREFIX_LEN: usize = 6;
/// Placeholder prefix used when a name is shown before a run exists.
pub const EXAMPLE_PREFIX: &str = "cbXXXX";
/// Longest link name kept as is: `IFNAME_MAX - RUN_PREFIX_LEN - 1` (one separator).
pub const MAX_LINK_NAME: usize = IFNAME_MAX - RUN_PREFIX_LEN - 1;
/// Longest node id kept as is in interface names: `IFNAME_MAX - RUN_PREFIX_LEN - 3`
/// (two separators and a one-digit port).
pub const MAX_NODE_ID: usize = IFNAME_MAX - RUN_PREFIX_LEN - 3;
/// Hex digits of the hash in a shortened name (fewer only when the room is smaller).
const HASH_DIGITS: usize = 5;

/// `name` itself when it fits `room` bytes, else its first bytes + `.` + a hash of the whole.
fn fit(name: &str, room: usize) -> String {
    if name.len() <= room {
        return name.to_owned();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    // Keep at least one byte of the name when there is room for it and 4 hex digits.
    let hash_len = HASH_DIGITS.min(room.saturating_sub(2)).max(1);
    let keep = room.saturating_sub(hash_len + 1);
    // User names are ASCII (validation), so byte slicing stays on character boundaries.
    let head: String = name.chars().take(keep).collect();
    format!("{head}.{}", &hex[..hash_len])
}

/// Whether `name` is a shortened form (holds the `.` user names cannot hold).
pub fn is_shortened(name: &str) -> bool {
    name.contains('.')
}

/// Bridge name of `link` in a run with `prefix`.
pub fn bridge_name(prefix: &str, link: &LinkName) -> String {
    let room = IFNAME_MAX.saturating_sub(prefix.len() + 1);
    format!("{prefix}-{}", fit(link.as_str(), room))
}

/// Host-visible interface name of port `port` of `node` in a run with `prefix`.
pub fn interface_name(prefix: &str, node: &NodeId, port: usize) -> String {
    let port = port.to_string();
    let room = IFNAME_MAX.saturating_sub(prefix.len() + 2 + port.len());
    format!("{prefix}-{}-{port}", fit(node.as_str(), room))
}

/// Namespace name of `node` in a run with `prefix`.
pub fn netns_name(prefix: &str, node: &NodeId) -> String {
    let room = NETNS_MAX.saturating_sub(prefix.len() + 1);
    format!("{prefix}-{}", fit(node.as_str(), room))
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
    fn short_names_are_kept_and_fill_ifnamsiz_exactly() {
        let link = LinkName::new("a".repeat(MAX_LINK_NAME));
        assert_eq!(
            bridge_name(EXAMPLE_PREFIX, &link),
            format!("cbXXXX-{}", "a".repeat(MAX_LINK_NAME))
        );
        let node = NodeId::new("b".repeat(MAX_NODE_ID));
        assert_eq!(
            interface_name(EXAMPLE_PREFIX, &node, 9),
            format!("cbXXXX-{}-9", "b".repeat(MAX_NODE_ID))
        );
        assert_eq!(netns_name("cb0001", &NodeId::new("fw")), "cb0001-fw");
        assert!(valid_chars("fw-nat_1") && !valid_chars("a/b") && !valid_chars("a.b"));
    }

    #[test]
    fn long_names_are_shortened_stably_and_distinctly() {
        let a = LinkName::new("bridge-fw2");
        let b = LinkName::new("bridge-fw3");
        let na = bridge_name("cb0001", &a);
        assert_eq!(na.len(), IFNAME_MAX);
        assert!(na.starts_with("cb0001-br.") && is_shortened(&na), "{na}");
        assert_eq!(na, bridge_name("cb0001", &a), "stable");
        assert_ne!(na, bridge_name("cb0001", &b));
        let fw = NodeId::new("firewall");
        for port in [0, 9, 10, 123] {
            let n = interface_name("cb0001", &fw, port);
            assert!(
                n.len() <= IFNAME_MAX && n.ends_with(&format!("-{port}")),
                "{n}"
            );
            assert!(is_shortened(&n));
        }
        assert_ne!(
            interface_name("cb0001", &fw, 0),
            interface_name("cb0001", &NodeId::new("firewall2"), 0)
        );
        let long = NodeId::new("v".repeat(100));
        let ns = netns_name("cb0001", &long);
        assert_eq!(ns.len(), NETNS_MAX);
        assert_eq!(
            netns_name("cb0001", &NodeId::new("firewall")),
            "cb0001-firewall"
        );
    }
}
