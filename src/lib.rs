//! dbarena: seed, load, sweep, break and verify SQL databases.
//!
//! The binary in `main.rs` is a thin shell over [`cli::run`]; everything else is library code
//! that never sees clap.

pub mod chaos;
pub mod cli;
pub mod compare;
pub mod config;
pub mod datagen;
pub mod db;
pub mod engine;
pub mod error;
pub mod instance;
pub mod merge;
pub mod metrics;
pub mod net;
pub mod report;
pub mod schema;
pub mod seed;
pub mod sweep;
pub mod thresholds;
pub mod util;
pub mod value;
pub mod verify;
pub mod workload;

pub use error::{Error, ExitCode};
