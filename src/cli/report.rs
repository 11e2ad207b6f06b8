//! `dbarena report`

use crate::report::charts::{
    chaos_view, comparison_charts, load, run_charts, write, Across, Formats,
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
    let mut tables = Vec::new();
    if runs.len() > 1 {
        // A chaos folder (it has a baseline scenario): scenarios as bars and their change
        // against the baseline; otherwise configurations of a sweep.
        match chaos_view(&runs, "baseline") {
            Some((degradation, table)) => {
                charts.extend(comparison_charts(&runs, Across::Scenarios));
                charts.extend(degradation);
                tables.push(table);
            }
            None => charts.extend(comparison_charts(&runs, Across::Configurations)),
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
    for f in write(&out, &charts, &runs, &tables, formats)? {
        println!("{}", f.display());
    }
    Ok(ExitCode::Success)
}
