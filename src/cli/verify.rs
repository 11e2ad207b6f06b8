//! `dbarena verify` and `dbarena check`

use crate::db::{DbUrl, Isolation};
use crate::util::duration::parse_duration;
use crate::verify::checker::{check_file, check_reader, Analysis, Options, Workload};
use crate::verify::model::{Model, Validity};
use crate::verify::rw_register::Assume;
use crate::verify::{check, report};
use crate::workload::list_append::{self, AppendShape};
use crate::workload::run::{RunEnv, RunOptions};
use crate::workload::WorkloadFile;
use crate::{Error, ExitCode};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Database URL [default: sqlite://dbarena.db]; also DBARENA_DB, then DATABASE_URL.
    #[arg(long, env = "DBARENA_DB")]
    db: Option<String>,
    /// Isolation level the transactions run at: read-committed, repeatable-read, serializable.
    #[arg(long)]
    isolation: Option<String>,
    /// Model the history must satisfy [default: the one named by --isolation, else serializable]
    #[arg(long)]
    expect: Option<String>,
    /// How long to run [default: 10s]
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// Transactions per second over all clients. The default keeps a history (and its check)
    /// bounded: at full speed SQLite records millions of transactions in seconds; `max` runs
    /// as fast as the database allows.
    #[arg(long, default_value = "500")]
    tps: String,
    /// Concurrent clients [default: 4]
    #[arg(long, short = 'n', value_parser = super::count::<usize>, allow_negative_numbers = true)]
    connections: Option<usize>,
    /// Keys in the hot set [default: 10]
    #[arg(long, value_parser = super::count::<u64>, allow_negative_numbers = true)]
    keys: Option<u64>,
    /// Micro-operations per transaction, at most [default: 4]
    #[arg(long, value_parser = super::count::<usize>, allow_negative_numbers = true)]
    max_ops: Option<usize>,
    /// Where to write the history [default: dbarena-results/<time>-verify-<db>.jsonl]
    #[arg(long)]
    history: Option<PathBuf>,
    /// What the transactions do: list-append (appends to lists, reads of whole lists) or
    /// rw-register (writes of unique values, reads of one value per key).
    #[arg(long, default_value = "list-append")]
    workload: String,
    /// Record this agent's share of a run over several machines, I/N (1-based): every N-th
    /// client, with values and process ids apart from the other agents'; needs --start-at.
    /// `dbarena check` takes the agents' histories together.
    #[arg(long, value_name = "I/N")]
    segment: Option<String>,
    /// Start at this wall-clock time (RFC 3339), so that agents start together.
    #[arg(long, value_name = "TIME")]
    start_at: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// History files: dbarena JSON lines, or elle-cli's JSON (an array of ops). Several
    /// files are the agents of one run (`verify --segment`), checked as one history.
    #[arg(required = true)]
    history: Vec<PathBuf>,
    /// What the transactions do: list-append or rw-register.
    #[arg(long, default_value = "list-append")]
    workload: String,
    /// Model to check against (Elle's names: read-uncommitted, read-committed,
    /// monotonic-atomic-view, repeatable-read, snapshot-isolation, serializable,
    /// strong-session-snapshot-isolation, strong-session-serializable, strict-serializable, …).
    #[arg(long, default_value = "serializable")]
    model: String,
    /// rw-register: assume each key is linearizable (real-time order orders its versions).
    #[arg(long)]
    linearizable_keys: bool,
    /// rw-register: assume each key is sequentially consistent (process order orders its
    /// versions).
    #[arg(long)]
    sequential_keys: bool,
    /// Parser threads [default: the number of cores].
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write the cycles found as Graphviz.
    #[arg(long)]
    dot: Option<PathBuf>,
    /// Write the cycles found as an SVG drawing.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Seconds of cycle search per strongly connected component; verdicts never depend on it
    /// (whether a cycle exists is always decided), only naming and explaining anomalies do.
    #[arg(long, default_value = "10")]
    budget: f64,
}

fn model(s: &str) -> Result<Model, Error> {
    Model::parse(s).ok_or_else(|| {
        Error::Usage(format!(
            "unknown model '{s}'; use one of: {}",
            Model::names()
        ))
    })
}

/// Prints, ignoring a closed pipe (`check --json | head -1`).
fn emit(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Io {
            path: "standard output".into(),
            source: e,
        }),
    }
}

fn write_file(p: &std::path::Path, text: &str) -> Result<(), Error> {
    std::fs::write(p, text).map_err(|e| Error::Io {
        path: p.display().to_string(),
        source: e,
    })
}

fn report(an: &Analysis, expect: Model, out: &OutputArgs) -> anyhow::Result<ExitCode> {
    if out.json {
        let mut s = serde_json::to_string_pretty(&report::to_json(an, expect))?;
        s.push('\n');
        emit(&s)?;
    } else {
        emit(&report::text(an, expect))?;
    }
    if let Some(p) = &out.dot {
        write_file(p, &report::dot(an))?;
    }
    if let Some(p) = &out.svg {
        write_file(p, &report::svg(an))?;
    }
    if an.nothing_to_check {
        eprintln!("nothing to check: no transaction in the history may have committed");
    }
    Ok(match an.validity(expect) {
        Validity::Valid => ExitCode::Success,
        _ => ExitCode::Failure,
    })
}

pub fn run_check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let expect = model(&a.model)?;
    let workload = Workload::parse(&a.workload).ok_or_else(|| {
        Error::Usage(format!(
            "unknown --workload '{}'; use list-append or rw-register",
            a.workload
        ))
    })?;
    if workload == Workload::ListAppend && (a.linearizable_keys || a.sequential_keys) {
        return Err(Error::Usage(
            "--linearizable-keys and --sequential-keys apply to --workload rw-register only".into(),
        )
        .into());
    }
    if !(a.out.budget > 0.0 && a.out.budget.is_finite()) {
        return Err(Error::Usage(format!(
            "invalid --budget {}: give seconds above 0",
            a.out.budget
        ))
        .into());
    }
    let opts = Options {
        workload,
        budget: Duration::from_secs_f64(a.out.budget),
        assume: Assume {
            linearizable_keys: a.linearizable_keys,
            sequential_keys: a.sequential_keys,
        },
        threads: a
            .threads
            .unwrap_or_else(|| Options::default().threads)
            .max(1),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let an = match a.history.as_slice() {
        [one] => check_file(one, &opts).map_err(|e| Error::Usage(e.to_string()))?,
        several => {
            // The agents' histories in real-time order, checked as one.
            let merged = crate::verify::History::merge_files(several)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let mut buf = Vec::new();
            merged.write(&mut buf).map_err(|e| Error::Io {
                path: "the merged history".into(),
                source: e,
            })?;
            check_reader(buf.as_slice(), "the merged history", &opts)
                .map_err(|e| Error::Usage(e.to_string()))?
        }
    };
    report(&an, expect, &a.out)
}

pub fn run_verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let db =
        a.db.or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "sqlite://dbarena.db".into());
    let db = super::resolve_db(db)?;
    let url = DbUrl::parse(&db).map_err(Error::from)?;
    let isolation = match a.isolation.as_deref() {
        None => None,
        Some(s) => Some(Isolation::parse(s).ok_or_else(|| {
            Error::Usage(format!("invalid --isolation '{s}': expected read-committed, repeatable-read or serializable"))
        })?),
    };
    let expect = a.expect.as_deref().map(model).transpose()?;
    let d = a.duration.as_deref().unwrap_or("10s");
    parse_duration(d).map_err(|why| Error::Usage(format!("invalid --duration '{d}': {why}")))?;
    let cfg = WorkloadFile {
        pattern: Some("list-append".into()),
        duration: Some(a.duration.clone().unwrap_or_else(|| "10s".into())),
        tps: Some(crate::config::TpsSetting::Word(a.tps.clone())),
        connections: Some(a.connections.unwrap_or(4).max(1)),
        isolation: a.isolation.clone(),
        segment: a.segment.clone(),
        start_at: a.start_at.clone(),
        ..Default::default()
    }
    .resolve(db)
    .map_err(Error::from)?;
    let stop = super::stop_on_ctrl_c();
    let opts = RunOptions {
        out: None,
        stop: stop.clone(),
        log: Box::new(|m| eprintln!("{m}")),
        started: None,
        faults: Vec::new(),
        tx_log: None,
        hdr_log: None,
    };
    let workload = Workload::parse(&a.workload).ok_or_else(|| {
        Error::Usage(format!(
            "unknown --workload '{}'; use list-append or rw-register",
            a.workload
        ))
    })?;
    let shape = AppendShape {
        registers: workload == Workload::RwRegister,
        keys: a.keys.unwrap_or(10).max(1),
        max_ops: a.max_ops.unwrap_or(4).max(1),
    };
    let mut progress = crate::report::progress::for_stderr(false, false);
    let path = a.history.unwrap_or_else(|| {
        crate::util::fsx::free_name(&PathBuf::from("dbarena-results").join(format!(
            "{}-verify-{}.jsonl",
            crate::util::time::compact_stamp_us(crate::util::time::now_us()),
            url.short_name()
        )))
    });
    // Before the run: a history is never written over another.
    crate::util::fsx::check_new_file(&path)
        .map_err(|e| Error::Usage(e.replace("--out", "--history")))?;
    // A second Ctrl-C saves the measurements (not the history) next to the history.
    let mut env = RunEnv::open(url.clone(), path.with_extension("partial.json"))?;
    // Without --expect, the model of the level the run uses: --isolation, else the database's
    // default (not serializable, which a default of read committed would fail).
    let expect = match expect {
        Some(m) => m,
        None => {
            let level = list_append::effective_isolation(&mut env, isolation)?;
            let m = Model::for_isolation(Some(level));
            if isolation.is_none() {
                eprintln!(
                    "isolation: the database's default, {}; judged against {}",
                    level.sql().to_ascii_lowercase(),
                    m.name()
                );
            }
            m
        }
    };
    eprintln!(
        "rate: {} (the history grows with it; --tps max runs as fast as the database allows)",
        match cfg.tps {
            Some(r) => format!("{r} transactions/s"),
            None => "as fast as the database allows".into(),
        }
    );
    let (_, h) = list_append::record(&mut env, &cfg, shape, &opts, progress.as_mut())?;
    env.close();
    h.save(&path)?;
    eprintln!("history: {} ({} ops)", path.display(), h.ops.len());
    if let Some(seg) = cfg.segment {
        // This agent's history reads what the others wrote: judged only with theirs.
        eprintln!(
            "segment {seg}: not checked alone; check it with the other agents' histories: dbarena check --model {} <the {} histories>",
            expect.name(),
            seg.count
        );
        if stop.load(Ordering::SeqCst) {
            return Ok(crate::util::signals::interrupted_code());
        }
        return Ok(ExitCode::Success);
    }
    let budget = Duration::from_secs_f64(a.out.budget.max(0.01));
    let an = match workload {
        Workload::ListAppend => check(&h, budget),
        // The same streaming checker `check --workload rw-register` runs, on the history
        // just written.
        Workload::RwRegister => check_file(
            &path,
            &Options {
                workload,
                budget,
                ..Options::default()
            },
        )
        .map_err(|e| Error::Failed(e.to_string()))?,
    };
    let code = report(&an, expect, &a.out)?;
    if stop.load(Ordering::SeqCst) {
        return Ok(crate::util::signals::interrupted_code());
    }
    Ok(code)
}
