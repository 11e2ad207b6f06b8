//! `dbarena merge`

use crate::report::charts::load;
use crate::{Error, ExitCode};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The agents' result files (or a folder of them).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the merged result (never replaced).
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Merge even when segments are missing; the result names them.
    #[arg(long)]
    partial: bool,
    /// Print the merged result as JSON instead of its summary.
    #[arg(long)]
    json: bool,
}

pub fn run(a: MergeArgs) -> anyhow::Result<ExitCode> {
    crate::util::fsx::check_new_file(&a.out).map_err(Error::Usage)?;
    let files = load(&a.inputs)?;
    let mut merged = crate::merge::merge(&files, a.partial).map_err(Error::from)?;
    // List-append agents: their histories as one, checked as one.
    if files.iter().any(|(_, r)| r.verification.is_some()) {
        let dirs: Vec<PathBuf> = a
            .inputs
            .iter()
            .map(|p| {
                if p.is_dir() {
                    p.clone()
                } else {
                    p.parent().map(PathBuf::from).unwrap_or_default()
                }
            })
            .collect();
        let history = a.out.with_extension("history.jsonl");
        crate::util::fsx::check_new_file(&history).map_err(Error::Usage)?;
        match crate::merge::history::merge_histories(&files, &dirs, &history) {
            Ok(v) => {
                merged.notes.push(format!(
                    "the agents' histories merged into {} and checked as one: {} ({})",
                    history.display(),
                    v.verdict,
                    v.model
                ));
                merged.verification = Some(v);
            }
            Err(e) => merged.notes.push(format!(
                "the agents' histories were not checked together: {e}"
            )),
        }
    }
    merged.write(&a.out).map_err(|e| Error::Io {
        path: a.out.display().to_string(),
        source: e,
    })?;
    if a.json {
        crate::util::stdout::print_json(&merged)?;
    } else {
        crate::util::stdout::print(&crate::report::summary::render(
            &merged,
            Some(&a.out.display().to_string()),
        ))?;
    }
    // An anomaly between the agents fails the merge as it fails a run.
    Ok(match &merged.verification {
        Some(v) if v.verdict == crate::metrics::result::Verdict::Fail => {
            eprintln!(
                "error: the merged history is not {}: {}",
                v.model,
                v.anomalies.join(", ")
            );
            ExitCode::Failure
        }
        _ => ExitCode::Success,
    })
}
