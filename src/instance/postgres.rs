//! PostgreSQL instances: initdb with password authentication, pg_ctl start, the `dbarena`
//! database.

use super::process::{find, run, run_in};
use super::{failed, Instance, InstanceError};

pub(super) const PACKAGE: &str = "the PostgreSQL server (Debian: postgresql)";
pub(super) const DIRS: &[&str] = &["/usr/lib/postgresql/*"];

/// The server's superuser (also the OS user it runs as when dbarena is root).
pub const USER: &str = "postgres";

/// Creates the cluster: scram-sha-256 for every connection, the generated password for the
/// superuser (through a 0600 file of the server's user, removed at once).
pub fn init(inst: &Instance, password: &str) -> Result<(), InstanceError> {
    let initdb = find("initdb", PACKAGE, DIRS)?;
    let pwfile = inst.server_dir.join("pwfile");
    super::layout::write_secret(&pwfile, password)?;
    let user = inst.server_user();
    if let Some(u) = user {
        super::layout::chown(&pwfile, u)?;
    }
    let mut args = vec![
        "-D".into(),
        inst.data().display().to_string(),
        "-U".into(),
        USER.into(),
        "--auth=scram-sha-256".into(),
        format!("--pwfile={}", pwfile.display()),
    ];
    if inst.fast {
        args.push("--no-sync".into());
    }
    let r = run("initdb", user, &initdb, &args);
    let _ = std::fs::remove_file(&pwfile);
    r?;
    if let Some(net) = &inst.net {
        // initdb admits loopback only; clients in a namespace come from its link's subnet
        // (the machine's end) or, through the machine, from other namespaces.
        use std::io::Write;
        let hba = inst.data().join("pg_hba.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&hba)
            .and_then(|mut f| {
                writeln!(
                    f,
                    "host all all 10.77.0.0/16 scram-sha-256 # dbarena: clients of namespace {}",
                    net.ns
                )?;
                // Standbys of a cluster whose members are hosts of their own stream from there.
                writeln!(
                    f,
                    "host replication all 10.77.0.0/16 scram-sha-256 # dbarena: standbys in namespaces"
                )
            })
            .map_err(|e| failed(format!("writing {}", hba.display()), e.to_string()))?;
    }
    Ok(())
}

/// Starts the server with pg_ctl and waits for it.
pub fn start(inst: &Instance) -> Result<(), InstanceError> {
    let pg_ctl = find("pg_ctl", PACKAGE, DIRS)?;
    // Durable, and quick to recover from a kill: syncfs flushes the data directory's file
    // system in one call, where the default fsyncs every file first (seconds on a busy disk).
    let mut opts = format!(
        "-p {} -k {} -c listen_addresses={} -c unix_socket_permissions=0700 -c recovery_init_sync_method=syncfs",
        inst.port,
        inst.run_dir().display(),
        inst.host()
    );
    if inst.fast {
        opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    }
    let args = vec![
        "-D".into(),
        inst.data().display().to_string(),
        "-l".into(),
        inst.log().display().to_string(),
        "-o".into(),
        opts,
        "-w".into(),
        "-t".into(),
        "30".into(),
        "start".into(),
    ];
    run_in(
        &inst.exec_prefix()?,
        "starting postgres",
        inst.server_user(),
        &pg_ctl,
        &args,
    )
    .map_err(|e| inst.with_log(e))
}

/// Creates the `dbarena` database the instance's URL points to.
pub fn create_database(inst: &Instance, password: &str) -> Result<(), InstanceError> {
    let admin = format!(
        "postgres://{USER}:{password}@{}:{}/postgres",
        inst.host(),
        inst.port
    );
    super::execute(&admin, &format!("CREATE DATABASE {}", super::DATABASE))
        .map_err(|e| failed("creating the dbarena database", e))
}
