//! `coo-bench compare A.json B.json`: per-metric difference of B vs A with a confidence
//! interval and a verdict; `--fail-if-worse PCT` turns a regression (or a variant B no longer
//! measures soundly) into exit code 1. `coo-bench compare REPORT --pair A:B` compares two
//! variants of one run side by side, round by round.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use measure::compare::{compare_pairs, compare_side_by_side, Calibration, GateResult};
use measure::compare_html::Side;
use measure::{CompareOptions, Report};

const INVALID: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Reference report (A).
    pub a: PathBuf,
    /// Candidate report (B). Without it, `--pair A:B` compares two variants of report A side
    /// by side (per-round ratios within the one run).
    pub b: Option<PathBuf>,
    /// Exit 1 when a metric is significantly worse by more than PCT percent, or a variant
    /// measured soundly in A is missing, skipped, failed or limited in B.
    #[arg(long, value_name = "PCT")]
    pub fail_if_worse: Option<f64>,
    /// Per-metric noise thresholds from `coo-bench calibrate` (calibration.json); metrics it
    /// does not list fall back to --noise-pct / --latency-noise-pct.
    #[arg(long, value_name = "FILE")]
    pub noise: Option<PathBuf>,
    /// Throughput differences within ±PCT are noise (calibrate with `coo-bench calibrate`).
    #[arg(long, value_name = "PCT", default_value_t = CompareOptions::default().noise_pct)]
    pub noise_pct: f64,
    /// Latency differences within ±PCT are noise.
    #[arg(long, value_name = "PCT", default_value_t = CompareOptions::default().latency_noise_pct)]
    pub latency_noise_pct: f64,
    /// Compare variant A_VARIANT of report A with variant B_VARIANT of report B (repeatable;
    /// default: every variant by its own name), e.g. `--pair ipfilter:ipfilter-slow`.
    #[arg(long = "pair", value_name = "A_VARIANT:B_VARIANT")]
    pub pairs: Vec<String>,
    /// Seed of the bootstrap (results are reproducible for a given seed).
    #[arg(long, default_value_t = CompareOptions::default().seed)]
    pub seed: u64,
    /// Print only the comparison as JSON on stdout (everything else goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// A/A check of two reports: print the noise thresholds they suggest (see also
    /// `coo-bench calibrate`).
    #[arg(long)]
    pub calibrate: bool,
    /// Also write the comparison as Markdown to FILE (for a CI job summary, e.g.
    /// `--markdown "$GITHUB_STEP_SUMMARY"`).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as a self-contained HTML page to FILE (table with verdicts
    /// and confidence intervals, plot of every metric's change; styled like report.html).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub(crate) fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Report::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses `A:B` variant pairs.
pub(crate) fn parse_pairs(pairs: &[String]) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|p| match p.split_once(':') {
            Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
            _ => Err(format!("--pair {p}: expected A_VARIANT:B_VARIANT")),
        })
        .collect()
}

pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let invalid = |e: String| {
        eprintln!("error: {e}");
        Ok(ExitCode::from(INVALID))
    };
    let side_by_side = args.b.is_none();
    let b_path = args.b.clone().unwrap_or_else(|| args.a.clone());
    let (a, b) = match (read_report(&args.a), read_report(&b_path)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return invalid(e),
    };
    if !(args.noise_pct >= 0.0 && args.latency_noise_pct >= 0.0) {
        return invalid("noise thresholds must be ≥ 0".into());
    }
    let pairs = match parse_pairs(&args.pairs) {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    let mut opts = CompareOptions {
        noise_pct: args.noise_pct,
        latency_noise_pct: args.latency_noise_pct,
        seed: args.seed,
        ..CompareOptions::default()
    };
    if let Some(path) = &args.noise {
        let cal = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Calibration>(&t).map_err(|e| e.to_string()));
        match cal {
            Ok(cal) => opts.noise = cal.thresholds,
            Err(e) => return invalid(format!("{}: not a calibration file: {e}", path.display())),
        }
    }
    if side_by_side && pairs.is_empty() {
        return invalid(
            "one report: name the variants to compare side by side with --pair A_VARIANT:B_VARIANT"
                .into(),
        );
    }
    let mut cmp = if side_by_side {
        compare_side_by_side(&a, &pairs, &opts)
    } else {
        compare_pairs(&a, &b, &pairs, &opts)
    };
    let reasons = args.fail_if_worse.map(|pct| {
        let reasons = cmp.gate(&a, &b, pct);
        cmp.gate = Some(GateResult {
            fail_if_worse_pct: pct,
            reasons: reasons.clone(),
        });
        reasons
    });
    if let Some(path) = &args.markdown {
        let md = measure::markdown::comparison_markdown(
            &cmp,
            &args.a.display().to_string(),
            &b_path.display().to_string(),
        );
        std::fs::write(path, md).with_context(|| format!("write {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        let (a_label, b_label) = (args.a.display().to_string(), b_path.display().to_string());
        let page = measure::compare_html::comparison_html(
            &cmp,
            &Side {
                label: &a_label,
                report: &a,
            },
            &Side {
                label: &b_label,
                report: &b,
            },
        );
        std::fs::write(path, page).with_context(|| format!("write {}", path.display()))?;
        tracing::info!(path = %path.display(), "comparison page written");
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cmp).context("serialize comparison")?
        );
    } else {
        if side_by_side {
            println!(
                "side by side in {} ({}): B variant vs A variant, round by round",
                args.a.display(),
                a.started_at
            );
        } else {
            println!(
                "A = {} ({}), B = {} ({})",
                args.a.display(),
                a.started_at,
                b_path.display(),
                b.started_at
            );
        }
        print!("{}", cmp.render_table());
    }
    if cmp.metrics.is_empty() {
        eprintln!("warning: the reports have no measured (variant, frame size) in common");
    }
    if args.calibrate {
        let (tp, lat) = cmp.suggested_noise();
        let line = format!(
            "A/A calibration: --noise-pct {:.2} --latency-noise-pct {:.2}",
            tp.unwrap_or(opts.noise_pct),
            lat.unwrap_or(opts.latency_noise_pct)
        );
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    if let (Some(pct), Some(reasons)) = (args.fail_if_worse, reasons) {
        if !reasons.is_empty() {
            eprintln!("gate failed (--fail-if-worse {pct}):");
            for r in &reasons {
                eprintln!("  - {r}");
            }
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
