//! MySQL and MariaDB. A connection is one server session, served by one of two clients:
//! dbarena's own lean wire client ([`wire`]: the workload's hot path, with MariaDB's result
//! metadata cache), or mysql_async (pure Rust, no system libraries) where the lean client does
//! not reach: TLS, Unix sockets, compression, init statements, other authentication plugins.

mod packet;
mod wire;

use super::error::{kind_from_sqlstate, DbError, ErrorKind};
use super::url::{DbKind, DbUrl};
use super::{quote_literal, ConnectError, StmtOutcome};
use crate::schema::{ColKind, ColumnInfo, ForeignKey, TableInfo};
use crate::value::Value;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Row, Statement};
use std::time::Duration;
use wire::{ConnectFail, Login, Prepared, Sink, Wire};

/// The client behind a connection, with the statements it prepared.
enum Link {
    Lean {
        wire: Box<Wire>,
        statements: Vec<Prepared>,
    },
    Async {
        conn: Box<Conn>,
        statements: Vec<Statement>,
    },
}

/// One MySQL/MariaDB connection.
pub struct MyConn {
    link: Link,
    sqls: Vec<String>,
    pub(crate) protocol: super::Protocol,
    /// (max_allowed_packet, backslash escapes on) once asked.
    bulk: Option<(usize, bool)>,
    /// LOAD DATA LOCAL INFILE works here (None: not tried yet).
    infile: Option<bool>,
    /// Why the lean client could not serve this connection, when it could not.
    fallback: Option<String>,
}

impl MyConn {
    /// Connects to the first host of the URL's list that answers and is ready: MySQL drivers
    /// take one host, so dbarena fails over itself. A Galera node that is not ready for
    /// clients (`wsrep_ready` OFF: joining, or cut off from the majority) is passed over.
    pub async fn connect(url: &DbUrl) -> Result<Self, ConnectError> {
        let hosts = url.hosts();
        if hosts.len() < 2 {
            return Self::connect_one(url, Duration::from_secs(5)).await;
        }
        let mut last = None;
        for h in &hosts {
            // A host cut off by a partition must leave the next ones time within the
            // engine's bound on one reconnect (5 s at most).
            match Self::connect_one(&url.with_host(h), Duration::from_secs(2)).await {
                Ok(mut c) => {
                    if c.ready().await {
                        return Ok(c);
                    }
                    last = Some(ConnectError::Unreachable {
                        kind: DbKind::Mysql,
                        host: h.clone(),
                        detail: "the Galera node is not ready for clients (wsrep_ready OFF)".into(),
                    })
                }
                // Wrong credentials or database are wrong on every host.
                Err(e @ (ConnectError::Auth { .. } | ConnectError::UnknownDatabase { .. })) => {
                    return Err(e)
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ConnectError::Other {
            url: url.redacted(),
            detail: "no host in the URL".into(),
        }))
    }

    /// Whether the server takes transactions: false only for a Galera node that says it is
    /// not ready. A server without Galera has no `wsrep_ready`, and one built with it but
    /// not running it (`wsrep_on` OFF) reports `wsrep_ready` OFF while it serves clients.
    async fn ready(&mut self) -> bool {
        let value = |rows: Vec<Vec<Option<String>>>| {
            rows.into_iter()
                .next()
                .and_then(|r| r.into_iter().nth(1).flatten())
        };
        match self.query_text("SHOW VARIABLES LIKE 'wsrep_on'").await {
            Ok(rows) => match value(rows) {
                Some(on) if on.eq_ignore_ascii_case("ON") => {}
                _ => return true,
            },
            Err(_) => return false,
        }
        match self.query_text("SHOW STATUS LIKE 'wsrep_ready'").await {
            Ok(rows) => value(rows).is_none_or(|v| v.eq_ignore_ascii_case("ON")),
            Err(_) => false,
        }
    }

    /// Whether this connection runs on dbarena's own wire client (tests and benchmarks ask).
    pub fn is_lean(&self) -> bool {
        matches!(self.link, Link::Lean { .. })
    }

    /// Why this connection runs on mysql_async, when the lean client was tried and declined.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    async fn connect_one(url: &DbUrl, limit: Duration) -> Result<Self, ConnectError> {
        // mysql_async parses the URL for both clients, so options mean the same on both.
        let opts = Opts::from_url(url.secret_url()).map_err(|e| ConnectError::Other {
            url: url.redacted(),
            detail: e.to_string(),
        })?;
        let fallback = match opts.pass() {
            None => url.fallback_password(),
            Some(_) => None,
        };
        let mut declined = None;
        if lean_serves(&opts) {
            let login = Login {
                host: opts.ip_or_hostname(),
                port: opts.tcp_port(),
                user: opts.user().unwrap_or(""),
                password: opts.pass().or(fallback.as_deref()).unwrap_or(""),
                database: opts.db_name(),
            };
            match tokio::time::timeout(limit, Wire::connect(&login)).await {
                Ok(Ok(wire)) => {
                    return Ok(MyConn::with(Link::Lean {
                        wire: Box::new(wire),
                        statements: Vec::new(),
                    }))
                }
                // Something only mysql_async implements: connect through it below.
                Ok(Err(ConnectFail::Unsupported(why))) => declined = Some(why),
                Ok(Err(ConnectFail::Server(e))) => {
                    return Err(connect_server_error(url, e.code, e.message))
                }
                Ok(Err(ConnectFail::Io(e))) => {
                    return Err(ConnectError::Unreachable {
                        kind: DbKind::Mysql,
                        host: url.host_port(),
                        detail: e.to_string(),
                    })
                }
                Ok(Err(ConnectFail::Malformed(m))) => {
                    return Err(ConnectError::Other {
                        url: url.redacted(),
                        detail: m.to_string(),
                    })
                }
                Err(_) => {
                    return Err(ConnectError::Unreachable {
                        kind: DbKind::Mysql,
                        host: url.host_port(),
                        detail: format!("timed out after {} s", limit.as_secs()),
                    })
                }
            }
        }
        let mut opts = OptsBuilder::from_opts(opts);
        if let Some(pw) = fallback {
            opts = opts.pass(Some(pw));
        }
        let opts = opts
            .prefer_socket(false)
            .stmt_cache_size(0)
            .tcp_nodelay(true);
        let fut = Conn::new(opts);
        let conn = match tokio::time::timeout(limit, fut).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(connect_error(url, e)),
            Err(_) => {
                return Err(ConnectError::Unreachable {
                    kind: DbKind::Mysql,
                    host: url.host_port(),
                    detail: format!("timed out after {} s", limit.as_secs()),
                })
            }
        };
        let mut c = MyConn::with(Link::Async {
            conn: Box::new(conn),
            statements: Vec::new(),
        });
        c.fallback = declined;
        Ok(c)
    }

    fn with(link: Link) -> Self {
        MyConn {
            link,
            sqls: Vec::new(),
            protocol: super::Protocol::Prepared,
            bulk: None,
            infile: None,
            fallback: None,
        }
    }

    fn sql(&self, stmt: usize) -> Result<&str, DbError> {
        self.sqls
            .get(stmt)
            .map(String::as_str)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))
    }

    /// Whether `run` returns statement `stmt`'s first value by default (inserts: their key).
    pub fn wants_first(&self, stmt: usize) -> bool {
        self.sqls.get(stmt).is_some_and(|s| super::is_insert(s))
    }

    pub async fn prepare_all(&mut self, sqls: &[String]) -> Result<(), DbError> {
        // The text protocol sends SQL each time: nothing to prepare on the server.
        let server_side = self.protocol == super::Protocol::Prepared;
        match &mut self.link {
            Link::Lean { wire, statements } => {
                for st in statements.drain(..) {
                    let _ = wire.close(st).await;
                }
                for sql in sqls.iter().filter(|_| server_side) {
                    statements.push(wire.prepare(sql).await?);
                }
            }
            Link::Async { conn, statements } => {
                for st in statements.drain(..) {
                    let _ = conn.close(st).await;
                }
                for sql in sqls.iter().filter(|_| server_side) {
                    statements.push(conn.prep(sql.as_str()).await.map_err(map_error)?);
                }
            }
        }
        self.sqls = sqls.to_vec();
        Ok(())
    }

    /// `want`: return the first value of the first row (a copy, which only inserts returning
    /// their key and explicit reads need).
    pub async fn run(
        &mut self,
        stmt: usize,
        params: &[Value],
        want: bool,
    ) -> Result<StmtOutcome, DbError> {
        if self.protocol != super::Protocol::Prepared {
            // MySQL has no unnamed extended protocol: both other modes send SQL text.
            let text = super::Dialect::new(DbKind::Mysql).interpolate(self.sql(stmt)?, params);
            return match &mut self.link {
                Link::Lean { wire, .. } => {
                    let sink = if want { Sink::First } else { Sink::Count };
                    wire.query(&text, sink, None).await
                }
                Link::Async { conn, .. } => async_text_run(conn, text).await,
            };
        }
        let missing = || DbError::client(format!("statement {stmt} was not prepared"));
        match &mut self.link {
            Link::Lean { wire, statements } => {
                let st = statements.get_mut(stmt).ok_or_else(missing)?;
                let sink = if want { Sink::First } else { Sink::Count };
                wire.execute(st, params, sink).await
            }
            Link::Async { conn, statements } => {
                let st = statements.get(stmt).ok_or_else(missing)?.clone();
                async_run(conn, st, params, want).await
            }
        }
    }

    pub async fn run_rows(
        &mut self,
        stmt: usize,
        params: &[Value],
    ) -> Result<Vec<Vec<Value>>, DbError> {
        let text = match self.protocol {
            super::Protocol::Prepared => None,
            _ => Some(super::Dialect::new(DbKind::Mysql).interpolate(self.sql(stmt)?, params)),
        };
        let missing = || DbError::client(format!("statement {stmt} was not prepared"));
        let rows: Vec<Row> = match (&mut self.link, text) {
            (Link::Lean { wire, .. }, Some(text)) => {
                let mut rows = Vec::new();
                wire.query(&text, Sink::Values(&mut rows), None).await?;
                return Ok(rows);
            }
            (Link::Lean { wire, statements }, None) => {
                let st = statements.get_mut(stmt).ok_or_else(missing)?;
                let mut rows = Vec::new();
                wire.execute(st, params, Sink::Values(&mut rows)).await?;
                return Ok(rows);
            }
            (Link::Async { conn, .. }, Some(text)) => conn.query(text).await.map_err(map_error)?,
            (Link::Async { conn, statements }, None) => {
                let st = statements.get(stmt).ok_or_else(missing)?.clone();
                conn.exec(st, to_params(params)).await.map_err(map_error)?
            }
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => Value::Null,
                        mysql_async::Value::Int(i) => Value::Int(i),
                        mysql_async::Value::UInt(u) => Value::Int(u as i64),
                        mysql_async::Value::Float(f) => Value::Float(f as f64),
                        mysql_async::Value::Double(f) => Value::Float(f),
                        mysql_async::Value::Bytes(b) => {
                            Value::Text(String::from_utf8_lossy(&b).into_owned())
                        }
                        other => Value::Text(other.as_sql(true).trim_matches('\'').to_string()),
                    })
                    .collect()
            })
            .collect())
    }

    pub async fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        // LOAD DATA LOCAL INFILE, fed from memory, skips SQL parsing of every value; servers
        // that refuse it (local_infile=OFF) get multi-row INSERTs instead.
        if self.infile != Some(false) {
            match self.load_data(table, columns, rows).await {
                Ok(()) => {
                    self.infile = Some(true);
                    return Ok(());
                }
                Err(e)
                    if self.infile.is_none()
                        && matches!(e.code.as_str(), "1148" | "3948" | "4166" | "2068") =>
                {
                    self.infile = Some(false);
                }
                Err(e) => return Err(e),
            }
        }
        self.insert_values(table, columns, rows).await
    }

    async fn load_data(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        let mut buf = bytes::BytesMut::with_capacity(rows.len() * 64);
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b"\t");
                }
                match v {
                    Value::Null => buf.extend_from_slice(b"\\N"),
                    Value::Bool(b) => buf.extend_from_slice(if *b { b"1" } else { b"0" }),
                    Value::Int(n) => buf.extend_from_slice(n.to_string().as_bytes()),
                    Value::Text(s) | Value::Decimal(s) => escape_tsv(s, &mut buf),
                    other => escape_tsv(&other.to_sql_text().unwrap_or_default(), &mut buf),
                }
            }
            buf.extend_from_slice(b"\n");
        }
        let data = buf.freeze();
        let q = |s: &str| format!("`{}`", s.replace('`', "``"));
        let cols: Vec<String> = columns.iter().map(|c| q(c)).collect();
        let sql = format!(
            "LOAD DATA LOCAL INFILE 'dbarena-batch' INTO TABLE {} CHARACTER SET utf8mb4 ({})",
            q(table),
            cols.join(", ")
        );
        // With LOCAL the server skips rows that break a unique key (as if IGNORE were given),
        // so the count is checked inside a transaction and a short load rolls back.
        self.execute("START TRANSACTION").await?;
        let loaded = match &mut self.link {
            Link::Lean { wire, .. } => wire
                .query(&sql, Sink::Count, Some(&data))
                .await
                .map(|o| o.rows),
            Link::Async { conn, .. } => {
                conn.set_infile_handler(async move {
                    Ok(
                        Box::pin(futures_util::stream::once(async move { Ok(data) }))
                            as mysql_async::InfileData,
                    )
                });
                match conn.query_drop(sql).await {
                    Ok(()) => Ok(conn.affected_rows()),
                    Err(e) => Err(map_error(e)),
                }
            }
        };
        let loaded = match loaded {
            Ok(n) => n,
            Err(e) => {
                let _ = self.execute("ROLLBACK").await;
                return Err(e);
            }
        };
        if loaded != rows.len() as u64 {
            let warning = self
                .query_text("SHOW WARNINGS LIMIT 1")
                .await
                .ok()
                .and_then(|r| r.into_iter().next())
                .map(|r| (r.get(1).cloned().flatten(), r.get(2).cloned().flatten()));
            let _ = self.execute("ROLLBACK").await;
            let (code, message) = match warning {
                Some((Some(c), Some(m))) => (c, m),
                _ => ("1062".into(), "rows were skipped".into()),
            };
            return Err(DbError::new(
                kind_from_code(&code),
                code,
                format!(
                    "{message} (LOAD DATA loaded {loaded} of {} rows)",
                    rows.len()
                ),
            ));
        }
        self.execute("COMMIT").await
    }

    async fn insert_values(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        let (max_packet, backslash) = match self.bulk {
            Some(b) => b,
            None => {
                let r = self
                    .query_text("SELECT @@max_allowed_packet, @@sql_mode")
                    .await?;
                let packet = r
                    .first()
                    .and_then(|x| x[0].as_deref())
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(4 << 20);
                let mode = r.first().and_then(|x| x[1].clone()).unwrap_or_default();
                let b = (packet, !mode.contains("NO_BACKSLASH_ESCAPES"));
                self.bulk = Some(b);
                b
            }
        };
        // Statements stay under max_allowed_packet (with headroom), and under 16 MiB, past
        // which larger statements stop paying off.
        let limit = (max_packet.saturating_sub(1024) * 9 / 10).clamp(64 << 10, 16 << 20);
        let q = |s: &str| format!("`{}`", s.replace('`', "``"));
        let cols: Vec<String> = columns.iter().map(|c| q(c)).collect();
        let head = format!("INSERT INTO {} ({}) VALUES ", q(table), cols.join(", "));
        self.execute("START TRANSACTION").await?;
        let mut sql = String::with_capacity(limit.min(1 << 20));
        let mut n = 0;
        for row in rows {
            let mut tuple = String::with_capacity(row.len() * 16);
            tuple.push('(');
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    tuple.push(',');
                }
                literal(v, backslash, &mut tuple);
            }
            tuple.push(')');
            if n > 0 && sql.len() + tuple.len() + 1 > limit {
                if let Err(e) = self.execute(&sql).await {
                    let _ = self.execute("ROLLBACK").await;
                    return Err(e);
                }
                sql.clear();
                n = 0;
            }
            if n == 0 {
                sql.push_str(&head);
            } else {
                sql.push(',');
            }
            sql.push_str(&tuple);
            n += 1;
        }
        if n > 0 {
            if let Err(e) = self.execute(&sql).await {
                let _ = self.execute("ROLLBACK").await;
                return Err(e);
            }
        }
        self.execute("COMMIT").await
    }

    pub async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.link {
            Link::Lean { wire, .. } => wire.query(sql, Sink::Count, None).await.map(|_| ()),
            Link::Async { conn, .. } => conn.query_drop(sql).await.map_err(map_error),
        }
    }

    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        let conn = match &mut self.link {
            Link::Lean { wire, .. } => {
                let mut rows = Vec::new();
                wire.query(sql, Sink::Text(&mut rows), None).await?;
                return Ok(rows);
            }
            Link::Async { conn, .. } => conn,
        };
        let rows: Vec<Row> = conn.query(sql).await.map_err(map_error)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => {
                            Some(String::from_utf8_lossy(&b).into_owned())
                        }
                        mysql_async::Value::Int(i) => Some(i.to_string()),
                        mysql_async::Value::UInt(u) => Some(u.to_string()),
                        mysql_async::Value::Float(f) => Some(f.to_string()),
                        mysql_async::Value::Double(f) => Some(f.to_string()),
                        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
                    })
                    .collect()
            })
            .collect())
    }

    pub async fn introspect(&mut self, table: &str) -> Result<Option<TableInfo>, DbError> {
        let lit = quote_literal(table);
        let cols = self
            .query_text(&format!(
                "SELECT column_name, data_type, column_type, character_maximum_length, numeric_precision, \
                 numeric_scale, is_nullable, column_default, extra, column_key \
                 FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {lit} \
                 ORDER BY ordinal_position"
            ))
            .await?;
        if cols.is_empty() {
            return Ok(None);
        }
        let keys = self
            .query_text(&format!(
                "SELECT s.index_name, s.column_name, s.non_unique, \
                 (SELECT COUNT(*) FROM information_schema.statistics s2 WHERE s2.table_schema = s.table_schema \
                   AND s2.table_name = s.table_name AND s2.index_name = s.index_name) \
                 FROM information_schema.statistics s WHERE s.table_schema = DATABASE() AND s.table_name = {lit} \
                 ORDER BY s.index_name, s.seq_in_index"
            ))
            .await?;
        let fks = self
            .query_text(&format!(
                "SELECT column_name, referenced_table_name, referenced_column_name \
                 FROM information_schema.key_column_usage WHERE table_schema = DATABASE() \
                 AND table_name = {lit} AND referenced_table_name IS NOT NULL"
            ))
            .await?;
        let primary_key: Vec<String> = keys
            .iter()
            .filter(|r| r[0].as_deref() == Some("PRIMARY"))
            .filter_map(|r| r[1].clone())
            .collect();
        let unique_cols: Vec<String> = keys
            .iter()
            .filter(|r| {
                r[0].as_deref() != Some("PRIMARY")
                    && r[2].as_deref() == Some("0")
                    && r[3].as_deref() == Some("1")
            })
            .filter_map(|r| r[1].clone())
            .collect();
        let mut unique_keys: Vec<Vec<String>> = Vec::new();
        let mut index_notes: Vec<String> = Vec::new();
        for r in keys
            .iter()
            .filter(|r| r[2].as_deref() == Some("0") && r[1].is_none())
        {
            let name = r[0].clone().unwrap_or_default();
            let note = format!(
                "unique index {name} is on an expression, which seeding does not handle: a duplicate can fail the load"
            );
            if !index_notes.contains(&note) {
                index_notes.push(note);
            }
        }
        let mut current: Option<(String, Vec<String>)> = None;
        for r in keys.iter().filter(|r| {
            r[0].as_deref() != Some("PRIMARY")
                && r[2].as_deref() == Some("0")
                && r[3].as_deref() != Some("1")
        }) {
            let (Some(idx), Some(col)) = (r[0].clone(), r[1].clone()) else {
                continue;
            };
            match &mut current {
                Some((name, cols)) if *name == idx => cols.push(col),
                _ => {
                    if let Some((_, cols)) = current.take() {
                        unique_keys.push(cols);
                    }
                    current = Some((idx, vec![col]));
                }
            }
        }
        if let Some((_, cols)) = current {
            unique_keys.push(cols);
        }
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u64>().ok());
        let columns = cols
            .iter()
            .map(|r| {
                let name = r[0].clone().unwrap_or_default();
                let data_type = r[1].clone().unwrap_or_default();
                let column_type = r[2].clone().unwrap_or_default();
                let extra = r[8].clone().unwrap_or_default().to_ascii_lowercase();
                // MySQL reports tinyint(1) for BOOLEAN columns.
                let kind = if column_type.eq_ignore_ascii_case("tinyint(1)") {
                    ColKind::Bool
                } else if data_type.eq_ignore_ascii_case("enum") {
                    ColKind::from_sql(&column_type, None, None, None)
                } else {
                    ColKind::from_sql(
                        &data_type,
                        num(&r[3]).map(|v| v.min(u32::MAX as u64) as u32),
                        num(&r[4]).map(|v| v as u32),
                        num(&r[5]).map(|v| v as u32),
                    )
                };
                ColumnInfo {
                    kind,
                    sql_type: column_type,
                    nullable: r[6].as_deref() == Some("YES"),
                    auto_generated: extra.contains("auto_increment"),
                    has_default: r[7].is_some(),
                    unique: unique_cols.contains(&name),
                    name,
                }
            })
            .collect();
        let foreign_keys = fks
            .into_iter()
            .filter_map(|r| {
                Some(ForeignKey {
                    column: r[0].clone()?,
                    ref_table: r[1].clone()?,
                    ref_column: r[2].clone()?,
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

/// LOAD DATA's default escaping: backslash, tab, newline and NUL escaped with a backslash.
fn escape_tsv(s: &str, buf: &mut bytes::BytesMut) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            0 => buf.extend_from_slice(b"\\0"),
            _ => buf.extend_from_slice(&[b]),
        }
    }
}

/// A SQL literal; `backslash` says whether the server treats backslash as an escape.
fn literal(v: &Value, backslash: bool, out: &mut String) {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Value::Float(f) if f.is_finite() => out.push_str(&f.to_string()),
        other => {
            let s = other.to_sql_text().unwrap_or_default();
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' if backslash => out.push_str("\\\\"),
                    '\0' if backslash => out.push_str("\\0"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
    }
}

/// A statement's SQL text through mysql_async: rows counted, or affected rows and the key.
async fn async_text_run(conn: &mut Conn, text: String) -> Result<StmtOutcome, DbError> {
    let mut result = conn.query_iter(text).await.map_err(map_error)?;
    let mut out = StmtOutcome::default();
    if result.columns().is_some_and(|c| !c.is_empty()) {
        let rows: Vec<Row> = result.collect().await.map_err(map_error)?;
        out.rows = rows.len() as u64;
    } else {
        out.rows = result.affected_rows();
        out.last_insert_id = result.last_insert_id().map(|v| v as i64);
        result.drop_result().await.map_err(map_error)?;
    }
    Ok(out)
}

/// A prepared statement through mysql_async, read row by row (no vector of every row, and
/// the first value copied only if wanted).
async fn async_run(
    conn: &mut Conn,
    st: Statement,
    params: &[Value],
    want: bool,
) -> Result<StmtOutcome, DbError> {
    let mut result = conn
        .exec_iter(st, to_params(params))
        .await
        .map_err(map_error)?;
    let mut out = StmtOutcome::default();
    if result.columns().is_some_and(|c| !c.is_empty()) {
        while let Some(r) = result.next().await.map_err(map_error)? {
            if out.rows == 0 && want {
                out.first = Some(match r.as_ref(0) {
                    Some(mysql_async::Value::Int(i)) => Value::Int(*i),
                    Some(mysql_async::Value::UInt(u)) => Value::Int(*u as i64),
                    Some(mysql_async::Value::Bytes(b)) => {
                        Value::Text(String::from_utf8_lossy(b).into_owned())
                    }
                    _ => Value::Null,
                });
            }
            out.rows += 1;
        }
    } else {
        out.rows = result.affected_rows();
        out.last_insert_id = result.last_insert_id().map(|v| v as i64);
        result.drop_result().await.map_err(map_error)?;
    }
    Ok(out)
}

fn to_params(params: &[Value]) -> Params {
    if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params.iter().map(to_mysql).collect())
    }
}

/// Whether the lean client can serve a connection with these options: anything it does not
/// implement goes to mysql_async, and `DBARENA_MYSQL_CLIENT=mysql_async` sends everything
/// there (A/B measurements, and a way out should the lean client misbehave).
fn lean_serves(opts: &Opts) -> bool {
    std::env::var("DBARENA_MYSQL_CLIENT").map_or(true, |v| v != "mysql_async")
        && opts.ssl_opts().is_none()
        && opts.socket().is_none()
        && opts.compression().is_none()
        && opts.init().is_empty()
        && opts.setup().is_empty()
        && opts.wait_timeout().is_none()
        && !opts.client_found_rows()
}

fn to_mysql(v: &Value) -> mysql_async::Value {
    match v {
        Value::Null => mysql_async::Value::NULL,
        Value::Int(i) => mysql_async::Value::Int(*i),
        Value::Float(f) => mysql_async::Value::Double(*f),
        Value::Bool(b) => mysql_async::Value::Int(*b as i64),
        Value::Text(s) | Value::Decimal(s) => mysql_async::Value::Bytes(s.as_bytes().to_vec()),
        other => mysql_async::Value::Bytes(other.to_sql_text().unwrap_or_default().into_bytes()),
    }
}

fn kind_from_code(code: &str) -> ErrorKind {
    match code {
        "1062" | "1451" | "1452" | "1048" | "1406" | "1264" => ErrorKind::Constraint,
        _ => ErrorKind::Other,
    }
}

/// A server's error, from either client: 1213 and 1205 are retried, the ones that end the
/// session make the engine reconnect.
pub(super) fn server_error(code: u16, state: &str, message: String) -> DbError {
    let kind = match code {
        1213 => ErrorKind::Deadlock,
        1205 => ErrorKind::LockTimeout,
        1062 | 1451 | 1452 | 1048 | 1406 | 1264 => ErrorKind::Constraint,
        1053 | 1927 | 2006 | 2013 | 4031 => ErrorKind::ConnectionLost,
        _ => kind_from_sqlstate(state),
    };
    DbError::new(kind, code.to_string(), message)
}

fn map_error(e: mysql_async::Error) -> DbError {
    match e {
        mysql_async::Error::Server(s) => server_error(s.code, &s.state, s.message),
        mysql_async::Error::Io(io) => DbError::new(ErrorKind::ConnectionLost, "io", io.to_string()),
        mysql_async::Error::Driver(d) => {
            let text = d.to_string();
            let lost = matches!(d, mysql_async::DriverError::ConnectionClosed)
                || text.to_ascii_lowercase().contains("connection");
            let kind = if lost {
                ErrorKind::ConnectionLost
            } else {
                ErrorKind::Other
            };
            DbError::new(kind, "driver", text)
        }
        other => DbError::new(ErrorKind::Other, "client", other.to_string()),
    }
}

fn connect_server_error(url: &DbUrl, code: u16, message: String) -> ConnectError {
    match code {
        1045 | 1698 => ConnectError::Auth {
            url: url.redacted(),
            detail: message,
        },
        1049 => ConnectError::UnknownDatabase {
            url: url.redacted(),
            name: url.database().unwrap_or_default(),
        },
        _ => ConnectError::Other {
            url: url.redacted(),
            detail: format!("[{code}] {message}"),
        },
    }
}

fn connect_error(url: &DbUrl, e: mysql_async::Error) -> ConnectError {
    match e {
        mysql_async::Error::Server(s) => connect_server_error(url, s.code, s.message),
        mysql_async::Error::Io(io) => ConnectError::Unreachable {
            kind: DbKind::Mysql,
            host: url.host_port(),
            detail: io.to_string(),
        },
        other => ConnectError::Other {
            url: url.redacted(),
            detail: other.to_string(),
        },
    }
}
