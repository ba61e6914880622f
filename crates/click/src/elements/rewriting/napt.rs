//! IPRewriter, TCPRewriter, UDPRewriter and ICMPPingRewriter: NAPT with Click's mapping
//! choices (patterns, `#` sequential and random port choice through Click's generator), its
//! capacity sharing, guarantees, TCP/UDP-state-dependent timeouts, and its handler texts.

use super::spec::{parse_spec, FlowId, InputSpec};
use super::table::{
    Flow, FlowKind, FlowTable, Jiffies, Timeouts, TCP_FORWARD_DATA, TCP_FORWARD_DONE,
    TCP_REPLY_DONE,
};
use crate::args;
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::ip::update_checksum;
use crate::packet::{Packet, PacketBatch, Timestamp};
use netwire::checksum::checksum;
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// The four NAPT classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Ip,
    Tcp,
    Udp,
    IcmpPing,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Ip, Class::Tcp, Class::Udp, Class::IcmpPing];

    pub fn name(self) -> &'static str {
        match self {
            Class::Ip => "IPRewriter",
            Class::Tcp => "TCPRewriter",
            Class::Udp => "UDPRewriter",
            Class::IcmpPing => "ICMPPingRewriter",
        }
    }
}

const SEC: Jiffies = 1000;
const TIMER_REAP: u32 = 0;

pub(crate) fn jiffies(t: Timestamp) -> Jiffies {
    t.0.div_euclid(1_000_000)
}

/// Click adds 1 to the ICMP identifier in network byte order (x86 reference).
pub(super) fn ident_plus1(x: u16) -> u16 {
    x.swap_bytes().wrapping_add(1).swap_bytes()
}

/// What an input spec decided for a packet without mapping.
enum NewFlow {
    Flow(usize),
    Output(usize),
    Drop,
}

/// One NAPT rewriter element.
pub struct Rewriter {
    class: Class,
    specs: Vec<InputSpec>,
    failures: Vec<u32>,
    table: Rc<RefCell<FlowTable>>,
    /// MAPPING_CAPACITY named another rewriter: share its table (resolved at initialize).
    share: Option<String>,
    id: usize,
    /// Timeouts of TCP flows (UDPRewriter, ICMPPingRewriter: of all flows).
    main: Timeouts,
    /// IPRewriter's timeouts of UDP flows.
    udp: Timeouts,
    dst_anno: bool,
    reply_anno: Option<usize>,
    reap: Jiffies,
}

impl Rewriter {
    pub fn new(class: Class) -> Rewriter {
        let t = Timeouts {
            best_effort: 300 * SEC,
            guarantee: 5 * SEC,
            tcp_data: 86_400 * SEC,
            tcp_done: 240 * SEC,
            udp_streaming: 300 * SEC,
        };
        Rewriter {
            class,
            specs: Vec::new(),
            failures: Vec::new(),
            table: Rc::new(RefCell::new(FlowTable::default())),
            share: None,
            id: 0,
            main: t,
            udp: t,
            dst_anno: true,
            reply_anno: None,
            reap: 15 * 60 * SEC,
        }
    }

    /// Apply one keyword argument; false when this class has no such keyword.
    fn keyword(&mut self, k: &str, v: &str, cx: &ConfigureCx<'_>) -> Result<bool, String> {
        let secs = || -> Result<Jiffies, String> {
            args::parse_time(v)
                .filter(|s| *s >= 0.0)
                .map(|s| (s.round() as Jiffies) * SEC)
                .ok_or_else(|| format!("{k}: expected time in seconds"))
        };
        let (tcp, ip, udp) = (
            matches!(self.class, Class::Tcp | Class::Ip),
            self.class == Class::Ip,
            self.class == Class::Udp,
        );
        match k {
            "CAPACITY" | "MAPPING_CAPACITY" => match args::parse_u64(v) {
                Some(c) => self.table.borrow_mut().capacity = c.min(0x7FFF_FFFF) as u32,
                None => match cx.find_element(v.trim()) {
                    Some((name, class, _)) if Class::ALL.iter().any(|c| c.name() == class) => {
                        self.share = Some(name.clone())
                    }
                    _ => return Err("bad MAPPING_CAPACITY".into()),
                },
            },
            "REAP_INTERVAL" | "REAP_TIME" => self.reap = secs()?,
            "DST_ANNO" => {
                self.dst_anno = args::parse_bool(v).ok_or("DST_ANNO: expected boolean")?
            }
            "REPLY_ANNO" => {
                self.reply_anno = Some(match v.trim() {
                    "PAINT" => crate::packet::PAINT_ANNO_OFFSET,
                    s => args::parse_u64(s)
                        .map(|x| x as usize)
                        .filter(|x| *x < crate::packet::ANNO_SIZE)
                        .ok_or("REPLY_ANNO: expected annotation")?,
                })
            }
            "GUARANTEE" => self.main.guarantee = secs()?,
            "TIMEOUT" if tcp => self.main.tcp_data = secs()?,
            "TIMEOUT" => self.main.best_effort = secs()?,
            "TCP_TIMEOUT" if tcp => self.main.tcp_data = secs()?,
            "TCP_NODATA_TIMEOUT" if tcp => self.main.best_effort = secs()?,
            "TCP_GUARANTEE" if tcp => self.main.guarantee = secs()?,
            "TCP_DONE_TIMEOUT" if tcp => self.main.tcp_done = secs()?,
            "UDP_TIMEOUT" if ip => self.udp.best_effort = secs()?,
            "UDP_STREAMING_TIMEOUT" if ip => self.udp.udp_streaming = secs()?,
            "UDP_GUARANTEE" if ip => self.udp.guarantee = secs()?,
            "UDP_TIMEOUT" if udp => self.main.best_effort = secs()?,
            "UDP_STREAMING_TIMEOUT" | "STREAMING_TIMEOUT" if udp => {
                self.main.udp_streaming = secs()?
            }
            "UDP_GUARANTEE" if udp => self.main.guarantee = secs()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The flow table and the map holding `proto` flows (for ICMPRewriter).
    pub fn map_for(&self, proto: u8) -> Option<(Rc<RefCell<FlowTable>>, u32)> {
        let ok = match self.class {
            Class::Ip => matches!(proto, 6 | 17),
            Class::Tcp | Class::Udp => true,
            Class::IcmpPing => proto == 1,
        };
        ok.then(|| (self.table.clone(), self.map_id(proto)))
    }

    fn map_id(&self, proto: u8) -> u32 {
        let udp = self.class == Class::Ip && proto != 6;
        (self.id as u32) * 2 + u32::from(udp)
    }

    /// Flow kind and timeouts for a new flow of `proto`.
    fn kind(&self, proto: u8) -> (FlowKind, Timeouts) {
        match self.class {
            Class::Ip if proto != 6 => (FlowKind::Udp, self.udp),
            Class::Ip | Class::Tcp => (FlowKind::Tcp, self.main),
            Class::Udp => (FlowKind::Udp, self.main),
            Class::IcmpPing => (FlowKind::Ping, self.main),
        }
    }

    /// Output for a packet that cannot be mapped: the `pass` output, else drop.
    fn nochange(&self, port: usize) -> Option<usize> {
        match self.specs.get(port) {
            Some(InputSpec::Pass(o)) => Some(*o),
            _ => None,
        }
    }

    /// Click's IPRewriterInput::rewrite_flowid followed by add_flow/store_flow.
    #[allow(clippy::too_many_arguments)]
    fn new_flow(
        &mut self,
        table: &mut FlowTable,
        port: usize,
        map: u32,
        f: FlowId,
        proto: u8,
        now: Jiffies,
        fixup: impl Fn(FlowId) -> Option<FlowId>,
    ) -> NewFlow {
        let Some(spec) = self.specs.get_mut(port) else {
            return NewFlow::Drop;
        };
        let (to, outs) = match spec {
            InputSpec::Drop => return NewFlow::Drop,
            InputSpec::Pass(o) => return NewFlow::Output(*o),
            InputSpec::Keep(fo, ro) => (Some(f), [*fo, *ro]),
            InputSpec::Pattern {
                pats,
                fout,
                rout,
                next,
                ..
            } => {
                let n = pats.len();
                let mut found = None;
                for _ in 0..n {
                    let i = *next % n;
                    *next = (i + 1) % n;
                    let p = &mut pats[i];
                    if let Some(to) = p.rewrite(f, |l| table.contains(map, l)) {
                        found = Some((to, p.outs.map_or([*fout, *rout], |(a, b)| [a, b])));
                        break;
                    }
                }
                match found {
                    Some((to, outs)) => (Some(to), outs),
                    None => (None, [0, 0]),
                }
            }
        };
        let Some(to) = to else {
            self.failures[port] += 1;
            return NewFlow::Drop;
        };
        let Some(to) = fixup(to) else {
            return NewFlow::Drop;
        };
        let (kind, timeouts) = self.kind(proto);
        let mut flow = Flow::new(self.id, port, map, f, to, outs, kind, timeouts, now);
        flow.ip_p = proto;
        match table.store(flow, now) {
            Some(i) => NewFlow::Flow(i),
            None => {
                self.failures[port] += 1;
                NewFlow::Drop
            }
        }
    }

    /// Rewrite one packet; the output, or None to drop.
    fn handle(&mut self, port: usize, p: &mut Packet, now: Jiffies) -> Option<usize> {
        let ip = p.network_header()?;
        if ip.len() < 20 {
            return None;
        }
        let proto = ip[9];
        let hl = ((ip[0] & 0xf) as usize) * 4;
        let first_frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
        let tlen = ip.len().saturating_sub(hl);
        let saddr = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
        let daddr = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
        let ping = self.class == Class::IcmpPing;
        let ok = match self.class {
            Class::Tcp => proto == 6,
            // Click's UDPRewriter maps TCP and DCCP flows as well.
            Class::Udp => matches!(proto, 6 | 17 | 33),
            Class::Ip => matches!(proto, 6 | 17),
            Class::IcmpPing => proto == 1 && tlen >= 6 && matches!(ip[hl], 0 | 8),
        };
        if !ok || !first_frag || (!ping && tlen < 8) {
            return self.nochange(port);
        }
        let echo = ping && ip[hl] == 8;
        let f = if ping {
            let ident = u16::from_be_bytes([ip[hl + 4], ip[hl + 5]]);
            let (s, d) = if echo {
                (ident, ident_plus1(ident))
            } else {
                (ident_plus1(ident), ident)
            };
            FlowId {
                saddr,
                sport: s,
                daddr,
                dport: d,
            }
        } else {
            FlowId {
                saddr,
                sport: u16::from_be_bytes([ip[hl], ip[hl + 1]]),
                daddr,
                dport: u16::from_be_bytes([ip[hl + 2], ip[hl + 3]]),
            }
        };
        let map = self.map_id(proto);
        let table_rc = self.table.clone();
        let mut table = table_rc.borrow_mut();
        let (fi, dir) = match table.lookup(map, &f) {
            Some(x) => x,
            None if ping && !echo => return self.nochange(port),
            None => {
                let fixup = |to: FlowId| {
                    if !ping {
                        return Some(to);
                    }
                    let to = FlowId {
                        dport: ident_plus1(to.sport),
                        ..to
                    };
                    (ident_plus1(f.sport) == f.dport).then_some(to)
                };
                match self.new_flow(&mut table, port, map, f, proto, now, fixup) {
                    NewFlow::Flow(i) => {
                        if let (Some(off), Some(fl)) = (self.reply_anno, table.flow_mut(i)) {
                            fl.reply_anno = p.anno[off];
                        }
                        (i, false)
                    }
                    NewFlow::Output(o) => return Some(o),
                    NewFlow::Drop => return None,
                }
            }
        };
        let fl = table.flow_mut(fi)?;
        let to = fl.rewritten(dir);
        if self.dst_anno {
            p.set_dst_ip_anno(to.daddr.to_be_bytes());
        }
        if dir {
            if let Some(off) = self.reply_anno {
                p.anno[off] = fl.reply_anno;
            }
        }
        let ip = p.network_header_mut()?;
        apply(ip, hl, &f, &to, fl, dir);
        let out = fl.outs[usize::from(dir)];
        let (g, t) = (fl.timeouts.guarantee, fl.flow_timeout());
        if g != 0 {
            table.change_expiry(fi, true, now + g);
        } else {
            table.change_expiry(fi, false, now + t);
        }
        Some(out)
    }

    /// FTPPortMapper's view of the control connection: the TCP flow `f` belongs to (index and
    /// direction), without creating one.
    pub fn tcp_flow(&self, f: &FlowId) -> Option<(usize, bool)> {
        self.table.borrow().lookup(self.map_id(6), f)
    }

    /// The TCP mapping for `f`, created through input `port`'s spec when missing; returns its
    /// flow index and the rewritten flow.
    pub fn tcp_mapping(&mut self, port: usize, f: FlowId, now: Jiffies) -> Option<(usize, FlowId)> {
        let map = self.map_id(6);
        let table_rc = self.table.clone();
        let mut table = table_rc.borrow_mut();
        let (i, dir) = match table.lookup(map, &f) {
            Some(x) => x,
            None => match self.new_flow(&mut table, port, map, f, 6, now, Some) {
                NewFlow::Flow(i) => (i, false),
                _ => return None,
            },
        };
        let to = table.flow(i)?.rewritten(dir);
        Some((i, to))
    }

    /// Run `f` on flow `i` of this rewriter's table.
    pub fn with_flow<R>(&self, i: usize, f: impl FnOnce(&mut Flow) -> R) -> Option<R> {
        self.table.borrow_mut().flow_mut(i).map(f)
    }

    fn table_text(&self, now: Jiffies, map: u32) -> String {
        let t = self.table.borrow();
        let mut s = String::new();
        for (k, i, dir) in t.entries(map) {
            let Some(f) = t.flow(i) else { continue };
            let r = f.rewritten(dir);
            if f.kind == FlowKind::Ping {
                s.push_str(&format!(
                    "({}, {}, {}) => ({}, {}, {})",
                    Ipv4Addr::from(k.saddr),
                    Ipv4Addr::from(k.daddr),
                    k.sport,
                    Ipv4Addr::from(r.saddr),
                    Ipv4Addr::from(r.daddr),
                    r.sport
                ));
            } else {
                s.push_str(&format!("{k} => {r}"));
                let d = f.seq_delta(dir);
                if d != 0 {
                    s.push_str(&format!(" seq {}{d}", if d > 0 { "+" } else { "" }));
                }
            }
            s.push_str(&f.unparse_ports(dir, now));
            s.push('\n');
        }
        s
    }

    /// The `lookup`/`tcp_lookup` handler: `SADDR SPORT DADDR DPORT` to the rewritten flow.
    fn lookup_text(&self, param: &str) -> Result<String, String> {
        let w = args::split_words(param);
        let ai = args::AddressInfo::default();
        let (Some(sa), Some(sp), Some(da), Some(dp)) = (
            w.first().and_then(|x| args::parse_ip(x, &ai)),
            w.get(1).and_then(|x| x.parse::<u16>().ok()),
            w.get(2).and_then(|x| args::parse_ip(x, &ai)),
            w.get(3).and_then(|x| x.parse::<u16>().ok()),
        ) else {
            return Err("expected SADDR SPORT DADDR DPORT".into());
        };
        let id = FlowId {
            saddr: u32::from(sa),
            sport: sp,
            daddr: u32::from(da),
            dport: dp,
        };
        let t = self.table.borrow();
        Ok(match t.lookup(self.map_id(6), &id) {
            Some((i, dir)) => match t.flow(i) {
                Some(f) => {
                    let r = f.rewritten(dir);
                    format!(
                        "{} {} {} {}",
                        Ipv4Addr::from(r.saddr),
                        r.sport,
                        Ipv4Addr::from(r.daddr),
                        r.dport
                    )
                }
                None => String::new(),
            },
            None => String::new(),
        })
    }

    fn spec_line(&self, i: usize) -> String {
        let Some(s) = self.specs.get(i) else {
            return String::new();
        };
        let n = self.table.borrow().count(self.id, i);
        if n > 0 {
            format!("{} [{n}]\n", s.unparse())
        } else {
            format!("{}\n", s.unparse())
        }
    }
}

/// Rewrite addresses, ports/identifier and checksums of one packet from `from` to `to`, and
/// track the connection state, as Click's TCPFlow/UDPFlow/ICMPPingFlow::apply.
fn apply(ip: &mut [u8], hl: usize, from: &FlowId, to: &FlowId, fl: &mut Flow, dir: bool) {
    ip[12..16].copy_from_slice(&to.saddr.to_be_bytes());
    ip[16..20].copy_from_slice(&to.daddr.to_be_bytes());
    let words = |a: u32| [(a >> 16) as u16, a as u16];
    let addr_pairs = [
        (words(from.saddr)[0], words(to.saddr)[0]),
        (words(from.saddr)[1], words(to.saddr)[1]),
        (words(from.daddr)[0], words(to.daddr)[0]),
        (words(from.daddr)[1], words(to.daddr)[1]),
    ];
    for (o, n) in addr_pairs {
        if o != n {
            update_checksum(&mut ip[10..12], o, n);
        }
    }
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
        return;
    }
    let proto = ip[9];
    let tlen = ip.len().saturating_sub(hl);
    let ip_len = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    let t = &mut ip[hl..];
    let port_pairs = [(from.sport, to.sport), (from.dport, to.dport)];
    let update_l4 = |t: &mut [u8], off: usize| {
        for (o, n) in addr_pairs.iter().chain(port_pairs.iter()) {
            if o != n {
                update_checksum(&mut t[off..off + 2], *o, *n);
            }
        }
    };
    match fl.kind {
        FlowKind::Ping => {
            let ident = if dir { to.dport } else { to.sport };
            t[4..6].copy_from_slice(&ident.to_be_bytes());
            t[2] = 0;
            t[3] = 0;
            let c = checksum(t);
            t[2..4].copy_from_slice(&c.to_be_bytes());
        }
        FlowKind::Tcp => {
            if tlen < 18 {
                return;
            }
            t[0..2].copy_from_slice(&to.sport.to_be_bytes());
            t[2..4].copy_from_slice(&to.dport.to_be_bytes());
            update_l4(t, 16);
            let off = ((t[12] >> 4) as usize) * 4;
            let flags = t[13];
            let have_payload = hl + off < ip_len;
            let shift = u8::from(dir);
            if flags & 0x04 != 0 {
                fl.tflags |= TCP_FORWARD_DONE | TCP_REPLY_DONE;
            } else if flags & 0x01 != 0 {
                fl.tflags |= TCP_FORWARD_DONE << shift;
            } else if flags & 0x02 != 0 || have_payload {
                fl.tflags &= !(TCP_FORWARD_DONE << shift);
            }
            if have_payload {
                fl.tflags |= TCP_FORWARD_DATA << shift;
            }
            if off < 20 || tlen < off {
                return;
            }
            apply_seq_deltas(&mut t[..off], fl, dir);
        }
        FlowKind::Udp => {
            t[0..2].copy_from_slice(&to.sport.to_be_bytes());
            t[2..4].copy_from_slice(&to.dport.to_be_bytes());
            if proto == 6 && tlen >= 18 {
                update_l4(t, 16);
            } else if proto == 17 && (t[6] != 0 || t[7] != 0) {
                update_l4(t, 6);
            }
            if dir {
                fl.tflags |= 1;
            }
            if fl.tflags < 6 {
                fl.tflags += 2;
            }
        }
    }
}

/// Shift sequence and acknowledgement numbers (and SACK blocks) by the flow's deltas.
fn apply_seq_deltas(t: &mut [u8], fl: &mut Flow, dir: bool) {
    let word = |t: &[u8], o: usize| u32::from_be_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
    let set = |t: &mut [u8], o: usize, new: u32| {
        let old = word(t, o);
        t[o..o + 4].copy_from_slice(&new.to_be_bytes());
        for (a, b) in [
            ((old >> 16) as u16, (new >> 16) as u16),
            (old as u16, new as u16),
        ] {
            if a != b {
                update_checksum(&mut t[16..18], a, b);
            }
        }
    };
    fl.expire_seq_triggers(dir, word(t, 4));
    if fl.shifts(dir) {
        let seq = fl.new_seq(dir, word(t, 4));
        set(t, 4, seq);
    }
    if !fl.shifts(!dir) {
        return;
    }
    let ack = fl.new_ack(dir, word(t, 8));
    set(t, 8, ack);
    // SACK blocks acknowledge the other direction too (skipped for the common
    // NOP NOP timestamp-only header).
    let off = t.len();
    if off < 32 || (off == 32 && word(t, 20) == 0x0101_080A) {
        return;
    }
    let mut i = 20;
    while i < off {
        match t[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = t.get(i + 1) else { break };
                let len = len as usize;
                if len < 2 || i + len > off {
                    break;
                }
                if kind == 5 && len % 8 == 2 {
                    for k in (i + 2..i + len).step_by(8) {
                        let a = fl.new_ack(dir, word(t, k));
                        set(t, k, a);
                        let b = fl.new_ack(dir, word(t, k + 4));
                        set(t, k + 4, b);
                    }
                }
                i += len;
            }
        }
    }
}

impl Element for Rewriter {
    element_class!(self => class: self.class.name(), ports: "1-/1-", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        if self.class == Class::Tcp || self.class == Class::IcmpPing {
            self.main.best_effort = 300 * SEC;
        }
        let mut errs = Vec::new();
        let mut specs = Vec::new();
        for a in args::split_args(conf) {
            let spec = match args::split_keyword(&a) {
                Some(("INPUTSPEC", v)) => v.to_string(),
                Some((k, v)) => {
                    if !self.keyword(k, v, cx)? {
                        return Err(format!("unknown keyword '{k}'"));
                    }
                    continue;
                }
                None => a.clone(),
            };
            specs.push(spec);
        }
        if specs.len() != cx.ninputs {
            return Err(format!("need {} arguments, one per input port", cx.ninputs));
        }
        // Without STREAMING_TIMEOUT streaming flows keep the ordinary timeout.
        if !conf.contains("STREAMING_TIMEOUT") {
            self.main.udp_streaming = self.main.best_effort;
            self.udp.udp_streaming = self.udp.best_effort;
        }
        for (i, s) in specs.iter().enumerate() {
            match parse_spec(s, cx) {
                Ok(s) if s.outputs().iter().any(|o| *o >= cx.noutputs) => {
                    errs.push(format!("input spec {i}: output port out of range"))
                }
                Ok(s) => self.specs.push(s),
                Err(e) => errs.push(format!("input spec {i}: {e}")),
            }
        }
        self.failures = vec![0; self.specs.len()];
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        }
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.id = ctx.index();
        if let Some(name) = self.share.clone() {
            let idx = (0..ctx.element_count())
                .find(|&i| ctx.element_name(i) == Some(name.as_str()))
                .ok_or("bad MAPPING_CAPACITY")?;
            let shared = ctx
                .with_element(idx, |e| {
                    e.as_any_mut()
                        .downcast_mut::<Rewriter>()
                        .map(|r| r.table.clone())
                })
                .flatten()
                .ok_or("bad MAPPING_CAPACITY")?;
            self.table = shared;
        }
        if self.reap > 0 {
            let at = Timestamp(ctx.now().0 + self.reap * 1_000_000);
            ctx.schedule_timer(TIMER_REAP, at);
        }
        Ok(())
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        self.table.borrow_mut().shrink(jiffies(ctx.now()), false);
        if self.reap > 0 {
            let at = Timestamp(ctx.now().0 + self.reap * 1_000_000);
            ctx.schedule_timer(TIMER_REAP, at);
        }
    }
    fn push(&mut self, port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let now = jiffies(ctx.now());
        let n = ctx.noutputs();
        let outs: Vec<Option<usize>> = batch
            .iter_mut()
            .map(|p| self.handle(port, p, now))
            .collect();
        if let Some(&first) = outs.first() {
            if outs.iter().all(|&o| o == first) {
                if let Some(o) = first {
                    ctx.output(o, batch);
                }
                return;
            }
        }
        let mut buckets: Vec<PacketBatch> = (0..n).map(|_| Vec::new()).collect();
        for (p, o) in batch.into_iter().zip(outs) {
            if let Some(b) = o.and_then(|o| buckets.get_mut(o)) {
                b.push(p);
            }
        }
        for (o, b) in buckets.into_iter().enumerate() {
            ctx.output(o, b);
        }
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::r("table_size"),
            HandlerSpec::r("nmappings"),
            HandlerSpec::r("mapping_failures"),
            HandlerSpec::r("patterns"),
            HandlerSpec::r("size"),
            HandlerSpec::rw("capacity"),
            HandlerSpec::w("clear"),
        ];
        match self.class {
            Class::Ip => {
                v.push(HandlerSpec::r("tcp_table"));
                v.push(HandlerSpec::r("udp_table"));
                v.push(HandlerSpec::r("tcp_mappings"));
                v.push(HandlerSpec::r("udp_mappings"));
                v.push(HandlerSpec::r("tcp_lookup"));
            }
            Class::Tcp => {
                v.push(HandlerSpec::r("table"));
                v.push(HandlerSpec::r("mappings"));
                v.push(HandlerSpec::r("lookup"));
            }
            Class::Udp | Class::IcmpPing => {
                v.push(HandlerSpec::r("table"));
                v.push(HandlerSpec::r("mappings"));
            }
        }
        for i in 0..self.specs.len() {
            v.push(HandlerSpec::rw(&format!("pattern{i}")));
        }
        v
    }
    fn read_handler(&mut self, name: &str, param: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        let now = jiffies(ctx.now());
        let count = |s: &Self| -> u32 {
            let t = s.table.borrow();
            (0..s.specs.len()).map(|i| t.count(s.id, i)).sum()
        };
        Some(Ok(match name {
            "table" | "mappings" if self.class != Class::Ip => self.table_text(now, self.map_id(6)),
            "tcp_table" | "tcp_mappings" if self.class == Class::Ip => {
                self.table_text(now, self.map_id(6))
            }
            "udp_table" | "udp_mappings" if self.class == Class::Ip => {
                self.table_text(now, self.map_id(17))
            }
            "lookup" if self.class == Class::Tcp => return Some(self.lookup_text(param)),
            "tcp_lookup" if self.class == Class::Ip => return Some(self.lookup_text(param)),
            "table_size" | "nmappings" => count(self).to_string(),
            "mapping_failures" => self.failures.iter().sum::<u32>().to_string(),
            "size" => self.table.borrow().size().to_string(),
            "capacity" => self.table.borrow().capacity.to_string(),
            "patterns" => (0..self.specs.len()).map(|i| self.spec_line(i)).collect(),
            _ => match name
                .strip_prefix("pattern")
                .and_then(|i| i.parse::<usize>().ok())
            {
                Some(i) if i < self.specs.len() => self.spec_line(i),
                _ => return None,
            },
        }))
    }
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let now = jiffies(ctx.now());
        match name {
            "capacity" => {
                let Some(c) = args::parse_u64(value.trim()) else {
                    return Some(Err("CAPACITY: expected unsigned integer".into()));
                };
                let mut t = self.table.borrow_mut();
                t.capacity = c.min(0x7FFF_FFFF) as u32;
                t.shrink(now, false);
                Some(Ok(()))
            }
            "clear" => {
                self.table.borrow_mut().shrink(now, true);
                Some(Ok(()))
            }
            _ => {
                let i = name.strip_prefix("pattern")?.parse::<usize>().ok()?;
                if i >= self.specs.len() {
                    return None;
                }
                // Pattern specs are parsed without the configuration's element list here;
                // mapper names are not available at run time.
                let elements = Vec::new();
                let ai = args::AddressInfo::default();
                let cx = ConfigureCx {
                    name: ctx.name(),
                    ninputs: self.specs.len(),
                    noutputs: ctx.noutputs(),
                    addrs: &ai,
                    elements: &elements,
                    warnings: Vec::new(),
                    messages: Vec::new(),
                };
                match parse_spec(value, &cx) {
                    Ok(s) => {
                        self.table.borrow_mut().destroy_owned_by(self.id, i);
                        self.specs[i] = s;
                        Some(Ok(()))
                    }
                    Err(e) => Some(Err(format!("input spec {i}: {e}"))),
                }
            }
        }
    }
}
