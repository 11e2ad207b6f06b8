//! Results per stage of a run whose rate changes (`--stage`): each stage's seconds, merged.

use super::hist::{decode, new_histogram, LatencySummary};
use super::RunResult;
use crate::engine::Stage;
use serde::{Deserialize, Serialize};

/// One stage of the run, measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseResult {
    /// 1-based stage number; the hold after the last stage (when `--duration` is longer) is
    /// numbered after them.
    pub stage: usize,
    /// Seconds since the measured start.
    pub from_s: f64,
    pub to_s: f64,
    /// The intended rate at the stage's start and end.
    pub target_from: f64,
    pub target_to: f64,
    /// The connections the stage ran on (the first N of the run), when not all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    pub committed: u64,
    pub failed: u64,
    pub tps: f64,
    pub response: LatencySummary,
}

/// Splits the run's seconds by stage (a second belongs to the stage its middle falls in).
pub fn by_stage(r: &RunResult, start_rate: f64, stages: &[Stage]) -> Vec<PhaseResult> {
    let mut bounds = Vec::new();
    let (mut t, mut rate) = (0.0, start_rate);
    for s in stages {
        let end = t + s.duration.as_secs_f64();
        bounds.push((t, end, rate, s.target, s.connections));
        t = end;
        rate = s.target;
    }
    if r.duration_s > t + 0.5 {
        let last = stages.last().and_then(|s| s.connections);
        bounds.push((t, r.duration_s, rate, rate, last));
    }
    let phases = bounds.len();
    bounds
        .into_iter()
        .enumerate()
        .map(|(i, (from, to, a, b, connections))| {
            let mut h = new_histogram();
            let (mut committed, mut failed, mut span) = (0, 0, 0.0);
            // The first and last phases take what falls outside every bound (the short tail
            // after the last full second), so the phases add up to the run's totals.
            let lo = if i == 0 { f64::NEG_INFINITY } else { from };
            let hi = if i + 1 == phases { f64::INFINITY } else { to };
            for iv in &r.intervals {
                let mid = iv.t_s - iv.span_s / 2.0;
                if mid < lo || mid >= hi {
                    continue;
                }
                committed += iv.committed;
                failed += iv.failed;
                span += iv.span_s;
                if let Ok(x) = decode(&iv.response_hdr) {
                    let _ = h.add(&x);
                }
            }
            PhaseResult {
                stage: i + 1,
                from_s: from,
                to_s: to,
                target_from: a,
                target_to: b,
                connections,
                committed,
                failed,
                tps: if span > 0.0 {
                    committed as f64 / span
                } else {
                    0.0
                },
                response: LatencySummary::of(&h),
            }
        })
        .collect()
}
