//! Command-line parsing (clap) and conversion of flags into domain configuration.
//! Nothing outside this module sees clap.

mod chaos;
mod compare;
mod instance;
mod merge;
mod report;
mod seed;
mod sweep;
mod verify;
mod workload;

use clap::{Parser, Subcommand};

/// dbarena: seed, load, sweep, break and verify SQL databases.
#[derive(Debug, Parser)]
#[command(name = "dbarena", version, about, long_about = None)]
pub struct Cli {
    /// A file whose first line is the database password, for URLs without one (so the
    /// secret is never on the command line); also DBARENA_PASSWORD_FILE. Without it,
    /// PGPASSWORD (PostgreSQL) and MYSQL_PWD (MySQL/MariaDB) are used.
    #[arg(
        long,
        global = true,
        env = "DBARENA_PASSWORD_FILE",
        value_name = "PATH"
    )]
    password_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Faults during a workload (network, CPU, server kill/pause) against a baseline.
    Chaos(chaos::ChaosArgs),
    /// Did the new run get slower? Both runs' metrics with confidence intervals and p-values.
    Compare(compare::CompareArgs),
    /// Private database servers for tests and chaos: up, list, logs, down, kill, pause…
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// One result from the result files of several agents (`workload run --segment i/N`).
    Merge(merge::MergeArgs),
    /// Charts of result files or of a sweep/chaos folder: SVG and a self-contained HTML page.
    Report(report::ReportArgs),
    /// Fill a database with realistic, deterministic data.
    Seed(seed::SeedArgs),
    /// Run a grid of workload configurations (resumable) and write sweep.csv.
    Sweep(sweep::SweepArgs),
    /// Run list-append transactions and check the history for isolation anomalies.
    Verify(verify::VerifyArgs),
    /// Check a saved history (dbarena JSON lines or elle-cli JSON) against a model.
    Check(verify::CheckArgs),
    /// Drive a database with a workload.
    #[command(subcommand)]
    Workload(workload::WorkloadCommand),
}

/// The stop flag the first Ctrl-C or SIGTERM sets, so a command can finish cleanly and save
/// what it has; a second one exits at once.
fn stop_on_ctrl_c() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    crate::util::signals::stop_flag()
}

/// A count flag (connections, threads, trials, rows…): a whole number of at least 1. Zero and
/// negative counts are refused rather than silently raised to 1.
fn count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    let t = s.trim().replace('_', "");
    match t.parse::<i128>() {
        Ok(n) if n < 1 => {
            Err("must be a whole number of at least 1 (zero or negative counts are refused)".into())
        }
        Ok(n) => u64::try_from(n)
            .ok()
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| "is too large".to_string()),
        Err(_) => Err("is not a whole number (expected 1, 2, 3…)".into()),
    }
}

/// The long help of `--pattern`: every workload name, grouped.
fn pattern_help() -> String {
    use crate::config::spec::{PATTERN_NAMES, PGBENCH_SCRIPTS, YCSB_WORKLOADS};
    format!(
        "The workload [default: balanced]:\n  built-in patterns: {}\n  pgbench scripts:   {}\n  YCSB workloads:    {}\n  checked patterns:  writers-readers, list-append\n  TPC-C-like:        tpcc (after `seed --preset tpcc --warehouses W`)",
        PATTERN_NAMES.join(", "),
        PGBENCH_SCRIPTS.join(", "),
        YCSB_WORKLOADS.join(", ")
    )
}

/// Flags of pgbench (and near misses) that dbarena spells differently: the flag to use.
const PGBENCH_HINTS: &[(&str, &str)] = &[
    ("--client", "--connections N (or -n N)"),
    ("--clients", "--connections N (or -n N)"),
    ("--jobs", "--threads N (or -j N)"),
    ("--time", "--duration 60s (or -T SECONDS)"),
    ("--rate", "--tps RATE (or -R RATE)"),
    ("--progress", "--progress-lines (or -P 1)"),
    ("--builtin", "--pattern tpcb-like|simple-update|select-only"),
    ("-b", "--pattern tpcb-like|simple-update|select-only"),
    ("-S", "--pattern select-only"),
    ("--select-only", "--pattern select-only"),
    ("-N", "--pattern simple-update"),
    ("--skip-some-updates", "--pattern simple-update"),
    (
        "-C",
        "--protocol simple|extended|prepared (dbarena keeps its connections open)",
    ),
    (
        "--max-tries",
        "--max-retries N (retries after the first try: pgbench's --max-tries minus 1)",
    ),
    (
        "-f",
        "[[custom_queries]] in a workload TOML given with --config",
    ),
    (
        "--file",
        "[[custom_queries]] in a workload TOML given with --config",
    ),
    ("-i", "dbarena seed --preset pgbench --scale N"),
    ("--initialize", "dbarena seed --preset pgbench --scale N"),
    ("-r", "nothing: per-operation latencies are always reported"),
    (
        "--report-per-command",
        "nothing: per-operation latencies are always reported",
    ),
    (
        "--report-latencies",
        "nothing: per-operation latencies are always reported",
    ),
    ("--protocol-version", "--protocol"),
    ("--threads-per-connection", "--threads"),
    ("--conns", "--connections"),
    ("--conn", "--connections"),
    ("--rps", "--tps"),
    ("--qps", "--tps"),
    ("--iterations", "--transactions"),
    ("--txns", "--transactions"),
];

/// The flag to use instead of an unknown one (pgbench's spellings and near misses), with the
/// value the user gave where the flag takes one (`--time 5` → `--duration 5s`): `args` is the
/// whole command line, to find a value given as the next word.
fn flag_hint(arg: &str, args: &[String]) -> Option<String> {
    let (name, inline) = match arg.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (arg, None),
    };
    // clap names the flag alone even when it came as `--jobs=2`.
    let joined = format!("{name}=");
    let value = inline.map(str::to_string).or_else(|| {
        let at = args
            .iter()
            .position(|a| a == name || a.starts_with(&joined))?;
        match args[at].strip_prefix(&joined) {
            Some(v) => Some(v.to_string()),
            None => args.get(at + 1).filter(|v| !v.starts_with('-')).cloned(),
        }
    });
    let number = value.as_deref().and_then(|v| v.trim().parse::<u64>().ok());
    let with_value = match (name, number) {
        ("--client" | "--clients" | "--conns" | "--conn", Some(n)) => {
            Some(format!("--connections {n} (or -n {n})"))
        }
        ("--jobs" | "--threads-per-connection", Some(n)) => {
            Some(format!("--threads {n} (or -j {n})"))
        }
        ("--time", Some(n)) => Some(format!("--duration {n}s")),
        ("--rate" | "--rps" | "--qps", Some(n)) => Some(format!("--tps {n} (or -R {n})")),
        ("--iterations" | "--txns", Some(n)) => Some(format!("--transactions {n}")),
        ("--max-tries", Some(n)) if n >= 1 => Some(format!(
            "--max-retries {} (retries after the first try: pgbench's --max-tries minus 1)",
            n - 1
        )),
        _ => None,
    };
    let hint = with_value.or_else(|| {
        PGBENCH_HINTS
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })?;
    // The short spellings (-n, -j, -R, -T) are `workload run`'s; other commands have only
    // the long flag.
    let command = args.iter().skip(1).find(|a| !a.starts_with('-'));
    if command.is_some_and(|c| c == "workload") {
        Some(hint)
    } else {
        Some(hint.split(" (or -").next().unwrap_or(&hint).to_string())
    }
}

/// Resolves `instance:NAME` in a --db value.
fn resolve_db(db: String) -> Result<String, crate::Error> {
    crate::instance::resolve_url(&db).map_err(crate::Error::from)
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn run() -> anyhow::Result<crate::ExitCode> {
    // `--pattern --help`: the list of workloads, grouped (clap would ask for a value).
    let args: Vec<String> = std::env::args().collect();
    if args.windows(2).any(|w| {
        matches!(w[0].as_str(), "--pattern" | "-p") && matches!(w[1].as_str(), "--help" | "-h")
    }) {
        println!("{}", pattern_help());
        return Ok(crate::ExitCode::Success);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if e.kind() == clap::error::ErrorKind::UnknownArgument {
                let arg = match e.get(clap::error::ContextKind::InvalidArg) {
                    Some(clap::error::ContextValue::String(s)) => s.clone(),
                    _ => String::new(),
                };
                if let Some(hint) = flag_hint(&arg, &args) {
                    eprintln!("error: unknown flag '{arg}': did you mean {hint}?");
                    return Ok(crate::ExitCode::Usage);
                }
            }
            let code = if e.use_stderr() {
                crate::ExitCode::Usage
            } else {
                crate::ExitCode::Success
            };
            let _ = e.print();
            return Ok(code);
        }
    };
    if let Some(p) = &cli.password_file {
        crate::db::secret::load_password_file(p).map_err(|e| crate::Error::Usage(e.to_string()))?;
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        if let Some(mode) = mode.ok().filter(|m| m & 0o077 != 0) {
            eprintln!(
                "warning: the password file {} can be read by others (mode {mode:o}); chmod 600 it",
                p.display()
            );
        }
    }
    match cli.command {
        Command::Chaos(c) => chaos::run(c),
        Command::Compare(c) => compare::run(c),
        Command::Instance(i) => instance::run(i),
        Command::Merge(m) => merge::run(m),
        Command::Report(r) => report::run(r),
        Command::Seed(s) => seed::run(s),
        Command::Sweep(s) => sweep::run(s),
        Command::Verify(v) => verify::run_verify(v),
        Command::Check(c) => verify::run_check(c),
        Command::Workload(w) => workload::run(w),
    }
}
