//! Packet views on hostile input: arbitrary bytes become a `click::Packet`, a fuzzed sequence
//! of window/header operations (pull, push, take, put, set_len, header annotations at any
//! offset, clone) is applied, every view is read and checked for consistency, and the packet
//! then goes through header-reading elements (Classifier, IPClassifier, IPFilter, Strip,
//! Unstrip, Truncate, Align). Nothing may panic.
#![no_main]

use std::sync::OnceLock;

use click::{Packet, Registry, Router};
use libfuzzer_sys::fuzz_target;

/// Configurations whose entry element is `in` (its input 0 is fed by an idle source).
const CONFIGS: &[&str] = &[
    "Idle -> in :: Classifier(12/0800, 12/0806, 12/86dd, 14/45%f0 23/11, 12/8100 16/0800, -);
     in[0] -> Discard; in[1] -> Discard; in[2] -> Discard; in[3] -> Discard; in[4] -> Discard;
     in[5] -> Discard;",
    "Idle -> in :: IPClassifier(tcp dst port 80, udp and src host 198.18.0.1, icmp type echo,
       ip frag, dst net 198.19.0.0/16 and udp dst port 5001, -);
     in[0] -> Discard; in[1] -> Discard; in[2] -> Discard; in[3] -> Discard; in[4] -> Discard;
     in[5] -> Discard;",
    "Idle -> in :: Strip(14) -> IPFilter(allow tcp opt syn, allow udp dst port 5001,
       deny src net 10.0.0.0/8, allow icmp, deny all) -> Unstrip(14) -> Truncate(60) -> Discard;",
    "Idle -> in :: Align(4, 2) -> Strip(14) -> ipc :: IPClassifier(tcp, udp, -);
     ipc[0] -> Discard; ipc[1] -> Discard; ipc[2] -> Discard;",
    "Idle -> in :: CheckIPHeader(14) -> DecIPTTL -> SetIPChecksum -> SetUDPChecksum
       -> StripIPHeader -> Discard;",
    "Idle -> in :: Strip(14) -> MarkIPHeader -> GetIPAddress(16) -> FixIPSrc(198.18.0.1)
       -> SetTCPChecksum -> CheckIPHeader2 -> IPEncap(4, 198.18.0.1, 198.19.0.1)
       -> UDPIPEncap(198.18.0.1, 1234, 198.19.0.1, 5001)
       -> EtherEncap(0x0800, 02:00:00:00:00:01, 02:00:00:00:00:02)
       -> HostEtherFilter(02:00:00:00:00:02) -> DropBroadcasts -> Discard;",
    "Idle -> in :: MarkMACHeader -> ac :: Classifier(12/0806 20/0001, 12/0800, -);
     ac[0] -> CheckARPHeader(14) -> ARPResponder(198.18.0.1 02:00:00:00:00:01) -> Discard;
     ac[1] -> EtherMirror -> EtherRewrite(02:00:00:00:00:01, 02:00:00:00:00:02)
       -> Strip(14) -> CheckIPHeader -> StoreIPAddress(198.19.0.9, 16) -> Discard;
     ac[2] -> Discard;",
    "Idle -> in :: Unstrip(14) -> bc :: Classifier(0/ffffffffffff, -);
     bc[0] -> Strip(28) -> Counter -> Discard; bc[1] -> Discard;",
];

struct Routers(Vec<Option<Router>>);
// SAFETY: libFuzzer runs the target on one thread; the routers never leave it.
unsafe impl Send for Routers {}
unsafe impl Sync for Routers {}

fn routers() -> &'static Routers {
    static R: OnceLock<Routers> = OnceLock::new();
    R.get_or_init(|| {
        let reg = Registry::standard();
        // A config this engine cannot build yet is skipped, not a fuzz failure.
        Routers(
            CONFIGS
                .iter()
                .map(|c| match Router::new(c, "packet_views.click", &reg) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        eprintln!("packet_views: config skipped: {e}");
                        None
                    }
                })
                .collect(),
        )
    })
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<usize> {
        Some(usize::from(self.byte()?) << 8 | usize::from(self.byte()?))
    }
}

fn check_views(p: &mut Packet) {
    let len = p.len();
    assert_eq!(p.data().len(), len);
    assert_eq!(p.data_mut().len(), len);
    assert_eq!(p.is_empty(), len == 0);
    assert_eq!(p.data_offset(), p.headroom());
    for (off, view) in [
        (p.mac_header_offset(), p.mac_header().map(<[u8]>::len)),
        (
            p.network_header_offset(),
            p.network_header().map(<[u8]>::len),
        ),
        (
            p.transport_header_offset(),
            p.transport_header().map(<[u8]>::len),
        ),
    ] {
        match (off, view) {
            (None, v) => assert_eq!(v, None),
            (Some(o), Some(vlen)) => assert_eq!(vlen as isize, len as isize - o),
            // Set beyond the data end: no view.
            (Some(o), None) => assert!(o > len as isize, "offset {o} len {len}"),
        }
    }
    let _ = p.mac_header_mut().map(|h| h.first_mut().map(|b| *b ^= 0));
    let _ = p.network_header_mut().map(|h| h.len());
    let _ = p.transport_header_mut().map(|h| h.len());
    let _ = p.network_header_length();
    let _ = p.has_mac_header() && p.has_network_header();
    let _ = (p.dst_ip_anno(), p.paint());
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let Some(sel) = inp.byte() else { return };
    let Some(nops) = inp.byte() else { return };
    let mut ops = Vec::new();
    for _ in 0..(nops % 16) {
        let (Some(op), Some(a), Some(b)) = (inp.byte(), inp.u16(), inp.u16()) else {
            return;
        };
        ops.push((op, a, b));
    }
    let headroom = usize::from(sel >> 4) * 8;
    let mut p = Packet::make(headroom, inp.0, usize::from(sel & 3) * 16);
    check_views(&mut p);
    // Packet-sized arguments (≤ 64 KiB): what an element can compute from header fields.
    for (op, a, b) in ops {
        match op % 12 {
            0 => p.pull(a),
            1 => p.push(a % 512),
            2 => p.take(a),
            3 => p.put(a % 2048),
            4 => p.set_len(a % 4096),
            5 => p.set_mac_header(a % 2048),
            6 => p.set_network_header(a % 2048, b % 128),
            7 => p.set_transport_header(a % 2048),
            8 => p.clear_headers(),
            9 => p = p.clone(),
            10 => p.set_anno_u32(a % 64, b as u32),
            _ => p.set_dst_ip_anno([a as u8, (a >> 8) as u8, b as u8, (b >> 8) as u8]),
        }
        check_views(&mut p);
    }
    let rs = routers();
    let Some(Some(router)) = rs.0.get(usize::from(sel) % CONFIGS.len()) else {
        return;
    };
    let Some(idx) = router.element_index("in") else {
        return;
    };
    let copy = p.clone();
    router.with_element(idx, |e, cx| e.push(0, vec![p, copy], cx));
});
