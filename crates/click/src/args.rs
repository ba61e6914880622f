//! Configuration-string handling: splitting into arguments (quotes, comments, hex `\<..>`),
//! keyword binding in Click's `Args` style, and typed value parsers (bool, integers, reals,
//! times, bandwidths, IPv4 addresses/prefixes, Ethernet addresses, data strings).

use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Symbolic addresses declared with `AddressInfo(name ip/prefix eth, ...)`.
#[derive(Clone, Debug, Default)]
pub struct AddressInfo {
    /// name → (ip, prefix length if given)
    pub ip: HashMap<String, (Ipv4Addr, Option<u8>)>,
    /// name → Ethernet address
    pub eth: HashMap<String, [u8; 6]>,
}

/// Remove `//` and `/* */` comments outside quotes, as Click's `cp_uncomment`: leading and
/// trailing space goes, and each comment with the space around it becomes one space.
pub fn uncomment(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    // [left, right) is the text since the last comment, up to its last non-space byte.
    let (mut left, mut right) = (None::<usize>, 0);
    let mut after_comment = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && i + 1 < b.len() && (b[i + 1] == b'/' || b[i + 1] == b'*') {
            i = skip_comment(b, i);
            after_comment = true;
        } else {
            match left {
                None => left = Some(i),
                Some(l) if after_comment => {
                    out.push_str(&s[l..right]);
                    out.push(' ');
                    left = Some(i);
                }
                Some(_) => {}
            }
            after_comment = false;
            i = match c {
                b'"' | b'\'' => skip_quote(b, i),
                _ => i + 1,
            };
            right = i.min(b.len());
        }
    }
    if let Some(l) = left {
        out.push_str(&s[l..right]);
    }
    out
}

/// End of the comment starting at `b[i]` (`//` to the end of the line, `/* */` inclusive).
fn skip_comment(b: &[u8], mut i: usize) -> usize {
    if b[i + 1] == b'/' {
        while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
            i += 1;
        }
        i
    } else {
        i += 2;
        while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
            i += 1;
        }
        (i + 2).min(b.len())
    }
}

/// End of the quoted string starting at `b[i]` (backslash escapes only in double quotes).
fn skip_quote(b: &[u8], mut i: usize) -> usize {
    let q = b[i];
    i += 1;
    while i < b.len() && b[i] != q {
        i += if b[i] == b'\\' && q == b'"' { 2 } else { 1 };
    }
    (i + 1).min(b.len())
}

/// Split a configuration string at top-level commas (not inside quotes), trimming each
/// argument; a trailing empty argument is dropped, as in Click's `cp_argvec`.
pub fn split_args(conf: &str) -> Vec<String> {
    let s = uncomment(conf);
    let b = s.as_bytes();
    let mut args = Vec::new();
    let mut quote = 0u8;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            if c == b'\\' && quote == b'"' {
                i += 2;
                continue;
            }
            if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b',' {
            args.push(s[start..i].trim().to_string());
            start = i + 1;
        }
        i += 1;
    }
    let last = s[start.min(s.len())..].trim();
    if !last.is_empty() || !args.is_empty() {
        args.push(last.to_string());
    }
    if args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
    if args.len() == 1 && args[0].is_empty() {
        args.clear();
    }
    args
}

/// Split an argument into space-separated words (quotes protect spaces).
pub fn split_words(arg: &str) -> Vec<String> {
    let b = arg.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut quote = 0u8;
        while i < b.len() {
            let c = b[i];
            if quote != 0 {
                if c == b'\\' && quote == b'"' {
                    i += 1;
                } else if c == quote {
                    quote = 0;
                }
            } else if c == b'"' || c == b'\'' {
                quote = c;
            } else if c.is_ascii_whitespace() {
                break;
            }
            i += 1;
        }
        words.push(arg[start..i.min(b.len())].to_string());
    }
    words
}

/// If `arg` begins with an uppercase keyword (`[A-Z_][A-Z0-9_:]*`) followed by whitespace or
/// the end, return (keyword, rest).
pub fn split_keyword(arg: &str) -> Option<(&str, &str)> {
    let b = arg.as_bytes();
    if b.is_empty() || !(b[0].is_ascii_uppercase() || b[0] == b'_') {
        return None;
    }
    let mut i = 0;
    while i < b.len()
        && (b[i].is_ascii_uppercase() || b[i].is_ascii_digit() || b[i] == b'_' || b[i] == b':')
    {
        i += 1;
    }
    if i < b.len() && !b[i].is_ascii_whitespace() {
        return None;
    }
    Some((&arg[..i], arg[i..].trim_start()))
}

/// How an argument may be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Mandatory, positional or keyword.
    Mp,
    /// Optional, positional or keyword.
    P,
    /// Mandatory keyword.
    M,
    /// Optional keyword.
    K,
}

/// Arguments bound to their names after [`bind`].
#[derive(Clone, Debug, Default)]
pub struct Bound {
    vals: HashMap<&'static str, String>,
    /// Extra keyword args for elements that accept any (`bind_rest`).
    pub rest: Vec<String>,
}

/// Bind a configuration to a parameter list (Click `Args::read_mp/read_p/read`).
/// Errors read like Click's: `KEY: unknown argument`, `too many arguments`,
/// `missing mandatory KEY argument`.
pub fn bind(conf: &str, spec: &[(&'static str, Kind)]) -> Result<Bound, String> {
    bind_impl(split_args(conf), spec, false)
}

/// Like [`bind`], but unmatched positional arguments are returned in `rest`.
pub fn bind_rest(conf: &str, spec: &[(&'static str, Kind)]) -> Result<Bound, String> {
    bind_impl(split_args(conf), spec, true)
}

fn bind_impl(
    args: Vec<String>,
    spec: &[(&'static str, Kind)],
    allow_rest: bool,
) -> Result<Bound, String> {
    let mut out = Bound::default();
    let mut errors = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    for a in args {
        match split_keyword(&a) {
            Some((k, v)) if spec.iter().any(|(n, _)| *n == k) => {
                let name = spec
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(n, _)| *n)
                    .unwrap_or("");
                out.vals.insert(name, v.to_string());
            }
            Some((k, _)) if !positional_allowed(spec, positional.len()) && !allow_rest => {
                errors.push(format!("{k}: unknown argument"));
            }
            _ => positional.push(a),
        }
    }
    let pos_names: Vec<&'static str> = spec
        .iter()
        .filter(|(_, k)| matches!(k, Kind::Mp | Kind::P))
        .map(|(n, _)| *n)
        .collect();
    let mut pi = 0;
    for a in positional {
        // A positional argument fills the next positional slot not given by keyword.
        while pi < pos_names.len() && out.vals.contains_key(pos_names[pi]) {
            pi += 1;
        }
        if pi < pos_names.len() {
            out.vals.insert(pos_names[pi], a);
            pi += 1;
        } else if allow_rest {
            out.rest.push(a);
        } else if let Some((k, _)) = split_keyword(&a) {
            errors.push(format!("{k}: unknown argument"));
        } else {
            errors.push("too many arguments".to_string());
        }
    }
    for (n, k) in spec {
        if matches!(k, Kind::Mp | Kind::M) && !out.vals.contains_key(n) {
            errors.push(format!("missing mandatory {n} argument"));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.dedup();
        Err(errors.join("\n"))
    }
}

fn positional_allowed(spec: &[(&'static str, Kind)], used: usize) -> bool {
    spec.iter()
        .filter(|(_, k)| matches!(k, Kind::Mp | Kind::P))
        .count()
        > used
}

impl Bound {
    /// Raw string value.
    pub fn str(&self, k: &str) -> Option<&str> {
        self.vals.get(k).map(|s| s.as_str())
    }
    /// Was the argument given?
    pub fn has(&self, k: &str) -> bool {
        self.vals.contains_key(k)
    }
    fn typed<T>(
        &self,
        k: &str,
        f: impl Fn(&str) -> Option<T>,
        what: &str,
    ) -> Result<Option<T>, String> {
        match self.vals.get(k) {
            None => Ok(None),
            Some(v) => f(v).map(Some).ok_or_else(|| format!("{k}: {what}")),
        }
    }
    /// Boolean.
    pub fn bool(&self, k: &str) -> Result<Option<bool>, String> {
        self.typed(k, parse_bool, "expected boolean")
    }
    /// Unsigned integer.
    pub fn u64(&self, k: &str) -> Result<Option<u64>, String> {
        self.typed(k, parse_u64, "invalid number")
    }
    /// Signed integer.
    pub fn i64(&self, k: &str) -> Result<Option<i64>, String> {
        self.typed(k, parse_i64, "invalid number")
    }
    /// Real.
    pub fn f64(&self, k: &str) -> Result<Option<f64>, String> {
        self.typed(k, |s| s.trim().parse::<f64>().ok(), "invalid number")
    }
    /// Time interval in seconds (`1s`, `10ms`, `0.5`).
    pub fn time(&self, k: &str) -> Result<Option<f64>, String> {
        self.typed(k, parse_time, "invalid time")
    }
    /// Bandwidth in bytes/s (`10Mbps`, `1MBps`, bare number = bytes/s).
    pub fn bandwidth(&self, k: &str) -> Result<Option<f64>, String> {
        self.typed(k, parse_bandwidth, "invalid bandwidth")
    }
    /// Data string (quoted, hex, ...).
    pub fn data(&self, k: &str) -> Result<Option<Vec<u8>>, String> {
        self.typed(k, |s| Some(parse_data(s)), "invalid data")
    }
    /// String with quotes removed.
    pub fn string(&self, k: &str) -> Result<Option<String>, String> {
        self.typed(k, |s| Some(unquote(s)), "invalid string")
    }
    /// IPv4 address (AddressInfo names allowed).
    pub fn ip(&self, k: &str, ai: &AddressInfo) -> Result<Option<Ipv4Addr>, String> {
        self.typed(k, |s| parse_ip(s, ai), "expected IP address")
    }
    /// Ethernet address (AddressInfo names allowed).
    pub fn eth(&self, k: &str, ai: &AddressInfo) -> Result<Option<[u8; 6]>, String> {
        self.typed(k, |s| parse_eth(s, ai), "expected Ethernet address")
    }
}

/// Click booleans.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "true" | "yes" | "t" | "y" | "on" => Some(true),
        "0" | "false" | "no" | "f" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// Unsigned integers: decimal, `0x` hex, leading-0 octal.
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') && s.bytes().all(|c| c.is_ascii_digit()) {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Click's `cp_unparse_real2`: a fixed-point value with `frac_bits` fraction bits as the
/// shortest decimal that reads back to the same value (Knuth's print_scaled).
pub fn unparse_real2(real: u32, frac_bits: u32) -> String {
    let mut s = (real >> frac_bits).to_string();
    let one: u32 = 1 << frac_bits;
    let mut real = real & (one - 1);
    if real == 0 {
        return s;
    }
    s.push('.');
    // Unsigned wrap-around as in the C original.
    real = real.wrapping_mul(10).wrapping_add(5);
    let mut allowable_inaccuracy: u32 = 10;
    let mut inaccuracy_rounder: u32 = 5;
    while inaccuracy_rounder < (one >> 1) {
        inaccuracy_rounder = inaccuracy_rounder.wrapping_mul(10);
    }
    loop {
        if allowable_inaccuracy > one {
            real = real.wrapping_add((one >> 1).wrapping_sub(inaccuracy_rounder));
        }
        s.push(char::from(b'0' + (real >> frac_bits) as u8));
        real = (real & (one - 1)).wrapping_mul(10);
        allowable_inaccuracy = allowable_inaccuracy.wrapping_mul(10);
        if real <= allowable_inaccuracy {
            return s;
        }
    }
}

/// Signed integers.
pub fn parse_i64(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(r) = s.strip_prefix('-') {
        // Through i128 so that i64::MIN, whose magnitude is no i64, parses.
        parse_u64(r).and_then(|v| i64::try_from(-i128::from(v)).ok())
    } else {
        parse_u64(s).and_then(|v| i64::try_from(v).ok())
    }
}

/// Times in seconds; units `s`, `sec`, `ms`, `msec`, `us`, `usec`, `ns`, `nsec`, `m`, `min`, `h`, `hr`, `d`.
pub fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    let idx = unit_start(s);
    let (num, unit) = s.split_at(idx);
    let v: f64 = num.trim().parse().ok()?;
    let mul = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" | "msec" | "msecs" => 1e-3,
        "us" | "usec" | "usecs" => 1e-6,
        "ns" | "nsec" | "nsecs" => 1e-9,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        _ => return None,
    };
    Some(v * mul)
}

/// Where the unit after a real number begins: the first letter that is not the `e` of an
/// exponent (`3.6e6 msec`).
fn unit_start(s: &str) -> usize {
    let b = s.as_bytes();
    (0..b.len())
        .find(|&i| {
            let exponent = (b[i] == b'e' || b[i] == b'E')
                && i > 0
                && b[i - 1].is_ascii_digit()
                && b.get(i + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'-' || *c == b'+');
            b[i].is_ascii_alphabetic() && !exponent
        })
        .unwrap_or(b.len())
}

/// Bandwidth in bytes per second.
pub fn parse_bandwidth(s: &str) -> Option<f64> {
    let s = s.trim();
    let idx = unit_start(s);
    let (num, unit) = s.split_at(idx);
    let v: f64 = num.trim().parse().ok()?;
    let (mul, rest) = match unit.chars().next() {
        Some('k') | Some('K') => (1e3, &unit[1..]),
        Some('M') => (1e6, &unit[1..]),
        Some('G') => (1e9, &unit[1..]),
        _ => (1.0, unit),
    };
    let per = match rest {
        "" | "Bps" | "B/s" => 1.0,
        "bps" | "b/s" | "baud" => 0.125,
        _ => return None,
    };
    Some(v * mul * per)
}

/// Remove comments and one level of quotes, processing C escapes in double quotes (Click's
/// `cp_unquote`).
pub fn unquote(s: &str) -> String {
    String::from_utf8_lossy(&parse_data(&uncomment(s))).into_owned()
}

/// Parse Click data: concatenation of bare words, `"..."` (C escapes, `\<hex>`), `'...'` and
/// `\<hex bytes>`.
pub fn parse_data(s: &str) -> Vec<u8> {
    let b = s.trim().as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                    match b[i] {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'a' => out.push(7),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'v' => out.push(11),
                        b'0'..=b'7' => {
                            let mut v = 0u32;
                            let mut n = 0;
                            while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                                v = v * 8 + (b[i] - b'0') as u32;
                                i += 1;
                                n += 1;
                            }
                            out.push(v as u8);
                            continue;
                        }
                        b'x' => {
                            let mut v = 0u32;
                            i += 1;
                            while i < b.len() && b[i].is_ascii_hexdigit() {
                                v = v * 16 + (b[i] as char).to_digit(16).unwrap_or(0);
                                i += 1;
                            }
                            out.push(v as u8);
                            continue;
                        }
                        b'<' => {
                            i = hex_block(b, i + 1, &mut out);
                            continue;
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                    i += 1;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            i += 1;
        } else if c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                out.push(b[i]);
                i += 1;
            }
            i += 1;
        } else if c == b'\\' && i + 1 < b.len() && b[i + 1] == b'<' {
            i = hex_block(b, i + 2, &mut out);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn hex_block(b: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    let mut nib: Option<u8> = None;
    while i < b.len() && b[i] != b'>' {
        if let Some(d) = (b[i] as char).to_digit(16) {
            match nib.take() {
                Some(h) => out.push(h << 4 | d as u8),
                None => nib = Some(d as u8),
            }
        }
        i += 1;
    }
    i + 1
}

/// IPv4 address or AddressInfo name.
pub fn parse_ip(s: &str, ai: &AddressInfo) -> Option<Ipv4Addr> {
    let s = s.trim();
    if let Some((ip, _)) = ai.ip.get(s) {
        return Some(*ip);
    }
    if let Some((name, suffix)) = s.rsplit_once(':') {
        if let Some((ip, len)) = ai.ip.get(name) {
            let m = u32::from(len_to_mask(len.unwrap_or(32)));
            return match suffix {
                "ip" => Some(*ip),
                "bcast" => Some(Ipv4Addr::from(u32::from(*ip) | !m)),
                "net" | "ipnet" => Some(Ipv4Addr::from(u32::from(*ip) & m)),
                _ => None,
            };
        }
    }
    parse_ip_partial(s)
}

/// Dotted quad; Click also accepts fewer components for prefixes (`18.26.4` = 18.26.4.0).
fn parse_ip_partial(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut o = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        o[i] = p.parse().ok()?;
    }
    if parts.len() < 4 && parts.len() != 1 {
        // partial address only valid as prefix; handled by parse_prefix
    }
    if parts.len() == 1 {
        return None;
    }
    Some(Ipv4Addr::from(o))
}

/// IPv4 prefix: `a.b.c.d/len`, `a.b.c.d/mask`, `18.26.4/24`, a bare address (/32) or an
/// AddressInfo name (its prefix). Returns (address, mask).
pub fn parse_prefix(s: &str, ai: &AddressInfo) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let s = s.trim();
    if let Some((ip, len)) = ai.ip.get(s) {
        let m = len_to_mask(len.unwrap_or(32));
        return Some((*ip, m));
    }
    if let Some((name, suffix)) = s.rsplit_once(':') {
        if let Some((ip, len)) = ai.ip.get(name) {
            let m = len_to_mask(len.unwrap_or(32));
            let (ipv, mv) = (u32::from(*ip), u32::from(m));
            return match suffix {
                "ipnet" | "net" => Some((Ipv4Addr::from(ipv & mv), m)),
                "bcast" => Some((Ipv4Addr::from(ipv | !mv), Ipv4Addr::new(255, 255, 255, 255))),
                "ip" => Some((*ip, Ipv4Addr::new(255, 255, 255, 255))),
                _ => None,
            };
        }
    }
    let (a, m) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let (addr, implied) = if let Some((ip, len)) = ai.ip.get(a) {
        (*ip, len.unwrap_or(32))
    } else {
        let n = a.split('.').count() as u8;
        (
            parse_ip_partial(a).or_else(|| {
                if a.bytes().all(|c| c.is_ascii_digit()) && !a.is_empty() {
                    a.parse::<u8>().ok().map(|v| Ipv4Addr::new(v, 0, 0, 0))
                } else {
                    None
                }
            })?,
            n * 8,
        )
    };
    let mask = match m {
        None => len_to_mask(implied.min(32)),
        Some(m) if m.contains('.') => parse_ip_partial(m)?,
        Some(m) => {
            let l: u8 = m.parse().ok()?;
            if l > 32 {
                return None;
            }
            len_to_mask(l)
        }
    };
    // Like Click, a mask longer than the address as written (`18.26.4/28`) is an error.
    if m.is_some()
        && !ai.ip.contains_key(a)
        && implied < 32
        && u32::from(mask) & !u32::from(len_to_mask(implied)) != 0
    {
        return None;
    }
    Some((addr, mask))
}

/// Mask with the top `len` bits set.
pub fn len_to_mask(len: u8) -> Ipv4Addr {
    if len == 0 {
        Ipv4Addr::new(0, 0, 0, 0)
    } else {
        Ipv4Addr::from(u32::MAX << (32 - len.min(32) as u32))
    }
}

/// Prefix length of a contiguous mask.
pub fn mask_to_len(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    let l = v.leading_ones();
    (v.checked_shl(l).unwrap_or(0) == 0).then_some(l as u8)
}

/// Ethernet address `00:11:22:33:44:55`, `0-a0-c9-9c-fd-9c` or an AddressInfo name.
pub fn parse_eth(s: &str, ai: &AddressInfo) -> Option<[u8; 6]> {
    let s = s.trim();
    if let Some(e) = ai.eth.get(s) {
        return Some(*e);
    }
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut e = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        e[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(e)
}

/// Format an Ethernet address Click-style (`00-11-22-33-44-55`).
pub fn fmt_eth(e: &[u8; 6]) -> String {
    format!(
        "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
        e[0], e[1], e[2], e[3], e[4], e[5]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparse_real2_reads_back_like_click() {
        // Values reference Click prints for RandomSample probabilities (28 fraction bits).
        let fixed = |v: f64| (v * f64::from(1u32 << 28)).round() as u32;
        assert_eq!(unparse_real2(fixed(0.1), 28), "0.1");
        assert_eq!(unparse_real2(fixed(0.333), 28), "0.333");
        assert_eq!(unparse_real2(fixed(0.25), 28), "0.25");
        assert_eq!(unparse_real2(fixed(0.9), 28), "0.9");
        assert_eq!(unparse_real2(1 << 28, 28), "1");
        assert_eq!(unparse_real2(0, 28), "0");
    }

    #[test]
    fn split_and_bind() {
        assert_eq!(
            split_args("a, \"b,c\" , d // x\n,"),
            vec!["a", "\"b,c\"", "d"]
        );
        assert!(split_args("").is_empty());
        let b = bind(
            "x, LIMIT 5, STOP true",
            &[("DATA", Kind::P), ("LIMIT", Kind::P), ("STOP", Kind::K)],
        )
        .unwrap();
        assert_eq!(b.str("DATA"), Some("x"));
        assert_eq!(b.u64("LIMIT").unwrap(), Some(5));
        assert_eq!(b.bool("STOP").unwrap(), Some(true));
        assert_eq!(
            bind("FOO 3", &[("DATA", Kind::K)]).unwrap_err(),
            "FOO: unknown argument"
        );
        assert_eq!(
            bind("1, 2", &[("A", Kind::P)]).unwrap_err(),
            "too many arguments"
        );
    }

    #[test]
    fn values() {
        let ai = AddressInfo::default();
        assert_eq!(
            parse_prefix("18.26.4/24", &ai),
            Some((Ipv4Addr::new(18, 26, 4, 0), Ipv4Addr::new(255, 255, 255, 0)))
        );
        assert_eq!(
            parse_eth("0-a0-c9-9c-fd-9c", &ai),
            Some([0, 0xa0, 0xc9, 0x9c, 0xfd, 0x9c])
        );
        assert_eq!(parse_data("\\<48 45>\"L\\n\""), b"HEL\n".to_vec());
        assert_eq!(parse_time("10ms"), Some(0.01));
        assert_eq!(parse_bandwidth("8kbps"), Some(1000.0));
        assert_eq!(parse_u64("0x10"), Some(16));
    }
}
