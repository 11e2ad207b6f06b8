//! `workload run` from start to finish: connect, prepare the schema, plan, run the engine,
//! write the result file.

use super::config::WorkloadConfig;
use super::plan::WorkloadPlan;
use crate::db::{Connection, DbUrl};
use crate::engine::{self, ProgressSink};
use crate::metrics::result::{RunData, TargetInfo};
use crate::metrics::RunResult;
use crate::schema::{SchemaError, TableInfo};
use crate::Error;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Options that are about this invocation, not the workload.
pub struct RunOptions {
    /// Where to write the result; default `dbarena-results/<stamp>-<pattern>-<db>.json`.
    pub out: Option<PathBuf>,
    /// Set by Ctrl-C.
    pub stop: Arc<AtomicBool>,
    /// Informational messages (schema created…) go here.
    pub log: Box<dyn Fn(&str)>,
    /// Set to the instant the measured run starts (after setup), for fault timelines.
    pub started: Option<Arc<std::sync::OnceLock<std::time::Instant>>>,
}

/// A finished (or interrupted) run and where its result was written.
pub struct RunReport {
    pub result: RunResult,
    pub path: PathBuf,
}

/// Runs a workload and writes its result file.
pub fn run_workload(
    mut cfg: WorkloadConfig,
    opts: RunOptions,
    progress: &mut dyn ProgressSink,
) -> Result<RunReport, Error> {
    let url = DbUrl::parse(&cfg.db)?;
    if cfg.pattern == "writers-readers" || cfg.pattern == "list-append" {
        return run_checked(cfg, url, opts);
    }
    if url.kind() == crate::db::DbKind::Sqlite {
        // SQLite calls block, so each connection runs on a thread of its own.
        cfg.threads = cfg.connections;
    }
    let rt = crate::util::runtime::current_thread()?;
    // The setup connection stays open for the whole run: an in-memory SQLite database lives
    // only as long as some connection holds it.
    let (setup, server_version, plan, notes) = rt.block_on(async {
        let mut conn = Connection::connect(&url).await?;
        let version = conn
            .server_version()
            .await
            .map_err(|e| Error::db("reading the server version", e))?;
        let mut notes = Vec::new();
        let tables = resolve_tables(&mut conn, &cfg, &url, &opts, &mut notes).await?;
        let plan = WorkloadPlan::build(&mut conn, &cfg, tables).await?;
        plan.prepare(&mut conn).await?;
        if cfg.pipeline > 1 {
            if conn.share().is_none() {
                return Err(Error::Usage(format!(
                    "--pipeline needs PostgreSQL (tokio-postgres pipelines queries on one connection); {} runs one statement at a time per connection, so use more --connections",
                    url.kind()
                )));
            }
            if !plan.single_statement() {
                return Err(Error::Usage(format!(
                    "--pipeline needs single-statement transactions (for example select-only, ycsb-b, ycsb-c or one-statement custom queries); pattern {} runs multi-statement transactions",
                    cfg.pattern
                )));
            }
        }
        if cfg.isolation.is_some()
            && conn
                .dialect()
                .set_isolation(crate::db::Isolation::Serializable)
                .is_none()
        {
            notes.push(format!(
                "{} transactions are always serializable; --isolation has no effect",
                url.kind()
            ));
        }
        Ok::<_, Error>((conn, version, plan, notes))
    })?;
    let plan = Arc::new(plan);
    // Only an in-memory database needs the setup connection to live on; elsewhere it would
    // be one more idle connection during the measurement.
    let keep_setup = matches!(
        url.sqlite_location(),
        Some(crate::db::url::SqliteLocation::Memory)
    );
    let mut setup = if keep_setup {
        Some(setup)
    } else {
        drop(setup);
        None
    };
    let target = TargetInfo {
        kind: url.kind(),
        server_version,
        url: url.redacted(),
    };
    let connector = Arc::new(super::connector::DbConnector {
        url: url.clone(),
        isolation: cfg.isolation,
        protocol: cfg.protocol,
    });
    let workload = Arc::new(super::statements::StatementWorkload { plan: plan.clone() });
    let out = engine::run(
        connector,
        workload,
        settings(&cfg),
        opts.stop.clone(),
        opts.started.clone(),
        progress,
    )?;
    let mut recorded = cfg.clone();
    recorded.db = url.redacted();
    let result = RunResult::build(RunData {
        config: recorded,
        target,
        op_names: &plan.op_names,
        totals: &out.totals,
        intervals: out.intervals,
        outages: out.outages,
        started_at_us: out.started_at_us,
        ended_at_us: out.ended_at_us,
        measured_s: out.measured_s,
        interrupted: out.interrupted,
        notes,
    });
    let path = opts.out.unwrap_or_else(|| {
        PathBuf::from("dbarena-results").join(format!(
            "{}-{}-{}.json",
            crate::util::time::compact_stamp(out.started_at_us),
            result.config.pattern,
            url.short_name()
        ))
    });
    result.write(&path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    // Closing the setup connection last keeps an in-memory database alive until here.
    if let Some(conn) = setup.as_mut() {
        rt.block_on(async {
            let _ = conn.execute("SELECT 1").await;
        });
    }
    Ok(RunReport { result, path })
}

/// The engine settings of a workload configuration.
pub(crate) fn settings(cfg: &WorkloadConfig) -> engine::RunSettings {
    engine::RunSettings {
        connections: cfg.connections,
        threads: cfg.threads,
        pipeline: cfg.pipeline,
        rate: cfg.tps,
        arrival: cfg.arrival,
        duration: cfg.duration,
        transactions: cfg.transactions,
        warmup: cfg.warmup,
        timeout: cfg.timeout,
        max_retries: cfg.max_retries,
        seed: cfg.seed.unwrap_or_else(crate::datagen::Rng::seed_from_time),
    }
}

/// The patterns that run their own clients and check consistency after the run.
fn run_checked(cfg: WorkloadConfig, url: DbUrl, opts: RunOptions) -> Result<RunReport, Error> {
    let rt = crate::util::runtime::current_thread()?;
    let version = rt.block_on(async {
        let mut c = Connection::connect(&url).await?;
        c.server_version()
            .await
            .map_err(|e| Error::db("reading the server version", e))
    })?;
    let path = opts.out.unwrap_or_else(|| {
        PathBuf::from("dbarena-results").join(format!(
            "{}-{}-{}.json",
            crate::util::time::compact_stamp(crate::util::time::now_us()),
            cfg.pattern,
            url.short_name()
        ))
    });
    let result = if cfg.pattern == "list-append" {
        let history = path.with_extension("history.jsonl");
        super::list_append::run(
            &cfg,
            &url,
            version,
            opts.stop.clone(),
            opts.started,
            &history,
        )?
    } else {
        super::writers_readers::run(&cfg, &url, version, opts.stop.clone(), opts.started)?
    };
    result.write(&path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    Ok(RunReport { result, path })
}

async fn resolve_tables(
    conn: &mut Connection,
    cfg: &WorkloadConfig,
    url: &DbUrl,
    opts: &RunOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<TableInfo>, Error> {
    let names: Vec<String> = match &cfg.tables {
        Some(t) => t.clone(),
        None if !cfg.custom_queries.is_empty() => return Ok(Vec::new()),
        None if super::pgbench::is_script(&cfg.pattern) => return Ok(Vec::new()),
        None if super::ycsb::is_workload(&cfg.pattern) => vec!["usertable".to_string()],
        None => {
            let rep = crate::seed::builtin::ensure_ecommerce(conn)
                .await
                .map_err(|e| Error::db("creating the built-in ecommerce schema", e))?;
            if !rep.created.is_empty() || !rep.filled.is_empty() {
                let filled: Vec<String> =
                    rep.filled.iter().map(|(t, n)| format!("{t}={n}")).collect();
                let msg = format!(
                    "prepared the built-in ecommerce schema (created: [{}], filled: [{}])",
                    rep.created.join(", "),
                    filled.join(", ")
                );
                (opts.log)(&msg);
                notes.push(msg);
            }
            crate::schema::builtin::ecommerce()
                .into_iter()
                .map(|(t, _)| t.name)
                .collect()
        }
    };
    let mut out = Vec::new();
    for n in names {
        let info = conn
            .introspect(&n)
            .await
            .map_err(|e| Error::db(format!("reading the definition of table {n}"), e))?;
        match info {
            Some(t) => out.push(t),
            None => {
                return Err(SchemaError::MissingTable {
                    table: n,
                    db: url.redacted(),
                }
                .into())
            }
        }
    }
    Ok(out)
}
