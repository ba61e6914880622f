//! Linux interface names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A validated Linux interface name: 1..=15 bytes (IFNAMSIZ - 1), not `.` or `..`, no `/`,
/// `:` or whitespace (the kernel's `dev_valid_name`), and, stricter than the kernel, only
/// printable ASCII and no `,` (names travel through Click configurations and comma lists).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfName(String);

/// A string that is not a valid interface name, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interface name {name:?}: {reason}")]
pub struct IfNameError {
    pub name: String,
    pub reason: &'static str,
}

impl IfName {
    /// Longest name the kernel accepts (IFNAMSIZ - 1).
    pub const MAX_LEN: usize = 15;

    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, IfNameError> {
        let name = name.into();
        match Self::problem(&name) {
            None => Ok(IfName(name)),
            Some(reason) => Err(IfNameError { name, reason }),
        }
    }

    fn problem(name: &str) -> Option<&'static str> {
        if name.is_empty() {
            return Some("empty");
        }
        if name.len() > Self::MAX_LEN {
            return Some("longer than 15 bytes");
        }
        if name == "." || name == ".." {
            return Some("reserved name");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':' && b != b',')
        {
            return Some("contains '/', ':', ',', whitespace or non-ASCII");
        }
        None
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = IfNameError;
    fn from_str(s: &str) -> Result<Self, IfNameError> {
        IfName::new(s)
    }
}

impl TryFrom<String> for IfName {
    type Error = IfNameError;
    fn try_from(s: String) -> Result<Self, IfNameError> {
        IfName::new(s)
    }
}

impl From<IfName> for String {
    fn from(n: IfName) -> String {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kernel_names() {
        for ok in [
            "veth0",
            "lo",
            "cbt1a2b-nf0",
            "cb1a2b0p0",
            "123456789012345",
            "eth0.100",
            "br_lan",
            "...",
        ] {
            assert_eq!(IfName::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        for (bad, reason) in [
            ("", "empty"),
            ("0123456789abcdef", "longer than 15 bytes"),
            (".", "reserved name"),
            ("..", "reserved name"),
            ("a/b", "contains '/', ':', ',', whitespace or non-ASCII"),
            ("a b", "contains '/', ':', ',', whitespace or non-ASCII"),
            ("a\tb", "contains '/', ':', ',', whitespace or non-ASCII"),
            ("eth0:1", "contains '/', ':', ',', whitespace or non-ASCII"),
            ("a,b", "contains '/', ':', ',', whitespace or non-ASCII"),
            ("a\0b", "contains '/', ':', ',', whitespace or non-ASCII"),
            ("ethé", "contains '/', ':', ',', whitespace or non-ASCII"),
        ] {
            let e = IfName::new(bad).unwrap_err();
            assert_eq!(e.name, bad);
            assert_eq!(e.reason, reason, "{bad:?}");
            assert!(e.to_string().starts_with("invalid interface name"));
        }
    }

    #[test]
    fn json_is_a_checked_string() {
        let n: IfName = serde_json::from_str("\"veth0\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"veth0\"");
        assert!(serde_json::from_str::<IfName>("\"a/b\"").is_err());
    }
}
