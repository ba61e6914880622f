//! A self-contained HTML page of a comparison (`compare --html FILE`), styled like
//! report.html: what was compared, the gate's decision, the table of metrics with verdicts and
//! confidence intervals, and a plot of every metric's change with its interval and noise band.
//! No scripts, no external resources.

use std::fmt::Write as _;

use crate::compare::{fmt_value, Comparison, MetricComparison, Verdict};
use crate::html::{escape, strip_xml_declaration, STYLE};
use crate::plot;
use crate::report::Report;

/// One side of the comparison: how the user named it and the report read from there.
pub struct Side<'a> {
    pub label: &'a str,
    pub report: &'a Report,
}

/// css class of a verdict (same classes as report.html).
fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "sound",
        Verdict::Worse => "bad",
        Verdict::NoSignificantDifference => "muted",
        Verdict::Inconclusive | Verdict::Limited => "limited",
    }
}

const VERDICTS: &[(&str, &str)] = &[
    (
        "better / WORSE",
        "the whole confidence interval of the difference lies beyond the metric's noise \
         threshold, in the better or worse direction.",
    ),
    (
        "no significant difference",
        "the interval reaches into the noise band: the runs do not tell the two apart.",
    ),
    (
        "inconclusive",
        "too few repetitions for an interval (fewer than 3 valid rounds on a side); never fails \
         the gate.",
    ),
    (
        "limited",
        "a side is a lower bound set by the measurement (generator, sink, ceiling, max rate), \
         not a property of the engines.",
    ),
];

/// The whole page. `a` and `b` are the same report for a side-by-side comparison.
pub fn comparison_html(cmp: &Comparison, a: &Side<'_>, b: &Side<'_>) -> String {
    let mut h = String::new();
    let title = if a.report.topology == b.report.topology {
        format!("coo-bench compare: {}", a.report.topology)
    } else {
        format!(
            "coo-bench compare: {} vs {}",
            a.report.topology, b.report.topology
        )
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{0}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
        escape(&title)
    );
    h.push_str(
        "<table id=\"sides\">\n<tr><th class=\"l\">side</th><th class=\"l\">report</th>\
                <th class=\"l\">topology</th><th class=\"l\">started</th><th class=\"l\">host</th>\
                <th class=\"l\">tool</th></tr>\n",
    );
    for (name, s) in [("A", a), ("B", b)] {
        let r = s.report;
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{name}</td><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td>\
             <td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{} {}{}</td></tr>",
            escape(s.label),
            escape(&r.topology),
            escape(&r.started_at),
            escape(&r.host.cpu_model),
            escape(&r.tool.name),
            escape(&r.tool.version),
            r.tool
                .git_revision
                .as_deref()
                .map_or(String::new(), |g| format!(" (git {})", escape(g))),
        );
    }
    h.push_str("</table>\n");
    if !cmp.pairs.is_empty() {
        let pairs: Vec<String> = cmp
            .pairs
            .iter()
            .map(|(x, y)| format!("<code>{}</code> → <code>{}</code>", escape(x), escape(y)))
            .collect();
        let _ = writeln!(h, "<p>Variant pairs (A → B): {}.</p>", pairs.join(", "));
    }
    gate(&mut h, cmp);
    table(&mut h, cmp);
    if !cmp.metrics.is_empty() {
        match plot::change_svg(cmp) {
            Ok(svg) => {
                let _ = writeln!(
                    h,
                    "<h2 id=\"plot\">Change per metric</h2>\n<figure>{}<figcaption>(B − A) / A in \
                     percent: dot = difference, bar = its 95 % confidence interval (none for a \
                     single measurement), grey band = the metric's noise threshold; colour = \
                     verdict.</figcaption></figure>",
                    strip_xml_declaration(&svg)
                );
            }
            Err(e) => {
                let _ = writeln!(h, "<p class=\"muted\">{}</p>", escape(&e.to_string()));
            }
        }
    }
    crate::html::list_section(&mut h, "warnings", "Warnings", &cmp.warnings);
    h.push_str("<h2 id=\"verdicts\">Verdicts</h2>\n<dl>\n");
    for (term, meaning) in VERDICTS {
        let _ = writeln!(h, "<dt>{term}</dt><dd>{meaning}</dd>");
    }
    let _ = writeln!(
        h,
        "</dl>\n<p class=\"muted\">Intervals: seeded percentile bootstrap of the medians' relative \
         difference (level {}, {} resamples, seed {}).</p>\n</body>\n</html>",
        cmp.options.level, cmp.options.resamples, cmp.options.seed
    );
    h
}

fn gate(h: &mut String, cmp: &Comparison) {
    let Some(g) = &cmp.gate else { return };
    if g.reasons.is_empty() {
        let _ = writeln!(
            h,
            "<p id=\"gate\" class=\"sound\">Gate passed (--fail-if-worse {}).</p>",
            g.fail_if_worse_pct
        );
        return;
    }
    let _ = writeln!(
        h,
        "<p id=\"gate\" class=\"bad\">Gate failed (--fail-if-worse {}):</p>\n<ul>",
        g.fail_if_worse_pct
    );
    for r in &g.reasons {
        let _ = writeln!(h, "<li>{}</li>", escape(r));
    }
    h.push_str("</ul>\n");
}

fn table(h: &mut String, cmp: &Comparison) {
    h.push_str("<h2 id=\"metrics\">Metrics</h2>\n");
    if cmp.metrics.is_empty() {
        h.push_str("<p class=\"bad\">No measured (variant, frame size) in common.</p>\n");
        return;
    }
    h.push_str(
        "<table id=\"compare-table\">\n<tr><th class=\"l\">variant</th><th>frame</th>\
         <th class=\"l\">metric</th><th>A</th><th>B</th><th>diff</th><th>95 % CI</th>\
         <th>noise</th><th class=\"l\">method</th><th class=\"l\">verdict</th></tr>\n",
    );
    for m in &cmp.metrics {
        row(h, m);
    }
    h.push_str("</table>\n");
}

fn row(h: &mut String, m: &MetricComparison) {
    let _ = writeln!(
        h,
        "<tr data-variant=\"{}\" data-metric=\"{}\"><td class=\"l\">{}</td><td>{} B</td>\
         <td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:+.2} %</td><td>{}</td><td>±{:.2} %</td>\
         <td class=\"l\">{}</td><td class=\"l {}\">{}</td></tr>",
        escape(&m.variant),
        escape(&m.metric),
        escape(&m.label()),
        m.frame_size,
        escape(&m.metric),
        escape(&fmt_value(m.a, &m.unit)),
        escape(&fmt_value(m.b, &m.unit)),
        m.diff_pct,
        m.ci.map_or("–".into(), |c| format!(
            "[{:+.2}, {:+.2}] %",
            c.low, c.high
        )),
        m.noise_pct,
        escape(&m.method),
        class(m.verdict),
        escape(&m.verdict.to_string()),
    );
}
