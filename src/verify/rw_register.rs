//! Read-write register inference, after Elle's `rw-register` checker. Values written to a key
//! are unique, so a read names its writer; the version order of each key is only partly
//! known, from these sources:
//!
//! - the initial state: the unwritten register (read as null) comes before every write;
//! - writes follow reads: a transaction that read version a of a key and then wrote b puts
//!   a before b;
//! - optionally, `linearizable-keys`: per key, an operation that completed before another was
//!   invoked saw or wrote an earlier (or the same) version;
//! - optionally, `sequential-keys`: per key, the versions one process saw or wrote, in order.
//!
//! A cycle among versions of one key is `cyclic-versions`. Each version edge a < b gives a
//! ww edge between their writers and rw edges from every reader of a to the writer of b; each
//! read gives a wr edge from the writer of its value.

use super::checker::Finding;
use super::fxhash::{FxMap, FxSet};
use super::graph::{Graph, RW, WR, WW};
use super::model::Kind;
use super::parse::{RawF, RawVal};
use super::txns::{Complete, Status, Txns, F, NIL};

/// Which extra version-order assumptions to make.
#[derive(Debug, Clone, Copy, Default)]
pub struct Assume {
    pub linearizable_keys: bool,
    pub sequential_keys: bool,
}

/// Findings gathered while the history streams past.
#[derive(Default)]
pub struct Stream {
    pub findings: Vec<Finding>,
    lost: Vec<(u32, u64, u32)>,
}

impl Stream {
    pub fn on_txn(&mut self, t: &Txns, c: Complete<'_>) {
        if c.status != Status::Ok {
            return;
        }
        let name = t.txns[c.id as usize].index;
        let mut state: FxMap<u32, u64> = FxMap::default();
        let mut first_read: FxMap<u32, u64> = FxMap::default();
        let mut written: FxSet<u32> = FxSet::default();
        let mut internal = false;
        for (m, &k) in c.mops.iter().zip(c.keys) {
            match (&m.f, &m.val) {
                (RawF::Write | RawF::Append, RawVal::Int(v)) => {
                    if written.insert(k) {
                        if let Some(&r) = first_read.get(&k) {
                            self.lost.push((k, r, c.id));
                        }
                    }
                    state.insert(k, *v);
                }
                (RawF::Read, v) => {
                    let v = match v {
                        RawVal::Int(v) => *v,
                        _ => NIL,
                    };
                    if !written.contains(&k) {
                        first_read.entry(k).or_insert(v);
                    }
                    if let Some(&exp) = state.get(&k) {
                        if exp != v && !internal {
                            internal = true;
                            self.findings.push(Finding::new(
                                Kind::Internal,
                                vec![c.id],
                                format!(
                                    "T{name} read key {} = {} but its own earlier operations imply {}",
                                    t.key_name(k),
                                    val(v),
                                    val(exp)
                                ),
                            ));
                        }
                    }
                    state.insert(k, v);
                }
                _ => {}
            }
        }
    }
}

fn val(v: u64) -> String {
    if v == NIL {
        "nil".into()
    } else {
        v.to_string()
    }
}

/// Per key: the external read (before any own write) and the final write.
type Ext = (u32, Option<u64>, Option<u64>);

/// Per transaction and key: the external read (before any own write) and the final write.
fn ext(tx: &Txns, t: u32) -> Vec<Ext> {
    let mut out: Vec<Ext> = Vec::new();
    for m in tx.mops_of(t) {
        let i = match out.iter().position(|e| e.0 == m.key) {
            Some(i) => i,
            None => {
                out.push((m.key, None, None));
                out.len() - 1
            }
        };
        match m.f {
            F::Read if out[i].2.is_none() && out[i].1.is_none() => out[i].1 = Some(m.val),
            F::Write | F::Append => out[i].2 = Some(m.val),
            _ => {}
        }
    }
    out
}

/// The version edges and indexes the explanations need.
pub struct Index {
    versions: FxSet<(u32, u64, u64)>,
    writes: FxMap<(u32, u64), u32>,
}

impl Index {
    pub fn explain(&self, tx: &Txns, a: u32, b: u32, t: u8) -> Option<String> {
        let (na, nb) = (tx.txns[a as usize].index, tx.txns[b as usize].index);
        let ea = ext(tx, a);
        let eb = ext(tx, b);
        match t {
            WW => eb.iter().find_map(|&(k, _, w2)| {
                let w2 = w2?;
                let w1 = ea.iter().find(|e| e.0 == k)?.2?;
                self.versions.contains(&(k, w1, w2)).then(|| {
                    format!(
                        "T{nb} wrote {w2} to key {} after T{na} wrote {w1}",
                        tx.key_name(k)
                    )
                })
            }),
            WR => eb.iter().find_map(|&(k, r, _)| {
                let r = r?;
                (r != NIL && self.writes.get(&(k, r)) == Some(&a))
                    .then(|| format!("T{nb} read key {} = {r}, written by T{na}", tx.key_name(k)))
            }),
            RW => eb.iter().find_map(|&(k, _, w2)| {
                let w2 = w2?;
                let r = ea.iter().find(|e| e.0 == k)?.1?;
                self.versions.contains(&(k, r, w2)).then(|| {
                    format!(
                        "T{na} read key {} = {}, a version before the {w2} that T{nb} wrote",
                        tx.key_name(k),
                        val(r)
                    )
                })
            }),
            _ => None,
        }
    }
}

pub fn analyze(
    tx: &Txns,
    s: Stream,
    assume: Assume,
    edges: &mut Vec<(u32, u32, u8)>,
    unknown: &mut Vec<String>,
) -> (Vec<Finding>, Index) {
    let mut out = s.findings;
    let mut writes: FxMap<(u32, u64), u32> = FxMap::default();
    let mut failed: FxMap<(u32, u64), u32> = FxMap::default();
    let mut intermediate: FxMap<(u32, u64), u32> = FxMap::default();
    let n = tx.txns.len() as u32;
    let mut exts: Vec<Vec<Ext>> = Vec::with_capacity(n as usize);
    for i in 0..n {
        let e = ext(tx, i);
        let st = tx.txns[i as usize].status;
        let mut last: FxMap<u32, u64> = FxMap::default();
        for m in tx.mops_of(i) {
            if matches!(m.f, F::Write | F::Append) {
                if let Some(p) = last.insert(m.key, m.val) {
                    intermediate.insert((m.key, p), i);
                }
            }
        }
        for &(k, _, w) in &e {
            if let Some(w) = w {
                let prev = if st == Status::Fail {
                    failed.insert((k, w), i)
                } else {
                    writes.insert((k, w), i)
                };
                if let Some(p) = prev {
                    if unknown.len() < 3 {
                        unknown.push(format!(
                            "value {w} was written to key {} more than once (T{} and T{}); writes must be unique",
                            tx.key_name(k),
                            tx.txns[p as usize].index,
                            tx.txns[i as usize].index
                        ));
                    }
                }
            }
        }
        exts.push(e);
    }
    // Aborted and intermediate reads.
    for i in 0..n {
        let x = &tx.txns[i as usize];
        if x.status != Status::Ok {
            continue;
        }
        for &(k, r, _) in &exts[i as usize] {
            let Some(r) = r else { continue };
            if r == NIL {
                continue;
            }
            if let Some(&f) = failed.get(&(k, r)) {
                out.push(Finding::new(
                    Kind::G1a,
                    vec![i, f],
                    format!(
                        "T{} read key {} = {r}, written by T{}, a transaction that failed",
                        x.index,
                        tx.key_name(k),
                        tx.txns[f as usize].index
                    ),
                ));
            } else if let Some(&w) = intermediate.get(&(k, r)) {
                if w != i {
                    out.push(Finding::new(
                        Kind::G1b,
                        vec![i, w],
                        format!(
                            "T{} read key {} = {r}, an intermediate write of T{}, which wrote key {} again afterwards",
                            x.index,
                            tx.key_name(k),
                            tx.txns[w as usize].index,
                            tx.key_name(k)
                        ),
                    ));
                }
            } else if !writes.contains_key(&(k, r)) {
                out.push(Finding::new(
                    Kind::GarbageRead,
                    vec![i],
                    format!(
                        "T{} read key {} = {r}, which no transaction wrote",
                        x.index,
                        tx.key_name(k)
                    ),
                ));
            }
        }
    }
    // Lost update.
    let mut lost = s.lost;
    lost.sort_unstable();
    for g in lost.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        if g.len() < 2 {
            continue;
        }
        let names: Vec<String> = g
            .iter()
            .map(|x| format!("T{}", tx.txns[x.2 as usize].index))
            .collect();
        out.push(Finding::new(
            Kind::LostUpdate,
            g.iter().map(|x| x.2).collect(),
            format!(
                "{} all read key {} = {} and then wrote it; each write was made without seeing the others",
                names.join(", "),
                tx.key_name(g[0].0),
                val(g[0].1)
            ),
        ));
    }
    // Version order.
    let mut versions: FxSet<(u32, u64, u64)> = FxSet::default();
    for (&(k, v), _) in writes.iter() {
        versions.insert((k, NIL, v));
    }
    // Writes follow reads (Elle infers it from ok transactions only: both values are known).
    for i in 0..n {
        if tx.txns[i as usize].status != Status::Ok {
            continue;
        }
        for &(k, r, w) in &exts[i as usize] {
            if let (Some(r), Some(w)) = (r, w) {
                if r != w {
                    versions.insert((k, r, w));
                }
            }
        }
    }
    // The last version a transaction left a key at, and the first it saw of it.
    let value_of = |i: u32, k: u32| -> Option<u64> {
        exts[i as usize]
            .iter()
            .find(|e| e.0 == k)
            .and_then(|e| e.2.or(e.1))
    };
    let first_of = |i: u32, k: u32| -> Option<u64> {
        exts[i as usize]
            .iter()
            .find(|e| e.0 == k)
            .and_then(|e| e.1.or(e.2))
    };
    if assume.sequential_keys {
        let mut by_invoke: Vec<u32> = (0..n).filter(|&i| tx.possible(i)).collect();
        by_invoke.sort_unstable_by_key(|&i| tx.txns[i as usize].invoke);
        let mut last: FxMap<(u64, u32), u64> = FxMap::default();
        for i in by_invoke {
            let p = tx.txns[i as usize].process;
            for &(k, r, w) in &exts[i as usize] {
                for v in [r, w].into_iter().flatten() {
                    if let Some(prev) = last.insert((p, k), v) {
                        if prev != v {
                            versions.insert((k, prev, v));
                        }
                    }
                }
            }
        }
    }
    if assume.linearizable_keys {
        // Per key, an event sweep: at each invocation, every operation on the key that had
        // completed (and is not implied by a later completion) saw an earlier version.
        let mut per_key: FxMap<u32, Vec<(u64, bool, u32)>> = FxMap::default();
        for i in 0..n {
            let x = &tx.txns[i as usize];
            if x.status == Status::Fail {
                continue;
            }
            for &(k, _, _) in &exts[i as usize] {
                let ev = per_key.entry(k).or_default();
                ev.push((x.invoke, false, i));
                if x.status == Status::Ok && x.complete != u64::MAX {
                    ev.push((x.complete, true, i));
                }
            }
        }
        for (k, mut ev) in per_key {
            ev.sort_unstable();
            let mut frontier: Vec<u32> = Vec::new();
            for (_, done, i) in ev {
                if done {
                    let inv = tx.txns[i as usize].invoke;
                    frontier.retain(|&f| tx.txns[f as usize].complete > inv);
                    frontier.push(i);
                } else if let Some(v) = first_of(i, k) {
                    for &f in &frontier {
                        if let Some(fv) = value_of(f, k) {
                            if fv != v {
                                versions.insert((k, fv, v));
                            }
                        }
                    }
                }
            }
        }
    }
    // Cycles among versions.
    let mut ids: FxMap<(u32, u64), u32> = FxMap::default();
    let mut names: Vec<(u32, u64)> = Vec::new();
    let mut vedges = Vec::new();
    for &(k, a, b) in &versions {
        let mut id = |x: u64| {
            *ids.entry((k, x)).or_insert_with(|| {
                names.push((k, x));
                names.len() as u32 - 1
            })
        };
        let (ia, ib) = (id(a), id(b));
        vedges.push((ia, ib, WW));
    }
    let vg = Graph::build(names.len(), vedges);
    for comp in super::graph::sccs(&vg, WW, None) {
        let k = names[comp[0] as usize].0;
        let vals: Vec<String> = comp.iter().map(|&c| val(names[c as usize].1)).collect();
        out.push(Finding::new(
            Kind::CyclicVersions,
            vec![],
            format!(
                "the versions of key {} cannot be ordered: {} each come before another",
                tx.key_name(k),
                vals.join(", ")
            ),
        ));
    }
    // Edges.
    let mut readers: FxMap<(u32, u64), Vec<u32>> = FxMap::default();
    for i in 0..n {
        if tx.txns[i as usize].status == Status::Fail {
            continue;
        }
        for &(k, r, _) in &exts[i as usize] {
            if let Some(r) = r {
                readers.entry((k, r)).or_default().push(i);
                if r != NIL {
                    if let Some(&w) = writes.get(&(k, r)) {
                        edges.push((w, i, WR));
                    }
                }
            }
        }
    }
    for &(k, a, b) in &versions {
        let Some(&wb) = writes.get(&(k, b)) else {
            continue;
        };
        if a != NIL {
            if let Some(&wa) = writes.get(&(k, a)) {
                edges.push((wa, wb, WW));
            }
        }
        if let Some(rs) = readers.get(&(k, a)) {
            for &r in rs {
                edges.push((r, wb, RW));
            }
        }
    }
    (out, Index { versions, writes })
}
