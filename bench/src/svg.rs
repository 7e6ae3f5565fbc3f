//! The chart, written by hand: SVG is text, and a chart is lines, circles, rectangles and labels.
//!
//! For each CPU set: bandwidth against transfer size (both axes logarithmic; Rust solid, C dashed,
//! memcpy in black as the machine's limit), then bars (Rust, and C paler beside it) for the
//! round-trip latency of each mechanism at each message size, and for the calls test.

use std::fmt::Write as _;

use crate::measure::Figure;
use crate::mechanism::{Mechanism, Test, size_text};
use crate::report::Setup;

const WIDTH: f64 = 960.0;
const PANEL: f64 = 720.0;

fn colour(mechanism: Mechanism) -> &'static str {
    match mechanism {
        Mechanism::Memcpy => "#000000",
        Mechanism::Pipe => "#1f77b4",
        Mechanism::Fifo => "#ff7f0e",
        Mechanism::Socketpair => "#2ca02c",
        Mechanism::Svmsg => "#d62728",
        Mechanism::Mqueue => "#9467bd",
        Mechanism::Svshm => "#8c564b",
    }
}

/// The whole chart; `title` names the machine.
pub fn chart(setups: &[Setup], title: &str) -> String {
    let height = PANEL * setups.len() as f64 + 40.0;
    let mut svg = String::new();
    let w = &mut svg;
    out(
        w,
        format_args!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        ),
    );
    out(w, format_args!(r#"<rect width="100%" height="100%" fill="white"/>"#));
    out(
        w,
        format_args!(
            r#"<text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
            WIDTH / 2.0,
            escape(title)
        ),
    );
    for (index, setup) in setups.iter().enumerate() {
        let top = 40.0 + PANEL * index as f64;
        bandwidth(w, setup, top);
        let columns = bar_charts(setup);
        let each = (WIDTH - 40.0) / columns.len().max(1) as f64;
        for (column, (test, size)) in columns.into_iter().enumerate() {
            bars(w, setup, test, size, 20.0 + each * column as f64, top + 470.0, each - 20.0);
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn out(w: &mut String, args: std::fmt::Arguments) {
    w.write_fmt(args).expect("string");
    w.push('\n');
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The bar charts to draw: one per latency message size, then one per calls size.
fn bar_charts(setup: &Setup) -> Vec<(Test, usize)> {
    let mut charts = Vec::new();
    for test in [Test::Latency, Test::Calls] {
        let mut sizes: Vec<usize> = setup.figures.iter().filter(|f| f.test == test).map(|f| f.size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        charts.extend(sizes.into_iter().map(|size| (test, size)));
    }
    charts
}

/// Bandwidth against transfer size, both on log scales.
fn bandwidth(w: &mut String, setup: &Setup, top: f64) {
    let figures: Vec<&Figure> = setup.figures.iter().filter(|f| f.test == Test::Bandwidth).collect();
    let (left, right, plot_top, bottom) = (80.0, 730.0, top + 40.0, top + 400.0);
    out(
        w,
        format_args!(
            r#"<text x="{left}" y="{}" font-size="14">Bandwidth, CPUs {} (MB/s, log scale; solid: Rust, dashed: C)</text>"#,
            top + 25.0,
            setup.cpus
        ),
    );
    if figures.is_empty() {
        return;
    }
    let mut sizes: Vec<usize> = figures.iter().map(|f| f.size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let values = figures.iter().flat_map(|f| {
        let c = f.c_stats().map(|s| s.median);
        [Some(f.rust_stats().median), c].into_iter().flatten()
    });
    let (low, high) = values.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (decade_low, decade_high) =
        (low.max(1e-3).log10().floor(), high.max(1e-3).log10().ceil().max(low.log10().floor() + 1.0));
    let (size_low, size_high) = ((sizes[0] as f64).log2(), (sizes[sizes.len() - 1] as f64).log2());
    let x = |size: usize| {
        let span = (size_high - size_low).max(1.0);
        left + (right - left) * ((size as f64).log2() - size_low) / span
    };
    let y = |value: f64| {
        bottom - (bottom - plot_top) * (value.max(1e-3).log10() - decade_low) / (decade_high - decade_low)
    };

    // Grid and axes.
    let mut decade = decade_low;
    while decade <= decade_high {
        let at = y(10f64.powf(decade));
        out(w, format_args!(r##"<line x1="{left}" y1="{at:.1}" x2="{right}" y2="{at:.1}" stroke="#ddd"/>"##));
        out(
            w,
            format_args!(
                r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                left - 6.0,
                at + 4.0,
                10f64.powf(decade)
            ),
        );
        decade += 1.0;
    }
    for &size in &sizes {
        let at = x(size);
        out(
            w,
            format_args!(
                r##"<line x1="{at:.1}" y1="{plot_top}" x2="{at:.1}" y2="{bottom}" stroke="#eee"/>"##
            ),
        );
        out(
            w,
            format_args!(
                r#"<text x="{at:.1}" y="{}" text-anchor="middle">{}</text>"#,
                bottom + 18.0,
                size_text(size)
            ),
        );
    }
    out(
        w,
        format_args!(
            r##"<rect x="{left}" y="{plot_top}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            right - left,
            bottom - plot_top
        ),
    );
    out(
        w,
        format_args!(
            r#"<text x="{}" y="{}" text-anchor="middle">transfer size (bytes per write or message)</text>"#,
            (left + right) / 2.0,
            bottom + 38.0
        ),
    );

    // One line per mechanism and side, and the legend.
    let mut legend = plot_top + 10.0;
    for mechanism in Mechanism::ALL {
        let mut points: Vec<&Figure> = figures.iter().copied().filter(|f| f.mechanism == mechanism).collect();
        if points.is_empty() {
            continue;
        }
        points.sort_by_key(|f| f.size);
        let colour = colour(mechanism);
        let line = |value: &dyn Fn(&Figure) -> Option<f64>| -> String {
            points
                .iter()
                .filter_map(|f| value(f).map(|v| format!("{:.1},{:.1}", x(f.size), y(v))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let width = if mechanism == Mechanism::Memcpy { 3 } else { 2 };
        let rust = line(&|f| Some(f.rust_stats().median));
        out(
            w,
            format_args!(
                r#"<polyline points="{rust}" fill="none" stroke="{colour}" stroke-width="{width}"/>"#
            ),
        );
        let c = line(&|f| f.c_stats().map(|s| s.median));
        if !c.is_empty() {
            out(
                w,
                format_args!(
                    r#"<polyline points="{c}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="5,4"/>"#
                ),
            );
        }
        for f in &points {
            let median = f.rust_stats().median;
            out(
                w,
                format_args!(
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{} {}: {median:.0} MB/s</title></circle>"#,
                    x(f.size),
                    y(median),
                    mechanism,
                    size_text(f.size)
                ),
            );
        }
        out(
            w,
            format_args!(
                r#"<line x1="{}" y1="{legend}" x2="{}" y2="{legend}" stroke="{colour}" stroke-width="{width}"/>"#,
                right + 15.0,
                right + 40.0
            ),
        );
        out(
            w,
            format_args!(
                r#"<text x="{}" y="{}">{}</text>"#,
                right + 46.0,
                legend + 4.0,
                escape(mechanism.title())
            ),
        );
        legend += 20.0;
    }
}

/// Horizontal bars: each mechanism's figure for one test at one message size.
fn bars(w: &mut String, setup: &Setup, test: Test, size: usize, left: f64, top: f64, width: f64) {
    let figures: Vec<&Figure> = setup.figures.iter().filter(|f| f.test == test && f.size == size).collect();
    let (what, unit) = match test {
        Test::Calls => ("Send + receive in one process", "ns"),
        _ => ("Round trip", "µs"),
    };
    out(
        w,
        format_args!(
            r#"<text x="{left}" y="{top}" font-size="13">{what}, {} ({unit}; C paler)</text>"#,
            size_text(size),
        ),
    );
    let most = figures
        .iter()
        .flat_map(|f| [Some(f.rust_stats().median), f.c_stats().map(|s| s.median)].into_iter().flatten())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let label = 120.0;
    let scale = (width - label - 60.0) / most;
    let mut y = top + 15.0;
    for mechanism in Mechanism::ALL {
        let Some(figure) = figures.iter().find(|f| f.mechanism == mechanism) else { continue };
        let colour = colour(mechanism);
        out(
            w,
            format_args!(
                r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                left + label - 6.0,
                y + 15.0,
                escape(mechanism.title())
            ),
        );
        let bars = [
            (Some(figure.rust_stats().median), 1.0, "Rust"),
            (figure.c_stats().map(|s| s.median), 0.45, "C"),
        ];
        for (value, opacity, side) in bars {
            let Some(value) = value else { continue };
            let length = (value * scale).max(1.0);
            let shown = if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.2}") };
            out(
                w,
                format_args!(
                    r#"<rect x="{}" y="{y:.1}" width="{length:.1}" height="11" fill="{colour}" fill-opacity="{opacity}"><title>{mechanism} {side}: {shown} {unit}</title></rect>"#,
                    left + label
                ),
            );
            out(
                w,
                format_args!(
                    r#"<text x="{:.1}" y="{:.1}" font-size="10">{shown}</text>"#,
                    left + label + length + 4.0,
                    y + 9.5
                ),
            );
            y += 12.0;
        }
        y += 8.0;
    }
}
