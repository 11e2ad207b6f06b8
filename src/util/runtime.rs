//! The current-thread tokio runtime each dbarena thread drives its connections with.

/// A current-thread runtime with I/O and timers.
pub fn current_thread() -> Result<tokio::runtime::Runtime, crate::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Failed(format!("cannot start runtime: {e}")))
}

thread_local! {
    /// Set while this thread runs its tasks inside a `LocalSet` (the engine's worker threads).
    static IN_LOCAL_SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as running its tasks inside a `LocalSet` from now on (or no longer).
pub fn set_in_local_set(on: bool) {
    IN_LOCAL_SET.with(|c| c.set(on));
}

/// Whether this thread runs its tasks inside a `LocalSet` (so `spawn_local` may be used).
pub fn in_local_set() -> bool {
    IN_LOCAL_SET.with(|c| c.get())
}

/// Spawns a connection's background driver (tokio-postgres' socket task) beside the tasks
/// that use it. On an engine worker thread that is the `LocalSet`: a wake-up between two
/// tasks of one `LocalSet` is a queue push, whereas a runtime task that wakes a `LocalSet`
/// task wakes the whole `LocalSet`, and tokio then polls the I/O driver once more before
/// running it (one `epoll_wait` per transaction more).
pub fn spawn_driver<F>(fut: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if in_local_set() {
        tokio::task::spawn_local(fut);
    } else {
        tokio::spawn(fut);
    }
}
