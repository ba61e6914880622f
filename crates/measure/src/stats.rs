//! Small statistics: median, spread, and a seeded percentile bootstrap.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Median of the samples (None when empty). NaNs sort last.
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Linear-interpolated quantile `q` in [0, 1] of sorted samples.
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let j = pos.ceil() as usize;
    sorted[i] + (sorted[j] - sorted[i]) * (pos - i as f64)
}

/// Median and spread of repeated measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    pub samples: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Sample standard deviation (0 for one sample).
    pub stdev: f64,
    /// (max − min) / median, percent.
    pub spread_pct: f64,
    /// 95 % confidence interval of the median, absolute units, distribution-free (order
    /// statistics of the binomial(n, ½) ranks, see [`median_ci`]); None with < 3 samples.
    #[serde(default)]
    pub ci: Option<Interval>,
}

impl Aggregate {
    pub fn of(samples: &[f64]) -> Option<Aggregate> {
        let median = median(samples)?;
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let stdev = if samples.len() > 1 {
            (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let spread_pct = if median != 0.0 {
            100.0 * (max - min) / median
        } else {
            0.0
        };
        Some(Aggregate {
            samples: samples.to_vec(),
            median,
            min,
            max,
            stdev,
            spread_pct,
            ci: median_ci(samples, 0.95),
        })
    }
}

/// Distribution-free confidence interval of the median: `[x(k), x(n+1−k)]` of the sorted
/// samples with the largest `k` whose coverage `1 − 2·P(Bin(n, ½) < k)` is at least `level`.
/// Below 6 samples no pair of order statistics reaches 95 %; then the interval is
/// `[min, max]` (coverage 1 − 2^(1−n): 75 % for 3, 87.5 % for 4, 93.75 % for 5).
/// None with fewer than 3 samples.
pub fn median_ci(samples: &[f64], level: f64) -> Option<Interval> {
    let n = samples.len();
    if n < 3 {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    // cdf[j] = P(Bin(n, ½) ≤ j).
    let mut pmf = 0.5f64.powi(n as i32);
    let mut cdf = Vec::with_capacity(n + 1);
    let mut acc = 0.0;
    for j in 0..=n {
        acc += pmf;
        cdf.push(acc);
        pmf = pmf * (n - j) as f64 / (j + 1) as f64;
    }
    let alpha = 1.0 - level.clamp(0.0, 1.0);
    // k is 1-based: coverage of [x(k), x(n+1−k)] = 1 − 2·P(Bin ≤ k − 1).
    let mut k = 1;
    while k < n / 2 && 2.0 * cdf[k] <= alpha {
        k += 1;
    }
    Some(Interval {
        low: v[k - 1],
        high: v[n - k],
    })
}

/// A confidence interval: of a relative difference in percent (compare), or of a median in
/// the metric's own units (`Aggregate::ci`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Percentile bootstrap of the relative difference of medians, (median(b) − median(a)) /
/// median(a) in percent, with `resamples` seeded resamples and confidence `level` (e.g. 0.95).
/// Returns None when a side is empty or `a`'s median is zero.
pub fn bootstrap_relative_diff(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<Interval> {
    let ma = median(a)?;
    median(b)?;
    if ma == 0.0 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut diffs = Vec::with_capacity(resamples.max(1));
    let mut ra = vec![0.0; a.len()];
    let mut rb = vec![0.0; b.len()];
    for _ in 0..resamples.max(1) {
        for x in ra.iter_mut() {
            *x = a[rng.gen_range(0..a.len())];
        }
        for x in rb.iter_mut() {
            *x = b[rng.gen_range(0..b.len())];
        }
        let (Some(sa), Some(sb)) = (median(&ra), median(&rb)) else {
            continue;
        };
        if sa != 0.0 {
            diffs.push(100.0 * (sb - sa) / sa);
        }
    }
    if diffs.is_empty() {
        return None;
    }
    diffs.sort_by(|x, y| x.total_cmp(y));
    let alpha = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Some(Interval {
        low: quantile_sorted(&diffs, alpha),
        high: quantile_sorted(&diffs, 1.0 - alpha),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn median_and_aggregate() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let a = Aggregate::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((a.min, a.median, a.max), (1.0, 2.0, 3.0));
        assert!((a.stdev - 1.0).abs() < 1e-12);
        assert!((a.spread_pct - 100.0).abs() < 1e-12);
    }

    #[test]
    fn median_ci_uses_order_statistics() {
        assert_eq!(median_ci(&[1.0, 2.0], 0.95), None);
        // Few samples: [min, max].
        let i = median_ci(&[3.0, 1.0, 2.0], 0.95).unwrap();
        assert_eq!((i.low, i.high), (1.0, 3.0));
        // 10 samples: P(Bin(10, ½) ≤ 1) = 11/1024 ≤ 2.5 %, P(≤ 2) = 56/1024 > 2.5 % → k = 2.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let i = median_ci(&v, 0.95).unwrap();
        assert_eq!((i.low, i.high), (2.0, 9.0));
        // 20 samples: k = 6 (P(≤ 5) = 2.07 %).
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let i = median_ci(&v, 0.95).unwrap();
        assert_eq!((i.low, i.high), (6.0, 15.0));
        let a = Aggregate::of(&[0.41, 0.409, 0.415, 0.412, 0.411]).unwrap();
        let ci = a.ci.unwrap();
        assert!(ci.low <= a.median && a.median <= ci.high);
        assert_eq!((ci.low, ci.high), (0.409, 0.415));
    }

    #[test]
    fn bootstrap_is_seeded_and_separates_clear_differences() {
        let a = [100.0, 101.0, 99.0, 100.5, 99.5];
        let b = [110.0, 111.0, 109.0, 110.5, 109.5];
        let i1 = bootstrap_relative_diff(&a, &b, 2000, 0.95, 7).unwrap();
        let i2 = bootstrap_relative_diff(&a, &b, 2000, 0.95, 7).unwrap();
        assert_eq!(i1, i2);
        assert!(i1.low > 5.0 && i1.high < 15.0, "{i1:?}");
        let same = bootstrap_relative_diff(&a, &a, 2000, 0.95, 7).unwrap();
        assert!(same.low <= 0.0 && same.high >= 0.0, "{same:?}");
    }
}
