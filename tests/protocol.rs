//! `-M simple|extended|prepared` changes what goes over the wire. One test in its own binary:
//! it reads server-wide counters, which other tests running beside it would disturb.

mod common;
use common::*;
use std::time::Duration;

fn run(db: &TestDb, dir: &Scratch, protocol: &str, secs: &str) -> Watched {
    let out = dir.new_file(&format!("{protocol}-"), "json");
    Watched::start(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "read_heavy",
            "-d",
            secs,
            "--tps",
            "200",
            "-M",
            protocol,
            "--progress-lines",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    )
}

fn finish(run: Watched) {
    let o = run.finish(Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// PostgreSQL: the simple protocol sends values inside the SQL text; the extended and
/// prepared ones send `$1` placeholders, which pg_stat_activity shows as sent.
fn postgres_queries_as_sent(db: &TestDb, dir: &Scratch, protocol: &str) -> Vec<String> {
    let mut child = run(db, dir, protocol, "4s");
    let mut seen = Vec::new();
    // Sampled from the first progress line (setup, which introspects the schema and prepares
    // statements, is over) for as long as the run lasts, however late a loaded machine starts
    // it.
    child.wait_for("progress:", Duration::from_secs(60));
    while child.child.try_wait().expect("polling dbarena").is_none() {
        let rows = db.admin_exec(&format!(
            // The setup connection, idle since it prepared the statements before the run,
            // is left out: only connections busy in the last half second.
            "SELECT query FROM pg_stat_activity WHERE application_name = 'dbarena' AND datname = '{}' AND query LIKE 'SELECT%' AND state_change > now() - interval '500 milliseconds'",
            db.name
        ));
        seen.extend(rows.into_iter().filter_map(|r| r[0].clone()));
        std::thread::sleep(Duration::from_millis(30));
    }
    finish(child);
    seen
}

fn mysql_status(db: &TestDb, name: &str) -> u64 {
    db.query(&format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .first()
        .and_then(|r| r[1].clone())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn protocol_changes_what_goes_over_the_wire() {
    let dir = Scratch::new("proto");
    if let Some(db) = TestDb::new(Db::Postgres, "protopg") {
        // Creates the schema, so the sampled runs only measure.
        finish(run(&db, &dir, "prepared", "1s"));
        let simple = postgres_queries_as_sent(&db, &dir, "simple");
        assert!(!simple.is_empty());
        assert!(
            simple.iter().all(|q| !q.contains("$1")),
            "simple protocol sent placeholders: {simple:?}"
        );
        for p in ["extended", "prepared"] {
            let sent = postgres_queries_as_sent(&db, &dir, p);
            assert!(
                sent.iter().any(|q| q.contains("$1")),
                "{p}: no placeholders sent: {sent:?}"
            );
        }
    }
    if let Some(db) = TestDb::new(Db::Mysql, "protomy") {
        finish(run(&db, &dir, "prepared", "1s"));
        // The text protocol executes no prepared statement; the binary one executes one per
        // statement.
        for (p, binary) in [("simple", false), ("prepared", true)] {
            let before = mysql_status(&db, "Com_stmt_execute");
            finish(run(&db, &dir, p, "2s"));
            let executed = mysql_status(&db, "Com_stmt_execute") - before;
            if binary {
                assert!(executed > 200, "{p}: {executed} prepared executions");
            } else {
                assert!(executed < 20, "{p}: {executed} prepared executions");
            }
        }
    }
}
