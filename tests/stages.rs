//! Rate stages and think time on a real database: a ramp is followed second by second, and
//! think time spaces a closed loop's transactions.

mod common;
use common::*;

/// One line of a `--log` (pgbench's columns: client, number, latency, script, epoch
/// seconds, microseconds, …).
struct LogRow {
    client: usize,
    script: usize,
    /// Seconds since the epoch.
    time: f64,
}

fn log_rows(path: &std::path::Path) -> Vec<LogRow> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            LogRow {
                client: f[0].parse().unwrap(),
                script: f[3].parse().unwrap(),
                time: f[4].parse::<f64>().unwrap() + f[5].parse::<f64>().unwrap() / 1e6,
            }
        })
        .collect()
}

#[test]
fn a_ramp_from_100_to_1000_tps_is_kept_every_second() {
    let Some(db) = TestDb::new(Db::Sqlite, "stg") else {
        return;
    };
    let dir = Scratch::new("stg");
    let cfg = dir.select_config();
    let out = dir.new_file("ramp", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--tps",
            "100",
            "--stage",
            "6s:1000",
            "--stage",
            "2s:1000",
            "--arrival",
            "uniform",
            "-n",
            "4",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    assert_eq!(r["config"]["stages"][0]["target"], 1000.0);
    assert!((r["duration_s"].as_f64().unwrap() - 8.0).abs() < 0.5);
    let whole: Vec<&serde_json::Value> = r["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["partial"] != true)
        .collect();
    assert!(whole.len() >= 7, "{}", whole.len());
    let mut last = 0.0;
    for iv in &whole {
        let want = iv["target_tps"].as_f64().unwrap() * iv["span_s"].as_f64().unwrap();
        let got = (iv["committed"].as_u64().unwrap() + iv["failed"].as_u64().unwrap()) as f64;
        // Uniform arrivals: within 2%, plus the transaction or two that straddle a tick.
        assert!(
            (got - want).abs() <= want * 0.02 + 2.0,
            "t={} got {got} want {want}",
            iv["t_s"]
        );
        let target = iv["target_tps"].as_f64().unwrap();
        assert!(target >= last - 1e-6, "the target only rises, then holds");
        last = target;
    }
    assert!(last > 950.0, "the ramp reached its top: {last}");
    assert_eq!(r["schedule"]["missed"], 0);
    // Each stage measured on its own: the ramp averages about 550 tps, the hold 1000.
    let st = r["stages"].as_array().unwrap();
    assert_eq!(st.len(), 2);
    let ramp = st[0]["tps"].as_f64().unwrap();
    let hold = st[1]["tps"].as_f64().unwrap();
    assert!((ramp - 550.0).abs() < 550.0 * 0.1, "{ramp}");
    assert!((hold - 1000.0).abs() < 1000.0 * 0.05, "{hold}");
    assert_eq!(st[1]["target_from"], 1000.0);
    // The stages add up to the run (the short tail after the last whole second included).
    let sum: u64 = st.iter().map(|x| x["committed"].as_u64().unwrap()).sum();
    assert_eq!(sum, r["totals"]["committed"].as_u64().unwrap());
    // The run's target is what the ramp and hold intended on average: (550 × 6 + 1000 × 2) / 8.
    let target = r["schedule"]["target_tps"].as_f64().unwrap();
    assert!((target - 662.5).abs() < 662.5 * 0.02, "{target}");
}

#[test]
fn think_time_spaces_a_closed_loop_and_is_not_latency() {
    let Some(db) = TestDb::new(Db::Sqlite, "think") else {
        return;
    };
    let dir = Scratch::new("think");
    let cfg = dir.select_config();
    let out = dir.new_file("think", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "-n",
            "2",
            "-d",
            "2s",
            "--think-time",
            "100ms",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let n = r["totals"]["committed"].as_u64().unwrap();
    // Two users, each a transaction per ~100 ms for 2 s: about 40, far below a free loop.
    assert!((20..=44).contains(&n), "{n}");
    assert!(
        r["response"]["p50_ms"].as_f64().unwrap() < 50.0,
        "think time is not latency"
    );
    // Think time belongs to a closed loop.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--tps",
            "10",
            "--think-time",
            "100ms",
            "-d",
            "1s",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("closed loop"), "{}", stderr(&o));
}

/// A stage on fewer connections: its rate on the first N alone, the others idle until a
/// stage uses them; the run's rate is what the stages say throughout.
#[test]
fn a_stage_runs_on_its_own_number_of_connections() {
    let Some(db) = TestDb::new(Db::Sqlite, "stgc") else {
        return;
    };
    let dir = Scratch::new("stgc");
    let cfg = dir.select_config();
    let out = dir.new_file("conns", "json");
    let log = dir.new_file("conns", "log");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--tps",
            "200",
            "--stage",
            "2s:200@1",
            "--stage",
            "2s:200@4",
            "--arrival",
            "uniform",
            "-n",
            "4",
            "--quiet",
            "--log",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let st = r["stages"].as_array().unwrap();
    assert_eq!(st[0]["connections"], 1, "{st:?}");
    assert_eq!(st[1]["connections"], 4, "{st:?}");
    for s in st {
        let tps = s["tps"].as_f64().unwrap();
        assert!((tps - 200.0).abs() < 200.0 * 0.05, "{s}");
    }
    // Per connection (pgbench's log: client, …, epoch seconds, microseconds): the first
    // stage's 400 on connection 0 alone, then about 100 on each of the four.
    let rows = log_rows(&log);
    let start = rows.iter().map(|r| r.time).fold(f64::INFINITY, f64::min);
    let count = |c: usize| rows.iter().filter(|r| r.client == c).count() as i64;
    assert!((count(0) - 500).abs() <= 10, "connection 0: {}", count(0));
    for c in 1..4 {
        assert!((count(c) - 100).abs() <= 5, "connection {c}: {}", count(c));
        let first = rows
            .iter()
            .filter(|r| r.client == c)
            .map(|r| r.time)
            .fold(f64::INFINITY, f64::min);
        assert!(
            first - start > 1.9,
            "connection {c} ran at {}",
            first - start
        );
    }
    // More connections in a stage than the run opens: refused, with the fix.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--tps",
            "10",
            "--stage",
            "1s:10@8",
            "-n",
            "4",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("give -n 8"), "{}", stderr(&o));
}

/// Stages with their own operation weights (TOML tables): the first stage runs only `a`,
/// the second only `b`; a weight for an operation the workload lacks is refused.
#[test]
fn stages_weigh_operations_their_own_way() {
    let Some(db) = TestDb::new(Db::Sqlite, "stgw") else {
        return;
    };
    let dir = Scratch::new("stgw");
    let cfg = dir.file("w.toml");
    let write = |stages: &str| {
        std::fs::write(
            &cfg,
            format!(
                r#"
tps = 100
arrival = "uniform"
connections = 2
stages = [{stages}]
[[custom_queries]]
name = "a"
weight = 50
sql = "SELECT 1"
[[custom_queries]]
name = "b"
weight = 50
sql = "SELECT 2"
"#
            ),
        )
        .unwrap();
    };
    write(
        r#"{ duration = "2s", tps = 100, weights = { a = 1 } }, { duration = "2s", tps = 100, weights = { b = 1 } }"#,
    );
    let out = dir.new_file("weights", "json");
    let log = dir.new_file("weights", "log");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--quiet",
            "--log",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let a = r["operations"]["a"]["committed"].as_i64().unwrap();
    let b = r["operations"]["b"]["committed"].as_i64().unwrap();
    assert!((a - 200).abs() <= 4 && (b - 200).abs() <= 4, "a {a}, b {b}");
    assert_eq!(r["config"]["stages"][0]["weights"]["a"], 1.0);
    // In time: every `a` before every `b` (pgbench's log: client, number, latency, script,
    // epoch seconds, microseconds).
    let rows = log_rows(&log);
    let at = |op: usize| rows.iter().filter(move |r| r.script == op).map(|r| r.time);
    let last_a = at(0).fold(0.0, f64::max);
    let first_b = at(1).fold(f64::INFINITY, f64::min);
    assert!(last_a <= first_b + 0.01, "a at {last_a}, b from {first_b}");

    write(r#"{ duration = "1s", tps = 10, weights = { c = 1 } }"#);
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'c'") && stderr(&o).contains("its operations: a, b"),
        "{}",
        stderr(&o)
    );
    // Weights that do not sum to 1 or 100, and weights for a workload without a mix of
    // named operations: refused with exit 2.
    write(r#"{ duration = "1s", tps = 10, weights = { a = 3 } }"#);
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("weights sum to 3"), "{}", stderr(&o));
    std::fs::write(
        &cfg,
        "pattern = \"writers-readers\"\nstages = [{ duration = \"1s\", tps = 10, weights = { write = 1 } }]\n",
    )
    .unwrap();
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stage weights apply to workloads with a mix"),
        "{}",
        stderr(&o)
    );
}
