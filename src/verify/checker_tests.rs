//! Hand-built histories, one per rule and per anomaly of the Adya/Elle catalogue, each checked
//! in dbarena's JSON lines and in elle-cli's JSON with the verdicts Elle gives; and random
//! serializable histories that must stay valid.

use super::checker::{check, check_reader, Analysis, Options, Workload};
use super::history::{History, Mop, Op, OpType};
use super::model::{Kind, Model, Validity};
use super::rw_register::Assume;
use crate::datagen::Rng;
use std::collections::HashMap;
use std::time::Duration;

/// A micro-op in a test history.
#[derive(Clone, Debug)]
enum M {
    A(u64, u64),
    R(u64, Option<Vec<u64>>),
    W(u64, u64),
    Rr(u64, Option<u64>),
}

fn a(k: u64, v: u64) -> M {
    M::A(k, v)
}
fn r(k: u64, l: &[u64]) -> M {
    M::R(k, Some(l.to_vec()))
}
fn rnull(k: u64) -> M {
    M::R(k, None)
}
fn w(k: u64, v: u64) -> M {
    M::W(k, v)
}
fn rr(k: u64, v: Option<u64>) -> M {
    M::Rr(k, v)
}

#[derive(Clone, Copy, PartialEq)]
enum T {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// Builds histories from transactions given as (process, invoke time, complete time, type,
/// mops); writes them in both formats.
#[derive(Default, Clone)]
struct B {
    events: Vec<(u64, u64, T, Vec<M>)>,
}

impl B {
    fn t(mut self, p: u64, start: u64, end: u64, typ: T, mops: Vec<M>) -> Self {
        let invoke: Vec<M> = mops
            .iter()
            .map(|m| match m {
                M::R(k, _) => M::R(*k, None),
                M::Rr(k, _) => M::Rr(*k, None),
                other => other.clone(),
            })
            .collect();
        self.events.push((start, p, T::Invoke, invoke.clone()));
        // An indeterminate completion carries what was invoked, as Jepsen writes it.
        let done = if typ == T::Info { invoke } else { mops };
        self.events.push((end, p, typ, done));
        self
    }
    fn ok(self, p: u64, start: u64, end: u64, mops: Vec<M>) -> Self {
        self.t(p, start, end, T::Ok, mops)
    }
    fn sorted(&self) -> Vec<(u64, u64, T, Vec<M>)> {
        let mut e = self.events.clone();
        e.sort_by_key(|e| (e.0, e.2 != T::Invoke));
        e
    }
    fn mops_json(ms: &[M], colon: &str) -> String {
        let v: Vec<String> = ms
            .iter()
            .map(|m| match m {
                M::A(k, v) => format!("[\"{colon}append\",{k},{v}]"),
                M::W(k, v) => format!("[\"{colon}w\",{k},{v}]"),
                M::R(k, None) | M::Rr(k, None) => format!("[\"{colon}r\",{k},null]"),
                M::R(k, Some(l)) => format!("[\"{colon}r\",{k},{l:?}]"),
                M::Rr(k, Some(v)) => format!("[\"{colon}r\",{k},{v}]"),
            })
            .collect();
        format!("[{}]", v.join(","))
    }
    fn typ(t: T) -> &'static str {
        match t {
            T::Invoke => "invoke",
            T::Ok => "ok",
            T::Fail => "fail",
            T::Info => "info",
        }
    }
    /// dbarena's JSON lines.
    fn jsonl(&self) -> String {
        let mut s = String::new();
        for (i, (time, p, t, ms)) in self.sorted().iter().enumerate() {
            s.push_str(&format!(
                "{{\"index\":{i},\"process\":{p},\"type\":\"{}\",\"time\":{time},\"value\":{}}}\n",
                Self::typ(*t),
                Self::mops_json(ms, "")
            ));
        }
        s
    }
    /// elle-cli's JSON: keywords with colons, a nemesis op with a string value mixed in.
    fn elle(&self) -> String {
        let mut ops = vec![
            "{\"type\":\":info\",\"f\":\":start-partition\",\"value\":\":majority\",\"process\":\":nemesis\",\"time\":0,\"index\":0}".to_string(),
        ];
        for (i, (time, p, t, ms)) in self.sorted().iter().enumerate() {
            ops.push(format!(
                "{{\"type\":\":{}\",\"f\":\":txn\",\"value\":{},\"process\":{p},\"time\":{time},\"index\":{}}}",
                Self::typ(*t),
                Self::mops_json(ms, ":"),
                i + 1
            ));
        }
        format!("[{}]\n", ops.join(",\n "))
    }
}

fn run(text: &str, workload: Workload, assume: Assume) -> Analysis {
    let opts = Options {
        workload,
        budget: Duration::from_secs(5),
        assume,
        threads: 2,
        progress: false,
    };
    match check_reader(text.as_bytes(), "test", &opts) {
        Ok(a) => a,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// Checks a history in both formats; both must agree on the anomalies found.
fn both(b: &B, workload: Workload, assume: Assume) -> Analysis {
    let x = run(&b.jsonl(), workload, assume);
    let y = run(&b.elle(), workload, assume);
    assert_eq!(x.kinds(), y.kinds(), "formats disagree\n{}", b.jsonl());
    for m in Model::ALL {
        assert_eq!(x.validity(*m), y.validity(*m), "{m}");
    }
    x
}

fn la(b: &B) -> Analysis {
    both(b, Workload::ListAppend, Assume::default())
}

fn has(an: &Analysis, k: Kind) -> bool {
    an.found.contains(&k)
}

/// Asserts a verdict for each model.
fn expect(an: &Analysis, valid: &[Model], invalid: &[Model]) {
    for m in valid {
        assert_eq!(
            an.validity(*m),
            Validity::Valid,
            "{m} should hold: {:?}",
            an.counts
        );
    }
    for m in invalid {
        assert_eq!(
            an.validity(*m),
            Validity::Invalid,
            "{m} should fail: {:?}",
            an.counts
        );
    }
}

use Model::*;

#[test]
fn serial_history_is_strict_serializable() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1]), a(1, 2)])
        .ok(0, 4, 5, vec![r(1, &[1, 2])]);
    let an = la(&h);
    assert!(an.counts.is_empty(), "{:?}", an.counts);
    expect(&an, &[StrictSerializable], &[]);
}

#[test]
fn g0_write_cycle() {
    let h = B::default()
        .ok(0, 0, 10, vec![a(1, 1), a(2, 1)])
        .ok(1, 0, 10, vec![a(1, 2), a(2, 2)])
        .ok(2, 20, 21, vec![r(1, &[1, 2]), r(2, &[2, 1])]);
    let an = la(&h);
    assert!(has(&an, Kind::G0), "{:?}", an.counts);
    // One cycle, reported once.
    assert_eq!(an.counts.get("G0"), Some(&1), "{:?}", an.counts);
    expect(&an, &[], &[ReadUncommitted, ReadCommitted, Serializable]);
    let g0 = an.anomalies.iter().find(|a| a.kind == Kind::G0).unwrap();
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
        .t(0, 0, 1, T::Fail, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(has(&an, Kind::G1a), "{:?}", an.counts);
    expect(&an, &[ReadUncommitted], &[ReadCommitted]);
}

#[test]
fn g1b_intermediate_read() {
    let h = B::default()
        .ok(0, 0, 10, vec![a(1, 1), a(1, 2)])
        .ok(1, 5, 6, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(has(&an, Kind::G1b), "{:?}", an.counts);
    expect(&an, &[ReadUncommitted], &[ReadCommitted]);
}

#[test]
fn g1c_circular_information_flow() {
    let h = B::default().ok(0, 0, 10, vec![a(1, 1), r(2, &[1])]).ok(
        1,
        0,
        10,
        vec![a(2, 1), r(1, &[1])],
    );
    let an = la(&h);
    assert!(has(&an, Kind::G1c), "{:?}", an.counts);
    expect(&an, &[ReadUncommitted], &[ReadCommitted]);
}

#[test]
fn lost_update() {
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), a(1, 2)])
        .ok(2, 20, 21, vec![r(1, &[1, 2])]);
    let an = la(&h);
    assert!(has(&an, Kind::LostUpdate), "{:?}", an.counts);
    expect(
        &an,
        &[ReadCommitted, MonotonicAtomicView],
        &[RepeatableRead, SnapshotIsolation, Serializable],
    );
}

#[test]
fn write_skew_is_g2_item() {
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), r(2, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), r(2, &[]), a(2, 1)])
        .ok(2, 20, 21, vec![r(1, &[1]), r(2, &[1])]);
    let an = la(&h);
    assert_eq!(an.kinds(), vec!["G2-item"], "{:?}", an.counts);
    expect(&an, &[SnapshotIsolation], &[RepeatableRead, Serializable]);
}

#[test]
fn read_skew_is_g_single() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1), a(2, 1)])
        .ok(1, 2, 10, vec![r(1, &[1]), r(2, &[1, 2])])
        .ok(2, 3, 4, vec![a(1, 2), a(2, 2)])
        .ok(0, 20, 21, vec![r(1, &[1, 2]), r(2, &[1, 2])]);
    let an = la(&h);
    assert!(has(&an, Kind::GSingleItem), "{:?}", an.counts);
    expect(&an, &[ReadCommitted], &[SnapshotIsolation, RepeatableRead]);
    let g = an
        .anomalies
        .iter()
        .find(|a| a.kind == Kind::GSingleItem)
        .unwrap();
    assert_eq!(g.cycle.iter().filter(|c| c.kind == "rw").count(), 1);
    assert!(
        g.explanation.contains("did not see T") && g.explanation.contains("append of 2"),
        "{}",
        g.explanation
    );
}

#[test]
fn internal_inconsistency() {
    let h = B::default().ok(0, 0, 1, vec![a(1, 1), r(1, &[])]);
    let an = la(&h);
    assert_eq!(an.kinds(), vec!["internal"]);
    // Elle: internal is proscribed by snapshot isolation and serializable, not by read
    // committed nor repeatable read.
    expect(
        &an,
        &[ReadCommitted, RepeatableRead],
        &[SnapshotIsolation, Serializable],
    );
}

#[test]
fn future_read_inside_a_transaction() {
    // Rule 3: reading a value the same transaction appends later.
    let h = B::default()
        .ok(0, 0, 1, vec![r(1, &[1]), a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(has(&an, Kind::FutureRead), "{:?}", an.counts);
    expect(&an, &[ReadUncommitted], &[ReadCommitted]);
}

#[test]
fn incompatible_order_duplicates_garbage() {
    let order = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 0, 1, vec![a(1, 2)])
        .ok(2, 2, 3, vec![r(1, &[1, 2])])
        .ok(3, 2, 3, vec![r(1, &[2, 1])]);
    let an = la(&order);
    assert!(has(&an, Kind::IncompatibleOrder), "{:?}", an.counts);
    expect(&an, &[ReadUncommitted], &[ReadCommitted]);
    let dup = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[1, 1])]);
    let an = la(&dup);
    assert!(has(&an, Kind::DuplicateElements), "{:?}", an.counts);
    expect(&an, &[], &[ReadUncommitted]);
    let garbage = B::default().ok(0, 0, 1, vec![r(1, &[99])]);
    let an = la(&garbage);
    assert_eq!(an.kinds(), vec!["garbage-read"]);
}

#[test]
fn dirty_update() {
    let h = B::default()
        .t(0, 0, 1, T::Fail, vec![a(1, 1)])
        .ok(1, 2, 3, vec![a(1, 2)])
        .ok(2, 4, 5, vec![r(1, &[1, 2])]);
    let an = la(&h);
    assert!(has(&an, Kind::DirtyUpdate), "{:?}", an.counts);
    expect(&an, &[ReadUncommitted], &[ReadCommitted]);
}

#[test]
fn stale_read_is_a_realtime_anomaly() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[])])
        .ok(2, 4, 5, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(has(&an, Kind::GSingleItemRealtime), "{:?}", an.counts);
    expect(
        &an,
        &[Serializable, StrongSessionSerializable],
        &[StrictSerializable, StrongSnapshotIsolation],
    );
}

#[test]
fn stale_read_in_one_process_is_a_process_anomaly() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(0, 2, 3, vec![r(1, &[])])
        .ok(1, 4, 5, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(has(&an, Kind::GSingleItemProcess), "{:?}", an.counts);
    expect(
        &an,
        &[Serializable, SnapshotIsolation],
        &[
            StrongSessionSerializable,
            StrongSessionSnapshotIsolation,
            StrictSerializable,
        ],
    );
}

#[test]
fn future_read_across_transactions_violates_only_realtime_models() {
    // Rule 5: the reader completed before the writer was invoked.
    let h = B::default()
        .ok(0, 0, 1, vec![r(1, &[1])])
        .ok(1, 2, 3, vec![a(1, 1)]);
    let an = la(&h);
    assert!(has(&an, Kind::G1cRealtime), "{:?}", an.counts);
    expect(
        &an,
        &[ReadCommitted, Serializable, StrongSessionSerializable],
        &[StrictSerializable, StrongReadCommitted],
    );
}

#[test]
fn g0_realtime() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![a(1, 2)])
        .ok(2, 4, 5, vec![r(1, &[2, 1])]);
    let an = la(&h);
    assert!(has(&an, Kind::G0Realtime), "{:?}", an.counts);
    expect(
        &an,
        &[Serializable],
        &[StrictSerializable, StrongReadUncommitted],
    );
}

#[test]
fn g2_item_realtime() {
    // Each transaction misses the other's append although it began after the other ended:
    // two rw edges, both against real time.
    let h = B::default()
        .ok(0, 0, 1, vec![r(2, &[]), a(1, 1)])
        .ok(1, 2, 3, vec![r(1, &[]), a(2, 1)])
        .ok(2, 4, 5, vec![r(1, &[1]), r(2, &[1])]);
    let an = la(&h);
    // The data cycle alone is G2-item; strict serializability is also violated.
    assert!(has(&an, Kind::G2Item), "{:?}", an.counts);
    expect(
        &an,
        &[SnapshotIsolation],
        &[Serializable, StrictSerializable],
    );
}

#[test]
fn unobserved_appends_are_ordered_after_what_reads_saw() {
    // Rule 1: write skew over keys that are only ever read empty (never read back).
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), r(2, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), r(2, &[]), a(2, 1)]);
    let an = la(&h);
    assert!(has(&an, Kind::G2Item), "{:?}", an.counts);
    expect(&an, &[SnapshotIsolation], &[Serializable]);
    // G-single over an append no read saw: T1's append of 2 to key 1 must follow 1, which
    // T2 saw; T2 saw T1's append to key 2.
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 10, vec![a(1, 2), a(2, 1)])
        .ok(2, 2, 10, vec![r(1, &[1]), r(2, &[1])])
        .ok(3, 20, 21, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(has(&an, Kind::GSingleItem), "{:?}", an.counts);
    expect(&an, &[ReadCommitted], &[SnapshotIsolation, Serializable]);
}

#[test]
fn an_ok_read_of_null_is_the_empty_list() {
    // Rule 2.
    let h =
        B::default()
            .ok(0, 0, 10, vec![rnull(1), a(2, 1)])
            .ok(1, 0, 10, vec![rnull(2), a(1, 1)]);
    let an = la(&h);
    assert!(has(&an, Kind::G2Item), "{:?}", an.counts);
    expect(&an, &[SnapshotIsolation], &[Serializable]);
}

#[test]
fn indeterminate_transactions_join_the_graph() {
    // Rule 4: T1 ended info; the read that saw its 5 ends with T2's 6, so no read "observed"
    // T1's last append, yet T1 may have committed and is in a cycle.
    let h = B::default()
        .t(0, 0, 10, T::Info, vec![a(1, 1), a(2, 5)])
        .ok(1, 1, 9, vec![r(1, &[]), a(2, 6)])
        .ok(2, 20, 21, vec![r(2, &[5, 6])]);
    let an = la(&h);
    assert!(has(&an, Kind::GSingleItem), "{:?}", an.counts);
    expect(&an, &[ReadCommitted], &[SnapshotIsolation, Serializable]);
}

#[test]
fn empty_and_nemesis_only_histories_are_nothing_to_check() {
    let an = la(&B::default());
    assert!(an.nothing_to_check && an.incomplete);
    assert_eq!(an.validity(Serializable), Validity::Unknown);
    let fails = B::default().t(0, 0, 1, T::Fail, vec![a(1, 1)]);
    let an = la(&fails);
    assert!(an.nothing_to_check);
}

#[test]
fn string_keys_and_nemesis_values() {
    let text = "[{\"type\":\":invoke\",\"value\":[[\":append\",\"x\",1]],\"process\":0,\"index\":0},\n\
                {\"type\":\":info\",\"f\":\":kill\",\"value\":{\"n1\":\":killed\"},\"process\":\":nemesis\",\"index\":1},\n\
                {\"type\":\":ok\",\"value\":[[\":append\",\"x\",1]],\"process\":0,\"index\":2},\n\
                {\"type\":\":invoke\",\"value\":[[\":r\",\"x\",null]],\"process\":1,\"index\":3},\n\
                {\"type\":\":ok\",\"value\":[[\":r\",\"x\",[]]],\"process\":1,\"index\":4}]";
    let an = run(text, Workload::ListAppend, Assume::default());
    assert_eq!(an.ignored, 1);
    assert_eq!(an.committed, 2);
    assert!(has(&an, Kind::GSingleItemRealtime), "{:?}", an.counts);
    let cyc = an.anomalies.iter().find(|a| !a.cycle.is_empty()).unwrap();
    assert!(cyc.explanation.contains("key \"x\""), "{}", cyc.explanation);
}

#[test]
fn error_classes_are_counted() {
    let text = "{\"process\":0,\"type\":\"invoke\",\"value\":[[\"append\",1,1]]}\n\
                {\"process\":0,\"type\":\"fail\",\"value\":[[\"append\",1,1]],\"error\":\"serialization-failure\"}\n\
                {\"process\":1,\"type\":\"invoke\",\"value\":[[\"append\",1,2]]}\n\
                {\"process\":1,\"type\":\"info\",\"value\":[[\"append\",1,2]],\"error\":\"connection-lost\"}\n";
    let an = run(text, Workload::ListAppend, Assume::default());
    assert_eq!(an.errors.get("serialization-failure"), Some(&1));
    assert_eq!(an.errors.get("connection-lost"), Some(&1));
}

// rw-register.

fn reg(b: &B, assume: Assume) -> Analysis {
    both(b, Workload::RwRegister, assume)
}

#[test]
fn register_write_skew_from_the_initial_state() {
    let h = B::default()
        .ok(0, 0, 10, vec![rr(1, None), rr(2, None), w(1, 1)])
        .ok(1, 0, 10, vec![rr(1, None), rr(2, None), w(2, 1)]);
    let an = reg(&h, Assume::default());
    assert!(has(&an, Kind::G2Item), "{:?}", an.counts);
    expect(&an, &[SnapshotIsolation], &[Serializable]);
}

#[test]
fn register_anomalies() {
    let g1a = B::default()
        .t(0, 0, 1, T::Fail, vec![w(1, 1)])
        .ok(1, 2, 3, vec![rr(1, Some(1))]);
    assert!(has(&reg(&g1a, Assume::default()), Kind::G1a));
    let g1b = B::default()
        .ok(0, 0, 10, vec![w(1, 1), w(1, 2)])
        .ok(1, 2, 3, vec![rr(1, Some(1))]);
    assert!(has(&reg(&g1b, Assume::default()), Kind::G1b));
    let lost = B::default().ok(0, 0, 10, vec![rr(1, None), w(1, 1)]).ok(
        1,
        0,
        10,
        vec![rr(1, None), w(1, 2)],
    );
    let an = reg(&lost, Assume::default());
    assert!(has(&an, Kind::LostUpdate), "{:?}", an.counts);
    expect(&an, &[ReadCommitted], &[RepeatableRead, SnapshotIsolation]);
    let internal =
        B::default()
            .ok(1, 0, 1, vec![w(1, 5)])
            .ok(0, 2, 3, vec![w(1, 1), rr(1, Some(5))]);
    assert!(has(&reg(&internal, Assume::default()), Kind::Internal));
    let g1c = B::default().ok(0, 0, 10, vec![w(1, 1), rr(2, Some(1))]).ok(
        1,
        0,
        10,
        vec![w(2, 1), rr(1, Some(1))],
    );
    assert!(has(&reg(&g1c, Assume::default()), Kind::G1c));
}

#[test]
fn register_version_order_assumptions() {
    // 1 then 2 in real time, then a read of 1: only a linearizable key orders 1 before 2.
    let h = B::default()
        .ok(0, 0, 1, vec![w(1, 1)])
        .ok(1, 2, 3, vec![w(1, 2)])
        .ok(2, 4, 5, vec![rr(1, Some(1))]);
    let plain = reg(&h, Assume::default());
    expect(&plain, &[Serializable], &[]);
    let lin = reg(
        &h,
        Assume {
            linearizable_keys: true,
            sequential_keys: false,
        },
    );
    assert!(has(&lin, Kind::CyclicVersions), "{:?}", lin.counts);
    expect(&lin, &[], &[ReadUncommitted]);
    // One process writes 1 then reads nil: the sequential assumption sees the cycle.
    let h = B::default()
        .ok(0, 0, 1, vec![w(1, 1)])
        .ok(0, 2, 3, vec![rr(1, None)]);
    let seq = reg(
        &h,
        Assume {
            linearizable_keys: false,
            sequential_keys: true,
        },
    );
    assert!(has(&seq, Kind::CyclicVersions), "{:?}", seq.counts);
    // Writes follow reads: a read of 1 then a write of 2 orders 1 before 2, so a reader of 1
    // that 2's writer saw... (ww from 1's writer to 2's).
    let h = B::default()
        .ok(0, 0, 1, vec![w(1, 1)])
        .ok(1, 2, 3, vec![rr(1, Some(1)), w(1, 2)])
        .ok(2, 4, 5, vec![rr(1, Some(1))]);
    let an = reg(&h, Assume::default());
    assert!(has(&an, Kind::GSingleItemRealtime), "{:?}", an.counts);
    expect(&an, &[Serializable], &[StrictSerializable]);
}

// Random histories.

/// Transactions of `clients` overlapping clients, applied atomically at their completion
/// (a serializable, indeed strictly serializable, execution); some fail (not applied) and
/// some end unknown (applied or not).
fn random_history(seed: u64, txns: usize, register: bool) -> B {
    let mut rng = Rng::new(seed);
    let mut lists: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut regs: HashMap<u64, u64> = HashMap::new();
    let mut next = 1u64;
    let mut b = B::default();
    let clients = 5u64;
    for i in 0..txns as u64 {
        let mut mops = Vec::new();
        let apply = !rng.chance(0.1);
        let mut local_l = lists.clone();
        let mut local_r = regs.clone();
        for _ in 0..1 + rng.below(4) {
            let k = rng.below(6);
            if rng.chance(0.5) {
                if register {
                    local_r.insert(k, next);
                    mops.push(w(k, next));
                } else {
                    local_l.entry(k).or_default().push(next);
                    mops.push(a(k, next));
                }
                next += 1;
            } else if register {
                mops.push(rr(k, local_r.get(&k).copied()));
            } else {
                mops.push(r(k, &local_l.get(&k).cloned().unwrap_or_default()));
            }
        }
        let typ = if !apply {
            T::Fail
        } else if rng.chance(0.05) {
            T::Info
        } else {
            T::Ok
        };
        if apply {
            lists = local_l;
            regs = local_r;
        }
        let commit = i * 10 + 5;
        let invoke = commit.saturating_sub(10 * rng.below(clients));
        // One transaction per process at a time: the process is the commit slot modulo
        // clients only if its previous transaction has completed.
        b = b.t(
            i % clients + if typ == T::Info { 100 + i } else { 0 },
            invoke,
            commit,
            typ,
            mops,
        );
    }
    b
}

#[test]
fn random_serializable_histories_stay_valid() {
    for seed in 0..40 {
        for register in [false, true] {
            let b = random_history(seed, 80, register);
            let wl = if register {
                Workload::RwRegister
            } else {
                Workload::ListAppend
            };
            let an = both(&b, wl, Assume::default());
            assert!(
                an.counts.is_empty(),
                "seed {seed} register {register}: {:?}\n{:#?}",
                an.counts,
                an.anomalies
            );
            assert_eq!(an.validity(StrictSerializable), Validity::Valid);
        }
    }
}

#[test]
fn random_history_with_an_injected_stale_read_is_caught() {
    let mut caught = 0;
    for seed in 0..40 {
        let mut b = random_history(seed, 60, false);
        // Who appended each value, and when that transaction completed (ok only).
        let mut done_at: HashMap<u64, u64> = HashMap::new();
        for e in &b.events {
            if e.2 == T::Ok {
                for m in &e.3 {
                    if let M::A(_, v) = m {
                        done_at.insert(*v, e.0);
                    }
                }
            }
        }
        let invoked = |b: &B, i: usize| {
            let (t, p) = (b.events[i].0, b.events[i].1);
            b.events
                .iter()
                .filter(|e| e.1 == p && e.2 == T::Invoke && e.0 <= t)
                .map(|e| e.0)
                .max()
                .unwrap_or(0)
        };
        // An ok read whose last element was appended by a transaction that completed before
        // the reader began: dropping it is a stale read no strict serial order explains.
        let mut target = None;
        'find: for i in 0..b.events.len() {
            if b.events[i].2 != T::Ok {
                continue;
            }
            let start = invoked(&b, i);
            for (j, m) in b.events[i].3.iter().enumerate() {
                if let M::R(_, Some(l)) = m {
                    if let Some(last) = l.last() {
                        if done_at.get(last).is_some_and(|&d| d < start) {
                            target = Some((i, j));
                            break 'find;
                        }
                    }
                }
            }
        }
        let Some((i, j)) = target else { continue };
        if let M::R(_, Some(l)) = &mut b.events[i].3[j] {
            l.pop();
        }
        let an = la(&b);
        assert_eq!(
            an.validity(StrictSerializable),
            Validity::Invalid,
            "seed {seed}: {:?}",
            an.counts
        );
        caught += 1;
    }
    assert!(caught > 20, "{caught}");
}

#[test]
fn an_exhausted_search_never_says_valid() {
    let h = B::default()
        .ok(0, 0, 10, vec![r(1, &[]), r(2, &[]), a(1, 1)])
        .ok(1, 0, 10, vec![r(1, &[]), r(2, &[]), a(2, 1)])
        .ok(2, 20, 21, vec![r(1, &[1]), r(2, &[1])]);
    let opts = Options {
        budget: Duration::ZERO,
        threads: 1,
        ..Options::default()
    };
    let an = check_reader(h.jsonl().as_bytes(), "t", &opts).unwrap();
    // Whatever the search named, the cycle-existence check rules serializable out.
    assert_eq!(
        an.validity(Serializable),
        Validity::Invalid,
        "{:?}",
        an.counts
    );
    assert_ne!(an.validity(SnapshotIsolation), Validity::Invalid);
}

#[test]
fn the_recorders_in_memory_history_checks_the_same() {
    let h = History {
        ops: vec![
            Op {
                index: 0,
                process: 0,
                typ: OpType::Invoke,
                time: 0,
                value: vec![Mop::Read(1, None), Mop::Read(2, None), Mop::Append(1, 1)],
                error: None,
            },
            Op {
                index: 1,
                process: 1,
                typ: OpType::Invoke,
                time: 0,
                value: vec![Mop::Read(1, None), Mop::Read(2, None), Mop::Append(2, 1)],
                error: None,
            },
            Op {
                index: 2,
                process: 0,
                typ: OpType::Ok,
                time: 1,
                value: vec![
                    Mop::Read(1, Some(vec![])),
                    Mop::Read(2, Some(vec![])),
                    Mop::Append(1, 1),
                ],
                error: None,
            },
            Op {
                index: 3,
                process: 1,
                typ: OpType::Ok,
                time: 1,
                value: vec![
                    Mop::Read(1, Some(vec![])),
                    Mop::Read(2, Some(vec![])),
                    Mop::Append(2, 1),
                ],
                error: None,
            },
        ],
    };
    let an = check(&h, Duration::from_secs(1));
    assert_eq!(an.kinds(), vec!["G2-item"]);
}

#[test]
fn cycles_draw_as_valid_svg_and_dot() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1), a(2, 1)])
        .ok(1, 2, 10, vec![r(1, &[1]), r(2, &[1, 2])])
        .ok(2, 3, 4, vec![a(1, 2), a(2, 2)])
        .ok(0, 20, 21, vec![r(1, &[1, 2]), r(2, &[1, 2])]);
    let an = la(&h);
    let svg = super::explain::svg(&an);
    // resvg parses it (the same renderer as the PNG charts).
    let png = crate::report::png::render(&svg).expect("valid SVG");
    if let Ok(dir) = std::env::var("DBARENA_SVG_OUT") {
        let _ = std::fs::write(std::path::Path::new(&dir).join("cycle.png"), png);
    }
    let dot = super::explain::dot(&an);
    assert!(dot.contains("label=\"G-single-item\""), "{dot}");
}

#[test]
fn non_unique_appends_and_the_wrong_workload_are_unknown() {
    let h = B::default()
        .ok(0, 0, 1, vec![a(1, 1)])
        .ok(1, 2, 3, vec![a(1, 1)])
        .ok(2, 4, 5, vec![r(1, &[1])]);
    let an = la(&h);
    assert!(an.unknown[0].contains("more than once"), "{:?}", an.unknown);
    assert_eq!(an.validity(ReadCommitted), Validity::Unknown);
    let regs = B::default().ok(0, 0, 1, vec![w(1, 1)]);
    let an = la(&regs);
    assert!(
        an.unknown[0].contains("--workload rw-register"),
        "{:?}",
        an.unknown
    );
    let dup = B::default()
        .ok(0, 0, 1, vec![w(1, 1)])
        .ok(1, 2, 3, vec![w(1, 1)]);
    let an = reg(&dup, Assume::default());
    assert!(an.unknown[0].contains("more than once"), "{:?}", an.unknown);
}

/// Elle's `boundary` for each anomaly of the catalogue: the weakest models it rules out.
#[test]
fn weakest_models_ruled_out_match_elles_boundary() {
    use super::report::weakest_violated;
    let cases: Vec<(&str, B, Vec<Model>)> = vec![
        (
            "G0",
            B::default()
                .ok(0, 0, 10, vec![a(1, 1), a(2, 1)])
                .ok(1, 0, 10, vec![a(1, 2), a(2, 2)])
                .ok(2, 20, 21, vec![r(1, &[1, 2]), r(2, &[2, 1])]),
            vec![ReadUncommitted],
        ),
        (
            "G1a",
            B::default()
                .t(0, 0, 1, T::Fail, vec![a(1, 1)])
                .ok(1, 2, 3, vec![r(1, &[1])]),
            vec![ReadCommitted],
        ),
        (
            "G1b",
            B::default()
                .ok(0, 0, 10, vec![a(1, 1), a(1, 2)])
                .ok(1, 5, 6, vec![r(1, &[1])]),
            vec![ReadCommitted],
        ),
        (
            "G1c",
            B::default().ok(0, 0, 10, vec![a(1, 1), r(2, &[1])]).ok(
                1,
                0,
                10,
                vec![a(2, 1), r(1, &[1])],
            ),
            vec![ReadCommitted],
        ),
        (
            "future-read",
            B::default().ok(0, 0, 1, vec![r(1, &[1]), a(1, 1)]),
            vec![ReadCommitted],
        ),
        (
            "internal",
            B::default().ok(0, 0, 1, vec![a(1, 1), r(1, &[])]),
            vec![ReadAtomic],
        ),
        (
            "lost-update",
            B::default()
                .ok(0, 0, 10, vec![r(1, &[]), a(1, 1)])
                .ok(1, 0, 10, vec![r(1, &[]), a(1, 2)])
                .ok(2, 20, 21, vec![r(1, &[1, 2])]),
            // Cursor stability (which repeatable read and consistent view imply) and ROLA
            // proscribe lost update directly.
            vec![CursorStability, Rola],
        ),
        (
            "G2-item",
            B::default()
                .ok(0, 0, 10, vec![r(1, &[]), r(2, &[]), a(1, 1)])
                .ok(1, 0, 10, vec![r(1, &[]), r(2, &[]), a(2, 1)]),
            vec![RepeatableRead],
        ),
        (
            "G0-realtime",
            B::default()
                .ok(0, 0, 1, vec![a(1, 1)])
                .ok(1, 2, 3, vec![a(1, 2)])
                .ok(2, 4, 5, vec![r(1, &[2, 1])]),
            vec![StrongReadUncommitted],
        ),
        (
            "G1c-realtime",
            B::default()
                .ok(0, 0, 1, vec![r(1, &[1])])
                .ok(1, 2, 3, vec![a(1, 1)]),
            vec![StrongReadCommitted],
        ),
        (
            "G-single-item-realtime",
            B::default()
                .ok(0, 0, 1, vec![a(1, 1)])
                .ok(1, 2, 3, vec![r(1, &[])])
                .ok(2, 4, 5, vec![r(1, &[1])]),
            vec![StrongSnapshotIsolation],
        ),
        (
            "G-single-item-process",
            B::default()
                .ok(0, 0, 1, vec![a(1, 1)])
                .ok(0, 2, 3, vec![r(1, &[])])
                .ok(1, 4, 5, vec![r(1, &[1])]),
            vec![StrongSessionSnapshotIsolation],
        ),
    ];
    for (name, b, want) in cases {
        let an = la(&b);
        let mut got = weakest_violated(&an);
        let mut want = want;
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}: {:?}", an.counts);
    }
}
