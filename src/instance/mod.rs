//! Managed local database instances: private servers started from the binaries installed on
//! the machine, in their own folders on free ports, for tests and chaos runs that kill or
//! pause a server (never the machine's shared services).
//!
//! Each instance has a validated name (`name.rs`), a marked folder and a generated password
//! kept 0600 (`layout.rs`), a server that authenticates by password, listens on 127.0.0.1
//! and keeps its sockets in a 0700 folder (`postgres.rs`, `mariadb.rs`), and a state read
//! from /proc (`process.rs`). Servers are durable unless created with `fast`.

pub mod cluster;
mod galera;
mod layout;
mod mariadb;
mod name;
mod postgres;
mod process;
mod replication;

pub use layout::registry;
pub use process::State;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The database each instance creates and its URL points to.
pub const DATABASE: &str = "dbarena";

/// Why an instance command failed.
#[derive(Debug, Error)]
pub enum InstanceError {
    #[error("{binary} not found; install {package} (it provides {binary})")]
    MissingBinary { binary: String, package: String },
    #[error("unknown instance kind '{0}'; use postgres or mariadb")]
    UnknownKind(String),
    #[error("invalid instance name '{}': use 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit (for example pg1)", .0.escape_debug())]
    InvalidName(String),
    #[error("no instance named '{0}'; `dbarena instance list` shows the instances")]
    NotFound(String),
    #[error("an instance named '{0}' already exists; pick another --name or `dbarena instance down {0}`")]
    Exists(String),
    #[error("{} is not an instance dbarena created (it has no {} marker), so dbarena leaves it alone; pick another name, or remove the folder yourself if it is yours", .0.display(), layout::MARKER)]
    NotOurs(PathBuf),
    #[error("the server of '{name}' (pid {pid}) is still running, so its data stays; stop it with `dbarena instance stop {name}` as the user that created it (or `kill {pid}`), then retry")]
    StillRunning { name: String, pid: u32 },
    #[error("instance '{name}' belongs to another user (dbarena cannot read {}); run dbarena as the user that created it", .path.display())]
    NotYours { name: String, path: PathBuf },
    #[error("the {user} user cannot reach {} (a folder on the way is not searchable by others); set DBARENA_HOME to a folder it can reach", .path.display())]
    Unreachable { user: String, path: PathBuf },
    #[error("cannot start '{name}': port {port} on 127.0.0.1 is in use by another program; stop that program, or create the instance again with another --port (0 picks a free one)")]
    PortInUse { name: String, port: u16 },
    #[error("{what} failed: {detail}")]
    Failed { what: String, detail: String },
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    #[error("{0}")]
    Cluster(String),
    #[error("instance '{0}' is not a cluster, so it has no primary to fail over; create one with `dbarena instance up postgres --replicas 1 --name NAME` or `dbarena instance up mariadb --galera 3 --name NAME`")]
    NotACluster(String),
}

impl InstanceError {
    /// Whether the user can fix this by changing the command (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            InstanceError::UnknownKind(_)
                | InstanceError::InvalidName(_)
                | InstanceError::NotFound(_)
                | InstanceError::Exists(_)
                | InstanceError::NotOurs(_)
                | InstanceError::StillRunning { .. }
                | InstanceError::NotYours { .. }
                | InstanceError::PortInUse { .. }
                | InstanceError::Cluster(_)
                | InstanceError::NotACluster(_)
        ) || matches!(self, InstanceError::Net(e) if e.is_usage())
    }
}

fn failed(what: impl Into<String>, detail: impl Into<String>) -> InstanceError {
    InstanceError::Failed {
        what: what.into(),
        detail: detail.into(),
    }
}

/// Which server an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceKind {
    Postgres,
    Mariadb,
}

impl InstanceKind {
    /// Parses `postgres` (`postgresql`, `pg`) or `mariadb` (`mysql`).
    pub fn parse(s: &str) -> Result<Self, InstanceError> {
        match s {
            "postgres" | "postgresql" | "pg" => Ok(InstanceKind::Postgres),
            "mariadb" | "mysql" => Ok(InstanceKind::Mariadb),
            other => Err(InstanceError::UnknownKind(other.into())),
        }
    }

    fn scheme_user(self) -> (&'static str, &'static str) {
        match self {
            InstanceKind::Postgres => ("postgres", postgres::USER),
            InstanceKind::Mariadb => ("mysql", "root"),
        }
    }
}

impl std::fmt::Display for InstanceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InstanceKind::Postgres => "postgres",
            InstanceKind::Mariadb => "mariadb",
        })
    }
}

/// What dbarena remembers about an instance (`meta.json` in its folder).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    pub kind: InstanceKind,
    pub port: u16,
    /// dbarena's folder of the instance, in the registry.
    pub dir: PathBuf,
    /// The server's own folder (data, sockets, log), owned by the server's user.
    pub server_dir: PathBuf,
    /// The URL with the password redacted (`instance:NAME` resolves to the real one).
    pub url: String,
    /// Created with `--fast`: fsync and synchronous commits off, so a crash of the machine
    /// can lose committed transactions.
    #[serde(default)]
    pub fast: bool,
    /// The network namespace the server runs in (`instance up --netns`); None: on the
    /// machine's loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<crate::net::NetHost>,
    /// Its place in a cluster (`instance up --replicas N` or `--galera N`); None: alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<cluster::Membership>,
}

/// What `instance list` shows of an instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceInfo {
    pub name: String,
    pub kind: InstanceKind,
    pub state: State,
    pub pid: Option<u32>,
    pub port: u16,
    /// With the password redacted.
    pub url: String,
    /// False for an instance created with `--fast`.
    pub durable: bool,
    pub dir: PathBuf,
    pub password_file: PathBuf,
    /// The network namespace the server runs in, if any.
    pub netns: Option<String>,
    /// The cluster it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// primary or standby (streaming replication), node (Galera).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<cluster::Role>,
}

/// Runs one statement on a fresh connection (setup of an instance).
fn execute(url: &str, sql: &str) -> Result<(), String> {
    let url = crate::db::DbUrl::parse(url).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut c = crate::db::Connection::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        c.execute(sql).await.map_err(|e| e.to_string())
    })
}

/// Runs one query on a fresh connection, bounded by 5 s; its rows as text.
fn query(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let url = crate::db::DbUrl::parse(url).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let work = async {
            let mut c = crate::db::Connection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            c.query_text(sql).await.map_err(|e| e.to_string())
        };
        tokio::time::timeout(Duration::from_secs(5), work)
            .await
            .unwrap_or_else(|_| Err("no answer within 5 s".into()))
    })
}

/// Removes a half-made instance unless disarmed.
struct Unmake<'a> {
    inst: &'a Instance,
    armed: bool,
}

impl Drop for Unmake<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.inst.stop();
            if let Some(net) = &self.inst.net {
                let _ = net.remove();
            }
            let _ = layout::remove_marked(&self.inst.server_dir);
            let _ = layout::remove_marked(&self.inst.dir);
        }
    }
}

impl Instance {
    fn meta(dir: &Path) -> PathBuf {
        dir.join("meta.json")
    }

    /// Loads a registered instance.
    pub fn load(name: &str) -> Result<Instance, InstanceError> {
        let dir = registry().join(name::validate(name)?);
        if std::fs::symlink_metadata(&dir).is_err() {
            return Err(InstanceError::NotFound(name.into()));
        }
        if !layout::is_marked(&dir) {
            return Err(InstanceError::NotOurs(dir));
        }
        let p = Self::meta(&dir);
        let text = std::fs::read_to_string(&p).map_err(|_| InstanceError::NotFound(name.into()))?;
        let inst: Instance = serde_json::from_str(&text)
            .map_err(|e| failed(format!("reading {}", p.display()), e.to_string()))?;
        // Another user's instance: dbarena could neither see its server nor stop it.
        if let Err(e) = std::fs::read_dir(&inst.server_dir) {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                return Err(InstanceError::NotYours {
                    name: inst.name,
                    path: inst.server_dir,
                });
            }
        }
        Ok(inst)
    }

    /// Every registered instance.
    pub fn list() -> Vec<Instance> {
        let mut v: Vec<Instance> = std::fs::read_dir(registry())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| layout::is_marked(&e.path()))
            .filter_map(|e| std::fs::read_to_string(Self::meta(&e.path())).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn data(&self) -> PathBuf {
        self.server_dir.join("data")
    }

    /// The folder of the server's sockets and pid file (0700).
    fn run_dir(&self) -> PathBuf {
        self.server_dir.join("run")
    }

    /// The server's temporary files (0700), not the shared /tmp.
    fn tmp_dir(&self) -> PathBuf {
        self.server_dir.join("tmp")
    }

    /// The log file of the server.
    pub fn log(&self) -> PathBuf {
        self.server_dir.join("server.log")
    }

    /// The file holding the generated password (0600).
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("password")
    }

    /// The OS user the server runs as when dbarena is root; None: as dbarena's user.
    fn server_user(&self) -> Option<&'static str> {
        process::is_root().then_some(match self.kind {
            InstanceKind::Postgres => postgres::USER,
            InstanceKind::Mariadb => mariadb::OS_USER,
        })
    }

    fn url_with(kind: InstanceKind, host: &str, port: u16, password: &str) -> String {
        Self::url_of_hosts(kind, &format!("{host}:{port}"), password)
    }

    /// The address the server listens on: its namespace's, or 127.0.0.1.
    pub fn host(&self) -> &str {
        self.net.as_ref().map_or("127.0.0.1", |n| n.addr.as_str())
    }

    /// The command prefix that runs a program in the server's namespace (empty: none).
    fn exec_prefix(&self) -> Result<Vec<String>, InstanceError> {
        match &self.net {
            Some(n) => Ok(n.exec_prefix()?),
            None => Ok(Vec::new()),
        }
    }

    /// The URL of `hosts` (`host:port`, or several separated by commas).
    fn url_of_hosts(kind: InstanceKind, hosts: &str, password: &str) -> String {
        let (scheme, user) = kind.scheme_user();
        format!("{scheme}://{user}:{password}@{hosts}/{DATABASE}")
    }

    /// The generated password: only for drivers, never to print.
    fn password(&self) -> Result<String, InstanceError> {
        let pw = std::fs::read_to_string(self.password_file()).map_err(|e| {
            failed(
                format!("reading the password of '{}'", self.name),
                format!("{}: {e}", self.password_file().display()),
            )
        })?;
        Ok(pw.trim().to_string())
    }

    /// The URL with the password: only for drivers, never to print.
    pub fn secret_url(&self) -> Result<String, InstanceError> {
        Ok(Self::url_with(
            self.kind,
            self.host(),
            self.port,
            &self.password()?,
        ))
    }

    /// The superuser's URL to the server's own administrative database (PostgreSQL:
    /// `postgres`, which exists before `dbarena` does).
    fn admin_url(&self) -> Result<String, InstanceError> {
        let url = self.secret_url()?;
        Ok(match self.kind {
            InstanceKind::Postgres => match url.rsplit_once('/') {
                Some((base, _)) => format!("{base}/postgres"),
                None => url,
            },
            InstanceKind::Mariadb => url,
        })
    }

    /// Adds the error lines of the server log to a failure.
    fn with_log(&self, e: InstanceError) -> InstanceError {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>();
        let tail: String = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        match e {
            InstanceError::Failed { what, detail } if !tail.is_empty() => InstanceError::Failed {
                what,
                detail: format!(
                    "{detail}; server log: {} ({})",
                    process::error_lines(&tail, ""),
                    self.log().display()
                ),
            },
            other => other,
        }
    }

    /// The server's main process id, if it is running (or paused).
    pub fn pid(&self) -> Option<u32> {
        let file = match self.kind {
            InstanceKind::Postgres => self.data().join("postmaster.pid"),
            InstanceKind::Mariadb => mariadb::pid_file(self),
        };
        let pid: u32 = std::fs::read_to_string(file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()?;
        (process::state_of(pid, &self.data()) != State::Stopped).then_some(pid)
    }

    /// Running, paused (SIGSTOP) or stopped.
    pub fn state(&self) -> State {
        self.pid()
            .map(|pid| process::state_of(pid, &self.data()))
            .unwrap_or(State::Stopped)
    }

    /// What `instance list` shows.
    pub fn info(&self) -> InstanceInfo {
        InstanceInfo {
            name: self.name.clone(),
            kind: self.kind,
            state: self.state(),
            pid: self.pid(),
            port: self.port,
            url: self.url.clone(),
            durable: !self.fast,
            dir: self.dir.clone(),
            password_file: self.password_file(),
            netns: self.net.as_ref().map(|n| n.ns.clone()),
            cluster: self.cluster.as_ref().map(|m| m.cluster.clone()),
            role: self.cluster.as_ref().map(|m| cluster::role(self, m)),
        }
    }

    /// Creates and starts a new instance; `port` 0 picks a free one. `fast` turns durability
    /// off (fsync, synchronous commit) for throwaway data.
    pub fn up(
        kind: &str,
        name: Option<&str>,
        port: u16,
        fast: bool,
    ) -> Result<Instance, InstanceError> {
        Self::up_with(kind, name, port, fast, false)
    }

    /// `up`, with `netns` placing the server in its own network namespace `dbarena-NAME`,
    /// listening on the namespace's address (10.77.N.2) and, with `port` 0, on the server's
    /// usual port (the namespace has ports of its own). Needs root and iproute2.
    pub fn up_with(
        kind: &str,
        name: Option<&str>,
        port: u16,
        fast: bool,
        netns: bool,
    ) -> Result<Instance, InstanceError> {
        let kind = InstanceKind::parse(kind)?;
        let (name, port) = Self::name_port(kind, name, port, netns)?;
        let password = layout::generate_password()?;
        let inst = Self::create(kind, name, port, fast, None, &password, netns)?;
        let mut unmake = Unmake {
            inst: &inst,
            armed: true,
        };
        match kind {
            InstanceKind::Postgres => postgres::init(&inst, &password)?,
            InstanceKind::Mariadb => mariadb::init(&inst, &password)?,
        }
        inst.save()?;
        inst.start()?;
        if kind == InstanceKind::Postgres {
            postgres::create_database(&inst, &password)?;
        }
        unmake.armed = false;
        drop(unmake);
        Ok(inst)
    }

    /// The name (given, or KIND-PORT) and port (given, or a free one) of a new instance.
    /// In a namespace (`netns`) the port defaults to the server's usual one.
    fn name_port(
        kind: InstanceKind,
        name: Option<&str>,
        port: u16,
        netns: bool,
    ) -> Result<(String, u16), InstanceError> {
        if let Some(n) = name {
            name::validate(n)?;
        }
        if netns {
            crate::net::check_requirements()?;
        }
        let port = match (port, netns, kind) {
            (0, true, InstanceKind::Postgres) => 5432,
            (0, true, InstanceKind::Mariadb) => 3306,
            (0, false, _) => process::free_port()?,
            (p, _, _) => p,
        };
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}-{port}"));
        Ok((name, port))
    }

    /// The folders of a new instance, its password file and its (empty) server folder, and
    /// with `netns` its namespace; the caller makes and starts the server, and removes the
    /// instance if that fails.
    fn create(
        kind: InstanceKind,
        name: String,
        port: u16,
        fast: bool,
        cluster: Option<cluster::Membership>,
        password: &str,
        netns: bool,
    ) -> Result<Instance, InstanceError> {
        // A namespace's ports are the server's own.
        if !netns && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(InstanceError::PortInUse { name, port });
        }
        let dir = registry().join(name::validate(&name)?);
        if std::fs::symlink_metadata(&dir).is_ok() {
            return Err(if layout::is_marked(&dir) {
                InstanceError::Exists(name)
            } else {
                InstanceError::NotOurs(dir)
            });
        }
        std::fs::create_dir_all(registry())
            .map_err(|e| failed(format!("creating {}", registry().display()), e.to_string()))?;
        let user = process::is_root().then_some(match kind {
            InstanceKind::Postgres => postgres::USER,
            InstanceKind::Mariadb => mariadb::OS_USER,
        });
        let (server_dir, inside) = layout::server_dir(&name, &dir, user)?;
        // The server's user passes through dbarena's folder to its own (and reads nothing).
        let mode = if inside && user.is_some() {
            0o711
        } else {
            0o700
        };
        layout::create_marked(&dir, mode).map_err(|e| match e {
            // Another `up` with this name won the race.
            InstanceError::Failed { .. } if layout::is_marked(&dir) => {
                InstanceError::Exists(name.clone())
            }
            e => e,
        })?;
        let mut inst = Instance {
            url: String::new(),
            name,
            kind,
            port,
            dir: dir.clone(),
            server_dir,
            fast,
            net: None,
            cluster,
        };
        let net = if netns {
            // Owned by the instance once its meta.json is written (by this process until then).
            match crate::net::NetHost::create(&inst.name, &Self::meta(&dir)) {
                Ok(n) => Some(n),
                Err(e) => {
                    let _ = layout::remove_marked(&dir);
                    return Err(e.into());
                }
            }
        } else {
            None
        };
        inst.net = net;
        inst.url = crate::db::url::redact(&Self::url_with(kind, inst.host(), port, "***"));
        let mut unmake = Unmake {
            inst: &inst,
            armed: true,
        };
        layout::write_secret(&inst.password_file(), password)?;
        layout::create_server_dir(&inst.server_dir, user)?;
        unmake.armed = false;
        drop(unmake);
        Ok(inst)
    }

    /// Writes what dbarena remembers of the instance (`meta.json`).
    fn save(&self) -> Result<(), InstanceError> {
        let meta = serde_json::to_vec_pretty(self)
            .map_err(|e| failed("saving the instance", e.to_string()))?;
        crate::util::fsx::write_atomic(&Self::meta(&self.dir), &meta)
            .map_err(|e| failed("saving the instance", e.to_string()))
    }

    /// Starts the server (again) and waits until it accepts connections. A paused server is
    /// left as it is (`pause(false)` resumes it).
    pub fn start(&self) -> Result<(), InstanceError> {
        // One start at a time in this process: a chaos run's fault thread and its
        // second-signal restore may both start the server; the second then finds it up.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        if self.pid().is_some() {
            return Ok(());
        }
        // A former primary comes back as a standby of the one that replaced it, never as a
        // second primary.
        if let Some(m) = &self.cluster {
            if cluster::rejoins_as_standby(self, m)? {
                return Ok(());
            }
        }
        // Something else on the port would answer for the server and hide its failure (a
        // namespace's ports are the server's own).
        if self.net.is_none() && std::net::TcpListener::bind(("127.0.0.1", self.port)).is_err() {
            return Err(InstanceError::PortInUse {
                name: self.name.clone(),
                port: self.port,
            });
        }
        match self.kind {
            InstanceKind::Postgres => postgres::start(self)?,
            InstanceKind::Mariadb => mariadb::start(self)?,
        }
        self.wait_ready()
    }

    /// Waits until the server accepts connections.
    fn wait_ready(&self) -> Result<(), InstanceError> {
        // A Galera node that was killed copies the whole data set from a peer (rsync state
        // transfer) before it listens: on a busy machine that takes more than half a minute.
        let galera = self
            .cluster
            .as_ref()
            .is_some_and(|m| m.topology == cluster::Topology::Galera);
        let secs = if galera { 180 } else { 30 };
        if !process::wait_for_port(self.host(), self.port, Duration::from_secs(secs)) {
            return Err(self.with_log(failed(
                format!("waiting for {} on port {}", self.name, self.port),
                format!("it did not accept connections within {secs} s"),
            )));
        }
        Ok(())
    }

    fn not_running(&self) -> InstanceError {
        failed(
            format!("signalling {}", self.name),
            format!(
                "it is not running; `dbarena instance start {}` starts it",
                self.name
            ),
        )
    }

    fn signal(&self, sig: &str, children_too: bool) -> Result<(), InstanceError> {
        let pid = self.pid().ok_or_else(|| self.not_running())?;
        let mut pids = vec![pid];
        if children_too {
            pids.extend(process::children(pid));
        }
        process::signal(&pids, sig)
    }

    /// kill -9 of the server and its processes.
    pub fn kill(&self) -> Result<(), InstanceError> {
        let pid = self.pid().ok_or_else(|| self.not_running())?;
        let mut pids = vec![pid];
        pids.extend(process::children(pid));
        process::signal(&pids, "-KILL")?;
        let until = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|&p| process::alive(p)) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(p) = pids.iter().find(|&&p| process::alive(p)) {
            return Err(failed(
                format!("killing {}", self.name),
                format!("pid {p} is still there after 10 s"),
            ));
        }
        if self.kind == InstanceKind::Postgres {
            // A killed postmaster leaves its pid file and socket lock files, which name a
            // pid that may linger as a zombie (where nothing reaps orphans, as in many
            // containers) and would make the next start refuse; it is dead, so they go.
            let _ = std::fs::remove_file(self.data().join("postmaster.pid"));
            for e in std::fs::read_dir(self.run_dir())
                .into_iter()
                .flatten()
                .flatten()
            {
                if e.file_name().to_string_lossy().ends_with(".lock") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    /// SIGSTOP / SIGCONT of the whole server.
    pub fn pause(&self, paused: bool) -> Result<(), InstanceError> {
        self.signal(if paused { "-STOP" } else { "-CONT" }, true)
    }

    /// Leaves the server running and answering: resumed if paused, started if stopped. For
    /// a cluster's first member: every member (a former primary as a standby).
    pub fn restore(&self) -> Result<(), InstanceError> {
        if let Some(m) = self.cluster.as_ref().filter(|m| m.index == 0) {
            return cluster::restore(m);
        }
        self.restore_one()
    }

    fn restore_one(&self) -> Result<(), InstanceError> {
        if self.state() == State::Paused {
            self.pause(false)?;
        }
        self.start()
    }

    /// Graceful shutdown, keeping the data: PostgreSQL's fast shutdown (SIGINT: clients are
    /// disconnected, a checkpoint is written; SIGTERM would wait for every client to leave),
    /// MariaDB's normal one (SIGTERM). Falls back to kill -9 after 20 s.
    pub fn stop(&self) -> Result<(), InstanceError> {
        if self.pid().is_none() {
            return Ok(());
        }
        let _ = self.pause(false);
        let sig = match self.kind {
            InstanceKind::Postgres => "-INT",
            InstanceKind::Mariadb => "-TERM",
        };
        self.signal(sig, false)?;
        let until = Instant::now() + Duration::from_secs(20);
        while self.pid().is_some() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.pid().is_some() {
            self.kill()?;
        }
        Ok(())
    }

    /// Stops the server (gracefully) and removes the instance: only folders dbarena created
    /// and marked, and only once the server is no longer running. The first member of a
    /// cluster takes the whole cluster down.
    pub fn down(&self) -> Result<(), InstanceError> {
        if let Some(m) = self.cluster.as_ref().filter(|m| m.index == 0) {
            return cluster::down(self, m);
        }
        self.down_one()
    }

    fn down_one(&self) -> Result<(), InstanceError> {
        if !layout::is_marked(&self.dir) {
            return Err(InstanceError::NotOurs(self.dir.clone()));
        }
        let stopped = self.stop();
        if let Some(pid) = self.pid() {
            return Err(InstanceError::StillRunning {
                name: self.name.clone(),
                pid,
            });
        }
        stopped?;
        if let Some(net) = &self.net {
            net.remove()?;
        }
        layout::remove_marked(&self.server_dir)?;
        layout::remove_marked(&self.dir)
    }
}

/// Resolves `instance:NAME` to the instance's URL with its password (a cluster's name: the
/// URL of all its members, which clients follow through a failover); other URLs pass through.
pub fn resolve_url(db: &str) -> Result<String, InstanceError> {
    match db.strip_prefix("instance:") {
        Some(name) => {
            let inst = Instance::load(name)?;
            match &inst.cluster {
                Some(m) if m.index == 0 => cluster::url(&inst, m),
                _ => inst.secret_url(),
            }
        }
        None => Ok(db.to_string()),
    }
}

/// Whether the server at `url` keeps committed data through a crash, when it is a running
/// instance of this registry: `Some(false)` for one created with `--fast`; None when the URL
/// is not an instance's.
pub fn durability_of(url: &crate::db::DbUrl) -> Option<bool> {
    let list = Instance::list();
    // A cluster's URL lists every member: durable when each is.
    let mut durable = None;
    for hp in url.hosts() {
        let (host, port) = hp.rsplit_once(':')?;
        let host = if host == "localhost" {
            "127.0.0.1"
        } else {
            host
        };
        let port: u16 = port.parse().ok()?;
        let one = list
            .iter()
            .find(|i| i.host() == host && i.port == port && i.pid().is_some())
            .map(|i| !i.fast)?;
        durable = Some(durable.unwrap_or(true) && one);
    }
    durable
}
