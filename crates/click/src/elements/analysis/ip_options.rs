//! IP header options as IP summary dumps write them (Click's ipsumdump_ip `ip_opt` field):
//! `rr{1.2.3.4^}+2`, `ssrr{^1.2.3.4,5.6.7.8}`, `lsrr{...}`, `ts{1,^}`, `ts.ip{1.2.3.4=5}`,
//! `ts.preip{...}`, `nop`, `eol`, `KIND=B:B:...`, separated by `;` (or `,`). `^` marks the
//! option's pointer, `+N` the empty slots after it, `++N` a timestamp overflow count.

const EOL: u8 = 0;
const NOP: u8 = 1;
const RR: u8 = 7;
const TS: u8 = 68;
const LSRR: u8 = 131;
const SSRR: u8 = 137;

/// The most option bytes an IP header holds.
const MAX_LEN: usize = 40;

/// An unsigned integer at `s[at..]` as Click's cp_integer reads it: `base0` selects C-style
/// prefixes (`0x` hex, `0b` binary, leading `0` octal), otherwise decimal. Returns the value
/// (saturated) and the index after it, or None when no digit is there.
fn integer(s: &[u8], at: usize, base0: bool) -> Option<(u64, usize)> {
    let mut i = at;
    let mut base = 10u32;
    if base0 && i + 2 < s.len() && s[i] == b'0' && matches!(s[i + 1], b'x' | b'X' | b'b' | b'B') {
        let radix = if matches!(s[i + 1], b'x' | b'X') {
            16
        } else {
            2
        };
        // "0x" without a digit after it reads as the "0" alone.
        if (s[i + 2] as char).is_digit(radix) {
            base = radix;
            i += 2;
        }
    } else if base0 && s.get(i) == Some(&b'0') {
        base = 8;
    }
    let start = i;
    let mut v = 0u64;
    while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(base)) {
        v = v
            .saturating_mul(u64::from(base))
            .saturating_add(u64::from(d));
        i += 1;
    }
    (i > start).then_some((v, i))
}

/// A dotted IPv4 address at `s[at..]` (each part decimal, at most 255).
fn address(s: &[u8], mut at: usize, out: &mut Vec<u8>) -> Option<usize> {
    for part in 0..4 {
        let (v, next) = integer(s, at, false)?;
        out.push(u8::try_from(v).ok()?);
        at = next;
        if part < 3 {
            if s.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    Some(at)
}

fn starts(s: &[u8], at: usize, word: &[u8]) -> bool {
    s.get(at..at + word.len()) == Some(word)
}

/// Parse option text into option bytes (unpadded); None when it is malformed or longer than
/// the 40 bytes an IP header holds, as Click's reader rejects it. `.` means no options.
pub fn parse(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || text == "." {
        return Some(Vec::new());
    }
    let s = text.as_bytes();
    let end = s.len();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    loop {
        let route = if i + 3 < end && starts(s, i, b"rr{") {
            Some((RR, 3))
        } else if i + 5 < end && starts(s, i, b"ssrr{") {
            Some((SSRR, 5))
        } else if i + 5 < end && starts(s, i, b"lsrr{") {
            Some((LSRR, 5))
        } else {
            None
        };
        if let Some((kind, skip)) = route {
            i = parse_route(s, i + skip, kind, &mut out)?;
        } else if i + 3 < end && (starts(s, i, b"ts{") || starts(s, i, b"ts.")) {
            i = parse_timestamp(s, i, &mut out)?;
        } else if s[i].is_ascii_digit() {
            // An option by number, with its data bytes after `=`.
            let (kind, next) = integer(s, i, true)?;
            out.push(u8::try_from(kind).ok()?);
            i = next;
            if i + 1 < end && s[i] == b'=' && s[i + 1].is_ascii_digit() {
                let len_at = out.len();
                out.push(0);
                loop {
                    let (b, next) = integer(s, i + 1, true)?;
                    out.push(u8::try_from(b).ok()?);
                    i = next;
                    if !(i + 1 < end && s[i] == b':' && s[i + 1].is_ascii_digit()) {
                        break;
                    }
                }
                out[len_at] = u8::try_from(out.len() - len_at + 1).ok()?;
            }
        } else if starts(s, i, b"nop") {
            out.push(NOP);
            i += 3;
        } else if starts(s, i, b"eol") && s.get(i + 3) != Some(&b',') {
            out.push(EOL);
            i += 3;
        } else {
            return None;
        }
        if i >= end {
            // Leading NOPs beyond the header's room were padding, as in Click.
            while out.len() > MAX_LEN && out[0] == NOP {
                out.remove(0);
            }
            return (out.len() <= MAX_LEN).then_some(out);
        }
        if !matches!(s[i], b',' | b';') {
            return None;
        }
        i += 1;
    }
}

/// The addresses of a route option after its `{`; appends type, length, pointer and the
/// addresses (plus `+N` empty slots) to `out`; returns the index after the option's text.
fn parse_route(s: &[u8], mut i: usize, kind: u8, out: &mut Vec<u8>) -> Option<usize> {
    let at = out.len();
    out.extend([kind, 0, 0]);
    let mut pointer: Option<usize> = None;
    loop {
        if s.get(i) == Some(&b'^') && pointer.is_none() {
            pointer = Some(out.len() - at + 1);
            i += 1;
        }
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            break;
        }
        i = address(s, i, out)?;
        if s.get(i) == Some(&b',') {
            i += 1;
        }
    }
    if s.get(i) != Some(&b'}') {
        return None;
    }
    out[at + 2] = u8::try_from(pointer.unwrap_or(out.len() - at + 1)).ok()?;
    if i + 2 < s.len() && s[i + 1] == b'+' && s[i + 2].is_ascii_digit() {
        let (n, next) = integer(s, i + 2, false)?;
        if n < 64 {
            out.resize(out.len() + n as usize * 4, 0);
        }
        i = next;
    } else {
        i += 1;
    }
    out[at + 1] = u8::try_from(out.len() - at).ok()?;
    Some(i)
}

/// A timestamp option starting at `ts` (`s[i..]`); appends it to `out` and returns the index
/// after its text. The flag comes from the name (`ts.ip`, `ts.preip`, `ts.N`) or, for plain
/// `ts`, from the first entry (an address before `=` means flag 1).
fn parse_timestamp(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let end = s.len();
    let at = out.len();
    out.extend([TS, 0, 0, 0]);
    // -1: not known yet; -2: plain `ts` whose entries turned out to carry addresses.
    let mut flag: i32 = -1;
    if s[i + 2] == b'.' {
        if i + 6 < end && starts(s, i + 3, b"ip{") {
            flag = 1;
            i += 6;
        } else if i + 9 < end && starts(s, i + 3, b"preip{") {
            flag = 3;
            i += 9;
        } else if s[i + 3].is_ascii_digit() {
            let (f, next) = integer(s, i + 3, true)?;
            if f > 15 || s.get(next) != Some(&b'{') {
                return None;
            }
            flag = f as i32;
            i = next + 1;
        } else {
            return None;
        }
    } else {
        i += 3;
    }
    let mut pointer: Option<usize> = None;
    loop {
        if s.get(i) == Some(&b'^') && pointer.is_none() {
            pointer = Some(out.len() - at + 1);
            i += 1;
        }
        if !s.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'!') {
            break;
        }
        let entry = i;
        let mut with_address = matches!(flag, 1 | 3 | -2);
        loop {
            if with_address {
                i = address(s, i, out)?;
                // An address with a pointer before it was prespecified.
                if pointer.is_some() && flag == -2 {
                    flag = 3;
                }
                if i + 1 < end && s[i] == b'=' {
                    if s[i + 1].is_ascii_digit() || s[i + 1] == b'!' {
                        i += 1;
                    } else if s[i + 1] == b'?' && pointer.is_some() {
                        out.extend([0; 4]);
                        i += 2;
                        break;
                    } else {
                        return None;
                    }
                } else if pointer.is_some() {
                    out.extend([0; 4]);
                    break;
                } else {
                    return None;
                }
            }
            let mut top_bit = 0u32;
            if s.get(i) == Some(&b'!') {
                top_bit = 0x8000_0000;
                i += 1;
            }
            if !s.get(i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            let (v, next) = integer(s, i, true)?;
            i = next;
            if s.get(i) == Some(&b'.') && flag == -1 {
                // The "value" was an address's first part: reread the entry with addresses.
                flag = -2;
                i = entry;
                with_address = true;
                continue;
            } else if flag == -1 {
                flag = 0;
            }
            let v = u32::try_from(v).unwrap_or(u32::MAX) | top_bit;
            out.extend(v.to_be_bytes());
            break;
        }
        if s.get(i) == Some(&b',') {
            i += 1;
        }
    }
    if i < end {
        if s[i] != b'}' {
            return None;
        }
        i += 1;
    }
    if flag == -2 {
        flag = 1;
    }
    out[at + 2] = u8::try_from(pointer.unwrap_or(out.len() - at + 1)).ok()?;
    if i + 1 < end && s[i] == b'+' && s[i + 1].is_ascii_digit() {
        let (n, next) = integer(s, i + 1, true)?;
        i = next;
        if n < 64 {
            let size = if matches!(flag, 1 | 3) { 8 } else { 4 };
            out.resize(out.len() + n as usize * size, 0);
        }
    }
    let mut overflow = 0i32;
    if i + 2 < end && s[i] == b'+' && s[i + 1] == b'+' && s[i + 2].is_ascii_digit() {
        let (n, next) = integer(s, i + 2, true)?;
        i = next;
        if n < 16 {
            overflow = n as i32;
        }
    }
    // Without entries the flag is still -1, which Click stores as 0xFF.
    out[at + 3] = ((overflow << 4) | flag) as u8;
    out[at + 1] = u8::try_from(out.len() - at).ok()?;
    Some(i)
}

fn push_address(t: &mut String, a: &[u8]) {
    t.push_str(&format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]));
}

/// Option bytes as text, padding (`nop`, `eol`) not shown; `.` when there are none, `?` when
/// an option is malformed (as Click's ToIPSummaryDump writes them).
pub fn unparse(opt: &[u8]) -> String {
    let mut t = String::new();
    let mut sep = "";
    let mut i = 0;
    while i < opt.len() {
        let kind = opt[i];
        match kind {
            EOL => break,
            NOP => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let len = opt.get(i + 1).map_or(0, |l| *l as usize);
        let ptr = opt.get(i + 2).map_or(0, |p| *p as usize);
        let bad = match kind {
            RR | LSRR | SSRR => len < 3 || ptr < 4,
            TS => len < 4 || ptr < 5,
            _ => len < 2,
        };
        if bad || i + len > opt.len() {
            return "?".into();
        }
        let o = &opt[i..i + len];
        t.push_str(sep);
        match kind {
            RR | LSRR | SSRR => unparse_route(&mut t, o),
            TS => unparse_timestamp(&mut t, o),
            _ => {
                t.push_str(&kind.to_string());
                for (k, b) in o[2..].iter().enumerate() {
                    t.push(if k == 0 { '=' } else { ':' });
                    t.push_str(&b.to_string());
                }
            }
        }
        sep = ";";
        i += len;
    }
    if t.is_empty() {
        ".".into()
    } else {
        t
    }
}

/// A route option (`o` is the whole option). RR shows the recorded addresses and the empty
/// slots as `+N`; the source routes show every address with `^` before the next hop.
fn unparse_route(t: &mut String, o: &[u8]) {
    let (kind, len, op) = (o[0], o[1] as usize, o[2] as usize - 1);
    t.push_str(match kind {
        RR => "rr{",
        LSRR => "lsrr{",
        _ => "ssrr{",
    });
    let mut sep = "";
    let mut k = 3;
    while k + 4 <= len {
        if k == op {
            if kind == RR {
                break;
            }
            sep = "^";
        }
        t.push_str(sep);
        push_address(t, &o[k..k + 4]);
        sep = ",";
        k += 4;
    }
    if k == len && k == op && kind != RR {
        t.push('^');
    }
    t.push('}');
    if k + 4 <= len && k == op && kind == RR {
        t.push_str(&format!("+{}", (len - k) / 4));
    }
}

/// A timestamp option (`o` is the whole option), as Click's unparse_ip_opt writes it.
fn unparse_timestamp(t: &mut String, o: &[u8]) {
    let (len, op) = (o[1] as usize, o[2] as usize - 1);
    let flag = o[3] & 0xF;
    let size = if (1..=3).contains(&flag) { 8 } else { 4 };
    t.push_str("ts");
    match flag {
        0 => {}
        1 => t.push_str(".ip"),
        3 => t.push_str(".preip"),
        f => t.push_str(&format!(".{f}")),
    }
    t.push('{');
    let mut sep = "";
    let mut k = 4;
    while k + size <= len {
        if k == op {
            if flag != 3 {
                break;
            }
            sep = "^";
        }
        t.push_str(sep);
        if flag != 0 {
            push_address(t, &o[k..k + 4]);
            t.push('=');
            k += 4;
        }
        if flag == 3 && k > op {
            // A prespecified address whose time is not recorded yet.
            t.pop();
        } else {
            let v = u32::from_be_bytes([o[k], o[k + 1], o[k + 2], o[k + 3]]);
            if v & 0x8000_0000 != 0 {
                t.push('!');
            }
            t.push_str(&(v & 0x7FFF_FFFF).to_string());
        }
        sep = ",";
        k += 4;
    }
    if k == len && k == op {
        t.push('^');
    }
    t.push('}');
    if k + size <= len && k == op {
        t.push_str(&format!("+{}", (len - k) / size));
    }
    if o[3] & 0xF0 != 0 {
        t.push_str(&format!("++{}", o[3] >> 4));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_route_bytes_follow_the_text() {
        let b = parse("ssrr{128.4.45.60,^1.2.3.4}").unwrap_or_default();
        assert_eq!(b, [SSRR, 11, 8, 128, 4, 45, 60, 1, 2, 3, 4]);
        // Without `^` the pointer is past the last address.
        let b = parse("lsrr{1.2.3.4}").unwrap_or_default();
        assert_eq!(b, [LSRR, 7, 8, 1, 2, 3, 4]);
    }

    #[test]
    fn record_route_shows_empty_slots() {
        let b = parse("rr{10.0.0.1}+2").unwrap_or_default();
        assert_eq!(b.len(), 3 + 4 + 8);
        assert_eq!(b[2], 8, "pointer at the first empty slot");
        assert_eq!(unparse(&b), "rr{10.0.0.1}+2");
    }

    /// Text in, header length and text out, as reference Click 2.1 gave them for
    /// `FromIPSummaryDump -> ToIPSummaryDump(FIELDS ip_hl ip_opt)`.
    const RECORDED: &[(&str, usize, &str)] = &[
        (
            "ssrr{128.4.45.60,^1.2.3.4}",
            32,
            "ssrr{128.4.45.60^1.2.3.4}",
        ),
        ("lsrr{1.2.3.4}", 28, "lsrr{1.2.3.4^}"),
        ("rr{10.0.0.1}+2", 36, "rr{10.0.0.1}+2"),
        ("ts{1,2}", 32, "ts{1,2^}"),
        ("ts{!5}+3", 40, "ts{!5}+3"),
        ("ts.ip{1.2.3.4=5}+1", 40, "ts.ip{1.2.3.4=5}+1"),
        (
            "ts.preip{1.2.3.4=5,^5.6.7.8}",
            40,
            "ts.preip{1.2.3.4=5^5.6.7.8}",
        ),
        ("ts{7}++3", 28, "ts{7^}++3"),
        ("ts{1.2.3.4=9}", 32, "ts.ip{1.2.3.4=9^}"),
        ("nop;130=1:2;eol", 28, "130=1:2"),
        ("nop", 24, "."),
        ("ts{}", 24, "ts.15{^}++15"),
        ("ts.3{}", 24, "ts.preip{^}"),
        (
            "ssrr{128.4.45.60,128.4.49.61,^1.2.3.4,5.6.7.8}",
            40,
            "ssrr{128.4.45.60,128.4.49.61^1.2.3.4,5.6.7.8}",
        ),
        ("rr{^}", 24, "rr{}"),
        ("0x82=0x10:010", 24, "130=16:8"),
        (
            "ts.preip{^1.2.3.4,5.6.7.8=?}",
            40,
            "ts.preip{^1.2.3.4,5.6.7.8}",
        ),
        ("148=0:0", 24, "148=0:0"),
        ("7", 24, "?"),
        ("7;130=1", 24, "?"),
    ];

    #[test]
    fn text_and_header_length_match_reference_click() {
        for (text, hl, shown) in RECORDED {
            let b = parse(text).unwrap_or_else(|| panic!("{text} rejected"));
            assert_eq!((20 + b.len() + 3) & !3, *hl, "{text}: {b:?}");
            // The header pads with zeros (EOL), which the printer must stop at.
            let mut padded = b.clone();
            padded.resize(hl - 20, EOL);
            assert_eq!(unparse(&padded), *shown, "{text}: {b:?}");
        }
    }

    #[test]
    fn a_plain_timestamp_with_addresses_is_ts_ip() {
        let b = parse("ts{1.2.3.4=9}").unwrap_or_default();
        assert_eq!(b[3] & 0xF, 1);
    }

    #[test]
    fn padding_and_numbered_options() {
        let b = parse("nop;130=1:2;eol").unwrap_or_default();
        assert_eq!(b, [NOP, 130, 4, 1, 2, EOL]);
        assert_eq!(unparse(&b), "130=1:2");
        assert_eq!(unparse(&[]), ".");
        assert_eq!(unparse(&[NOP, NOP, EOL, 7]), ".");
    }

    #[test]
    fn malformed_text_and_bytes_are_rejected() {
        for s in [
            "bogus",
            "ssrr{1.2.3}",
            "rr{1.2.3.400}",
            "ssrr{1.2.3.4",
            "nop nop",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
        // Ten addresses do not fit the 40 option bytes (Click drops the field).
        let long = format!("rr{{{}}}", ["1.1.1.1"; 10].join(","));
        assert_eq!(parse(&long), None);
        let nine = format!("rr{{{}}}", ["1.1.1.1"; 9].join(","));
        assert_eq!(parse(&nine).map(|b| b.len()), Some(39));
        // A route option claiming more bytes than there are.
        assert_eq!(unparse(&[SSRR, 11, 4, 1, 2, 3, 4]), "?");
        assert_eq!(unparse(&[RR]), "?");
    }
}
