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
    let merged = crate::merge::merge(&files, a.partial).map_err(Error::from)?;
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
    Ok(ExitCode::Success)
}
