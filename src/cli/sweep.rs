//! `dbarena sweep`

use crate::sweep::{best, run_sweep, scaling, write_csv, SweepFile, SweepOptions};
use crate::{Error, ExitCode};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Sweep TOML: [base] workload settings and [axes] lists (or [[configs]]).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Database URL for configurations that do not set one; also DBARENA_DB.
    #[arg(long, env = "DBARENA_DB")]
    db: Option<String>,
    /// Runs of each configuration; the CSV reports the median and the min–max spread.
    #[arg(long, value_parser = super::count::<usize>, allow_negative_numbers = true)]
    trials: Option<usize>,
    /// Folder for result files and sweep.csv [default: dbarena-results/sweep-<time>]; an
    /// interrupted sweep resumes from the same folder.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Configurations to run at once [default: 1, one after another]. Concurrent runs share
    /// the machine and, unless their configurations name different databases, the database;
    /// writers-readers runs get their own table each.
    #[arg(long, default_value_t = 1, value_parser = super::count::<usize>, allow_negative_numbers = true)]
    parallel: usize,
    /// A scaling curve over concurrency: connections 1,2,4,8…
    #[arg(long, value_delimiter = ',', value_parser = super::count::<usize>, allow_negative_numbers = true)]
    scale: Vec<usize>,
    /// Print the best configuration by: tps, p99 or failure_rate.
    #[arg(long)]
    best_by: Option<String>,
    /// Save the best configuration as a workload TOML (for example for `chaos --from`).
    #[arg(long)]
    save_best: Option<PathBuf>,
    /// Print the sweep as JSON (sweep.csv's columns per configuration) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let mut file = match &a.config {
        Some(p) => SweepFile::load(p)?,
        None => SweepFile::default(),
    };
    if !a.scale.is_empty() && a.parallel > 1 {
        return Err(Error::Usage(
            "a scaling curve measures each concurrency level alone: drop --parallel".into(),
        )
        .into());
    }
    if !a.scale.is_empty() {
        file.axes = toml::Table::new();
        file.axes.insert(
            "connections".into(),
            toml::Value::Array(
                a.scale
                    .iter()
                    .map(|n| toml::Value::Integer(*n as i64))
                    .collect(),
            ),
        );
    }
    if file.axes.is_empty() && file.configs.is_empty() {
        return Err(Error::Usage(
            "nothing to sweep: give --config with [axes] or [[configs]], or --scale 1,2,4".into(),
        )
        .into());
    }
    let points = file.points()?;
    let db =
        a.db.or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "sqlite://dbarena.db".into());
    let out = a.out.unwrap_or_else(|| {
        PathBuf::from("dbarena-results").join(format!(
            "sweep-{}",
            crate::util::time::compact_stamp(crate::util::time::now_us())
        ))
    });
    // Every configuration is checked before the first runs: a bad one (connections = 0 on
    // an axis) is refused now, not after the others have run.
    for p in &points {
        let d = p.workload.db.clone().unwrap_or_else(|| db.clone());
        let d = super::resolve_db(d)?;
        p.workload
            .clone()
            .resolve(d)
            .map_err(|e| Error::Usage(format!("configuration {}: {e}", p.label)))?;
    }
    let stop = super::stop_on_ctrl_c();
    if file.trials == Some(0) {
        return Err(Error::Usage(format!(
            "{}: trials = 0 runs nothing; give trials = 1 or more",
            a.config
                .as_deref()
                .unwrap_or(std::path::Path::new("sweep TOML"))
                .display()
        ))
        .into());
    }
    let trials = a.trials.or(file.trials).unwrap_or(1);
    eprintln!(
        "sweep: {} configurations x {trials} trials into {}",
        points.len(),
        out.display()
    );
    let _lock = crate::sweep::lock_folder(&out)?;
    let results = match run_sweep(&SweepOptions {
        points,
        db,
        trials,
        parallel: a.parallel,
        out: out.clone(),
        stop: stop.clone(),
        log: Arc::new(|m| eprintln!("{m}")),
    }) {
        Ok(r) => r,
        Err(e) if stop.load(Ordering::SeqCst) => {
            eprintln!("{e}");
            return Ok(crate::util::signals::interrupted_code());
        }
        Err(e) => return Err(e.into()),
    };
    write_csv(&out.join("sweep.csv"), &results)?;
    // With --json, stdout carries only the JSON at the end.
    let say = |line: String| {
        if !a.json {
            println!("{line}");
        }
    };
    // The console table: (header, sweep.csv column, scale).
    let columns: &[(&str, &str, f64)] = if results.iter().any(|r| r.first.writers_readers.is_some())
    {
        &[
            ("write/s", "write_tps", 1.0),
            ("read/s", "read_tps", 1.0),
            ("w p50 ms", "writer_p50_ms", 1.0),
            ("w p99 ms", "writer_p99_ms", 1.0),
            ("r p50 ms", "read_p50_ms", 1.0),
            ("r p99 ms", "read_p99_ms", 1.0),
            ("precond %", "precondition_failure_rate", 100.0),
        ]
    } else {
        &[
            ("tps", "tps", 1.0),
            ("p50 ms", "p50_ms", 1.0),
            ("p99 ms", "p99_ms", 1.0),
            ("fail %", "failure_rate", 100.0),
        ]
    };
    // With trials, the figures are medians and the first column's min–max follows.
    let (first_name, first_key, first_scale) = columns[0];
    let spread_header = if trials > 1 {
        format!("  {first_name} min–max")
    } else {
        String::new()
    };
    let header: String = columns.iter().map(|c| format!(" {:>10}", c.0)).collect();
    say(format!("{:<24}{header}{spread_header}", "config"));
    for r in &results {
        let row: String = columns
            .iter()
            .map(|(_, k, scale)| {
                let v = r.metrics.get(k).map(|s| s.median).unwrap_or(0.0) * scale;
                format!(" {v:>10.3}")
            })
            .collect();
        let spread = match r.metrics.get(first_key) {
            Some(m) if trials > 1 => {
                format!("  {:.3}–{:.3}", m.min * first_scale, m.max * first_scale)
            }
            _ => String::new(),
        };
        say(format!("{:<24}{row}{spread}", r.point.label));
    }
    // Charts of the whole sweep, written next to the CSV.
    let runs: Vec<_> = results
        .iter()
        .map(|r| (r.point.label.clone(), r.first.clone()))
        .collect();
    let mut charts = crate::report::charts::comparison_charts(
        &runs,
        crate::report::charts::Across::Configurations,
    );
    charts.extend(crate::sweep::two_axis_charts(&results));
    let mut curve = Vec::new();
    if !a.scale.is_empty() {
        let levels: Vec<(f64, f64)> = results
            .iter()
            .zip(&a.scale)
            .map(|(r, n)| {
                (
                    *n as f64,
                    r.metrics.get("tps").map(|s| s.median).unwrap_or(0.0),
                )
            })
            .collect();
        curve = scaling(&levels);
        say(format!(
            "\nscaling: {:>8} {:>10} {:>10} {:>11}",
            "level", "tps", "ideal", "efficiency"
        ));
        for l in &curve {
            say(format!(
                "         {:>8} {:>10.1} {:>10.1} {:>10.1}%",
                l.level, l.tps, l.ideal, l.efficiency_pct
            ));
        }
        charts.push(crate::report::charts::scaling_chart(&curve));
    }
    crate::report::charts::write(
        &out,
        &charts,
        &runs,
        &[],
        crate::report::charts::Formats::ALL,
    )?;
    let mut best_label = None;
    if let Some(by) = a.best_by.as_deref() {
        let key = match by {
            "p99" => "p99_ms",
            "tps" => "tps",
            "failure_rate" => "failure_rate",
            "precondition_failure_rate" => "precondition_failure_rate",
            other => {
                return Err(Error::Usage(format!(
                    "unknown --best-by '{other}': use tps, p99 or failure_rate"
                ))
                .into())
            }
        };
        if let Some(b) = best(&results, key) {
            say(format!("\nbest by {by}: {}", b.point.label));
            best_label = Some(b.point.label.clone());
            if let Some(p) = &a.save_best {
                let text =
                    toml::to_string(&b.point.workload).map_err(|e| Error::Failed(e.to_string()))?;
                // A URL with a password makes the file a secret: 0600.
                let secret = b
                    .point
                    .workload
                    .db
                    .as_deref()
                    .is_some_and(|d| crate::db::url::redact(d) != d);
                let write = if secret {
                    crate::util::fsx::write_atomic_private
                } else {
                    crate::util::fsx::write_atomic
                };
                write(p, text.as_bytes()).map_err(|e| Error::Io {
                    path: p.display().to_string(),
                    source: e,
                })?;
                say(format!("saved to {}", p.display()));
            }
        }
    }
    if a.json {
        crate::util::stdout::print_json(&serde_json::json!({
            "out": out.display().to_string(),
            "csv": out.join("sweep.csv").display().to_string(),
            "report": out.join("report.html").display().to_string(),
            "trials": trials,
            "configurations": crate::sweep::json_rows(&results),
            "scaling": curve,
            "best_by": a.best_by,
            "best": best_label,
            "saved_best": a.save_best.as_ref().filter(|_| best_label.is_some()).map(|p| p.display().to_string()),
        }))?;
    } else {
        println!("sweep.csv: {}", out.join("sweep.csv").display());
        println!("report: {}", out.join("report.html").display());
    }
    Ok(ExitCode::Success)
}
