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

/// The acknowledged writes a failover lost, by key, checked against the scenario's row: their
/// count and keys there, and a verdict of pass when none, else a finding (asynchronous
/// replication allows the loss; it is reported, not failed).
fn lost_writes_reported(r: &Json, row: &std::collections::HashMap<String, String>) -> Vec<String> {
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
    lost
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
    let roles = crate::members(&home);
    assert!(
        roles.contains(&("pgsync".into(), "running".into(), "primary".into()))
            && roles.contains(&("pgsync-r1".into(), "running".into(), "standby".into())),
        "{roles:?}"
    );
    // The text listing names each member's role and its cluster (not "standby of" a name
    // that is also the primary's).
    let text =
        String::from_utf8_lossy(&dbarena(&["instance", "list"], home.path()).stdout).into_owned();
    assert!(
        text.lines()
            .any(|l| l.starts_with("pgsync-r1 ") && l.contains("standby in cluster pgsync")),
        "{text}"
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
    let roles = crate::members(&home);
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
    let roles = crate::members(&home);
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
    let lost = lost_writes_reported(&r, &row);
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
    let roles = crate::members(&home);
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

/// Whether namespaces and link faults can be made here (root, `ip`, `nft`); prints SKIPPED
/// (or, when servers are required, fails) when not.
fn can_make_hosts() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let tools = ["ip", "nft"].iter().all(|t| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t} || test -x /usr/sbin/{t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if root && tools {
        return true;
    }
    let why = if root {
        "ip or nft missing (apt-get install iproute2 nftables)"
    } else {
        "not root"
    };
    assert!(
        std::env::var("DBARENA_REQUIRE_SERVERS").as_deref() != Ok("1"),
        "network namespaces are required (DBARENA_REQUIRE_SERVERS=1) but {why}"
    );
    println!("SKIPPED: clusters in network namespaces need root, iproute2 and nftables: {why}");
    false
}

fn sh(cmd: &str) -> String {
    let o = std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("sh");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The namespaces of this machine.
fn namespaces() -> Vec<String> {
    sh("ip netns list")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Takes a cluster in namespaces down however the test ends, a panic included, and removes
/// any member namespace `instance down` left (ending what still runs in it), so no test
/// leaves a namespace, link or rule behind. Declared after the Scratch it lives in.
struct NetDown<'a> {
    home: &'a Path,
    members: Vec<String>,
}

impl Drop for NetDown<'_> {
    fn drop(&mut self) {
        let _ = dbarena(&["instance", "down", &self.members[0]], self.home);
        for m in &self.members {
            let ns = format!("dbarena-{m}");
            if namespaces().contains(&ns) {
                sh(&format!(
                    "for p in $(ip netns pids {ns}); do kill -9 $p; done; ip netns del {ns}; rm -rf /etc/netns/{ns}"
                ));
            }
        }
    }
}

/// The members' namespaces, addresses and link names from `instance list --json` and
/// their meta.json, in the order given.
fn member_hosts(home: &Scratch, members: &[String]) -> Vec<(String, String, String)> {
    let o = dbarena(&["instance", "list", "--json"], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let list: Json = serde_json::from_slice(&o.stdout).unwrap();
    members
        .iter()
        .map(|m| {
            let shown = list
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["name"] == m.as_str())
                .unwrap_or_else(|| panic!("{m} not listed: {list}"));
            let meta = read_json(&home.path().join("instances").join(m).join("meta.json"));
            assert_eq!(shown["netns"], format!("dbarena-{m}"), "{list}");
            assert_eq!(meta["net"]["ns"], format!("dbarena-{m}"), "{meta}");
            (
                format!("dbarena-{m}"),
                meta["net"]["addr"].as_str().unwrap().to_string(),
                meta["net"]["link"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// No dbarena rule or qdisc is left on the members' links.
fn assert_links_clean(hosts: &[(String, String, String)]) {
    for (ns, _, link) in hosts {
        let left = sh(&format!(
            "tc qdisc show dev {link}; ip netns exec {ns} nft list tables"
        ));
        assert!(
            !left.contains("netem") && !left.contains("tbf") && !left.contains("dbarena"),
            "{ns}: {left}"
        );
    }
}

/// After `instance down`: no member namespace, link or resolver file is left.
fn assert_gone(hosts: &[(String, String, String)]) {
    let links = sh("ip -o link show");
    let ns = namespaces();
    for (n, _, link) in hosts {
        assert!(!ns.contains(n), "{n} left: {ns:?}");
        assert!(!links.contains(&format!("{link}:")), "{link} left: {links}");
        assert!(
            !Path::new(&format!("/etc/netns/{n}")).exists(),
            "/etc/netns/{n} left"
        );
        assert!(!Path::new(&format!("/run/dbarena/{n}.owner")).exists());
    }
}

/// Runs chaos with `scenarios` (TOML) on cluster `name` under `workload` (TOML); returns the
/// command's output and each scenario's chaos.csv row by column name.
fn chaos_rows(
    home: &Scratch,
    name: &str,
    scenarios: &str,
    workload: &str,
    duration: &str,
) -> (
    std::process::Output,
    std::collections::HashMap<String, std::collections::HashMap<String, String>>,
) {
    let s = home.file("net-s.toml");
    std::fs::write(&s, scenarios).unwrap();
    let wl = home.file("net-w.toml");
    std::fs::write(&wl, workload).unwrap();
    let out = home.file("net-out");
    let o = dbarena(
        &[
            "chaos",
            "--db",
            &format!("instance:{name}"),
            "--scenarios",
            s.to_str().unwrap(),
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
    println!("{csv}");
    let mut lines = csv.lines();
    let header = fields(lines.next().unwrap());
    let rows = lines
        .map(|l| {
            let row: std::collections::HashMap<String, String> =
                header.iter().cloned().zip(fields(l)).collect();
            (row["scenario"].clone(), row)
        })
        .collect();
    (o, rows)
}

/// Commits acknowledged in the per-second intervals ending in (from, to] (an interval's
/// tick comes a fraction of a millisecond after its second: 0.1 s of slack at the end).
fn commits_between(r: &Json, from: f64, to: f64) -> u64 {
    r["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            let t = i["t_s"].as_f64().unwrap();
            t > from && t <= to + 0.1
        })
        .map(|i| i["committed"].as_u64().unwrap())
        .sum()
}

/// Polls a Galera node until the cluster it sees has `n` members and it is synced.
fn galera_whole(url: &str, n: usize) -> (String, String) {
    let mut last = (String::new(), String::new());
    for _ in 0..120 {
        let q = |v: &str| {
            DbUrl::parse(url)
                .ok()
                .and_then(|u| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?
                        .block_on(async {
                            let mut c = Connection::connect(&u).await.ok()?;
                            c.query_text(&format!("SHOW STATUS LIKE '{v}'")).await.ok()
                        })
                })
                .and_then(|rows| rows.first().and_then(|r| r.get(1).cloned().flatten()))
                .unwrap_or_default()
        };
        last = (q("wsrep_cluster_size"), q("wsrep_local_state_comment"));
        if last.0 == n.to_string() && last.1 == "Synced" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    last
}

/// Issue 18's Galera case on real hosts: three nodes, each in its own namespace, talking
/// over their links. One node is cut off (from the other nodes and the clients) mid-run
/// under writers-readers, then the first node (the one clients use) by a failover that
/// partitions instead of killing: the majority keeps committing, the node rejoins, and
/// verification reports what it finds.
#[test]
fn galera_in_namespaces_keeps_serving_on_the_majority_with_a_node_partitioned() {
    if !can_make_hosts() || !have_galera() {
        return;
    }
    let home = Scratch::new("cl-galnet");
    let name = format!("gnp{}", std::process::id());
    let members: Vec<String> = [name.clone(), format!("{name}-n1"), format!("{name}-n2")].into();
    let _down = NetDown {
        home: home.path(),
        members: members.clone(),
    };
    let t0 = std::time::Instant::now();
    let url = up(
        &home,
        &name,
        &["mariadb", "--galera", "3", "--netns", "--fast"],
    );
    println!(
        "galera in namespaces up in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let hosts = member_hosts(&home, &members);
    // The cluster's URL lists every member at its own namespace's address.
    for (_, addr, _) in &hosts {
        assert!(
            url.contains(&format!("@{addr}:3306")) || url.contains(&format!(",{addr}:3306")),
            "{url}"
        );
    }
    // The nodes formed one cluster over their links: each peer at its own address.
    let peers = query(&url, "SHOW STATUS LIKE 'wsrep_incoming_addresses'");
    let peers = peers[0][1].clone().unwrap_or_default();
    for (_, addr, _) in &hosts {
        assert!(peers.contains(addr.as_str()), "{peers}");
    }
    assert_eq!(galera_whole(&url, 3), ("3".into(), "Synced".into()));

    let cut = &members[2];
    let scenarios = format!(
        r#"
[[scenarios]]
name = "node-cut"
[[scenarios.faults]]
type = "partition"
hosts = ["{cut}"]
start = "2s"
duration = "10s"

[[scenarios]]
name = "first-node-cut"
[[scenarios.faults]]
type = "failover"
how = "partition"
start = "2s"
duration = "10s"
"#
    );
    let (o, rows) = chaos_rows(
        &home,
        &name,
        &scenarios,
        "pattern = \"writers-readers\"\nnum_writers = 3\nwriter_rate = 20\nnum_readers = 2\nreader_rate = 20\nverify = true\ntimeout = \"5s\"\n",
        "18s",
    );
    // The faults are off every link as soon as the run ends.
    assert_links_clean(&hosts);
    let out = home.file("net-out");
    for (scenario, row) in &rows {
        report(scenario, row);
        assert!(row["fault_errors"].is_empty(), "{row:?}");
        // What verification finds is reported; a Galera cluster loses no acknowledged write.
        assert_eq!(row["verification"], "pass", "{scenario}: {row:?}");
        assert_eq!(row["lost_writes"], "0", "{scenario}: {row:?}");
        // The majority committed while the node was cut off (from 2 s to 12 s; its peers
        // wait 3 s before they go on without it, and clients of the first node give a
        // stalled query up after 5 s and pass over the silent host in 2 s).
        let r = read_json(&out.join(format!("{scenario}.json")));
        let during = commits_between(&r, 6.0, 12.0);
        println!(
            "{scenario}: {during} commits from 6 s to 12 s, the node cut off from 2 s to 12 s"
        );
        assert!(
            during > 0,
            "{scenario}: no commit during the partition: {row:?}"
        );
    }
    assert!(o.status.success(), "{}", stderr(&o));
    let first = &rows["first-node-cut"];
    assert!(
        first["failovers"].starts_with(&format!("partitioned {name} at"))
            && first["failovers"].contains(&format!("{name} was back at"))
            && !first["failovers"].contains("promoted"),
        "{first:?}"
    );
    let commit: f64 = first["first_commit_s"]
        .parse()
        .unwrap_or_else(|_| panic!("no commit after the partition: {first:?}"));
    assert!(2.0 + commit < 12.0, "{first:?}");
    // Both cut-off nodes are back in the cluster, synced.
    for m in [&members[0], cut] {
        let one = url
            .split('@')
            .next()
            .map(|creds| {
                let addr = &hosts[members.iter().position(|x| x == m).unwrap()].1;
                format!("{creds}@{addr}:3306/dbarena")
            })
            .unwrap();
        assert_eq!(galera_whole(&one, 3), ("3".into(), "Synced".into()), "{m}");
    }
    let o = dbarena(&["instance", "down", &name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_gone(&hosts);
}

/// Issue 18's "partition the primary": a PostgreSQL primary and an asynchronous standby,
/// each a host of its own streaming over its link; the primary is cut off mid-run, the
/// standby promoted, clients follow to it while the former primary is still cut off, and
/// the former primary (fenced, then healed) comes back as the new one's standby. Lost
/// acknowledged writes are counted and checked against the table.
#[test]
fn postgres_primary_partitioned_in_namespaces_fails_over_to_the_standby() {
    if !can_make_hosts() || !have("pg_basebackup") {
        return;
    }
    let home = Scratch::new("cl-pgnet");
    let name = format!("pnp{}", std::process::id());
    let members: Vec<String> = [name.clone(), format!("{name}-r1")].into();
    let _down = NetDown {
        home: home.path(),
        members: members.clone(),
    };
    let url = up(&home, &name, &["postgres", "--replicas", "1", "--netns"]);
    let hosts = member_hosts(&home, &members);
    assert!(
        url.contains(&format!("@{}:5432,{}:5432/", hosts[0].1, hosts[1].1))
            && url.contains("target_session_attrs=read-write"),
        "{url}"
    );
    let roles = crate::members(&home);
    assert!(
        roles.contains(&(name.clone(), "running".into(), "primary".into()))
            && roles.contains(&(members[1].clone(), "running".into(), "standby".into())),
        "{roles:?}"
    );
    // The standby streams over its link, from its own address.
    let mut from = Vec::new();
    for _ in 0..100 {
        from = query(
            &url,
            "SELECT host(client_addr) FROM pg_stat_replication WHERE state = 'streaming'",
        );
        if !from.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(from, [[Some(hosts[1].1.clone())]]);

    // The primary is cut off from 2 s to 14 s; the standby is promoted at 3 s. A query
    // stalled on the cut-off primary is given up after 5 s, then clients reconnect through
    // the URL and pass over the silent host.
    let (o, rows) = chaos_rows(
        &home,
        &name,
        "[[scenarios]]\nname = \"primary-cut\"\n[[scenarios.faults]]\ntype = \"failover\"\nhow = \"partition\"\nstart = \"2s\"\nduration = \"12s\"\npromote_after = \"1s\"\n",
        "pattern = \"writers-readers\"\nnum_writers = 4\nwriter_rate = 40\nnum_readers = 0\nverify = true\ntimeout = \"5s\"\n",
        "20s",
    );
    assert_links_clean(&hosts);
    // Losing acknowledged writes here is a finding, not a failure.
    assert!(o.status.success(), "{}", stderr(&o));
    let row = &rows["primary-cut"];
    report("postgres primary partitioned", row);
    assert!(row["fault_errors"].is_empty(), "{row:?}");
    assert!(
        row["failovers"].starts_with(&format!("partitioned {name} at"))
            && row["failovers"].contains(&format!("promoted {}", members[1]))
            && row["failovers"].contains(&format!("{name} was back at")),
        "{row:?}"
    );
    let commit: f64 = row["first_commit_s"]
        .parse()
        .unwrap_or_else(|_| panic!("no commit after the partition: {row:?}"));
    assert!(2.0 + commit < 14.0, "{row:?}");
    // Clients followed to the new primary while the former one was still cut off.
    let r = read_json(&home.file("net-out").join("primary-cut.json"));
    let during = commits_between(&r, 3.5, 14.0);
    println!(
        "clients committed {during} times on the new primary while the former one was cut off"
    );
    assert!(during > 0, "{row:?}");
    // Lost acknowledged writes, as for a kill: counted, and checked against the table.
    let lost = lost_writes_reported(&r, row);
    let keys: std::collections::HashSet<String> = query(&url, "SELECT k FROM dbarena_kv")
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    for k in &lost {
        assert!(
            !keys.contains(k),
            "{k} is reported lost but is in the table"
        );
    }
    println!(
        "primary partitioned: {} acknowledged writes lost of {}",
        lost.len(),
        r["operations"]["write"]["committed"]
    );
    // The former primary is back as the new one's standby, streaming over its link.
    let roles = crate::members(&home);
    assert!(
        roles.contains(&(name.clone(), "running".into(), "standby".into()))
            && roles.contains(&(members[1].clone(), "running".into(), "primary".into())),
        "{roles:?}"
    );
    let o = dbarena(&["instance", "down", &name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_gone(&hosts);
}

/// A cluster in namespaces without iproute2 (or root) is refused in one line with the fix,
/// before anything is made.
#[test]
fn a_cluster_in_namespaces_without_its_tools_is_refused_in_one_line() {
    let home = Scratch::new("cl-noip");
    for args in [
        ["postgres", "--replicas", "1"],
        ["mariadb", "--galera", "3"],
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
            .args(["instance", "up"])
            .args(args)
            .args(["--netns", "--name", "noip"])
            .env("DBARENA_HOME", home.path())
            .env("DBARENA_IP", "/nonexistent/ip")
            .output()
            .unwrap();
        let err = stderr(&o);
        // (Without galera-4 the MariaDB case names that package instead.)
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("ip not found at /nonexistent/ip; install iproute2")
                || err.contains("need root")
                || err.contains("galera-4"),
            "{err}"
        );
        assert!(!home.path().join("instances").join("noip").exists());
    }
}

/// The failover scenario shown in the README is a valid scenario file, `how` included.
#[test]
fn the_readme_failover_scenario_loads() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let from = readme.find("### Failover").expect("section");
    let start = readme[from..].find("```toml\n").expect("toml block") + from + 8;
    let end = readme[start..].find("```").unwrap() + start;
    let dir = Scratch::new("cl-readme");
    let path = dir.file("failover.toml");
    std::fs::write(&path, &readme[start..end]).unwrap();
    let scenarios = dbarena::chaos::scenario::load_scenarios(&path).unwrap();
    let f = &scenarios[0].faults[0];
    assert_eq!(f.kind, "failover");
    assert_eq!(f.how, Some(dbarena::chaos::failover::FailoverHow::Kill));
}
