//! The engine's accounting on a fake server and tokio's paused clock: exact, and milliseconds
//! of real time for minutes of simulated run.

use super::lane::{drive, LaneCtx, OutageEvent};
use super::source::{Connector, TxEnd, TxResult, TxSource, Workload};
use super::stop::StopSignal;
use super::{Arrival, RunSettings, Schedule};
use crate::db::{DbError, ErrorKind};
use crate::metrics::recorder::{Interval, Recorder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// What the fake server does at a moment of the run.
#[derive(Debug, Clone, Copy)]
enum Behave {
    /// Answers after this long.
    Answer(Duration),
    /// Answers nothing until the hang is over (a paused server); connects wait too.
    Hang,
    /// The connection breaks at once; connects are refused.
    Refuse,
    /// A serialization failure.
    Conflict,
    /// Packets are dropped (a partition): what is sent now is never answered, even after the
    /// link heals; only what is sent later gets through.
    Drop,
}

type Script = Arc<dyn Fn(Duration) -> Behave + Send + Sync>;

struct Fake {
    origin: Instant,
    script: Script,
}

impl Fake {
    /// What the server does now; a hang is waited out, as a paused server answers what it
    /// was sent once it resumes.
    async fn now(&self) -> Behave {
        loop {
            match (self.script)(Instant::now().saturating_duration_since(self.origin)) {
                Behave::Hang => tokio::time::sleep(Duration::from_millis(10)).await,
                b => return b,
            }
        }
    }
}

struct FakeConnector(Arc<Fake>);
struct FakeConn;

impl Connector for FakeConnector {
    type Conn = FakeConn;
    async fn connect(&self) -> Result<FakeConn, crate::Error> {
        match self.0.now().await {
            Behave::Refuse => Err(crate::Error::Failed("refused".into())),
            Behave::Drop => std::future::pending().await,
            _ => Ok(FakeConn),
        }
    }
}

#[derive(Default, Debug)]
struct Told {
    committed: u64,
    failed: u64,
    in_flight: u64,
    retries: u64,
    /// Outcomes the engine said were measured (not warmup).
    measured: u64,
    /// Failures that used up every retry.
    exhausted: u64,
    /// When each attempt began, from the fake's origin.
    starts: Vec<Duration>,
}

struct FakeWorkload {
    fake: Arc<Fake>,
    told: Arc<Mutex<Told>>,
}

struct FakeSource {
    fake: Arc<Fake>,
    told: Arc<Mutex<Told>>,
}

impl Workload<FakeConn> for FakeWorkload {
    type Source = FakeSource;
    fn op_names(&self) -> Vec<String> {
        vec!["op".into()]
    }
    async fn prepare(&self, _conn: &mut FakeConn) -> Result<(), crate::Error> {
        Ok(())
    }
    fn source(&self, _lane: usize, _seed: u64) -> FakeSource {
        FakeSource {
            fake: self.fake.clone(),
            told: self.told.clone(),
        }
    }
}

impl TxSource<FakeConn> for FakeSource {
    type Tx = ();
    type Answer = ();
    fn next_tx(&mut self) {}
    fn op(&self, _tx: &()) -> usize {
        0
    }
    async fn execute<'a>(&'a mut self, _c: &'a mut FakeConn, _tx: &'a ()) -> Result<(), DbError> {
        let at = Instant::now().saturating_duration_since(self.fake.origin);
        self.told.lock().unwrap().starts.push(at);
        match self.fake.now().await {
            Behave::Answer(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Behave::Hang => unreachable!("hangs are waited out"),
            Behave::Drop => std::future::pending().await,
            Behave::Refuse => Err(DbError::new(ErrorKind::ConnectionLost, "io", "reset")),
            Behave::Conflict => {
                // A conflict takes a moment to find, as on a real server.
                tokio::time::sleep(Duration::from_millis(1)).await;
                Err(DbError::new(ErrorKind::Serialization, "40001", "conflict"))
            }
        }
    }
    fn outcome(&mut self, _tx: (), result: TxResult<()>, end: TxEnd) {
        let mut t = self.told.lock().unwrap();
        t.retries += end.retries as u64;
        t.measured += end.measured as u64;
        t.exhausted += end.retries_exhausted as u64;
        match result {
            TxResult::Committed(()) => t.committed += 1,
            TxResult::Failed(_) => t.failed += 1,
            TxResult::InFlight => t.in_flight += 1,
        }
    }
}

fn settings(connections: usize, rate: Option<f64>, secs: u64) -> RunSettings {
    RunSettings {
        connections,
        threads: 1,
        pipeline: 1,
        rate,
        arrival: Arrival::Poisson,
        duration: Some(Duration::from_secs(secs)),
        transactions: None,
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(2),
        max_retries: 3,
        seed: 42,
        stages: Vec::new(),
        think: None,
        tx_log: None,
        spill_dir: None,
        segment: None,
        start_at_us: None,
    }
}

struct Outcome {
    totals: Interval,
    outages: Vec<OutageEvent>,
    told: Told,
    origin: Instant,
    ended: Instant,
}

/// Runs every lane of `s` on this (paused) runtime against `script`; `stop_at` sets the stop
/// flag at that moment.
async fn run(s: RunSettings, script: Script, stop_at: Option<Duration>) -> Outcome {
    let origin = Instant::now();
    let fake = Arc::new(Fake { origin, script });
    let told = Arc::new(Mutex::new(Told::default()));
    let flag = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let ctx = Arc::new(LaneCtx {
        connector: Arc::new(FakeConnector(fake.clone())),
        workload: Arc::new(FakeWorkload {
            fake: fake.clone(),
            told: told.clone(),
        }),
        settings: s.clone(),
        stop: StopSignal::new(flag.clone()),
        outages: tx,
        tx_log: None,
        back: Default::default(),
    });
    let rec = Recorder::new(1);
    let local = tokio::task::LocalSet::new();
    let done = Arc::new(AtomicBool::new(false));
    local
        .run_until(async {
            let dog = super::watchdog::Watchdog::new(ctx.stop.clone());
            let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
            if let Some(at) = stop_at {
                let flag = flag.clone();
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(at).await;
                    flag.store(true, Ordering::SeqCst);
                });
            }
            let mut lanes = Vec::new();
            for lane in 0..s.connections {
                let ctx = ctx.clone();
                let rec = rec.clone();
                let slot = dog.slot();
                lanes.push(tokio::task::spawn_local(async move {
                    drive(&ctx, lane, rec, FakeConn, origin, slot).await
                }));
            }
            for l in lanes {
                l.await.unwrap();
            }
            done.store(true, Ordering::SeqCst);
            watcher.await.unwrap();
        })
        .await;
    let ended = Instant::now();
    drop(ctx);
    Outcome {
        totals: rec.take(),
        outages: rx.try_iter().collect(),
        told: Arc::try_unwrap(told).unwrap().into_inner().unwrap(),
        origin,
        ended,
    }
}

/// Scheduled starts of the whole run, counted from the same schedules the lanes use.
fn scheduled(s: &RunSettings) -> u64 {
    let d = s.duration.unwrap();
    (0..s.connections)
        .map(|lane| {
            let mut sch = Schedule::open(
                s.arrival,
                s.rate.unwrap() / s.connections as f64,
                lane,
                s.connections,
                s.seed,
            );
            std::iter::from_fn(|| sch.next_start())
                .take_while(|t| *t < d)
                .count() as u64
        })
        .sum()
}

fn secs(o: &Outcome, t: Instant) -> f64 {
    t.saturating_duration_since(o.origin).as_secs_f64()
}

#[tokio::test(start_paused = true)]
async fn a_server_that_goes_silent_leaves_no_start_uncounted() {
    // 200 tps over 4 connections for 10 s; the server stops answering at 4.5 s.
    let s = settings(4, Some(200.0), 10);
    let script: Script = Arc::new(|t| {
        if t < Duration::from_millis(4500) {
            Behave::Answer(Duration::from_millis(1))
        } else {
            Behave::Hang
        }
    });
    let o = run(s.clone(), script, None).await;
    let t = &o.totals;
    let all = scheduled(&s);
    assert_eq!(
        t.committed() + t.failed() + t.missed + t.in_flight,
        all,
        "every scheduled start is done, failed, in flight or missed"
    );
    // Each connection's first stalled transaction times out; the rest of its schedule is
    // missed because the connection never comes back.
    assert_eq!(t.failed(), 4);
    assert_eq!(t.missed, t.missed_down);
    let lost = (t.failed() + t.missed) as f64 / all as f64;
    assert!((0.5..0.6).contains(&lost), "{lost}");
    // The timed-out transactions show in the percentiles: 2 s each.
    assert!(t.all_response().max() >= 2_000_000);
    // One outage per connection, from the first stalled operation to the end of the run.
    assert_eq!(o.outages.len(), 4);
    for out in &o.outages {
        assert!(!out.recovered);
        let from = secs(&o, out.start);
        assert!((4.5..4.6).contains(&from), "outage starts at {from}");
        assert!(
            (secs(&o, out.end) - 10.0).abs() < 0.01,
            "{}",
            secs(&o, out.end)
        );
    }
    let told = &o.told;
    assert_eq!((told.committed, told.failed), (t.committed(), t.failed()));
}

#[tokio::test(start_paused = true)]
async fn an_outage_found_by_a_timeout_starts_when_the_stall_began() {
    // A 5 s pause (2 s to 7 s) found by a 2 s timeout.
    let s = settings(2, Some(100.0), 10);
    let script: Script = Arc::new(|t| {
        if t >= Duration::from_secs(2) && t < Duration::from_secs(7) {
            Behave::Hang
        } else {
            Behave::Answer(Duration::from_millis(2))
        }
    });
    let o = run(s.clone(), script, None).await;
    assert_eq!(o.outages.len(), 2, "{:?}", o.outages);
    for out in &o.outages {
        assert!(out.recovered);
        let from = secs(&o, out.start);
        let to = secs(&o, out.end);
        assert!((2.0..2.1).contains(&from), "starts at {from}");
        // The reconnect that was waiting when the server resumed gets its answer at once.
        assert!((7.0..7.1).contains(&to), "ends at {to}");
    }
    let t = &o.totals;
    // The backlog after the pause runs late, measured from its intended starts.
    assert_eq!(
        t.committed() + t.failed() + t.missed + t.in_flight,
        scheduled(&s)
    );
    assert!(t.all_response().max() >= 4_900_000);
}

#[tokio::test(start_paused = true)]
async fn after_a_partition_every_lane_is_back_as_soon_as_one_gets_through() {
    // Packets dropped from 2 s to 7 s; every reconnect attempt sent meanwhile waits its full
    // timeout (2 s), as a connect whose SYN was dropped waits for TCP's retransmit.
    let s = settings(4, Some(200.0), 12);
    let script: Script = Arc::new(|t| {
        if t >= Duration::from_secs(2) && t < Duration::from_secs(7) {
            Behave::Drop
        } else {
            Behave::Answer(Duration::from_millis(1))
        }
    });
    let o = run(s.clone(), script, None).await;
    assert_eq!(o.outages.len(), 4, "{:?}", o.outages);
    let ends: Vec<f64> = o.outages.iter().map(|out| secs(&o, out.end)).collect();
    let first = ends.iter().cloned().fold(f64::MAX, f64::min);
    let last = ends.iter().cloned().fold(0.0, f64::max);
    for out in &o.outages {
        assert!(out.recovered);
        assert!((2.0..2.1).contains(&secs(&o, out.start)), "{:?}", out);
    }
    // The first lane through is back within one attempt and pause of the heal; the others
    // drop their stuck attempts then and follow at once.
    assert!((7.0..9.5).contains(&first), "first back at {first}");
    assert!(last - first < 0.01, "back at {ends:?}");
    let t = &o.totals;
    assert_eq!(
        t.committed() + t.failed() + t.missed + t.in_flight,
        scheduled(&s)
    );
}

#[tokio::test(start_paused = true)]
async fn transactions_waiting_at_the_end_are_reported_in_flight() {
    let mut s = settings(3, Some(30.0), 5);
    s.timeout = Duration::from_secs(60);
    let script: Script = Arc::new(|t| {
        if t < Duration::from_secs(4) {
            Behave::Answer(Duration::from_millis(1))
        } else {
            Behave::Hang
        }
    });
    let o = run(s.clone(), script, None).await;
    let t = &o.totals;
    assert_eq!(t.in_flight, 3, "one per connection");
    assert_eq!(o.told.in_flight, 3);
    assert_eq!(t.failed(), 0);
    // Cut at the end of the run plus the grace second; they had waited over 2 s.
    assert!(t.in_flight_max_wait_us >= 1_800_000);
    assert!(secs(&o, o.ended) <= 6.05, "{}", secs(&o, o.ended));
    assert_eq!(
        t.committed() + t.failed() + t.missed + t.in_flight,
        scheduled(&s)
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_ends_the_run_at_once_even_while_the_server_hangs() {
    let mut s = settings(2, Some(50.0), 60);
    s.timeout = Duration::from_secs(30);
    let script: Script = Arc::new(|t| {
        if t < Duration::from_secs(1) {
            Behave::Answer(Duration::from_millis(1))
        } else {
            Behave::Hang
        }
    });
    let o = run(s, script, Some(Duration::from_secs(3))).await;
    let ended = secs(&o, o.ended);
    assert!((3.0..3.1).contains(&ended), "stopped at {ended}");
    assert_eq!(o.totals.in_flight, 2);
    assert!(o.totals.committed() > 0);
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_are_retried_and_counted() {
    let s = settings(1, Some(10.0), 3);
    // Conflicts for the first second: each transaction there uses up its retries and fails.
    let script: Script = Arc::new(|t| {
        if t < Duration::from_secs(1) {
            Behave::Conflict
        } else {
            Behave::Answer(Duration::from_millis(1))
        }
    });
    let o = run(s.clone(), script, None).await;
    let t = &o.totals;
    assert!(t.failed() > 0);
    assert_eq!(t.retries(), t.failed() * 3);
    assert_eq!(o.told.retries, t.retries());
    assert_eq!(
        o.told.exhausted,
        t.failed(),
        "each failure used up its retries"
    );
    assert_eq!(t.errors["serialization:40001"].count, t.failed() * 4);
    assert_eq!(t.committed() + t.failed(), scheduled(&s));
}

#[tokio::test(start_paused = true)]
async fn sources_hear_which_outcomes_were_warmup_and_which_retries_a_stop_cut() {
    let mut s = settings(1, Some(10.0), 3);
    s.warmup = Duration::from_secs(1);
    s.max_retries = 100_000;
    // Answers during the warmup, then conflicts: a transaction retries until the stop.
    let script: Script = Arc::new(|t| {
        if t < Duration::from_secs(1) {
            Behave::Answer(Duration::from_millis(1))
        } else {
            Behave::Conflict
        }
    });
    let o = run(s.clone(), script, Some(Duration::from_millis(2500))).await;
    // Warmup outcomes are told, but not as measured; none of them is recorded.
    assert!(o.told.committed + o.told.failed + o.told.in_flight > o.told.measured);
    // Nothing reached the limit: the stop, not the limit, ended the retrying.
    assert_eq!(o.told.exhausted, 0);
    assert!(o.told.failed + o.told.in_flight >= 1, "{:?}", o.told);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_reopened_and_the_outage_closed() {
    let s = settings(1, Some(20.0), 6);
    let script: Script = Arc::new(|t| {
        if t >= Duration::from_secs(2) && t < Duration::from_secs(3) {
            Behave::Refuse
        } else {
            Behave::Answer(Duration::from_millis(1))
        }
    });
    let o = run(s.clone(), script, None).await;
    assert_eq!(o.outages.len(), 1);
    let out = &o.outages[0];
    assert!(out.recovered);
    assert!((2.0..2.2).contains(&secs(&o, out.start)));
    assert!((3.0..3.6).contains(&secs(&o, out.end)));
    let t = &o.totals;
    assert_eq!(
        t.failed(),
        1,
        "only the transaction that met the reset fails"
    );
    assert_eq!(t.missed, 0, "the backlog runs once the server is back");
    assert_eq!(t.committed() + t.failed(), scheduled(&s));
}

#[tokio::test(start_paused = true)]
async fn a_reconnect_does_not_shift_the_think_times_that_follow() {
    // Closed loop with exponential think times; the server refuses everything from 2 s to
    // 2.5 s, so the lane reconnects with jittered backoff in between.
    let think = super::ThinkTime {
        mean: Duration::from_millis(100),
        exponential: true,
    };
    let mut s = settings(1, None, 6);
    s.think = Some(think);
    let script: Script = Arc::new(|t| {
        if t >= Duration::from_secs(2) && t < Duration::from_millis(2500) {
            Behave::Refuse
        } else {
            Behave::Answer(Duration::from_millis(1))
        }
    });
    let o = run(s.clone(), script, None).await;
    assert_eq!(o.outages.len(), 1, "{:?}", o.outages);
    // Every start draws one think time, in order, from the lane's own stream.
    let mut rng = crate::datagen::Rng::derive(s.seed, 1_000_000);
    let starts = &o.told.starts;
    let expected: Vec<Duration> = (0..starts.len())
        .map(|_| super::lane::think_pause(think, &mut rng))
        .collect();
    let mut checked_after = 0;
    for i in 0..starts.len() - 1 {
        let (a, b) = (starts[i], starts[i + 1]);
        // The pause after an answered transaction (1 ms), away from the outage.
        let clear = |t: Duration| t < Duration::from_secs(2) || t > Duration::from_secs(3);
        if !(clear(a) && clear(b)) {
            continue;
        }
        let pause = b - a - Duration::from_millis(1);
        let want = expected[i + 1];
        // tokio's timer fires on whole milliseconds.
        assert!(
            pause.abs_diff(want) <= Duration::from_millis(2),
            "start {}: paused {pause:?}, the seed's think time is {want:?}",
            i + 1
        );
        checked_after += usize::from(a > Duration::from_secs(3));
    }
    assert!(
        checked_after > 10,
        "too few starts after the outage: {checked_after}"
    );
}
