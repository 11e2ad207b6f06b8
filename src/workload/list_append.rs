//! The list-append workload: concurrent transactions of appends and reads over a small, hot,
//! slowly moving key set, recorded as an Elle history for the checker (`verify/`), which reads
//! the history and never this code.
//!
//! Every attempt the engine makes is one history operation: an invoke, then ok, fail, or info
//! (no answer, or the connection was lost while committing: it may have committed). After an
//! info or a lost connection the lane continues as a new process, as Elle requires.

use super::run::{RunEnv, RunOptions};
use crate::config::WorkloadConfig;
use crate::datagen::Rng;
use crate::db::{Connection, DbError, ErrorKind};
use crate::engine::{self, ProgressSink, TxEnd, TxResult, TxSource, Workload};
use crate::metrics::result::{Verdict, Verification};
use crate::metrics::RunResult;
use crate::value::Value;
use crate::verify::history::{History, Mop, Op, OpType};
use crate::verify::model::{validity, Model, Validity};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TABLE: &str = "dbarena_append";
/// Registers of the rw-register flavour: one value per key.
const REGISTERS: &str = "dbarena_registers";
/// The common starts of runs over several agents whose tables are ready.
const READY: &str = "dbarena_append_agents";

/// Appends a key gets, on average, before the hot set moves past it (keeps lists short).
const APPENDS_PER_KEY: u64 = 16;

/// The shape of the transactions.
#[derive(Debug, Clone, Copy)]
pub struct AppendShape {
    /// Keys in the hot set at any time.
    pub keys: u64,
    /// Micro-operations per transaction, at most.
    pub max_ops: usize,
    /// Elle's rw-register instead of list-append: writes of unique values and reads of one
    /// value per key.
    pub registers: bool,
}

impl Default for AppendShape {
    fn default() -> Self {
        AppendShape {
            keys: 10,
            max_ops: 4,
            registers: false,
        }
    }
}

struct Shared {
    origin: Instant,
    /// The wall-clock time at `origin`, ns since the epoch: op times are this plus the
    /// monotonic time since, so histories of agents on several machines line up.
    origin_wall_ns: u64,
    next_value: AtomicU64,
    appends: AtomicU64,
    next_process: AtomicU64,
    /// Process ids after the lanes' own (one per connection of the whole run).
    first_new_process: u64,
    /// Each lane's operations, handed over when it finishes.
    ops: Mutex<Vec<Op>>,
}

/// The workload the engine runs.
pub struct ListAppend {
    shape: AppendShape,
    shared: Arc<Shared>,
    /// Values and process ids of agents that share the run stay apart.
    segment: Option<crate::engine::Segment>,
}

impl ListAppend {
    pub fn new(
        shape: AppendShape,
        connections: usize,
        segment: Option<crate::engine::Segment>,
    ) -> Self {
        ListAppend {
            shape,
            segment,
            shared: Arc::new(Shared {
                origin: Instant::now(),
                origin_wall_ns: (crate::util::time::now_us().max(0) as u64).saturating_mul(1000),
                next_value: AtomicU64::new(1),
                appends: AtomicU64::new(0),
                next_process: AtomicU64::new(0),
                first_new_process: connections as u64,
                ops: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The history of everything the lanes did, in real-time order, indexed.
    pub fn history(&self) -> History {
        let mut ops =
            std::mem::take(&mut *self.shared.ops.lock().unwrap_or_else(|p| p.into_inner()));
        ops.sort_by_key(|o: &Op| (o.time, o.typ != OpType::Invoke));
        for (i, op) in ops.iter_mut().enumerate() {
            op.index = i;
        }
        History { ops }
    }
}

/// Creates the list-append tables afresh.
pub async fn create_table(c: &mut Connection) -> Result<(), crate::Error> {
    let d = c.dialect();
    for (table, columns, what) in [
        (TABLE, "id INTEGER PRIMARY KEY, val TEXT", "list-append"),
        (
            REGISTERS,
            "id BIGINT PRIMARY KEY, val BIGINT",
            "rw-register",
        ),
    ] {
        c.execute(&d.drop_table(table))
            .await
            .map_err(|e| crate::Error::db(format!("dropping the {what} table"), e))?;
        c.execute(&format!("CREATE TABLE {} ({columns})", d.ident(table)))
            .await
            .map_err(|e| crate::Error::db(format!("creating the {what} table"), e))?;
    }
    Ok(())
}

/// Agents of one run share the tables. The first makes them afresh and then records the
/// run's common start in [`READY`]; the others wait for that record before they prepare
/// their statements, so none of them prepares against a table about to be dropped.
async fn share_tables(
    c: &mut Connection,
    segment: crate::engine::Segment,
    start_at_us: i64,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), crate::Error> {
    let d = c.dialect();
    let ready = d.ident(READY);
    if segment.index == 0 {
        create_table(c).await?;
        c.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {ready} (start_at BIGINT PRIMARY KEY)"
        ))
        .await
        .map_err(|e| crate::Error::db("creating the agents' table", e))?;
        return c
            .execute(&format!(
                "INSERT INTO {ready} (start_at) VALUES ({start_at_us})"
            ))
            .await
            .map(|_| ())
            .map_err(|e| crate::Error::db("recording that the tables are ready", e));
    }
    // Until well after the common start: the first agent may be slower to set up.
    let give_up = start_at_us + 30_000_000;
    loop {
        let found = c
            .query_text(&format!(
                "SELECT 1 FROM {ready} WHERE start_at = {start_at_us}"
            ))
            .await
            .map(|rows| !rows.is_empty())
            .unwrap_or(false);
        if found {
            return Ok(());
        }
        if stop.load(Ordering::SeqCst) {
            return Err(crate::Error::Failed(
                "interrupted while waiting for the first agent; nothing was measured".into(),
            ));
        }
        if crate::util::time::now_us() > give_up {
            return Err(crate::Error::Failed(format!(
                "the first agent (--segment 1/{}) has not made the list-append tables ready 30 s after the common start; start it with the same --start-at",
                segment.count
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

impl Workload<Connection> for ListAppend {
    type Source = AppendSource;

    fn op_names(&self) -> Vec<String> {
        vec!["txn".into()]
    }

    async fn prepare(&self, c: &mut Connection) -> Result<(), crate::Error> {
        let d = c.dialect();
        let read = format!(
            "SELECT val FROM {} WHERE id = {}",
            d.ident(TABLE),
            d.placeholder(1)
        );
        let read_register = format!(
            "SELECT val FROM {} WHERE id = {}",
            d.ident(REGISTERS),
            d.placeholder(1)
        );
        c.prepare_all(&[
            d.append_upsert(TABLE),
            read,
            d.register_upsert(REGISTERS),
            read_register,
        ])
        .await
        .map_err(|e| crate::Error::db("preparing the list-append statements", e))
    }

    fn source(&self, lane: usize, seed: u64) -> AppendSource {
        AppendSource {
            shape: self.shape,
            shared: self.shared.clone(),
            rng: Rng::derive(seed, lane as u64),
            process: lane as u64,
            ops: Vec::new(),
            pending: None,
            segment: self.segment,
        }
    }
}

/// One lane's transactions and its part of the history.
pub struct AppendSource {
    shape: AppendShape,
    shared: Arc<Shared>,
    rng: Rng,
    process: u64,
    ops: Vec<Op>,
    /// The attempt invoked and not yet completed in the history.
    pending: Option<Vec<Mop>>,
    segment: Option<crate::engine::Segment>,
}

/// Which keys to append to (values are drawn at each attempt) and which to read.
pub struct AppendTx {
    mops: Vec<Mop>,
}

impl AppendSource {
    fn now(&self) -> u64 {
        self.shared.origin_wall_ns + self.shared.origin.elapsed().as_nanos() as u64
    }

    fn push(&mut self, typ: OpType, value: Vec<Mop>, error: Option<String>) {
        let time = self.now();
        self.ops.push(Op {
            index: 0,
            process: self.process,
            typ,
            time,
            value,
            error,
        });
    }

    /// The `n`th of a sequence all agents share, kept apart by segment.
    fn spread(&self, n: u64) -> u64 {
        self.segment.map_or(n, |s| s.spread(n))
    }

    fn new_process(&mut self) {
        let n = self.shared.next_process.fetch_add(1, Ordering::Relaxed);
        self.process = self.shared.first_new_process + self.spread(n);
    }
}

impl TxSource<Connection> for AppendSource {
    type Tx = AppendTx;
    type Answer = ();

    fn next_tx(&mut self) -> AppendTx {
        // The hot set slides forward as appends accumulate, so lists stay short; registers
        // hold one value and need no sliding.
        let base = if self.shape.registers {
            0
        } else {
            self.shared.appends.load(Ordering::Relaxed) / APPENDS_PER_KEY
        };
        let registers = self.shape.registers;
        let n = 1 + self.rng.below(self.shape.max_ops.max(1) as u64) as usize;
        let mops = (0..n)
            .map(|_| {
                let k = base + self.rng.below(self.shape.keys.max(1));
                match (self.rng.chance(0.5), registers) {
                    (true, false) => Mop::Append(k, 0),
                    (false, false) => Mop::Read(k, None),
                    (true, true) => Mop::Write(k, 0),
                    (false, true) => Mop::ReadRegister(k, None),
                }
            })
            .collect();
        AppendTx { mops }
    }

    fn op(&self, _tx: &AppendTx) -> usize {
        0
    }

    async fn execute<'a>(
        &'a mut self,
        c: &'a mut Connection,
        tx: &'a AppendTx,
    ) -> Result<(), DbError> {
        // Every attempt appends values never used before: Elle needs each value once.
        let mops: Vec<Mop> = tx
            .mops
            .iter()
            .map(|m| match m {
                Mop::Append(k, _) => {
                    let n = self.shared.next_value.fetch_add(1, Ordering::Relaxed);
                    Mop::Append(*k, self.spread(n))
                }
                Mop::Write(k, _) => {
                    let n = self.shared.next_value.fetch_add(1, Ordering::Relaxed);
                    Mop::Write(*k, self.spread(n))
                }
                r => r.clone(),
            })
            .collect();
        self.push(OpType::Invoke, mops.clone(), None);
        self.pending = Some(mops.clone());
        let mut committing = false;
        let r = txn(c, &mops, &mut committing).await;
        self.pending = None;
        match r {
            Ok(done) => {
                let appends = done.iter().filter(|m| matches!(m, Mop::Append(..))).count();
                self.shared
                    .appends
                    .fetch_add(appends as u64, Ordering::Relaxed);
                self.push(OpType::Ok, done, None);
                Ok(())
            }
            Err(e) => {
                let lost = e.kind == ErrorKind::ConnectionLost;
                let typ = if lost && committing {
                    OpType::Info
                } else {
                    OpType::Fail
                };
                self.push(typ, mops, Some(e.class()));
                if lost {
                    self.new_process();
                }
                Err(e)
            }
        }
    }

    fn outcome(&mut self, _tx: AppendTx, result: TxResult<()>, _end: TxEnd) {
        // An attempt the engine gave up on (no answer in time, or the run ended) may or may
        // not have committed.
        if let Some(mops) = self.pending.take() {
            let why = match &result {
                TxResult::Failed(e) => e.class(),
                _ => "in_flight_at_end".to_string(),
            };
            self.push(OpType::Info, mops, Some(why));
            self.new_process();
        }
    }

    fn finish(&mut self) {
        let mine = std::mem::take(&mut self.ops);
        self.shared
            .ops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(mine);
    }
}

/// One transaction; `committing` is set once COMMIT is sent.
async fn txn(c: &mut Connection, mops: &[Mop], committing: &mut bool) -> Result<Vec<Mop>, DbError> {
    let writes = mops
        .iter()
        .any(|m| matches!(m, Mop::Append(..) | Mop::Write(..)));
    let d = c.dialect();
    c.execute(d.begin(writes)).await?;
    let mut done = Vec::with_capacity(mops.len());
    for m in mops {
        let r = match m {
            Mop::Append(k, v) => c
                .run(0, &[Value::Int(*k as i64), Value::Text(v.to_string())])
                .await
                .map(|_| Mop::Append(*k, *v)),
            Mop::Read(k, _) => c.run_first(1, &[Value::Int(*k as i64)]).await.map(|out| {
                let list = match out.first {
                    Some(Value::Text(s)) => s.split(',').filter_map(|x| x.parse().ok()).collect(),
                    _ => Vec::new(),
                };
                Mop::Read(*k, Some(list))
            }),
            Mop::Write(k, v) => c
                .run(2, &[Value::Int(*k as i64), Value::Int(*v as i64)])
                .await
                .map(|_| Mop::Write(*k, *v)),
            Mop::ReadRegister(k, _) => c.run_first(3, &[Value::Int(*k as i64)]).await.map(|out| {
                Mop::ReadRegister(*k, out.first.and_then(|v| v.as_i64()).map(|v| v as u64))
            }),
        };
        match r {
            Ok(m) => done.push(m),
            Err(e) => {
                c.rollback_after(&e).await;
                return Err(e);
            }
        }
    }
    *committing = true;
    if let Err(e) = c.execute("COMMIT").await {
        c.rollback_after(&e).await;
        return Err(e);
    }
    Ok(done)
}

/// The isolation level the run's transactions use: the one set, or else the database's
/// default (asked on the setup connection), so a history is judged against what ran.
pub fn effective_isolation(
    env: &mut RunEnv,
    set: Option<crate::db::Isolation>,
) -> Result<crate::db::Isolation, crate::Error> {
    if let Some(level) = set {
        return Ok(level);
    }
    env.block_on(async |c| {
        c.default_isolation()
            .await
            .map_err(|e| crate::Error::db("asking for the default isolation level", e))
    })?
    .ok_or_else(|| {
        crate::Error::Usage(
            "the database's default isolation level is READ UNCOMMITTED, which no checker model describes; give --isolation read-committed, repeatable-read or serializable".into(),
        )
    })
}

/// Runs list-append on the engine and returns its measurements and history.
pub fn record(
    env: &mut RunEnv,
    cfg: &WorkloadConfig,
    shape: AppendShape,
    opts: &RunOptions,
    progress: &mut dyn ProgressSink,
) -> Result<(engine::EngineOutput, History), crate::Error> {
    // Agents of one run share the tables: the first makes them afresh before the common
    // start, which only --start-at guarantees comes after every agent's setup.
    if cfg.segment.is_some() && cfg.start_at_us.is_none() {
        return Err(crate::Error::Usage(
            "list-append over several agents (--segment) needs --start-at: the first agent empties the tables before the common start, which must come after every agent's setup".into(),
        ));
    }
    match (cfg.segment, cfg.start_at_us) {
        (Some(seg), Some(at)) => {
            env.block_on(async |c| share_tables(c, seg, at, &opts.stop).await)?
        }
        _ => env.block_on(async |c| create_table(c).await)?,
    }
    // Each lane is one Elle process on a connection of its own: transactions must not share
    // a pipelined connection.
    let mut cfg = cfg.clone();
    cfg.pipeline = 1;
    let w = Arc::new(ListAppend::new(shape, cfg.connections, cfg.segment));
    let out = env.run_engine(&cfg, w.clone(), opts, progress)?;
    Ok((out, w.history()))
}

/// Runs list-append as a workload: writes its history to `history_path`, checks it like Elle
/// and builds the result.
pub fn run(
    env: &mut RunEnv,
    cfg: &WorkloadConfig,
    opts: &RunOptions,
    progress: &mut dyn ProgressSink,
    history_path: &Path,
) -> Result<RunResult, crate::Error> {
    // Asked before the run: after a failover or a kill the setup connection is gone.
    let level = effective_isolation(env, cfg.isolation)?;
    let (out, h) = record(env, cfg, AppendShape::default(), opts, progress)?;
    h.save(history_path)?;
    let model = Model::for_isolation(Some(level));
    // One agent of several reads what the others appended: its history alone would show
    // their values as garbage reads. Judged only together, when the agents are merged.
    let (verdict, anomalies) = if cfg.segment.is_some() {
        (Verdict::Deferred, Vec::new())
    } else {
        let an = crate::verify::check(&h, Duration::from_secs(10));
        let verdict = match validity(model, &an.kinds(), an.incomplete) {
            Validity::Valid => Verdict::Pass,
            Validity::Invalid => Verdict::Fail,
            Validity::Unknown => Verdict::Unknown,
        };
        (
            verdict,
            an.counts.iter().map(|(k, n)| format!("{k} x{n}")).collect(),
        )
    };
    let mut result = env.result(cfg, &["txn".to_string()], out, vec![]);
    if cfg.isolation.is_none() {
        result.notes.push(format!(
            "isolation: the database's default, {}; the history is judged against {}",
            level.sql().to_ascii_lowercase(),
            model.name()
        ));
    }
    result.verification = Some(Verification {
        checker: "list-append".into(),
        model: model.name().into(),
        verdict,
        anomalies,
        history: history_path.display().to_string(),
    });
    Ok(result)
}
