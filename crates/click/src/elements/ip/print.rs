//! IPPrint: tcpdump-like lines for IP packets (and the label/timestamp prefix ARPPrint shares).

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::elements::bool_str;
use crate::packet::AGGREGATE_ANNO_OFFSET;
use crate::packet::{Packet, PacketBatch};
use crate::{element_class, simple_push_pull};
use std::net::Ipv4Addr;

/// IPPrint([LABEL], CONTENTS, TIMESTAMP, ...): tcpdump-like lines.
#[derive(Default)]
pub struct IPPrint {
    label: String,
    timestamp: bool,
    active: bool,
    /// ID, TTL, TOS, LENGTH prefixes, in Click's order.
    print_id: bool,
    print_ttl: bool,
    print_tos: bool,
    print_len: bool,
    print_paint: bool,
    print_aggregate: bool,
    /// Byte-swap ICMP echo identifiers and sequence numbers (Click's SWAP, default true).
    swap: bool,
    /// 0 = no dump, 1 = hex, 2 = ASCII (CONTENTS or PAYLOAD).
    contents: u8,
    /// Dump starts at the payload rather than at the packet data (PAYLOAD).
    payload: bool,
    /// Most bytes dumped (MAXLENGTH; negative = all).
    max_bytes: i64,
    /// OUTFILE: lines go there instead of to the chatter.
    outfile: Option<String>,
    out: Option<Box<dyn std::io::Write>>,
}

/// Click's names for ICMP codes (ipnameinfo), by (type, code).
fn icmp_code_name(ty: u8, code: u8) -> Option<&'static str> {
    Some(match (ty, code) {
        (3, 0) => "net",
        (3, 1) => "host",
        (3, 2) => "protocol",
        (3, 3) => "port",
        (3, 4) => "needfrag",
        (3, 5) => "srcroutefail",
        (3, 6) => "netunknown",
        (3, 7) => "hostunknown",
        (3, 8) => "isolated",
        (3, 9) => "netprohibited",
        (3, 10) => "hostprohibited",
        (3, 11) => "tosnet",
        (3, 12) => "toshost",
        (3, 13) => "filterprohibited",
        (3, 14) => "hostprecedence",
        (3, 15) => "precedencecutoff",
        (5, 0) => "net",
        (5, 1) => "host",
        (5, 2) => "tosnet",
        (5, 3) => "toshost",
        (11, 0) => "transit",
        (11, 1) => "reassembly",
        (12, 0) => "erroratptr",
        (12, 1) => "missingopt",
        (12, 2) => "length",
        _ => return None,
    })
}

/// Click's IP protocol names (ipnameinfo) for the protocols that fit in a byte.
fn ip_proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        132 => "sctp",
        _ => return None,
    })
}

fn be16(b: &[u8], o: usize) -> u16 {
    b.get(o..o + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

fn be32(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

impl IPPrint {
    /// TCP part of a line; `t` holds `tl` valid transport bytes.
    fn tcp_line(s: &mut String, p: &Packet, ip: &[u8], t: &[u8], tl: i64, first: bool) {
        let (src, dst) = ip_pair(ip);
        if tl < 4 || !first {
            s.push_str(&format!(
                "{src} > {dst}: {}",
                if first { "truncated-tcp" } else { "tcp" }
            ));
            return;
        }
        s.push_str(&format!("{src}.{} > {dst}.{}: ", be16(t, 0), be16(t, 2)));
        if tl < 14 {
            s.push_str("truncated-tcp");
            return;
        }
        let ip_len = be16(ip, 2) as i64;
        let f = t.get(13).copied().unwrap_or(0);
        let thl = (t.get(12).copied().unwrap_or(0) >> 4) as i64 * 4;
        let mut seqlen = ip_len - ((ip[0] & 0xf) as i64 * 4) - thl;
        for (bit, c) in [(2u8, 'S'), (1, 'F'), (4, 'R'), (8, 'P')] {
            if f & bit != 0 {
                s.push(c);
                if bit <= 2 {
                    seqlen += 1;
                }
            }
        }
        if f & 15 == 0 {
            s.push('.');
        }
        let seq = be32(t, 4);
        s.push_str(&format!(
            " {seq}:{}({seqlen},{},{ip_len})",
            seq.wrapping_add(seqlen as u32),
            p.len()
        ));
        if f & 16 != 0 {
            s.push_str(&format!(" ack {}", be32(t, 8)));
        }
        if tl < 16 {
            s.push_str("truncated-tcp");
        } else {
            s.push_str(&format!(" win {}", be16(t, 14)));
        }
    }

    fn udp_line(s: &mut String, ip: &[u8], t: &[u8], tl: i64, first: bool) {
        let (src, dst) = ip_pair(ip);
        if tl < 4 || !first {
            s.push_str(&format!(
                "{src} > {dst}: {}",
                if first { "truncated-udp" } else { "udp" }
            ));
            return;
        }
        s.push_str(&format!("{src}.{} > {dst}.{}: ", be16(t, 0), be16(t, 2)));
        if tl < 8 {
            s.push_str("truncated-udp");
        } else {
            // Click prints the UDP length field as is.
            s.push_str(&format!("udp {}", be16(t, 4)));
        }
    }

    fn icmp_line(&self, s: &mut String, ip: &[u8], t: &[u8], tl: i64, first: bool) {
        let (src, dst) = ip_pair(ip);
        s.push_str(&format!("{src} > {dst}: "));
        if !first {
            s.push_str("icmp");
            return;
        }
        if tl < 2 {
            s.push_str("truncated-icmp");
            return;
        }
        let (ty, code) = (t[0], t[1]);
        match ty {
            0 | 8 => {
                s.push_str(if ty == 0 {
                    "icmp echo-reply "
                } else {
                    "icmp echo "
                });
                if tl < 8 {
                    s.push_str("truncated-icmp");
                    return;
                }
                // Click reads the fields in host (little-endian) order, then swaps if SWAP.
                let raw = |o: usize| u16::from_le_bytes([t[o], t[o + 1]]);
                let sw = |x: u16| if self.swap { x.swap_bytes() } else { x };
                s.push_str(&format!("({}, {})", sw(raw(4)), sw(raw(6))));
            }
            3 => {
                let cname = icmp_code_name(3, code)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("code {code}"));
                let e = t.get(8..tl.max(0) as usize).unwrap_or(&[]);
                if e.len() < 20 {
                    s.push_str(&format!("icmp unreachable {cname} truncated-icmp"));
                    return;
                }
                let edst = Ipv4Addr::new(e[16], e[17], e[18], e[19]);
                s.push_str(&format!("icmp {edst} unreachable {cname}"));
                let ehl = ((e[0] & 0xf) as usize) * 4;
                match code {
                    2 => s.push_str(&format!(
                        " {}",
                        ip_proto_name(e[9])
                            .map(str::to_string)
                            .unwrap_or_else(|| e[9].to_string())
                    )),
                    3 => {
                        s.push_str(&format!(
                            " {}",
                            ip_proto_name(e[9])
                                .map(str::to_string)
                                .unwrap_or_else(|| format!("protocol {}", e[9]))
                        ));
                        match e.get(ehl..).filter(|u| u.len() >= 4) {
                            Some(u) => s.push_str(&format!("/{}", be16(u, 2))),
                            None => s.push_str("truncated-icmp"),
                        }
                    }
                    4 => {
                        let mtu = be16(t, 6);
                        if mtu != 0 {
                            s.push_str(&format!(" (mtu {mtu})"));
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                s.push_str("icmp ");
                match crate::elements::analysis::dumps::icmp_type_name(ty) {
                    Some(n) => s.push_str(n),
                    None => s.push_str(&format!("type {ty}")),
                }
                if let Some(c) = icmp_code_name(ty, code) {
                    s.push_str(&format!(" {c}"));
                } else if code != 0 {
                    s.push_str(&format!(" code {code}"));
                }
            }
        }
    }

    /// The line for one packet, or None when it has no network header (Click prints nothing).
    fn line(&self, p: &Packet) -> Option<String> {
        let ip = p.network_header()?;
        let mut s = print_prefix(&self.label, self.timestamp, p);
        if self.print_aggregate {
            s.push_str(&format!("#{}", p.anno_u32(AGGREGATE_ANNO_OFFSET)));
        }
        if self.print_paint {
            s.push_str(if self.print_aggregate { "." } else { "paint " });
            s.push_str(&p.anno[crate::packet::PAINT_ANNO_OFFSET].to_string());
        }
        if self.print_aggregate || self.print_paint {
            s.push_str(": ");
        }
        if ip.len() < 20 {
            s.push_str("truncated-ip");
        } else {
            let hl = ((ip[0] & 0xf) as usize) * 4;
            let ip_len = be16(ip, 2) as i64;
            let payload_len = ip_len - hl as i64;
            let t = p.transport_header().or_else(|| ip.get(hl..)).unwrap_or(&[]);
            let tl = (t.len() as i64).min(payload_len);
            let off = be16(ip, 6);
            let first = off & 0x1fff == 0;
            if self.print_id {
                s.push_str(&format!("id {} ", be16(ip, 4)));
            }
            if self.print_ttl {
                s.push_str(&format!("ttl {} ", ip[8]));
            }
            if self.print_tos {
                s.push_str(&format!("tos {} ", ip[1]));
            }
            if self.print_len {
                s.push_str(&format!("length {ip_len} "));
            }
            match ip[9] {
                6 => Self::tcp_line(&mut s, p, ip, t, tl, first),
                17 => Self::udp_line(&mut s, ip, t, tl, first),
                1 => self.icmp_line(&mut s, ip, t, tl, first),
                pr => {
                    let (src, dst) = ip_pair(ip);
                    s.push_str(&format!("{src} > {dst}: ip-proto-{pr}"));
                }
            }
            if off & 0x3fff != 0 {
                s.push_str(&format!(
                    " (frag {}:{payload_len}@{}{})",
                    be16(ip, 4),
                    (off & 0x1fff) << 3,
                    if off & 0x2000 != 0 { "+" } else { "" }
                ));
            }
            if self.contents > 0 {
                let data: &[u8] = if self.payload {
                    let skip = match ip[9] {
                        6 if first => (t.get(12).copied().unwrap_or(0) >> 4) as usize * 4,
                        17 if first => 8,
                        _ => 0,
                    };
                    t.get(skip..).unwrap_or(&[])
                } else {
                    p.data()
                };
                let n = if self.max_bytes < 0 {
                    data.len()
                } else {
                    data.len().min(self.max_bytes as usize)
                };
                Self::dump(&mut s, &data[..n], self.contents == 2);
            }
        }
        Some(s)
    }

    /// Click's content dump: hex in groups of 4 bytes, 24 a line; ASCII in groups of 8, 48.
    fn dump(s: &mut String, data: &[u8], ascii: bool) {
        let (line, group) = if ascii { (48, 8) } else { (24, 4) };
        for (i, &b) in data.iter().enumerate() {
            if i % line == 0 {
                s.push_str("\n  ");
            } else if i % group == 0 {
                s.push(' ');
            }
            if !ascii {
                s.push_str(&format!("{b:02x}"));
            } else if (32..=126).contains(&b) {
                s.push(b as char);
            } else {
                s.push('.');
            }
        }
    }

    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        if !self.active {
            return;
        }
        for p in batch.iter() {
            let Some(s) = self.line(p) else { continue };
            match self.out.as_mut() {
                Some(w) => {
                    let _ = std::io::Write::write_fmt(w, format_args!("{s}\n"));
                }
                None => ctx.chatter(&s),
            }
        }
    }
}

fn ip_pair(ip: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    (
        Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
    )
}

impl Element for IPPrint {
    element_class!(class: "IPPrint", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("LABEL", Kind::P),
                ("CONTENTS", Kind::K),
                ("PAYLOAD", Kind::K),
                ("MAXLENGTH", Kind::K),
                ("NBYTES", Kind::K),
                ("CHANNEL", Kind::K),
                ("ID", Kind::K),
                ("TTL", Kind::K),
                ("TOS", Kind::K),
                ("LENGTH", Kind::K),
                ("TIMESTAMP", Kind::K),
                ("AGGREGATE", Kind::K),
                ("PAINT", Kind::K),
                ("SWAP", Kind::K),
                ("OUTFILE", Kind::K),
                ("ACTIVE", Kind::K),
            ],
        )?;
        self.label = b.string("LABEL")?.unwrap_or_default();
        self.timestamp = b.bool("TIMESTAMP")?.unwrap_or(true);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.print_id = b.bool("ID")?.unwrap_or(false);
        self.print_ttl = b.bool("TTL")?.unwrap_or(false);
        self.print_tos = b.bool("TOS")?.unwrap_or(false);
        self.print_len = b.bool("LENGTH")?.unwrap_or(false);
        self.print_paint = b.bool("PAINT")?.unwrap_or(false);
        self.print_aggregate = b.bool("AGGREGATE")?.unwrap_or(false);
        self.swap = b.bool("SWAP")?.unwrap_or(true);
        self.max_bytes = match b.str("MAXLENGTH").or(b.str("NBYTES")) {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map_err(|_| "MAXLENGTH: expected integer")?,
            None => 1500,
        };
        let contents = b.str("CONTENTS").unwrap_or("no").trim();
        self.contents = match args::parse_bool(contents) {
            Some(v) => u8::from(v),
            None => match contents.to_ascii_uppercase().as_str() {
                "NONE" => 0,
                "HEX" => 1,
                "ASCII" => 2,
                _ => {
                    return Err(format!(
                        "bad contents value '{contents}'; should be 'NONE', 'HEX', or 'ASCII'"
                    ))
                }
            },
        };
        let payload = b.str("PAYLOAD").unwrap_or("no").trim().to_ascii_uppercase();
        let payload = match payload.as_str() {
            "NO" | "FALSE" => 0,
            "YES" | "TRUE" | "HEX" => 1,
            "ASCII" => 2,
            _ => {
                return Err(format!(
                    "bad payload value '{payload}'; should be 'false', 'hex', or 'ascii'"
                ))
            }
        };
        if payload > 0 && self.contents > 0 {
            return Err("specify at most one of PAYLOAD and CONTENTS".into());
        } else if payload > 0 {
            self.contents = payload;
            self.payload = true;
        }
        self.outfile = b.string("OUTFILE")?;
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        if let Some(f) = &self.outfile {
            let w = ctx.env().create_file(f).map_err(|e| format!("{f}: {e}"))?;
            self.out = Some(w);
        }
        Ok(())
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        if let Some(w) = self.out.as_mut() {
            let _ = std::io::Write::flush(w);
        }
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "active").then(|| Ok(bool_str(self.active)))
    }
}

/// `LABEL: ` and `TIMESTAMP: `, each when set: how IPPrint and ARPPrint start a line.
pub(crate) fn print_prefix(label: &str, timestamp: bool, p: &Packet) -> String {
    let mut s = String::new();
    if !label.is_empty() {
        s.push_str(label);
        s.push_str(": ");
    }
    if timestamp {
        s.push_str(&format!("{}: ", p.timestamp));
    }
    s
}
