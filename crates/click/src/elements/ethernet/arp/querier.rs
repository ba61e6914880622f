//! ARPQuerier(IP, ETH): Ethernet-encapsulates IP packets for their next hop (the destination
//! annotation), queries unknown next hops and holds packets for them in its ARP table (its own,
//! or the ARPTable element named by `TABLE`); input 1 takes ARP replies.

use super::table::{jiffies, schedule_expiry, table_keywords, ARPTableElement, Append, ArpTable};
use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::ethernet::ether::{arp_packet, eth_arg};
use crate::packet::{Packet, PacketBatch, VLAN_TCI_ANNO_OFFSET};
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;

#[derive(Default)]
pub struct ARPQuerier {
    ip: [u8; 4],
    mask: u32,
    eth: [u8; 6],
    table: Rc<RefCell<ArpTable>>,
    /// `TABLE` named a shared ARPTable element (resolved at initialize).
    shared: Option<String>,
    queries: u64,
    responses: u64,
    drops: u64,
    broadcast_poll: bool,
    /// The broadcast address (BROADCAST; by default IP | ~mask).
    bcast: u32,
    /// Re-query a known entry this long after its last reply (0 = never).
    poll_timeout: i64,
    zero_warned: bool,
}

/// Output being assembled: packets for port 0 and queries, in Click's order.
struct Out {
    data: PacketBatch,
    qport: usize,
}

impl ARPQuerier {
    /// Click's send_query_for: a request for `want` to `dst` (broadcast unless polling a
    /// known entry), flushing the packets before it so the order stays Click's.
    fn query(
        &mut self,
        p: &Packet,
        want: [u8; 4],
        dst: Option<[u8; 6]>,
        out: &mut Out,
        ctx: &mut Ctx<'_>,
    ) {
        let dst = match dst {
            Some(d) if !self.broadcast_poll => d,
            _ => [0xff; 6],
        };
        let mut q = arp_packet(1, &self.eth, self.ip, &[0; 6], want, &dst);
        q.timestamp = p.timestamp;
        q.anno[VLAN_TCI_ANNO_OFFSET..VLAN_TCI_ANNO_OFFSET + 2]
            .copy_from_slice(&p.anno[VLAN_TCI_ANNO_OFFSET..VLAN_TCI_ANNO_OFFSET + 2]);
        self.queries += 1;
        if out.qport == 0 {
            out.data.push(q);
        } else {
            ctx.output(0, std::mem::take(&mut out.data));
            ctx.output(out.qport, vec![q]);
        }
    }

    /// Click's handle_ip: `response` packets already carry their Ethernet header.
    fn handle_ip(&mut self, mut p: Packet, response: bool, out: &mut Out, ctx: &mut Ctx<'_>) {
        if self.ip == [0; 4] {
            self.drops += 1;
            return;
        }
        if !response {
            p.push(14);
            p.set_mac_header(0);
            p.data_mut()[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        }
        let mut dst = p.dst_ip_anno();
        if dst == [0; 4] {
            // Without the annotation, the header's destination (as most configurations set it).
            if let Some(d) = p.data().get(14 + 16..14 + 20) {
                dst.copy_from_slice(d);
            }
        }
        let dv = u32::from_be_bytes(dst);
        let now = jiffies(ctx.now());
        let mac = loop {
            let known = self.table.borrow_mut().lookup(dv, now, self.poll_timeout);
            if let Some((mac, poll)) = known {
                if poll {
                    self.query(&p, dst, Some(mac), out, ctx);
                }
                break mac;
            }
            if dv == u32::MAX || dv == self.bcast {
                break [0xff; 6];
            }
            if dst[0] & 0xf0 == 0xe0 {
                break [0x01, 0x00, 0x5e, dst[1] & 0x7f, dst[2], dst[3]];
            }
            if dv == 0 {
                if !self.zero_warned {
                    ctx.chatter(&format!(
                        "{}: would query for 0.0.0.0; missing dest IP addr annotation?",
                        ctx.name()
                    ));
                    self.zero_warned = true;
                }
                self.drops += 1;
                return;
            }
            let (ts, vlan) = (
                p.timestamp,
                [
                    p.anno[VLAN_TCI_ANNO_OFFSET],
                    p.anno[VLAN_TCI_ANNO_OFFSET + 1],
                ],
            );
            let r = self.table.borrow_mut().append_query(dv, p, now);
            match r {
                Append::Known(back) => p = back,
                Append::Full => return,
                Append::Queued(poll) => {
                    if poll {
                        let mut probe = Packet::from_data(&[]);
                        probe.timestamp = ts;
                        probe.anno[VLAN_TCI_ANNO_OFFSET..VLAN_TCI_ANNO_OFFSET + 2]
                            .copy_from_slice(&vlan);
                        self.query(&probe, dst, None, out, ctx);
                    }
                    return;
                }
            }
        };
        let d = p.data_mut();
        d[0..6].copy_from_slice(&mac);
        d[6..12].copy_from_slice(&self.eth);
        out.data.push(p);
    }

    /// Click's handle_response: learn from an ARP reply and release the waiting packets.
    fn handle_response(&mut self, p: &Packet, out: &mut Out, ctx: &mut Ctx<'_>) {
        let d = p.data();
        if d.len() < 42 {
            return;
        }
        self.responses += 1;
        let field = |a: usize| u16::from_be_bytes([d[a], d[a + 1]]);
        let sha: [u8; 6] = [d[22], d[23], d[24], d[25], d[26], d[27]];
        let spa = u32::from_be_bytes([d[28], d[29], d[30], d[31]]);
        if field(12) == 0x0806
            && field(14) == 1
            && field(16) == 0x0800
            && field(20) == 2
            && sha[0] & 1 == 0
        {
            let now = jiffies(ctx.now());
            let waiting = self.table.borrow_mut().insert(spa, sha, now, true);
            for q in waiting {
                self.handle_ip(q, true, out, ctx);
            }
        }
    }
}

impl Element for ARPQuerier {
    element_class!(class: "ARPQuerier", ports: "2/1-2", processing: "h", flow: "xy/x");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let mut spec = vec![("IP", Kind::Mp), ("ETH", Kind::Mp)];
        spec.extend(table_keywords());
        spec.extend([
            ("POLL_TIMEOUT", Kind::K),
            ("BROADCAST", Kind::K),
            ("BROADCAST_POLL", Kind::K),
            ("TABLE", Kind::K),
            ("CACHE", Kind::K),
        ]);
        // One argument: IP and ETH from the same AddressInfo name.
        let pos: Vec<String> = args::split_args(conf)
            .into_iter()
            .filter(|a| args::split_keyword(a).is_none())
            .collect();
        let conf = if pos.len() == 1 {
            format!("{}, {}", conf, pos[0])
        } else {
            conf.to_string()
        };
        let b = bind(&conf, &spec)?;
        let ipstr = b.str("IP").unwrap_or("").trim().to_string();
        let (ip, mask) = if let Some((a, m)) = cx
            .addrs
            .ip
            .get(&ipstr)
            .map(|(a, l)| (*a, args::len_to_mask(l.unwrap_or(32))))
        {
            (a, m)
        } else if ipstr.contains('/') {
            args::parse_prefix(&ipstr, cx.addrs).ok_or("IP: bad address")?
        } else {
            (
                args::parse_ip(&ipstr, cx.addrs).ok_or("IP: bad address")?,
                Ipv4Addr::new(255, 255, 255, 255),
            )
        };
        self.ip = ip.octets();
        self.mask = u32::from(mask);
        self.bcast = match b.str("BROADCAST") {
            Some(s) => {
                u32::from(args::parse_ip(s.trim(), cx.addrs).ok_or("BROADCAST: bad address")?)
            }
            None => {
                // Click: a /32 network has no broadcast of its own.
                let ipv = u32::from_be_bytes(self.ip);
                match ipv | !self.mask {
                    x if x == ipv => u32::MAX,
                    x => x,
                }
            }
        };
        self.eth = eth_arg(&b, "ETH", cx)?;
        self.broadcast_poll = b.bool("BROADCAST_POLL")?.unwrap_or(false);
        self.poll_timeout = (b.time("POLL_TIMEOUT")?.unwrap_or(60.0) * 1000.0).round() as i64;
        match b.str("TABLE") {
            Some(t) => match cx.find_element(t.trim()) {
                Some((name, class, _)) if class == "ARPTable" => self.shared = Some(name.clone()),
                _ => return Err(format!("TABLE: '{}' is not an ARPTable", t.trim())),
            },
            None => self.table.borrow_mut().configure(&b)?,
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if let Some(name) = self.shared.clone() {
            let idx = (0..ctx.element_count())
                .find(|&i| ctx.element_name(i) == Some(name.as_str()))
                .ok_or("TABLE: no such element")?;
            self.table = ctx
                .with_element(idx, |e| {
                    e.as_any_mut()
                        .downcast_mut::<ARPTableElement>()
                        .map(|t| t.table.clone())
                })
                .flatten()
                .ok_or("TABLE: not an ARPTable")?;
        } else {
            schedule_expiry(&self.table.borrow(), ctx, 0);
        }
        Ok(())
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        let mut t = self.table.borrow_mut();
        t.slim(jiffies(ctx.now()));
        schedule_expiry(&t, ctx, 1);
    }
    fn take_state(&mut self, old: &mut dyn Element, ctx: &mut Ctx<'_>) {
        let Some(o) = old.as_any_mut().downcast_mut::<ARPQuerier>() else {
            return;
        };
        if o.ip != self.ip || o.eth != self.eth || o.bcast != self.bcast {
            return;
        }
        if self.shared.is_none() && o.shared.is_none() {
            let mut mine = self.table.borrow_mut();
            let mut theirs = o.table.borrow_mut();
            mine.take_state(&mut theirs);
            // The expiry timer counts from the swap (the clock may have moved on).
            schedule_expiry(&mine, ctx, 0);
        }
        self.queries = o.queries;
        self.drops = o.drops;
        self.responses = o.responses;
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut out = Out {
            data: Vec::with_capacity(batch.len()),
            qport: ctx.noutputs().saturating_sub(1),
        };
        for p in batch {
            if port == 0 {
                self.handle_ip(p, false, &mut out, ctx);
            } else {
                self.handle_response(&p, &mut out, ctx);
            }
        }
        ctx.output(0, out.data);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("table"),
            HandlerSpec::r("stats"),
            HandlerSpec::r("queries"),
            HandlerSpec::r("responses"),
            HandlerSpec::r("drops"),
            HandlerSpec::r("count"),
            HandlerSpec::r("length"),
            HandlerSpec::rw("ipaddr"),
            HandlerSpec::rw("broadcast"),
            HandlerSpec::w("insert"),
            HandlerSpec::w("delete"),
            HandlerSpec::w("clear"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        let t = self.table.borrow();
        Some(Ok(match name {
            "table" => t.text(jiffies(ctx.now())),
            "stats" => format!(
                "{} packets killed\n{} ARP queries sent\n",
                self.drops + t.drops,
                self.queries
            ),
            "queries" => self.queries.to_string(),
            "responses" => self.responses.to_string(),
            "drops" => self.drops.to_string(),
            "count" => t.count().to_string(),
            "length" => t.length().to_string(),
            "ipaddr" => Ipv4Addr::from(self.ip).to_string(),
            "broadcast" => Ipv4Addr::from(self.bcast).to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let ai = args::AddressInfo::default();
        let now = jiffies(ctx.now());
        Some(match name {
            "insert" | "delete" => {
                // As in Click, packets waiting for the address stay dropped here.
                self.table.borrow_mut().write(name, v, now)?.map(|_| ())
            }
            "clear" => {
                self.queries = 0;
                self.responses = 0;
                self.drops = 0;
                self.table.borrow_mut().clear();
                Ok(())
            }
            "ipaddr" => args::parse_ip(v.trim(), &ai)
                .map(|ip| self.ip = ip.octets())
                .ok_or_else(|| "expected IP address".into()),
            "broadcast" => args::parse_ip(v.trim(), &ai)
                .map(|ip| self.bcast = u32::from(ip))
                .ok_or_else(|| "expected IP address".into()),
            _ => return None,
        })
    }
}
