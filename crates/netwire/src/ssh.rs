//! How the controller reaches another machine with ssh: `[user@]host[:port]`.

use serde::{Deserialize, Serialize};

/// How the controller reaches a host with ssh: `[user@]host[:port]`, as in a
/// `qemu+ssh://user@host:port/system` URI or a host's `ssh` field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SshTarget {
    user: Option<String>,
    host: String,
    port: Option<u16>,
}

/// An ssh target that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshTargetError {
    #[error("ssh target {0:?} must be [user@]host[:port] (host: letters, digits, `.`, `-`, `_`; user: the same)")]
    Syntax(String),
    #[error(
        "libvirt URI {0:?} is not qemu+ssh://[user@]host[:port]/…: give the host's `ssh` target"
    )]
    NotSsh(String),
}

fn word_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl SshTarget {
    /// Parses `[user@]host[:port]`.
    pub fn new(s: &str) -> Result<Self, SshTargetError> {
        let bad = || SshTargetError::Syntax(s.to_owned());
        let (user, rest) = match s.split_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, s),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
            None => (rest, None),
        };
        if !word_ok(host) || user.is_some_and(|u| !word_ok(u)) || port == Some(0) {
            return Err(bad());
        }
        Ok(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }

    /// The target of a `qemu+ssh://[user@]host[:port]/…` libvirt URI (libvirt itself goes
    /// through the same ssh login).
    pub fn from_libvirt_uri(uri: &str) -> Result<Self, SshTargetError> {
        let not = || SshTargetError::NotSsh(uri.to_owned());
        let rest = uri.strip_prefix("qemu+ssh://").ok_or_else(not)?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        SshTarget::new(authority).map_err(|_| not())
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl std::fmt::Display for SshTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for SshTarget {
    type Error = SshTargetError;
    fn try_from(s: String) -> Result<Self, SshTargetError> {
        SshTarget::new(&s)
    }
}

impl From<SshTarget> for String {
    fn from(t: SshTarget) -> String {
        t.to_string()
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SshTarget {
    fn schema_name() -> String {
        "SshTarget".to_owned()
    }
    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{InstanceType, Schema, SchemaObject, StringValidation};
        Schema::Object(SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            string: Some(Box::new(StringValidation {
                pattern: Some(SSH_TARGET_PATTERN.to_owned()),
                ..Default::default()
            })),
            ..Default::default()
        })
    }
}

/// What [`SshTarget::new`] accepts, as a JSON-schema pattern.
pub const SSH_TARGET_PATTERN: &str =
    "^([A-Za-z0-9._][A-Za-z0-9._-]*@)?[A-Za-z0-9._][A-Za-z0-9._-]*(:[0-9]{1,5})?$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_strictly() {
        let t = SshTarget::new("root@h1.example:2222").unwrap();
        assert_eq!(t.to_string(), "root@h1.example:2222");
        assert_eq!(t.host(), "h1.example");
        assert_eq!(
            SshTarget::new("198.18.200.2").unwrap().to_string(),
            "198.18.200.2"
        );
        for bad in [
            "",
            "a b",
            "-oProxyCommand=x",
            "u@",
            "h:0",
            "h:x",
            "h;rm",
            "@h",
        ] {
            assert!(SshTarget::new(bad).is_err(), "{bad:?}");
        }
        let u = SshTarget::from_libvirt_uri("qemu+ssh://ops@hv2:22/system?keyfile=k").unwrap();
        assert_eq!(u.to_string(), "ops@hv2:22");
        assert!(matches!(
            SshTarget::from_libvirt_uri("qemu+tcp://hv2/system"),
            Err(SshTargetError::NotSsh(_))
        ));
        // Strict serde: a string, checked.
        let j: SshTarget = serde_json::from_str(r#""u@h""#).unwrap();
        assert_eq!(serde_json::to_string(&j).unwrap(), r#""u@h""#);
        assert!(serde_json::from_str::<SshTarget>(r#""u@h;x""#).is_err());
    }
}
