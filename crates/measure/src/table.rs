//! Terminal table comparing the variants of one report, with ratios vs the baseline.

use std::fmt::Write as _;

use crate::report::{
    FrameSizeResult, LatencyPoint, Report, VariantReport, VariantRole, VariantStatus,
};
use crate::trial::{Direction, TrialRecord};

fn mpps(pps: f64) -> String {
    format!("{:.3}", pps / 1e6)
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

/// The variant's name with its role (`kernel-forward (baseline)`, `direct (ceiling)`).
pub fn variant_label(v: &VariantReport) -> String {
    match v.role {
        VariantRole::Ceiling => format!("{} (ceiling)", v.name),
        VariantRole::Baseline => format!("{} (baseline)", v.name),
        VariantRole::Variant => v.name.clone(),
    }
}

/// Median NDR in Mpps with its 95 % confidence interval from the repetitions, when there is
/// one: `0.412 [0.409, 0.415]`.
pub fn ndr_with_ci(a: &crate::stats::Aggregate) -> String {
    match &a.ci {
        Some(ci) => format!("{} [{}, {}]", mpps(a.median), mpps(ci.low), mpps(ci.high)),
        None => mpps(a.median),
    }
}

/// Renders a fixed-width table: one line per (variant, frame size).
pub fn variants_table(report: &Report) -> String {
    let header = [
        "variant",
        "frame",
        "NDR Mpps [95% CI]",
        "±spread",
        "limit",
        "vs base",
        "PDR Mpps",
        "lat load",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "notes",
    ];
    let ncol = header.len();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for v in &report.variants {
        match &v.status {
            VariantStatus::Skipped { reason } => {
                rows.push(row_with_note(
                    &variant_label(v),
                    ncol,
                    format!("skipped: {reason}"),
                ));
                continue;
            }
            VariantStatus::Failed { error } => {
                rows.push(row_with_note(
                    &variant_label(v),
                    ncol,
                    format!("failed: {}", error.lines().next().unwrap_or("")),
                ));
                continue;
            }
            VariantStatus::Measured => {}
        }
        for r in &v.results {
            let ndr = r.ndr.as_ref();
            // Latency at the run's common load closest to 50 % (same offered rate for every
            // variant); without common loads, the variant's own point closest to 50 %.
            let common: Option<Vec<f64>> = report
                .latency_loads
                .as_ref()
                .filter(|c| c.frame_size == r.frame_size)
                .map(|c| c.loads.iter().map(|(p, _)| *p).collect());
            let lat = r
                .latency
                .iter()
                .filter(|l| l.probe.is_some())
                .filter(|l| {
                    common
                        .as_ref()
                        .is_none_or(|c| c.iter().any(|p| (p - l.load_pct).abs() < 1e-9))
                })
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
            let ratio = report.ratio_vs_baseline(v, r.frame_size);
            if ratio.is_none() && v.role == VariantRole::Variant && r.ndr.is_some() {
                if let Some(l) = report
                    .baseline_variant()
                    .and_then(|b| b.result(r.frame_size))
                    .and_then(|b| b.limit.as_ref())
                {
                    notes.push(format!(
                        "no vs-base: the baseline is {} (a lower bound)",
                        l.short_name()
                    ));
                } else if let Some(l) = &r.limit {
                    notes.push(format!("no vs-base: {} (a lower bound)", l.short_name()));
                }
            }
            if r.directions.is_some() {
                notes.insert(
                    0,
                    "both directions (the worse decides; load per direction)".into(),
                );
            }
            rows.push(vec![
                variant_label(v),
                r.frame_size.to_string(),
                ndr.map_or("-".into(), ndr_with_ci),
                ndr.map_or("-".into(), |a| format!("{:.1}%", a.spread_pct)),
                r.limit
                    .as_ref()
                    .map_or("-".into(), |l| l.short_name().to_string()),
                ratio.map_or("-".into(), |x| format!("{x:.2}×")),
                r.pdr.as_ref().map_or("-".into(), |a| mpps(a.median)),
                lat.map_or("-".into(), |l| format!("{}%", l.load_pct)),
                probe.map_or("-".into(), |p| us(p.p50_ns)),
                probe.map_or("-".into(), |p| us(p.p99_ns)),
                probe.map_or("-".into(), |p| us(p.p999_ns)),
                probe.map_or("-".into(), |p| us(p.max_ns)),
                notes.join(" "),
            ]);
            rows.extend(direction_rows(r, lat));
        }
    }
    render(&header, &rows)
}

/// One row per direction under a bidirectional result: that direction's own NDR (`≥` when it
/// never failed at the loads tried), PDR, latency at the same load as the main row, and its
/// loss at the NDR of both directions.
fn direction_rows(r: &FrameSizeResult, lat: Option<&LatencyPoint>) -> Vec<Vec<String>> {
    let Some(dirs) = &r.directions else {
        return Vec::new();
    };
    Direction::BOTH
        .iter()
        .map(|d| {
            let x = dirs.get(*d);
            let probe = lat.and_then(|l| l.probe_of(*d));
            let ge = if x.ndr_is_lower_bound { "≥ " } else { "" };
            vec![
                format!("  {}", d.name()),
                r.frame_size.to_string(),
                x.ndr
                    .as_ref()
                    .map_or("-".into(), |a| format!("{ge}{}", ndr_with_ci(a))),
                x.ndr
                    .as_ref()
                    .map_or("-".into(), |a| format!("{:.1}%", a.spread_pct)),
                "-".into(),
                "-".into(),
                x.pdr.as_ref().map_or("-".into(), |a| mpps(a.median)),
                lat.map_or("-".into(), |l| format!("{}%", l.load_pct)),
                probe.map_or("-".into(), |p| us(p.p50_ns)),
                probe.map_or("-".into(), |p| us(p.p99_ns)),
                probe.map_or("-".into(), |p| us(p.p999_ns)),
                probe.map_or("-".into(), |p| us(p.max_ns)),
                x.loss_at_ndr_pct
                    .map_or(String::new(), |l| format!("loss at NDR {l:.4}%")),
            ]
        })
        .collect()
}

fn row_with_note(name: &str, ncol: usize, note: String) -> Vec<String> {
    let mut r = vec!["-".to_string(); ncol];
    r[0] = name.to_string();
    r[ncol - 1] = note;
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

/// For every measured (variant, frame size): the lossy trial just above its NDR (at the last
/// repetition's upper bound), the one loss attribution looks at.
pub fn trials_above_ndr(
    report: &Report,
) -> impl Iterator<Item = (&VariantReport, &FrameSizeResult, &TrialRecord)> {
    report
        .variants
        .iter()
        .filter(|v| v.status == VariantStatus::Measured)
        .flat_map(|v| v.results.iter().map(move |r| (v, r)))
        .filter_map(|(v, r)| {
            let rep = r.repetitions.last()?;
            let upper = rep.ndr.as_ref().and_then(|g| g.upper_pps)?;
            let t = rep.trials.iter().rev().find(|t| {
                t.is_valid()
                    && (t.requested_rate_pps - upper).abs() < 1e-6
                    && t.total_sent_lost().1 > 0
            })?;
            Some((v, r, t))
        })
}

/// [`attribution`], and when `chain` names the VNFs of a linear chain in traffic order, the
/// frames each hop lost between one counter and the next (source → first VNF, VNF → VNF,
/// last VNF → sink): which link a loss that no NF counted happened on.
pub fn attribution_along(report: &Report, chain: Option<&[String]>) -> String {
    let mut out = String::new();
    for (v, r, t) in trials_above_ndr(report) {
        let nf_drops: u64 = t.nf_counters.iter().map(|n| n.dropped).sum();
        // NF counters count both directions of a bidirectional trial: so does the loss here.
        let (lost, loss_pct) = lost_both_ways(t);
        let parts: Vec<String> = t
            .nf_counters
            .iter()
            .map(|n| format!("{} {}", n.vnf, n.dropped))
            .collect();
        // Hop losses follow the forward path; with replies in the counters they would not add up.
        let links = chain
            .filter(|_| !t.is_bidirectional())
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
            lost,
            loss_pct,
            if parts.is_empty() { "-".to_string() } else { parts.join(", ") },
            lost.saturating_sub(nf_drops)
        );
    }
    out
}

/// Frames lost by a trial and its loss percentage, both directions together (the forward
/// direction's alone for a forward-only trial).
pub fn lost_both_ways(t: &TrialRecord) -> (u64, f64) {
    let (sent, lost) = t.total_sent_lost();
    let pct = if sent == 0 {
        100.0
    } else {
        100.0 * lost as f64 / sent as f64
    };
    (lost, pct)
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
