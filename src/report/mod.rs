//! What the user sees: the live progress display and the final summary.

pub mod charts;
pub mod openmetrics;
pub mod png;
pub mod progress;
pub mod seed_progress;
pub mod summary;
pub mod svg;
