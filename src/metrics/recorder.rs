//! Recording. Each worker thread owns one [`Recorder`], shared by the connections it runs;
//! they never run at once, so its mutex is only ever contended by the once-a-second
//! collector.

use super::hist::new_histogram;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts and latencies of one operation kind.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub committed: u64,
    pub failed: u64,
    /// Extra attempts after serialization failures, deadlocks or lock timeouts.
    pub retries: u64,
    /// From intended start to end (coordinated omission corrected), µs.
    pub response: Histogram<u64>,
    /// From actual start to end, µs.
    pub service: Histogram<u64>,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            committed: 0,
            failed: 0,
            retries: 0,
            response: new_histogram(),
            service: new_histogram(),
        }
    }
}

impl OpStats {
    pub fn merge(&mut self, other: &OpStats) {
        self.committed += other.committed;
        self.failed += other.failed;
        self.retries += other.retries;
        // Auto-resizing histograms accept any value; the add cannot fail.
        let _ = self.response.add(&other.response);
        let _ = self.service.add(&other.service);
    }
}

/// Occurrences of one error class.
#[derive(Debug, Clone, Default)]
pub struct ErrorTally {
    pub count: u64,
    pub retryable: bool,
    pub first_message: String,
}

/// Everything recorded since the last collection.
#[derive(Debug, Clone)]
pub struct Interval {
    pub ops: Vec<OpStats>,
    pub errors: HashMap<String, ErrorTally>,
    /// Schedule lag (actual start - intended start), summed and max, µs; and its count.
    pub lag_sum_us: u64,
    pub lag_max_us: u64,
    pub lag_count: u64,
    /// Scheduled starts that never happened because the run ended first.
    pub missed: u64,
    /// Of `missed`, those that fell while the connection was lost and could not be reopened.
    pub missed_down: u64,
    /// How long each missed start had waited when the run ended (a lower bound of the
    /// latency it would have had), µs. Part of the run's response times, not of any operation:
    /// which operation it would have been was never decided.
    pub unstarted: Histogram<u64>,
    /// Transactions still waiting for an answer when the run ended or was interrupted.
    pub in_flight: u64,
    /// The longest of their waits (from the intended start), µs.
    pub in_flight_max_wait_us: u64,
    /// Most recent error messages, for the live display.
    pub recent_errors: Vec<String>,
}

impl Default for Interval {
    fn default() -> Self {
        Interval {
            ops: Vec::new(),
            errors: HashMap::new(),
            lag_sum_us: 0,
            lag_max_us: 0,
            lag_count: 0,
            missed: 0,
            missed_down: 0,
            unstarted: new_histogram(),
            in_flight: 0,
            in_flight_max_wait_us: 0,
            recent_errors: Vec::new(),
        }
    }
}

impl Interval {
    pub fn with_ops(n: usize) -> Self {
        Interval {
            ops: (0..n).map(|_| OpStats::default()).collect(),
            ..Default::default()
        }
    }

    pub fn merge(&mut self, other: &Interval) {
        if self.ops.len() < other.ops.len() {
            self.ops.resize_with(other.ops.len(), OpStats::default);
        }
        for (a, b) in self.ops.iter_mut().zip(&other.ops) {
            a.merge(b);
        }
        for (k, v) in &other.errors {
            let e = self.errors.entry(k.clone()).or_insert_with(|| ErrorTally {
                count: 0,
                retryable: v.retryable,
                first_message: v.first_message.clone(),
            });
            e.count += v.count;
        }
        self.lag_sum_us += other.lag_sum_us;
        self.lag_max_us = self.lag_max_us.max(other.lag_max_us);
        self.lag_count += other.lag_count;
        self.missed += other.missed;
        self.missed_down += other.missed_down;
        let _ = self.unstarted.add(&other.unstarted);
        self.in_flight += other.in_flight;
        self.in_flight_max_wait_us = self.in_flight_max_wait_us.max(other.in_flight_max_wait_us);
        self.recent_errors
            .extend(other.recent_errors.iter().cloned());
        let n = self.recent_errors.len();
        if n > 5 {
            self.recent_errors.drain(..n - 5);
        }
    }

    pub fn committed(&self) -> u64 {
        self.ops.iter().map(|o| o.committed).sum()
    }

    pub fn failed(&self) -> u64 {
        self.ops.iter().map(|o| o.failed).sum()
    }

    pub fn retries(&self) -> u64 {
        self.ops.iter().map(|o| o.retries).sum()
    }

    /// All response times in one histogram: every operation's, and the waits of the starts
    /// that never happened.
    pub fn all_response(&self) -> Histogram<u64> {
        let mut h = self.unstarted.clone();
        for o in &self.ops {
            let _ = h.add(&o.response);
        }
        h
    }

    /// All operations' service times in one histogram.
    pub fn all_service(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for o in &self.ops {
            let _ = h.add(&o.service);
        }
        h
    }
}

/// A connection's handle for recording.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Interval>>,
    ops: usize,
}

impl Recorder {
    pub fn new(ops: usize) -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(Interval::with_ops(ops))),
            ops,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Interval) -> R) -> R {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut g)
    }

    /// Records a finished transaction.
    pub fn transaction(
        &self,
        op: usize,
        ok: bool,
        retries: u32,
        response_us: u64,
        service_us: u64,
        lag_us: u64,
    ) {
        self.with(|i| {
            let s = &mut i.ops[op];
            if ok {
                s.committed += 1;
            } else {
                s.failed += 1;
            }
            s.retries += retries as u64;
            let _ = s.response.record(response_us.max(1));
            let _ = s.service.record(service_us.max(1));
            i.lag_sum_us += lag_us;
            i.lag_max_us = i.lag_max_us.max(lag_us);
            i.lag_count += 1;
        })
    }

    /// Records scheduled starts that the run could not make; `down`: because the connection
    /// was lost.
    /// `waits_us`: how long each had waited by the end of the run.
    pub fn missed(&self, waits_us: &[u64], down: bool) {
        let n = waits_us.len() as u64;
        self.with(|i| {
            i.missed += n;
            if down {
                i.missed_down += n;
            }
            for w in waits_us {
                let _ = i.unstarted.record((*w).max(1));
            }
        })
    }

    /// Records a transaction that had no answer when the run ended. Its wait so far goes into
    /// the response times (a lower bound: it would have waited longer), so a stall at the end
    /// still shows in the percentiles.
    pub fn in_flight(&self, op: usize, waited_us: u64) {
        self.with(|i| {
            i.in_flight += 1;
            i.in_flight_max_wait_us = i.in_flight_max_wait_us.max(waited_us);
            let _ = i.ops[op].response.record(waited_us.max(1));
        })
    }

    /// Records one error occurrence (each failed attempt, retried or not).
    pub fn error(&self, class: &str, retryable: bool, message: &str) {
        self.with(|i| {
            let e = i
                .errors
                .entry(class.to_string())
                .or_insert_with(|| ErrorTally {
                    count: 0,
                    retryable,
                    first_message: message.to_string(),
                });
            e.count += 1;
            if i.recent_errors.len() >= 5 {
                i.recent_errors.remove(0);
            }
            i.recent_errors.push(format!("{class}: {message}"));
        })
    }

    /// Takes what was recorded since the last call, leaving an empty interval.
    pub fn take(&self) -> Interval {
        let fresh = Interval::with_ops(self.ops);
        self.with(|i| std::mem::replace(i, fresh))
    }
}
