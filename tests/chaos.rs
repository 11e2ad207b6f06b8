//! `dbarena chaos` end to end on a managed PostgreSQL instance.

mod common;
use common::*;

#[test]
fn scenarios_measure_degradation_against_the_baseline() {
    if !have("initdb") {
        return;
    }
    let (_home, out, csv, stdout) = chaos_on_instance(
        "postgres",
        "chaos",
        None,
        r#"
[[scenarios]]
name = "baseline"

[[scenarios]]
name = "slow"
[[scenarios.faults]]
type = "latency"
latency_ms = 30
direction = "downstream"

[[scenarios]]
name = "resets"
[[scenarios.faults]]
type = "reset"
start = "1s"
duration = "200ms"

[[scenarios]]
name = "kill"
[[scenarios.faults]]
type = "kill"
start = "1s"
duration = "1500ms"
"#,
        &["-d", "4s", "--tps", "50", "--json"],
    );
    // --json: the scenarios under chaos.csv's column names, and nothing else on stdout.
    let j: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let scenarios = j["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 4, "{j}");
    for col in csv.lines().next().unwrap().split(',') {
        assert!(scenarios[0].get(col).is_some(), "no {col} in {j}");
    }
    // The verdict also as data: the default pattern has no consistency check.
    for s in scenarios {
        assert_eq!(s["check"], "not_checked", "{s}");
        assert_eq!(s["verification"], "n/a", "{s}");
    }

    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no row {name} in {csv}"))
            .clone()
    };
    let p50 = |r: &Vec<String>| r[3].parse::<f64>().unwrap();
    assert!(p50(&row("slow")) >= p50(&row("baseline")) + 25.0, "{csv}");
    assert!(
        row("resets")[6].contains("connection:"),
        "resets not seen as connection errors: {csv}"
    );
    let kill = row("kill");
    let outage: f64 = kill[7].parse().unwrap();
    assert!(outage >= 1.0, "kill outage {outage}: {csv}");
    // Each scenario has its own result file, annotated with its fault timeline.
    let r = read_json(&out.join("kill.json"));
    let faults = r["faults"].as_array().unwrap();
    assert!(
        faults
            .iter()
            .any(|f| f["fault"] == "kill" && (f["start_s"].as_f64().unwrap() - 1.0).abs() < 1e-9),
        "{faults:?}"
    );
    // Throughput over time with the fault window shaded, for each scenario.
    let svg = std::fs::read_to_string(out.join("kill-throughput.svg")).unwrap();
    assert!(
        svg.contains("fill-opacity") && svg.contains("<title>kill</title>"),
        "no shaded fault window"
    );
    assert!(out.join("report.html").exists() && out.join("tps.svg").exists());
    // The page: scenarios against the baseline (degradation, outage, verification), the
    // three degradation charts, scenarios as bars (never one line through unrelated runs),
    // and it loads in a browser with every chart drawn.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for what in [
        "scenarios against baseline",
        "tps change",
        "failure change (pp)",
        "longest outage s",
        "verification",
    ] {
        assert!(html.contains(what), "{what} not in report.html");
    }
    for chart in [
        "degradation-tps.svg",
        "degradation-failure-rate.svg",
        "degradation-p99.svg",
    ] {
        assert!(out.join(chart).exists(), "{chart}");
    }
    let latency = std::fs::read_to_string(out.join("latency-by-config.svg")).unwrap();
    assert!(!latency.contains("<polyline"), "scenarios joined by a line");
    open_in_browser(&out.join("report.html"), "chaos-report");
}

/// Runs `dbarena chaos` on a fresh managed instance of `kind` (removed afterwards), with
/// `scenarios` (TOML text, or `default`) and the workload TOML `workload` (or none) plus
/// `flags`; returns the scratch home, the output folder, chaos.csv and stdout. Fails on a failed run.
fn chaos_on_instance(
    kind: &str,
    tag: &str,
    workload: Option<&str>,
    scenarios: &str,
    flags: &[&str],
) -> (Scratch, std::path::PathBuf, String, String) {
    let home = Scratch::new(tag);
    let name = format!("{tag}-{kind}");
    let o = dbarena(&["instance", "up", kind, "--name", &name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let db = format!("instance:{name}");
    let out = home.file("out");
    let mut args = vec!["chaos", "--db", &db, "-o", out.to_str().unwrap()];
    let scenario_file = home.file("s.toml");
    if scenarios == "default" {
        args.extend(["--scenarios", "default"]);
    } else {
        std::fs::write(&scenario_file, scenarios).unwrap();
        args.extend(["--scenarios", scenario_file.to_str().unwrap()]);
    }
    let workload_file = home.file("w.toml");
    if let Some(w) = workload {
        std::fs::write(&workload_file, w).unwrap();
        args.extend(["--from", workload_file.to_str().unwrap()]);
    }
    args.extend(flags);
    let o = dbarena(&args, home.path());
    let _ = dbarena(&["instance", "down", &name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("chaos.csv")).unwrap();
    (
        home,
        out,
        csv,
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Every kind of fault on a managed instance of `kind`, under the writers-readers workload:
/// each scenario ends with the consistency checks, and acknowledged writes survive a kill.
fn faults_keep_acknowledged_writes(kind: &str, binary: &str) {
    if !have(binary) {
        return;
    }
    let (_home, out, csv, _) = chaos_on_instance(
        kind,
        "chaoswr",
        Some("pattern = \"writers-readers\"\nnum_writers = 2\nwriter_rate = 40.0\nnum_readers = 2\nreader_rate = 40.0\nkey_pool = \"pool\"\nkey_pool_size = 50\nkey_overlap_ratio = 0.5\ntimeout = \"1s\"\nduration = \"6s\"\n"),
        r#"
[[scenarios]]
name = "baseline"

[[scenarios]]
name = "latency"
[[scenarios.faults]]
type = "latency"
latency_ms = 20
jitter_ms = 5

[[scenarios]]
name = "bandwidth"
[[scenarios.faults]]
type = "bandwidth"
bandwidth_bps = 20000

[[scenarios]]
name = "blackhole"
[[scenarios.faults]]
type = "blackhole"
start = "1s"
duration = "2s"

[[scenarios]]
name = "reset"
[[scenarios.faults]]
type = "reset"
start = "1s"
duration = "2s"

[[scenarios]]
name = "restart"
[[scenarios.faults]]
type = "restart"
start = "2s"

[[scenarios]]
name = "slow-close"
[[scenarios.faults]]
type = "slow_close"
slow_close_ms = 300

[[scenarios]]
name = "cpu"
[[scenarios.faults]]
type = "cpu"
threads = 2
percent = 50

[[scenarios]]
name = "pause"
[[scenarios.faults]]
type = "pause"
start = "1s"
duration = "2s"

[[scenarios]]
name = "kill"
[[scenarios.faults]]
type = "kill"
start = "1s"
duration = "2s"
"#,
        &[],
    );

    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |c: &str| header.iter().position(|h| *h == c).unwrap();
    let row = |scenario: &str| -> Vec<String> {
        csv.lines()
            .find(|l| l.starts_with(&format!("{scenario},")))
            .unwrap_or_else(|| panic!("no {scenario} in {csv}"))
            .split(',')
            .map(str::to_string)
            .collect()
    };
    for s in [
        "baseline",
        "latency",
        "bandwidth",
        "blackhole",
        "reset",
        "restart",
        "slow-close",
        "cpu",
        "pause",
        "kill",
    ] {
        assert_eq!(row(s)[col("verification")], "pass", "{s}: {csv}");
        let r = read_json(&out.join(format!("{s}.json")));
        let w = &r["writers_readers"];
        // Even at 20 ms each way a write (four round trips) commits a few times a second.
        assert!(
            w["write_tps"].as_f64().unwrap() > 2.0,
            "{s}: writes stalled: {w}"
        );
        assert_eq!(w["violations"].as_array().unwrap().len(), 0, "{s}");
    }
    let num = |s: &str, c: &str| row(s)[col(c)].parse::<f64>().unwrap();
    // Latency shows in the writers' p50 (each write is several round trips).
    let p50 = |s: &str| {
        read_json(&out.join(format!("{s}.json")))["writers_readers"]["writer_p50_ms"]
            .as_f64()
            .unwrap()
    };
    assert!(p50("latency") > p50("baseline") + 20.0, "{csv}");
    // A blackhole, a pause and a kill each stop commits for a while, then work resumes.
    for s in ["blackhole", "pause", "kill"] {
        assert!(num(s, "longest_gap_s") >= 1.0, "{s}: {csv}");
        let r = read_json(&out.join(format!("{s}.json")));
        let last: u64 = r["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            // The short tail after the last full second is marked partial.
            .find(|i| i["partial"] != true)
            .map(|i| i["committed"].as_u64().unwrap())
            .unwrap_or(0);
        assert!(
            last > 10,
            "{s}: no recovery, {last} commits in the last second"
        );
    }
    // The kill shows as outages of the clients' connections, each recovered.
    assert!(num("kill", "longest_outage_s") >= 1.0, "{csv}");
    let kill = read_json(&out.join("kill.json"));
    let outages = kill["outages"].as_array().unwrap();
    assert!(
        !outages.is_empty() && outages.iter().all(|o| o["recovered"] == true),
        "{outages:?}"
    );
    // Blackholed and killed connections are classed as lost connections.
    assert!(
        row("blackhole")[col("errors")].contains("connection:"),
        "{csv}"
    );
    assert!(row("kill")[col("errors")].contains("connection"), "{csv}");
    assert!(row("reset")[col("errors")].contains("connection"), "{csv}");
    assert!(
        row("restart")[col("errors")].contains("connection"),
        "{csv}"
    );
    // Resets refuse every connection for two seconds: a gap in commits.
    assert!(num("reset", "longest_gap_s") >= 1.0, "{csv}");
    // Degradation against the baseline, as charts.
    for f in [
        "degradation-tps.svg",
        "degradation-p99.png",
        "distribution-by-config.svg",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
}

#[test]
fn postgres_faults_keep_acknowledged_writes() {
    faults_keep_acknowledged_writes("postgres", "initdb");
}

#[test]
fn mariadb_faults_keep_acknowledged_writes() {
    faults_keep_acknowledged_writes("mariadb", "mariadb-install-db");
}

#[test]
fn list_append_histories_stay_serializable_through_a_kill() {
    if !have("initdb") {
        return;
    }
    let (_home, out, csv, _) = chaos_on_instance(
        "postgres",
        "chaosla",
        Some("pattern = \"list-append\"\nisolation = \"serializable\"\nconnections = 3\nduration = \"4s\"\ntimeout = \"2s\"\n"),
        "[[scenarios]]\nname = \"baseline\"\n\n[[scenarios]]\nname = \"kill\"\n[[scenarios.faults]]\ntype = \"kill\"\nstart = \"1s\"\nduration = \"1s\"\n",
        &[],
    );

    for s in ["baseline", "kill"] {
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{s},")))
            .unwrap_or_else(|| panic!("{csv}"));
        assert!(line.contains(",pass (serializable),"), "{s}: {csv}");
        let r = read_json(&out.join(format!("{s}.json")));
        assert!(r["totals"]["committed"].as_u64().unwrap() > 20, "{s}");
        assert!(std::path::Path::new(r["verification"]["history"].as_str().unwrap()).exists());
    }
    // The kill cut transactions off: failed or indeterminate, never silently lost.
    let kill = read_json(&out.join("kill.json"));
    assert!(
        !kill["errors"].as_array().unwrap().is_empty(),
        "{}",
        kill["errors"]
    );
    let history =
        std::fs::read_to_string(kill["verification"]["history"].as_str().unwrap()).unwrap();
    assert!(
        history.contains("\"fail\"") || history.contains("\"info\""),
        "the kill left no failed or indeterminate operation in the history"
    );
}

#[test]
fn the_default_scenarios_run_from_one_command() {
    if !have("initdb") {
        return;
    }
    let (home, out, csv, _) = chaos_on_instance(
        "postgres",
        "chaosdef",
        None,
        "default",
        &["--pattern", "writers-readers", "--duration", "3s"],
    );

    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "baseline",
            "latency-50ms",
            "latency-100ms",
            "latency-200ms",
            "cpu-2x50",
            "cpu-4x80",
            "combined-100ms-cpu-2x50",
            "kill-restart",
            "pause-5s"
        ],
        "{csv}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",pass,")), "{csv}");
    // Added latency costs throughput and p99 against the baseline, in the CSV and the charts.
    let change = |s: &str, col: usize| -> f64 {
        csv.lines()
            .find(|l| l.starts_with(&format!("{s},")))
            .unwrap()
            .split(',')
            .nth(col)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(change("latency-200ms", 11) > 100.0, "{csv}");
    for f in [
        "chaos.csv",
        "report.html",
        "degradation-tps.png",
        "degradation-p99.svg",
        "distribution-by-config.png",
        "kill-restart-throughput.png",
        "pause-5s-latency.svg",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // `report` over the folder draws the same comparison against its baseline.
    let again = home.file("again");
    let o = dbarena(
        &[
            "report",
            out.to_str().unwrap(),
            "--svg",
            "-o",
            again.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(again.join("degradation-p99.svg")).unwrap();
    assert!(svg.contains("<title>latency-200ms: "), "{svg}");
}

/// The state of instance `name` from `instance list --json`.
fn instance_state(home: &std::path::Path, name: &str) -> String {
    let o = dbarena(&["instance", "list", "--json"], home);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .map(|i| i["state"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Interrupted while the server is paused or killed, `chaos` leaves it running: after a
/// SIGTERM (the run ends and saves), and after a second signal (which exits at once).
#[test]
fn an_interrupted_chaos_run_restores_the_instance() {
    if !have("initdb") {
        return;
    }
    let home = Scratch::new("chaos-restore");
    let name = "restore";
    let o = dbarena(&["instance", "up", "postgres", "--name", name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    struct Down<'a>(&'a std::path::Path);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = dbarena(&["instance", "down", "restore"], self.0);
        }
    }
    let _down = Down(home.path());
    for (fault, shows, signals, code) in [
        ("pause", "paused", &["-TERM"][..], 143),
        ("kill", "stopped", &["-INT", "-INT"][..], 130),
    ] {
        let scenarios = home.file(&format!("{fault}.toml"));
        std::fs::write(
            &scenarios,
            format!(
                "[[scenarios]]\nname = \"{fault}\"\n[[scenarios.faults]]\ntype = \"{fault}\"\nstart = \"1s\"\nduration = \"60s\"\n"
            ),
        )
        .unwrap();
        let out = home.file(&format!("out-{fault}"));
        let child = spawn_dbarena(
            &[
                "chaos",
                "--db",
                &format!("instance:{name}"),
                "--scenarios",
                scenarios.to_str().unwrap(),
                "-d",
                "40s",
                "--tps",
                "20",
                "-o",
                out.to_str().unwrap(),
            ],
            home.path(),
        );
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while instance_state(home.path(), name) != shows && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(
            instance_state(home.path(), name),
            shows,
            "{fault} never applied"
        );
        for sig in signals {
            let k = std::process::Command::new("kill")
                .args([*sig, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(k.success());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{fault}: {}", stderr(&o));
        assert_eq!(
            instance_state(home.path(), name),
            "running",
            "{fault}: the instance was left {shows}: {}",
            stderr(&o)
        );
    }
}
