//! ConfParseTest: the checks of Click's `confparsetest.cc` that have a counterpart in
//! [`crate::args`] (comments, argument and word splitting, unquoting, integers, times,
//! bandwidths, IPv4 prefixes, keyword binding) and in [`crate::Timestamp`]. Checks of C++-only
//! API (saturating and bounded integer readers, fixed-point reals, IPv6, Click's `String`
//! and `StringAccum`, `click_strcmp`, `read_all`) have nothing to run against and are left
//! out.

use super::ALL_PASS;
use crate::any_impl;
use crate::args::{
    bind, mask_to_len, parse_bandwidth, parse_i64, parse_prefix, parse_time, parse_u64, split_args,
    split_words, uncomment, unquote, AddressInfo, Kind,
};
use crate::element::{ConfigureCx, Element};
use crate::packet::Timestamp;
use std::net::Ipv4Addr;

/// See the module docs.
#[derive(Default)]
pub struct ConfParseTest;

impl Element for ConfParseTest {
    fn class_name(&self) -> &'static str {
        "ConfParseTest"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if !split_args(conf).is_empty() {
            return Err("too many arguments".into());
        }
        run_checks(cx.addrs)?;
        cx.messages.push(ALL_PASS.into());
        Ok(())
    }
    any_impl!();
}

fn run_checks(ai: &AddressInfo) -> Result<(), String> {
    comments_and_splitting()?;
    integers()?;
    times_and_bandwidths()?;
    prefixes(ai)?;
    timestamps()?;
    keywords()
}

fn comments_and_splitting() -> Result<(), String> {
    check!(uncomment("  a  b  ") == "a  b");
    check!(uncomment("  a /* whatever */   // whatever\n    b  ") == "a b");
    check!(uncomment("  \" /*???  */ \"  ") == "\" /*???  */ \"");
    check!(unquote("\"\\n\" abc /* 123 */ '/* def */'") == "\n abc /* def */");
    let v = split_args("a, b, c");
    check!(v == ["a", "b", "c"]);
    let v = split_args("  a /*?*/ b,  c, ");
    check!(v == ["a b", "c"]);
    let v = split_args("\"x, y\" // ?");
    check!(v == ["\"x, y\""]);
    let v = split_words("a  b, c");
    check!(v == ["a", "b,", "c"]);
    let v = split_words("  'a /*?*/ b'c");
    check!(v == ["'a /*?*/ b'c"]);
    Ok(())
}

fn integers() -> Result<(), String> {
    check!(parse_i64("0") == Some(0));
    check!(parse_i64("-0") == Some(0));
    check!(parse_i64("-5") == Some(-5));
    check!(parse_u64("aoeu").is_none());
    check!(parse_u64("0") == Some(0));
    check!(parse_u64("-0").is_none());
    check!(parse_u64("4294967294") == Some(4294967294));
    check!(parse_u64("0xFFFFFFFE") == Some(4294967294));
    check!(parse_i64("9223372036854775807") == Some(i64::MAX));
    check!(parse_i64("-9223372036854775808") == Some(i64::MIN));
    check!(parse_i64("-5") == Some(-5));
    check!(parse_u64("18446744073709551616").is_none());
    Ok(())
}

fn times_and_bandwidths() -> Result<(), String> {
    check!(parse_time("3600") == Some(3600.0));
    check!(parse_time("3600s") == Some(3600.0));
    check!(parse_time("3.6e6 msec") == Some(3600.0));
    check!(parse_time("60m") == Some(3600.0));
    check!(parse_time("1 hr") == Some(3600.0));
    check!(parse_bandwidth("8") == Some(8.0));
    check!(parse_bandwidth("8 baud") == Some(1.0));
    check!(parse_bandwidth("8Kbps") == Some(1000.0));
    check!(parse_bandwidth("8KBps") == Some(8000.0));
    Ok(())
}

fn prefixes(ai: &AddressInfo) -> Result<(), String> {
    let unparse = |(a, m): (Ipv4Addr, Ipv4Addr)| match mask_to_len(m) {
        Some(l) => format!("{a}/{l}"),
        None => format!("{a}/{m}"),
    };
    check!(parse_prefix("18.26.4/24", ai).map(unparse).as_deref() == Some("18.26.4.0/24"));
    check!(parse_prefix("18.26.4/28", ai).is_none());
    Ok(())
}

fn timestamps() -> Result<(), String> {
    let ms = |m: i64| Timestamp(m * 1_000_000);
    let neg = |t: Timestamp| Timestamp::ZERO - t;
    let t = Timestamp::ZERO - ms(1001);
    check!(t.sec() == -2 && t.usec() == 999000);
    check!(t.to_string() == "-1.001000");
    let t2 = Timestamp::new(-10, 0);
    check!(t2.sec() == -10 && t2.nsec() == 0);
    check!(t2.to_string() == "-10.000000");
    check!(t2 < t);
    check!(neg(t2).to_string() == "10.000000");
    check!(neg(t).to_string() == "1.001000");
    check!(neg(t2) > t);
    check!((neg(t) + t2).to_string() == "-8.999000");
    let t = ms(999);
    check!((t + t).to_string() == "1.998000");
    check!((neg(t) - t).to_string() == "-1.998000");
    check!(neg(t) == ms(-999));
    let t = Timestamp::ZERO - ms(10000001);
    check!(t.sec() == -10001 && t.usec() == 999000);
    Ok(())
}

fn keywords() -> Result<(), String> {
    let b = bind("SIZE 123456789", &[("SIZE", Kind::K)])?;
    check!(b.u64("SIZE") == Ok(Some(123456789)));
    let b = bind("A 1", &[("A", Kind::K), ("B", Kind::K)])?;
    check!(b.i64("A") == Ok(Some(1)) && b.i64("B") == Ok(None));
    let b = bind("1, 2", &[("A", Kind::Mp), ("B", Kind::Mp)])?;
    check!(b.i64("A") == Ok(Some(1)) && b.i64("B") == Ok(Some(2)));
    Ok(())
}
