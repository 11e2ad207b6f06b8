//! `dbarena sweep`: grid, CSV, best configuration, scaling, interrupt and resume.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn grid_writes_csv_and_saves_the_best() {
    let dir = Scratch::new("sweep");
    let best = dir.file("best.toml");
    let db = format!("sqlite://{}", dir.file("s.db").display());
    let (o, out) = sweep(
        &dir,
        "[base]\npattern = \"read_heavy\"\nduration = \"1s\"\n[axes]\nconnections = [1, 2]\ntps = [100, 200]\n",
        &db,
        &[
            "--best-by",
            "tps",
            "--save-best",
            best.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    // --json: stdout is one JSON document, one object per configuration under sweep.csv's
    // column names, with the same figures.
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stdout));
    });
    let configs = j["configurations"].as_array().unwrap();
    assert_eq!(configs.len(), 4, "{j}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for c in configs {
        for col in &header {
            assert!(c.get(*col).is_some(), "no {col} in {c}");
        }
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{},", c["config_label"].as_str().unwrap())))
            .unwrap();
        let tps_col = header.iter().position(|h| *h == "tps").unwrap();
        let csv_tps: f64 = line.split(',').nth(tps_col).unwrap().parse().unwrap();
        assert!(
            (c["tps"].as_f64().unwrap() - csv_tps).abs() < 1e-3,
            "{c} / {line}"
        );
        assert!(c["connections"].as_i64().is_some(), "{c}");
        assert!(!c["files"].as_array().unwrap().is_empty(), "{c}");
    }
    assert_eq!(j["best_by"], "tps");
    assert!(j["best"].as_str().unwrap().ends_with("tps200"), "{j}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[0].starts_with("config_label,connections,tps_setting,tps,")
            && lines[0].contains("p99_ms"),
        "{csv}"
    );
    assert!(csv.contains("c2_tps200,2,200,"), "{csv}");
    // The best by tps is a 200 tps configuration, saved as a workload file that runs.
    let saved = std::fs::read_to_string(&best).unwrap();
    assert!(saved.contains("tps = 200"), "{saved}");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db,
            "--config",
            best.to_str().unwrap(),
            "-d",
            "1s",
            "-q",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn scaling_curve_reports_efficiency() {
    let dir = Scratch::new("scale");
    let db = format!("sqlite://{}", dir.file("s.db").display());
    let (o, _) = sweep(
        &dir,
        "[base]\npattern = \"read_heavy\"\nduration = \"1s\"\n",
        &db,
        &["--scale", "1,2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("efficiency") && out.contains("100.0%"),
        "{out}"
    );
}

#[test]
fn interrupted_sweep_resumes_without_rerunning_finished_configurations() {
    let dir = Scratch::new("resume");
    let cfg = dir.file("sweep.toml");
    std::fs::write(
        &cfg,
        "[base]\npattern = \"read_heavy\"\nduration = \"2s\"\n[axes]\nconnections = [1, 2, 3]\n",
    )
    .unwrap();
    let out = dir.file("out");
    let db = format!("sqlite://{}", dir.file("s.db").display());
    let child = spawn_dbarena(
        &[
            "sweep",
            "--config",
            cfg.to_str().unwrap(),
            "--db",
            &db,
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    // Let the first configuration finish (setup + 2 s), then interrupt during the second.
    std::thread::sleep(Duration::from_millis(3500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(out.join("c1-t1.json").exists());
    let first = std::fs::metadata(out.join("c1-t1.json"))
        .unwrap()
        .modified()
        .unwrap();
    let o = dbarena(
        &[
            "sweep",
            "--config",
            cfg.to_str().unwrap(),
            "--db",
            &db,
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("c1 trial 1: done before, not rerun"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::metadata(out.join("c1-t1.json"))
            .unwrap()
            .modified()
            .unwrap(),
        first,
        "c1 was rerun"
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

#[test]
fn parallel_sweep_runs_configurations_at_once_each_on_its_own_table() {
    let Some(db) = TestDb::new(Db::Postgres, "sweeppar") else {
        return;
    };
    let dir = Scratch::new("sweeppar");
    let (o, out) = sweep(
        &dir,
        "[base]\npattern = \"writers-readers\"\nduration = \"2s\"\nverify = true\nkey_pool = \"pool\"\nkey_pool_size = 20\nnum_readers = 1\nreader_rate = 20.0\n[axes]\nnum_writers = [1, 2]\nwriter_rate = [20.0, 40.0]\n",
        &db.url,
        &["--parallel", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let mut spans = Vec::new();
    for label in ["w1_wr20.00", "w1_wr40.00", "w2_wr20.00", "w2_wr40.00"] {
        let r = read_json(&out.join(format!("{label}-t1.json")));
        let ok = r["totals"]["committed"].as_u64().unwrap();
        assert!(ok > 20, "{label}: {ok} committed");
        // verify = true: any consistency violation would have failed the run, so each run
        // had a table no other concurrent run touched.
        // RFC 3339 UTC stamps of one format compare as strings.
        let start = r["started_at"].as_str().unwrap().to_string();
        let end = r["ended_at"].as_str().unwrap().to_string();
        spans.push((start, end));
    }
    // Ran two at a time: the second and third runs (after the first alone, which creates the
    // schema) overlap.
    spans.sort();
    let overlapping = spans.windows(2).filter(|w| w[1].0 < w[0].1).count();
    assert!(overlapping >= 1, "no two runs overlapped: {spans:?}");
    let mut tables: Vec<String> = db
        .query(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'dbarena_kv%'",
        )
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    tables.sort();
    assert_eq!(tables, ["dbarena_kv_p0", "dbarena_kv_p1"]);
    // A scaling curve measures each level alone.
    let o = dbarena(
        &[
            "sweep",
            "--scale",
            "1,2",
            "--parallel",
            "2",
            "--db",
            &db.url,
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn trials_report_the_median_and_the_spread() {
    let dir = Scratch::new("trials");
    let (o, out) = sweep(
        &dir,
        "[base]\npattern = \"read_heavy\"\nduration = \"1s\"\ntps = 300\n[axes]\nconnections = [2]\n",
        "sqlite::memory:",
        &["--trials", "3"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for t in 1..=3 {
        assert!(out.join(format!("c2-t{t}.json")).exists());
    }
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let col = |c: &str| -> f64 {
        let i = header.iter().position(|h| *h == c).unwrap();
        row[i].parse().unwrap()
    };
    assert_eq!(col("trials"), 3.0);
    // The median is one of the three committed counts per second, between the extremes.
    let tps: Vec<f64> = (1..=3)
        .map(|t| {
            read_json(&out.join(format!("c2-t{t}.json")))["totals"]["tps"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mut sorted = tps.clone();
    sorted.sort_by(f64::total_cmp);
    assert!((col("tps") - sorted[1]).abs() < 0.01, "{csv} {tps:?}");
    assert!((col("tps_min") - sorted[0]).abs() < 0.01, "{csv}");
    assert!((col("tps_max") - sorted[2]).abs() < 0.01, "{csv}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("tps min–max"), "{stdout}");
}
