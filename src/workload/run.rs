//! `workload run` from start to finish: connect, prepare the schema, plan, run the engine,
//! write the result file.

use super::plan::WorkloadPlan;
use crate::config::{WorkloadConfig, WorkloadSpec};
use crate::db::{Connection, DbUrl};
use crate::engine;
use crate::engine::ProgressSink;
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
    /// Faults the caller injects during the run, recorded in the result.
    pub faults: Vec<crate::metrics::result::FaultWindow>,
    /// A line per transaction here (`--log`).
    pub tx_log: Option<PathBuf>,
    /// The per-second histograms as an HdrHistogram interval log here (`--hdr-log`).
    pub hdr_log: Option<PathBuf>,
}

/// A finished (or interrupted) run and where its result was written.
pub struct RunReport {
    pub result: RunResult,
    pub path: PathBuf,
    /// Things the user must see even with --quiet (the result went to a fallback path).
    pub warnings: Vec<String>,
}

/// What every run of a workload needs around the engine: the URL, a runtime for setup, the
/// setup connection (kept open: an in-memory SQLite database lives only as long as some
/// connection holds it) and the server's version.
pub struct RunEnv {
    pub url: DbUrl,
    rt: tokio::runtime::Runtime,
    setup: Connection,
    pub server_version: String,
    /// Where the result goes (checked writable before the run).
    pub path: PathBuf,
    /// Saves what was measured if a second signal ends the process before the result is built.
    last_words: Option<crate::util::signals::LastWordsGuard>,
    /// The threshold that stopped the run (`--abort-on-fail`), with its value.
    pub aborted: Option<String>,
    /// What the server was doing during the engine's run.
    pub server: Option<crate::metrics::server::ServerMetrics>,
    /// When this run began connecting, and how long it took until the engine's measured
    /// start: reported, never measured.
    opened: std::time::Instant,
    setup_took: Option<std::time::Duration>,
}

impl RunEnv {
    /// Connects the setup connection and reads the server version.
    pub fn open(url: DbUrl, path: PathBuf) -> Result<RunEnv, Error> {
        let opened = std::time::Instant::now();
        let rt = crate::util::runtime::current_thread()?;
        let (setup, server_version) = rt.block_on(async {
            let mut c = Connection::connect(&url).await?;
            let v = c
                .server_version()
                .await
                .map_err(|e| Error::db("reading the server version", e))?;
            Ok::<_, Error>((c, v))
        })?;
        Ok(RunEnv {
            url,
            rt,
            setup,
            server_version,
            path,
            last_words: None,
            aborted: None,
            server: None,
            opened,
            setup_took: None,
        })
    }

    /// Runs setup work on the setup connection.
    pub fn block_on<T>(
        &mut self,
        f: impl AsyncFnOnce(&mut Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.rt.block_on(f(&mut self.setup))
    }

    /// Runs `workload` on the engine with the run settings of `cfg`.
    pub fn run_engine<W: crate::engine::Workload<Connection>>(
        &mut self,
        cfg: &WorkloadConfig,
        workload: Arc<W>,
        opts: &RunOptions,
        progress: &mut dyn ProgressSink,
    ) -> Result<engine::EngineOutput, Error> {
        let ops = workload.op_names();
        for t in &cfg.thresholds {
            if let Some(op) = t
                .operation
                .as_deref()
                .filter(|op| !ops.iter().any(|o| o == op))
            {
                return Err(Error::Usage(format!(
                    "threshold {t} names operation '{op}', which {} does not run; its operations: {}",
                    cfg.pattern(),
                    ops.join(", ")
                )));
            }
        }
        let connector = Arc::new(super::connector::DbConnector {
            url: self.url.clone(),
            isolation: cfg.isolation,
            protocol: cfg.protocol,
        });
        let live: engine::LiveOutput = Default::default();
        let (so_far, path) = (live.clone(), self.path.clone());
        let template = self.template(cfg, &workload.op_names());
        self.last_words = Some(crate::util::signals::on_second_signal(move || {
            let out = so_far
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(engine::LiveRun::snapshot);
            let Some(out) = out else { return };
            let note = "stopped by a second signal: the result holds what was recorded up to the last interval";
            let r = template.build(out, vec![note.into()]);
            match save(&r, &path) {
                Ok(p) => eprintln!("interrupted: partial result saved to {}", p.display()),
                Err(e) => eprintln!("error: {e}"),
            }
        }));
        let live_server: crate::metrics::server::LiveServer = Default::default();
        let mut watch = AbortWatch {
            inner: progress,
            server: live_server.clone(),
            thresholds: if cfg.abort_on_fail {
                &cfg.thresholds
            } else {
                &[]
            },
            stop: opts.stop.clone(),
            tripped: None,
        };
        let started = opts.started.clone().unwrap_or_default();
        // One connection of its own, once a second: what the server counted meanwhile.
        let sampler = (cfg.server_stats && !self.url.embedded())
            .then(|| {
                crate::metrics::server::ServerSampler::start(
                    self.url.clone(),
                    started.clone(),
                    opts.stop.clone(),
                    live_server,
                    self.spill_dir(),
                )
            })
            .flatten();
        let mut run_settings = settings(cfg);
        run_settings.tx_log = opts.tx_log.clone();
        run_settings.spill_dir = self.spill_dir();
        let out = engine::run(
            connector,
            workload,
            run_settings,
            opts.stop.clone(),
            Some(started),
            Some(live),
            &mut watch,
        );
        // Setup ends where the engine's start gate opened (a --start-at wait is not setup).
        self.setup_took = out
            .as_ref()
            .ok()
            .and_then(|o| o.ready_at)
            .map(|r| r.saturating_duration_since(self.opened));
        self.server = sampler.and_then(|s| s.finish());
        self.aborted = watch.tripped;
        out
    }

    /// Where the per-second series wait for the result file while the run lasts: beside it.
    fn spill_dir(&self) -> Option<PathBuf> {
        match self.path.parent() {
            Some(p) if p.as_os_str().is_empty() => Some(PathBuf::from(".")),
            p => p.map(|p| p.to_path_buf()),
        }
    }

    /// What every result of this run shares.
    fn template(&self, cfg: &WorkloadConfig, op_names: &[String]) -> ResultTemplate {
        let mut config = cfg.clone();
        config.db = self.url.redacted();
        ResultTemplate {
            config,
            target: TargetInfo {
                kind: self.url.kind(),
                server_version: self.server_version.clone(),
                url: self.url.redacted(),
                durable: crate::instance::durability_of(&self.url),
            },
            op_names: op_names.to_vec(),
        }
    }

    /// The result file of a run from what the engine measured.
    pub fn result(
        &self,
        cfg: &WorkloadConfig,
        op_names: &[String],
        out: engine::EngineOutput,
        notes: Vec<String>,
    ) -> RunResult {
        let mut r = self.template(cfg, op_names).build(out, notes);
        r.setup_s = self.setup_took.map(|d| d.as_secs_f64());
        r
    }

    /// Ends the run. The setup connection is closed only here, after the result is built,
    /// which keeps an in-memory database alive until then; nothing is sent on it, as the
    /// server may no longer answer.
    pub fn close(self) {
        drop(self);
    }
}

/// Passes progress on, and stops the run when a threshold fails (`--abort-on-fail`).
struct AbortWatch<'a> {
    inner: &'a mut dyn ProgressSink,
    /// The server's latest second, added to what the display gets.
    server: crate::metrics::server::LiveServer,
    thresholds: &'a [crate::thresholds::Threshold],
    stop: Arc<AtomicBool>,
    tripped: Option<String>,
}

impl ProgressSink for AbortWatch<'_> {
    fn update(&mut self, snap: &engine::Snapshot) {
        match self.server.lock().ok().and_then(|s| s.clone()) {
            Some(values) => {
                let mut with = snap.clone();
                with.server = Some(values);
                self.inner.update(&with);
            }
            None => self.inner.update(snap),
        }
        if self.tripped.is_some() || self.thresholds.is_empty() {
            return;
        }
        // Rates and percentiles of the first seconds say little: judged once a tenth of the
        // run (and 2 s) has passed; counts and the maximum at once.
        let settled = snap.progress >= 0.1 && snap.elapsed.as_secs_f64() >= 2.0;
        if let Some((t, v)) = crate::thresholds::breaks_now(self.thresholds, snap, settled) {
            self.tripped = Some(format!("threshold {t} failed at {v}"));
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

/// Runs a workload and writes its result file.
pub fn run_workload(
    mut cfg: WorkloadConfig,
    opts: RunOptions,
    progress: &mut dyn ProgressSink,
) -> Result<RunReport, Error> {
    let url = DbUrl::parse(&cfg.db)?;
    if url.blocking() {
        // Every connection gets a thread of its own.
        cfg.threads = cfg.connections;
    }
    let path = match &opts.out {
        Some(p) => p.clone(),
        // Microseconds and a free name: two runs in one second never share a file.
        None => crate::util::fsx::free_name(&PathBuf::from("dbarena-results").join(format!(
            "{}-{}-{}.json",
            crate::util::time::compact_stamp_us(crate::util::time::now_us()),
            cfg.pattern(),
            url.short_name()
        ))),
    };
    // Found before the run, not after it: an unwritable --out would lose the whole run.
    crate::util::fsx::check_new_file(&path).map_err(Error::Usage)?;
    for p in opts.tx_log.iter().chain(&opts.hdr_log) {
        crate::util::fsx::check_new_file(p).map_err(Error::Usage)?;
    }
    if matches!(cfg.workload, WorkloadSpec::ListAppend) {
        crate::util::fsx::check_new_file(&path.with_extension("history.jsonl"))
            .map_err(Error::Usage)?;
    }
    // Only workloads that pick among named operations can weigh them per stage.
    if matches!(
        cfg.workload,
        WorkloadSpec::ListAppend | WorkloadSpec::WritersReaders(_)
    ) && cfg.stages.iter().any(|s| s.weights.is_some())
    {
        return Err(Error::Usage(format!(
            "stage weights apply to workloads with a mix of operations (patterns, custom SQL, pgbench, YCSB), not {}",
            cfg.pattern()
        )));
    }
    let mut env = RunEnv::open(url, path.clone())?;
    let mut result = match &cfg.workload {
        WorkloadSpec::ListAppend => {
            let history = path.with_extension("history.jsonl");
            super::list_append::run(&mut env, &cfg, &opts, progress, &history)?
        }
        WorkloadSpec::WritersReaders(wr) => {
            super::writers_readers::run(&mut env, &cfg, wr, &opts, progress)?
        }
        WorkloadSpec::Tpcc(t) => super::tpcc::run(&mut env, &cfg, t, &opts, progress)?,
        WorkloadSpec::Pattern { .. }
        | WorkloadSpec::CustomMix { .. }
        | WorkloadSpec::CustomSql { .. }
        | WorkloadSpec::Pgbench { .. }
        | WorkloadSpec::Ycsb { .. } => run_statements(&mut env, &cfg, &opts, progress)?,
    };
    result.faults = opts.faults.clone();
    result.server = env.server.take();
    if !cfg.stages.is_empty() {
        result.stages =
            crate::metrics::phases::by_stage(&result, cfg.tps.unwrap_or(0.0), &cfg.stages);
    }
    let mut warnings = Vec::new();
    if let Some(p) = &opts.hdr_log {
        if let Err(e) = crate::metrics::hdr_log::write(p, &result, cfg.warmup) {
            warnings.push(e.to_string());
        }
    }
    if let Some(why) = env.aborted.take() {
        result
            .notes
            .push(format!("stopped early by --abort-on-fail: {why}"));
        result.aborted = Some(why);
    }
    result.thresholds = crate::thresholds::evaluate(&cfg.thresholds, &result);
    // From here the result itself is saved: a second signal waits for that instead of
    // writing the last interval's copy beside it.
    env.last_words = None;
    let written = {
        let _saving = crate::util::signals::saving();
        save(&result, &path)?
    };
    if written != path {
        warnings.push(format!(
            "could not write {}; the result was saved to {} instead",
            path.display(),
            written.display()
        ));
    }
    env.close();
    Ok(RunReport {
        result,
        path: written,
        warnings,
    })
}

/// Writes a result to `path`, never replacing a file; if that fails (a full disk, a folder
/// gone), to a fallback in the temporary folder. Returns where it went.
fn save(result: &RunResult, path: &std::path::Path) -> Result<PathBuf, Error> {
    let first = match result.write(path) {
        Ok(()) => return Ok(path.to_path_buf()),
        // Another run took the name meanwhile (two started in the same microsecond, or a
        // file put there by hand): the next free name beside it, never over it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let beside = crate::util::fsx::free_name(path);
            match result.write(&beside) {
                Ok(()) => return Ok(beside),
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result.json".into());
    let fallback = crate::util::fsx::free_name(
        &std::env::temp_dir().join(format!("dbarena-{}-{name}", std::process::id())),
    );
    match result.write(&fallback) {
        Ok(()) => Ok(fallback),
        Err(e) => Err(Error::Failed(format!(
            "cannot write the result to {} ({first}) nor to {} ({e}); free some disk space",
            path.display(),
            fallback.display()
        ))),
    }
}

/// The parts of a result that do not depend on what was measured.
struct ResultTemplate {
    config: WorkloadConfig,
    target: TargetInfo,
    op_names: Vec<String>,
}

impl ResultTemplate {
    fn build(&self, out: engine::EngineOutput, mut notes: Vec<String>) -> RunResult {
        notes.extend(out.warnings.iter().cloned());
        if self.target.durable == Some(false) {
            notes.push("the server is not durable (an instance created with --fast: fsync off); commits can be lost in a crash and latencies are lower than a durable server's".into());
        }
        let agent =
            (self.config.segment.is_some() || self.config.start_at_us.is_some()).then(|| {
                crate::metrics::result::AgentInfo::here(
                    self.config.segment,
                    self.config.start_at_us,
                    out.start_skew_ms,
                )
            });
        let mut r = RunResult::build(RunData {
            config: self.config.clone(),
            target: self.target.clone(),
            op_names: &self.op_names,
            totals: &out.totals,
            intervals: out.intervals,
            outages: out.outages,
            started_at_us: out.started_at_us,
            ended_at_us: out.ended_at_us,
            measured_s: out.measured_s,
            interrupted: out.interrupted,
            notes,
        });
        r.agent = agent;
        r
    }
}

/// The statement workloads: patterns, custom SQL, pgbench scripts, YCSB.
fn run_statements(
    env: &mut RunEnv,
    cfg: &WorkloadConfig,
    opts: &RunOptions,
    progress: &mut dyn ProgressSink,
) -> Result<RunResult, Error> {
    let url = env.url.clone();
    let (plan, notes) = env.block_on(async |conn| {
        let mut notes = Vec::new();
        let tables = resolve_tables(conn, cfg, &url, opts, &mut notes).await?;
        let plan = WorkloadPlan::build(conn, cfg, tables).await?;
        plan.prepare(conn).await?;
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
                    cfg.pattern()
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
        Ok((plan, notes))
    })?;
    let stage_weights = plan.stage_weights(&cfg.stages)?;
    let plan = Arc::new(plan);
    let workload = Arc::new(super::statements::StatementWorkload {
        plan: plan.clone(),
        stage_weights,
    });
    let out = env.run_engine(cfg, workload, opts, progress)?;
    Ok(env.result(cfg, &plan.op_names, out, notes))
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
        stages: cfg.stages.clone(),
        think: cfg.think_time,
        tx_log: None,
        spill_dir: None,
        segment: cfg.segment,
        start_at_us: cfg.start_at_us,
    }
}

async fn resolve_tables(
    conn: &mut Connection,
    cfg: &WorkloadConfig,
    url: &DbUrl,
    opts: &RunOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<TableInfo>, Error> {
    let names: Vec<String> = match &cfg.workload {
        WorkloadSpec::Ycsb { table, .. } => {
            vec![table.clone().unwrap_or_else(|| "usertable".to_string())]
        }
        // pgbench's own tables and custom SQL's are in its statements, not listed.
        WorkloadSpec::Pgbench { .. } | WorkloadSpec::CustomSql { tables: None, .. } => {
            return Ok(Vec::new())
        }
        w if w.tables().is_some() => w.tables().unwrap_or_default().to_vec(),
        _ => {
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
