//! Compare two reports metric by metric: difference, confidence interval, verdict, CI gate;
//! and the A/A calibration that sets the noise thresholds.
//!
//! - NDR/PDR (and the NDR ratio vs the baseline): with ≥ 3 valid repetitions on both sides,
//!   a seeded percentile bootstrap of the relative difference of the repetition medians.
//!   With fewer, the verdict is `inconclusive` (method `too-few-repetitions`): one search per
//!   side says nothing about run-to-run noise, and the search interval only reflects the
//!   search's precision.
//! - A result bounded by the measurement (`FrameSizeResult::limit`, or a goal flagged
//!   `measurement-limited` / `at-max-rate`) is a lower bound of the chain's rate, not a
//!   property of its engines: verdict `limited`, never better or worse.
//! - Latency at the run's common loads (matched by `load_pct`), one trial per point: point
//!   difference against the latency noise threshold.
//!
//! A difference counts only when the whole interval lies beyond the noise threshold of its
//! metric (from `coo-bench calibrate`, else `noise_pct` / `latency_noise_pct`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::{
    FrameSize, FrameSizeResult, Report, VariantReport, VariantRole, VariantStatus,
};
use crate::search::GoalResult;
use crate::stats::{bootstrap_relative_diff, median, median_ci, Interval};
use crate::table::render;

/// Fewest valid repetitions per side for a bootstrap.
pub const MIN_REPETITIONS: usize = 3;

/// Metrics of a side-by-side comparison (two variants of one run): B's rate over A's,
/// round by round (see [`compare_side_by_side`]).
pub const SIDE_BY_SIDE_NDR: &str = "ndr_side_by_side";
pub const SIDE_BY_SIDE_PDR: &str = "pdr_side_by_side";

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
    /// Per-metric noise thresholds, percent, keyed by [`noise_key`] (`variant/frame/metric`)
    /// or by the bare metric name; from a calibration file. Missing keys fall back to
    /// `noise_pct` / `latency_noise_pct`.
    #[serde(default)]
    pub noise: BTreeMap<String, f64>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            noise_pct: 2.0,
            latency_noise_pct: 25.0,
            level: 0.95,
            resamples: 4000,
            seed: 2544,
            noise: BTreeMap::new(),
        }
    }
}

/// Key of a per-metric noise threshold.
pub fn noise_key(variant: &str, frame_size: FrameSize, metric: &str) -> String {
    format!("{variant}/{frame_size}/{metric}")
}

impl CompareOptions {
    /// Noise threshold of one metric, percent.
    pub fn noise_for(&self, variant: &str, frame_size: FrameSize, metric: &str) -> f64 {
        if let Some(n) = self
            .noise
            .get(&noise_key(variant, frame_size, metric))
            .or_else(|| self.noise.get(metric))
        {
            return *n;
        }
        if metric.starts_with("latency") {
            self.latency_noise_pct
        } else if metric == "ndr_ratio_vs_baseline" {
            self.noise_pct * 2.0
        } else {
            self.noise_pct
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Better,
    Worse,
    NoSignificantDifference,
    /// Not enough data for a statistical verdict (e.g. < 3 repetitions). Never fails the gate.
    Inconclusive,
    /// A side is bounded by the measurement (generator, sink, ceiling, max rate): not a
    /// difference between engines.
    Limited,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Better => "better",
            Verdict::Worse => "WORSE",
            Verdict::NoSignificantDifference => "no significant difference",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Limited => "limited",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricComparison {
    /// Variant of report A.
    pub variant: String,
    /// Variant of report B when it differs (`--pair`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_variant: Option<String>,
    /// Role of the variant (a `ceiling` tells whether the host itself changed).
    #[serde(default)]
    pub role: VariantRole,
    pub frame_size: FrameSize,
    pub metric: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub a: f64,
    pub b: f64,
    /// (b − a) / a, percent.
    pub diff_pct: f64,
    pub ci: Option<Interval>,
    /// Noise threshold applied, percent.
    #[serde(default)]
    pub noise_pct: f64,
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

    pub(crate) fn label(&self) -> String {
        let mut s = match &self.b_variant {
            Some(b) => format!("{}→{b}", self.variant),
            None => self.variant.clone(),
        };
        match self.role {
            VariantRole::Ceiling => s.push_str(" (ceiling)"),
            VariantRole::Baseline => s.push_str(" (baseline)"),
            VariantRole::Variant => {}
        }
        s
    }
}

/// The gate's decision, when one was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateResult {
    pub fail_if_worse_pct: f64,
    /// Empty when the gate passes.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub metrics: Vec<MetricComparison>,
    pub warnings: Vec<String>,
    pub options: CompareOptions,
    /// (variant of A, variant of B) pairs compared; empty = same names on both sides.
    #[serde(default)]
    pub pairs: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateResult>,
}

impl Comparison {
    /// True when some metric of a non-ceiling variant is WORSE by more than `pct` percent.
    pub fn fails(&self, pct: f64) -> bool {
        self.metrics.iter().any(|m| counts_against(m, pct))
    }

    /// Why a CI gate at `pct` percent fails (empty: it passes):
    /// - a metric of a variant (not the ceiling) is significantly worse by more than `pct`;
    /// - a variant that A measured with a sound NDR is missing, skipped, failed, limited or
    ///   without an NDR in B (a gate must not pass by accident because B measured nothing);
    /// - B's NDR lies significantly below A's measurement-limited lower bound.
    pub fn gate(&self, a: &Report, b: &Report, pct: f64) -> Vec<String> {
        let mut reasons: Vec<String> = self
            .metrics
            .iter()
            .filter(|m| counts_against(m, pct))
            .map(|m| {
                format!(
                    "{} {} B {}: worse by {:.2}% (> {pct}%), {} → {}, {}",
                    m.label(),
                    m.frame_size,
                    m.metric,
                    m.worse_by_pct(),
                    fmt_value(m.a, &m.unit),
                    fmt_value(m.b, &m.unit),
                    m.method
                )
            })
            .collect();
        for m in &self.metrics {
            if m.verdict == Verdict::Limited
                && m.role != VariantRole::Ceiling
                && m.method.contains("below A's lower bound")
                && m.worse_by_pct() > pct
            {
                reasons.push(format!(
                    "{} {} B {}: B {} is significantly below A's measurement-limited lower bound {} ({:+.2}%)",
                    m.label(),
                    m.frame_size,
                    m.metric,
                    fmt_value(m.b, &m.unit),
                    fmt_value(m.a, &m.unit),
                    m.diff_pct
                ));
            }
        }
        for (an, bn) in pairs_of(a, &self.pairs) {
            let Some(va) = a.variant(&an) else { continue };
            if va.status != VariantStatus::Measured || va.role == VariantRole::Ceiling {
                continue;
            }
            let vb = b.variant(&bn);
            for ra in &va.results {
                if ra.sound_ndr().is_none() {
                    continue;
                }
                let size = ra.frame_size;
                let why = match vb {
                    None => Some("is missing".to_string()),
                    Some(v) => match &v.status {
                        VariantStatus::Skipped { reason } => Some(format!("was skipped: {reason}")),
                        VariantStatus::Failed { error } => Some(format!(
                            "failed: {}",
                            error.lines().next().unwrap_or("")
                        )),
                        VariantStatus::Measured => match v.result(size) {
                            None => Some(format!("has no {size} B result")),
                            Some(rb) => match (&rb.limit, &rb.ndr) {
                                (Some(l), _) => Some(format!(
                                    "is {} at {size} B (a lower bound, not a measurement of the chain)",
                                    l.short_name()
                                )),
                                (None, None) => Some(format!("has no valid NDR at {size} B")),
                                (None, Some(_)) => None,
                            },
                        },
                    },
                };
                if let Some(why) = why {
                    reasons.push(format!(
                        "{an} was measured with a sound NDR at {size} B in A, but in B {bn} {why}"
                    ));
                }
            }
        }
        reasons
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
            "variant", "frame", "metric", "A", "B", "diff", "95% CI", "noise", "method", "verdict",
        ];
        let rows: Vec<Vec<String>> = self
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.label(),
                    m.frame_size.to_string(),
                    m.metric.clone(),
                    fmt_value(m.a, &m.unit),
                    fmt_value(m.b, &m.unit),
                    format!("{:+.2}%", m.diff_pct),
                    m.ci.map_or("-".into(), |c| format!("[{:+.2}, {:+.2}]%", c.low, c.high)),
                    format!("±{:.2}%", m.noise_pct),
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

fn counts_against(m: &MetricComparison, pct: f64) -> bool {
    m.verdict == Verdict::Worse && m.role != VariantRole::Ceiling && m.worse_by_pct() > pct
}

/// The (A variant, B variant) pairs: the given ones, or every variant of A by its own name.
fn pairs_of(a: &Report, pairs: &[(String, String)]) -> Vec<(String, String)> {
    if pairs.is_empty() {
        a.variants
            .iter()
            .map(|v| (v.name.clone(), v.name.clone()))
            .collect()
    } else {
        pairs.to_vec()
    }
}

pub(crate) fn fmt_value(v: f64, unit: &str) -> String {
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

/// Compares every (variant, frame size) measured in both reports, by variant name.
pub fn compare(a: &Report, b: &Report, opts: &CompareOptions) -> Comparison {
    compare_pairs(a, b, &[], opts)
}

/// Compares variant `pa` of A with variant `pb` of B for every `(pa, pb)` in `pairs` (all
/// variants by name when `pairs` is empty), frame size by frame size.
pub fn compare_pairs(
    a: &Report,
    b: &Report,
    pairs: &[(String, String)],
    opts: &CompareOptions,
) -> Comparison {
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
    for (an, bn) in pairs_of(a, pairs) {
        let Some(va) = a
            .variant(&an)
            .filter(|v| v.status == VariantStatus::Measured)
        else {
            if !pairs.is_empty() {
                warnings.push(format!("variant {an} is not measured in A"));
            }
            continue;
        };
        let Some(vb) = b
            .variant(&bn)
            .filter(|v| v.status == VariantStatus::Measured)
        else {
            warnings.push(format!("variant {bn} is not measured in B"));
            continue;
        };
        let ctx = Ctx {
            a,
            b,
            va,
            vb,
            opts,
            b_variant: (an != bn).then(|| bn.clone()),
            suffix: "",
        };
        for ra in &va.results {
            let Some(rb) = vb.result(ra.frame_size) else {
                continue;
            };
            compare_throughput(&ctx, ra, rb, &mut metrics);
            compare_ratio(&ctx, ra, rb, &mut metrics);
            compare_latency(&ctx, ra, rb, &mut metrics);
        }
    }
    for m in metrics
        .iter()
        .filter(|m| m.role == VariantRole::Ceiling && m.metric == "ndr")
    {
        if m.verdict != Verdict::NoSignificantDifference {
            warnings.push(format!(
                "the generator→sink ceiling {} at {} B: {} ({:+.2}%): the host itself changed, other differences may be the host's",
                m.variant, m.frame_size, m.verdict, m.diff_pct
            ));
        }
    }
    Comparison {
        metrics,
        warnings,
        options: opts.clone(),
        pairs: pairs.to_vec(),
        gate: None,
    }
}

/// Compares variant B with variant A **of the same run**, for every `(A, B)` in `pairs`: the
/// comparison the mission asks for (a ratio measured side by side, its noise measured A/A).
///
/// Variants of one run are measured in interleaved rounds (A B, A B, …), so a slowdown of the
/// host that lasts seconds or minutes hits both sides of a round alike and cancels in the
/// per-round ratio B/A; across runs it does not (docs/measurement.md). Per metric:
/// - `ndr_side_by_side` / `pdr_side_by_side`: the per-round differences (B_i / A_i − 1) over
///   the rounds where both have a valid rate; their median, and the distribution-free
///   confidence interval of that median ([`median_ci`]); `limited` when either side is bounded
///   by the measurement, `inconclusive` with fewer than [`MIN_REPETITIONS`] rounds;
/// - latency at the run's common loads: both variants at the same offered rate, point
///   difference.
///
/// Thresholds come from A/A *twins* (two identical variants in one run, `calibrate --twin`),
/// keyed by A's name.
pub fn compare_side_by_side(
    r: &Report,
    pairs: &[(String, String)],
    opts: &CompareOptions,
) -> Comparison {
    let mut warnings = Vec::new();
    let mut metrics = Vec::new();
    let measured = |name: &str| {
        r.variant(name)
            .filter(|v| v.status == VariantStatus::Measured)
    };
    for (an, bn) in pairs {
        let (Some(va), Some(vb)) = (measured(an), measured(bn)) else {
            for n in [an, bn] {
                if measured(n).is_none() {
                    warnings.push(format!("variant {n} is not measured in the report"));
                }
            }
            continue;
        };
        let ctx = Ctx {
            a: r,
            b: r,
            va,
            vb,
            opts,
            b_variant: Some(bn.clone()),
            suffix: "_side_by_side",
        };
        for ra in &va.results {
            let Some(rb) = vb.result(ra.frame_size) else {
                continue;
            };
            compare_paired(&ctx, ra, rb, &mut metrics);
            compare_latency(&ctx, ra, rb, &mut metrics);
        }
    }
    Comparison {
        metrics,
        warnings,
        options: opts.clone(),
        pairs: pairs.to_vec(),
        gate: None,
    }
}

/// Per-round relative differences (B_i / A_i − 1, percent) of one goal, over the rounds in
/// which both variants have a valid rate.
fn per_round_diffs(ra: &FrameSizeResult, rb: &FrameSizeResult, pdr: bool) -> Vec<f64> {
    let rate = |rep: &crate::report::Repetition| {
        if pdr {
            rep.pdr.as_ref()?.rate_pps
        } else {
            rep.ndr.as_ref()?.rate_pps
        }
    };
    ra.repetitions
        .iter()
        .zip(&rb.repetitions)
        .filter_map(|(x, y)| {
            let (x, y) = (rate(x)?, rate(y)?);
            (x > 0.0).then(|| 100.0 * (y / x - 1.0))
        })
        .collect()
}

fn compare_paired(
    ctx: &Ctx<'_>,
    ra: &FrameSizeResult,
    rb: &FrameSizeResult,
    out: &mut Vec<MetricComparison>,
) {
    for (metric, pdr) in [(SIDE_BY_SIDE_NDR, false), (SIDE_BY_SIDE_PDR, true)] {
        let agg = |r: &FrameSizeResult| if pdr { r.pdr.clone() } else { r.ndr.clone() };
        let (Some(aa), Some(ab)) = (agg(ra), agg(rb)) else {
            continue;
        };
        let diffs = per_round_diffs(ra, rb, pdr);
        let Some(diff) = median(&diffs) else { continue };
        let goals = |r: &FrameSizeResult| -> Vec<GoalResult> {
            r.repetitions
                .iter()
                .filter_map(|rep| {
                    if pdr {
                        rep.pdr.clone()
                    } else {
                        rep.ndr.clone()
                    }
                })
                .collect()
        };
        let limits: Vec<String> = [
            ("A", limit_of(ra, &goals(ra))),
            ("B", limit_of(rb, &goals(rb))),
        ]
        .into_iter()
        .filter_map(|(side, l)| l.map(|l| format!("{side} {l}")))
        .collect();
        let noise = ctx.noise(ra.frame_size, metric);
        let (ci, method, v) = if !limits.is_empty() {
            (
                None,
                format!(
                    "limited: {} (a lower bound set by the measurement, not a difference between engines)",
                    limits.join(", ")
                ),
                Verdict::Limited,
            )
        } else if diffs.len() < MIN_REPETITIONS {
            (
                None,
                format!(
                    "too-few-repetitions ({} rounds with both rates)",
                    diffs.len()
                ),
                Verdict::Inconclusive,
            )
        } else {
            let ci = median_ci(&diffs, ctx.opts.level);
            (
                ci,
                format!(
                    "side by side: median of per-round B/A (n = {})",
                    diffs.len()
                ),
                verdict(ci, diff, noise, true),
            )
        };
        let mut m = ctx.metric(
            ra.frame_size,
            metric,
            "pps",
            true,
            aa.median,
            ab.median,
            ci,
            method,
            v,
        );
        m.diff_pct = diff;
        out.push(m);
    }
}

struct Ctx<'a> {
    a: &'a Report,
    b: &'a Report,
    va: &'a VariantReport,
    vb: &'a VariantReport,
    opts: &'a CompareOptions,
    b_variant: Option<String>,
    /// Appended to latency metric names ("" across runs, "_side_by_side" within one run), so
    /// the two kinds have thresholds of their own.
    suffix: &'static str,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn metric(
        &self,
        frame_size: FrameSize,
        metric: &str,
        unit: &str,
        higher_is_better: bool,
        a: f64,
        b: f64,
        ci: Option<Interval>,
        method: String,
        verdict: Verdict,
    ) -> MetricComparison {
        MetricComparison {
            variant: self.va.name.clone(),
            b_variant: self.b_variant.clone(),
            role: self.va.role,
            frame_size,
            metric: metric.into(),
            unit: unit.into(),
            higher_is_better,
            a,
            b,
            diff_pct: if a != 0.0 { 100.0 * (b - a) / a } else { 0.0 },
            ci,
            noise_pct: self.noise(frame_size, metric),
            method,
            verdict,
        }
    }

    fn noise(&self, frame_size: FrameSize, metric: &str) -> f64 {
        self.opts.noise_for(&self.va.name, frame_size, metric)
    }
}

/// Why a side is only a lower bound of the chain's rate (None when it is a measurement).
fn limit_of(r: &FrameSizeResult, goals: &[GoalResult]) -> Option<String> {
    if let Some(l) = &r.limit {
        return Some(l.short_name().to_string());
    }
    goals
        .iter()
        .flat_map(|g| g.flags.iter())
        .find(|f| f.is_limit())
        .map(|f| f.short_name().to_string())
}

fn compare_throughput(
    ctx: &Ctx<'_>,
    ra: &FrameSizeResult,
    rb: &FrameSizeResult,
    out: &mut Vec<MetricComparison>,
) {
    let opts = ctx.opts;
    for metric in ["ndr", "pdr"] {
        let goals = |r: &FrameSizeResult| -> Vec<GoalResult> {
            r.repetitions
                .iter()
                .filter_map(|rep| {
                    if metric == "ndr" {
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
        let noise = ctx.noise(ra.frame_size, metric);
        let enough = sa.len() >= MIN_REPETITIONS && sb.len() >= MIN_REPETITIONS;
        let ci = enough
            .then(|| bootstrap_relative_diff(&sa, &sb, opts.resamples, opts.level, opts.seed))
            .flatten();
        let (lim_a, lim_b) = (limit_of(ra, &ga), limit_of(rb, &gb));
        let diff = 100.0 * (mb - ma) / ma;
        let (method, v) = if lim_a.is_some() || lim_b.is_some() {
            let side = |s: &str, l: &Option<String>| l.as_ref().map(|l| format!("{s} {l}"));
            let sides: Vec<String> = [side("A", &lim_a), side("B", &lim_b)]
                .into_iter()
                .flatten()
                .collect();
            let mut method = format!(
                "limited: {} (a lower bound set by the measurement, not a difference between engines)",
                sides.join(", ")
            );
            // A's limited value is a lower bound of its real rate: a sound B significantly
            // below it is still a regression.
            if lim_a.is_some()
                && lim_b.is_none()
                && verdict(ci, diff, noise, true) == Verdict::Worse
            {
                method.push_str("; B is significantly below A's lower bound");
            }
            (method, Verdict::Limited)
        } else if let Some(ci) = ci {
            (
                format!(
                    "bootstrap of repetition medians (n = {}, {})",
                    sa.len(),
                    sb.len()
                ),
                verdict(Some(ci), diff, noise, true),
            )
        } else {
            (
                format!(
                    "too-few-repetitions (n = {}, {}; a verdict needs ≥ {MIN_REPETITIONS} valid repetitions per side)",
                    sa.len(),
                    sb.len()
                ),
                Verdict::Inconclusive,
            )
        };
        out.push(ctx.metric(ra.frame_size, metric, "pps", true, ma, mb, ci, method, v));
    }
}

/// NDR relative to the baseline of the same report, per repetition (round): comparable
/// across machines. Only when both sides are sound.
fn compare_ratio(
    ctx: &Ctx<'_>,
    ra: &FrameSizeResult,
    rb: &FrameSizeResult,
    out: &mut Vec<MetricComparison>,
) {
    if ctx.va.role != VariantRole::Variant {
        return;
    }
    let size = ra.frame_size;
    let (Some(x), Some(y)) = (
        ctx.a.ratio_vs_baseline(ctx.va, size),
        ctx.b.ratio_vs_baseline(ctx.vb, size),
    ) else {
        return;
    };
    let per_round = |r: &Report, v: &FrameSizeResult| -> Vec<f64> {
        let Some(base) = r.baseline_variant().and_then(|b| b.result(size)) else {
            return Vec::new();
        };
        v.repetitions
            .iter()
            .zip(&base.repetitions)
            .filter_map(|(v, b)| {
                let (v, b) = (v.ndr.as_ref()?.rate_pps?, b.ndr.as_ref()?.rate_pps?);
                (b > 0.0).then(|| v / b)
            })
            .collect()
    };
    let (sa, sb) = (per_round(ctx.a, ra), per_round(ctx.b, rb));
    let metric = "ndr_ratio_vs_baseline";
    let noise = ctx.noise(size, metric);
    let opts = ctx.opts;
    let (ci, method, v) = if sa.len() >= MIN_REPETITIONS && sb.len() >= MIN_REPETITIONS {
        let ci = bootstrap_relative_diff(&sa, &sb, opts.resamples, opts.level, opts.seed);
        (
            ci,
            format!(
                "bootstrap of per-round ratios (n = {}, {})",
                sa.len(),
                sb.len()
            ),
            verdict(ci, 100.0 * (y - x) / x, noise, true),
        )
    } else {
        (
            None,
            format!(
                "too-few-repetitions (n = {}, {} rounds with both NDRs)",
                sa.len(),
                sb.len()
            ),
            Verdict::Inconclusive,
        )
    };
    out.push(ctx.metric(size, metric, "ratio", true, x, y, ci, method, v));
}

fn compare_latency(
    ctx: &Ctx<'_>,
    ra: &FrameSizeResult,
    rb: &FrameSizeResult,
    out: &mut Vec<MetricComparison>,
) {
    // The loads both runs measured latency at: the common loads of A (and B), matched by
    // percent of each run's reference rate.
    let common = |r: &Report| -> Option<Vec<f64>> {
        let c = r.latency_loads.as_ref()?;
        (c.frame_size == ra.frame_size).then(|| c.loads.iter().map(|(pct, _)| *pct).collect())
    };
    let loads: Vec<f64> = match (common(ctx.a), common(ctx.b)) {
        (Some(x), Some(y)) => x
            .into_iter()
            .filter(|p| y.iter().any(|q| (p - q).abs() < 1e-9))
            .collect(),
        // Older or hand-made reports without common loads: the points' own loads.
        (None, None) => ra.latency.iter().map(|l| l.load_pct).collect(),
        _ => Vec::new(),
    };
    for pct in loads {
        fn point(r: &FrameSizeResult, pct: f64) -> Option<&crate::report::LatencyPoint> {
            r.latency.iter().find(|l| (l.load_pct - pct).abs() < 1e-9)
        }
        let (Some(la), Some(lb)) = (point(ra, pct), point(rb, pct)) else {
            continue;
        };
        let (Some(pa), Some(pb)) = (&la.probe, &lb.probe) else {
            continue;
        };
        let mut method = format!("point at {pct}% of the common load");
        if la.rate_pps > 0.0 && ((lb.rate_pps - la.rate_pps) / la.rate_pps).abs() > 0.01 {
            method.push_str(&format!(
                " (offered {:.4} vs {:.4} Mpps)",
                la.rate_pps / 1e6,
                lb.rate_pps / 1e6
            ));
        }
        for (name, x, y) in [("p50", pa.p50_ns, pb.p50_ns), ("p99", pa.p99_ns, pb.p99_ns)] {
            if x == 0 {
                continue;
            }
            let metric = format!("latency_{pct}pct_{name}{}", ctx.suffix);
            let diff = 100.0 * (y as f64 - x as f64) / x as f64;
            let v = verdict(None, diff, ctx.noise(ra.frame_size, &metric), false);
            out.push(ctx.metric(
                ra.frame_size,
                &metric,
                "us",
                false,
                x as f64 / 1e3,
                y as f64 / 1e3,
                None,
                method.clone(),
                v,
            ));
        }
    }
}

/// How a calibration derives a metric's threshold from its A/A differences.
pub const CALIBRATION_RULE: &str = "threshold = max(1.5 × max |A/A diff|, 3 × robust stdev of the A/A diffs (1.4826 × MAD), floor), floor = 0.5 % for throughput and ratio, 2 % for latency";

/// The format tag of calibration.json.
pub const CALIBRATION_FORMAT: &str = "coo-bench-calibration/1";

/// What `coo-bench calibrate` measured and suggests (calibration.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub format: String,
    /// A/A pairs.
    pub pairs: usize,
    pub rule: String,
    /// Per-metric thresholds, percent, keyed `variant/frame/metric` (what `compare --noise`
    /// reads).
    pub thresholds: BTreeMap<String, f64>,
    pub metrics: Vec<CalibratedMetric>,
    /// Share of A/A pairs the gate (`--fail-if-worse 0`) fails, at the suggested thresholds
    /// (in-sample, so ~0 by construction) and at the default ones.
    pub false_alarm_rate_suggested: f64,
    pub false_alarm_rate_default: f64,
    /// Side by side (`--twin`): share of the 2N runs in which the gate (`--fail-if-worse 0`)
    /// fails on an A/A twin, at the suggested thresholds; None without twins.
    #[serde(default)]
    pub false_alarm_rate_side_by_side: Option<f64>,
    /// For each `--pair A:B`: how many pairs report B worse at the suggested thresholds
    /// (across runs: A of run a against B of run b; side by side: A and B of one run).
    #[serde(default)]
    pub detection: Vec<Detection>,
    /// The reports, in order a1, b1, a2, b2, ...
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibratedMetric {
    pub variant: String,
    pub frame_size: FrameSize,
    pub metric: String,
    /// Comparisons behind it: the A/A pairs (across runs) or the 2N runs (side by side).
    #[serde(default)]
    pub samples: usize,
    /// (b − a) / a per A/A pair (or per run for a side-by-side twin), percent.
    pub diffs_pct: Vec<f64>,
    pub max_abs_diff_pct: f64,
    pub robust_stdev_pct: f64,
    pub threshold_pct: f64,
    /// NDR/PDR only: (max / min − 1) of the per-run medians over all 2N runs, percent.
    pub run_spread_pct: Option<f64>,
    /// A/A pairs with a significant difference (better or worse) at the suggested / default
    /// thresholds.
    pub false_alarms_suggested: usize,
    pub false_alarms_default: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    pub a_variant: String,
    pub b_variant: String,
    pub frame_size: FrameSize,
    pub metric: String,
    /// Pairs (runs, side by side) whose verdict for B was WORSE.
    pub detected: usize,
    pub pairs: usize,
    /// True when A and B were compared within each run (see [`compare_side_by_side`]).
    #[serde(default)]
    pub side_by_side: bool,
    pub median_diff_pct: Option<f64>,
}

/// How often B was WORSE than A, per (frame size, metric), over comparisons `cs`.
fn detections(pa: &str, pb: &str, cs: &[Comparison], side_by_side: bool) -> Vec<Detection> {
    let mut seen: Vec<(FrameSize, String)> = Vec::new();
    for m in cs.iter().flat_map(|c| &c.metrics) {
        if !seen
            .iter()
            .any(|(f, n)| *f == m.frame_size && *n == m.metric)
        {
            seen.push((m.frame_size, m.metric.clone()));
        }
    }
    seen.into_iter()
        .map(|(f, metric)| {
            let ms: Vec<&MetricComparison> = cs
                .iter()
                .flat_map(|c| c.metrics.iter())
                .filter(|m| m.frame_size == f && m.metric == metric)
                .collect();
            let d: Vec<f64> = ms.iter().map(|m| m.diff_pct).collect();
            Detection {
                a_variant: pa.to_string(),
                b_variant: pb.to_string(),
                frame_size: f,
                metric,
                detected: ms.iter().filter(|m| m.verdict == Verdict::Worse).count(),
                pairs: cs.len(),
                side_by_side,
                median_diff_pct: median(&d),
            }
        })
        .collect()
}

fn robust_stdev(v: &[f64]) -> f64 {
    let Some(m) = median(v) else { return 0.0 };
    let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    1.4826 * median(&dev).unwrap_or(0.0)
}

impl Calibration {
    /// Derives per-metric noise thresholds from A/A pairs of reports of the same code, and
    /// for each of `pairs` (variant of A, variant of B) how often B is detected as worse.
    ///
    /// `twins` are A/A pairs of identical variants inside each run: they calibrate the
    /// side-by-side metrics ([`compare_side_by_side`]) over all 2N runs, and `pairs` are then
    /// also judged side by side within each run.
    pub fn from_pairs(
        runs: &[(Report, Report)],
        pairs: &[(String, String)],
        twins: &[(String, String)],
        defaults: &CompareOptions,
    ) -> Calibration {
        let base = CompareOptions {
            noise: BTreeMap::new(),
            ..defaults.clone()
        };
        let singles: Vec<&Report> = runs.iter().flat_map(|(a, b)| [a, b]).collect();
        let across = |o: &CompareOptions| -> Vec<Comparison> {
            runs.iter().map(|(a, b)| compare(a, b, o)).collect()
        };
        let within = |o: &CompareOptions, ps: &[(String, String)]| -> Vec<Comparison> {
            if ps.is_empty() {
                return Vec::new();
            }
            singles
                .iter()
                .map(|r| compare_side_by_side(r, ps, o))
                .collect()
        };
        let (aa, tw) = (across(&base), within(&base, twins));
        // (variant, frame, metric) → diffs, in first-seen order.
        let mut keys: Vec<(String, FrameSize, String)> = Vec::new();
        let mut diffs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for m in aa.iter().chain(&tw).flat_map(|c| &c.metrics) {
            let k = noise_key(&m.variant, m.frame_size, &m.metric);
            if !diffs.contains_key(&k) {
                keys.push((m.variant.clone(), m.frame_size, m.metric.clone()));
            }
            diffs.entry(k).or_default().push(m.diff_pct);
        }
        let mut thresholds = BTreeMap::new();
        for (v, f, m) in &keys {
            let k = noise_key(v, *f, m);
            let d = &diffs[&k];
            let max_abs = d.iter().map(|x| x.abs()).fold(0.0, f64::max);
            let floor = if m.starts_with("latency") { 2.0 } else { 0.5 };
            let t = (1.5 * max_abs).max(3.0 * robust_stdev(d)).max(floor);
            thresholds.insert(k, (t * 100.0).ceil() / 100.0);
        }
        let suggested = CompareOptions {
            noise: thresholds.clone(),
            ..base.clone()
        };
        let (at, tw_at) = (across(&suggested), within(&suggested, twins));
        let significant = |v: Verdict| matches!(v, Verdict::Better | Verdict::Worse);
        let count = |cs: &[Comparison], k: &str| {
            cs.iter()
                .filter(|c| {
                    c.metrics.iter().any(|m| {
                        noise_key(&m.variant, m.frame_size, &m.metric) == k
                            && significant(m.verdict)
                    })
                })
                .count()
        };
        let metrics = keys
            .iter()
            .map(|(v, f, m)| {
                let k = noise_key(v, *f, m);
                let d = diffs[&k].clone();
                let side = m.ends_with("_side_by_side");
                let run_spread_pct = (m == "ndr" || m == "pdr")
                    .then(|| {
                        let meds: Vec<f64> = singles
                            .iter()
                            .filter_map(|r| {
                                let res = r.variant(v)?.result(*f)?;
                                let agg = if m == "ndr" { &res.ndr } else { &res.pdr };
                                Some(agg.as_ref()?.median)
                            })
                            .collect();
                        let max = meds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let min = meds.iter().copied().fold(f64::INFINITY, f64::min);
                        (min > 0.0 && meds.len() >= 2).then(|| 100.0 * (max / min - 1.0))
                    })
                    .flatten();
                let (with_suggested, with_default) = if side { (&tw_at, &tw) } else { (&at, &aa) };
                CalibratedMetric {
                    variant: v.clone(),
                    frame_size: *f,
                    metric: m.clone(),
                    samples: if side { singles.len() } else { runs.len() },
                    max_abs_diff_pct: d.iter().map(|x| x.abs()).fold(0.0, f64::max),
                    robust_stdev_pct: robust_stdev(&d),
                    diffs_pct: d,
                    threshold_pct: thresholds[&k],
                    run_spread_pct,
                    false_alarms_suggested: count(with_suggested, &k),
                    false_alarms_default: count(with_default, &k),
                }
            })
            .collect();
        let gate_rate = |cs: &[Comparison], reports: &[(&Report, &Report)]| {
            if cs.is_empty() {
                return 0.0;
            }
            let failing = cs
                .iter()
                .zip(reports)
                .filter(|(c, (a, b))| !c.gate(a, b, 0.0).is_empty())
                .count();
            failing as f64 / cs.len() as f64
        };
        let run_pairs: Vec<(&Report, &Report)> = runs.iter().map(|(a, b)| (a, b)).collect();
        let run_selves: Vec<(&Report, &Report)> = singles.iter().map(|r| (*r, *r)).collect();
        let mut detection = Vec::new();
        for (pa, pb) in pairs {
            let pair = [(pa.clone(), pb.clone())];
            let cross: Vec<Comparison> = runs
                .iter()
                .map(|(a, b)| compare_pairs(a, b, &pair, &suggested))
                .collect();
            detection.extend(detections(pa, pb, &cross, false));
            if !twins.is_empty() {
                detection.extend(detections(pa, pb, &within(&suggested, &pair), true));
            }
        }
        Calibration {
            format: CALIBRATION_FORMAT.into(),
            pairs: runs.len(),
            rule: CALIBRATION_RULE.into(),
            thresholds,
            metrics,
            false_alarm_rate_suggested: gate_rate(&at, &run_pairs),
            false_alarm_rate_default: gate_rate(&aa, &run_pairs),
            false_alarm_rate_side_by_side: (!twins.is_empty())
                .then(|| gate_rate(&tw_at, &run_selves)),
            detection,
            sources: Vec::new(),
        }
    }

    /// The calibration as a terminal table.
    pub fn render_table(&self) -> String {
        let header = [
            "variant",
            "frame",
            "metric",
            "max |A/A|",
            "robust σ",
            "run spread",
            "threshold",
            "false alarms (suggested)",
            "(default)",
        ];
        let rows: Vec<Vec<String>> = self
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.variant.clone(),
                    m.frame_size.to_string(),
                    m.metric.clone(),
                    format!("{:.2}%", m.max_abs_diff_pct),
                    format!("{:.2}%", m.robust_stdev_pct),
                    m.run_spread_pct.map_or("-".into(), |s| format!("{s:.2}%")),
                    format!("{:.2}%", m.threshold_pct),
                    format!("{}/{}", m.false_alarms_suggested, m.samples),
                    format!("{}/{}", m.false_alarms_default, m.samples),
                ]
            })
            .collect();
        let mut out = render(&header, &rows);
        out.push_str(&format!(
            "gate false-alarm rate over {} A/A pairs: {:.0}% at the suggested thresholds, {:.0}% at the defaults\nrule: {}\n",
            self.pairs,
            100.0 * self.false_alarm_rate_suggested,
            100.0 * self.false_alarm_rate_default,
            self.rule
        ));
        if let Some(r) = self.false_alarm_rate_side_by_side {
            out.push_str(&format!(
                "side by side (A/A twins in each of the {} runs): the gate fails in {:.0}% of the runs at the suggested thresholds\n",
                2 * self.pairs,
                100.0 * r
            ));
        }
        for d in &self.detection {
            out.push_str(&format!(
                "detection {}→{} {} B {}: B worse in {}/{} {} (median diff {})\n",
                d.a_variant,
                d.b_variant,
                d.frame_size,
                d.metric,
                d.detected,
                d.pairs,
                if d.side_by_side {
                    "runs, side by side"
                } else {
                    "pairs"
                },
                d.median_diff_pct
                    .map_or("-".into(), |x| format!("{x:+.2}%"))
            ));
        }
        out
    }
}
