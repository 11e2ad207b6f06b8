//! What the server itself counts: the statistics views of PostgreSQL and the global status of
//! MariaDB/MySQL, read as named numbers, and the server's process on this machine when it
//! runs here. Counters (totals since the server started) become rates per second in
//! `metrics::server`; gauges (sessions waiting now) are kept as they are.

use super::url::DbKind;
use super::{Connection, DbError};
use std::collections::BTreeMap;

/// One reading of the server's own figures.
#[derive(Debug, Clone, Default)]
pub struct ServerReading {
    /// Monotone totals (commits, blocks read, lock wait ms…), by name.
    pub counters: BTreeMap<String, f64>,
    /// Values of the moment (sessions waiting on locks, threads running…).
    pub gauges: BTreeMap<String, f64>,
}

/// The PostgreSQL counters of `pg_stat_database` for this database, under our names.
const PG_DATABASE: &[(&str, &str)] = &[
    ("xact_commit", "commits"),
    ("xact_rollback", "rollbacks"),
    ("blks_hit", "buffer_hits"),
    ("blks_read", "buffer_reads"),
    ("tup_returned", "rows_returned"),
    ("tup_fetched", "rows_fetched"),
    ("tup_inserted", "rows_inserted"),
    ("tup_updated", "rows_updated"),
    ("tup_deleted", "rows_deleted"),
    ("deadlocks", "deadlocks"),
    ("temp_bytes", "temp_bytes"),
];

/// MariaDB/MySQL global status counters under the same names where they mean the same.
const MY_COUNTERS: &[(&str, &str)] = &[
    // Handler_commit counts autocommitted statements too; Com_commit only explicit COMMITs.
    ("Handler_commit", "commits"),
    ("Handler_rollback", "rollbacks"),
    ("Com_commit", "explicit_commits"),
    ("Com_select", "selects"),
    ("Com_insert", "inserts"),
    ("Com_update", "updates"),
    ("Com_delete", "deletes"),
    ("Innodb_buffer_pool_read_requests", "buffer_hits"),
    ("Innodb_buffer_pool_reads", "buffer_reads"),
    ("Innodb_row_lock_waits", "lock_waits"),
    ("Innodb_row_lock_time", "lock_wait_ms"),
    ("Innodb_deadlocks", "deadlocks"),
    ("Innodb_data_written", "data_written_bytes"),
    ("Innodb_os_log_written", "wal_bytes"),
    ("Created_tmp_disk_tables", "temp_disk_tables"),
];

const MY_GAUGES: &[(&str, &str)] = &[("Threads_running", "threads_running")];

/// A figure as a finite number: Rust parses "NaN" and "inf" too, which no rate or total can
/// be and which the result file (JSON) cannot hold.
fn num(v: &Option<String>) -> Option<f64> {
    v.as_deref()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

/// Reads the server's figures; what a server version lacks (pg_stat_wal before 14, the
/// checkpointer view after 16) is left out rather than failing the reading.
pub async fn read(c: &mut Connection) -> Result<ServerReading, DbError> {
    let mut r = ServerReading::default();
    match c.dialect().kind() {
        DbKind::Sqlite => {}
        DbKind::Postgres => {
            let cols: Vec<&str> = PG_DATABASE.iter().map(|(c, _)| *c).collect();
            let rows = c
                .query_text(&format!(
                    "SELECT {} FROM pg_stat_database WHERE datname = current_database()",
                    cols.join(", ")
                ))
                .await?;
            if let Some(row) = rows.first() {
                for ((_, name), v) in PG_DATABASE.iter().zip(row) {
                    if let Some(x) = num(v) {
                        r.counters.insert(name.to_string(), x);
                    }
                }
            }
            if let Ok(rows) = c
                .query_text("SELECT wal_records, wal_bytes FROM pg_stat_wal")
                .await
            {
                if let Some(row) = rows.first() {
                    for (name, v) in ["wal_records", "wal_bytes"].iter().zip(row) {
                        if let Some(x) = num(v) {
                            r.counters.insert(name.to_string(), x);
                        }
                    }
                }
            }
            let checkpoints = match c
                .query_text("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
                .await
            {
                Ok(rows) => rows,
                Err(_) => c
                    .query_text("SELECT num_timed + num_requested FROM pg_stat_checkpointer")
                    .await
                    .unwrap_or_default(),
            };
            if let Some(x) = checkpoints.first().and_then(|row| num(row.first()?)) {
                r.counters.insert("checkpoints".into(), x);
            }
            // What the other sessions are waiting on right now.
            let waits = c
                .query_text(
                    "SELECT coalesce(wait_event_type, 'CPU'), count(*) FROM pg_stat_activity \
                     WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend' \
                     GROUP BY 1",
                )
                .await?;
            r.gauges.insert("active_sessions".into(), 0.0);
            for row in waits {
                let (Some(kind), Some(n)) =
                    (row.first().cloned().flatten(), row.get(1).and_then(num))
                else {
                    continue;
                };
                *r.gauges.entry("active_sessions".into()).or_default() += n;
                r.gauges
                    .insert(format!("waiting_{}", kind.to_ascii_lowercase()), n);
            }
        }
        DbKind::Mysql => {
            let names: Vec<String> = MY_COUNTERS
                .iter()
                .chain(MY_GAUGES)
                .map(|(n, _)| format!("'{n}'"))
                .collect();
            let rows = c
                .query_text(&format!(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN ({})",
                    names.join(", ")
                ))
                .await?;
            for row in rows {
                let (Some(key), Some(v)) =
                    (row.first().cloned().flatten(), row.get(1).and_then(num))
                else {
                    continue;
                };
                if let Some((_, name)) = MY_COUNTERS
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                {
                    r.counters.insert(name.to_string(), v);
                } else if let Some((_, name)) =
                    MY_GAUGES.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key))
                {
                    r.gauges.insert(name.to_string(), v);
                }
            }
        }
    }
    Ok(r)
}

/// The process id of the server, as the server reports it: the postmaster for PostgreSQL
/// (whose children are the backends), the one server process for MariaDB. Whether that
/// process is on this machine is for the caller to check in /proc.
pub async fn server_pid(c: &mut Connection) -> Option<u32> {
    match c.dialect().kind() {
        DbKind::Sqlite => None,
        DbKind::Postgres => {
            let rows = c.query_text("SELECT pg_backend_pid()").await.ok()?;
            let backend: u32 = rows.first()?.first()?.as_deref()?.parse().ok()?;
            // The backend's parent is the postmaster.
            let stat = std::fs::read_to_string(format!("/proc/{backend}/stat")).ok()?;
            let rest = stat.rsplit_once(')')?.1;
            rest.split_whitespace().nth(1)?.parse().ok()
        }
        DbKind::Mysql => {
            let rows = c.query_text("SELECT @@pid_file").await.ok()?;
            let file = rows.first()?.first()?.clone()?;
            std::fs::read_to_string(file).ok()?.trim().parse().ok()
        }
    }
}
