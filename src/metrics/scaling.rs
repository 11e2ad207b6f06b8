//! Scaling curves: throughput per level (connections, threads…) against the ideal linear
//! extrapolation of the first level.

/// One level of a scaling curve.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScaleLevel {
    pub level: f64,
    pub tps: f64,
    pub ideal: f64,
    pub efficiency_pct: f64,
}

/// Throughput per level against the linear extrapolation of the first level.
pub fn scaling(levels: &[(f64, f64)]) -> Vec<ScaleLevel> {
    let Some(&(l0, t0)) = levels.first() else {
        return vec![];
    };
    levels
        .iter()
        .map(|&(l, t)| {
            let ideal = if l0 > 0.0 { t0 * l / l0 } else { 0.0 };
            ScaleLevel {
                level: l,
                tps: t,
                ideal,
                efficiency_pct: if ideal > 0.0 { t * 100.0 / ideal } else { 0.0 },
            }
        })
        .collect()
}
