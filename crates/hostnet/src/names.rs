//! Newtypes for kernel object names and addresses, validated on construction.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a name or address was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("interface name {0:?} must be 1..=15 bytes of [A-Za-z0-9_.-]")]
    IfName(String),
    #[error("namespace name {0:?} must be 1..=64 bytes of [A-Za-z0-9_.-], not starting with '.'")]
    Netns(String),
    #[error("MAC address {0:?} is not six ':'-separated hex bytes")]
    Mac(String),
    #[error("IPv4 prefix {0:?} is not A.B.C.D/LEN")]
    Cidr(String),
}

fn name_chars_ok(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// A network interface name: at most 15 bytes (IFNAMSIZ - 1), no '/' or whitespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfName(String);

impl IfName {
    pub fn new(s: impl Into<String>) -> Result<Self, NameError> {
        let s = s.into();
        if s.is_empty() || s.len() > 15 || !name_chars_ok(&s) || s == "." || s == ".." {
            return Err(NameError::IfName(s));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A named network namespace, i.e. a bind mount at `/run/netns/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NetnsName(String);

impl NetnsName {
    pub fn new(s: impl Into<String>) -> Result<Self, NameError> {
        let s = s.into();
        if s.is_empty() || s.len() > 64 || !name_chars_ok(&s) || s.starts_with('.') {
            return Err(NameError::Netns(s));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `/run/netns/<name>`.
    pub fn path(&self) -> std::path::PathBuf {
        std::path::Path::new(crate::netns::NETNS_DIR).join(&self.0)
    }
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::new(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl FromStr for $t {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }
    };
}
string_newtype_impls!(IfName);
string_newtype_impls!(NetnsName);

/// An Ethernet address; displays as `52:54:00:6c:22:13`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// A locally administered unicast address (bit 1 of the first byte set, bit 0 clear).
    pub fn local(bytes: [u8; 5]) -> Self {
        Mac([0x02, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]])
    }
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for Mac {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for slot in &mut out {
            let part = parts.next().ok_or_else(|| NameError::Mac(s.to_owned()))?;
            if part.len() != 2 {
                return Err(NameError::Mac(s.to_owned()));
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| NameError::Mac(s.to_owned()))?;
        }
        if parts.next().is_some() {
            return Err(NameError::Mac(s.to_owned()));
        }
        Ok(Mac(out))
    }
}
impl TryFrom<String> for Mac {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        s.parse()
    }
}
impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.to_string()
    }
}

/// An IPv4 interface address with its prefix length, e.g. `198.18.0.1/15`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Result<Self, NameError> {
        if prefix_len > 32 {
            return Err(NameError::Cidr(format!("{addr}/{prefix_len}")));
        }
        Ok(Self { addr, prefix_len })
    }
    /// Whether `other` lies inside this prefix.
    pub fn contains(&self, other: Ipv4Addr) -> bool {
        let mask = if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len))
        };
        (u32::from(self.addr) & mask) == (u32::from(other) & mask)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}
impl FromStr for Ipv4Cidr {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let bad = || NameError::Cidr(s.to_owned());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix_len: u8 = p.parse().map_err(|_| bad())?;
        Self::new(addr, prefix_len).map_err(|_| bad())
    }
}
impl TryFrom<String> for Ipv4Cidr {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        s.parse()
    }
}
impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ifname_limits() {
        assert!(IfName::new("cb1a2b0p0").is_ok());
        assert!(IfName::new("123456789012345").is_ok());
        assert!(IfName::new("1234567890123456").is_err());
        assert!(IfName::new("").is_err());
        assert!(IfName::new("a/b").is_err());
        assert!(IfName::new("a b").is_err());
    }

    #[test]
    fn mac_roundtrip() {
        let m: Mac = "52:54:00:6c:22:13".parse().unwrap();
        assert_eq!(m.to_string(), "52:54:00:6c:22:13");
        assert!("52:54:00:6c:22".parse::<Mac>().is_err());
        assert!("52:54:00:6c:22:13:00".parse::<Mac>().is_err());
        assert!("zz:54:00:6c:22:13".parse::<Mac>().is_err());
        let l = Mac::local([1, 2, 3, 4, 5]);
        assert_eq!(l.0[0] & 0x03, 0x02);
    }

    #[test]
    fn cidr_parse_contains() {
        let c: Ipv4Cidr = "198.18.0.0/15".parse().unwrap();
        assert!(c.contains("198.19.0.1".parse().unwrap()));
        assert!(!c.contains("198.20.0.1".parse().unwrap()));
        assert!("1.2.3.4/33".parse::<Ipv4Cidr>().is_err());
        assert_eq!(c.to_string(), "198.18.0.0/15");
    }
}
