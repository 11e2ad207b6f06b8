//! `dbarena compare`

use crate::compare::{compare, render, CompareOptions};
use crate::report::charts::{distribution_overlay, load, overlay_over_time, write, Formats};
use crate::{Error, ExitCode};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base and the new result: two files (or two folders of result files, each folder
    /// one side). For several files per side use --base and --new.
    #[arg(num_args = 0..=2)]
    inputs: Vec<PathBuf>,
    /// Result files of the base side (repeatable, or several after one flag).
    #[arg(long, num_args = 1.., conflicts_with = "inputs")]
    base: Vec<PathBuf>,
    /// Result files of the new side.
    #[arg(long, num_args = 1.., requires = "base")]
    new: Vec<PathBuf>,
    /// Significance level of the test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Smaller relative changes count as noise even when significant, e.g. 2%.
    #[arg(long, default_value = "2%")]
    noise: String,
    /// How far a whole run's result moves between runs of one configuration on this machine
    /// (standard deviation), assumed for a side of one run, which cannot show it; 0 trusts a
    /// lone run's seconds alone. Sides of several runs measure it instead.
    /// [default: 10%]
    #[arg(long, value_name = "PCT")]
    run_spread: Option<String>,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 2000, value_parser = super::count::<usize>, allow_negative_numbers = true)]
    resamples: usize,
    /// Compare runs of different workloads anyway.
    #[arg(long)]
    force: bool,
    /// Exit 7 when the new side is significantly slower by more than this, e.g. 5%
    /// (the primary metrics: throughput down, or p50 or p99 up).
    #[arg(long, value_name = "PCT")]
    fail_if_slower: Option<String>,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    /// Write report.html with both runs' throughput, p99 and latency distribution overlaid.
    #[arg(long)]
    html: bool,
    /// Write the charts as SVG.
    #[arg(long)]
    svg: bool,
    /// Folder for --html/--svg [default: the current folder].
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
}

/// "5%", "5" or "0.05" → 0.05 (a bare number above 1 is read as percent).
fn fraction(flag: &str, s: &str) -> Result<f64, Error> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num.parse().map_err(|_| {
        Error::Usage(format!(
            "invalid {flag} '{s}': expected a percentage such as 5%"
        ))
    })?;
    let v = if pct || v > 1.0 { v / 100.0 } else { v };
    if !(0.0..1.0).contains(&v) {
        return Err(Error::Usage(format!(
            "invalid {flag} '{s}': expected a percentage between 0% and 100%"
        )));
    }
    Ok(v)
}

pub fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let (base_paths, new_paths) = if !a.base.is_empty() {
        if a.new.is_empty() {
            return Err(Error::Usage(
                "--base needs --new: the result files to compare with".into(),
            )
            .into());
        }
        (a.base.clone(), a.new.clone())
    } else if a.inputs.len() == 2 {
        (vec![a.inputs[0].clone()], vec![a.inputs[1].clone()])
    } else {
        return Err(Error::Usage(
            "compare needs two results: dbarena compare BASE.json NEW.json (or --base A1 A2 --new B1 B2)".into(),
        )
        .into());
    };
    if !(a.alpha > 0.0 && a.alpha < 0.5) {
        return Err(Error::Usage(format!(
            "invalid --alpha {}: expected a significance level between 0 and 0.5, such as 0.05",
            a.alpha
        ))
        .into());
    }
    if a.resamples < 100 {
        return Err(Error::Usage(format!(
            "invalid --resamples {}: use at least 100 (default 2000)",
            a.resamples
        ))
        .into());
    }
    let opts = CompareOptions {
        alpha: a.alpha,
        noise: fraction("--noise", &a.noise)?,
        run_spread: match &a.run_spread {
            Some(s) => fraction("--run-spread", s)?,
            None => crate::compare::DEFAULT_RUN_SPREAD,
        },
        resamples: a.resamples,
        seed: 1,
        force: a.force,
    };
    let fail_if = a
        .fail_if_slower
        .as_deref()
        .map(|s| fraction("--fail-if-slower", s))
        .transpose()?;
    let base = load(&base_paths)?;
    let new = load(&new_paths)?;
    let c = compare(&base, &new, &opts).map_err(Error::from)?;
    if a.json {
        crate::util::stdout::print_json(&c)?;
    } else {
        crate::util::stdout::print(&render(&c))?;
    }
    if a.html || a.svg {
        let label = |side: &str, v: &[(String, crate::metrics::RunResult)]| {
            v.iter()
                .map(|(n, r)| (format!("{side}: {n}"), r.clone()))
                .collect::<Vec<_>>()
        };
        let mut runs = label("base", &base);
        runs.extend(label("new", &new));
        let mut charts = overlay_over_time(&runs);
        charts.extend(distribution_overlay(&runs));
        let out = a.out.clone().unwrap_or_else(|| PathBuf::from("."));
        // The verdicts themselves head the page.
        let table = crate::report::charts::Table {
            caption: "comparison".into(),
            header: [
                "metric",
                "base",
                "new",
                "change",
                "interval",
                "p (adjusted)",
                "verdict",
            ]
            .map(String::from)
            .to_vec(),
            rows: c
                .metrics
                .iter()
                .map(|m| {
                    vec![
                        m.metric.clone(),
                        format!("{:.3}", m.base),
                        format!("{:.3}", m.new),
                        format!("{:+.1}", m.change_pct),
                        format!("[{:+.1}, {:+.1}]", m.ci_low_pct, m.ci_high_pct),
                        format!("{:.3}", m.p_adjusted),
                        m.assessment.describe().to_string(),
                    ]
                })
                .collect(),
        };
        let written = write(
            &out,
            &charts,
            &runs,
            &[table],
            Formats {
                svg: a.svg,
                png: false,
                html: a.html,
            },
        )?;
        for w in written {
            eprintln!("wrote {}", w.display());
        }
    }
    if let Some(pct) = fail_if {
        let slower = c.slower_than(pct * 100.0);
        if !slower.is_empty() {
            let list: Vec<String> = slower
                .iter()
                .map(|m| format!("{} {:+.1}%", m.metric, m.change_pct))
                .collect();
            eprintln!(
                "slower than allowed (--fail-if-slower {:.1}%): {}",
                pct * 100.0,
                list.join(", ")
            );
            return Ok(ExitCode::ThresholdFailed);
        }
    }
    Ok(ExitCode::Success)
}
