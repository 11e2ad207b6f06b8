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
use super::fxhash::FxSet;
use super::graph::{RW, WR, WW};
use super::model::Kind;
use super::parse::{RawF, RawVal};
use super::txns::{Complete, Status, Txns, F, NIL};

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
                let cur = &mut self.longest[k];
                cur.clear();
                cur.extend_from_slice(list);
                self.longest_reader[k] = c.id;
            }
        }
        if c.status != Status::Ok {
            return;
        }
        // Internal consistency: what the transaction's own operations imply, per key:
        // (key, whole list known?, elements). Transactions are short: vectors, not maps.
        let mut state: Vec<(u32, bool, Vec<u64>)> = Vec::new();
        let mut first_read: Vec<(u32, u32, u64)> = Vec::new();
        let mut written: Vec<u32> = Vec::new();
        let (mut internal, mut future) = (false, false);
        for (j, (m, &k)) in c.mops.iter().zip(c.keys).enumerate() {
            match (&m.f, &m.val) {
                (RawF::Append, RawVal::Int(v)) => {
                    match state.iter_mut().find(|e| e.0 == k) {
                        Some(e) => e.2.push(*v),
                        None => state.push((k, false, vec![*v])),
                    }
                    let read_before = c.mops[..j].iter().zip(c.keys).any(|(r, &rk)| {
                        rk == k
                            && r.f == RawF::Read
                            && matches!(&r.val, RawVal::List(l) if l.contains(v))
                    });
                    if !future && read_before {
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
                    if !written.contains(&k) {
                        written.push(k);
                        if let Some(&(_, len, last)) = first_read.iter().find(|e| e.0 == k) {
                            self.lost.push((k, len, last, c.id));
                        }
                    }
                }
                (RawF::Read, v) => {
                    let list: &[u64] = match v {
                        RawVal::List(l) => l,
                        _ => &[],
                    };
                    if !first_read.iter().any(|e| e.0 == k) {
                        first_read.push((
                            k,
                            list.len() as u32,
                            list.last().copied().unwrap_or(NIL),
                        ));
                    }
                    let e = match state.iter().position(|e| e.0 == k) {
                        Some(i) => &mut state[i],
                        None => {
                            state.push((k, true, Vec::new()));
                            let last = state.len() - 1;
                            state[last].2.extend_from_slice(list);
                            continue;
                        }
                    };
                    let bad = if e.1 {
                        e.2.as_slice() != list
                    } else {
                        !list.ends_with(&e.2)
                    };
                    if bad && !internal {
                        internal = true;
                        let want = if e.1 {
                            show(&e.2)
                        } else {
                            format!("a list ending in {}", show(&e.2))
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
                    e.1 = true;
                    e.2.clear();
                    e.2.extend_from_slice(list);
                }
                _ => {}
            }
        }
    }
}

/// One append, in the per-key table: its value, who appended it, its place in the key's
/// version order (`u32::MAX` when no read saw it), whether the same transaction appended to
/// the key again afterwards.
#[derive(Debug, Clone, Copy)]
struct App {
    val: u64,
    txn: u32,
    pos: u32,
    intermediate: bool,
    status: Status,
}

/// One read whose value is known, in the per-key table: the last element (`NIL` for the
/// empty list), the reader, the list's length.
#[derive(Debug, Clone, Copy)]
struct Rd {
    last: u64,
    txn: u32,
    len: u32,
    status: Status,
}

/// Rows grouped by key (a counting sort: keys are dense ids), so that everything about one
/// key is computed from memory that sits together.
struct ByKey<T> {
    off: Vec<u32>,
    rows: Vec<T>,
}

impl<T: Copy> ByKey<T> {
    fn build(nkeys: usize, items: impl Iterator<Item = (u32, T)> + Clone, fill: T) -> ByKey<T> {
        let mut off = vec![0u32; nkeys + 1];
        for (k, _) in items.clone() {
            off[k as usize + 1] += 1;
        }
        for i in 0..nkeys {
            off[i + 1] += off[i];
        }
        let mut at: Vec<u32> = off[..nkeys].to_vec();
        let mut rows = vec![fill; off[nkeys] as usize];
        for (k, x) in items {
            rows[at[k as usize] as usize] = x;
            at[k as usize] += 1;
        }
        ByKey { off, rows }
    }

    fn of(&self, k: u32) -> &[T] {
        let k = k as usize;
        match (self.off.get(k), self.off.get(k + 1)) {
            (Some(&a), Some(&b)) => &self.rows[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// The append of `v` in a key's rows (sorted by value), preferring one that may have
/// committed.
fn find(rows: &[App], v: u64) -> Option<&App> {
    let i = rows.partition_point(|a| a.val < v);
    let same = rows[i..].iter().take_while(|a| a.val == v);
    let mut first = None;
    for a in same {
        if a.status != Status::Fail {
            return Some(a);
        }
        first.get_or_insert(a);
    }
    first
}

fn find_possible(rows: &[App], v: u64) -> Option<&App> {
    find(rows, v).filter(|a| a.status != Status::Fail)
}

/// The element appended just before `a` in its key's version order, or, for an append no read
/// saw, the last element any read saw; `NIL` for the initial state.
fn prev_of(order: &[u64], a: &App) -> u64 {
    if a.pos != u32::MAX {
        if a.pos == 0 {
            NIL
        } else {
            order[a.pos as usize - 1]
        }
    } else {
        order.last().copied().unwrap_or(NIL)
    }
}

/// The version orders and per-key tables the explanations need after the analysis.
pub struct Index {
    order: Vec<Vec<u64>>,
    apps: ByKey<App>,
}

impl Index {
    fn order(&self, k: u32) -> &[u64] {
        self.order
            .get(k as usize)
            .map(|o| o.as_slice())
            .unwrap_or(&[])
    }

    fn prev(&self, k: u32, v: u64) -> u64 {
        match find_possible(self.apps.of(k), v) {
            Some(a) => prev_of(self.order(k), a),
            None => self.order(k).last().copied().unwrap_or(NIL),
        }
    }

    fn writer(&self, k: u32, v: u64) -> Option<u32> {
        find_possible(self.apps.of(k), v).map(|a| a.txn)
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
                (p != NIL && self.writer(m.key, p) == Some(a)).then(|| {
                    format!(
                        "T{nb} appended {} to key {} after T{na} appended {p}",
                        m.val,
                        tx.key_name(m.key)
                    )
                })
            }),
            WR => tx.mops_of(b).iter().find_map(|m| {
                (m.f == F::Read && m.len > 0 && self.writer(m.key, m.val) == Some(a)).then(|| {
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

/// What the per-key pass reads, shared by both halves.
struct KeyCtx<'a> {
    tx: &'a Txns,
    longest: &'a [Vec<u64>],
    reader: &'a [u32],
    incompatible: &'a [Incompatible],
    aoff: &'a [u32],
    roff: &'a [u32],
}

/// What the per-key pass finds for a range of keys.
#[derive(Default)]
struct KeyOut {
    out: Vec<Finding>,
    edges: Vec<(u32, u32, u8)>,
    unknown: Vec<String>,
    order: Vec<Vec<u64>>,
}

impl KeyCtx<'_> {
    /// Version orders, anomalies and edges of keys `keys`, whose appends and reads are
    /// `arows` and `rrows` (the rows of exactly those keys).
    fn run(&self, keys: std::ops::Range<u32>, arows: &mut [App], rrows: &mut [Rd]) -> KeyOut {
        let mut res = KeyOut::default();
        let base_a = self.aoff[keys.start as usize];
        let base_r = self.roff[keys.start as usize];
        let mut seen: FxSet<u64> = FxSet::default();
        for k in keys {
            let (a0, a1) = (
                (self.aoff[k as usize] - base_a) as usize,
                (self.aoff[k as usize + 1] - base_a) as usize,
            );
            let (r0, r1) = (
                (self.roff[k as usize] - base_r) as usize,
                (self.roff[k as usize + 1] - base_r) as usize,
            );
            let ka = &mut arows[a0..a1];
            ka.sort_unstable_by_key(|a| (a.val, a.txn));
            // Elle refuses to judge a history whose appends are not unique (its verdict is
            // unknown): the version order would be ambiguous.
            if let Some(w) = ka
                .windows(2)
                .find(|w| w[0].val == w[1].val && w[0].txn != w[1].txn)
            {
                if res.unknown.len() < 3 {
                    res.unknown.push(format!(
                        "value {} was appended to key {} more than once (T{} and T{}); appends must be unique",
                        w[0].val,
                        self.tx.key_name(k),
                        self.tx.txns[w[0].txn as usize].index,
                        self.tx.txns[w[1].txn as usize].index
                    ));
                }
            }
            let kr = &mut rrows[r0..r1];
            kr.sort_unstable_by_key(|r| (r.last, r.txn));
            let l = &self.longest[k as usize];
            // The version order: the longest read's distinct elements, or a single append.
            seen.clear();
            let mut o: Vec<u64> = Vec::with_capacity(l.len());
            for &v in l {
                if seen.insert(v) {
                    o.push(v);
                }
            }
            let ka = &mut arows[a0..a1];
            if o.is_empty() {
                let mut possible = ka.iter().filter(|a| a.status != Status::Fail);
                if let (Some(a), None) = (possible.next(), possible.next()) {
                    o.push(a.val);
                }
            }
            for (p, &v) in o.iter().enumerate() {
                let i = ka.partition_point(|a| a.val < v);
                for a in ka[i..].iter_mut().take_while(|a| a.val == v) {
                    a.pos = p as u32;
                }
            }
            let ka = &arows[a0..a1];
            let kr = &rrows[r0..r1];
            // Elements of reads: duplicates, aborted reads, garbage.
            let lo = self.incompatible.partition_point(|x| x.0 < k);
            let incomp = self.incompatible[lo..].iter().take_while(|x| x.0 == k);
            let lists = (!l.is_empty() && self.reader[k as usize] != u32::MAX)
                .then(|| (self.reader[k as usize], l.as_slice()))
                .into_iter()
                .chain(incomp.map(|x| (x.1, x.2.as_slice())));
            for (t, l) in lists {
                let name = self.tx.txns[t as usize].index;
                let key = self.tx.key_name(k);
                seen.clear();
                if let Some(d) = l.iter().find(|v| !seen.insert(**v)) {
                    res.out.push(Finding::new(
                        Kind::DuplicateElements,
                        vec![t],
                        format!("T{name} read key {key} = {}, which holds {d} more than once; every appended value is unique", show(l)),
                    ));
                }
                for v in l {
                    match find(ka, *v) {
                        Some(a) if a.status != Status::Fail => {}
                        Some(a) => {
                            if self.tx.txns[t as usize].status == Status::Ok {
                                res.out.push(Finding::new(
                                    Kind::G1a,
                                    vec![t, a.txn],
                                    format!(
                                        "T{name} read key {key} = {}, including {v}, which was appended by T{}, a transaction that failed",
                                        show(l),
                                        self.tx.txns[a.txn as usize].index
                                    ),
                                ));
                            }
                        }
                        None => res.out.push(Finding::new(
                            Kind::GarbageRead,
                            vec![t],
                            format!("T{name} read key {key} = {}, including {v}, which no transaction appended", show(l)),
                        )),
                    }
                }
            }
            // G1b: a read ending in another transaction's intermediate append.
            for r in kr {
                if r.status != Status::Ok || r.len == 0 {
                    continue;
                }
                let i = ka.partition_point(|a| a.val < r.last);
                for a in ka[i..].iter().take_while(|a| a.val == r.last) {
                    if a.intermediate && a.txn != r.txn {
                        res.out.push(Finding::new(
                            Kind::G1b,
                            vec![r.txn, a.txn],
                            format!(
                                "T{} read key {} ending in {}, an intermediate append of T{}, which appended to key {} again afterwards",
                                self.tx.txns[r.txn as usize].index,
                                self.tx.key_name(k),
                                r.last,
                                self.tx.txns[a.txn as usize].index,
                                self.tx.key_name(k)
                            ),
                        ));
                    }
                }
            }
            // Dirty update: a committed append after a failed one in the version order.
            let mut t1 = Status::Ok;
            let mut from = 0usize;
            for (p, v) in l.iter().enumerate() {
                let Some(t2) = find(ka, *v).map(|a| a.status) else {
                    continue;
                };
                match (t1, t2) {
                    (Status::Fail, Status::Ok) => {
                        let aborted = l[from];
                        let f = find(ka, aborted).map(|a| a.txn);
                        let w = find_possible(ka, *v).map(|a| a.txn);
                        res.out.push(Finding::new(
                            Kind::DirtyUpdate,
                            f.into_iter().chain(w).collect(),
                            format!(
                                "key {} = {}: {aborted} came from a failed transaction, yet the committed append {v} follows it",
                                self.tx.key_name(k),
                                show(&l[..=p])
                            ),
                        ));
                        t1 = Status::Ok;
                    }
                    (_, Status::Info) => {}
                    (Status::Fail, Status::Fail) => {}
                    (_, Status::Fail) => {
                        t1 = Status::Fail;
                        from = p;
                    }
                    (_, Status::Ok) => t1 = Status::Ok,
                }
            }
            // Edges: wr from the writer of a read's last element; for each append, ww from the
            // writer of its previous element and rw from every read that ended there.
            for r in kr {
                if r.len > 0 {
                    if let Some(a) = find_possible(ka, r.last) {
                        res.edges.push((a.txn, r.txn, WR));
                    }
                }
            }
            for a in ka {
                if a.status == Status::Fail {
                    continue;
                }
                let p = prev_of(&o, a);
                if p != NIL {
                    if let Some(w) = find_possible(ka, p) {
                        res.edges.push((w.txn, a.txn, WW));
                    }
                }
                let i = kr.partition_point(|r| r.last < p);
                for r in kr[i..].iter().take_while(|r| r.last == p) {
                    res.edges.push((r.txn, a.txn, RW));
                }
            }
            res.order.push(o);
        }
        res
    }
}

/// Everything after the stream: anomalies that are not cycles, and the data edges. Works key
/// by key over the per-key tables of appends and reads.
pub fn analyze(
    tx: &Txns,
    s: Stream,
    edges: &mut Vec<(u32, u32, u8)>,
    unknown: &mut Vec<String>,
) -> (Vec<Finding>, Index) {
    let mut out = s.findings;
    let nkeys = tx.keys.len();
    // Appends, with the intermediate flag (a later append to the same key in the same txn).
    let appends = tx.txns.iter().enumerate().flat_map(|(i, x)| {
        let ms = tx.mops_of(i as u32);
        ms.iter()
            .enumerate()
            .filter(|(_, m)| m.f == F::Append)
            .map(move |(j, m)| {
                let later = ms[j + 1..]
                    .iter()
                    .any(|n| n.f == F::Append && n.key == m.key);
                (
                    m.key,
                    App {
                        val: m.val,
                        txn: i as u32,
                        pos: u32::MAX,
                        intermediate: later,
                        status: x.status,
                    },
                )
            })
    });
    let fill_app = App {
        val: 0,
        txn: 0,
        pos: u32::MAX,
        intermediate: false,
        status: Status::Fail,
    };
    let mut apps = ByKey::build(nkeys, appends, fill_app);
    // Reads of transactions that may have committed, whose value is known.
    let reads = tx
        .txns
        .iter()
        .enumerate()
        .filter(|(_, x)| x.status != Status::Fail)
        .flat_map(|(i, x)| {
            tx.mops_of(i as u32)
                .iter()
                .filter(|m| m.f == F::Read)
                .map(move |m| {
                    (
                        m.key,
                        Rd {
                            last: m.val,
                            txn: i as u32,
                            len: m.len,
                            status: x.status,
                        },
                    )
                })
        });
    let fill_rd = Rd {
        last: 0,
        txn: 0,
        len: 0,
        status: Status::Fail,
    };
    let mut rds = ByKey::build(nkeys, reads, fill_rd);
    let mut longest = s.longest;
    longest.resize(nkeys, Vec::new());
    let mut reader = s.longest_reader;
    reader.resize(nkeys, u32::MAX);
    let mut incompatible = s.incompatible;
    incompatible.sort_by_key(|x| x.0);
    // Keys are independent: split them in two halves of about equal rows, one per core.
    let total = apps.rows.len() + rds.rows.len();
    let km = (0..=nkeys)
        .find(|&k| (apps.off[k] + rds.off[k]) as usize * 2 >= total)
        .unwrap_or(nkeys);
    let ctx = KeyCtx {
        tx,
        longest: &longest,
        reader: &reader,
        incompatible: &incompatible,
        aoff: &apps.off,
        roff: &rds.off,
    };
    let (a_lo, a_hi) = apps.rows.split_at_mut(apps.off[km] as usize);
    let (r_lo, r_hi) = rds.rows.split_at_mut(rds.off[km] as usize);
    let (left, right) = std::thread::scope(|sc| {
        let h = sc.spawn(|| ctx.run(km as u32..nkeys as u32, a_hi, r_hi));
        let left = ctx.run(0..km as u32, a_lo, r_lo);
        (
            left,
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    let mut order: Vec<Vec<u64>> = Vec::with_capacity(nkeys);
    for part in [left, right] {
        out.extend(part.out);
        edges.extend(part.edges);
        unknown.extend(part.unknown);
        order.extend(part.order);
    }
    unknown.truncate(3);
    for (k, t, l, o, ol) in &incompatible {
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
    (out, Index { order, apps })
}
