//! The direct evaluator of IP patterns that IPFilter used before it compiled Click's
//! wordwise programs; kept as an independent oracle that the compiled programs must agree
//! with on random packets.

use crate::args::{self, AddressInfo};
use crate::packet::Packet;

// ---------------------------------------------------------------- IP expressions

/// Where a field lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    Ip,
    Transport,
    /// The Ethernet header before the IP header (`src 0:1:2:3:4:5`).
    Ether,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A compiled primitive: read `len` bytes at `offset` from `base`, mask, compare.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    base: Base,
    offset: usize,
    len: u8,
    mask: u32,
    op: Op,
    value: u32,
    /// Transport-layer checks need this IP protocol set (0 = any) and an unfragmented packet.
    proto: ProtoReq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProtoReq {
    Any,
    One(u8),
    TcpUdp,
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    True,
    False,
    Check(Check),
    Range(Box<Check>, u32, u32),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[inline]
fn read_be(d: &[u8], off: usize, len: u8) -> Option<u32> {
    let l = len as usize;
    let s = d.get(off..off + l)?;
    Some(match l {
        1 => s[0] as u32,
        2 => u16::from_be_bytes([s[0], s[1]]) as u32,
        4 => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        _ => s.iter().fold(0u32, |a, b| a << 8 | *b as u32),
    })
}

/// Per-packet view used during evaluation.
pub(crate) struct View<'a> {
    ether: Option<&'a [u8]>,
    ip: &'a [u8],
    transport: Option<&'a [u8]>,
    proto: u8,
}

impl<'a> View<'a> {
    #[inline]
    pub(crate) fn new(p: &'a Packet) -> Self {
        let ip = p.network_header().unwrap_or(p.data());
        let proto = ip.get(9).copied().unwrap_or(0);
        let unfrag = ip.len() >= 8 && (u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff) == 0;
        let hl = ip.first().map(|b| ((b & 0xf) as usize) * 4).unwrap_or(0);
        let transport = if unfrag && hl >= 20 && hl <= ip.len() {
            Some(&ip[hl..])
        } else {
            None
        };
        View {
            ether: p.mac_header().filter(|m| m.len() >= 14),
            ip,
            transport,
            proto,
        }
    }
}

#[inline]
fn check_value(c: &Check, v: &View<'_>) -> Option<u32> {
    match c.proto {
        ProtoReq::Any => {}
        ProtoReq::One(p) => {
            if v.proto != p {
                return None;
            }
        }
        ProtoReq::TcpUdp => {
            if !matches!(v.proto, 6 | 17 | 132 | 33) {
                return None;
            }
        }
    }
    let d = match c.base {
        Base::Ip => v.ip,
        Base::Transport => v.transport?,
        Base::Ether => v.ether?,
    };
    read_be(d, c.offset, c.len).map(|x| x & c.mask)
}

#[inline]
fn cmp(op: Op, a: u32, b: u32) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Gt => a > b,
        Op::Le => a <= b,
        Op::Ge => a >= b,
    }
}

pub(crate) fn eval(e: &Expr, v: &View<'_>) -> bool {
    match e {
        Expr::True => true,
        Expr::False => false,
        Expr::Check(c) => match check_value(c, v) {
            Some(x) => cmp(c.op, x, c.value),
            // Missing layer: only `!=` style checks can't be decided; Click says false.
            None => false,
        },
        Expr::Range(c, lo, hi) => check_value(c, v).is_some_and(|x| x >= *lo && x <= *hi),
        Expr::Not(x) => !eval(x, v),
        Expr::And(xs) => xs.iter().all(|x| eval(x, v)),
        Expr::Or(xs) => xs.iter().any(|x| eval(x, v)),
    }
}

fn proto_number(s: &str) -> Option<u8> {
    Some(match s {
        "icmp" => 1,
        "igmp" => 2,
        "ipip" => 4,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmp6" => 58,
        "sctp" => 132,
        "dccp" => 33,
        _ => return args::parse_u64(s).filter(|v| *v < 256).map(|v| v as u8),
    })
}

fn port_number(s: &str) -> Option<u32> {
    Some(match s {
        "echo" => 7,
        "discard" => 9,
        "daytime" => 13,
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "time" => 37,
        "domain" | "dns" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "finger" => 79,
        "www" | "http" => 80,
        "pop3" => 110,
        "sunrpc" => 111,
        "auth" => 113,
        "nntp" => 119,
        "ntp" => 123,
        "imap" => 143,
        "snmp" => 161,
        "snmp-trap" => 162,
        "bgp" => 179,
        "irc" => 194,
        "imap3" => 220,
        "https" => 443,
        "rip" => 520,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "ldap" => 389,
        "syslog" => 514,
        "submission" => 587,
        _ => return args::parse_u64(s).filter(|v| *v < 65536).map(|v| v as u32),
    })
}

fn icmp_type(s: &str) -> Option<u32> {
    Some(match s {
        "echo-reply" => 0,
        "unreachable" => 3,
        "sourcequench" => 4,
        "redirect" => 5,
        "echo" => 8,
        "routeradvert" => 9,
        "routersolicit" => 10,
        "timxceed" | "time-exceeded" => 11,
        "paramprob" | "parameterproblem" => 12,
        "timestamp" => 13,
        "timestamp-reply" => 14,
        "inforeq" => 15,
        "inforeq-reply" => 16,
        "maskreq" => 17,
        "maskreq-reply" => 18,
        _ => return args::parse_u64(s).filter(|v| *v < 256).map(|v| v as u32),
    })
}

fn tcp_flag(s: &str) -> Option<u32> {
    Some(match s {
        "fin" => 1,
        "syn" => 2,
        "rst" => 4,
        "psh" => 8,
        "ack" => 16,
        "urg" => 32,
        "ece" => 64,
        "cwr" => 128,
        _ => return None,
    })
}

fn chk(base: Base, offset: usize, len: u8, mask: u32, op: Op, value: u32, proto: ProtoReq) -> Expr {
    Expr::Check(Check {
        base,
        offset,
        len,
        mask,
        op,
        value,
        proto,
    })
}

struct ExprParser<'a> {
    toks: Vec<String>,
    pos: usize,
    ai: &'a AddressInfo,
    /// Last primitive's qualifiers, for value elision (`src host A or B`).
    last: Option<Vec<String>>,
}

fn tokenize(s: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, v: &mut Vec<String>| {
        if !cur.is_empty() {
            v.push(std::mem::take(cur));
        }
    };
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            flush(&mut cur, &mut v);
        } else if c == '(' || c == ')' {
            flush(&mut cur, &mut v);
            v.push(c.to_string());
        } else if c == '[' {
            // keep ip[..] together
            while i < cs.len() && cs[i] != ']' {
                cur.push(cs[i]);
                i += 1;
            }
            if i < cs.len() {
                cur.push(']');
            }
            flush(&mut cur, &mut v);
        } else if (c == '&' || c == '|') && i + 1 < cs.len() && cs[i + 1] == c {
            flush(&mut cur, &mut v);
            v.push(if c == '&' { "and".into() } else { "or".into() });
            i += 1;
        } else if c == '&' {
            flush(&mut cur, &mut v);
            v.push("&".into());
        } else if c == '!' && !(i + 1 < cs.len() && cs[i + 1] == '=') {
            flush(&mut cur, &mut v);
            v.push("not".into());
        } else if matches!(c, '<' | '>' | '=' | '!') {
            flush(&mut cur, &mut v);
            let mut op = c.to_string();
            if i + 1 < cs.len() && cs[i + 1] == '=' {
                op.push('=');
                i += 1;
            }
            v.push(op);
        } else {
            cur.push(c);
        }
        i += 1;
    }
    flush(&mut cur, &mut v);
    v
}

const QUALIFIERS: &[&str] = &[
    "src", "dst", "ip", "tcp", "udp", "icmp", "tcpudp", "host", "net", "port", "proto", "tos",
    "ttl", "dscp", "vers", "hl", "id", "len", "type", "opt", "ect", "ce", "win",
];

impl ExprParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(|s| s.as_str())
    }
    fn next(&mut self) -> Option<String> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expr(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.and_expr()?];
        while self.peek() == Some("or") {
            self.next();
            v.push(self.and_expr()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::False)
        } else {
            Expr::Or(v)
        })
    }
    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.factor()?];
        loop {
            match self.peek() {
                Some("and") => {
                    self.next();
                    v.push(self.factor()?);
                }
                Some("or") | Some(")") | None => break,
                Some("?") | Some(":") => break,
                Some(_) => v.push(self.factor()?),
            }
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::False)
        } else {
            Expr::And(v)
        })
    }
    fn factor(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some("not") => {
                self.next();
                Ok(Expr::Not(Box::new(self.factor()?)))
            }
            Some("(") => {
                self.next();
                let e = self.expr()?;
                if self.next().as_deref() != Some(")") {
                    return Err("missing ')'".into());
                }
                Ok(e)
            }
            Some(_) => self.primitive(),
            None => Err("missing expression".into()),
        }
    }

    fn primitive(&mut self) -> Result<Expr, String> {
        let first = self.peek().unwrap_or("").to_string();
        match first.as_str() {
            "true" | "any" | "all" | "-" => {
                self.next();
                return Ok(Expr::True);
            }
            "false" | "none" => {
                self.next();
                return Ok(Expr::False);
            }
            _ => {}
        }
        if first.starts_with("ip[") || first.starts_with("transp[") {
            self.next();
            return self.offset_expr(&first);
        }
        let mut quals: Vec<String> = Vec::new();
        while let Some(t) = self.peek() {
            // `proto icmp`: the protocol after `proto` is its value, not a qualifier.
            if quals.last().is_some_and(|q| q == "proto") {
                break;
            }
            if QUALIFIERS.contains(&t)
                || (quals.last().is_some_and(|q| q == "src" || q == "dst")
                    && (t == "or" || t == "and")
                    && matches!(
                        self.toks.get(self.pos + 1).map(|s| s.as_str()),
                        Some("src") | Some("dst")
                    ))
            {
                let t = t.to_string();
                self.next();
                quals.push(t);
            } else {
                break;
            }
        }
        // bare keywords
        if let Some(t) = self.peek() {
            if quals.iter().all(|q| q == "ip") && (t == "frag" || t == "unfrag") {
                let t = t.to_string();
                self.next();
                let op = if t == "frag" { Op::Ne } else { Op::Eq };
                return Ok(chk(Base::Ip, 6, 2, 0x3fff, op, 0, ProtoReq::Any));
            }
            if let Some(f) = tcp_flag(t) {
                if quals.iter().all(|q| q == "tcp" || q == "opt") {
                    self.next();
                    return Ok(chk(Base::Transport, 13, 1, f, Op::Ne, 0, ProtoReq::One(6)));
                }
            }
        }
        if quals.is_empty()
            && (args::parse_prefix(&first, self.ai).is_some() && first.contains(['.', '/']))
        {
            // a bare address or prefix means `host`/`net`
            quals.push(if first.contains('/') {
                "net".into()
            } else {
                "host".into()
            });
        }
        if quals.is_empty() {
            // value elision: reuse the last qualifiers
            if let Some(l) = self.last.clone() {
                quals = l;
            } else {
                return Err(format!("unknown primitive '{first}'"));
            }
        }
        // protocol-only primitive: "tcp", "udp", "icmp", "ip proto tcp" handled below
        let has_value_qual = quals.iter().any(|q| is_value_qualifier(q));
        let proto_q = quals.iter().find_map(|q| match q.as_str() {
            "tcp" => Some(6u8),
            "udp" => Some(17),
            "icmp" => Some(1),
            _ => None,
        });
        if !has_value_qual && !quals.iter().any(|q| q == "src" || q == "dst") {
            if let Some(p) = proto_q {
                // `tcp` alone
                let next_is_value = self.peek().is_some_and(|t| {
                    !matches!(t, "and" | "or" | ")" | "not")
                        && !QUALIFIERS.contains(&t)
                        && tcp_flag(t).is_none()
                });
                if !next_is_value {
                    self.last = Some(quals.clone());
                    return Ok(chk(Base::Ip, 9, 1, 0xff, Op::Eq, p as u32, ProtoReq::Any));
                }
            }
        }
        // optional relational operator
        let mut op = Op::Eq;
        if let Some(t) = self.peek() {
            let o = match t {
                "=" | "==" => Some(Op::Eq),
                "!=" => Some(Op::Ne),
                "<" => Some(Op::Lt),
                ">" => Some(Op::Gt),
                "<=" => Some(Op::Le),
                ">=" => Some(Op::Ge),
                _ => None,
            };
            if let Some(o) = o {
                op = o;
                self.next();
            }
        }
        let val = self
            .next()
            .ok_or_else(|| format!("missing value after '{}'", quals.join(" ")))?;
        self.last = Some(quals.clone());
        let src = quals.iter().any(|q| q == "src");
        let dst = quals.iter().any(|q| q == "dst");
        let both_and = quals.iter().any(|q| q == "and");
        let sides = |mk: &dyn Fn(bool) -> Expr| -> Expr {
            match (src, dst) {
                (true, false) => mk(true),
                (false, true) => mk(false),
                _ => {
                    if both_and {
                        Expr::And(vec![mk(true), mk(false)])
                    } else {
                        Expr::Or(vec![mk(true), mk(false)])
                    }
                }
            }
        };
        let kind = quals
            .iter()
            .rev()
            .find(|q| is_value_qualifier(q))
            .cloned()
            .unwrap_or_else(|| {
                // `src 1.2.3.4` = host/net; `tcp 80`? treat digits as port when a proto was named
                if proto_q.is_some() && !val.contains('.') {
                    "port".into()
                } else if val.contains('/') {
                    "net".into()
                } else {
                    "host".into()
                }
            });
        let preq_tcpudp = match proto_q {
            Some(p) => ProtoReq::One(p),
            None => ProtoReq::TcpUdp,
        };
        let e = match kind.as_str() {
            "host" if val.contains(':') && args::parse_eth(&val, self.ai).is_some() => {
                // An Ethernet address: compare the MAC header (dst at 0, src at 6).
                let e = args::parse_eth(&val, self.ai).unwrap_or_default();
                let hi = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                let lo = u16::from_be_bytes([e[4], e[5]]) as u32;
                sides(&|s| {
                    let o = if s { 6 } else { 0 };
                    let parts = vec![
                        chk(Base::Ether, o, 4, u32::MAX, op, hi, ProtoReq::Any),
                        chk(Base::Ether, o + 4, 2, 0xffff, op, lo, ProtoReq::Any),
                    ];
                    if op == Op::Ne {
                        Expr::Or(parts)
                    } else {
                        Expr::And(parts)
                    }
                })
            }
            "host" | "net" => {
                let (addr, mask) = if kind == "host" && !val.contains('/') {
                    let a = args::parse_ip(&val, self.ai)
                        .or_else(|| args::parse_prefix(&val, self.ai).map(|x| x.0))
                        .ok_or_else(|| format!("bad IP address '{val}'"))?;
                    // AddressInfo names with a prefix are nets when used with `net`
                    (a, std::net::Ipv4Addr::new(255, 255, 255, 255))
                } else {
                    args::parse_prefix(&val, self.ai)
                        .ok_or_else(|| format!("bad IP prefix '{val}'"))?
                };
                let (a, m) = (u32::from(addr), u32::from(mask));
                let e = sides(&|s| {
                    chk(
                        Base::Ip,
                        if s { 12 } else { 16 },
                        4,
                        m,
                        op,
                        a & m,
                        ProtoReq::Any,
                    )
                });
                match proto_q {
                    Some(p) => Expr::And(vec![
                        chk(Base::Ip, 9, 1, 0xff, Op::Eq, p as u32, ProtoReq::Any),
                        e,
                    ]),
                    None => e,
                }
            }
            "port" => {
                if let Some((lo, hi)) = val
                    .split_once('-')
                    .and_then(|(a, b)| Some((port_number(a)?, port_number(b)?)))
                {
                    sides(&|s| {
                        Expr::Range(
                            Box::new(Check {
                                base: Base::Transport,
                                offset: if s { 0 } else { 2 },
                                len: 2,
                                mask: 0xffff,
                                op: Op::Eq,
                                value: 0,
                                proto: preq_tcpudp,
                            }),
                            lo,
                            hi,
                        )
                    })
                } else {
                    let p = port_number(&val).ok_or_else(|| format!("bad port '{val}'"))?;
                    sides(&|s| {
                        chk(
                            Base::Transport,
                            if s { 0 } else { 2 },
                            2,
                            0xffff,
                            op,
                            p,
                            preq_tcpudp,
                        )
                    })
                }
            }
            "proto" => {
                let p = proto_number(&val).ok_or_else(|| format!("bad protocol '{val}'"))?;
                chk(Base::Ip, 9, 1, 0xff, op, p as u32, ProtoReq::Any)
            }
            "tos" => chk(Base::Ip, 1, 1, 0xff, op, parse_num(&val)?, ProtoReq::Any),
            "dscp" => chk(
                Base::Ip,
                1,
                1,
                0xfc,
                op,
                parse_num(&val)? << 2,
                ProtoReq::Any,
            ),
            "ttl" => chk(Base::Ip, 8, 1, 0xff, op, parse_num(&val)?, ProtoReq::Any),
            "vers" => chk(
                Base::Ip,
                0,
                1,
                0xf0,
                op,
                parse_num(&val)? << 4,
                ProtoReq::Any,
            ),
            "hl" => chk(
                Base::Ip,
                0,
                1,
                0x0f,
                op,
                parse_num(&val)? / 4,
                ProtoReq::Any,
            ),
            "id" => chk(Base::Ip, 4, 2, 0xffff, op, parse_num(&val)?, ProtoReq::Any),
            "len" => chk(Base::Ip, 2, 2, 0xffff, op, parse_num(&val)?, ProtoReq::Any),
            "win" => chk(
                Base::Transport,
                14,
                2,
                0xffff,
                op,
                parse_num(&val)?,
                ProtoReq::One(6),
            ),
            "type" => {
                let t = icmp_type(&val).ok_or_else(|| format!("bad ICMP type '{val}'"))?;
                chk(Base::Transport, 0, 1, 0xff, op, t, ProtoReq::One(1))
            }
            "opt" => {
                let f = tcp_flag(&val).ok_or_else(|| format!("bad TCP option '{val}'"))?;
                chk(Base::Transport, 13, 1, f, Op::Ne, 0, ProtoReq::One(6))
            }
            _ => return Err(format!("unknown primitive '{}'", quals.join(" "))),
        };
        Ok(e)
    }

    fn offset_expr(&mut self, tok: &str) -> Result<Expr, String> {
        let (base, inner) = if let Some(r) = tok.strip_prefix("ip[") {
            (Base::Ip, r.trim_end_matches(']'))
        } else {
            (
                Base::Transport,
                tok.trim_start_matches("transp[").trim_end_matches(']'),
            )
        };
        let (off, len) = match inner.split_once(':') {
            Some((o, l)) => (parse_num(o)? as usize, parse_num(l)? as u8),
            None => (parse_num(inner)? as usize, 1),
        };
        if !(1..=4).contains(&len) {
            return Err("field length must be 1-4".into());
        }
        let full = if len == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * len as u32)) - 1
        };
        let mut mask = full;
        if self.peek() == Some("&") {
            self.next();
            mask = parse_num(&self.next().unwrap_or_default())? & full;
        }
        let mut op = Op::Eq;
        if let Some(t) = self.peek() {
            let o = match t {
                "=" | "==" => Some(Op::Eq),
                "!=" => Some(Op::Ne),
                "<" => Some(Op::Lt),
                ">" => Some(Op::Gt),
                "<=" => Some(Op::Le),
                ">=" => Some(Op::Ge),
                _ => None,
            };
            if let Some(o) = o {
                op = o;
                self.next();
            }
        }
        let v = parse_num(&self.next().ok_or("missing value")?)?;
        Ok(chk(base, off, len, mask, op, v & mask, ProtoReq::Any))
    }
}

fn parse_num(s: &str) -> Result<u32, String> {
    args::parse_u64(s)
        .filter(|v| *v <= u32::MAX as u64)
        .map(|v| v as u32)
        .ok_or_else(|| format!("bad number '{s}'"))
}

/// Parse one IPClassifier/IPFilter expression.
pub(crate) fn parse_expr(s: &str, ai: &AddressInfo) -> Result<Expr, String> {
    let toks = tokenize(s);
    if toks.is_empty() {
        return Err("empty pattern".into());
    }
    let mut p = ExprParser {
        toks,
        pos: 0,
        ai,
        last: None,
    };
    let e = p.expr()?;
    if p.pos < p.toks.len() {
        return Err(format!("garbage after expression at '{}'", p.toks[p.pos]));
    }
    Ok(e)
}

/// A qualifier that takes a value (`host 1.2.3.4`, `port 80`, `ttl > 3`…), as opposed to a
/// protocol-only primitive.
fn is_value_qualifier(q: &str) -> bool {
    matches!(
        q,
        "host"
            | "net"
            | "port"
            | "proto"
            | "tos"
            | "ttl"
            | "dscp"
            | "vers"
            | "hl"
            | "id"
            | "len"
            | "type"
            | "opt"
            | "win"
    )
}
