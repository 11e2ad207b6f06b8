//! Speed and memory of the list-append checker on generated histories with realistic
//! concurrency (transactions overlap their neighbours in time, as 8 clients would).
//!
//!   cargo bench --bench checker -- 10000 100000 1000000
//!
//! Prints: transactions, seconds, transactions/s, peak resident memory (MiB).

use dbarena::datagen::Rng;
use dbarena::verify::history::{History, Mop, Op, OpType};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A serializable execution by `clients` concurrent clients: transactions apply in commit
/// order, and each one's invocation precedes the commits of up to `clients - 1` others.
fn history(n: usize, clients: u64, seed: u64) -> History {
    let mut rng = Rng::new(seed);
    let mut state: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut next = 1u64;
    let mut events: Vec<(u64, u64, OpType, Vec<Mop>)> = Vec::with_capacity(2 * n);
    let mut busy_until = vec![0u64; clients as usize];
    for i in 0..n as u64 {
        let p = i % clients;
        let base = i / 40; // a hot set of 10 keys that moves on as lists grow
        let mut mops = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let k = base + rng.below(10);
            if rng.chance(0.5) {
                state.entry(k).or_default().push(next);
                mops.push(Mop::Append(k, next));
                next += 1;
            } else {
                mops.push(Mop::Read(
                    k,
                    Some(state.get(&k).cloned().unwrap_or_default()),
                ));
            }
        }
        let commit = i * 10 + 5;
        let invoke = busy_until[p as usize].max(commit.saturating_sub(10 * clients));
        busy_until[p as usize] = commit + 1;
        let inv: Vec<Mop> = mops
            .iter()
            .map(|m| match m {
                Mop::Read(k, _) => Mop::Read(*k, None),
                o => o.clone(),
            })
            .collect();
        events.push((invoke, p, OpType::Invoke, inv));
        events.push((commit, p, OpType::Ok, mops));
    }
    events.sort_by_key(|e| (e.0, e.2 != OpType::Invoke));
    History {
        ops: events
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

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!("| transactions | check s | txn/s | anomalies | peak RSS MiB |");
    println!("|---|---|---|---|---|");
    for n in sizes {
        let h = history(n, 8, 7);
        let t = Instant::now();
        let an = dbarena::verify::check(&h, Duration::from_secs(30));
        let secs = t.elapsed().as_secs_f64();
        println!(
            "| {n} | {secs:.2} | {:.0} | {} | {:.0} |",
            n as f64 / secs,
            an.counts.values().sum::<usize>(),
            peak_rss_mib()
        );
    }
}
