//! The engine: connections on worker threads, the open-loop schedule, retries, reconnects,
//! and the once-a-second collection of measurements.

mod schedule;
mod worker;

pub use schedule::Schedule;

use crate::db::{ConnectError, DbUrl};
use crate::metrics::hist::LatencySummary;
use crate::metrics::recorder::{Interval, Recorder};
use crate::metrics::result::{IntervalRecord, Outage};
use crate::workload::config::Arrival;
use crate::workload::{WorkloadConfig, WorkloadPlan};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the live display gets every interval.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub elapsed: Duration,
    /// Fraction done, 0..1, from duration or transaction count.
    pub progress: f64,
    pub in_warmup: bool,
    pub interval: IntervalRecord,
    pub committed: u64,
    pub failed: u64,
    pub retries: u64,
    pub target_tps: Option<f64>,
    /// Committed+failed per operation name since the start.
    pub op_counts: Vec<(String, u64)>,
    pub recent_errors: Vec<String>,
    pub latency: LatencySummary,
}

/// Receives progress; implemented by the terminal display.
pub trait ProgressSink {
    fn update(&mut self, snap: &Snapshot);
    fn finish(&mut self);
}

/// What the engine measured.
pub struct EngineOutput {
    pub totals: Interval,
    pub intervals: Vec<IntervalRecord>,
    pub outages: Vec<Outage>,
    pub started_at_us: i64,
    pub ended_at_us: i64,
    pub measured_s: f64,
    pub interrupted: bool,
}

/// Shared, read-only settings of one run.
pub(crate) struct RunCtx {
    pub url: DbUrl,
    pub plan: Arc<WorkloadPlan>,
    pub cfg: WorkloadConfig,
    pub stop: Arc<AtomicBool>,
    pub seed: u64,
}

/// Start gate: connections wait here until all are ready, then share one start instant.
pub(crate) struct Gate {
    start: Mutex<Option<Result<Instant, ()>>>,
    cv: Condvar,
}

impl Gate {
    fn open(&self, v: Result<Instant, ()>) {
        let mut g = self.start.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(v);
        self.cv.notify_all();
    }

    pub(crate) fn wait(&self) -> Result<Instant, ()> {
        let mut g = self.start.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(v) = *g {
                return v;
            }
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Runs the workload. Connect or prepare failures before the start are returned as errors;
/// everything after the start is measured and recorded.
pub fn run(
    url: DbUrl,
    cfg: WorkloadConfig,
    plan: Arc<WorkloadPlan>,
    stop: Arc<AtomicBool>,
    started: Option<Arc<std::sync::OnceLock<Instant>>>,
    progress: &mut dyn ProgressSink,
) -> Result<EngineOutput, crate::Error> {
    let conns = cfg.connections;
    // SQLite calls block their thread, so every SQLite connection gets a thread of its own.
    let threads = if url.kind() == crate::db::DbKind::Sqlite {
        conns
    } else {
        cfg.threads.clamp(1, conns)
    };
    let seed = cfg.seed.unwrap_or_else(crate::datagen::Rng::seed_from_time);
    let ctx = Arc::new(RunCtx {
        url,
        plan: plan.clone(),
        cfg: cfg.clone(),
        stop: stop.clone(),
        seed,
    });
    let gate = Arc::new(Gate {
        start: Mutex::new(None),
        cv: Condvar::new(),
    });
    let recorders: Vec<Recorder> = (0..conns)
        .map(|_| Recorder::new(plan.op_names.len()))
        .collect();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), crate::Error>>();
    let (outage_tx, outage_rx) = mpsc::channel::<worker::OutageEvent>();
    let mut handles = Vec::new();
    for t in 0..threads {
        let mine: Vec<(usize, Recorder)> = (0..conns)
            .filter(|i| i % threads == t)
            .map(|i| (i, recorders[i].clone()))
            .collect();
        let ctx = ctx.clone();
        let gate = gate.clone();
        let ready = ready_tx.clone();
        let outages = outage_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("dbarena-worker-{t}"))
            .spawn(move || worker::thread_main(ctx, mine, gate, ready, outages))
            .map_err(|e| crate::Error::Failed(format!("cannot start worker thread: {e}")))?;
        handles.push(h);
    }
    drop(ready_tx);
    drop(outage_tx);
    // Wait for every connection to be open and prepared.
    let mut first_err = None;
    for _ in 0..conns {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                if first_err.is_none() {
                    first_err = Some(e);
                }
            }
            Err(_) => break,
        }
        if first_err.is_some() {
            break;
        }
    }
    if let Some(e) = first_err {
        gate.open(Err(()));
        stop.store(true, Ordering::SeqCst);
        for h in handles {
            let _ = h.join();
        }
        return Err(e);
    }
    let start = Instant::now() + Duration::from_millis(20);
    gate.open(Ok(start));
    if let Some(s) = &started {
        let _ = s.set(start + cfg.warmup);
    }
    let started_at_us = crate::util::time::now_us() + 20_000;
    let warmup_end = start + cfg.warmup;

    let mut totals = Interval::with_ops(plan.op_names.len());
    let mut intervals = Vec::new();
    let mut outages = Vec::new();
    let mut last_tick = warmup_end.max(start);
    let tick = Duration::from_secs(1);
    let mut next_tick = start + tick;
    loop {
        let done = handles.iter().all(|h| h.is_finished());
        let now = Instant::now();
        if now >= next_tick || done {
            let mut iv = Interval::with_ops(plan.op_names.len());
            for r in &recorders {
                iv.merge(&r.take());
            }
            while let Ok(o) = outage_rx.try_recv() {
                outages.push(o.into_outage(warmup_end));
            }
            let in_warmup = now < warmup_end;
            if !in_warmup {
                let span = now.saturating_duration_since(last_tick).as_secs_f64();
                let all = iv.all_response();
                let s = LatencySummary::of(&all);
                let rec = IntervalRecord {
                    t_s: now.saturating_duration_since(warmup_end).as_secs_f64(),
                    committed: iv.committed(),
                    failed: iv.failed(),
                    retries: iv.retries(),
                    tps: if span > 0.0 {
                        iv.committed() as f64 / span
                    } else {
                        0.0
                    },
                    errors: iv.errors.values().map(|e| e.count).sum(),
                    p50_ms: s.p50_ms,
                    p95_ms: s.p95_ms,
                    p99_ms: s.p99_ms,
                    max_ms: s.max_ms,
                    mean_ms: s.mean_ms,
                };
                if span > 0.05 || rec.committed + rec.failed > 0 {
                    intervals.push(rec.clone());
                }
                // The tail after the last full second is recorded but not shown on its own.
                let show = span >= 0.5 || intervals.len() <= 1;
                totals.merge(&iv);
                last_tick = now;
                let progress_frac = match (cfg.duration, cfg.transactions) {
                    (Some(d), _) => {
                        now.saturating_duration_since(warmup_end).as_secs_f64() / d.as_secs_f64()
                    }
                    (None, Some(n)) => (totals.committed() + totals.failed()) as f64 / n as f64,
                    _ => 0.0,
                };
                if show {
                    progress.update(&Snapshot {
                        elapsed: now.saturating_duration_since(start),
                        progress: progress_frac.clamp(0.0, 1.0),
                        in_warmup,
                        interval: rec,
                        committed: totals.committed(),
                        failed: totals.failed(),
                        retries: totals.retries(),
                        target_tps: cfg.tps,
                        op_counts: plan
                            .op_names
                            .iter()
                            .zip(&totals.ops)
                            .map(|(n, o)| (n.clone(), o.committed + o.failed))
                            .collect(),
                        recent_errors: iv.recent_errors.clone(),
                        latency: LatencySummary::of(&totals.all_response()),
                    });
                }
            } else {
                last_tick = now;
            }
            while next_tick <= now {
                next_tick += tick;
            }
            if done {
                break;
            }
        }
        let wait = next_tick
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        std::thread::sleep(wait);
    }
    for h in handles {
        let _ = h.join();
    }
    while let Ok(o) = outage_rx.try_recv() {
        outages.push(o.into_outage(warmup_end));
    }
    progress.finish();
    let end = Instant::now();
    let interrupted = stop.load(Ordering::SeqCst);
    let measured_s = match cfg.duration {
        // The schedule window; transactions started in it and finishing just after count.
        Some(d) if !interrupted => d.as_secs_f64(),
        _ => end.saturating_duration_since(warmup_end).as_secs_f64(),
    };
    Ok(EngineOutput {
        totals,
        intervals,
        outages,
        started_at_us,
        ended_at_us: crate::util::time::now_us(),
        measured_s,
        interrupted,
    })
}

/// Maps an initial connection failure to the crate error.
pub(crate) fn connect_failed(e: ConnectError) -> crate::Error {
    crate::Error::Connect(e)
}

/// The arrival process for one connection.
pub(crate) fn schedule_for(cfg: &WorkloadConfig, index: usize, seed: u64) -> Schedule {
    // Each connection (or pipeline lane) keeps its own share of the rate.
    let lanes = (cfg.connections * cfg.pipeline.max(1)) as f64;
    match cfg.tps {
        None => Schedule::closed(),
        Some(rate) => {
            let per_conn = rate / lanes;
            match cfg.arrival {
                Arrival::Poisson => Schedule::poisson(per_conn, seed ^ (index as u64) << 20),
                Arrival::Uniform => Schedule::uniform(per_conn, index as f64 / rate),
            }
        }
    }
}
