//! `dbarena workload …`

use crate::config::{TpsSetting, WorkloadFile, WorkloadSpec};
use crate::workload::run::{run_workload, RunOptions};
use crate::{Error, ExitCode};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Run a workload and write a result file.
    Run(Box<RunArgs>),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Database URL: sqlite://PATH, sqlite::memory:, postgres://…, mysql://… [default: sqlite://dbarena.db]
    #[arg(long, env = "DBARENA_DB")]
    db: Option<String>,
    /// Workload TOML file; flags override its settings.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// A built-in pattern, pgbench script, YCSB workload or checked pattern [default: balanced];
    /// --help lists them all
    #[arg(long, short = 'p', visible_alias = "workload", long_help = super::pattern_help())]
    pattern: Option<String>,
    /// Target transactions per second (open loop), or "max" for closed loop [default: max];
    /// -R as in pgbench
    #[arg(long, short = 'R', allow_negative_numbers = true)]
    tps: Option<String>,
    /// Arrival process of the open loop: poisson or uniform [default: poisson]
    #[arg(long)]
    arrival: Option<String>,
    /// How long to measure, e.g. 60s, 5m [default: 10s unless --transactions is given]
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// pgbench's -T: how long to measure, in seconds (the same as --duration SECs)
    #[arg(short = 'T', value_name = "SEC", conflicts_with = "duration", value_parser = super::count::<u64>, allow_negative_numbers = true)]
    pgbench_time: Option<u64>,
    /// Stop after this many measured transactions.
    #[arg(long, short = 't', value_parser = super::count::<u64>, allow_negative_numbers = true)]
    transactions: Option<u64>,
    /// Run this long before measuring, e.g. 5s.
    #[arg(long)]
    warmup: Option<String>,
    /// Number of database connections [default: 4]
    #[arg(long, short = 'n', value_parser = super::count::<usize>, allow_negative_numbers = true)]
    connections: Option<usize>,
    /// Worker threads for the connections [default: number of cores]
    #[arg(long, short = 'j', value_parser = super::count::<usize>, allow_negative_numbers = true)]
    threads: Option<usize>,
    /// read-committed, repeatable-read or serializable.
    #[arg(long)]
    isolation: Option<String>,
    /// Retries after serialization failures, deadlocks and lock timeouts [default: 3]
    #[arg(long)]
    max_retries: Option<u32>,
    /// Run on these existing tables (comma separated) instead of the built-in schema.
    #[arg(long, value_delimiter = ',')]
    tables: Option<Vec<String>>,
    /// Seed for the random choices, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Result file path [default: dbarena-results/<time>-<pattern>-<db>.json]
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// How statements are sent, like pgbench -M: simple, extended or prepared [default: prepared]
    #[arg(long, short = 'M')]
    protocol: Option<String>,
    /// YCSB request distribution: uniform, zipfian, latest or hotspot [default: the workload's]
    #[arg(long)]
    distribution: Option<String>,
    /// Transactions in flight per connection (PostgreSQL; single-statement workloads such as
    /// select-only or ycsb-c) [default: 1]
    #[arg(long, value_parser = super::count::<usize>, allow_negative_numbers = true)]
    pipeline: Option<usize>,
    /// Abandon a transaction (and its connection) after this long, e.g. 10s [default: 30s]
    #[arg(long)]
    timeout: Option<String>,
    /// What the run must achieve, e.g. 'p99<20ms', 'errors<0.1%', 'tps>=950',
    /// 'p99[new_order]<50ms' (repeatable); a failed threshold exits 7.
    #[arg(long = "threshold", value_name = "EXPR")]
    thresholds: Vec<String>,
    /// A rate stage after the warmup, DURATION:TARGET (repeatable): `--tps 100 --stage
    /// 30s:1000 --stage 1m:1000` ramps from 100 to 1000 tps in 30 s, then holds for a minute.
    #[arg(long = "stage", value_name = "DURATION:TPS")]
    stages: Vec<String>,
    /// Closed loop: a user's pause between transactions, `100ms` or `exp:100ms`
    /// (exponentially distributed around 100 ms).
    #[arg(long, value_name = "D")]
    think_time: Option<String>,
    /// Write a line per transaction to this file, like pgbench --log: client_id
    /// transaction_no latency_us script_no time_epoch time_us schedule_lag_us operation
    /// status retries.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Write the per-second latency histograms as an HdrHistogram interval log to this file.
    #[arg(long, value_name = "FILE")]
    hdr_log: Option<PathBuf>,
    /// Serve live figures in the OpenMetrics text format at this address for Prometheus,
    /// e.g. 127.0.0.1:9464 (any path answers).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    /// Run this agent's share of the run, I/N (1-based): every N-th connection (and so its
    /// share of --tps and --transactions, which stay the whole run's) and disjoint keys.
    #[arg(long, value_name = "I/N")]
    segment: Option<String>,
    /// Start at this wall-clock time (RFC 3339, e.g. 2026-12-02T10:00:00Z), so that agents
    /// start together.
    #[arg(long, value_name = "TIME")]
    start_at: Option<String>,
    /// Start this long from now, e.g. 30s.
    #[arg(long, value_name = "D")]
    start_after: Option<String>,
    /// Do not sample the server's statistics (pg_stat_*, SHOW GLOBAL STATUS) during the run.
    #[arg(long)]
    no_server_stats: bool,
    /// Stop the run as soon as a threshold fails (counts and max at once; rates and
    /// percentiles after a tenth of the run).
    #[arg(long)]
    abort_on_fail: bool,
    /// tpcc: warehouses the terminals use [default: every warehouse loaded]
    #[arg(long, value_parser = super::count::<u32>, allow_negative_numbers = true)]
    warehouses: Option<u32>,
    /// tpcc: throughput (connections back to back) or spec (10 terminals per warehouse
    /// with keying and think times) [default: throughput]
    #[arg(long, value_name = "MODE")]
    tpcc_mode: Option<String>,
    /// tpcc: weights of New-Order, Payment, Order-Status, Delivery, Stock-Level
    /// [default: 45,43,4,4,4]
    #[arg(long, value_delimiter = ',', value_name = "NO,P,OS,D,SL")]
    tpcc_weights: Option<Vec<f64>>,
    /// tpcc: check the TPC-C consistency conditions of the database and exit without
    /// running (exit 1 when one is broken).
    #[arg(long)]
    check_consistency: bool,
    /// Print the result as JSON on stdout instead of the text summary.
    #[arg(long)]
    json: bool,
    /// One progress line per second instead of the live panel.
    #[arg(long)]
    progress_lines: bool,
    /// pgbench's -P: progress lines (dbarena's interval is always 1 s)
    #[arg(short = 'P', value_name = "SEC", value_parser = super::count::<u64>, allow_negative_numbers = true)]
    pgbench_progress: Option<u64>,
    /// No progress output.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// `--check-consistency`: the TPC-C conditions of a loaded database, without a run.
fn check_consistency(db: &str, json: bool) -> anyhow::Result<ExitCode> {
    let url = crate::db::DbUrl::parse(db).map_err(Error::from)?;
    let conditions = crate::workload::tpcc::check_only(&url)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&conditions)?);
    } else {
        print!(
            "{}",
            crate::report::summary::tpcc_conditions(&url.redacted(), &conditions)
        );
    }
    match crate::workload::tpcc::consistency::verdict(&conditions) {
        Some(why) => Err(Error::Failed(why).into()),
        None => Ok(ExitCode::Success),
    }
}

pub fn run(cmd: WorkloadCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkloadCommand::Run(a) => run_cmd(*a),
    }
}

fn run_cmd(a: RunArgs) -> anyhow::Result<ExitCode> {
    // First of all: a signal must never meet the default handler (exit, nothing saved).
    let stop = super::stop_on_ctrl_c();
    let file = match &a.config {
        Some(p) if !p.exists() && p.to_string_lossy().parse::<u64>().is_ok() => {
            return Err(Error::Usage(format!(
                "-c is --config in dbarena (a workload TOML) and there is no file '{0}'; for pgbench's -c (clients) use --connections {0} (or -n {0})",
                p.display()
            ))
            .into())
        }
        Some(p) => WorkloadFile::load(p).map_err(Error::from)?,
        None => WorkloadFile::default(),
    };
    let flags = WorkloadFile {
        db: None,
        pattern: a.pattern,
        tps: a.tps.map(|t| match t.parse::<f64>() {
            Ok(v) => TpsSetting::Rate(v),
            Err(_) => TpsSetting::Word(t),
        }),
        arrival: a.arrival,
        duration: a.duration.or(a.pgbench_time.map(|s| format!("{s}s"))),
        transactions: a.transactions,
        warmup: a.warmup,
        connections: a.connections,
        threads: a.threads,
        isolation: a.isolation,
        max_retries: a.max_retries,
        tables: a.tables,
        seed: a.seed,
        out: None,
        protocol: a.protocol,
        distribution: a.distribution,
        pipeline: a.pipeline,
        timeout: a.timeout,
        thresholds: (!a.thresholds.is_empty())
            .then(|| toml::Value::Array(a.thresholds.iter().map(|t| t.as_str().into()).collect())),
        abort_on_fail: a.abort_on_fail.then_some(true),
        stages: (!a.stages.is_empty()).then(|| {
            a.stages
                .iter()
                .cloned()
                .map(crate::config::StageSetting::Text)
                .collect()
        }),
        think_time: a.think_time.clone(),
        server_stats: a.no_server_stats.then_some(false),
        segment: a.segment.clone(),
        start_at: a.start_at.clone(),
        start_after: a.start_after.clone(),
        custom_operations: None,
        custom_queries: None,
        warehouses: a.warehouses,
        tpcc_mode: a.tpcc_mode.clone(),
        tpcc_weights: a.tpcc_weights.clone(),
        ..Default::default()
    };
    let merged = file.overlay(flags);
    // --db / DBARENA_DB, then the config file, then DATABASE_URL, then the embedded default.
    let db =
        a.db.or_else(|| merged.db.clone())
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "sqlite://dbarena.db".to_string());
    let db = super::resolve_db(db)?;
    if a.check_consistency {
        return check_consistency(&db, a.json);
    }
    let out = a.out.or_else(|| merged.out.clone().map(PathBuf::from));
    let cfg = merged.resolve(db).map_err(Error::from)?;

    let quiet = a.quiet;
    let lines = a.progress_lines || a.pgbench_progress.is_some();
    let mut progress = crate::report::progress::for_stderr(lines, quiet);
    let opts = RunOptions {
        out,
        stop: stop.clone(),
        log: Box::new(move |m| {
            if !quiet {
                eprintln!("{m}");
            }
        }),
        started: None,
        faults: Vec::new(),
        tx_log: a.log.clone(),
        hdr_log: a.hdr_log.clone(),
    };
    let endpoint = a
        .metrics_addr
        .as_deref()
        .map(crate::report::openmetrics::MetricsEndpoint::bind)
        .transpose()?;
    let report = match &endpoint {
        Some(ep) => {
            if !quiet {
                eprintln!("metrics at http://{}/metrics", ep.addr);
            }
            let mut sink = ep.sink(progress.as_mut());
            run_workload(cfg, opts, &mut sink)?
        }
        None => run_workload(cfg, opts, progress.as_mut())?,
    };
    drop(endpoint);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let path = report.path.display().to_string();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report.result)?);
    } else {
        print!(
            "{}",
            crate::report::summary::render(&report.result, Some(&path))
        );
    }
    let r = &report.result;
    let failed: Vec<String> = r
        .thresholds
        .iter()
        .filter(|t| !t.pass)
        .map(|t| format!("{} (measured {})", t.threshold, t.shown))
        .collect();
    if let Some(why) = &r.aborted {
        eprintln!("aborted: {why}; partial result saved to {path}");
        return Ok(ExitCode::ThresholdFailed);
    }
    if r.interrupted {
        eprintln!("interrupted: partial result saved to {path}");
        return Ok(crate::util::signals::interrupted_code());
    }
    if let Some(w) = &r.writers_readers {
        let verify = matches!(&r.config.workload, WorkloadSpec::WritersReaders(c) if c.verify);
        if verify && !w.violations.is_empty() {
            return Err(Error::Failed(format!(
                "{} consistency violations (first: {}); see {path}",
                w.violations.len(),
                w.violations[0]
            ))
            .into());
        }
    }
    if let Some(why) = r
        .tpcc
        .as_ref()
        .and_then(|t| crate::workload::tpcc::consistency::verdict(&t.consistency))
    {
        return Err(Error::Failed(format!("{why}; see {path}")).into());
    }
    if let Some(v) = r
        .verification
        .as_ref()
        .filter(|v| v.verdict == crate::metrics::result::Verdict::Fail)
    {
        return Err(Error::Failed(format!(
            "the history violates {}: {}; see {}",
            v.model,
            v.anomalies.join(", "),
            v.history
        ))
        .into());
    }
    // Nothing started at all (not stalled: nothing in flight, missed or lost).
    let s = &r.schedule;
    if r.totals.committed + r.totals.failed + s.missed + s.in_flight == 0 && r.outages.is_empty() {
        return Err(Error::Usage(format!(
            "the run executed no transaction in {:.1} s; give a longer --duration, a higher --tps or more --transactions; see {path}",
            r.duration_s
        ))
        .into());
    }
    if r.totals.committed == 0 && r.totals.failed > 0 {
        let first = r
            .errors
            .first()
            .map(|e| format!("{}: {}", e.class, e.first_message))
            .unwrap_or_default();
        return Err(Error::Failed(format!(
            "no transaction committed ({} failed; first error {first}); see {path}",
            r.totals.failed
        ))
        .into());
    }
    if !failed.is_empty() {
        eprintln!("thresholds failed: {}; see {path}", failed.join(", "));
        return Ok(ExitCode::ThresholdFailed);
    }
    let unrecovered = r.outages.iter().filter(|o| !o.recovered).count();
    if unrecovered > 0 || r.schedule.missed_connection_lost > 0 {
        eprintln!(
            "degraded: {unrecovered} connection(s) lost and not reopened by the end; {} scheduled starts missed while down; see {path}",
            r.schedule.missed_connection_lost
        );
        return Ok(ExitCode::Degraded);
    }
    Ok(ExitCode::Success)
}
