//! The engine: the one client runtime every workload runs on. Worker threads own the
//! connections; each lane follows its schedule, retries, reconnects and records
//! (`lane.rs`); a collector merges the recorders once a second for progress and intervals.
//!
//! A workload plugs in through [`Workload`] and [`TxSource`] (`source.rs`) and never sees a
//! schedule, a retry or a reconnect.

mod lane;
mod schedule;
mod source;
mod stop;
#[cfg(test)]
mod tests;
pub mod txlog;
mod wake;
mod watchdog;

pub use crate::metrics::live::{ProgressSink, Snapshot};
pub use schedule::{Arrival, RateProfile, Schedule, Segment, Stage};
pub use source::{Connector, TxEnd, TxResult, TxSource, Workload};

use crate::metrics::hist::LatencySummary;
use crate::metrics::recorder::{Interval, Recorder};
use crate::metrics::result::{IntervalRecord, Outage};
use crate::metrics::spill::Spill;
use lane::{LaneCtx, OutageEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use stop::StopSignal;

/// What every run has, whatever the workload.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub connections: usize,
    /// OS threads driving the connections (ignored for blocking drivers: one per connection).
    pub threads: usize,
    /// Lanes per connection (transactions in flight on one connection).
    pub pipeline: usize,
    /// Target rate of the whole run; None: closed loop.
    pub rate: Option<f64>,
    pub arrival: Arrival,
    /// Measured time after warmup; None: until `transactions` are done.
    pub duration: Option<Duration>,
    pub transactions: Option<u64>,
    pub warmup: Duration,
    /// A transaction without an answer for this long is abandoned with its connection.
    pub timeout: Duration,
    /// Extra attempts after a retryable error.
    pub max_retries: u32,
    pub seed: u64,
    /// Rate stages after the warmup, starting from `rate` (open loop).
    pub stages: Vec<Stage>,
    /// Closed loop: a pause between one transaction's end and the next start.
    pub think: Option<ThinkTime>,
    /// Write a line per measured transaction here (`--log`).
    pub tx_log: Option<std::path::PathBuf>,
    /// This agent's share of a run split over machines; `connections`, `rate` and
    /// `transactions` are then the whole run's.
    pub segment: Option<Segment>,
    /// Start at this wall-clock time (µs since the epoch) instead of as soon as connected.
    pub start_at_us: Option<i64>,
    /// Keep the per-second intervals in a file in this folder while the run lasts (beside
    /// the result file) instead of in memory; None: in memory.
    pub spill_dir: Option<std::path::PathBuf>,
}

/// The pause of a user between transactions (closed loop).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThinkTime {
    #[serde(with = "think_secs")]
    pub mean: Duration,
    /// Exponentially distributed around the mean (as TPC-C's think times), else fixed.
    pub exponential: bool,
}

mod think_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs_f64(f64::deserialize(d)?.max(0.0)))
    }
}

impl RunSettings {
    /// The whole run's target rate over time, when it changes (stages).
    pub fn profile(&self) -> Option<std::sync::Arc<schedule::RateProfile>> {
        (!self.stages.is_empty()).then(|| {
            std::sync::Arc::new(schedule::RateProfile::new(
                self.rate.unwrap_or(0.0),
                self.warmup,
                &self.stages,
            ))
        })
    }
}

/// What the engine measured.
#[derive(Debug, Clone)]
pub struct EngineOutput {
    pub totals: Interval,
    pub intervals: Vec<IntervalRecord>,
    pub outages: Vec<Outage>,
    pub started_at_us: i64,
    pub ended_at_us: i64,
    pub measured_s: f64,
    pub interrupted: bool,
    /// What went wrong on the side (the transaction log could not be written…), for notes.
    pub warnings: Vec<String>,
    /// With `start_at_us`: how late the run started against it, ms.
    pub start_skew_ms: Option<f64>,
    /// When every connection was open and prepared (the start gate opened): the end of
    /// setup, before any wait for a common start.
    pub ready_at: Option<Instant>,
}

/// What was measured so far, refreshed every interval, for a writer that must save a run
/// which cannot end normally (a second Ctrl-C).
pub type LiveOutput = Arc<Mutex<Option<LiveRun>>>;

/// A run as measured so far: everything but the intervals, which are kept apart (on disk
/// while the run lasts, see [`Spill`]).
#[derive(Debug)]
pub struct LiveRun {
    out: EngineOutput,
    intervals: Spill<IntervalRecord>,
}

impl LiveRun {
    /// The output as of the last interval; what cannot be read back is said in its warnings,
    /// and the totals stand whatever happened to the series.
    pub fn snapshot(&self) -> EngineOutput {
        let mut out = self.out.clone();
        out.intervals = series(&self.intervals, &mut out.warnings);
        out
    }
}

/// The intervals read back, with a warning for each way some were lost or moved.
fn series(spill: &Spill<IntervalRecord>, warnings: &mut Vec<String>) -> Vec<IntervalRecord> {
    if let Some(e) = spill.write_error() {
        warnings.push(format!(
            "writing the per-second intervals beside the result failed ({e}); they were kept in memory from then on"
        ));
    }
    match spill.read_back() {
        Ok(b) => {
            if b.undecodable > 0 {
                warnings.push(format!(
                    "{} per-second intervals could not be read back and are left out; the totals are complete",
                    b.undecodable
                ));
            }
            b.records
        }
        Err(e) => {
            warnings.push(format!(
                "{e}; the intervals are left out, the totals are complete"
            ));
            Vec::new()
        }
    }
}

/// Start gate: connections wait here until all are ready, then share one start instant.
struct Gate {
    start: Mutex<Option<Result<Instant, ()>>>,
    cv: Condvar,
}

impl Gate {
    fn open(&self, v: Result<Instant, ()>) {
        let mut g = self.start.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(v);
        self.cv.notify_all();
    }

    fn wait(&self) -> Result<Instant, ()> {
        let mut g = self.start.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(v) = *g {
                return v;
            }
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Runs `workload` over connections from `connector`. Connect or prepare failures before the
/// start are returned as errors; everything after the start is measured and recorded. A set
/// `stop` ends the run within a fraction of a second whatever the database does.
pub fn run<K: Connector, W: Workload<K::Conn>>(
    connector: Arc<K>,
    workload: Arc<W>,
    settings: RunSettings,
    stop: Arc<AtomicBool>,
    started: Option<Arc<std::sync::OnceLock<Instant>>>,
    live: Option<LiveOutput>,
    progress: &mut dyn ProgressSink,
) -> Result<EngineOutput, crate::Error> {
    let conns = settings.connections.max(1);
    // The connections this agent runs, by their number in the whole run.
    let mine: Vec<usize> = (0..conns)
        .filter(|c| settings.segment.is_none_or(|s| s.owns(*c)))
        .collect();
    if mine.is_empty() {
        return Err(crate::Error::Usage(format!(
            "segment {} of a run with {conns} connections has none of them; use at least as many --connections as segments",
            settings.segment.map(|s| s.to_string()).unwrap_or_default()
        )));
    }
    let threads = if connector.blocking() {
        mine.len()
    } else {
        settings.threads.clamp(1, mine.len())
    };
    let op_names = workload.op_names();
    let gate = Arc::new(Gate {
        start: Mutex::new(None),
        cv: Condvar::new(),
    });
    // One recorder per worker thread, shared by its connections: they run on that thread
    // only, so its lock is never contended but by the collector once a second, and the
    // histograms a connection writes stay few and warm in the cache (one set per connection
    // was 64 sets at 64 connections, reallocated every second).
    let recorders: Vec<Recorder> = (0..threads)
        .map(|_| Recorder::new(op_names.len()))
        .collect();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), crate::Error>>();
    let (outage_tx, outage_rx) = mpsc::channel::<OutageEvent>();
    let back = std::sync::Arc::new(tokio::sync::Notify::new());
    let (log_tx, log_rx) = match settings.tx_log {
        Some(_) => {
            let (t, r) = mpsc::channel::<Vec<txlog::TxRecord>>();
            (Some(t), Some(r))
        }
        None => (None, None),
    };
    let mut handles = Vec::new();
    for (t, rec) in recorders.iter().enumerate() {
        let mine: Vec<(usize, Recorder)> = mine
            .iter()
            .enumerate()
            .filter(|(j, _)| j % threads == t)
            .map(|(_, c)| (*c, rec.clone()))
            .collect();
        let ctx = LaneCtx {
            connector: connector.clone(),
            workload: workload.clone(),
            settings: settings.clone(),
            stop: StopSignal::new(stop.clone()),
            outages: outage_tx.clone(),
            tx_log: log_tx.clone(),
            back: back.clone(),
        };
        let gate = gate.clone();
        let ready = ready_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("dbarena-worker-{t}"))
            .spawn(move || thread_main(ctx, mine, gate, ready))
            .map_err(|e| crate::Error::Failed(format!("cannot start worker thread: {e}")))?;
        handles.push(h);
    }
    drop(ready_tx);
    drop(outage_tx);
    drop(log_tx);
    // Wait for every connection to be open and prepared (or the first failure, or a stop).
    let mut first_err = None;
    let mut ready = 0;
    while ready < mine.len() && first_err.is_none() {
        match ready_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Ok(())) => ready += 1,
            Ok(Err(e)) => first_err = Some(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::SeqCst) {
                    first_err = Some(crate::Error::Failed(
                        "interrupted while connecting; nothing was measured".into(),
                    ));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let interrupted_early = stop.load(Ordering::SeqCst);
    if let Some(e) = first_err {
        gate.open(Err(()));
        stop.store(true, Ordering::SeqCst);
        for h in handles {
            let _ = h.join();
        }
        if interrupted_early {
            // Stopped before the start: an honest empty result, not an error.
            let now = crate::util::time::now_us();
            return Ok(EngineOutput {
                totals: Interval::with_ops(op_names.len()),
                intervals: Vec::new(),
                outages: Vec::new(),
                started_at_us: now,
                ended_at_us: now,
                measured_s: 0.0,
                interrupted: true,
                warnings: Vec::new(),
                start_skew_ms: None,
                ready_at: None,
            });
        }
        return Err(e);
    }
    let ready_at = Instant::now();
    // A common wall-clock start for several agents (`--start-at`), else at once.
    let now_wall = crate::util::time::now_us();
    let lead_us = match settings.start_at_us {
        Some(at) => (at - now_wall).max(20_000),
        None => 20_000,
    };
    let start = Instant::now() + Duration::from_micros(lead_us as u64);
    gate.open(Ok(start));
    if let Some(s) = &started {
        let _ = s.set(start + settings.warmup);
    }
    let started_at_us = now_wall + lead_us;
    // How far this agent's start is from the one asked for (it may have been asked for a
    // moment already past).
    let start_skew_ms = settings
        .start_at_us
        .map(|at| (started_at_us - at) as f64 / 1000.0);
    let log_writer = match (&settings.tx_log, log_rx) {
        (Some(path), Some(rx)) => Some(txlog::spawn_writer(
            path.clone(),
            rx,
            started_at_us,
            op_names.clone(),
        )),
        _ => None,
    };
    let warmup_end = start + settings.warmup;
    // The intervals live in the shared output once the first is measured: a second Ctrl-C
    // saves them as they are, and nothing is copied once a second (a copy of every interval
    // each second made a long run's memory and collector time grow with its length).
    let shared: LiveOutput = live.unwrap_or_default();
    let blank = Some(LiveRun {
        out: EngineOutput {
            totals: Interval::with_ops(op_names.len()),
            intervals: Vec::new(),
            outages: Vec::new(),
            started_at_us,
            ended_at_us: started_at_us,
            measured_s: 0.0,
            interrupted: true,
            warnings: Vec::new(),
            start_skew_ms,
            ready_at: Some(ready_at),
        },
        intervals: Spill::in_dir(settings.spill_dir.as_deref()),
    });
    let mut c = Collector {
        op_names: &op_names,
        settings: &settings,
        warmup_end,
        totals: Interval::with_ops(op_names.len()),
        shared: shared.clone(),
        blank,
        last_tick: warmup_end.max(start),
        profile: settings.profile(),
    };
    let tick = Duration::from_secs(1);
    let mut next_tick = start + tick;
    let mut outages = Vec::new();
    loop {
        let done = handles.iter().all(|h| h.is_finished());
        let now = Instant::now();
        if now >= next_tick || done {
            let mut iv = Interval::with_ops(op_names.len());
            for r in &recorders {
                iv.merge(&r.take());
            }
            if now >= warmup_end {
                if let Some(snap) = c.tick(iv, now, start, done) {
                    progress.update(&snap);
                }
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
            .min(Duration::from_millis(20));
        std::thread::sleep(wait);
    }
    for h in handles {
        let _ = h.join();
    }
    // Every lane has handed over its last buffer: the writer drains and ends.
    let mut warnings = Vec::new();
    if let Some(w) = log_writer {
        match w.join() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warnings.push(e),
            Err(_) => warnings.push("the transaction log writer failed".into()),
        }
    }
    while let Ok(o) = outage_rx.try_recv() {
        outages.push(to_outage(o, warmup_end));
    }
    outages.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    progress.finish();
    let end = Instant::now();
    let interrupted = stop.load(Ordering::SeqCst);
    let measured_s = match settings.duration {
        // The schedule window; transactions started in it and finishing just after count.
        Some(d) if !interrupted => d.as_secs_f64(),
        _ => end.saturating_duration_since(warmup_end).as_secs_f64(),
    };
    // Read, not taken: until the caller has saved its result, a second Ctrl-C still finds
    // the run in the slot and saves it.
    let intervals = match shared.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        Some(l) => series(&l.intervals, &mut warnings),
        None => Vec::new(),
    };
    Ok(EngineOutput {
        totals: c.totals,
        intervals,
        outages,
        started_at_us,
        ended_at_us: crate::util::time::now_us(),
        measured_s,
        interrupted,
        warnings,
        start_skew_ms,
        ready_at: Some(ready_at),
    })
}

fn to_outage(o: OutageEvent, origin: Instant) -> Outage {
    let secs = |t: tokio::time::Instant| {
        let t = t.into_std();
        if t >= origin {
            t.duration_since(origin).as_secs_f64()
        } else {
            -(origin.duration_since(t).as_secs_f64())
        }
    };
    Outage {
        connection: o.connection,
        start_s: secs(o.start),
        duration_s: o.end.saturating_duration_since(o.start).as_secs_f64(),
        error: o.error,
        recovered: o.recovered,
    }
}

/// Turns the merged recorders into per-interval records and progress snapshots.
struct Collector<'a> {
    op_names: &'a [String],
    settings: &'a RunSettings,
    warmup_end: Instant,
    totals: Interval,
    /// Holds the intervals kept so far, with the totals as of the last tick.
    shared: LiveOutput,
    /// What `shared` starts from at the first measured interval (before it, a second Ctrl-C
    /// finds nothing measured and saves nothing).
    blank: Option<LiveRun>,
    last_tick: Instant,
    profile: Option<std::sync::Arc<schedule::RateProfile>>,
}

impl Collector<'_> {
    fn tick(&mut self, iv: Interval, now: Instant, start: Instant, last: bool) -> Option<Snapshot> {
        let span = now.saturating_duration_since(self.last_tick).as_secs_f64();
        let all = iv.all_response();
        let s = LatencySummary::of(&all);
        let rec = IntervalRecord {
            t_s: now.saturating_duration_since(self.warmup_end).as_secs_f64(),
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
            // The tail after the last full second is shorter than the others: charts must
            // not read its few transactions as a collapse.
            partial: last && span < 0.95,
            span_s: span,
            target_tps: match (&self.profile, self.settings.rate) {
                (Some(p), _) if span > 0.0 => {
                    let off = |t: Instant| t.saturating_duration_since(start).as_secs_f64();
                    Some((p.expected(off(now)) - p.expected(off(self.last_tick))) / span)
                }
                (None, Some(r)) => Some(r),
                _ => None,
            },
            response_hdr: if all.is_empty() {
                String::new()
            } else {
                crate::metrics::hist::encode(&all)
            },
        };
        let keep = span > 0.05 || rec.committed + rec.failed > 0;
        self.totals.merge(&iv);
        let mut slot = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = self.blank.take();
        }
        let mut kept = 0;
        if let Some(so_far) = slot.as_mut() {
            if keep {
                so_far.intervals.push(rec.clone());
            }
            let o = &mut so_far.out;
            o.totals.clone_from(&self.totals);
            o.ended_at_us = crate::util::time::now_us();
            o.measured_s = now.saturating_duration_since(self.warmup_end).as_secs_f64();
            kept = so_far.intervals.len();
        }
        drop(slot);
        self.last_tick = now;
        let show = !rec.partial || kept <= 1;
        if !show {
            return None;
        }
        let st = self.settings;
        let progress = match (st.duration, st.transactions) {
            (Some(d), _) => {
                now.saturating_duration_since(self.warmup_end).as_secs_f64() / d.as_secs_f64()
            }
            (None, Some(n)) => (self.totals.committed() + self.totals.failed()) as f64 / n as f64,
            _ => 0.0,
        };
        // What the schedule intends now: a ramp's current rate, not the one it started from.
        let target_tps = rec.target_tps.or(st.rate);
        Some(Snapshot {
            elapsed: now.saturating_duration_since(start),
            progress: progress.clamp(0.0, 1.0),
            in_warmup: false,
            interval: rec,
            committed: self.totals.committed(),
            failed: self.totals.failed(),
            retries: self.totals.retries(),
            target_tps,
            op_counts: self
                .op_names
                .iter()
                .zip(&self.totals.ops)
                .map(|(n, o)| (n.clone(), o.committed + o.failed))
                .collect(),
            recent_errors: iv.recent_errors.clone(),
            latency: LatencySummary::of(&self.totals.all_response()),
            server: None,
        })
    }
}

fn thread_main<K: Connector, W: Workload<K::Conn>>(
    ctx: LaneCtx<K, W>,
    conns: Vec<(usize, Recorder)>,
    gate: Arc<Gate>,
    ready: mpsc::Sender<Result<(), crate::Error>>,
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
    let ctx = std::rc::Rc::new(ctx);
    rt.block_on(local.run_until(async move {
        // Connections opened here spawn their drivers on this LocalSet, beside their lanes.
        crate::util::runtime::set_in_local_set(true);
        let done = Arc::new(AtomicBool::new(false));
        let dog = watchdog::Watchdog::new(ctx.stop.clone());
        let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
        let mut opened = Vec::new();
        for (index, rec) in conns {
            let r = tokio::select! {
                r = ctx.open() => r,
                _ = ctx.stop.wait() => Err(crate::Error::Failed("interrupted while connecting".into())),
            };
            match r {
                Ok(c) => {
                    let _ = ready.send(Ok(()));
                    opened.push((index, rec, c));
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    done.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
        let Ok(start) = gate.wait() else {
            done.store(true, Ordering::Relaxed);
            return;
        };
        let start = tokio::time::Instant::from_std(start);
        let mut tasks = Vec::new();
        let lanes = ctx.settings.pipeline.max(1);
        for (index, rec, conn) in opened {
            for l in 1..lanes {
                if let Some(shared) = ctx.connector.share(&conn) {
                    let ctx = ctx.clone();
                    let rec = rec.clone();
                    let slot = dog.slot();
                    tasks.push(tokio::task::spawn_local(async move {
                        lane::drive(&ctx, index * lanes + l, rec, shared, start, slot).await
                    }));
                }
            }
            let ctx = ctx.clone();
            let slot = dog.slot();
            tasks.push(tokio::task::spawn_local(async move {
                lane::drive(&ctx, index * lanes, rec, conn, start, slot).await
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        done.store(true, Ordering::Relaxed);
        let _ = watcher.await;
        crate::util::runtime::set_in_local_set(false);
    }));
}
