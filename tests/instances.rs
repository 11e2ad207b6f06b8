//! Managed instances: start, use, kill and restart, pause, stop — private servers only.

mod common;
use common::*;
use std::time::Duration;

/// Kills the server mid-run and restarts it: the run reports the outage and recovers.
fn kill_and_restart(kind: &str, binary: &str) {
    if !have(binary) {
        return;
    }
    let home = Scratch::new(&format!("inst-{kind}"));
    let name = format!("t{kind}");
    let o = dbarena(&["instance", "up", kind, "--name", &name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(url.contains("127.0.0.1:"), "{url}");
    let list =
        String::from_utf8_lossy(&dbarena(&["instance", "list"], home.path()).stdout).into_owned();
    assert!(list.contains(&name) && list.contains("running"), "{list}");
    let db = format!("instance:{name}");
    let out = home.file("r.json");
    let run = spawn_dbarena(
        &[
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
        ],
        home.path(),
    );
    std::thread::sleep(Duration::from_secs(3));
    let k = dbarena(&["instance", "kill", &name], home.path());
    assert!(k.status.success(), "{}", stderr(&k));
    let list =
        String::from_utf8_lossy(&dbarena(&["instance", "list"], home.path()).stdout).into_owned();
    assert!(list.contains("stopped"), "{list}");
    std::thread::sleep(Duration::from_millis(1500));
    let s = dbarena(&["instance", "start", &name], home.path());
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
    let logs = dbarena(&["instance", "logs", &name], home.path());
    assert!(!logs.stdout.is_empty());
    let d = dbarena(&["instance", "down", &name], home.path());
    assert!(d.status.success(), "{}", stderr(&d));
    assert!(
        !String::from_utf8_lossy(&dbarena(&["instance", "list"], home.path()).stdout)
            .contains(&name)
    );
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
    let o = dbarena(&["instance", "up", "postgres", "--name", "p"], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = home.file("p.json");
    let run = spawn_dbarena(
        &[
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
        ],
        home.path(),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(dbarena(&["instance", "pause", "p"], home.path())
        .status
        .success());
    std::thread::sleep(Duration::from_secs(2));
    assert!(dbarena(&["instance", "resume", "p"], home.path())
        .status
        .success());
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
    assert!(dbarena(&["instance", "down", "p"], home.path())
        .status
        .success());
}

#[test]
fn instance_errors() {
    let home = Scratch::new("inst-err");
    let o = dbarena(&["instance", "up", "oracle"], home.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("use postgres or mariadb"),
        "{}",
        stderr(&o)
    );
    let o = dbarena(&["workload", "run", "--db", "instance:ghost"], home.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no instance named 'ghost'"),
        "{}",
        stderr(&o)
    );
}

/// Instances as an unprivileged user: run directly when the tests are not root, through
/// `runuser -u nobody` when they are (root is covered by every other test here).
#[test]
fn instances_start_and_stop_as_a_normal_user() {
    if !have("initdb") || !have("mariadb-install-db") {
        return;
    }
    let home = Scratch::new("inst-user");
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    // nobody must be able to write its registry and run the binary, wherever the checkout is
    // (a clone under /root is out of its reach): a copy in the scratch folder.
    let binary = home.file("dbarena");
    if root {
        std::fs::copy(env!("CARGO_BIN_EXE_dbarena"), &binary).unwrap();
        for (mode, path) in [("777", home.path()), ("755", binary.as_path())] {
            assert!(std::process::Command::new("chmod")
                .arg(mode)
                .arg(path)
                .status()
                .unwrap()
                .success());
        }
    }
    let as_user = |args: &[&str]| {
        let mut c = if root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(&binary);
            c
        } else {
            std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
        };
        c.args(args)
            .current_dir(home.path())
            .env("DBARENA_HOME", home.path())
            .output()
            .unwrap()
    };
    for kind in ["postgres", "mariadb"] {
        let name = format!("u{kind}");
        let o = as_user(&["instance", "up", kind, "--name", &name]);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let list = String::from_utf8_lossy(&as_user(&["instance", "list"]).stdout).into_owned();
        assert!(list.contains(&name) && list.contains("running"), "{list}");
        // It serves a workload, and its server runs as that user, not as root.
        let out = home.file(&format!("{kind}.json"));
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &url,
                "--transactions",
                "50",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ],
            home.path(),
        );
        ok_result(&o, &out);
        let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
        let ps = std::process::Command::new("ps")
            .args(["-eo", "user:20,args"])
            .output()
            .unwrap();
        let owner = String::from_utf8_lossy(&ps.stdout)
            .lines()
            .find(|l| l.contains(&format!("{name}/data")) || l.contains(&format!("port={port}")))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_default();
        if root {
            assert!(
                owner == "nobody" || owner == "postgres",
                "{kind} runs as '{owner}'"
            );
        }
        let o = as_user(&["instance", "down", &name]);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let list = String::from_utf8_lossy(&as_user(&["instance", "list"]).stdout).into_owned();
        assert!(!list.contains(&name), "{list}");
    }
}
