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
}

thread_local! {
    /// This thread's timer: created, with its driver task, by the first sleep on the thread.
    /// None inside: the thread has none yet; Some(None): it cannot have one (no timerfd).
    static TIMER: RefCell<Option<Option<Rc<Timer>>>> = const { RefCell::new(None) };
}

impl Timer {
    fn new() -> std::io::Result<Timer> {
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
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an OwnedFd is a valid open descriptor that stays the same file for as
        // long as the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Timer {
            fd,
            waiting: RefCell::new(Vec::new()),
            armed: Cell::new(None),
        })
    }

    /// Arms the timer for `at` (relative to now; a deadline already past fires at once), or
    /// disarms it.
    fn arm(&self, at: Option<Instant>) {
        let left = at.map(|a| a.saturating_duration_since(Instant::now()));
        let value = match left {
            // A zero value disarms: one nanosecond fires at once instead.
            Some(d) => libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos().max(1) as libc::c_long,
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: a valid descriptor and a fully initialised itimerspec; the old value is
        // not asked for.
        unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut());
        }
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
    async fn drive(self: Rc<Self>) {
        loop {
            let Ok(mut ready) = self.fd.readable().await else {
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
            for (at, waker) in self.waiting.borrow().iter().flatten() {
                if *at <= now {
                    waker.wake_by_ref();
                } else if next.is_none_or(|n| *at < n) {
                    next = Some(*at);
                }
            }
            self.arm(next);
        }
    }
}

/// This thread's timer, made (and its driver spawned on the current `LocalSet`) on first
/// use; None where Linux gives no timerfd or the thread runs no `LocalSet`.
fn timer() -> Option<Rc<Timer>> {
    TIMER.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(made) = &*t {
            return made.clone();
        }
        let made = if crate::util::runtime::in_local_set() {
            Timer::new().ok().map(Rc::new)
        } else {
            None
        };
        if let Some(timer) = &made {
            tokio::task::spawn_local(timer.clone().drive());
        }
        *t = Some(made.clone());
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
            if let Some(s) = self.slot.take() {
                if let Some(t) = &self.timer {
                    t.forget(s);
                }
            }
            return Poll::Ready(());
        }
        match self.timer.clone() {
            Some(t) => {
                let slot = t.wait(self.slot, self.at, cx.waker());
                self.slot = Some(slot);
                Poll::Pending
            }
            None => {
                let at = tokio::time::Instant::from_std(self.at);
                self.fallback
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)))
                    .as_mut()
                    .poll(cx)
            }
        }
    }
}

impl Drop for PreciseSleep {
    fn drop(&mut self) {
        if let (Some(t), Some(s)) = (&self.timer, self.slot) {
            t.forget(s);
        }
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

    async fn futures_poll_once<F: Future + Unpin>(mut f: F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut f).poll(cx))).await
    }
}
