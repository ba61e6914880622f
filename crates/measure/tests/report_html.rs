//! The self-contained HTML pages of a report and of a comparison (`compare --html`): structure,
//! content, escaping; and, when Debian's chromium is installed, that a real headless browser
//! renders every variant and every compared metric without console errors.

#![allow(clippy::unwrap_used)]

#[path = "support/browser.rs"]
mod browser;

use measure::report::{
    EngineRun, FrameSizeResult, LatencyPoint, Repetition, VariantReport, VariantStatus,
};
use measure::sim::SimulatedDevice;
use measure::{CommonLoads, FrameSize, Goal, Report, SearchConfig};

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{latency, report, variant};

fn sample() -> Report {
    let mut skipped = variant("reference-click", 1.0e6, 0, 0, 10);
    skipped.status = VariantStatus::Skipped {
        reason: "COO_BENCH_REFERENCE_CLICK not set".into(),
    };
    skipped.results.clear();
    let mut failed = variant("broken <variant>", 1.0e6, 0, 0, 10);
    failed.status = VariantStatus::Failed {
        error: "agent did not start".into(),
    };
    failed.results.clear();
    let mut click = variant("coo-click", 0.6e6, 3, 10, 20);
    click.engine_runs.insert(
        "fw".into(),
        EngineRun {
            engine: "coo-click".into(),
            io: "TPACKET_V2 ring 4096 × 2 KiB, burst 64".into(),
            polls: false,
            cpus: Some("1".into()),
            config: Some("configs/coo-click/fw.click".into()),
            rx_buffer_kib: Some(8192),
            options: Some("burst 32".into()),
        },
    );
    let mut r = report(vec![
        variant("kernel-forward", 1.0e6, 3, 1, 10),
        click,
        skipped,
        failed,
    ]);
    r.host
        .engines
        .insert("coo-click".into(), "coo-click 0.1.0".into());
    r.latency_loads = Some(CommonLoads {
        frame_size: FrameSize::Bytes(64),
        reference_variant: "coo-click".into(),
        reference_ndr_pps: 0.6e6,
        loads: vec![(50.0, 0.3e6)],
    });
    r.notes.push("a note with <markup>".into());
    r
}

#[test]
fn the_page_shows_every_variant_plots_engines_and_flags() {
    let r = sample();
    let html = measure::html::report_html(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    // Self-contained: no external resource, no script.
    for bad in ["<script", "src=\"http", "href=\"http", "<link", "@import"] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
    for v in &r.variants {
        let attr = format!("data-variant=\"{}\"", measure::html::escape(&v.name));
        assert!(html.contains(&attr), "{} missing from the summary", v.name);
    }
    assert!(html.contains("COO_BENCH_REFERENCE_CLICK not set"));
    assert!(html.contains("agent did not start"));
    // Markup in names and notes is escaped, never interpreted.
    assert!(html.contains("broken &lt;variant&gt;") && !html.contains("broken <variant>"));
    assert!(html.contains("a note with &lt;markup&gt;"));
    // Throughput and latency plots inline, without XML declarations.
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "throughput + one latency CDF"
    );
    assert!(!html.contains("<?xml"));
    // The engine configuration, its version and the link to the kept configuration.
    assert!(html.contains("TPACKET_V2 ring 4096 × 2 KiB, burst 64"));
    assert!(html.contains("coo-click 0.1.0"));
    assert!(html.contains("<a href=\"configs/coo-click/fw.click\">"));
    assert!(
        html.contains("<td>8192</td><td class=\"l\">burst 32</td>"),
        "rx buffer and options shown"
    );
    // Verdicts with confidence intervals (3 rounds give one).
    assert!(html.contains("class=\"l sound\">sound</td>"));
    assert!(html.matches("[0.").count() >= 2, "CIs shown");
    assert!(html.contains("generator-shortfall"));
    println!("report.html of the fixture: {} bytes", html.len());
}

#[test]
fn loss_attribution_names_the_dropping_nf() {
    let mut r = sample();
    // The page attributes the last round's trial just above its NDR.
    let rep = r.variants[1].results[0].repetitions.last_mut().unwrap();
    let upper = rep.ndr.as_ref().unwrap().upper_pps.unwrap();
    let t = rep
        .trials
        .iter_mut()
        .rev()
        .find(|t| (t.requested_rate_pps - upper).abs() < 1e-6)
        .unwrap();
    let lost = t.lost;
    assert!(lost > 1);
    t.nf_counters = vec![measure::NfCounters {
        vnf: "nat".into(),
        packets_in: t.sent,
        packets_out: t.sent - lost + 1,
        dropped: lost - 1,
        source: "click-handlers".into(),
        ..Default::default()
    }];
    let html = measure::html::report_html(&r);
    assert!(
        html.contains(&format!("nat: {} dropped", lost - 1)),
        "attribution missing"
    );
    // One frame no NF counted: "elsewhere".
    assert!(html.contains("<td>1</td></tr>"));
}

/// Loads the page in Debian's chromium (headless) and checks the rendered DOM lists every
/// variant; skipped with a reason when chromium is not installed.
#[test]
fn a_headless_browser_renders_every_variant() {
    let Some(chromium) = browser::find() else {
        println!("skip: no chromium on PATH (scripts/setup.sh installs Debian's chromium)");
        return;
    };
    let r = sample();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, measure::html::report_html(&r)).unwrap();
    let out = browser::render(chromium, &page, dir.path());
    assert!(
        out.dom.contains("id=\"summary-table\""),
        "no summary in the DOM"
    );
    for v in &r.variants {
        let attr = format!("data-variant=\"{}\"", measure::html::escape(&v.name));
        assert!(out.dom.contains(&attr), "{} not rendered", v.name);
    }
    assert!(out.dom.contains("<svg"), "plots not rendered");
    assert_eq!(out.console_errors(), Vec::<&str>::new(), "console errors");
}

/// Two runs of the same topology: B's coo-click is clearly faster, its baseline unchanged.
fn two_runs() -> (Report, Report) {
    let a = report(vec![
        variant("kernel-forward", 1.0e6, 5, 1, 10),
        variant("coo-click", 0.6e6, 5, 10, 20),
        variant("x<y>&\"z", 0.5e6, 5, 30, 20),
    ]);
    let mut b = report(vec![
        variant("kernel-forward", 1.0e6, 5, 101, 10),
        variant("coo-click", 0.7e6, 5, 110, 20),
        variant("x<y>&\"z", 0.5e6, 5, 130, 20),
    ]);
    b.started_at = "2026-01-02T00:00:00Z".into();
    (a, b)
}

fn compare_page(a: &Report, b: &Report) -> (measure::Comparison, String) {
    let mut cmp = measure::compare(a, b, &measure::CompareOptions::default());
    let reasons = cmp.gate(a, b, 5.0);
    cmp.gate = Some(measure::compare::GateResult {
        fail_if_worse_pct: 5.0,
        reasons,
    });
    let html = measure::compare_html::comparison_html(
        &cmp,
        &measure::compare_html::Side {
            label: "a/report.json",
            report: a,
        },
        &measure::compare_html::Side {
            label: "b/report.json",
            report: b,
        },
    );
    (cmp, html)
}

#[test]
fn compare_page_has_every_metric_the_plot_and_the_verdicts() {
    let (a, b) = two_runs();
    let (cmp, html) = compare_page(&a, &b);
    println!(
        "compare page: {} bytes, {} metrics",
        html.len(),
        cmp.metrics.len()
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"compare-table\""));
    assert_eq!(
        html.matches("<tr data-variant=").count(),
        cmp.metrics.len(),
        "one row per compared metric"
    );
    let ndr = cmp
        .metrics
        .iter()
        .find(|m| m.variant == "coo-click" && m.metric == "ndr")
        .unwrap();
    assert_eq!(ndr.verdict, measure::Verdict::Better);
    assert!(html.contains("<td class=\"l sound\">better</td>"));
    assert!(html.contains("id=\"gate\" class=\"sound\">Gate passed"));
    // The plot: one point per metric, inline.
    assert!(html.contains("<svg"));
    assert!(html.contains("change of B vs A per metric"));
    assert!(!html.contains("<?xml"));
    // Self-contained: nothing fetched, nothing run.
    for needle in ["<script", "<link", " src=", "@import", "url("] {
        assert!(!html.contains(needle), "page contains {needle}");
    }
    // Names are escaped everywhere.
    assert!(!html.contains("x<y>"));
    assert!(html.contains("x&lt;y&gt;&amp;&quot;z"));
}

#[test]
fn compare_page_shows_a_failed_gate_and_no_common_metric() {
    let (a, mut b) = two_runs();
    b.variants.retain(|v| v.name != "coo-click");
    let (_, html) = compare_page(&a, &b);
    assert!(
        html.contains("Gate failed"),
        "missing variant must fail the gate"
    );
    let empty = report(vec![]);
    let (cmp, html) = compare_page(&empty, &empty);
    assert!(cmp.metrics.is_empty());
    assert!(html.contains("No measured (variant, frame size) in common."));
    assert!(!html.contains("<svg"));
}

/// compare's page in the real browser: every metric row and the plot are rendered.
#[test]
fn a_headless_browser_renders_the_compare_page() {
    let Some(chromium) = browser::find() else {
        println!("skip: no chromium on PATH (scripts/setup.sh installs Debian's chromium)");
        return;
    };
    let (a, b) = two_runs();
    let (cmp, html) = compare_page(&a, &b);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("compare.html");
    std::fs::write(&page, html).unwrap();
    let out = browser::render(chromium, &page, dir.path());
    assert!(out.dom.contains("id=\"compare-table\""));
    // The serializer may escape attribute values differently from ours: count the rows, and
    // look plain names up exactly.
    assert_eq!(out.dom.matches("data-metric=").count(), cmp.metrics.len());
    for m in cmp.metrics.iter().filter(|m| m.variant == "coo-click") {
        let attr = format!("data-variant=\"coo-click\" data-metric=\"{}\"", m.metric);
        assert!(
            out.dom.contains(&attr),
            "coo-click {} not rendered",
            m.metric
        );
    }
    assert!(out.dom.contains("<svg"), "plot not rendered");
    assert_eq!(out.console_errors(), Vec::<&str>::new(), "console errors");
}

/// A bidirectional variant: forward 800 kpps, replies 500 kpps, searched by the worse direction.
fn bidirectional_variant() -> VariantReport {
    use measure::report::{DirectionLatency, Directions};
    use measure::search::{Search, Step};
    use measure::{assess, Direction, SoundnessLimits};
    let repetitions: Vec<Repetition> = (0..3u64)
        .map(|i| {
            let mut fwd = SimulatedDevice::new(800_000.0, 40 + i);
            let mut back = SimulatedDevice::new(500_000.0, 50 + i);
            let mut search = Search::new(SearchConfig::default()).unwrap();
            let mut trials = Vec::new();
            let outcome = loop {
                match search.next_step() {
                    Step::Trial(req) => {
                        let mut t = fwd.trial(&req);
                        t.reverse = Some(Box::new(back.trial(&req)));
                        assess(&mut t, &SoundnessLimits::default());
                        trials.push(t.clone());
                        search.record(t);
                    }
                    Step::Done(o) => break o,
                }
            };
            Repetition {
                ndr: outcome.goal(Goal::Ndr).cloned(),
                pdr: outcome.goal(Goal::Pdr).cloned(),
                trials,
                directions: Some(Directions {
                    forward: search.direction(Direction::Forward).unwrap(),
                    reverse: search.direction(Direction::Reverse).unwrap(),
                }),
            }
        })
        .collect();
    let lat = vec![LatencyPoint {
        load_pct: 50.0,
        rate_pps: 250_000.0,
        probe: Some(latency(20)),
        load: Some(latency(20)),
        trial: Default::default(),
        reverse: Some(DirectionLatency {
            probe: Some(latency(70)),
            load: Some(latency(70)),
        }),
    }];
    let mut v = variant("nat-both", 1.0, 0, 0, 0);
    v.results = vec![FrameSizeResult::new(FrameSize::Bytes(64), repetitions, lat)];
    v
}

#[test]
fn a_bidirectional_result_shows_each_direction_in_table_csv_and_page() {
    let mut r = report(vec![bidirectional_variant()]);
    r.settings.direction = measure::TrafficDirection::Both;
    let fr = &r.variants[0].results[0];
    let dirs = fr.directions.as_ref().unwrap();
    let both = fr.ndr.as_ref().unwrap().median;
    assert!((dirs.reverse.ndr.as_ref().unwrap().median - both).abs() < 1.0);
    assert!(dirs.forward.ndr.as_ref().unwrap().median >= both);

    let table = measure::table::variants_table(&r);
    let fwd_line = table.lines().find(|l| l.starts_with("  forward")).unwrap();
    let rev_line = table.lines().find(|l| l.starts_with("  reverse")).unwrap();
    assert!(
        rev_line.contains(" 75.0 ") && fwd_line.contains(" 25.0 "),
        "{table}"
    );
    assert!(table.contains("both directions"), "{table}");

    let csv = measure::csv::to_csv(&r);
    for metric in [
        ",forward_ndr,",
        ",reverse_ndr,",
        ",reverse_loss_at_ndr,",
        ",latency_50pct_p50,",
        ",reverse_latency_50pct_p50,",
    ] {
        assert!(csv.contains(metric), "{metric} missing:\n{csv}");
    }

    let html = measure::html::report_html(&r);
    assert!(html.contains("data-direction=\"reverse\""), "{html}");
    assert!(html.contains("id=\"bidirectional\""));

    // The report round-trips, and a forward-only report has none of it.
    let back = Report::from_json(&r.to_json().unwrap()).unwrap();
    assert_eq!(back, r);
    let plain = sample().to_json().unwrap();
    assert!(!plain.contains("directions") && !plain.contains("\"reverse\""));
}
