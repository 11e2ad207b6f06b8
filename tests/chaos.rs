//! `dbarena chaos` end to end on a managed PostgreSQL instance.

mod common;
use common::*;

#[test]
fn scenarios_measure_degradation_against_the_baseline() {
    if !have("initdb") {
        return;
    }
    let home = Scratch::new("chaos");
    let o = dbarena(&["instance", "up", "postgres", "--name", "ch"], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let scenarios = home.file("s.toml");
    std::fs::write(
        &scenarios,
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
    )
    .unwrap();
    let out = home.file("out");
    let o = dbarena(
        &[
            "chaos",
            "--db",
            "instance:ch",
            "--scenarios",
            scenarios.to_str().unwrap(),
            "-d",
            "4s",
            "--tps",
            "50",
            "-o",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("chaos.csv")).unwrap();
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
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("fault kill from 1.0 s")),
        "{}",
        r["notes"]
    );
    // Throughput over time with the fault window shaded, for each scenario.
    let svg = std::fs::read_to_string(out.join("kill-throughput.svg")).unwrap();
    assert!(
        svg.contains("fill-opacity") && svg.contains("<title>kill</title>"),
        "no shaded fault window"
    );
    assert!(out.join("report.html").exists() && out.join("tps.svg").exists());
    assert!(dbarena(&["instance", "down", "ch"], home.path())
        .status
        .success());
}
