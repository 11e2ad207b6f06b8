//! `dbarena chaos`

use crate::chaos::failover::FailoverHow;
use crate::chaos::scenario::{
    cluster_scenarios, default_scenarios, load_scenarios, run_chaos, ChaosOptions,
};
use crate::config::{TpsSetting, WorkloadFile};
use crate::instance::Instance;
use crate::{Error, ExitCode};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Database URL or instance:NAME (killing and pausing need an instance).
    #[arg(long, env = "DBARENA_DB")]
    db: Option<String>,
    /// `default` (for a cluster: a baseline and a failover), or a TOML file of [[scenarios]].
    #[arg(long, default_value = "default")]
    scenarios: String,
    /// Workload TOML to start from (for example a sweep's best configuration).
    #[arg(long)]
    from: Option<PathBuf>,
    /// Same as --from.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Workload pattern [default: balanced]; --help lists them all
    #[arg(long, short = 'p', long_help = super::pattern_help())]
    pattern: Option<String>,
    /// Length of each scenario [default: 20s]
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// Target rate (open loop) [default: 200]
    #[arg(long)]
    tps: Option<String>,
    /// Connections [default: 4]
    #[arg(long, short = 'n', value_parser = super::count::<usize>, allow_negative_numbers = true)]
    connections: Option<usize>,
    /// read-committed, repeatable-read or serializable [default: the database's default
    /// level]; list-append histories are judged against the level the run used.
    #[arg(long)]
    isolation: Option<String>,
    /// Folder for the result files and chaos.csv [default: dbarena-results/chaos-<time>]
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Print the scenarios as JSON (chaos.csv's columns) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ChaosArgs) -> anyhow::Result<ExitCode> {
    let file = match a.from.as_ref().or(a.config.as_ref()) {
        Some(p) => WorkloadFile::load(p).map_err(Error::from)?,
        None => WorkloadFile::default(),
    };
    let db_arg = a.db.clone().or(file.db.clone()).ok_or_else(|| {
        Error::Usage("chaos needs --db (a postgres:// or mysql:// URL, or instance:NAME)".into())
    })?;
    let instance = match db_arg.strip_prefix("instance:") {
        Some(name) => Some(Instance::load(name).map_err(Error::from)?),
        None => None,
    };
    let db = super::resolve_db(db_arg)?;
    let flags = WorkloadFile {
        pattern: a.pattern,
        duration: a.duration,
        tps: a.tps.map(|t| {
            t.parse::<f64>()
                .map(TpsSetting::Rate)
                .unwrap_or(TpsSetting::Word(t))
        }),
        connections: a.connections,
        isolation: a.isolation,
        ..Default::default()
    };
    let mut merged = file.overlay(flags);
    // Defaults of chaos, where neither the flags nor the --from file say.
    if merged.tps.is_none() {
        merged.tps = Some(TpsSetting::Rate(200.0));
    }
    if merged.duration.is_none() {
        merged.duration = Some("20s".into());
    }
    let base = merged.resolve(db.clone()).map_err(Error::from)?;
    let scenarios = if a.scenarios == "default" {
        match instance.as_ref().filter(|i| i.cluster.is_some()) {
            Some(i) => cluster_scenarios(i.net.is_some()),
            None => default_scenarios(),
        }
    } else {
        load_scenarios(std::path::Path::new(&a.scenarios))?
    };
    let out = a.out.unwrap_or_else(|| {
        PathBuf::from("dbarena-results").join(format!(
            "chaos-{}",
            crate::util::time::compact_stamp(crate::util::time::now_us())
        ))
    });
    let stop = super::stop_on_ctrl_c();
    let rows = run_chaos(ChaosOptions {
        db,
        instance,
        base,
        scenarios,
        out: out.clone(),
        stop: stop.clone(),
        log: Arc::new(|m| eprintln!("{m}")),
    })?;
    if a.json {
        crate::util::stdout::print_json(&serde_json::json!({
            "out": out.display().to_string(),
            "csv": out.join("chaos.csv").display().to_string(),
            "report": out.join("report.html").display().to_string(),
            "scenarios": rows,
        }))?;
    } else {
        print_table(&rows, &out);
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.failed_verification())
        .map(|r| r.scenario.as_str())
        .collect();
    let unapplied: Vec<String> = rows
        .iter()
        .filter(|r| r.failed_faults())
        .map(|r| format!("{} ({})", r.scenario, r.fault_errors[0]))
        .collect();
    if stop.load(Ordering::SeqCst) {
        return Ok(crate::util::signals::interrupted_code());
    }
    if !unapplied.is_empty() {
        eprintln!(
            "error: faults could not be applied in {}; see the fault_errors column of chaos.csv and `dbarena instance logs`",
            unapplied.join(", ")
        );
    }
    if !failed.is_empty() {
        eprintln!(
            "error: consistency checks failed in {}; see the verification column of chaos.csv",
            failed.join(", ")
        );
    }
    Ok(if unapplied.is_empty() && failed.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

/// The scenarios as a table for people.
fn print_table(rows: &[crate::chaos::scenario::ScenarioRow], out: &std::path::Path) {
    println!(
        "{:<26} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8}  verification",
        "scenario", "tps", "fail %", "p50 ms", "p99 ms", "tps Δ%", "outage s", "recov s"
    );
    for r in rows {
        println!(
            "{:<26} {:>9.1} {:>8.2} {:>9.2} {:>9.2} {:>9.1} {:>9.2} {:>8}  {}",
            r.scenario,
            r.tps,
            r.failure_rate * 100.0,
            r.p50_ms,
            r.p99_ms,
            r.tps_change_pct,
            r.longest_outage_s,
            r.recovery_s
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "-".into()),
            r.verification
        );
    }
    for r in rows {
        for f in &r.failovers {
            let promoted = f
                .promoted
                .as_ref()
                .map(|p| format!(", promoted {p}"))
                .unwrap_or_default();
            let fault = match f.how {
                FailoverHow::Kill => "kill",
                FailoverHow::Partition => "partition",
            };
            let first = f
                .first_commit_s
                .map(|s| format!("first commit {s:.2} s after the {fault}"))
                .unwrap_or_else(|| format!("no commit after the {fault} before the end"));
            let back = f
                .recovered_at_s
                .map(|s| format!("; {} back at {s:.1} s", f.killed))
                .unwrap_or_default();
            println!(
                "{}: {} {} at {:.1} s{promoted}; {first}; clients' longest outage {:.2} s{back}",
                r.scenario,
                f.how.verb(),
                f.killed,
                f.killed_at_s,
                r.longest_outage_s
            );
        }
        if let Some(n) = r.lost_writes.filter(|&n| n > 0) {
            let shown: Vec<&str> = r.lost_keys.iter().take(20).map(String::as_str).collect();
            let more = n.saturating_sub(shown.len());
            println!(
                "{}: {n} acknowledged writes lost: {}{}",
                r.scenario,
                shown.join(" "),
                if more > 0 {
                    format!(" and {more} more (lost_keys in chaos.csv)")
                } else {
                    String::new()
                }
            );
        }
    }
    println!("report: {}", out.join("report.html").display());
    println!("chaos.csv: {}", out.join("chaos.csv").display());
}
