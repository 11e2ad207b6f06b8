//! The crate's top-level error and the documented exit codes.

use thiserror::Error;

/// Process exit codes; documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// The run finished but failed a check, or an unexpected internal error.
    Failure = 1,
    /// Bad usage or configuration (flags, TOML, URL, weights, pattern).
    Usage = 2,
    /// Cannot connect: server unreachable, wrong password, unknown database.
    Connect = 3,
    /// The database does not have what the workload needs (missing or empty table).
    Schema = 4,
    /// A database error outside the measured loop (for example while creating the schema).
    Database = 5,
    /// The run finished, but a connection was lost and not reopened before the end: part of
    /// the schedule never ran (the result says how much).
    Degraded = 6,
    /// A threshold failed (`workload run --threshold`), or `compare --fail-if-slower` found a
    /// significant slowdown larger than allowed.
    ThresholdFailed = 7,
    /// Interrupted by Ctrl-C (SIGINT); the partial result was saved.
    Interrupted = 130,
    /// Stopped by SIGTERM; the partial result was saved.
    Terminated = 143,
}

/// Every error the library reports to the CLI edge.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Url(#[from] crate::db::url::UrlError),
    #[error(transparent)]
    Connect(#[from] crate::db::ConnectError),
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    #[error(transparent)]
    Plan(#[from] crate::workload::plan::PlanError),
    #[error(transparent)]
    Seed(#[from] crate::seed::SeedError),
    #[error(transparent)]
    Instance(#[from] crate::instance::InstanceError),
    #[error(transparent)]
    Compare(#[from] crate::compare::CompareError),
    #[error(transparent)]
    Merge(#[from] crate::merge::MergeError),
    #[error("database error {context}: {source}")]
    Database {
        context: String,
        #[source]
        source: crate::db::DbError,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_)
            | Error::Url(_)
            | Error::Usage(_)
            | Error::Compare(_)
            | Error::Merge(_) => ExitCode::Usage,
            Error::Plan(e) if e.is_usage() => ExitCode::Usage,
            Error::Plan(_) => ExitCode::Schema,
            Error::Connect(_) => ExitCode::Connect,
            Error::Instance(e) if e.is_usage() => ExitCode::Usage,
            Error::Instance(_) => ExitCode::Failure,
            Error::Seed(e) => {
                use crate::seed::SeedError as S;
                match e {
                    S::Config(_)
                    | S::UnknownPreset(_)
                    | S::Nothing
                    | S::UnknownColumn { .. }
                    | S::NullInNotNull { .. }
                    | S::UnknownReference { .. }
                    | S::Cycle(_)
                    | S::TooManyCombinations { .. }
                    | S::TooLong { .. }
                    | S::IncrementalCompositeKey { .. } => ExitCode::Usage,
                    S::MissingTable(_)
                    | S::NotEmpty { .. }
                    | S::EmptyReference { .. }
                    | S::TruncateBlocked { .. } => ExitCode::Schema,
                    S::Failed { .. } | S::Database { .. } => ExitCode::Database,
                    S::Interrupted(_) => crate::util::signals::interrupted_code(),
                }
            }
            Error::Schema(_) => ExitCode::Schema,
            Error::Database { .. } => ExitCode::Database,
            Error::Io { .. } | Error::Failed(_) => ExitCode::Failure,
        }
    }

    /// Wraps a database error with what dbarena was doing.
    pub fn db(context: impl Into<String>, source: crate::db::DbError) -> Self {
        Error::Database {
            context: context.into(),
            source,
        }
    }
}
