//! Thresholds that make a run a test (`--threshold 'p99<20ms'`, `[thresholds]` in TOML): what
//! a user writes ([`spec`]) and how it is judged against the run ([`check`]).

pub mod check;
pub mod spec;

pub use check::{breaks_now, evaluate, ThresholdResult};
pub use spec::{Threshold, ThresholdError};
