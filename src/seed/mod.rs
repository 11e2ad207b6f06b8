//! Filling databases with data. For now: creating and filling the built-in schemas that
//! `workload run` uses on an empty database.

pub mod builtin;
