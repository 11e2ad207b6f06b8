//! Managed local database instances: private servers started from the binaries installed on
//! the machine, in their own data directories on free ports, for tests and chaos runs that
//! kill or pause a server (never the machine's shared services).

use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why an instance command failed.
#[derive(Debug, Error)]
pub enum InstanceError {
    #[error("{binary} not found; install {package} (it provides {binary})")]
    MissingBinary { binary: String, package: String },
    #[error("unknown instance kind '{0}'; use postgres or mariadb")]
    UnknownKind(String),
    #[error("no instance named '{0}'; `dbarena instance list` shows the instances")]
    NotFound(String),
    #[error("an instance named '{0}' already exists; pick another --name or `dbarena instance down {0}`")]
    Exists(String),
    #[error("{what} failed: {detail}")]
    Failed { what: String, detail: String },
}

fn failed(what: impl Into<String>, detail: impl Into<String>) -> InstanceError {
    InstanceError::Failed {
        what: what.into(),
        detail: detail.into(),
    }
}

/// What dbarena remembers about an instance (`meta.json` in its directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    pub kind: String,
    pub port: u16,
    pub dir: PathBuf,
    pub url: String,
}

/// Where instances live: `$DBARENA_HOME/instances`, else `~/.dbarena/instances`.
pub fn registry() -> PathBuf {
    let home = std::env::var_os("DBARENA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".dbarena")))
        .unwrap_or_else(|| PathBuf::from(".dbarena"));
    home.join("instances")
}

fn is_root() -> bool {
    // The effective uid, without libc: /proc/self/status "Uid: real effective ...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The name of the effective user (`id -un`), for tools that want one.
fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| std::env::var("USER").unwrap_or_default())
}

fn find(binary: &str, package: &str, dirs: &[&str]) -> Result<PathBuf, InstanceError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if d.contains('*') {
            let (base, _) = d.split_once('*').unwrap_or((d, ""));
            if let Ok(rd) = std::fs::read_dir(base) {
                let mut vers: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .collect();
                vers.sort();
                vers.reverse();
                candidates.extend(vers);
            }
        } else {
            candidates.push(PathBuf::from(d));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
        .ok_or_else(|| InstanceError::MissingBinary {
            binary: binary.into(),
            package: package.into(),
        })
}

fn free_port() -> Result<u16, InstanceError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| failed("finding a free port", e.to_string()))
}

/// Runs a command (as `user` when running as root) and fails with its output.
fn run(
    what: &str,
    user: Option<&str>,
    program: &Path,
    args: &[String],
) -> Result<(), InstanceError> {
    let mut cmd = match (user, is_root()) {
        (Some(u), true) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(program);
            c
        }
        _ => Command::new(program),
    };
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| failed(what, e.to_string()))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        return Err(failed(
            what,
            text.trim().lines().last().unwrap_or("").to_string(),
        ));
    }
    Ok(())
}

fn chown(path: &Path, user: &str) -> Result<(), InstanceError> {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", user])
            .arg(path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return Err(failed(
                "handing the data directory to the database user",
                path.display().to_string(),
            ));
        }
    }
    Ok(())
}

fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Instance {
    fn meta(dir: &Path) -> PathBuf {
        dir.join("meta.json")
    }

    /// Loads a registered instance.
    pub fn load(name: &str) -> Result<Instance, InstanceError> {
        let p = Self::meta(&registry().join(name));
        let text = std::fs::read_to_string(&p).map_err(|_| InstanceError::NotFound(name.into()))?;
        serde_json::from_str(&text)
            .map_err(|e| failed(format!("reading {}", p.display()), e.to_string()))
    }

    /// Every registered instance.
    pub fn list() -> Vec<Instance> {
        let mut v: Vec<Instance> = std::fs::read_dir(registry())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(Self::meta(&e.path())).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The log file of the server.
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The server's main process id, if it is running.
    pub fn pid(&self) -> Option<u32> {
        let file = match self.kind.as_str() {
            "postgres" => self.data().join("postmaster.pid"),
            _ => self.dir.join("mariadbd.pid"),
        };
        let pid: u32 = std::fs::read_to_string(file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// Creates and starts a new instance; `port` 0 picks a free one.
    pub fn up(kind: &str, name: Option<&str>, port: u16) -> Result<Instance, InstanceError> {
        let kind = match kind {
            "postgres" | "postgresql" | "pg" => "postgres",
            "mariadb" | "mysql" => "mariadb",
            other => return Err(InstanceError::UnknownKind(other.into())),
        };
        let port = if port == 0 { free_port()? } else { port };
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}-{port}"));
        let dir = registry().join(&name);
        if Self::meta(&dir).exists() {
            return Err(InstanceError::Exists(name));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| failed(format!("creating {}", dir.display()), e.to_string()))?;
        let url = match kind {
            "postgres" => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _ => format!("mysql://root@127.0.0.1:{port}/mysql"),
        };
        let inst = Instance {
            name,
            kind: kind.into(),
            port,
            dir: dir.clone(),
            url,
        };
        let init = match kind {
            "postgres" => inst.init_postgres(),
            _ => inst.init_mariadb(),
        };
        if let Err(e) = init {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        std::fs::write(
            Self::meta(&dir),
            serde_json::to_vec_pretty(&inst).unwrap_or_default(),
        )
        .map_err(|e| failed("saving the instance", e.to_string()))?;
        inst.start()?;
        Ok(inst)
    }

    fn init_postgres(&self) -> Result<(), InstanceError> {
        let initdb = find(
            "initdb",
            "the PostgreSQL server (Debian: postgresql)",
            &["/usr/lib/postgresql/*"],
        )?;
        std::fs::create_dir_all(self.data())
            .map_err(|e| failed("creating the data directory", e.to_string()))?;
        chown(&self.dir, "postgres")?;
        let args = vec![
            "-D".into(),
            self.data().display().to_string(),
            "-U".into(),
            "postgres".into(),
            "--auth=trust".into(),
            "--no-sync".into(),
        ];
        run("initdb", Some("postgres"), &initdb, &args)
    }

    fn init_mariadb(&self) -> Result<(), InstanceError> {
        let install = find(
            "mariadb-install-db",
            "the MariaDB server (Debian: mariadb-server)",
            &[],
        )?;
        std::fs::create_dir_all(self.data())
            .map_err(|e| failed("creating the data directory", e.to_string()))?;
        chown(&self.dir, "mysql")?;
        let mut args = vec![
            format!("--datadir={}", self.data().display()),
            "--auth-root-authentication-method=normal".into(),
            "--skip-test-db".into(),
        ];
        // As root the files go to mysql; otherwise to whoever runs this (without --user the
        // script tries to chown to the mysql user of the system config, and fails).
        let user = if is_root() {
            "mysql".to_string()
        } else {
            current_user()
        };
        args.push(format!("--user={user}"));
        run("mariadb-install-db", None, &install, &args)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start(&self) -> Result<(), InstanceError> {
        if self.pid().is_some() {
            return Ok(());
        }
        match self.kind.as_str() {
            "postgres" => {
                let pg_ctl = find(
                    "pg_ctl",
                    "the PostgreSQL server (Debian: postgresql)",
                    &["/usr/lib/postgresql/*"],
                )?;
                let opts = format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                    self.port,
                    self.dir.display()
                );
                let args = vec![
                    "-D".into(),
                    self.data().display().to_string(),
                    "-l".into(),
                    self.log().display().to_string(),
                    "-o".into(),
                    opts,
                    "-w".into(),
                    "-t".into(),
                    "30".into(),
                    "start".into(),
                ];
                run("starting postgres", Some("postgres"), &pg_ctl, &args)?;
            }
            _ => {
                let mariadbd = find(
                    "mariadbd",
                    "the MariaDB server (Debian: mariadb-server)",
                    &["/usr/sbin"],
                )?;
                let mut cmd = Command::new("setsid");
                cmd.arg("-f").arg(&mariadbd).args([
                    "--no-defaults".to_string(),
                    format!("--datadir={}", self.data().display()),
                    format!("--port={}", self.port),
                    "--bind-address=127.0.0.1".into(),
                    format!("--socket={}", self.dir.join("mysqld.sock").display()),
                    format!("--pid-file={}", self.dir.join("mariadbd.pid").display()),
                    format!("--log-error={}", self.log().display()),
                    "--innodb-flush-log-at-trx-commit=2".into(),
                ]);
                if is_root() {
                    cmd.arg("--user=mysql");
                }
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
                let status = cmd
                    .status()
                    .map_err(|e| failed("starting mariadbd", e.to_string()))?;
                if !status.success() {
                    return Err(failed("starting mariadbd", format!("exit {status}")));
                }
            }
        }
        if !wait_for_port(self.port, Duration::from_secs(30)) {
            return Err(failed(
                format!("waiting for {} on port {}", self.name, self.port),
                format!("see {}", self.log().display()),
            ));
        }
        Ok(())
    }

    fn signal(&self, sig: &str, children_too: bool) -> Result<(), InstanceError> {
        let pid = self
            .pid()
            .ok_or_else(|| failed(format!("signalling {}", self.name), "it is not running"))?;
        let mut pids = vec![pid];
        if children_too {
            pids.extend(children(pid));
        }
        for p in pids {
            let _ = Command::new("kill").args([sig, &p.to_string()]).status();
        }
        Ok(())
    }

    /// kill -9 of the server and its processes.
    pub fn kill(&self) -> Result<(), InstanceError> {
        self.signal("-KILL", true)?;
        let until = Instant::now() + Duration::from_secs(10);
        while self.pid().is_some() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.kind == "postgres" {
            // A killed postmaster leaves its pid file; the next start checks it is stale.
            let _ = std::fs::remove_file(self.data().join("postmaster.pid"));
        }
        Ok(())
    }

    /// SIGSTOP / SIGCONT of the whole server.
    pub fn pause(&self, paused: bool) -> Result<(), InstanceError> {
        self.signal(if paused { "-STOP" } else { "-CONT" }, true)
    }

    /// Graceful shutdown, keeping the data: PostgreSQL's fast shutdown (SIGINT: clients are
    /// disconnected, a checkpoint is written; SIGTERM would wait for every client to leave),
    /// MariaDB's normal one (SIGTERM). Falls back to kill -9 after 20 s.
    pub fn stop(&self) -> Result<(), InstanceError> {
        if self.pid().is_none() {
            return Ok(());
        }
        let _ = self.pause(false);
        let sig = if self.kind == "postgres" {
            "-INT"
        } else {
            "-TERM"
        };
        let _ = self.signal(sig, false);
        let until = Instant::now() + Duration::from_secs(20);
        while self.pid().is_some() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.pid().is_some() {
            self.kill()?;
        }
        Ok(())
    }

    /// Stops the server (gracefully) and removes the instance.
    pub fn down(&self) -> Result<(), InstanceError> {
        self.stop()?;
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| failed(format!("removing {}", self.dir.display()), e.to_string()))
    }
}

/// Child processes of `pid` (from /proc), recursively.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for e in std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
        {
            let Some(c) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid ...
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if ppid == Some(p) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// Resolves `instance:NAME` to the instance's URL; other URLs pass through.
pub fn resolve_url(db: &str) -> Result<String, InstanceError> {
    match db.strip_prefix("instance:") {
        Some(name) => Ok(Instance::load(name)?.url),
        None => Ok(db.to_string()),
    }
}
