//! The MD5 digests ToIPSummaryDump writes for `payload_md5` (Click's text form) and
//! `payload_md5_hex`, on the RustCrypto `md-5` crate.

use md5::{Digest, Md5};

/// The 16-byte MD5 digest of `data`.
pub fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// The digest in lowercase hex (32 characters).
pub fn md5_hex(data: &[u8]) -> String {
    md5(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest as Click's `md5_finish_text` with `allow_at` writes it: 22 characters, six
/// bits each from the least significant bits of the digest bytes up, in the alphabet
/// `a-zA-Z0-9_@`.
pub fn md5_text(data: &[u8]) -> String {
    const CHARS: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@";
    let d = md5(data);
    (0..d.len() * 8)
        .step_by(6)
        .map(|bit| {
            let byte = bit / 8;
            let mut v = u32::from(d[byte]) >> (bit % 8);
            if bit % 8 > 2 && byte + 1 < d.len() {
                v |= u32::from(d[byte + 1]) << (8 - bit % 8);
            }
            char::from(CHARS[(v & 0x3F) as usize])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_click_for_empty_and_text_payloads() {
        // Values from Click's test/analysis/IPSummaryDump-02.clicktest.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_text(b""), "u3bJz@iaYsq6aMaMSJVq_b");
        assert_eq!(md5_hex(b"hi there\n"), "12f6bb1941df66b8f138a446d4e8670c");
        assert_eq!(md5_text(b"hi there\n"), "sy@Uze03MHB84qQruJ_zma");
    }
}
