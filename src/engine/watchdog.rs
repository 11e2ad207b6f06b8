//! The bounds on a worker thread's attempts in flight (their timeout, the end of the run, a
//! stop), kept by one task per thread.
//!
//! Racing every attempt against a tokio timer and a stop waiter registered and dropped both
//! for each transaction: ~1,500 instructions of a PostgreSQL point select's ~16,500, for
//! bounds that almost never fire. Here an attempt that has to wait writes its limit and waker
//! into its lane's slot (no lock, no allocation); the thread's one watchdog task looks at the
//! run's stop flag and the slots every [`POLL`], or at the earliest limit if that comes
//! sooner, and wakes what is due.

use super::stop::StopSignal;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::Instant;

/// How often the watchdog looks at the shared stop flag (set by a signal handler, which
/// cannot wake tokio tasks itself) and the slots.
const POLL: Duration = Duration::from_millis(20);

/// Why a bounded attempt ended without its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Its limit passed.
    Limit,
    /// The run was stopped.
    Stopped,
}

/// One waiting attempt: its limit, the waker to call when the limit or a stop comes, and
/// whether the watchdog found the limit passed.
struct Waiting {
    limit: Instant,
    waker: Waker,
    expired: bool,
}

struct Inner {
    stop: StopSignal,
    /// One slot per lane (a lane has one attempt at a time); None while nothing waits.
    slots: RefCell<Vec<Option<Waiting>>>,
    /// When the watchdog looks next.
    next_look: Cell<Instant>,
    /// The watchdog task's waker, while it sleeps: woken when a limit comes before its look.
    sleeping: RefCell<Option<Waker>>,
    /// Set to make the sleeping watchdog look again at once.
    rearm: Cell<bool>,
}

/// The watchdog of one worker thread (cheap to clone; not `Send`).
#[derive(Clone)]
pub(crate) struct Watchdog(Rc<Inner>);

impl Watchdog {
    pub(crate) fn new(stop: StopSignal) -> Self {
        Watchdog(Rc::new(Inner {
            stop,
            slots: RefCell::new(Vec::new()),
            next_look: Cell::new(Instant::now() + POLL),
            sleeping: RefCell::new(None),
            rearm: Cell::new(false),
        }))
    }

    /// A slot for one lane's attempts.
    pub(crate) fn slot(&self) -> Slot {
        let mut slots = self.0.slots.borrow_mut();
        slots.push(None);
        Slot {
            dog: self.clone(),
            index: slots.len() - 1,
        }
    }

    /// Watches until `done` is set: wakes the run's stop waiters (and every waiting attempt)
    /// once the flag is set, and each attempt whose limit has passed. Spawn it beside the
    /// lanes of a thread.
    pub(crate) async fn run(self, done: Arc<AtomicBool>) {
        let inner = &self.0;
        loop {
            if inner.stop.is_set() {
                inner.stop.notify_waiters();
                for w in inner.slots.borrow().iter().flatten() {
                    w.waker.wake_by_ref();
                }
                return;
            }
            if done.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            let mut next = now + POLL;
            for w in inner.slots.borrow_mut().iter_mut().flatten() {
                if w.expired {
                    continue;
                }
                if w.limit <= now {
                    w.expired = true;
                    w.waker.wake_by_ref();
                } else if w.limit < next {
                    next = w.limit;
                }
            }
            inner.next_look.set(next);
            inner.rearm.set(false);
            // On the thread's timerfd, not in tokio's timer wheel: a wheel with an entry costs
            // every park of the thread ~150 instructions to find the next expiry. The unit
            // tests' paused clock moves only through tokio's own timer.
            let mut sleep: Pin<Box<dyn Future<Output = ()>>> = if cfg!(test) {
                Box::pin(tokio::time::sleep_until(next))
            } else {
                Box::pin(super::wake::sleep_until(next.into_std()))
            };
            std::future::poll_fn(|cx| {
                if inner.rearm.get() || sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                let mut s = inner.sleeping.borrow_mut();
                match &mut *s {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    s => *s = Some(cx.waker().clone()),
                }
                Poll::Pending
            })
            .await;
        }
    }
}

/// A lane's place in its thread's watchdog.
pub(crate) struct Slot {
    dog: Watchdog,
    index: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.clear();
    }
}

impl Slot {
    /// `fut`, or why it ended first: `limit` passed or the run was stopped. An answer that is
    /// there wins over both, and a future that answers on its first poll (SQLite's calls
    /// block) is never registered at all.
    pub(crate) fn bound<'a, 'f, F: Future>(
        &'a mut self,
        fut: Pin<&'f mut F>,
        limit: Instant,
    ) -> Bounded<'a, 'f, F> {
        Bounded {
            fut,
            slot: self,
            limit,
        }
    }

    fn clear(&self) {
        if let Some(s) = self.dog.0.slots.borrow_mut().get_mut(self.index) {
            *s = None;
        }
    }
}

/// See [`Slot::bound`].
pub(crate) struct Bounded<'a, 'f, F> {
    fut: Pin<&'f mut F>,
    slot: &'a mut Slot,
    limit: Instant,
}

impl<F> Drop for Bounded<'_, '_, F> {
    fn drop(&mut self) {
        self.slot.clear();
    }
}

impl<F: Future> Future for Bounded<'_, '_, F> {
    type Output = Result<F::Output, Expired>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = self.fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let limit = self.limit;
        let inner = &self.slot.dog.0;
        if inner.stop.is_set() {
            return Poll::Ready(Err(Expired::Stopped));
        }
        let mut slots = inner.slots.borrow_mut();
        match slots.get_mut(self.slot.index) {
            Some(Some(w)) if w.expired => return Poll::Ready(Err(Expired::Limit)),
            Some(Some(w)) => {
                if !w.waker.will_wake(cx.waker()) {
                    w.waker.clone_from(cx.waker());
                }
                return Poll::Pending;
            }
            Some(free) => {
                *free = Some(Waiting {
                    limit,
                    waker: cx.waker().clone(),
                    expired: false,
                })
            }
            None => {}
        }
        drop(slots);
        // A limit before the watchdog's next look (a short timeout, the end of the run):
        // it looks again now, and then sleeps until this limit at most.
        if limit < inner.next_look.get() && !inner.rearm.get() {
            inner.rearm.set(true);
            if let Some(w) = inner.sleeping.borrow().as_ref() {
                w.wake_by_ref();
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dog() -> (Watchdog, Arc<AtomicBool>) {
        let flag = Arc::new(AtomicBool::new(false));
        (Watchdog::new(StopSignal::new(flag.clone())), flag)
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_that_is_there_wins_and_leaves_the_slot_free() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (dog, _) = dog();
                let mut slot = dog.slot();
                let limit = Instant::now() + Duration::from_secs(1);
                for _ in 0..3 {
                    assert_eq!(slot.bound(std::pin::pin!(async { 7 }), limit).await, Ok(7));
                    // Pending once, then answered.
                    let mut first = true;
                    let fut = std::future::poll_fn(|cx| {
                        if std::mem::take(&mut first) {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        } else {
                            Poll::Ready(8)
                        }
                    });
                    assert_eq!(slot.bound(std::pin::pin!(fut), limit).await, Ok(8));
                    assert!(dog.0.slots.borrow().iter().all(Option::is_none));
                }
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_ends_a_wait_at_the_limit_long_or_short() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (dog, _) = dog();
                let done = Arc::new(AtomicBool::new(false));
                let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
                let mut slot = dog.slot();
                // Longer than the watchdog's period, then shorter (it must wake before its
                // next look), then one that has already passed.
                for ms in [1_000u64, 3, 0] {
                    let t0 = Instant::now();
                    let limit = t0 + Duration::from_millis(ms);
                    let r = slot
                        .bound(std::pin::pin!(std::future::pending::<()>()), limit)
                        .await;
                    assert_eq!(r, Err(Expired::Limit));
                    let took = Instant::now() - t0;
                    assert!(
                        took >= Duration::from_millis(ms) && took <= Duration::from_millis(ms + 1),
                        "{ms} ms limit took {took:?}"
                    );
                }
                done.store(true, Ordering::Relaxed);
                watcher.await.unwrap();
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_every_wait_within_the_period_and_wakes_stop_waiters() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (dog, flag) = dog();
                let done = Arc::new(AtomicBool::new(false));
                let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
                let far = Instant::now() + Duration::from_secs(60);
                let t0 = Instant::now();
                let mut waits = Vec::new();
                for _ in 0..3 {
                    let mut slot = dog.slot();
                    waits.push(tokio::task::spawn_local(async move {
                        slot.bound(std::pin::pin!(std::future::pending::<()>()), far)
                            .await
                    }));
                }
                let stop = dog.0.stop.clone();
                let waiter = tokio::task::spawn_local(async move { stop.wait().await });
                tokio::time::sleep(Duration::from_millis(50)).await;
                flag.store(true, Ordering::SeqCst);
                for w in waits {
                    assert_eq!(w.await.unwrap(), Err(Expired::Stopped));
                }
                waiter.await.unwrap();
                assert!(Instant::now() - t0 <= Duration::from_millis(50) + POLL);
                watcher.await.unwrap();
            })
            .await;
    }
}
