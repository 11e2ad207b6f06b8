//! Database errors, classified the same way for every driver.

use std::fmt;

/// What kind of failure a database error is; decides retry and reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Serialization failure (PostgreSQL 40001): retried.
    Serialization,
    /// Deadlock (PostgreSQL 40P01, MySQL 1213): retried.
    Deadlock,
    /// Lock wait timeout (MySQL 1205) or SQLITE_BUSY/LOCKED: retried.
    LockTimeout,
    /// The connection is gone: reconnect.
    ConnectionLost,
    /// A constraint was violated.
    Constraint,
    /// A workload's own precondition did not hold (an optimistic write found another
    /// version): retried like a serialization failure.
    Precondition,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether the transaction may succeed if simply tried again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Serialization
                | ErrorKind::Deadlock
                | ErrorKind::LockTimeout
                | ErrorKind::Precondition
        )
    }
}

/// An error from a database, with its class and native code (SQLSTATE, MySQL number, SQLite code).
#[derive(Debug, Clone)]
pub struct DbError {
    pub kind: ErrorKind,
    /// `40001`, `1213`, `SQLITE_BUSY`, `io`…: groups errors in reports.
    pub code: String,
    pub message: String,
}

impl DbError {
    /// A transaction that got no answer within `limit`: its connection is given up as lost.
    pub fn abandoned(limit: std::time::Duration) -> Self {
        DbError::new(
            ErrorKind::ConnectionLost,
            "timeout",
            format!(
                "no answer within {:.1} s; the connection was abandoned",
                limit.as_secs_f64()
            ),
        )
    }

    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        DbError {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A driver-side problem that is not the server's.
    pub fn client(message: impl Into<String>) -> Self {
        DbError::new(ErrorKind::Other, "client", message)
    }

    /// The label errors are grouped by: `<kind>:<code>`.
    pub fn class(&self) -> String {
        format!("{}:{}", kind_name(self.kind), self.code)
    }
}

fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Serialization => "serialization",
        ErrorKind::Deadlock => "deadlock",
        ErrorKind::LockTimeout => "lock_timeout",
        ErrorKind::ConnectionLost => "connection",
        ErrorKind::Constraint => "constraint",
        ErrorKind::Precondition => "precondition",
        ErrorKind::Other => "error",
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl std::error::Error for DbError {}

/// Classifies a SQLSTATE (PostgreSQL and MySQL both report them).
pub fn kind_from_sqlstate(state: &str) -> ErrorKind {
    match state {
        "40001" => ErrorKind::Serialization,
        "40P01" => ErrorKind::Deadlock,
        "55P03" => ErrorKind::LockTimeout,
        s if s.starts_with("23") => ErrorKind::Constraint,
        s if s.starts_with("08") || s.starts_with("57P") => ErrorKind::ConnectionLost,
        _ => ErrorKind::Other,
    }
}

/// Runs a database call for at most `limit`; past it the call is abandoned as a lost
/// connection (a blackholed or stalled server never answers), for the caller to replace.
pub async fn within<T>(
    limit: std::time::Duration,
    f: impl std::future::Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| Err(DbError::abandoned(limit)))
}
