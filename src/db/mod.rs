//! Everything that differs between databases: URLs, connections, errors, SQL dialect,
//! introspection. Code outside this module never matches on the database kind.

pub mod dialect;
pub mod error;
mod mysql;
mod postgres;
pub mod secret;
mod sqlite;
pub mod stats;
pub mod url;

pub use dialect::{Dialect, Isolation, Protocol};
pub use error::{within, DbError, ErrorKind};
pub use url::{DbKind, DbUrl};

use crate::schema::TableInfo;
use crate::value::Value;
use thiserror::Error;

/// Why a connection could not be opened; each says how to fix it.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("cannot reach the {kind} server at {host} ({detail}); is it running, and are host and port in --db right?")]
    Unreachable {
        kind: DbKind,
        host: String,
        detail: String,
    },
    #[error("authentication failed for {url} ({detail}); check the user and password in --db")]
    Auth { url: String, detail: String },
    #[error("database '{name}' does not exist on {url}; create it (CREATE DATABASE {name}) or fix the database name in --db")]
    UnknownDatabase { url: String, name: String },
    #[error("cannot open SQLite database '{path}' ({detail}); check that its directory exists and is writable")]
    Sqlite { path: String, detail: String },
    #[error("cannot connect to {url}: {detail}")]
    Other { url: String, detail: String },
}

/// What one statement returned.
#[derive(Debug, Clone, Default)]
pub struct StmtOutcome {
    /// Rows returned (queries) or affected (DML).
    pub rows: u64,
    /// First column of the first row, when the statement returns rows.
    pub first: Option<Value>,
    /// The generated key of an INSERT without RETURNING (MySQL).
    pub last_insert_id: Option<i64>,
}

impl StmtOutcome {
    /// The key an INSERT produced, from RETURNING or last_insert_id.
    pub fn inserted_key(&self) -> Option<Value> {
        self.first
            .clone()
            .or_else(|| self.last_insert_id.filter(|v| *v > 0).map(Value::Int))
    }
}

/// One open connection to any supported database.
pub enum Connection {
    Sqlite(sqlite::SqliteConn),
    Postgres(postgres::PgConn),
    Mysql(mysql::MyConn),
}

impl Connection {
    /// Opens a connection. For PostgreSQL and MySQL this must run inside a tokio runtime,
    /// which then also drives the connection.
    pub async fn connect(url: &DbUrl) -> Result<Connection, ConnectError> {
        Ok(match url.kind() {
            DbKind::Sqlite => Connection::Sqlite(sqlite::SqliteConn::open(url)?),
            DbKind::Postgres => Connection::Postgres(postgres::PgConn::connect(url).await?),
            DbKind::Mysql => Connection::Mysql(mysql::MyConn::connect(url).await?),
        })
    }

    /// The SQL dialect of this connection.
    pub fn dialect(&self) -> Dialect {
        Dialect::new(match self {
            Connection::Sqlite(_) => DbKind::Sqlite,
            Connection::Postgres(_) => DbKind::Postgres,
            Connection::Mysql(_) => DbKind::Mysql,
        })
    }

    /// Prepares the statements the workload will run; `run(i, …)` executes the i-th.
    pub async fn prepare_all(&mut self, sqls: &[String]) -> Result<(), DbError> {
        match self {
            Connection::Sqlite(c) => c.prepare_all(sqls),
            Connection::Postgres(c) => c.prepare_all(sqls).await,
            Connection::Mysql(c) => c.prepare_all(sqls).await,
        }
    }

    /// Runs a prepared statement (or, with another protocol, its SQL). The first value of
    /// the first row comes back only for inserts (their key); [`Self::run_first`] always.
    pub async fn run(&mut self, stmt: usize, params: &[Value]) -> Result<StmtOutcome, DbError> {
        match self {
            Connection::Sqlite(c) => c.run(stmt, params),
            Connection::Postgres(c) => {
                let want = c.wants_first(stmt);
                c.run(stmt, params, want).await
            }
            Connection::Mysql(c) => {
                let want = c.wants_first(stmt);
                c.run(stmt, params, want).await
            }
        }
    }

    /// Like [`Self::run`], and always returns the first value of the first row.
    pub async fn run_first(
        &mut self,
        stmt: usize,
        params: &[Value],
    ) -> Result<StmtOutcome, DbError> {
        match self {
            Connection::Sqlite(c) => c.run_with(stmt, params, true),
            Connection::Postgres(c) => c.run(stmt, params, true).await,
            Connection::Mysql(c) => c.run(stmt, params, true).await,
        }
    }

    /// Runs a prepared statement and returns every row with all its columns (workloads whose
    /// transactions use what they read, such as TPC-C's). Other protocols send the SQL text.
    pub async fn run_rows(
        &mut self,
        stmt: usize,
        params: &[Value],
    ) -> Result<Vec<Vec<Value>>, DbError> {
        match self {
            Connection::Sqlite(c) => c.run_rows(stmt, params),
            Connection::Postgres(c) => c.run_rows(stmt, params).await,
            Connection::Mysql(c) => c.run_rows(stmt, params).await,
        }
    }

    /// Another handle on the same PostgreSQL connection, for pipelining; None elsewhere.
    pub fn share(&self) -> Option<Connection> {
        match self {
            Connection::Postgres(c) => Some(Connection::Postgres(c.share())),
            _ => None,
        }
    }

    /// Chooses how `run` sends statements. SQLite always uses prepared statements.
    pub fn set_protocol(&mut self, p: Protocol) {
        match self {
            Connection::Sqlite(_) => {}
            Connection::Postgres(c) => c.protocol = p,
            Connection::Mysql(c) => c.protocol = p,
        }
    }

    /// Ends a transaction that failed with `e`: rolls it back, unless the connection is gone
    /// (there is nothing to roll back on, and the call would only wait).
    pub async fn rollback_after(&mut self, e: &DbError) {
        if e.kind != ErrorKind::ConnectionLost {
            let _ = self.execute("ROLLBACK").await;
        }
    }

    /// Runs SQL without parameters or results (DDL, BEGIN, COMMIT, SET…).
    pub async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Connection::Sqlite(c) => c.execute(sql),
            Connection::Postgres(c) => c.execute(sql).await,
            Connection::Mysql(c) => c.execute(sql).await,
        }
    }

    /// Runs a query and returns every value as text (setup and introspection only).
    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        match self {
            Connection::Sqlite(c) => c.query_text(sql),
            Connection::Postgres(c) => c.query_text(sql).await,
            Connection::Mysql(c) => c.query_text(sql).await,
        }
    }

    /// Inserts many rows with one statement per batch (setup only, not measured).
    pub async fn insert_rows(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        let d = self.dialect();
        let cols: Vec<String> = columns.iter().map(|c| d.ident(c)).collect();
        // Stay well under every database's parameter limit (SQLite: 32766, PostgreSQL: 65535).
        let per_batch = (30_000 / columns.len().max(1)).clamp(1, 1000);
        for chunk in rows.chunks(per_batch) {
            let mut sql = format!(
                "INSERT INTO {} ({}) VALUES ",
                d.ident(table),
                cols.join(", ")
            );
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for j in 0..columns.len() {
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    sql.push_str(&d.placeholder(n));
                }
                sql.push(')');
            }
            let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
            self.prepare_all(std::slice::from_ref(&sql)).await?;
            self.run(0, &params).await?;
        }
        Ok(())
    }

    /// Loads rows as fast as the database allows (PostgreSQL COPY, MySQL multi-row INSERT
    /// sized to max_allowed_packet, SQLite prepared inserts in one transaction). The batch is
    /// atomic: either all rows are committed or none.
    pub async fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Connection::Sqlite(c) => c.bulk_insert(table, columns, rows),
            Connection::Postgres(c) => c.bulk_insert(table, columns, rows).await,
            Connection::Mysql(c) => c.bulk_insert(table, columns, rows).await,
        }
    }

    /// Starts a load that spans many `bulk_insert` calls until [`Self::finish_fresh_load`].
    /// PostgreSQL: one transaction that empties the (empty) table first, so COPY can write the
    /// rows already frozen, as `pgbench -i` does. SQLite: commits every 50,000 rows however
    /// small the calls. Returns false (and does nothing) where this brings nothing.
    pub async fn begin_fresh_load(&mut self, table: &str) -> Result<bool, DbError> {
        match self {
            Connection::Postgres(c) => c.begin_fresh_load(table).await,
            // SQLite: one load spanning many small calls, committed every 50,000 rows.
            Connection::Sqlite(c) => c.begin_bulk().map(|_| true),
            _ => Ok(false),
        }
    }

    /// Commits a load started with [`Self::begin_fresh_load`].
    pub async fn finish_fresh_load(&mut self) -> Result<(), DbError> {
        match self {
            Connection::Postgres(c) => c.finish_fresh_load().await,
            Connection::Sqlite(c) => c.finish_bulk(),
            _ => Ok(()),
        }
    }

    /// The server's version string.
    pub async fn server_version(&mut self) -> Result<String, DbError> {
        let sql = match self {
            Connection::Sqlite(_) => "SELECT 'SQLite ' || sqlite_version()",
            Connection::Postgres(_) => "SHOW server_version",
            Connection::Mysql(_) => "SELECT VERSION()",
        };
        let rows = self.query_text(sql).await?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .unwrap_or_default())
    }

    /// The isolation level this connection's transactions get when none is set: PostgreSQL's
    /// `default_transaction_isolation`, MySQL/MariaDB's `@@transaction_isolation` (older:
    /// `@@tx_isolation`), SQLite's serializable. `None` for MySQL's READ UNCOMMITTED, which no
    /// checker model describes (PostgreSQL runs read uncommitted as read committed).
    pub async fn default_isolation(&mut self) -> Result<Option<Isolation>, DbError> {
        let rows = match self {
            Connection::Sqlite(_) => return Ok(Some(Isolation::Serializable)),
            Connection::Postgres(_) => {
                self.query_text("SHOW default_transaction_isolation")
                    .await?
            }
            Connection::Mysql(_) => match self.query_text("SELECT @@transaction_isolation").await {
                Ok(rows) => rows,
                Err(_) => self.query_text("SELECT @@tx_isolation").await?,
            },
        };
        let text = rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .unwrap_or_default();
        let level = text.to_ascii_lowercase().replace(['-', '_'], " ");
        match level.trim() {
            "read uncommitted" if matches!(self, Connection::Mysql(_)) => Ok(None),
            "read uncommitted" | "read committed" => Ok(Some(Isolation::ReadCommitted)),
            "repeatable read" => Ok(Some(Isolation::RepeatableRead)),
            "serializable" => Ok(Some(Isolation::Serializable)),
            _ => Err(DbError::new(
                ErrorKind::Other,
                "client",
                format!("unknown default isolation level '{text}'"),
            )),
        }
    }

    /// Names of the tables in the current database/schema.
    pub async fn list_tables(&mut self) -> Result<Vec<String>, DbError> {
        let sql = match self {
            Connection::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Connection::Postgres(_) => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
            Connection::Mysql(_) => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
            }
        };
        Ok(self
            .query_text(sql)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }

    /// Reads a table's columns, keys and row count; `None` if it does not exist.
    /// Tables with a foreign key to `table` (itself included when it references itself).
    pub async fn referencing_tables(&mut self, table: &str) -> Result<Vec<String>, DbError> {
        let lit = quote_literal(table);
        let sql = match self {
            Connection::Sqlite(_) => format!(
                "SELECT DISTINCT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND f.\"table\" = {lit}"
            ),
            Connection::Postgres(_) => format!(
                "SELECT DISTINCT tc.table_name FROM information_schema.table_constraints tc \
                 JOIN information_schema.constraint_column_usage ccu \
                   ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.table_schema \
                 WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() \
                   AND ccu.table_name = {lit}"
            ),
            Connection::Mysql(_) => format!(
                "SELECT DISTINCT table_name FROM information_schema.key_column_usage \
                 WHERE table_schema = DATABASE() AND referenced_table_name = {lit}"
            ),
        };
        Ok(self
            .query_text(&sql)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }

    pub async fn introspect(&mut self, table: &str) -> Result<Option<TableInfo>, DbError> {
        let mut info = match self {
            Connection::Sqlite(c) => c.introspect(table)?,
            Connection::Postgres(c) => c.introspect(table).await?,
            Connection::Mysql(c) => c.introspect(table).await?,
        };
        if let Some(t) = info.as_mut() {
            let sql = format!("SELECT COUNT(*) FROM {}", self.dialect().ident(table));
            let rows = self.query_text(&sql).await?;
            t.row_count = rows
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
        Ok(info)
    }

    /// Sets the session isolation level; returns false where the database has no such setting.
    pub async fn set_isolation(&mut self, level: Isolation) -> Result<bool, DbError> {
        match self.dialect().set_isolation(level) {
            Some(sql) => {
                self.execute(&sql).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Whether a statement is an INSERT, whose first returned value is the key it inserted.
pub(crate) fn is_insert(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("insert"))
}

/// Quotes a string literal for setup queries built from identifiers dbarena already knows.
pub(crate) fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
