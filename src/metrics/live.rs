//! What a live display gets from a running workload, once an interval.

use super::hist::LatencySummary;
use super::result::IntervalRecord;
use std::time::Duration;

/// The state of a run at one interval tick.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub elapsed: Duration,
    /// Fraction done, 0..1, from duration or transaction count.
    pub progress: f64,
    pub in_warmup: bool,
    pub interval: IntervalRecord,
    pub committed: u64,
    pub failed: u64,
    pub retries: u64,
    pub target_tps: Option<f64>,
    /// Committed+failed per operation name since the start.
    pub op_counts: Vec<(String, u64)>,
    pub recent_errors: Vec<String>,
    pub latency: LatencySummary,
    /// The server's latest second (`metrics::server`), when it is sampled.
    pub server: Option<std::collections::BTreeMap<String, f64>>,
}

/// Receives progress; implemented by the terminal displays in `report::progress`.
pub trait ProgressSink {
    fn update(&mut self, snap: &Snapshot);
    fn finish(&mut self);
}
