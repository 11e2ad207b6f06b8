//! One transaction as the engine runs it: statements with their parameters.

use crate::value::Value;
use smallvec::SmallVec;

/// A statement's parameters. Inline up to two (a key, or a value and a key): most
/// transactions then allocate nothing besides their values, where two `Vec`s cost ~250
/// instructions a transaction, a sixth of the engine's cost per SQLite select.
pub type Params = SmallVec<[Value; 2]>;

/// A transaction's statements; one inline.
pub type Steps = SmallVec<[Step; 1]>;

/// One statement of a transaction.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index of the prepared statement.
    pub stmt: usize,
    pub params: Params,
    /// Take parameter `.1` from the key that step `.0` inserted (insert-then-delete).
    pub key_from: Option<(usize, usize)>,
}

/// A transaction: one statement runs in autocommit, several inside BEGIN/COMMIT.
#[derive(Debug, Clone)]
pub struct Tx {
    /// Index into the plan's operation names.
    pub op: usize,
    pub steps: Steps,
    /// Whether it writes (SQLite then takes its write lock at BEGIN).
    pub writes: bool,
    /// After commit, remember the key step 0 inserted into this table, for later deletes.
    pub remember_insert: Option<usize>,
    /// The key step 0 inserted, when the client chose it.
    pub client_key: Option<Value>,
}
