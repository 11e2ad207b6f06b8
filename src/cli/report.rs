//! `dbarena report`

use crate::report::charts::{
    change_pct, comparison_charts, degradation_charts, load, run_charts, write, Formats,
};
use crate::ExitCode;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result files, or folders of them (a sweep or chaos output folder).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Write SVG charts.
    #[arg(long)]
    svg: bool,
    /// Write one self-contained HTML page.
    #[arg(long)]
    html: bool,
    /// Write PNG charts (rendered with a bundled font; no system fonts needed).
    #[arg(long)]
    png: bool,
    /// Output folder [default: the input folder, or the current one].
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let runs = load(&a.inputs)?;
    let mut charts = Vec::new();
    if runs.len() > 1 {
        charts.extend(comparison_charts(&runs));
        // A chaos folder: changes against its baseline scenario.
        if let Some((_, base)) = runs.iter().find(|(n, _)| n == "baseline") {
            let labels: Vec<String> = runs.iter().map(|(n, _)| n.clone()).collect();
            let tps: Vec<f64> = runs
                .iter()
                .map(|(_, r)| change_pct(r.totals.tps, base.totals.tps))
                .collect();
            let p99: Vec<f64> = runs
                .iter()
                .map(|(_, r)| change_pct(r.response.p99_ms, base.response.p99_ms))
                .collect();
            charts.extend(degradation_charts(&labels, &tps, &p99));
        }
    }
    for (stem, r) in &runs {
        charts.extend(run_charts(stem, r));
    }
    let out = a.out.unwrap_or_else(|| {
        a.inputs
            .iter()
            .find(|p| p.is_dir())
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."))
    });
    // No format asked for: the HTML page, which holds every chart.
    let formats = if !a.svg && !a.html && !a.png {
        Formats {
            svg: false,
            png: false,
            html: true,
        }
    } else {
        Formats {
            svg: a.svg,
            png: a.png,
            html: a.html,
        }
    };
    for f in write(&out, &charts, &runs, formats)? {
        println!("{}", f.display());
    }
    Ok(ExitCode::Success)
}
