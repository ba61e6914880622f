//! Root test: a short bidirectional trial through fw-nat's firewall and NAT (coo-click), with
//! the replies answering the NAT's translated addresses. Only addresses inside the namespaces
//! the testbed created; bounded in count and duration.
#![allow(clippy::unwrap_used)]

mod testbed_support;

use std::path::Path;
use std::time::Duration;

use testbed_support::*;

#[test]
fn testbed_bidirectional_trial_through_the_nat_of_fw_nat() {
    if !root_or_skip() {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let opts = topology::LoadOptions {
        traffic: Some(repo.join("traffic/fw-nat-bidir.json")),
        ..Default::default()
    };
    let topo = topology::load_with(&repo.join("topologies/fw-nat.json"), &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topo.traffic.direction, topology::TrafficDirection::Both);
    let root = tempfile::tempdir().unwrap();
    let up = Up {
        tb: testbed::up(&topo, &options(root.path())).unwrap(),
        root: root.path().to_owned(),
    };
    let tb = &up.tb;
    for v in &tb.vnfs {
        let (st, body) = agent_call(tb, &v.id, "POST", "/v1/engine", "coo-click");
        assert_eq!(st, 200, "{}: {body}", v.id);
        let (st, body) = agent_call(tb, &v.id, "POST", "/click_plugin/start", "");
        assert_eq!(st, 200, "{}: {body}", v.id);
    }
    let attach = |netns: &Path, ifname: &str| traffic::Attach {
        netns: Some(netns.to_path_buf()),
        ifname: ifname.to_string(),
        cpus: Vec::new(),
    };
    let (src, sink) = (&tb.source, &tb.sinks[0]);
    let mut spec = traffic::TrialSpec::new(
        attach(&src.netns_path, src.ifname.as_str()),
        vec![attach(&sink.netns_path, sink.ifname.as_str())],
        5_000.0,
        Duration::from_millis(500),
    );
    spec.flows.count = 64;
    spec.latency_stream_pps = 200.0;
    spec.reverse = Some(traffic::ReverseSpec {
        source: attach(&sink.netns_path, sink.ifname.as_str()),
        sink: attach(&src.netns_path, src.ifname.as_str()),
    });
    // The engines may need a moment after start: a few attempts at most.
    let mut last = None;
    for _ in 0..5 {
        let r = traffic::run_trial(&spec).unwrap();
        let crossed = r.received > 0 && r.reverse.as_ref().is_some_and(|b| b.received > 0);
        last = Some(r);
        if crossed {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let r = last.unwrap();
    let back = r.reverse.as_deref().unwrap();
    for (name, d) in [("forward", &r), ("reverse", back)] {
        eprintln!(
            "{name}: sent {} received {} lost {}; latency stream p50 {:.1} µs p99 {:.1} µs ({} samples)",
            d.sent,
            d.received,
            d.lost,
            d.latency.value_at_quantile(0.5) as f64 / 1e3,
            d.latency.value_at_quantile(0.99) as f64 / 1e3,
            d.latency.len()
        );
    }
    eprintln!("{} flows answered", back.replied_to.len());
    assert!(r.received > 0, "no forward frame crossed fw and NAT: {r:?}");
    assert!(back.received > 0, "no reply crossed the NAT back: {back:?}");
    // The replies went to the NAT's public address (functions/nat.click: 198.18.100.1), one
    // translated port per forward flow, and the NAT mapped them back to the source.
    assert!(!back.replied_to.is_empty());
    for t in &back.replied_to {
        assert_eq!(t.src_ip, std::net::Ipv4Addr::new(198, 18, 100, 1), "{t:?}");
        assert_eq!(t.dst_port, 5001, "{t:?}");
    }
    assert!(back.replied_to.len() <= 64);
    for v in &tb.vnfs {
        let _ = agent_call(tb, &v.id, "POST", "/click_plugin/stop", "");
    }
}
