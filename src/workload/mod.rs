//! Workloads: configuration, the built-in patterns, custom queries, and the plan that turns
//! them into prepared statements and transactions.

pub mod connector;
pub mod custom;
pub mod list_append;
pub mod mix;
pub mod pattern;
pub mod pgbench;
pub mod plan;
pub mod run;
pub mod statements;
pub mod tpcc;
pub mod tx;
pub mod writers_readers;
pub mod ycsb;

pub use crate::config::{WorkloadConfig, WorkloadFile};
pub use pattern::Pattern;
pub use plan::WorkloadPlan;
