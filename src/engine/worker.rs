//! One worker thread: a current-thread tokio runtime driving its share of the connections.

use super::{connect_failed, schedule_for, Gate, RunCtx};
use crate::db::{within, Connection, DbError, ErrorKind};
use crate::metrics::recorder::Recorder;
use crate::metrics::result::Outage;
use crate::value::Value;
use crate::workload::plan::TxGen;
use crate::workload::tx::Tx;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A connection was lost and (maybe) re-established.
/// Below this much time to the intended start, yield instead of arming a timer.
const SPIN_BELOW: Duration = Duration::from_micros(1500);

pub(crate) struct OutageEvent {
    connection: usize,
    start: Instant,
    duration: Duration,
    error: String,
    recovered: bool,
}

impl OutageEvent {
    pub(crate) fn into_outage(self, origin: Instant) -> Outage {
        let start_s = if self.start >= origin {
            self.start.duration_since(origin).as_secs_f64()
        } else {
            -(origin.duration_since(self.start).as_secs_f64())
        };
        Outage {
            connection: self.connection,
            start_s,
            duration_s: self.duration.as_secs_f64(),
            error: self.error,
            recovered: self.recovered,
        }
    }
}

pub(crate) fn thread_main(
    ctx: Arc<RunCtx>,
    conns: Vec<(usize, Recorder)>,
    gate: Arc<Gate>,
    ready: Sender<Result<(), crate::Error>>,
    outages: Sender<OutageEvent>,
) {
    let rt = match crate::util::runtime::current_thread() {
        Ok(rt) => rt,
        Err(e) => {
            let why = e.to_string();
            for _ in &conns {
                let _ = ready.send(Err(crate::Error::Failed(why.clone())));
            }
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    rt.block_on(local.run_until(async move {
        let mut opened = Vec::new();
        for (index, rec) in conns {
            match open(&ctx).await {
                Ok(c) => {
                    let _ = ready.send(Ok(()));
                    opened.push((index, rec, c));
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            }
        }
        let Ok(start) = gate.wait() else { return };
        let mut tasks = Vec::new();
        let lanes = ctx.cfg.pipeline.max(1);
        for (index, rec, conn) in opened {
            // Pipelining: several lanes share one connection, each with its own schedule.
            for lane in 1..lanes {
                if let Some(shared) = conn.share() {
                    let ctx = ctx.clone();
                    let outages = outages.clone();
                    let rec = rec.clone();
                    tasks.push(tokio::task::spawn_local(async move {
                        drive(ctx, index * lanes + lane, rec, shared, start, outages).await
                    }));
                }
            }
            let ctx = ctx.clone();
            let outages = outages.clone();
            tasks.push(tokio::task::spawn_local(async move {
                drive(ctx, index * lanes, rec, conn, start, outages).await
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }));
}

/// Opens a connection, sets isolation, prepares every statement.
async fn open(ctx: &RunCtx) -> Result<Connection, crate::Error> {
    let mut conn = Connection::connect(&ctx.url)
        .await
        .map_err(connect_failed)?;
    if let Some(level) = ctx.cfg.isolation {
        conn.set_isolation(level)
            .await
            .map_err(|e| crate::Error::db("setting the isolation level", e))?;
    }
    ctx.plan.prepare(&mut conn).await?;
    Ok(conn)
}

enum Outcome {
    Committed(Option<Value>),
    Failed(DbError),
}

async fn drive(
    ctx: Arc<RunCtx>,
    index: usize,
    rec: Recorder,
    mut conn: Connection,
    start: Instant,
    outages: Sender<OutageEvent>,
) {
    let cfg = &ctx.cfg;
    let mut gen = TxGen::new(ctx.plan.clone(), index, ctx.seed);
    let mut schedule = schedule_for(cfg, index, ctx.seed);
    let warmup_end = start + cfg.warmup;
    let deadline = cfg.duration.map(|d| warmup_end + d);
    let mut quota = cfg.transactions.map(|n| {
        let c = (cfg.connections * cfg.pipeline.max(1)) as u64;
        n / c + u64::from((index as u64) < n % c)
    });
    let dialect = conn.dialect();
    // Everything before the common start would go unmeasured; wait for it.
    tokio::time::sleep_until(tokio::time::Instant::from_std(start)).await;
    loop {
        if ctx.stop.load(Ordering::Relaxed) || quota == Some(0) {
            break;
        }
        let intended = match schedule.next_start() {
            Some(off) => start + off,
            None => Instant::now(),
        };
        if let Some(d) = deadline {
            if intended >= d {
                break;
            }
            if Instant::now() >= d {
                // The database fell behind the schedule: count the starts that never happened
                // instead of running past the end of the run.
                if intended >= warmup_end {
                    let mut missed = 1;
                    while let Some(off) = schedule.next_start() {
                        if start + off >= d {
                            break;
                        }
                        missed += 1;
                    }
                    rec.missed(missed);
                }
                break;
            }
        }
        // Sleep until the intended start in short steps, so Ctrl-C is noticed promptly. The
        // timer only has millisecond resolution and fires late, which would show up as
        // schedule lag; the last stretch is covered by yielding to the other connections.
        loop {
            let now = Instant::now();
            if now >= intended || ctx.stop.load(Ordering::Relaxed) {
                break;
            }
            let left = intended - now;
            if left > SPIN_BELOW {
                tokio::time::sleep((left - SPIN_BELOW).min(Duration::from_millis(100))).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
        if ctx.stop.load(Ordering::Relaxed) {
            break;
        }
        let tx = gen.next_tx();
        let actual = Instant::now();
        let mut retries = 0u32;
        // A transaction may not outlive the run (plus a grace second) or the timeout: a hung
        // server must not stall the run; the connection is then treated as lost.
        let limit = match deadline {
            Some(d) => cfg
                .timeout
                .min(d.saturating_duration_since(Instant::now()) + Duration::from_secs(1)),
            None => cfg.timeout,
        };
        let outcome = loop {
            let attempt = within(limit, execute(&mut conn, &tx, dialect)).await;
            match attempt {
                Ok(key) => break Outcome::Committed(key),
                Err(e) => {
                    rec.error(&e.class(), e.kind.is_retryable(), &e.message);
                    if e.kind == ErrorKind::ConnectionLost {
                        break Outcome::Failed(e);
                    }
                    if e.kind.is_retryable()
                        && retries < cfg.max_retries
                        && !ctx.stop.load(Ordering::Relaxed)
                    {
                        retries += 1;
                        continue;
                    }
                    break Outcome::Failed(e);
                }
            }
        };
        let end = Instant::now();
        let measured = intended >= warmup_end;
        let ok = matches!(outcome, Outcome::Committed(_));
        if measured {
            let us = |d: Duration| d.as_micros() as u64;
            rec.transaction(
                tx.op,
                ok,
                retries,
                us(end.saturating_duration_since(intended)),
                us(end.saturating_duration_since(actual)),
                us(actual.saturating_duration_since(intended)),
            );
            if let Some(q) = quota.as_mut() {
                *q -= 1;
            }
        }
        match outcome {
            Outcome::Committed(key) => gen.committed(&tx, key),
            Outcome::Failed(e) if e.kind == ErrorKind::ConnectionLost => {
                match reconnect(&ctx, index, &e, deadline, &outages).await {
                    Some(c) => conn = c,
                    None => break,
                }
                // A closed loop resumes at once; an open loop catches up on its schedule.
            }
            Outcome::Failed(_) => {}
        }
    }
}

/// Runs one transaction; multi-statement ones inside BEGIN/COMMIT.
async fn execute(
    conn: &mut Connection,
    tx: &Tx,
    dialect: crate::db::Dialect,
) -> Result<Option<Value>, DbError> {
    if tx.steps.len() == 1 {
        let s = &tx.steps[0];
        return Ok(conn.run(s.stmt, &s.params).await?.inserted_key());
    }
    conn.execute(dialect.begin(tx.writes)).await?;
    let mut first_key = None;
    for (i, s) in tx.steps.iter().enumerate() {
        let res = match s.key_from {
            Some((_, p)) => {
                let mut params = s.params.clone();
                if let Some(slot) = params.get_mut(p) {
                    *slot = first_key.clone().unwrap_or(Value::Null);
                }
                conn.run(s.stmt, &params).await
            }
            None => conn.run(s.stmt, &s.params).await,
        };
        match res {
            Ok(out) => {
                if i == 0 {
                    first_key = out.inserted_key();
                }
            }
            Err(e) => {
                if e.kind != ErrorKind::ConnectionLost {
                    let _ = conn.execute("ROLLBACK").await;
                }
                return Err(e);
            }
        }
    }
    if let Err(e) = conn.execute("COMMIT").await {
        if e.kind != ErrorKind::ConnectionLost {
            let _ = conn.execute("ROLLBACK").await;
        }
        return Err(e);
    }
    Ok(first_key)
}

/// Re-establishes a lost connection with exponential backoff (100 ms up to 500 ms, so the
/// outage measured is at most half a second longer than the real one).
async fn reconnect(
    ctx: &RunCtx,
    index: usize,
    err: &DbError,
    deadline: Option<Instant>,
    outages: &Sender<OutageEvent>,
) -> Option<Connection> {
    let began = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        if ctx.stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = outages.send(OutageEvent {
                connection: index,
                start: began,
                duration: began.elapsed(),
                error: err.to_string(),
                recovered: false,
            });
            return None;
        }
        tokio::time::sleep(backoff).await;
        // A server that accepts but never answers must not hold the reconnect forever.
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), open(ctx)).await {
            let _ = outages.send(OutageEvent {
                connection: index,
                start: began,
                duration: began.elapsed(),
                error: err.to_string(),
                recovered: true,
            });
            return Some(c);
        }
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}
