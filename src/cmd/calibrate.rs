//! `coo-bench calibrate PATH`: A/A calibration of the comparison's noise thresholds. Runs the
//! same topology 2N times (pairs a/b back to back), or reads existing reports (`--reports`),
//! and writes `calibration.json` with per-metric thresholds for `compare --noise`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use measure::compare::Calibration;
use measure::{CompareOptions, Report};

use super::compare::{parse_pairs, read_report};

const INVALID: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Topology to run (not needed with --reports).
    pub path: Option<PathBuf>,
    /// A/A pairs to run.
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
    /// Where the runs and calibration.json go.
    #[arg(long, default_value = "calibration")]
    pub out: PathBuf,
    /// Also measure how often B is detected as worse than A for these variants of the same
    /// runs (repeatable), e.g. `--pair ipfilter:ipfilter-slow`.
    #[arg(long = "pair", value_name = "A_VARIANT:B_VARIANT")]
    pub detect: Vec<String>,
    /// Two identical variants of one run (repeatable), e.g. `--twin ipfilter:ipfilter-twin`:
    /// they calibrate the side-by-side thresholds (`compare REPORT --pair A:B`), and every
    /// `--pair` is then also judged side by side within each run.
    #[arg(long = "twin", value_name = "A_VARIANT:A_TWIN")]
    pub twins: Vec<String>,
    /// Use existing reports instead of running: a1.json,b1.json,a2.json,b2.json,... (an even
    /// number; a directory stands for the report.json under it).
    #[arg(long, value_delimiter = ',', value_name = "FILES")]
    pub reports: Vec<PathBuf>,
    /// Print only the calibration as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Arguments passed to every `coo-bench run` (after `--`).
    #[arg(last = true)]
    pub run_args: Vec<String>,
}

/// The report.json under `dir` (the newest when there are several), or `dir` itself when it
/// is a file.
fn find_report(dir: &Path) -> Option<PathBuf> {
    if dir.is_file() {
        return Some(dir.to_path_buf());
    }
    let mut found: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "report.json") {
                found.push(p);
            }
        }
    }
    found.sort();
    found.pop()
}

pub fn calibrate(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let invalid = |e: String| {
        eprintln!("error: {e}");
        Ok(ExitCode::from(INVALID))
    };
    let (detect, twins) = match (parse_pairs(&args.detect), parse_pairs(&args.twins)) {
        (Ok(p), Ok(t)) => (p, t),
        (Err(e), _) | (_, Err(e)) => return invalid(e),
    };
    let mut any_failed = false;
    let paths: Vec<PathBuf> = if !args.reports.is_empty() {
        if !args.reports.len().is_multiple_of(2) || args.reports.len() < 2 {
            return invalid(format!(
                "--reports needs an even number (≥ 2) of reports a1,b1,a2,b2,..., got {}",
                args.reports.len()
            ));
        }
        let mut out = Vec::new();
        for r in &args.reports {
            match find_report(r) {
                Some(p) => out.push(p),
                None => return invalid(format!("{}: no report.json", r.display())),
            }
        }
        out
    } else {
        let Some(topology) = &args.path else {
            return invalid("give a topology PATH to run, or --reports".into());
        };
        if args.pairs == 0 {
            return invalid("--pairs must be ≥ 1".into());
        }
        let exe = std::env::current_exe().context("locate coo-bench")?;
        let mut out = Vec::new();
        for i in 1..=args.pairs {
            for side in ["a", "b"] {
                let dir = args.out.join(format!("aa-{i}-{side}"));
                eprintln!(
                    "calibrate: run {i}{side} of {} → {}",
                    args.pairs,
                    dir.display()
                );
                let status = Command::new(&exe)
                    .arg("run")
                    .arg(topology)
                    .arg("--out")
                    .arg(&dir)
                    .args(&args.run_args)
                    // Keep stdout for the calibration (JSON mode); the runs talk on stderr.
                    .stdout(std::process::Stdio::from(std::io::stderr()))
                    .status()
                    .with_context(|| format!("start {}", exe.display()))?;
                if !status.success() {
                    eprintln!("calibrate: run {i}{side} failed ({status})");
                    any_failed = true;
                }
                match find_report(&dir) {
                    Some(p) => out.push(p),
                    None => {
                        eprintln!(
                            "error: run {i}{side} wrote no report.json under {}",
                            dir.display()
                        );
                        return Ok(ExitCode::from(1));
                    }
                }
            }
        }
        out
    };
    let mut reports: Vec<Report> = Vec::new();
    for p in &paths {
        match read_report(p) {
            Ok(r) => reports.push(r),
            Err(e) => return invalid(e),
        }
    }
    let mut runs = Vec::new();
    let mut it = reports.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        runs.push((a, b));
    }
    let mut cal = Calibration::from_pairs(&runs, &detect, &twins, &CompareOptions::default());
    cal.sources = paths.iter().map(|p| p.display().to_string()).collect();
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    let file = args.out.join("calibration.json");
    std::fs::write(&file, serde_json::to_string_pretty(&cal)?)
        .with_context(|| format!("write {}", file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cal)?);
        eprintln!("calibration: {}", file.display());
    } else {
        print!("{}", cal.render_table());
        println!(
            "calibration: {} (use: coo-bench compare A B --noise {})",
            file.display(),
            file.display()
        );
    }
    if cal.metrics.is_empty() {
        eprintln!("warning: the A/A pairs have no measured (variant, frame size) in common");
    }
    Ok(if any_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
