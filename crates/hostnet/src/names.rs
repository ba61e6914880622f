//! Newtypes for kernel object names and addresses, validated on construction. Interface
//! names and MAC addresses are the shared vocabulary's (`netwire`), re-exported here because
//! the [`crate::NetOps`] API takes them.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

pub use netwire::{IfName, IfNameError, MacAddr};
use serde::{Deserialize, Serialize};

/// Why a name or address was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(transparent)]
    IfName(#[from] IfNameError),
    #[error("namespace name {0:?} must be 1..=64 bytes of [A-Za-z0-9_.-], not starting with '.'")]
    Netns(String),
    #[error("IPv4 prefix {0:?} is not A.B.C.D/LEN")]
    Cidr(String),
}

fn name_chars_ok(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
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
string_newtype_impls!(NetnsName);

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
    fn cidr_parse_contains() {
        let c: Ipv4Cidr = "198.18.0.0/15".parse().unwrap();
        assert!(c.contains("198.19.0.1".parse().unwrap()));
        assert!(!c.contains("198.20.0.1".parse().unwrap()));
        assert!("1.2.3.4/33".parse::<Ipv4Cidr>().is_err());
        assert_eq!(c.to_string(), "198.18.0.0/15");
    }
}
