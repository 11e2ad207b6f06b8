//! The contract between the engine and what it drives: a [`Connector`] opens connections, a
//! [`Workload`] readies them and hands each lane a [`TxSource`], which says what the next
//! transaction is and hears how it ended. Sources never connect, sleep, retry or record: the
//! engine does that the same way for every workload.

use crate::db::DbError;
use std::future::Future;

/// Opens connections. `db::Connector` opens real ones; tests use a fake.
pub trait Connector: Send + Sync + 'static {
    type Conn: 'static;

    /// Opens one connection with its session settings (isolation, protocol).
    fn connect(&self) -> impl Future<Output = Result<Self::Conn, crate::Error>>;

    /// Another handle on the same connection, for pipelining; None where unsupported.
    fn share(&self, _conn: &Self::Conn) -> Option<Self::Conn> {
        None
    }

    /// Whether calls block their thread (SQLite): every connection then gets a thread.
    fn blocking(&self) -> bool {
        false
    }
}

/// What a workload is to the engine: operation names, per-connection preparation and one
/// transaction source per lane (a connection, or one pipeline lane of it).
pub trait Workload<C>: Send + Sync + 'static {
    type Source: TxSource<C>;

    /// Names of the operations a source's transactions are recorded under.
    fn op_names(&self) -> Vec<String>;

    /// Readies a fresh connection (prepared statements); runs again after every reconnect.
    fn prepare(&self, conn: &mut C) -> impl Future<Output = Result<(), crate::Error>>;

    /// The source of lane `lane`; `seed` makes its stream reproducible.
    fn source(&self, lane: usize, seed: u64) -> Self::Source;

    /// This lane's own rate when lanes differ (writers and readers); None: an even share.
    fn lane_rate(&self, _lane: usize) -> Option<f64> {
        None
    }
}

/// How a transaction ended, as the source is told.
#[derive(Debug)]
pub enum TxResult<A> {
    /// Committed; the source's own answer (a key inserted, a version read…).
    Committed(A),
    /// Ended with this error (after any retries); it may still have committed if the
    /// connection was lost while committing, which a source that cares tracks itself.
    Failed(DbError),
    /// Still waiting when the run ended or was interrupted: the outcome is unknown.
    InFlight,
}

/// What the engine knows about how a transaction ended, besides its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxEnd {
    /// Extra attempts after the first.
    pub retries: u32,
    /// Whether it counts in the results (false during warmup).
    pub measured: bool,
    /// It failed with a retryable error and the retry limit was reached (not: the run ended
    /// before it could be tried again).
    pub retries_exhausted: bool,
}

/// One lane's stream of transactions.
pub trait TxSource<C> {
    type Tx;
    type Answer;

    /// The next transaction to run.
    fn next_tx(&mut self) -> Self::Tx;

    /// Which operation (index into the workload's op names) this transaction is recorded as.
    fn op(&self, tx: &Self::Tx) -> usize;

    /// Runs one attempt of `tx`. A retryable error (serialization failure, deadlock, lock
    /// timeout, a workload's own conflict) is tried again by the engine up to its limit.
    fn execute<'a>(
        &'a mut self,
        conn: &'a mut C,
        tx: &'a Self::Tx,
    ) -> impl Future<Output = Result<Self::Answer, DbError>> + 'a;

    /// How `tx` ended.
    fn outcome(&mut self, tx: Self::Tx, result: TxResult<Self::Answer>, end: TxEnd);

    /// Closed loop only: how long this lane waits before its next transaction, for workloads
    /// that model one user per lane whose pause depends on what they do (TPC-C's keying time
    /// of the next transaction plus the think time after the last). None: the run's think
    /// time.
    fn pause(&mut self) -> Option<std::time::Duration> {
        None
    }

    /// The run moved into stage `stage` (an index into the run's `--stage`s; called before
    /// the first transaction of each stage this lane runs), for workloads whose operation
    /// weights change by stage.
    fn stage(&mut self, _stage: usize) {}

    /// The lane is done: hand over whatever the workload gathers after the run.
    fn finish(&mut self) {}
}
