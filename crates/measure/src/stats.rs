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
        })
    }
}

/// A confidence interval of a relative difference, percent.
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
