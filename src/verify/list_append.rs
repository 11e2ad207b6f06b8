//! List-append inference, as Elle's `list-append` checker states it.
//!
//! While the history streams past: per transaction, internal consistency (a read must agree
//! with the transaction's own earlier reads and appends), future reads (reading a value the
//! same transaction appends later), and lost-update candidates; per key, the longest read so
//! far, each new read checked to be a prefix of it or to extend it (incompatible order).
//!
//! Afterwards: the version order of each key is its longest read (distinct elements), or the
//! single value of a key appended exactly once. Every append of a transaction that may have
//! committed (`ok` or `info`) is placed after its *previously appended element*: the element
//! before it in the version order, or, for an append no read saw, the last element any read
//! saw (or the initial empty state). That gives a ww edge from the writer of that element and
//! rw edges from every transaction whose read ended at it (an `ok` read of null or `[]` ends
//! at the initial state). A read gives a wr edge from the writer of its last element.

use super::checker::Finding;
use super::graph::{RW, WR, WW};
use super::model::Kind;
use super::parse::{RawF, RawVal};
use super::txns::{Complete, Status, Txns, F, NIL};
use std::collections::{HashMap, HashSet};

/// (key, reader, its list, the reader of the longest list then, that list)
type Incompatible = (u32, u32, Vec<u64>, u32, Vec<u64>);

/// Per-key state and findings gathered while the history streams past.
#[derive(Default)]
pub struct Stream {
    longest: Vec<Vec<u64>>,
    longest_reader: Vec<u32>,
    /// Reads that are neither a prefix nor an extension of the longest read of their key.
    incompatible: Vec<Incompatible>,
    pub findings: Vec<Finding>,
    /// (key, read length, last element, txn): an ok transaction that read the key before
    /// its first append to it.
    lost: Vec<(u32, u32, u64, u32)>,
}

fn show(l: &[u64]) -> String {
    if l.len() <= 12 {
        format!("{l:?}")
    } else {
        format!(
            "[{} {} {} … {} {} {}] ({} elements)",
            l[0],
            l[1],
            l[2],
            l[l.len() - 3],
            l[l.len() - 2],
            l[l.len() - 1],
            l.len()
        )
    }
}

impl Stream {
    /// Takes one transaction with its full micro-ops.
    pub fn on_txn(&mut self, t: &Txns, c: Complete<'_>) {
        if c.status == Status::Fail {
            return;
        }
        let name = t.txns[c.id as usize].index;
        for (m, &k) in c.mops.iter().zip(c.keys) {
            if m.f != RawF::Read {
                continue;
            }
            let list: &[u64] = match &m.val {
                RawVal::List(l) => l,
                RawVal::Null if c.status == Status::Ok => &[],
                _ => continue,
            };
            let k = k as usize;
            if self.longest.len() <= k {
                self.longest.resize(k + 1, Vec::new());
                self.longest_reader.resize(k + 1, u32::MAX);
            }
            let cur = &self.longest[k];
            if list.len() <= cur.len() {
                if !cur.starts_with(list) {
                    self.incompatible.push((
                        k as u32,
                        c.id,
                        list.to_vec(),
                        self.longest_reader[k],
                        cur.clone(),
                    ));
                }
            } else {
                if !list.starts_with(cur) {
                    self.incompatible.push((
                        k as u32,
                        c.id,
                        list.to_vec(),
                        self.longest_reader[k],
                        cur.clone(),
                    ));
                }
                self.longest[k] = list.to_vec();
                self.longest_reader[k] = c.id;
            }
        }
        if c.status != Status::Ok {
            return;
        }
        // Internal consistency: what the transaction's own operations imply, per key.
        // (known prefix?, elements)
        let mut state: HashMap<u32, (bool, Vec<u64>)> = HashMap::new();
        let mut read_elems: HashMap<u32, HashSet<u64>> = HashMap::new();
        let mut first_read: HashMap<u32, (u32, u64)> = HashMap::new();
        let mut written: HashSet<u32> = HashSet::new();
        let (mut internal, mut future) = (false, false);
        for (m, &k) in c.mops.iter().zip(c.keys) {
            match (&m.f, &m.val) {
                (RawF::Append, RawVal::Int(v)) => {
                    let e = state.entry(k).or_insert((false, Vec::new()));
                    e.1.push(*v);
                    if !future && read_elems.get(&k).is_some_and(|s| s.contains(v)) {
                        future = true;
                        self.findings.push(Finding::new(
                            Kind::FutureRead,
                            vec![c.id],
                            format!(
                                "T{name} read key {} containing {v} before it appended {v} itself",
                                t.key_name(k)
                            ),
                        ));
                    }
                    if written.insert(k) {
                        if let Some(&(len, last)) = first_read.get(&k) {
                            self.lost.push((k, len, last, c.id));
                        }
                    }
                }
                (RawF::Read, v) => {
                    let list: &[u64] = match v {
                        RawVal::List(l) => l,
                        _ => &[],
                    };
                    first_read
                        .entry(k)
                        .or_insert((list.len() as u32, list.last().copied().unwrap_or(NIL)));
                    read_elems
                        .entry(k)
                        .or_default()
                        .extend(list.iter().copied());
                    if let Some((known, exp)) = state.get(&k) {
                        let bad = if *known {
                            exp.as_slice() != list
                        } else {
                            !list.ends_with(exp)
                        };
                        if bad && !internal {
                            internal = true;
                            let want = if *known {
                                show(exp)
                            } else {
                                format!("a list ending in {}", show(exp))
                            };
                            self.findings.push(Finding::new(
                                Kind::Internal,
                                vec![c.id],
                                format!(
                                    "T{name} read key {} = {} but its own earlier operations imply {want}",
                                    t.key_name(k),
                                    show(list)
                                ),
                            ));
                        }
                    }
                    state.insert(k, (true, list.to_vec()));
                }
                _ => {}
            }
        }
    }
}

/// Where an appended value sits: who appended it and its place in the version order.
#[derive(Debug, Clone, Copy)]
struct W {
    txn: u32,
    /// Position in the key's version order; `u32::MAX` when no read saw it.
    pos: u32,
}

/// The version orders and indexes the explanations need after the analysis.
pub struct Index {
    order: Vec<Vec<u64>>,
    writes: HashMap<(u32, u64), W>,
}

impl Index {
    fn prev(&self, k: u32, v: u64) -> u64 {
        let order = self
            .order
            .get(k as usize)
            .map(|o| o.as_slice())
            .unwrap_or(&[]);
        match self.writes.get(&(k, v)).map(|w| w.pos) {
            Some(p) if p != u32::MAX => {
                if p == 0 {
                    NIL
                } else {
                    order[p as usize - 1]
                }
            }
            _ => order.last().copied().unwrap_or(NIL),
        }
    }

    /// One sentence saying why edge a -> b of type `t` exists.
    pub fn explain(&self, tx: &Txns, a: u32, b: u32, t: u8) -> Option<String> {
        let (na, nb) = (tx.txns[a as usize].index, tx.txns[b as usize].index);
        match t {
            WW => tx.mops_of(b).iter().find_map(|m| {
                if m.f != F::Append {
                    return None;
                }
                let p = self.prev(m.key, m.val);
                (p != NIL && self.writes.get(&(m.key, p)).map(|w| w.txn) == Some(a)).then(|| {
                    format!(
                        "T{nb} appended {} to key {} after T{na} appended {p}",
                        m.val,
                        tx.key_name(m.key)
                    )
                })
            }),
            WR => tx.mops_of(b).iter().find_map(|m| {
                (m.f == F::Read
                    && m.len > 0
                    && self.writes.get(&(m.key, m.val)).map(|w| w.txn) == Some(a))
                .then(|| {
                    format!(
                        "T{nb} read key {} ({} elements) and saw T{na}'s append of {}",
                        tx.key_name(m.key),
                        m.len,
                        m.val
                    )
                })
            }),
            RW => tx.mops_of(b).iter().find_map(|m| {
                if m.f != F::Append {
                    return None;
                }
                let p = self.prev(m.key, m.val);
                let read = tx
                    .mops_of(a)
                    .iter()
                    .any(|r| r.f == F::Read && r.key == m.key && r.val == p);
                read.then(|| {
                    if p == NIL {
                        format!(
                            "T{na} read key {} as empty (the initial state), which T{nb} changed by appending {}",
                            tx.key_name(m.key),
                            m.val
                        )
                    } else {
                        format!(
                            "T{na} read key {} ending in {p} and did not see T{nb}'s append of {}",
                            tx.key_name(m.key),
                            m.val
                        )
                    }
                })
            }),
            _ => None,
        }
    }
}

/// Everything after the stream: anomalies that are not cycles, and the data edges.
pub fn analyze(tx: &Txns, s: Stream, edges: &mut Vec<(u32, u32, u8)>) -> (Vec<Finding>, Index) {
    let mut out = s.findings;
    let nkeys = tx.keys.len();
    let mut writes: HashMap<(u32, u64), W> = HashMap::new();
    let mut failed: HashMap<(u32, u64), u32> = HashMap::new();
    let mut intermediate: HashMap<(u32, u64), u32> = HashMap::new();
    let mut appends = vec![0u32; nkeys];
    let mut single = vec![NIL; nkeys];
    let mut last_of: HashMap<u32, u64> = HashMap::new();
    for (i, x) in tx.txns.iter().enumerate() {
        let i = i as u32;
        last_of.clear();
        for m in tx.mops_of(i) {
            if m.f != F::Append {
                continue;
            }
            if let Some(prev) = last_of.insert(m.key, m.val) {
                intermediate.insert((m.key, prev), i);
            }
            if x.status == Status::Fail {
                failed.insert((m.key, m.val), i);
            } else {
                writes.insert(
                    (m.key, m.val),
                    W {
                        txn: i,
                        pos: u32::MAX,
                    },
                );
                appends[m.key as usize] += 1;
                single[m.key as usize] = m.val;
            }
        }
    }
    // Version orders.
    let mut longest = s.longest;
    longest.resize(nkeys, Vec::new());
    let mut reader = s.longest_reader;
    reader.resize(nkeys, u32::MAX);
    let mut order: Vec<Vec<u64>> = Vec::with_capacity(nkeys);
    for (k, l) in longest.iter().enumerate() {
        let mut seen = HashSet::with_capacity(l.len());
        let mut o = Vec::with_capacity(l.len());
        for &v in l {
            if seen.insert(v) {
                o.push(v);
            }
        }
        if o.is_empty() && appends[k] == 1 {
            o.push(single[k]);
        }
        for (p, &v) in o.iter().enumerate() {
            if let Some(w) = writes.get_mut(&(k as u32, v)) {
                w.pos = p as u32;
            }
        }
        order.push(o);
    }
    // Elements of reads: duplicates, aborted reads, garbage.
    let mut lists: Vec<(u32, u32, &[u64])> = Vec::new();
    for (k, l) in longest.iter().enumerate() {
        if !l.is_empty() && reader[k] != u32::MAX {
            lists.push((k as u32, reader[k], l));
        }
    }
    for (k, t, l, _, _) in &s.incompatible {
        lists.push((*k, *t, l));
    }
    for &(k, t, l) in &lists {
        let name = tx.txns[t as usize].index;
        let key = tx.key_name(k);
        let mut seen = HashSet::with_capacity(l.len());
        if let Some(d) = l.iter().find(|v| !seen.insert(**v)) {
            out.push(Finding::new(
                Kind::DuplicateElements,
                vec![t],
                format!("T{name} read key {key} = {}, which holds {d} more than once; every appended value is unique", show(l)),
            ));
        }
        for v in l {
            if writes.contains_key(&(k, *v)) {
                continue;
            }
            if let Some(&f) = failed.get(&(k, *v)) {
                if tx.txns[t as usize].status == Status::Ok {
                    out.push(Finding::new(
                        Kind::G1a,
                        vec![t, f],
                        format!(
                            "T{name} read key {key} = {}, including {v}, which was appended by T{}, a transaction that failed",
                            show(l),
                            tx.txns[f as usize].index
                        ),
                    ));
                }
            } else {
                out.push(Finding::new(
                    Kind::GarbageRead,
                    vec![t],
                    format!(
                        "T{name} read key {key} = {}, including {v}, which no transaction appended",
                        show(l)
                    ),
                ));
            }
        }
    }
    for (k, t, l, o, ol) in &s.incompatible {
        let mut txns = vec![*t];
        if *o != u32::MAX {
            txns.push(*o);
        }
        out.push(Finding::new(
            Kind::IncompatibleOrder,
            txns,
            format!(
                "T{} read key {} = {} and {} read it as {}: neither is a prefix of the other, so no single order of appends explains both",
                tx.txns[*t as usize].index,
                tx.key_name(*k),
                show(l),
                if *o == u32::MAX { "another transaction".to_string() } else { format!("T{}", tx.txns[*o as usize].index) },
                show(ol)
            ),
        ));
    }
    // G1b: a read ending in another transaction's intermediate append.
    for (i, x) in tx.txns.iter().enumerate() {
        if x.status != Status::Ok {
            continue;
        }
        for m in tx.mops_of(i as u32) {
            if m.f == F::Read && m.len > 0 {
                if let Some(&w) = intermediate.get(&(m.key, m.val)) {
                    if w != i as u32 {
                        out.push(Finding::new(
                            Kind::G1b,
                            vec![i as u32, w],
                            format!(
                                "T{} read key {} ending in {}, an intermediate append of T{}, which appended to key {} again afterwards",
                                x.index,
                                tx.key_name(m.key),
                                m.val,
                                tx.txns[w as usize].index,
                                tx.key_name(m.key)
                            ),
                        ));
                    }
                }
            }
        }
    }
    // Dirty update: a committed append after a failed one in the version order.
    for (k, l) in longest.iter().enumerate() {
        let mut t1 = Status::Ok;
        let mut from = 0usize;
        for (p, v) in l.iter().enumerate() {
            let t2 = if let Some(w) = writes.get(&(k as u32, *v)) {
                tx.txns[w.txn as usize].status
            } else if failed.contains_key(&(k as u32, *v)) {
                Status::Fail
            } else {
                continue;
            };
            match (t1, t2) {
                (Status::Fail, Status::Ok) => {
                    let aborted = l[from];
                    let f = failed.get(&(k as u32, aborted)).copied();
                    let w = writes.get(&(k as u32, *v)).map(|w| w.txn);
                    out.push(Finding::new(
                        Kind::DirtyUpdate,
                        f.into_iter().chain(w).collect(),
                        format!(
                            "key {} = {}: {aborted} came from a failed transaction, yet the committed append {v} follows it",
                            tx.key_name(k as u32),
                            show(&l[..=p])
                        ),
                    ));
                    t1 = Status::Ok;
                }
                (_, Status::Info) => {}
                (_, Status::Fail) if t1 != Status::Fail => {
                    t1 = Status::Fail;
                    from = p;
                }
                (_, Status::Fail) => {}
                (_, Status::Ok) => t1 = Status::Ok,
            }
        }
    }
    // Lost update: two committed transactions read the same version and both appended.
    let mut lost = s.lost;
    lost.sort_unstable();
    for g in lost.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
        if g.len() < 2 {
            continue;
        }
        let (k, len, last, _) = g[0];
        let names: Vec<String> = g
            .iter()
            .map(|x| format!("T{}", tx.txns[x.3 as usize].index))
            .collect();
        let version = if len == 0 {
            "as empty".to_string()
        } else {
            format!("with {len} elements ending in {last}")
        };
        out.push(Finding::new(
            Kind::LostUpdate,
            g.iter().map(|x| x.3).collect(),
            format!(
                "{} all read key {} {version} and then appended to it; each append was made without seeing the others",
                names.join(", "),
                tx.key_name(k)
            ),
        ));
    }
    // Edges. Reads: (key, last element or NIL for the initial state, reader).
    let mut reads: Vec<(u32, u64, u32)> = Vec::new();
    for (i, x) in tx.txns.iter().enumerate() {
        if x.status == Status::Fail {
            continue;
        }
        let i = i as u32;
        for m in tx.mops_of(i) {
            if m.f != F::Read {
                continue;
            }
            reads.push((m.key, m.val, i));
            if m.len > 0 {
                if let Some(w) = writes.get(&(m.key, m.val)) {
                    edges.push((w.txn, i, WR));
                }
            }
        }
    }
    reads.sort_unstable();
    reads.dedup();
    let index = Index { order, writes };
    for (i, x) in tx.txns.iter().enumerate() {
        if x.status == Status::Fail {
            continue;
        }
        let i = i as u32;
        for m in tx.mops_of(i) {
            if m.f != F::Append {
                continue;
            }
            let p = index.prev(m.key, m.val);
            if p != NIL {
                if let Some(w) = index.writes.get(&(m.key, p)) {
                    edges.push((w.txn, i, WW));
                }
            }
            let lo = reads.partition_point(|r| (r.0, r.1) < (m.key, p));
            for r in reads[lo..].iter().take_while(|r| (r.0, r.1) == (m.key, p)) {
                edges.push((r.2, i, RW));
            }
        }
    }
    (out, index)
}
