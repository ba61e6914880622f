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

#[derive(Clone, Debug)]
struct PortRange {
    lo: u16,
    hi: u16,
    sequential: bool,
    random: bool,
}

#[derive(Clone, Debug)]
struct Pattern {
    saddr: Option<u32>,
    sport: Option<PortRange>,
    daddr: Option<u32>,
    dport: Option<u16>,
    next: u32,
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
}

/// IPRewriter, TCPRewriter, UDPRewriter, IPAddrRewriter, IPAddrPairRewriter.
pub struct IPRewriter {
    class: &'static str,
    mode: Mode,
    specs: Vec<InputSpec>,
    map: HashMap<Flow, Entry, BuildHasherDefault<FxHasher>>,
    used: HashMap<(u8, u32, u16), (), BuildHasherDefault<FxHasher>>,
    n: usize,
    failures: u64,
    capacity: usize,
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
            used: HashMap::default(),
            n: 0,
            failures: 0,
            capacity: 0,
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

    fn parse_pattern(words: &[String], ai: &AddressInfo) -> Result<Pattern, String> {
        if words.len() != 4 {
            return Err("pattern needs SADDR SPORT DADDR DPORT".into());
        }
        let addr = |w: &str| -> Result<Option<u32>, String> {
            if w == "-" {
                Ok(None)
            } else {
                let w = w.split('/').next().unwrap_or(w);
                let w = w.split('-').next().unwrap_or(w);
                args::parse_ip(w, ai)
                    .map(|a| Some(u32::from(a)))
                    .ok_or_else(|| format!("bad address '{w}'"))
            }
        };
        let sport = if words[1] == "-" {
            None
        } else {
            let mut s = words[1].as_str();
            let sequential = s.ends_with('#');
            let random = s.ends_with('?');
            s = s.trim_end_matches(['#', '?']);
            let (lo, hi) = match s.split_once('-') {
                Some((a, b)) => (
                    a.parse::<u16>().map_err(|_| "bad port")?,
                    b.parse::<u16>().map_err(|_| "bad port")?,
                ),
                None => {
                    let p = s.parse::<u16>().map_err(|_| format!("bad port '{s}'"))?;
                    (p, p)
                }
            };
            if lo > hi {
                return Err("bad port range".into());
            }
            Some(PortRange {
                lo,
                hi,
                sequential,
                random,
            })
        };
        let dport = if words[3] == "-" {
            None
        } else {
            Some(
                words[3]
                    .parse::<u16>()
                    .map_err(|_| format!("bad port '{}'", words[3]))?,
            )
        };
        Ok(Pattern {
            saddr: addr(&words[0])?,
            sport,
            daddr: addr(&words[2])?,
            dport,
            next: 0,
        })
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
            "pattern" => {
                if self.mode != Mode::Full && w.len() == 5 {
                    // IPAddrRewriter/IPAddrPairRewriter: pattern SADDR DADDR FOUT ROUT
                    let words = [w[1].clone(), "-".to_string(), w[2].clone(), "-".to_string()];
                    let p = Self::parse_pattern(&words, cx.addrs)?;
                    InputSpec::Pattern(vec![p], out(w.get(3))?, out(w.get(4))?, 0)
                } else if w.len() == 4 {
                    // pattern NAME FOUT ROUT (IPRewriterPatterns)
                    let pats = named_patterns(&w[1], cx)?;
                    InputSpec::Pattern(pats, out(w.get(2))?, out(w.get(3))?, 0)
                } else if w.len() >= 5 {
                    let p = Self::parse_pattern(&w[1..5], cx.addrs)?;
                    let (f, r) = if w.len() >= 7 {
                        (out(w.get(5))?, out(w.get(6))?)
                    } else {
                        (0, 1.min(cx.noutputs.saturating_sub(1)))
                    };
                    InputSpec::Pattern(vec![p], f, r, 0)
                } else {
                    return Err(format!("bad pattern spec '{spec}'"));
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
                    if pw.len() < 4 {
                        return Err(format!("bad mapper pattern '{a}'"));
                    }
                    pats.push(Self::parse_pattern(&pw[..4], cx.addrs)?);
                    if pw.len() >= 6 {
                        f = out(pw.get(4))?;
                        r = out(pw.get(5))?;
                    }
                }
                InputSpec::Pattern(pats, f, r, 0)
            }
        })
    }

    fn alloc_port(
        &mut self,
        proto: u8,
        addr: u32,
        r: &PortRange,
        orig: u16,
        next: &mut u32,
    ) -> Option<u16> {
        let span = (r.hi - r.lo) as u32 + 1;
        if !r.sequential
            && !r.random
            && orig >= r.lo
            && orig <= r.hi
            && !self.used.contains_key(&(proto, addr, orig))
        {
            return Some(orig);
        }
        for k in 0..span {
            let off = if r.random {
                self.seed ^= self.seed << 13;
                self.seed ^= self.seed >> 7;
                self.seed ^= self.seed << 17;
                (self.seed % span as u64) as u32
            } else {
                (*next + k) % span
            };
            let p = r.lo + off as u16;
            if !self.used.contains_key(&(proto, addr, p)) {
                *next = (off + 1) % span;
                return Some(p);
            }
        }
        None
    }

    /// Make a mapping for a new flow arriving on `port`. Returns the output, or None to drop.
    fn new_mapping(&mut self, port: usize, f: Flow) -> Option<Entry> {
        let spec = self.specs.get(port)?.clone();
        match spec {
            InputSpec::Drop => None,
            InputSpec::Pass(o) => Some(Entry {
                to: f,
                out: o | PASS_FLAG,
            }),
            InputSpec::Keep(fo, ro) => {
                self.install(f, f, fo, ro);
                Some(Entry { to: f, out: fo })
            }
            InputSpec::Pattern(mut pats, fo, ro, idx) => {
                let i = idx % pats.len().max(1);
                let mut p = pats.get(i)?.clone();
                let mut to = f;
                if let Some(a) = p.saddr {
                    to.saddr = a;
                }
                if let Some(a) = p.daddr {
                    to.daddr = a;
                }
                if let Some(d) = p.dport {
                    to.dport = d;
                }
                if self.mode == Mode::Full {
                    if let Some(r) = &p.sport {
                        let mut next = p.next;
                        match self.alloc_port(f.proto, to.saddr, r, f.sport, &mut next) {
                            Some(sp) => to.sport = sp,
                            None => {
                                self.failures += 1;
                                return None;
                            }
                        }
                        p.next = next;
                    }
                }
                pats[i] = p;
                let nidx = (i + 1) % pats.len().max(1);
                self.specs[port] = InputSpec::Pattern(pats, fo, ro, nidx);
                self.install(f, to, fo, ro);
                Some(Entry { to, out: fo })
            }
        }
    }

    fn install(&mut self, from: Flow, to: Flow, fo: usize, ro: usize) {
        let kf = self.key(from, true);
        self.map.insert(kf, Entry { to, out: fo });
        let kr = self.key(to.reverse(), false);
        self.map.insert(
            kr,
            Entry {
                to: from.reverse(),
                out: ro,
            },
        );
        if self.mode == Mode::Full {
            self.used.insert((to.proto, to.saddr, to.sport), ());
        }
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
            "UDPRewriter" => proto == 17,
            _ => is_tu,
        };
        let addr_only = self.mode != Mode::Full;
        if !addr_only && (!proto_ok || !first_frag || ip.len() < hl + 8) {
            return self.non_flow(port);
        }
        let ports = is_tu && first_frag && ip.len() >= hl + 4;
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
                Some(e) => e,
                None => return usize::MAX,
            },
        };
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
        17 => 6,
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
                    w[1..5].join(" ")
                } else {
                    a.clone()
                }
            })
            .collect();
        self.n = cx.noutputs;
        let mut errs = Vec::new();
        for a in all {
            if let Some((k, v)) = args::split_keyword(&a) {
                if k != "INPUTSPEC" {
                    if k == "CAPACITY" || k == "MAPPING_CAPACITY" {
                        self.capacity = args::parse_u64(v).unwrap_or(0) as usize;
                    }
                    continue;
                }
                match self.parse_spec(v, cx) {
                    Ok(s) => self.specs.push(s),
                    Err(e) => errs.push(e),
                }
                continue;
            }
            match self.parse_spec(&a, cx) {
                Ok(s) => self.specs.push(s),
                Err(e) => errs.push(e),
            }
        }
        if self.specs.len() != cx.ninputs {
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
            "patterns" => self.spec_text.iter().map(|s| format!("{s}\n")).collect(),
            _ => return None,
        }))
    }
    any_impl!();
}
