//! The physical limit of embedded SQLite for the benchmark harness: a minimal rusqlite loop in
//! one process, with the same pragmas and the same rows as dbarena.
//!
//!   cargo bench --bench sqlite_raw -- insert PATH ROWS     # ycsb usertable, 10 fields of 100 bytes
//!   cargo bench --bench sqlite_raw -- select PATH SECONDS  # uniform point selects by key
//!   cargo bench --bench sqlite_raw -- select-n PATH COUNT  # exactly COUNT of them (instruction counts)
//!
//! Prints one line: `<op> <count> <seconds> <per_second>`.
//!
//! With `RAW_IDLE_THREAD=1` the process also holds an idle thread, as any load generator with
//! a collector does: glibc and SQLite's mutexes then take their multi-threaded paths, which
//! is part of what separates dbarena from this loop (docs/PERFORMANCE.md).

use dbarena::datagen::values::ycsb_key;
use dbarena::datagen::Rng;
use dbarena::seed::generators::{name_hash, ColumnGen, Gen};
use std::time::Instant;

fn open(path: &str) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open");
    c.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("pragmas");
    c
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (op, path, n) = match args.as_slice() {
        [op, path, n] => (
            op.as_str(),
            path.as_str(),
            n.parse::<u64>().expect("number"),
        ),
        _ => {
            eprintln!(
                "usage: sqlite_raw insert PATH ROWS | select PATH SECONDS | select-n PATH COUNT"
            );
            return;
        }
    };
    if std::env::var_os("RAW_IDLE_THREAD").is_some_and(|v| v == "1") {
        std::thread::spawn(|| loop {
            std::thread::park();
        });
    }
    match op {
        "insert" => {
            let _ = std::fs::remove_file(path);
            let mut c = open(path);
            let mut cols = vec!["ycsb_key VARCHAR(255) PRIMARY KEY".to_string()];
            cols.extend((0..10).map(|i| format!("field{i} VARCHAR(100)")));
            c.execute_batch(&format!("CREATE TABLE usertable ({})", cols.join(", ")))
                .expect("create");
            // The same values dbarena's ycsb preset generates (same seed derivation).
            let table_seed = 42 ^ name_hash("usertable");
            let gens: Vec<(u64, ColumnGen)> = (0..10)
                .map(|i| {
                    let name = format!("field{i}");
                    let seed = table_seed ^ name_hash(&name).rotate_left(17);
                    (
                        seed,
                        ColumnGen {
                            name,
                            gen: Gen::Chars { len: 100 },
                            null_probability: 0.0,
                            max_len: Some(100),
                            reason: None,
                        },
                    )
                })
                .collect();
            let start = Instant::now();
            let mut row = 0u64;
            while row < n {
                let end = (row + 50_000).min(n);
                let tx = c.transaction().expect("begin");
                {
                    let mut st = tx
                        .prepare_cached(
                            "INSERT INTO usertable VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        )
                        .expect("prepare");
                    for r in row..end {
                        st.raw_bind_parameter(1, ycsb_key(r)).expect("bind");
                        for (i, (seed, g)) in gens.iter().enumerate() {
                            if let dbarena::value::Value::Text(s) = g.value(*seed, r) {
                                st.raw_bind_parameter(i + 2, s).expect("bind");
                            }
                        }
                        st.raw_execute().expect("insert");
                    }
                }
                tx.commit().expect("commit");
                row = end;
            }
            let secs = start.elapsed().as_secs_f64();
            println!("insert {n} {secs:.3} {:.0}", n as f64 / secs);
        }
        "select" | "select-n" => {
            // `select` runs for n seconds; `select-n` runs exactly n selects.
            let by_count = op == "select-n";
            let c = open(path);
            let rows: u64 = c
                .query_row("SELECT COUNT(*) FROM usertable", [], |r| r.get(0))
                .expect("count");
            let mut st = c
                .prepare("SELECT * FROM usertable WHERE ycsb_key = ?")
                .expect("prepare");
            let mut rng = Rng::new(1);
            let start = Instant::now();
            let mut done = 0u64;
            while if by_count {
                done < n
            } else {
                start.elapsed().as_secs() < n
            } {
                let batch = if by_count { (n - done).min(1000) } else { 1000 };
                for _ in 0..batch {
                    let key = ycsb_key(rng.below(rows));
                    let mut q = st.query([key]).expect("query");
                    while let Some(r) = q.next().expect("step") {
                        let _: String = r.get(1).expect("field");
                    }
                    done += 1;
                }
            }
            let secs = start.elapsed().as_secs_f64();
            println!("select {done} {secs:.3} {:.0}", done as f64 / secs);
        }
        other => eprintln!("unknown operation {other}"),
    }
}
