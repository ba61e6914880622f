//! IPClassifier/IPFilter rules compiled to a jump program evaluated on the decision key.
//!
//! When the decision cache misses (many flows), walking the expression trees rule by rule
//! costs a recursive call, a protocol test and a bounds-checked packet read per primitive.
//! Compiled, each primitive is one flat node that reads its field from the key bytes already
//! loaded and jumps to the next node or to an output, like Click's own classifier programs.

use super::{Base, Check, Expr, Op, ProtoReq};

/// Key bytes plus padding, so every field is read as one 4-byte load.
const KB: usize = 68;

/// Where a test leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Node(u32),
    /// An output (`usize::MAX`: dropped).
    Out(usize),
}

/// One primitive test on the key bytes.
#[derive(Clone, Debug)]
struct Test {
    /// Position in the key bytes (IP header at 0..40, transport header at 40..64).
    at: usize,
    len: usize,
    /// Right shift of the big-endian u32 read at `at` that leaves the field.
    shift: u32,
    transport: bool,
    proto: ProtoReq,
    mask: u32,
    op: Op,
    value: u32,
    /// `Some((lo, hi))`: a range test instead of `op value`.
    range: Option<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct Node {
    test: Test,
    on_true: Target,
    on_false: Target,
}

/// The compiled rules: one program per class of IP protocols, in which every test whose
/// protocol requirement the class fails is already skipped (Click's trees test the protocol
/// once, too).
#[derive(Clone, Debug)]
pub(super) struct Jumps {
    programs: Vec<Program>,
    /// Program for each IP protocol number.
    by_proto: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Program {
    nodes: Vec<Node>,
    entry: Target,
}

impl Test {
    fn new(c: &Check, range: Option<(u32, u32)>) -> Option<Test> {
        let (base, lim) = match c.base {
            Base::Ip => (0, 40),
            Base::Transport => (40, 24),
            Base::Ether => return None,
        };
        let len = c.len as usize;
        if c.offset + len > lim || !(1..=4).contains(&len) {
            return None;
        }
        Some(Test {
            at: base + c.offset,
            len,
            shift: 8 * (4 - len as u32),
            transport: c.base == Base::Transport,
            proto: c.proto,
            mask: c.mask,
            op: c.op,
            value: c.value,
            range,
        })
    }

    fn proto_ok(&self, proto: u8) -> bool {
        match self.proto {
            ProtoReq::Any => true,
            ProtoReq::One(p) => proto == p,
            ProtoReq::TcpUdp => matches!(proto, 6 | 17 | 132 | 33),
        }
    }

    /// Same result as `eval` on the packet, for a packet whose protocol passed `proto_ok`: a
    /// field that is not there fails the test.
    #[inline(always)]
    fn eval(&self, kb: &[u8; KB], ip_len: usize, t_len: Option<usize>) -> bool {
        let end = self.at + self.len;
        let present = if self.transport {
            t_len.is_some_and(|t| end - 40 <= t)
        } else {
            end <= ip_len
        };
        if !present {
            return false;
        }
        let mut w = [0u8; 4];
        w.copy_from_slice(&kb[self.at..self.at + 4]);
        let x = (u32::from_be_bytes(w) >> self.shift) & self.mask;
        match self.range {
            Some((lo, hi)) => x >= lo && x <= hi,
            None => super::cmp(self.op, x, self.value),
        }
    }
}

impl Jumps {
    /// Compile `rules` (first match wins; none matching drops). None when a rule reads
    /// something the key does not hold (Ethernet fields, deep offsets).
    pub(super) fn compile(rules: &[(Expr, usize)]) -> Option<Jumps> {
        let mut nodes = Vec::new();
        let mut next = Target::Out(usize::MAX);
        for (e, o) in rules.iter().rev() {
            next = compile(e, Target::Out(*o), next, &mut nodes)?;
        }
        // Protocols for which the same tests pass share a program.
        let mut classes: Vec<Vec<bool>> = Vec::new();
        let mut by_proto = Vec::with_capacity(256);
        for proto in 0..=255u8 {
            let pass: Vec<bool> = nodes.iter().map(|n| n.test.proto_ok(proto)).collect();
            let c = match classes.iter().position(|c| *c == pass) {
                Some(c) => c,
                None => {
                    classes.push(pass);
                    classes.len() - 1
                }
            };
            by_proto.push(u8::try_from(c).ok()?);
        }
        let programs = classes
            .iter()
            .map(|pass| {
                // Targets are always earlier nodes, so skipping failed tests terminates.
                let skip = |mut t: Target| {
                    while let Target::Node(i) = t {
                        if pass[i as usize] {
                            break;
                        }
                        t = nodes[i as usize].on_false;
                    }
                    t
                };
                Program {
                    nodes: nodes
                        .iter()
                        .map(|n| Node {
                            test: n.test.clone(),
                            on_true: skip(n.on_true),
                            on_false: skip(n.on_false),
                        })
                        .collect(),
                    entry: skip(next),
                }
            })
            .collect();
        Some(Jumps { programs, by_proto })
    }

    /// The output for a packet whose decision key is `key` and whose lengths are `lens`
    /// (both as built by `view_key`).
    #[inline]
    pub(super) fn eval(&self, key: &[u64; 8], lens: usize) -> usize {
        let mut kb = [0u8; KB];
        for (w, chunk) in key.iter().zip(kb.chunks_exact_mut(8)) {
            chunk.copy_from_slice(&w.to_ne_bytes());
        }
        let ip_len = lens & 0xff;
        let t_len = (lens >> 8).checked_sub(1);
        let Some(prog) = self
            .programs
            .get(usize::from(self.by_proto[usize::from(kb[9])]))
        else {
            return usize::MAX;
        };
        let mut at = prog.entry;
        loop {
            match at {
                Target::Out(o) => return o,
                Target::Node(i) => {
                    let n = &prog.nodes[i as usize];
                    at = if n.test.eval(&kb, ip_len, t_len) {
                        n.on_true
                    } else {
                        n.on_false
                    };
                }
            }
        }
    }
}

/// Entry of `e`'s code, continuing at `t` when it holds and at `f` when not.
fn compile(e: &Expr, t: Target, f: Target, nodes: &mut Vec<Node>) -> Option<Target> {
    let node = |test: Test, nodes: &mut Vec<Node>| {
        nodes.push(Node {
            test,
            on_true: t,
            on_false: f,
        });
        u32::try_from(nodes.len() - 1).ok().map(Target::Node)
    };
    match e {
        Expr::True => Some(t),
        Expr::False => Some(f),
        Expr::Check(c) => node(Test::new(c, None)?, nodes),
        Expr::Range(c, lo, hi) => node(Test::new(c, Some((*lo, *hi)))?, nodes),
        Expr::Not(x) => compile(x, f, t, nodes),
        Expr::And(xs) => xs
            .iter()
            .rev()
            .try_fold(t, |next, x| compile(x, next, f, nodes)),
        Expr::Or(xs) => xs
            .iter()
            .rev()
            .try_fold(f, |next, x| compile(x, t, next, nodes)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{eval, parse_expr, view_key, View};
    use super::*;
    use crate::args::AddressInfo;
    use crate::packet::Packet;

    /// IPv4 packet `proto` from 10.0.0.1 to `dst` with transport bytes `t`, header marked.
    fn packet(proto: u8, dst: [u8; 4], frag: u16, t: &[u8]) -> Packet {
        let mut d = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1];
        d.extend_from_slice(&dst);
        d[6..8].copy_from_slice(&frag.to_be_bytes());
        d.extend_from_slice(t);
        let len = d.len() as u16;
        d[2..4].copy_from_slice(&len.to_be_bytes());
        let mut p = Packet::from_data(&d);
        p.set_network_header(0, 20);
        p
    }

    #[test]
    fn jumps_agree_with_the_expression_trees() {
        let ai = AddressInfo::default();
        let rules: Vec<(Expr, usize)> = [
            "src net 192.168.0.0/16",
            "tcp dst port 23 or udp dst port 161",
            "not (tcp and dst port 22) and icmp type echo",
            "dst net 10.1.0.0/16 && udp && dst port 80",
            "tcp opt syn",
            "ip[9] > 50",
            "src port 1000-2000",
            "true",
        ]
        .iter()
        .enumerate()
        .filter_map(|(i, s)| parse_expr(s, &ai, &|_, _| None).ok().map(|e| (e, i)))
        .collect();
        assert!(rules.len() >= 7, "the test rules parse");
        // key mask as IpFilter builds it: everything the rules read
        let mut ranges = vec![(0, 1), (6, 2), (9, 1)];
        assert!(rules
            .iter()
            .all(|(e, _)| super::super::expr_ranges(e, &mut ranges)));
        let mask = super::super::build_mask(ranges.into_iter()).expect("fits the key");
        let jumps = Jumps::compile(&rules).expect("compiles");
        let mut packets = Vec::new();
        for proto in [1u8, 6, 17, 51] {
            for dst in [[10, 1, 0, 2], [192, 168, 1, 1], [8, 8, 8, 8]] {
                for frag in [0u16, 0x2000, 5] {
                    for (sport, dport) in [(1500u16, 80u16), (3, 23), (0x0800, 161), (9, 22)] {
                        let mut t = Vec::new();
                        t.extend_from_slice(&sport.to_be_bytes());
                        t.extend_from_slice(&dport.to_be_bytes());
                        t.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02]);
                        packets.push(packet(proto, dst, frag, &t));
                        packets.push(packet(proto, dst, frag, &t[..3]));
                    }
                }
            }
        }
        let mut outs = std::collections::BTreeSet::new();
        for p in &packets {
            let v = View::new(p);
            let want = rules
                .iter()
                .find(|(e, _)| eval(e, &v))
                .map_or(usize::MAX, |(_, o)| *o);
            let (k, l) = view_key(&v, &mask);
            assert_eq!(jumps.eval(&k, l), want, "packet {:02x?}", p.data());
            outs.insert(want);
        }
        assert!(
            outs.len() >= 5,
            "the packets exercise several rules: {outs:?}"
        );
    }
}
