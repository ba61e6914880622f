//! CryptoTest: Click's `cryptotest.cc` MD5 checks, run against [`crate::digest`], the
//! digests ToIPSummaryDump writes for `payload_md5`/`payload_md5_hex`.

use super::ALL_PASS;
use crate::any_impl;
use crate::args::split_args;
use crate::digest::{md5, md5_hex};
use crate::element::{ConfigureCx, Element};

/// See the module docs.
#[derive(Default)]
pub struct CryptoTest;

impl Element for CryptoTest {
    fn class_name(&self) -> &'static str {
        "CryptoTest"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if !split_args(conf).is_empty() {
            return Err("too many arguments".into());
        }
        md5_test(
            b"Marriage\n\n\nThis institution,\nperhaps one should say enterprise\nout of respect for which\none says one need not change one's mind\n",
            b"\x93\x48\x6a\xc6\xe0\x32\x44\xf0\x32\xb3\x24\xba\x4a\xde\x28\x43",
            line!(),
        )?;
        md5_test(
            b"This is a test\n",
            b"\xff\x22\x94\x13\x36\x95\x60\x98\xae\x9a\x56\x42\x89\xd1\xbf\x1b",
            line!(),
        )?;
        cx.messages.push(ALL_PASS.into());
        Ok(())
    }
    any_impl!();
}

/// Click's `md5_test`: the digest of `s` must be `expected`; the error quotes the start of
/// `s` and the digest we got.
fn md5_test(s: &[u8], expected: &[u8; 16], line: u32) -> Result<(), String> {
    if md5(s) == *expected {
        return Ok(());
    }
    let start: String = String::from_utf8_lossy(&s[..s.len().min(16)])
        .escape_default()
        .collect();
    Err(format!(
        "{}:{line}: bad MD5 digest for '{start}...', got {}",
        file!(),
        md5_hex(s)
    ))
}
