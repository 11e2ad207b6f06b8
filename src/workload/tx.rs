//! One transaction as the engine runs it: statements with their parameters.

use crate::value::Value;

/// One statement of a transaction.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index of the prepared statement.
    pub stmt: usize,
    pub params: Vec<Value>,
    /// Take parameter `.1` from the key that step `.0` inserted (insert-then-delete).
    pub key_from: Option<(usize, usize)>,
}

/// A transaction: one statement runs in autocommit, several inside BEGIN/COMMIT.
#[derive(Debug, Clone)]
pub struct Tx {
    /// Index into the plan's operation names.
    pub op: usize,
    pub steps: Vec<Step>,
    /// Whether it writes (SQLite then takes its write lock at BEGIN).
    pub writes: bool,
    /// After commit, remember the key step 0 inserted into this table, for later deletes.
    pub remember_insert: Option<usize>,
    /// The key step 0 inserted, when the client chose it.
    pub client_key: Option<Value>,
}
