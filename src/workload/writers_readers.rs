//! The writers-readers pattern: optimistic writers (read the version, write only if it is
//! unchanged; a mismatch is a precondition failure, retried by the engine like a
//! serialization failure) and readers of written keys, each role with its own count and rate;
//! consistency checked after the run.

use super::run::{RunEnv, RunOptions};
use crate::config::{WorkloadConfig, WritersReaders};
use crate::datagen::Rng;
use crate::db::{Connection, DbError, ErrorKind};
use crate::engine::{ProgressSink, TxEnd, TxResult, TxSource, Workload};
use crate::metrics::hist::{new_histogram, LatencySummary};
use crate::metrics::result::WritersReadersStats;
use crate::metrics::RunResult;
use crate::value::Value;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Operation indexes in the result: write, read. Precondition failures are attempts inside a
/// write; their figures are in the result's `writers_readers` section.
pub const OPS: [&str; 2] = ["write", "read"];

/// What the lanes share while running.
struct Shared {
    next_key: AtomicU64,
    /// Keys with at least one acknowledged write, for readers.
    written: Mutex<Vec<String>>,
    /// Acknowledged versions per key.
    acked: Mutex<HashMap<String, Vec<i64>>>,
    /// Each lane's tallies, handed over when it finishes.
    tallies: Mutex<Tally>,
}

/// Role figures the engine does not keep: write attempts, precondition failures, reads seen.
struct Tally {
    attempts: u64,
    pf: u64,
    /// Time of each failed precondition check, µs.
    pf_latency: Histogram<u64>,
    writes: u64,
    retried: u64,
    retried_ok: u64,
    exceeded: u64,
    /// (reader, key, version) in order
    seen: Vec<(usize, String, i64)>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            attempts: 0,
            pf: 0,
            pf_latency: new_histogram(),
            writes: 0,
            retried: 0,
            retried_ok: 0,
            exceeded: 0,
            seen: Vec::new(),
        }
    }
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.attempts += o.attempts;
        self.pf += o.pf;
        let _ = self.pf_latency.add(&o.pf_latency);
        self.writes += o.writes;
        self.retried += o.retried;
        self.retried_ok += o.retried_ok;
        self.exceeded += o.exceeded;
        self.seen.extend(o.seen);
    }
}

/// The pattern as the engine's workload: lanes 0..num_writers write, the rest read.
pub struct WritersReadersWorkload {
    wr: WritersReaders,
    shared: Arc<Shared>,
    /// Keys of agents that share the run stay apart.
    segment: Option<crate::engine::Segment>,
}

impl WritersReadersWorkload {
    fn new(wr: WritersReaders, segment: Option<crate::engine::Segment>) -> Self {
        WritersReadersWorkload {
            wr,
            segment,
            shared: Arc::new(Shared {
                next_key: AtomicU64::new(0),
                written: Mutex::new(Vec::new()),
                acked: Mutex::new(HashMap::new()),
                tallies: Mutex::new(Tally::default()),
            }),
        }
    }

    fn statements(&self, c: &Connection) -> Vec<String> {
        let d = c.dialect();
        let t = d.ident(&self.wr.table);
        let p = |n| d.placeholder(n);
        vec![
            format!("SELECT version FROM {t} WHERE k = {}", p(1)),
            format!(
                "INSERT INTO {t} (k, version, val, writer) VALUES ({}, 1, {}, {})",
                p(1),
                p(2),
                p(3)
            ),
            format!(
                "UPDATE {t} SET version = version + 1, val = {}, writer = {} WHERE k = {} AND version = {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
        ]
    }
}

impl Workload<Connection> for WritersReadersWorkload {
    type Source = Role;

    fn op_names(&self) -> Vec<String> {
        OPS.iter().map(|s| s.to_string()).collect()
    }

    async fn prepare(&self, c: &mut Connection) -> Result<(), crate::Error> {
        let sqls = self.statements(c);
        c.prepare_all(&sqls)
            .await
            .map_err(|e| crate::Error::db("preparing the writers-readers statements", e))
    }

    fn source(&self, lane: usize, seed: u64) -> Role {
        let writer = lane < self.wr.num_writers;
        let id = if writer {
            lane
        } else {
            lane - self.wr.num_writers
        };
        Role {
            writer,
            id,
            wr: self.wr.clone(),
            shared: self.shared.clone(),
            rng: Rng::derive(seed, (id as u64) * 2 + writer as u64),
            n: 0,
            tally: Tally::default(),
            attempt: (0, Vec::new()),
            segment: self.segment,
        }
    }

    fn lane_rate(&self, lane: usize) -> Option<f64> {
        Some(if lane < self.wr.num_writers {
            self.wr.writer_rate
        } else {
            self.wr.reader_rate
        })
    }
}

/// One writer or reader.
pub struct Role {
    writer: bool,
    id: usize,
    wr: WritersReaders,
    shared: Arc<Shared>,
    rng: Rng,
    n: u64,
    tally: Tally,
    /// Attempts and precondition failures (with their times, µs) of the transaction running
    /// now; they join the tally only if the engine says it was measured (not warmup).
    attempt: (u64, Vec<u64>),
    segment: Option<crate::engine::Segment>,
}

pub enum WrTx {
    Write { key: String, value: String },
    Read { key: String },
}

pub enum WrAnswer {
    /// The version this write committed.
    Written(i64),
    /// The version read; None when the key does not exist.
    Read(Option<i64>),
}

fn key_name(n: u64) -> String {
    format!("key_{n:06}")
}

impl TxSource<Connection> for Role {
    type Tx = WrTx;
    type Answer = WrAnswer;

    fn next_tx(&mut self) -> WrTx {
        self.n += 1;
        let wr = &self.wr;
        if self.writer {
            // Writers' windows of the pool: overlap 1 shares all keys, 0 gives disjoint ones.
            let stride = ((wr.key_pool_size as f64) * (1.0 - wr.key_overlap_ratio)).round() as u64;
            let key = if wr.pool {
                key_name(self.id as u64 * stride + self.rng.below(wr.key_pool_size))
            } else {
                let n = self.shared.next_key.fetch_add(1, Ordering::Relaxed);
                key_name(self.segment.map_or(n, |s| s.spread(n)))
            };
            let n = self.n as usize;
            let value = (0..wr.value_size)
                .map(|i| (b'a' + ((n + i) % 26) as u8) as char)
                .collect();
            WrTx::Write { key, value }
        } else {
            let key = self
                .shared
                .written
                .lock()
                .ok()
                .and_then(|w| {
                    (!w.is_empty()).then(|| w[self.rng.below(w.len() as u64) as usize].clone())
                })
                // Nothing written yet: a read of a key that does not exist (yet).
                .unwrap_or_else(|| key_name(0));
            WrTx::Read { key }
        }
    }

    fn op(&self, tx: &WrTx) -> usize {
        match tx {
            WrTx::Write { .. } => 0,
            WrTx::Read { .. } => 1,
        }
    }

    async fn execute<'a>(
        &'a mut self,
        c: &'a mut Connection,
        tx: &'a WrTx,
    ) -> Result<WrAnswer, DbError> {
        match tx {
            WrTx::Write { key, value } => {
                self.attempt.0 += 1;
                let t0 = Instant::now();
                match write(c, key, value, self.id).await? {
                    Some(v) => Ok(WrAnswer::Written(v)),
                    None => {
                        self.attempt.1.push(t0.elapsed().as_micros() as u64);
                        Err(DbError::new(
                            ErrorKind::Precondition,
                            "version",
                            "the version changed between read and write",
                        ))
                    }
                }
            }
            WrTx::Read { key } => {
                let d = c.dialect();
                c.execute(d.begin(false)).await?;
                let out = c.run_first(0, &[Value::Text(key.clone())]).await;
                let _ = c.execute("COMMIT").await;
                Ok(WrAnswer::Read(out?.first.and_then(|v| v.as_i64())))
            }
        }
    }

    fn outcome(&mut self, tx: WrTx, result: TxResult<WrAnswer>, end: TxEnd) {
        let (attempts, pf_us) = std::mem::take(&mut self.attempt);
        let t = &mut self.tally;
        let retries = end.retries;
        // Warmup is left out of the figures; what it wrote still counts for the checks.
        if end.measured && matches!(tx, WrTx::Write { .. }) {
            t.attempts += attempts;
            t.pf += pf_us.len() as u64;
            for us in pf_us {
                let _ = t.pf_latency.record(us.max(1));
            }
            t.writes += 1;
            if retries > 0 {
                t.retried += 1;
                if matches!(result, TxResult::Committed(_)) {
                    t.retried_ok += 1;
                }
            }
            if let TxResult::Failed(e) = &result {
                if e.kind == ErrorKind::Precondition && end.retries_exhausted {
                    t.exceeded += 1;
                }
            }
        }
        match (tx, result) {
            (WrTx::Write { key, .. }, TxResult::Committed(WrAnswer::Written(ver))) => {
                if let Ok(mut g) = self.shared.acked.lock() {
                    let e = g.entry(key.clone()).or_default();
                    if e.is_empty() {
                        if let Ok(mut w) = self.shared.written.lock() {
                            w.push(key);
                        }
                    }
                    e.push(ver);
                }
            }
            (WrTx::Read { key }, TxResult::Committed(WrAnswer::Read(Some(ver)))) => {
                t.seen.push((self.id, key, ver));
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        let mine = std::mem::take(&mut self.tally);
        if let Ok(mut g) = self.shared.tallies.lock() {
            g.merge(mine);
        }
    }
}

/// Runs the pattern on the engine and builds its result.
pub fn run(
    env: &mut RunEnv,
    cfg: &WorkloadConfig,
    wr: &WritersReaders,
    opts: &RunOptions,
    progress: &mut dyn ProgressSink,
) -> Result<RunResult, crate::Error> {
    let wr = wr.clone();
    let table = wr.table.clone();
    env.block_on(async |c| {
        let d = c.dialect();
        c.execute(&d.drop_table(&table))
            .await
            .map_err(|e| crate::Error::db("dropping the writers-readers table", e))?;
        c.execute(&format!(
            "CREATE TABLE {} (k VARCHAR(64) PRIMARY KEY, version BIGINT NOT NULL, val TEXT, writer INTEGER)",
            d.ident(&table)
        ))
        .await
        .map_err(|e| crate::Error::db("creating the writers-readers table", e))
    })?;
    // The roles are the engine's connections, each at its role's rate; precondition
    // failures are retried up to the pattern's own limit.
    let mut run_cfg = cfg.clone();
    run_cfg.connections = wr.num_writers + wr.num_readers;
    run_cfg.threads = run_cfg.threads.max(1);
    run_cfg.max_retries = wr.max_retry_count;
    run_cfg.pipeline = 1;
    run_cfg.tps = None;
    let workload = Arc::new(WritersReadersWorkload::new(wr.clone(), cfg.segment));
    let out = env.run_engine(&run_cfg, workload.clone(), opts, progress)?;
    let measured = out.measured_s.max(1e-3);
    let url = env.url.clone();
    let stop = opts.stop.clone();
    let final_rows = env.block_on(async |c| final_table(c, &url, &table, &stop).await)?;
    let finals: HashMap<String, i64> = final_rows
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone()?.parse().ok()?)))
        .collect();
    let shared = &workload.shared;
    let acked = shared.acked.lock().map(|g| g.clone()).unwrap_or_default();
    let tally = std::mem::take(&mut *shared.tallies.lock().unwrap_or_else(|p| p.into_inner()));
    let violations = check(&finals, &acked, &tally.seen);
    let lost_writes = lost(&finals, &acked);
    let mut notes = Vec::new();
    if !violations.is_empty() {
        notes.push(format!("{} consistency violations", violations.len()));
    }
    let totals = &out.totals;
    let sum = |i: usize| LatencySummary::of(&totals.ops[i].response);
    let (w, r) = (sum(0), sum(1));
    let pf = LatencySummary::of(&tally.pf_latency);
    let write_ok = totals.ops[0].committed;
    let read_ok = totals.ops[1].committed;
    let stats = WritersReadersStats {
        write_tps: write_ok as f64 / measured,
        read_tps: read_ok as f64 / measured,
        writer_p50_ms: w.p50_ms,
        writer_p95_ms: w.p95_ms,
        writer_p99_ms: w.p99_ms,
        precondition_failure_p50_ms: pf.p50_ms,
        precondition_failure_p99_ms: pf.p99_ms,
        read_p50_ms: r.p50_ms,
        read_p95_ms: r.p95_ms,
        read_p99_ms: r.p99_ms,
        attempts: tally.attempts,
        precondition_failures: tally.pf,
        precondition_failure_rate: ratio(tally.pf, tally.attempts),
        avg_retry_count: ratio(tally.attempts.saturating_sub(tally.writes), tally.writes),
        retry_success_rate: ratio(tally.retried_ok, tally.retried),
        retry_failure_rate: ratio(tally.retried - tally.retried_ok, tally.retried),
        exceeded_retry_limit: tally.exceeded,
        violations,
        lost_writes,
    };
    let mut result = env.result(&run_cfg, &workload.op_names(), out, notes);
    result.config = {
        let mut c = cfg.clone();
        c.db = url.redacted();
        c
    };
    // The roles run at their own rates, so the run has no single target to compare with:
    // falling behind shows as starts that never happened.
    if result.schedule.missed > 0 {
        result.schedule.behind = true;
        result.notes.push(format!(
            "fell behind: {} scheduled transactions were not started by the end of the run",
            result.schedule.missed
        ));
    }
    result.writers_readers = Some(stats);
    Ok(result)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        0.0
    }
}

/// The acknowledged writes the final table does not hold, by key.
pub fn lost(
    finals: &HashMap<String, i64>,
    acked: &HashMap<String, Vec<i64>>,
) -> Vec<crate::metrics::result::LostWrite> {
    let mut v: Vec<_> = acked
        .iter()
        .filter_map(|(k, versions)| {
            let max = versions.iter().copied().max().unwrap_or(0);
            let f = finals.get(k).copied();
            (f.is_none_or(|f| f < max)).then(|| crate::metrics::result::LostWrite {
                key: k.clone(),
                version: max,
                final_version: f,
            })
        })
        .collect();
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
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

/// The final table, read again on a fresh connection if the server was restarted during the
/// run (for up to 30 s, as it may still be starting).
async fn final_table(
    setup: &mut Connection,
    url: &crate::db::DbUrl,
    table: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Vec<Vec<Option<String>>>, crate::Error> {
    let sql = format!("SELECT k, version FROM {}", setup.dialect().ident(table));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A server that stopped answering must not hold the run: each try is bounded.
        match crate::db::within(Duration::from_secs(5), setup.query_text(&sql)).await {
            Ok(rows) => return Ok(rows),
            // An interrupted run does not wait for a server to come back.
            Err(e)
                if e.kind == ErrorKind::ConnectionLost
                    && Instant::now() < deadline
                    && !stop.load(Ordering::Relaxed) =>
            {
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
/// As in the harness this pattern comes from, the version is read in a transaction of its own
/// and the write is a separate conditional one: another writer may move the version in
/// between, on every database. (Read and write in one `BEGIN IMMEDIATE` transaction would
/// serialize SQLite's writers, and no conflict could ever show there.)
async fn write(
    c: &mut Connection,
    key: &str,
    value: &str,
    writer: usize,
) -> Result<Option<i64>, DbError> {
    let d = c.dialect();
    c.execute(d.begin(false)).await?;
    let cur = match c.run_first(0, &[Value::Text(key.into())]).await {
        Ok(cur) => cur.first.and_then(|v| v.as_i64()),
        Err(e) => {
            c.rollback_after(&e).await;
            return Err(e);
        }
    };
    c.execute("COMMIT").await?;
    c.execute(d.begin(true)).await?;
    let r = async {
        let applied = match cur {
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
            c.rollback_after(&e).await;
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
        finals.insert("key_000003".to_string(), 1);
        acked.insert("key_000003".to_string(), vec![1, 2]);
        let lost_keys: Vec<(String, Option<i64>)> = lost(&finals, &acked)
            .into_iter()
            .map(|l| (l.key, l.final_version))
            .collect();
        assert_eq!(
            lost_keys,
            [
                ("key_000002".to_string(), None),
                ("key_000003".to_string(), Some(1))
            ]
        );
    }
}
