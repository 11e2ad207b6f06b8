//! A run split over agents (`--segment i/N`, a common `--start-after`) and merged back:
//! the same workload as one agent, histograms added exactly, segments checked.

mod common;
use common::*;
use dbarena::metrics::hist::{decode, new_histogram};

/// Runs `n` agents of `args` at once, agent I with `--segment I/n` and its own result file
/// (`<stem>I.json`); all must succeed. Returns the result files in segment order.
fn run_agents(dir: &Scratch, stem: &str, n: usize, args: &[&str]) -> Vec<std::path::PathBuf> {
    let mut children = Vec::new();
    let mut outs = Vec::new();
    for i in 1..=n {
        let out = dir.new_file(&format!("{stem}{i}"), "json");
        let seg = format!("{i}/{n}");
        let mut a = args.to_vec();
        a.extend(["--segment", &seg, "--out", out.to_str().unwrap()]);
        children.push(spawn_dbarena(&a, dir.path()));
        outs.push(out);
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    outs
}

/// `dbarena merge` of `outs` into a new `<stem>.json`, which must succeed: its path and the
/// merged result.
fn merge(
    dir: &Scratch,
    stem: &str,
    outs: &[std::path::PathBuf],
) -> (std::path::PathBuf, serde_json::Value) {
    let merged = dir.new_file(stem, "json");
    let mut args = vec!["merge", "-o", merged.to_str().unwrap()];
    let names: Vec<String> = outs.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let o = dbarena(&args, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let m = read_json(&merged);
    (merged, m)
}

#[test]
fn four_agents_merge_into_one_run_of_the_whole_rate() {
    let Some(db) = TestDb::new(Db::Sqlite, "seg") else {
        return;
    };
    let dir = Scratch::new("seg");
    let cfg = dir.select_config();
    let outs = run_agents(
        &dir,
        "agent",
        4,
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--tps",
            "2000",
            "-n",
            "8",
            "--arrival",
            "uniform",
            "-d",
            "3s",
            "--start-after",
            "2s",
            "--quiet",
            "--no-server-stats",
        ],
    );
    let agents: Vec<serde_json::Value> = outs.iter().map(|p| read_json(p)).collect();
    for (i, a) in agents.iter().enumerate() {
        assert_eq!(a["agent"]["segment"]["index"], i);
        // Each agent's own target is its share: 2000 / 4.
        assert_eq!(a["schedule"]["target_tps"], 500.0);
        let skew = a["agent"]["start_skew_ms"].as_f64().unwrap();
        assert!(skew.abs() < 10.0, "start skew {skew} ms");
        assert!(a["agent"]["clock_source"]
            .as_str()
            .unwrap()
            .contains("CLOCK_REALTIME"));
    }

    let (merged, m) = merge(&dir, "merged", &outs);
    let names: Vec<String> = outs.iter().map(|p| p.display().to_string()).collect();
    // The whole rate: 2000 tps for 3 s, within 1%.
    let done = m["totals"]["committed"].as_f64().unwrap() + m["totals"]["failed"].as_f64().unwrap();
    assert!((done - 6000.0).abs() <= 60.0, "{done}");
    assert_eq!(m["schedule"]["target_tps"], 2000.0);
    assert_eq!(m["merged"]["agents"].as_array().unwrap().len(), 4);
    // Percentiles of the merged file are those of the summed histograms, exactly.
    let mut sum = new_histogram();
    for a in &agents {
        sum.add(decode(a["response_hdr"].as_str().unwrap()).unwrap())
            .unwrap();
    }
    let merged_hist = decode(m["response_hdr"].as_str().unwrap()).unwrap();
    assert_eq!(merged_hist.len(), sum.len());
    for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(merged_hist.value_at_quantile(q), sum.value_at_quantile(q));
    }
    // Per-second series aligned on the wall clock: about 2000 a second.
    let whole: Vec<&serde_json::Value> = m["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["partial"] != true && i["committed"].as_u64().unwrap() > 0)
        .collect();
    assert!(whole.len() >= 2);
    for iv in &whole[..2] {
        let n = iv["committed"].as_f64().unwrap();
        assert!((n - 2000.0).abs() < 100.0, "{iv}");
    }
    // `report` and `compare` read a merged file like any other.
    let o = dbarena(
        &[
            "compare",
            merged.to_str().unwrap(),
            merged.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // Missing and duplicate segments are refused; --partial says what is missing.
    let o = dbarena(
        &[
            "merge",
            "-o",
            dir.new_file("m2", "json").to_str().unwrap(),
            &names[0],
            &names[1],
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("3/4, 4/4") && stderr(&o).contains("--partial"),
        "{}",
        stderr(&o)
    );
    let o = dbarena(
        &[
            "merge",
            "-o",
            dir.new_file("m3", "json").to_str().unwrap(),
            &names[0],
            &names[0],
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("appears in"), "{}", stderr(&o));
    let part = dir.new_file("part", "json");
    let o = dbarena(
        &[
            "merge",
            "--partial",
            "-o",
            part.to_str().unwrap(),
            &names[0],
            &names[2],
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let p = read_json(&part);
    assert_eq!(
        p["merged"]["missing_segments"],
        serde_json::json!(["2/4", "4/4"])
    );
}

/// An agent's short tail after its last whole second (a transaction that ended in the end
/// grace) stays a partial second of its own in the merged file: the last whole second is
/// still whole, with only its own transactions.
#[test]
fn a_short_tail_is_its_own_partial_second() {
    let Some(db) = TestDb::new(Db::Sqlite, "seg3") else {
        return;
    };
    let dir = Scratch::new("seg3");
    let cfg = dir.select_config();
    // The database made first: two agents creating one SQLite file at once can find it locked
    // (noted on issue 19; not what this test is about).
    let init = dir.new_file("init", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "-t",
            "1",
            "-q",
            "--out",
            init.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let outs = run_agents(
        &dir,
        "tail",
        2,
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "--tps",
            "200",
            "-n",
            "2",
            "-d",
            "2s",
            "--start-after",
            "1s",
            "--quiet",
            "--no-server-stats",
        ],
    );
    // Both files keep their whole seconds only (whether a run's last second came out a hair
    // short, and so partial, depends on timing), and the first gets a tail of 21 ms with one
    // transaction, as a run whose last answer came in the end grace has.
    let mut files: Vec<serde_json::Value> = outs.iter().map(|p| read_json(p)).collect();
    for f in &mut files {
        f["intervals"]
            .as_array_mut()
            .unwrap()
            .retain(|i| i["partial"] != true);
    }
    let ivs = files[0]["intervals"].as_array_mut().unwrap();
    let last_whole = ivs.last().unwrap()["t_s"].as_f64().unwrap();
    let mut tail = ivs.last().unwrap().clone();
    tail["t_s"] = serde_json::json!(last_whole + 0.021);
    tail["span_s"] = serde_json::json!(0.021);
    tail["committed"] = serde_json::json!(1);
    tail["partial"] = serde_json::json!(true);
    ivs.push(tail);
    // What the last whole second holds: each file's own interval there.
    let expected: u64 = files
        .iter()
        .flat_map(|f| f["intervals"].as_array().unwrap())
        .filter(|i| i["partial"] != true && (i["t_s"].as_f64().unwrap() - last_whole).abs() < 0.05)
        .map(|i| i["committed"].as_u64().unwrap())
        .sum();
    for (p, f) in outs.iter().zip(&files) {
        std::fs::write(p, serde_json::to_vec(f).unwrap()).unwrap();
    }

    let (_, m) = merge(&dir, "merged", &outs);
    let merged = m["intervals"].as_array().unwrap();
    let at = |t: f64| {
        merged
            .iter()
            .find(|i| (i["t_s"].as_f64().unwrap() - t).abs() < 0.01)
            .unwrap_or_else(|| panic!("no merged interval at {t} s: {m}"))
    };
    let whole = at(last_whole);
    assert_eq!(whole["partial"], false, "{whole}");
    assert_eq!(whole["committed"].as_u64().unwrap(), expected, "{whole}");
    let t = at(last_whole + 0.021);
    assert_eq!(t["partial"], true, "{t}");
    assert_eq!(t["committed"], 1, "{t}");
}

#[test]
fn unlike_runs_are_not_merged() {
    let Some(db) = TestDb::new(Db::Sqlite, "seg2") else {
        return;
    };
    let dir = Scratch::new("seg2");
    let cfg = dir.select_config();
    let mut outs = Vec::new();
    for (i, tps) in [(1, "100"), (2, "200")] {
        let out = dir.new_file(&format!("a{i}"), "json");
        let seg = format!("{i}/2");
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--config",
                cfg.to_str().unwrap(),
                "--tps",
                tps,
                "-n",
                "2",
                "-d",
                "1s",
                "--segment",
                &seg,
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        ok_result(&o, &out);
        outs.push(out);
    }
    let o = dbarena(
        &[
            "merge",
            "-o",
            dir.new_file("m", "json").to_str().unwrap(),
            outs[0].to_str().unwrap(),
            outs[1].to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("differs in: tps"), "{}", stderr(&o));
    // More segments than connections cannot be split.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "-n",
            "2",
            "--segment",
            "1/4",
            "-d",
            "1s",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be split"), "{}", stderr(&o));
}

/// Four list-append agents on PostgreSQL at serializable, merged: one history of four agents
/// that checks valid, every appended value once in the database, and `check` takes the four
/// histories together.
#[test]
fn list_append_agents_merge_into_one_history_that_checks_valid() {
    let Some(db) = TestDb::new(Db::Postgres, "segla") else {
        return;
    };
    let dir = Scratch::new("segla");
    // One common start, far enough ahead for every agent's setup.
    let start = dbarena::util::time::rfc3339_us(dbarena::util::time::now_us() + 4_000_000);
    let outs = run_agents(
        &dir,
        "la",
        4,
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "list-append",
            "--isolation",
            "serializable",
            "--tps",
            "400",
            "-n",
            "8",
            "-d",
            "3s",
            "--start-at",
            &start,
            "--quiet",
            "--no-server-stats",
        ],
    );
    let (_, m) = merge(&dir, "la-merged", &outs);
    let v = &m["verification"];
    assert_eq!(v["verdict"], "pass", "{m}");
    assert_eq!(v["model"], "serializable");
    // The merged history holds every agent's operations.
    let history = std::path::PathBuf::from(v["history"].as_str().unwrap());
    let lines = std::fs::read_to_string(&history).unwrap().lines().count();
    let agents_lines: usize = outs
        .iter()
        .map(|o| {
            std::fs::read_to_string(o.with_extension("history.jsonl"))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert_eq!(lines, agents_lines);
    // In the database: no value appended twice, by any two agents.
    let count = |sql: &str| -> i64 { db.query(sql)[0][0].as_deref().unwrap().parse().unwrap() };
    let dup = count(
        "SELECT count(*) FROM (SELECT v FROM dbarena_append, unnest(string_to_array(val, ',')) AS v GROUP BY v HAVING count(*) > 1) d",
    );
    assert_eq!(dup, 0, "values appended twice");
    let values =
        count("SELECT count(*) FROM dbarena_append, unnest(string_to_array(val, ',')) AS v");
    assert!(values > 100, "{values} values appended");
    // `check` takes the agents' histories together.
    let mut args = vec!["check", "--model", "serializable"];
    let hist: Vec<String> = outs
        .iter()
        .map(|o| o.with_extension("history.jsonl").display().to_string())
        .collect();
    args.extend(hist.iter().map(String::as_str));
    let o = dbarena(&args, dir.path());
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    // Two copies of one agent's history are not agents of one run.
    let o = dbarena(&["check", &hist[0], &hist[0]], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("both have process"), "{}", stderr(&o));
    // Without a common start, list-append agents are refused: the first agent empties the
    // tables at its setup, which could come after another's start.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "list-append",
            "--segment",
            "1/2",
            "-d",
            "1s",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs --start-at"), "{}", stderr(&o));
}
