//! One lane: the schedule, retries, reconnects, outages and recording for one stream of
//! transactions on one connection. Every workload runs through this loop.
//!
//! Time is tokio's, so tests can run a lane on a paused clock against a fake connection.

use super::source::{Connector, TxEnd, TxResult, TxSource, Workload};
use super::stop::StopSignal;
use super::watchdog::{Expired, Slot};
use super::{RunSettings, Schedule};
use crate::db::{DbError, ErrorKind};
use crate::metrics::recorder::Recorder;
use std::time::Duration;
use tokio::time::Instant;

/// How long a transaction still running at the end of the run may take to finish.
pub(crate) const END_GRACE: Duration = Duration::from_secs(1);

/// Reconnect backoff: from the first to the last step, doubling.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

/// A connection lost, from the first operation that stalled or failed until one worked again
/// (or the lane ended).
#[derive(Debug, Clone)]
pub(crate) struct OutageEvent {
    pub connection: usize,
    pub start: Instant,
    pub end: Instant,
    pub error: String,
    pub recovered: bool,
}

/// What a lane shares with the others of its run.
pub(crate) struct LaneCtx<K: Connector, W: Workload<K::Conn>> {
    pub connector: std::sync::Arc<K>,
    pub workload: std::sync::Arc<W>,
    pub settings: RunSettings,
    pub stop: StopSignal,
    pub outages: std::sync::mpsc::Sender<OutageEvent>,
    /// Where a lane hands its transaction-log buffers (`--log`).
    pub tx_log: Option<super::txlog::TxLogSender>,
    /// Rung when a lane gets a connection back after an outage: the server answers again,
    /// and lanes still waiting on a stuck attempt or a backoff try at once, instead of each
    /// adding up to a reconnect cycle to the outage it measures.
    pub back: std::sync::Arc<tokio::sync::Notify>,
}

/// An attempt pending this long when another lane got through is taken for stuck (a connect
/// whose packet a partition dropped waits for TCP's retransmit, a second or more away) and
/// made afresh, once per reconnect: a healthy connect slower than this then costs one more
/// connect, never a loop of them.
const STALE_ATTEMPT: Duration = Duration::from_millis(100);

impl<K: Connector, W: Workload<K::Conn>> LaneCtx<K, W> {
    /// Opens and readies a connection.
    pub(crate) async fn open(&self) -> Result<K::Conn, crate::Error> {
        let mut c = self.connector.connect().await?;
        self.workload.prepare(&mut c).await?;
        Ok(c)
    }

    fn schedule(&self, lane: usize) -> Schedule {
        let s = &self.settings;
        let lanes = (s.connections * s.pipeline.max(1)).max(1);
        let rate = self
            .workload
            .lane_rate(lane)
            .or_else(|| s.rate.map(|r| r / lanes as f64));
        match self.workload.lane_rate(lane) {
            // Stages: this lane's own part of the run's changing rate (all of its share, or,
            // where a stage runs on fewer connections, that stage's share or none).
            None if !s.stages.is_empty() => {
                let p = super::RateProfile::for_lane(
                    s.rate.unwrap_or(0.0),
                    s.warmup,
                    &s.stages,
                    lane / s.pipeline.max(1),
                    s.connections,
                    s.pipeline,
                );
                Schedule::own_profile(s.arrival, std::sync::Arc::new(p), lane, lanes, s.seed)
            }
            _ => match rate {
                None => Schedule::closed(),
                Some(r) => Schedule::open(s.arrival, r, lane, lanes, s.seed),
            },
        }
    }
}

/// The run as one lane sees it.
struct Window {
    start: Instant,
    warmup_end: Instant,
    deadline: Option<Instant>,
}

/// How one attempt ended.
enum Attempt<A> {
    Done(Result<A, DbError>),
    /// No answer within the timeout: the connection is given up as lost.
    TimedOut,
    /// The run ended (or was interrupted) while it waited.
    Cut,
}

/// Drives lane `lane` from `start` until its schedule, quota or the run ends.
pub(crate) async fn drive<K: Connector, W: Workload<K::Conn>>(
    ctx: &LaneCtx<K, W>,
    lane: usize,
    rec: Recorder,
    conn: K::Conn,
    start: Instant,
    mut slot: Slot,
) {
    let s = &ctx.settings;
    let mut src = ctx.workload.source(lane, s.seed);
    let mut schedule = ctx.schedule(lane);
    let warmup_end = start + s.warmup;
    let w = Window {
        start,
        warmup_end,
        deadline: s.duration.map(|d| warmup_end + d),
    };
    let lanes = (s.connections * s.pipeline.max(1)).max(1) as u64;
    let mut quota = s
        .transactions
        .map(|n| n / lanes + u64::from((lane as u64) < n % lanes));
    let mut conn = Some(conn);
    let mut think_rng = crate::datagen::Rng::derive(s.seed, 1_000_000 + lane as u64);
    // Backoff jitter draws from its own stream: a reconnect must not shift the think times
    // that follow it, which a seed makes repeatable.
    let mut backoff_rng = crate::datagen::Rng::derive(s.seed, 2_000_000 + lane as u64);
    let mut log_buf: Vec<super::txlog::TxRecord> = Vec::new();
    // Set while the connection is lost: since when, and why.
    let mut down: Option<(Instant, String)> = None;
    let has_weights = s.stages.iter().any(|st| st.weights.is_some());
    let mut stage: Option<usize> = None;
    // A start far ahead (`--start-at`) must not outlast a Ctrl-C.
    tokio::select! {
        _ = tokio::time::sleep_until(start) => {}
        _ = ctx.stop.wait() => {}
    }
    loop {
        if quota == Some(0) {
            break;
        }
        if ctx.stop.is_set() {
            // Starts already due when the run was interrupted were missed.
            let now = Instant::now();
            miss_rest(&rec, &mut schedule, &w, None, now, down.is_some(), quota);
            break;
        }
        // One clock read serves the schedule, the deadline and the wait (a closed loop
        // without think time, or a lane behind its schedule, does not wait).
        let mut now = Instant::now();
        let intended = match schedule.next_start() {
            Some(off) => start + off,
            // Closed loop: at once, or after the user's think time.
            None if schedule.is_open() => break,
            None => match (src.pause(), s.think) {
                (Some(p), _) => now + p,
                (None, Some(t)) => now + think_pause(t, &mut think_rng),
                (None, None) => now,
            },
        };
        if let Some(d) = w.deadline {
            if intended >= d {
                break;
            }
            if now >= d {
                miss_rest(
                    &rec,
                    &mut schedule,
                    &w,
                    Some(intended),
                    d,
                    down.is_some(),
                    quota,
                );
                break;
            }
        }
        if conn.is_none() {
            match reconnect(ctx, &w, &mut backoff_rng).await {
                Some(c) => {
                    if let Some((since, error)) = down.take() {
                        ctx.back.notify_waiters();
                        let _ = ctx.outages.send(OutageEvent {
                            connection: lane,
                            start: since,
                            end: Instant::now(),
                            error,
                            recovered: true,
                        });
                    }
                    conn = Some(c);
                    now = Instant::now();
                }
                None => {
                    // The run ended while the server was away: this start and the rest of
                    // the schedule never happened.
                    let until = end_of(&w, &ctx.stop);
                    miss_rest(&rec, &mut schedule, &w, Some(intended), until, true, quota);
                    break;
                }
            }
        }
        if (intended > now || ctx.stop.is_set()) && !wait_until(intended, &ctx.stop).await {
            let now = Instant::now();
            miss_rest(
                &rec,
                &mut schedule,
                &w,
                Some(intended),
                now,
                down.is_some(),
                quota,
            );
            break;
        }
        let Some(c) = conn.as_mut() else { break };
        // Stages with their own operation weights: the source hears when one begins.
        if has_weights {
            let st = super::schedule::stage_at(
                &s.stages,
                s.warmup,
                intended.saturating_duration_since(start),
            );
            if stage != Some(st) {
                stage = Some(st);
                src.stage(st);
            }
        }
        let tx = src.next_tx();
        let op = src.op(&tx);
        let actual = Instant::now();
        let measured = intended >= w.warmup_end;
        let mut retries = 0u32;
        let mut retries_exhausted = false;
        let mut attempt_start = actual;
        let (result, lost) = loop {
            match attempt(
                &mut src,
                c,
                &tx,
                &mut slot,
                attempt_start + s.timeout,
                w.deadline,
            )
            .await
            {
                Attempt::Done(Ok(a)) => break (TxResult::Committed(a), None),
                Attempt::Done(Err(e)) => {
                    if measured {
                        rec.error(&e.class(), e.kind.is_retryable(), &e.message);
                    }
                    if e.kind == ErrorKind::ConnectionLost {
                        let why = format!("{}: {}", e.class(), e.message);
                        break (TxResult::Failed(e), Some((attempt_start, why)));
                    }
                    if e.kind.is_retryable() && !ctx.stop.is_set() {
                        if retries < s.max_retries {
                            retries += 1;
                            attempt_start = Instant::now();
                            continue;
                        }
                        retries_exhausted = true;
                    }
                    break (TxResult::Failed(e), None);
                }
                Attempt::TimedOut => {
                    let e = DbError::abandoned(s.timeout);
                    if measured {
                        rec.error(&e.class(), false, &e.message);
                    }
                    let why = format!("{}: {}", e.class(), e.message);
                    break (TxResult::Failed(e), Some((attempt_start, why)));
                }
                Attempt::Cut => break (TxResult::InFlight, None),
            }
        };
        let end = Instant::now();
        if measured {
            let us = |d: Duration| d.as_micros() as u64;
            // Two subtractions serve the three figures (each is ~50 instructions, a tenth of
            // the engine's cost per SQLite select): the response time is the lag plus the
            // service time, unless a wait ended before its intended start.
            let service = end.saturating_duration_since(actual);
            let lag = actual.saturating_duration_since(intended);
            let response = if actual >= intended {
                us(lag + service)
            } else {
                us(end.saturating_duration_since(intended))
            };
            match &result {
                TxResult::InFlight => rec.in_flight(op, response),
                r => rec.transaction(
                    op,
                    matches!(r, TxResult::Committed(_)),
                    retries,
                    response,
                    us(service),
                    us(lag),
                ),
            }
            if let Some(q) = quota.as_mut() {
                *q -= 1;
            }
            if let Some(tx_log) = &ctx.tx_log {
                log_buf.push(super::txlog::TxRecord {
                    lane: lane as u32,
                    op: op as u16,
                    status: match &result {
                        TxResult::Committed(_) => 0,
                        TxResult::Failed(_) => 1,
                        TxResult::InFlight => 2,
                    },
                    retries,
                    intended_us: us(intended.saturating_duration_since(start)),
                    latency_us: response,
                    lag_us: us(lag),
                });
                if log_buf.len() >= super::txlog::BATCH {
                    let _ = tx_log.send(std::mem::replace(
                        &mut log_buf,
                        Vec::with_capacity(super::txlog::BATCH),
                    ));
                }
            }
        }
        let cut = matches!(result, TxResult::InFlight);
        src.outcome(
            tx,
            result,
            TxEnd {
                retries,
                measured,
                retries_exhausted,
            },
        );
        if cut {
            // The starts it held up before the end never happened.
            let until = end_of(&w, &ctx.stop);
            miss_rest(&rec, &mut schedule, &w, None, until, false, quota);
            break;
        }
        if let Some(lost) = lost {
            conn = None;
            // An outage starts at the first operation that stalled, not when it was noticed.
            down.get_or_insert(lost);
        }
    }
    if let Some((since, error)) = down {
        // Still lost when the lane ends: the outage lasts to the end of the run.
        let _ = ctx.outages.send(OutageEvent {
            connection: lane,
            start: since,
            end: end_of(&w, &ctx.stop),
            error,
            recovered: false,
        });
    }
    if let (Some(tx_log), false) = (&ctx.tx_log, log_buf.is_empty()) {
        let _ = tx_log.send(log_buf);
    }
    src.finish();
}

/// One think time: the mean, or exponentially distributed around it.
pub(crate) fn think_pause(t: super::ThinkTime, rng: &mut crate::datagen::Rng) -> Duration {
    if t.exponential {
        // Capped at ten means, as TPC-C caps its think times.
        let mean = t.mean.as_secs_f64();
        Duration::from_secs_f64(rng.exp(mean).min(10.0 * mean))
    } else {
        t.mean
    }
}

/// Where the schedule ends for a lane that stops early: the end of the run, or now when the
/// run was interrupted (the measured time is then the time actually run).
fn end_of(w: &Window, stop: &StopSignal) -> Instant {
    match w.deadline {
        Some(d) if !stop.is_set() => d,
        _ => Instant::now(),
    }
}

/// Counts the start at `first` and every later one before `until` as missed (at most the
/// lane's remaining quota), each with the wait it had accumulated by then.
fn miss_rest(
    rec: &Recorder,
    schedule: &mut Schedule,
    w: &Window,
    first: Option<Instant>,
    until: Instant,
    down: bool,
    quota: Option<u64>,
) {
    if !schedule.is_open() {
        // A closed loop has no schedule to fall behind.
        return;
    }
    let mut waits = Vec::new();
    // A run of N transactions never counts more than its N.
    let cap = quota.unwrap_or(u64::MAX) as usize;
    let mut count = |at: Instant| {
        if at >= w.warmup_end && at < until && waits.len() < cap {
            waits.push(until.saturating_duration_since(at).as_micros() as u64);
        }
    };
    if let Some(f) = first {
        count(f);
    }
    while let Some(off) = schedule.next_start() {
        let at = w.start + off;
        if at >= until {
            break;
        }
        count(at);
    }
    rec.missed(&waits, down);
}

/// Sleeps until `at` (to the tens of microseconds: [`super::wake`]); false if the run was
/// stopped first.
async fn wait_until(at: Instant, stop: &StopSignal) -> bool {
    if stop.is_set() {
        return false;
    }
    if Instant::now() >= at {
        return true;
    }
    // The unit tests' paused clock moves only through tokio's own timer.
    if cfg!(test) {
        tokio::select! {
            biased;
            _ = stop.wait() => false,
            _ = tokio::time::sleep_until(at) => true,
        }
    } else {
        // Woken this much early, the lane yields through the last stretch: the kernel wakes
        // a sleeping thread tens of microseconds late, which would show in every latency
        // measured from the intended start.
        let early = at.checked_sub(WAKE_EARLY).unwrap_or(at);
        if Instant::now() < early {
            tokio::select! {
                biased;
                _ = stop.wait() => return false,
                _ = super::wake::sleep_until(early.into_std()) => {}
            }
        }
        while Instant::now() < at {
            if stop.is_set() {
                return false;
            }
            tokio::task::yield_now().await;
        }
        true
    }
}

/// How early a lane wakes before its intended start ([`wait_until`]): about the kernel's
/// wake-up delay here (40–60 µs at the median and 90th percentile on an idle thread), so
/// the yielding after it costs a fraction of that per transaction, not the 1.5 ms the
/// engine spun before.
const WAKE_EARLY: Duration = Duration::from_micros(100);

/// One attempt, bounded by the timeout (`timed_out`: when it expires), the end of the run
/// (plus a grace) and a stop, which the thread's watchdog keeps.
async fn attempt<C, S: TxSource<C>>(
    src: &mut S,
    conn: &mut C,
    tx: &S::Tx,
    slot: &mut Slot,
    timed_out: Instant,
    deadline: Option<Instant>,
) -> Attempt<S::Answer> {
    let exec = std::pin::pin!(src.execute(conn, tx));
    let cut_at = deadline.map(|d| d + END_GRACE);
    let limit = match cut_at {
        Some(c) if c < timed_out => c,
        _ => timed_out,
    };
    match slot.bound(exec, limit).await {
        Ok(r) => Attempt::Done(r),
        Err(Expired::Stopped) => Attempt::Cut,
        Err(Expired::Limit) if cut_at == Some(limit) => Attempt::Cut,
        Err(Expired::Limit) => Attempt::TimedOut,
    }
}

/// Opens a new connection with backoff until one works, the run ends or it is stopped. Each
/// try is bounded by the timeout: a server that accepts but never answers must not hold it.
/// The pause between tries is drawn between zero and the backoff ("full jitter"): lanes that
/// lost the server together then try at different moments, and the first to get through
/// after the server is back wakes the others (`LaneCtx::back`), so the outage measured ends
/// close to when the server answers again, not a whole cycle of timeouts later.
async fn reconnect<K: Connector, W: Workload<K::Conn>>(
    ctx: &LaneCtx<K, W>,
    w: &Window,
    rng: &mut crate::datagen::Rng,
) -> Option<K::Conn> {
    let mut backoff = BACKOFF_FIRST;
    let mut restarted = false;
    loop {
        let began = Instant::now();
        if ctx.stop.is_set() || w.deadline.is_some_and(|d| began >= d) {
            return None;
        }
        let mut limit = began + ctx.settings.timeout.min(Duration::from_secs(5));
        if let Some(d) = w.deadline {
            limit = limit.min(d);
        }
        let attempt = ctx.open();
        tokio::pin!(attempt);
        let back = ctx.back.notified();
        tokio::pin!(back);
        let afresh = loop {
            tokio::select! {
                biased;
                r = &mut attempt => match r {
                    Ok(c) => return Some(c),
                    Err(_) => break false,
                },
                _ = ctx.stop.wait() => return None,
                _ = tokio::time::sleep_until(limit) => break false,
                _ = &mut back => {
                    if !restarted && began.elapsed() >= STALE_ATTEMPT {
                        restarted = true;
                        break true;
                    }
                    back.set(ctx.back.notified());
                }
            }
        };
        if afresh {
            backoff = BACKOFF_FIRST;
            continue;
        }
        let mut pause = Instant::now() + backoff.mul_f64(rng.f64());
        if let Some(d) = w.deadline {
            pause = pause.min(d);
        }
        tokio::select! {
            biased;
            _ = ctx.stop.wait() => return None,
            _ = tokio::time::sleep_until(pause) => {}
            _ = ctx.back.notified() => {
                backoff = BACKOFF_FIRST;
                continue;
            }
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
