//! A self-contained HTML page of one report (`report.html` next to report.json): everything a
//! reader needs without network access — summary table with verdicts and confidence intervals,
//! the SVG plots inline, per-NF loss attribution, host and CPU placement, how each engine ran,
//! and what every soundness flag that occurs means. No scripts, no external resources.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::plot;
use crate::report::{FrameSizeResult, Report, VariantReport, VariantRole, VariantStatus};
use crate::search::ResultFlag;
use crate::table::variant_label;
use crate::trial::{Direction, SoundnessFlag};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn mpps(pps: f64) -> String {
    format!("{:.3}", pps / 1e6)
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

pub(crate) const STYLE: &str =
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}\
th{background:#f0f0f0}td.l,th.l{text-align:left}\
.sound{color:#1a7f37;font-weight:bold}.limited{color:#9a6700;font-weight:bold}\
.bad{color:#cf222e;font-weight:bold}.muted{color:#777}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}\
dt{font-weight:bold;margin-top:.5em}code{background:#f6f8fa;padding:0 .2em}";

/// The whole page.
pub fn report_html(report: &Report) -> String {
    let mut h = String::new();
    let title = format!("coo-bench report: {}", report.topology);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    header(&mut h, report);
    summary(&mut h, report);
    plots(&mut h, report);
    attribution(&mut h, report);
    engines(&mut h, report);
    host(&mut h, report);
    flags(&mut h, report);
    list_section(&mut h, "notes", "Notes", &report.notes);
    h.push_str("</body>\n</html>\n");
    h
}

/// `<h2 id=ID>TITLE</h2>` and a list of `items` (nothing when there are none).
pub(crate) fn list_section(h: &mut String, id: &str, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h2 id=\"{id}\">{title}</h2>\n<ul>");
    for item in items {
        let _ = writeln!(h, "<li>{}</li>", escape(item));
    }
    h.push_str("</ul>\n");
}

fn header(h: &mut String, r: &Report) {
    let _ = writeln!(
        h,
        "<p>Topology <code>{}</code> ({}), {} → {}; {} {}{}. Settings: {} rounds, frame sizes {}, \
         {}{}. Raw data: <a href=\"report.json\">report.json</a>, <a href=\"report.csv\">report.csv</a>.</p>",
        escape(&r.topology),
        escape(&r.topology_path),
        escape(&r.started_at),
        escape(&r.finished_at),
        escape(&r.tool.name),
        escape(&r.tool.version),
        r.tool
            .git_revision
            .as_deref()
            .map_or(String::new(), |g| format!(" (git {})", escape(g))),
        r.settings.repetitions,
        r.settings
            .frame_sizes
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        if r.settings.quick { "quick, " } else { "" },
        r.settings
            .io_mode
            .as_deref()
            .map_or("engine default I/O".to_string(), |m| format!(
                "I/O mode {}",
                escape(m)
            )),
    );
    if !r.settings.direction.is_forward() {
        h.push_str(
            "<p id=\"bidirectional\">Bidirectional: every chain trial also sent replies from the \
             Outgoing to the Incoming Point. Offered loads are <b>per direction</b>; a load passes \
             only when both directions pass (NDR/PDR rows), and each direction is also judged \
             alone (indented rows: <i>≥</i> = that direction never failed at the loads tried). \
             The ceiling is measured forward only.</p>\n",
        );
    }
}

/// (css class, text) of a frame-size result's verdict.
fn verdict(r: &FrameSizeResult) -> (&'static str, String) {
    match (&r.ndr, &r.limit) {
        (None, _) => ("bad", "no NDR".into()),
        (Some(_), Some(l)) => ("limited", format!("lower bound: {}", l.short_name())),
        (Some(_), None) => ("sound", "sound".into()),
    }
}

fn summary(h: &mut String, r: &Report) {
    h.push_str(
        "<h2 id=\"summary\">Summary</h2>\n<p>Medians over the rounds with the 95 % confidence \
         interval of the median (with ≥ 3 rounds). A <span class=\"limited\">lower bound</span> \
         is set by the measurement (generator, sink, ceiling, max rate), not the chain, and is \
         never a ratio's denominator.</p>\n<table id=\"summary-table\">\n<tr><th class=\"l\">variant</th>\
         <th class=\"l\">verdict</th><th>frame</th><th>NDR Mpps</th><th>95 % CI</th><th>±spread</th>\
         <th>vs base</th><th>PDR Mpps</th><th>latency load</th><th>p50 µs</th><th>p99 µs</th>\
         <th>p99.9 µs</th><th class=\"l\">flags</th></tr>\n",
    );
    for v in &r.variants {
        let label = escape(&variant_label(v));
        match &v.status {
            VariantStatus::Skipped { reason } => {
                let _ = writeln!(
                    h,
                    "<tr data-variant=\"{}\"><td class=\"l\">{label}</td><td class=\"l muted\">skipped</td>\
                     <td class=\"l\" colspan=\"11\">{}</td></tr>",
                    escape(&v.name),
                    escape(reason)
                );
            }
            VariantStatus::Failed { error } => {
                let _ = writeln!(
                    h,
                    "<tr data-variant=\"{}\"><td class=\"l\">{label}</td><td class=\"l bad\">failed</td>\
                     <td class=\"l\" colspan=\"11\">{}</td></tr>",
                    escape(&v.name),
                    escape(error)
                );
            }
            VariantStatus::Measured => {
                for fr in &v.results {
                    summary_row(h, r, v, fr);
                }
            }
        }
    }
    h.push_str("</table>\n");
}

fn summary_row(h: &mut String, r: &Report, v: &VariantReport, fr: &FrameSizeResult) {
    let (class, text) = verdict(fr);
    let ndr = fr.ndr.as_ref();
    let lat = fr
        .latency
        .iter()
        .filter(|l| l.probe.is_some())
        .min_by(|a, b| {
            (a.load_pct - 50.0)
                .abs()
                .total_cmp(&(b.load_pct - 50.0).abs())
        });
    let probe = lat.and_then(|l| l.probe.as_ref());
    let mut flags: Vec<String> = Vec::new();
    for rep in &fr.repetitions {
        for g in [&rep.ndr, &rep.pdr].into_iter().flatten() {
            for f in &g.flags {
                let s = format!("{}:{}", g.goal, f.short_name());
                if !flags.contains(&s) {
                    flags.push(s);
                }
            }
        }
    }
    let dash = || "–".to_string();
    let _ = writeln!(
        h,
        "<tr data-variant=\"{}\"><td class=\"l\">{}</td><td class=\"l {class}\">{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td class=\"l\">{}</td></tr>",
        escape(&v.name),
        escape(&variant_label(v)),
        escape(&text),
        fr.frame_size,
        ndr.map_or_else(dash, |a| mpps(a.median)),
        ndr.and_then(|a| a.ci.as_ref())
            .map_or_else(dash, |ci| format!("[{}, {}]", mpps(ci.low), mpps(ci.high))),
        ndr.map_or_else(dash, |a| format!("{:.1} %", a.spread_pct)),
        r.ratio_vs_baseline(v, fr.frame_size)
            .map_or_else(dash, |x| format!("{x:.2}×")),
        fr.pdr.as_ref().map_or_else(dash, |a| mpps(a.median)),
        lat.map_or_else(dash, |l| format!(
            "{} % ({} kpps)",
            l.load_pct,
            (l.rate_pps / 1e3).round()
        )),
        probe.map_or_else(dash, |p| us(p.p50_ns)),
        probe.map_or_else(dash, |p| us(p.p99_ns)),
        probe.map_or_else(dash, |p| us(p.p999_ns)),
        escape(&flags.join(" ")),
    );
    let Some(dirs) = &fr.directions else {
        return;
    };
    // Bidirectional: the row above is both directions (the worse decides); one row each.
    for d in Direction::BOTH {
        let x = dirs.get(d);
        let probe = lat.and_then(|l| l.probe_of(d));
        let ge = if x.ndr_is_lower_bound { "≥ " } else { "" };
        let _ = writeln!(
            h,
            "<tr data-variant=\"{}\" data-direction=\"{}\"><td class=\"l\">&nbsp;&nbsp;{}</td>\
             <td class=\"l muted\">one direction</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            escape(&v.name),
            d.name(),
            d.name(),
            fr.frame_size,
            x.ndr
                .as_ref()
                .map_or_else(dash, |a| format!("{ge}{}", mpps(a.median))),
            x.ndr
                .as_ref()
                .and_then(|a| a.ci.as_ref())
                .map_or_else(dash, |ci| format!("[{}, {}]", mpps(ci.low), mpps(ci.high))),
            x.ndr
                .as_ref()
                .map_or_else(dash, |a| format!("{:.1} %", a.spread_pct)),
            dash(),
            x.pdr.as_ref().map_or_else(dash, |a| mpps(a.median)),
            lat.map_or_else(dash, |l| format!("{} %", l.load_pct)),
            probe.map_or_else(dash, |p| us(p.p50_ns)),
            probe.map_or_else(dash, |p| us(p.p99_ns)),
            probe.map_or_else(dash, |p| us(p.p999_ns)),
            x.loss_at_ndr_pct
                .map_or(String::new(), |l| format!("loss at NDR {l:.4} %")),
        );
    }
}

fn plots(h: &mut String, r: &Report) {
    h.push_str("<h2 id=\"plots\">Plots</h2>\n");
    match plot::throughput_svg(r) {
        Ok(svg) => {
            let _ = writeln!(
                h,
                "<figure>{}<figcaption>NDR per frame size (median, whiskers min–max over rounds; \
                 grey: a lower bound set by the measurement).</figcaption></figure>",
                strip_xml_declaration(&svg)
            );
        }
        Err(e) => {
            let _ = writeln!(h, "<p class=\"muted\">{}</p>", escape(&e.to_string()));
        }
    }
    let Some(loads) = &r.latency_loads else {
        h.push_str("<p class=\"muted\">No latency plot: no variant had a sound NDR.</p>\n");
        return;
    };
    for (pct, rate) in &loads.loads {
        match plot::latency_cdf_svg(r, loads.frame_size, *pct) {
            Ok(svg) => {
                let _ = writeln!(
                    h,
                    "<figure>{}<figcaption>Latency CDF at {pct} % of {}'s NDR ({} kpps, {} B), \
                     latency stream.</figcaption></figure>",
                    strip_xml_declaration(&svg),
                    escape(&loads.reference_variant),
                    (rate / 1e3).round(),
                    loads.frame_size
                );
            }
            Err(e) => {
                let _ = writeln!(h, "<p class=\"muted\">{}</p>", escape(&e.to_string()));
            }
        }
    }
}

/// Inline SVG must not carry an XML declaration.
pub(crate) fn strip_xml_declaration(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(svg, |i| rest[i + 2..].trim_start()),
        None => svg,
    }
}

fn attribution(h: &mut String, r: &Report) {
    h.push_str(
        "<h2 id=\"attribution\">Loss attribution</h2>\n<p>In the trial just above each NDR (its \
         upper bound): frames each NF dropped (its counters), and what no NF accounts for \
         (links, bridges, the sink).</p>\n",
    );
    let mut rows = String::new();
    for (v, fr, t) in crate::table::trials_above_ndr(r) {
        let nf_drops: u64 = t.nf_counters.iter().map(|n| n.dropped).sum();
        // NF counters count both directions of a bidirectional trial: so does the loss here.
        let (lost, loss_pct) = crate::table::lost_both_ways(t);
        let per_nf: Vec<String> = t
            .nf_counters
            .iter()
            .map(|n| {
                format!(
                    "{}: {} dropped (in {}, out {}; {})",
                    escape(&n.vnf),
                    n.dropped,
                    n.packets_in,
                    n.packets_out,
                    escape(&n.source)
                )
            })
            .collect();
        let _ = writeln!(
            rows,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3} %</td>\
             <td class=\"l\">{}</td><td>{}</td></tr>",
            escape(&v.name),
            fr.frame_size,
            mpps(t.requested_rate_pps),
            lost,
            loss_pct,
            if per_nf.is_empty() {
                "–".to_string()
            } else {
                per_nf.join("<br>")
            },
            lost.saturating_sub(nf_drops)
        );
    }
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">No trial above an NDR lost frames.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<table id=\"attribution-table\">\n<tr><th class=\"l\">variant</th><th>frame</th>\
             <th>offered Mpps</th><th>lost</th><th>loss</th><th class=\"l\">dropped by NF</th>\
             <th>elsewhere</th></tr>\n{rows}</table>"
        );
    }
}

fn engines(h: &mut String, r: &Report) {
    h.push_str(
        "<h2 id=\"engines\">Engines</h2>\n<p>How each VNF's engine ran in each variant (what \
         decides whether a comparison of engines was like for like); configurations are kept \
         under <code>configs/</code> next to this page.</p>\n<table id=\"engines-table\">\n\
         <tr><th class=\"l\">variant</th><th class=\"l\">VNF</th><th class=\"l\">engine</th>\
         <th class=\"l\">version</th><th class=\"l\">function</th><th class=\"l\">I/O</th>\
         <th class=\"l\">polls</th><th class=\"l\">CPUs</th><th>rx buffer KiB</th>\
         <th class=\"l\">engine options</th><th class=\"l\">configuration</th></tr>\n",
    );
    for v in r.variants.iter().filter(|v| v.role == VariantRole::Variant) {
        for (vnf, engine) in &v.engines {
            let run = v.engine_runs.get(vnf);
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
                 <td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
                 <td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td>\
                 <td class=\"l\">{}</td></tr>",
                escape(&v.name),
                escape(vnf),
                escape(engine),
                escape(r.host.engines.get(engine).map_or("–", String::as_str)),
                escape(v.functions.get(vnf).map_or("–", String::as_str)),
                escape(run.map_or("–", |e| e.io.as_str())),
                run.map_or("–", |e| if e.polls {
                    "busy-polls"
                } else {
                    "sleeps when idle"
                }),
                escape(run.and_then(|e| e.cpus.as_deref()).unwrap_or("–")),
                run.and_then(|e| e.rx_buffer_kib)
                    .map_or("–".to_string(), |k| k.to_string()),
                escape(run.and_then(|e| e.options.as_deref()).unwrap_or("–")),
                run.and_then(|e| e.config.as_deref())
                    .map_or("–".to_string(), |c| format!(
                        "<a href=\"{}\">{}</a>",
                        escape(c),
                        escape(c)
                    )),
            );
        }
    }
    h.push_str("</table>\n");
}

fn host(h: &mut String, r: &Report) {
    let host = &r.host;
    let cpus = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let _ = writeln!(
        h,
        "<h2 id=\"host\">Host and placement</h2>\n<table id=\"host-table\">\n\
         <tr><th class=\"l\">host</th><td class=\"l\">{}</td></tr>\n\
         <tr><th class=\"l\">CPU</th><td class=\"l\">{} × {}</td></tr>\n\
         <tr><th class=\"l\">kernel</th><td class=\"l\">{}</td></tr>\n\
         <tr><th class=\"l\">driver</th><td class=\"l\">{} (accelerator {})</td></tr>\n\
         <tr><th class=\"l\">governor</th><td class=\"l\">{}</td></tr>",
        escape(&host.hostname),
        host.cpu_count,
        escape(&host.cpu_model),
        escape(&host.kernel),
        escape(&host.driver),
        escape(&host.accelerator),
        escape(host.governor.as_deref().unwrap_or("–")),
    );
    for (engine, version) in &host.engines {
        let _ = writeln!(
            h,
            "<tr><th class=\"l\">engine {}</th><td class=\"l\">{}</td></tr>",
            escape(engine),
            escape(version)
        );
    }
    match &r.settings.placement {
        Some(p) => {
            let _ = writeln!(
                h,
                "<tr><th class=\"l\">CPUs available</th><td class=\"l\">{}</td></tr>\n\
                 <tr><th class=\"l\">generator / sinks / NFs</th><td class=\"l\">{} / {} / {}</td></tr>\n\
                 <tr><th class=\"l\">placement ({})</th><td class=\"l\">{}</td></tr>",
                cpus(&p.available),
                cpus(&p.generator),
                cpus(&p.sinks),
                cpus(&p.nfs),
                escape(&p.source),
                escape(&p.rationale),
            );
        }
        None => h.push_str("<tr><th class=\"l\">placement</th><td class=\"l\">none</td></tr>\n"),
    }
    let t = &r.settings.trial;
    let _ = writeln!(
        h,
        "<tr><th class=\"l\">trials</th><td class=\"l\">drain until {} ms quiet (≤ {} s); late after \
         {} ms; probe {} pps; warm-up {} s</td></tr>\n\
         <tr><th class=\"l\">order per round</th><td class=\"l\">{}</td></tr>\n</table>",
        t.drain_quiet_ms,
        t.drain_max_s,
        t.late_after_ms,
        t.probe_pps,
        r.settings.warmup_s,
        escape(&r.settings.order.join(" → ")),
    );
}

/// Every flag and limit this page can show, with what it means.
const GLOSSARY: &[(&str, &str)] = &[
    ("generator-shortfall", "Trial flag: the generator did not reach the requested rate; the generator, not the chain, was the bottleneck. The trial is not used."),
    ("sink-bottleneck", "Trial flag: the sink dropped frames itself (its ring overflowed), so the loss is not the chain's."),
    ("counters-disagree", "Trial flag: independent counters disagree (e.g. sent ≠ received + lost); the trial is not used."),
    ("broken", "Trial flag: the trial did not run as specified (thread error, wrong duration, nothing arrived)."),
    ("catch-up-burst", "Trial flag (a disturbance): the generator fell behind schedule and sent frames back to back to catch up; the search retries the load."),
    ("host-disturbed", "Trial flag (a disturbance): the host was busy with something else (hypervisor steal, other processes); the search retries the load."),
    ("at-max-rate", "No loss up to the configured maximum rate: the real value may be higher (a lower bound)."),
    ("measurement-limited", "The generator or sink could not go higher: the real value may be higher (a lower bound)."),
    ("below-min-rate", "Even the minimum rate lost too much: no NDR."),
    ("trial-budget-exhausted", "The trial budget ran out before the search reached its precision."),
    ("too-many-broken-trials", "Too many broken trials in a row: the search gave up."),
    ("too-many-disturbed-trials", "Too many disturbed trials in a row (the host or the generator kept stalling): the search gave up."),
    ("generator-limited", "Limit: the generator could not offer more (its CPU also carries kernel work of the chain); the NDR is a lower bound."),
    ("sink-limited", "Limit: the sink's ring overflowed; the NDR is a lower bound."),
    ("at-ceiling", "Limit: within the margin of the direct generator→sink ceiling measured in this run; the NDR is a lower bound."),
];

fn flags(h: &mut String, r: &Report) {
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for v in &r.variants {
        for fr in &v.results {
            if let Some(l) = &fr.limit {
                *seen.entry(l.short_name()).or_default() += 1;
            }
            for rep in &fr.repetitions {
                for g in [&rep.ndr, &rep.pdr].into_iter().flatten() {
                    for f in &g.flags {
                        *seen.entry(ResultFlag::short_name(f)).or_default() += 1;
                    }
                }
                for t in &rep.trials {
                    for f in &t.flags {
                        *seen.entry(SoundnessFlag::short_name(f)).or_default() += 1;
                    }
                }
            }
            for l in &fr.latency {
                for f in &l.trial.flags {
                    *seen.entry(SoundnessFlag::short_name(f)).or_default() += 1;
                }
            }
        }
    }
    h.push_str(
        "<h2 id=\"flags\">Soundness flags</h2>\n<p>How often each flag occurred in this run \
         (trials, search results and limits), and what it means.</p>\n<dl id=\"flags-list\">\n",
    );
    for (name, meaning) in GLOSSARY {
        let n = seen.get(name).copied().unwrap_or(0);
        let _ = writeln!(
            h,
            "<dt{}>{name} — {n}×</dt><dd>{}</dd>",
            if n == 0 { " class=\"muted\"" } else { "" },
            escape(meaning)
        );
    }
    h.push_str("</dl>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn strips_the_xml_declaration_only() {
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }

    #[test]
    fn every_flag_and_limit_has_a_glossary_entry() {
        let names = [
            SoundnessFlag::GeneratorShortfall {
                requested_pps: 0.0,
                achieved_pps: 0.0,
            }
            .short_name(),
            SoundnessFlag::SinkBottleneck { sink_drops: 0 }.short_name(),
            SoundnessFlag::CountersDisagree { detail: "".into() }.short_name(),
            SoundnessFlag::Broken { reason: "".into() }.short_name(),
            SoundnessFlag::CatchUpBurst {
                frames: 0,
                lateness_us: 0.0,
            }
            .short_name(),
            SoundnessFlag::HostDisturbed { detail: "".into() }.short_name(),
            ResultFlag::AtMaxRate.short_name(),
            ResultFlag::MeasurementLimited { ceiling_pps: 0.0 }.short_name(),
            ResultFlag::BelowMinRate.short_name(),
            ResultFlag::TrialBudgetExhausted.short_name(),
            ResultFlag::TooManyBrokenTrials.short_name(),
            ResultFlag::TooManyDisturbedTrials.short_name(),
            crate::Limit::Generator { ceiling_pps: 0.0 }.short_name(),
            crate::Limit::Sink.short_name(),
            crate::Limit::Ceiling {
                ceiling_pps: 0.0,
                margin_pct: 0.0,
            }
            .short_name(),
        ];
        for n in names {
            assert!(GLOSSARY.iter().any(|(g, _)| *g == n), "{n} unexplained");
        }
    }
}
