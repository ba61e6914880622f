//! SVG plots (rendered to strings; the caller writes the files).

use plotters::prelude::*;

use crate::report::{FrameSize, Report, VariantStatus};

/// Errors from plotting (plotters reports drawing errors as strings).
#[derive(Debug, thiserror::Error)]
#[error("plot failed: {0}")]
pub struct PlotError(String);

fn err<E: std::fmt::Debug>(e: E) -> PlotError {
    PlotError(format!("{e:?}"))
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Fill of a bar whose value is only a lower bound (limited by the measurement).
const GREY_LIMITED: RGBColor = RGBColor(215, 215, 215);

/// Grouped bars: NDR (median, Mpps) per frame size, one bar per measured variant, with
/// min–max whiskers over repetitions. A result bounded by the measurement (generator, sink,
/// ceiling, max rate) is drawn as a light grey bar outlined in the variant's colour, with its
/// limit label above it: it is a lower bound, not the chain's rate. The legend names the
/// ceiling and the baseline.
pub fn throughput_svg(report: &Report) -> Result<String, PlotError> {
    let variants: Vec<_> = report
        .variants
        .iter()
        .filter(|v| v.status == VariantStatus::Measured)
        .collect();
    let mut sizes: Vec<FrameSize> = variants
        .iter()
        .flat_map(|v| v.results.iter().map(|r| r.frame_size))
        .collect();
    sizes.sort();
    sizes.dedup();
    let ymax = variants
        .iter()
        .flat_map(|v| {
            v.results
                .iter()
                .filter_map(|r| r.ndr.as_ref().map(|a| a.max))
        })
        .fold(0.0f64, f64::max)
        / 1e6;
    let ymax = if ymax > 0.0 { ymax * 1.15 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = sizes.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: NDR per variant", report.topology),
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
            .map_err(err)?;
        let labels = sizes.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 0.01 {
                    labels.get(i).map(|s| format!("{s} B")).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("frame size")
            .y_desc("NDR (Mpps)")
            .draw()
            .map_err(err)?;
        let nv = variants.len().max(1) as f64;
        let bar = 0.8 / nv;
        for (vi, v) in variants.iter().enumerate() {
            let color = PALETTE[vi % PALETTE.len()];
            let mut bars = Vec::new();
            let mut outlines = Vec::new();
            let mut whiskers = Vec::new();
            let mut labels = Vec::new();
            for (si, size) in sizes.iter().enumerate() {
                let Some(r) = v.result(*size) else { continue };
                let Some(a) = r.ndr.as_ref() else { continue };
                let x0 = si as f64 + 0.1 + vi as f64 * bar;
                let top = (x0 + bar * 0.9, a.median / 1e6);
                if let Some(l) = &r.limit {
                    bars.push(Rectangle::new([(x0, 0.0), top], GREY_LIMITED.filled()));
                    outlines.push(Rectangle::new([(x0, 0.0), top], color.stroke_width(2)));
                    labels.push(Text::new(
                        l.short_name().to_string(),
                        (x0, a.max / 1e6 + ymax * 0.02),
                        ("sans-serif", 11).into_font().color(&BLACK),
                    ));
                } else {
                    bars.push(Rectangle::new([(x0, 0.0), top], color.filled()));
                }
                let xm = x0 + bar * 0.45;
                whiskers.push(PathElement::new(
                    vec![(xm, a.min / 1e6), (xm, a.max / 1e6)],
                    BLACK,
                ));
            }
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(crate::table::variant_label(v))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            chart.draw_series(outlines).map_err(err)?;
            chart.draw_series(whiskers).map_err(err)?;
            chart.draw_series(labels).map_err(err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// (variant, load percent, (latency µs, percentile) points).
type CdfSeries = (String, f64, Vec<(f64, f64)>);

/// Latency CDF (log-scale µs) of the latency stream, one line per measured variant, at the
/// load closest to `load_pct` for `frame_size`.
pub fn latency_cdf_svg(
    report: &Report,
    frame_size: FrameSize,
    load_pct: f64,
) -> Result<String, PlotError> {
    let mut series: Vec<CdfSeries> = Vec::new();
    for v in report
        .variants
        .iter()
        .filter(|v| v.status == VariantStatus::Measured)
    {
        let Some(r) = v.result(frame_size) else {
            continue;
        };
        let Some(point) = r
            .latency
            .iter()
            .filter(|l| l.probe.is_some())
            .min_by(|a, b| {
                (a.load_pct - load_pct)
                    .abs()
                    .total_cmp(&(b.load_pct - load_pct).abs())
            })
        else {
            continue;
        };
        let Some(probe) = &point.probe else { continue };
        let pts = probe
            .cdf
            .iter()
            .map(|(p, ns)| ((*ns).max(1) as f64 / 1e3, *p))
            .collect();
        series.push((v.name.clone(), point.load_pct, pts));
    }
    let xs = series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
    let (xmin, xmax) = xs.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let (xmin, xmax) = if xmax > 0.0 {
        (xmin.max(0.1) * 0.8, xmax * 1.25)
    } else {
        (0.1, 1000.0)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{}: one-way latency CDF, {frame_size} B, ~{load_pct}% of NDR",
                    report.topology
                ),
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((xmin..xmax).log_scale(), 0f64..100f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("latency (µs, log scale)")
            .y_desc("percentile")
            .draw()
            .map_err(err)?;
        for (i, (name, load, pts)) in series.into_iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(err)?
                .label(format!("{name} @ {load}%"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 15, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Colour of a comparison verdict (the page's table uses the same meaning).
fn verdict_color(v: crate::compare::Verdict) -> RGBColor {
    use crate::compare::Verdict;
    match v {
        Verdict::Better => RGBColor(26, 127, 55),
        Verdict::Worse => RGBColor(207, 34, 46),
        Verdict::NoSignificantDifference => RGBColor(90, 90, 90),
        Verdict::Inconclusive | Verdict::Limited => RGBColor(154, 103, 0),
    }
}

/// Per-metric change of B vs A (`(b − a) / a`, percent), one row per compared metric: the
/// point is the difference, the bar its confidence interval (when the method has one), the
/// grey band ±the metric's noise threshold; colour = verdict. Rows read top to bottom in the
/// comparison's order.
pub fn change_svg(cmp: &crate::compare::Comparison) -> Result<String, PlotError> {
    let rows: Vec<(String, &crate::compare::MetricComparison)> = cmp
        .metrics
        .iter()
        .map(|m| {
            let arrow = if m.higher_is_better { "↑" } else { "↓" };
            let who = match &m.b_variant {
                Some(b) => format!("{}→{b}", m.variant),
                None => m.variant.clone(),
            };
            let label = format!("{who} {} B {} {arrow}", m.frame_size, m.metric);
            (shorten(&label, 50), m)
        })
        .collect();
    let n = rows.len().max(1);
    // The x range holds every point, interval and noise band, and 0.
    let (lo, hi) = rows.iter().fold((0.0f64, 0.0f64), |(lo, hi), (_, m)| {
        let (cl, ch) = m.ci.map_or((m.diff_pct, m.diff_pct), |c| (c.low, c.high));
        let lo = lo.min(cl).min(m.diff_pct).min(-m.noise_pct);
        let hi = hi.max(ch).max(m.diff_pct).max(m.noise_pct);
        (lo, hi)
    });
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi > lo {
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    } else {
        (-5.0, 5.0)
    };
    let label_px = 330;
    let height = 110 + 26 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("change of B vs A per metric", ("sans-serif", 20))
            .margin(15)
            .margin_left(label_px)
            .x_label_area_size(40)
            .build_cartesian_2d(lo..hi, -0.5f64..(n as f64 - 0.5))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_desc("(B − A) / A, % (↑ higher is better, ↓ lower is better)")
            .draw()
            .map_err(err)?;
        let y_of = |i: usize| (n - 1 - i) as f64;
        let mut bands = Vec::new();
        let mut bars = Vec::new();
        let mut points = Vec::new();
        for (i, (_, m)) in rows.iter().enumerate() {
            let y = y_of(i);
            let color = verdict_color(m.verdict);
            bands.push(Rectangle::new(
                [(-m.noise_pct, y - 0.35), (m.noise_pct, y + 0.35)],
                RGBColor(225, 225, 225).filled(),
            ));
            if let Some(c) = m.ci {
                bars.push(PathElement::new(
                    vec![(c.low, y), (c.high, y)],
                    color.stroke_width(2),
                ));
                for x in [c.low, c.high] {
                    bars.push(PathElement::new(
                        vec![(x, y - 0.2), (x, y + 0.2)],
                        color.stroke_width(2),
                    ));
                }
            }
            points.push(Circle::new((m.diff_pct, y), 5, color.filled()));
        }
        chart.draw_series(bands).map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK,
            )))
            .map_err(err)?;
        chart.draw_series(bars).map_err(err)?;
        chart.draw_series(points).map_err(err)?;
        // Row labels left of the plotting area, at each row's height.
        let font = ("sans-serif", 13).into_font().color(&BLACK);
        for (i, (label, _)) in rows.iter().enumerate() {
            let (_, py) = chart.backend_coord(&(lo, y_of(i)));
            root.draw(&Text::new(label.clone(), (10, py - 7), font.clone()))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// `s` cut to `max` characters with an ellipsis (row labels must fit their area).
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
