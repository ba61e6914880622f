//! Latency summaries and CDF points from an HDR histogram of one-way latencies in nanoseconds.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Percentiles reported for every latency measurement (RFC 2544 asks for more than an average).
pub const REPORTED_PERCENTILES: [f64; 4] = [50.0, 90.0, 99.0, 99.9];

/// Percentiles stored as CDF points (enough for a readable log-scale CDF plot).
const CDF_PERCENTILES: [f64; 17] = [
    0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995,
    99.999, 100.0,
];

/// One-way latency summary; all values in nanoseconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySummary {
    pub samples: u64,
    pub min_ns: u64,
    pub mean_ns: f64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// (percentile, latency ns) points, ascending.
    #[serde(default)]
    pub cdf: Vec<(f64, u64)>,
}

impl LatencySummary {
    /// Summarises a histogram; `None` when it holds no sample.
    pub fn from_histogram(h: &Histogram<u64>) -> Option<LatencySummary> {
        if h.is_empty() {
            return None;
        }
        Some(LatencySummary {
            samples: h.len(),
            min_ns: h.min(),
            mean_ns: h.mean(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            cdf: CDF_PERCENTILES
                .iter()
                .map(|p| (*p, h.value_at_quantile(p / 100.0)))
                .collect(),
        })
    }

    /// Value of one of the [`REPORTED_PERCENTILES`] (or 100 for max).
    pub fn percentile_ns(&self, p: f64) -> Option<u64> {
        match p {
            x if (x - 50.0).abs() < 1e-9 => Some(self.p50_ns),
            x if (x - 90.0).abs() < 1e-9 => Some(self.p90_ns),
            x if (x - 99.0).abs() < 1e-9 => Some(self.p99_ns),
            x if (x - 99.9).abs() < 1e-9 => Some(self.p999_ns),
            x if (x - 100.0).abs() < 1e-9 => Some(self.max_ns),
            _ => None,
        }
    }
}

/// A histogram suitable for one-way latencies: 1 ns .. 100 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant histogram bounds are valid")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn summary_percentiles_follow_the_samples() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = LatencySummary::from_histogram(&h).unwrap();
        assert_eq!(s.samples, 1000);
        assert!((s.p50_ns as f64 - 500_000.0).abs() / 500_000.0 < 0.01);
        assert!((s.p99_ns as f64 - 990_000.0).abs() / 990_000.0 < 0.01);
        assert!(s.max_ns >= 999_000);
        assert!(s.cdf.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(s.percentile_ns(100.0), Some(s.max_ns));
    }

    #[test]
    fn empty_histogram_has_no_summary() {
        assert!(LatencySummary::from_histogram(&new_histogram()).is_none());
    }
}
