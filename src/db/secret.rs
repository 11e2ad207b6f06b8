//! The password file: a secret read once at start, so it never has to be on a command line.
//!
//! `--password-file PATH` (or `DBARENA_PASSWORD_FILE`) names a file whose first line is the
//! password; it is used for every PostgreSQL or MySQL URL that has no password of its own,
//! before `PGPASSWORD` / `MYSQL_PWD`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use thiserror::Error;

static PASSWORD: OnceLock<String> = OnceLock::new();

/// A password file that cannot be used.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("cannot read the password file {path}: {detail}; give a readable file with --password-file or DBARENA_PASSWORD_FILE")]
    Unreadable { path: PathBuf, detail: String },
    #[error("the password file {0} is empty; write the password on its first line")]
    Empty(PathBuf),
}

/// Reads the password file (first line, without its line end) and keeps it for every
/// connection of this process.
pub fn load_password_file(path: &Path) -> Result<(), SecretError> {
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(SecretError::Empty(path.to_path_buf()));
    }
    // A second load in one process (tests) keeps the first password.
    let _ = PASSWORD.set(line.to_string());
    Ok(())
}

/// The password from the password file, if one was loaded.
pub fn password_file() -> Option<String> {
    PASSWORD.get().cloned()
}
