//! A comparison as GitHub-flavoured Markdown (`compare --markdown FILE`), short enough for a CI
//! job summary (`$GITHUB_STEP_SUMMARY`): the gate's decision first, then one row per metric.

use std::fmt::Write as _;

use crate::compare::{Comparison, MetricComparison, Verdict};
use crate::report::VariantRole;

/// Escapes the characters that would break a Markdown table cell or start markup.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('\n', " ")
}

fn value(v: f64, unit: &str) -> String {
    match unit {
        "pps" => format!("{:.4} Mpps", v / 1e6),
        "us" => format!("{v:.1} µs"),
        _ => format!("{v:.3}"),
    }
}

fn label(m: &MetricComparison) -> String {
    let mut s = match &m.b_variant {
        Some(b) => format!("{}→{b}", m.variant),
        None => m.variant.clone(),
    };
    match m.role {
        VariantRole::Ceiling => s.push_str(" (ceiling)"),
        VariantRole::Baseline => s.push_str(" (baseline)"),
        VariantRole::Variant => {}
    }
    s
}

fn verdict(v: Verdict) -> String {
    match v {
        Verdict::Worse => "❌ **WORSE**".into(),
        Verdict::Better => "✅ better".into(),
        other => other.to_string(),
    }
}

/// `a_label`/`b_label` name the two reports (paths or timestamps).
pub fn comparison_markdown(cmp: &Comparison, a_label: &str, b_label: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## coo-bench compare\n");
    let _ = writeln!(md, "A = `{}`, B = `{}`\n", cell(a_label), cell(b_label));
    match &cmp.gate {
        Some(g) if g.reasons.is_empty() => {
            let _ = writeln!(
                md,
                "**Gate passed** (`--fail-if-worse {}`).\n",
                g.fail_if_worse_pct
            );
        }
        Some(g) => {
            let _ = writeln!(
                md,
                "**Gate failed** (`--fail-if-worse {}`):\n",
                g.fail_if_worse_pct
            );
            for r in &g.reasons {
                let _ = writeln!(md, "- {}", cell(r));
            }
            md.push('\n');
        }
        None => {}
    }
    if cmp.metrics.is_empty() {
        md.push_str("No measured (variant, frame size) in common.\n");
    } else {
        md.push_str("| variant | frame | metric | A | B | diff | 95 % CI | noise | verdict |\n");
        md.push_str("|---|---:|---|---:|---:|---:|---:|---:|---|\n");
        for m in &cmp.metrics {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:+.2} % | {} | ±{:.2} % | {} |",
                cell(&label(m)),
                m.frame_size,
                cell(&m.metric),
                value(m.a, &m.unit),
                value(m.b, &m.unit),
                m.diff_pct,
                m.ci.map_or("–".into(), |c| format!(
                    "[{:+.2}, {:+.2}] %",
                    c.low, c.high
                )),
                m.noise_pct,
                verdict(m.verdict),
            );
        }
    }
    if !cmp.warnings.is_empty() {
        md.push('\n');
        for w in &cmp.warnings {
            let _ = writeln!(md, "> warning: {}", cell(w));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d"), "a\\|b c&lt;d");
    }
}
