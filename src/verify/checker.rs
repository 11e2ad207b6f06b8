//! The checker: streams a history into compact transactions, runs the workload's inference
//! (list-append or rw-register) for anomalies that are not cycles and for the data edges, adds
//! process and real-time order, then looks for cycles: per strongly connected component, the
//! shortest cycle of each shape Elle names (G0 … G2-item and their process/realtime variants),
//! and, so that a verdict never depends on a search finishing in time, whether any cycle each
//! model forbids exists at all.

use super::graph::{self, Graph, DATA, PROCESS, REALTIME, RW, WR, WW};
use super::history::{History, Mop as HMop, OpType};
use super::list_append;
use super::model::{impossible, validity_of, Kind, Model, Validity};
use super::parse::{self, ParseError, RawF, RawKey, RawMop, RawOp, RawProcess, RawType, RawVal};
use super::rw_register::{self, Assume};
use super::txns::{Builder, Status, Txns, F, NIL};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// Which kind of history this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    #[default]
    ListAppend,
    RwRegister,
}

impl Workload {
    pub fn parse(s: &str) -> Option<Workload> {
        match s {
            "list-append" | "append" => Some(Workload::ListAppend),
            "rw-register" | "register" | "wr" => Some(Workload::RwRegister),
            _ => None,
        }
    }
}

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    pub workload: Workload,
    /// Cycle search time per strongly connected component.
    pub budget: Duration,
    /// rw-register version-order assumptions.
    pub assume: Assume,
    /// Parser threads (1: parse on the calling thread).
    pub threads: usize,
    /// Report phases on stderr.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workload: Workload::ListAppend,
            budget: Duration::from_secs(10),
            assume: Assume::default(),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            progress: false,
        }
    }
}

/// An anomaly found by inference (not a cycle), before it is reported.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    pub txns: Vec<u32>,
    pub text: String,
}

impl Finding {
    pub fn new(kind: Kind, txns: Vec<u32>, text: String) -> Finding {
        Finding { kind, txns, text }
    }
}

/// One edge of a reported cycle.
#[derive(Debug, Clone, Serialize)]
pub struct CycleStep {
    /// History index of the source and target transactions (T<index>).
    pub from: u64,
    pub to: u64,
    pub kind: &'static str,
    pub explanation: String,
}

/// An anomaly with the transactions involved and an explanation a person can check.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub kind: Kind,
    pub explanation: String,
    /// History indexes of the transactions involved.
    pub txns: Vec<u64>,
    /// The transactions, one line each.
    #[serde(rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub where_: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleStep>,
}

/// Size of the dependency graph.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GraphStats {
    /// Transactions plus real-time barrier nodes.
    pub nodes: usize,
    pub barriers: usize,
    pub edges: usize,
    /// Strongly connected components with more than one transaction.
    pub components: usize,
}

/// The result of checking a history.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub workload: Workload,
    /// Operations read, and those ignored (nemesis and other non-client operations).
    pub operations: u64,
    pub ignored: u64,
    pub transactions: usize,
    pub committed: usize,
    pub failed: usize,
    pub indeterminate: usize,
    /// Failed and indeterminate operations by error class, when the history records one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, usize>,
    /// Number of anomalies of each kind (examples are capped).
    pub counts: BTreeMap<String, usize>,
    /// Up to a few examples per kind.
    pub anomalies: Vec<Anomaly>,
    /// No transaction that may have committed: there was nothing to check.
    pub nothing_to_check: bool,
    /// Why the history cannot be judged at all (non-unique writes, micro-ops of the other
    /// workload), as Elle answers "unknown".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// The cycle search ran out of time in some component (or there was nothing to check):
    /// models not ruled out are unknown, never valid.
    pub incomplete: bool,
    pub graph: GraphStats,
    pub seconds: f64,
    #[serde(skip)]
    pub found: Vec<Kind>,
}

impl Analysis {
    /// The anomaly kinds found, by name.
    pub fn kinds(&self) -> Vec<String> {
        self.counts.keys().cloned().collect()
    }

    /// The verdict for one model.
    pub fn validity(&self, m: Model) -> Validity {
        validity_of(m, &self.found, self.incomplete)
    }
}

const EXAMPLES_PER_KIND: usize = 3;

/// Checks a history given as ops in memory (the recorder's own history).
pub fn check(h: &History, budget: Duration) -> Analysis {
    let opts = Options {
        budget,
        threads: 1,
        ..Options::default()
    };
    let ops = h.ops.iter().map(|o| RawOp {
        typ: match o.typ {
            OpType::Invoke => RawType::Invoke,
            OpType::Ok => RawType::Ok,
            OpType::Fail => RawType::Fail,
            OpType::Info => RawType::Info,
        },
        process: RawProcess::Client(o.process),
        index: Some(o.index as u64),
        time: Some(o.time),
        mops: Some(
            o.value
                .iter()
                .map(|m| match m {
                    HMop::Append(k, v) => RawMop {
                        f: RawF::Append,
                        key: RawKey::Int(*k as i64),
                        val: RawVal::Int(*v),
                    },
                    HMop::Read(k, l) => RawMop {
                        f: RawF::Read,
                        key: RawKey::Int(*k as i64),
                        val: l.clone().map(RawVal::List).unwrap_or(RawVal::Null),
                    },
                    HMop::Write(k, v) => RawMop {
                        f: RawF::Write,
                        key: RawKey::Int(*k as i64),
                        val: RawVal::Int(*v),
                    },
                    HMop::ReadRegister(k, v) => RawMop {
                        f: RawF::Read,
                        key: RawKey::Int(*k as i64),
                        val: v.map(RawVal::Int).unwrap_or(RawVal::Null),
                    },
                })
                .collect(),
        ),
        error: o.error.clone(),
        line: 0,
    });
    let mut st = State::new(&opts);
    for op in ops {
        st.push(op);
    }
    st.finish(&opts)
}

/// Checks a history file (dbarena JSON lines or elle-cli JSON), streaming it.
pub fn check_file(path: &Path, opts: &Options) -> Result<Analysis, ParseError> {
    let f = std::fs::File::open(path).map_err(|e| ParseError::Read {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    check_reader(f, &path.display().to_string(), opts)
}

/// Checks a history read from `src`; `origin` names it in errors.
pub fn check_reader<R: Read + Send>(
    src: R,
    origin: &str,
    opts: &Options,
) -> Result<Analysis, ParseError> {
    let started = Instant::now();
    let mut st = State::new(opts);
    let mut next_note = 1_000_000u64;
    parse::stream(src, origin, opts.threads.max(1), |batch| {
        for op in batch {
            st.push(op);
        }
        if opts.progress && st.b.out.ops >= next_note {
            eprintln!(
                "check: read {} operations ({:.1} s)",
                st.b.out.ops,
                started.elapsed().as_secs_f64()
            );
            next_note += 1_000_000;
        }
        Ok(())
    })?;
    if opts.progress {
        eprintln!(
            "check: read {} operations in {:.1} s; analysing",
            st.b.out.ops,
            started.elapsed().as_secs_f64()
        );
    }
    let mut an = st.finish(opts);
    an.seconds = started.elapsed().as_secs_f64();
    Ok(an)
}

enum Streams {
    Append(list_append::Stream),
    Register(rw_register::Stream),
}

struct State {
    b: Builder,
    s: Streams,
    started: Instant,
}

impl State {
    fn new(opts: &Options) -> State {
        State {
            b: Builder::default(),
            s: match opts.workload {
                Workload::ListAppend => Streams::Append(Default::default()),
                Workload::RwRegister => Streams::Register(Default::default()),
            },
            started: Instant::now(),
        }
    }

    fn push(&mut self, op: RawOp) {
        let s = &mut self.s;
        self.b.push(op, &mut |t, c| match s {
            Streams::Append(a) => a.on_txn(t, c),
            Streams::Register(r) => r.on_txn(t, c),
        });
    }

    fn finish(self, opts: &Options) -> Analysis {
        let State { b, mut s, started } = self;
        let tx = b.finish_all(&mut |t, c| match &mut s {
            Streams::Append(a) => a.on_txn(t, c),
            Streams::Register(r) => r.on_txn(t, c),
        });
        analyse(tx, s, opts, started)
    }
}

enum Explainer {
    Append(list_append::Index),
    Register(rw_register::Index),
}

fn describe(tx: &Txns, t: u32, lists: bool) -> String {
    let x = &tx.txns[t as usize];
    let ops: Vec<String> = tx
        .mops_of(t)
        .iter()
        .map(|m| {
            let k = tx.key_name(m.key);
            match m.f {
                F::Append => format!("[append {k} {}]", m.val),
                F::Write => format!("[w {k} {}]", m.val),
                F::ReadUnknown => format!("[r {k} ?]"),
                F::Read if lists && m.len == 0 => format!("[r {k} []]"),
                F::Read if lists && m.len == 1 => format!("[r {k} [{}]]", m.val),
                F::Read if lists => format!("[r {k} [… {}] ({} elements)]", m.val, m.len),
                F::Read if m.val == NIL => format!("[r {k} nil]"),
                F::Read => format!("[r {k} {}]", m.val),
            }
        })
        .collect();
    let status = match x.status {
        Status::Ok => "",
        Status::Info => ", outcome unknown",
        Status::Fail => ", failed",
    };
    format!(
        "T{} (process {}{status}): {}",
        x.index,
        x.process,
        ops.join(" ")
    )
}

fn analyse(tx: Txns, s: Streams, opts: &Options, started: Instant) -> Analysis {
    let note = |what: &str| {
        if opts.progress {
            eprintln!("check: {what} ({:.1} s)", started.elapsed().as_secs_f64());
        }
    };
    let mut edges: Vec<(u32, u32, u8)> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let other = match opts.workload {
        Workload::ListAppend => F::Write,
        Workload::RwRegister => F::Append,
    };
    if let Some(m) = tx.mops.iter().find(|m| m.f == other) {
        unknown.push(format!(
            "the history has {} micro-ops (key {}): check it with --workload {}",
            if other == F::Write {
                "write (w)"
            } else {
                "append"
            },
            tx.key_name(m.key),
            if other == F::Write {
                "rw-register"
            } else {
                "list-append"
            }
        ));
    }
    let (findings, explainer) = match s {
        Streams::Append(a) => {
            let (f, i) = list_append::analyze(&tx, a, &mut edges, &mut unknown);
            (f, Explainer::Append(i))
        }
        Streams::Register(r) => {
            let (f, i) = rw_register::analyze(&tx, r, opts.assume, &mut edges, &mut unknown);
            (f, Explainer::Register(i))
        }
    };
    let lists = opts.workload == Workload::ListAppend;
    let barriers = graph::order_edges(&tx, &mut edges);
    let n = tx.txns.len();
    let real = n as u32;
    let g = Graph::build(n + barriers as usize, edges);
    note("built the dependency graph");
    let mut out = Found::default();
    for f in findings {
        let mut ts = f.txns.clone();
        ts.dedup();
        let a = Anomaly {
            kind: f.kind,
            explanation: f.text,
            txns: ts.iter().map(|&t| tx.txns[t as usize].index).collect(),
            where_: ts.iter().map(|&t| describe(&tx, t, lists)).collect(),
            cycle: vec![],
        };
        out.record(f.kind, a);
    }
    // Cycles.
    let mut comps = graph::sccs(&g, DATA | PROCESS | REALTIME, None);
    // Earliest first, so the examples come from the start of the history.
    comps.sort_unstable_by_key(|c| c.first().copied());
    note(&format!("{} components with cycles", comps.len()));
    let specs = graph::specs();
    let results: Vec<(Vec<graph::FoundCycle>, bool)> = if comps.len() > 1 && opts.threads > 1 {
        let (even, odd): (Vec<_>, Vec<_>) = comps.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let run = |cs: Vec<(usize, &Vec<u32>)>| -> Vec<(usize, (Vec<graph::FoundCycle>, bool))> {
            cs.into_iter()
                .map(|(i, c)| {
                    (
                        i,
                        graph::search_component(&g, real, c, &specs, Instant::now() + opts.budget),
                    )
                })
                .collect()
        };
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(|| run(odd));
            let a = run(even);
            (a, h.join().unwrap_or_default())
        });
        let mut all: Vec<_> = a.into_iter().chain(b).collect();
        all.sort_by_key(|x| x.0);
        all.into_iter().map(|x| x.1).collect()
    } else {
        comps
            .iter()
            .map(|c| graph::search_component(&g, real, c, &specs, Instant::now() + opts.budget))
            .collect()
    };
    let mut incomplete = false;
    for (cycles, timed_out) in results {
        incomplete |= timed_out;
        for c in cycles {
            let steps: Vec<CycleStep> = c
                .steps
                .iter()
                .map(|&(a, b, t)| CycleStep {
                    from: tx.txns[a as usize].index,
                    to: tx.txns[b as usize].index,
                    kind: graph::edge_name(t),
                    explanation: explain_edge(&tx, &explainer, a, b, t),
                })
                .collect();
            let names: Vec<String> = c
                .steps
                .iter()
                .map(|s| format!("T{}", tx.txns[s.0 as usize].index))
                .chain(
                    c.steps
                        .first()
                        .map(|s| format!("T{}", tx.txns[s.0 as usize].index)),
                )
                .collect();
            let mut text = format!("cycle: {}", names.join(" -> "));
            for st in &steps {
                text.push_str(&format!("\n  {} ({})", st.explanation, st.kind));
            }
            let a = Anomaly {
                kind: c.kind,
                explanation: text,
                txns: c
                    .steps
                    .iter()
                    .map(|s| tx.txns[s.0 as usize].index)
                    .collect(),
                where_: c.steps.iter().map(|s| describe(&tx, s.0, lists)).collect(),
                cycle: steps,
            };
            out.record(c.kind, a);
        }
    }
    note("cycle search done");
    // Whatever the search named, decide each model's cycles exactly.
    if !comps.is_empty() {
        let mut in_comp = vec![false; g.nodes()];
        for c in &comps {
            for &v in c {
                in_comp[v as usize] = true;
            }
        }
        let checks: [(Model, Kind, u8, bool); 12] = [
            (Model::ReadUncommitted, Kind::Pl1CycleExists, WW, false),
            (Model::ReadCommitted, Kind::Pl2CycleExists, WW | WR, false),
            (
                Model::SnapshotIsolation,
                Kind::PlSiCycleExists,
                WW | WR,
                true,
            ),
            (Model::RepeatableRead, Kind::Pl299CycleExists, DATA, false),
            (Model::Serializable, Kind::Pl3CycleExists, DATA, false),
            (
                Model::StrongSessionReadUncommitted,
                Kind::StrongSessionPl1CycleExists,
                WW | PROCESS,
                false,
            ),
            (
                Model::StrongSessionReadCommitted,
                Kind::StrongSessionPl2CycleExists,
                WW | WR | PROCESS,
                false,
            ),
            (
                Model::StrongSessionSnapshotIsolation,
                Kind::StrongSessionSiCycleExists,
                WW | WR | PROCESS,
                true,
            ),
            (
                Model::StrongSessionSerializable,
                Kind::StrongSessionSerializableCycleExists,
                DATA | PROCESS,
                false,
            ),
            (
                Model::StrongReadUncommitted,
                Kind::StrongPl1CycleExists,
                WW | REALTIME,
                false,
            ),
            (
                Model::StrongReadCommitted,
                Kind::StrongPl2CycleExists,
                WW | WR | REALTIME,
                false,
            ),
            (
                Model::StrongSnapshotIsolation,
                Kind::StrongSiCycleExists,
                WW | WR | REALTIME,
                true,
            ),
        ];
        let mut checks = checks.to_vec();
        checks.push((
            Model::StrictSerializable,
            Kind::PlSsCycleExists,
            DATA | REALTIME,
            false,
        ));
        for (m, kind, mask, extension) in checks {
            if impossible(&out.found).contains(&m) {
                continue;
            }
            let exists = if extension {
                graph::extension_cycle_exists(&g, mask)
            } else {
                !graph::sccs(&g, mask, Some(&in_comp)).is_empty()
            };
            if exists {
                let mask = if extension { mask | RW } else { mask };
                let types: Vec<&str> = [WW, WR, RW, PROCESS, REALTIME]
                    .iter()
                    .filter(|&&t| mask & t != 0)
                    .map(|&t| graph::edge_name(t))
                    .collect();
                let a = Anomaly {
                    kind,
                    explanation: format!(
                        "a cycle over {} edges{} exists, which {} forbids, but the search did not name it within its budget",
                        types.join("/"),
                        if extension { " (no two rw edges in a row)" } else { "" },
                        m.name()
                    ),
                    txns: vec![],
                    where_: vec![],
                    cycle: vec![],
                };
                out.record(kind, a);
            }
        }
        note("cycle existence decided");
    }
    let committed = tx.txns.iter().filter(|t| t.status == Status::Ok).count();
    let failed = tx.txns.iter().filter(|t| t.status == Status::Fail).count();
    let indeterminate = tx.txns.len() - committed - failed;
    let nothing = committed + indeterminate == 0;
    Analysis {
        workload: opts.workload,
        operations: tx.ops,
        ignored: tx.ignored,
        transactions: tx.txns.len(),
        committed,
        failed,
        indeterminate,
        errors: tx.error_counts(),
        counts: out.counts,
        anomalies: out.anomalies,
        nothing_to_check: nothing,
        incomplete: incomplete || nothing || !unknown.is_empty(),
        unknown,
        graph: GraphStats {
            nodes: g.nodes(),
            barriers: barriers as usize,
            edges: g.edges(),
            components: comps.len(),
        },
        seconds: started.elapsed().as_secs_f64(),
        found: out.found,
    }
}

#[derive(Default)]
struct Found {
    counts: BTreeMap<String, usize>,
    found: Vec<Kind>,
    anomalies: Vec<Anomaly>,
}

impl Found {
    fn record(&mut self, kind: Kind, a: Anomaly) {
        let c = self.counts.entry(kind.name().to_string()).or_insert(0);
        *c += 1;
        if !self.found.contains(&kind) {
            self.found.push(kind);
        }
        if *c <= EXAMPLES_PER_KIND {
            self.anomalies.push(a);
        }
    }
}

fn explain_edge(tx: &Txns, ex: &Explainer, a: u32, b: u32, t: u8) -> String {
    let (na, nb) = (tx.txns[a as usize].index, tx.txns[b as usize].index);
    let s = match t {
        PROCESS => Some(format!(
            "T{nb} ran after T{na} on process {}",
            tx.txns[a as usize].process
        )),
        REALTIME => Some(format!("T{nb} began after T{na} had completed")),
        _ => match ex {
            Explainer::Append(i) => i.explain(tx, a, b, t),
            Explainer::Register(i) => i.explain(tx, a, b, t),
        },
    };
    s.unwrap_or_else(|| format!("T{na} -> T{nb} ({})", graph::edge_name(t)))
}
