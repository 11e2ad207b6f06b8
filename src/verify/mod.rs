//! Isolation checking in the style of Jepsen's Elle: list-append histories, a dependency
//! graph, cycle search, and verdicts against consistency models.

pub mod checker;
#[cfg(test)]
mod checker_tests;
pub mod history;
pub mod model;
pub mod report;

pub use checker::{check, Analysis, Anomaly};
pub use history::{History, Mop, Op, OpType};
pub use model::Model;
