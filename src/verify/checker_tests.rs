//! Hand-built histories, one per anomaly, and a property test over serial histories.

use super::checker::check;
use super::history::{History, Mop, Op, OpType};
use super::model::{validity, Model, Validity};
use crate::datagen::Rng;
use std::collections::HashMap;
use std::time::Duration;

/// Builds histories from transactions given as (process, invoke time, complete time, type, mops).
#[derive(Default)]
struct B {
    events: Vec<(u64, u64, OpType, Vec<Mop>)>,
}

fn a(k: u64, v: u64) -> Mop {
    Mop::Append(k, v)
}

fn r(k: u64, l: &[u64]) -> Mop {
    Mop::Read(k, Some(l.to_vec()))
}

impl B {
    fn t(mut self, p: u64, start: u64, end: u64, typ: OpType, mops: Vec<Mop>) -> Self {
        let invoke: Vec<Mop> = mops
            .iter()
            .map(|m| match m {
                Mop::Read(k, _) => Mop::Read(*k, None),
                other => other.clone(),
            })
            .collect();
        self.events.push((start, p, OpType::Invoke, invoke));
        self.events.push((end, p, typ, mops));
        self
    }

    fn ok(self, p: u64, start: u64, end: u64, mops: Vec<Mop>) -> Self {
        self.t(p, start, end, OpType::Ok, mops)
    }

    fn build(mut self) -> History {
        self.events.sort_by_key(|e| e.0);
        History {
            ops: self
                .events
                .into_iter()
                .enumerate()
                .map(|(i, (time, process, typ, value))| Op {
                    index: i,
                    process,
                    typ,
                    time,
                    value,
                })
                .collect(),
        }
    }
}

fn kinds(h: &History) -> Vec<String> {
    check(h, Duration::from_secs(5)).kinds()
}

fn valid(h: &History, m: Model) -> Validity {
    let an = check(h, Duration::from_secs(5));
    validity(m, &an.kinds(), an.incomplete)
}

#[test]
fn serial_history_is_strict_serializable() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1]), a(1, 2)])
        .ok(0, 4, 5, vec![r(1, &[1, 2])])
        .build();
    assert!(kinds(&h).is_empty(), "{:?}", kinds(&h));
    assert_eq!(valid(&h, Model::StrictSerializable), Validity::Valid);
}

#[test]
fn g0_write_cycle() {
    let h = B::default()
        .ok(0, 0, 10, vec![a(1, 1), a(2, 1)])
        .ok(1, 0, 10, vec![a(1, 2), a(2, 2)])
        .ok(2, 20, 21, vec![r(1, &[1, 2]), r(2, &[2, 1])])
        .build();
    let an = check(&h, Duration::from_secs(5));
    assert!(an.counts.contains_key("G0"), "{:?}", an.counts);
    assert_eq!(
        validity(Model::ReadCommitted, &an.kinds(), false),
        Validity::Invalid
    );
    let g0 = an.anomalies.iter().find(|a| a.kind == "G0").unwrap();
    assert!(
        g0.explanation.contains("appended 2 to key 1 after T")
            || g0.explanation.contains("appended 1 to key 2 after T"),
        "{}",
        g0.explanation
    );
}

#[test]
fn g1a_aborted_read() {
    let h = B::default()
        .t(0, 0, 1, OpType::Fail, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1])])
        .build();
    assert_eq!(kinds(&h), vec!["G1a"]);
    assert_eq!(valid(&h, Model::ReadCommitted), Validity::Invalid);
}

#[test]
fn g1b_intermediate_read() {
    let h = B::default()
        .ok(0, 0, 10, vec![a(1, 1), a(1, 2)])
        .ok(1, 5, 6, vec![r(1, &[1])])
        .build();
    assert!(kinds(&h).contains(&"G1b".to_string()), "{:?}", kinds(&h));
}

#[test]
fn g1c_circular_information_flow() {
    let h = B::default()
        .ok(0, 0, 10, vec![a(1, 1), r(2, &[1])])
        .ok(1, 0, 10, vec![a(2, 1), r(1, &[1])])
        .build();
    let k = kinds(&h);
    assert!(k.contains(&"G1c".to_string()), "{k:?}");
    assert_eq!(valid(&h, Model::ReadCommitted), Validity::Invalid);
}

#[test]
fn lost_update() {
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), a(1, 2)])
        .ok(2, 20, 21, vec![r(1, &[1, 2])])
        .build();
    let k = kinds(&h);
    assert!(
        k.contains(&"lost-update".to_string()) && k.contains(&"G-single".to_string()),
        "{k:?}"
    );
    assert_eq!(valid(&h, Model::ReadCommitted), Validity::Valid);
    assert_eq!(valid(&h, Model::RepeatableRead), Validity::Invalid);
    assert_eq!(valid(&h, Model::SnapshotIsolation), Validity::Invalid);
}

#[test]
fn write_skew_is_g2_item() {
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), r(2, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), r(2, &[]), a(2, 1)])
        .ok(2, 20, 21, vec![r(1, &[1]), r(2, &[1])])
        .build();
    let k = kinds(&h);
    assert_eq!(k, vec!["G2-item"], "{k:?}");
    assert_eq!(valid(&h, Model::SnapshotIsolation), Validity::Valid);
    assert_eq!(valid(&h, Model::Serializable), Validity::Invalid);
    assert_eq!(valid(&h, Model::RepeatableRead), Validity::Invalid);
}

#[test]
fn read_skew_is_g_single() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1), a(2, 1)])
        .ok(1, 2, 10, vec![r(1, &[1]), r(2, &[1, 2])])
        .ok(2, 3, 4, vec![a(1, 2), a(2, 2)])
        .ok(0, 20, 21, vec![r(1, &[1, 2]), r(2, &[1, 2])])
        .build();
    let an = check(&h, Duration::from_secs(5));
    assert!(an.counts.contains_key("G-single"), "{:?}", an.counts);
    assert_eq!(
        validity(Model::ReadCommitted, &an.kinds(), false),
        Validity::Valid
    );
    assert_eq!(
        validity(Model::SnapshotIsolation, &an.kinds(), false),
        Validity::Invalid
    );
    let g = an.anomalies.iter().find(|a| a.kind == "G-single").unwrap();
    assert!(g.cycle.iter().filter(|c| c.kind == "rw").count() == 1);
    assert!(
        g.explanation.contains("which misses 2 appended by T"),
        "{}",
        g.explanation
    );
}

#[test]
fn stale_read_after_commit_is_a_realtime_anomaly() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[])])
        .ok(0, 4, 5, vec![r(1, &[1])])
        .build();
    let k = kinds(&h);
    assert!(
        k.iter()
            .any(|x| x.ends_with("-realtime") || x.ends_with("-process")),
        "{k:?}"
    );
    assert_eq!(valid(&h, Model::Serializable), Validity::Valid);
    assert_eq!(valid(&h, Model::StrictSerializable), Validity::Invalid);
}

#[test]
fn data_anomalies() {
    let internal = B::default().ok(0, 0, 1, vec![a(1, 1), r(1, &[])]).build();
    assert_eq!(kinds(&internal), vec!["internal"]);
    let garbage = B::default().ok(0, 0, 1, vec![r(1, &[99])]).build();
    assert_eq!(kinds(&garbage), vec!["garbage-read"]);
    let dup = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1, 1])])
        .build();
    assert!(kinds(&dup).contains(&"duplicate-elements".to_string()));
    let order = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 0, 1, vec![a(1, 2)])
        .ok(2, 2, 3, vec![r(1, &[1, 2])])
        .ok(3, 2, 3, vec![r(1, &[2, 1])])
        .build();
    assert!(kinds(&order).contains(&"incompatible-order".to_string()));
    // Read committed allows internal inconsistency (the model table); SI does not.
    assert_eq!(valid(&internal, Model::ReadCommitted), Validity::Valid);
    assert_eq!(
        valid(&internal, Model::SnapshotIsolation),
        Validity::Invalid
    );
    for h in [&garbage, &dup, &order] {
        assert_eq!(valid(h, Model::ReadCommitted), Validity::Invalid);
    }
}

/// A serial execution of random transactions: every read sees exactly the committed state.
fn serial_history(seed: u64, txns: usize) -> History {
    let mut rng = Rng::new(seed);
    let mut state: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut next = 1u64;
    let mut b = B::default();
    for i in 0..txns as u64 {
        let mut mops = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let k = rng.below(5);
            if rng.chance(0.5) {
                state.entry(k).or_default().push(next);
                mops.push(a(k, next));
                next += 1;
            } else {
                mops.push(Mop::Read(
                    k,
                    Some(state.get(&k).cloned().unwrap_or_default()),
                ));
            }
        }
        b = b.ok(rng.below(4), i * 10, i * 10 + 5, mops);
    }
    b.build()
}

#[test]
fn property_serial_histories_are_valid_and_one_injected_anomaly_is_caught() {
    for seed in 0..60 {
        let h = serial_history(seed, 60);
        let an = check(&h, Duration::from_secs(5));
        assert!(an.kinds().is_empty(), "seed {seed}: {:?}", an.counts);
        assert_eq!(
            validity(Model::StrictSerializable, &an.kinds(), an.incomplete),
            Validity::Valid
        );
        // Inject one fault into one non-empty read.
        let mut rng = Rng::new(seed + 1000);
        let mut bad = h.clone();
        let reads: Vec<(usize, usize)> = bad
            .ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.typ == OpType::Ok)
            .flat_map(|(i, o)| {
                o.value
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| matches!(m, Mop::Read(_, Some(l)) if !l.is_empty()))
                    .map(move |(j, _)| (i, j))
            })
            .collect();
        // A stale read is only visible if some other read saw what it missed.
        let longest: HashMap<u64, usize> = reads.iter().fold(HashMap::new(), |mut m, &(i, j)| {
            if let Mop::Read(k, Some(l)) = &bad.ops[i].value[j] {
                let e = m.entry(*k).or_insert(0);
                *e = (*e).max(l.len());
            }
            m
        });
        let stale_ok: Vec<(usize, usize)> = reads
            .iter()
            .copied()
            .filter(|&(i, j)| matches!(&bad.ops[i].value[j], Mop::Read(k, Some(l)) if l.len() < longest[k]))
            .collect();
        let pool = if seed % 3 == 0 && !stale_ok.is_empty() {
            &stale_ok
        } else {
            &reads
        };
        let Some(&(i, j)) = rng.pick(pool) else {
            continue;
        };
        if let Mop::Read(_, Some(l)) = &mut bad.ops[i].value[j] {
            match if pool.len() == stale_ok.len() && seed % 3 == 0 {
                0
            } else {
                1 + seed % 2
            } {
                0 => {
                    l.pop(); // stale read: misses a write that had completed
                }
                1 => l.push(1_000_000), // garbage
                _ => {
                    let first = l[0];
                    l.push(first); // duplicate
                }
            }
        }
        let an = check(&bad, Duration::from_secs(5));
        assert_eq!(
            validity(Model::StrictSerializable, &an.kinds(), an.incomplete),
            Validity::Invalid,
            "seed {seed}: injected fault not caught"
        );
    }
}

#[test]
fn an_exhausted_search_is_unknown_never_valid() {
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), r(2, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), r(2, &[]), a(2, 1)])
        .ok(2, 20, 21, vec![r(1, &[1]), r(2, &[1])])
        .build();
    let an = check(&h, Duration::ZERO);
    assert!(an.incomplete);
    assert_eq!(
        validity(Model::SnapshotIsolation, &an.kinds(), an.incomplete),
        Validity::Unknown
    );
}
