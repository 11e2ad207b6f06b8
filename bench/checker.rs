//! Speed and memory of the checker.
//!
//!   cargo bench --bench checker                      # in-memory histories, 10k and 100k txns
//!   cargo bench --bench checker -- 10000 1000000     # other sizes
//!   cargo bench --bench checker -- --elle FILE N     # write an elle-cli JSON list-append
//!                                                    # history of N transactions (16
//!                                                    # processes, 4 micro-ops each)
//!   cargo bench --bench checker -- --elle FILE N --stale 0.001
//!                                                    # the same with one read in a thousand
//!                                                    # missing its last element (anomalies)
//!   cargo bench --bench checker -- --check FILE      # stream-check a file, print figures
//!
//! Prints: transactions, seconds, transactions/s, peak resident memory (MiB).

use dbarena::datagen::Rng;
use dbarena::verify::history::{History, Mop, Op, OpType};
use std::collections::HashMap;
use std::io::Write;
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
                error: None,
            })
            .collect(),
    }
}

/// Writes an elle-cli JSON list-append history of `n` transactions, as Elle's generator
/// shapes them: 16 processes, 4 micro-ops per transaction over a few active keys, each key
/// retired after 32 appends (so reads carry up to 32 elements). Transactions are applied at
/// their completion (a strictly serializable execution) and overlap up to 16 at a time; one in
/// fifty fails (its appends are never applied). Streams to the file in constant memory.
fn write_elle(path: &str, n: u64, seed: u64, stale: f64) -> std::io::Result<()> {
    const PROCS: u64 = 16;
    const ACTIVE: u64 = 8;
    const MAX_WRITES: usize = 32;
    let mut rng = Rng::new(seed);
    let f = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut active: Vec<u64> = (0..ACTIVE).collect();
    let mut lists: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut next_key = ACTIVE;
    let mut next_val = 1u64;
    // Each process has one transaction in flight: (micro-ops as (append?, key, value), failed?)
    type Plan = (Vec<(bool, u64, u64)>, bool);
    let mut in_flight: Vec<Option<Plan>> = vec![None; PROCS as usize];
    let mut index = 0u64;
    let mut time = 0u64;
    out.write_all(b"[")?;
    let mut first = true;
    let mut sep = |out: &mut std::io::BufWriter<std::fs::File>| -> std::io::Result<()> {
        if first {
            first = false;
            Ok(())
        } else {
            out.write_all(b",\n")
        }
    };
    let mut invoked = 0u64;
    for step in 0..n + PROCS {
        let p = (step % PROCS) as usize;
        // Complete this process's transaction: apply it now, against the current lists.
        if let Some((plan, failed)) = in_flight[p].take() {
            let mut mops = String::new();
            for (i, &(append, k, v)) in plan.iter().enumerate() {
                if i > 0 {
                    mops.push(',');
                }
                let list = lists.entry(k).or_default();
                if append {
                    if !failed {
                        list.push(v);
                    }
                    mops.push_str(&format!("[\":append\",{k},{v}]"));
                } else if !failed && !list.is_empty() && rng.chance(stale) {
                    // A stale read: misses the last append (an anomaly to find).
                    mops.push_str(&format!("[\":r\",{k},{:?}]", &list[..list.len() - 1]));
                } else {
                    mops.push_str(&format!("[\":r\",{k},{list:?}]"));
                }
            }
            // Retire full keys.
            for k in active.iter_mut() {
                if lists.get(k).is_some_and(|l| l.len() >= MAX_WRITES) {
                    *k = next_key;
                    next_key += 1;
                }
            }
            time += 1000;
            sep(&mut out)?;
            write!(
                out,
                "{{\"type\":\"{}\",\"f\":\":txn\",\"value\":[{mops}],\"process\":{p},\"time\":{time},\"index\":{index}}}",
                if failed { ":fail" } else { ":ok" }
            )?;
            index += 1;
        }
        if invoked < n {
            invoked += 1;
            let plan: Vec<(bool, u64, u64)> = (0..4)
                .map(|_| {
                    let k = active[rng.below(ACTIVE) as usize];
                    if rng.chance(0.5) {
                        next_val += 1;
                        (true, k, next_val)
                    } else {
                        (false, k, 0)
                    }
                })
                .collect();
            let failed = rng.chance(0.02);
            let mut mops = String::new();
            for (i, &(append, k, v)) in plan.iter().enumerate() {
                if i > 0 {
                    mops.push(',');
                }
                if append {
                    mops.push_str(&format!("[\":append\",{k},{v}]"));
                } else {
                    mops.push_str(&format!("[\":r\",{k},null]"));
                }
            }
            time += 1000;
            sep(&mut out)?;
            write!(
                out,
                "{{\"type\":\":invoke\",\"f\":\":txn\",\"value\":[{mops}],\"process\":{p},\"time\":{time},\"index\":{index}}}"
            )?;
            index += 1;
            in_flight[p] = Some((plan, failed));
        }
    }
    out.write_all(b"]\n")?;
    out.flush()
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
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(i) = args.iter().position(|a| a == "--elle") {
        let (Some(path), Some(n)) = (
            args.get(i + 1),
            args.get(i + 2).and_then(|n| n.parse().ok()),
        ) else {
            eprintln!("usage: --elle FILE TRANSACTIONS");
            std::process::exit(2);
        };
        let t = Instant::now();
        let stale = args
            .iter()
            .position(|a| a == "--stale")
            .and_then(|i| args.get(i + 1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0.0);
        if let Err(e) = write_elle(path, n, 7, stale) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
        println!(
            "wrote {path}: {n} transactions in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--check") {
        let Some(path) = args.get(i + 1) else {
            eprintln!("usage: --check FILE");
            std::process::exit(2);
        };
        let t = Instant::now();
        let opts = dbarena::verify::Options {
            progress: true,
            ..Default::default()
        };
        match dbarena::verify::check_file(std::path::Path::new(path), &opts) {
            Ok(an) => println!(
                "| {} | {:.2} | {:.0} | {} | {:.0} |",
                an.transactions,
                t.elapsed().as_secs_f64(),
                an.transactions as f64 / t.elapsed().as_secs_f64(),
                an.counts.values().sum::<usize>(),
                peak_rss_mib()
            ),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
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
