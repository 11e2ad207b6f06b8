//! Thresholds make a run a test: pass, fail with exit 7, stop early with --abort-on-fail,
//! and refuse what cannot be judged before the run starts.

mod common;
use common::*;

fn run(dir: &Scratch, db: &TestDb, extra: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let out = dir.new_file("t", "json");
    let mut args = vec![
        "workload",
        "run",
        "--db",
        &db.url,
        "--pattern",
        "read_heavy",
        "--tps",
        "200",
        "-n",
        "2",
        "--out",
    ];
    let o = out.to_str().unwrap().to_string();
    args.push(&o);
    args.extend_from_slice(extra);
    (dbarena(&args, dir.path()), out)
}

#[test]
fn thresholds_pass_fail_and_are_recorded() {
    let Some(db) = TestDb::new(Db::Sqlite, "thr") else {
        return;
    };
    let dir = Scratch::new("thr");
    let (o, out) = run(
        &dir,
        &db,
        &[
            "-d",
            "2s",
            "--threshold",
            "p99<10s",
            "--threshold",
            "errors<1%",
            "--threshold",
            "tps>=1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("thresholds") && text.contains("pass"),
        "{text}"
    );
    let r = read_json(&out);
    let t = r["thresholds"].as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert!(t.iter().all(|t| t["pass"] == true), "{t:?}");
    assert!(t[0]["measured"].as_f64().unwrap() > 0.0);
    assert_eq!(r["config"]["thresholds"][0], "p99<10s");

    // A threshold no run can meet: the run completes, is saved, and exits 7.
    let (o, out) = run(&dir, &db, &["-d", "1s", "--threshold", "p50<0.001ms"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("thresholds failed: p50<0.001ms"),
        "{}",
        stderr(&o)
    );
    let r = read_json(&out);
    assert_eq!(r["thresholds"][0]["pass"], false);
    assert!(r["totals"]["committed"].as_u64().unwrap() > 0);

    // The TOML table form, per operation too.
    let cfg = dir.file("t.toml");
    std::fs::write(
        &cfg,
        "[thresholds]\np99 = \"<10s\"\n[thresholds.operations.select]\np50 = [\"<10s\", \">0ms\"]\n",
    )
    .unwrap();
    let (o, out) = run(&dir, &db, &["-d", "1s", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&out);
    let names: Vec<&str> = r["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["threshold"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p50[select]<10s", "p50[select]>0ms", "p99<10s"]);
}

#[test]
fn abort_on_fail_stops_the_run_and_keeps_what_it_measured() {
    let Some(db) = TestDb::new(Db::Sqlite, "thr2") else {
        return;
    };
    let dir = Scratch::new("thr2");
    // The maximum can only grow: once over the limit the run stops, long before its 60 s.
    let (o, out) = run(
        &dir,
        &db,
        &["-d", "60s", "--threshold", "max<0.001ms", "--abort-on-fail"],
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("aborted: threshold max<0.001ms failed"),
        "{}",
        stderr(&o)
    );
    let r = read_json(&out);
    assert!(r["aborted"].as_str().unwrap().contains("max<0.001ms"));
    assert_eq!(r["interrupted"], true);
    assert!(r["duration_s"].as_f64().unwrap() < 60.0);
    assert!(r["totals"]["committed"].as_u64().unwrap() > 0);
}

#[test]
fn what_cannot_be_judged_is_refused_before_the_run() {
    let Some(db) = TestDb::new(Db::Sqlite, "thr3") else {
        return;
    };
    let dir = Scratch::new("thr3");
    let (o, out) = run(&dir, &db, &["-d", "1s", "--threshold", "p99[nope]<1s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("operation 'nope'") && stderr(&o).contains("select"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing ran, nothing saved");
    let (o, _) = run(&dir, &db, &["-d", "1s", "--abort-on-fail"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no threshold"), "{}", stderr(&o));
    let (o, _) = run(&dir, &db, &["-d", "1s", "--threshold", "p99 fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("p99<20ms"), "{}", stderr(&o));
}
