//! The run's stop flag as a lane sees it: a cheap check, and a future that completes when the
//! flag is set, so a lane waiting on a hung server stops at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often each worker thread looks at the shared flag (set by a signal handler, which
/// cannot wake tokio tasks itself).
const POLL: Duration = Duration::from_millis(20);

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

    /// Completes once the flag is set (and [`Self::watch`] is running on this thread).
    pub(crate) async fn wait(&self) {
        let notified = self.notify.notified();
        if self.is_set() {
            return;
        }
        notified.await
    }

    /// Wakes every waiter once the flag is set; spawn it beside the lanes of a thread. It
    /// ends by itself when `done` is set.
    pub(crate) async fn watch(self, done: Arc<AtomicBool>) {
        loop {
            if self.is_set() {
                self.notify.notify_waiters();
                return;
            }
            if done.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
