//! Compare two reports metric by metric: difference, confidence interval, verdict.
//!
//! - With ≥ 2 valid repetitions on both sides, the interval is a seeded percentile bootstrap of
//!   the relative difference of medians.
//! - With fewer, the NDR/PDR interval follows from the search bounds: the true value lies in
//!   [lower, upper) on each side, so the difference lies in
//!   [(lo_b − hi_a)/hi_a, (hi_b − lo_a)/lo_a].
//! - Latency percentiles from a single trial get no interval; only the noise threshold decides.
//!
//! A difference counts only when the whole interval lies beyond the noise threshold
//! (calibrated from A/A runs, see docs/measurement.md). A measurement-limited result (the
//! generator was the limit) is a lower bound: it never makes the other side "worse" than it.

use serde::{Deserialize, Serialize};

use crate::report::{FrameSize, FrameSizeResult, Report, VariantStatus};
use crate::search::{GoalResult, ResultFlag};
use crate::stats::{bootstrap_relative_diff, median, Interval};
use crate::table::render;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareOptions {
    /// Throughput differences within ±this many percent are noise.
    pub noise_pct: f64,
    /// Latency differences within ±this many percent are noise.
    pub latency_noise_pct: f64,
    pub level: f64,
    pub resamples: usize,
    pub seed: u64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            noise_pct: 2.0,
            latency_noise_pct: 25.0,
            level: 0.95,
            resamples: 4000,
            seed: 2544,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Better,
    Worse,
    NoSignificantDifference,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Better => "better",
            Verdict::Worse => "WORSE",
            Verdict::NoSignificantDifference => "no significant difference",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricComparison {
    pub variant: String,
    pub frame_size: FrameSize,
    pub metric: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub a: f64,
    pub b: f64,
    /// (b − a) / a, percent.
    pub diff_pct: f64,
    pub ci: Option<Interval>,
    pub method: String,
    pub verdict: Verdict,
}

impl MetricComparison {
    /// How much worse B is than A, percent (≤ 0 when not worse).
    pub fn worse_by_pct(&self) -> f64 {
        if self.higher_is_better {
            -self.diff_pct
        } else {
            self.diff_pct
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub metrics: Vec<MetricComparison>,
    pub warnings: Vec<String>,
    pub options: CompareOptions,
}

impl Comparison {
    /// True when some metric is WORSE by more than `pct` percent.
    pub fn fails(&self, pct: f64) -> bool {
        self.metrics
            .iter()
            .any(|m| m.verdict == Verdict::Worse && m.worse_by_pct() > pct)
    }

    /// Noise thresholds an A/A comparison suggests: 1.5 × the largest |difference| seen, per
    /// metric kind (throughput, latency). None for a kind with no metric.
    pub fn suggested_noise(&self) -> (Option<f64>, Option<f64>) {
        let max_of = |lat: bool| {
            self.metrics
                .iter()
                .filter(|m| m.metric.starts_with("latency") == lat)
                .map(|m| m.diff_pct.abs() * 1.5)
                .reduce(f64::max)
        };
        (max_of(false), max_of(true))
    }

    pub fn render_table(&self) -> String {
        let header = [
            "variant", "frame", "metric", "A", "B", "diff", "95% CI", "method", "verdict",
        ];
        let rows: Vec<Vec<String>> = self
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.variant.clone(),
                    m.frame_size.to_string(),
                    m.metric.clone(),
                    fmt_value(m.a, &m.unit),
                    fmt_value(m.b, &m.unit),
                    format!("{:+.2}%", m.diff_pct),
                    m.ci.map_or("-".into(), |c| format!("[{:+.2}, {:+.2}]%", c.low, c.high)),
                    m.method.clone(),
                    m.verdict.to_string(),
                ]
            })
            .collect();
        let mut out = render(&header, &rows);
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "pps" => format!("{:.4} Mpps", v / 1e6),
        "us" => format!("{v:.1} µs"),
        _ => format!("{v:.3}"),
    }
}

fn verdict(ci: Option<Interval>, diff: f64, noise: f64, higher_is_better: bool) -> Verdict {
    let (low, high) = ci.map_or((diff, diff), |c| (c.low, c.high));
    let (better, worse) = if higher_is_better {
        (low > noise, high < -noise)
    } else {
        (high < -noise, low > noise)
    };
    if better {
        Verdict::Better
    } else if worse {
        Verdict::Worse
    } else {
        Verdict::NoSignificantDifference
    }
}

fn goal_bounds(g: &GoalResult, precision_pct: f64) -> Option<(f64, f64)> {
    let lo = g.rate_pps?;
    let hi = g.upper_pps.unwrap_or(lo * (1.0 + precision_pct / 100.0));
    Some((lo, hi.max(lo)))
}

/// Compares every (variant, frame size) measured in both reports.
pub fn compare(a: &Report, b: &Report, opts: &CompareOptions) -> Comparison {
    let mut warnings = Vec::new();
    let (ha, hb) = (&a.host, &b.host);
    if ha.cpu_model != hb.cpu_model || ha.kernel != hb.kernel || ha.cpu_count != hb.cpu_count {
        warnings.push(format!(
            "host fingerprints differ ({} / {} vs {} / {}); absolute rates are not comparable, prefer the ratio vs baseline",
            ha.cpu_model, ha.kernel, hb.cpu_model, hb.kernel
        ));
    }
    if a.settings.search != b.settings.search {
        warnings.push("search settings differ between the reports".into());
    }
    let mut metrics = Vec::new();
    for va in a
        .variants
        .iter()
        .filter(|v| v.status == VariantStatus::Measured)
    {
        let Some(vb) = b
            .variant(&va.name)
            .filter(|v| v.status == VariantStatus::Measured)
        else {
            warnings.push(format!(
                "variant {} is not measured in both reports",
                va.name
            ));
            continue;
        };
        for ra in &va.results {
            let Some(rb) = vb.result(ra.frame_size) else {
                continue;
            };
            compare_throughput(a, b, &va.name, ra, rb, opts, &mut metrics);
            if let (Some(x), Some(y)) = (
                a.ratio_vs_baseline(va, ra.frame_size),
                b.ratio_vs_baseline(vb, ra.frame_size),
            ) {
                if a.baseline.as_deref() != Some(va.name.as_str()) {
                    let diff = 100.0 * (y - x) / x;
                    metrics.push(MetricComparison {
                        variant: va.name.clone(),
                        frame_size: ra.frame_size,
                        metric: "ndr_ratio_vs_baseline".into(),
                        unit: "ratio".into(),
                        higher_is_better: true,
                        a: x,
                        b: y,
                        diff_pct: diff,
                        ci: None,
                        method: "point".into(),
                        verdict: verdict(None, diff, opts.noise_pct * 2.0, true),
                    });
                }
            }
            compare_latency(&va.name, ra, rb, opts, &mut metrics);
        }
    }
    Comparison {
        metrics,
        warnings,
        options: opts.clone(),
    }
}

fn compare_throughput(
    a: &Report,
    b: &Report,
    variant: &str,
    ra: &FrameSizeResult,
    rb: &FrameSizeResult,
    opts: &CompareOptions,
    out: &mut Vec<MetricComparison>,
) {
    for (metric, pick) in [("ndr", 0usize), ("pdr", 1usize)] {
        let goals = |r: &FrameSizeResult| -> Vec<GoalResult> {
            r.repetitions
                .iter()
                .filter_map(|rep| {
                    if pick == 0 {
                        rep.ndr.clone()
                    } else {
                        rep.pdr.clone()
                    }
                })
                .filter(|g| g.rate_pps.is_some())
                .collect()
        };
        let (ga, gb) = (goals(ra), goals(rb));
        let sa: Vec<f64> = ga.iter().filter_map(|g| g.rate_pps).collect();
        let sb: Vec<f64> = gb.iter().filter_map(|g| g.rate_pps).collect();
        let (Some(ma), Some(mb)) = (median(&sa), median(&sb)) else {
            continue;
        };
        if ma <= 0.0 {
            continue;
        }
        let diff = 100.0 * (mb - ma) / ma;
        let (ci, method) = if sa.len() >= 2 && sb.len() >= 2 {
            (
                bootstrap_relative_diff(&sa, &sb, opts.resamples, opts.level, opts.seed),
                "bootstrap",
            )
        } else {
            let ia = goal_bounds(&ga[0], a.settings.search.precision_pct);
            let ib = goal_bounds(&gb[0], b.settings.search.precision_pct);
            match (ia, ib) {
                (Some((loa, hia)), Some((lob, hib))) if loa > 0.0 => (
                    Some(Interval {
                        low: 100.0 * (lob - hia) / hia,
                        high: 100.0 * (hib - loa) / loa,
                    }),
                    "search-interval",
                ),
                _ => (None, "point"),
            }
        };
        // A result at the generator's (or the max rate's) limit is only a lower bound of the
        // real value: it cannot show that the other side is worse than it, only better.
        let limited = |g: &[GoalResult]| {
            g.iter().any(|g| {
                g.flags.iter().any(|f| {
                    matches!(
                        f,
                        ResultFlag::MeasurementLimited { .. } | ResultFlag::AtMaxRate
                    )
                })
            })
        };
        let (lim_a, lim_b) = (limited(&ga), limited(&gb));
        let mut v = verdict(ci, diff, opts.noise_pct, true);
        if (lim_a && v == Verdict::Better) || (lim_b && v == Verdict::Worse) {
            v = Verdict::NoSignificantDifference;
        }
        let method = match (lim_a, lim_b) {
            (false, false) => method.to_string(),
            (true, false) => format!("{method}, A limited"),
            (false, true) => format!("{method}, B limited"),
            (true, true) => format!("{method}, both limited"),
        };
        out.push(MetricComparison {
            variant: variant.to_string(),
            frame_size: ra.frame_size,
            metric: metric.into(),
            unit: "pps".into(),
            higher_is_better: true,
            a: ma,
            b: mb,
            diff_pct: diff,
            ci,
            method,
            verdict: v,
        });
    }
}

fn compare_latency(
    variant: &str,
    ra: &FrameSizeResult,
    rb: &FrameSizeResult,
    opts: &CompareOptions,
    out: &mut Vec<MetricComparison>,
) {
    for la in &ra.latency {
        let Some(pa) = &la.probe else { continue };
        let Some(pb) = rb
            .latency
            .iter()
            .find(|l| (l.load_pct - la.load_pct).abs() < 1e-9)
            .and_then(|l| l.probe.as_ref())
        else {
            continue;
        };
        for (name, x, y) in [("p50", pa.p50_ns, pb.p50_ns), ("p99", pa.p99_ns, pb.p99_ns)] {
            if x == 0 {
                continue;
            }
            let diff = 100.0 * (y as f64 - x as f64) / x as f64;
            out.push(MetricComparison {
                variant: variant.to_string(),
                frame_size: ra.frame_size,
                metric: format!("latency_{}pct_{name}", la.load_pct),
                unit: "us".into(),
                higher_is_better: false,
                a: x as f64 / 1e3,
                b: y as f64 / 1e3,
                diff_pct: diff,
                ci: None,
                method: "point".into(),
                verdict: verdict(None, diff, opts.latency_noise_pct, false),
            });
        }
    }
}
