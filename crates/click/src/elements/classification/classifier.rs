//! Classifier (byte patterns), IPClassifier and IPFilter (tcpdump-like expressions).
//!
//! Patterns compile to Click's optimised wordwise decision program
//! (`crate::classification`), which classifies packets and is what the `program` handler
//! prints. A batch whose packets all go to one output is forwarded whole.

use crate::args;
use crate::classification::wordwise::{CompressedProgram, Program};
use crate::classification::{byte_pattern, ip_pattern};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult};
use crate::element_class;
use crate::elements::shared::classify_out;
use crate::packet::{Packet, PacketBatch};
use crate::registry::Registry;

/// Register the classifier classes.
pub fn register(r: &mut Registry) {
    r.register("Classifier", || Box::<Classifier>::default());
    r.register("IPClassifier", || Box::new(IpFilter::new(false)));
    r.register("IPFilter", || Box::new(IpFilter::new(true)));
}

// ---------------------------------------------------------------- decision cache

const KEY_BYTES: usize = 64;

/// Eight bytes at `off` (zero-padded past the end).
#[inline(always)]
fn load8(s: &[u8], off: usize) -> u64 {
    match s.get(off..off + 8) {
        Some(w) => u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
        None => {
            let mut w = [0u8; 8];
            if off < s.len() {
                let n = s.len() - off;
                w[..n].copy_from_slice(&s[off..]);
            }
            u64::from_ne_bytes(w)
        }
    }
}

/// Masked key of the first 64 bytes (only the words the mask touches are read).
#[inline]
fn masked_key(d: &[u8], mask: &[u64; 8]) -> [u64; 8] {
    let mut k = [0u64; 8];
    for (i, m) in mask.iter().enumerate() {
        if *m != 0 {
            k[i] = load8(d, i * 8) & m;
        }
    }
    k
}

/// Key mask from (byte offset in the 64-byte key, 4-byte word mask) pairs; `None` when a
/// test reads past the key.
fn build_mask(words: impl Iterator<Item = (usize, u32)>) -> Option<[u64; 8]> {
    let mut bytes = [0u8; KEY_BYTES];
    for (off, m) in words {
        if off + 4 > KEY_BYTES {
            return None;
        }
        bytes[off..off + 4].copy_from_slice(&m.to_be_bytes());
    }
    let mut m = [0u64; 8];
    for (i, c) in bytes.chunks(8).enumerate() {
        m[i] = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    Some(m)
}

/// Click's "drop" output becomes out of range (classify_out drops it).
#[inline]
fn output(o: i32, n: usize) -> usize {
    if o >= 0 && (o as usize) < n {
        o as usize
    } else {
        usize::MAX
    }
}

// ---------------------------------------------------------------- Classifier

/// Classifier(PATTERN, ...): `offset/hex[%mask]` terms, `!` negation, `-` = everything.
///
/// Decisions are cached on the bytes the program looks at (a masked key of the first 64
/// bytes plus the length), so runs of packets with equal headers classify once.
#[derive(Default)]
pub struct Classifier {
    prog: Program,
    n: usize,
    key_mask: Option<[u64; 8]>,
    last: Option<([u64; 8], usize, usize)>,
}

impl Element for Classifier {
    element_class!(class: "Classifier", ports: "1/-", processing: "h");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let pats = args::split_args(conf);
        self.n = cx.noutputs;
        if pats.len() != cx.noutputs {
            return Err(format!(
                "need {} arguments, one per output port",
                cx.noutputs
            ));
        }
        let prog = byte_pattern::compile(&pats, 0).map_err(|e| e.join("\n"))?;
        for o in prog.unused_outputs(cx.noutputs) {
            cx.warnings.push(format!("output {o} matches no packets"));
        }
        self.key_mask = build_mask(prog.insns().iter().map(|i| (i.offset as usize, i.mask)));
        self.prog = prog;
        self.last = None;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let prog = &self.prog;
        let mask = self.key_mask;
        let n = self.n;
        let mut last = self.last;
        classify_out(batch, n, ctx, |p| {
            let d = p.data();
            let key = mask.map(|m| (masked_key(d, &m), d.len().min(KEY_BYTES)));
            if let (Some((k, l)), Some((lk, ll, out))) = (key, last) {
                if k == lk && l == ll {
                    return out;
                }
            }
            let out = output(prog.match_data(d), n);
            if let Some((k, l)) = key {
                last = Some((k, l, out));
            }
            out
        });
        self.last = last;
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("program")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "program").then(|| Ok(self.prog.unparse()))
    }
}

// ---------------------------------------------------------------- IPFilter

/// Where a packet's headers are, in the program's offset space (Ethernet 0.., IP 256..,
/// transport 512..).
pub(crate) struct IpView<'a> {
    /// The packet, for the Ethernet header (only Ethernet patterns read it).
    packet: &'a Packet,
    ip: &'a [u8],
    transport: &'a [u8],
    /// Click's packet length in program offsets (decides which words are short).
    length: usize,
}

impl<'a> IpView<'a> {
    #[inline]
    pub(crate) fn new(p: &'a Packet) -> Self {
        let ip = p.network_header().unwrap_or(p.data());
        let hl = ip.first().map(|b| ((b & 0xf) as usize) * 4).unwrap_or(0);
        let (transport, length): (&[u8], usize) = if ip.len() > hl {
            (
                &ip[hl..],
                ip_pattern::OFFSET_TRANSP as usize + ip.len() - hl,
            )
        } else {
            (&[], ip_pattern::OFFSET_NET as usize + ip.len())
        };
        IpView {
            packet: p,
            ip,
            transport,
            length,
        }
    }

    #[inline]
    fn word(&self, off: usize) -> u32 {
        #[inline(always)]
        fn be(d: &[u8], o: usize) -> u32 {
            match d.get(o..o + 4) {
                Some(w) => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
                None => {
                    let mut w = [0u8; 4];
                    for (k, b) in w.iter_mut().enumerate() {
                        *b = d.get(o + k).copied().unwrap_or(0);
                    }
                    u32::from_be_bytes(w)
                }
            }
        }
        if off >= ip_pattern::OFFSET_TRANSP as usize {
            be(self.transport, off - ip_pattern::OFFSET_TRANSP as usize)
        } else if off >= ip_pattern::OFFSET_NET as usize {
            be(self.ip, off - ip_pattern::OFFSET_NET as usize)
        } else {
            // Offset 2 is the Ethernet header's first byte.
            let mac = self.packet.mac_header().unwrap_or(&[]);
            let mut w = [0u8; 4];
            for (k, b) in w.iter_mut().enumerate() {
                if let Some(i) = (off + k).checked_sub(2) {
                    *b = mac.get(i).copied().unwrap_or(0);
                }
            }
            u32::from_be_bytes(w)
        }
    }

    /// Run a compiled program on this packet.
    #[inline]
    pub(crate) fn classify(&self, prog: &CompressedProgram) -> i32 {
        prog.run(self.length, |off| self.word(off))
    }
}

/// Key bytes: the IP header's first 40 bytes at 0..40, the transport header's first 24 at
/// 40..64.
fn ip_key_offset(off: usize) -> Option<usize> {
    let net = ip_pattern::OFFSET_NET as usize;
    let tr = ip_pattern::OFFSET_TRANSP as usize;
    if off >= tr {
        (off - tr + 4 <= 24).then_some(40 + off - tr)
    } else if off >= net {
        (off - net + 4 <= 40).then_some(off - net)
    } else {
        None
    }
}

/// Key of a packet for the decision cache: the masked words, plus the lengths (which decide
/// whether words exist).
#[inline]
fn view_key(v: &IpView<'_>, mask: &[u64; 8]) -> ([u64; 8], usize) {
    let mut k = [0u64; 8];
    for i in 0..5 {
        if mask[i] != 0 {
            k[i] = load8(v.ip, i * 8) & mask[i];
        }
    }
    for i in 5..8 {
        if mask[i] != 0 {
            k[i] = load8(v.transport, (i - 5) * 8) & mask[i];
        }
    }
    (k, v.ip.len().min(64) | v.transport.len().min(24) << 8)
}

/// IPClassifier / IPFilter.
///
/// Decisions are cached on the header bytes the program reads (masked IP header and first
/// transport bytes plus lengths), so runs of same-flow packets classify once.
pub struct IpFilter {
    filter: bool,
    prog: CompressedProgram,
    n: usize,
    key_mask: Option<[u64; 8]>,
    last: Option<([u64; 8], usize, usize)>,
}

impl IpFilter {
    fn new(filter: bool) -> Self {
        IpFilter {
            filter,
            prog: CompressedProgram::default(),
            n: 0,
            key_mask: None,
            last: None,
        }
    }
}

impl Element for IpFilter {
    element_class! {
        self =>
        class: if self.filter { "IPFilter" } else { "IPClassifier" },
        ports: "1/-",
        processing: "h",
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let mut pats = args::split_args(conf);
        self.n = cx.noutputs;
        if !self.filter {
            if pats.len() != cx.noutputs {
                return Err(format!(
                    "need {} arguments, one per output port",
                    cx.noutputs
                ));
            }
            // IPClassifier is IPFilter with one numbered slot per pattern.
            pats = pats
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{i} {p}"))
                .collect();
        }
        let ports =
            |name: &str, proto: &str| crate::elements::shared::parse_port_in(name, proto, cx);
        let compiled =
            ip_pattern::compile(&pats, cx.noutputs, cx.addrs, &ports).map_err(|e| e.join("\n"))?;
        cx.warnings.extend(compiled.warnings);
        if !self.filter {
            for o in compiled.program.unused_outputs(cx.noutputs) {
                cx.warnings.push(format!("output {o} matches no packets"));
            }
        }
        // The cache key must cover every (4-byte) word a test reads; the IP header's
        // first byte (its length) places the transport header.
        let mut words = vec![(0usize, 0x0f00_0000u32)];
        let mut cacheable = true;
        for (off, m) in compiled.program.tests() {
            match ip_key_offset(off as usize) {
                Some(k) => words.push((k, m)),
                None => cacheable = false,
            }
        }
        self.key_mask = if cacheable {
            build_mask(words.into_iter())
        } else {
            None
        };
        self.prog = compiled.program;
        self.last = None;
        Ok(())
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let prog = &self.prog;
        let mask = self.key_mask;
        let n = self.n;
        let mut last = self.last;
        classify_out(batch, n, ctx, |p| {
            let v = IpView::new(p);
            let key = mask.map(|m| view_key(&v, &m));
            if let (Some((k, l)), Some((lk, ll, out))) = (key, last) {
                if k == lk && l == ll {
                    return out;
                }
            }
            let out = output(v.classify(prog), n);
            if let Some((k, l)) = key {
                last = Some((k, l, out));
            }
            out
        });
        self.last = last;
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::r("program")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "program").then(|| Ok(self.prog.unparse()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::oracle::{eval, parse_expr, View};
    use super::*;
    use crate::args::AddressInfo;

    fn ip_packet(
        proto: u8,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        flags: u8,
    ) -> Packet {
        let mut d = vec![0u8; 40];
        d[0] = 0x45;
        d[3] = 40;
        d[8] = 64;
        d[9] = proto;
        d[12..16].copy_from_slice(&src);
        d[16..20].copy_from_slice(&dst);
        d[20..22].copy_from_slice(&sport.to_be_bytes());
        d[22..24].copy_from_slice(&dport.to_be_bytes());
        d[33] = flags;
        let mut p = Packet::from_data(&d);
        p.set_network_header(0, 20);
        p
    }

    fn compiled(exprs: &[&str]) -> CompressedProgram {
        let pats: Vec<String> = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{i} {e}"))
            .collect();
        ip_pattern::compile(&pats, exprs.len(), &AddressInfo::default(), &|_, _| None)
            .unwrap_or_else(|e| panic!("{exprs:?}: {e:?}"))
            .program
    }

    fn m(expr: &str, p: &Packet) -> bool {
        IpView::new(p).classify(&compiled(&[expr])) == 0
    }

    #[test]
    fn ip_expressions() {
        let p = ip_packet(6, [10, 0, 0, 1], [192, 168, 1, 2], 1234, 80, 0x12);
        assert!(m("tcp", &p));
        assert!(!m("udp", &p));
        assert!(m("src host 10.0.0.1", &p));
        assert!(m("dst net 192.168.0.0/16", &p));
        assert!(m("tcp dst port 80", &p));
        assert!(m("dst port www and syn", &p));
        assert!(m("src port >= 1000 and src port <= 2000", &p));
        assert!(m("not icmp && (dst port 81 or dst port 80)", &p));
        assert!(m("src host 1.1.1.1 or 10.0.0.1", &p));
        assert!(m("ip[9] = 6", &p));
        assert!(m("tcp opt ack", &p));
        assert!(!m("tcp opt fin", &p));
        assert!(m("ttl > 10", &p));
        assert!(!m("ttl < 10", &p));
        assert!(m("true", &p));
        assert!(!m("false", &p));
    }

    #[test]
    fn bad_patterns_are_named_errors() {
        let ai = AddressInfo::default();
        for bad in [
            "allow src",
            "allow port port",
            "allow tcp opt 999",
            "frob all",
            "allow (tcp",
        ] {
            assert!(
                ip_pattern::compile(&[bad.to_string()], 1, &ai, &|_, _| None).is_err(),
                "{bad} should not compile"
            );
        }
        assert!(byte_pattern::compile(&["x/1".to_string()], 0).is_err());
        assert!(byte_pattern::compile(&["12/0".to_string()], 0).is_err());
    }

    #[test]
    fn classifier_terms() {
        let pats = ["12/0800 !14/46%ff".to_string(), "-".to_string()];
        let prog = byte_pattern::compile(&pats, 0).unwrap();
        let mut d = vec![0u8; 20];
        d[12] = 8;
        assert_eq!(prog.match_data(&d), 0);
        d[14] = 0x46;
        assert_eq!(prog.match_data(&d), 1);
        // too short for the ethertype: the catch-all
        assert_eq!(prog.match_data(&d[..10]), 1);
        assert!(byte_pattern::compile(&["12/08?0".to_string()], 0).is_ok());
    }

    /// A small deterministic generator (xorshift) for the random packets.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<T: Copy>(&mut self, v: &[T]) -> T {
            v[(self.next() % v.len() as u64) as usize]
        }
    }

    /// The compiled programs and the independent direct evaluator agree on random packets
    /// drawn from values the patterns mention (so every branch is exercised).
    #[test]
    fn compiled_program_agrees_with_direct_evaluation() {
        let exprs = [
            "tcp",
            "udp or icmp",
            "src host 10.0.0.1",
            "dst net 10.0.0.0/8",
            "tcp dst port 80",
            "udp src port 53",
            "dst port 7777 or dst port 8888",
            "src port > 1023 and dst port < 1024",
            "tcp opt syn and not tcp opt ack",
            "(proto tcp and !(syn and !ack)) or (tcpudp port >= 1024)",
            "icmp type echo",
            "ttl > 64",
            "ip[1] & 0xfc = 0x10",
            "transp[0:2] = 80",
            "not (src host 10.0.0.1 or dst host 10.0.0.2)",
            "src net 10.0.0.0/8",
            "frag",
            "unfrag and len > 100",
            "dscp 4",
            "tcp and src port 1000 and dst host 10.0.0.2",
        ];
        let ai = AddressInfo::default();
        let oracle: Vec<_> = exprs.iter().map(|e| parse_expr(e, &ai).unwrap()).collect();
        let progs: Vec<_> = exprs.iter().map(|e| compiled(&[e])).collect();
        // one program with every pattern: the first match wins
        let all = compiled(&exprs);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let addrs = [
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            [10, 9, 9, 9],
            [192, 168, 1, 1],
        ];
        let ports = [53u16, 80, 1000, 1023, 1024, 7777, 8888, 40000];
        for _ in 0..20000 {
            let proto = rng.pick(&[1u8, 6, 17, 47]);
            let mut p = ip_packet(
                proto,
                rng.pick(&addrs),
                rng.pick(&addrs),
                rng.pick(&ports),
                rng.pick(&ports),
                rng.next() as u8,
            );
            {
                let d = p.data_mut();
                d[1] = rng.pick(&[0u8, 0x10, 0x12, 0xff]);
                d[8] = rng.pick(&[1u8, 64, 65, 255]);
                let frag = rng.pick(&[0u16, 0x4000, 0x2000, 0x0010]);
                d[6..8].copy_from_slice(&frag.to_be_bytes());
                let len = rng.pick(&[40u16, 100, 101, 1500]);
                d[2..4].copy_from_slice(&len.to_be_bytes());
                if proto == 1 {
                    d[20] = rng.pick(&[0u8, 8, 3]);
                }
            }
            let v = IpView::new(&p);
            let ov = View::new(&p);
            let mut first = None;
            for (i, (e, prog)) in oracle.iter().zip(&progs).enumerate() {
                let want = eval(e, &ov);
                assert_eq!(
                    v.classify(prog) == 0,
                    want,
                    "{} on {:02x?}",
                    exprs[i],
                    p.data()
                );
                if want && first.is_none() {
                    first = Some(i as i32);
                }
            }
            assert_eq!(
                v.classify(&all),
                first.unwrap_or(-crate::classification::wordwise::J_NEVER),
                "combined program on {:02x?}",
                p.data()
            );
        }
    }
}
