//! Every `dbarena …` command shown in a README code block runs, so the README cannot drift.
//!
//! The commands run in README order in one scratch folder (later commands use what earlier
//! ones wrote, as a reader would); each `## ` section gets fresh PostgreSQL and MariaDB
//! databases and a fresh default SQLite file (as a reader trying one section would have; the
//! seed section's commands are alternatives, so each of them gets its own), after the substitutions below:
//! placeholders become this test's own databases, and long durations and sizes become short
//! ones. The sweep TOML shown in the README is the `sweep.toml` its commands use. Commands that need
//! something this test cannot provide are listed in `NOT_RUN` with the reason. A README line
//! that matches neither a substitution nor `NOT_RUN` runs as written.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

/// Plain text replacements, applied in this order to every command. `{pg}` and `{my}` are
/// this test's PostgreSQL and MariaDB databases.
const SUBSTITUTIONS: &[(&str, &str)] = &[
    // Placeholders and the servers the README names: this test's own databases.
    ("postgres://postgres@127.0.0.1:5432/test", "{pg}"),
    ("mysql://root@127.0.0.1:3306/test", "{my}"),
    ("postgres://…", "{pg}"),
    ("mysql://…", "{my}"),
    // Long runs and big data made short; what they exercise stays the same.
    ("--duration 60s", "--duration 1s"),
    ("--duration 30s", "--duration 1s"),
    ("-d 60s", "-d 1s"),
    ("-d 30s", "-d 1s"),
    ("--warmup 5s", "--warmup 200ms"),
    ("--transactions 10000", "--transactions 300"),
    ("--size large", "--size small"),
    ("--scale 10", "--scale 1"),
    ("--scale 1,2,4,8,16,24", "--scale 1,2"),
    ("--trials 3", "--trials 2"),
    ("users=100000,orders=500000", "users=2000,orders=3000"),
    ("count = 100000", "count = 2000"),
    // The examples' long runs (copied into the scratch folder with these substitutions too).
    ("duration = \"10s\"", "duration = \"500ms\""),
    ("duration = \"20s\"", "duration = \"500ms\""),
];

/// README commands not run here, with the reason.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "dbarena instance",
        "private servers (initdb / mariadb-install-db, seconds each, and root-only paths when run as root): tests/instances.rs runs these commands",
    ),
    (
        "--db instance:",
        "needs a private server from `dbarena instance up`: tests/instances.rs and tests/chaos.rs run these",
    ),
];

/// Exit codes other than 0 that a command may end with, and why.
const ALSO_OK: &[(&str, &[i32], &str)] = &[
    (
        "--fail-if-slower",
        &[7],
        "exits 7 when the second run happens to be significantly slower",
    ),
    (
        "--isolation repeatable-read --expect repeatable-read",
        &[1],
        "MariaDB's repeatable read allows lost updates, so the check can fail (exit 1)",
    ),
];

/// The first `toml` code block after the heading `heading`.
fn toml_block_after(heading: &str) -> String {
    let readme = readme();
    let from = readme.find(heading).expect("heading");
    let start = readme[from..].find("```toml\n").expect("toml block") + from + 8;
    let end = readme[start..].find("```").expect("block end") + start;
    readme[start..end].to_string()
}

/// Sections whose commands are alternatives: each gets fresh databases.
const FRESH_PER_COMMAND: &[&str] = &["## `dbarena seed`"];

/// What the databases must hold before a command of `section` runs, and the files it reads.
fn setup(section: &str, pg: &TestDb, dir: &Path) {
    let _ = std::fs::remove_file(dir.join("dbarena.db"));
    if section.contains("`dbarena seed`") {
        // "your own tables", and the README's seed TOML: empty users and orders.
        pg.exec(
            "CREATE TABLE users (id INT PRIMARY KEY, email TEXT, name TEXT, created_at TIMESTAMP);
             CREATE TABLE orders (id SERIAL PRIMARY KEY, user_id INT REFERENCES users(id), total NUMERIC(10,2))",
        );
    }
    if section.contains("`dbarena sweep`") {
        std::fs::write(
            dir.join("sweep.toml"),
            substitute(&toml_block_after("## `dbarena sweep`"), pg),
        )
        .unwrap();
    }
}

/// The README's common start for agents, a fixed date: here a moment just ahead of the
/// first command that names it, the same for every agent of the example.
const START_AT: &str = "2026-12-02T10:00:00Z";

fn substitute(text: &str, pg: &TestDb) -> String {
    static SOON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut t = text.to_string();
    for (from, to) in SUBSTITUTIONS {
        t = t.replace(from, to);
    }
    if t.contains(START_AT) {
        let soon = SOON.get_or_init(|| {
            dbarena::util::time::rfc3339_us(dbarena::util::time::now_us() + 3_000_000)
        });
        t = t.replace(START_AT, soon);
    }
    t.replace("{pg}", &pg.url)
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// Files the commands read that the README does not create, written before the commands run.
fn fixtures(dir: &Path, pg: &TestDb) {
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            dir.join("examples").join(p.file_name().unwrap()),
            substitute(&text, pg),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("seed.toml"),
        substitute(&toml_block_after("## `dbarena seed`"), pg),
    )
    .unwrap();
    std::fs::write(
        dir.join("workload.toml"),
        "pattern = \"oltp\"\nduration = \"1s\"\n",
    )
    .unwrap();
    // A plain workload TOML: the base of a --scale curve.
    std::fs::write(
        dir.join("base.toml"),
        "pattern = \"read_heavy\"\nduration = \"500ms\"\n",
    )
    .unwrap();
    // Result files for report and compare.
    for name in ["before", "after", "a1", "a2", "a3", "b1", "b2", "b3"] {
        let out = dir.join(format!("{name}.json"));
        let o = run(
            &format!(
                "dbarena workload run --db sqlite://fixture.db --pattern read_heavy -d 3s -q --out {}",
                out.display()
            ),
            dir,
        );
        assert!(o.status.success(), "fixture {name}: {}", stderr(&o));
    }
    // An elle-cli rw-register history that holds under strict serializability.
    std::fs::write(
        dir.join("elle-history.json"),
        r#"[{"type":":invoke","f":":txn","value":[[":w",1,1]],"process":0,"time":0,"index":0},
 {"type":":ok","f":":txn","value":[[":w",1,1]],"process":0,"time":1,"index":1},
 {"type":":invoke","f":":txn","value":[[":r",1,null],[":w",2,1]],"process":1,"time":2,"index":2},
 {"type":":ok","f":":txn","value":[[":r",1,1],[":w",2,1]],"process":1,"time":3,"index":3},
 {"type":":invoke","f":":txn","value":[[":r",2,null]],"process":0,"time":4,"index":4},
 {"type":":ok","f":":txn","value":[[":r",2,1]],"process":0,"time":5,"index":5}]
"#,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("dbarena-results")).unwrap();
    std::fs::copy(
        dir.join("before.json"),
        dir.join("dbarena-results/20261123-101500-oltp-postgres.json"),
    )
    .unwrap();
    let pg = &pg.url;
    let o = run(
        &format!("dbarena verify --db {pg} --isolation serializable -d 1s --history dbarena-results/20261123-101500-verify-postgres.jsonl"),
        dir,
    );
    assert!(o.status.success(), "fixture history: {}", stderr(&o));
}

/// The `dbarena` commands of the README's `sh` code blocks, comments removed, `&&`/`;` chains
/// split.
fn readme_commands() -> Vec<(String, String)> {
    let text = readme();
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut section = String::new();
    for line in text.lines() {
        let t = line.trim();
        if line.starts_with("## ") {
            section = line.to_string();
        }
        if let Some(lang) = t.strip_prefix("```") {
            in_sh = !in_sh && (lang == "sh" || lang == "bash" || lang == "console");
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match t.find(" #") {
            Some(i) => &t[..i],
            None => t,
        };
        for part in code.split("&&").flat_map(|p| p.split(" ; ")) {
            let part = part.trim();
            if part.starts_with("dbarena ") || part == "dbarena" {
                out.push((section.clone(), part.to_string()));
            }
        }
    }
    out
}

/// Runs one shell-free command line: words split on spaces, `> FILE` captures stdout.
fn run(line: &str, dir: &Path) -> Output {
    let (cmd, redirect) = match line.split_once(" > ") {
        Some((c, f)) => (c, Some(f.trim())),
        None => (line, None),
    };
    let words: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let o = Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(&words)
        .current_dir(dir)
        .env("DBARENA_HOME", dir)
        .env_remove("DBARENA_DB")
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run dbarena");
    if let Some(f) = redirect {
        std::fs::write(dir.join(f), &o.stdout).unwrap();
    }
    o
}

#[test]
fn every_readme_command_runs() {
    let (Some(mut pg), Some(mut my)) = (
        TestDb::new(Db::Postgres, "readme"),
        TestDb::new(Db::Mysql, "readme"),
    ) else {
        return;
    };
    let dir = Scratch::new("readme");
    fixtures(dir.path(), &pg);
    let commands = readme_commands();
    assert!(commands.len() > 30, "{commands:?}");
    let mut failures = Vec::new();
    let mut current = String::new();
    for (section, original) in &commands {
        let fresh = FRESH_PER_COMMAND.contains(&section.as_str());
        if *section != current || fresh {
            current = section.clone();
            match (
                TestDb::new(Db::Postgres, "readme"),
                TestDb::new(Db::Mysql, "readme"),
            ) {
                (Some(p), Some(m)) => (pg, my) = (p, m),
                _ => return,
            }
            setup(section, &pg, dir.path());
        }
        if let Some((_, why)) = NOT_RUN.iter().find(|(k, _)| original.contains(k)) {
            println!("not run: {original}\n  because: {why}");
            continue;
        }
        let line = substitute(original, &pg).replace("{my}", &my.url);
        println!("run: {line}");
        let o = run(&line, dir.path());
        let code = o.status.code().unwrap_or(-1);
        let allowed = ALSO_OK
            .iter()
            .filter(|(k, _, _)| original.contains(k))
            .any(|(_, codes, _)| codes.contains(&code));
        if code != 0 && !allowed {
            failures.push(format!(
                "{original}\n  ran as: {line}\n  exit {code}: {}",
                stderr(&o).trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "README commands that fail:\n{}",
        failures.join("\n")
    );
}
