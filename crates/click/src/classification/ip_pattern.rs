//! IPFilter/IPClassifier patterns compiled to a wordwise program, as Click's
//! elements/ip/ipfilter.cc does: tcpdump-like primitives (`src host A`, `tcp dst port
//! 80`, `ip[9] & 0xf0 > 3`, `ether src 0:1:2:3:4:5`, ...) joined with and/or/not/`?:`.
//!
//! Program offsets: 0.. the Ethernet header (offset 2 is its first byte), 256.. the IP
//! header, 512.. the transport header.

use super::wordwise::{Combiner, CompressedProgram, Program, J_FAILURE, J_NEVER, OFFSET_MAX};
use crate::args::{self, AddressInfo};

pub const OFFSET_MAC: i32 = 0;
pub const OFFSET_NET: i32 = 256;
pub const OFFSET_TRANSP: i32 = 512;

const TYPE_NONE: i32 = 0;
const TYPE_TYPE: i32 = 1;
const TYPE_SYNTAX: i32 = 2;
const TYPE_INT: i32 = 3;
const TYPE_HOST: i32 = 10;
const TYPE_PROTO: i32 = 11;
const TYPE_IPFRAG: i32 = 12;
const TYPE_PORT: i32 = 13;
const TYPE_TCPOPT: i32 = 14;
const TYPE_ETHER: i32 = 15;
const TYPE_NET: i32 = 30;
const TYPE_IPUNFRAG: i32 = 31;
const TYPE_IPECT: i32 = 32;
const TYPE_IPCE: i32 = 33;
const TYPE_FIELD: i32 = 0x4000_0000;
const FIELD_PROTO_SHIFT: i32 = 21;
const FIELD_PROTO_MASK: i32 = 0x1FF << FIELD_PROTO_SHIFT;
const FIELD_OFFSET_SHIFT: i32 = 5;
const FIELD_OFFSET_MASK: i32 = 0xFFFF << FIELD_OFFSET_SHIFT;
const FIELD_LENGTH_MASK: i32 = 0x1F;

const fn field(proto: i32, bit_offset: i32, bits_minus_1: i32) -> i32 {
    TYPE_FIELD | (proto << FIELD_PROTO_SHIFT) | (bit_offset << FIELD_OFFSET_SHIFT) | bits_minus_1
}
const FIELD_IPLEN: i32 = field(0, 16, 15);
const FIELD_ID: i32 = field(0, 32, 15);
const FIELD_VERSION: i32 = field(0, 0, 3);
const FIELD_HL: i32 = field(0, 4, 3);
const FIELD_TOS: i32 = field(0, 8, 7);
const FIELD_DSCP: i32 = field(0, 8, 5);
const FIELD_TTL: i32 = field(0, 64, 7);
const FIELD_TCP_WIN: i32 = field(6, 112, 15);
const FIELD_ICMP_TYPE: i32 = field(1, 0, 7);

const SD_SRC: i32 = 1;
const SD_DST: i32 = 2;
const SD_AND: i32 = 3;
const SD_OR: i32 = 4;

const OP_EQ: i32 = 0;
const OP_GT: i32 = 1;
const OP_LT: i32 = 2;

const UNKNOWN: i32 = -1000;
const PROTO_ICMP: i32 = 1;
const PROTO_TCP: i32 = 6;
const PROTO_UDP: i32 = 17;
const PROTO_DCCP: i32 = 33;
const PROTO_TCP_OR_UDP: i32 = 256;
const PROTO_TRANSP: i32 = 258;

fn type_word(w: &str) -> Option<i32> {
    Some(match w {
        "ce" => TYPE_IPCE,
        "dest" | "dst" | "ether" | "ip" | "not" | "src" => TYPE_SYNTAX,
        "dscp" => FIELD_DSCP,
        "ect" => TYPE_IPECT,
        "frag" => TYPE_IPFRAG,
        "hl" => FIELD_HL,
        "host" => TYPE_HOST,
        "id" => FIELD_ID,
        "len" => FIELD_IPLEN,
        "net" => TYPE_NET,
        "opt" => TYPE_TCPOPT,
        "port" => TYPE_PORT,
        "proto" => TYPE_PROTO,
        "tos" => FIELD_TOS,
        "ttl" => FIELD_TTL,
        "type" => FIELD_ICMP_TYPE,
        "unfrag" => TYPE_IPUNFRAG,
        "vers" => FIELD_VERSION,
        "win" => FIELD_TCP_WIN,
        _ => return None,
    })
}

fn ip_proto_word(w: &str) -> Option<i32> {
    Some(match w {
        "dccp" => 33,
        "gre" => 47,
        "icmp" => 1,
        "igmp" => 2,
        "ipip" => 4,
        "payload" => 255,
        "sctp" => 132,
        "tcp" => 6,
        "tcpudp" => PROTO_TCP_OR_UDP,
        "transp" => PROTO_TRANSP,
        "udp" => 17,
        _ => return None,
    })
}

/// Click's known ports plus the common /etc/services names.
fn port_word(w: &str) -> Option<i32> {
    Some(match w {
        "auth" => 113,
        "bootpc" => 68,
        "bootps" => 67,
        "chargen" => 19,
        "daytime" => 13,
        "discard" => 9,
        "dns" | "domain" => 53,
        "echo" => 7,
        "finger" => 79,
        "ftp" => 21,
        "ftp-data" => 20,
        "https" => 443,
        "imap3" => 220,
        "imaps" => 993,
        "irc" => 194,
        "netbios-dgm" => 138,
        "netbios-ns" => 137,
        "netbios-ssn" => 139,
        "nntp" => 119,
        "ntp" => 123,
        "pop3" => 110,
        "pop3s" => 995,
        "pptp" => 1723,
        "rip" | "route" => 520,
        "smtp" => 25,
        "snmp" => 161,
        "snmp-trap" => 162,
        "ssh" => 22,
        "sunrpc" => 111,
        "telnet" => 23,
        "tftp" => 69,
        "www" | "http" => 80,
        "imap" => 143,
        "time" => 37,
        "bgp" => 179,
        "ldap" => 389,
        "syslog" => 514,
        "submission" => 587,
        _ => return None,
    })
}

fn tcp_opt_word(w: &str) -> Option<i32> {
    Some(match w {
        "ack" => 0x10,
        "fin" => 0x01,
        "psh" => 0x08,
        "rst" => 0x04,
        "syn" => 0x02,
        "urg" => 0x20,
        _ => return None,
    })
}

fn icmp_type_word(w: &str) -> Option<i32> {
    Some(match w {
        "echo" => 8,
        "echo-reply" => 0,
        "inforeq" => 15,
        "inforeq-reply" => 16,
        "maskreq" => 17,
        "maskreq-reply" => 18,
        "parameterproblem" => 12,
        "redirect" => 5,
        "routeradvert" => 9,
        "routersolicit" => 10,
        "sourcequench" => 4,
        "timeexceeded" => 11,
        "timestamp" => 13,
        "timestamp-reply" => 14,
        "unreachable" => 3,
        _ => return None,
    })
}

const DB2TYPE: [i32; 5] = [
    TYPE_PROTO,
    TYPE_PORT,
    TYPE_PORT,
    TYPE_TCPOPT,
    FIELD_ICMP_TYPE,
];

fn unparse_transp_proto(p: i32) -> String {
    match p {
        UNKNOWN => String::new(),
        1 => "icmp".into(),
        2 => "igmp".into(),
        4 => "ipip".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        PROTO_TCP_OR_UDP => "tcpudp".into(),
        PROTO_TRANSP => "transp".into(),
        p => format!("ip proto {p}"),
    }
}

fn unparse_type(srcdst: i32, ty: i32) -> String {
    let mut s = String::from(match srcdst {
        SD_SRC => "src ",
        SD_DST => "dst ",
        SD_OR => "src or dst ",
        SD_AND => "src and dst ",
        _ => "",
    });
    match ty {
        TYPE_NONE => s.push_str("<none>"),
        TYPE_HOST => s.push_str("ip host"),
        TYPE_PROTO => s.push_str("proto"),
        TYPE_ETHER => s.push_str("ether host"),
        TYPE_IPFRAG => s.push_str("ip frag"),
        TYPE_PORT => s.push_str("port"),
        TYPE_TCPOPT => s.push_str("tcp opt"),
        TYPE_NET => s.push_str("ip net"),
        TYPE_IPUNFRAG => s.push_str("ip unfrag"),
        TYPE_IPECT => s.push_str("ip ect"),
        TYPE_IPCE => s.push_str("ip ce"),
        FIELD_IPLEN => s.push_str("ip len"),
        FIELD_ID => s.push_str("ip id"),
        FIELD_VERSION => s.push_str("ip vers"),
        FIELD_HL => s.push_str("ip hl"),
        FIELD_TOS => s.push_str("ip tos"),
        FIELD_DSCP => s.push_str("ip dscp"),
        FIELD_TTL => s.push_str("ip ttl"),
        FIELD_TCP_WIN => s.push_str("tcp win"),
        FIELD_ICMP_TYPE => s.push_str("icmp type"),
        t if t & TYPE_FIELD != 0 => {
            if t & FIELD_PROTO_MASK != 0 {
                s.push_str(&unparse_transp_proto(
                    (t & FIELD_PROTO_MASK) >> FIELD_PROTO_SHIFT,
                ));
            } else {
                s.push_str("ip");
            }
            s.push_str("[...]");
        }
        t => s.push_str(&format!("<unknown type {t}>")),
    }
    s
}

fn unparse_word(ty: i32, proto: i32, word: &str) -> String {
    let mut tn = unparse_type(0, ty);
    if ty == TYPE_NONE {
        tn.clear();
    }
    let mut tr = unparse_transp_proto(proto);
    if !tn.is_empty() {
        tn.push(' ');
    }
    if !tr.is_empty() || (!word.is_empty() && !tn.is_empty()) {
        tr.push(' ');
    }
    format!("{tn}{tr}{word}")
}

/// Result of looking a word up in the name databases.
enum Lookup {
    /// Not a name (or a syntax word).
    None,
    /// Ambiguous or meaningless here (an error was reported if asked).
    Bad,
    /// A type keyword (`host`, `port`, ...).
    Type(i32),
    /// A value of the given type.
    Value(i32, u32),
}

/// Port names declared by PortInfo elements in scope: `(name, "tcp" | "udp") -> port`.
pub type PortNames<'a> = &'a dyn Fn(&str, &str) -> Option<u16>;

fn lookup(
    word: &str,
    ty: i32,
    proto: i32,
    ports: PortNames<'_>,
    errs: Option<&mut Vec<String>>,
) -> Lookup {
    if ty == 0 || ty == TYPE_TYPE {
        if let Some(d) = type_word(word) {
            return if d == TYPE_SYNTAX {
                Lookup::None
            } else {
                Lookup::Type(d)
            };
        }
    }
    // Built-in service names, then PortInfo's (Click's NameInfo asks both).
    let port = port_word(word);
    // (Only names: numbers are values, not port names.)
    let named = word.starts_with(|c: char| c.is_ascii_alphabetic());
    let port_in = |p: &str| port.or_else(|| named.then(|| ports(word, p)).flatten().map(i32::from));
    let got = [
        ip_proto_word(word),
        port_in("tcp"),
        port_in("udp"),
        tcp_opt_word(word),
        icmp_type_word(word),
    ];
    if got.iter().all(|g| g.is_none()) {
        return Lookup::None;
    }
    let unk_or = |p: i32| proto == UNKNOWN || proto == p || proto == PROTO_TCP_OR_UDP;
    let mut tgot = [
        got[0].is_some() && (ty == 0 || ty == TYPE_PROTO),
        got[1].is_some() && (ty == 0 || ty == TYPE_PORT) && unk_or(PROTO_TCP),
        got[2].is_some() && (ty == 0 || ty == TYPE_PORT) && unk_or(PROTO_UDP),
        got[3].is_some() && (ty == 0 || ty == TYPE_TCPOPT) && unk_or(PROTO_TCP),
        got[4].is_some()
            && (ty == 0 || ty == FIELD_ICMP_TYPE)
            && (proto == UNKNOWN || proto == PROTO_ICMP),
    ];
    if tgot[1] && tgot[2] && got[1] == got[2] {
        tgot[2] = false;
    }
    let ngot = tgot.iter().filter(|t| **t).count();
    if ngot == 1 {
        if let Some(i) = tgot.iter().position(|t| *t) {
            return Lookup::Value(DB2TYPE[i], got[i].unwrap_or(0) as u32);
        }
    }
    if let Some(errs) = errs {
        let tries: Vec<String> = (0..5)
            .filter(|i| got[*i].is_some())
            .map(|i| format!("'{}'", unparse_word(DB2TYPE[i], proto, word)))
            .collect();
        errs.push(format!(
            "'{}' is {}; try {}",
            unparse_word(ty, proto, word),
            if ngot > 1 { "ambiguous" } else { "meaningless" },
            tries.join(", ")
        ));
    }
    Lookup::Bad
}

/// Click's ffs_msb: 1-based index of the highest set bit counted from the top, 0 for 0.
fn ffs_msb(x: u32) -> u32 {
    if x == 0 {
        0
    } else {
        x.leading_zeros() + 1
    }
}

#[derive(Clone, Copy, Debug)]
struct Primitive {
    ty: i32,
    data: i32,
    op: i32,
    op_negated: bool,
    srcdst: i32,
    transp_proto: i32,
    /// Numeric value (IP addresses as big-endian numbers).
    u: u32,
    mask: u32,
    /// Ethernet value and mask bytes.
    eu: [u8; 6],
    emask: [u8; 6],
}

impl Default for Primitive {
    fn default() -> Self {
        Primitive {
            ty: 0,
            data: 0,
            op: OP_EQ,
            op_negated: false,
            srcdst: 0,
            transp_proto: UNKNOWN,
            u: 0,
            mask: 0,
            eu: [0; 6],
            emask: [0; 6],
        }
    }
}

/// A mask given with `& MASK`.
#[derive(Clone, Copy)]
enum GivenMask {
    None,
    Int(u32),
    Host(u32),
    Ether([u8; 6]),
}

impl GivenMask {
    fn dt(&self) -> i32 {
        match self {
            GivenMask::None => 0,
            GivenMask::Int(_) => TYPE_INT,
            GivenMask::Host(_) => TYPE_HOST,
            GivenMask::Ether(_) => TYPE_ETHER,
        }
    }
    fn u(&self) -> u32 {
        match self {
            GivenMask::Int(u) | GivenMask::Host(u) => *u,
            _ => 0,
        }
    }
}

struct Errs<'a> {
    errors: &'a mut Vec<String>,
    warnings: &'a mut Vec<String>,
}

impl Primitive {
    fn set_type(&mut self, x: i32, e: &mut Errs) {
        if self.ty != 0 {
            e.errors.push("type specified twice".into());
        }
        self.ty = x;
    }
    fn set_srcdst(&mut self, x: i32, e: &mut Errs) {
        if self.srcdst != 0 {
            e.errors.push("'src' or 'dst' specified twice".into());
        }
        self.srcdst = x;
    }
    fn set_transp_proto(&mut self, x: i32, e: &mut Errs) {
        if self.transp_proto != UNKNOWN && self.transp_proto != x {
            e.errors.push("transport protocol specified twice".into());
        }
        self.transp_proto = x;
    }
    fn unparse_type(&self) -> String {
        unparse_type(self.srcdst, self.ty)
    }
    fn unparse_op(&self) -> &'static str {
        match (self.op, self.op_negated) {
            (OP_GT, false) => ">",
            (OP_GT, true) => "<=",
            (OP_LT, false) => "<",
            (OP_LT, true) => ">=",
            (_, false) => "=",
            (_, true) => "!=",
        }
    }

    fn set_mask(&mut self, full_mask: u32, provided: u32, e: &mut Errs) -> Result<(), ()> {
        let data = self.u;
        let this_mask = if provided != 0 { provided } else { full_mask };
        if this_mask & full_mask != this_mask {
            e.errors.push(format!(
                "'{}': mask out of range, bound 0x{:X}",
                self.unparse_type(),
                full_mask
            ));
            return Err(());
        }
        if self.op == OP_GT || self.op == OP_LT {
            if (self.op == OP_LT && (data == 0 || data > this_mask))
                || (self.op == OP_GT && data >= this_mask)
            {
                let will_be = if self.op == OP_LT && data > this_mask {
                    !self.op_negated
                } else {
                    self.op_negated
                };
                e.warnings.push(format!(
                    "relation '{} {}' is always {} (range 0-{})",
                    self.unparse_op(),
                    data,
                    if will_be { "true" } else { "false" },
                    this_mask
                ));
                self.u = 0;
                self.mask = 0;
                self.op_negated = !will_be;
                self.op = OP_EQ;
                return Ok(());
            }
            if self.op == OP_LT {
                self.u = self.u.wrapping_sub(1);
                self.op_negated = !self.op_negated;
                self.op = OP_GT;
            }
            self.mask = this_mask;
            if self.u & self.mask != self.u {
                let missing = (self.u & self.mask) ^ (self.u & full_mask);
                let add = 0xFFFF_FFFFu32.wrapping_shr(ffs_msb(missing));
                self.u = (self.u | add) & self.mask;
            }
            return Ok(());
        }
        if data > full_mask {
            e.errors.push(format!(
                "'{}': out of range, bound {}",
                self.unparse_type(),
                full_mask
            ));
            return Err(());
        }
        self.mask = this_mask;
        Ok(())
    }

    fn type_error(&self, e: &mut Errs, msg: &str) -> Result<(), ()> {
        e.errors.push(format!("'{}': {}", self.unparse_type(), msg));
        Err(())
    }

    fn check(
        &mut self,
        prev: &Primitive,
        mut header: u8,
        mask: GivenMask,
        e: &mut Errs,
    ) -> Result<(), ()> {
        let old_srcdst = self.srcdst;
        if self.ty < 0 {
            return Err(());
        }
        if self.ty == 0 {
            loop {
                match self.data {
                    TYPE_HOST | TYPE_NET | TYPE_TCPOPT | TYPE_ETHER => {
                        self.ty = self.data;
                        if self.srcdst == 0 {
                            self.srcdst = prev.srcdst;
                        }
                    }
                    TYPE_PROTO => self.ty = TYPE_PROTO,
                    TYPE_PORT => {
                        self.ty = TYPE_PORT;
                        if self.srcdst == 0 {
                            self.srcdst = prev.srcdst;
                        }
                        if self.transp_proto == UNKNOWN {
                            self.transp_proto = prev.transp_proto;
                        }
                    }
                    TYPE_INT => {
                        if prev.ty & TYPE_FIELD == 0
                            && prev.ty != TYPE_PROTO
                            && prev.ty != TYPE_PORT
                        {
                            e.errors.push("specify header field or 'port'".into());
                            return Err(());
                        }
                        self.data = prev.ty;
                        continue;
                    }
                    TYPE_NONE => {
                        if self.transp_proto != UNKNOWN {
                            self.ty = TYPE_PROTO;
                        } else {
                            e.errors.push("partial directive".into());
                            return Err(());
                        }
                    }
                    d => {
                        if d & TYPE_FIELD != 0 {
                            self.ty = d;
                            if d & FIELD_PROTO_MASK != 0 && self.transp_proto == UNKNOWN {
                                self.transp_proto = (d & FIELD_PROTO_MASK) >> FIELD_PROTO_SHIFT;
                            }
                        } else {
                            e.errors
                                .push(format!("unknown type '{}'", unparse_type(0, d)));
                            return Err(());
                        }
                    }
                }
                break;
            }
        }

        if header == 0 && self.data == TYPE_ETHER {
            header = b'e';
        } else if header == 0 {
            header = b'i';
        }
        if header == b'e' && self.ty == TYPE_HOST {
            self.ty = TYPE_ETHER;
        }
        let mask_dt = mask.dt();

        match self.ty {
            TYPE_HOST | TYPE_NET => {
                if header != b'i' || self.data != self.ty {
                    return self.type_error(e, "address missing");
                }
                if self.op != OP_EQ {
                    return self.type_error(e, "operator not supported");
                }
                if self.ty == TYPE_HOST {
                    self.mask = 0xFFFF_FFFF;
                }
                self.ty = TYPE_HOST;
                if mask_dt != 0 && mask_dt != TYPE_INT && mask_dt != TYPE_HOST {
                    return self.type_error(e, "bad mask");
                } else if mask_dt != 0 {
                    self.mask = mask.u();
                }
            }
            TYPE_ETHER => {
                if header != b'e' || self.data != TYPE_ETHER {
                    return self.type_error(e, "address missing");
                }
                if self.op != OP_EQ {
                    return self.type_error(e, "operator not supported");
                }
                self.emask = [0xff; 6];
                match mask {
                    GivenMask::None => {}
                    GivenMask::Ether(m) => self.emask = m,
                    _ => return self.type_error(e, "bad mask"),
                }
            }
            TYPE_PROTO => {
                if header != b'i' {
                    return self.type_error(e, "ip only");
                }
                if self.data == TYPE_INT || self.data == TYPE_PROTO {
                    if self.transp_proto != UNKNOWN && self.transp_proto != self.u as i32 {
                        return self.type_error(e, "specified twice");
                    }
                    self.data = TYPE_NONE;
                } else {
                    self.u = self.transp_proto as u32;
                }
                self.transp_proto = UNKNOWN;
                if self.data != TYPE_NONE || self.u as i32 == UNKNOWN {
                    return self.type_error(e, "value missing");
                }
                if self.u as i32 >= 256 {
                    if self.op != OP_EQ || mask_dt != 0 {
                        e.errors.push(format!(
                            "'{}': operator or mask not supported",
                            unparse_transp_proto(self.u as i32)
                        ));
                        return Err(());
                    }
                    self.mask = 0xFF;
                } else if mask_dt != 0 && mask_dt != TYPE_INT {
                    return self.type_error(e, "bad mask");
                } else {
                    self.set_mask(0xFF, mask.u(), e)?;
                }
                if self.op == OP_EQ && self.mask == 0xFF && !self.op_negated {
                    self.transp_proto = self.u as i32;
                }
            }
            TYPE_PORT => {
                if header != b'i' {
                    return self.type_error(e, "ip only");
                }
                if self.data == TYPE_INT {
                    self.data = TYPE_PORT;
                }
                if self.data != TYPE_PORT {
                    return self.type_error(e, "value missing");
                }
                if self.transp_proto == UNKNOWN {
                    self.transp_proto = PROTO_TCP_OR_UDP;
                } else if ![PROTO_TCP, PROTO_UDP, PROTO_TCP_OR_UDP, PROTO_DCCP]
                    .contains(&self.transp_proto)
                {
                    e.errors
                        .push(format!("'port': bad protocol {}", self.transp_proto));
                    return Err(());
                } else if mask_dt != 0 && mask_dt != TYPE_INT {
                    return self.type_error(e, "bad mask");
                }
                self.set_mask(0xFFFF, mask.u(), e)?;
            }
            TYPE_TCPOPT => {
                if header != b'i' {
                    return self.type_error(e, "ip only");
                }
                if self.data == TYPE_INT {
                    self.data = TYPE_TCPOPT;
                }
                if self.data != TYPE_TCPOPT {
                    return self.type_error(e, "value missing");
                }
                if self.transp_proto == UNKNOWN {
                    self.transp_proto = PROTO_TCP;
                } else if self.transp_proto != PROTO_TCP {
                    e.errors
                        .push(format!("'tcp opt': bad protocol {}", self.transp_proto));
                    return Err(());
                }
                if self.op != OP_EQ || self.op_negated || mask_dt != 0 {
                    return self.type_error(e, "operator or mask not supported");
                }
                if self.u > 255 {
                    e.errors
                        .push(format!("'tcp opt': value {} out of range", self.u as i32));
                    return Err(());
                }
                self.mask = self.u;
            }
            TYPE_IPECT => {
                if header != b'i' {
                    return self.type_error(e, "ip only");
                }
                if self.data != TYPE_NONE && self.data != TYPE_INT {
                    return self.type_error(e, "value missing");
                }
                if self.data == TYPE_NONE {
                    self.mask = 3;
                    self.u = 0;
                    self.op_negated = true;
                } else if mask_dt != 0 && mask_dt != TYPE_INT {
                    return self.type_error(e, "bad mask");
                }
                self.set_mask(0x3, mask.u(), e)?;
                self.ty = FIELD_TOS;
            }
            TYPE_IPCE => {
                if header != b'i' {
                    return self.type_error(e, "ip only");
                }
                if self.data != TYPE_NONE || mask_dt != 0 {
                    return self.type_error(e, "value not supported");
                }
                self.mask = 3;
                self.u = 3;
                self.ty = FIELD_TOS;
            }
            TYPE_IPFRAG | TYPE_IPUNFRAG => {
                if header != b'i' {
                    return self.type_error(e, "ip only");
                }
                if self.data != TYPE_NONE || mask_dt != 0 {
                    return self.type_error(e, "value not supported");
                }
                if self.ty == TYPE_IPUNFRAG {
                    self.op_negated = true;
                }
                self.mask = 1;
                self.ty = TYPE_IPFRAG;
            }
            t => {
                if t & TYPE_FIELD != 0 {
                    if header != b'i' {
                        return self.type_error(e, "ip only");
                    }
                    if self.data != TYPE_INT && self.data != t {
                        return self.type_error(e, "value missing");
                    } else if mask_dt != 0 && mask_dt != TYPE_INT && mask_dt != t {
                        return self.type_error(e, "bad mask");
                    }
                    let nbits = (t & FIELD_LENGTH_MASK) + 1;
                    let xmask = if nbits == 32 {
                        u32::MAX
                    } else {
                        (1u32 << nbits) - 1
                    };
                    self.set_mask(xmask, mask.u(), e)?;
                }
            }
        }

        if self.ty == TYPE_HOST || self.ty == TYPE_PORT || self.ty == TYPE_ETHER {
            if self.srcdst == 0 {
                self.srcdst = SD_OR;
            }
        } else if old_srcdst != 0 {
            e.warnings
                .push(format!("'{}': 'src' or 'dst' ignored", self.unparse_type()));
        }
        Ok(())
    }

    fn add_comparison_exprs(
        &self,
        p: &mut Program,
        tree: &mut Vec<i32>,
        offset: i32,
        shift: u32,
        op_negate: bool,
    ) {
        self.add_comparison(p, tree, offset, shift, op_negate, self.u, self.mask);
    }

    #[allow(clippy::too_many_arguments)]
    fn add_comparison(
        &self,
        p: &mut Program,
        tree: &mut Vec<i32>,
        offset: i32,
        shift: u32,
        op_negate: bool,
        u: u32,
        mask: u32,
    ) {
        let mut mask = mask;
        let mut u = u & mask;
        if self.op == OP_EQ {
            p.add_insn(tree, offset, u << shift, mask << shift);
            if self.op_negated && op_negate {
                p.negate_subtree(tree, true);
            }
            return;
        }
        let mut high_bit_record: u32 = 0;
        let mut count = 0;
        while u < mask {
            let high_bit = u > (mask >> 1);
            let fdb = 33
                - ffs_msb(if high_bit {
                    !(u.wrapping_add(1)) & mask
                } else {
                    u
                });
            let upper_mask = if fdb == 33 {
                mask
            } else {
                mask & !(1u32.wrapping_shl(fdb).wrapping_sub(1))
            };
            let upper_u = if high_bit { upper_mask } else { 0 };
            p.start_subtree(tree);
            p.add_insn(tree, offset, upper_u << shift, upper_mask << shift);
            if !high_bit {
                p.negate_subtree(tree, true);
            }
            high_bit_record = (high_bit_record << 1) | high_bit as u32;
            count += 1;
            mask &= !upper_mask;
            u &= mask;
        }
        while count > 0 {
            p.finish_subtree(
                tree,
                if high_bit_record & 1 != 0 {
                    Combiner::And
                } else {
                    Combiner::Or
                },
            );
            high_bit_record >>= 1;
            count -= 1;
        }
        if self.op_negated && op_negate {
            p.negate_subtree(tree, true);
        }
    }

    fn compile(&self, p: &mut Program, tree: &mut Vec<i32>) {
        p.start_subtree(tree);
        if self.transp_proto != UNKNOWN {
            add_exprs_for_proto(self.transp_proto, 0xFF, p, tree);
        }
        if self.ty == TYPE_PORT
            || self.ty == TYPE_TCPOPT
            || (self.ty & TYPE_FIELD != 0 && self.ty & FIELD_PROTO_MASK != 0)
        {
            p.add_insn(tree, OFFSET_NET + 4, 0, 0x0000_1FFF);
        }
        let finish_srcdst = |p: &mut Program, tree: &mut Vec<i32>| {
            p.finish_subtree(
                tree,
                if self.srcdst == SD_OR {
                    Combiner::Or
                } else {
                    Combiner::And
                },
            );
            if self.op_negated {
                p.negate_subtree(tree, true);
            }
        };
        let src = matches!(self.srcdst, SD_SRC | SD_AND | SD_OR);
        let dst = matches!(self.srcdst, SD_DST | SD_AND | SD_OR);
        match self.ty {
            TYPE_HOST => {
                p.start_subtree(tree);
                if src {
                    self.add_comparison_exprs(p, tree, OFFSET_NET + 12, 0, false);
                }
                if dst {
                    self.add_comparison_exprs(p, tree, OFFSET_NET + 16, 0, false);
                }
                finish_srcdst(p, tree);
            }
            TYPE_ETHER => {
                p.start_subtree(tree);
                let be = |b: [u8; 4]| u32::from_be_bytes(b);
                let (v, m) = (self.eu, self.emask);
                if src {
                    p.start_subtree(tree);
                    self.add_comparison(
                        p,
                        tree,
                        OFFSET_MAC + 8,
                        0,
                        false,
                        be([v[0], v[1], v[2], v[3]]),
                        be([m[0], m[1], m[2], m[3]]),
                    );
                    self.add_comparison(
                        p,
                        tree,
                        OFFSET_MAC + 12,
                        0,
                        false,
                        be([v[4], v[5], 0, 0]),
                        be([m[4], m[5], 0, 0]),
                    );
                    p.finish_subtree(tree, Combiner::And);
                }
                if dst {
                    p.start_subtree(tree);
                    self.add_comparison(
                        p,
                        tree,
                        OFFSET_MAC,
                        0,
                        false,
                        be([0, 0, v[0], v[1]]),
                        be([0, 0, m[0], m[1]]),
                    );
                    self.add_comparison(
                        p,
                        tree,
                        OFFSET_MAC + 4,
                        0,
                        false,
                        be([v[2], v[3], v[4], v[5]]),
                        be([m[2], m[3], m[4], m[5]]),
                    );
                    p.finish_subtree(tree, Combiner::And);
                }
                finish_srcdst(p, tree);
            }
            TYPE_PROTO if self.transp_proto < 256 => {
                self.add_comparison_exprs(p, tree, OFFSET_NET + 8, 16, true);
            }
            TYPE_IPFRAG => {
                p.add_insn(tree, OFFSET_NET + 4, 0, 0x0000_3FFF);
                if !self.op_negated {
                    p.negate_subtree(tree, true);
                }
            }
            TYPE_PORT => {
                p.start_subtree(tree);
                if src {
                    self.add_comparison_exprs(p, tree, OFFSET_TRANSP, 16, false);
                }
                if dst {
                    self.add_comparison_exprs(p, tree, OFFSET_TRANSP, 0, false);
                }
                finish_srcdst(p, tree);
            }
            TYPE_TCPOPT => {
                p.add_insn(tree, OFFSET_TRANSP + 12, self.u << 16, self.mask << 16);
            }
            t if t & TYPE_FIELD != 0 => {
                let offset = (t & FIELD_OFFSET_MASK) >> FIELD_OFFSET_SHIFT;
                let length = (t & FIELD_LENGTH_MASK) + 1;
                let word_offset = (offset >> 3) & !3;
                let bit_offset = offset & 0x1F;
                let base = if t & FIELD_PROTO_MASK != 0 {
                    OFFSET_TRANSP
                } else {
                    OFFSET_NET
                };
                self.add_comparison_exprs(
                    p,
                    tree,
                    base + word_offset,
                    (32 - (bit_offset + length)) as u32,
                    true,
                );
            }
            _ => {}
        }
        p.finish_subtree(tree, Combiner::And);
    }
}

fn add_exprs_for_proto(proto: i32, mask: u32, p: &mut Program, tree: &mut Vec<i32>) {
    if mask == 0xFF && proto == PROTO_TCP_OR_UDP {
        p.start_subtree(tree);
        p.add_insn(tree, OFFSET_NET + 8, (PROTO_TCP as u32) << 16, 0x00FF_0000);
        p.add_insn(tree, OFFSET_NET + 8, (PROTO_UDP as u32) << 16, 0x00FF_0000);
        p.finish_subtree(tree, Combiner::Or);
    } else if mask == 0xFF && proto >= 256 {
        // transp: any protocol
    } else {
        p.add_insn(tree, OFFSET_NET + 8, (proto as u32) << 16, mask << 16);
    }
}

/// Click's separate_text: words, operators and brackets.
fn separate_text(text: &str) -> Vec<String> {
    let s = text.as_bytes();
    let len = s.len();
    let mut words = Vec::new();
    let mut pos = 0;
    while pos < len {
        while pos < len && s[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= len {
            break;
        }
        let c = s[pos];
        let two = match c {
            b'&' | b'|' => pos + 1 < len && s[pos + 1] == c,
            b'<' | b'>' | b'!' | b'=' => pos + 1 < len && s[pos + 1] == b'=',
            _ => false,
        };
        if two {
            words.push(text[pos..pos + 2].to_string());
            pos += 2;
        } else if matches!(
            c,
            b'&' | b'|'
                | b'<'
                | b'>'
                | b'!'
                | b'='
                | b'('
                | b')'
                | b'['
                | b']'
                | b','
                | b';'
                | b'?'
        ) {
            words.push(text[pos..pos + 1].to_string());
            pos += 1;
        } else {
            let first = pos;
            while pos < len
                && (s[pos].is_ascii_alphanumeric()
                    || matches!(s[pos], b'-' | b'.' | b'/' | b'@' | b'_' | b':'))
            {
                pos += 1;
            }
            if pos == first {
                // one byte of anything else (a whole UTF-8 character)
                pos += text[pos..]
                    .chars()
                    .next()
                    .map(|ch| ch.len_utf8())
                    .unwrap_or(1);
            }
            words.push(text[first..pos].to_string());
        }
    }
    words
}

/// Click's IntArg: decimal, 0x hex or leading-0 octal, optionally negative.
fn parse_int(s: &str) -> Option<i32> {
    args::parse_i64(s).and_then(|v| {
        i32::try_from(v)
            .ok()
            .or_else(|| u32::try_from(v).ok().map(|u| u as i32))
    })
}

struct Parser<'a> {
    words: &'a [String],
    tree: Vec<i32>,
    prog: Program,
    ai: &'a AddressInfo,
    ports: PortNames<'a>,
    errs: Errs<'a>,
    prev: Primitive,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Expr0,
    Expr1,
    Expr2,
    Or0,
    Or1,
    Term0,
    Term1,
    Term2,
    Factor0,
    Factor1,
    Factor2,
    Factor0Neg,
    Factor1Neg,
    Factor2Neg,
}

impl<'a> Parser<'a> {
    fn word(&self, pos: usize) -> Option<&'a str> {
        self.words.get(pos).map(|s| s.as_str())
    }

    fn parse_expr_iterative(&mut self, mut pos: usize) -> usize {
        let mut stk: Vec<(St, usize)> = vec![(St::Expr0, 0)];
        while let Some(&(state, last_pos)) = stk.last() {
            let mut new_state = None;
            let top = stk.len() - 1;
            match state {
                St::Expr0 => {
                    self.prog.start_subtree(&mut self.tree);
                    stk[top].0 = St::Expr1;
                    new_state = Some(St::Or0);
                }
                St::Expr1 | St::Expr2 => {
                    let finish = if state == St::Expr1 {
                        if self.word(pos) != Some("?") {
                            true
                        } else {
                            pos += 1;
                            stk[top].0 = St::Expr2;
                            new_state = Some(St::Expr0);
                            false
                        }
                    } else if pos == last_pos || self.word(pos) != Some(":") {
                        self.errs
                            .errors
                            .push("missing ':' in ternary expression".into());
                        true
                    } else {
                        pos += 1;
                        stk[top].0 = St::Expr1;
                        new_state = Some(St::Or0);
                        false
                    };
                    if finish {
                        self.prog.finish_subtree(&mut self.tree, Combiner::Ternary);
                    }
                }
                St::Or0 => {
                    self.prog.start_subtree(&mut self.tree);
                    stk[top].0 = St::Or1;
                    new_state = Some(St::Term0);
                }
                St::Or1 => {
                    if matches!(self.word(pos), Some("or") | Some("||")) {
                        pos += 1;
                        new_state = Some(St::Term0);
                    } else {
                        self.prog.finish_subtree(&mut self.tree, Combiner::Or);
                    }
                }
                St::Term0 => {
                    self.prog.start_subtree(&mut self.tree);
                    stk[top].0 = St::Term1;
                    new_state = Some(St::Factor0);
                }
                St::Term1 | St::Term2 => {
                    if pos == last_pos {
                        if state == St::Term1 {
                            self.errs.errors.push("missing expression".into());
                        }
                        self.prog.finish_subtree(&mut self.tree, Combiner::And);
                    } else {
                        if matches!(self.word(pos), Some("and") | Some("&&")) {
                            stk[top].0 = St::Term1;
                            pos += 1;
                        } else {
                            stk[top].0 = St::Term2;
                        }
                        new_state = Some(St::Factor0);
                    }
                }
                St::Factor0 | St::Factor0Neg => {
                    let neg = state == St::Factor0Neg;
                    if matches!(self.word(pos), Some("not") | Some("!")) {
                        stk[top].0 = if neg { St::Factor1Neg } else { St::Factor1 };
                        new_state = Some(if neg { St::Factor0 } else { St::Factor0Neg });
                        pos += 1;
                    } else if self.word(pos) == Some("(") {
                        stk[top].0 = if neg { St::Factor2Neg } else { St::Factor2 };
                        new_state = Some(St::Expr0);
                        pos += 1;
                    } else {
                        pos = self.parse_test(pos, neg);
                    }
                }
                St::Factor1 | St::Factor1Neg => {
                    if pos == last_pos {
                        let w = pos
                            .checked_sub(1)
                            .and_then(|p| self.word(p))
                            .unwrap_or("")
                            .to_string();
                        self.errs
                            .errors
                            .push(format!("missing expression after '{w}'"));
                    }
                }
                St::Factor2 | St::Factor2Neg => {
                    if pos == last_pos {
                        self.errs.errors.push("missing expression after '('".into());
                    }
                    if self.word(pos) == Some(")") {
                        pos += 1;
                    } else if pos != last_pos {
                        self.errs.errors.push("missing ')'".into());
                    }
                    if state == St::Factor2Neg {
                        self.prog.negate_subtree(&self.tree, false);
                    }
                }
            }
            match new_state {
                Some(ns) => {
                    stk[top].1 = pos;
                    stk.push((ns, 0));
                }
                None => {
                    stk.pop();
                }
            }
        }
        pos
    }

    fn parse_brackets(&mut self, prim: &mut Primitive, mut pos: usize) -> usize {
        let first_pos = pos + 1;
        let mut comb = String::new();
        pos += 1;
        while pos < self.words.len() && self.words[pos] != "]" {
            comb.push_str(&self.words[pos]);
            pos += 1;
        }
        if pos >= self.words.len() {
            self.errs.errors.push("missing ']'".into());
            return first_pos;
        }
        pos += 1;
        let parsed = if let Some((a, b)) = comb.split_once(':').filter(|(_, b)| !b.is_empty()) {
            parse_int(a).zip(parse_int(b))
        } else if let Some((a, b)) = comb.split_once(',').filter(|(_, b)| !b.is_empty()) {
            parse_int(a).zip(parse_int(b)).map(|(a, b)| (a, b - a + 1))
        } else {
            parse_int(&comb).map(|a| (a, 1))
        };
        let Some((fieldpos, len)) = parsed else {
            self.errs
                .errors
                .push("syntax error after '[', expected '[POS]' or '[POS:LEN]'".into());
            return pos;
        };
        let (fp, l) = (fieldpos * 8, len * 8);
        if !(1..=32).contains(&l) {
            self.errs
                .errors
                .push("LEN in '[POS:LEN]' out of range, should be between 1 and 4".into());
        } else if (fp & !31) != ((fp + l - 1) & !31) {
            self.errs.errors.push(format!(
                "field [{fieldpos}:{len}] does not fit in a single word"
            ));
        } else {
            let transp = if prim.transp_proto == UNKNOWN {
                0
            } else {
                prim.transp_proto
            };
            prim.set_type(
                TYPE_FIELD | (transp << FIELD_PROTO_SHIFT) | (fp << FIELD_OFFSET_SHIFT) | (l - 1),
                &mut self.errs,
            );
        }
        pos
    }

    fn parse_test(&mut self, mut pos: usize, mut negated: bool) -> usize {
        let Some(first_word) = self.word(pos) else {
            return pos;
        };
        if matches!(first_word, ")" | "||" | "or" | "?" | ":") {
            return pos;
        }
        if first_word == "true" || first_word == "false" {
            self.prog.add_insn(&mut self.tree, 0, 0, 0);
            if negated == (first_word == "true") {
                self.prog.negate_subtree(&self.tree, false);
            }
            return pos + 1;
        }

        let first_pos = pos;
        let mut prim = Primitive::default();
        let mut header: u8 = 0;
        let nwords = self.words.len();
        while pos < nwords {
            let wd = self.words[pos].as_str();
            match lookup(wd, 0, UNKNOWN, self.ports, None) {
                Lookup::Type(t) => {
                    prim.set_type(t, &mut self.errs);
                    if t & TYPE_FIELD != 0 && t & FIELD_PROTO_MASK != 0 {
                        prim.set_transp_proto(
                            (t & FIELD_PROTO_MASK) >> FIELD_PROTO_SHIFT,
                            &mut self.errs,
                        );
                    }
                }
                Lookup::Value(TYPE_PROTO, v) => prim.set_transp_proto(v as i32, &mut self.errs),
                Lookup::Value(..) | Lookup::Bad => break,
                Lookup::None => {
                    if wd == "src" {
                        let w2 = self.word(pos + 2);
                        if pos + 2 < nwords && matches!(w2, Some("dst") | Some("dest")) {
                            match self.word(pos + 1) {
                                Some("and") | Some("&&") => {
                                    prim.set_srcdst(SD_AND, &mut self.errs);
                                    pos += 2;
                                }
                                Some("or") | Some("||") => {
                                    prim.set_srcdst(SD_OR, &mut self.errs);
                                    pos += 2;
                                }
                                _ => prim.set_srcdst(SD_SRC, &mut self.errs),
                            }
                        } else {
                            prim.set_srcdst(SD_SRC, &mut self.errs);
                        }
                    } else if wd == "dst" || wd == "dest" {
                        prim.set_srcdst(SD_DST, &mut self.errs);
                    } else if wd == "ip" || wd == "ether" {
                        if header != 0 {
                            break;
                        }
                        header = wd.as_bytes()[0];
                    } else if wd == "not" || wd == "!" {
                        negated = !negated;
                    } else {
                        break;
                    }
                }
            }
            pos += 1;
        }

        if pos != first_pos {
            self.prev = Primitive::default();
        }
        if self.prev.data == TYPE_ETHER {
            header = b'e';
        }

        // The word at `pos` unless it is the last one (Click's `pos >= size - 1`).
        let words = self.words;
        let peek = |p: usize| -> &str {
            if p + 1 >= nwords {
                ""
            } else {
                words[p].as_str()
            }
        };
        let mut wd = peek(pos).to_string();
        if wd == "[" && pos > first_pos && prim.ty == TYPE_NONE {
            pos = self.parse_brackets(&mut prim, pos);
            wd = peek(pos).to_string();
        }

        let mut mask = GivenMask::None;
        if wd == "&" && pos + 1 < nwords {
            let mw = self.words[pos + 1].as_str();
            if let Some(v) = parse_int(mw) {
                mask = GivenMask::Int(v as u32);
                pos += 2;
            } else if let Some(a) = (header != b'e')
                .then(|| args::parse_ip(mw, self.ai))
                .flatten()
            {
                mask = GivenMask::Host(u32::from(a));
                pos += 2;
            } else if let Some(m) = (header != b'i')
                .then(|| args::parse_eth(mw, self.ai))
                .flatten()
            {
                mask = GivenMask::Ether(m);
                pos += 2;
            }
            if !matches!(mask, GivenMask::None | GivenMask::Ether(_)) && mask.u() == 0 {
                self.errs.errors.push("zero mask ignored".into());
                mask = GivenMask::None;
            }
            wd = peek(pos).to_string();
        }

        pos += 1;
        match wd.as_str() {
            "=" | "==" => {}
            "!=" => prim.op_negated = true,
            ">" => prim.op = OP_GT,
            "<" => prim.op = OP_LT,
            ">=" => {
                prim.op = OP_LT;
                prim.op_negated = true;
            }
            "<=" => {
                prim.op = OP_GT;
                prim.op_negated = true;
            }
            _ => pos -= 1,
        }

        if pos < nwords {
            let wd = self.words[pos].clone();
            pos += 1;
            match lookup(
                &wd,
                prim.ty,
                prim.transp_proto,
                self.ports,
                Some(self.errs.errors),
            ) {
                Lookup::Bad => prim.ty = -2,
                Lookup::Value(t, v) => {
                    prim.data = t;
                    prim.u = v;
                }
                Lookup::Type(_) | Lookup::None => {
                    if let Some(v) = parse_int(&wd) {
                        prim.data = TYPE_INT;
                        prim.u = v as u32;
                    } else if let Some(a) = (header != b'e')
                        .then(|| args::parse_ip(&wd, self.ai))
                        .flatten()
                    {
                        prim.u = u32::from(a);
                        let mask_word = self.word(pos + 1).and_then(|m| args::parse_ip(m, self.ai));
                        if pos + 1 < nwords && self.words[pos] == "mask" && mask_word.is_some() {
                            prim.mask = mask_word.map(u32::from).unwrap_or(0);
                            pos += 2;
                            prim.data = TYPE_NET;
                        } else if let Some((a, m)) = (prim.ty == TYPE_NET)
                            .then(|| args::parse_prefix(&wd, self.ai))
                            .flatten()
                        {
                            prim.u = u32::from(a);
                            prim.mask = u32::from(m);
                            prim.data = TYPE_NET;
                        } else {
                            prim.data = TYPE_HOST;
                        }
                    } else if let Some((a, m)) = (header != b'e')
                        .then(|| args::parse_prefix(&wd, self.ai))
                        .flatten()
                    {
                        prim.u = u32::from(a);
                        prim.mask = u32::from(m);
                        prim.data = TYPE_NET;
                    } else if let Some(e) = (header != b'i')
                        .then(|| args::parse_eth(&wd, self.ai))
                        .flatten()
                    {
                        prim.eu = e;
                        prim.data = TYPE_ETHER;
                    } else {
                        if prim.op != OP_EQ || prim.op_negated {
                            self.errs
                                .errors
                                .push(format!("dangling operator near '{wd}'"));
                        }
                        pos -= 1;
                    }
                }
            }
        }

        if pos == first_pos {
            let w = self.word(pos).unwrap_or("").to_string();
            self.errs.errors.push(format!("empty term near '{w}'"));
            return pos;
        }

        if prim.check(&self.prev, header, mask, &mut self.errs).is_ok() {
            prim.compile(&mut self.prog, &mut self.tree);
            if negated {
                self.prog.negate_subtree(&self.tree, false);
            }
            self.prev = prim;
        }
        pos
    }
}

/// A compiled IPFilter: the program, and the warnings Click would print.
pub struct Compiled {
    pub program: CompressedProgram,
    pub warnings: Vec<String>,
}

/// Click's IPFilter::parse_program. `conf` holds `ACTION PATTERN` arguments (IPClassifier
/// passes `i PATTERN`). Errors are returned as Click words them, prefixed by the pattern.
pub fn compile(
    conf: &[String],
    noutputs: usize,
    ai: &AddressInfo,
    ports: PortNames<'_>,
) -> Result<Compiled, Vec<String>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut progs: Vec<Program> = Vec::new();
    for (argno, arg) in conf.iter().enumerate() {
        let words = separate_text(&args::unquote(arg));
        if words.is_empty() {
            errors.push(format!("empty pattern {argno}"));
            continue;
        }
        let mut perr = Vec::new();
        let mut pwarn = Vec::new();
        let mut slot = -J_NEVER;
        match words[0].as_str() {
            "allow" => {
                slot = 0;
                if noutputs == 0 {
                    perr.push("'allow' is meaningless, element has zero outputs".into());
                }
            }
            "deny" | "drop" => {}
            w => match parse_int(w) {
                Some(s) if s >= 0 && (s as usize) < noutputs => slot = s,
                Some(s) => perr.push(format!("slot '{s}' out of range")),
                None => perr.push(format!("unknown slot ID '{w}'")),
            },
        }
        let mut prog = Program::new(0);
        let mut tree = prog.init_subtree();
        prog.start_subtree(&mut tree);
        if words.len() == 1
            || (words.len() == 2 && matches!(words[1].as_str(), "-" | "any" | "all"))
        {
            prog.add_insn(&mut tree, 0, 0, 0);
        } else {
            let mut parser = Parser {
                words: &words,
                tree,
                prog,
                ai,
                ports,
                errs: Errs {
                    errors: &mut perr,
                    warnings: &mut pwarn,
                },
                prev: Primitive::default(),
            };
            let pos = parser.parse_expr_iterative(1);
            if pos < words.len() {
                parser
                    .errs
                    .errors
                    .push(format!("garbage after expression at '{}'", words[pos]));
            }
            tree = parser.tree;
            prog = parser.prog;
        }
        prog.finish_subtree_to(&mut tree, Combiner::And, -slot, J_FAILURE);
        progs.push(prog);
        errors.extend(perr.into_iter().map(|e| format!("pattern {argno}: {e}")));
        warnings.extend(pwarn.into_iter().map(|e| format!("pattern {argno}: {e}")));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Protocol tests sort before the rest of the IP header.
    let map = [(OFFSET_NET + 8, OFFSET_NET + 3)];
    let mut step = 1;
    while step < progs.len() {
        let mut i = 0;
        while i + step < progs.len() {
            let next = progs[i + step].clone();
            progs[i].add_or_program(&next);
            progs[i].optimize(&map, OFFSET_MAX);
            i += 2 * step;
        }
        step *= 2;
    }
    if progs.is_empty() {
        progs.push(Program::new(0));
    }
    if progs.len() == 1 {
        progs[0].optimize(&map, OFFSET_MAX);
    }
    let mut prog = progs.swap_remove(0);
    prog.set_failure(J_NEVER);
    prog.bubble_sort_and_exprs(&map, OFFSET_MAX);
    Ok(Compiled {
        program: CompressedProgram::compile(&prog),
        warnings,
    })
}
