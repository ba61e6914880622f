//! The flow table of the NAPT rewriters, as Click's IPRewriterHeap and maps: flows live in a
//! best-effort heap or a guarantee heap ordered by expiry; when the table is over capacity the
//! next best-effort flow to expire is dropped, and a new flow is refused when every flow is
//! still guaranteed (admission control). Rewriters that share `MAPPING_CAPACITY` share one table.

use super::spec::FlowId;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

/// Time in milliseconds (Click's jiffies at user level).
pub type Jiffies = i64;

/// What a flow's timeouts depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    Tcp,
    Udp,
    Ping,
}

/// A rewriter's timeouts in jiffies (Click's `_timeouts[0..2]` and the per-protocol extras).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Best-effort timeout (TCP: no-data timeout).
    pub best_effort: Jiffies,
    /// Guarantee after each packet (0 = flows are best-effort at once).
    pub guarantee: Jiffies,
    pub tcp_data: Jiffies,
    pub tcp_done: Jiffies,
    pub udp_streaming: Jiffies,
}

/// TCP state bits in `Flow::tflags` (Click's TCPFlow).
pub const TCP_FORWARD_DONE: u8 = 1;
pub const TCP_REPLY_DONE: u8 = 2;
pub const TCP_FORWARD_DATA: u8 = 4;
pub const TCP_REPLY_DATA: u8 = 8;

/// TCP sequence order: `a` is at or after `b`.
pub fn seq_geq(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// One mapping: entry 0 is the original flow, entry 1 the reply flow (the rewritten flow
/// reversed).
#[derive(Clone, Debug)]
pub struct Flow {
    /// Owning element (router index) and its input port.
    pub elem: usize,
    pub input: usize,
    /// The map (per element and protocol family) the entries live in.
    pub map: u32,
    pub ids: [FlowId; 2],
    pub outs: [usize; 2],
    pub expiry: Jiffies,
    pub guaranteed: bool,
    pub kind: FlowKind,
    /// IP protocol of the packet that created the flow.
    pub ip_p: u8,
    pub tflags: u8,
    /// TCP sequence number shifts per direction, (trigger, delta) oldest first: packets at or
    /// after the trigger move by delta (FTPPortMapper changed a payload's length).
    pub seq_deltas: [Vec<(u32, i32)>; 2],
    /// The shift for sequence numbers before every trigger (triggers 1G behind are dropped).
    pub seq_base: [i32; 2],
    pub reply_anno: u8,
    pub timeouts: Timeouts,
    seq: u64,
}

impl Flow {
    /// A new flow from `from` rewritten to `to`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        elem: usize,
        input: usize,
        map: u32,
        from: FlowId,
        to: FlowId,
        outs: [usize; 2],
        kind: FlowKind,
        timeouts: Timeouts,
        now: Jiffies,
    ) -> Flow {
        let guaranteed = timeouts.guarantee != 0;
        let t = if guaranteed {
            timeouts.guarantee
        } else {
            timeouts.best_effort
        };
        Flow {
            elem,
            input,
            map,
            ids: [from, to.reverse()],
            outs,
            expiry: now + t,
            guaranteed,
            kind,
            ip_p: 0,
            tflags: 0,
            seq_deltas: [Vec::new(), Vec::new()],
            seq_base: [0, 0],
            reply_anno: 0,
            timeouts,
            seq: 0,
        }
    }

    /// The timeout that applies once the guarantee is over.
    pub fn flow_timeout(&self) -> Jiffies {
        let t = &self.timeouts;
        match self.kind {
            FlowKind::Tcp => {
                let both = |m: u8| self.tflags & m == m;
                if both(TCP_FORWARD_DONE | TCP_REPLY_DONE) {
                    t.tcp_done
                } else if both(TCP_FORWARD_DATA | TCP_REPLY_DATA) {
                    t.tcp_data
                } else {
                    t.best_effort
                }
            }
            // "Streaming": at least 3 packets, one of them a reply.
            FlowKind::Udp if self.tflags > 6 => t.udp_streaming,
            _ => t.best_effort,
        }
    }

    /// When a guaranteed flow expires once its guarantee has run out.
    pub fn best_effort_expiry(&self) -> Jiffies {
        self.expiry + self.flow_timeout() - self.timeouts.guarantee
    }

    /// Shift sequence numbers of direction `dir` by `d` more from `trigger` on.
    pub fn add_seq_delta(&mut self, dir: bool, trigger: u32, d: i32) {
        let base = self.seq_base[usize::from(dir)];
        let v = &mut self.seq_deltas[usize::from(dir)];
        let prev = v.last().map_or(base, |x| x.1);
        match v.last_mut() {
            Some(last) if last.0 == trigger => last.1 = prev + d,
            _ => v.push((trigger, prev + d)),
        }
    }

    /// The current sequence shift of direction `dir` (for the table text).
    pub fn seq_delta(&self, dir: bool) -> i32 {
        let base = self.seq_base[usize::from(dir)];
        self.seq_deltas[usize::from(dir)]
            .last()
            .map_or(base, |x| x.1)
    }

    /// Once a direction's sequence numbers are 1G past its latest trigger, the shift applies
    /// to every sequence number (Click drops the trigger).
    pub fn expire_seq_triggers(&mut self, dir: bool, seq: u32) {
        let d = usize::from(dir);
        if let Some(&(t, delta)) = self.seq_deltas[d].last() {
            if seq_geq(seq, t.wrapping_add(1 << 30)) {
                self.seq_base[d] = delta;
                self.seq_deltas[d].clear();
            }
        }
    }

    /// Whether sequence numbers of direction `dir` move at all.
    pub fn shifts(&self, dir: bool) -> bool {
        let d = usize::from(dir);
        !self.seq_deltas[d].is_empty() || self.seq_base[d] != 0
    }

    /// Click's new_seq: `seq` of a packet in direction `dir` after the shifts.
    pub fn new_seq(&self, dir: bool, seq: u32) -> u32 {
        let d = self.seq_deltas[usize::from(dir)]
            .iter()
            .rev()
            .find(|(t, _)| seq_geq(seq, *t))
            .map_or(self.seq_base[usize::from(dir)], |x| x.1);
        seq.wrapping_add(d as u32)
    }

    /// Click's new_ack: an acknowledgement in direction `dir` of the other direction's data.
    pub fn new_ack(&self, dir: bool, ack: u32) -> u32 {
        let d = self.seq_deltas[usize::from(!dir)]
            .iter()
            .rev()
            .find(|(t, d)| seq_geq(ack.wrapping_sub(*d as u32), *t))
            .map_or(self.seq_base[usize::from(!dir)], |x| x.1);
        ack.wrapping_sub(d as u32)
    }

    /// The flow seen by entry `dir` rewritten: what its packets become.
    pub fn rewritten(&self, dir: bool) -> FlowId {
        self.ids[usize::from(!dir)].reverse()
    }

    /// Click's `[*0 1] i0 exp300` suffix of a table line.
    pub fn unparse_ports(&self, dir: bool, now: Jiffies) -> String {
        let exp = if self.guaranteed {
            self.best_effort_expiry()
        } else {
            self.expiry
        };
        format!(
            " [{}{} {}{}] i{} exp{}",
            if dir { "" } else { "*" },
            self.outs[0],
            if dir { "*" } else { "" },
            self.outs[1],
            self.input,
            (exp + 500 - now).div_euclid(1000)
        )
    }
}

/// Flows, their maps and the two expiry heaps.
#[derive(Debug)]
pub struct FlowTable {
    pub capacity: u32,
    flows: Vec<Option<Flow>>,
    free: Vec<usize>,
    // FxHash: the flow key is hashed for every packet; SipHash was a tenth of NAT time.
    map: FxHashMap<(u32, FlowId), (usize, bool)>,
    /// [best effort, guaranteed], ordered by (expiry, age).
    heaps: [BTreeSet<(Jiffies, u64, usize)>; 2],
    counts: FxHashMap<(usize, usize), u32>,
    seq: u64,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable {
            capacity: 0x7FFF_FFFF,
            flows: Vec::new(),
            free: Vec::new(),
            map: FxHashMap::default(),
            heaps: [BTreeSet::new(), BTreeSet::new()],
            counts: FxHashMap::default(),
            seq: 0,
        }
    }
}

impl FlowTable {
    /// The flow and direction `id` maps to in `map`.
    pub fn lookup(&self, map: u32, id: &FlowId) -> Option<(usize, bool)> {
        self.map.get(&(map, *id)).copied()
    }

    pub fn contains(&self, map: u32, id: &FlowId) -> bool {
        self.map.contains_key(&(map, *id))
    }

    pub fn flow(&self, i: usize) -> Option<&Flow> {
        self.flows.get(i).and_then(Option::as_ref)
    }

    pub fn flow_mut(&mut self, i: usize) -> Option<&mut Flow> {
        self.flows.get_mut(i).and_then(Option::as_mut)
    }

    /// Number of flows (Click's `size`).
    pub fn size(&self) -> usize {
        self.heaps[0].len() + self.heaps[1].len()
    }

    /// Live flows created by `elem`'s input `input` (Click's per-input count).
    pub fn count(&self, elem: usize, input: usize) -> u32 {
        self.counts.get(&(elem, input)).copied().unwrap_or(0)
    }

    /// The entries of `map`, sorted: (key, flow index, direction).
    pub fn entries(&self, map: u32) -> Vec<(FlowId, usize, bool)> {
        let mut v: Vec<(FlowId, usize, bool)> = self
            .map
            .iter()
            .filter(|((m, _), _)| *m == map)
            .map(|((_, k), (i, d))| (*k, *i, *d))
            .collect();
        v.sort();
        v
    }

    /// Add `flow` (Click's store_flow). None when the table is full of guaranteed flows or
    /// the new flow is itself the first to go; the caller counts that as a mapping failure.
    pub fn store(&mut self, mut flow: Flow, now: Jiffies) -> Option<usize> {
        self.seq += 1;
        flow.seq = self.seq;
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.flows.push(None);
                self.flows.len() - 1
            }
        };
        let (map, fwd, rev) = (flow.map, flow.ids[0], flow.ids[1]);
        let owner = (flow.elem, flow.input);
        self.heaps[usize::from(flow.guaranteed)].insert((flow.expiry, flow.seq, i));
        self.flows[i] = Some(flow);
        self.map.insert((map, fwd), (i, false));
        if let Some((old, _)) = self.map.insert((map, rev), (i, true)) {
            if old != i {
                self.destroy(old);
            }
        }
        *self.counts.entry(owner).or_insert(0) += 1;
        if self.size() > self.capacity as usize && self.shrink_for_new_flow(i, now) {
            return None;
        }
        Some(i)
    }

    /// Move flows whose guarantee ran out to the best-effort heap.
    fn shift_best_effort(&mut self, now: Jiffies) {
        while let Some(&(exp, _, i)) = self.heaps[1].first() {
            if now < exp {
                break;
            }
            let Some(e) = self.flow(i).map(Flow::best_effort_expiry) else {
                break;
            };
            self.change_expiry(i, false, e);
        }
    }

    /// Make room for new flow `i`: drop the next best-effort flow to expire, or `i` itself
    /// when every other flow is guaranteed. True when `i` was dropped.
    fn shrink_for_new_flow(&mut self, i: usize, now: Jiffies) -> bool {
        self.shift_best_effort(now);
        let dead = match self.heaps[0].first() {
            Some(&(_, _, d)) => d,
            None => i,
        };
        self.destroy(dead);
        dead == i
    }

    /// Drop expired flows and flows above capacity (everything with `clear_all`).
    pub fn shrink(&mut self, now: Jiffies, clear_all: bool) {
        self.shift_best_effort(now);
        while let Some(&(exp, _, i)) = self.heaps[0].first() {
            if now < exp {
                break;
            }
            self.destroy(i);
        }
        let cap = if clear_all { 0 } else { self.capacity as usize };
        while self.size() > cap {
            let h = usize::from(self.heaps[0].is_empty());
            let Some(&(_, _, i)) = self.heaps[h].first() else {
                break;
            };
            self.destroy(i);
        }
    }

    /// Set flow `i`'s expiry and heap.
    pub fn change_expiry(&mut self, i: usize, guaranteed: bool, expiry: Jiffies) {
        let Some(f) = self.flows.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        // Packets of a flow within the same millisecond leave the heaps as they are.
        if f.guaranteed == guaranteed && f.expiry == expiry {
            return;
        }
        self.heaps[usize::from(f.guaranteed)].remove(&(f.expiry, f.seq, i));
        f.guaranteed = guaranteed;
        f.expiry = expiry;
        self.heaps[usize::from(guaranteed)].insert((expiry, f.seq, i));
    }

    /// Remove flow `i` and the map entries that still point to it.
    pub fn destroy(&mut self, i: usize) {
        let Some(f) = self.flows.get_mut(i).and_then(Option::take) else {
            return;
        };
        self.heaps[usize::from(f.guaranteed)].remove(&(f.expiry, f.seq, i));
        if let Some(c) = self.counts.get_mut(&(f.elem, f.input)) {
            *c = c.saturating_sub(1);
        }
        for (d, id) in f.ids.iter().enumerate() {
            if self.map.get(&(f.map, *id)) == Some(&(i, d == 1)) {
                self.map.remove(&(f.map, *id));
            }
        }
        self.free.push(i);
    }

    /// Remove every flow created by `elem`'s input `input` (its pattern was replaced).
    pub fn destroy_owned_by(&mut self, elem: usize, input: usize) {
        let dead: Vec<usize> = (0..self.flows.len())
            .filter(|&i| {
                self.flow(i)
                    .is_some_and(|f| f.elem == elem && f.input == input)
            })
            .collect();
        for i in dead {
            self.destroy(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(sport: u16) -> FlowId {
        FlowId {
            saddr: 1,
            sport,
            daddr: 2,
            dport: 80,
        }
    }

    fn timeouts(guarantee: Jiffies) -> Timeouts {
        Timeouts {
            best_effort: 300_000,
            guarantee,
            tcp_data: 86_400_000,
            tcp_done: 240_000,
            udp_streaming: 300_000,
        }
    }

    fn flow(sport: u16, guarantee: Jiffies, now: Jiffies) -> Flow {
        let to = FlowId {
            saddr: 9,
            sport: 1000 + sport,
            ..id(sport)
        };
        Flow::new(
            0,
            0,
            0,
            id(sport),
            to,
            [0, 1],
            FlowKind::Udp,
            timeouts(guarantee),
            now,
        )
    }

    #[test]
    fn full_table_of_guaranteed_flows_refuses_new_ones() {
        let mut t = FlowTable {
            capacity: 2,
            ..FlowTable::default()
        };
        assert!(t.store(flow(1, 5000, 0), 0).is_some());
        assert!(t.store(flow(2, 5000, 100), 100).is_some());
        assert!(t.store(flow(3, 5000, 200), 200).is_none());
        assert_eq!(t.size(), 2);
        assert_eq!(t.count(0, 0), 2);
        // Once flow 1's guarantee is over it is the one to go.
        assert!(t.store(flow(4, 5000, 5050), 5050).is_some());
        assert!(t.lookup(0, &id(1)).is_none());
        assert!(t.lookup(0, &id(2)).is_some());
        assert!(t.lookup(0, &id(4)).is_some());
    }

    #[test]
    fn best_effort_flows_make_room_oldest_first() {
        let mut t = FlowTable {
            capacity: 1,
            ..FlowTable::default()
        };
        t.store(flow(1, 0, 0), 0);
        t.store(flow(2, 0, 10), 10);
        assert!(t.lookup(0, &id(1)).is_none());
        assert_eq!(t.lookup(0, &id(2)).map(|(_, d)| d), Some(false));
        t.shrink(0, true);
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn sequence_shifts_follow_triggers_and_expire_after_1g() {
        let mut f = flow(1, 0, 0);
        f.add_seq_delta(false, 30, 6);
        assert_eq!(f.new_seq(false, 29), 29);
        assert_eq!(f.new_seq(false, 30), 36);
        // the reply direction's acks are shifted back
        assert_eq!(f.new_ack(true, 36), 30);
        assert_eq!(f.new_ack(true, 10), 10);
        f.expire_seq_triggers(false, 30 + (1 << 30));
        assert!(f.seq_deltas[0].is_empty());
        assert_eq!(f.new_seq(false, 0), 6);
    }
}
