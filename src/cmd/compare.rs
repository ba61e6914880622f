//! `coo-bench compare A.json B.json`: per-metric difference of B vs A with a confidence
//! interval and a verdict; `--fail-if-worse PCT` turns a regression into exit code 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use measure::{CompareOptions, Report};

const INVALID: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Reference report (A).
    pub a: PathBuf,
    /// Candidate report (B).
    pub b: PathBuf,
    /// Exit 1 when a metric is significantly worse by more than PCT percent.
    #[arg(long, value_name = "PCT")]
    pub fail_if_worse: Option<f64>,
    /// Throughput differences within ±PCT are noise (calibrate with an A/A run).
    #[arg(long, value_name = "PCT", default_value_t = CompareOptions::default().noise_pct)]
    pub noise_pct: f64,
    /// Latency differences within ±PCT are noise.
    #[arg(long, value_name = "PCT", default_value_t = CompareOptions::default().latency_noise_pct)]
    pub latency_noise_pct: f64,
    /// Seed of the bootstrap (results are reproducible for a given seed).
    #[arg(long, default_value_t = CompareOptions::default().seed)]
    pub seed: u64,
    /// Print the comparison as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// A/A calibration: print the noise thresholds these two runs of the same code suggest.
    #[arg(long)]
    pub calibrate: bool,
}

fn read(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Report::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (a, b) = match (read(&args.a), read(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    if !(args.noise_pct >= 0.0 && args.latency_noise_pct >= 0.0) {
        eprintln!("error: noise thresholds must be ≥ 0");
        return Ok(ExitCode::from(INVALID));
    }
    let opts = CompareOptions {
        noise_pct: args.noise_pct,
        latency_noise_pct: args.latency_noise_pct,
        seed: args.seed,
        ..CompareOptions::default()
    };
    let cmp = measure::compare(&a, &b, &opts);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cmp).context("serialize comparison")?
        );
    } else {
        println!(
            "A = {} ({}), B = {} ({})",
            args.a.display(),
            a.started_at,
            args.b.display(),
            b.started_at
        );
        print!("{}", cmp.render_table());
    }
    if cmp.metrics.is_empty() {
        eprintln!("warning: the reports have no measured (variant, frame size) in common");
    }
    if args.calibrate {
        let (tp, lat) = cmp.suggested_noise();
        println!(
            "A/A calibration: --noise-pct {:.2} --latency-noise-pct {:.2}",
            tp.unwrap_or(opts.noise_pct),
            lat.unwrap_or(opts.latency_noise_pct)
        );
    }
    if let Some(pct) = args.fail_if_worse {
        if cmp.fails(pct) {
            eprintln!("regression: at least one metric is significantly worse by more than {pct}%");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
