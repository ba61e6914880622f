//! IPRewriter and relatives: NAPT/NAT with pattern, pass, keep, drop and mapper input specs.

use super::ip::{set_ip_checksum, update_checksum};
use crate::any_impl;
use crate::args::{self, AddressInfo};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::packet::{Packet, PacketBatch};
use crate::registry::Registry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;

/// Register the rewriter classes.
pub fn register(r: &mut Registry) {
    for (c, m) in [
        ("IPRewriter", Mode::Full),
        ("TCPRewriter", Mode::Full),
        ("UDPRewriter", Mode::Full),
        ("IPAddrRewriter", Mode::Addr),
        ("IPAddrPairRewriter", Mode::Pair),
    ] {
        r.register(c, move || Box::new(IPRewriter::new(c, m)));
    }
    r.register("RoundRobinIPMapper", || {
        Box::new(super::standard::Info("RoundRobinIPMapper"))
    });
}

/// Fast non-cryptographic hasher for flow keys (FxHash).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);
impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Full,
    Pair,
    Addr,
}

/// A flow identifier: addresses/ports in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Flow {
    proto: u8,
    saddr: u32,
    sport: u16,
    daddr: u32,
    dport: u16,
}
impl Flow {
    fn reverse(self) -> Flow {
        Flow {
            proto: self.proto,
            saddr: self.daddr,
            sport: self.dport,
            daddr: self.saddr,
            dport: self.sport,
        }
    }
}

/// A rewrite pattern as Click's IPRewriterPattern: fixed fields (0 = keep) plus an optional
/// variation range over the source port (NAPT) or the source address.
#[derive(Clone, Debug)]
struct Pattern {
    saddr: u32,
    sport: u16,
    daddr: u32,
    dport: u16,
    variation_top: u32,
    is_napt: bool,
    sequential: bool,
    same_first: bool,
    next: u32,
    /// Per-pattern (forward, reply) outputs, for mapper patterns.
    outs: Option<(usize, usize)>,
}

impl Pattern {
    /// Click's IPRewriterPattern::unparse text.
    fn unparse(&self) -> String {
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

#[derive(Clone, Debug)]
enum InputSpec {
    Drop,
    Pass(usize),
    Keep(usize, usize),
    Pattern(
        Vec<Pattern>,
        usize,
        usize,
        usize, /* round-robin index */
    ),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    to: Flow,
    out: usize,
    /// True for the reply-direction entry of a mapping.
    reply: bool,
    /// The REPLY_ANNO value given to reply packets.
    anno: u8,
}

/// IPRewriter, TCPRewriter, UDPRewriter, IPAddrRewriter, IPAddrPairRewriter.
pub struct IPRewriter {
    class: &'static str,
    mode: Mode,
    specs: Vec<InputSpec>,
    map: HashMap<Flow, Entry, BuildHasherDefault<FxHasher>>,
    n: usize,
    failures: u64,
    capacity: usize,
    reply_anno: Option<usize>,
    seed: u64,
    spec_text: Vec<String>,
}

impl IPRewriter {
    fn new(class: &'static str, mode: Mode) -> Self {
        IPRewriter {
            class,
            mode,
            specs: Vec::new(),
            map: HashMap::default(),
            n: 0,
            failures: 0,
            capacity: 0,
            reply_anno: None,
            seed: 0x1234_5678_9abc_def1,
            spec_text: Vec::new(),
        }
    }

    fn key(&self, f: Flow, forward: bool) -> Flow {
        match self.mode {
            Mode::Full => f,
            Mode::Pair => Flow {
                proto: 0,
                saddr: f.saddr,
                sport: 0,
                daddr: f.daddr,
                dport: 0,
            },
            // Address rewriting keys on the source for forward and destination for replies.
            Mode::Addr => {
                if forward {
                    Flow {
                        proto: 1,
                        saddr: f.saddr,
                        sport: 0,
                        daddr: 0,
                        dport: 0,
                    }
                } else {
                    Flow {
                        proto: 2,
                        saddr: 0,
                        sport: 0,
                        daddr: f.daddr,
                        dport: 0,
                    }
                }
            }
        }
    }

    /// Parse 2 to 4 pattern words (`SADDR DADDR`, `SADDR SPORT DADDR`, `SADDR SPORT DADDR DPORT`).
    fn parse_pattern(words: &[String], ai: &AddressInfo) -> Result<Pattern, String> {
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

    fn parse_spec(&self, spec: &str, cx: &ConfigureCx<'_>) -> Result<InputSpec, String> {
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
                    vec![Self::parse_pattern(pw, cx.addrs)?]
                };
                InputSpec::Pattern(pats, f, r, 0)
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
                    if pw.len() < 4 {
                        return Err(format!("bad mapper pattern '{a}'"));
                    }
                    let mut p = Self::parse_pattern(&pw[..4], cx.addrs)?;
                    if pw.len() >= 6 {
                        f = out(pw.get(4))?;
                        r = out(pw.get(5))?;
                        p.outs = Some((f, r));
                    }
                    pats.push(p);
                }
                InputSpec::Pattern(pats, f, r, 0)
            }
        })
    }

    /// Choose the variation (source port for NAPT, else source address) so that the reply
    /// flow is not already mapped, as Click's IPRewriterPattern::rewrite_flowid does.
    fn vary(&mut self, p: &mut Pattern, f: &Flow, to: &mut Flow) -> bool {
        if p.variation_top == 0 {
            return true;
        }
        let top = p.variation_top;
        let base = if p.is_napt { p.sport as u32 } else { p.saddr };
        let mut lookup = to.reverse();
        let set = |l: &mut Flow, v: u32| {
            if p.is_napt {
                l.dport = (base + v) as u16;
            } else {
                l.daddr = base.wrapping_add(v);
            }
        };
        let free = |s: &Self, l: &Flow| !s.map.contains_key(&s.key(*l, false));
        let mut found = None;
        let sv = (f.sport as u32).wrapping_sub(base);
        if p.same_first && sv <= top {
            lookup.dport = f.sport;
            if free(self, &lookup) {
                found = Some(sv);
            }
        }
        if found.is_none() {
            let mut v = if p.sequential {
                if p.next > top {
                    0
                } else {
                    p.next
                }
            } else {
                self.seed ^= self.seed << 13;
                self.seed ^= self.seed >> 7;
                self.seed ^= self.seed << 17;
                (self.seed % (top as u64 + 1)) as u32
            };
            for _ in 0..=top {
                set(&mut lookup, v);
                if free(self, &lookup) {
                    found = Some(v);
                    break;
                }
                v = if v == top { 0 } else { v + 1 };
            }
        }
        let Some(v) = found else {
            return false;
        };
        if p.is_napt {
            to.sport = lookup.dport;
        } else {
            to.saddr = lookup.daddr;
        }
        p.next = v.wrapping_add(1);
        true
    }

    /// Make a mapping for a new flow arriving on `port`. Returns the output, or None to drop.
    fn new_mapping(&mut self, port: usize, f: Flow) -> Option<Entry> {
        let spec = self.specs.get(port)?.clone();
        match spec {
            InputSpec::Drop => None,
            InputSpec::Pass(o) => Some(Entry {
                to: f,
                out: o | PASS_FLAG,
                reply: false,
                anno: 0,
            }),
            InputSpec::Keep(fo, ro) => {
                self.install(f, f, fo, ro);
                Some(Entry {
                    to: f,
                    out: fo,
                    reply: false,
                    anno: 0,
                })
            }
            InputSpec::Pattern(mut pats, fo, ro, idx) => {
                let i = idx % pats.len().max(1);
                let mut p = pats.get(i)?.clone();
                let mut to = f;
                if p.saddr != 0 {
                    to.saddr = p.saddr;
                }
                if p.sport != 0 {
                    to.sport = p.sport;
                }
                if p.daddr != 0 {
                    to.daddr = p.daddr;
                }
                if p.dport != 0 {
                    to.dport = p.dport;
                }
                let (pfo, pro) = p.outs.unwrap_or((fo, ro));
                if !self.vary(&mut p, &f, &mut to) {
                    self.failures += 1;
                    return None;
                }
                pats[i] = p;
                let nidx = (i + 1) % pats.len().max(1);
                self.specs[port] = InputSpec::Pattern(pats, fo, ro, nidx);
                self.install(f, to, pfo, pro);
                Some(Entry {
                    to,
                    out: pfo,
                    reply: false,
                    anno: 0,
                })
            }
        }
    }

    fn install(&mut self, from: Flow, to: Flow, fo: usize, ro: usize) {
        let kf = self.key(from, true);
        self.map.insert(
            kf,
            Entry {
                to,
                out: fo,
                reply: false,
                anno: 0,
            },
        );
        let kr = self.key(to.reverse(), false);
        self.map.insert(
            kr,
            Entry {
                to: from.reverse(),
                out: ro,
                reply: true,
                anno: 0,
            },
        );
    }

    /// Returns output port or usize::MAX to drop.
    #[inline]
    fn handle(&mut self, port: usize, p: &mut Packet) -> usize {
        let Some(ip) = p.network_header() else {
            return self.non_flow(port);
        };
        if ip.len() < 20 {
            return usize::MAX;
        }
        let proto = ip[9];
        let hl = ((ip[0] & 0xf) as usize) * 4;
        let first_frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
        let is_tu = proto == 6 || proto == 17;
        let proto_ok = match self.class {
            "TCPRewriter" => proto == 6,
            // Click's UDPRewriter also maps TCP and DCCP flows.
            "UDPRewriter" => is_tu || proto == 33,
            _ => is_tu,
        };
        let addr_only = self.mode != Mode::Full;
        if !addr_only && (!proto_ok || !first_frag || ip.len() < hl + 8) {
            return self.non_flow(port);
        }
        let ports = (is_tu || proto == 33) && first_frag && ip.len() >= hl + 4;
        let f = Flow {
            proto,
            saddr: u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]),
            sport: if ports {
                u16::from_be_bytes([ip[hl], ip[hl + 1]])
            } else {
                0
            },
            daddr: u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]),
            dport: if ports {
                u16::from_be_bytes([ip[hl + 2], ip[hl + 3]])
            } else {
                0
            },
        };
        let e = match self.map.get(&self.key(f, true)).or_else(|| {
            if self.mode == Mode::Addr {
                self.map.get(&self.key(f, false))
            } else {
                None
            }
        }) {
            Some(e) => *e,
            None => match self.new_mapping(port, f) {
                Some(e) => {
                    if let Some(off) = self.reply_anno {
                        let k = self.key(e.to.reverse(), false);
                        if let Some(r) = self.map.get_mut(&k) {
                            r.anno = p.anno[off];
                        }
                    }
                    e
                }
                None => return usize::MAX,
            },
        };
        if e.reply {
            if let Some(off) = self.reply_anno {
                p.anno[off] = e.anno;
            }
        }
        if e.out & PASS_FLAG != 0 {
            return e.out & !PASS_FLAG;
        }
        let mut to = e.to;
        if self.mode == Mode::Addr {
            // only the keyed address changes
            if self.map.contains_key(&self.key(f, true)) {
                to = Flow {
                    daddr: f.daddr,
                    dport: f.dport,
                    sport: f.sport,
                    ..to
                };
            } else {
                to = Flow {
                    saddr: f.saddr,
                    sport: f.sport,
                    dport: f.dport,
                    ..to
                };
            }
        }
        if self.mode != Mode::Full {
            to.sport = f.sport;
            to.dport = f.dport;
            to.proto = f.proto;
        }
        apply(p, &f, &to, hl, ports);
        e.out
    }

    fn non_flow(&self, port: usize) -> usize {
        match self.specs.get(port) {
            Some(InputSpec::Pass(o)) => *o,
            _ => usize::MAX,
        }
    }
}

const PASS_FLAG: usize = 1 << 40;

fn named_patterns(name: &str, cx: &ConfigureCx<'_>) -> Result<Vec<Pattern>, String> {
    for (_, class, conf) in cx.elements {
        if class == "IPRewriterPatterns" {
            for a in args::split_args(conf) {
                let w = args::split_words(&a);
                if w.first().map(|s| s.as_str()) == Some(name) && w.len() >= 5 {
                    return Ok(vec![IPRewriter::parse_pattern(&w[1..5], cx.addrs)?]);
                }
            }
        }
    }
    Err(format!("no pattern named '{name}'"))
}

#[inline]
fn apply(p: &mut Packet, from: &Flow, to: &Flow, hl: usize, ports: bool) {
    let Some(ip) = p.network_header_mut() else {
        return;
    };
    if from.saddr != to.saddr {
        ip[12..16].copy_from_slice(&to.saddr.to_be_bytes());
    }
    if from.daddr != to.daddr {
        ip[16..20].copy_from_slice(&to.daddr.to_be_bytes());
    }
    set_ip_checksum(ip);
    let proto = ip[9];
    let csum_off = match proto {
        6 => 16,
        17 | 33 => 6,
        _ => return,
    };
    if ip.len() < hl + csum_off + 2 || !ports {
        return;
    }
    let t = &mut ip[hl..];
    let udp_nocsum = proto == 17 && t[6] == 0 && t[7] == 0;
    if from.sport != to.sport {
        t[0..2].copy_from_slice(&to.sport.to_be_bytes());
    }
    if from.dport != to.dport {
        t[2..4].copy_from_slice(&to.dport.to_be_bytes());
    }
    if udp_nocsum {
        return;
    }
    let c = &mut t[csum_off..csum_off + 2];
    for (o, n) in [
        ((from.saddr >> 16) as u16, (to.saddr >> 16) as u16),
        (from.saddr as u16, to.saddr as u16),
        ((from.daddr >> 16) as u16, (to.daddr >> 16) as u16),
        (from.daddr as u16, to.daddr as u16),
        (from.sport, to.sport),
        (from.dport, to.dport),
    ] {
        if o != n {
            update_checksum(c, o, n);
        }
    }
    if proto == 17 && c[0] == 0 && c[1] == 0 {
        c[0] = 0xff;
        c[1] = 0xff;
    }
}

impl Element for IPRewriter {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn port_count(&self) -> &'static str {
        "1-/1-"
    }
    fn processing(&self) -> &'static str {
        "h"
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let all = args::split_args(conf);
        self.spec_text = all
            .iter()
            .map(|a| {
                let w = args::split_words(a);
                if w.first().map(|x| x.as_str()) == Some("pattern") && w.len() >= 5 {
                    w[1..w.len() - 2].join(" ")
                } else {
                    a.clone()
                }
            })
            .collect();
        self.n = cx.noutputs;
        let mut errs = Vec::new();
        let mut idx = 0usize;
        for a in all {
            if let Some((k, v)) = args::split_keyword(&a) {
                if k != "INPUTSPEC" {
                    if k == "REPLY_ANNO" {
                        self.reply_anno = match v.trim() {
                            "PAINT" => Some(crate::packet::PAINT_ANNO_OFFSET),
                            s => args::parse_u64(s)
                                .map(|x| x as usize)
                                .filter(|x| *x < crate::packet::ANNO_SIZE),
                        };
                    }
                    if k == "CAPACITY" || k == "MAPPING_CAPACITY" {
                        self.capacity = args::parse_u64(v).unwrap_or(0) as usize;
                    }
                    continue;
                }
                match self.parse_spec(v, cx) {
                    Ok(s) => self.specs.push(s),
                    Err(e) => errs.push(format!("input spec {idx}: {e}")),
                }
                idx += 1;
                continue;
            }
            match self.parse_spec(&a, cx) {
                Ok(s) => self.specs.push(s),
                Err(e) => errs.push(format!("input spec {idx}: {e}")),
            }
            idx += 1;
        }
        if errs.is_empty() && self.specs.len() != cx.ninputs {
            errs.push(format!("need {} arguments, one per input port", cx.ninputs));
        }
        for s in &self.specs {
            let outs: Vec<usize> = match s {
                InputSpec::Pass(o) => vec![*o],
                InputSpec::Keep(a, b) | InputSpec::Pattern(_, a, b, _) => vec![*a, *b],
                InputSpec::Drop => vec![],
            };
            if outs.iter().any(|o| *o >= cx.noutputs) {
                errs.push("output port out of range".to_string());
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        }
    }
    fn push(&mut self, port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let n = self.n;
        let mut outs: Vec<usize> = Vec::with_capacity(batch.len());
        for p in batch.iter_mut() {
            outs.push(self.handle(port, p));
        }
        if outs.iter().all(|&o| o == outs[0]) {
            if outs.first().is_some_and(|&o| o < n) {
                ctx.output(outs[0], batch);
            }
            return;
        }
        let mut buckets: Vec<PacketBatch> = (0..n).map(|_| Vec::new()).collect();
        for (p, o) in batch.into_iter().zip(outs) {
            if o < n {
                buckets[o].push(p);
            }
        }
        for (o, b) in buckets.into_iter().enumerate() {
            ctx.output(o, b);
        }
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("table"),
            HandlerSpec::r("table_size"),
            HandlerSpec::r("size"),
            HandlerSpec::r("capacity"),
            HandlerSpec::r("mapping_failures"),
            HandlerSpec::r("tcp_table"),
            HandlerSpec::r("udp_table"),
            HandlerSpec::r("patterns"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let table = |filter: Option<u8>| -> String {
            let mut v: Vec<(&Flow, &Entry)> = self
                .map
                .iter()
                .filter(|(k, _)| filter.is_none_or(|p| k.proto == p))
                .collect();
            v.sort_by_key(|(k, _)| **k);
            v.iter()
                .map(|(k, e)| {
                    format!(
                        "({}, {}:{}, {}:{}) => ({}:{}, {}:{}) [{}]\n",
                        k.proto,
                        Ipv4Addr::from(k.saddr),
                        k.sport,
                        Ipv4Addr::from(k.daddr),
                        k.dport,
                        Ipv4Addr::from(e.to.saddr),
                        e.to.sport,
                        Ipv4Addr::from(e.to.daddr),
                        e.to.dport,
                        e.out
                    )
                })
                .collect()
        };
        Some(Ok(match name {
            "table" => table(None),
            "tcp_table" => table(Some(6)),
            "udp_table" => table(Some(17)),
            "table_size" | "size" => (self.map.len() / 2).to_string(),
            "capacity" => self.capacity.to_string(),
            "mapping_failures" => self.failures.to_string(),
            "patterns" => self
                .spec_text
                .iter()
                .enumerate()
                .map(|(i, s)| match self.specs.get(i) {
                    Some(InputSpec::Pattern(p, ..)) if p.len() == 1 => {
                        format!("{}\n", p[0].unparse())
                    }
                    _ => format!("{s}\n"),
                })
                .collect(),
            _ => return None,
        }))
    }
    any_impl!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn patterns_parse_and_unparse_like_click() {
        let ai = AddressInfo::default();
        let p = |s: &str| IPRewriter::parse_pattern(&words(s), &ai);
        assert_eq!(
            p("1.0.0.1 1-65535 - -").unwrap().unparse(),
            "1.0.0.1 1-65535 - -"
        );
        assert_eq!(p("1.0.0.1/24 -").unwrap().unparse(), "1.0.0.1-1.0.0.254 -");
        assert_eq!(p("1.0.0.0 0-255 - -").unwrap().variation_top, 255);
        assert_eq!(p("1.0.0.1 1x - -").unwrap_err(), "bad source port");
        assert_eq!(p("1.0.0.0 456-65536 - -").unwrap_err(), "bad source port");
        assert_eq!(
            p("1.255.0.0-1.0.255.255 -").unwrap_err(),
            "bad source address"
        );
        let seq = p("3.0.0.1-3.0.0.255# -").unwrap();
        assert!(seq.sequential && !seq.same_first && !seq.is_napt);
    }

    #[test]
    fn sequential_ports_skip_mapped_reply_flows() {
        let ai = AddressInfo::default();
        let mut rw = IPRewriter::new("IPRewriter", Mode::Full);
        let mut pat = IPRewriter::parse_pattern(&words("1.0.0.1 1024-1025# - -"), &ai).unwrap();
        let f = |sport| Flow {
            proto: 6,
            saddr: 0x0a00_0001,
            sport,
            daddr: 0x0a00_0002,
            dport: 80,
        };
        let mut ports = Vec::new();
        for sp in [5, 6, 7] {
            let mut to = f(sp);
            to.saddr = pat.saddr;
            to.sport = pat.sport;
            if rw.vary(&mut pat, &f(sp), &mut to) {
                rw.install(f(sp), to, 0, 1);
                ports.push(to.sport);
            }
        }
        // two free ports, then the range is exhausted
        assert_eq!(ports, vec![1024, 1025]);
    }
}
