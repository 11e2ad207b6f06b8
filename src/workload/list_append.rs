//! The list-append pattern as a workload: the history `verify` records, checked like Elle after
//! the run, and turned into an ordinary result (throughput, latency, intervals) so that chaos
//! scenarios and reports treat it like any other run.

use super::config::WorkloadConfig;
use crate::db::DbUrl;
use crate::metrics::recorder::Interval;
use crate::metrics::result::{IntervalRecord, RunData, TargetInfo, Verification};
use crate::metrics::RunResult;
use crate::verify::history::{History, OpType};
use crate::verify::model::{validity, Model, Validity};
use crate::verify::run::{run_list_append, AppendOptions};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs list-append, writes its history to `history_path`, checks it and builds the result.
pub fn run(
    cfg: &WorkloadConfig,
    url: &DbUrl,
    server_version: String,
    stop: Arc<AtomicBool>,
    started: Option<Arc<std::sync::OnceLock<std::time::Instant>>>,
    history_path: &Path,
) -> Result<RunResult, crate::Error> {
    let duration = cfg.duration.unwrap_or(Duration::from_secs(10));
    let started_at_us = crate::util::time::now_us();
    let h = run_list_append(&AppendOptions {
        url: url.clone(),
        isolation: cfg.isolation,
        duration,
        connections: cfg.connections.max(1),
        keys: 10,
        max_ops: 4,
        seed: cfg.seed.unwrap_or_else(crate::datagen::Rng::seed_from_time),
        stop: stop.clone(),
        timeout: cfg.timeout,
        started,
    })?;
    h.save(history_path)?;
    let an = crate::verify::check(&h, Duration::from_secs(10));
    let model = Model::for_isolation(cfg.isolation);
    let verdict = match validity(model, &an.kinds(), an.incomplete) {
        Validity::Valid => "pass",
        Validity::Invalid => "fail",
        Validity::Unknown => "unknown",
    };
    let interrupted = stop.load(Ordering::SeqCst);
    let mut result = to_result(cfg, url, server_version, &h, started_at_us, interrupted);
    result.verification = Some(Verification {
        checker: "list-append".into(),
        model: model.name().into(),
        verdict: verdict.into(),
        anomalies: an.counts.iter().map(|(k, n)| format!("{k} x{n}")).collect(),
        history: history_path.display().to_string(),
    });
    Ok(result)
}

/// Throughput and latency of a history: each completion against its process's invocation.
fn to_result(
    cfg: &WorkloadConfig,
    url: &DbUrl,
    server_version: String,
    h: &History,
    started_at_us: i64,
    interrupted: bool,
) -> RunResult {
    let end_ns = h.ops.iter().map(|o| o.time).max().unwrap_or(0);
    let measured = (end_ns as f64 / 1e9).max(0.001);
    let secs = measured.ceil().max(1.0) as usize;
    let mut totals = Interval::with_ops(1);
    let mut buckets: Vec<Interval> = (0..secs).map(|_| Interval::with_ops(1)).collect();
    let mut invoked: HashMap<u64, u64> = HashMap::new();
    for op in &h.ops {
        if op.typ == OpType::Invoke {
            invoked.insert(op.process, op.time);
            continue;
        }
        let Some(t0) = invoked.remove(&op.process) else {
            continue;
        };
        let us = (op.time.saturating_sub(t0) / 1000).max(1);
        let bucket = ((op.time as f64 / 1e9) as usize).min(secs - 1);
        for iv in [&mut totals, &mut buckets[bucket]] {
            let s = &mut iv.ops[0];
            if op.typ == OpType::Ok {
                s.committed += 1;
            } else {
                s.failed += 1;
            }
            let _ = s.response.record(us);
            let _ = s.service.record(us);
        }
        if op.typ != OpType::Ok {
            let class = if op.typ == OpType::Info {
                "list-append:indeterminate"
            } else {
                "list-append:failed"
            };
            let t = totals.errors.entry(class.into()).or_default();
            t.count += 1;
            if t.first_message.is_empty() {
                t.first_message = if op.typ == OpType::Info {
                    "the connection was lost while committing; the outcome is unknown".into()
                } else {
                    "the transaction failed and was not committed".into()
                };
            }
        }
    }
    let intervals = IntervalRecord::per_second(&buckets);
    let mut recorded = cfg.clone();
    recorded.db = url.redacted();
    RunResult::build(RunData {
        config: recorded,
        target: TargetInfo {
            kind: url.kind(),
            server_version,
            url: url.redacted(),
        },
        op_names: &["txn".to_string()],
        totals: &totals,
        intervals,
        outages: vec![],
        started_at_us,
        ended_at_us: crate::util::time::now_us(),
        measured_s: measured,
        interrupted,
        notes: vec![],
    })
}
