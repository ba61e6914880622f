//! IPAddrRewriter and IPAddrPairRewriter: address-only NAT (ports are never changed).

use super::spec::{parse_spec, FlowId, InputSpec};
use crate::any_impl;
use crate::args;
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::elements::ip::{set_ip_checksum, update_checksum};
use crate::elements::standard::classify_out;
use crate::packet::{Packet, PacketBatch};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;

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
pub(super) enum Mode {
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

#[derive(Clone, Copy, Debug)]
struct Entry {
    to: Flow,
    out: usize,
    /// True for the reply-direction entry of a mapping.
    reply: bool,
    /// The REPLY_ANNO value given to reply packets.
    anno: u8,
}

/// IPAddrRewriter, IPAddrPairRewriter.
pub struct AddrRewriter {
    class: &'static str,
    mode: Mode,
    specs: Vec<InputSpec>,
    map: HashMap<Flow, Entry, BuildHasherDefault<FxHasher>>,
    n: usize,
    failures: u64,
    capacity: usize,
    reply_anno: Option<usize>,
    spec_text: Vec<String>,
}

impl AddrRewriter {
    pub(super) fn new(class: &'static str, mode: Mode) -> Self {
        AddrRewriter {
            class,
            mode,
            specs: Vec::new(),
            map: HashMap::default(),
            n: 0,
            failures: 0,
            capacity: 0,
            reply_anno: None,
            spec_text: Vec::new(),
        }
    }

    fn key(&self, f: Flow, forward: bool) -> Flow {
        match self.mode {
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
            InputSpec::Pattern {
                mut pats,
                fout,
                rout,
                next,
                mapper,
            } => {
                let i = next % pats.len().max(1);
                let mut p = pats.get(i)?.clone();
                let (pfo, pro) = p.outs.unwrap_or((fout, rout));
                let from = FlowId {
                    saddr: f.saddr,
                    sport: f.sport,
                    daddr: f.daddr,
                    dport: f.dport,
                };
                let mapped = |l: &FlowId| {
                    let l = Flow {
                        proto: f.proto,
                        saddr: l.saddr,
                        sport: l.sport,
                        daddr: l.daddr,
                        dport: l.dport,
                    };
                    self.map.contains_key(&self.key(l, false))
                };
                let Some(t) = p.rewrite(from, mapped) else {
                    self.failures += 1;
                    return None;
                };
                let to = Flow {
                    proto: f.proto,
                    saddr: t.saddr,
                    sport: t.sport,
                    daddr: t.daddr,
                    dport: t.dport,
                };
                pats[i] = p;
                let next = (i + 1) % pats.len().max(1);
                self.specs[port] = InputSpec::Pattern {
                    pats,
                    fout,
                    rout,
                    next,
                    mapper,
                };
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
        let old = self.map.insert(
            kr,
            Entry {
                to: from.reverse(),
                out: ro,
                reply: true,
                anno: 0,
            },
        );
        // As Click's store_flow: a new mapping whose reply key is taken destroys the flow
        // that held it, forward entry included.
        if let Some(old) = old {
            let old_forward = self.key(old.to.reverse(), true);
            if old_forward != kf {
                self.map.remove(&old_forward);
            }
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
        to.sport = f.sport;
        to.dport = f.dport;
        to.proto = f.proto;
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

impl Element for AddrRewriter {
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
                match parse_spec(v, cx) {
                    Ok(s) => self.specs.push(s),
                    Err(e) => errs.push(format!("input spec {idx}: {e}")),
                }
                idx += 1;
                continue;
            }
            match parse_spec(&a, cx) {
                Ok(s) => self.specs.push(s),
                Err(e) => errs.push(format!("input spec {idx}: {e}")),
            }
            idx += 1;
        }
        if errs.is_empty() && self.specs.len() != cx.ninputs {
            errs.push(format!("need {} arguments, one per input port", cx.ninputs));
        }
        for s in &self.specs {
            let outs = s.outputs();
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
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let n = self.n;
        classify_out(batch, n, ctx, |p| self.handle(port, p));
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
                    Some(InputSpec::Pattern { pats, .. }) if pats.len() == 1 => {
                        format!("{}\n", pats[0].unparse())
                    }
                    _ => format!("{s}\n"),
                })
                .collect(),
            _ => return None,
        }))
    }
    any_impl!();
}
