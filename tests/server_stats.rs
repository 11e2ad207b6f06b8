//! What the server was doing: its own counters sampled during runs on PostgreSQL and MariaDB,
//! in the result file and the summary.

mod common;
use common::*;

fn check(kind: Db) {
    let Some(db) = TestDb::new(kind, "srv") else {
        return;
    };
    let dir = Scratch::new("srv");
    let out = dir.new_file("srv", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "oltp",
            "--tps",
            "200",
            "-n",
            "2",
            "-d",
            "3s",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let m = &r["server"];
    assert!(m.is_object(), "no server metrics: {r}");
    let iv = m["intervals"].as_array().unwrap();
    assert!(iv.len() >= 2, "{}", iv.len());
    // The server counted commits while the run committed: several hundred over 3 s.
    let commits = m["summary"]["commits"].as_f64().unwrap();
    let committed = r["totals"]["committed"].as_f64().unwrap();
    assert!(
        commits >= committed * 0.5,
        "server {commits}, client {committed}"
    );
    assert!(iv[1]["values"]["commits"].as_f64().unwrap() > 10.0);
    let hit = m["summary"]["buffer_hit_pct"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&hit));
    // The server runs here: its CPU and memory come from /proc.
    assert!(
        m["source"].as_str().unwrap().contains("/proc"),
        "{}",
        m["source"]
    );
    assert!(m["summary"]["rss_mb_max"].as_f64().unwrap() > 1.0);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("server    buffer hit"), "{text}");
    // Live too: the progress lines carry the server's latest second.
    let progress = stderr(&o);
    assert!(
        progress.lines().any(|l| l.starts_with("progress:")
            && l.contains("; server ")
            && l.contains("commits/s")),
        "{progress}"
    );
    // Each second's buffer hit rate is in the series.
    assert!(
        iv.iter()
            .any(|i| i["values"].get("buffer_hit_pct").is_some()),
        "{m}"
    );

    // --no-server-stats: nothing sampled.
    let out = dir.new_file("quiet", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "oltp",
            "--tps",
            "100",
            "-d",
            "1s",
            "--no-server-stats",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    assert!(r.get("server").is_none());
}

#[test]
fn postgres_counters_are_sampled() {
    check(Db::Postgres);
}

#[test]
fn mariadb_status_is_sampled() {
    check(Db::Mysql);
}
