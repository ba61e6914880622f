//! Click's ARPTable: IP → Ethernet entries in age order, with the packets waiting for each
//! unresolved address, entry/packet capacities (slimmed oldest first) and a timeout. Used by
//! ARPQuerier (its own table, or a shared ARPTable element named by `TABLE`).

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::packet::{Packet, Timestamp};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::rc::Rc;

/// Milliseconds (Click's jiffies at user level).
pub type Jiffies = i64;

/// Click's jiffies for a time.
pub fn jiffies(t: Timestamp) -> Jiffies {
    t.0.div_euclid(1_000_000)
}

struct Entry {
    eth: [u8; 6],
    known: bool,
    polls: u8,
    live_at: Jiffies,
    polled_at: Jiffies,
    queue: VecDeque<Packet>,
}

impl Entry {
    fn expired(&self, now: Jiffies, timeout: Jiffies) -> bool {
        timeout != 0 && self.live_at + timeout < now
    }
    fn known(&self, now: Jiffies, timeout: Jiffies) -> bool {
        self.known && !self.expired(now, timeout)
    }
    /// 100 ms between queries, 2 s once 10 went unanswered.
    fn allow_poll(&self, now: Jiffies) -> bool {
        let gap = if self.polls >= 10 { 2000 } else { 100 };
        now >= self.polled_at + gap
    }
    fn mark_poll(&mut self, now: Jiffies) {
        self.polled_at = now;
        self.polls = self.polls.saturating_add(1);
    }
}

/// Why a packet could not be queued.
pub enum Append {
    /// The address is known after all: send the packet (it is handed back).
    Known(Packet),
    /// The entry's packet capacity is reached: the packet was dropped.
    Full,
    /// Queued; true when a query should go out now.
    Queued(bool),
}

/// The table itself.
pub struct ArpTable {
    entries: HashMap<u32, Entry>,
    /// Addresses, oldest first.
    age: Vec<u32>,
    pub entry_capacity: u32,
    pub packet_capacity: u32,
    pub entry_packet_capacity: u32,
    pub slim_factor: u32,
    /// Entry lifetime (0 = forever).
    pub timeout: Jiffies,
    packet_count: u32,
    pub drops: u64,
}

impl Default for ArpTable {
    fn default() -> Self {
        ArpTable {
            entries: HashMap::new(),
            age: Vec::new(),
            entry_capacity: 0,
            packet_capacity: 2048,
            entry_packet_capacity: 0,
            slim_factor: 2,
            timeout: 300_000,
            packet_count: 0,
            drops: 0,
        }
    }
}

impl ArpTable {
    /// Apply CAPACITY, ENTRY_CAPACITY, ENTRY_PACKET_CAPACITY, CAPACITY_SLIM_FACTOR, TIMEOUT.
    pub fn configure(&mut self, b: &args::Bound) -> Result<(), String> {
        if let Some(c) = b.u64("CAPACITY")? {
            self.packet_capacity = c as u32;
        }
        if let Some(c) = b.u64("ENTRY_CAPACITY")? {
            self.entry_capacity = c as u32;
        }
        if let Some(c) = b.u64("ENTRY_PACKET_CAPACITY")? {
            self.entry_packet_capacity = c as u32;
        }
        if let Some(c) = b.u64("CAPACITY_SLIM_FACTOR")? {
            if c == 0 {
                return Err("CAPACITY_SLIM_FACTOR cannot be zero".into());
            }
            self.slim_factor = c as u32;
        }
        if let Some(t) = b.time("TIMEOUT")? {
            self.timeout = (t * 1000.0).round() as Jiffies;
        }
        Ok(())
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// Number of waiting packets.
    pub fn length(&self) -> u32 {
        self.packet_count
    }

    /// The Ethernet address of `ip` if known; the flag says a refreshing query is due
    /// (`poll_timeout` after the last reply, rate-limited).
    pub fn lookup(
        &mut self,
        ip: u32,
        now: Jiffies,
        poll_timeout: Jiffies,
    ) -> Option<([u8; 6], bool)> {
        let timeout = self.timeout;
        let e = self.entries.get_mut(&ip)?;
        if !e.known(now, timeout) {
            return None;
        }
        let poll = poll_timeout != 0 && now >= e.live_at + poll_timeout && e.allow_poll(now);
        if poll {
            e.mark_poll(now);
        }
        Some((e.eth, poll))
    }

    fn remove(&mut self, ip: u32) {
        if let Some(e) = self.entries.remove(&ip) {
            self.packet_count -= e.queue.len() as u32;
            self.drops += e.queue.len() as u64;
        }
        self.age.retain(|a| *a != ip);
    }

    /// Drop expired entries and entries over capacity (oldest first), then packets until
    /// the packet count is back under capacity less 1/CAPACITY_SLIM_FACTOR.
    pub fn slim(&mut self, now: Jiffies) {
        while let Some(&ip) = self.age.first() {
            let over =
                self.entry_capacity != 0 && self.entries.len() > self.entry_capacity as usize;
            let expired = self
                .entries
                .get(&ip)
                .is_none_or(|e| e.expired(now, self.timeout));
            if !(expired || over) {
                break;
            }
            self.remove(ip);
        }
        self.slim_packets();
    }

    fn slim_packets(&mut self) {
        if self.packet_capacity == 0 || self.packet_count <= self.packet_capacity {
            return;
        }
        let slim = (self.packet_capacity - self.packet_capacity / self.slim_factor).max(1);
        for ip in self.age.clone() {
            if self.packet_count <= slim {
                break;
            }
            let Some(e) = self.entries.get_mut(&ip) else {
                continue;
            };
            while self.packet_count > slim && e.queue.pop_front().is_some() {
                self.packet_count -= 1;
                self.drops += 1;
            }
        }
    }

    /// The entry for `ip`, created (as the newest) when missing.
    fn ensure(&mut self, ip: u32, now: Jiffies) -> &mut Entry {
        if !self.entries.contains_key(&ip) {
            // Click counts the new entry before slimming for it.
            if self.entry_capacity != 0 && self.entries.len() + 1 > self.entry_capacity as usize {
                self.slim_for_new(now);
            }
            self.entries.insert(
                ip,
                Entry {
                    eth: [0xff; 6],
                    known: false,
                    polls: 0,
                    live_at: now,
                    polled_at: now - 1000,
                    queue: VecDeque::new(),
                },
            );
            self.age.push(ip);
        }
        self.entries.get_mut(&ip).expect("entry was just ensured")
    }

    /// `slim` as Click runs it while an entry is being added (counted, not yet listed).
    fn slim_for_new(&mut self, now: Jiffies) {
        while let Some(&ip) = self.age.first() {
            let over = self.entries.len() + 1 > self.entry_capacity as usize;
            let expired = self
                .entries
                .get(&ip)
                .is_none_or(|e| e.expired(now, self.timeout));
            if !(expired || over) {
                break;
            }
            self.remove(ip);
        }
        self.slim_packets();
    }

    /// Learn `ip` at `eth` (broadcast = forget). With `take`, returns the packets that waited
    /// for it (a reply); without, they stay queued (Click's `insert` handler).
    pub fn insert(&mut self, ip: u32, eth: [u8; 6], now: Jiffies, take: bool) -> Vec<Packet> {
        let e = self.ensure(ip, now);
        e.eth = eth;
        e.known = eth != [0xff; 6];
        e.live_at = now;
        e.polls = 0;
        e.polled_at = now - 1000;
        let q: Vec<Packet> = if take {
            e.queue.drain(..).collect()
        } else {
            Vec::new()
        };
        self.packet_count -= q.len() as u32;
        self.age.retain(|a| *a != ip);
        self.age.push(ip);
        q
    }

    /// Queue `p` for unresolved `ip`.
    pub fn append_query(&mut self, ip: u32, p: Packet, now: Jiffies) -> Append {
        let timeout = self.timeout;
        let e = self.ensure(ip, now);
        if e.known(now, timeout) {
            return Append::Known(p);
        }
        // Keep an entry that is still wanted just this side of expiring.
        if timeout != 0 && e.live_at < now - timeout {
            e.live_at = now - timeout;
            let live = e.live_at;
            if let Some(pos) = self.age.iter().position(|a| *a == ip) {
                self.age.remove(pos);
                let mut at = pos;
                while at < self.age.len()
                    && self
                        .entries
                        .get(&self.age[at])
                        .is_some_and(|n| n.live_at < live)
                {
                    at += 1;
                }
                self.age.insert(at, ip);
            }
        }
        let e = self.entries.get_mut(&ip).expect("entry was just ensured");
        if self.entry_packet_capacity != 0 && e.queue.len() >= self.entry_packet_capacity as usize {
            self.drops += 1;
            return Append::Full;
        }
        self.packet_count += 1;
        if self.packet_capacity != 0 && self.packet_count > self.packet_capacity {
            self.slim(now);
        }
        let Some(e) = self.entries.get_mut(&ip) else {
            // Slimmed away with its packets: this one is dropped too.
            self.packet_count -= 1;
            self.drops += 1;
            return Append::Full;
        };
        e.queue.push_back(p);
        if e.allow_poll(now) {
            e.mark_poll(now);
            Append::Queued(true)
        } else {
            Append::Queued(false)
        }
    }

    /// Hot swap: take `old`'s entries, waiting packets and drops (configuration stays ours).
    pub fn take_state(&mut self, old: &mut ArpTable) {
        if !self.entries.is_empty() {
            return;
        }
        self.entries = std::mem::take(&mut old.entries);
        self.age = std::mem::take(&mut old.age);
        self.packet_count = std::mem::take(&mut old.packet_count);
        self.drops = old.drops;
    }

    /// Forget everything; waiting packets count as drops.
    pub fn clear(&mut self) {
        self.drops += self.packet_count as u64;
        self.entries.clear();
        self.age.clear();
        self.packet_count = 0;
    }

    /// Click's `table` text: `IP KNOWN ETH AGE` per entry, oldest first.
    pub fn text(&self, now: Jiffies) -> String {
        let mut s = String::new();
        for ip in &self.age {
            let Some(e) = self.entries.get(ip) else {
                continue;
            };
            s.push_str(&format!(
                "{} {} {} {}\n",
                Ipv4Addr::from(*ip),
                u8::from(e.known(now, self.timeout)),
                args::fmt_eth(&e.eth),
                Timestamp((now - e.live_at) * 1_000_000)
            ));
        }
        s
    }

    /// `insert IP ETH` / `delete IP` handler values.
    pub fn write(
        &mut self,
        name: &str,
        v: &str,
        now: Jiffies,
    ) -> Option<Result<Vec<Packet>, String>> {
        let ai = args::AddressInfo::default();
        let w = args::split_words(v);
        Some(match name {
            "insert" => match (
                w.first().and_then(|a| args::parse_ip(a, &ai)),
                w.get(1).and_then(|e| args::parse_eth(e, &ai)),
                w.len(),
            ) {
                (Some(ip), Some(e), 2) => Ok(self.insert(u32::from(ip), e, now, false)),
                _ => Err("expected 'IP ETH'".into()),
            },
            "delete" => match (w.first().and_then(|a| args::parse_ip(a, &ai)), w.len()) {
                (Some(ip), 1) => Ok(self.insert(u32::from(ip), [0xff; 6], now, false)),
                _ => Err("expected IP address".into()),
            },
            "clear" => {
                self.clear();
                Ok(Vec::new())
            }
            _ => return None,
        })
    }
}

/// The ARPTable element: a table ARPQueriers can share through `TABLE`.
#[derive(Default)]
pub struct ARPTableElement {
    pub table: Rc<RefCell<ArpTable>>,
}

impl Element for ARPTableElement {
    element_class!(class: "ARPTable");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &table_keywords())?;
        self.table.borrow_mut().configure(&b)
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        schedule_expiry(&self.table.borrow(), ctx, 0);
        Ok(())
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        let mut t = self.table.borrow_mut();
        t.slim(jiffies(ctx.now()));
        schedule_expiry(&t, ctx, 1);
    }
    fn take_state(&mut self, old: &mut dyn Element, ctx: &mut Ctx<'_>) {
        if let Some(o) = old.as_any_mut().downcast_mut::<ARPTableElement>() {
            let mut theirs = o.table.borrow_mut();
            let mut mine = self.table.borrow_mut();
            mine.take_state(&mut theirs);
            schedule_expiry(&mine, ctx, 0);
        }
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("table"),
            HandlerSpec::r("drops"),
            HandlerSpec::r("count"),
            HandlerSpec::r("length"),
            HandlerSpec::w("insert"),
            HandlerSpec::w("delete"),
            HandlerSpec::w("clear"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        let t = self.table.borrow();
        Some(Ok(match name {
            "table" => t.text(jiffies(ctx.now())),
            "drops" => t.drops.to_string(),
            "count" => t.count().to_string(),
            "length" => t.length().to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let now = jiffies(ctx.now());
        // Packets released by an insert have no querier to go to here: Click drops them too.
        Some(self.table.borrow_mut().write(name, v, now)?.map(|_| ()))
    }
}

/// The table keywords (ARPQuerier passes them through to its own table).
pub fn table_keywords() -> Vec<(&'static str, Kind)> {
    vec![
        ("CAPACITY", Kind::K),
        ("ENTRY_CAPACITY", Kind::K),
        ("ENTRY_PACKET_CAPACITY", Kind::K),
        ("CAPACITY_SLIM_FACTOR", Kind::K),
        ("TIMEOUT", Kind::K),
    ]
}

/// Click's expiry timer: every TIMEOUT (whole seconds) + `extra` seconds.
pub fn schedule_expiry(t: &ArpTable, ctx: &mut Ctx<'_>, extra: i64) {
    if t.timeout != 0 {
        let secs = t.timeout / 1000 + extra;
        let at = Timestamp(ctx.now().0 + secs * 1_000_000_000);
        ctx.schedule_timer(0, at);
    }
}
