//! Thresholds against what a run measured: the whole result at the end, or the running
//! totals of a live snapshot for `--abort-on-fail`.

use super::spec::{Measure, Threshold};
use crate::metrics::hist::{decode, LatencySummary};
use crate::metrics::live::Snapshot;
use crate::metrics::RunResult;
use serde::{Deserialize, Serialize};

/// One threshold's outcome, as the result file records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// As written, e.g. `p99<20ms`.
    pub threshold: String,
    /// The measured value in the threshold's unit (ms, fraction, tps, count); null when
    /// nothing was measured (no transactions of that operation).
    pub measured: Option<f64>,
    /// The measured value for people: `12.301 ms`, `0.0500%`.
    pub shown: String,
    pub pass: bool,
}

/// The figures a threshold reads.
struct Figures<'a> {
    committed: u64,
    failed: u64,
    retries: u64,
    missed: u64,
    seconds: f64,
    latency: &'a LatencySummary,
    /// For percentiles the summary does not hold.
    hdr: Option<&'a str>,
}

fn value(t: &Threshold, f: &Figures) -> Option<f64> {
    let attempts = f.committed + f.failed;
    let per = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    let latency = |v: f64| (f.latency.count > 0).then_some(v);
    match t.measure {
        Measure::Tps => (f.seconds > 0.0).then(|| f.committed as f64 / f.seconds),
        Measure::Errors { rate: true } => per(f.failed, attempts),
        Measure::Errors { rate: false } => Some(f.failed as f64),
        Measure::Retries { rate: true } => per(f.retries, attempts),
        Measure::Retries { rate: false } => Some(f.retries as f64),
        Measure::Missed { rate: true } => per(f.missed, attempts + f.missed),
        Measure::Missed { rate: false } => Some(f.missed as f64),
        Measure::MeanMs => latency(f.latency.mean_ms),
        Measure::MaxMs => latency(f.latency.max_ms),
        Measure::Percentile(q) => {
            let known = [
                (50.0, f.latency.p50_ms),
                (90.0, f.latency.p90_ms),
                (95.0, f.latency.p95_ms),
                (99.0, f.latency.p99_ms),
                (99.9, f.latency.p999_ms),
                (100.0, f.latency.max_ms),
            ];
            if let Some((_, v)) = known.iter().find(|(k, _)| (k - q).abs() < 1e-9) {
                return latency(*v);
            }
            let h = decode(f.hdr?).ok().filter(|h| !h.is_empty())?;
            Some(h.value_at_quantile(q / 100.0) as f64 / 1000.0)
        }
    }
}

fn outcome(t: &Threshold, v: Option<f64>) -> ThresholdResult {
    ThresholdResult {
        threshold: t.text.clone(),
        measured: v,
        shown: v
            .map(|v| t.show(v))
            .unwrap_or_else(|| "nothing measured".into()),
        // A bound on nothing is not met: a threshold must have something to judge.
        pass: v.is_some_and(|v| t.cmp.holds(v, t.limit)),
    }
}

/// Every threshold against a finished run.
pub fn evaluate(thresholds: &[Threshold], r: &RunResult) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let f = match &t.operation {
                None => Figures {
                    committed: r.totals.committed,
                    failed: r.totals.failed,
                    retries: r.totals.retries,
                    missed: r.schedule.missed,
                    seconds: r.duration_s,
                    latency: &r.response,
                    hdr: Some(&r.response_hdr),
                },
                Some(op) => match r.operations.get(op) {
                    Some(o) => Figures {
                        committed: o.committed,
                        failed: o.failed,
                        retries: o.retries,
                        missed: 0,
                        seconds: r.duration_s,
                        latency: &o.response,
                        hdr: Some(&o.response_hdr),
                    },
                    None => return outcome(t, None),
                },
            };
            outcome(t, value(t, &f))
        })
        .collect()
}

/// The first whole-run threshold that the running totals break and that may stop the run:
/// a broken upper bound on a count or the maximum at once (it cannot recover), any other
/// once `settled` (enough of the run has passed for its rates and percentiles to mean
/// something; k6 calls this delaying the abort evaluation).
pub fn breaks_now<'a>(
    thresholds: &'a [Threshold],
    s: &Snapshot,
    settled: bool,
) -> Option<(&'a Threshold, String)> {
    if s.in_warmup {
        return None;
    }
    let f = Figures {
        committed: s.committed,
        failed: s.failed,
        retries: s.retries,
        missed: 0,
        seconds: s.elapsed.as_secs_f64(),
        latency: &s.latency,
        hdr: None,
    };
    thresholds
        .iter()
        .filter(|t| {
            t.operation.is_none() && !matches!(t.measure, Measure::Missed { .. } | Measure::Tps)
        })
        .filter(|t| settled || t.monotone_upper())
        .find_map(|t| {
            let v = value(t, &f)?;
            (!t.cmp.holds(v, t.limit)).then(|| (t, t.show(v)))
        })
}
