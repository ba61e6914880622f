//! Fixtures the report tests share: variants measured on simulated devices, and a report
//! around them.

use std::collections::BTreeMap;

use measure::latency::{new_histogram, LatencySummary};
use measure::report::{
    FrameSizeResult, HostFingerprint, LatencyPoint, Repetition, RunSettings, ToolInfo,
    VariantReport, VariantStatus,
};
use measure::search::run_search;
use measure::sim::SimulatedDevice;
use measure::{FrameSize, Goal, Report, SearchConfig, SCHEMA_VERSION};

pub fn latency(base_us: u64) -> LatencySummary {
    let mut h = new_histogram();
    for i in 0..1000u64 {
        h.record(base_us * 1000 + i * 10).unwrap();
    }
    LatencySummary::from_histogram(&h).unwrap()
}

pub fn variant(name: &str, capacity: f64, reps: usize, seed: u64, lat_us: u64) -> VariantReport {
    let cfg = SearchConfig::default();
    let repetitions: Vec<Repetition> = (0..reps)
        .map(|i| {
            let mut dev = SimulatedDevice::new(capacity, seed + i as u64).with_noise(0.002);
            let (o, trials) = run_search(cfg.clone(), |r| dev.trial(r)).unwrap();
            Repetition {
                directions: None,
                ndr: o.goal(Goal::Ndr).cloned(),
                pdr: o.goal(Goal::Pdr).cloned(),
                trials,
            }
        })
        .collect();
    let lat = vec![LatencyPoint {
        reverse: None,
        load_pct: 50.0,
        rate_pps: capacity / 2.0,
        probe: Some(latency(lat_us)),
        load: Some(latency(lat_us)),
        trial: Default::default(),
    }];
    VariantReport {
        name: name.into(),
        role: Default::default(),
        status: VariantStatus::Measured,
        engines: BTreeMap::from([("fw".into(), "coo-click".into())]),
        functions: BTreeMap::new(),
        engine_runs: BTreeMap::new(),
        results: vec![FrameSizeResult::new(FrameSize::Bytes(64), repetitions, lat)],
        notes: vec![],
    }
}

pub fn report(variants: Vec<VariantReport>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "coo-bench".into(),
            version: "0.1.0".into(),
            git_revision: None,
        },
        topology: "fw-nat".into(),
        topology_path: "topologies/fw-nat.json".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
        host: HostFingerprint {
            cpu_model: "sim".into(),
            cpu_count: 2,
            ..Default::default()
        },
        settings: RunSettings {
            direction: Default::default(),
            mode: "ndr-pdr".into(),
            frame_sizes: vec![FrameSize::Bytes(64)],
            repetitions: 5,
            warmup_s: 1.0,
            quick: false,
            search: SearchConfig::default(),
            io_mode: None,
            trial: Default::default(),
            placement: None,
            latency: Default::default(),
            order: vec![],
            traffic: None,
        },
        baseline: Some("kernel-forward".into()),
        latency_loads: None,
        variants,
        notes: vec![],
    }
}
