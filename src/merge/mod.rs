//! `merge`: the result files of N agents (`--segment i/N`) as one result, as if one machine
//! had run everything. Histograms add without loss, so merged percentiles are exact; the
//! per-second series are aligned on the wall clock.

use crate::metrics::hist::{decode, encode, new_histogram, LatencySummary};
use crate::metrics::result::{
    AgentInfo, ErrorClassResult, IntervalRecord, OperationResult, RunResult,
};
use hdrhistogram::Histogram;

pub mod history;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who took part in a merged result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeInfo {
    pub agents: Vec<MergedAgent>,
    /// Segments expected and not given (only with `--partial`), as `2/4`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_segments: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergedAgent {
    pub file: String,
    #[serde(flatten)]
    pub agent: Option<AgentInfo>,
    pub committed: u64,
    pub failed: u64,
    pub tps: f64,
}

/// Why files cannot be merged; each names the fix.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the result files of the agents")]
    Empty,
    #[error("{file} is not a run of the same workload and settings as {first} (differs in: {what}); merge only the agents of one run")]
    Different {
        file: String,
        first: String,
        what: String,
    },
    #[error("{file} has no --segment while {other} has; merge the agents of one segmented run")]
    MixedSegments { file: String, other: String },
    #[error("segment {segment} appears in {a} and in {b}; each agent's result once")]
    Duplicate {
        segment: String,
        a: String,
        b: String,
    },
    #[error("segments {missing} are missing; give every agent's result, or pass --partial to merge what there is (the result says what is missing)")]
    Missing { missing: String },
    #[error("{file}: {why}")]
    Bad { file: String, why: String },
}

/// The settings that must agree: everything but what differs per agent by design.
fn fingerprint(r: &RunResult) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&r.config) {
        for (k, v) in m {
            if ["segment", "seed", "start_at_us", "threads", "db"].contains(&k.as_str()) {
                continue;
            }
            out.insert(k, v.to_string());
        }
    }
    out.insert("database".into(), r.target.kind.to_string());
    out
}

fn measured_start_us(r: &RunResult) -> Result<i64, String> {
    let start = crate::util::time::parse_timestamp_us(&r.started_at)
        .ok_or_else(|| format!("started_at '{}' is not a time", r.started_at))?;
    Ok(start + (r.config.warmup.as_secs_f64() * 1e6) as i64)
}

fn add(into: &mut Histogram<u64>, encoded: &str, file: &str) -> Result<(), MergeError> {
    if encoded.is_empty() {
        return Ok(());
    }
    let h = decode(encoded).map_err(|why| MergeError::Bad {
        file: file.into(),
        why,
    })?;
    into.add(&h).map_err(|e| MergeError::Bad {
        file: file.into(),
        why: format!("histogram does not add: {e:?}"),
    })
}

/// Merges the agents' results. `partial` allows missing segments.
pub fn merge(files: &[(String, RunResult)], partial: bool) -> Result<RunResult, MergeError> {
    let (first_name, first) = files.first().ok_or(MergeError::Empty)?;
    let fp = fingerprint(first);
    for (name, r) in &files[1..] {
        let other = fingerprint(r);
        let what: Vec<String> = fp
            .keys()
            .chain(other.keys())
            .filter(|k| fp.get(*k) != other.get(*k))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !what.is_empty() {
            return Err(MergeError::Different {
                file: name.clone(),
                first: first_name.clone(),
                what: what.join(", "),
            });
        }
    }
    // Segments: all or none, each once, all present unless partial.
    let mut missing = Vec::new();
    if let Some(seg) = first.config.segment {
        let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
        for (name, r) in files {
            let s = r.config.segment.ok_or_else(|| MergeError::MixedSegments {
                file: name.clone(),
                other: first_name.clone(),
            })?;
            if let Some(a) = seen.insert(s.index, name) {
                return Err(MergeError::Duplicate {
                    segment: s.to_string(),
                    a: a.into(),
                    b: name.clone(),
                });
            }
        }
        missing = (0..seg.count)
            .filter(|i| !seen.contains_key(i))
            .map(|i| format!("{}/{}", i + 1, seg.count))
            .collect();
        if !missing.is_empty() && !partial {
            return Err(MergeError::Missing {
                missing: missing.join(", "),
            });
        }
    } else if let Some((name, _)) = files.iter().find(|(_, r)| r.config.segment.is_some()) {
        return Err(MergeError::MixedSegments {
            file: first_name.clone(),
            other: name.clone(),
        });
    }

    let mut m = first.clone();
    m.config.segment = None;
    m.agent = None;
    let (mut response, mut service) = (new_histogram(), new_histogram());
    let mut ops: BTreeMap<String, (OperationResult, Histogram<u64>, Histogram<u64>)> =
        BTreeMap::new();
    let mut errors: BTreeMap<String, ErrorClassResult> = BTreeMap::new();
    let (mut committed, mut failed, mut retries) = (0, 0, 0);
    let origin = files
        .iter()
        .map(|(n, r)| {
            measured_start_us(r).map_err(|why| MergeError::Bad {
                file: n.clone(),
                why,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let origin_us = origin.iter().copied().min().unwrap_or(0);
    // Seconds on the wall clock since the earliest agent's measured start.
    let mut seconds: BTreeMap<i64, (IntervalRecord, Histogram<u64>)> = BTreeMap::new();
    let mut outages = Vec::new();
    let mut notes = Vec::new();
    let mut agents = Vec::new();
    let (mut target, mut achieved, mut lag_sum, mut lag_n) = (0.0, 0.0, 0.0, 0u64);
    let mut duration: f64 = 0.0;
    let mut interrupted = false;
    for ((name, r), start_us) in files.iter().zip(&origin) {
        add(&mut response, &r.response_hdr, name)?;
        add(&mut service, &r.service_hdr, name)?;
        committed += r.totals.committed;
        failed += r.totals.failed;
        retries += r.totals.retries;
        duration = duration.max(r.duration_s);
        interrupted |= r.interrupted;
        for (op, o) in &r.operations {
            let e = ops
                .entry(op.clone())
                .or_insert_with(|| (o.clone(), new_histogram(), new_histogram()));
            add(&mut e.1, &o.response_hdr, name)?;
            add(&mut e.2, &o.service_hdr, name)?;
        }
        for e in &r.errors {
            errors
                .entry(e.class.clone())
                .and_modify(|x| x.count += e.count)
                .or_insert_with(|| e.clone());
        }
        let shift = (*start_us - origin_us) as f64 / 1e6;
        for iv in &r.intervals {
            // The second an interval belongs to is the one holding its middle: a short tail
            // after the last whole second (a transaction that ended in the end grace) is a
            // partial second of its own, not folded into the last whole one, which it would
            // mark partial.
            let key = (iv.t_s - iv.span_s / 2.0 + shift).ceil() as i64;
            let end = if iv.partial {
                iv.t_s + shift
            } else {
                key as f64
            };
            let slot = seconds
                .entry(key)
                .or_insert_with(|| (zero_interval(end), new_histogram()));
            slot.0.t_s = slot.0.t_s.max(end);
            slot.0.committed += iv.committed;
            slot.0.failed += iv.failed;
            slot.0.retries += iv.retries;
            slot.0.errors += iv.errors;
            slot.0.span_s = slot.0.span_s.max(iv.span_s);
            slot.0.partial |= iv.partial;
            slot.0.target_tps = match (slot.0.target_tps, iv.target_tps) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            add(&mut slot.1, &iv.response_hdr, name)?;
        }
        for o in &r.outages {
            let mut o = o.clone();
            o.start_s += shift;
            outages.push(o);
        }
        for n in &r.notes {
            notes.push(format!("{name}: {n}"));
        }
        target += r.schedule.target_tps.unwrap_or(0.0);
        achieved += r.schedule.achieved_tps;
        lag_sum += r.schedule.lag_mean_ms * (r.totals.committed + r.totals.failed) as f64;
        lag_n += r.totals.committed + r.totals.failed;
        m.schedule.lag_max_ms = m.schedule.lag_max_ms.max(r.schedule.lag_max_ms);
        agents.push(MergedAgent {
            file: name.clone(),
            agent: r.agent.clone(),
            committed: r.totals.committed,
            failed: r.totals.failed,
            tps: r.totals.tps,
        });
    }
    // Every agent's counts per operation.
    for (op, (o, resp, serv)) in ops.iter_mut() {
        let (mut c, mut f, mut rt) = (0, 0, 0);
        for (_, r) in files {
            if let Some(x) = r.operations.get(op) {
                c += x.committed;
                f += x.failed;
                rt += x.retries;
            }
        }
        o.committed = c;
        o.failed = f;
        o.retries = rt;
        o.share_pct = if committed + failed > 0 {
            (c + f) as f64 * 100.0 / (committed + failed) as f64
        } else {
            0.0
        };
        o.response = LatencySummary::of(resp);
        o.service = LatencySummary::of(serv);
        o.response_hdr = encode(resp);
        o.service_hdr = encode(serv);
    }
    m.operations = ops.into_iter().map(|(k, v)| (k, v.0)).collect();
    m.totals.committed = committed;
    m.totals.failed = failed;
    m.totals.retries = retries;
    m.duration_s = duration;
    m.totals.tps = if duration > 0.0 {
        committed as f64 / duration
    } else {
        0.0
    };
    m.totals.success_rate_pct = if committed + failed > 0 {
        committed as f64 * 100.0 / (committed + failed) as f64
    } else {
        0.0
    };
    m.response = LatencySummary::of(&response);
    m.service = LatencySummary::of(&service);
    m.response_hdr = encode(&response);
    m.service_hdr = encode(&service);
    m.errors = errors.into_values().collect();
    m.intervals = seconds
        .into_values()
        .map(|(mut iv, h)| {
            let s = LatencySummary::of(&h);
            iv.tps = if iv.span_s > 0.0 {
                iv.committed as f64 / iv.span_s
            } else {
                0.0
            };
            iv.p50_ms = s.p50_ms;
            iv.p95_ms = s.p95_ms;
            iv.p99_ms = s.p99_ms;
            iv.max_ms = s.max_ms;
            iv.mean_ms = s.mean_ms;
            iv.response_hdr = if h.is_empty() {
                String::new()
            } else {
                encode(&h)
            };
            iv
        })
        .collect();
    outages.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    m.outages = outages;
    m.schedule.target_tps = first.schedule.target_tps.map(|_| target);
    m.schedule.achieved_tps = achieved;
    m.schedule.lag_mean_ms = if lag_n > 0 {
        lag_sum / lag_n as f64
    } else {
        0.0
    };
    m.schedule.missed = files.iter().map(|(_, r)| r.schedule.missed).sum();
    m.schedule.missed_connection_lost = files
        .iter()
        .map(|(_, r)| r.schedule.missed_connection_lost)
        .sum();
    m.schedule.in_flight = files.iter().map(|(_, r)| r.schedule.in_flight).sum();
    m.schedule.behind = files.iter().any(|(_, r)| r.schedule.behind);
    m.interrupted = interrupted;
    m.started_at =
        crate::util::time::rfc3339_us(origin_us - (first.config.warmup.as_secs_f64() * 1e6) as i64);
    if m.server.is_some() {
        notes.push(format!(
            "server metrics are {first_name}'s: every agent sampled the same server"
        ));
    }
    // Per-agent checks do not add up to a check of the whole run: writers-readers checks
    // stay per agent; list-append histories are checked together by the caller
    // (`history::merge_histories`), which has the files.
    if m.writers_readers.take().is_some() {
        notes.push(
            "each agent's writers-readers checks stay in its own file; the merged result carries no verdict"
                .into(),
        );
    }
    m.verification = None;
    m.thresholds.clear();
    m.stages.clear();
    if !missing.is_empty() {
        notes.push(format!(
            "partial: segments {} are missing",
            missing.join(", ")
        ));
    }
    m.notes = notes;
    m.merged = Some(MergeInfo {
        agents,
        missing_segments: missing,
    });
    Ok(m)
}

fn zero_interval(t_s: f64) -> IntervalRecord {
    IntervalRecord {
        t_s,
        committed: 0,
        failed: 0,
        retries: 0,
        tps: 0.0,
        errors: 0,
        p50_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        mean_ms: 0.0,
        partial: false,
        span_s: 0.0,
        target_tps: None,
        response_hdr: String::new(),
    }
}
