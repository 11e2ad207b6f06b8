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
    /// The watchdog task's last waker: woken when a limit comes before its next look.
    sleeping: RefCell<Option<Waker>>,
    /// Set when a limit before the next look was registered, until the watchdog looks: a
    /// burst of such registrations (every lane near the end of the run) wakes it once.
    rearm: Cell<bool>,
    /// False once the watchdog task has ended (a stop, `done`, or its task dropped): an
    /// attempt still waiting then keeps its own timer, never waits unbounded.
    alive: Cell<bool>,
    /// Whether the watchdog sleeps on the thread's timerfd (`engine/wake.rs`) or tokio's
    /// timer (the unit tests' paused clock moves only through tokio's).
    precise: bool,
}

/// The watchdog of one worker thread (cheap to clone; not `Send`).
#[derive(Clone)]
pub(crate) struct Watchdog(Rc<Inner>);

/// Held by the watchdog's task: when it ends, however, its attempts are told to fall back.
struct AliveGuard(Rc<Inner>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.set(false);
        for w in self.0.slots.borrow().iter().flatten() {
            w.waker.wake_by_ref();
        }
    }
}

impl Watchdog {
    pub(crate) fn new(stop: StopSignal) -> Self {
        Self::sleeping_on(stop, !cfg!(test))
    }

    /// `precise`: sleep on the thread's timerfd, not on tokio's timer.
    fn sleeping_on(stop: StopSignal, precise: bool) -> Self {
        Watchdog(Rc::new(Inner {
            stop,
            slots: RefCell::new(Vec::new()),
            next_look: Cell::new(Instant::now()),
            sleeping: RefCell::new(None),
            rearm: Cell::new(false),
            alive: Cell::new(true),
            precise,
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

    /// Watches until `done` is set or the run's stop flag is: then it wakes the run's stop
    /// waiters and every waiting attempt, and returns. Until then it wakes each attempt whose
    /// limit has passed. Spawn it beside the lanes of a thread; set `done` once they ended
    /// (an attempt still waiting after it would fall back to a timer of its own).
    pub(crate) async fn run(self, done: Arc<AtomicBool>) {
        let guard = AliveGuard(self.0.clone());
        let inner = &guard.0;
        loop {
            if inner.stop.is_set() {
                inner.stop.notify_waiters();
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
            // every park of the thread ~150 instructions to find the next expiry.
            let mut nap = if inner.precise {
                Nap::Precise(super::wake::sleep_until(next.into_std()))
            } else {
                Nap::Tokio(Box::pin(tokio::time::sleep_until(next)))
            };
            std::future::poll_fn(|cx| {
                if inner.rearm.get() || nap.poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                let mut s = inner.sleeping.borrow_mut();
                match &mut *s {
                    Some(w) => w.clone_from(cx.waker()),
                    none => *none = Some(cx.waker().clone()),
                }
                Poll::Pending
            })
            .await;
        }
    }
}

/// The watchdog's sleep until its next look.
enum Nap {
    Precise(super::wake::PreciseSleep),
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl Nap {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Nap::Precise(s) => Pin::new(s).poll(cx),
            Nap::Tokio(s) => s.as_mut().poll(cx),
        }
    }
}

/// A lane's place in its thread's watchdog.
pub(crate) struct Slot {
    dog: Watchdog,
    index: usize,
}

impl Slot {
    /// `fut`, or why it ended first: `limit` passed or the run was stopped. An answer that is
    /// there wins over both, and a future that answers on its first poll (SQLite's calls
    /// block) is never registered at all.
    #[must_use = "a bound does nothing unless awaited"]
    pub(crate) fn bound<'a, 'f, F: Future>(
        &'a mut self,
        fut: Pin<&'f mut F>,
        limit: Instant,
    ) -> Bounded<'a, 'f, F> {
        Bounded {
            fut,
            slot: self,
            limit,
            registered: false,
            fallback: None,
        }
    }
}

/// See [`Slot::bound`].
pub(crate) struct Bounded<'a, 'f, F> {
    fut: Pin<&'f mut F>,
    slot: &'a mut Slot,
    limit: Instant,
    /// Whether it wrote to its slot (which it then empties when it ends).
    registered: bool,
    /// Its own timer, once the watchdog has ended.
    fallback: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<F> Drop for Bounded<'_, '_, F> {
    fn drop(&mut self) {
        if self.registered {
            self.slot.dog.0.slots.borrow_mut()[self.slot.index] = None;
        }
    }
}

impl<F: Future> Future for Bounded<'_, '_, F> {
    type Output = Result<F::Output, Expired>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = self.fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let this = &mut *self;
        let inner = &*this.slot.dog.0;
        if inner.stop.is_set() {
            return Poll::Ready(Err(Expired::Stopped));
        }
        if !inner.alive.get() {
            let limit = this.limit;
            let sleep = this
                .fallback
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(limit)));
            return sleep.as_mut().poll(cx).map(|()| Err(Expired::Limit));
        }
        let mut slots = inner.slots.borrow_mut();
        match &mut slots[this.slot.index] {
            Some(w) if w.expired => return Poll::Ready(Err(Expired::Limit)),
            Some(w) => {
                w.waker.clone_from(cx.waker());
                return Poll::Pending;
            }
            free => {
                *free = Some(Waiting {
                    limit: this.limit,
                    waker: cx.waker().clone(),
                    expired: false,
                });
                this.registered = true;
            }
        }
        drop(slots);
        // A limit before the watchdog's next look (a short timeout, the end of the run):
        // it looks again now, and then sleeps until this limit at most.
        if this.limit < inner.next_look.get() && !inner.rearm.get() {
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

    /// A regression fails instead of hanging the suite.
    async fn within<T>(f: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(600), f)
            .await
            .expect("a bounded wait never ended")
    }

    /// A future that is pending once (waking itself), then answers `v`.
    fn answers_on_second_poll(v: i32) -> impl Future<Output = i32> {
        let mut first = true;
        std::future::poll_fn(move |cx| {
            if std::mem::take(&mut first) {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(v)
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_that_is_there_wins_over_a_passed_limit_and_a_stop() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (dog, flag) = dog();
                let mut slot = dog.slot();
                let past = Instant::now();
                tokio::time::advance(Duration::from_millis(5)).await;
                assert_eq!(slot.bound(std::pin::pin!(async { 7 }), past).await, Ok(7));
                flag.store(true, Ordering::SeqCst);
                assert_eq!(slot.bound(std::pin::pin!(async { 8 }), past).await, Ok(8));
                // Nothing registered for an answer on the first poll.
                assert!(dog.0.slots.borrow().iter().all(Option::is_none));
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_attempt_leaves_its_slot_free_when_answered() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (dog, _) = dog();
                let done = Arc::new(AtomicBool::new(false));
                let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
                let mut slot = dog.slot();
                let limit = Instant::now() + Duration::from_millis(1);
                for v in 0..3 {
                    let fut = std::pin::pin!(answers_on_second_poll(v));
                    assert_eq!(within(slot.bound(fut, limit)).await, Ok(v));
                    assert!(dog.0.slots.borrow().iter().all(Option::is_none));
                }
                // The limit passes with nothing waiting: the next attempt is not expired.
                tokio::time::sleep(Duration::from_millis(30)).await;
                let limit = Instant::now() + Duration::from_secs(1);
                let fut = std::pin::pin!(answers_on_second_poll(9));
                assert_eq!(within(slot.bound(fut, limit)).await, Ok(9));
                done.store(true, Ordering::Relaxed);
                watcher.await.unwrap();
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
                let mut slot = dog.slot();
                // Registered before the watchdog's first look.
                let t0 = Instant::now();
                let first = tokio::task::spawn_local(async move {
                    let r = slot
                        .bound(
                            std::pin::pin!(std::future::pending::<()>()),
                            t0 + Duration::from_millis(3),
                        )
                        .await;
                    (r, slot)
                });
                tokio::task::yield_now().await;
                let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
                let (r, mut slot) = within(first).await.unwrap();
                assert_eq!(r, Err(Expired::Limit));
                assert_eq!(Instant::now() - t0, Duration::from_millis(3));
                // Longer than the watchdog's period, then shorter (it must wake before its
                // next look), then one that has already passed.
                for ms in [1_000u64, 3, 0] {
                    let t0 = Instant::now();
                    let limit = t0 + Duration::from_millis(ms);
                    let pending = std::pin::pin!(std::future::pending::<()>());
                    let r = within(slot.bound(pending, limit)).await;
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
                        let pending = std::pin::pin!(std::future::pending::<()>());
                        slot.bound(pending, far).await
                    }));
                }
                let stop = dog.0.stop.clone();
                let waiter = tokio::task::spawn_local(async move { stop.wait().await });
                tokio::time::sleep(Duration::from_millis(50)).await;
                flag.store(true, Ordering::SeqCst);
                for w in waits {
                    assert_eq!(within(w).await.unwrap(), Err(Expired::Stopped));
                }
                within(waiter).await.unwrap();
                assert!(Instant::now() - t0 <= Duration::from_millis(50) + POLL);
                watcher.await.unwrap();
                // After the watchdog has gone: a stopped run ends a new wait at once.
                let mut slot = dog.slot();
                let pending = std::pin::pin!(std::future::pending::<()>());
                assert_eq!(slot.bound(pending, far).await, Err(Expired::Stopped));
            })
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_outliving_its_watchdog_still_ends_at_its_limit() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (dog, _) = dog();
                let done = Arc::new(AtomicBool::new(false));
                let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
                let mut slot = dog.slot();
                let t0 = Instant::now();
                let wait = tokio::task::spawn_local(async move {
                    let pending = std::pin::pin!(std::future::pending::<()>());
                    slot.bound(pending, t0 + Duration::from_secs(2)).await
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
                done.store(true, Ordering::Relaxed);
                watcher.await.unwrap();
                assert_eq!(within(wait).await.unwrap(), Err(Expired::Limit));
                assert_eq!(Instant::now() - t0, Duration::from_secs(2));
            })
            .await;
    }

    /// The release builds' path: the watchdog sleeping on the thread's timerfd, real clock.
    #[test]
    fn sleeping_on_the_timerfd_a_limit_ends_a_wait_never_early() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        rt.block_on(local.run_until(async {
            crate::util::runtime::set_in_local_set(true);
            let dog =
                Watchdog::sleeping_on(StopSignal::new(Arc::new(AtomicBool::new(false))), true);
            let done = Arc::new(AtomicBool::new(false));
            let watcher = tokio::task::spawn_local(dog.clone().run(done.clone()));
            let mut slot = dog.slot();
            for ms in [5u64, 45] {
                let t0 = Instant::now();
                let pending = std::pin::pin!(std::future::pending::<()>());
                let r = within(slot.bound(pending, t0 + Duration::from_millis(ms))).await;
                assert_eq!(r, Err(Expired::Limit));
                // Never early (how late is the kernel's affair, and no test's).
                let took = Instant::now() - t0;
                assert!(took >= Duration::from_millis(ms), "{ms} ms took {took:?}");
            }
            done.store(true, Ordering::Relaxed);
            watcher.await.unwrap();
            crate::util::runtime::set_in_local_set(false);
        }));
    }
}
