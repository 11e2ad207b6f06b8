//! The list-append checker: non-cycle anomalies straight from the reads, then a dependency
//! graph (ww, wr, rw, process, realtime), strongly connected components without recursion,
//! and a search per component for the specific cycles that define G0 … G2-item.

use super::history::{History, Mop, OpType};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

const WW: u8 = 1;
const WR: u8 = 2;
const RW: u8 = 4;
const PROCESS: u8 = 8;
const REALTIME: u8 = 16;

fn edge_name(t: u8) -> &'static str {
    match t {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

/// A committed (or possibly committed) transaction.
#[derive(Debug, Clone)]
struct Txn {
    /// Index of the completion op in the history.
    index: usize,
    process: u64,
    mops: Vec<Mop>,
    invoke_pos: usize,
    complete_pos: usize,
    ok: bool,
}

/// One edge of a reported cycle.
#[derive(Debug, Clone, Serialize)]
pub struct CycleStep {
    pub from: usize,
    pub to: usize,
    pub kind: &'static str,
    pub explanation: String,
}

/// An anomaly with the transactions involved and an explanation a person can check.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub kind: String,
    pub explanation: String,
    /// Completion indexes of the transactions involved.
    pub txns: Vec<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleStep>,
}

/// The result of checking a history.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub transactions: usize,
    pub committed: usize,
    pub failed: usize,
    pub indeterminate: usize,
    /// Number of anomalies of each kind (examples are capped).
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Up to a few examples per kind.
    pub anomalies: Vec<Anomaly>,
    /// The cycle search ran out of time in some component.
    pub incomplete: bool,
    pub seconds: f64,
}

impl Analysis {
    /// The anomaly kinds found.
    pub fn kinds(&self) -> Vec<String> {
        self.counts.keys().cloned().collect()
    }
}

const EXAMPLES_PER_KIND: usize = 3;

struct Ctx {
    txns: Vec<Txn>,
    out: Vec<Anomaly>,
    counts: std::collections::BTreeMap<String, usize>,
}

impl Ctx {
    fn describe(&self, t: usize) -> String {
        let x = &self.txns[t];
        let ops: Vec<String> = x
            .mops
            .iter()
            .map(|m| match m {
                Mop::Append(k, v) => format!("[append {k} {v}]"),
                Mop::Read(k, Some(l)) => format!("[r {k} {l:?}]"),
                Mop::Read(k, None) => format!("[r {k} ?]"),
            })
            .collect();
        format!(
            "T{} (process {}{}): {}",
            x.index,
            x.process,
            if x.ok { "" } else { ", outcome unknown" },
            ops.join(" ")
        )
    }

    fn report(&mut self, kind: &str, explanation: String, txns: Vec<usize>, cycle: Vec<CycleStep>) {
        let n = self.counts.entry(kind.to_string()).or_insert(0);
        *n += 1;
        if *n <= EXAMPLES_PER_KIND {
            let idx = txns.iter().map(|&t| self.txns[t].index).collect();
            self.out.push(Anomaly {
                kind: kind.into(),
                explanation,
                txns: idx,
                cycle,
            });
        }
    }
}

/// Checks a list-append history. `budget` bounds the cycle search of each component; when it
/// runs out the analysis is marked incomplete (a verdict of unknown, never valid).
pub fn check(h: &History, budget: Duration) -> Analysis {
    let started = Instant::now();
    // Pair invocations with completions per process.
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut txns = Vec::new();
    let mut failed_writes: HashMap<(u64, u64), usize> = HashMap::new();
    let mut info_writes: HashSet<(u64, u64)> = HashSet::new();
    let (mut failed, mut info) = (0, 0);
    for (pos, op) in h.ops.iter().enumerate() {
        match op.typ {
            OpType::Invoke => {
                open.insert(op.process, pos);
            }
            OpType::Ok | OpType::Info | OpType::Fail => {
                let inv = open.remove(&op.process).unwrap_or(pos);
                let mops = if op.value.is_empty() {
                    h.ops[inv].value.clone()
                } else {
                    op.value.clone()
                };
                match op.typ {
                    OpType::Fail => {
                        failed += 1;
                        for m in &mops {
                            if let Mop::Append(k, v) = m {
                                failed_writes.insert((*k, *v), op.index);
                            }
                        }
                    }
                    OpType::Info => {
                        info += 1;
                        for m in &mops {
                            if let Mop::Append(k, v) = m {
                                info_writes.insert((*k, *v));
                            }
                        }
                        txns.push(Txn {
                            index: op.index,
                            process: op.process,
                            mops,
                            invoke_pos: inv,
                            complete_pos: usize::MAX,
                            ok: false,
                        });
                    }
                    _ => txns.push(Txn {
                        index: op.index,
                        process: op.process,
                        mops,
                        invoke_pos: inv,
                        complete_pos: pos,
                        ok: true,
                    }),
                }
            }
        }
    }
    // Invocations that never completed may have committed: their writes are not garbage.
    for &inv in open.values() {
        for m in &h.ops[inv].value {
            if let Mop::Append(k, v) = m {
                info_writes.insert((*k, *v));
            }
        }
    }
    let committed = txns.iter().filter(|t| t.ok).count();
    let mut cx = Ctx {
        txns,
        out: Vec::new(),
        counts: Default::default(),
    };

    // Who wrote what: (key, value) -> txn; each txn's appends per key, in order.
    let mut writer: HashMap<(u64, u64), usize> = HashMap::new();
    for (t, x) in cx.txns.iter().enumerate() {
        for m in &x.mops {
            if let Mop::Append(k, v) = m {
                writer.insert((*k, *v), t);
            }
        }
    }
    // Info txns are part of the graph only if someone observed their writes.
    let mut observed: HashSet<usize> = HashSet::new();

    // Internal consistency, duplicates, garbage, aborted and intermediate reads.
    let mut reads: HashMap<u64, Vec<(usize, Vec<u64>)>> = HashMap::new();
    for t in 0..cx.txns.len() {
        let x = cx.txns[t].clone();
        if !x.ok {
            continue;
        }
        let mut known: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut mine: HashMap<u64, Vec<u64>> = HashMap::new();
        for m in &x.mops {
            match m {
                Mop::Append(k, v) => {
                    mine.entry(*k).or_default().push(*v);
                    if let Some(l) = known.get_mut(k) {
                        l.push(*v);
                    }
                }
                Mop::Read(k, Some(l)) => {
                    let mut seen = HashSet::new();
                    if let Some(d) = l.iter().find(|v| !seen.insert(**v)) {
                        let e = format!("{} read key {k} = {l:?}, which holds {d} twice; every appended value is unique", cx.describe(t));
                        cx.report("duplicate-elements", e, vec![t], vec![]);
                    }
                    let expected = known.get(k).cloned();
                    let consistent = match &expected {
                        Some(exp) => exp == l,
                        None => mine.get(k).is_none_or(|own| l.ends_with(own)),
                    };
                    if !consistent {
                        let want = expected.map(|e| format!("{e:?}")).unwrap_or_else(|| {
                            format!(
                                "a list ending in its own appends {:?}",
                                mine.get(k).cloned().unwrap_or_default()
                            )
                        });
                        let e = format!(
                            "{} read key {k} = {l:?} but its own earlier operations imply {want}",
                            cx.describe(t)
                        );
                        cx.report("internal", e, vec![t], vec![]);
                    }
                    known.insert(*k, l.clone());
                    // External reads: before this txn's own appends to the key.
                    let own = mine.get(k).map(|v| v.len()).unwrap_or(0);
                    let external: Vec<u64> = l[..l.len() - own.min(l.len())].to_vec();
                    for v in l.iter() {
                        if writer.contains_key(&(*k, *v)) {
                            continue;
                        }
                        if let Some(f) = failed_writes.get(&(*k, *v)) {
                            let e = format!("{} read key {k} = {l:?}, including {v}, which was appended by T{f}, a transaction that aborted", cx.describe(t));
                            cx.report("G1a", e, vec![t], vec![]);
                        } else if !info_writes.contains(&(*k, *v)) {
                            let e = format!("{} read key {k} = {l:?}, including {v}, which no transaction ever appended", cx.describe(t));
                            cx.report("garbage-read", e, vec![t], vec![]);
                        }
                    }
                    if let Some(last) = external.last() {
                        if let Some(&w) = writer.get(&(*k, *last)) {
                            if w != t {
                                if !cx.txns[w].ok {
                                    observed.insert(w);
                                }
                                // G1b: the last value seen is not the writer's final append to k.
                                let final_of_w =
                                    cx.txns[w].mops.iter().rev().find_map(|m| match m {
                                        Mop::Append(kk, vv) if kk == k => Some(*vv),
                                        _ => None,
                                    });
                                if final_of_w != Some(*last) {
                                    let e = format!(
                                        "{} read key {k} = {l:?}, ending in {last}, an intermediate append of {}: that transaction appended {} to key {k} afterwards",
                                        cx.describe(t),
                                        cx.describe(w),
                                        final_of_w.unwrap_or(0)
                                    );
                                    cx.report("G1b", e, vec![t, w], vec![]);
                                }
                                // Future read: the writer began after this reader finished.
                                if cx.txns[w].invoke_pos > x.complete_pos {
                                    let e = format!("{} read {last} from key {k}, appended by {}, which began only after the reader had finished", cx.describe(t), cx.describe(w));
                                    cx.report("future-read", e, vec![t, w], vec![]);
                                }
                            }
                        }
                    }
                    reads.entry(*k).or_default().push((t, external));
                }
                Mop::Read(_, None) => {}
            }
        }
    }

    // Version order per key: the longest read; every other read must be a prefix of it.
    let mut order: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut keys: Vec<u64> = reads.keys().copied().collect();
    keys.sort_unstable();
    for k in &keys {
        let rs = &reads[k];
        let longest = rs
            .iter()
            .max_by_key(|(_, l)| l.len())
            .map(|(t, l)| (*t, l.clone()))
            .unwrap_or((0, vec![]));
        for (t, l) in rs {
            if !longest.1.starts_with(l) {
                let e = format!(
                    "{} and {} read key {k} as {l:?} and {:?}: neither is a prefix of the other, so no single order of appends explains both",
                    cx.describe(*t),
                    cx.describe(longest.0),
                    longest.1
                );
                cx.report("incompatible-order", e, vec![*t, longest.0], vec![]);
            }
        }
        // Dirty update: an aborted append followed by committed ones.
        if let Some(pos) = longest
            .1
            .iter()
            .position(|v| failed_writes.contains_key(&(*k, *v)))
        {
            if pos + 1 < longest.1.len() {
                let v = longest.1[pos];
                let e = format!(
                    "key {k} = {:?}: {v} came from aborted T{} yet committed appends follow it",
                    longest.1,
                    failed_writes[&(*k, v)]
                );
                cx.report("dirty-update", e, vec![longest.0], vec![]);
            }
        }
        order.insert(*k, longest.1);
    }

    // Lost update: two committed transactions read the same version of a key and both
    // appended to it.
    for k in &keys {
        let mut by_version: HashMap<Vec<u64>, Vec<usize>> = HashMap::new();
        let mut seen_txn = HashSet::new();
        for (t, l) in &reads[k] {
            // The first version of the key a transaction built on; later reads of its own
            // appends say nothing more.
            if !seen_txn.insert(*t) {
                continue;
            }
            let appends = cx.txns[*t]
                .mops
                .iter()
                .any(|m| matches!(m, Mop::Append(kk, _) if kk == k));
            if appends && cx.txns[*t].ok {
                by_version.entry(l.clone()).or_default().push(*t);
            }
        }
        let mut groups: Vec<_> = by_version
            .into_iter()
            .filter(|(_, ts)| ts.len() > 1)
            .collect();
        groups.sort();
        for (v, ts) in groups {
            let names: Vec<String> = ts.iter().map(|t| cx.describe(*t)).collect();
            let e = format!("{} all read key {k} = {v:?} and then appended to it; each append was made without seeing the others", names.join("; "));
            cx.report("lost-update", e, ts, vec![]);
        }
    }

    // The dependency graph.
    let n = cx.txns.len();
    let in_graph: Vec<bool> = (0..n)
        .map(|t| cx.txns[t].ok || observed.contains(&t))
        .collect();
    let mut edges: HashMap<(usize, usize), u8> = HashMap::new();
    let mut why: HashMap<(usize, usize, u8), String> = HashMap::new();
    let mut add =
        |a: usize, b: usize, t: u8, w: String, edges: &mut HashMap<(usize, usize), u8>| {
            if a == b || !in_graph[a] || !in_graph[b] {
                return;
            }
            *edges.entry((a, b)).or_insert(0) |= t;
            why.entry((a, b, t)).or_insert(w);
        };
    for k in &keys {
        let ord = &order[k];
        for w in ord.windows(2) {
            if let (Some(&a), Some(&b)) = (writer.get(&(*k, w[0])), writer.get(&(*k, w[1]))) {
                add(
                    a,
                    b,
                    WW,
                    format!(
                        "T{} appended {} to key {k} after T{} appended {}",
                        cx.txns[b].index, w[1], cx.txns[a].index, w[0]
                    ),
                    &mut edges,
                );
            }
        }
        for (t, l) in &reads[k] {
            if let Some(last) = l.last() {
                if let Some(&w) = writer.get(&(*k, *last)) {
                    add(
                        w,
                        *t,
                        WR,
                        format!(
                            "T{} read key {k} = {l:?}, which includes {last} appended by T{}",
                            cx.txns[*t].index, cx.txns[w].index
                        ),
                        &mut edges,
                    );
                }
            }
            // rw: the reader did not see the next version.
            if let Some(next) = ord.get(l.len()) {
                if let Some(&w) = writer.get(&(*k, *next)) {
                    add(
                        *t,
                        w,
                        RW,
                        format!(
                            "T{} read key {k} = {l:?}, which misses {next} appended by T{}",
                            cx.txns[*t].index, cx.txns[w].index
                        ),
                        &mut edges,
                    );
                }
            }
        }
    }
    // Process order among committed transactions.
    let mut last_of: HashMap<u64, usize> = HashMap::new();
    let mut by_completion: Vec<usize> = (0..n).filter(|&t| cx.txns[t].ok).collect();
    by_completion.sort_by_key(|&t| cx.txns[t].complete_pos);
    for &t in &by_completion {
        let p = cx.txns[t].process;
        if let Some(&prev) = last_of.get(&p) {
            add(
                prev,
                t,
                PROCESS,
                format!(
                    "T{} ran after T{} on process {p}",
                    cx.txns[t].index, cx.txns[prev].index
                ),
                &mut edges,
            );
        }
        last_of.insert(p, t);
    }
    // Real-time order, transitively reduced: an event sweep keeps the set of completed
    // transactions not yet implied by a later completion.
    let mut events: Vec<(usize, bool, usize)> = Vec::new(); // (position, is_completion, txn)
    for t in 0..n {
        if cx.txns[t].ok {
            events.push((cx.txns[t].invoke_pos, false, t));
            events.push((cx.txns[t].complete_pos, true, t));
        }
    }
    events.sort();
    let mut frontier: Vec<usize> = Vec::new();
    for (_, done, t) in events {
        if done {
            let inv = cx.txns[t].invoke_pos;
            frontier.retain(|&f| cx.txns[f].complete_pos > inv);
            frontier.push(t);
        } else {
            for &f in &frontier {
                add(
                    f,
                    t,
                    REALTIME,
                    format!(
                        "T{} began after T{} had completed",
                        cx.txns[t].index, cx.txns[f].index
                    ),
                    &mut edges,
                );
            }
        }
    }
    let mut adj: Vec<Vec<(usize, u8)>> = vec![Vec::new(); n];
    for (&(a, b), &m) in &edges {
        adj[a].push((b, m));
    }
    for a in &mut adj {
        a.sort_unstable();
    }

    // Strongly connected components of the whole graph (iterative Tarjan).
    let comps = scc(&adj);
    let mut incomplete = false;
    for comp in comps.iter().filter(|c| c.len() > 1) {
        let deadline = Instant::now() + budget;
        let members: HashSet<usize> = comp.iter().copied().collect();
        let searches: [(&str, u8, u8); 4] = [
            ("G0", WW, WW),
            ("G1c", WR, WW | WR),
            ("G-single", RW, WW | WR),
            ("G2", RW, WW | WR | RW),
        ];
        for extra in [0u8, PROCESS, PROCESS | REALTIME] {
            let mut found_any = false;
            for (name, seed_type, allowed) in searches {
                if Instant::now() > deadline {
                    incomplete = true;
                    break;
                }
                let allowed = allowed | extra;
                // Try each edge of the seed type as the closing edge of a cycle.
                let mut tried = 0;
                'edges: for &a in comp {
                    for &(b, m) in &adj[a] {
                        if m & seed_type == 0 || !members.contains(&b) {
                            continue;
                        }
                        tried += 1;
                        if tried > 200 || Instant::now() > deadline {
                            if Instant::now() > deadline {
                                incomplete = true;
                            }
                            break 'edges;
                        }
                        let Some(path) = bfs(&adj, &members, b, a, allowed) else {
                            continue;
                        };
                        let mut steps: Vec<(usize, usize, u8)> = Vec::new();
                        for w in path.windows(2) {
                            let m = edges[&(w[0], w[1])];
                            steps.push((w[0], w[1], pick(m, allowed)));
                        }
                        steps.push((a, b, seed_type));
                        let rw = steps.iter().filter(|s| s.2 == RW).count();
                        let uses_extra = steps.iter().any(|s| s.2 & (PROCESS | REALTIME) != 0);
                        if extra == 0 && uses_extra {
                            continue;
                        }
                        if extra != 0 && !uses_extra {
                            continue;
                        }
                        let base = match name {
                            "G2" if rw <= 1 => "G-single".to_string(),
                            "G2" => {
                                let adjacent = (0..steps.len()).any(|i| {
                                    steps[i].2 == RW && steps[(i + 1) % steps.len()].2 == RW
                                });
                                if adjacent {
                                    "G2-item".to_string()
                                } else {
                                    "G-nonadjacent".to_string()
                                }
                            }
                            "G-single" if rw != 1 => continue,
                            other => other.to_string(),
                        };
                        let kind = if extra == 0 {
                            base
                        } else if steps.iter().any(|s| s.2 == REALTIME) {
                            format!("{base}-realtime")
                        } else {
                            format!("{base}-process")
                        };
                        let cycle: Vec<CycleStep> = steps
                            .iter()
                            .map(|&(x, y, t)| CycleStep {
                                from: cx.txns[x].index,
                                to: cx.txns[y].index,
                                kind: edge_name(t),
                                explanation: why.get(&(x, y, t)).cloned().unwrap_or_default(),
                            })
                            .collect();
                        let txs: Vec<usize> = steps.iter().map(|s| s.0).collect();
                        let mut text = String::from("cycle: ");
                        text.push_str(
                            &txs.iter()
                                .map(|&t| format!("T{}", cx.txns[t].index))
                                .chain(std::iter::once(format!("T{}", cx.txns[txs[0]].index)))
                                .collect::<Vec<_>>()
                                .join(" -> "),
                        );
                        for c in &cycle {
                            text.push_str(&format!("\n    {} ({})", c.explanation, c.kind));
                        }
                        text.push_str("\n  where");
                        for &t in &txs {
                            text.push_str(&format!("\n    {}", cx.describe(t)));
                        }
                        cx.report(&kind, text, txs, cycle);
                        found_any = true;
                        break 'edges;
                    }
                }
            }
            // Cycles without process/realtime edges already condemn the component.
            if found_any && extra == 0 {
                break;
            }
        }
    }
    Analysis {
        transactions: committed + failed + info,
        committed,
        failed,
        indeterminate: info,
        counts: cx.counts,
        anomalies: cx.out,
        incomplete,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The cheapest edge type of a multi-typed edge that the search allows (ww, wr before rw).
fn pick(mask: u8, allowed: u8) -> u8 {
    for t in [WW, WR, PROCESS, REALTIME, RW] {
        if mask & allowed & t != 0 {
            return t;
        }
    }
    mask
}

/// Shortest path from `from` to `to` inside `members` over edges of the allowed types.
fn bfs(
    adj: &[Vec<(usize, u8)>],
    members: &HashSet<usize>,
    from: usize,
    to: usize,
    allowed: u8,
) -> Option<Vec<usize>> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut q = VecDeque::new();
    q.push_back(from);
    prev.insert(from, from);
    while let Some(x) = q.pop_front() {
        if x == to {
            let mut path = vec![to];
            let mut c = to;
            while c != from {
                c = prev[&c];
                path.push(c);
            }
            path.reverse();
            return Some(path);
        }
        for &(y, m) in &adj[x] {
            if m & allowed != 0 && members.contains(&y) && !prev.contains_key(&y) {
                prev.insert(y, x);
                q.push_back(y);
            }
        }
    }
    None
}

/// Tarjan's strongly connected components with an explicit stack (histories are large).
fn scc(adj: &[Vec<(usize, u8)>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if *i < adj[v].len() {
                let w = adj[v][*i].0;
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on[w] = true;
                    call.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(u, _)) = call.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
    }
    out
}
