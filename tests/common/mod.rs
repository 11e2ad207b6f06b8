//! Helpers for integration tests: real databases, the real binary, scratch directories.
#![allow(dead_code)]

use dbarena::db::{Connection, DbUrl};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "dbarena-test-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch dir");
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A file name in this folder that no earlier call gave: dbarena never overwrites a
    /// result or a history, so each run needs its own.
    /// A workload TOML whose one custom query, `SELECT :k`, needs no table: load without
    /// schema for engine-level tests (rates, segments).
    pub fn select_config(&self) -> PathBuf {
        let cfg = self.file("q.toml");
        std::fs::write(
            &cfg,
            "[[custom_queries]]\nname = \"one\"\nweight = 1\nsql = \"SELECT :k\"\n[custom_queries.params]\nk = { generator = \"random_int\", min = 1, max = 1000 }\n",
        )
        .unwrap();
        cfg
    }

    pub fn new_file(&self, stem: &str, ext: &str) -> PathBuf {
        self.0.join(format!(
            "{stem}{}.{ext}",
            SEQ.fetch_add(1, Ordering::SeqCst)
        ))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn require_servers() -> bool {
    std::env::var("DBARENA_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs a query on any database URL (an instance's, for example) and returns its rows as text.
pub fn query_url(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let url = DbUrl::parse(url).expect("url");
    rt().block_on(async {
        let mut c = Connection::connect(&url).await.expect("connect");
        c.query_text(sql).await.expect("query")
    })
}

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Db {
    Sqlite,
    Postgres,
    Mysql,
}

/// A database created for one test and dropped afterwards.
pub struct TestDb {
    pub kind: Db,
    pub url: String,
    pub name: String,
    admin: Option<String>,
    _scratch: Option<Scratch>,
}

impl TestDb {
    /// A fresh database of `kind`, or None (after printing SKIPPED) when its server is
    /// unreachable and DBARENA_REQUIRE_SERVERS is not 1.
    pub fn new(kind: Db, tag: &str) -> Option<TestDb> {
        let name = format!(
            "dbarena_t_{}_{}_{}",
            tag,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        match kind {
            Db::Sqlite => {
                let s = Scratch::new(tag);
                let url = format!("sqlite://{}", s.file("test.db").display());
                Some(TestDb {
                    kind,
                    url,
                    name,
                    admin: None,
                    _scratch: Some(s),
                })
            }
            Db::Postgres | Db::Mysql => {
                let (env, default) = if kind == Db::Postgres {
                    ("DBARENA_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
                } else {
                    ("DBARENA_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
                };
                let admin = std::env::var(env).unwrap_or_else(|_| default.to_string());
                let created = rt().block_on(async {
                    let url = DbUrl::parse(&admin).map_err(|e| e.to_string())?;
                    let mut c = Connection::connect(&url).await.map_err(|e| e.to_string())?;
                    c.execute(&format!("CREATE DATABASE {name}"))
                        .await
                        .map_err(|e| e.to_string())
                });
                if let Err(why) = created {
                    if require_servers() {
                        panic!("{kind:?} server required (DBARENA_REQUIRE_SERVERS=1) but unusable: {why}");
                    }
                    println!("SKIPPED: {kind:?} server unavailable at {admin}: {why}");
                    return None;
                }
                let base = admin.rsplit_once('/').map(|x| x.0).unwrap_or(&admin);
                Some(TestDb {
                    kind,
                    url: format!("{base}/{name}"),
                    name,
                    admin: Some(admin),
                    _scratch: None,
                })
            }
        }
    }

    /// Runs SQL statements against this database (test setup).
    pub fn exec(&self, sql: &str) {
        let url = DbUrl::parse(&self.url).expect("url");
        rt().block_on(async {
            let mut c = Connection::connect(&url).await.expect("connect");
            for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
                c.execute(stmt)
                    .await
                    .unwrap_or_else(|e| panic!("{stmt}: {e}"));
            }
        });
    }

    /// Runs a query and returns the rows as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = DbUrl::parse(&self.url).expect("url");
        rt().block_on(async {
            let mut c = Connection::connect(&url).await.expect("connect");
            c.query_text(sql).await.expect("query")
        })
    }

    /// Runs SQL on the admin database (to kill connections, for example).
    pub fn admin_exec(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let admin = self.admin.as_ref().expect("network database");
        let url = DbUrl::parse(admin).expect("url");
        rt().block_on(async {
            let mut c = Connection::connect(&url).await.expect("connect");
            c.query_text(sql).await.unwrap_or_default()
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin) = &self.admin else { return };
        let sql = match self.kind {
            Db::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        if let Ok(url) = DbUrl::parse(admin) {
            rt().block_on(async {
                if let Ok(mut c) = Connection::connect(&url).await {
                    let _ = c.execute(&sql).await;
                }
            });
        }
    }
}

/// The three databases, for tests that run on each.
pub const ALL: [Db; 3] = [Db::Sqlite, Db::Postgres, Db::Mysql];

/// The dbarena binary in `cwd` with a clean environment; `cwd` is also its DBARENA_HOME, so
/// managed instances stay inside the test's scratch folder.
fn command(args: &[&str], cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbarena"));
    c.args(args)
        .current_dir(cwd)
        .env("DBARENA_HOME", cwd)
        .env_remove("DBARENA_DB")
        .env_remove("DATABASE_URL");
    c
}

/// Runs the dbarena binary to completion.
pub fn dbarena(args: &[&str], cwd: &Path) -> Output {
    command(args, cwd).output().expect("run dbarena")
}

/// Starts the dbarena binary in the background (stdout discarded, stderr kept).
pub fn spawn_dbarena(args: &[&str], cwd: &Path) -> std::process::Child {
    command(args, cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start dbarena")
}

/// A dbarena started in the background whose stderr is read as it comes, so a test can act
/// once the run is measuring rather than after a fixed sleep that a loaded machine outlasts.
pub struct Watched {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    pub fn start(args: &[&str], cwd: &Path) -> Watched {
        let mut child = spawn_dbarena(args, cwd);
        let err = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Blocks until a stderr line starts with `prefix`; fails the test after `limit` or when
    /// dbarena ends first.
    pub fn wait_for(&mut self, prefix: &str, limit: std::time::Duration) {
        let until = std::time::Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.starts_with(prefix);
                    self.seen.push(l);
                    if hit {
                        return;
                    }
                }
                Err(e) => panic!(
                    "no stderr line starting with {prefix:?} ({e:?}); stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for dbarena to exit (failing the test after `limit`: a hang) and returns its
    /// exit status with all of its stderr.
    pub fn finish(mut self, limit: std::time::Duration) -> Output {
        let t = std::time::Instant::now();
        while self.child.try_wait().expect("polling dbarena").is_none() {
            if t.elapsed() > limit {
                let _ = self.child.kill();
                panic!("dbarena did not exit within {limit:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = self.child.wait().expect("dbarena's status");
        // The reader ends at EOF, once the process is gone.
        self.seen.extend(self.lines.iter());
        Output {
            status,
            stdout: Vec::new(),
            stderr: self.seen.join("\n").into_bytes(),
        }
    }
}

/// Whether a server binary is installed; prints SKIPPED (or, when servers are required,
/// fails) when it is not.
pub fn have(binary: &str) -> bool {
    let found = Command::new("sh")
        .args([
            "-c",
            &format!("command -v {binary} || ls /usr/lib/postgresql/*/bin/{binary}"),
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if require_servers() {
            panic!("{binary} is required (DBARENA_REQUIRE_SERVERS=1) but not installed");
        }
        println!("SKIPPED: {binary} not installed");
    }
    found
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns the parsed result file.
pub fn ok_result(o: &Output, path: &Path) -> Json {
    assert!(
        o.status.success(),
        "dbarena failed ({:?}):\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    read_json(path)
}

/// `dbarena workload run --db <url> <args> --quiet --out <a new file named after stem>`, which
/// must succeed; the result file's path.
pub fn workload_result(dir: &Scratch, url: &str, stem: &str, args: &[&str]) -> PathBuf {
    let out = dir.new_file(stem, "json");
    let mut all = vec!["workload", "run", "--db", url];
    all.extend_from_slice(args);
    all.extend(["--quiet", "--out", out.to_str().unwrap()]);
    ok_result(&dbarena(&all, dir.path()), &out);
    out
}

pub fn read_json(path: &Path) -> Json {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("result is JSON")
}

/// Error classes other than the retryable ones (serialization, deadlock, lock timeout).
pub fn unexpected_errors(r: &Json) -> Vec<String> {
    r["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| !e["retryable"].as_bool().unwrap_or(false))
                .map(|e| format!("{} x{}: {}", e["class"], e["count"], e["first_message"]))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `config` as `sweep.toml` in `dir` and runs `dbarena sweep` with it on `db` into
/// `dir/out`, plus `extra` flags; returns the output and the out folder.
pub fn sweep(dir: &Scratch, config: &str, db: &str, extra: &[&str]) -> (Output, PathBuf) {
    let cfg = dir.file("sweep.toml");
    std::fs::write(&cfg, config).expect("write sweep.toml");
    let out = dir.file("out");
    let mut args = vec![
        "sweep",
        "--config",
        cfg.to_str().expect("utf-8 path"),
        "--db",
        db,
        "-o",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend(extra);
    (dbarena(&args, dir.path()), out)
}

/// Opens `page` in headless Chromium (installed by `.ci/run`): asserts that it loads without a
/// single console message (the pages have no scripts, so any message is an error: a missing
/// resource, a parse error) and that every chart under an `<h2>` is an SVG that was drawn;
/// keeps a screenshot as `target/tmp/artifacts/<artifact>.png`. Returns false (SKIPPED)
/// without Chromium.
pub fn open_in_browser(page: &Path, artifact: &str) -> bool {
    if !have("chromium") {
        return false;
    }
    let profile = Scratch::new("chromium");
    let url = format!(
        "file://{}",
        page.canonicalize().expect("page exists").display()
    );
    let browser = |extra: &[&str]| {
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--enable-logging=stderr".into(),
            "--v=0".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(url.clone());
        Command::new("chromium")
            .args(&args)
            .output()
            .expect("run chromium")
    };
    let dom = browser(&["--dump-dom"]);
    assert!(dom.status.success(), "chromium: {}", stderr(&dom));
    let console: Vec<String> = stderr(&dom)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // Each chart: parsed as SVG (the DOM holds it) with something drawn in it.
    let charts = dom.matches("<svg").count();
    assert!(charts > 0, "no chart in the page");
    for svg in dom.split("<svg").skip(1) {
        let svg = &svg[..svg.find("</svg>").expect("a closed svg")];
        assert!(
            ["<polyline", "<rect", "<circle"]
                .iter()
                .any(|m| svg.matches(m).count() > 1),
            "a chart with nothing drawn: {}",
            &svg[..svg.len().min(300)]
        );
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    let shot = dir.join(format!("{artifact}.png"));
    let o = browser(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,3000",
    ]);
    assert!(o.status.success(), "chromium: {}", stderr(&o));
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
    true
}
