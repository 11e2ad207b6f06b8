//! Cycles drawn for people: Graphviz DOT, and an SVG written by hand (each cycle's
//! transactions on a circle, edges as labelled arrows, the sentences underneath), so no
//! Graphviz install is needed to look at one.

use super::checker::{Analysis, Anomaly};
use std::fmt::Write;

fn esc_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn esc_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cycles(an: &Analysis) -> impl Iterator<Item = &Anomaly> {
    an.anomalies.iter().filter(|a| !a.cycle.is_empty())
}

/// Every cycle found, as one Graphviz digraph with a cluster per anomaly.
pub fn dot(an: &Analysis) -> String {
    let mut s = String::from(
        "digraph anomalies {\n  node [shape=box, fontname=\"monospace\"];\n  edge [fontname=\"monospace\", fontsize=10];\n",
    );
    for (i, a) in cycles(an).enumerate() {
        let _ = writeln!(s, "  subgraph cluster_{i} {{\n    label=\"{}\";", a.kind);
        for c in &a.cycle {
            let _ = writeln!(s, "    \"{i}_T{}\" [label=\"T{}\"];", c.from, c.from);
        }
        for c in &a.cycle {
            let _ = writeln!(
                s,
                "    \"{i}_T{}\" -> \"{i}_T{}\" [label=\"{}\", tooltip=\"{}\"];",
                c.from,
                c.to,
                c.kind,
                esc_dot(&c.explanation)
            );
        }
        s.push_str("  }\n");
    }
    s.push_str("}\n");
    s
}

const W: f64 = 760.0;
const R: f64 = 120.0;

/// Every cycle found, as one SVG: a panel per anomaly.
pub fn svg(an: &Analysis) -> String {
    let panels: Vec<&Anomaly> = cycles(an).collect();
    let heights: Vec<f64> = panels
        .iter()
        .map(|a| 2.0 * R + 90.0 + 16.0 * a.cycle.len() as f64)
        .collect();
    let total: f64 = heights.iter().sum::<f64>().max(60.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{total:.0}\" viewBox=\"0 0 {W} {total:.0}\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">"
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#444\"/></marker></defs>\n");
    s.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    if panels.is_empty() {
        s.push_str("<text x=\"20\" y=\"30\">no cycles found</text>\n");
    }
    let mut y0 = 0.0;
    for (a, h) in panels.iter().zip(&heights) {
        let _ = writeln!(
            s,
            "<text x=\"20\" y=\"{:.0}\" font-size=\"16\" font-weight=\"bold\">{}</text>",
            y0 + 24.0,
            esc_xml(a.kind.name())
        );
        let n = a.cycle.len().max(1) as f64;
        let (cx, cy) = (W / 2.0, y0 + 40.0 + R);
        let pos = |i: usize| {
            let ang = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n;
            (cx + R * ang.cos(), cy + R * ang.sin())
        };
        for (i, c) in a.cycle.iter().enumerate() {
            let (x1, y1) = pos(i);
            let (x2, y2) = pos((i + 1) % a.cycle.len());
            // Shorten the arrow so it stops at the node's edge.
            let (dx, dy) = (x2 - x1, y2 - y1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ux, uy) = (dx / len, dy / len);
            let (sx, sy, ex, ey) = (
                x1 + ux * 24.0,
                y1 + uy * 24.0,
                x2 - ux * 24.0,
                y2 - uy * 24.0,
            );
            let color = match c.kind {
                "ww" => "#1f77b4",
                "wr" => "#2ca02c",
                "rw" => "#d62728",
                _ => "#7f7f7f",
            };
            // Bend each edge to its left, so the two edges of a 2-cycle do not overlap.
            let (qx, qy) = ((sx + ex) / 2.0 + uy * 28.0, (sy + ey) / 2.0 - ux * 28.0);
            let _ = writeln!(
                s,
                "<path d=\"M {sx:.1} {sy:.1} Q {qx:.1} {qy:.1} {ex:.1} {ey:.1}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" marker-end=\"url(#arrow)\"><title>{}</title></path>",
                esc_xml(&c.explanation)
            );
            let (mx, my) = (
                (sx + ex) / 2.0 + uy * 26.0,
                (sy + ey) / 2.0 - ux * 26.0 + 4.0,
            );
            let _ = writeln!(
                s,
                "<text x=\"{mx:.1}\" y=\"{my:.1}\" text-anchor=\"middle\" fill=\"{color}\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                c.kind
            );
        }
        for (i, c) in a.cycle.iter().enumerate() {
            let (x, y) = pos(i);
            let _ = writeln!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"22\" fill=\"#f4f4f4\" stroke=\"#333\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">T{}</text>",
                y + 4.0,
                c.from
            );
        }
        let mut ty = cy + R + 40.0;
        for c in &a.cycle {
            let _ = writeln!(
                s,
                "<text x=\"20\" y=\"{ty:.0}\">{} ({})</text>",
                esc_xml(&c.explanation),
                c.kind
            );
            ty += 16.0;
        }
        y0 += h;
    }
    s.push_str("</svg>\n");
    s
}
