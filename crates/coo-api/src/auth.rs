//! Bearer tokens. The agent keeps only the SHA-256 digest of its token, so the digest may be
//! shown where a secret must not (a VM's kernel command line): it cannot be used to log in.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// File mode of a token file: readable by its owner only.
pub const TOKEN_FILE_MODE: u32 = 0o600;

/// Why a token (file) was refused.
#[derive(Debug, thiserror::Error)]
pub enum BadToken {
    #[error("token file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {path} is readable by group or others (mode {mode:o}); chmod 600 it")]
    Exposed { path: String, mode: u32 },
    #[error("token file {path} is empty")]
    Empty { path: String },
    #[error("token is not printable ASCII (it travels in an HTTP header)")]
    NotPrintable,
    #[error("token digest must be 64 hex digits (SHA-256)")]
    BadDigest,
}

/// A bearer token (a secret: `Debug` does not show it).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// 256 random bits from the OS, hex-encoded.
    pub fn generate() -> Token {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Token(hex(&bytes))
    }

    /// A token given as text (environment, test); must be non-empty printable ASCII.
    pub fn new(text: &str) -> Result<Token, BadToken> {
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadToken::NotPrintable);
        }
        Ok(Token(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }

    /// Reads a token file; refuses one that group or others may read.
    pub fn read_file(path: &Path) -> Result<Token, BadToken> {
        let p = path.display().to_string();
        let io = |source| BadToken::Io {
            path: p.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(BadToken::Exposed { path: p, mode });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        if text.trim().is_empty() {
            return Err(BadToken::Empty { path: p });
        }
        Token::new(&text)
    }

    /// Writes the token to a new file of mode 0600. `create_new` (O_EXCL) neither replaces a
    /// file nor follows a symlink in its place.
    pub fn write_new_file(&self, path: &Path) -> Result<(), BadToken> {
        let io = |source| BadToken::Io {
            path: path.display().to_string(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(TOKEN_FILE_MODE)
            .open(path)
            .map_err(io)?;
        f.write_all(self.0.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)
    }
}

/// SHA-256 of a token: what an agent compares against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({})", self.to_hex())
    }
}

impl TokenDigest {
    pub fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Result<TokenDigest, BadToken> {
        let t = text.trim().as_bytes();
        if t.len() != 64 {
            return Err(BadToken::BadDigest);
        }
        let mut out = [0u8; 32];
        for (i, pair) in t.chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).map_err(|_| BadToken::BadDigest)?;
            out[i] = u8::from_str_radix(s, 16).map_err(|_| BadToken::BadDigest)?;
        }
        Ok(TokenDigest(out))
    }

    /// Whether `given` is the token; compares digests without an early exit.
    pub fn verify(&self, given: &str) -> bool {
        let d = Sha256::digest(given.as_bytes());
        d.iter()
            .zip(self.0.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

/// The token of an `Authorization: Bearer …` header value, if it is one.
pub fn bearer(header_value: &str) -> Option<&str> {
    let (scheme, rest) = header_value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_tokens_differ_and_verify() {
        let (a, b) = (Token::generate(), Token::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
        let d = a.digest();
        assert!(d.verify(a.as_str()));
        assert!(!d.verify(b.as_str()));
        assert!(!d.verify(""));
        assert_eq!(TokenDigest::from_hex(&d.to_hex()).unwrap(), d);
        assert!(TokenDigest::from_hex("abc").is_err());
        assert!(TokenDigest::from_hex(&"g".repeat(64)).is_err());
        assert!(!format!("{a:?}").contains(a.as_str()));
    }

    #[test]
    fn token_file_roundtrip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("agent.token");
        let t = Token::generate();
        t.write_new_file(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Token::read_file(&p).unwrap(), t);
        // Never replaced.
        assert!(Token::generate().write_new_file(&p).is_err());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Token::read_file(&p),
            Err(BadToken::Exposed { mode: 0o644, .. })
        ));
        // A symlink in place of the file is not followed.
        let q = dir.path().join("link.token");
        std::os::unix::fs::symlink(dir.path().join("target"), &q).unwrap();
        assert!(t.write_new_file(&q).is_err());
        assert!(!dir.path().join("target").exists());
    }

    #[test]
    fn bearer_header() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert!(Token::new("a b").is_err());
        assert!(Token::new("").is_err());
    }
}
