//! Embedded SQLite through rusqlite (bundled: nothing to install).

use super::error::{DbError, ErrorKind};
use super::url::{DbUrl, SqliteLocation};
use super::{quote_literal, ConnectError, StmtOutcome};
use crate::schema::{ColKind, ColumnInfo, ForeignKey, TableInfo};
use crate::value::Value;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ffi, OpenFlags, ToSql};

/// One SQLite connection. SQLite calls block, so each one gets its own OS thread.
pub struct SqliteConn {
    /// The workload's statements, prepared once by [`Self::prepare_all`] and kept here rather
    /// than in rusqlite's statement cache, whose lookup and return by SQL text cost about as
    /// much per transaction as the rest of the engine. They borrow `conn`; `Drop` finalizes
    /// them before it closes the connection.
    prepared: Vec<rusqlite::Statement<'static>>,
    /// Owned (from a `Box`), never moved or borrowed mutably while `prepared` borrows it.
    conn: std::ptr::NonNull<rusqlite::Connection>,
    /// Whether a statement's first value is wanted (INSERT … RETURNING): reads skip the copy.
    wants_first: Vec<bool>,
    /// Rows inserted in the open bulk transaction, when a bulk load spans several calls.
    bulk_open: Option<u64>,
}

/// Rows per transaction of a multi-call bulk load.
const BULK_COMMIT_ROWS: u64 = 50_000;

impl SqliteConn {
    pub fn open(url: &DbUrl) -> Result<Self, ConnectError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let (path, conn) = match url.sqlite_location() {
            Some(SqliteLocation::File(p)) => (
                p.display().to_string(),
                rusqlite::Connection::open_with_flags(p, flags),
            ),
            _ => {
                // memdb VFS databases whose name starts with '/' are shared by all
                // connections of the process, with real locking between them.
                // Every connection of one process that opens `sqlite::memory:` sees the same data.
                let uri = format!("file:/dbarena-mem-{}?vfs=memdb", std::process::id());
                (
                    ":memory:".into(),
                    rusqlite::Connection::open_with_flags(uri, flags),
                )
            }
        };
        let conn = conn.map_err(|e| ConnectError::Sqlite {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let setup = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
        conn.execute_batch(setup)
            .map_err(|e| ConnectError::Sqlite {
                path,
                detail: e.to_string(),
            })?;
        Ok(SqliteConn {
            prepared: Vec::new(),
            conn: std::ptr::NonNull::from(Box::leak(Box::new(conn))),
            wants_first: Vec::new(),
            bulk_open: None,
        })
    }

    fn conn(&self) -> &rusqlite::Connection {
        // SAFETY: `conn` points to the connection this struct owns, alive until `Drop`.
        unsafe { self.conn.as_ref() }
    }

    pub fn prepare_all(&mut self, sqls: &[String]) -> Result<(), DbError> {
        self.prepared.clear();
        self.wants_first.clear();
        // SAFETY: the connection outlives every statement in `prepared` (`Drop` finalizes them
        // first) and is never borrowed mutably; `'static` stands for "as long as `self`".
        let conn: &'static rusqlite::Connection = unsafe { &*self.conn.as_ptr() };
        for sql in sqls {
            // Persistent, as rusqlite's cache prepares them: a statement kept for the whole
            // run must not hold SQLite's lookaside memory, or every step mallocs (measured:
            // 3,000 instructions more per point select).
            let st = conn
                .prepare_with_flags(sql, rusqlite::PrepFlags::SQLITE_PREPARE_PERSISTENT)
                .map_err(map_err)?;
            self.prepared.push(st);
        }
        self.wants_first = sqls.iter().map(|s| super::is_insert(s)).collect();
        Ok(())
    }

    pub fn run(&mut self, stmt: usize, params: &[Value]) -> Result<StmtOutcome, DbError> {
        let want = self.wants_first.get(stmt).copied().unwrap_or(false);
        self.run_with(stmt, params, want)
    }

    pub fn run_with(
        &mut self,
        stmt: usize,
        params: &[Value],
        want: bool,
    ) -> Result<StmtOutcome, DbError> {
        let st = self
            .prepared
            .get_mut(stmt)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
        // Binding in place avoids two allocations per statement on the hot path. A kept
        // statement keeps its bindings between runs: with fewer values than placeholders the
        // rest are cleared to NULL (as a fresh statement has them), never last run's values.
        if params.len() < st.parameter_count() {
            st.clear_bindings();
        }
        for (i, v) in params.iter().enumerate() {
            st.raw_bind_parameter(i + 1, SqlValue(v)).map_err(map_err)?;
        }
        if st.column_count() > 0 {
            let mut rows = st.raw_query();
            let mut out = StmtOutcome::default();
            while let Some(row) = rows.next().map_err(map_err)? {
                if out.rows == 0 && want {
                    out.first = row.get_ref(0).ok().map(from_ref);
                }
                out.rows += 1;
            }
            Ok(out)
        } else {
            let n = st.raw_execute().map_err(map_err)?;
            Ok(StmtOutcome {
                rows: n as u64,
                first: None,
                last_insert_id: Some(self.conn().last_insert_rowid()),
            })
        }
    }

    pub fn run_rows(&mut self, stmt: usize, params: &[Value]) -> Result<Vec<Vec<Value>>, DbError> {
        let st = self
            .prepared
            .get_mut(stmt)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
        if params.len() < st.parameter_count() {
            st.clear_bindings();
        }
        for (i, v) in params.iter().enumerate() {
            st.raw_bind_parameter(i + 1, SqlValue(v)).map_err(map_err)?;
        }
        let n = st.column_count();
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut r = Vec::with_capacity(n);
            for i in 0..n {
                r.push(row.get_ref(i).map(from_ref).map_err(map_err)?);
            }
            out.push(r);
        }
        Ok(out)
    }

    pub fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        let cols: Vec<String> = columns
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect();
        let ph: Vec<&str> = columns.iter().map(|_| "?").collect();
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            table.replace('"', "\"\""),
            cols.join(", "),
            ph.join(", ")
        );
        if let Some(done) = self.bulk_open {
            // Part of a longer load: small calls keep generated rows hot in the CPU cache,
            // while commits stay 50,000 rows apart (each commit may checkpoint the WAL).
            {
                let mut st = self.conn().prepare_cached(&sql).map_err(map_err)?;
                for row in rows {
                    for (i, v) in row.iter().enumerate() {
                        st.raw_bind_parameter(i + 1, SqlValue(v)).map_err(map_err)?;
                    }
                    st.raw_execute().map_err(map_err)?;
                }
            }
            let done = done + rows.len() as u64;
            if done >= BULK_COMMIT_ROWS {
                self.conn()
                    .execute_batch("COMMIT; BEGIN")
                    .map_err(map_err)?;
                self.bulk_open = Some(0);
            } else {
                self.bulk_open = Some(done);
            }
            return Ok(());
        }
        // Unchecked: the connection is only ever borrowed shared (see `prepared`).
        let tx = self.conn().unchecked_transaction().map_err(map_err)?;
        {
            let mut st = tx.prepare_cached(&sql).map_err(map_err)?;
            for row in rows {
                for (i, v) in row.iter().enumerate() {
                    st.raw_bind_parameter(i + 1, SqlValue(v)).map_err(map_err)?;
                }
                st.raw_execute().map_err(map_err)?;
            }
        }
        tx.commit().map_err(map_err)
    }

    pub fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn().execute_batch(sql).map_err(map_err)
    }

    pub fn begin_bulk(&mut self) -> Result<(), DbError> {
        self.conn().execute_batch("BEGIN").map_err(map_err)?;
        self.bulk_open = Some(0);
        Ok(())
    }

    pub fn finish_bulk(&mut self) -> Result<(), DbError> {
        self.bulk_open = None;
        self.conn().execute_batch("COMMIT").map_err(map_err)
    }

    pub fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        let mut st = self.conn().prepare(sql).map_err(map_err)?;
        let n = st.column_count();
        let mut rows = st.query([]).map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut r = Vec::with_capacity(n);
            for i in 0..n {
                r.push(match row.get_ref(i).map_err(map_err)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(v) => Some(v.to_string()),
                    ValueRef::Real(v) => Some(v.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            out.push(r);
        }
        Ok(out)
    }

    pub fn introspect(&mut self, table: &str) -> Result<Option<TableInfo>, DbError> {
        let lit = quote_literal(table);
        let cols = self.query_text(&format!(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info({lit})"
        ))?;
        if cols.is_empty() {
            return Ok(None);
        }
        let mut unique_cols = Vec::new();
        let mut unique_keys = Vec::new();
        let mut index_notes = Vec::new();
        let indexes = self.query_text(&format!(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list({lit})"
        ))?;
        for idx in indexes {
            if idx.get(1).cloned().flatten().as_deref() != Some("1") {
                continue;
            }
            let partial = idx.get(3).cloned().flatten().as_deref() == Some("1");
            let is_pk = idx.get(2).cloned().flatten().as_deref() == Some("pk");
            let Some(name) = idx.first().cloned().flatten() else {
                continue;
            };
            let members = self.query_text(&format!(
                "SELECT name FROM pragma_index_info({})",
                quote_literal(&name)
            ))?;
            if members
                .iter()
                .any(|m| m.first().cloned().flatten().is_none())
            {
                index_notes.push(format!(
                    "unique index {name} is on an expression, which seeding does not handle: a duplicate can fail the load"
                ));
                continue;
            }
            if partial {
                index_notes.push(format!(
                    "partial unique index {name}: filled as if unique on every row"
                ));
            }
            if members.len() == 1 {
                if let Some(c) = members[0].first().cloned().flatten() {
                    unique_cols.push(c);
                }
            } else if !is_pk {
                let cols: Vec<String> = members
                    .iter()
                    .filter_map(|m| m.first().cloned().flatten())
                    .collect();
                if cols.len() == members.len() {
                    unique_keys.push(cols);
                }
            }
        }
        let pk_count = cols
            .iter()
            .filter(|r| r.get(4).cloned().flatten().unwrap_or_default() != "0")
            .count();
        let mut columns = Vec::new();
        let mut primary_key = Vec::new();
        for r in &cols {
            let name = r[0].clone().unwrap_or_default();
            let sql_type = r[1].clone().unwrap_or_default();
            let pk = r[4].clone().unwrap_or_default() != "0";
            if pk {
                primary_key.push(name.clone());
            }
            let (max_len, prec, scale) = parse_type_args(&sql_type);
            let kind = ColKind::from_sql(&sql_type, max_len, prec, scale);
            // INTEGER PRIMARY KEY is an alias of the rowid: SQLite fills it in.
            let rowid = pk && pk_count == 1 && sql_type.eq_ignore_ascii_case("integer");
            columns.push(ColumnInfo {
                unique: unique_cols.contains(&name),
                name,
                sql_type,
                kind,
                nullable: r[2].clone().unwrap_or_default() == "0" && !pk,
                auto_generated: rowid,
                has_default: r[3].is_some(),
            });
        }
        let fks = self.query_text(&format!(
            "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list({lit})"
        ))?;
        let foreign_keys = fks
            .into_iter()
            .filter_map(|r| {
                let column = r.first().cloned().flatten()?;
                let ref_table = r.get(1).cloned().flatten()?;
                let ref_column = r.get(2).cloned().flatten().unwrap_or_else(|| "id".into());
                Some(ForeignKey {
                    column,
                    ref_table,
                    ref_column,
                })
            })
            .collect();
        Ok(Some(TableInfo {
            name: table.to_string(),
            columns,
            primary_key,
            foreign_keys,
            row_count: 0,
            unique_keys,
            index_notes,
        }))
    }
}

impl Drop for SqliteConn {
    fn drop(&mut self) {
        // Statements first: they borrow the connection.
        self.prepared.clear();
        // SAFETY: `conn` came from `Box::leak` in `open` and is dropped only here.
        drop(unsafe { Box::from_raw(self.conn.as_ptr()) });
    }
}

// SAFETY: the connection (which rusqlite makes `Send`) and the statements that borrow it move
// between threads only together, inside this struct, and are used through `&mut self` alone.
unsafe impl Send for SqliteConn {}

/// `VARCHAR(20)` -> (Some(20), Some(20), None); `DECIMAL(10,2)` -> (None, Some(10), Some(2)).
fn parse_type_args(t: &str) -> (Option<u32>, Option<u32>, Option<u32>) {
    let Some(open) = t.find('(') else {
        return (None, None, None);
    };
    let inner = t[open + 1..].trim_end_matches(')');
    let mut nums = inner.split(',').map(|x| x.trim().parse::<u32>().ok());
    let a = nums.next().flatten();
    let b = nums.next().flatten();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("dec") || lower.starts_with("num") {
        (None, a, b)
    } else {
        (a, a, b)
    }
}

struct SqlValue<'a>(&'a Value);

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*v)),
            Value::Float(v) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*v)),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*b as i64)),
            Value::Decimal(s) => match s.parse::<f64>() {
                Ok(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(f)),
                Err(_) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            },
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            other => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                other.to_sql_text().unwrap_or_default(),
            )),
        })
    }
}

fn from_ref(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

fn map_err(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(err, msg) => {
            let message = msg.clone().unwrap_or_else(|| err.to_string());
            let (kind, code) = match err.code {
                ffi::ErrorCode::DatabaseBusy => (ErrorKind::LockTimeout, "SQLITE_BUSY".to_string()),
                ffi::ErrorCode::DatabaseLocked => {
                    (ErrorKind::LockTimeout, "SQLITE_LOCKED".to_string())
                }
                ffi::ErrorCode::ConstraintViolation => {
                    (ErrorKind::Constraint, "SQLITE_CONSTRAINT".to_string())
                }
                _ => (ErrorKind::Other, format!("SQLITE_{}", err.extended_code)),
            };
            DbError::new(kind, code, message)
        }
        _ => DbError::new(ErrorKind::Other, "sqlite", e.to_string()),
    }
}
