//! Generator and sink on a bare veth pair between two namespaces (needs root; skips otherwise).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::VethPair;
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
