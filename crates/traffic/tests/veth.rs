//! Generator and sink on a bare veth pair between two namespaces (needs root; skips otherwise).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::VethPair;
use netsys::{IfName, PacketRx, PacketTx, RxConfig, TxConfig};
use traffic::{run_trial, FlowSpec, FrameSizes, Protocol, TrialSpec};

#[test]
fn every_frame_sent_is_received_once_in_order_with_latency() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    let mut spec = TrialSpec::new(
        pair.a(),
        vec![pair.b()],
        50_000.0,
        Duration::from_millis(400),
    );
    spec.latency_stream_pps = 1_000.0;
    spec.warmup = Duration::from_millis(100);
    let r = run_trial(&spec).unwrap();
    assert_eq!(
        r.sent
            - r.streams
                .iter()
                .find(|s| s.stream == 255)
                .map_or(0, |s| s.sent),
        20_000
    );
    assert_eq!(r.received, r.sent, "{r:?}");
    assert_eq!(
        (r.lost, r.duplicated, r.reordered, r.sink_drops),
        (0, 0, 0, 0)
    );
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    assert!(
        r.foreign_frames > 0,
        "warm-up frames carry another tag and are not counted"
    );
    let probe = r.streams.iter().find(|s| s.stream == 255).unwrap();
    assert!(probe.received > 0, "the latency stream ran beside the load");
    assert_eq!(
        r.latency.len(),
        probe.received,
        "one latency sample per latency-stream frame"
    );
    assert_eq!(r.load_latency.len(), 20_000);
    assert!(r.latency.value_at_quantile(0.5) > 0);
    // The achieved rate never exceeds the requested one (pacing), whatever the host load.
    assert!(
        r.achieved_pps > 0.0 && r.achieved_pps <= 50_000.0 * 1.001,
        "{}",
        r.achieved_pps
    );
}

#[test]
fn loss_is_attributed_per_stream() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    // Drop every 10th frame arriving at b (deterministic), in the kernel, before the sink.
    let tc = pair
        .in_b(&["tc", "qdisc", "add", "dev", &pair.if_b, "ingress"])
        .and_then(|_| {
            pair.in_b(&[
                "tc", "filter", "add", "dev", &pair.if_b, "ingress", "protocol", "ip", "matchall",
                "action", "gact", "ok", "random", "determ", "drop", "10",
            ])
        });
    if let Err(e) = tc {
        eprintln!("skipped: cannot install a tc drop filter: {e}");
        return;
    }
    let mut spec = TrialSpec::new(
        pair.a(),
        vec![pair.b()],
        20_000.0,
        Duration::from_millis(500),
    );
    spec.flows = FlowSpec {
        count: 4,
        ..FlowSpec::default()
    };
    let r = run_trial(&spec).unwrap();
    assert_eq!(r.sent, 10_000);
    assert_eq!(r.received + r.lost, r.sent);
    assert!((r.lost as i64 - 1_000).abs() <= 1, "lost {}", r.lost);
    assert_eq!(r.streams.len(), 4);
    for s in &r.streams {
        assert_eq!(s.sent, 2_500);
        assert!((s.lost as i64 - 250).abs() <= 1, "{s:?}");
    }
    assert!((r.loss_pct() - 10.0).abs() < 0.1);
}

#[test]
fn imix_tcp_and_icmp_frames_arrive() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    for protocol in [Protocol::Tcp, Protocol::Icmp, Protocol::Udp] {
        let mut spec = TrialSpec::new(
            pair.a(),
            vec![pair.b()],
            24_000.0,
            Duration::from_millis(250),
        );
        // TCP headers plus the test header need 74 bytes, so TCP cannot send 64-byte frames.
        spec.frame_size = if protocol == Protocol::Tcp {
            FrameSizes::Fixed(128)
        } else {
            FrameSizes::Imix
        };
        spec.flows = FlowSpec {
            protocol,
            count: 16,
            ..FlowSpec::default()
        };
        let r = run_trial(&spec).unwrap();
        assert_eq!(r.sent, 6_000, "{protocol:?}");
        assert_eq!(r.received, r.sent, "{protocol:?}: {r:?}");
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    }
}

#[test]
fn missing_interface_is_an_error_not_a_result() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    let mut sink = pair.b();
    sink.ifname = "cbtnothere0".into();
    let spec = TrialSpec::new(pair.a(), vec![sink], 1_000.0, Duration::from_millis(100));
    let err = run_trial(&spec).unwrap_err();
    assert!(err.to_string().contains("cbtnothere0"), "{err}");
}

#[test]
fn plain_veth_drains_until_quiet_with_no_late_frames_and_generator_timing() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    let mut spec = TrialSpec::new(
        pair.a(),
        vec![pair.b()],
        40_000.0,
        Duration::from_millis(300),
    );
    spec.latency_stream_pps = 500.0;
    assert_eq!(spec.drain, Duration::from_secs(2));
    assert_eq!(spec.quiet, Duration::from_millis(100));
    assert_eq!(spec.late_after, Duration::from_millis(100));
    let r = run_trial(&spec).unwrap();
    eprintln!(
        "drain {:?} last frame after end {:?} generator {:?}",
        r.drain, r.last_frame_after_end, r.generator
    );
    assert_eq!(r.received, r.sent, "{r:?}");
    assert_eq!(r.late_frames, 0, "{r:?}");
    // A veth pair delivers at once: the drain ends one quiet period after the last frame.
    assert!(
        r.drain >= spec.quiet && r.drain < spec.drain,
        "drain {:?}",
        r.drain
    );
    let after = r.last_frame_after_end.expect("frames arrived");
    assert!(after < spec.quiet, "last frame {after:?} after the end");
    let g = &r.generator;
    assert_eq!(g.regular_batch, 4, "40 kpps × 100 µs");
    assert!(g.max_lateness_ns > 0, "{g:?}");
    assert!(
        g.catchup_frames <= r.sent && g.max_burst_frames <= g.catchup_frames,
        "{g:?}"
    );
    if g.max_lateness_ns <= 1_000_000 {
        assert_eq!(g.stalls_over_1ms, 0, "{g:?}");
    } else {
        assert!(g.stalls_over_1ms > 0, "{g:?}");
    }
}

/// Forwards every frame arriving on `from` (in namespace `ns`) to `to` `delay` later, until
/// `stop` is set (a user-space stand-in for netem, which not every test kernel has).
fn delay_relay(
    ns: String,
    from: String,
    to: String,
    delay: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        netsys::netns::enter(std::path::Path::new(&format!("/run/netns/{ns}"))).unwrap();
        let mut rx = PacketRx::open(&IfName::new(from).unwrap(), &RxConfig::per_frame()).unwrap();
        let mut tx = PacketTx::open(&IfName::new(to).unwrap(), &TxConfig::default()).unwrap();
        ready_tx.send(()).unwrap();
        let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
        while !stop.load(Ordering::Acquire) {
            rx.recv_batch(usize::MAX, |f| {
                queue.push_back((Instant::now() + delay, f.to_vec()));
            });
            while queue.front().is_some_and(|(due, _)| *due <= Instant::now()) {
                let (_, frame) = queue.pop_front().unwrap();
                tx.send_batch(&[frame]);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    h
}

#[test]
fn frames_delayed_past_late_after_are_counted_late_not_lost() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    // Frames arriving at b0 are relayed 150 ms later into a second veth pair d0 → d1 inside
    // namespace b; the sink listens on d1.
    let (d0, d1) = (format!("{}d0", pair.if_b), format!("{}d1", pair.if_b));
    let setup = [
        vec![
            "ip", "link", "add", &d0, "type", "veth", "peer", "name", &d1,
        ],
        vec!["ip", "link", "set", &d0, "up"],
        vec!["ip", "link", "set", &d1, "up"],
    ];
    for cmd in &setup {
        if let Err(e) = pair.in_b(cmd) {
            eprintln!("skipped: cannot set up a delayed path: {e}");
            return;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let relay = delay_relay(
        pair.ns_b.clone(),
        pair.if_b.clone(),
        d0,
        Duration::from_millis(150),
        stop.clone(),
    );
    let mut sink = pair.b();
    sink.ifname = d1;
    let spec = TrialSpec::new(pair.a(), vec![sink], 2_000.0, Duration::from_millis(400));
    let r = run_trial(&spec);
    stop.store(true, Ordering::Release);
    relay.join().unwrap();
    let r = r.unwrap();
    eprintln!(
        "late {} drain {:?} last frame after end {:?}",
        r.late_frames, r.drain, r.last_frame_after_end
    );
    assert_eq!(
        r.received, r.sent,
        "late frames are received, not lost: {r:?}"
    );
    // Frames sent in the last 50 ms arrive more than 100 ms after the end: ≈ 100 of them.
    assert!(
        (50..=150).contains(&r.late_frames),
        "late {} drain {:?}",
        r.late_frames,
        r.drain
    );
    let last = r.last_frame_after_end.unwrap();
    assert!(last >= Duration::from_millis(140), "{last:?}");
    assert!(
        r.drain >= last + spec.quiet - Duration::from_millis(10) && r.drain < spec.drain,
        "drain {:?}, last frame {last:?}",
        r.drain
    );
}

#[test]
fn a_bidirectional_trial_counts_each_direction_in_its_own_sequence_space() {
    let Some(pair) = VethPair::create() else {
        return;
    };
    let mut spec = TrialSpec::new(
        pair.a(),
        vec![pair.b()],
        20_000.0,
        Duration::from_millis(300),
    );
    spec.flows.count = 16;
    spec.latency_stream_pps = 500.0;
    spec.reverse = Some(traffic::ReverseSpec {
        source: pair.b(),
        sink: pair.a(),
    });
    let r = run_trial(&spec).unwrap();
    let back = r.reverse.as_deref().expect("a reverse result");
    for (name, d) in [("forward", &r), ("reverse", back)] {
        assert!(d.sent >= 6_000, "{name}: {d:?}");
        assert_eq!(d.received, d.sent, "{name}: {d:?}");
        assert_eq!((d.lost, d.duplicated), (0, 0), "{name}");
        assert!(d.anomalies.is_empty(), "{name}: {:?}", d.anomalies);
        assert!(!d.latency.is_empty(), "{name}: latency stream ran");
    }
    // Replies answer the learned flows: one reply flow per forward flow (no NAT here, so
    // addresses are the forward ones swapped), spread over 16 streams.
    let load_streams = back.streams.iter().filter(|s| s.stream != 255).count();
    assert_eq!(load_streams, 16, "{:?}", back.streams);
    assert!(
        r.foreign_frames >= 32,
        "learning frames carry the warm-up tag: {}",
        r.foreign_frames
    );
}
