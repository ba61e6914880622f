//! Ethernet and ARP elements.

use crate::args::{self, bind, fmt_eth, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::elements::split_batch;
use crate::packet::{Packet, PacketBatch, PacketType};
use crate::registry::Registry;
use crate::{element_class, simple_push_pull};
use std::net::Ipv4Addr;

/// Register the Ethernet classes.
pub fn register(r: &mut Registry) {
    r.register("EtherEncap", || Box::<EtherEncap>::default());
    r.register("EtherRewrite", || Box::<EtherRewrite>::default());
    r.register("EtherMirror", || Box::new(EtherMirror));
    r.register("StoreEtherAddress", || Box::<StoreEtherAddress>::default());
    r.register("MarkMACHeader", || Box::<MarkMACHeader>::default());
    r.register("ARPResponder", || Box::<ARPResponder>::default());
    r.register("CheckARPHeader", || Box::<CheckARPHeader>::default());
    r.register("HostEtherFilter", || Box::<HostEtherFilter>::default());
}

pub(crate) fn eth_arg(b: &args::Bound, k: &str, cx: &ConfigureCx<'_>) -> Result<[u8; 6], String> {
    b.eth(k, cx.addrs)?
        .ok_or_else(|| format!("missing mandatory {k} argument"))
}

/// EtherEncap(ETHERTYPE, SRC, DST).
#[derive(Default)]
pub struct EtherEncap {
    hdr: [u8; 14],
}
impl EtherEncap {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            p.push(14);
            p.data_mut()[..14].copy_from_slice(&self.hdr);
            p.set_mac_header(0);
        }
    }
}
impl Element for EtherEncap {
    element_class!(class: "EtherEncap", ports: "1/1");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("ETHERTYPE", Kind::Mp),
                ("SRC", Kind::Mp),
                ("DST", Kind::Mp),
            ],
        )?;
        let t = b.u64("ETHERTYPE")?.unwrap_or(0) as u16;
        self.hdr[0..6].copy_from_slice(&eth_arg(&b, "DST", cx)?);
        self.hdr[6..12].copy_from_slice(&eth_arg(&b, "SRC", cx)?);
        self.hdr[12..14].copy_from_slice(&t.to_be_bytes());
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::rw("src"),
            HandlerSpec::rw("dst"),
            HandlerSpec::rw("ethertype"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        let e = |o: usize| {
            let mut a = [0u8; 6];
            a.copy_from_slice(&self.hdr[o..o + 6]);
            fmt_eth(&a)
        };
        Some(Ok(match name {
            "src" => e(6),
            "dst" => e(0),
            "ethertype" => u16::from_be_bytes([self.hdr[12], self.hdr[13]]).to_string(),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        let ai = args::AddressInfo::default();
        Some(match name {
            "src" => args::parse_eth(v, &ai)
                .map(|e| self.hdr[6..12].copy_from_slice(&e))
                .ok_or_else(|| "bad Ethernet address".into()),
            "dst" => args::parse_eth(v, &ai)
                .map(|e| self.hdr[0..6].copy_from_slice(&e))
                .ok_or_else(|| "bad Ethernet address".into()),
            "ethertype" => args::parse_u64(v.trim())
                .map(|t| self.hdr[12..14].copy_from_slice(&(t as u16).to_be_bytes()))
                .ok_or_else(|| "bad ethertype".into()),
            _ => return None,
        })
    }
}

/// EtherRewrite(SRC, DST): overwrite the MAC header (at the data start when none is marked).
#[derive(Default)]
pub struct EtherRewrite {
    src: [u8; 6],
    dst: [u8; 6],
}
impl EtherRewrite {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let has = p.has_mac_header();
            let h = if has {
                p.mac_header_mut()
            } else {
                Some(p.data_mut())
            };
            if let Some(h) = h {
                if h.len() >= 12 {
                    h[0..6].copy_from_slice(&self.dst);
                    h[6..12].copy_from_slice(&self.src);
                }
            }
        }
    }
}
impl Element for EtherRewrite {
    element_class!(class: "EtherRewrite", ports: "1/1");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("SRC", Kind::Mp), ("DST", Kind::Mp)])?;
        self.src = eth_arg(&b, "SRC", cx)?;
        self.dst = eth_arg(&b, "DST", cx)?;
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("src"), HandlerSpec::rw("dst")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "src" => fmt_eth(&self.src),
            "dst" => fmt_eth(&self.dst),
            _ => return None,
        }))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        let ai = args::AddressInfo::default();
        Some(match name {
            "src" => args::parse_eth(v, &ai)
                .map(|e| self.src = e)
                .ok_or_else(|| "bad Ethernet address".into()),
            "dst" => args::parse_eth(v, &ai)
                .map(|e| self.dst = e)
                .ok_or_else(|| "bad Ethernet address".into()),
            _ => return None,
        })
    }
}

/// EtherMirror: swap source and destination MACs.
pub struct EtherMirror;
impl EtherMirror {
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            let d = p.data_mut();
            if d.len() >= 12 {
                let (a, b) = d.split_at_mut(6);
                a.swap_with_slice(&mut b[..6]);
            }
        }
    }
}
impl Element for EtherMirror {
    element_class!(class: "EtherMirror", ports: "1/1");
    simple_push_pull!();
}

/// StoreEtherAddress(ADDR | ANNO, OFFSET|src|dst): packets too short for the address go to
/// output 1 (dropped when it is not connected).
#[derive(Default)]
pub struct StoreEtherAddress {
    addr: [u8; 6],
    /// Copy the address from this annotation offset instead of `addr`.
    anno: Option<usize>,
    offset: usize,
    /// AddressInfo kept for the `addr` write handler.
    addrs: args::AddressInfo,
}
impl StoreEtherAddress {
    fn check(&mut self, p: &mut Packet, _ctx: &mut Ctx<'_>) -> bool {
        let o = self.offset;
        let addr = match self.anno {
            Some(a) => match p.anno.get(a..a + 6) {
                Some(s) => [s[0], s[1], s[2], s[3], s[4], s[5]],
                None => return false,
            },
            None => self.addr,
        };
        match p.data_mut().get_mut(o..o + 6) {
            Some(s) => {
                s.copy_from_slice(&addr);
                true
            }
            None => false,
        }
    }
}
impl Element for StoreEtherAddress {
    element_class!(class: "StoreEtherAddress", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[("ADDR", Kind::P), ("OFFSET", Kind::Mp), ("ANNO", Kind::K)],
        )?;
        let addr = b.eth("ADDR", cx.addrs)?;
        self.addrs = cx.addrs.clone();
        self.anno = match b.str("ANNO").map(str::trim) {
            None => None,
            Some(s) => Some(
                args::parse_u64(s)
                    .map(|v| v as usize)
                    .filter(|&v| v + 6 <= crate::packet::ANNO_SIZE)
                    .ok_or("ANNO: bad annotation")?,
            ),
        };
        match (addr, self.anno) {
            (Some(a), None) => self.addr = a,
            (None, Some(_)) => {}
            _ => return Err("must specify exactly one of ADDR/ANNO".into()),
        }
        let off = b.str("OFFSET").map(|s| s.trim()).unwrap_or("0");
        self.offset = match off.to_ascii_lowercase().as_str() {
            "src" => 6,
            "dst" => 0,
            _ => args::parse_u64(off).ok_or("type mismatch: bad OFFSET")? as usize,
        };
        Ok(())
    }
    crate::extra_filter_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("addr")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "addr").then(|| Ok(fmt_eth(&self.addr)))
    }
    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "addr").then(|| {
            self.addr = args::parse_eth(value.trim(), &self.addrs)
                .ok_or_else(|| "expected Ethernet address".to_string())?;
            Ok(())
        })
    }
}

/// MarkMACHeader([OFFSET, LENGTH]).
#[derive(Default)]
pub struct MarkMACHeader {
    offset: usize,
}
impl MarkMACHeader {
    #[inline]
    fn process(&mut self, batch: &mut PacketBatch, _ctx: &mut Ctx<'_>) {
        for p in batch.iter_mut() {
            p.set_mac_header(self.offset.min(p.len()));
        }
    }
}
impl Element for MarkMACHeader {
    element_class!(class: "MarkMACHeader", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(conf, &[("OFFSET", Kind::P), ("LENGTH", Kind::P)])?;
        self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
        Ok(())
    }
    simple_push_pull!();
}

/// HostEtherFilter(ETH [, DROP_OWN, DROP_OTHER]): sets the packet type annotation and drops
/// frames for other hosts (to output 1 when present).
#[derive(Default)]
pub struct HostEtherFilter {
    eth: [u8; 6],
    drop_own: bool,
    drop_other: bool,
    offset: usize,
}
impl HostEtherFilter {
    fn keep(&self, p: &mut Packet) -> bool {
        let d = p.data();
        let o = self.offset;
        if d.len() < o + 12 {
            return false;
        }
        let dst: [u8; 6] = [d[o], d[o + 1], d[o + 2], d[o + 3], d[o + 4], d[o + 5]];
        let src = &d[o + 6..o + 12];
        if self.drop_own && src == self.eth {
            return false;
        }
        if dst == self.eth {
            p.packet_type = PacketType::Host;
            true
        } else if dst == [0xff; 6] {
            p.packet_type = PacketType::Broadcast;
            true
        } else if dst[0] & 1 != 0 {
            p.packet_type = PacketType::Multicast;
            true
        } else {
            p.packet_type = PacketType::OtherHost;
            !self.drop_other
        }
    }
}
impl Element for HostEtherFilter {
    element_class!(class: "HostEtherFilter", ports: "1/1-2", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("ETHER", Kind::Mp),
                ("DROP_OWN", Kind::P),
                ("DROP_OTHER", Kind::P),
                ("OFFSET", Kind::K),
            ],
        )?;
        self.eth = eth_arg(&b, "ETHER", cx)?;
        self.drop_own = b.bool("DROP_OWN")?.unwrap_or(false);
        self.drop_other = b.bool("DROP_OTHER")?.unwrap_or(true);
        self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
        Ok(())
    }
    fn push(&mut self, _port: usize, mut batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let bad = split_batch(&mut batch, |p| self.keep(p));
        ctx.output(0, batch);
        ctx.output(1, bad);
    }
}

/// Why CheckARPHeader drops a packet (Click's reason texts).
const ARP_DROP_REASONS: [&str; 4] = [
    "tiny packet",
    "too small for addresses",
    "bad hardware type/length",
    "bad protocol type/length",
];

/// CheckARPHeader([OFFSET, VERBOSE, DETAILS]).
#[derive(Default)]
pub struct CheckARPHeader {
    offset: usize,
    drops: u64,
    verbose: bool,
    /// Per-reason drop counts, when DETAILS is true.
    details: Option<[u64; 4]>,
}
impl CheckARPHeader {
    /// The drop reason index for a bad header, or None (and the network header set) if good.
    fn reason(&self, p: &mut Packet) -> Option<usize> {
        let d = p.data();
        let o = self.offset;
        let Some(a) = d.get(o..).filter(|a| a.len() >= 8) else {
            return Some(0);
        };
        let hrd = u16::from_be_bytes([a[0], a[1]]);
        let pro = u16::from_be_bytes([a[2], a[3]]);
        let (hln, pln) = (a[4], a[5]);
        let hlen = 8 + 2 * (hln as usize + pln as usize);
        if a.len() < hlen {
            Some(1)
        } else if hrd == 1 && hln != 6 {
            Some(2)
        } else if (pro == 0x0800 && pln != 4) || (pro == 0x86dd && pln != 16) {
            Some(3)
        } else {
            p.set_network_header(o, hlen);
            None
        }
    }
    fn check(&mut self, p: &mut Packet, ctx: &mut Ctx<'_>) -> bool {
        let Some(r) = self.reason(p) else {
            return true;
        };
        // Click reports the first failure (every failure when VERBOSE).
        if self.drops == 0 || self.verbose {
            ctx.chatter(&format!("ARP header check failed: {}", ARP_DROP_REASONS[r]));
        }
        self.drops += 1;
        if let Some(d) = self.details.as_mut() {
            d[r] += 1;
        }
        false
    }
}
impl Element for CheckARPHeader {
    element_class!(class: "CheckARPHeader", ports: "1/1-2", processing: "a/ah");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("OFFSET", Kind::P),
                ("VERBOSE", Kind::K),
                ("DETAILS", Kind::K),
            ],
        )?;
        self.offset = b.u64("OFFSET")?.unwrap_or(0) as usize;
        self.verbose = b.bool("VERBOSE")?.unwrap_or(false);
        self.details = b.bool("DETAILS")?.unwrap_or(false).then_some([0; 4]);
        Ok(())
    }
    crate::extra_filter_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut h = vec![HandlerSpec::r("drops")];
        if self.details.is_some() {
            h.push(HandlerSpec::r("drop_details"));
        }
        h
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match (name, &self.details) {
            ("drops", _) => Some(Ok(self.drops.to_string())),
            ("drop_details", Some(d)) => Some(Ok(d
                .iter()
                .zip(ARP_DROP_REASONS)
                .map(|(n, t)| format!("{n}\t{t}\n"))
                .collect())),
            _ => None,
        }
    }
}

pub(crate) fn arp_packet(
    op: u16,
    sha: &[u8; 6],
    spa: [u8; 4],
    tha: &[u8; 6],
    tpa: [u8; 4],
    eth_dst: &[u8; 6],
) -> Packet {
    let mut d = [0u8; 42];
    d[0..6].copy_from_slice(eth_dst);
    d[6..12].copy_from_slice(sha);
    d[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    d[14..16].copy_from_slice(&1u16.to_be_bytes());
    d[16..18].copy_from_slice(&0x0800u16.to_be_bytes());
    d[18] = 6;
    d[19] = 4;
    d[20..22].copy_from_slice(&op.to_be_bytes());
    d[22..28].copy_from_slice(sha);
    d[28..32].copy_from_slice(&spa);
    d[32..38].copy_from_slice(tha);
    d[38..42].copy_from_slice(&tpa);
    let mut p = Packet::from_data(&d);
    p.set_mac_header(0);
    // Click's set_mac_header(data, 14) also marks the ARP header as the network header.
    p.set_network_header(14, 28);
    p
}

/// One ARPResponder entry: (address, mask, Ethernet address).
type ArpEntry = (u32, u32, [u8; 6]);

/// ARPResponder(IP/MASK ... ETH, ...): answers ARP requests for its addresses.
#[derive(Default)]
pub struct ARPResponder {
    /// (address, mask, Ethernet), in Click's normalize order.
    entries: Vec<ArpEntry>,
    /// AddressInfo kept for the `config` and `add` write handlers.
    addrs: args::AddressInfo,
}
impl ARPResponder {
    /// Parse one `IP/MASK... ETH` argument into `v`, as Click's ARPResponder::add.
    fn add(v: &mut Vec<ArpEntry>, arg: &str, ai: &args::AddressInfo) -> Result<(), String> {
        let prefix = |w: &str| -> Option<(u32, u32)> {
            if ai.ip.contains_key(w) {
                let (a, _) = ai.ip.get(w)?;
                return Some((u32::from(*a), u32::MAX));
            }
            args::parse_prefix(w, ai).map(|(a, m)| (u32::from(a) & u32::from(m), u32::from(m)))
        };
        let eth = |w: &str| -> Option<[u8; 6]> {
            args::parse_eth(w, ai)
                .or_else(|| w.strip_suffix(":eth").and_then(|n| ai.eth.get(n).copied()))
        };
        let words = args::split_words(arg);
        let mut ips = Vec::new();
        let mut ena = None;
        for w in &words {
            if let Some(pm) = prefix(w) {
                ips.push(pm);
            } else if let Some(e) = eth(w) {
                if ena.is_some() {
                    return Err("more than one ETH".into());
                }
                ena = Some(e);
            } else {
                return Err("expected IP/MASK ETH".into());
            }
        }
        // an argument that is both an IP address and an Ethernet address (an AddressInfo name)
        if ena.is_none() {
            ena = words.iter().find_map(|w| eth(w));
        }
        if ips.is_empty() {
            return Err("missing IP/MASK".into());
        }
        let Some(e) = ena else {
            return Err("missing ETH".into());
        };
        v.extend(ips.into_iter().map(|(a, m)| (a, m, e)));
        Ok(())
    }

    /// Click's entry order: an entry whose address lies in another's prefix goes first, others
    /// keep configuration order, and of duplicates the later wins.
    fn entry_cmp(v: &[ArpEntry], a: usize, b: usize) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let (ea, eb) = (v[a], v[b]);
        if ea.0 == eb.0 && ea.1 == eb.1 {
            b.cmp(&a)
        } else if ea.0 & eb.1 == eb.0 {
            Ordering::Less
        } else if eb.0 & ea.1 == ea.0 {
            Ordering::Greater
        } else {
            a.cmp(&b)
        }
    }

    /// Sort in Click's order (see `entry_cmp`); returns the duplicates dropped.
    fn normalize(v: &mut Vec<ArpEntry>) -> Vec<String> {
        // The relation need not be transitive, so use an insertion sort (what Click does for
        // small tables) rather than `sort_by`, which may panic on inconsistent orders.
        let mut idx: Vec<usize> = (0..v.len()).collect();
        for i in 1..idx.len() {
            let mut j = i;
            while j > 0 && Self::entry_cmp(v, idx[j - 1], idx[j]).is_gt() {
                idx.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut nv: Vec<ArpEntry> = Vec::new();
        let mut dups = Vec::new();
        for i in idx {
            let e = v[i];
            if nv.last().is_some_and(|l| l.0 == e.0 && l.1 == e.1) {
                dups.push(format!(
                    "multiple entries for {}/{}",
                    Ipv4Addr::from(e.0),
                    e.1.count_ones()
                ));
            } else {
                nv.push(e);
            }
        }
        *v = nv;
        dups
    }

    fn parse_config(&self, conf: &str) -> Result<(Vec<ArpEntry>, Vec<String>), String> {
        let mut v = Vec::new();
        let mut errs = Vec::new();
        for (i, a) in args::split_args(conf).iter().enumerate() {
            if let Err(e) = Self::add(&mut v, a, &self.addrs) {
                errs.push(format!("argument {i}: {e}"));
            }
        }
        if !errs.is_empty() {
            return Err(errs.join("\n"));
        }
        let w = Self::normalize(&mut v);
        Ok((v, w))
    }

    fn respond(&self, p: &Packet) -> Option<Packet> {
        let d = p.data();
        if d.len() < 42 || d[12..14] != [8, 6] || d[20..22] != [0, 1] {
            return None;
        }
        let tpa = u32::from_be_bytes([d[38], d[39], d[40], d[41]]);
        let (_, _, eth) = self.entries.iter().find(|(a, m, _)| tpa & m == *a)?;
        let sha: [u8; 6] = [d[22], d[23], d[24], d[25], d[26], d[27]];
        let spa = [d[28], d[29], d[30], d[31]];
        // Click's ARPResponder makes a fresh packet: no timestamp annotation.
        Some(arp_packet(2, eth, tpa.to_be_bytes(), &sha, spa, &sha))
    }
}
impl Element for ARPResponder {
    element_class!(class: "ARPResponder", ports: "1/1-2", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        self.addrs = cx.addrs.clone();
        let (v, w) = self.parse_config(conf)?;
        self.entries = v;
        cx.warnings.extend(w);
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for p in batch {
            match self.respond(&p) {
                Some(r) => out.push(r),
                None => rest.push(p),
            }
        }
        ctx.output(0, out);
        ctx.output(1, rest);
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("table"),
            HandlerSpec::r("lookup"),
            HandlerSpec::w("add"),
            HandlerSpec::w("remove"),
            HandlerSpec::w("config"),
        ]
    }
    fn read_handler(&mut self, name: &str, param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match name {
            "table" => Some(Ok(self
                .entries
                .iter()
                .map(|(a, m, e)| {
                    format!("{}/{} {}\n", Ipv4Addr::from(*a), m.count_ones(), fmt_eth(e))
                })
                .collect())),
            "lookup" => Some(match args::parse_ip(param, &self.addrs) {
                Some(ip) => {
                    let ip = u32::from(ip);
                    Ok(self
                        .entries
                        .iter()
                        .find(|(a, m, _)| ip & m == *a)
                        .map(|(_, _, e)| fmt_eth(e))
                        .unwrap_or_default())
                }
                None => Err("expected IP address".into()),
            }),
            _ => None,
        }
    }
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "config" => Some(self.parse_config(value).map(|(v, w)| {
                for m in w {
                    ctx.chatter(&format!("  warning: {m}"));
                }
                self.entries = v;
            })),
            "add" => {
                let mut v = self.entries.clone();
                Some(Self::add(&mut v, value, &self.addrs).map(|()| {
                    Self::normalize(&mut v);
                    self.entries = v;
                }))
            }
            "remove" => Some(match args::parse_prefix(value, &self.addrs) {
                Some((a, m)) => {
                    let (a, m) = (u32::from(a) & u32::from(m), u32::from(m));
                    match self.entries.iter().position(|e| e.0 == a && e.1 == m) {
                        Some(i) => {
                            self.entries.remove(i);
                            Ok(())
                        }
                        None => Err(format!(
                            "{}/{} not found",
                            Ipv4Addr::from(a),
                            m.count_ones()
                        )),
                    }
                }
                None => Err("expected IP/MASK".into()),
            }),
            _ => None,
        }
    }
}
