//! Ethernet MAC address newtype (Display `52:54:00:6c:22:13`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

/// A string that is not `xx:xx:xx:xx:xx:xx`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid MAC address {0:?} (expected xx:xx:xx:xx:xx:xx)")]
pub struct BadMac(pub String);

impl MacAddr {
    /// A locally administered unicast MAC in QEMU's 52:54:00 range, derived from `seed` bytes
    /// (stable for the same seed, so re-runs give the same addresses).
    pub fn derived(seed: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(seed);
        MacAddr([0x52, 0x54, 0x00, h[0], h[1], h[2]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = BadMac;
    fn from_str(s: &str) -> Result<Self, BadMac> {
        let bad = || BadMac(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.trim().split(':');
        for byte in &mut out {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case() {
        let m: MacAddr = "52:54:00:6C:22:13".parse().unwrap();
        assert_eq!(m.to_string(), "52:54:00:6c:22:13");
        assert!("52:54:00:6c:22".parse::<MacAddr>().is_err());
        assert!("52:54:00:6c:22:13:00".parse::<MacAddr>().is_err());
        assert!("52:54:00:6c:22:1".parse::<MacAddr>().is_err());
        assert!("zz:54:00:6c:22:13".parse::<MacAddr>().is_err());
    }

    #[test]
    fn derived_is_stable_and_local_range() {
        let a = MacAddr::derived(b"run1/vnf1/0");
        assert_eq!(a, MacAddr::derived(b"run1/vnf1/0"));
        assert_ne!(a, MacAddr::derived(b"run1/vnf1/1"));
        assert_eq!(&a.0[..3], &[0x52, 0x54, 0x00]);
    }
}
