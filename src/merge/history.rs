//! The list-append histories of a merged run's agents as one history, checked as one: an
//! anomaly between transactions of two agents shows only there.

use crate::metrics::result::{RunResult, Verdict, Verification};
use crate::verify::model::{Model, Validity};
use crate::verify::History;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the agents' histories could not be checked together (the merged result then carries
/// no verdict, and says why).
#[derive(Debug, thiserror::Error)]
pub enum HistoryMergeError {
    #[error("{file} records no history: only list-append runs are checked together")]
    NoHistory { file: String },
    #[error("the history {history} of {file} is not found (looked as recorded and in {looked}); copy it next to the result files")]
    NotFound {
        file: String,
        history: String,
        looked: String,
    },
    #[error("the agents were judged against different models ({a} and {b})")]
    Models { a: String, b: String },
    #[error("unknown model '{0}' in a result file")]
    Model(String),
    #[error(transparent)]
    History(#[from] crate::verify::history::HistoryError),
    #[error(transparent)]
    Save(#[from] crate::Error),
}

/// Where a recorded history is: as written in the result (absolute, or relative to where
/// the agent ran), else by its file name in one of `dirs` (where the result files are).
fn locate(recorded: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let p = PathBuf::from(recorded);
    if p.is_file() {
        return Some(p);
    }
    let name = p.file_name()?;
    dirs.iter().map(|d| d.join(name)).find(|c| c.is_file())
}

/// Merges the histories of `files` (name, result) into `out` and checks the merged history
/// against the model the agents used. `dirs`: folders to look for histories in.
pub fn merge_histories(
    files: &[(String, RunResult)],
    dirs: &[PathBuf],
    out: &Path,
) -> Result<Verification, HistoryMergeError> {
    let mut paths = Vec::new();
    let mut model: Option<String> = None;
    for (name, r) in files {
        let v = r
            .verification
            .as_ref()
            .filter(|v| v.checker == "list-append")
            .ok_or_else(|| HistoryMergeError::NoHistory { file: name.clone() })?;
        match &model {
            Some(m) if *m != v.model => {
                return Err(HistoryMergeError::Models {
                    a: m.clone(),
                    b: v.model.clone(),
                })
            }
            _ => model = Some(v.model.clone()),
        }
        let path = locate(&v.history, dirs).ok_or_else(|| HistoryMergeError::NotFound {
            file: name.clone(),
            history: v.history.clone(),
            looked: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        paths.push(path);
    }
    let name = model.unwrap_or_default();
    let m = Model::parse(&name).ok_or_else(|| HistoryMergeError::Model(name.clone()))?;
    let merged = History::merge_files(&paths)?;
    merged.save(out)?;
    let an = crate::verify::check(&merged, Duration::from_secs(10));
    Ok(Verification {
        checker: "list-append".into(),
        model: name,
        verdict: match an.validity(m) {
            Validity::Valid => Verdict::Pass,
            Validity::Invalid => Verdict::Fail,
            Validity::Unknown => Verdict::Unknown,
        },
        anomalies: an.counts.iter().map(|(k, n)| format!("{k} x{n}")).collect(),
        history: out.display().to_string(),
    })
}
