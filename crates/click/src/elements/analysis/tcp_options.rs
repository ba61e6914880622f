//! TCP options as IP summary dumps write them (Click's ipsumdump_tcp): `mss1460`,
//! `wscale10`, `sackok`, `sack1-10` (adjacent blocks `sack1-10,sack20-30` share one option),
//! `ts1:2`, `nop`, `eol`, `KIND=B:B:...`, separated by `;` (or `,`).

/// Parse option text into option bytes (unpadded); None when it is malformed or longer than
/// the 40 bytes a TCP header holds.
pub fn parse(s: &str) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut rest = s;
    let num = |t: &str| -> Option<(u32, usize)> {
        let n = t.bytes().take_while(u8::is_ascii_digit).count();
        Some((t.get(..n)?.parse().ok()?, n))
    };
    while !rest.is_empty() {
        if let Some(t) = rest.strip_prefix("mss") {
            let (v, n) = num(t)?;
            let v = u16::try_from(v).ok()?;
            out.extend([2, 4]);
            out.extend(v.to_be_bytes());
            rest = &t[n..];
        } else if let Some(t) = rest.strip_prefix("wscale") {
            let (v, n) = num(t)?;
            out.extend([3, 3, u8::try_from(v).ok()?]);
            rest = &t[n..];
        } else if let Some(t) = rest.strip_prefix("sackok") {
            out.extend([4, 2]);
            rest = t;
        } else if let Some(mut t) = rest.strip_prefix("sack") {
            let at = out.len();
            out.extend([5, 0]);
            loop {
                let (a, n) = num(t)?;
                t = t[n..].strip_prefix(['-', ':'])?;
                let (b, m) = num(t)?;
                t = &t[m..];
                out.extend(a.to_be_bytes());
                out.extend(b.to_be_bytes());
                match t.strip_prefix(",sack") {
                    Some(r) => t = r,
                    None => break,
                }
            }
            out[at + 1] = u8::try_from(out.len() - at).ok()?;
            rest = t;
        } else if let Some(t) = rest.strip_prefix("ts") {
            let (a, n) = num(t)?;
            let t = t[n..].strip_prefix(':')?;
            let (b, m) = num(t)?;
            if out.is_empty() {
                out.extend([1, 1]);
            }
            out.extend([8, 10]);
            out.extend(a.to_be_bytes());
            out.extend(b.to_be_bytes());
            rest = &t[m..];
        } else if let Some(t) = rest.strip_prefix("nop") {
            out.push(1);
            rest = t;
        } else if let Some(t) = rest.strip_prefix("eol") {
            out.push(0);
            rest = t;
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let (k, n) = num(rest)?;
            out.push(u8::try_from(k).ok()?);
            let mut t = &rest[n..];
            if t.starts_with('=') {
                let at = out.len();
                out.push(0);
                while let Some(r) = t.strip_prefix(['=', ':']) {
                    let (v, m) = num(r)?;
                    out.push(u8::try_from(v).ok()?);
                    t = &r[m..];
                }
                out[at] = u8::try_from(out.len() - at + 1).ok()?;
            }
            rest = t;
        } else {
            return None;
        }
        rest = match rest.strip_prefix([';', ',']) {
            Some(r) => r,
            None if rest.is_empty() => rest,
            None => return None,
        };
    }
    // Leading NOPs beyond the header's room go, as in Click.
    while out.len() > 40 && out.first() == Some(&1) {
        out.remove(0);
    }
    (out.len() <= 40).then_some(out)
}

/// Option bytes as text (padding not shown); `.` when there are none.
pub fn unparse(opt: &[u8]) -> String {
    let mut v: Vec<String> = Vec::new();
    let mut i = 0;
    while i < opt.len() {
        let kind = opt[i];
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opt.get(i + 1) else { break };
        let len = len as usize;
        if len < 2 || i + len > opt.len() {
            break;
        }
        let o = &opt[i..i + len];
        let u32at = |k: usize| u32::from_be_bytes([o[k], o[k + 1], o[k + 2], o[k + 3]]);
        match (kind, len) {
            (2, 4) => v.push(format!("mss{}", u16::from_be_bytes([o[2], o[3]]))),
            (3, 3) => v.push(format!("wscale{}", o[2])),
            (4, 2) => v.push("sackok".into()),
            (5, l) if l % 8 == 2 => {
                for k in (2..l).step_by(8) {
                    v.push(format!("sack{}-{}", u32at(k), u32at(k + 4)));
                }
            }
            (8, 10) => v.push(format!("ts{}:{}", u32at(2), u32at(6))),
            (2..=8, _) => break,
            _ => {
                let bytes: Vec<String> = o[2..].iter().map(|b| b.to_string()).collect();
                if bytes.is_empty() {
                    v.push(kind.to_string());
                } else {
                    v.push(format!("{kind}={}", bytes.join(":")));
                }
            }
        }
        i += len;
    }
    if v.is_empty() {
        ".".into()
    } else {
        v.join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_click() {
        for s in ["wscale10", "mss1460;sackok", "sack1-10;sack1-18", "ts5:6"] {
            let b = parse(s).unwrap_or_default();
            assert_eq!(unparse(&b), s, "{s}");
        }
        // adjacent SACK blocks share one option
        assert_eq!(parse("sack1:18,sack20-30").map(|b| b.len()), Some(18));
        assert_eq!(unparse(&[]), ".");
        assert!(parse("bogus").is_none());
    }
}
