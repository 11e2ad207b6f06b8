//! MariaDB instances: mariadb-install-db with a root password and the `dbarena` database set
//! at bootstrap (root is never without a password while the server listens), mariadbd start.

use super::process::{current_user, find, is_root, run};
use super::{failed, Instance, InstanceError};

const PACKAGE: &str = "the MariaDB server (Debian: mariadb-server)";

/// The OS user the server runs as when dbarena is root.
pub const OS_USER: &str = "mysql";

/// Creates the data directory; the SQL that sets root's password and creates the database
/// runs in the bootstrap, from a 0600 file of dbarena's user, removed at once.
pub fn init(inst: &Instance, password: &str) -> Result<(), InstanceError> {
    let install = find("mariadb-install-db", PACKAGE, &[])?;
    let sql = format!(
        "UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.plugin', 'mysql_native_password', \
         '$.authentication_string', PASSWORD('{password}')) WHERE User = 'root';\n\
         CREATE DATABASE IF NOT EXISTS {};\n",
        super::DATABASE
    );
    // In a namespace clients come from its link's subnet (the machine's end, or other
    // namespaces), not from loopback: root may log in from there too.
    let sql = if inst.net.is_some() {
        // The bootstrap runs without grant tables (no CREATE USER): a copy of root's row.
        format!(
            "{sql}INSERT INTO mysql.global_priv (Host, User, Priv) SELECT '10.77.%', User, Priv \
             FROM mysql.global_priv WHERE User = 'root' AND Host = 'localhost';\n"
        )
    } else {
        sql
    };
    let extra = inst.dir.join("bootstrap.sql");
    super::layout::write_secret(&extra, &sql)?;
    // As root the files go to mysql; otherwise to whoever runs this (without --user the
    // script tries to chown to the mysql user of the system config, and fails).
    let user = if is_root() {
        OS_USER.to_string()
    } else {
        current_user()
    };
    // --no-defaults: the machine's my.cnf is for its own server (its log, its tmpdir);
    // errors of the bootstrap then come to stderr, where dbarena shows them.
    let args = vec![
        "--no-defaults".into(),
        format!("--datadir={}", inst.data().display()),
        format!("--tmpdir={}", inst.tmp_dir().display()),
        "--auth-root-authentication-method=normal".into(),
        "--skip-test-db".into(),
        format!("--user={user}"),
        format!("--extra-file={}", extra.display()),
    ];
    let r = run("mariadb-install-db", None, &install, &args);
    let _ = std::fs::remove_file(&extra);
    r
}

/// Starts mariadbd in the background.
pub fn start(inst: &Instance) -> Result<(), InstanceError> {
    let mariadbd = find("mariadbd", PACKAGE, &["/usr/sbin"])?;
    let mut cmd =
        super::process::command_in(&inst.exec_prefix()?, None, std::path::Path::new("setsid"));
    cmd.arg("-f").arg(&mariadbd).args([
        "--no-defaults".to_string(),
        format!("--datadir={}", inst.data().display()),
        format!("--port={}", inst.port),
        format!("--bind-address={}", inst.host()),
        format!("--socket={}", inst.run_dir().join("mysqld.sock").display()),
        format!("--pid-file={}", pid_file(inst).display()),
        format!("--log-error={}", inst.log().display()),
        format!("--tmpdir={}", inst.tmp_dir().display()),
    ]);
    if inst.fast {
        cmd.args([
            "--innodb-flush-log-at-trx-commit=0",
            "--sync-binlog=0",
            "--innodb-doublewrite=0",
        ]);
    } else {
        cmd.arg("--innodb-flush-log-at-trx-commit=1");
    }
    if is_root() {
        cmd.arg(format!("--user={OS_USER}"));
    }
    if inst.net.is_some() {
        // Clients come from addresses no DNS knows; looking them up would stall each login.
        cmd.arg("--skip-name-resolve");
    }
    if let Some(m) = &inst.cluster {
        cmd.args(super::galera::args(inst, m)?);
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let status = cmd
        .status()
        .map_err(|e| failed("starting mariadbd", e.to_string()))?;
    if !status.success() {
        return Err(inst.with_log(failed("starting mariadbd", format!("exit {status}"))));
    }
    Ok(())
}

/// Where mariadbd writes its process id.
pub fn pid_file(inst: &Instance) -> std::path::PathBuf {
    inst.run_dir().join("mariadbd.pid")
}
