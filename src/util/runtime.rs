//! The current-thread tokio runtime each dbarena thread drives its connections with.

/// A current-thread runtime with I/O and timers.
pub fn current_thread() -> Result<tokio::runtime::Runtime, crate::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Failed(format!("cannot start runtime: {e}")))
}
