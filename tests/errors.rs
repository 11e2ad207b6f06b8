//! Every user-facing failure: one clear line naming cause and fix, and a documented exit code.

mod common;
use common::*;

fn run_err(args: &[&str]) -> (i32, String) {
    let dir = Scratch::new("errors");
    let mut full = vec!["workload", "run", "--quiet"];
    full.extend_from_slice(args);
    let o = dbarena(&full, dir.path());
    let err = stderr(&o);
    (o.status.code().unwrap_or(-1), err)
}

fn one_error_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    lines[0]
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let dir = Scratch::new("toml");
    let cfg = dir.file("w.toml");
    std::fs::write(&cfg, "pattern = \"oltp\"\nconnections = [1,\n").unwrap();
    let o = dbarena(
        &["workload", "run", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    // One line, though the TOML parser's own message spans two.
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let line = one_error_line(&err);
    assert!(
        line.contains("w.toml:") && line.contains("not valid TOML"),
        "{line}"
    );
    // line 2 or 3 depending on where the parser notices; always with a column
    assert!(line.contains(":2:") || line.contains(":3:"), "{line}");
}

#[test]
fn unknown_setting_in_toml_is_named() {
    let dir = Scratch::new("toml2");
    let cfg = dir.file("w.toml");
    std::fs::write(&cfg, "pattern = \"oltp\"\nconections = 4\n").unwrap();
    let o = dbarena(
        &["workload", "run", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("w.toml:2:1") && e.contains("conections"), "{e}");
}

#[test]
fn unknown_pattern_lists_the_valid_ones() {
    let (code, err) = run_err(&["--db", "sqlite::memory:", "--pattern", "oltpp"]);
    assert_eq!(code, 2);
    let line = one_error_line(&err);
    assert!(
        line.contains("'oltpp'") && line.contains("time_series") && line.contains("write_heavy"),
        "{line}"
    );
}

#[test]
fn weights_that_do_not_sum_are_rejected() {
    let dir = Scratch::new("weights");
    let cfg = dir.file("w.toml");
    std::fs::write(
        &cfg,
        "db = \"sqlite::memory:\"\n[custom_operations]\nselect = 50\ninsert = 30\nupdate = 10\ndelete = 5\n",
    )
    .unwrap();
    let o = dbarena(
        &["workload", "run", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(one_error_line(&e).contains("sum to 95"), "{e}");
    std::fs::write(
        &cfg,
        "db = \"sqlite::memory:\"\n[[custom_queries]]\nname = \"a\"\nsql = \"SELECT 1\"\nweight = 0.7\n[[custom_queries]]\nname = \"b\"\nsql = \"SELECT 2\"\nweight = 0.2\n",
    )
    .unwrap();
    let o = dbarena(
        &["workload", "run", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sum to 0.9"), "{}", stderr(&o));
}

#[test]
fn bad_url_is_a_usage_error() {
    let (code, err) = run_err(&["--db", "oracle://scott:tiger@db/x"]);
    assert_eq!(code, 2);
    let line = one_error_line(&err);
    assert!(
        line.contains("sqlite://") && line.contains("postgres://"),
        "{line}"
    );
    assert!(!err.contains("tiger"), "password leaked: {err}");
}

#[test]
fn bad_flag_values_are_usage_errors() {
    for (args, says) in [
        (
            &["--db", "sqlite::memory:", "--duration", "ten"][..],
            "invalid duration 'ten': expected",
        ),
        (
            &["--db", "sqlite::memory:", "--duration", "1x"][..],
            "invalid duration '1x': unknown unit 'x'",
        ),
        (
            &["--db", "sqlite::memory:", "--tps", "-5"][..],
            "invalid tps '-5': must be a positive number",
        ),
        (
            &["--db", "sqlite::memory:", "--isolation", "snapshot"][..],
            "snapshot",
        ),
        (
            &["--db", "sqlite::memory:", "--connections", "0"][..],
            "connections",
        ),
    ] {
        let (code, err) = run_err(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        let line = one_error_line(&err);
        assert!(line.contains(says), "{args:?}: {line}");
        // The value is named once, not once per layer that passed the error on.
        assert!(line.matches("invalid").count() <= 1, "{line}");
    }
}

#[test]
fn a_json_file_that_is_not_a_result_is_named_as_such() {
    let dir = Scratch::new("notresult");
    let f = dir.file("other.json");
    std::fs::write(&f, r#"{"a": 1}"#).unwrap();
    let p = f.to_str().unwrap();
    for args in [&["report", p][..], &["compare", p, p][..]] {
        let o = dbarena(args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        let line = one_error_line(&err);
        assert!(
            line.contains("is not a dbarena result file"),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn unreachable_server_exits_3() {
    for url in [
        "postgres://postgres@127.0.0.1:1/test",
        "mysql://root@127.0.0.1:1/test",
    ] {
        let (code, err) = run_err(&["--db", url]);
        assert_eq!(code, 3, "{url}: {err}");
        let line = one_error_line(&err);
        assert!(
            line.contains("cannot reach") && line.contains("127.0.0.1:1"),
            "{line}"
        );
    }
}

#[test]
fn wrong_password_exits_3_without_leaking_it() {
    // The shared PostgreSQL trusts every local user, so the password check runs on MariaDB.
    let Some(db) = TestDb::new(Db::Mysql, "pw") else {
        return;
    };
    let url = db.url.replacen("root@", "root:hunter2@", 1);
    let (code, err) = run_err(&["--db", &url]);
    assert_eq!(code, 3, "{err}");
    let line = one_error_line(&err);
    assert!(
        line.contains("authentication failed") && line.contains("password"),
        "{line}"
    );
    assert!(!err.contains("hunter2"), "password leaked: {err}");
    // A role that does not exist is the PostgreSQL flavour of the same mistake.
    if let Some(pg) = TestDb::new(Db::Postgres, "pw") {
        let url = pg.url.replacen("postgres@", "nobody_here:pw@", 1);
        let (code, err) = run_err(&["--db", &url]);
        assert_eq!(code, 3, "{err}");
        assert!(
            one_error_line(&err).contains("authentication failed"),
            "{err}"
        );
    }
}

#[test]
fn unknown_database_exits_3() {
    let Some(pg) = TestDb::new(Db::Postgres, "nodb") else {
        return;
    };
    let url = pg.url.replace(&pg.name, "no_such_db_dbarena");
    let (code, err) = run_err(&["--db", &url]);
    assert_eq!(code, 3, "{err}");
    assert!(
        one_error_line(&err).contains("CREATE DATABASE no_such_db_dbarena"),
        "{err}"
    );
}

#[test]
fn missing_table_is_named() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "missing") else {
            continue;
        };
        let (code, err) = run_err(&["--db", &db.url, "--tables", "no_such_table"]);
        assert_eq!(code, 4, "{kind:?}: {err}");
        assert!(
            one_error_line(&err).contains("'no_such_table' does not exist"),
            "{err}"
        );
    }
}

#[test]
fn pgbench_without_its_tables_says_how_to_load_them() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "nopgb") else {
            continue;
        };
        let (code, err) = run_err(&["--db", &db.url, "--pattern", "select-only", "-d", "1s"]);
        assert_eq!(code, 4, "{kind:?}: {err}");
        let line = one_error_line(&err);
        assert!(
            line.contains("pgbench tables are not in")
                && line.contains("pgbench_accounts")
                && line.contains("dbarena seed --preset pgbench"),
            "{err}"
        );
    }
}

#[test]
fn empty_table_where_reads_need_rows() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "empty") else {
            continue;
        };
        db.exec("CREATE TABLE things (id INTEGER PRIMARY KEY, label VARCHAR(20))");
        let (code, err) = run_err(&["--db", &db.url, "--tables", "things", "--duration", "1s"]);
        assert_eq!(code, 4, "{kind:?}: {err}");
        let line = one_error_line(&err);
        assert!(
            line.contains("'things' is empty") && line.contains("dbarena seed"),
            "{line}"
        );
    }
}

#[test]
fn sqlite_file_in_missing_directory() {
    let (code, err) = run_err(&["--db", "sqlite:///no/such/dir/x.db"]);
    assert_eq!(code, 3);
    assert!(one_error_line(&err).contains("directory exists"), "{err}");
}

#[test]
fn custom_query_with_undefined_parameter() {
    let dir = Scratch::new("param");
    let cfg = dir.file("w.toml");
    std::fs::write(
        &cfg,
        "db = \"sqlite::memory:\"\n[[custom_queries]]\nname = \"q\"\nsql = \"SELECT :x\"\nweight = 1\n",
    )
    .unwrap();
    let o = dbarena(
        &["workload", "run", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(one_error_line(&e).contains(":x"), "{e}");
}

#[test]
fn other_commands_refuse_bad_usage_with_exit_2() {
    let dir = Scratch::new("usage");
    let cases: [(&[&str], &str); 8] = [
        (
            &[
                "workload",
                "run",
                "--db",
                "sqlite::memory:",
                "--timeout",
                "0s",
            ],
            "timeout",
        ),
        (&["sweep", "--db", "sqlite::memory:"], "nothing to sweep"),
        (
            &["chaos", "--db", "sqlite::memory:", "-d", "1s"],
            "network database",
        ),
        (
            &[
                "chaos",
                "--db",
                "postgres://postgres@127.0.0.1:5432/test",
                "--scenarios",
                "typo.toml",
            ],
            "unknown fault type 'latncy'",
        ),
        (
            &[
                "chaos",
                "--db",
                "postgres://postgres@127.0.0.1:5432/test",
                "--scenarios",
                "when.toml",
            ],
            "invalid fault time 'soon'",
        ),
        (
            &["check", "h.jsonl", "--model", "linearizable"],
            "unknown model",
        ),
        (
            &["seed", "--db", "sqlite::memory:", "--rows", "users"],
            "table=N",
        ),
        (
            &[
                "verify",
                "--db",
                "sqlite::memory:",
                "--isolation",
                "snapshot",
            ],
            "--isolation",
        ),
    ];
    std::fs::write(dir.file("h.jsonl"), "").unwrap();
    std::fs::write(
        dir.file("typo.toml"),
        "[[scenarios]]\nname = \"a\"\n[[scenarios]]\nname = \"b\"\n[[scenarios.faults]]\ntype = \"latncy\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.file("when.toml"),
        "[[scenarios]]\nname = \"a\"\n[[scenarios]]\nname = \"b\"\n[[scenarios.faults]]\ntype = \"pause\"\nstart = \"soon\"\n",
    )
    .unwrap();
    for (args, needle) in cases {
        let o = dbarena(args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let line = stderr(&o);
        assert!(one_error_line(&line).contains(needle), "{args:?}: {line}");
    }
}
