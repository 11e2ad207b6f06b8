//! Isolation checking in the style of Jepsen's Elle: list-append and rw-register histories,
//! streamed into compact transactions, a dependency graph, cycle search, and verdicts against
//! Elle's lattice of consistency models.
//!
//! - `parse`: the streaming reader of both history formats
//! - `txns`: compact transactions (invocations paired with completions)
//! - `list_append`, `rw_register`: each workload's inference (anomalies and data edges)
//! - `graph`: edges, components, cycle search, cycle existence
//! - `checker`: the pipeline and the `Analysis` it returns
//! - `model`: models, anomaly kinds and how they imply each other
//! - `report`, `explain`: text, JSON, Graphviz and SVG
//! - `history`: the in-memory history the recorder writes

pub mod checker;
#[cfg(test)]
mod checker_tests;
pub mod explain;
mod fxhash;
pub mod graph;
pub mod history;
pub mod list_append;
pub mod model;
pub mod parse;
pub mod report;
pub mod rw_register;
pub mod txns;

pub use checker::{check, check_file, check_reader, Analysis, Anomaly, Options, Workload};
pub use history::{History, Mop, Op, OpType};
pub use model::Model;
