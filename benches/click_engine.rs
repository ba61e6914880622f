//! Criterion benches of the Rust Click engine, in memory: one run pushes LIMIT packets through
//! a configuration from `benches/click_configs/` (the same files `scripts/click-speed.sh` runs
//! through both engines).

use click::{MemEnv, Registry, Router, RouterOptions, SystemClock};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;

const LIMIT: u64 = 200_000;

fn run_config(reg: &Registry, text: &str, limit: u64) -> u64 {
    let opts = RouterOptions {
        clock: Box::new(SystemClock::default()),
        env: Box::new(MemEnv::default()),
        defines: vec![("LIMIT".to_string(), limit.to_string())],
    };
    let mut r = Router::with_options(text, "bench", reg, opts).expect("bench config parses");
    r.run_to_completion(0);
    r.read_handler("c.count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn benches(c: &mut Criterion) {
    let reg = Registry::standard();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/click_configs");
    let mut g = c.benchmark_group("click_engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements(LIMIT));
    for name in [
        "counter",
        "firewall",
        "nat",
        "router",
        "classifier",
        "classifier-flows",
        "ipclassifier-flows",
        "firewall-flows",
        "router-flows",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.click"))).expect("config file");
        // sanity: every packet reaches the final counter
        assert!(
            run_config(&reg, &text, 1000) >= 1000,
            "{name}: packets lost"
        );
        g.bench_function(name, |b| b.iter(|| run_config(&reg, &text, LIMIT)));
    }
    g.finish();
}

criterion_group!(click_benches, benches);
criterion_main!(click_benches);
