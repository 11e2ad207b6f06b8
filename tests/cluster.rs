//! Clusters as instances and failover under chaos: a PostgreSQL primary with a synchronous
//! or asynchronous standby killed mid-run and the standby promoted, a three-node Galera
//! cluster with a node killed. Every cluster lives in the test's scratch folder on its own
//! ports and is taken down by a guard, panic or not.

mod common;
use common::*;
use dbarena::db::{Connection, DbUrl};
use serde_json::Value as Json;
use std::path::Path;

/// Takes a cluster down (all its members) when the test ends, passed or failed; declared
/// after the Scratch it lives in, so it drops first.
struct Down<'a>(&'a Path, String);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = dbarena(&["instance", "down", &self.1], self.0);
    }
}

/// `instance up` with `args`; returns the cluster's URL with its password.
fn up(home: &Scratch, name: &str, args: &[&str]) -> String {
    let mut all = vec!["instance", "up"];
    all.extend(args);
    all.extend(["--name", name]);
    let o = dbarena(&all, home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let pw =
        std::fs::read_to_string(home.path().join("instances").join(name).join("password")).unwrap();
    assert!(url.contains("***") && !url.contains(pw.trim()), "{url}");
    url.replace("***", pw.trim())
}

/// `instance list --json`, as (name, state, role).
fn members(home: &Scratch) -> Vec<(String, String, String)> {
    let o = dbarena(&["instance", "list", "--json"], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Json = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or("").to_string();
            (s("name"), s("state"), s("role"))
        })
        .collect()
}

fn query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let url = DbUrl::parse(url).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut c = Connection::connect(&url).await.expect("connect");
            c.query_text(sql).await.expect("query")
        })
}

/// The one standby's `sync_state`, once it is `want` or after 10 s (a standby that has just
/// connected shows as async until it streams).
fn sync_state(url: &str, want: &str) -> String {
    let mut state = String::new();
    for _ in 0..100 {
        let rows = query(url, "SELECT sync_state FROM pg_stat_replication");
        state = format!("{rows:?}");
        if let [row] = rows.as_slice() {
            state = row[0].clone().unwrap_or_default();
            if state == want {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    state
}

/// The URL with a host that refuses connections put first: clients must pass over it.
fn dead_first(url: &str) -> String {
    url.replacen("@127.0.0.1:", "@127.0.0.1:1,127.0.0.1:", 1)
}

/// Fields of one CSV line (quotes as the csv writer makes them).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Runs one failover scenario on cluster `name` under writers-readers (`workload` TOML);
/// returns the chaos command's output, its chaos.csv row (by column name) and the
/// scenario's result file.
fn failover_run(
    home: &Scratch,
    name: &str,
    workload: &str,
    fault: &str,
    duration: &str,
) -> (
    std::process::Output,
    std::collections::HashMap<String, String>,
    Json,
) {
    let scenarios = home.file("s.toml");
    std::fs::write(
        &scenarios,
        format!("[[scenarios]]\nname = \"failover\"\n[[scenarios.faults]]\n{fault}"),
    )
    .unwrap();
    let wl = home.file("w.toml");
    std::fs::write(&wl, workload).unwrap();
    let out = home.file("out");
    let db = format!("instance:{name}");
    let o = dbarena(
        &[
            "chaos",
            "--db",
            &db,
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--from",
            wl.to_str().unwrap(),
            "-d",
            duration,
            "-o",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    let csv = std::fs::read_to_string(out.join("chaos.csv"))
        .unwrap_or_else(|e| panic!("no chaos.csv ({e}): {}", stderr(&o)));
    // report.html has the failover's own table beside the scenarios' one, with what was lost.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("failovers (times in seconds")
            && html.contains("first commit s")
            && html.contains("lost acknowledged writes"),
        "report.html lacks the failover table"
    );
    let mut lines = csv.lines();
    let header = fields(lines.next().unwrap());
    let row = fields(lines.next().unwrap());
    let row = header.into_iter().zip(row).collect();
    let result = read_json(&out.join("failover.json"));
    (o, row, result)
}

const FAILOVER: &str =
    "type = \"failover\"\nstart = \"2s\"\nduration = \"2s\"\npromote_after = \"500ms\"\n";

/// Prints what a failover measured (the figures docs/ARCHITECTURE.md quotes).
fn report(what: &str, row: &std::collections::HashMap<String, String>) {
    println!(
        "{what}: clients' longest outage {} s, first commit {} s after the kill, {} acknowledged writes lost, tps {}, p99 {} ms ({})",
        row["longest_outage_s"], row["first_commit_s"], row["lost_writes"], row["tps"], row["p99_ms"], row["failovers"]
    );
}

/// Commits acknowledged in the per-second intervals after `t` seconds.
fn commits_after(r: &Json, t: f64) -> u64 {
    r["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["t_s"].as_f64().unwrap() > t + 1.0)
        .map(|i| i["committed"].as_u64().unwrap())
        .sum()
}

#[test]
fn synchronous_standby_fails_over_without_losing_an_acknowledged_write() {
    if !have("pg_basebackup") {
        return;
    }
    let home = Scratch::new("cl-sync");
    let name = "pgsync";
    let _down = Down(home.path(), name.into());
    let url = up(&home, name, &["postgres", "--replicas", "1", "--sync"]);
    assert!(
        url.contains(',') && url.contains("target_session_attrs=read-write"),
        "{url}"
    );
    let roles = members(&home);
    assert!(
        roles.contains(&("pgsync".into(), "running".into(), "primary".into()))
            && roles.contains(&("pgsync-r1".into(), "running".into(), "standby".into())),
        "{roles:?}"
    );
    assert_eq!(sync_state(&url, "sync"), "sync");
    // Several hosts: the first that answers and takes writes.
    let rw = query(&dead_first(&url), "SHOW transaction_read_only");
    assert_eq!(rw, [[Some("off".to_string())]]);

    // Writers only: PostgreSQL shows a commit to other sessions while it waits for the
    // standby, so a reader may see a version the kill then loses (never acknowledged to its
    // writer): a finding verification reports, but not one this test can expect or rule out.
    let (o, row, r) = failover_run(
        &home,
        name,
        "pattern = \"writers-readers\"\nnum_writers = 4\nwriter_rate = 25\nnum_readers = 0\nverify = true\n",
        FAILOVER,
        "12s",
    );
    assert!(o.status.success(), "{}\n{row:?}", stderr(&o));
    report("synchronous failover", &row);
    // Nothing acknowledged is lost, and every check passes.
    assert_eq!(row["verification"], "pass", "{row:?}");
    assert_eq!(row["lost_writes"], "0", "{row:?}");
    assert!(r["writers_readers"]["lost_writes"]
        .as_array()
        .unwrap()
        .is_empty());
    // The primary was killed, the standby promoted, and the clients saw an outage.
    assert!(
        row["failovers"].contains("killed pgsync at")
            && row["failovers"].contains("promoted pgsync-r1")
            && row["failovers"].contains("pgsync was back at"),
        "{row:?}"
    );
    let outage: f64 = row["longest_outage_s"].parse().unwrap();
    assert!(outage > 0.0, "{row:?}");
    // The new primary took a commit after the kill (the probe's; with one standby it waits
    // until the former primary is back as a standby, which a loaded machine may bring after
    // the clients' end).
    let first: f64 = row["first_commit_s"].parse().unwrap_or_else(|_| {
        panic!("no commit after the kill: {row:?}");
    });
    assert!(first > 0.0, "{row:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("killed pgsync") && stdout.contains("first commit"),
        "{stdout}"
    );
    // The former primary came back as a standby of the new one.
    let roles = members(&home);
    assert!(
        roles.contains(&("pgsync".into(), "running".into(), "standby".into()))
            && roles.contains(&("pgsync-r1".into(), "running".into(), "primary".into())),
        "{roles:?}"
    );
    // And back by hand: kill the new primary, promote the standby, start the killed one.
    for args in [
        ["instance", "kill", "pgsync-r1"],
        ["instance", "promote", "pgsync"],
        ["instance", "start", "pgsync-r1"],
    ] {
        let o = dbarena(&args, home.path());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let roles = members(&home);
    assert!(
        roles.contains(&("pgsync".into(), "running".into(), "primary".into()))
            && roles.contains(&("pgsync-r1".into(), "running".into(), "standby".into())),
        "{roles:?}"
    );
    // Still synchronous, and the data written through the failovers is there.
    assert_eq!(sync_state(&url, "sync"), "sync");
    let n = query(&url, "SELECT count(*) FROM dbarena_kv");
    assert!(n[0][0].as_deref().unwrap_or("0") != "0", "{n:?}");
    // Promoting a primary is refused with the reason.
    let o = dbarena(&["instance", "promote", "pgsync"], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a standby"), "{}", stderr(&o));
}

#[test]
fn asynchronous_standby_failover_reports_the_acknowledged_writes_it_lost() {
    if !have("pg_basebackup") {
        return;
    }
    let home = Scratch::new("cl-async");
    let name = "pgasync";
    let _down = Down(home.path(), name.into());
    let url = up(&home, name, &["postgres", "--replicas", "1"]);
    assert_eq!(sync_state(&url, "async"), "async");

    // Writers only, each write a new key: a lost write is a key missing from the table.
    let (o, row, r) = failover_run(
        &home,
        name,
        "pattern = \"writers-readers\"\nnum_writers = 4\nwriter_rate = 40\nnum_readers = 0\nverify = true\n",
        FAILOVER,
        "8s",
    );
    // Losing acknowledged writes here is a finding, not a failure.
    assert!(o.status.success(), "{}\n{row:?}", stderr(&o));
    report("asynchronous failover", &row);
    let lost: Vec<String> = r["writers_readers"]["lost_writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(row["lost_writes"], lost.len().to_string(), "{row:?}");
    if lost.is_empty() {
        assert_eq!(row["verification"], "pass", "{row:?}");
    } else {
        assert!(
            row["verification"]
                .starts_with(&format!("finding: {} acknowledged writes lost", lost.len())),
            "{row:?}"
        );
        assert_eq!(row["lost_keys"], lost.join(" "));
    }
    // Checked against the table on the new primary: no lost key is there, and the rows
    // are the acknowledged writes less the lost ones, plus at most the writes whose
    // outcome the clients never learned (they may have committed).
    let rows = query(&url, "SELECT k FROM dbarena_kv");
    let keys: std::collections::HashSet<String> =
        rows.into_iter().filter_map(|r| r[0].clone()).collect();
    for k in &lost {
        assert!(
            !keys.contains(k),
            "{k} is reported lost but is in the table"
        );
    }
    let w = &r["operations"]["write"];
    let acked = w["committed"].as_u64().unwrap();
    let unknown = w["failed"].as_u64().unwrap() + r["schedule"]["in_flight"].as_u64().unwrap();
    let n = keys.len() as u64 + lost.len() as u64;
    assert!(
        n >= acked && n <= acked + unknown,
        "table {} + lost {} against {acked} acknowledged and {unknown} unknown",
        keys.len(),
        lost.len()
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    if !lost.is_empty() {
        assert!(stdout.contains("acknowledged writes lost"), "{stdout}");
    }
    println!(
        "asynchronous failover: {} acknowledged writes lost of {acked}",
        lost.len()
    );

    // The default scenarios of a cluster: a baseline and a failover at mid-run.
    let out = home.file("default");
    let o = dbarena(
        &[
            "chaos",
            "--db",
            "instance:pgasync",
            "--scenarios",
            "default",
            "--pattern",
            "writers-readers",
            "-d",
            "6s",
            "-o",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("chaos.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().skip(1).map(fields).collect();
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["baseline", "failover"],
        "{csv}"
    );
    assert!(
        rows[1].iter().any(|f| f.starts_with("killed pgasync")),
        "{csv}"
    );
}

#[test]
fn cluster_usage_errors() {
    let home = Scratch::new("cl-usage");
    for (args, says) in [
        (
            vec![
                "instance",
                "up",
                "postgres",
                "--replicas",
                "1",
                "--sync",
                "--fast",
            ],
            "drop one of them",
        ),
        (
            vec!["instance", "up", "mariadb", "--replicas", "1"],
            "--galera",
        ),
        (
            vec!["instance", "up", "postgres", "--galera", "3"],
            "--replicas",
        ),
        (
            vec!["instance", "up", "postgres", "--replicas", "0"],
            "2 to 9",
        ),
        (vec!["instance", "up", "postgres", "--sync"], "--replicas"),
    ] {
        let o = dbarena(&args, home.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    assert!(!home.path().join("instances").exists() || members(&home).is_empty());
}

/// Whether the Galera provider (package galera-4) is installed; prints SKIPPED (or, when
/// servers are required, fails) when it is not.
fn have_galera() -> bool {
    if !have("mariadbd") {
        return false;
    }
    let found = [
        "/usr/lib/galera/libgalera_smm.so",
        "/usr/lib/libgalera_smm.so",
        "/usr/lib64/galera-4/libgalera_smm.so",
        "/usr/lib64/galera/libgalera_smm.so",
    ]
    .iter()
    .any(|p| Path::new(p).is_file());
    if !found {
        assert!(
            std::env::var("DBARENA_REQUIRE_SERVERS").as_deref() != Ok("1"),
            "galera-4 is required (DBARENA_REQUIRE_SERVERS=1) but not installed"
        );
        println!("SKIPPED: galera-4 not installed");
    }
    found
}

#[test]
fn galera_majority_keeps_serving_with_a_node_killed() {
    if !have_galera() {
        return;
    }
    let home = Scratch::new("cl-galera");
    let name = "gal";
    let _down = Down(home.path(), name.into());
    let url = up(&home, name, &["mariadb", "--galera", "3"]);
    assert_eq!(url.matches("127.0.0.1:").count(), 3, "{url}");
    // dbarena's own failover across the listed hosts passes over one that refuses.
    let size = query(&dead_first(&url), "SHOW STATUS LIKE 'wsrep_cluster_size'");
    assert_eq!(size[0][1].as_deref(), Some("3"), "{size:?}");
    let roles = members(&home);
    assert_eq!(
        roles
            .iter()
            .filter(|(_, state, role)| state == "running" && role == "node")
            .count(),
        3,
        "{roles:?}"
    );

    // The first node (the one clients try first) is down from 2 s to 10 s.
    let (o, row, r) = failover_run(
        &home,
        name,
        "pattern = \"writers-readers\"\nnum_writers = 3\nwriter_rate = 20\nnum_readers = 2\nreader_rate = 20\nverify = true\n",
        "type = \"failover\"\nstart = \"2s\"\nduration = \"8s\"\n",
        "12s",
    );
    assert!(o.status.success(), "{}\n{row:?}", stderr(&o));
    report("galera node killed", &row);
    assert!(row["failovers"].starts_with("killed gal at"), "{row:?}");
    assert!(!row["failovers"].contains("promoted"), "{row:?}");
    assert!(row["failovers"].contains("gal was back at"), "{row:?}");
    // The two others committed while it was down: the probe's first commit came before the
    // node was started again, and the clients' writes went on.
    let first: f64 = row["first_commit_s"]
        .parse()
        .unwrap_or_else(|_| panic!("no commit after the kill: {row:?}"));
    assert!(2.0 + first < 10.0, "{row:?}");
    assert!(commits_after(&r, 2.0 + first) > 0, "{row:?}");
    // What verification finds is reported: a Galera cluster loses no acknowledged write.
    assert_eq!(row["verification"], "pass", "{row:?}");
    assert_eq!(row["lost_writes"], "0", "{row:?}");
    // The node is back in the cluster.
    let size = query(&url, "SHOW STATUS LIKE 'wsrep_cluster_size'");
    assert_eq!(size[0][1].as_deref(), Some("3"), "{size:?}");
}
