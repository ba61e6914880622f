//! Terminal table comparing the variants of one report, with ratios vs the baseline.

use std::fmt::Write as _;

use crate::report::{Report, VariantStatus};

fn mpps(pps: f64) -> String {
    format!("{:.3}", pps / 1e6)
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

/// Renders a fixed-width table: one line per (variant, frame size).
pub fn variants_table(report: &Report) -> String {
    let header = [
        "variant",
        "frame",
        "NDR Mpps",
        "±spread",
        "vs base",
        "PDR Mpps",
        "lat load",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "notes",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for v in &report.variants {
        match &v.status {
            VariantStatus::Skipped { reason } => {
                rows.push(row_with_note(&v.name, format!("skipped: {reason}")));
                continue;
            }
            VariantStatus::Failed { error } => {
                rows.push(row_with_note(
                    &v.name,
                    format!("failed: {}", error.lines().next().unwrap_or("")),
                ));
                continue;
            }
            VariantStatus::Measured => {}
        }
        for r in &v.results {
            let ndr = r.ndr.as_ref();
            let lat = r
                .latency
                .iter()
                .filter(|l| l.probe.is_some())
                .min_by(|a, b| {
                    (a.load_pct - 50.0)
                        .abs()
                        .total_cmp(&(b.load_pct - 50.0).abs())
                });
            let probe = lat.and_then(|l| l.probe.as_ref());
            let mut notes: Vec<String> = Vec::new();
            for rep in &r.repetitions {
                for g in [&rep.ndr, &rep.pdr].into_iter().flatten() {
                    for f in &g.flags {
                        let s = format!("{}:{}", g.goal, f.short_name());
                        if !notes.contains(&s) {
                            notes.push(s);
                        }
                    }
                }
            }
            rows.push(vec![
                v.name.clone(),
                r.frame_size.to_string(),
                ndr.map_or("-".into(), |a| mpps(a.median)),
                ndr.map_or("-".into(), |a| format!("{:.1}%", a.spread_pct)),
                report
                    .ratio_vs_baseline(v, r.frame_size)
                    .map_or("-".into(), |x| format!("{x:.2}×")),
                r.pdr.as_ref().map_or("-".into(), |a| mpps(a.median)),
                lat.map_or("-".into(), |l| format!("{}%", l.load_pct)),
                probe.map_or("-".into(), |p| us(p.p50_ns)),
                probe.map_or("-".into(), |p| us(p.p99_ns)),
                probe.map_or("-".into(), |p| us(p.p999_ns)),
                probe.map_or("-".into(), |p| us(p.max_ns)),
                notes.join(" "),
            ]);
        }
    }
    render(&header, &rows)
}

fn row_with_note(name: &str, note: String) -> Vec<String> {
    let mut r = vec!["-".to_string(); 12];
    r[0] = name.to_string();
    r[11] = note;
    r
}

/// Left-aligned first column, right-aligned numbers, last column free text.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            if i == 0 || i + 1 == n {
                let _ = write!(out, "{c}{}", " ".repeat(if i + 1 == n { 0 } else { pad }));
            } else {
                let _ = write!(out, "{}{c}", " ".repeat(pad));
            }
            if i + 1 < n {
                out.push_str("  ");
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    let total: usize = widths.iter().sum::<usize>() + 2 * (n - 1);
    out.push_str(&"-".repeat(total.min(160)));
    out.push('\n');
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// Where the frames were lost in the trial just above NDR (its upper bound): per-NF drops from
/// the agents' counters, and what no NF accounts for (links, bridges, the sink).
pub fn attribution(report: &Report) -> String {
    attribution_along(report, None)
}

/// [`attribution`], and when `chain` names the VNFs of a linear chain in traffic order, the
/// frames each hop lost between one counter and the next (source → first VNF, VNF → VNF,
/// last VNF → sink): which link a loss that no NF counted happened on.
pub fn attribution_along(report: &Report, chain: Option<&[String]>) -> String {
    let mut out = String::new();
    for v in report
        .variants
        .iter()
        .filter(|v| v.status == VariantStatus::Measured)
    {
        for r in &v.results {
            let Some(rep) = r.repetitions.last() else {
                continue;
            };
            let Some(upper) = rep.ndr.as_ref().and_then(|g| g.upper_pps) else {
                continue;
            };
            let Some(t) = rep.trials.iter().rev().find(|t| {
                t.is_valid() && (t.requested_rate_pps - upper).abs() < 1e-6 && t.lost > 0
            }) else {
                continue;
            };
            let nf_drops: u64 = t.nf_counters.iter().map(|n| n.dropped).sum();
            let parts: Vec<String> = t
                .nf_counters
                .iter()
                .map(|n| format!("{} {}", n.vnf, n.dropped))
                .collect();
            let links = chain
                .and_then(|c| hop_losses(t, c))
                .filter(|h| !h.is_empty())
                .map(|h| format!("; on links: {}", h.join(", ")))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {} B at {} Mpps: lost {} ({:.3}%): dropped by NF: {}; elsewhere (links, bridges, sink): {}{links}",
                v.name,
                r.frame_size,
                mpps(t.requested_rate_pps),
                t.lost,
                t.loss_pct(),
                if parts.is_empty() { "-".to_string() } else { parts.join(", ") },
                t.lost.saturating_sub(nf_drops)
            );
        }
    }
    out
}

/// Frames that went missing on each hop of `chain` in trial `t` (`a→b N`, hops with a loss
/// only); `None` when a VNF of the chain has no counters in the trial.
fn hop_losses(t: &crate::TrialRecord, chain: &[String]) -> Option<Vec<String>> {
    let counters = chain
        .iter()
        .map(|id| t.nf_counters.iter().find(|n| &n.vnf == id))
        .collect::<Option<Vec<_>>>()?;
    let (first, last) = (counters.first()?, counters.last()?);
    let mut hops = vec![(
        format!("source→{}", first.vnf),
        t.sent.saturating_sub(first.packets_in),
    )];
    for w in counters.windows(2) {
        hops.push((
            format!("{}→{}", w[0].vnf, w[1].vnf),
            w[0].packets_out.saturating_sub(w[1].packets_in),
        ));
    }
    hops.push((
        format!("{}→sink", last.vnf),
        last.packets_out.saturating_sub(t.received),
    ));
    Some(
        hops.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(h, n)| format!("{h} {n}"))
            .collect(),
    )
}
