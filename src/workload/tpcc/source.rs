//! TPC-C-like as one engine source: each lane is a terminal bound to a home warehouse and
//! district; it draws the next business transaction by the weighted mix and its inputs by
//! the specification's rules; the engine runs, retries and records it per transaction type.

use super::random::{Constants, DISTRICTS};
use super::transactions::{self as txs, Done, Terminal, Tx};
use crate::datagen::Rng;
use crate::db::{Connection, DbError};
use crate::engine::{TxEnd, TxResult, TxSource, Workload};
use crate::workload::mix::Mix;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What the terminals count beyond the engine's per-type results (measured part only).
#[derive(Debug, Default)]
pub struct Counts {
    /// New-Orders rolled back by the intended unused item id.
    pub rollbacks: AtomicU64,
    /// Payment and Order-Status transactions that chose their customer by last name.
    pub by_last_name: AtomicU64,
    /// Payments by a customer of another warehouse.
    pub remote_payments: AtomicU64,
    /// Order lines supplied by another warehouse.
    pub remote_lines: AtomicU64,
    pub order_lines: AtomicU64,
    /// Districts a Delivery found without an undelivered order.
    pub skipped_deliveries: AtomicU64,
}

/// The workload the engine runs.
pub struct TpccWorkload {
    pub warehouses: i64,
    pub weights: [f64; 5],
    pub consts: Constants,
    pub counts: Arc<Counts>,
    /// Spec mode: each terminal keys and thinks for the times clause 5.2.5 gives per
    /// transaction type.
    pub spec_pauses: bool,
}

impl Workload<Connection> for TpccWorkload {
    type Source = TpccSource;

    fn op_names(&self) -> Vec<String> {
        txs::NAMES.iter().map(|s| s.to_string()).collect()
    }

    async fn prepare(&self, c: &mut Connection) -> Result<(), crate::Error> {
        let sqls = txs::statements(c.dialect().kind());
        c.prepare_all(&sqls)
            .await
            .map_err(|e| crate::Error::db("preparing the tpcc statements", e))
    }

    fn source(&self, lane: usize, seed: u64) -> TpccSource {
        let w = self.warehouses.max(1);
        let lane = lane as i64;
        TpccSource {
            terminal: Terminal {
                warehouses: w,
                home: lane % w + 1,
                district: (lane / w) % DISTRICTS + 1,
                consts: self.consts,
            },
            mix: Mix::new(&self.weights).offset(lane as usize),
            rng: Rng::derive(seed, lane as u64),
            counts: self.counts.clone(),
            spec_pauses: self.spec_pauses,
            picked: None,
            last: None,
        }
    }
}

/// One terminal.
pub struct TpccSource {
    terminal: Terminal,
    mix: Mix,
    rng: Rng,
    counts: Arc<Counts>,
    spec_pauses: bool,
    /// The type chosen when the pause before it was (its keying time depends on it).
    picked: Option<usize>,
    /// The type of the transaction before (its think time follows it).
    last: Option<usize>,
}

impl TxSource<Connection> for TpccSource {
    type Tx = Tx;
    type Answer = Done;

    /// Clause 5.2.5: the terminal thinks after a transaction's result (exponential, mean by
    /// the type just run, capped at ten means), then keys in the next one (a fixed time by
    /// its type); the response time is measured from the end of the keying.
    fn pause(&mut self) -> Option<std::time::Duration> {
        use super::results::{KEYING_S, THINK_S};
        if !self.spec_pauses {
            return None;
        }
        let next = self.mix.pick();
        self.picked = Some(next);
        let think = self
            .last
            .map(|l| self.rng.exp(THINK_S[l]).min(10.0 * THINK_S[l]))
            .unwrap_or(0.0);
        Some(std::time::Duration::from_secs_f64(think + KEYING_S[next]))
    }

    fn next_tx(&mut self) -> Tx {
        let kind = self.picked.take().unwrap_or_else(|| self.mix.pick());
        self.last = Some(kind);
        let t = &self.terminal;
        let r = &mut self.rng;
        match kind {
            0 => t.new_order(r),
            1 => t.payment(r),
            2 => t.order_status(r),
            3 => t.delivery(r),
            _ => t.stock_level(r),
        }
    }

    fn op(&self, tx: &Tx) -> usize {
        tx.kind()
    }

    async fn execute<'a>(&'a mut self, c: &'a mut Connection, tx: &'a Tx) -> Result<Done, DbError> {
        txs::run(c, tx).await
    }

    fn outcome(&mut self, tx: Tx, result: TxResult<Done>, end: TxEnd) {
        let TxResult::Committed(done) = result else {
            return;
        };
        if !end.measured {
            return;
        }
        let k = &self.counts;
        let add = |a: &AtomicU64, n: u64| {
            a.fetch_add(n, Ordering::Relaxed);
        };
        match (&tx, done) {
            (_, Done::RolledBack) => add(&k.rollbacks, 1),
            (_, Done::Delivered { skipped }) => add(&k.skipped_deliveries, skipped as u64),
            (Tx::NewOrder { w, lines, .. }, _) => {
                add(&k.order_lines, lines.len() as u64);
                add(
                    &k.remote_lines,
                    lines.iter().filter(|l| l.supply_w != *w).count() as u64,
                );
            }
            (
                Tx::Payment {
                    w, c_w, customer, ..
                },
                _,
            ) => {
                add(&k.remote_payments, (c_w != w) as u64);
                add(
                    &k.by_last_name,
                    matches!(customer, txs::Customer::Last(_)) as u64,
                );
            }
            (Tx::OrderStatus { customer, .. }, _) => add(
                &k.by_last_name,
                matches!(customer, txs::Customer::Last(_)) as u64,
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal(weights: [f64; 5], spec_pauses: bool) -> TpccSource {
        TpccWorkload {
            warehouses: 1,
            weights,
            consts: Constants::for_run(0, 7),
            counts: Arc::default(),
            spec_pauses,
        }
        .source(0, 7)
    }

    #[test]
    fn spec_mode_keys_by_the_next_type_and_thinks_by_the_last() {
        // New-Order only: 18 s keying, then 12 s mean think time after each.
        let mut t = terminal([1.0, 0.0, 0.0, 0.0, 0.0], true);
        assert_eq!(t.pause(), Some(std::time::Duration::from_secs(18)));
        assert_eq!(t.next_tx().kind(), 0);
        let pauses: Vec<f64> = (0..2000)
            .map(|_| {
                let p = t.pause().unwrap().as_secs_f64();
                assert_eq!(t.next_tx().kind(), 0);
                p - 18.0
            })
            .collect();
        assert!(pauses.iter().all(|p| (0.0..=120.0).contains(p)));
        let mean = pauses.iter().sum::<f64>() / pauses.len() as f64;
        assert!((mean - 12.0).abs() < 1.0, "mean think time {mean}");
        // Stock-Level only: 2 s keying, 5 s mean think.
        let mut t = terminal([0.0, 0.0, 0.0, 0.0, 1.0], true);
        assert_eq!(t.pause(), Some(std::time::Duration::from_secs(2)));
        assert_eq!(t.next_tx().kind(), 4);
        // Throughput mode: no pause of its own.
        assert_eq!(terminal([1.0; 5], false).pause(), None);
    }
}
