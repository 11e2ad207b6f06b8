//! The list-append workload: concurrent transactions of appends and reads over a small, hot,
//! slowly moving key set, recorded as a history for the checker.

use super::history::{History, Mop, Op, OpType};
use crate::datagen::Rng;
use crate::db::{Connection, DbError, DbUrl, ErrorKind, Isolation};
use crate::value::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of a list-append run.
#[derive(Debug, Clone)]
pub struct AppendOptions {
    pub url: DbUrl,
    pub isolation: Option<Isolation>,
    pub duration: Duration,
    pub connections: usize,
    /// Keys in the hot set at any time.
    pub keys: u64,
    /// Micro-operations per transaction, at most.
    pub max_ops: usize,
    pub seed: u64,
    pub stop: Arc<AtomicBool>,
    /// A transaction without an answer for this long is abandoned with its connection.
    pub timeout: Duration,
    /// Set when the clients start (after the table is created), for fault timelines.
    pub started: Option<Arc<std::sync::OnceLock<Instant>>>,
}

const TABLE: &str = "dbarena_append";

/// Appends a key gets, on average, before the hot set moves past it (keeps lists short).
const APPENDS_PER_KEY: u64 = 16;

struct Shared {
    next_value: AtomicU64,
    appends: AtomicU64,
    next_process: AtomicU64,
}

/// Runs the workload and returns the history (ops in real-time order, indexed).
pub fn run_list_append(o: &AppendOptions) -> Result<History, crate::Error> {
    let rt = crate::util::runtime::current_thread()?;
    rt.block_on(async {
        let mut c = Connection::connect(&o.url).await?;
        let d = c.dialect();
        c.execute(&d.drop_table(TABLE))
            .await
            .map_err(|e| crate::Error::db("dropping the list-append table", e))?;
        c.execute(&format!(
            "CREATE TABLE {} (id INTEGER PRIMARY KEY, val TEXT)",
            d.ident(TABLE)
        ))
        .await
        .map_err(|e| crate::Error::db("creating the list-append table", e))?;
        Ok::<(), crate::Error>(())
    })?;
    let shared = Arc::new(Shared {
        next_value: AtomicU64::new(1),
        appends: AtomicU64::new(0),
        next_process: AtomicU64::new(o.connections as u64),
    });
    let start = Instant::now();
    if let Some(s) = &o.started {
        let _ = s.set(start);
    }
    let mut handles = Vec::new();
    for p in 0..o.connections {
        let o = o.clone();
        let shared = shared.clone();
        handles.push(std::thread::spawn(move || {
            client(o, p as u64, start, shared)
        }));
    }
    let mut ops = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok(mut v)) => ops.append(&mut v),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(crate::Error::Failed("a list-append client panicked".into())),
        }
    }
    ops.sort_by_key(|o: &Op| (o.time, o.typ != OpType::Invoke));
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i;
    }
    Ok(History { ops })
}

async fn open(o: &AppendOptions) -> Result<Connection, crate::Error> {
    let mut c = Connection::connect(&o.url).await?;
    if let Some(level) = o.isolation {
        c.set_isolation(level)
            .await
            .map_err(|e| crate::Error::db("setting the isolation level", e))?;
    }
    let d = c.dialect();
    let read = format!(
        "SELECT val FROM {} WHERE id = {}",
        d.ident(TABLE),
        d.placeholder(1)
    );
    c.prepare_all(&[d.append_upsert(TABLE), read])
        .await
        .map_err(|e| crate::Error::db("preparing the list-append statements", e))?;
    Ok(c)
}

fn client(
    o: AppendOptions,
    first_process: u64,
    start: Instant,
    shared: Arc<Shared>,
) -> Result<Vec<Op>, crate::Error> {
    let rt = crate::util::runtime::current_thread()?;
    rt.block_on(async move {
        let mut conn = open(&o).await?;
        let d = conn.dialect();
        let mut rng = Rng::derive(o.seed, first_process);
        let mut process = first_process;
        let mut ops = Vec::new();
        let now = || start.elapsed().as_nanos() as u64;
        while start.elapsed() < o.duration && !o.stop.load(Ordering::Relaxed) {
            // The hot set slides forward as appends accumulate, so lists stay short.
            let base = shared.appends.load(Ordering::Relaxed) / APPENDS_PER_KEY;
            let n = 1 + rng.below(o.max_ops.max(1) as u64) as usize;
            let mut mops = Vec::with_capacity(n);
            for _ in 0..n {
                let k = base + rng.below(o.keys.max(1));
                if rng.chance(0.5) {
                    mops.push(Mop::Append(
                        k,
                        shared.next_value.fetch_add(1, Ordering::Relaxed),
                    ));
                } else {
                    mops.push(Mop::Read(k, None));
                }
            }
            let writes = mops.iter().any(|m| matches!(m, Mop::Append(..)));
            ops.push(Op {
                index: 0,
                process,
                typ: OpType::Invoke,
                time: now(),
                value: mops.clone(),
            });
            // No answer in time: the connection is abandoned, and a commit already sent may
            // or may not have happened.
            let outcome = tokio::time::timeout(o.timeout, txn(&mut conn, d, &mops, writes))
                .await
                .unwrap_or_else(|_| Err((DbError::abandoned(o.timeout), true)));
            let mut lost = false;
            let (typ, value) = match outcome {
                Ok(done) => {
                    let appends =
                        done.iter().filter(|m| matches!(m, Mop::Append(..))).count() as u64;
                    shared.appends.fetch_add(appends, Ordering::Relaxed);
                    (OpType::Ok, done)
                }
                Err((e, committing)) => {
                    lost = e.kind == ErrorKind::ConnectionLost;
                    if lost && committing {
                        (OpType::Info, mops.clone())
                    } else {
                        (OpType::Fail, mops.clone())
                    }
                }
            };
            ops.push(Op {
                index: 0,
                process,
                typ,
                time: now(),
                value,
            });
            if lost {
                // A client whose connection is gone continues as a new process on a new one
                // (after an indeterminate op, Elle requires a new process).
                process = shared.next_process.fetch_add(1, Ordering::Relaxed);
                loop {
                    if start.elapsed() >= o.duration || o.stop.load(Ordering::Relaxed) {
                        return Ok(ops);
                    }
                    match tokio::time::timeout(Duration::from_secs(2), open(&o)).await {
                        Ok(Ok(c)) => {
                            conn = c;
                            break;
                        }
                        _ => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
            }
        }
        Ok(ops)
    })
}

/// One transaction; the error says whether it happened while committing.
async fn txn(
    conn: &mut Connection,
    d: crate::db::Dialect,
    mops: &[Mop],
    writes: bool,
) -> Result<Vec<Mop>, (DbError, bool)> {
    conn.execute(d.begin(writes))
        .await
        .map_err(|e| (e, false))?;
    let mut done = Vec::with_capacity(mops.len());
    for m in mops {
        let r = match m {
            Mop::Append(k, v) => conn
                .run(0, &[Value::Int(*k as i64), Value::Text(v.to_string())])
                .await
                .map(|_| Mop::Append(*k, *v)),
            Mop::Read(k, _) => conn
                .run_first(1, &[Value::Int(*k as i64)])
                .await
                .map(|out| {
                    let list = match out.first {
                        Some(Value::Text(s)) => {
                            s.split(',').filter_map(|x| x.parse().ok()).collect()
                        }
                        _ => Vec::new(),
                    };
                    Mop::Read(*k, Some(list))
                }),
        };
        match r {
            Ok(m) => done.push(m),
            Err(e) => {
                if e.kind != ErrorKind::ConnectionLost {
                    let _ = conn.execute("ROLLBACK").await;
                }
                return Err((e, false));
            }
        }
    }
    if let Err(e) = conn.execute("COMMIT").await {
        if e.kind != ErrorKind::ConnectionLost {
            let _ = conn.execute("ROLLBACK").await;
        }
        return Err((e, true));
    }
    Ok(done)
}
