//! Runs one trial between two existing namespaces and prints the result as one JSON line.
//! Used by scripts/traffic-vs-iperf3.sh.
//!
//! blast SRC_NS SRC_IF DST_NS DST_IF RATE_PPS DURATION_S [FRAME_SIZE] [SRC_CPU DST_CPU]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use traffic::{run_trial, Attach, FrameSizes, TrialSpec};

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        eprintln!("usage: blast SRC_NS SRC_IF DST_NS DST_IF RATE_PPS DURATION_S [FRAME_SIZE] [SRC_CPU DST_CPU]");
        return ExitCode::from(2);
    }
    let parse = |s: &str| s.parse::<f64>().ok();
    let (Some(rate), Some(dur)) = (parse(&a[5]), parse(&a[6])) else {
        eprintln!("RATE_PPS and DURATION_S must be numbers");
        return ExitCode::from(2);
    };
    let size = a.get(7).and_then(|s| s.parse::<u16>().ok()).unwrap_or(64);
    let cpu = |i: usize| {
        a.get(i)
            .and_then(|s| s.parse::<usize>().ok())
            .into_iter()
            .collect()
    };
    let ns = |n: &str| Some(PathBuf::from(format!("/run/netns/{n}")));
    let src = Attach {
        netns: ns(&a[1]),
        ifname: a[2].clone(),
        cpus: cpu(8),
    };
    let dst = Attach {
        netns: ns(&a[3]),
        ifname: a[4].clone(),
        cpus: cpu(9),
    };
    let mut spec = TrialSpec::new(src, vec![dst], rate, Duration::from_secs_f64(dur));
    spec.frame_size = FrameSizes::Fixed(size);
    spec.warmup = Duration::from_millis(200);
    match run_trial(&spec) {
        Ok(r) => {
            let secs = r.elapsed.as_secs_f64();
            println!(
                "{{\"requested_pps\":{rate},\"sent\":{},\"received\":{},\"lost\":{},\"elapsed_s\":{secs:.4},\"tx_pps\":{:.0},\"rx_pps\":{:.0},\"sink_drops\":{},\"tx_retries\":{},\"p50_ns\":{},\"anomalies\":{}}}",
                r.sent,
                r.received,
                r.lost,
                r.achieved_pps,
                r.received as f64 / secs,
                r.sink_drops,
                r.tx_retries,
                r.load_latency.value_at_quantile(0.5),
                r.anomalies.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
