//! Managed instances: start, use, kill and restart, pause, stop — private servers only.

mod common;
use common::*;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn arena(home: &Scratch, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(args)
        .current_dir(home.path())
        .env("DBARENA_HOME", home.path())
        .env_remove("DBARENA_DB")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run dbarena")
}

fn have(binary: &str) -> bool {
    let found = Command::new("sh")
        .args([
            "-c",
            &format!("command -v {binary} || ls /usr/lib/postgresql/*/bin/{binary}"),
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("DBARENA_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
            panic!("{binary} is required (DBARENA_REQUIRE_SERVERS=1) but not installed");
        }
        println!("SKIPPED: {binary} not installed");
    }
    found
}

/// Kills the server mid-run and restarts it: the run reports the outage and recovers.
fn kill_and_restart(kind: &str, binary: &str) {
    if !have(binary) {
        return;
    }
    let home = Scratch::new(&format!("inst-{kind}"));
    let name = format!("t{kind}");
    let o = arena(&home, &["instance", "up", kind, "--name", &name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(url.contains("127.0.0.1:"), "{url}");
    let list = String::from_utf8_lossy(&arena(&home, &["instance", "list"]).stdout).into_owned();
    assert!(list.contains(&name) && list.contains("running"), "{list}");
    let db = format!("instance:{name}");
    let out = home.file("r.json");
    let run = Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args([
            "workload",
            "run",
            "--db",
            &db,
            "--duration",
            "9s",
            "--tps",
            "200",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(home.path())
        .env("DBARENA_HOME", home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let k = arena(&home, &["instance", "kill", &name]);
    assert!(k.status.success(), "{}", stderr(&k));
    let list = String::from_utf8_lossy(&arena(&home, &["instance", "list"]).stdout).into_owned();
    assert!(list.contains("stopped"), "{list}");
    std::thread::sleep(Duration::from_millis(1500));
    let s = arena(&home, &["instance", "start", &name]);
    assert!(s.status.success(), "{}", stderr(&s));
    let o = run.wait_with_output().unwrap();
    let r = ok_result(&o, &out);
    let outages = r["outages"].as_array().unwrap();
    assert!(!outages.is_empty(), "{kind}: no outage recorded");
    assert!(
        outages.iter().all(|o| o["recovered"] == true),
        "{kind}: {outages:?}"
    );
    let longest = outages
        .iter()
        .map(|o| o["duration_s"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        (1.0..8.0).contains(&longest),
        "{kind}: outage of {longest} s"
    );
    let late: u64 = r["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["t_s"].as_f64().unwrap() > 7.5)
        .map(|i| i["committed"].as_u64().unwrap())
        .sum();
    assert!(late > 50, "{kind}: only {late} commits after the restart");
    let logs = arena(&home, &["instance", "logs", &name]);
    assert!(!logs.stdout.is_empty());
    let d = arena(&home, &["instance", "down", &name]);
    assert!(d.status.success(), "{}", stderr(&d));
    assert!(!String::from_utf8_lossy(&arena(&home, &["instance", "list"]).stdout).contains(&name));
}

#[test]
fn postgres_instance_killed_mid_run_recovers() {
    kill_and_restart("postgres", "initdb");
}

#[test]
fn mariadb_instance_killed_mid_run_recovers() {
    kill_and_restart("mariadb", "mariadb-install-db");
}

#[test]
fn paused_server_shows_as_an_outage_in_latency() {
    if !have("initdb") {
        return;
    }
    let home = Scratch::new("inst-pause");
    let o = arena(&home, &["instance", "up", "postgres", "--name", "p"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = home.file("p.json");
    let run = Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args([
            "workload",
            "run",
            "--db",
            "instance:p",
            "--duration",
            "6s",
            "--tps",
            "100",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(home.path())
        .env("DBARENA_HOME", home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(arena(&home, &["instance", "pause", "p"]).status.success());
    std::thread::sleep(Duration::from_secs(2));
    assert!(arena(&home, &["instance", "resume", "p"]).status.success());
    let o = run.wait_with_output().unwrap();
    let r = ok_result(&o, &out);
    // Open loop: the transactions scheduled during the pause wait, and their latency from the
    // intended start shows the stall (service time does not).
    let max = r["response"]["max_ms"].as_f64().unwrap();
    assert!(
        max > 1000.0,
        "a 2 s pause must show in response time (max {max} ms)"
    );
    assert!(r["response"]["p99_ms"].as_f64().unwrap() > r["service"]["p99_ms"].as_f64().unwrap());
    assert!(arena(&home, &["instance", "down", "p"]).status.success());
}

#[test]
fn instance_errors() {
    let home = Scratch::new("inst-err");
    let o = arena(&home, &["instance", "up", "oracle"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("use postgres or mariadb"),
        "{}",
        stderr(&o)
    );
    let o = arena(&home, &["workload", "run", "--db", "instance:ghost"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no instance named 'ghost'"),
        "{}",
        stderr(&o)
    );
}
