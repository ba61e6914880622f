//! Trace files: FromIPSummaryDump/ToIPSummaryDump (text) and FromDump/ToDump (pcap).

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::element_class;
use crate::elements::ip::{set_ip_checksum, set_transport_checksum};
use crate::packet::{Packet, PacketBatch, Timestamp, EXTRA_LENGTH_ANNO_OFFSET, PAINT_ANNO_OFFSET};
use crate::registry::Registry;
use std::io::Write;
use std::net::Ipv4Addr;

/// Register the trace classes.
pub fn register(r: &mut Registry) {
    r.register("FromIPSummaryDump", || Box::new(FromTrace::new(false)));
    r.register("FromDump", || Box::new(FromTrace::new(true)));
    r.register("ToIPSummaryDump", || Box::new(ToTrace::new(false)));
    r.register("ToDump", || Box::new(ToTrace::new(true)));
}

fn canonical(f: &str) -> &str {
    match f {
        "src" | "ip_src" | "saddr" => "ip_src",
        "dst" | "ip_dst" | "daddr" => "ip_dst",
        "sport" | "src_port" | "tcp_sport" | "udp_sport" => "sport",
        "dport" | "dst_port" | "tcp_dport" | "udp_dport" => "dport",
        "proto" | "ip_proto" | "ip_p" => "ip_proto",
        "len" | "length" | "ip_len" => "ip_len",
        "id" | "ip_id" => "ip_id",
        "ttl" | "ip_ttl" => "ip_ttl",
        "tos" | "ip_tos" => "ip_tos",
        "ts" | "timestamp" => "timestamp",
        "sec" | "ts_sec" => "ts_sec",
        "usec" | "ts_usec" => "ts_usec",
        "flags" | "tcp_flags" => "tcp_flags",
        "seq" | "tcp_seq" => "tcp_seq",
        "ack" | "tcp_ack" => "tcp_ack",
        "win" | "tcp_window" => "tcp_window",
        "payload_length" | "payload_len" => "payload_len",
        "link" | "direction" => f,
        "pkt_count" | "packet_count" | "count" => "count",
        "frag" | "ip_frag" => "ip_frag",
        "fragoff" | "ip_fragoff" => "ip_fragoff",
        other => other,
    }
}

const FLAGS: &[u8] = b"FSRPAUECN";

/// Click's payload_info: offset (from the packet data) and length of the payload. Past the
/// IP header only the TCP and UDP headers are skipped (an ICMP payload includes its
/// header), and the length comes from `ip_len`. `None` when a packet claims a payload
/// shorter than its headers (Click would wrap around).
fn payload_info(p: &Packet) -> Option<(usize, usize)> {
    let Some(ip) = p.network_header().filter(|i| i.len() >= 20) else {
        return Some((0, p.data().len()));
    };
    let nh_off = p.network_header_offset()?;
    let hl = ((ip[0] & 0xf) as usize) * 4;
    let ip_len = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    let first_frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
    let th = match ip[9] {
        6 if first_frag => match ip.get(hl + 12) {
            Some(b) if ip.len() - hl >= 13 && ((b >> 4) as usize) * 4 >= 20 => {
                ((b >> 4) as usize) * 4
            }
            _ => 20,
        },
        17 | 136 if first_frag => 8,
        _ => 0,
    };
    let off = hl + th;
    let start = usize::try_from(nh_off + off as isize).ok()?;
    Some((start, ip_len.checked_sub(off)?))
}

/// A payload as Click's cp_quote prints it.
fn quote_payload(pl: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in pl {
        match b {
            b'"' => s.push_str("\\\""),
            // `$` would start a configuration variable where the text is read back.
            b'$' => s.push_str("\\$"),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            32..=126 => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

/// Click's ICMP type names (ipnameinfo), by type number.
const ICMP_TYPE_NAMES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("unreachable", 3),
    ("sourcequench", 4),
    ("redirect", 5),
    ("echo", 8),
    ("routeradvert", 9),
    ("routersolicit", 10),
    ("timeexceeded", 11),
    ("parameterproblem", 12),
    ("timestamp", 13),
    ("timestamp-reply", 14),
    ("inforeq", 15),
    ("inforeq-reply", 16),
    ("maskreq", 17),
    ("maskreq-reply", 18),
];

/// Click's name for an ICMP type, if it has one.
pub(crate) fn icmp_type_name(t: u8) -> Option<&'static str> {
    ICMP_TYPE_NAMES
        .iter()
        .find(|(_, n)| *n == t)
        .map(|(s, _)| *s)
}

fn icmp_type_of(s: &str) -> Option<u8> {
    ICMP_TYPE_NAMES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, t)| *t)
        .or_else(|| s.parse().ok())
}

fn parse_flags(s: &str) -> Option<u16> {
    if let Some(v) = args::parse_u64(s) {
        return Some(v as u16);
    }
    if s == "." {
        return Some(0);
    }
    let mut f = 0u16;
    for c in s.bytes() {
        let i = FLAGS.iter().position(|x| *x == c.to_ascii_uppercase())?;
        f |= 1 << i;
    }
    Some(f)
}

fn proto_of(s: &str) -> Option<u8> {
    Some(match s {
        "T" | "tcp" => 6,
        "U" | "udp" => 17,
        "I" | "icmp" => 1,
        _ => args::parse_u64(s).filter(|v| *v < 256)? as u8,
    })
}

/// Split a summary-dump line into fields (double-quoted strings keep spaces).
fn split_line(line: &str) -> Vec<String> {
    args::split_words(line)
}

fn build_ipsum_packet(
    fields: &[String],
    vals: &[String],
    default_proto: u8,
    cksum: bool,
) -> Option<(Packet, u32)> {
    let mut src = 0u32;
    let mut dst = 0u32;
    let mut sport: Option<u16> = None;
    let mut dport: Option<u16> = None;
    let mut proto: Option<u8> = None;
    let mut ip_len: Option<usize> = None;
    let (mut id, mut ttl, mut tos) = (0u16, 100u8, 0u8);
    let mut ts = Timestamp::ZERO;
    let mut flags: Option<u16> = None;
    let (mut seq, mut ack, mut win) = (0u32, 0u32, 0u16);
    let mut urp = 0u16;
    let mut tcp_opt: Option<Vec<u8>> = None;
    let mut ip_opt: Vec<u8> = Vec::new();
    let mut payload: Option<Vec<u8>> = None;
    let mut payload_len: Option<usize> = None;
    let mut paint: Option<u8> = None;
    let mut count = 1u32;
    let mut fragoff = 0u16;
    let mut mf = false;
    let mut icmp: Option<(u8, u8)> = None;
    let (mut icmp_id, mut icmp_seq) = (0u16, 0u16);
    let mut ecn: Option<u8> = None;
    let mut ip_hl: Option<usize> = None;
    let mut tcp_off: Option<usize> = None;
    let mut aggregate: Option<u32> = None;
    for (f, v) in fields.iter().zip(vals) {
        let v = v.as_str();
        if v == "-" {
            continue;
        }
        match f.as_str() {
            "ip_src" => src = u32::from(v.parse::<Ipv4Addr>().ok()?),
            "ip_dst" => dst = u32::from(v.parse::<Ipv4Addr>().ok()?),
            "sport" => sport = Some(v.parse().ok()?),
            "dport" => dport = Some(v.parse().ok()?),
            "ip_proto" => proto = Some(proto_of(v)?),
            "ip_len" => ip_len = Some(v.parse().ok()?),
            "ip_id" => id = v.parse().ok()?,
            "ip_ttl" => ttl = v.parse().ok()?,
            "ip_tos" => tos = v.parse().ok()?,
            "timestamp" => ts = Timestamp::from_secs_f64(v.parse().ok()?),
            "ts_sec" => ts = ts + Timestamp::new(v.parse().ok()?, 0),
            "ts_usec" => ts = ts + Timestamp(v.parse::<i64>().ok()? * 1000),
            "tcp_flags" => flags = Some(parse_flags(v)?),
            "tcp_seq" => seq = v.parse().ok()?,
            "tcp_ack" => ack = v.parse().ok()?,
            "tcp_window" => win = v.parse().ok()?,
            "tcp_urp" => urp = v.parse().ok()?,
            "tcp_opt" if v != "." => tcp_opt = Some(super::tcp_options::parse(v)?),
            // Click skips an unreadable ip_opt field, not the line.
            "ip_opt" => ip_opt = super::ip_options::parse(v).unwrap_or_default(),
            "payload" => payload = Some(args::parse_data(v)),
            "payload_len" => payload_len = Some(v.parse().ok()?),
            "link" | "direction" | "paint" => {
                paint = Some(match v {
                    ">" => 0,
                    "<" => 1,
                    _ => v.parse().ok()?,
                })
            }
            "count" => count = v.parse().ok()?,
            "ip_fragoff" => {
                let (n, plus) = match v.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (v, false),
                };
                fragoff = (n.parse::<u16>().ok()? / 8) & 0x1fff;
                mf = plus;
            }
            "ip_frag" if v == "F" => mf = true,
            "icmp_type" | "icmp_type_name" => {
                icmp = Some((icmp_type_of(v)?, icmp.map(|x| x.1).unwrap_or(0)))
            }
            "icmp_flowid" => icmp_id = v.parse().ok()?,
            "icmp_seq" => icmp_seq = v.parse().ok()?,
            "ip_hl" => ip_hl = Some(v.parse::<usize>().ok()?.clamp(20, 60) & !3),
            "tcp_off" => tcp_off = Some(v.parse::<usize>().ok()?.clamp(20, 60) & !3),
            "ip_ecn" => {
                let e = match v {
                    "no" | "." => 0,
                    "ect1" | "ECT(1)" => 1,
                    "ect2" | "ect0" | "ECT(0)" | "ect" => 2,
                    "ce" | "CE" => 3,
                    _ => v.parse::<u8>().ok()? & 3,
                };
                ecn = Some(e);
            }
            "icmp_code" => icmp = Some((icmp.map(|x| x.0).unwrap_or(0), v.parse().ok()?)),
            "aggregate" => aggregate = Some(v.parse().ok()?),
            _ => {}
        }
    }
    let proto = proto.unwrap_or(default_proto);
    let thl = if fragoff != 0 {
        0
    } else {
        match proto {
            6 => tcp_off.unwrap_or(20 + tcp_opt.as_ref().map_or(0, |o| o.len().div_ceil(4) * 4)),
            17 => 8,
            1 => {
                if payload.is_some() && icmp.is_none() {
                    0
                } else {
                    8
                }
            }
            _ => 0,
        }
    };
    // Options grow the header to hold them (zero padding is EOL), as Click's ip_opt does.
    let h = ip_hl.unwrap_or(20).max((20 + ip_opt.len() + 3) & !3);
    // An explicit ip_len shorter than the headers cuts the packet there, as in Click.
    let thl = match (ip_len, &payload) {
        (Some(l), None) => thl.min(l.saturating_sub(h)),
        _ => thl,
    };
    let pl = payload
        .as_ref()
        .map(|p| p.len())
        .or(payload_len)
        .unwrap_or(0);
    let total = ip_len.unwrap_or(h + thl + pl).max(h);
    // With an explicit payload the packet holds header + payload only; ip_len may claim more.
    let mut data_len = match &payload {
        Some(p) => h + thl + p.len(),
        // Click builds header-only packets when no payload is given (ip_len keeps the claim).
        None => h + thl,
    };
    // With CHECKSUM, Click zero-pads the packet to ip_len so the checksums cover it all.
    if cksum {
        data_len = data_len.max(total.min(0xFFFF));
    }
    let mut d = vec![0u8; data_len];
    d[0] = 0x40 | (h / 4) as u8;
    d[1] = match ecn {
        Some(e) => (tos & !3) | e,
        None => tos,
    };
    d[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    d[4..6].copy_from_slice(&id.to_be_bytes());
    d[6..8].copy_from_slice(&(fragoff | if mf { 0x2000 } else { 0 }).to_be_bytes());
    d[8] = ttl;
    d[9] = proto;
    d[12..16].copy_from_slice(&src.to_be_bytes());
    d[16..20].copy_from_slice(&dst.to_be_bytes());
    d[20..20 + ip_opt.len()].copy_from_slice(&ip_opt);
    if thl >= 4 {
        d[h..h + 2].copy_from_slice(&sport.unwrap_or(0).to_be_bytes());
        d[h + 2..h + 4].copy_from_slice(&dport.unwrap_or(0).to_be_bytes());
    }
    match proto {
        6 if thl >= 20 => {
            d[h + 4..h + 8].copy_from_slice(&seq.to_be_bytes());
            d[h + 8..h + 12].copy_from_slice(&ack.to_be_bytes());
            d[h + 12] = ((thl / 4) as u8) << 4;
            let fl = flags.unwrap_or(0);
            d[h + 13] = fl as u8;
            d[h + 12] |= ((fl >> 8) & 1) as u8;
            d[h + 14..h + 16].copy_from_slice(&win.to_be_bytes());
            d[h + 18..h + 20].copy_from_slice(&urp.to_be_bytes());
            if let Some(o) = &tcp_opt {
                let n = o.len().min(thl - 20);
                d[h + 20..h + 20 + n].copy_from_slice(&o[..n]);
            }
        }
        17 if thl == 8 => {
            let ul = (total.saturating_sub(h)) as u16;
            d[h + 4..h + 6].copy_from_slice(&ul.to_be_bytes());
        }
        1 if thl == 8 => {
            if let Some((t, c)) = icmp {
                d[h] = t;
                d[h + 1] = c;
            }
            d[h + 4..h + 6].copy_from_slice(&icmp_id.to_be_bytes());
            d[h + 6..h + 8].copy_from_slice(&icmp_seq.to_be_bytes());
        }
        _ => {}
    }
    if let Some(p) = &payload {
        let start = h + thl;
        let n = p.len().min(d.len().saturating_sub(start));
        d[start..start + n].copy_from_slice(&p[..n]);
    }
    // Click's FromIPSummaryDump leaves checksums zero unless CHECKSUM true.
    if cksum {
        set_ip_checksum(&mut d[..h]);
        if fragoff == 0 && (proto == 6 || proto == 17) {
            set_transport_checksum(&mut d);
        }
        if fragoff == 0 && proto == 1 && d.len() >= h + 8 {
            d[h + 2] = 0;
            d[h + 3] = 0;
            let c = netwire::checksum::checksum(&d[h..]);
            d[h + 2..h + 4].copy_from_slice(&c.to_be_bytes());
        }
    }
    let mut pkt = Packet::from_data(&d);
    pkt.set_network_header(0, h);
    pkt.timestamp = ts;
    if total > data_len {
        pkt.set_anno_u32(EXTRA_LENGTH_ANNO_OFFSET, (total - data_len) as u32);
    }
    if let Some(c) = paint {
        pkt.anno[PAINT_ANNO_OFFSET] = c;
    }
    pkt.set_dst_ip_anno(dst.to_be_bytes());
    if let Some(a) = aggregate {
        pkt.set_anno_u32(crate::packet::AGGREGATE_ANNO_OFFSET, a);
    }
    Some((pkt, count.max(1)))
}

/// FromIPSummaryDump / FromDump.
pub struct FromTrace {
    pcap: bool,
    file: String,
    stop: bool,
    active: bool,
    force_ip: bool,
    default_proto: u8,
    checksum: bool,
    packets: std::collections::VecDeque<Packet>,
    count: u64,
    pushing: bool,
    done: bool,
    burst: usize,
    /// Inline dump text (`DATA`), used instead of FILENAME.
    data: Option<String>,
    /// TIMING: emit each packet when the clock has advanced as far as the trace did since
    /// its first packet (the offset is fixed at the first packet).
    timing: bool,
    timing_offset: Option<i64>,
}

impl FromTrace {
    fn new(pcap: bool) -> Self {
        FromTrace {
            timing: false,
            timing_offset: None,
            pcap,
            file: String::new(),
            stop: false,
            active: true,
            force_ip: false,
            default_proto: 6,
            checksum: false,
            packets: Default::default(),
            count: 0,
            pushing: true,
            done: false,
            burst: 32,
            data: None,
        }
    }

    fn load_ipsum(&mut self, text: &str) -> Result<(), String> {
        let mut fields: Vec<String> = vec!["timestamp".into(), "ip_src".into(), "ip_dst".into()];
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line
                .strip_prefix("!data")
                .or_else(|| line.strip_prefix("!contents"))
            {
                fields = rest
                    .split_whitespace()
                    .map(|f| canonical(f).to_string())
                    .collect();
                continue;
            }
            if let Some(rest) = line.strip_prefix("!proto") {
                if let Some(p) = proto_of(rest.trim()) {
                    self.default_proto = p;
                }
                continue;
            }
            if line.starts_with('!') || line.starts_with('#') {
                continue;
            }
            let vals = split_line(line);
            if let Some((p, n)) =
                build_ipsum_packet(&fields, &vals, self.default_proto, self.checksum)
            {
                for _ in 1..n {
                    self.packets.push_back(p.clone());
                }
                self.packets.push_back(p);
            }
        }
        Ok(())
    }

    fn load_pcap(&mut self, data: &[u8]) -> Result<(), String> {
        if data.len() < 24 {
            return Err("pcap file too short".into());
        }
        let magic = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let (le, nano) = match magic {
            0xa1b2c3d4 => (true, false),
            0xa1b23c4d => (true, true),
            0xd4c3b2a1 => (false, false),
            0x4d3cb2a1 => (false, true),
            _ => return Err("not a pcap file".into()),
        };
        let rd = |b: &[u8]| -> u32 {
            let a = [b[0], b[1], b[2], b[3]];
            if le {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            }
        };
        let linktype = rd(&data[20..24]);
        let mut off = 24;
        while off + 16 <= data.len() {
            let sec = rd(&data[off..]) as i64;
            let frac = rd(&data[off + 4..]) as i64;
            let caplen = rd(&data[off + 8..]) as usize;
            let wire_len = rd(&data[off + 12..]) as usize;
            off += 16;
            if off + caplen > data.len() {
                break;
            }
            let mut p = Packet::from_data(&data[off..off + caplen]);
            off += caplen;
            // The uncaptured rest of the packet is "extra length", as in Click.
            if wire_len > caplen {
                p.set_anno_u32(EXTRA_LENGTH_ANNO_OFFSET, (wire_len - caplen) as u32);
            }
            p.timestamp = Timestamp::new(sec, if nano { frac } else { frac * 1000 });
            let ip_off = match linktype {
                1 => {
                    p.set_mac_header(0);
                    Some(14)
                }
                12 | 101 | 228 => Some(0),
                113 => Some(16),
                _ => None,
            };
            if let Some(o) = ip_off {
                if self.force_ip || linktype != 1 || p.data().get(12..14) == Some(&[8, 0]) {
                    let hl = p
                        .data()
                        .get(o)
                        .map(|b| ((b & 0xf) as usize) * 4)
                        .unwrap_or(20);
                    if p.len() >= o + 20 {
                        p.set_network_header(o, hl);
                    }
                }
            }
            self.packets.push_back(p);
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if !self.done {
            self.done = true;
            if self.stop {
                ctx.stop_router();
            }
        }
    }
}

impl Element for FromTrace {
    element_class! {
        self =>
        class: if self.pcap { "FromDump" } else { "FromIPSummaryDump" },
        ports: "0/1",
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = args::bind_rest(
            conf,
            &[
                ("FILENAME", Kind::P),
                ("STOP", Kind::K),
                ("ACTIVE", Kind::K),
                ("FORCE_IP", Kind::K),
                ("ZERO", Kind::K),
                ("TIMING", Kind::K),
                ("PROTO", Kind::K),
                ("CHECKSUM", Kind::K),
                ("SAMPLE", Kind::K),
                ("MULTIPACKET", Kind::K),
                ("DEFAULT_CONTENTS", Kind::K),
                ("DEFAULT_FIELDS", Kind::K),
                ("CONTENTS", Kind::K),
                ("BURST", Kind::K),
                ("START", Kind::K),
                ("END", Kind::K),
                ("INTERVAL", Kind::K),
                ("END_CALL", Kind::K),
                ("FILEPOS", Kind::K),
                ("MMAP", Kind::K),
                ("ENCAP", Kind::K),
                ("DATA", Kind::K),
            ],
        )?;
        self.file = b.string("FILENAME")?.unwrap_or_default();
        self.data = b.string("DATA")?;
        self.stop = b.bool("STOP")?.unwrap_or(false);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.force_ip = b.bool("FORCE_IP")?.unwrap_or(false);
        self.checksum = b.bool("CHECKSUM")?.unwrap_or(false);
        self.timing = b.bool("TIMING")?.unwrap_or(false);
        if let Some(p) = b.str("PROTO") {
            self.default_proto = proto_of(p.trim()).ok_or("PROTO: bad protocol")?;
        }
        if let Some(bu) = b.u64("BURST")? {
            self.burst = bu.max(1) as usize;
        }
        Ok(())
    }
    /// Pulled, the source tells its puller when it is inactive or exhausted (Click's
    /// ActiveNotifier).
    fn is_empty_notifier(&self) -> bool {
        true
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        ctx.set_signal(self.active);
        if let Some(text) = self.data.take() {
            self.load_ipsum(&text)?;
            self.pushing = !ctx.output_is_pull(0);
            if self.pushing && self.active {
                ctx.reschedule();
            }
            return Ok(());
        }
        let data = ctx
            .env()
            .read_file(&self.file)
            .map_err(|e| format!("{}: {}", self.file, e))?;
        if self.pcap {
            self.load_pcap(&data)?;
        } else {
            self.load_ipsum(&String::from_utf8_lossy(&data))?;
        }
        self.pushing = !ctx.output_is_pull(0);
        if self.pushing && self.active {
            ctx.reschedule();
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        // TIMING: the next packet is due.
        if self.active && self.pushing {
            ctx.reschedule();
        }
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || !self.pushing {
            return false;
        }
        if self.packets.is_empty() {
            self.finish(ctx);
            return false;
        }
        if self.timing {
            if let Some(ts) = self.packets.front().map(|p| p.timestamp) {
                let now = ctx.now();
                let off = *self.timing_offset.get_or_insert(now.0 - ts.0);
                let due = Timestamp(ts.0 + off);
                if now < due {
                    ctx.schedule_timer(0, due);
                    return false;
                }
            }
        }
        // One packet per run keeps the interleaving of several sources Click-like.
        let n = 1.min(self.packets.len());
        let b: PacketBatch = self.packets.drain(..n).collect();
        self.count += n as u64;
        ctx.output(0, b);
        ctx.reschedule();
        true
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        if !self.active {
            ctx.set_signal(false);
            return Vec::new();
        }
        if self.packets.is_empty() {
            self.finish(ctx);
            ctx.set_signal(false);
            return Vec::new();
        }
        let n = max.min(self.packets.len());
        self.count += n as u64;
        self.packets.drain(..n).collect()
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![
            HandlerSpec::r("count"),
            HandlerSpec::rw("active"),
            HandlerSpec::r("filename"),
        ]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "active" => crate::elements::bool_str(self.active),
            "filename" => self.file.clone(),
            _ => return None,
        }))
    }
    fn write_handler(
        &mut self,
        name: &str,
        v: &str,
        ctx: &mut Ctx<'_>,
    ) -> crate::element::WriteResult {
        (name == "active").then(|| {
            self.active = crate::elements::parse_bool_h(v)?;
            if self.active {
                ctx.reschedule();
                if !self.pushing && !self.packets.is_empty() {
                    ctx.set_signal(true);
                }
            }
            Ok(())
        })
    }
}

/// ToIPSummaryDump / ToDump.
pub struct ToTrace {
    pcap: bool,
    file: String,
    fields: Vec<String>,
    out: Option<Box<dyn Write>>,
    count: u64,
    pulling: bool,
    banner: bool,
    snaplen: usize,
    /// pcap link type (ToDump's ENCAP).
    linktype: u32,
    /// Count EXTRA_LENGTH_ANNO in each record's wire length (ToDump's EXTRA_LENGTH).
    extra_length: bool,
    /// Nanosecond pcap timestamps (ToDump's NANO).
    nano: bool,
    burst: usize,
}

/// Click's pcap encapsulation names (fakepcap), by link type.
const DLT_NAMES: &[(&str, u32)] = &[
    ("NULL", 0),
    ("IP", 101),
    ("ETHER", 1),
    ("FDDI", 10),
    ("ATM", 100),
    ("RFC1483", 100),
    ("ATM_RFC1483", 100),
    ("802_11", 105),
    ("802.11", 105),
    ("802_11_RADIO", 127),
    ("802.11_RADIO", 127),
    ("SLL", 113),
    ("AIRONET", 120),
    ("HDLC", 104),
    ("PPP_HDLC", 50),
    ("PPP", 9),
    ("SUNATM", 123),
    ("PRISM", 119),
];

/// Parse an ENCAP name (or `#N`) into a pcap link type.
fn parse_dlt(s: &str) -> Option<u32> {
    DLT_NAMES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, d)| *d)
        .or_else(|| {
            s.strip_prefix('#')
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|d| *d < 0x7FFF_FFFF)
        })
}

impl ToTrace {
    fn new(pcap: bool) -> Self {
        ToTrace {
            pcap,
            file: String::new(),
            fields: Vec::new(),
            out: None,
            count: 0,
            pulling: false,
            banner: true,
            snaplen: 2000,
            linktype: 1,
            extra_length: true,
            nano: false,
            burst: 32,
        }
    }

    fn field(&self, f: &str, p: &Packet) -> String {
        let ip = p.network_header();
        let ipv = ip.filter(|i| i.len() >= 20);
        let hl = ipv.map(|i| ((i[0] & 0xf) as usize) * 4).unwrap_or(20);
        let proto = ipv.map(|i| i[9]).unwrap_or(0);
        let frag_first = ipv.is_some_and(|i| u16::from_be_bytes([i[6], i[7]]) & 0x1fff == 0);
        let t = ipv.and_then(|i| i.get(hl..)).filter(|_| frag_first);
        // Each port is shown when its own two bytes were captured.
        let ports = matches!(proto, 6 | 17) && t.is_some();
        let dash = || "-".to_string();
        let u16at = |b: &[u8], o: usize| b.get(o..o + 2).map(|s| u16::from_be_bytes([s[0], s[1]]));
        let u32at = |b: &[u8], o: usize| {
            b.get(o..o + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        };
        let tcp = if proto == 6 {
            t.filter(|t| t.len() >= 14)
        } else {
            None
        };
        match f {
            "timestamp" => p.timestamp.to_string(),
            "ts_sec" => p.timestamp.sec().to_string(),
            "ts_usec" => p.timestamp.usec().to_string(),
            "ip_src" => ipv
                .map(|i| Ipv4Addr::new(i[12], i[13], i[14], i[15]).to_string())
                .unwrap_or_else(dash),
            "ip_dst" => ipv
                .map(|i| Ipv4Addr::new(i[16], i[17], i[18], i[19]).to_string())
                .unwrap_or_else(dash),
            "sport" => {
                if ports {
                    t.and_then(|t| u16at(t, 0))
                        .map(|v| v.to_string())
                        .unwrap_or_else(dash)
                } else {
                    dash()
                }
            }
            "dport" => {
                if ports {
                    t.and_then(|t| u16at(t, 2))
                        .map(|v| v.to_string())
                        .unwrap_or_else(dash)
                } else {
                    dash()
                }
            }
            "ip_proto" => match ipv {
                None => dash(),
                Some(_) => match proto {
                    6 => "T".into(),
                    17 => "U".into(),
                    1 => "I".into(),
                    n => n.to_string(),
                },
            },
            "ip_len" => ipv
                .and_then(|i| u16at(i, 2))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            "ip_id" => ipv
                .and_then(|i| u16at(i, 4))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            "ip_ttl" => ipv.map(|i| i[8].to_string()).unwrap_or_else(dash),
            "ip_sum" => ipv
                .and_then(|i| u16at(i, 10))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            "udp_len" => match t {
                Some(t) if proto == 17 => u16at(t, 4).map(|v| v.to_string()).unwrap_or_else(dash),
                _ => dash(),
            },
            "ip_tos" => ipv.map(|i| i[1].to_string()).unwrap_or_else(dash),
            "ip_hl" => ipv.map(|_| hl.to_string()).unwrap_or_else(dash),
            "ip_frag" => match ipv {
                None => dash(),
                Some(i) => {
                    // Click: F/f = first/later fragment, ! = don't-fragment, . = neither.
                    let v = u16::from_be_bytes([i[6], i[7]]);
                    if v & 0x3fff != 0 {
                        if v & 0x1fff == 0 { "F" } else { "f" }.into()
                    } else if v & 0x4000 != 0 {
                        "!".into()
                    } else {
                        ".".into()
                    }
                }
            },
            "ip_fragoff" => ipv
                .map(|i| {
                    let v = u16::from_be_bytes([i[6], i[7]]);
                    format!(
                        "{}{}",
                        (v & 0x1fff) * 8,
                        if v & 0x2000 != 0 { "+" } else { "" }
                    )
                })
                .unwrap_or_else(dash),
            "ip_capture_len" => ipv.map(|i| i.len().to_string()).unwrap_or_else(dash),
            "tcp_flags" => match tcp {
                None => dash(),
                Some(t) => {
                    let fl = t[13] as u16 | (((t[12] & 1) as u16) << 8);
                    if fl == 0 {
                        ".".into()
                    } else {
                        (0..9)
                            .filter(|b| fl & (1 << b) != 0)
                            .map(|b| FLAGS[b] as char)
                            .collect()
                    }
                }
            },
            "tcp_seq" => tcp
                .and_then(|t| u32at(t, 4))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            "tcp_ack" => tcp
                .and_then(|t| u32at(t, 8))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            "tcp_window" => tcp
                .and_then(|t| u16at(t, 14))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            "tcp_off" => tcp
                .map(|t| ((t[12] >> 4) * 4).to_string())
                .unwrap_or_else(dash),
            "tcp_urp" => tcp
                .and_then(|t| u16at(t, 18))
                .map(|v| v.to_string())
                .unwrap_or_else(dash),
            // Options only when the whole header is there.
            "tcp_opt" if proto != 6 => ".".into(),
            "tcp_opt" => match tcp {
                Some(t) if t.len() >= 20 => {
                    let off = ((t[12] >> 4) as usize) * 4;
                    match t.get(20..off.max(20)) {
                        Some(o) => super::tcp_options::unparse(o),
                        None => dash(),
                    }
                }
                _ => dash(),
            },
            "icmp_type" => {
                if proto == 1 {
                    t.and_then(|t| t.first())
                        .map(|v| v.to_string())
                        .unwrap_or_else(dash)
                } else {
                    dash()
                }
            }
            "icmp_type_name" => {
                if proto == 1 {
                    t.and_then(|t| t.first())
                        .map(|v| {
                            ICMP_TYPE_NAMES
                                .iter()
                                .find(|(_, n)| n == v)
                                .map(|(s, _)| s.to_string())
                                .unwrap_or_else(|| v.to_string())
                        })
                        .unwrap_or_else(dash)
                } else {
                    dash()
                }
            }
            "icmp_code" => {
                if proto == 1 {
                    t.and_then(|t| t.get(1))
                        .map(|v| v.to_string())
                        .unwrap_or_else(dash)
                } else {
                    dash()
                }
            }
            "payload" | "payload_len" | "payload_md5" | "payload_md5_hex" => {
                let Some((start, len)) = payload_info(p) else {
                    return dash();
                };
                if f == "payload_len" {
                    return len.to_string();
                }
                let d = p.data();
                // Click prints '-' when a non-empty payload starts past the captured bytes.
                if len != 0 && start >= d.len() {
                    return dash();
                }
                let pl = d
                    .get(start..start.saturating_add(len).min(d.len()))
                    .unwrap_or(&[]);
                match f {
                    "payload" => quote_payload(pl),
                    "payload_md5_hex" => crate::digest::md5_hex(pl),
                    _ => crate::digest::md5_text(pl),
                }
            }
            "count" => "1".into(),
            "aggregate" => p.anno_u32(crate::packet::AGGREGATE_ANNO_OFFSET).to_string(),
            "link" | "paint" => p.anno[PAINT_ANNO_OFFSET].to_string(),
            "direction" => match p.anno[PAINT_ANNO_OFFSET] {
                0 => ">".into(),
                1 => "<".into(),
                n => n.to_string(),
            },
            "ip_opt" => match ipv {
                _ if hl <= 20 => ".".into(),
                // Options only when the whole header is there.
                Some(i) if i.len() >= hl => super::ip_options::unparse(&i[20..hl]),
                _ => dash(),
            },
            "tcp_sack" | "tcp_ntopt" => {
                if tcp.is_none_or(|t| (t[12] >> 4) <= 5) {
                    ".".into()
                } else {
                    "-".into()
                }
            }
            "ip_ecn" => ipv
                .map(|i| match i[1] & 3 {
                    0 => "no".to_string(),
                    1 => "ect1".into(),
                    2 => "ect0".into(),
                    _ => "ce".into(),
                })
                .unwrap_or_else(dash),
            _ => dash(),
        }
    }

    fn write_batch(&mut self, batch: &PacketBatch) {
        let mut buf = Vec::new();
        for p in batch {
            self.count += 1;
            if self.pcap {
                // Click writes packets as they are, whatever the ENCAP.
                let d: &[u8] = p.data();
                let cap = d.len().min(self.snaplen);
                let extra = if self.extra_length {
                    p.anno_u32(EXTRA_LENGTH_ANNO_OFFSET)
                } else {
                    0
                };
                for v in [
                    p.timestamp.sec() as u32,
                    if self.nano {
                        p.timestamp.nsec() as u32
                    } else {
                        p.timestamp.usec() as u32
                    },
                    cap as u32,
                    (d.len() as u32).saturating_add(extra),
                ] {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                buf.extend_from_slice(&d[..cap]);
            } else {
                let line: Vec<String> = self.fields.iter().map(|f| self.field(f, p)).collect();
                buf.extend_from_slice(line.join(" ").as_bytes());
                buf.push(b'\n');
            }
        }
        if let Some(o) = self.out.as_mut() {
            let _ = o.write_all(&buf);
        }
    }
}

impl Element for ToTrace {
    element_class! {
        self =>
        class: if self.pcap { "ToDump" } else { "ToIPSummaryDump" },
        ports: "1/0-1",
        // ToIPSummaryDump pushes its (optional) output even when its input pulls.
        processing: if self.pcap { "a" } else { "a/h" },
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("FILENAME", Kind::Mp),
                ("FIELDS", Kind::K),
                ("CONTENTS", Kind::K),
                ("DATA", Kind::K),
                ("BANNER", Kind::K),
                ("VERBOSE", Kind::K),
                ("BINARY", Kind::K),
                ("MULTIPACKET", Kind::K),
                ("BAD_PACKETS", Kind::K),
                ("CAREFUL_TRUNC", Kind::K),
                ("HEADER", Kind::K),
                ("SNAPLEN", Kind::K),
                ("ENCAP", Kind::K),
                ("USE_ENCAP_FROM", Kind::K),
                ("EXTRA_LENGTH", Kind::K),
                ("UNBUFFERED", Kind::K),
                ("NANO", Kind::K),
            ],
        )?;
        self.file = b.string("FILENAME")?.unwrap_or_default();
        // Microsecond pcap unless asked: the format every pcap reader knows.
        self.nano = b.bool("NANO")?.unwrap_or(false);
        let f = b
            .str("FIELDS")
            .or(b.str("CONTENTS"))
            .or(b.str("DATA"))
            .unwrap_or("timestamp ip_src");
        self.fields = f
            .split_whitespace()
            .map(|x| canonical(x).to_string())
            .collect();
        self.banner = b.bool("HEADER")?.unwrap_or(true);
        // SNAPLEN 0 means no limit, as in Click.
        self.snaplen = match b.u64("SNAPLEN")?.unwrap_or(2000) {
            0 => u32::MAX as usize,
            n => n.min(u32::MAX as u64) as usize,
        };
        if let Some(e) = b.str("ENCAP") {
            self.linktype = parse_dlt(e.trim()).ok_or("bad encapsulation type")?;
        }
        self.extra_length = b.bool("EXTRA_LENGTH")?.unwrap_or(true);
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let mut w = ctx
            .env()
            .create_file(&self.file)
            .map_err(|e| format!("{}: {}", self.file, e))?;
        if self.pcap {
            let mut h = Vec::new();
            let magic: u32 = if self.nano { 0xa1b23c4d } else { 0xa1b2c3d4 };
            h.extend_from_slice(&magic.to_le_bytes());
            h.extend_from_slice(&2u16.to_le_bytes());
            h.extend_from_slice(&4u16.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&(self.snaplen as u32).to_le_bytes());
            h.extend_from_slice(&self.linktype.to_le_bytes());
            w.write_all(&h).map_err(|e| e.to_string())?;
        } else if self.banner {
            let hdr = format!("!IPSummaryDump 1.3\n!data {}\n", self.fields.join(" "));
            w.write_all(hdr.as_bytes()).map_err(|e| e.to_string())?;
        }
        self.out = Some(w);
        // A pull-through ToDump (pull output) is driven from downstream, not by its task.
        self.pulling = ctx.input_is_pull(0) && !(self.pcap && ctx.noutputs() > 0);
        if self.pulling {
            ctx.reschedule();
        }
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        self.write_batch(&batch);
        ctx.output(0, batch);
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let b = ctx.pull(0, max);
        self.write_batch(&b);
        b
    }
    fn has_task(&self) -> bool {
        true
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.pulling {
            return false;
        }
        let b = ctx.pull(0, self.burst);
        let n = b.len();
        self.write_batch(&b);
        ctx.output(0, b);
        if n > 0 || ctx.upstream_active() {
            ctx.reschedule();
        }
        n > 0
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        if let Some(o) = self.out.as_mut() {
            let _ = o.flush();
        }
        self.out = None;
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("count"), HandlerSpec::r("filename")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        if let Some(o) = self.out.as_mut() {
            let _ = o.flush();
        }
        Some(Ok(match name {
            "count" => self.count.to_string(),
            "filename" => self.file.clone(),
            _ => return None,
        }))
    }
}
