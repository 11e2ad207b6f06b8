//! The transaction dependency graph: typed edges (ww, wr, rw, process, realtime) in compressed
//! rows, strongly connected components without recursion, a breadth-first search for the
//! shortest cycle of a given shape (Elle's cycle specs), and the cheaper question "does any
//! cycle of these edge types exist", which decides verdicts even when a search runs out of
//! time.

use super::fxhash::{FxMap, FxSet};
use super::model::Kind;
use super::txns::{Status, Txns};
use std::collections::VecDeque;
use std::time::Instant;

pub const WW: u8 = 1;
pub const WR: u8 = 2;
pub const RW: u8 = 4;
pub const PROCESS: u8 = 8;
pub const REALTIME: u8 = 16;
pub const DATA: u8 = WW | WR | RW;

/// The name of one edge type.
pub fn edge_name(t: u8) -> &'static str {
    match t {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

/// Edges in compressed rows; each (from, to) once, with the union of its types.
#[derive(Debug, Default)]
pub struct Graph {
    start: Vec<u32>,
    adj: Vec<(u32, u8)>,
}

impl Graph {
    /// Builds the graph of `n` nodes from an edge list (self-edges dropped): a counting
    /// sort by source, then each row sorted by target with duplicate edges merged.
    pub fn build(n: usize, edges: Vec<(u32, u32, u8)>) -> Graph {
        let mut start = vec![0u32; n + 1];
        for e in &edges {
            if e.0 != e.1 {
                start[e.0 as usize + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill: Vec<u32> = start[..n].to_vec();
        let mut rows = vec![(0u32, 0u8); start[n] as usize];
        for (a, b, t) in edges {
            if a != b {
                let f = &mut fill[a as usize];
                rows[*f as usize] = (b, t);
                *f += 1;
            }
        }
        drop(fill);
        // Sort each row and merge duplicate edges, compacting in place.
        let mut out_start = vec![0u32; n + 1];
        let mut w = 0usize;
        for a in 0..n {
            let (lo, hi) = (start[a] as usize, start[a + 1] as usize);
            rows[lo..hi].sort_unstable_by_key(|e| e.0);
            let first = w;
            for r in lo..hi {
                let (b, t) = rows[r];
                if w > first && rows[w - 1].0 == b {
                    rows[w - 1].1 |= t;
                } else {
                    rows[w] = (b, t);
                    w += 1;
                }
            }
            out_start[a + 1] = w as u32;
        }
        rows.truncate(w);
        rows.shrink_to_fit();
        let adj = rows;
        Graph {
            start: out_start,
            adj,
        }
    }

    pub fn nodes(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub fn edges(&self) -> usize {
        self.adj.len()
    }

    pub fn out(&self, a: u32) -> &[(u32, u8)] {
        let a = a as usize;
        match (self.start.get(a), self.start.get(a + 1)) {
            (Some(&s), Some(&e)) => &self.adj[s as usize..e as usize],
            _ => &[],
        }
    }

    /// The types of the edge a -> b (0 when there is none).
    pub fn mask(&self, a: u32, b: u32) -> u8 {
        let o = self.out(a);
        o.binary_search_by_key(&b, |e| e.0)
            .map(|i| o[i].1)
            .unwrap_or(0)
    }
}

/// Strongly connected components with more than one node, over edges of the given types
/// (iterative Tarjan; histories are large). `only` restricts to a node set.
pub fn sccs(g: &Graph, mask: u8, only: Option<&[bool]>) -> Vec<Vec<u32>> {
    let n = g.nodes();
    let mut index = vec![u32::MAX; n];
    let mut low = vec![0u32; n];
    let mut on = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut next = 0u32;
    let ok = |v: u32| only.is_none_or(|s| s[v as usize]);
    let mut call: Vec<(u32, usize)> = Vec::new();
    for root in 0..n as u32 {
        if index[root as usize] != u32::MAX || !ok(root) {
            continue;
        }
        call.push((root, 0));
        index[root as usize] = next;
        low[root as usize] = next;
        next += 1;
        stack.push(root);
        on[root as usize] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            let o = g.out(v);
            if *i < o.len() {
                let (w, m) = o[*i];
                *i += 1;
                if m & mask == 0 || !ok(w) {
                    continue;
                }
                if index[w as usize] == u32::MAX {
                    index[w as usize] = next;
                    low[w as usize] = next;
                    next += 1;
                    stack.push(w);
                    on[w as usize] = true;
                    call.push((w, 0));
                } else if on[w as usize] {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
            } else {
                call.pop();
                if let Some(&(u, _)) = call.last() {
                    low[u as usize] = low[u as usize].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on[w as usize] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
    }
    out
}

/// Whether a cycle over `base` edges exists in which every `rw` edge follows a `base` edge
/// (Elle's sequential extension, the subgraph snapshot isolation must keep acyclic).
pub fn extension_cycle_exists(g: &Graph, base: u8) -> bool {
    // Only nodes in a component of the full graph can be on such a cycle.
    let comps = sccs(g, base | RW, None);
    for comp in comps {
        let members: FxSet<u32> = comp.iter().copied().collect();
        let idx: FxMap<u32, u32> = comp
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, i as u32))
            .collect();
        let mut edges = Vec::new();
        for &a in &comp {
            for &(b, m) in g.out(a) {
                if !members.contains(&b) {
                    continue;
                }
                if m & base != 0 {
                    edges.push((idx[&a], idx[&b], WW));
                    for &(c, m2) in g.out(b) {
                        if m2 & RW != 0 && members.contains(&c) {
                            if c == a {
                                return true;
                            }
                            edges.push((idx[&a], idx[&c], WW));
                        }
                    }
                }
            }
        }
        let sub = Graph::build(comp.len(), edges);
        if !sccs(&sub, WW, None).is_empty() {
            return true;
        }
    }
    false
}

/// The shape of a cycle to look for (Elle's cycle anomaly specs).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub kind: Kind,
    /// Edge types the cycle may use besides rw.
    pub rels: u8,
    /// Whether rw edges may be used, and how many: 0 none, 1 exactly one, 2 two or more.
    pub rw: u8,
    /// rw edges may not be adjacent.
    pub nonadjacent: bool,
    /// Edge types the cycle must use at least once each (bits).
    pub required: u8,
}

/// One edge of a found cycle, with the type it stands for.
pub type Step = (u32, u32, u8);

/// The anomaly a cycle is, by its edge types (Elle's cycle explainer).
pub fn classify(steps: &[Step]) -> Kind {
    use Kind::*;
    let n = |t: u8| steps.iter().filter(|s| s.2 == t).count();
    let (rw, wr, rt, pr) = (n(RW), n(WR), n(REALTIME), n(PROCESS));
    let adjacent =
        (0..steps.len()).any(|i| steps[i].2 == RW && steps[(i + 1) % steps.len()].2 == RW);
    let v = if rt > 0 {
        2
    } else if pr > 0 {
        1
    } else {
        0
    };
    let pick = |a: [Kind; 3]| a[v];
    if rw == 1 {
        pick([GSingleItem, GSingleItemProcess, GSingleItemRealtime])
    } else if rw > 1 && adjacent {
        pick([G2Item, G2ItemProcess, G2ItemRealtime])
    } else if rw > 1 {
        pick([
            GNonadjacentItem,
            GNonadjacentItemProcess,
            GNonadjacentItemRealtime,
        ])
    } else if wr > 0 {
        pick([G1c, G1cProcess, G1cRealtime])
    } else {
        pick([G0, G0Process, G0Realtime])
    }
}

/// The specs searched, most severe first, data-only before process before realtime.
pub fn specs() -> Vec<Spec> {
    use Kind::*;
    let mut out = Vec::new();
    for (v, names) in [
        (0u8, [G0, G1c, GSingleItem, GNonadjacentItem, G2Item]),
        (
            PROCESS,
            [
                G0Process,
                G1cProcess,
                GSingleItemProcess,
                GNonadjacentItemProcess,
                G2ItemProcess,
            ],
        ),
        (
            REALTIME,
            [
                G0Realtime,
                G1cRealtime,
                GSingleItemRealtime,
                GNonadjacentItemRealtime,
                G2ItemRealtime,
            ],
        ),
    ] {
        out.push(Spec {
            kind: names[0],
            rels: WW | v,
            rw: 0,
            nonadjacent: false,
            required: v,
        });
        out.push(Spec {
            kind: names[1],
            rels: WW | WR | v,
            rw: 0,
            nonadjacent: false,
            required: WR | v,
        });
        out.push(Spec {
            kind: names[2],
            rels: WW | WR | v,
            rw: 1,
            nonadjacent: false,
            required: v,
        });
        out.push(Spec {
            kind: names[3],
            rels: WW | WR | v,
            rw: 2,
            nonadjacent: true,
            required: v,
        });
        out.push(Spec {
            kind: names[4],
            rels: WW | WR | v,
            rw: 2,
            nonadjacent: false,
            required: v,
        });
    }
    out
}

// Search state bits: required types seen (WR, PROCESS, REALTIME as in the masks), then rw
// count (0..=2) in bits 5-6, last edge rw in bit 7. The first edge's rw-ness is fixed per
// search (we try both), so it is not in the state.
const RW_SHIFT: u8 = 5;
const LAST_RW: u8 = 128;

fn rw_count(s: u8) -> u8 {
    (s >> RW_SHIFT) & 3
}

/// Shortest cycle through `start` inside `members` matching `spec`, or `None`.
fn cycle_from(
    g: &Graph,
    members: &FxSet<u32>,
    start: u32,
    real: u32,
    spec: &Spec,
    deadline: Instant,
) -> Option<Vec<Step>> {
    let mut best: Option<Vec<Step>> = None;
    // When rw edges must be nonadjacent, a cycle starting with an rw edge must not end with one.
    for first_rw in [false, true] {
        if first_rw && spec.rw == 0 {
            continue;
        }
        let mut prev: FxMap<(u32, u8), (u32, u8, u8)> = FxMap::default();
        let mut q: VecDeque<(u32, u8)> = VecDeque::new();
        // The first edge.
        for &(b, m) in g.out(start) {
            if !members.contains(&b) {
                continue;
            }
            for t in [WW, WR, PROCESS, REALTIME, RW] {
                if m & t == 0 || (t == RW) != first_rw || (t != RW && spec.rels & t == 0) {
                    continue;
                }
                let s = step_state(0, t);
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry((b, s)) {
                    e.insert((start, 0, t));
                    q.push_back((b, s));
                }
            }
        }
        let mut steps_seen = 0u32;
        while let Some((x, s)) = q.pop_front() {
            steps_seen += 1;
            if steps_seen.is_multiple_of(4096) && Instant::now() > deadline {
                return best;
            }
            if x == start {
                if accepts(spec, s, first_rw) {
                    let path = unwind(&prev, (x, s), start);
                    // The search runs over (transaction, state) pairs, so a walk may pass a
                    // transaction twice in different states: two cycles joined, each of some
                    // other kind. Elle reports simple cycles only; so does this.
                    if !is_simple(&path, real) {
                        continue;
                    }
                    if best.as_ref().is_none_or(|b| path.len() < b.len()) {
                        best = Some(path);
                    }
                    break;
                }
                continue;
            }
            for &(y, m) in g.out(x) {
                if !members.contains(&y) {
                    continue;
                }
                for t in [WW, WR, PROCESS, REALTIME, RW] {
                    if m & t == 0 {
                        continue;
                    }
                    if t == RW {
                        if spec.rw == 0 || (spec.rw == 1 && rw_count(s) >= 1) {
                            continue;
                        }
                        if spec.nonadjacent && s & LAST_RW != 0 {
                            continue;
                        }
                        if spec.nonadjacent && y == start && first_rw {
                            continue;
                        }
                    } else if spec.rels & t == 0 {
                        continue;
                    }
                    let ns = step_state(s, t);
                    if let std::collections::hash_map::Entry::Vacant(e) = prev.entry((y, ns)) {
                        e.insert((x, s, t));
                        q.push_back((y, ns));
                    }
                }
            }
        }
    }
    best
}

/// Whether a closed walk visits each transaction once. Barriers (numbered from `real`) are
/// left out: several real-time steps of one cycle may pass the same barrier.
fn is_simple(path: &[Step], real: u32) -> bool {
    let mut seen = FxSet::default();
    path.iter()
        .filter(|s| s.0 < real)
        .all(|&(from, _, _)| seen.insert(from))
}

fn step_state(s: u8, t: u8) -> u8 {
    let mut s = s & !LAST_RW;
    if t == RW {
        let c = (rw_count(s) + 1).min(2);
        s = (s & !(3 << RW_SHIFT)) | (c << RW_SHIFT) | LAST_RW;
    } else {
        s |= t & (WR | PROCESS | REALTIME);
    }
    s
}

fn accepts(spec: &Spec, s: u8, _first_rw: bool) -> bool {
    let rw = rw_count(s);
    let rw_ok = match spec.rw {
        0 => rw == 0,
        1 => rw == 1,
        _ => rw >= 2,
    };
    rw_ok
        && (s & spec.required & (WR | PROCESS | REALTIME))
            == spec.required & (WR | PROCESS | REALTIME)
}

fn unwind(prev: &FxMap<(u32, u8), (u32, u8, u8)>, end: (u32, u8), start: u32) -> Vec<Step> {
    // `start` is never expanded mid-path, so it appears as a source only on the first edge.
    let mut steps = Vec::new();
    let mut cur = end;
    while let Some(&(px, ps, t)) = prev.get(&cur) {
        steps.push((px, cur.0, t));
        if px == start && ps == 0 {
            break;
        }
        cur = (px, ps);
        if steps.len() > prev.len() {
            break;
        }
    }
    steps.reverse();
    steps
}

/// A cycle found in a component.
#[derive(Debug, Clone)]
pub struct FoundCycle {
    pub kind: Kind,
    pub steps: Vec<Step>,
}

/// Searches one component for each spec; returns the cycles found and whether the deadline
/// cut the search short.
pub fn search_component(
    g: &Graph,
    real: u32,
    comp: &[u32],
    specs: &[Spec],
    deadline: Instant,
) -> (Vec<FoundCycle>, bool) {
    let members: FxSet<u32> = comp.iter().copied().collect();
    let mut found: Vec<FoundCycle> = Vec::new();
    let mut seen: FxSet<Vec<u32>> = FxSet::default();
    let mut timed_out = false;
    // Which edge types the component has at all: skip specs it cannot satisfy.
    let mut present = 0u8;
    for &a in comp {
        for &(b, m) in g.out(a) {
            if members.contains(&b) {
                present |= m;
            }
        }
    }
    for spec in specs {
        let need = spec.required | if spec.rw > 0 { RW } else { 0 };
        if present & need != need {
            continue;
        }
        if Instant::now() > deadline {
            timed_out = true;
            break;
        }
        // Start where the rarest required edge leaves.
        let first_type = if spec.rw > 0 {
            RW
        } else if spec.required & REALTIME != 0 {
            REALTIME
        } else if spec.required & PROCESS != 0 {
            PROCESS
        } else if spec.required & WR != 0 {
            WR
        } else {
            WW
        };
        let mut hit = None;
        for &a in comp {
            if Instant::now() > deadline {
                timed_out = true;
                break;
            }
            // Barriers are never a cycle's start: every cycle through one has real nodes.
            if a >= real {
                continue;
            }
            if !g
                .out(a)
                .iter()
                .any(|&(b, m)| m & first_type != 0 && members.contains(&b))
            {
                continue;
            }
            if let Some(steps) = cycle_from(g, &members, a, real, spec, deadline) {
                let mut steps = collapse(steps, real);
                // As Elle explains a step, a dependency that is also a ww or wr edge is that
                // edge: a -process/-realtime variant is named only when the order is needed.
                for st in steps.iter_mut() {
                    if st.2 & (PROCESS | REALTIME) != 0 {
                        let m = g.mask(st.0, st.1) & spec.rels;
                        if m & WW != 0 {
                            st.2 = WW;
                        } else if m & WR != 0 {
                            st.2 = WR;
                        }
                    }
                }
                if classify(&steps) == spec.kind {
                    hit = Some(steps);
                    break;
                }
            }
        }
        if let Some(steps) = hit {
            let mut key: Vec<u32> = steps.iter().map(|s| s.0).collect();
            if let Some(min) = (0..key.len()).min_by_key(|&i| key[i]) {
                key.rotate_left(min);
            }
            if seen.insert(key) {
                found.push(FoundCycle {
                    kind: spec.kind,
                    steps,
                });
            }
        }
    }
    (found, timed_out)
}

/// Process and real-time edges among the transactions that may have committed. Process order
/// links each transaction to the next one its process invoked. Real-time order (a completed
/// transaction precedes every one invoked after its completion) goes through barrier nodes,
/// numbered from `t.txns.len()`: at each invocation that follows new completions a barrier is
/// added, those completions point to it, it points to the previous barrier's successor chain,
/// and every invocation hangs off the latest barrier. A path f -> barriers -> t exists exactly
/// when f completed before t was invoked, with O(1) edges per transaction instead of one per
/// pair in the transitive reduction (about 16 per transaction with 16 clients). Returns the
/// number of barriers.
pub fn order_edges(t: &Txns, edges: &mut Vec<(u32, u32, u8)>) -> u32 {
    let n = t.txns.len() as u32;
    let mut by_invoke: Vec<u32> = (0..n).filter(|&i| t.possible(i)).collect();
    by_invoke.sort_unstable_by_key(|&i| t.txns[i as usize].invoke);
    let mut last: FxMap<u64, u32> = FxMap::default();
    for &i in &by_invoke {
        let p = t.txns[i as usize].process;
        if let Some(prev) = last.insert(p, i) {
            edges.push((prev, i, PROCESS));
        }
    }
    // (position, 0 invocation / 1 completion, txn)
    let mut events: Vec<(u64, u8, u32)> = Vec::with_capacity(by_invoke.len() * 2);
    for &i in &by_invoke {
        let x = &t.txns[i as usize];
        events.push((x.invoke, 0, i));
        if x.status == Status::Ok && x.complete != u64::MAX {
            events.push((x.complete, 1, i));
        }
    }
    events.sort_unstable();
    let mut next = n;
    let mut current: Option<u32> = None;
    let mut pending: Vec<u32> = Vec::new();
    for (_, kind, i) in events {
        if kind == 1 {
            pending.push(i);
            continue;
        }
        if !pending.is_empty() {
            let b = next;
            next += 1;
            if let Some(c) = current {
                edges.push((c, b, REALTIME));
            }
            for f in pending.drain(..) {
                edges.push((f, b, REALTIME));
            }
            current = Some(b);
        }
        if let Some(c) = current {
            edges.push((c, i, REALTIME));
        }
    }
    next - n
}

/// Folds the hops through barrier nodes (ids from `real` on) into single real-time steps.
fn collapse(steps: Vec<Step>, real: u32) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for (a, b, t) in steps {
        match out.last_mut() {
            Some(last) if a >= real => last.1 = b,
            _ => out.push((a, b, t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cycles_joined_at_a_transaction_are_not_one_nonadjacent_cycle() {
        // 0 -rw-> 1 -ww-> 0 and 1 -ww-> 2 -rw-> 1: each a G-single. Walked as one, 0 1 2 1 0
        // has two rw edges apart from each other, which is no G-nonadjacent cycle.
        let g = Graph::build(3, vec![(0, 1, RW), (1, 0, WW), (1, 2, WW), (2, 1, RW)]);
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let (found, timed_out) = search_component(&g, 3, &[0, 1, 2], &specs(), deadline);
        assert!(!timed_out);
        let kinds: Vec<Kind> = found.iter().map(|c| c.kind).collect();
        assert!(kinds.contains(&Kind::GSingleItem), "{kinds:?}");
        assert!(!kinds.contains(&Kind::GNonadjacentItem), "{found:?}");
        for c in &found {
            let mut nodes: Vec<u32> = c.steps.iter().map(|s| s.0).collect();
            let n = nodes.len();
            nodes.sort_unstable();
            nodes.dedup();
            assert_eq!(nodes.len(), n, "not a simple cycle: {c:?}");
        }
    }
}
