//! Filling databases with realistic, deterministic data: TOML rules, presets, or rules
//! inferred from the schema; loaded in foreign-key order with each database's bulk path.

pub mod builtin;
pub mod config;
pub mod consistency;
pub mod generators;
pub mod infer;
pub mod keys;
pub mod meaning;
pub mod presets;
pub mod run;

pub use run::{run_seed, SeedError, SeedOptions, SeedReport, Source};
