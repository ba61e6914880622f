//! AggregateIPFlows (Click's elements/analysis/aggregateipflows.cc): numbers TCP and UDP
//! flows in the aggregate annotation and marks direction in the paint annotation; later
//! fragments are held until their first fragment gives them a flow.

use crate::args::{bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, WriteResult};
use crate::element_class;
use crate::packet::{Packet, PacketBatch, Timestamp, AGGREGATE_ANNO_OFFSET, PAINT_ANNO_OFFSET};
use crate::registry::Registry;
use std::collections::{HashMap, VecDeque};

/// Register AggregateIPFlows.
pub fn register(r: &mut Registry) {
    r.register("AggregateIPFlows", || Box::<AggregateIpFlows>::default());
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;

struct FlowInfo {
    /// Source and destination port as Click reads them (a native-order word).
    ports: u32,
    aggregate: u32,
    last_sec: i64,
    /// Bit per direction that sent a FIN; 3 = over.
    flow_over: u8,
    reverse: bool,
}

#[derive(Default)]
struct HostPairInfo {
    /// Most recently used first.
    flows: VecDeque<FlowInfo>,
    fragments: VecDeque<Packet>,
}

/// Host pairs in first-seen order (so `clear` emits held fragments deterministically).
#[derive(Default)]
struct Map {
    index: HashMap<(u32, u32), usize>,
    pairs: Vec<HostPairInfo>,
}

impl Map {
    fn get(&mut self, key: (u32, u32)) -> usize {
        let n = self.pairs.len();
        let i = *self.index.entry(key).or_insert(n);
        if i == n {
            self.pairs.push(HostPairInfo::default());
        }
        i
    }
}

/// Outcome of one packet.
enum Act {
    Emit(Packet),
    Drop(Packet),
    Held,
}

pub struct AggregateIpFlows {
    tcp: Map,
    udp: Map,
    next: u32,
    active_sec: i64,
    gc_sec: i64,
    tcp_timeout: i64,
    tcp_done_timeout: i64,
    udp_timeout: i64,
    smallest_timeout: i64,
    gc_interval: i64,
    fragment_timeout: i64,
    icmp: bool,
    fragments: bool,
    /// Packets ready for output 0 (fragments released by another packet).
    out: PacketBatch,
}

impl Default for AggregateIpFlows {
    fn default() -> Self {
        AggregateIpFlows {
            tcp: Map::default(),
            udp: Map::default(),
            next: 1,
            active_sec: 0,
            gc_sec: 0,
            tcp_timeout: 24 * 60 * 60,
            tcp_done_timeout: 30,
            udp_timeout: 60,
            smallest_timeout: 30,
            gc_interval: 20 * 60,
            fragment_timeout: 30,
            icmp: false,
            fragments: true,
            out: Vec::new(),
        }
    }
}

/// The IP header a packet is classified by: an ICMP error's embedded header, else its own.
fn good_ip(p: &Packet) -> Option<&[u8]> {
    let ip = p.network_header().filter(|i| i.len() >= 20)?;
    if ip[9] == ICMP {
        let hl = ((ip[0] & 0xf) as usize) * 4;
        ip.get(hl + 8..).filter(|e| e.len() >= 20)
    } else {
        Some(ip)
    }
}

fn is_frag(ip: &[u8]) -> bool {
    u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0
}

fn first_frag(ip: &[u8]) -> bool {
    u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0
}

fn ip_id(p: &Packet) -> u16 {
    good_ip(p)
        .map(|i| u16::from_be_bytes([i[4], i[5]]))
        .unwrap_or(0)
}

fn ports_reverse_order(ports: u32) -> bool {
    ((ports << 16).wrapping_sub(ports) as i32) < 0
}

fn flip_ports(ports: u32) -> u32 {
    ((ports >> 16) & 0xFFFF) | (ports << 16)
}

fn paint(p: &Packet) -> u8 {
    p.anno[PAINT_ANNO_OFFSET]
}

impl AggregateIpFlows {
    fn map(&mut self, proto: u8) -> &mut Map {
        if proto == TCP {
            &mut self.tcp
        } else {
            &mut self.udp
        }
    }

    /// TCP flags end a flow (after FINs both ways, or a RST); a SYN revives it.
    fn packet_emit_hook(p: &Packet, finfo: &mut FlowInfo) {
        finfo.last_sec = p.timestamp.sec();
        let Some(ip) = good_ip(p) else { return };
        let hl = ((ip[0] & 0xf) as usize) * 4;
        let own = p.network_header().is_some_and(|o| o[9] != ICMP);
        if ip[9] == TCP && first_frag(ip) && paint(p) < 2 && own {
            if let Some(&flags) = ip.get(hl + 13) {
                if flags & 0x04 != 0 {
                    finfo.flow_over = 3;
                } else if flags & 0x01 != 0 {
                    finfo.flow_over |= 1 << paint(p);
                } else if flags & 0x02 != 0 {
                    finfo.flow_over = 0;
                }
            }
        }
    }

    fn relevant_timeout(&self, udp: bool, flow_over: u8) -> i64 {
        if udp {
            self.udp_timeout
        } else if flow_over == 3 {
            self.tcp_done_timeout
        } else {
            self.tcp_timeout
        }
    }

    fn find_flow(
        &mut self,
        proto: u8,
        hp: usize,
        ports: u32,
        flipped: bool,
        p: &Packet,
    ) -> (u32, bool) {
        let now = p.timestamp.sec();
        let syn = good_ip(p).is_some_and(|ip| {
            let hl = ((ip[0] & 0xf) as usize) * 4;
            ip[9] == TCP && ip.get(hl + 13).is_some_and(|f| f & 0x02 != 0)
        });
        let udp = proto != TCP;
        let smallest = self.smallest_timeout;
        let pos = self.map(proto).pairs[hp]
            .flows
            .iter()
            .position(|f| f.ports == ports);
        if let Some(i) = pos {
            let over = self.map(proto).pairs[hp].flows[i].flow_over;
            let timeout = self.relevant_timeout(udp, over);
            let next = self.next;
            let flows = &mut self.map(proto).pairs[hp].flows;
            let Some(mut f) = flows.remove(i) else {
                return (0, false);
            };
            let age = now - f.last_sec;
            let mut renewed = false;
            if (age > smallest && age > timeout) || (f.flow_over == 3 && syn) {
                // the old flow died: same ports, new aggregate
                f.aggregate = next;
                f.reverse = flipped;
                f.flow_over = 0;
                renewed = true;
            }
            let r = (f.aggregate, f.reverse);
            flows.push_front(f);
            if renewed {
                self.next += 1;
            }
            return r;
        }
        let agg = self.next;
        self.next += 1;
        // Click stamps a flow when its first packet leaves (a held fragment leaves later).
        self.map(proto).pairs[hp].flows.push_front(FlowInfo {
            ports,
            aggregate: agg,
            last_sec: 0,
            flow_over: 0,
            reverse: flipped,
        });
        (agg, flipped)
    }

    /// Release the oldest held fragment of a host pair (with the flow its first fragment
    /// found, or dropped when none did).
    fn emit_fragment_head(&mut self, proto: u8, hp: usize) {
        let pair = &mut self.map(proto).pairs[hp];
        let Some(mut head) = pair.fragments.pop_front() else {
            return;
        };
        let id = ip_id(&head);
        let agg = head.anno_u32(AGGREGATE_ANNO_OFFSET);
        if agg != 0 {
            let pa = paint(&head);
            for p in pair.fragments.iter_mut().filter(|p| ip_id(p) == id) {
                p.set_anno_u32(AGGREGATE_ANNO_OFFSET, agg);
                p.anno[PAINT_ANNO_OFFSET] = pa;
            }
        } else {
            let found = pair
                .fragments
                .iter()
                .find(|p| ip_id(p) == id && p.anno_u32(AGGREGATE_ANNO_OFFSET) != 0)
                .map(|p| (p.anno_u32(AGGREGATE_ANNO_OFFSET), paint(p)));
            match found {
                Some((a, pa)) => {
                    head.set_anno_u32(AGGREGATE_ANNO_OFFSET, a);
                    head.anno[PAINT_ANNO_OFFSET] = pa;
                }
                None => return, // no flow: the fragment dies
            }
        }
        let agg = head.anno_u32(AGGREGATE_ANNO_OFFSET);
        if let Some(i) = pair.flows.iter().position(|f| f.aggregate == agg) {
            if let Some(mut f) = pair.flows.remove(i) {
                Self::packet_emit_hook(&head, &mut f);
                pair.flows.push_front(f);
            }
        }
        self.out.push(head);
    }

    /// Release fragments that are too old or whose head is no fragment.
    fn release_fragments(&mut self, proto: u8, hp: usize, frag_timeout: i64) {
        loop {
            let release = match self.map(proto).pairs[hp].fragments.front() {
                Some(h) => h.timestamp.sec() < frag_timeout || !good_ip(h).is_some_and(is_frag),
                None => false,
            };
            if !release {
                return;
            }
            self.emit_fragment_head(proto, hp);
        }
    }

    fn reap(&mut self) {
        if self.gc_sec != 0 {
            let frag_timeout = self.active_sec - self.fragment_timeout;
            for (proto, timeout, done) in [
                (TCP, self.tcp_timeout, self.tcp_done_timeout),
                (UDP, self.udp_timeout, self.udp_timeout),
            ] {
                let (timeout, done) = (self.active_sec - timeout, self.active_sec - done);
                for hp in 0..self.map(proto).pairs.len() {
                    self.release_fragments(proto, hp, frag_timeout);
                    let pair = &mut self.map(proto).pairs[hp];
                    if !pair.fragments.is_empty() {
                        continue;
                    }
                    pair.flows.retain(|f| {
                        let limit = if f.flow_over == 3 { done } else { timeout };
                        f.last_sec >= limit
                    });
                }
            }
        }
        self.gc_sec = self.active_sec + self.gc_interval;
    }

    fn handle(&mut self, mut p: Packet, now: Timestamp) -> Act {
        if p.timestamp.is_zero() {
            p.timestamp = now;
        }
        let Some(outer) = p.network_header().filter(|i| i.len() >= 20) else {
            return Act::Drop(p);
        };
        let mut paint_v: u8 = 0;
        let outer_icmp = outer[9] == ICMP && first_frag(outer);
        let ip: Vec<u8> = if outer_icmp && self.icmp {
            paint_v = 2;
            let hl = ((outer[0] & 0xf) as usize) * 4;
            let icmp_type = outer.get(hl).copied().unwrap_or(255);
            let emb = outer.get(hl + 8..).unwrap_or(&[]);
            let ehl = emb.first().map(|b| ((b & 0xf) as usize) * 4).unwrap_or(0);
            if !matches!(icmp_type, 3 | 11 | 12 | 4 | 5) || ehl < 20 || emb.len() < ehl {
                return Act::Drop(p);
            }
            emb.to_vec()
        } else {
            outer.to_vec()
        };
        let proto = ip[9];
        let src = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
        let dst = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
        if (proto != TCP && proto != UDP) || (src == 0 && dst == 0) {
            return Act::Drop(p);
        }
        // Host pairs are ordered as Click compares the addresses (native-order words).
        let (sn, dn) = (src.swap_bytes(), dst.swap_bytes());
        let key = if sn > dn { (dn, sn) } else { (sn, dn) };
        if key.0 != sn {
            paint_v ^= 1;
        }
        let hp = self.map(proto).get(key);

        let mut have_flow = false;
        if first_frag(&ip) {
            let hl = ((ip[0] & 0xf) as usize) * 4;
            let Some(pw) = ip.get(hl..hl + 4) else {
                return Act::Drop(p);
            };
            let mut ports = u32::from_ne_bytes([pw[0], pw[1], pw[2], pw[3]]);
            if key.0 == key.1 && ports_reverse_order(ports) {
                paint_v ^= 1;
            }
            if paint_v & 1 != 0 {
                ports = flip_ports(ports);
            }
            let (agg, reverse) = self.find_flow(proto, hp, ports, paint_v & 1 != 0, &p);
            if reverse {
                paint_v ^= 1;
            }
            p.set_anno_u32(AGGREGATE_ANNO_OFFSET, agg);
            have_flow = true;
        } else {
            p.set_anno_u32(AGGREGATE_ANNO_OFFSET, 0);
        }
        p.anno[PAINT_ANNO_OFFSET] = paint_v;

        if (self.fragments && is_frag(&ip)) || !self.map(proto).pairs[hp].fragments.is_empty() {
            self.active_sec = p.timestamp.sec();
            self.map(proto).pairs[hp].fragments.push_back(p);
            let ft = self.active_sec - self.fragment_timeout;
            self.release_fragments(proto, hp, ft);
            return Act::Held;
        }
        if !have_flow {
            return Act::Drop(p);
        }
        self.active_sec = p.timestamp.sec();
        let agg = p.anno_u32(AGGREGATE_ANNO_OFFSET);
        let pair = &mut self.map(proto).pairs[hp];
        if let Some(f) = pair.flows.iter_mut().find(|f| f.aggregate == agg) {
            Self::packet_emit_hook(&p, f);
        }
        Act::Emit(p)
    }

    /// Process a batch: (output 0 in order, output 1).
    fn process(&mut self, batch: PacketBatch, now: Timestamp) -> (PacketBatch, PacketBatch) {
        let mut dropped = Vec::new();
        for p in batch {
            let act = self.handle(p, now);
            if self.active_sec >= self.gc_sec {
                self.reap();
            }
            match act {
                Act::Emit(p) => self.out.push(p),
                Act::Drop(p) => dropped.push(p),
                Act::Held => {}
            }
        }
        (std::mem::take(&mut self.out), dropped)
    }
}

impl Element for AggregateIpFlows {
    element_class!(class: "AggregateIPFlows", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("TCP_TIMEOUT", Kind::K),
                ("TCP_DONE_TIMEOUT", Kind::K),
                ("UDP_TIMEOUT", Kind::K),
                ("FRAGMENT_TIMEOUT", Kind::K),
                ("REAP", Kind::K),
                ("ICMP", Kind::K),
                ("FRAGMENTS", Kind::K),
                ("TRACEINFO", Kind::K),
                ("SOURCE", Kind::K),
            ],
        )?;
        if b.has("TRACEINFO") || b.has("SOURCE") {
            return Err("TRACEINFO and SOURCE are not supported".into());
        }
        let secs = |k: &str, d: i64| -> Result<i64, String> {
            Ok(b.time(k)?.map(|t| t as i64).unwrap_or(d))
        };
        self.tcp_timeout = secs("TCP_TIMEOUT", 24 * 60 * 60)?;
        self.tcp_done_timeout = secs("TCP_DONE_TIMEOUT", 30)?;
        self.udp_timeout = secs("UDP_TIMEOUT", 60)?;
        self.fragment_timeout = secs("FRAGMENT_TIMEOUT", 30)?;
        self.gc_interval = secs("REAP", 20 * 60)?;
        self.smallest_timeout = self
            .tcp_timeout
            .min(self.tcp_done_timeout)
            .min(self.udp_timeout);
        self.icmp = b.bool("ICMP")?.unwrap_or(false);
        self.fragments = b.bool("FRAGMENTS")?.unwrap_or(true);
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let (out, dropped) = self.process(batch, ctx.now());
        ctx.output(0, out);
        ctx.output(1, dropped);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        // Fragments cannot be held in pull context (Click's FRAGMENTS default there).
        self.fragments = false;
        let batch = ctx.pull(0, max);
        let (out, dropped) = self.process(batch, ctx.now());
        ctx.output(1, dropped);
        out
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::w("clear")]
    }
    fn write_handler(&mut self, name: &str, _v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "clear").then(|| {
            let (a, g) = (self.active_sec, self.gc_sec);
            self.active_sec = 0x7FFF_FFFF;
            self.gc_sec = 0x7FFF_FFFF;
            self.reap();
            self.active_sec = a;
            self.gc_sec = g;
            let out = std::mem::take(&mut self.out);
            ctx.output(0, out);
            Ok(())
        })
    }
}
