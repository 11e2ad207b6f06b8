//! The writers-readers pattern: optimistic writers (read the version, write only if it is
//! unchanged; a mismatch is a precondition failure, retried) and readers of written keys, each
//! role with its own count and rate; consistency checked after the run.

use super::config::{WorkloadConfig, WritersReaders};
use crate::datagen::Rng;
use crate::db::{within, Connection, DbError, DbUrl, ErrorKind};
use crate::metrics::hist::LatencySummary;
use crate::metrics::recorder::Interval;
use crate::metrics::result::{IntervalRecord, Outage, RunData, TargetInfo, WritersReadersStats};
use crate::metrics::RunResult;
use crate::value::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Operation indexes in the result: write, precondition_failure, read.
pub const OPS: [&str; 3] = ["write", "precondition_failure", "read"];

struct Shared {
    next_key: AtomicU64,
    /// Keys with at least one acknowledged write, for readers.
    written: Mutex<Vec<String>>,
    /// Acknowledged versions per key.
    acked: Mutex<HashMap<String, Vec<i64>>>,
}

/// An outage runs from a lost connection to the next answer from the database.
struct OutageTracker {
    connection: usize,
    /// Seconds since the start, and the error, while the connection is lost.
    down: Option<(f64, String)>,
}

impl OutageTracker {
    fn lost(&mut self, start: Instant, e: &DbError) {
        if self.down.is_none() {
            let at = start.elapsed().as_secs_f64();
            self.down = Some((at, format!("{}: {}", e.class(), e.message)));
        }
    }

    fn close(&mut self, start: Instant, recovered: bool, out: &mut Vec<Outage>) {
        if let Some((s, error)) = self.down.take() {
            out.push(Outage {
                connection: self.connection,
                start_s: s,
                duration_s: start.elapsed().as_secs_f64() - s,
                error,
                recovered,
            });
        }
    }

    fn answered(&mut self, start: Instant, out: &mut Vec<Outage>) {
        self.close(start, true, out);
    }

    fn unrecovered(&mut self, start: Instant, out: &mut Vec<Outage>) {
        self.close(start, false, out);
    }
}

/// The start line: every role connects, then the schedule begins at one instant for all.
struct Gate {
    barrier: std::sync::Barrier,
    start: std::sync::OnceLock<Instant>,
}

#[derive(Default)]
struct Events {
    /// (seconds since start, op, ok, response µs, service µs)
    ops: Vec<(f64, usize, bool, u64, u64)>,
    attempts: u64,
    pf: u64,
    retried: u64,
    retried_ok: u64,
    exceeded: u64,
    writes: u64,
    /// Scheduled transactions not started by the end of the run (the role fell behind).
    missed: u64,
    outages: Vec<Outage>,
    /// (reader, key, version) in order
    seen: Vec<(usize, String, i64)>,
    errors: Vec<DbError>,
}

impl Events {
    /// Records a failed attempt; true when the connection is lost and must be replaced.
    fn error(&mut self, e: DbError, outage: &mut OutageTracker, start: Instant) -> bool {
        let lost = e.kind == ErrorKind::ConnectionLost;
        if lost {
            outage.lost(start, &e);
        }
        self.errors.push(e);
        lost
    }
}

fn key_name(n: u64) -> String {
    format!("key_{n:06}")
}

/// Runs the pattern and builds its result (written by the caller).
pub fn run(
    cfg: &WorkloadConfig,
    url: &DbUrl,
    server_version: String,
    stop: Arc<AtomicBool>,
    started: Option<Arc<std::sync::OnceLock<Instant>>>,
) -> Result<RunResult, crate::Error> {
    let wr = cfg.writers_readers.clone();
    let rt = crate::util::runtime::current_thread()?;
    // The setup connection stays open for the run: an in-memory SQLite database lives only as
    // long as some connection holds it.
    let mut setup = rt.block_on(async {
        let mut c = Connection::connect(url).await?;
        let d = c.dialect();
        c.execute(&d.drop_table(&wr.table)).await.map_err(|e| crate::Error::db("dropping the writers-readers table", e))?;
        c.execute(&format!("CREATE TABLE {} (k VARCHAR(64) PRIMARY KEY, version BIGINT NOT NULL, val TEXT, writer INTEGER)", d.ident(&wr.table)))
            .await
            .map_err(|e| crate::Error::db("creating the writers-readers table", e))?;
        Ok::<Connection, crate::Error>(c)
    })?;
    let shared = Arc::new(Shared {
        next_key: AtomicU64::new(0),
        written: Mutex::new(Vec::new()),
        acked: Mutex::new(HashMap::new()),
    });
    let duration = cfg.duration.unwrap_or(Duration::from_secs(10));
    let started_at_us = crate::util::time::now_us();
    // Every role connects first; the schedule starts when all have (or failed to), so a slow
    // network does not eat into the measured run.
    let gate = Arc::new(Gate {
        barrier: std::sync::Barrier::new(wr.num_writers + wr.num_readers + 1),
        start: std::sync::OnceLock::new(),
    });
    let seed = cfg.seed.unwrap_or_else(Rng::seed_from_time);
    let limit = cfg.timeout;
    let mut handles = Vec::new();
    let roles = (0..wr.num_writers)
        .map(|w| (true, w))
        .chain((0..wr.num_readers).map(|r| (false, r)));
    for (writer, id) in roles {
        let (wr, url, shared, stop, gate) = (
            wr.clone(),
            url.clone(),
            shared.clone(),
            stop.clone(),
            gate.clone(),
        );
        handles.push(std::thread::spawn(move || {
            role(
                writer, id, &wr, &url, &shared, &gate, duration, &stop, seed, limit,
            )
        }));
    }
    gate.barrier.wait();
    let start = Instant::now() + Duration::from_millis(10);
    let _ = gate.start.set(start);
    // Fault timelines count from here, after the table and connections are set up.
    if let Some(s) = &started {
        let _ = s.set(start);
    }
    gate.barrier.wait();
    let mut all = Events::default();
    for h in handles {
        let e = h
            .join()
            .map_err(|_| crate::Error::Failed("a writers-readers client panicked".into()))??;
        all.ops.extend(e.ops);
        all.attempts += e.attempts;
        all.pf += e.pf;
        all.retried += e.retried;
        all.retried_ok += e.retried_ok;
        all.exceeded += e.exceeded;
        all.missed += e.missed;
        all.outages.extend(e.outages);
        all.writes += e.writes;
        all.seen.extend(e.seen);
        all.errors.extend(e.errors);
    }
    let interrupted = stop.load(Ordering::SeqCst);
    let measured = if interrupted {
        start.elapsed().as_secs_f64().max(0.001)
    } else {
        duration.as_secs_f64()
    };
    // Consistency checks against the final table.
    let final_rows = rt.block_on(final_table(&mut setup, url, &wr.table))?;
    let finals: HashMap<String, i64> = final_rows
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone()?.parse().ok()?)))
        .collect();
    let acked = shared.acked.lock().map(|g| g.clone()).unwrap_or_default();
    let violations = check(&finals, &acked, &all.seen);
    // Totals, per-second intervals and histograms.
    let mut totals = Interval::with_ops(3);
    let secs = measured.ceil().max(1.0) as usize;
    let mut buckets: Vec<Interval> = (0..secs).map(|_| Interval::with_ops(3)).collect();
    for &(t, op, ok, resp, svc) in &all.ops {
        // Per-second figures count work when it completes, so a stalled server shows as
        // seconds without commits (the latency from the intended start shows the backlog).
        let done_s = t + resp as f64 / 1e6;
        for iv in [&mut totals, &mut buckets[(done_s as usize).min(secs - 1)]] {
            let s = &mut iv.ops[op];
            if ok {
                s.committed += 1;
            } else {
                s.failed += 1;
            }
            let _ = s.response.record(resp.max(1));
            let _ = s.service.record(svc.max(1));
        }
    }
    for e in &all.errors {
        let t = totals.errors.entry(e.class()).or_default();
        t.count += 1;
        t.retryable = e.kind.is_retryable();
        if t.first_message.is_empty() {
            t.first_message = e.message.clone();
        }
    }
    let intervals = IntervalRecord::per_second(&buckets);
    let op_names: Vec<String> = OPS.iter().map(|s| s.to_string()).collect();
    let mut recorded = cfg.clone();
    recorded.db = url.redacted();
    let mut notes = Vec::new();
    if !violations.is_empty() {
        notes.push(format!("{} consistency violations", violations.len()));
    }
    if all.missed > 0 {
        notes.push(format!(
            "fell behind: {} scheduled transactions were not started by the end of the run",
            all.missed
        ));
    }
    let mut result = RunResult::build(RunData {
        config: recorded,
        target: TargetInfo {
            kind: url.kind(),
            server_version,
            url: url.redacted(),
        },
        op_names: &op_names,
        totals: &totals,
        intervals,
        outages: all.outages,
        started_at_us,
        ended_at_us: crate::util::time::now_us(),
        measured_s: measured,
        interrupted,
        notes,
    });
    let sum = |i: usize| LatencySummary::of(&totals.ops[i].response);
    let (w, pf, r) = (sum(0), sum(1), sum(2));
    result.writers_readers = Some(WritersReadersStats {
        write_tps: totals.ops[0].committed as f64 / measured,
        read_tps: totals.ops[2].committed as f64 / measured,
        writer_p50_ms: w.p50_ms,
        writer_p95_ms: w.p95_ms,
        writer_p99_ms: w.p99_ms,
        precondition_failure_p50_ms: pf.p50_ms,
        precondition_failure_p99_ms: pf.p99_ms,
        read_p50_ms: r.p50_ms,
        read_p95_ms: r.p95_ms,
        read_p99_ms: r.p99_ms,
        attempts: all.attempts,
        precondition_failures: all.pf,
        precondition_failure_rate: if all.attempts > 0 {
            all.pf as f64 / all.attempts as f64
        } else {
            0.0
        },
        avg_retry_count: if all.writes > 0 {
            (all.attempts - all.writes) as f64 / all.writes as f64
        } else {
            0.0
        },
        retry_success_rate: if all.retried > 0 {
            all.retried_ok as f64 / all.retried as f64
        } else {
            0.0
        },
        retry_failure_rate: if all.retried > 0 {
            (all.retried - all.retried_ok) as f64 / all.retried as f64
        } else {
            0.0
        },
        exceeded_retry_limit: all.exceeded,
        violations,
    });
    Ok(result)
}

/// The three consistency checks.
pub fn check(
    finals: &HashMap<String, i64>,
    acked: &HashMap<String, Vec<i64>>,
    seen: &[(usize, String, i64)],
) -> Vec<String> {
    let mut v = Vec::new();
    for (k, versions) in acked {
        let max = versions.iter().copied().max().unwrap_or(0);
        match finals.get(k) {
            Some(f) if *f >= max => {}
            other => v.push(format!(
                "acknowledged write of {k} version {max} is lost: the final table holds {other:?}"
            )),
        }
    }
    let mut last: HashMap<(usize, &str), i64> = HashMap::new();
    for (reader, k, ver) in seen {
        let committed = acked.get(k).is_some_and(|vs| vs.contains(ver))
            || finals.get(k).is_some_and(|f| ver <= f && *ver >= 1);
        if !committed {
            v.push(format!(
                "reader {reader} saw {k} at version {ver}, which no writer committed"
            ));
        }
        if let Some(prev) = last.get(&(*reader, k.as_str())) {
            if ver < prev {
                v.push(format!(
                    "reader {reader} saw {k} go back from version {prev} to {ver}"
                ));
            }
        }
        last.insert((*reader, k.as_str()), *ver);
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn role(
    writer: bool,
    id: usize,
    wr: &WritersReaders,
    url: &DbUrl,
    shared: &Shared,
    gate: &Gate,
    duration: Duration,
    stop: &AtomicBool,
    seed: u64,
    limit: Duration,
) -> Result<Events, crate::Error> {
    let rt = crate::util::runtime::current_thread()?;
    rt.block_on(async {
        let d = crate::db::Dialect::new(url.kind());
        let t = d.ident(&wr.table);
        let p = |n| d.placeholder(n);
        let sqls = vec![
            format!("SELECT version FROM {t} WHERE k = {}", p(1)),
            format!("INSERT INTO {t} (k, version, val, writer) VALUES ({}, 1, {}, {})", p(1), p(2), p(3)),
            format!("UPDATE {t} SET version = version + 1, val = {}, writer = {} WHERE k = {} AND version = {}", p(1), p(2), p(3), p(4)),
        ];
        let opened = async {
            let mut c = Connection::connect(url).await?;
            c.prepare_all(&sqls).await.map_err(|e| crate::Error::db("preparing the writers-readers statements", e))?;
            Ok::<Connection, crate::Error>(c)
        }
        .await;
        // Both waits happen whatever the outcome, or the other roles would wait forever.
        gate.barrier.wait();
        gate.barrier.wait();
        let start = gate.start.get().copied().unwrap_or_else(Instant::now);
        let mut c = opened?;
        let mut ev = Events::default();
        let mut outage = OutageTracker {
            connection: if writer { id } else { wr.num_writers + id },
            down: None,
        };
        let mut rng = Rng::derive(seed, (id as u64) * 2 + writer as u64);
        let rate = if writer { wr.writer_rate } else { wr.reader_rate };
        let gap = 1.0 / rate;
        let end = start + duration;
        // Writers' windows of the pool: overlap 1 shares all keys, 0 gives disjoint ranges.
        let stride = ((wr.key_pool_size as f64) * (1.0 - wr.key_overlap_ratio)).round() as u64;
        let mut n = 0u64;
        // Poisson arrivals per client, so writers meet on shared keys as often as chance says.
        let mut at = rng.exp(gap);
        loop {
            let intended = start + Duration::from_secs_f64(at);
            at += rng.exp(gap);
            n += 1;
            // A role that fell behind stops at the end too: its unstarted work is missed, not
            // done late (which would report the target rate whatever the database managed).
            if intended >= end || stop.load(Ordering::Relaxed) {
                break;
            }
            if Instant::now() >= end {
                // This arrival and every later one before the end.
                ev.missed += 1;
                while at < duration.as_secs_f64() {
                    ev.missed += 1;
                    at += rng.exp(gap);
                }
                break;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(intended)).await;
            let actual = Instant::now();
            let t_s = intended.saturating_duration_since(start).as_secs_f64();
            if writer {
                let key = if wr.pool { key_name(id as u64 * stride + rng.below(wr.key_pool_size)) } else { key_name(shared.next_key.fetch_add(1, Ordering::Relaxed)) };
                let value: String = (0..wr.value_size).map(|i| (b'a' + ((n as usize + i) % 26) as u8) as char).collect();
                let mut tries = 0u32;
                ev.writes += 1;
                loop {
                    ev.attempts += 1;
                    let attempt = Instant::now();
                    match within(limit, write(&mut c, d, &key, &value, id)).await {
                        Ok(Some(ver)) => {
                            outage.answered(start, &mut ev.outages);
                            let done = Instant::now();
                            ev.ops.push((t_s, 0, true, done.duration_since(intended).as_micros() as u64, done.duration_since(actual).as_micros() as u64));
                            if tries > 0 {
                                ev.retried_ok += 1;
                            }
                            if let Ok(mut g) = shared.acked.lock() {
                                let e = g.entry(key.clone()).or_default();
                                if e.is_empty() {
                                    if let Ok(mut w) = shared.written.lock() {
                                        w.push(key.clone());
                                    }
                                }
                                e.push(ver);
                            }
                            break;
                        }
                        Ok(None) => {
                            outage.answered(start, &mut ev.outages);
                            ev.pf += 1;
                            let us = attempt.elapsed().as_micros() as u64;
                            ev.ops.push((t_s, 1, false, us, us));
                        }
                        Err(e) => {
                            if ev.error(e, &mut outage, start) {
                                if let Some(nc) = reconnect(url, &sqls).await {
                                    c = nc;
                                }
                            }
                        }
                    }
                    if tries == 0 {
                        ev.retried += 1;
                    }
                    tries += 1;
                    if tries > wr.max_retry_count {
                        ev.exceeded += 1;
                        break;
                    }
                }
            } else {
                let key = shared.written.lock().ok().and_then(|w| if w.is_empty() { None } else { Some(w[rng.below(w.len() as u64) as usize].clone()) });
                let Some(key) = key else { continue };
                let r = within(limit, async {
                    c.execute(d.begin(false)).await?;
                    let out = c.run_first(0, &[Value::Text(key.clone())]).await;
                    let _ = c.execute("COMMIT").await;
                    out
                })
                .await;
                let done = Instant::now();
                match r {
                    Ok(out) => {
                        outage.answered(start, &mut ev.outages);
                        let ver = out.first.and_then(|v| v.as_i64()).unwrap_or(0);
                        ev.seen.push((id, key, ver));
                        ev.ops.push((t_s, 2, true, done.duration_since(intended).as_micros() as u64, done.duration_since(actual).as_micros() as u64));
                    }
                    Err(e) => {
                        ev.ops.push((t_s, 2, false, done.duration_since(intended).as_micros() as u64, done.duration_since(actual).as_micros() as u64));
                        if ev.error(e, &mut outage, start) {
                            if let Some(nc) = reconnect(url, &sqls).await {
                                c = nc;
                            }
                        }
                    }
                }
            }
        }
        outage.unrecovered(start, &mut ev.outages);
        Ok(ev)
    })
}

/// A fresh connection with the statements prepared, or None while the server is away. Bounded
/// so that a paused server (accepting, never answering) cannot hold a role past its schedule.
async fn reconnect(url: &DbUrl, sqls: &[String]) -> Option<Connection> {
    let open = async {
        let mut c = Connection::connect(url).await.ok()?;
        c.prepare_all(sqls).await.ok()?;
        Some(c)
    };
    match tokio::time::timeout(Duration::from_secs(2), open).await {
        Ok(Some(c)) => Some(c),
        _ => {
            // The server is down: wait a little instead of spinning through the next attempts.
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// The final table, read again on a fresh connection if the server was restarted during the
/// run (for up to 30 s, as it may still be starting).
async fn final_table(
    setup: &mut Connection,
    url: &DbUrl,
    table: &str,
) -> Result<Vec<Vec<Option<String>>>, crate::Error> {
    let sql = format!("SELECT k, version FROM {}", setup.dialect().ident(table));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match setup.query_text(&sql).await {
            Ok(rows) => return Ok(rows),
            Err(e) if e.kind == ErrorKind::ConnectionLost && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if let Ok(Ok(c)) =
                    tokio::time::timeout(Duration::from_secs(2), Connection::connect(url)).await
                {
                    *setup = c;
                }
            }
            Err(e) => return Err(crate::Error::db("reading the final table", e)),
        }
    }
}

/// One optimistic write: Some(new version) on success, None on a precondition failure.
async fn write(
    c: &mut Connection,
    d: crate::db::Dialect,
    key: &str,
    value: &str,
    writer: usize,
) -> Result<Option<i64>, DbError> {
    c.execute(d.begin(true)).await?;
    let r = async {
        let cur = c.run_first(0, &[Value::Text(key.into())]).await?;
        let applied = match cur.first.and_then(|v| v.as_i64()) {
            None => match c
                .run(
                    1,
                    &[
                        Value::Text(key.into()),
                        Value::Text(value.into()),
                        Value::Int(writer as i64),
                    ],
                )
                .await
            {
                Ok(_) => Some(1),
                Err(e) if e.kind == ErrorKind::Constraint => None,
                Err(e) => return Err(e),
            },
            Some(v) => {
                let out = c
                    .run(
                        2,
                        &[
                            Value::Text(value.into()),
                            Value::Int(writer as i64),
                            Value::Text(key.into()),
                            Value::Int(v),
                        ],
                    )
                    .await?;
                (out.rows == 1).then_some(v + 1)
            }
        };
        Ok(applied)
    }
    .await;
    match r {
        Ok(Some(v)) => {
            c.execute("COMMIT").await?;
            Ok(Some(v))
        }
        Ok(None) => {
            let _ = c.execute("ROLLBACK").await;
            Ok(None)
        }
        Err(e) => {
            if e.kind != ErrorKind::ConnectionLost {
                let _ = c.execute("ROLLBACK").await;
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_catch_a_broken_history() {
        let mut finals = HashMap::new();
        finals.insert("key_000001".to_string(), 3);
        let mut acked = HashMap::new();
        acked.insert("key_000001".to_string(), vec![1, 2, 3]);
        let good = vec![
            (0, "key_000001".to_string(), 1),
            (0, "key_000001".to_string(), 3),
        ];
        assert!(check(&finals, &acked, &good).is_empty());
        // A lost acknowledged write, a value nobody committed, and a read going backwards.
        acked.insert("key_000002".to_string(), vec![1]);
        let bad = vec![
            (0, "key_000001".to_string(), 3),
            (0, "key_000001".to_string(), 2),
            (1, "key_000001".to_string(), 9),
        ];
        let v = check(&finals, &acked, &bad);
        assert!(
            v.iter()
                .any(|x| x.contains("key_000002") && x.contains("lost")),
            "{v:?}"
        );
        assert!(v.iter().any(|x| x.contains("go back")), "{v:?}");
        assert!(v.iter().any(|x| x.contains("no writer committed")), "{v:?}");
    }
}
