//! `dbarena compare` on real runs: a dropped index is a significant slowdown that fails the
//! CI gate; a run against itself is no difference; unlike workloads and runs too short to
//! judge are refused.

mod common;
use common::*;
use std::process::Stdio;

/// Fifteen seconds per run: the t test's degrees of freedom are the runs' effective seconds,
/// and on a loaded machine two runs of eight seconds had so few (their seconds trend, so
/// they look correlated) that even a 40-fold slowdown came out at p = 0.04 before Holm's
/// adjustment.
fn run_lookup(dir: &Scratch, db: &TestDb, name: &str) -> std::path::PathBuf {
    let cfg = dir.file(&format!("{name}.toml"));
    std::fs::write(
        &cfg,
        r#"
[[custom_queries]]
name = "lookup"
weight = 1
sql = "SELECT v FROM t WHERE k = :k"
[custom_queries.params]
k = { generator = "random_int", min = 1, max = 100000 }
"#,
    )
    .unwrap();
    workload_result(
        dir,
        &db.url,
        name,
        &["--config", cfg.to_str().unwrap(), "-n", "2", "-d", "15s"],
    )
}

#[test]
fn a_dropped_index_is_a_significant_slowdown_and_fails_the_gate() {
    let Some(db) = TestDb::new(Db::Postgres, "cmp") else {
        return;
    };
    let dir = Scratch::new("cmp");
    db.exec(
        "CREATE TABLE t AS SELECT g AS id, (g * 7919) % 100000 AS k, md5(g::text) AS v FROM generate_series(1, 100000) g",
    );
    db.exec("CREATE INDEX t_k ON t (k)");
    db.exec("ANALYZE t");
    let fast = run_lookup(&dir, &db, "indexed");
    db.exec("DROP INDEX t_k");
    let slow = run_lookup(&dir, &db, "scan");
    let (f, s) = (fast.to_str().unwrap(), slow.to_str().unwrap());

    let o = dbarena(&["compare", f, s, "--json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let metric = |name: &str| {
        c["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .cloned()
            .unwrap()
    };
    // The slowdown, its interval, and its significance: the primary family (tps, p50, p99)
    // is adjusted among three metrics only.
    let tps = metric("tps");
    assert!(tps["change_pct"].as_f64().unwrap() < -20.0, "{tps}");
    assert!(tps["ci_high_pct"].as_f64().unwrap() < 0.0, "{tps}");
    assert_eq!(tps["primary"], true, "{tps}");
    assert_eq!(tps["assessment"], "regressed", "{c}");
    assert!(tps["p_adjusted"].as_f64().unwrap() < 0.05, "{tps}");
    // An interval clear of zero is never "no significant difference" beside it.
    for m in c["metrics"].as_array().unwrap() {
        if let (Some(lo), Some(hi)) = (m["ci_low_pct"].as_f64(), m["ci_high_pct"].as_f64()) {
            if lo > 0.0 || hi < 0.0 {
                assert_ne!(m["assessment"], "no_significant_change", "{m}");
            }
        }
    }
    let cpu = metric("server_cpu_ms_per_tx");
    assert!(cpu["change_pct"].as_f64().unwrap() > 100.0, "{cpu}");
    assert_eq!(cpu["primary"], false, "{cpu}");
    // The gate decides on the primary metrics and names each that is significantly worse.
    let primary_regressed: Vec<String> = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["primary"] == true
                && m["assessment"] == "regressed"
                && m["change_pct"].as_f64().unwrap().abs() > 5.0
        })
        .map(|m| m["metric"].as_str().unwrap().to_string())
        .collect();
    assert!(primary_regressed.contains(&"tps".to_string()));
    let o = dbarena(&["compare", f, s, "--fail-if-slower", "5%"], dir.path());
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    for m in &primary_regressed {
        assert!(stderr(&o).contains(m.as_str()), "{m}: {}", stderr(&o));
    }
    assert!(text.contains("WORSE") && text.contains("tps*"), "{text}");

    // A run against itself: no significant difference, the gate passes.
    let o = dbarena(&["compare", f, f, "--fail-if-slower", "5%"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no significant difference"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // The HTML report with both runs overlaid.
    let charts = dir.file("charts");
    let o = dbarena(
        &["compare", f, s, "--html", "-o", charts.to_str().unwrap()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(charts.join("report.html")).unwrap();
    assert!(
        html.contains("throughput over time, per run"),
        "no overlay chart"
    );

    // --json into a closed pipe: no panic, no error.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(["compare", f, s, "--json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unlike_workloads_are_refused_unless_forced() {
    let Some(db) = TestDb::new(Db::Sqlite, "cmp2") else {
        return;
    };
    let dir = Scratch::new("cmp2");
    let files: Vec<_> = ["read_heavy", "write_heavy"]
        .iter()
        .map(|p| workload_result(&dir, &db.url, p, &["--pattern", p, "-d", "3s"]))
        .collect();
    let (a, b) = (files[0].to_str().unwrap(), files[1].to_str().unwrap());
    let o = dbarena(&["compare", a, b], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("different workloads") && e.contains("--force"),
        "{e}"
    );
    let o = dbarena(&["compare", a, b, "--force", "--json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let differ: Vec<&str> = c["settings_differ"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["setting"].as_str().unwrap())
        .collect();
    assert!(differ.contains(&"workload.pattern"), "{differ:?}");
    // A setting only one side has reads as none -> its value, once per field.
    let thinking = workload_result(
        &dir,
        &db.url,
        "thinking",
        &[
            "--pattern",
            "read_heavy",
            "-d",
            "3s",
            "--think-time",
            "10ms",
        ],
    );
    let o = dbarena(
        &["compare", a, thinking.to_str().unwrap(), "--json"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diffs = c["settings_differ"].as_array().unwrap();
    let mean = diffs
        .iter()
        .find(|d| d["setting"] == "think_time.mean")
        .unwrap_or_else(|| panic!("{diffs:?}"));
    assert_eq!(mean["base"], "none", "{mean}");
    assert!(
        diffs.iter().all(|d| d["setting"] != "think_time"),
        "{diffs:?}"
    );
    // A lone run per side: the run-to-run spread is assumed (10% unless told), and said.
    let spread_of = |args: &[&str]| {
        let o = dbarena(args, dir.path());
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let c = spread_of(&["compare", a, a, "--json"]);
    assert_eq!(c["run_spread_pct"], 10.0, "{c}");
    assert!(c["notes"].to_string().contains("10% is assumed"), "{c}");
    let c = spread_of(&["compare", a, a, "--run-spread", "0", "--json"]);
    assert_eq!(c["run_spread_pct"], 0.0, "{c}");
    // Several runs per side measure it, and say how far their runs differed.
    let t = thinking.to_str().unwrap();
    let c = spread_of(&[
        "compare", "--force", "--json", "--base", a, t, "--new", t, a,
    ]);
    assert_eq!(c["run_spread_pct"], 0.0, "{c}");
    let tps = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "tps")
        .cloned()
        .unwrap();
    assert!(tps["run_spread_pct"].as_f64().unwrap() > 0.0, "{tps}");
    let o = dbarena(
        &["compare", "--force", "--base", a, t, "--new", t, a],
        dir.path(),
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("runs of one side differed from one another"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // In open loop a schedule holds throughput (runs that keep up differ in it by ~1%): the
    // spread widens the latencies' intervals only.
    let paced: Vec<String> = ["paced1", "paced2"]
        .iter()
        .map(|n| {
            let f = workload_result(
                &dir,
                &db.url,
                n,
                &["--pattern", "read_heavy", "-d", "3s", "--tps", "200"],
            );
            f.to_str().unwrap().to_string()
        })
        .collect();
    let interval = |c: &serde_json::Value, metric: &str| {
        let m = c["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == metric)
            .cloned()
            .unwrap();
        (
            m["ci_low_pct"].as_f64().unwrap(),
            m["ci_high_pct"].as_f64().unwrap(),
        )
    };
    let assumed = spread_of(&["compare", &paced[0], &paced[1], "--json"]);
    let trusted = spread_of(&[
        "compare",
        &paced[0],
        &paced[1],
        "--json",
        "--run-spread",
        "0",
    ]);
    assert_eq!(interval(&assumed, "tps"), interval(&trusted, "tps"));
    let (lo, hi) = interval(&assumed, "p50_ms");
    let (lo0, hi0) = interval(&trusted, "p50_ms");
    assert!(lo < lo0 && hi > hi0, "{assumed} {trusted}");
    let o = dbarena(&["compare", a, a, "--run-spread", "150%"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid --run-spread '150%'"),
        "{}",
        stderr(&o)
    );
    // One file alone is not a comparison.
    let o = dbarena(&["compare", a], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("two results"), "{}", stderr(&o));
    // A run of a second or two has no spread to judge a change by: refused, not called
    // certain.
    let short = workload_result(
        &dir,
        &db.url,
        "short",
        &["--pattern", "read_heavy", "-d", "1s"],
    );
    let o = dbarena(&["compare", a, short.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("whole measured second") && e.contains("at least 3") && e.contains("-d 10s"),
        "{e}"
    );
}
