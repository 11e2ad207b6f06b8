//! PostgreSQL streaming replication between instances: standbys made with pg_basebackup,
//! synchronous commit to any standby, promotion (`pg_ctl promote`), and a former primary
//! made a standby of the one that replaced it (a fresh base backup: it may hold commits the
//! new primary never received, which pg_rewind would need checksums or wal_log_hints for).

use super::postgres::{DIRS, PACKAGE, USER};
use super::process::{find, run, run_env};
use super::{failed, Instance, InstanceError};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The server's password file for replication connections (0600, the server's user).
fn passfile(inst: &Instance) -> PathBuf {
    inst.server_dir.join("pgpass")
}

/// Writes the password file that standbys and pg_basebackup use to reach any member.
pub fn write_passfile(inst: &Instance, password: &str) -> Result<(), InstanceError> {
    let p = passfile(inst);
    let _ = std::fs::remove_file(&p);
    // Any host: members in namespaces reach each other at their own addresses.
    super::layout::write_secret(&p, &format!("*:*:*:{USER}:{password}\n"))?;
    if let Some(u) = inst.server_user() {
        super::layout::chown(&p, u)?;
    }
    Ok(())
}

/// Whether the instance is a standby (its data folder holds `standby.signal`).
pub fn is_standby(inst: &Instance) -> bool {
    inst.data().join("standby.signal").exists()
}

/// Makes the (new, empty) data folder of `inst` a copy of `primary`'s, streaming from it.
pub fn base_backup(inst: &Instance, primary: &Instance) -> Result<(), InstanceError> {
    let tool = find("pg_basebackup", PACKAGE, DIRS)?;
    let args = vec![
        "-D".into(),
        inst.data().display().to_string(),
        "-h".into(),
        primary.host().to_string(),
        "-p".into(),
        primary.port.to_string(),
        "-U".into(),
        USER.into(),
        "-X".into(),
        "stream".into(),
        "-c".into(),
        "fast".into(),
        "-w".into(),
        // Without fsyncing every copied file (seconds on a busy disk, while a synchronous
        // primary waits for its standby): a standby made anew after an OS crash, never
        // after a server crash, which is what dbarena causes. The WAL it streams afterwards
        // is flushed as always.
        "--no-sync".into(),
    ];
    let pass = passfile(inst);
    run_env(
        &format!("pg_basebackup of {} from {}", inst.name, primary.name),
        inst.server_user(),
        &tool,
        &args,
        &[("PGPASSFILE", pass.as_path())],
    )?;
    follow(inst, primary)
}

/// Appends a setting to the instance's `postgresql.auto.conf` (a later line wins).
fn set(inst: &Instance, line: &str) -> Result<(), InstanceError> {
    let p = inst.data().join("postgresql.auto.conf");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .map_err(|e| failed(format!("opening {}", p.display()), e.to_string()))?;
    writeln!(f, "{line}").map_err(|e| failed(format!("writing {}", p.display()), e.to_string()))
}

/// Makes `inst` a standby streaming from `primary` (read at its next start).
fn follow(inst: &Instance, primary: &Instance) -> Result<(), InstanceError> {
    set(
        inst,
        &format!(
            "primary_conninfo = 'host={} port={} user={USER} passfile={} application_name={}'",
            primary.host(),
            primary.port,
            passfile(inst).display(),
            inst.name
        ),
    )?;
    let signal = inst.data().join("standby.signal");
    std::fs::write(&signal, "")
        .map_err(|e| failed(format!("writing {}", signal.display()), e.to_string()))?;
    if let Some(u) = inst.server_user() {
        super::layout::chown(&signal, u)?;
    }
    Ok(())
}

/// Commits wait until one standby among the members has flushed them; in every member, so
/// that a promoted standby keeps the promise. Members by name (each streams under its own
/// `application_name`), not `*`, which would let the WAL stream of a `pg_basebackup` making
/// a new standby acknowledge commits before that standby exists.
pub fn set_synchronous(members: &[Instance]) -> Result<(), InstanceError> {
    let names: Vec<String> = members.iter().map(|m| format!("\"{}\"", m.name)).collect();
    for m in members {
        set(
            m,
            &format!(
                "synchronous_standby_names = 'FIRST 1 ({})'",
                names.join(", ")
            ),
        )?;
    }
    Ok(())
}

/// Asks a running server to read its configuration again.
pub fn reload(inst: &Instance) -> Result<(), InstanceError> {
    let pg_ctl = find("pg_ctl", PACKAGE, DIRS)?;
    let args = vec![
        "-D".into(),
        inst.data().display().to_string(),
        "reload".into(),
    ];
    run("pg_ctl reload", inst.server_user(), &pg_ctl, &args)
}

/// Promotes a standby to primary and waits until it takes writes.
pub fn promote(inst: &Instance) -> Result<(), InstanceError> {
    let pg_ctl = find("pg_ctl", PACKAGE, DIRS)?;
    let args = vec![
        "-D".into(),
        inst.data().display().to_string(),
        "-w".into(),
        "-t".into(),
        "30".into(),
        "promote".into(),
    ];
    run(
        &format!("promoting {}", inst.name),
        inst.server_user(),
        &pg_ctl,
        &args,
    )
}

/// Waits until `n` standbys stream from `primary` (synchronous commits would wait for them).
pub fn wait_streaming(primary: &Instance, n: usize) -> Result<(), InstanceError> {
    let url = primary.admin_url()?;
    let until = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < until {
        match super::query(
            &url,
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
        ) {
            Ok(rows) => {
                let got: usize = rows
                    .first()
                    .and_then(|r| r.first().cloned().flatten())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if got >= n {
                    return Ok(());
                }
                last = format!("{got} of {n} standbys streaming");
            }
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(primary.with_log(failed(
        format!("waiting for the standbys of {}", primary.name),
        format!("after 30 s: {last}"),
    )))
}

/// Makes a stopped former primary a standby of `primary`: its data goes, a base backup of
/// the primary takes its place, and it starts streaming.
pub fn rejoin(inst: &Instance, primary: &Instance) -> Result<(), InstanceError> {
    let data = inst.data();
    if data.exists() {
        std::fs::remove_dir_all(&data)
            .map_err(|e| failed(format!("removing {}", data.display()), e.to_string()))?;
    }
    base_backup(inst, primary)?;
    super::postgres::start(inst)?;
    inst.wait_ready()
}
