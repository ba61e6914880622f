//! report.csv: one row per (variant, frame size, metric) — tidy "long" format, easy to pivot.
//! The last two columns say what the variant is to the run (`ceiling`, `baseline`, `variant`)
//! and why its result is only a lower bound (`generator-limited`, `at-ceiling`, ...; empty
//! when it is a measurement of the chain).

use std::fmt::Write as _;

use crate::report::{Report, VariantRole, VariantStatus};
use crate::trial::Direction;

/// Renders the CSV text (header included).
pub fn to_csv(report: &Report) -> String {
    let mut out = String::from("variant,status,frame_size,metric,value,unit,role,limit\n");
    for v in &report.variants {
        let status = match &v.status {
            VariantStatus::Measured => "measured",
            VariantStatus::Skipped { .. } => "skipped",
            VariantStatus::Failed { .. } => "failed",
        };
        let role = match v.role {
            VariantRole::Ceiling => "ceiling",
            VariantRole::Baseline => "baseline",
            VariantRole::Variant => "variant",
        };
        if v.results.is_empty() {
            let _ = writeln!(out, "{},{status},,,,,{role},", field(&v.name));
        }
        for r in &v.results {
            let limit = r.limit.as_ref().map_or("", |l| l.short_name());
            let mut row = |metric: &str, value: f64, unit: &str| {
                let _ = writeln!(
                    out,
                    "{},{status},{},{metric},{value},{unit},{role},{limit}",
                    field(&v.name),
                    r.frame_size
                );
            };
            if let Some(ndr) = &r.ndr {
                row("ndr", ndr.median, "pps");
                row("ndr_min", ndr.min, "pps");
                row("ndr_max", ndr.max, "pps");
                if let Some(ci) = &ndr.ci {
                    row("ndr_ci95_low", ci.low, "pps");
                    row("ndr_ci95_high", ci.high, "pps");
                }
                row("ndr_l1", r.frame_size.wire_bps(ndr.median), "bps");
                if let Some(ratio) = report.ratio_vs_baseline(v, r.frame_size) {
                    row("ndr_ratio_vs_baseline", ratio, "ratio");
                }
            }
            if let Some(pdr) = &r.pdr {
                row("pdr", pdr.median, "pps");
                row("pdr_l1", r.frame_size.wire_bps(pdr.median), "bps");
            }
            if let Some(dirs) = &r.directions {
                for d in Direction::BOTH {
                    let x = dirs.get(d);
                    let name = d.name();
                    if let Some(ndr) = &x.ndr {
                        row(&format!("{name}_ndr"), ndr.median, "pps");
                        row(
                            &format!("{name}_ndr_is_lower_bound"),
                            f64::from(u8::from(x.ndr_is_lower_bound)),
                            "bool",
                        );
                    }
                    if let Some(pdr) = &x.pdr {
                        row(&format!("{name}_pdr"), pdr.median, "pps");
                    }
                    if let Some(loss) = x.loss_at_ndr_pct {
                        row(&format!("{name}_loss_at_ndr"), loss, "pct");
                    }
                }
            }
            let common: Option<Vec<f64>> = report
                .latency_loads
                .as_ref()
                .filter(|c| c.frame_size == r.frame_size)
                .map(|c| c.loads.iter().map(|(p, _)| *p).collect());
            for l in &r.latency {
                if common
                    .as_ref()
                    .is_some_and(|c| !c.iter().any(|p| (p - l.load_pct).abs() < 1e-9))
                {
                    continue;
                }
                for d in Direction::BOTH {
                    // Forward-only reports keep their metric names; bidirectional ones add
                    // the reverse direction's with a `reverse_` prefix.
                    let Some(s) = l.probe_of(d) else { continue };
                    let prefix = match d {
                        Direction::Forward => "",
                        Direction::Reverse => "reverse_",
                    };
                    let load = l.load_pct;
                    for (q, ns) in [
                        ("p50", s.p50_ns),
                        ("p90", s.p90_ns),
                        ("p99", s.p99_ns),
                        ("p99.9", s.p999_ns),
                        ("max", s.max_ns),
                    ] {
                        row(
                            &format!("{prefix}latency_{load}pct_{q}"),
                            ns as f64 / 1e3,
                            "us",
                        );
                    }
                }
            }
        }
    }
    out
}

/// Quotes a field when it holds a comma, quote or newline (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
