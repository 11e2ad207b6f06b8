//! The statement workloads (patterns, custom SQL, pgbench scripts, YCSB) on the engine: a
//! [`WorkloadPlan`] prepares the statements, a [`TxGen`] per lane yields transactions, and
//! each runs as one statement in autocommit or several inside BEGIN/COMMIT.

use super::plan::{TxGen, WorkloadPlan};
use super::tx::Tx;
use crate::db::{Connection, DbError};
use crate::engine::{TxEnd, TxResult, TxSource, Workload};
use crate::value::Value;
use std::sync::Arc;

/// A plan as the engine's workload.
pub struct StatementWorkload {
    pub plan: Arc<WorkloadPlan>,
    /// Operation weights of the stages that set their own.
    pub stage_weights: Option<super::plan::StageWeights>,
}

impl Workload<Connection> for StatementWorkload {
    type Source = TxGen;

    fn op_names(&self) -> Vec<String> {
        self.plan.op_names.clone()
    }

    async fn prepare(&self, conn: &mut Connection) -> Result<(), crate::Error> {
        Ok(self.plan.prepare(conn).await?)
    }

    fn source(&self, lane: usize, seed: u64) -> TxGen {
        let g = TxGen::new(self.plan.clone(), lane, seed);
        match &self.stage_weights {
            Some(w) => g.with_stage_weights(w.clone()),
            None => g,
        }
    }
}

impl TxSource<Connection> for TxGen {
    type Tx = Tx;
    /// The key the first statement inserted, if any.
    type Answer = Option<Value>;

    fn next_tx(&mut self) -> Tx {
        TxGen::next_tx(self)
    }

    fn op(&self, tx: &Tx) -> usize {
        tx.op
    }

    async fn execute<'a>(
        &'a mut self,
        conn: &'a mut Connection,
        tx: &'a Tx,
    ) -> Result<Option<Value>, DbError> {
        execute(conn, tx).await
    }

    fn stage(&mut self, stage: usize) {
        self.enter_stage(stage);
    }

    fn outcome(&mut self, tx: Tx, result: TxResult<Option<Value>>, _end: TxEnd) {
        if let TxResult::Committed(key) = result {
            self.committed(&tx, key);
        }
    }
}

/// Runs one transaction; multi-statement ones inside BEGIN/COMMIT.
async fn execute(conn: &mut Connection, tx: &Tx) -> Result<Option<Value>, DbError> {
    if tx.steps.len() == 1 {
        let s = &tx.steps[0];
        return Ok(conn.run(s.stmt, &s.params).await?.inserted_key());
    }
    let dialect = conn.dialect();
    conn.execute(dialect.begin(tx.writes)).await?;
    let mut first_key = None;
    for (i, s) in tx.steps.iter().enumerate() {
        let res = match s.key_from {
            Some((_, p)) => {
                let mut params = s.params.clone();
                if let Some(slot) = params.get_mut(p) {
                    *slot = first_key.clone().unwrap_or(Value::Null);
                }
                conn.run(s.stmt, &params).await
            }
            None => conn.run(s.stmt, &s.params).await,
        };
        match res {
            Ok(out) => {
                if i == 0 {
                    first_key = out.inserted_key();
                }
            }
            Err(e) => {
                conn.rollback_after(&e).await;
                return Err(e);
            }
        }
    }
    if let Err(e) = conn.execute("COMMIT").await {
        conn.rollback_after(&e).await;
        return Err(e);
    }
    Ok(first_key)
}
