//! Managed instances: start, use, kill and restart, pause, stop — private servers only.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// `instance list --json`.
fn list_json(home: &Path) -> Vec<serde_json::Value> {
    let o = dbarena(&["instance", "list", "--json"], home);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .expect("instance list --json prints JSON")
        .as_array()
        .expect("an array")
        .clone()
}

/// Takes an instance down when a test ends, passed or failed, so no server outlives its
/// test (declare it after the Scratch it lives in: it must drop first).
struct Down<'a>(&'a Path, String);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = dbarena(&["instance", "down", &self.1], self.0);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Kills the server mid-run and restarts it: the run reports the outage and recovers.
fn kill_and_restart(kind: &str, binary: &str) {
    if !have(binary) {
        return;
    }
    let home = Scratch::new(&format!("inst-{kind}"));
    let name = format!("t{kind}");
    let _down = Down(home.path(), name.clone());
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
    assert!(
        stderr(&k).contains(&format!("{name} is killed")),
        "{}",
        stderr(&k)
    );
    let list =
        String::from_utf8_lossy(&dbarena(&["instance", "list"], home.path()).stdout).into_owned();
    assert!(list.contains("stopped"), "{list}");
    std::thread::sleep(Duration::from_millis(1500));
    let s = dbarena(&["instance", "start", &name], home.path());
    assert!(s.status.success(), "{}", stderr(&s));
    assert!(
        stderr(&s).contains(&format!("{name} is running")),
        "{}",
        stderr(&s)
    );
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
    let _down = Down(home.path(), "p".into());
    let o = dbarena(&["instance", "up", "postgres", "--name", "p"], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = home.file("p.json");
    let mut run = Watched::start(
        &[
            "workload",
            "run",
            "--db",
            "instance:p",
            "--duration",
            "6s",
            "--tps",
            "100",
            "--progress-lines",
            "--out",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    // Paused once the run measures (its first progress line, 1 s in), not after a fixed
    // sleep that a loaded machine's slow start can outlast.
    run.wait_for("progress:", Duration::from_secs(60));
    assert!(dbarena(&["instance", "pause", "p"], home.path())
        .status
        .success());
    assert_eq!(list_json(home.path())[0]["state"], "paused");
    std::thread::sleep(Duration::from_secs(2));
    assert!(dbarena(&["instance", "resume", "p"], home.path())
        .status
        .success());
    assert_eq!(list_json(home.path())[0]["state"], "running");
    let o = run.finish(Duration::from_secs(60));
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
        let _down = Down(home.path(), name.clone());
        let o = as_user(&["instance", "up", kind, "--name", &name]);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let db = format!("instance:{name}");
        let list = String::from_utf8_lossy(&as_user(&["instance", "list"]).stdout).into_owned();
        assert!(list.contains(&name) && list.contains("running"), "{list}");
        // It serves a workload, and its server runs as that user, not as root.
        let out = home.file(&format!("{kind}.json"));
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db,
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
            .find(|l| {
                l.contains(&format!("{name}/server/data")) || l.contains(&format!("port={port}"))
            })
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

/// Names become folder names: anything but a short safe name is refused before a folder is
/// touched, and a folder dbarena did not create is never deleted.
#[test]
fn instance_names_are_checked_and_foreign_folders_left_alone() {
    let home = Scratch::new("inst-names");
    let registry = home.path().join("instances");
    let foreign = registry.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("precious"), "data").unwrap();
    for args in [
        &["instance", "up", "postgres", "--name", "x/.."][..],
        &["instance", "down", "x/.."],
        &["instance", "down", ".."],
        &["instance", "kill", "../instances"],
        &["instance", "up", "mariadb", "--name", "Pg"],
        &["workload", "run", "--db", "instance:a/b"],
    ] {
        let o = dbarena(args, home.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("invalid instance name"), "{args:?}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    }
    for args in [
        &["instance", "down", "foreign"][..],
        &["instance", "up", "postgres", "--name", "foreign"],
    ] {
        let o = dbarena(args, home.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is not an instance dbarena created"),
            "{}",
            stderr(&o)
        );
    }
    assert!(
        foreign.join("precious").exists(),
        "a foreign folder was touched"
    );
    assert!(list_json(home.path()).is_empty());
}

/// A port another program holds is refused at once, before anything is created.
#[test]
fn a_busy_port_is_refused() {
    let home = Scratch::new("inst-port");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let o = dbarena(
        &[
            "instance", "up", "postgres", "--name", "busy", "--port", &port,
        ],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is in use by another program"),
        "{}",
        stderr(&o)
    );
    assert!(!home.path().join("instances/busy").exists());
}

/// When initdb fails, the error is initdb's own error line, and nothing is left behind.
#[test]
fn initdb_failure_shows_its_error_line() {
    if !have("initdb") {
        return;
    }
    let home = Scratch::new("inst-initdb");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(["instance", "up", "postgres", "--name", "badlocale"])
        .current_dir(home.path())
        .env("DBARENA_HOME", home.path())
        .env("LC_ALL", "zz_ZZ.UTF-8")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("initdb failed") && e.contains("invalid locale settings"),
        "{e}"
    );
    assert!(!e.contains("checksums"), "{e}");
    assert!(!home.path().join("instances/badlocale").exists());
}

/// When mariadb-install-db fails, the error is the line that says so, not its last line
/// (a bug-report link); its bootstrap is made to fail through its MYSQLD_BOOTSTRAP variable.
#[test]
fn mariadb_install_failure_shows_its_error_line() {
    if !have("mariadb-install-db") {
        return;
    }
    let home = Scratch::new("inst-install");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(["instance", "up", "mariadb", "--name", "nobootstrap"])
        .current_dir(home.path())
        .env("DBARENA_HOME", home.path())
        .env("MYSQLD_BOOTSTRAP", "/bin/false")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("mariadb-install-db failed")
            && e.contains("Installation of system tables failed"),
        "{e}"
    );
    assert!(!e.contains("jira"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    assert!(!home.path().join("instances/nobootstrap").exists());
}

/// As root with the default home (`~/.dbarena` under a folder only root can enter, as
/// `/root` is), the servers' own folders go where their users can reach them, and
/// everything works and is removed again.
#[test]
fn instances_work_as_root_with_a_private_default_home() {
    if !is_root() || !have("initdb") || !have("mariadb-install-db") {
        return;
    }
    let scratch = Scratch::new("inst-roothome");
    let home = scratch.path().join("root-home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
            .args(args)
            .current_dir(scratch.path())
            .env_remove("DBARENA_HOME")
            .env_remove("DBARENA_DB")
            .env("HOME", &home)
            .output()
            .unwrap()
    };
    for kind in ["postgres", "mariadb"] {
        let name = format!("rh{kind}{}", std::process::id());
        struct RootDown<'a>(&'a dyn Fn(&[&str]) -> std::process::Output, String);
        impl Drop for RootDown<'_> {
            fn drop(&mut self) {
                let _ = (self.0)(&["instance", "down", &self.1]);
            }
        }
        let _down = RootDown(&run, name.clone());
        let o = run(&["instance", "up", kind, "--name", &name]);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                home.join(".dbarena/instances")
                    .join(&name)
                    .join("meta.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let server_dir = std::path::PathBuf::from(meta["server_dir"].as_str().unwrap());
        assert!(!server_dir.starts_with(&home), "{}", server_dir.display());
        let out = scratch.file(&format!("{kind}.json"));
        let o = run(&[
            "workload",
            "run",
            "--db",
            &format!("instance:{name}"),
            "--transactions",
            "30",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        ok_result(&o, &out);
        let o = run(&["instance", "down", &name]);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        assert!(!server_dir.exists(), "{} left behind", server_dir.display());
        assert!(!home.join(".dbarena/instances").join(&name).exists());
    }
}

/// Private instances authenticate by a generated password that is never shown, keep their
/// sockets in a 0700 folder, are durable unless created with --fast, and hold the
/// workload's tables in a `dbarena` database.
fn secrets_sockets_durability(kind: &str, binary: &str) {
    if !have(binary) {
        return;
    }
    let home = Scratch::new(&format!("inst-sec-{kind}"));
    let name = format!("s{kind}");
    let _down = Down(home.path(), name.clone());
    let up = dbarena(&["instance", "up", kind, "--name", &name], home.path());
    assert!(up.status.success(), "{}", stderr(&up));
    let dir = home.path().join("instances").join(&name);
    let pw_file = dir.join("password");
    assert_eq!(mode(&pw_file), 0o600);
    let pw = std::fs::read_to_string(&pw_file).unwrap();
    assert!(pw.trim().len() >= 20, "a real password");
    let url = String::from_utf8_lossy(&up.stdout).trim().to_string();
    assert!(
        url.contains(":***@127.0.0.1:") && url.ends_with("/dbarena"),
        "{url}"
    );
    let run_dir = dir.join("server/run");
    assert_eq!(mode(&run_dir), 0o700);
    assert!(
        std::fs::read_dir(&run_dir)
            .unwrap()
            .any(|e| std::os::unix::fs::FileTypeExt::is_socket(&e.unwrap().file_type().unwrap())),
        "the sockets are in {}",
        run_dir.display()
    );
    let list = dbarena(&["instance", "list"], home.path());
    let json = list_json(home.path());
    assert_eq!(json[0]["durable"], true);
    assert_eq!(json[0]["state"], "running");
    assert_eq!(json[0]["kind"], kind);
    // Without the password the server refuses (exit 3: cannot connect).
    let bare = url.replace(":***@", "@");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &bare,
            "--transactions",
            "5",
            "-q",
        ],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let out = home.file("r.json");
    let db = format!("instance:{name}");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db,
            "--transactions",
            "50",
            "--out",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    ok_result(&o, &out);
    let result = std::fs::read_to_string(&out).unwrap();
    for (what, text) in [
        (
            "instance up stdout",
            String::from_utf8_lossy(&up.stdout).into_owned(),
        ),
        ("instance up stderr", stderr(&up)),
        (
            "instance list",
            String::from_utf8_lossy(&list.stdout).into_owned(),
        ),
        (
            "instance list --json",
            serde_json::to_string(&json).unwrap(),
        ),
        (
            "workload run stdout",
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ),
        ("workload run stderr", stderr(&o)),
        ("the result file", result.clone()),
    ] {
        assert!(!text.contains(pw.trim()), "the password is in {what}");
    }
    let r: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(r["target"]["durable"], true);
    assert!(r["target"]["url"].as_str().unwrap().ends_with("/dbarena"));
    // The tables are in the dbarena database, not in the system one.
    let secret = format!(
        "{}://{}:{}@127.0.0.1:{}/dbarena",
        if kind == "postgres" {
            "postgres"
        } else {
            "mysql"
        },
        if kind == "postgres" {
            "postgres"
        } else {
            "root"
        },
        pw.trim(),
        json[0]["port"]
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tables, durable_setting) = rt.block_on(async {
        let u = dbarena::db::DbUrl::parse(&secret).unwrap();
        let mut c = dbarena::db::Connection::connect(&u).await.unwrap();
        let (tables, setting) = if kind == "postgres" {
            (
                "SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'dbarena' AND table_name = 'orders'",
                "SHOW fsync",
            )
        } else {
            (
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dbarena' AND table_name = 'orders'",
                "SELECT @@innodb_flush_log_at_trx_commit",
            )
        };
        (
            c.query_text(tables).await.unwrap(),
            c.query_text(setting).await.unwrap(),
        )
    });
    assert_eq!(tables[0][0].as_deref(), Some("1"), "orders is in dbarena");
    let durable = if kind == "postgres" { "on" } else { "1" };
    assert_eq!(durable_setting[0][0].as_deref(), Some(durable));
    assert!(dbarena(&["instance", "down", &name], home.path())
        .status
        .success());

    // --fast: shown in the list and in the result.
    let fast = format!("f{kind}");
    let _down_fast = Down(home.path(), fast.clone());
    let o = dbarena(
        &["instance", "up", kind, "--name", &fast, "--fast"],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let list =
        String::from_utf8_lossy(&dbarena(&["instance", "list"], home.path()).stdout).into_owned();
    assert!(list.contains(&fast) && list.contains("fast"), "{list}");
    assert_eq!(list_json(home.path())[0]["durable"], false);
    let out = home.file("fast.json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &format!("instance:{fast}"),
            "--transactions",
            "20",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    let r = ok_result(&o, &out);
    assert_eq!(r["target"]["durable"], false);
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("not durable")),
        "{}",
        r["notes"]
    );
    assert!(dbarena(&["instance", "down", &fast], home.path())
        .status
        .success());
}

#[test]
fn postgres_instance_secrets_sockets_durability() {
    secrets_sockets_durability("postgres", "initdb");
}

#[test]
fn mariadb_instance_secrets_sockets_durability() {
    secrets_sockets_durability("mariadb", "mariadb-install-db");
}

/// `instance down` refuses while the server cannot be stopped, and says how to stop it;
/// the data stays.
#[test]
fn down_never_deletes_a_folder_whose_server_runs() {
    if !have("initdb") {
        return;
    }
    let home = Scratch::new("inst-down");
    let _down = Down(home.path(), "keep".into());
    let o = dbarena(
        &["instance", "up", "postgres", "--name", "keep"],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = home.path().join("instances/keep");
    // Someone removed the marker: dbarena no longer knows the folder is its own.
    std::fs::rename(dir.join(".dbarena-instance"), home.file("marker")).unwrap();
    let o = dbarena(&["instance", "down", "keep"], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(dir.join("server/data").exists());
    std::fs::rename(home.file("marker"), dir.join(".dbarena-instance")).unwrap();
    assert_eq!(list_json(home.path())[0]["state"], "running");
    let o = dbarena(&["instance", "down", "keep"], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.exists());
}

/// A user who cannot see or stop the server (here: nobody, for root's instance) cannot
/// remove its data either: `down` refuses and says whose it is, and the data stays.
#[test]
fn down_refuses_another_users_instance() {
    if !is_root() || !have("initdb") {
        return;
    }
    let home = Scratch::new("inst-running");
    let _down = Down(home.path(), "busy".into());
    let o = dbarena(
        &["instance", "up", "postgres", "--name", "busy"],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let binary = home.file("dbarena");
    std::fs::copy(env!("CARGO_BIN_EXE_dbarena"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .args(["instance", "down", "busy"])
        .current_dir("/")
        .env("DBARENA_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("belongs to another user") && e.contains("as the user that created it"),
        "{e}"
    );
    assert!(home.path().join("instances/busy/server/data").exists());
    assert_eq!(list_json(home.path())[0]["state"], "running");
}
