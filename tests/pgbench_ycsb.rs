//! pgbench scripts and YCSB workloads on real databases.

mod common;
use common::*;

fn run(db: &TestDb, dir: &Scratch, args: &[&str]) -> serde_json::Value {
    let out = dir.new_file("r", "json");
    let mut full = vec![
        "workload",
        "run",
        "--db",
        &db.url,
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    full.extend_from_slice(args);
    let o = dbarena(&full, dir.path());
    ok_result(&o, &out)
}

fn sum(db: &TestDb, sql: &str) -> i64 {
    db.query(sql)[0][0]
        .as_deref()
        .unwrap_or("0")
        .parse::<f64>()
        .unwrap() as i64
}

#[test]
fn pgbench_scripts_keep_the_balances_consistent() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "pgbench") else {
            continue;
        };
        let dir = Scratch::new("pgbench");
        let o = dbarena(
            &[
                "seed", "--db", &db.url, "--preset", "pgbench", "--scale", "1", "-q",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        for (script, protocol) in [
            ("tpcb-like", "prepared"),
            ("tpcb-like", "simple"),
            ("tpcb-like", "extended"),
            ("simple-update", "prepared"),
            ("select-only", "prepared"),
        ] {
            let r = run(
                &db,
                &dir,
                &[
                    "--pattern",
                    script,
                    "-M",
                    protocol,
                    "--transactions",
                    "400",
                    "-n",
                    "4",
                ],
            );
            assert_eq!(
                r["operations"][script]["committed"].as_u64(),
                Some(400),
                "{kind:?} {script} {protocol}"
            );
            assert_eq!(r["config"]["protocol"], protocol);
            let errs = unexpected_errors(&r);
            assert!(errs.is_empty(), "{kind:?} {script}: {errs:?}");
        }
        // Every tpcb-like transaction adds delta to one account, teller and branch and logs it.
        let accounts = sum(&db, "SELECT SUM(abalance) FROM pgbench_accounts");
        let tellers = sum(&db, "SELECT SUM(tbalance) FROM pgbench_tellers");
        let branches = sum(&db, "SELECT SUM(bbalance) FROM pgbench_branches");
        let history = sum(&db, "SELECT SUM(delta) FROM pgbench_history");
        let tpcb_delta = sum(&db, "SELECT COALESCE(SUM(delta), 0) FROM pgbench_history h WHERE EXISTS (SELECT 1 FROM pgbench_tellers t WHERE t.tid = h.tid)");
        assert_eq!(
            accounts, history,
            "{kind:?}: account balances and history disagree"
        );
        assert_eq!(
            tellers, branches,
            "{kind:?}: teller and branch balances disagree"
        );
        assert_eq!(
            sum(&db, "SELECT COUNT(*) FROM pgbench_history"),
            1200 + 400,
            "{kind:?}: one history row per write transaction"
        );
        assert_ne!(tpcb_delta, 0);
    }
}

#[test]
fn pgbench_script_needs_its_tables() {
    let db = TestDb::new(Db::Sqlite, "nopgb").unwrap();
    let dir = Scratch::new("nopgb");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "tpcb-like",
            "-q",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).contains("pgbench_branches") && stderr(&o).contains("--preset pgbench"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ycsb_workloads_on_every_database() {
    let expect: [(&str, &[(&str, f64)]); 6] = [
        ("ycsb-a", &[("READ", 50.0), ("UPDATE", 50.0)]),
        ("ycsb-b", &[("READ", 95.0), ("UPDATE", 5.0)]),
        ("ycsb-c", &[("READ", 100.0)]),
        ("ycsb-d", &[("READ", 95.0), ("INSERT", 5.0)]),
        ("ycsb-e", &[("SCAN", 95.0), ("INSERT", 5.0)]),
        ("ycsb-f", &[("READ", 50.0), ("READ-MODIFY-WRITE", 50.0)]),
    ];
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "ycsb") else {
            continue;
        };
        let dir = Scratch::new("ycsb");
        let o = dbarena(
            &[
                "seed",
                "--db",
                &db.url,
                "--preset",
                "ycsb",
                "--rows",
                "usertable=2000",
                "-q",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        for (w, mix) in expect {
            let r = run(
                &db,
                &dir,
                &["--pattern", w, "--transactions", "1000", "-n", "2"],
            );
            for (op, pct) in mix {
                let share = r["operations"][op]["share_pct"].as_f64().unwrap_or(0.0);
                assert!(
                    (share - pct).abs() <= 1.0,
                    "{kind:?} {w}: {op} {share}% (want {pct}%)"
                );
                assert!(r["operations"][op]["response"]["p50_ms"].as_f64().unwrap() > 0.0);
            }
            assert!(
                unexpected_errors(&r).is_empty(),
                "{kind:?} {w}: {:?}",
                unexpected_errors(&r)
            );
        }
        // D and E inserted 50 rows each with fresh YCSB keys.
        assert_eq!(
            db.query("SELECT COUNT(*) FROM usertable")[0][0].as_deref(),
            Some("2100"),
            "{kind:?}"
        );
        for dist in ["uniform", "zipfian", "latest", "hotspot"] {
            let r = run(
                &db,
                &dir,
                &[
                    "--pattern",
                    "ycsb-b",
                    "--distribution",
                    dist,
                    "--transactions",
                    "300",
                ],
            );
            assert_eq!(r["config"]["workload"]["distribution"], dist);
        }
    }
}

#[test]
fn pipeline_keeps_several_statements_in_flight_on_postgres() {
    let Some(db) = TestDb::new(Db::Postgres, "pipe") else {
        return;
    };
    let dir = Scratch::new("pipe");
    let o = dbarena(
        &["seed", "--db", &db.url, "--preset", "pgbench", "-q"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = run(
        &db,
        &dir,
        &[
            "--pattern",
            "select-only",
            "--pipeline",
            "8",
            "-n",
            "2",
            "--transactions",
            "4000",
        ],
    );
    assert_eq!(r["totals"]["committed"].as_u64(), Some(4000));
    assert_eq!(r["config"]["pipeline"].as_u64(), Some(8));
    // Multi-statement transactions cannot share a connection; other databases cannot pipeline.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "tpcb-like",
            "--pipeline",
            "2",
            "-q",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("single-statement"), "{}", stderr(&o));
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            "sqlite::memory:",
            "--pattern",
            "read_heavy",
            "--pipeline",
            "2",
            "-q",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs PostgreSQL"), "{}", stderr(&o));
}
