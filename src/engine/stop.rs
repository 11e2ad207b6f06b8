//! The run's stop flag as a lane sees it: a cheap check, and a future that completes when the
//! flag is set (within the watchdog's 20 ms), so a lane waiting for its start, a connection
//! or a backoff stops then. Attempts in flight are ended by the watchdog itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// One thread's view of the run's stop flag.
#[derive(Clone)]
pub(crate) struct StopSignal {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl StopSignal {
    pub(crate) fn new(flag: Arc<AtomicBool>) -> Self {
        StopSignal {
            flag,
            notify: Arc::new(Notify::new()),
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Completes once the flag is set (and the thread's [`super::watchdog::Watchdog`] runs).
    pub(crate) async fn wait(&self) {
        let notified = self.notify.notified();
        if self.is_set() {
            return;
        }
        notified.await
    }

    /// Wakes every [`Self::wait`]er (the watchdog calls it once it sees the flag set).
    pub(crate) fn notify_waiters(&self) {
        self.notify.notify_waiters();
    }
}
