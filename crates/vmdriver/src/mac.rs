//! The stable MAC addresses coo-bench gives VM NICs (the type is the shared `netwire::MacAddr`).

use netwire::MacAddr;

/// A locally administered unicast MAC in QEMU's 52:54:00 range, derived from `seed` bytes
/// (stable for the same seed, so re-runs give the same addresses).
pub fn derived(seed: &[u8]) -> MacAddr {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(seed);
    MacAddr([0x52, 0x54, 0x00, h[0], h[1], h[2]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_is_stable_and_local_range() {
        let a = derived(b"run1/vnf1/0");
        assert_eq!(a, derived(b"run1/vnf1/0"));
        assert_ne!(a, derived(b"run1/vnf1/1"));
        assert_eq!(&a.0[..3], &[0x52, 0x54, 0x00]);
    }
}
