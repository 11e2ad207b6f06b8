//! Sweeps: grids of workload configurations run one after another (resumable), trials with
//! median and spread, `sweep.csv`, the best configuration, and scaling curves.

use crate::config::{WorkloadFile, WorkloadSpec, WritersReaders};
use crate::metrics::RunResult;
use crate::workload::run::{run_workload, RunOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The sweep TOML: a base workload and axes (their product), or explicit configurations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    #[serde(default)]
    pub base: toml::Table,
    #[serde(default)]
    pub axes: toml::Table,
    #[serde(default)]
    pub configs: Vec<toml::Table>,
    pub trials: Option<usize>,
}

/// One configuration of the grid.
#[derive(Debug, Clone)]
pub struct Point {
    pub label: String,
    /// The axis values that distinguish it, in axis order.
    pub values: Vec<(String, toml::Value)>,
    pub workload: WorkloadFile,
}

fn abbrev(axis: &str) -> String {
    match axis {
        "num_writers" => "w".into(),
        "writer_rate" => "wr".into(),
        "num_readers" => "r".into(),
        "reader_rate" => "rr".into(),
        "connections" => "c".into(),
        "key_overlap_ratio" => "ko".into(),
        "isolation" => "iso".into(),
        other => other.replace('_', ""),
    }
}

/// An axis value as a label part (file names, chart titles): passwords redacted, then the
/// characters a file name cannot hold replaced.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(f) => format!("{f:.2}"),
        toml::Value::String(s) => crate::db::url::redact(s)
            .replace("***", "")
            .replace(['/', ':', '@', '?', '*', '&', '='], "-"),
        other => other.to_string(),
    }
}

/// An axis value as a `sweep.csv` cell: strings as written, with passwords redacted
/// (`postgres://user:***@host/db`).
fn cell(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(f) => format!("{f:.2}"),
        toml::Value::String(s) => crate::db::url::redact(s),
        other => other.to_string(),
    }
}

/// A readable label such as `w2_wr0.10_r2`.
pub fn label(values: &[(String, toml::Value)]) -> String {
    if values.is_empty() {
        return "base".into();
    }
    values
        .iter()
        .map(|(k, v)| format!("{}{}", abbrev(k), show(v)))
        .collect::<Vec<_>>()
        .join("_")
}

fn to_workload(t: &toml::Table, what: &str) -> Result<WorkloadFile, crate::Error> {
    let text = toml::to_string(t).map_err(|e| crate::Error::Usage(format!("{what}: {e}")))?;
    WorkloadFile::parse(&text, what).map_err(crate::Error::from)
}

impl SweepFile {
    pub fn load(path: &Path) -> Result<SweepFile, crate::Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        // A plain workload TOML (no [base], [axes], [[configs]] or trials) is the base of a
        // sweep whose axis comes from the flags (--scale).
        if let Ok(table) = toml::from_str::<toml::Table>(&text) {
            let sections = ["base", "axes", "configs", "trials"];
            if !table.keys().any(|k| sections.contains(&k.as_str())) {
                WorkloadFile::parse(&text, &path.display().to_string())?;
                return Ok(SweepFile {
                    base: table,
                    ..SweepFile::default()
                });
            }
        }
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            crate::Error::Usage(format!("{}:{line}: {}", path.display(), e.message().trim()))
        })
    }

    /// Every configuration: the product of the axes, or the explicit list.
    pub fn points(&self) -> Result<Vec<Point>, crate::Error> {
        let mut combos: Vec<Vec<(String, toml::Value)>> = vec![vec![]];
        if !self.configs.is_empty() {
            combos = self
                .configs
                .iter()
                .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .collect();
        } else {
            for (axis, values) in &self.axes {
                let toml::Value::Array(vals) = values else {
                    return Err(crate::Error::Usage(format!(
                        "axis '{axis}' must be a list, e.g. {axis} = [1, 2, 4]"
                    )));
                };
                if vals.is_empty() {
                    return Err(crate::Error::Usage(format!(
                        "axis '{axis}' is an empty list, so the grid has no configuration; give it at least one value, e.g. {axis} = [1, 2, 4], or remove it"
                    )));
                }
                let mut next = Vec::new();
                for c in &combos {
                    for v in vals {
                        let mut c = c.clone();
                        c.push((axis.clone(), v.clone()));
                        next.push(c);
                    }
                }
                combos = next;
            }
        }
        combos
            .into_iter()
            .map(|values| {
                let mut t = self.base.clone();
                for (k, v) in &values {
                    t.insert(k.clone(), v.clone());
                }
                let label = label(&values);
                let workload = to_workload(&t, &format!("configuration {label}"))?;
                Ok(Point {
                    label,
                    values,
                    workload,
                })
            })
            .collect()
    }
}

/// Median, min and max of one metric over the trials.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

fn spread(mut v: Vec<f64>) -> Spread {
    if v.is_empty() {
        return Spread::default();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Spread {
        median,
        min: v[0],
        max: v[v.len() - 1],
    }
}

/// The metrics of one result that a sweep reports, by CSV column name.
pub fn metrics(r: &RunResult) -> BTreeMap<&'static str, f64> {
    let mut m = BTreeMap::new();
    let all = (r.totals.committed + r.totals.failed).max(1) as f64;
    m.insert("tps", r.totals.tps);
    m.insert("p50_ms", r.response.p50_ms);
    m.insert("p95_ms", r.response.p95_ms);
    m.insert("p99_ms", r.response.p99_ms);
    m.insert("failure_rate", r.totals.failed as f64 / all);
    m.insert("avg_retry_count", r.totals.retries as f64 / all);
    if let Some(w) = &r.writers_readers {
        m.insert("writer_p50_ms", w.writer_p50_ms);
        m.insert("writer_p95_ms", w.writer_p95_ms);
        m.insert("writer_p99_ms", w.writer_p99_ms);
        m.insert("read_p50_ms", w.read_p50_ms);
        m.insert("read_p95_ms", w.read_p95_ms);
        m.insert("read_p99_ms", w.read_p99_ms);
        m.insert("precondition_failure_rate", w.precondition_failure_rate);
        m.insert("precondition_failure_p50_ms", w.precondition_failure_p50_ms);
        m.insert("precondition_failure_p99_ms", w.precondition_failure_p99_ms);
        m.insert("write_tps", w.write_tps);
        m.insert("read_tps", w.read_tps);
        m.insert("avg_retry_count", w.avg_retry_count);
        m.insert("retry_success_rate", w.retry_success_rate);
        m.insert("exceeded_retry_limit", w.exceeded_retry_limit as f64);
    }
    m
}

/// The outcome of one configuration over its trials.
#[derive(Debug, Clone)]
pub struct PointResult {
    pub point: Point,
    pub files: Vec<PathBuf>,
    /// The first trial's result (for charts).
    pub first: RunResult,
    pub metrics: BTreeMap<&'static str, Spread>,
}

/// Settings of a sweep run.
pub struct SweepOptions {
    pub points: Vec<Point>,
    pub db: String,
    pub trials: usize,
    /// Configurations run at once (1: one after another).
    pub parallel: usize,
    pub out: PathBuf,
    pub stop: Arc<AtomicBool>,
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
}

/// One trial of one configuration that has no finished result file yet.
struct Job {
    point: usize,
    trial: usize,
    path: PathBuf,
    db: String,
}

fn interrupted() -> crate::Error {
    crate::Error::Failed("sweep interrupted; run it again to resume".into())
}

/// Runs one trial; `slot` gives concurrent writers-readers runs their own table.
fn run_job(o: &SweepOptions, job: &Job, slot: Option<usize>) -> Result<RunResult, crate::Error> {
    let p = &o.points[job.point];
    (o.log)(&format!("{} trial {}: running", p.label, job.trial));
    let mut cfg = p.workload.clone().resolve(job.db.clone())?;
    if let Some(slot) = slot {
        if let WorkloadSpec::WritersReaders(w) = &mut cfg.workload {
            w.table = format!("{}_p{slot}", w.table);
        }
    }
    let mut progress = crate::report::progress::Silent;
    let rep = run_workload(
        cfg,
        RunOptions {
            out: Some(job.path.clone()),
            stop: o.stop.clone(),
            log: Box::new(|_| {}),
            started: None,
            faults: Vec::new(),
            tx_log: None,
            hdr_log: None,
        },
        &mut progress,
    )?;
    if rep.result.interrupted {
        return Err(crate::Error::Failed(format!(
            "sweep interrupted during {}; run it again to resume",
            p.label
        )));
    }
    // Setup (schema, connections) runs before each configuration's measured start: said,
    // never measured.
    if let Some(setup) = rep.result.setup_s {
        (o.log)(&format!(
            "{} trial {}: done ({:.1} tps; setup {setup:.2} s, not measured)",
            p.label, job.trial, rep.result.totals.tps
        ));
    }
    Ok(rep.result)
}

/// Runs jobs on `o.parallel` threads; stops handing out jobs after the first error or an
/// interrupt, lets the running ones finish (their result files are kept), and returns the
/// first error.
fn run_parallel(
    o: &SweepOptions,
    jobs: &[&Job],
    done: &Mutex<BTreeMap<(usize, usize), RunResult>>,
) -> Result<(), crate::Error> {
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<crate::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for slot in 0..o.parallel.min(jobs.len()) {
            let (next, failed) = (&next, &failed);
            s.spawn(move || loop {
                let stop = o.stop.load(Ordering::SeqCst)
                    || failed.lock().map(|f| f.is_some()).unwrap_or(true);
                let i = next.fetch_add(1, Ordering::SeqCst);
                if stop || i >= jobs.len() {
                    return;
                }
                let job = jobs[i];
                match run_job(o, job, Some(slot)) {
                    Ok(r) => {
                        if let Ok(mut d) = done.lock() {
                            d.insert((job.point, job.trial), r);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failed.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    if o.stop.load(Ordering::SeqCst) {
        return Err(interrupted());
    }
    Ok(())
}

/// The file in a sweep folder that records what the sweep is (grid and settings), so a rerun
/// into the folder resumes only the same sweep.
pub const FINGERPRINT_FILE: &str = "sweep-fingerprint.toml";
/// The lock file a running sweep holds (an exclusive `flock`).
pub const LOCK_FILE: &str = ".sweep.lock";

/// What a sweep is: its trials, default database (password redacted) and every configuration
/// by label with its settings. Two runs into one folder must have the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub trials: usize,
    pub db: String,
    pub configurations: BTreeMap<String, String>,
}

impl Fingerprint {
    pub fn of(o: &SweepOptions) -> Fingerprint {
        let configurations = o
            .points
            .iter()
            .map(|p| {
                let mut w = p.workload.clone();
                w.db = w.db.as_deref().map(crate::db::url::redact);
                let text = toml::to_string(&w).unwrap_or_else(|e| format!("<{e}>"));
                (p.label.clone(), text.trim().replace('\n', "; "))
            })
            .collect();
        Fingerprint {
            trials: o.trials,
            db: crate::db::url::redact(&o.db),
            configurations,
        }
    }

    /// What differs from `other` (the folder's), one item each.
    pub fn differences(&self, folder: &Fingerprint) -> Vec<String> {
        let mut d = Vec::new();
        if self.trials != folder.trials {
            d.push(format!(
                "trials {} (folder: {})",
                self.trials, folder.trials
            ));
        }
        if self.db != folder.db {
            d.push(format!("db {} (folder: {})", self.db, folder.db));
        }
        for (label, s) in &self.configurations {
            match folder.configurations.get(label) {
                None => d.push(format!("configuration {label} is new")),
                Some(f) if f != s => d.push(format!(
                    "configuration {label} is now [{s}] (folder: [{f}])"
                )),
                Some(_) => {}
            }
        }
        for label in folder.configurations.keys() {
            if !self.configurations.contains_key(label) {
                d.push(format!("configuration {label} is gone"));
            }
        }
        d
    }
}

/// The exclusive lock of a sweep folder, released when dropped (or when the process ends).
pub struct FolderLock {
    _file: std::fs::File,
}

/// Creates the sweep folder and locks it, so two sweeps never write one folder at once.
pub fn lock_folder(out: &Path) -> Result<FolderLock, crate::Error> {
    let io = |e| crate::Error::Io {
        path: out.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(out).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(LOCK_FILE))
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(FolderLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(crate::Error::Usage(format!(
            "another sweep is writing {}; wait for it to finish or choose another --out",
            out.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Records the sweep's fingerprint in a new folder, or checks that a folder being resumed
/// holds the same sweep; refuses a different one with what differs.
pub fn check_fingerprint(o: &SweepOptions) -> Result<(), crate::Error> {
    let path = o.out.join(FINGERPRINT_FILE);
    let now = Fingerprint::of(o);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let folder: Fingerprint = toml::from_str(&text).map_err(|e| {
                crate::Error::Usage(format!(
                    "{}: {}; remove the folder or choose another --out",
                    path.display(),
                    e.message().trim()
                ))
            })?;
            let diff = now.differences(&folder);
            if !diff.is_empty() {
                return Err(crate::Error::Usage(format!(
                    "{} holds a different sweep, so resuming would mix results: {}; rerun it as it was or choose another --out",
                    o.out.display(),
                    diff.join("; ")
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = toml::to_string(&now).map_err(|e| crate::Error::Failed(e.to_string()))?;
            crate::util::fsx::write_atomic(&path, text.as_bytes()).map_err(|e| crate::Error::Io {
                path: path.display().to_string(),
                source: e,
            })
        }
        Err(e) => Err(crate::Error::Io {
            path: path.display().to_string(),
            source: e,
        }),
    }
}

/// Runs (or resumes) the sweep: a configuration whose result file exists is not rerun. The
/// caller holds the folder's lock (`lock_folder`).
pub fn run_sweep(o: &SweepOptions) -> Result<Vec<PointResult>, crate::Error> {
    std::fs::create_dir_all(&o.out).map_err(|e| crate::Error::Io {
        path: o.out.display().to_string(),
        source: e,
    })?;
    check_fingerprint(o)?;
    let mut done = BTreeMap::new();
    let mut jobs = Vec::new();
    for (i, p) in o.points.iter().enumerate() {
        for t in 1..=o.trials.max(1) {
            let path = o.out.join(format!("{}-t{t}.json", p.label));
            match RunResult::read(&path).ok().filter(|r| !r.interrupted) {
                Some(r) => {
                    (o.log)(&format!("{} trial {t}: done before, not rerun", p.label));
                    done.insert((i, t), r);
                }
                None => {
                    // A partial result of an interrupted run is kept, moved aside, not
                    // overwritten by the rerun.
                    if path.exists() {
                        let aside =
                            crate::util::fsx::free_name(&path.with_extension("interrupted.json"));
                        std::fs::rename(&path, &aside).map_err(|e| crate::Error::Io {
                            path: path.display().to_string(),
                            source: e,
                        })?;
                        (o.log)(&format!(
                            "{} trial {t}: the interrupted run's partial result is kept as {}",
                            p.label,
                            aside.display()
                        ));
                    }
                    let db = p.workload.db.clone().unwrap_or_else(|| o.db.clone());
                    jobs.push(Job {
                        point: i,
                        trial: t,
                        path,
                        db: crate::instance::resolve_url(&db)?,
                    });
                }
            }
        }
    }
    if o.parallel <= 1 {
        for job in &jobs {
            if o.stop.load(Ordering::SeqCst) {
                return Err(interrupted());
            }
            done.insert((job.point, job.trial), run_job(o, job, None)?);
        }
    } else {
        // The first run on each database creates its schema alone, so concurrent runs never
        // race to create the same tables; the rest then share the threads.
        let mut seen = std::collections::HashSet::new();
        let (first, rest): (Vec<&Job>, Vec<&Job>) =
            jobs.iter().partition(|j| seen.insert(j.db.clone()));
        let shared = Mutex::new(done);
        run_parallel(o, &first, &shared)?;
        run_parallel(o, &rest, &shared)?;
        done = shared.into_inner().map_err(|_| interrupted())?;
    }
    let mut out = Vec::new();
    for (i, p) in o.points.iter().enumerate() {
        let mut files = Vec::new();
        let mut first = None;
        let mut per_metric: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
        for t in 1..=o.trials.max(1) {
            let Some(result) = done.remove(&(i, t)) else {
                return Err(interrupted());
            };
            for (k, v) in metrics(&result) {
                per_metric.entry(k).or_default().push(v);
            }
            files.push(o.out.join(format!("{}-t{t}.json", p.label)));
            first.get_or_insert(result);
        }
        // At least one trial always runs, so there is a first result.
        let Some(first) = first else { continue };
        out.push(PointResult {
            point: p.clone(),
            files,
            first,
            metrics: per_metric
                .into_iter()
                .map(|(k, v)| (k, spread(v)))
                .collect(),
        });
    }
    Ok(out)
}

/// One cell of the sweep table: CSV writes it as text, `--json` as a number where it is one.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A measured figure (four decimals in CSV).
    Number(f64),
    Int(i64),
    /// A setting: a number in JSON, written in CSV as `shown`.
    Setting {
        value: f64,
        shown: String,
    },
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Number(v) => format!("{v:.4}"),
            Cell::Int(n) => n.to_string(),
            Cell::Setting { shown, .. } => shown.clone(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(t) => serde_json::Value::String(t.clone()),
            Cell::Number(v) | Cell::Setting { value: v, .. } => serde_json::Number::from_f64(*v)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Cell::Int(n) => serde_json::Value::from(*n),
        }
    }
}

/// An axis value as a cell: numbers stay numbers, URLs lose their password.
fn axis_cell(v: &toml::Value) -> Cell {
    match v {
        toml::Value::Integer(i) => Cell::Int(*i),
        toml::Value::Float(f) => Cell::Setting {
            value: *f,
            shown: cell(v),
        },
        _ => Cell::Text(cell(v)),
    }
}

/// The sweep as a table: the header (sweep.csv's columns: the label, axes, then each metric's
/// median with min and max) and one row per configuration.
/// sweep.csv and `sweep --json` are both this table, so their names cannot drift apart.
pub fn table(results: &[PointResult]) -> (Vec<String>, Vec<Vec<Cell>>) {
    let axes: Vec<String> = results
        .first()
        .map(|r| r.point.values.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    // Writers-readers settings are columns even when they are not axes, so a row says what ran.
    let wr = results.iter().any(|r| r.first.writers_readers.is_some());
    let settings: Vec<&str> = if wr {
        ["num_writers", "writer_rate", "num_readers", "reader_rate"]
            .into_iter()
            .filter(|k| !axes.iter().any(|a| a == k))
            .collect()
    } else {
        vec![]
    };
    let mut names: Vec<&'static str> = results
        .first()
        .map(|r| r.metrics.keys().copied().collect())
        .unwrap_or_default();
    // The role metrics first, in the order a reader compares them; then the rest.
    const ORDER: [&str; 19] = [
        "writer_p50_ms",
        "writer_p95_ms",
        "writer_p99_ms",
        "read_p50_ms",
        "read_p95_ms",
        "read_p99_ms",
        "precondition_failure_rate",
        "write_tps",
        "read_tps",
        "avg_retry_count",
        "retry_success_rate",
        "exceeded_retry_limit",
        "precondition_failure_p50_ms",
        "precondition_failure_p99_ms",
        "tps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "failure_rate",
    ];
    const PLAIN: [&str; 6] = [
        "tps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "failure_rate",
        "avg_retry_count",
    ];
    let order: &[&str] = if wr { &ORDER } else { &PLAIN };
    names.sort_by_key(|n| order.iter().position(|o| o == n).unwrap_or(order.len()));
    let mut header = vec!["config_label".to_string()];
    for a in &axes {
        // An axis named like a metric (tps) would give two columns of one name.
        if names.contains(&a.as_str()) {
            header.push(format!("{a}_setting"));
        } else {
            header.push(a.clone());
        }
    }
    header.extend(settings.iter().map(|k| k.to_string()));
    for n in &names {
        header.extend([n.to_string(), format!("{n}_min"), format!("{n}_max")]);
    }
    header.push("trials".into());
    let mut rows = Vec::new();
    for r in results {
        let mut row = vec![Cell::Text(r.point.label.clone())];
        row.extend(r.point.values.iter().map(|(_, v)| axis_cell(v)));
        let fallback = WritersReaders::default();
        let w = match &r.first.config.workload {
            WorkloadSpec::WritersReaders(w) => w,
            _ => &fallback,
        };
        for k in &settings {
            row.push(match *k {
                "num_writers" => Cell::Int(w.num_writers as i64),
                "writer_rate" => Cell::Setting {
                    value: w.writer_rate,
                    shown: w.writer_rate.to_string(),
                },
                "num_readers" => Cell::Int(w.num_readers as i64),
                _ => Cell::Setting {
                    value: w.reader_rate,
                    shown: w.reader_rate.to_string(),
                },
            });
        }
        for n in &names {
            let m = r.metrics.get(n).copied().unwrap_or_default();
            row.extend([
                Cell::Number(m.median),
                Cell::Number(m.min),
                Cell::Number(m.max),
            ]);
        }
        row.push(Cell::Int(r.files.len() as i64));
        rows.push(row);
    }
    (header, rows)
}

/// The table as JSON objects keyed by sweep.csv's column names, each with its result files.
pub fn json_rows(results: &[PointResult]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let (header, rows) = table(results);
    rows.iter()
        .zip(results)
        .map(|(row, r)| {
            let mut o: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .cloned()
                .zip(row.iter().map(Cell::json))
                .collect();
            o.insert(
                "files".into(),
                r.files
                    .iter()
                    .map(|f| serde_json::Value::String(f.display().to_string()))
                    .collect(),
            );
            o
        })
        .collect()
}

/// Writes sweep.csv.
pub fn write_csv(path: &Path, results: &[PointResult]) -> Result<(), crate::Error> {
    let (header, rows) = table(results);
    let mut all = vec![header];
    all.extend(rows.iter().map(|r| r.iter().map(Cell::csv).collect()));
    let s = crate::util::csv::to_bytes(&all);
    crate::util::fsx::write_atomic(path, &s).map_err(|e| crate::Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// A grid over exactly two axes, the last one numeric: its metrics over that axis, one line
/// per value of the first (p99 over writer rate, one line per number of writers).
pub fn two_axis_charts(results: &[PointResult]) -> Vec<crate::report::charts::Chart> {
    let Some(first) = results.first() else {
        return Vec::new();
    };
    if first.point.values.len() != 2 {
        return Vec::new();
    }
    let (line_axis, x_axis) = (&first.point.values[0].0, &first.point.values[1].0);
    let mut points = Vec::new();
    for r in results {
        let [(_, line), (_, x)] = r.point.values.as_slice() else {
            return Vec::new();
        };
        let x = match x {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => return Vec::new(),
        };
        let line = match line {
            toml::Value::String(s) => crate::db::url::redact(s),
            other => other.to_string(),
        };
        points.push((x, line, &r.first));
    }
    crate::report::charts::two_axis_charts(x_axis, line_axis, &points)
}

/// The best configuration by a metric (lower is better, except tps).
pub fn best<'a>(results: &'a [PointResult], by: &str) -> Option<&'a PointResult> {
    let key = |r: &PointResult| r.metrics.get(by).map(|m| m.median).unwrap_or(f64::NAN);
    let higher = by == "tps";
    results.iter().filter(|r| !key(r).is_nan()).min_by(|a, b| {
        let (x, y) = (key(a), key(b));
        if higher {
            y.total_cmp(&x)
        } else {
            x.total_cmp(&y)
        }
    })
}

pub use crate::metrics::scaling::{scaling, ScaleLevel};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_labels_and_best() {
        let f: SweepFile = toml::from_str(
            "[base]\npattern = \"oltp\"\nduration = \"1s\"\n[axes]\nconnections = [1, 2, 3]\ntps = [10.0, 20.5]\n",
        )
        .unwrap_or_default();
        let pts = f.points().unwrap();
        assert_eq!(pts.len(), 6);
        assert!(
            pts.iter().any(|p| p.label == "c2_tps20.50"),
            "{:?}",
            pts.iter().map(|p| &p.label).collect::<Vec<_>>()
        );
        let s = scaling(&[(1.0, 100.0), (2.0, 180.0), (4.0, 300.0)]);
        assert_eq!(s[2].ideal, 400.0);
        assert!((s[1].efficiency_pct - 90.0).abs() < 1e-9);
        assert_eq!(spread(vec![3.0, 1.0, 2.0]).median, 2.0);
    }
}
