//! Minimal SVG charts (lines, bars, shaded windows) with no font or plotting library: text is
//! drawn by whatever opens the file (a browser, or `png` with its bundled font).

use std::fmt::Write;

/// One line of a line chart: name, colour, points (x, y).
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// Colours for series, in order.
pub const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

const W: f64 = 760.0;
const H: f64 = 385.0;
const L: f64 = 70.0;
const R: f64 = 150.0;
const T: f64 = 40.0;
const B: f64 = 85.0;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

/// The top of a y axis from zero over values up to `max`, on a round step: (top, ticks).
/// 0–7.3 gets 0, 2, 4, 6, 8 rather than 0, 1.46, 2.92 …
fn y_scale(max: f64) -> (f64, usize) {
    let step = nice_max(max / 5.0);
    let ticks = ((max / step).ceil() as usize).max(1);
    (step * ticks as f64, ticks)
}

/// Round tick values from 0 to at most `max` (about five of them).
fn x_ticks(max: f64) -> impl Iterator<Item = f64> {
    let step = nice_max(max / 5.0);
    (0..)
        .map(move |i| i as f64 * step)
        .take_while(move |x| *x <= max * (1.0 + 1e-9))
}

fn frame(s: &mut String, title: &str, xlabel: &str, ylabel: &str, ymax: f64, ticks: usize) {
    frame_range(s, title, xlabel, ylabel, 0.0, ymax, ticks);
}

/// The page, title, `ticks` + 1 grid lines from `lo` to `hi`, the y axis, the x axis at zero,
/// and the axis labels.
fn frame_range(
    s: &mut String,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    lo: f64,
    hi: f64,
    ticks: usize,
) {
    let py = |v: f64| T + (H - T - B) * (hi - v) / (hi - lo);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11"><rect width="{W}" height="{H}" fill="white"/><text x="{}" y="22" font-size="14" text-anchor="middle">{}</text>"#,
        (L + W - R) / 2.0,
        esc(title)
    );
    for i in 0..=ticks {
        let v = lo + (hi - lo) * i as f64 / ticks.max(1) as f64;
        let y = py(v);
        let _ = write!(
            s,
            r##"<line x1="{L}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            W - R,
            L - 6.0,
            y + 4.0,
            fmt(v)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{T}" x2="{L}" y2="{}" stroke="#333"/><line x1="{L}" y1="{z}" x2="{}" y2="{z}" stroke="#333"/><text x="{}" y="{}" text-anchor="middle">{}</text><text transform="translate(16,{}) rotate(-90)" text-anchor="middle">{}</text>"##,
        H - B,
        W - R,
        (L + W - R) / 2.0,
        H - 12.0,
        esc(xlabel),
        (T + H - B) / 2.0,
        esc(ylabel),
        z = py(0.0)
    );
}

fn fmt(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        // 0.8, not 0.800; 0.125 stays.
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A line chart over numeric x, with optional shaded windows (for faults).
pub fn lines(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[Series],
    windows: &[(f64, f64, String)],
) -> String {
    lines_with(title, xlabel, ylabel, series, windows, true)
}

fn lines_with(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[Series],
    windows: &[(f64, f64, String)],
    numeric_x: bool,
) -> String {
    let xmax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0, f64::max)
        .max(1e-9);
    let (ymax, yticks) = y_scale(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|y| y.is_finite())
            .fold(0.0, f64::max),
    );
    let px = |x: f64| L + (W - L - R) * x / xmax;
    let py = |y: f64| T + (H - T - B) * (1.0 - y / ymax);
    let mut s = String::new();
    frame(&mut s, title, xlabel, ylabel, ymax, yticks);
    for (a, b, label) in windows {
        let _ = write!(
            s,
            r##"<rect x="{}" y="{T}" width="{}" height="{}" fill="#f5a623" fill-opacity="0.2"><title>{}</title></rect>"##,
            px(*a),
            (px(*b) - px(*a)).max(1.0),
            H - T - B,
            esc(label)
        );
    }
    for x in x_ticks(xmax).filter(|_| numeric_x) {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            px(x),
            H - B + 16.0,
            fmt(x)
        );
    }
    for (n, se) in series.iter().enumerate() {
        let pts: Vec<String> = se
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let dash = if se.dashed {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            se.color,
            pts.join(" ")
        );
        for (x, y) in &se.points {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"><title>{}: {}</title></circle>"#,
                px(*x),
                py(*y),
                se.color,
                esc(&se.name),
                fmt(*y)
            );
        }
        let ly = T + 14.0 + n as f64 * 18.0;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="12" height="3" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            W - R + 10.0,
            ly - 4.0,
            se.color,
            W - R + 28.0,
            ly,
            esc(&se.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A line chart over category labels (x = configuration). Only for categories in an order
/// that means something (a sweep's grid); unrelated ones (chaos scenarios) get bars.
pub fn category_lines(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    labels: &[String],
    series: &[Series],
) -> String {
    let mut s = lines_with(title, xlabel, ylabel, series, &[], false);
    // Replace the numeric x ticks by the labels, rotated.
    let n = labels.len().max(2) as f64 - 1.0;
    let mut ticks = String::new();
    for (i, l) in labels.iter().enumerate() {
        let x = L + (W - L - R) * i as f64 / n.max(1.0);
        let _ = write!(
            ticks,
            r#"<text transform="translate({x},{}) rotate(30)" font-size="9">{}</text>"#,
            H - B + 10.0,
            esc(l)
        );
    }
    s = s.replace("</svg>", &(ticks + "</svg>"));
    s
}

/// A bar chart: one bar per label.
pub fn bars(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    labels: &[String],
    values: &[f64],
    color: &str,
) -> String {
    grouped_bars(title, xlabel, ylabel, labels, &[("", color, values)])
}

/// Bars side by side per label, one per group (name, colour, a value per label), with a
/// legend when there is more than one group.
pub fn grouped_bars(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    labels: &[String],
    groups: &[(&str, &str, &[f64])],
) -> String {
    let (ymax, ticks) = y_scale(
        groups
            .iter()
            .flat_map(|g| g.2.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max),
    );
    let mut s = String::new();
    frame(&mut s, title, xlabel, ylabel, ymax, ticks);
    let bw = (W - L - R) / labels.len().max(1) as f64;
    let gw = bw * 0.7 / groups.len().max(1) as f64;
    for (i, l) in labels.iter().enumerate() {
        let x = L + bw * i as f64;
        for (g, (name, color, values)) in groups.iter().enumerate() {
            let v = values
                .get(i)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            let h = (H - T - B) * v.max(0.0) / ymax;
            let tip = if name.is_empty() {
                esc(l)
            } else {
                format!("{} {}", esc(l), esc(name))
            };
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{tip}: {}</title></rect>"#,
                x + bw * 0.15 + gw * g as f64,
                H - B - h,
                gw,
                h,
                fmt(v),
            );
        }
        let _ = write!(
            s,
            r#"<text transform="translate({:.1},{}) rotate(30)" font-size="9">{}</text>"#,
            x + bw * 0.3,
            H - B + 10.0,
            esc(l)
        );
    }
    if groups.len() > 1 {
        for (n, (name, color, _)) in groups.iter().enumerate() {
            let ly = T + 14.0 + n as f64 * 18.0;
            let _ = write!(
                s,
                r#"<rect x="{}" y="{}" width="12" height="8" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
                W - R + 10.0,
                ly - 8.0,
                W - R + 28.0,
                ly,
                esc(name)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A bar chart of values that may be negative (changes against a baseline), with a zero line.
pub fn signed_bars(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    labels: &[String],
    values: &[f64],
    color: &str,
) -> String {
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = (finite().fold(0.0, f64::min), finite().fold(0.0, f64::max));
    // Ticks on round steps, with zero among them.
    let step = nice_max((hi - lo) / 5.0);
    let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let hi = if hi <= lo { lo + step } else { hi };
    let span = hi - lo;
    let py = |v: f64| T + (H - T - B) * (hi - v) / span;
    let mut s = String::new();
    frame_range(
        &mut s,
        title,
        xlabel,
        ylabel,
        lo,
        hi,
        (span / step).round() as usize,
    );
    let n = values.len().max(1) as f64;
    let bw = (W - L - R) / n;
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let v = if v.is_finite() { *v } else { 0.0 };
        let (top, bottom) = (py(v.max(0.0)), py(v.min(0.0)));
        let x = L + bw * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{}</text><text transform="translate({:.1},{}) rotate(30)" font-size="9">{}</text>"#,
            x + bw * 0.15,
            top,
            bw * 0.7,
            (bottom - top).max(0.5),
            esc(l),
            fmt(v),
            x + bw * 0.5,
            if v >= 0.0 { top - 3.0 } else { bottom + 11.0 },
            fmt(v),
            x + bw * 0.3,
            H - B + 10.0,
            esc(l)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_svg() {
        let s = lines(
            "t",
            "x",
            "y",
            &[Series {
                name: "a<b".into(),
                color: PALETTE[0],
                points: vec![(0.0, 1.0), (1.0, 3.0)],
                dashed: false,
            }],
            &[(0.2, 0.5, "fault".into())],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("a&lt;b") && s.contains("polyline") && s.contains("fill-opacity"));
        assert_eq!(nice_max(73.0), 100.0);
        let b = bars("t", "x", "y", &["x".into()], &[2.0], "#000");
        assert!(b.contains("<rect") && b.ends_with("</svg>"));
        assert_eq!(fmt(0.8), "0.8");
        assert_eq!(fmt(0.125), "0.125");
    }

    /// Tick labels of every axis are round numbers, and both axes have titles.
    #[test]
    fn ticks_are_round_and_axes_titled() {
        let s = lines(
            "t",
            "seconds",
            "tps",
            &[Series {
                name: "a".into(),
                color: PALETTE[0],
                points: vec![(0.0, 0.0), (7.3, 1234.0)],
                dashed: false,
            }],
            &[],
        );
        let labels: Vec<f64> = s
            .split("</text>")
            .filter_map(|t| t.rsplit('>').next()?.parse::<f64>().ok())
            .collect();
        for v in [0.0, 2.0, 4.0, 6.0, 250.0, 500.0, 1000.0, 1250.0] {
            assert!(labels.contains(&v), "{v} not a tick in {labels:?}");
        }
        assert!(
            !labels
                .iter()
                .any(|v| (v * 100.0).fract() != 0.0 || *v == 1.46),
            "{labels:?}"
        );
        assert!(s.contains(">seconds<") && s.contains(">tps<"));
        assert_eq!(y_scale(7.3), (8.0, 4));
        assert_eq!(y_scale(1234.0), (1250.0, 5));
    }

    #[test]
    fn signed_bars_hang_below_the_zero_line() {
        let s = signed_bars(
            "t",
            "scenario",
            "%",
            &["up".into(), "down".into()],
            &[50.0, -25.0],
            "#000",
        );
        // Steps of 20 from -40 to 60: zero is a tick 60% of the way down the plot area.
        let zero = T + (H - T - B) * 0.6;
        assert!(
            s.contains(">-40<") && s.contains(">60<") && s.contains(">0<"),
            "{s}"
        );
        let rect = |name: &str| -> (f64, f64) {
            let at = s.find(&format!("<title>{name}:")).unwrap();
            let head = &s[..at];
            let r = &head[head.rfind("<rect").unwrap()..];
            let attr = |a: &str| -> f64 {
                let i = r.find(&format!("{a}=\"")).unwrap() + a.len() + 2;
                r[i..].split('"').next().unwrap().parse().unwrap()
            };
            (attr("y"), attr("height"))
        };
        let (up_y, up_h) = rect("up");
        let (down_y, down_h) = rect("down");
        assert!(
            (up_y + up_h - zero).abs() < 0.2,
            "the rising bar ends at zero"
        );
        assert!(
            (down_y - zero).abs() < 0.2,
            "the falling bar starts at zero"
        );
        assert!((up_h - 2.0 * down_h).abs() < 0.5, "{up_h} vs {down_h}");
    }
}
