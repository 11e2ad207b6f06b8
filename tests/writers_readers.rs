//! The writers-readers pattern: precondition failures, role metrics, consistency checks, and
//! a sweep over writers.

mod common;
use common::*;

fn run(db: &TestDb, dir: &Scratch, toml: &str) -> serde_json::Value {
    let cfg = dir.file("wr.toml");
    std::fs::write(&cfg, toml).unwrap();
    let out = dir.new_file("r", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    ok_result(&o, &out)
}

#[test]
fn single_writer_never_conflicts_and_overlapping_writers_do() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "wr") else {
            continue;
        };
        let dir = Scratch::new("wr");
        let r = run(&db, &dir, "pattern = \"writers-readers\"\nduration = \"2s\"\nnum_writers = 1\nwriter_rate = 100\nnum_readers = 2\nreader_rate = 100\nverify = true\n");
        let w = &r["writers_readers"];
        assert_eq!(
            w["precondition_failures"].as_u64(),
            Some(0),
            "{kind:?}: {w}"
        );
        assert!(w["write_tps"].as_f64().unwrap() > 50.0, "{kind:?}: {w}");
        assert!(w["read_tps"].as_f64().unwrap() > 50.0, "{kind:?}: {w}");
        assert!(
            w["violations"].as_array().unwrap().is_empty(),
            "{kind:?}: {w}"
        );
        assert!(r["operations"]["write"]["committed"].as_u64().unwrap() > 100);
        // Overlapping writers conflict on every database, the embedded default included: the
        // version is read apart from the conditional write, as an optimistic client does.
        let r = run(
            &db,
            &dir,
            "pattern = \"writers-readers\"\nduration = \"3s\"\nnum_writers = 3\nwriter_rate = 150\nnum_readers = 1\nreader_rate = 50\nkey_pool = \"pool\"\nkey_pool_size = 2\nkey_overlap_ratio = 1.0\nmax_retry_count = 5\nverify = true\n",
        );
        let w = &r["writers_readers"];
        assert!(
            w["precondition_failures"].as_u64().unwrap() > 0,
            "{kind:?}: overlapping writers never conflicted: {w}"
        );
        assert!(w["precondition_failure_rate"].as_f64().unwrap() > 0.0);
        assert!(w["precondition_failure_p50_ms"].as_f64().unwrap() > 0.0);
        assert!(
            w["violations"].as_array().unwrap().is_empty(),
            "{kind:?}: {w}"
        );
    }
}

#[test]
fn sweep_over_writers_reports_role_metrics() {
    let Some(db) = TestDb::new(Db::Postgres, "wrsweep") else {
        return;
    };
    let dir = Scratch::new("wrsweep");
    let (o, out) = sweep(
        &dir,
        "[base]\npattern = \"writers-readers\"\nduration = \"1s\"\nnum_readers = 2\nreader_rate = 20\nkey_pool = \"pool\"\nkey_pool_size = 3\nkey_overlap_ratio = 1.0\n[axes]\nnum_writers = [1, 3]\nwriter_rate = [20, 80]\n",
        &db.url,
        &["--best-by", "precondition_failure_rate"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "config_label",
        "num_writers",
        "writer_rate",
        "num_readers",
        "reader_rate",
        "writer_p50_ms",
        "writer_p99_ms",
        "read_p95_ms",
        "precondition_failure_rate",
        "write_tps",
        "read_tps",
        "avg_retry_count",
    ] {
        assert!(
            header.split(',').any(|c| c == col),
            "missing {col}: {header}"
        );
    }
    assert!(
        header.starts_with(
            "config_label,num_writers,writer_rate,num_readers,reader_rate,writer_p50_ms,"
        ),
        "{header}"
    );
    // The readers' settings come from [base]: every row carries them.
    assert!(csv.contains("\nw3_wr80,3,80,2,20,"), "{csv}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("best by precondition_failure_rate: w1_"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn checked_patterns_show_live_progress() {
    let Some(db) = TestDb::new(Db::Sqlite, "wrprog") else {
        return;
    };
    let dir = Scratch::new("wrprog");
    for (i, pattern) in ["writers-readers", "list-append"].iter().enumerate() {
        let out = dir.file(&format!("p{i}.json"));
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--pattern",
                pattern,
                "-d",
                "3s",
                "--progress-lines",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        let r = ok_result(&o, &out);
        let lines = stderr(&o)
            .lines()
            .filter(|l| l.starts_with("progress:"))
            .count();
        assert!(
            lines >= 2,
            "{pattern}: {lines} progress lines: {}",
            stderr(&o)
        );
        assert!(r["totals"]["committed"].as_u64().unwrap() > 0, "{pattern}");
    }
}
