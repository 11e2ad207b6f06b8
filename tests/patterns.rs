//! Every built-in pattern on every database: real operations, the promised mix, the rate.

mod common;
use common::*;

const PATTERNS: &[(&str, [f64; 4])] = &[
    ("oltp", [40.0, 30.0, 25.0, 5.0]),
    ("ecommerce", [50.0, 25.0, 20.0, 5.0]),
    ("olap", [90.0, 5.0, 4.0, 1.0]),
    ("reporting", [95.0, 3.0, 2.0, 0.0]),
    ("time_series", [30.0, 65.0, 2.0, 3.0]),
    ("social_media", [70.0, 20.0, 8.0, 2.0]),
    ("iot", [20.0, 75.0, 3.0, 2.0]),
    ("read_heavy", [80.0, 10.0, 8.0, 2.0]),
    ("write_heavy", [20.0, 40.0, 30.0, 10.0]),
    ("balanced", [50.0, 25.0, 20.0, 5.0]),
];

fn every_pattern(kind: Db) {
    let Some(db) = TestDb::new(kind, "patterns") else {
        return;
    };
    let dir = Scratch::new("patterns");
    for (name, mix) in PATTERNS {
        let out = dir.file(&format!("{name}.json"));
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--pattern",
                name,
                "--duration",
                "2s",
                "--connections",
                "4",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        let r = ok_result(&o, &out);
        let committed = r["totals"]["committed"].as_u64().unwrap();
        let failed = r["totals"]["failed"].as_u64().unwrap();
        // Real work on every database, even the aggregate patterns, whose queries slow down
        // as the write-heavy patterns before them grow the tables (OLAP on MariaDB: ~340 in
        // 2 s beside the other tests in this binary).
        assert!(
            committed >= 200,
            "{name} on {kind:?}: only {committed} committed"
        );
        assert_eq!(r["config"]["pattern"], *name);
        let errs = unexpected_errors(&r);
        assert!(
            errs.is_empty(),
            "{name} on {kind:?}: unexpected errors {errs:?}"
        );
        let total = (committed + failed) as f64;
        for (i, op) in ["select", "insert", "update", "delete"].iter().enumerate() {
            let o = &r["operations"][op];
            let n = o["committed"].as_u64().unwrap_or(0) + o["failed"].as_u64().unwrap_or(0);
            let share = n as f64 * 100.0 / total;
            assert!(
                (share - mix[i]).abs() <= 1.0,
                "{name} on {kind:?}: {op} is {share:.2}% of {total}, expected {}%",
                mix[i]
            );
        }
    }
    // Deletes remove rows the workload inserted, never the original data.
    let ids = db.query("SELECT COUNT(*) FROM users WHERE id <= 1000");
    assert_eq!(
        ids[0][0].as_deref(),
        Some("1000"),
        "original users were deleted on {kind:?}"
    );
}

#[test]
fn every_pattern_on_sqlite() {
    every_pattern(Db::Sqlite);
}

#[test]
fn every_pattern_on_postgres() {
    every_pattern(Db::Postgres);
}

#[test]
fn every_pattern_on_mariadb() {
    every_pattern(Db::Mysql);
}

fn rate_is_kept(kind: Db) {
    let Some(db) = TestDb::new(kind, "rate") else {
        return;
    };
    let dir = Scratch::new("rate");
    let out = dir.file("r.json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "read_heavy",
            "--tps",
            "200",
            "--arrival",
            "uniform",
            "--duration",
            "3s",
            "--connections",
            "4",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let achieved = r["schedule"]["achieved_tps"].as_f64().unwrap();
    assert!(
        (achieved - 200.0).abs() <= 10.0,
        "{kind:?}: achieved {achieved} tps for a 200 tps target"
    );
    assert_eq!(r["schedule"]["target_tps"].as_f64(), Some(200.0));
    assert_eq!(r["schedule"]["behind"], false);
    // Latency from intended start is never below service time.
    assert!(r["response"]["p50_ms"].as_f64() >= r["service"]["p50_ms"].as_f64());
}

#[test]
fn rate_is_kept_on_sqlite() {
    rate_is_kept(Db::Sqlite);
}

#[test]
fn rate_is_kept_on_postgres() {
    rate_is_kept(Db::Postgres);
}

#[test]
fn rate_is_kept_on_mariadb() {
    rate_is_kept(Db::Mysql);
}
