//! Measurements: per-thread recorders, and the result file they end up in.

pub mod hdr_log;
pub mod hist;
pub mod live;
pub mod phases;
pub mod recorder;
pub mod result;
pub mod scaling;
pub mod server;
pub mod spill;

pub use recorder::{Interval, OpStats, Recorder};
pub use result::RunResult;
