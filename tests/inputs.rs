//! Issue 14: secrets, empty and inconsistent inputs, zero counts, pgbench spellings.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

/// The binary with a clean environment plus `envs`.
fn run_env(args: &[&str], cwd: &Path, envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbarena"));
    c.args(args)
        .current_dir(cwd)
        .env("DBARENA_HOME", cwd)
        .env_remove("DBARENA_DB")
        .env_remove("DATABASE_URL")
        .env_remove("PGPASSWORD")
        .env_remove("MYSQL_PWD")
        .env_remove("DBARENA_PASSWORD_FILE");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("run dbarena")
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file under `dir` whose name or content contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.to_string_lossy().contains(needle) {
                hits.push(p.display().to_string());
            }
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if String::from_utf8_lossy(&bytes).contains(needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[test]
fn a_password_in_a_sweep_db_axis_never_reaches_files_or_output() {
    let Some(db) = TestDb::new(Db::Postgres, "leak") else {
        return;
    };
    let dir = Scratch::new("leak");
    // The test server trusts local connections, so any password works.
    let url = db.url.replacen("postgres@", "postgres:hunter2@", 1);
    assert!(url.contains("hunter2"), "{url}");
    std::fs::write(
        dir.file("sweep.toml"),
        format!("[base]\npattern = \"read_heavy\"\nduration = \"1s\"\n[axes]\ndb = [\"{url}\"]\n"),
    )
    .unwrap();
    let out = dir.file("out");
    let best = dir.file("best.toml");
    let o = run_env(
        &[
            "sweep",
            "-c",
            "sweep.toml",
            "-o",
            out.to_str().unwrap(),
            "--best-by",
            "tps",
            "--save-best",
            best.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("hunter2"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
    assert_eq!(files_containing(&out, "hunter2"), Vec::<String>::new());
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.contains("postgres://postgres:***@127.0.0.1"), "{csv}");
    // The saved best configuration must hold the password to be usable: it is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&best).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    assert!(std::fs::read_to_string(&best).unwrap().contains("hunter2"));
}

#[test]
fn an_invalid_url_never_echoes_its_password() {
    let dir = Scratch::new("badurl");
    for bad in [
        "postgres://u:hun/ter2@h:x/db",
        "postgres:/u:hunter2@h:5432/db",
        "mysql://u:hunter2@h:99999/db",
    ] {
        let o = run_env(
            &["workload", "run", "--db", bad, "-d", "1s"],
            dir.path(),
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("invalid database URL"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("ter2"), "{e}");
    }
}

/// A MariaDB user with a password, for the password-source tests; dropped on drop.
struct PwUser<'a> {
    db: &'a TestDb,
    user: String,
}

impl Drop for PwUser<'_> {
    fn drop(&mut self) {
        self.db
            .admin_exec(&format!("DROP USER IF EXISTS '{}'@'%'", self.user));
    }
}

fn mysql_user(db: &TestDb) -> PwUser<'_> {
    let user = format!("u{}", &db.name[db.name.len().saturating_sub(12)..]);
    db.admin_exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 's3cret-pw'"
    ));
    db.admin_exec(&format!("GRANT ALL ON {}.* TO '{user}'@'%'", db.name));
    PwUser { db, user }
}

#[test]
fn passwords_come_from_mysql_pwd_or_a_password_file() {
    let Some(db) = TestDb::new(Db::Mysql, "pwsrc") else {
        return;
    };
    let u = mysql_user(&db);
    let dir = Scratch::new("pwsrc");
    let url = db.url.replacen("root@", &format!("{}@", u.user), 1);
    let args = |out: &str| {
        vec![
            "workload".to_string(),
            "run".into(),
            "--db".into(),
            url.clone(),
            "--pattern".into(),
            "read_heavy".into(),
            "-d".into(),
            "500ms".into(),
            "-q".into(),
            "--out".into(),
            dir.file(out).display().to_string(),
        ]
    };
    // Without a password: refused by the server (exit 3).
    let a = args("none.json");
    let o = run_env(&argv(&a), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // MYSQL_PWD.
    let a = args("env.json");
    let o = run_env(&argv(&a), dir.path(), &[("MYSQL_PWD", "s3cret-pw")]);
    assert!(o.status.success(), "{}", stderr(&o));
    // --password-file and DBARENA_PASSWORD_FILE.
    let pw = dir.file("pw");
    std::fs::write(&pw, "s3cret-pw\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut a = args("file.json");
    a.insert(0, pw.display().to_string());
    a.insert(0, "--password-file".into());
    let o = run_env(&argv(&a), dir.path(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let a = args("envfile.json");
    let o = run_env(
        &argv(&a),
        dir.path(),
        &[("DBARENA_PASSWORD_FILE", pw.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // A missing password file is a usage error naming the flag.
    let mut a = args("missing.json");
    a.insert(0, "/nonexistent/pw".into());
    a.insert(0, "--password-file".into());
    let o = run_env(&argv(&a), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--password-file"), "{}", stderr(&o));
    for f in ["env.json", "file.json", "envfile.json"] {
        let text = std::fs::read_to_string(dir.file(f)).unwrap();
        assert!(!text.contains("s3cret"), "{f}");
    }
}

#[test]
fn pgpassword_is_used_for_postgres() {
    let Some(db) = TestDb::new(Db::Postgres, "pgpw") else {
        return;
    };
    let dir = Scratch::new("pgpw");
    let out = dir.file("r.json");
    let o = run_env(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "-d",
            "500ms",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        &[("PGPASSWORD", "whatever-pw")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!std::fs::read_to_string(&out)
        .unwrap()
        .contains("whatever-pw"));
}

/// Runs `args` in `dir` and asserts a one-line usage error (exit 2) containing every `needle`.
fn usage_error(dir: &Path, args: &[&str], needles: &[&str]) {
    let o = run_env(args, dir, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
    for n in needles {
        assert!(e.contains(n), "{args:?}: expected '{n}' in: {e}");
    }
}

#[test]
fn empty_inputs_are_usage_errors_that_say_what_was_empty() {
    let dir = Scratch::new("empty");
    let db = format!("sqlite://{}", dir.file("e.db").display());
    // An empty sweep axis.
    std::fs::write(
        dir.file("grid.toml"),
        "[base]\npattern = \"read_heavy\"\nduration = \"1s\"\n[axes]\nconnections = []\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["sweep", "-c", "grid.toml", "--db", &db],
        &["axis 'connections' is an empty list", "at least one value"],
    );
    // trials = 0 in the sweep file.
    std::fs::write(
        dir.file("t0.toml"),
        "trials = 0\n[base]\npattern = \"read_heavy\"\n[axes]\nconnections = [1]\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["sweep", "-c", "t0.toml", "--db", &db],
        &["trials = 0", "1 or more"],
    );
    // A workload with no operations: no writers and no readers.
    std::fs::write(
        dir.file("wr0.toml"),
        "pattern = \"writers-readers\"\nduration = \"1s\"\nnum_writers = 0\nnum_readers = 0\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["workload", "run", "--db", &db, "-c", "wr0.toml", "-q"],
        &["num_writers", "no operations"],
    );
    // A run whose schedule starts nothing.
    let out = dir.file("none.json");
    usage_error(
        dir.path(),
        &[
            "workload",
            "run",
            "--db",
            &db,
            "--tps",
            "0.001",
            "-d",
            "500ms",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        &["executed no transaction", "--duration"],
    );
}

#[test]
fn chaos_refuses_scenarios_that_would_all_be_skipped_or_faults_after_the_end() {
    let dir = Scratch::new("chaosempty");
    // Refused before the proxy starts or anything connects: the server is never reached.
    let db = "postgres://postgres@127.0.0.1:1/nothing";
    std::fs::write(
        dir.file("kill.toml"),
        "[[scenarios]]\nname = \"baseline\"\n[[scenarios]]\nname = \"k\"\n[[scenarios.faults]]\ntype = \"kill\"\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["chaos", "--db", db, "--scenarios", "kill.toml"],
        &["would be skipped", "instance:NAME"],
    );
    std::fs::write(
        dir.file("late.toml"),
        "[[scenarios]]\nname = \"late\"\n[[scenarios.faults]]\ntype = \"latency\"\nlatency_ms = 10\nstart = \"30s\"\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["chaos", "--db", db, "--scenarios", "late.toml", "-d", "5s"],
        &["scenario 'late'", "after the end", "--duration"],
    );
}

#[test]
fn zero_and_negative_counts_are_refused() {
    let dir = Scratch::new("zero");
    let db = "sqlite::memory:";
    let run = |flag: &str, v: &str| -> Vec<String> {
        ["workload", "run", "--db", db, "-d", "200ms", "-q", flag, v]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    for flag in [
        "--threads",
        "--connections",
        "--pipeline",
        "--transactions",
        "-n",
        "-j",
    ] {
        for v in ["0", "-1"] {
            let a = run(flag, v);
            usage_error(dir.path(), &argv(&a), &["at least 1"]);
        }
    }
    for (args, what) in [
        (vec!["sweep", "--trials", "0", "--scale", "1"], "--trials"),
        (
            vec!["sweep", "--parallel", "0", "--scale", "1"],
            "--parallel",
        ),
        (vec!["sweep", "--scale", "1,0"], "--scale"),
        (vec!["verify", "--db", db, "--keys", "0"], "--keys"),
        (vec!["verify", "--db", db, "--max-ops", "-3"], "--max-ops"),
        (vec!["verify", "--db", db, "-n", "0"], "--connections"),
        (
            vec!["seed", "--db", db, "--connections", "0"],
            "--connections",
        ),
        (
            vec!["seed", "--db", db, "--batch-size", "0"],
            "--batch-size",
        ),
        (
            vec!["seed", "--db", db, "--preset", "pgbench", "--scale", "0"],
            "--scale",
        ),
        (vec!["seed", "--db", db, "--rows", "users=0"], "--rows"),
        (vec!["chaos", "--db", db, "-n", "0"], "--connections"),
        (
            vec!["compare", "a.json", "b.json", "--resamples", "0"],
            "--resamples",
        ),
    ] {
        usage_error(dir.path(), &args, &[what, "at least 1"]);
    }
    // On a sweep axis: refused before any configuration runs.
    std::fs::write(
        dir.file("a0.toml"),
        "[base]\npattern = \"read_heavy\"\n[axes]\nconnections = [2, 0]\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["sweep", "-c", "a0.toml", "--db", db, "-o", "a0"],
        &["configuration c0", "connections"],
    );
    assert!(!dir.file("a0").exists());
    // In a workload TOML too.
    std::fs::write(dir.file("t.toml"), "threads = 0\n").unwrap();
    usage_error(
        dir.path(),
        &["workload", "run", "--db", db, "-c", "t.toml", "-q"],
        &["threads", "at least 1"],
    );
}

#[test]
fn a_sweep_resumes_only_the_same_grid_and_settings_and_locks_its_folder() {
    let dir = Scratch::new("fp");
    let db = format!("sqlite://{}", dir.file("s.db").display());
    let grid =
        "[base]\npattern = \"read_heavy\"\nduration = \"500ms\"\n[axes]\nconnections = [1, 2]\n";
    std::fs::write(dir.file("g.toml"), grid).unwrap();
    let out = dir.file("out");
    let sweep = |cfg: &str, extra: &[&str]| {
        let mut a = vec!["sweep", "-c", cfg, "--db", &db, "-o", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        run_env(&a, dir.path(), &[])
    };
    let o = sweep("g.toml", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("sweep-fingerprint.toml").exists());
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    // The same sweep again resumes (nothing rerun).
    let o = sweep("g.toml", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("done before, not rerun"),
        "{}",
        stderr(&o)
    );
    // Other trials: refused with the difference, sweep.csv untouched.
    let o = sweep("g.toml", &["--trials", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("different sweep") && stderr(&o).contains("trials 2 (folder: 1)"),
        "{}",
        stderr(&o)
    );
    // A changed grid: refused, naming the configurations.
    std::fs::write(
        dir.file("g2.toml"),
        grid.replace("[1, 2]", "[1, 4]").replace("500ms", "1s"),
    )
    .unwrap();
    let o = sweep("g2.toml", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("configuration c4 is new")
            && e.contains("configuration c2 is gone")
            && e.contains("configuration c1 is now"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(out.join("sweep.csv")).unwrap(), csv);

    // Two sweeps never write one folder at once.
    let out2 = dir.file("out2");
    std::fs::write(
        dir.file("slow.toml"),
        "[base]\npattern = \"read_heavy\"\nduration = \"3s\"\n[axes]\nconnections = [1]\n",
    )
    .unwrap();
    let args = [
        "sweep",
        "-c",
        "slow.toml",
        "--db",
        &db,
        "-o",
        out2.to_str().unwrap(),
    ];
    let mut first = spawn_dbarena(&args, dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !out2.join("sweep-fingerprint.toml").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = run_env(&args, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another sweep is writing"),
        "{}",
        stderr(&o)
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn list_append_without_isolation_is_judged_against_the_databases_default_level() {
    for (kind, level) in [
        (Db::Sqlite, "serializable"),
        (Db::Postgres, "read-committed"),
        (Db::Mysql, "repeatable-read"),
    ] {
        let Some(db) = TestDb::new(kind, "defiso") else {
            continue;
        };
        let dir = Scratch::new("defiso");
        let out = dir.file("r.json");
        let o = run_env(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--pattern",
                "list-append",
                "-d",
                "1s",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
            &[],
        );
        let r = read_json(&out);
        assert_eq!(
            r["verification"]["model"],
            level,
            "{kind:?}: {}",
            stderr(&o)
        );
        // verify: the same, and it says so.
        let hist = dir.file("h.jsonl");
        let o = run_env(
            &[
                "verify",
                "--db",
                &db.url,
                "-d",
                "1s",
                "--history",
                hist.to_str().unwrap(),
            ],
            dir.path(),
            &[],
        );
        let e = stderr(&o);
        assert!(
            e.contains(&format!("judged against {level}")),
            "{kind:?}: {e}"
        );
    }
}

#[test]
fn chaos_takes_an_isolation_level() {
    let Some(db) = TestDb::new(Db::Postgres, "chaosiso") else {
        return;
    };
    let dir = Scratch::new("chaosiso");
    std::fs::write(
        dir.file("s.toml"),
        "[[scenarios]]\nname = \"baseline\"\n[[scenarios]]\nname = \"lat\"\n[[scenarios.faults]]\ntype = \"latency\"\nlatency_ms = 5\n",
    )
    .unwrap();
    let out = dir.file("out");
    let o = run_env(
        &[
            "chaos",
            "--db",
            &db.url,
            "--pattern",
            "list-append",
            "--isolation",
            "serializable",
            "--scenarios",
            "s.toml",
            "-d",
            "1s",
            "--tps",
            "50",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&out.join("lat.json"));
    assert_eq!(r["config"]["isolation"], "serializable", "{r}");
    assert_eq!(r["verification"]["model"], "serializable");
}

#[test]
fn pgbench_spellings_work_or_name_the_right_flag() {
    let dir = Scratch::new("pgb");
    let db = format!("sqlite://{}", dir.file("p.db").display());
    // -T seconds, -R rate, -P progress, -j threads, -t transactions, -M protocol.
    let out = dir.file("r.json");
    let o = run_env(
        &[
            "workload",
            "run",
            "--db",
            &db,
            "-T",
            "1",
            "-R",
            "50",
            "-P",
            "1",
            "-n",
            "2",
            "-j",
            "1",
            "-M",
            "simple",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    let r = ok_result(&o, &out);
    assert_eq!(
        r["config"]["duration_s"]
            .as_f64()
            .or(r["duration_s"].as_f64())
            .map(|d| d.round()),
        Some(1.0),
        "{r}"
    );
    assert!(
        stderr(&o).contains("tps"),
        "progress lines expected: {}",
        stderr(&o)
    );
    let out = dir.file("t.json");
    let o = run_env(
        &[
            "workload",
            "run",
            "--db",
            &db,
            "-t",
            "20",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    let r = ok_result(&o, &out);
    assert_eq!(r["totals"]["committed"].as_u64(), Some(20), "{r}");
    // Spellings that mean something else here name the flag to use.
    for (args, hint) in [
        (vec!["workload", "run", "-c", "16"], "--connections 16"),
        (
            vec!["workload", "run", "--clients", "16"],
            "did you mean --connections 16 (or -n 16)?",
        ),
        (
            vec!["workload", "run", "--jobs=2"],
            "did you mean --threads 2 (or -j 2)?",
        ),
        (
            vec!["workload", "run", "--time", "10"],
            "did you mean --duration 10s?",
        ),
        (
            vec!["workload", "run", "--rate", "10"],
            "did you mean --tps 10 (or -R 10)?",
        ),
        (
            vec!["workload", "run", "--progress", "1"],
            "did you mean --progress-lines",
        ),
        (
            vec!["workload", "run", "-S"],
            "did you mean --pattern select-only",
        ),
        (
            vec!["workload", "run", "-N"],
            "did you mean --pattern simple-update",
        ),
        (
            vec!["workload", "run", "--max-tries", "3"],
            "did you mean --max-retries 2 (retries after",
        ),
        // Other commands have no short spellings: the hint names the long flag only.
        (
            vec!["chaos", "--clients", "8"],
            "did you mean --connections 8?",
        ),
        // Without a value the hint shows the flag's form.
        (
            vec!["workload", "run", "--time"],
            "did you mean --duration 60s (or -T SECONDS)?",
        ),
        (vec!["workload", "run", "-T", "0"], "at least 1"),
    ] {
        usage_error(dir.path(), &args, &[hint]);
        if hint != "at least 1" {
            let o = run_env(&args, dir.path(), &[]);
            assert_eq!(
                stderr(&o).trim().lines().count(),
                1,
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
    // --pattern --help lists every workload, grouped.
    let o = run_env(&["workload", "run", "--pattern", "--help"], dir.path(), &[]);
    assert!(o.status.success());
    let help = stdout(&o);
    for group in [
        "built-in patterns",
        "pgbench scripts",
        "YCSB workloads",
        "checked patterns",
    ] {
        assert!(help.contains(group), "{help}");
    }
    let names = [
        "oltp",
        "ecommerce",
        "olap",
        "reporting",
        "time_series",
        "social_media",
        "iot",
        "read_heavy",
        "write_heavy",
        "balanced",
        "tpcb-like",
        "simple-update",
        "select-only",
        "ycsb-a",
        "ycsb-b",
        "ycsb-c",
        "ycsb-d",
        "ycsb-e",
        "ycsb-f",
        "writers-readers",
        "list-append",
    ];
    for n in names {
        assert!(help.contains(n), "{n}: {help}");
    }
    let o = run_env(&["workload", "run", "--help"], dir.path(), &[]);
    for n in names {
        assert!(stdout(&o).contains(n), "{n}");
    }
}
