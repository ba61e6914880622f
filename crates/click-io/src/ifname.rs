//! Linux interface names.

use std::ffi::CString;
use std::fmt;

use crate::error::IoError;

/// A validated Linux interface name (1..=15 bytes, no `/`, no whitespace, not `.`/`..`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName(String);

impl IfName {
    /// Longest name the kernel accepts (IFNAMSIZ - 1).
    pub const MAX_LEN: usize = 15;

    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, IoError> {
        let bad = |reason| IoError::InvalidIfName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(bad("empty"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(bad("longer than 15 bytes"));
        }
        if name == "." || name == ".." {
            return Err(bad("reserved name"));
        }
        if name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0 || b >= 0x7f)
        {
            return Err(bad("contains '/', ':', whitespace or non-ASCII"));
        }
        Ok(IfName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The interface index in the calling thread's network namespace.
    pub fn index(&self) -> Result<u32, IoError> {
        let c = CString::new(self.0.as_str()).map_err(|_| IoError::InvalidIfName {
            name: self.0.clone(),
            reason: "contains NUL",
        })?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if idx == 0 {
            Err(IoError::NoSuchInterface(self.0.clone()))
        } else {
            Ok(idx)
        }
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for IfName {
    type Err = IoError;
    fn from_str(s: &str) -> Result<Self, IoError> {
        IfName::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        assert!(IfName::new("veth0").is_ok());
        assert!(IfName::new("cbt1a2b-nf0").is_ok());
        assert!(IfName::new("").is_err());
        assert!(IfName::new("0123456789abcdef").is_err());
        assert!(IfName::new("a/b").is_err());
        assert!(IfName::new("a b").is_err());
        assert!(IfName::new("..").is_err());
    }

    #[test]
    fn loopback_has_an_index() {
        assert!(IfName::new("lo").unwrap().index().unwrap() > 0);
        assert!(matches!(
            IfName::new("nosuchif9z").unwrap().index(),
            Err(IoError::NoSuchInterface(_))
        ));
    }
}
