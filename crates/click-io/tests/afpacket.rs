//! AF_PACKET batched I/O between two network namespaces joined by a veth pair.
//! Needs root; skips with a printed reason otherwise.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use click_io::testnet::{self, Netns};
use click_io::{IfName, IoMode, PacketRx, PacketTx, RxConfig, RxRing, TxConfig};

struct Pair {
    // Field order: namespaces go last, after nothing else refers to them.
    a: Netns,
    b: Netns,
    dev_a: String,
    dev_b: String,
}

fn pair() -> Option<Pair> {
    if let Some(why) = testnet::netns_unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    let p = testnet::unique_prefix();
    let a = Netns::create(&format!("{p}a")).unwrap();
    let b = Netns::create(&format!("{p}b")).unwrap();
    let (dev_a, dev_b) = (format!("{p}-a"), format!("{p}-b"));
    testnet::veth_between(&a, &dev_a, &b, &dev_b).unwrap();
    Some(Pair { a, b, dev_a, dev_b })
}

/// Sends `n` frames of `len` bytes from a to b and returns the sequence numbers b received.
fn send_and_receive(p: &Pair, rx_cfg: RxConfig, n: u64, len: usize) -> (BTreeSet<u64>, u64) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let dev_b = IfName::new(&p.dev_b).unwrap();
    let receiver =
        p.b.spawn(move || {
            let mut rx = PacketRx::open(&dev_b, &rx_cfg).unwrap();
            ready_tx.send(()).unwrap();
            let mut seen = BTreeSet::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while (seen.len() as u64) < n && Instant::now() < deadline {
                rx.wait(50);
                rx.recv_frames(256, |fr| {
                    if let Some(s) = testnet::udp_frame_seq(fr.data) {
                        assert_eq!(fr.data.len(), len, "frame length preserved");
                        // Our test frames are addressed to 02:00:00:00:00:02, not to the veth.
                        assert_eq!(fr.pkttype, libc::PACKET_OTHERHOST);
                        assert!(fr.timestamp_ns > 1_600_000_000_000_000_000);
                        seen.insert(s);
                    }
                });
            }
            let c = rx.counters();
            (seen, c.kernel_drops)
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let dev_a = IfName::new(&p.dev_a).unwrap();
    let sent =
        p.a.run(move || {
            let mut tx = PacketTx::open(&dev_a, &TxConfig::default()).unwrap();
            let frames: Vec<Vec<u8>> = (0..n).map(|s| testnet::udp_frame(len, s)).collect();
            let mut done = 0;
            let deadline = Instant::now() + Duration::from_secs(10);
            // Pace in batches of 32 so a small ring is never overrun.
            while done < frames.len() && Instant::now() < deadline {
                let end = frames.len().min(done + 32);
                done += tx.send_batch(&frames[done..end]);
                std::thread::sleep(Duration::from_micros(200));
            }
            assert_eq!(tx.counters().packets, n);
            done
        })
        .unwrap();
    assert_eq!(sent as u64, n);
    receiver.join().unwrap()
}

#[test]
fn v3_ring_receives_every_frame() {
    let Some(p) = pair() else { return };
    let (seen, drops) =
        send_and_receive(&p, click_io::rx_config(IoMode::Throughput, None), 5000, 60);
    assert_eq!(drops, 0);
    assert_eq!(seen.len(), 5000);
    assert_eq!(seen.iter().next_back(), Some(&4999));
}

#[test]
fn v2_ring_receives_every_frame_including_large_ones() {
    let Some(p) = pair() else { return };
    let (seen, _) = send_and_receive(&p, click_io::rx_config(IoMode::Latency, None), 3000, 1514);
    assert_eq!(seen.len(), 3000);
}

#[test]
fn small_v3_blocks_with_short_timeout() {
    let Some(p) = pair() else { return };
    let cfg = RxConfig {
        ring: RxRing::V3 {
            block_size: 4096,
            block_count: 64,
            retire_tov_ms: 1,
        },
        promisc: true,
        ignore_outgoing: true,
        ethertype: None,
    };
    let (seen, _) = send_and_receive(&p, cfg, 1000, 200);
    assert_eq!(seen.len(), 1000);
}

#[test]
fn ignore_outgoing_hides_own_transmissions() {
    let Some(p) = pair() else { return };
    let dev = IfName::new(&p.dev_a).unwrap();
    let (own, other) =
        p.a.run(move || {
            let open = |ignore| {
                let mut cfg = click_io::rx_config(IoMode::Latency, None);
                cfg.ignore_outgoing = ignore;
                PacketRx::open(&dev, &cfg).unwrap()
            };
            let mut ignoring = open(true);
            let mut seeing = open(false);
            // Without qdisc bypass, so the frames pass the taps that packet sockets use.
            let cfg = TxConfig {
                qdisc_bypass: false,
                ..TxConfig::default()
            };
            let mut tx = PacketTx::open(&dev, &cfg).unwrap();
            let frames: Vec<Vec<u8>> = (0..10).map(|s| testnet::udp_frame(60, s)).collect();
            assert_eq!(tx.send_batch(&frames), 10);
            std::thread::sleep(Duration::from_millis(50));
            let count = |rx: &mut PacketRx| {
                let mut k = 0;
                rx.recv_batch(1000, |f| k += testnet::udp_frame_seq(f).is_some() as u32);
                k
            };
            (count(&mut ignoring), count(&mut seeing))
        })
        .unwrap();
    assert_eq!(own, 0, "PACKET_IGNORE_OUTGOING socket saw its own frames");
    assert_eq!(other, 10);
}

#[test]
fn missing_interface_is_a_clear_error() {
    if let Some(why) = testnet::netns_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let err = PacketRx::open(
        &IfName::new("cbtnosuch0").unwrap(),
        &click_io::rx_config(IoMode::Throughput, None),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no interface named"), "{err}");
}
