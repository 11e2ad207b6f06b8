//! Waking a lane at its intended start without burning the CPU until then.
//!
//! tokio's timer counts in whole milliseconds and fires on the tick after the deadline, up
//! to a millisecond late; at 1,000 tps a millisecond is a whole transaction, and a late start
//! shows as schedule lag in every latency. Spinning the last stretch (what the engine did)
//! was precise but cost up to 1.5 ms of CPU per transaction: at 1,000 tps on 2 cores, half a
//! core taken from the database under test. Instead each worker thread keeps one Linux
//! `timerfd` (nanosecond deadlines, no timer slack) in its reactor, armed for the earliest
//! start any of its lanes waits for; its expiry wakes the thread out of `epoll_wait` like a
//! socket would, and the due lanes run.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tokio::io::unix::AsyncFd;

/// The deadlines waited for on one thread, and the timer armed for the earliest.
struct Timer {
    fd: AsyncFd<OwnedFd>,
    /// Slots of waiting sleeps: deadline and the waker to call then (None: free slot).
    waiting: RefCell<Vec<Option<(Instant, Waker)>>>,
    /// The deadline the timerfd is armed for.
    armed: Cell<Option<Instant>>,
    /// False once the driver task is gone (its `LocalSet` ended, or the timerfd failed):
    /// sleeps then fall back to tokio's timer, and the thread's next sleep makes a new one.
    alive: Cell<bool>,
}

/// Held by the driver task from its creation: when the task goes (run or not), the timer is
/// marked dead and its sleeps are woken to fall back.
struct DriverGuard(Rc<Timer>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.0.alive.set(false);
        for (_, waker) in self.0.waiting.borrow().iter().flatten() {
            waker.wake_by_ref();
        }
    }
}

thread_local! {
    /// This thread's timer: created, with its driver task, by the first sleep on the thread.
    /// None inside: the thread has none yet; Some(None): it cannot have one (no timerfd).
    /// A timer whose driver went (its `LocalSet` ended) is replaced on the next use.
    static TIMER: RefCell<Option<Option<Rc<Timer>>>> = const { RefCell::new(None) };
}

impl Timer {
    fn new() -> std::io::Result<Timer> {
        let fd = create_timerfd()?;
        // SAFETY: an OwnedFd is a valid open descriptor that stays the same file for as
        // long as the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Timer {
            fd,
            waiting: RefCell::new(Vec::new()),
            armed: Cell::new(None),
            alive: Cell::new(true),
        })
    }

    /// Arms the timer for `at` (a deadline already past fires at once), or disarms it.
    fn arm(&self, at: Option<Instant>) {
        set_timerfd(
            self.fd.get_ref(),
            at.map(|a| a.saturating_duration_since(Instant::now())),
        );
        self.armed.set(at);
    }

    /// Registers (or updates) slot `slot` for `at`; returns the slot.
    fn wait(&self, slot: Option<usize>, at: Instant, waker: &Waker) -> usize {
        let mut w = self.waiting.borrow_mut();
        let slot = match slot {
            Some(s) if s < w.len() => s,
            _ => match w.iter().position(Option::is_none) {
                Some(free) => free,
                None => {
                    w.push(None);
                    w.len() - 1
                }
            },
        };
        match &mut w[slot] {
            Some((t, old)) => {
                *t = at;
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
            }
            free => *free = Some((at, waker.clone())),
        }
        drop(w);
        if self.armed.get().is_none_or(|armed| at < armed) {
            self.arm(Some(at));
        }
        slot
    }

    fn forget(&self, slot: usize) {
        if let Some(s) = self.waiting.borrow_mut().get_mut(slot) {
            *s = None;
        }
    }

    /// The driver: on every expiry, wakes the due sleeps and arms for the next deadline.
    /// Ends (and the guard marks the timer dead) if the timerfd fails.
    async fn drive(guard: DriverGuard) {
        let timer = &guard.0;
        loop {
            let Ok(mut ready) = timer.fd.readable().await else {
                return;
            };
            // Readiness is cleared only when the read finds nothing (re-armed since it
            // became readable, or already read): an expiry between a read and a clearing
            // would otherwise be lost, and every lane of the thread with it.
            let read = ready.try_io(|fd| {
                let mut expirations = [0u8; 8];
                // SAFETY: reads at most 8 bytes into an 8-byte buffer.
                let n = unsafe {
                    libc::read(
                        fd.as_raw_fd(),
                        expirations.as_mut_ptr().cast(),
                        expirations.len(),
                    )
                };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_would_block) => continue,
            }
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            for (at, waker) in timer.waiting.borrow().iter().flatten() {
                if *at <= now {
                    waker.wake_by_ref();
                } else if next.is_none_or(|n| *at < n) {
                    next = Some(*at);
                }
            }
            timer.arm(next);
        }
    }
}

/// A non-blocking monotonic timerfd.
#[cfg(target_os = "linux")]
fn create_timerfd() -> std::io::Result<OwnedFd> {
    // SAFETY: plain system call; the descriptor it returns is owned from here on.
    let fd = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(not(target_os = "linux"))]
fn create_timerfd() -> std::io::Result<OwnedFd> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Arms `fd` to expire once after `left`, or disarms it (None).
#[cfg(target_os = "linux")]
fn set_timerfd(fd: &OwnedFd, left: Option<std::time::Duration>) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let value = match left {
        // A zero value disarms: one nanosecond fires at once instead.
        Some(d) => libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos().max(1) as libc::c_long,
        },
        None => zero,
    };
    let spec = libc::itimerspec {
        it_interval: zero,
        it_value: value,
    };
    // SAFETY: a valid descriptor and a fully initialised itimerspec; the old value is not
    // asked for.
    unsafe {
        libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut());
    }
}

#[cfg(not(target_os = "linux"))]
fn set_timerfd(_: &OwnedFd, _: Option<std::time::Duration>) {}

/// This thread's timer, made (and its driver spawned on the current `LocalSet`) on first
/// use or after the last one's driver went; None outside a `LocalSet` or without timerfd.
fn timer() -> Option<Rc<Timer>> {
    if !crate::util::runtime::in_local_set() {
        return None;
    }
    TIMER.with(|cell| {
        let mut cached = cell.borrow_mut();
        match &*cached {
            Some(Some(t)) if t.alive.get() => return Some(t.clone()),
            Some(None) => return None,
            _ => {}
        }
        let made = Timer::new().ok().map(Rc::new);
        if let Some(t) = &made {
            tokio::task::spawn_local(Timer::drive(DriverGuard(t.clone())));
        }
        *cached = Some(made.clone());
        made
    })
}

/// Resolves at `at`, to the tens of microseconds the kernel wakes a thread in.
pub struct PreciseSleep {
    at: Instant,
    timer: Option<Rc<Timer>>,
    slot: Option<usize>,
    fallback: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Sleeps until `at` on this thread's timer; where there is none, on tokio's (a millisecond
/// coarse).
pub fn sleep_until(at: Instant) -> PreciseSleep {
    PreciseSleep {
        at,
        timer: timer(),
        slot: None,
        fallback: None,
    }
}

impl Future for PreciseSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            self.release();
            return Poll::Ready(());
        }
        match self.timer.clone().filter(|t| t.alive.get()) {
            Some(t) => {
                let slot = t.wait(self.slot, self.at, cx.waker());
                self.slot = Some(slot);
                Poll::Pending
            }
            None => {
                self.release();
                let at = tokio::time::Instant::from_std(self.at);
                self.fallback
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)))
                    .as_mut()
                    .poll(cx)
            }
        }
    }
}

impl PreciseSleep {
    /// Gives this sleep's slot back to the timer (done, dropped, or falling back).
    fn release(&mut self) {
        if let (Some(s), Some(t)) = (self.slot.take(), &self.timer) {
            t.forget(s);
        }
    }
}

impl Drop for PreciseSleep {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Sleeps on one thread's timer end at their deadlines, in order, however they were
    /// registered, and a dropped sleep leaves nothing behind.
    #[test]
    fn sleeps_end_at_their_deadlines_in_order() {
        let rt = crate::util::runtime::current_thread().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            crate::util::runtime::set_in_local_set(true);
            let start = Instant::now();
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut tasks = Vec::new();
            for (i, ms) in [(0, 30u64), (1, 10), (2, 20), (3, 2)] {
                let order = order.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    let at = start + Duration::from_millis(ms);
                    sleep_until(at).await;
                    let late = Instant::now().duration_since(at);
                    order.borrow_mut().push(i);
                    late
                }));
            }
            // One that is dropped before its deadline.
            let gone = sleep_until(start + Duration::from_millis(5));
            let mut gone = Box::pin(gone);
            let _ = futures_poll_once(gone.as_mut()).await;
            drop(gone);
            for t in tasks {
                let late = t.await.unwrap();
                assert!(late < Duration::from_millis(200), "{late:?}");
            }
            assert_eq!(*order.borrow(), vec![3, 1, 2, 0]);
            let t = timer().expect("a timerfd on Linux");
            assert!(t.waiting.borrow().iter().all(Option::is_none));
            crate::util::runtime::set_in_local_set(false);
        });
    }

    /// A thread that runs a second `LocalSet` after the first ended (whose driver went with
    /// it) gets a new timer rather than waiting on the dead one for ever.
    #[test]
    fn a_second_local_set_on_the_thread_gets_a_live_timer() {
        for _ in 0..2 {
            let rt = crate::util::runtime::current_thread().unwrap();
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async {
                crate::util::runtime::set_in_local_set(true);
                let at = Instant::now() + Duration::from_millis(3);
                let done = tokio::time::timeout(Duration::from_secs(5), sleep_until(at)).await;
                assert!(done.is_ok(), "the sleep never ended");
                assert!(timer().is_some_and(|t| t.alive.get()));
                crate::util::runtime::set_in_local_set(false);
            });
            drop(local);
            drop(rt);
        }
    }

    async fn futures_poll_once<F: Future + Unpin>(mut f: F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut f).poll(cx))).await
    }
}
