//! Compact transactions: invocations paired with completions per process, keys interned to
//! `u32`, micro-ops in one flat array of fixed-size records. Read lists are not kept: a
//! list-append read is summarised by its length and last element (every check that needs the
//! whole list runs while it streams past, see `list_append::Stream`).

use super::fxhash::FxMap;
use super::parse::{RawF, RawKey, RawMop, RawOp, RawProcess, RawType, RawVal};

/// How a transaction ended. `Info` (and an invocation that never completed) may have
/// committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Info,
    Fail,
}

/// Value of a register read of the initial state, or of a read whose result is unknown.
pub const NIL: u64 = u64::MAX;

/// What a micro-op did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum F {
    Append,
    Write,
    /// A read whose value is known: a list (`len`, last element in `val`, `NIL` when empty),
    /// or a register (`val`, `NIL` for the initial state).
    Read,
    /// A read whose value is not known (an invocation's or an indeterminate op's `null`).
    ReadUnknown,
}

/// One micro-op: 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mop {
    pub key: u32,
    pub f: F,
    /// Length of a list read.
    pub len: u32,
    pub val: u64,
}

/// One transaction.
#[derive(Debug, Clone, Copy)]
pub struct Txn {
    pub status: Status,
    pub process: u64,
    /// Position of the invocation in the history (ops counted from 0).
    pub invoke: u64,
    /// Position of the completion; `u64::MAX` when it never completed or ended `info`.
    pub complete: u64,
    /// The completion's `index` (its name, as in Elle: T<index>).
    pub index: u64,
    pub mops: u32,
    pub nmops: u32,
    /// Error class of a failed or indeterminate op, interned in `Txns::errors`.
    pub error: Option<u32>,
}

/// All transactions of a history.
#[derive(Debug, Default)]
pub struct Txns {
    pub txns: Vec<Txn>,
    pub mops: Vec<Mop>,
    pub keys: Vec<RawKey>,
    pub key_ids: FxMap<RawKey, u32>,
    pub errors: Vec<String>,
    /// Operations read, and operations ignored (nemesis and other non-client ops).
    pub ops: u64,
    pub ignored: u64,
}

impl Txns {
    pub fn mops_of(&self, t: u32) -> &[Mop] {
        let x = &self.txns[t as usize];
        &self.mops[x.mops as usize..(x.mops + x.nmops) as usize]
    }

    pub fn key_name(&self, k: u32) -> String {
        self.keys
            .get(k as usize)
            .map(|k| k.to_string())
            .unwrap_or_else(|| "?".into())
    }

    /// Whether the transaction may have committed (it is part of the graph).
    pub fn possible(&self, t: u32) -> bool {
        self.txns[t as usize].status != Status::Fail
    }

    fn key(&mut self, k: RawKey) -> u32 {
        if let Some(&id) = self.key_ids.get(&k) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(k.clone());
        self.key_ids.insert(k, id);
        id
    }

    /// Counts of errors by class over failed and indeterminate transactions.
    pub fn error_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut m = std::collections::BTreeMap::new();
        for t in &self.txns {
            if let Some(e) = t.error {
                *m.entry(self.errors[e as usize].clone()).or_insert(0) += 1;
            }
        }
        m
    }
}

/// A transaction as it streams past, with its full micro-ops (read lists included), handed to
/// the workload's per-transaction checks before it is compacted.
pub struct Complete<'a> {
    pub id: u32,
    pub status: Status,
    pub mops: &'a [RawMop],
    /// Interned keys of `mops`, in order.
    pub keys: &'a [u32],
}

/// An open invocation: its position and micro-ops.
type Open = (u64, Option<Vec<RawMop>>);

/// Pairs invocations with completions, op by op.
#[derive(Default)]
pub struct Builder {
    pub out: Txns,
    open: FxMap<u64, Open>,
    pos: u64,
    error_ids: FxMap<String, u32>,
    keybuf: Vec<u32>,
}

impl Builder {
    /// Takes the next operation; calls `on_txn` for each transaction completed by it.
    pub fn push(&mut self, op: RawOp, on_txn: &mut dyn FnMut(&Txns, Complete<'_>)) {
        let pos = self.pos;
        self.pos += 1;
        self.out.ops += 1;
        let RawProcess::Client(p) = op.process else {
            self.out.ignored += 1;
            return;
        };
        if op.typ == RawType::Invoke {
            // An invocation left open by the same process never completed: indeterminate.
            if let Some((inv, mops)) = self.open.remove(&p) {
                self.finish(p, inv, u64::MAX, inv, Status::Info, mops, None, on_txn);
            }
            self.open.insert(p, (pos, op.mops));
            return;
        }
        let (inv, inv_mops) = self.open.remove(&p).unwrap_or((pos, None));
        let status = match op.typ {
            RawType::Ok => Status::Ok,
            RawType::Fail => Status::Fail,
            _ => Status::Info,
        };
        let mops = match op.mops {
            Some(m) if !m.is_empty() => Some(m),
            _ => inv_mops,
        };
        let complete = if status == Status::Info {
            u64::MAX
        } else {
            pos
        };
        let error = op.error.map(|e| {
            let n = self.error_ids.len() as u32;
            *self.error_ids.entry(e.clone()).or_insert_with(|| {
                self.out.errors.push(e);
                n
            })
        });
        self.finish(
            p,
            inv,
            complete,
            op.index.unwrap_or(pos),
            status,
            mops,
            error,
            on_txn,
        );
    }

    /// Ends the stream: invocations that never completed become indeterminate transactions.
    pub fn finish_all(mut self, on_txn: &mut dyn FnMut(&Txns, Complete<'_>)) -> Txns {
        let mut open: Vec<(u64, Open)> = self.open.drain().collect();
        open.sort_by_key(|(_, (inv, _))| *inv);
        for (p, (inv, mops)) in open {
            self.finish(p, inv, u64::MAX, inv, Status::Info, mops, None, on_txn);
        }
        self.out
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        process: u64,
        invoke: u64,
        complete: u64,
        index: u64,
        status: Status,
        mops: Option<Vec<RawMop>>,
        error: Option<u32>,
        on_txn: &mut dyn FnMut(&Txns, Complete<'_>),
    ) {
        let mops = mops.unwrap_or_default();
        let id = self.out.txns.len() as u32;
        let start = self.out.mops.len() as u32;
        self.keybuf.clear();
        for m in &mops {
            let key = self.out.key(m.key.clone());
            self.keybuf.push(key);
            let (f, len, val) = match (&m.f, &m.val) {
                (RawF::Append, RawVal::Int(v)) => (F::Append, 0, *v),
                (RawF::Write, RawVal::Int(v)) => (F::Write, 0, *v),
                (RawF::Read, RawVal::List(l)) => {
                    (F::Read, l.len() as u32, l.last().copied().unwrap_or(NIL))
                }
                (RawF::Read, RawVal::Int(v)) => (F::Read, 1, *v),
                // A completed read of null is the initial state (an empty list, or a register
                // never written); elsewhere null means "not known".
                (RawF::Read, RawVal::Null) if status == Status::Ok => (F::Read, 0, NIL),
                _ => (F::ReadUnknown, 0, NIL),
            };
            self.out.mops.push(Mop { key, f, len, val });
        }
        self.out.txns.push(Txn {
            status,
            process,
            invoke,
            complete,
            index,
            mops: start,
            nmops: mops.len() as u32,
            error,
        });
        on_txn(
            &self.out,
            Complete {
                id,
                status,
                mops: &mops,
                keys: &self.keybuf,
            },
        );
    }
}
