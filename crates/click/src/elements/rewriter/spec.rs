//! Rewriter input specs and patterns (Click's IPRewriterInput and IPRewriterPattern):
//! parsing, Click's `patterns` text, and the choice of a new flow's ports/addresses.

use crate::args::{self, AddressInfo};
use crate::element::ConfigureCx;
use std::fmt;
use std::net::Ipv4Addr;

/// Click's IPFlowID: addresses and ports in host order (no protocol: Click keys flows on these
/// four fields alone).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId {
    pub saddr: u32,
    pub sport: u16,
    pub daddr: u32,
    pub dport: u16,
}

impl FlowId {
    /// The flow seen from the other end.
    pub fn reverse(self) -> FlowId {
        FlowId {
            saddr: self.daddr,
            sport: self.dport,
            daddr: self.saddr,
            dport: self.sport,
        }
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, {}, {}, {})",
            Ipv4Addr::from(self.saddr),
            self.sport,
            Ipv4Addr::from(self.daddr),
            self.dport
        )
    }
}

/// A rewrite pattern as Click's IPRewriterPattern: fixed fields (0 = keep) plus an optional
/// variation range over the source port (NAPT) or the source address.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub saddr: u32,
    pub sport: u16,
    pub daddr: u32,
    pub dport: u16,
    pub variation_top: u32,
    pub is_napt: bool,
    pub sequential: bool,
    pub same_first: bool,
    pub next: u32,
    /// Per-pattern (forward, reply) outputs, for mapper patterns.
    pub outs: Option<(usize, usize)>,
}

impl Pattern {
    /// Click's IPRewriterPattern::unparse text.
    pub fn unparse(&self) -> String {
        let a = |x: u32| Ipv4Addr::from(x).to_string();
        let mut s = if !self.is_napt && self.variation_top != 0 {
            format!(
                "{}-{}",
                a(self.saddr),
                a(self.saddr.wrapping_add(self.variation_top))
            )
        } else if self.saddr != 0 {
            a(self.saddr)
        } else {
            "-".into()
        };
        if self.is_napt {
            if self.sport == 0 {
                s.push_str(" -");
            } else if self.variation_top != 0 {
                let lo = self.sport as u32;
                s.push_str(&format!(" {lo}-{}", lo + self.variation_top));
            } else {
                s.push_str(&format!(" {}", self.sport));
            }
        }
        if self.daddr != 0 {
            s.push_str(&format!(" {}", a(self.daddr)));
        } else {
            s.push_str(" -");
        }
        if self.is_napt {
            if self.dport == 0 {
                s.push_str(" -");
            } else {
                s.push_str(&format!(" {}", self.dport));
            }
        }
        s
    }

    /// Parse 2 to 4 pattern words (`SADDR DADDR`, `SADDR SPORT DADDR`, `SADDR SPORT DADDR DPORT`).
    pub fn parse(words: &[String], ai: &AddressInfo) -> Result<Pattern, String> {
        if words.len() < 2 || words.len() > 4 {
            return Err("syntax error".into());
        }
        let mut p = Pattern {
            saddr: 0,
            sport: 0,
            daddr: 0,
            dport: 0,
            variation_top: 0,
            is_napt: words.len() >= 3,
            sequential: false,
            same_first: true,
            next: 0,
            outs: None,
        };
        let ip = |w: &str| args::parse_ip(w, ai).map(u32::from);
        let w0 = words[0].as_str();
        if w0 != "-" {
            if let Some(a) = ip(w0) {
                p.saddr = a;
            } else {
                let (t, seq, sf) = variation_flags(w0);
                let (a, top) = match t.split_once('-') {
                    Some((x, y)) => match (ip(x), ip(y)) {
                        (Some(a), Some(b)) if b >= a => (a, b - a),
                        _ => return Err("bad source address".into()),
                    },
                    None => {
                        let (x, len) = t.split_once('/').ok_or("bad source address")?;
                        let a = ip(x).ok_or("bad source address")?;
                        let len: u32 = match len.parse::<u32>() {
                            Ok(l) if l <= 32 => l,
                            _ => {
                                let m = ip(len).ok_or("bad source address")?;
                                if m.leading_ones() + m.trailing_zeros() != 32 {
                                    return Err("bad source address".into());
                                }
                                m.leading_ones()
                            }
                        };
                        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                        if a == 0 || len == 0 {
                            return Err("bad source address".into());
                        }
                        match len {
                            32 => (a, 0),
                            31 => (a & mask, 1),
                            _ => ((a & mask) | 1, !mask - 2),
                        }
                    }
                };
                p.saddr = a;
                p.variation_top = top;
                p.sequential = seq;
                p.same_first = sf;
            }
        }
        let mut i = 0;
        if words.len() >= 3 {
            i = if words.len() == 3 { 2 } else { 1 };
            let w = words[i].as_str();
            if w != "-" {
                match w.parse::<i64>() {
                    Ok(v) if v > 0 && v < 65536 => p.sport = v as u16,
                    _ => {
                        let (t, seq, sf) = variation_flags(w);
                        let (x, y) = t.split_once('-').unwrap_or((t, ""));
                        match (x.parse::<i64>(), y.parse::<i64>()) {
                            (Ok(a), Ok(b)) if a >= 0 && b >= a && b < 65536 => {
                                p.sport = a as u16;
                                p.variation_top = (b - a) as u32;
                                p.sequential = seq;
                                p.same_first = sf;
                            }
                            _ => return Err("bad source port".into()),
                        }
                    }
                }
            }
            i = if words.len() == 3 { 0 } else { 1 };
        }
        i += 1;
        let w = words[i].as_str();
        if w != "-" {
            p.daddr = ip(w).ok_or("bad destination address")?;
        }
        if words.len() == 4 {
            let w = words[3].as_str();
            if w != "-" {
                match w.parse::<i64>() {
                    Ok(v) if v > 0 && v < 65536 => p.dport = v as u16,
                    _ => return Err("bad destination port".into()),
                }
            }
        }
        Ok(p)
    }

    /// Click's IPRewriterPattern::rewrite_flowid: apply the fixed fields, then choose the
    /// variation (source port for NAPT, else source address) so that the reply flow is not
    /// `mapped` yet. None when every value of the range is taken.
    pub fn rewrite(&mut self, f: FlowId, mapped: impl Fn(&FlowId) -> bool) -> Option<FlowId> {
        let mut to = f;
        if self.saddr != 0 {
            to.saddr = self.saddr;
        }
        if self.sport != 0 {
            to.sport = self.sport;
        }
        if self.daddr != 0 {
            to.daddr = self.daddr;
        }
        if self.dport != 0 {
            to.dport = self.dport;
        }
        if self.variation_top == 0 {
            return Some(to);
        }
        let top = self.variation_top;
        let base = if self.is_napt {
            self.sport as u32
        } else {
            self.saddr
        };
        let mut lookup = to.reverse();
        let mut found = None;
        // Like Click, the original source port is tried first even for address variation.
        let sv = (f.sport as u32).wrapping_sub(base);
        if self.same_first && sv <= top {
            lookup.dport = f.sport;
            if !mapped(&lookup) {
                found = Some(sv);
            }
        }
        if found.is_none() {
            let mut v = if self.sequential {
                if self.next > top {
                    0
                } else {
                    self.next
                }
            } else {
                crate::random::random_range(0, top)
            };
            for _ in 0..=top {
                if self.is_napt {
                    lookup.dport = base.wrapping_add(v) as u16;
                } else {
                    lookup.daddr = base.wrapping_add(v);
                }
                if !mapped(&lookup) {
                    found = Some(v);
                    break;
                }
                v = if v == top { 0 } else { v + 1 };
            }
        }
        let v = found?;
        if self.is_napt {
            to.sport = lookup.dport;
        } else {
            to.saddr = lookup.daddr;
        }
        self.next = v.wrapping_add(1);
        Some(to)
    }
}

/// Strip a trailing `#` (sequential) or `?` (random) marker.
fn variation_flags(s: &str) -> (&str, bool, bool) {
    if let Some(t) = s.strip_suffix('#') {
        (t, true, false)
    } else if let Some(t) = s.strip_suffix('?') {
        (t, false, false)
    } else {
        (s, false, true)
    }
}

/// What an input port does with a packet of a flow it has no mapping for.
#[derive(Clone, Debug)]
pub enum InputSpec {
    Drop,
    Pass(usize),
    Keep(usize, usize),
    /// Patterns (one, or a mapper's list tried round robin from `next`), forward and reply
    /// outputs, and whether they came from a mapper element.
    Pattern {
        pats: Vec<Pattern>,
        fout: usize,
        rout: usize,
        next: usize,
        mapper: bool,
    },
}

impl InputSpec {
    /// The outputs this spec sends to (checked against the element's output count).
    pub fn outputs(&self) -> Vec<usize> {
        match self {
            InputSpec::Pass(o) => vec![*o],
            InputSpec::Keep(a, b) => vec![*a, *b],
            InputSpec::Pattern {
                pats, fout, rout, ..
            } => {
                let mut v = vec![*fout, *rout];
                for p in pats {
                    if let Some((a, b)) = p.outs {
                        v.extend([a, b]);
                    }
                }
                v
            }
            InputSpec::Drop => vec![],
        }
    }

    /// Click's text for the `patterns` handler (without the mapping count).
    pub fn unparse(&self) -> String {
        match self {
            InputSpec::Drop => "<drop>".into(),
            InputSpec::Pass(_) => "<nochange>".into(),
            InputSpec::Keep(..) => "<keep>".into(),
            InputSpec::Pattern { mapper: true, .. } => "<mapper>".into(),
            InputSpec::Pattern { pats, .. } => {
                pats.first().map(Pattern::unparse).unwrap_or_default()
            }
        }
    }
}

/// Parse one input spec (`drop`, `pass [OUT]`, `keep FOUT ROUT`, `pattern ... FOUT ROUT`, a
/// pattern name or a mapper element).
pub fn parse_spec(spec: &str, cx: &ConfigureCx<'_>) -> Result<InputSpec, String> {
    let w = args::split_words(spec);
    let out = |s: Option<&String>| -> Result<usize, String> {
        s.ok_or("missing output")?
            .parse::<usize>()
            .map_err(|_| "bad output".to_string())
    };
    let Some(kind) = w.first() else {
        return Err("empty input spec".into());
    };
    Ok(match kind.as_str() {
        "drop" | "discard" => InputSpec::Drop,
        "pass" | "nochange" => InputSpec::Pass(if w.len() > 1 { out(w.get(1))? } else { 0 }),
        "keep" => InputSpec::Keep(out(w.get(1))?, out(w.get(2))?),
        "pattern" | "xpattern" => {
            let rest = &w[1..];
            let ports = rest.len() >= 3
                && rest[rest.len() - 2].parse::<usize>().is_ok()
                && rest[rest.len() - 1].parse::<usize>().is_ok();
            let (pw, f, r) = if ports {
                let n = rest.len();
                (&rest[..n - 2], out(rest.get(n - 2))?, out(rest.get(n - 1))?)
            } else {
                (rest, 0, 1.min(cx.noutputs.saturating_sub(1)))
            };
            let pats = if pw.len() == 1 {
                named_patterns(&pw[0], cx)?
            } else {
                vec![Pattern::parse(pw, cx.addrs)?]
            };
            InputSpec::Pattern {
                pats,
                fout: f,
                rout: r,
                next: 0,
                mapper: false,
            }
        }
        name => {
            // a mapper element (RoundRobinIPMapper)
            let Some((_, class, conf)) = cx.find_element(name) else {
                return Err(format!("unknown input spec '{spec}'"));
            };
            if class != "RoundRobinIPMapper" {
                return Err(format!("'{name}' is not a mapper"));
            }
            let mut pats = Vec::new();
            let (mut f, mut r) = (0, 0);
            for a in args::split_args(conf) {
                let pw = args::split_words(&a);
                let pw: Vec<String> = if pw.first().map(|s| s.as_str()) == Some("pattern") {
                    pw[1..].to_vec()
                } else {
                    pw
                };
                // `PATTERN FOUTPUT ROUTPUT`, where PATTERN has Click's long (SADDR SPORT DADDR
                // DPORT) or short (SADDR DADDR) form.
                let n = pw.len();
                let ports = n >= 4
                    && pw[n - 2].parse::<usize>().is_ok()
                    && pw[n - 1].parse::<usize>().is_ok();
                let pat = if ports { &pw[..n - 2] } else { &pw[..] };
                if pat.len() < 2 {
                    return Err(format!("bad mapper pattern '{a}'"));
                }
                let mut p = Pattern::parse(pat, cx.addrs)?;
                if ports {
                    f = out(pw.get(n - 2))?;
                    r = out(pw.get(n - 1))?;
                    p.outs = Some((f, r));
                }
                pats.push(p);
            }
            InputSpec::Pattern {
                pats,
                fout: f,
                rout: r,
                next: 0,
                mapper: true,
            }
        }
    })
}

/// The pattern NAME defines in an IPRewriterPatterns element.
fn named_patterns(name: &str, cx: &ConfigureCx<'_>) -> Result<Vec<Pattern>, String> {
    for (_, class, conf) in cx.elements {
        if class == "IPRewriterPatterns" {
            for a in args::split_args(conf) {
                let w = args::split_words(&a);
                if w.first().map(|s| s.as_str()) == Some(name) && w.len() >= 5 {
                    return Ok(vec![Pattern::parse(&w[1..5], cx.addrs)?]);
                }
            }
        }
    }
    Err(format!("no pattern named '{name}'"))
}
