//! PostgreSQL through tokio-postgres.

use super::error::{kind_from_sqlstate, DbError, ErrorKind};
use super::url::{DbKind, DbUrl};
use super::{quote_literal, ConnectError, StmtOutcome};
use crate::schema::{ColKind, ColumnInfo, ForeignKey, TableInfo};
use crate::value::Value;
use bytes::{BufMut, BytesMut};
use std::error::Error as StdError;
use std::time::Duration;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage, Statement};

/// One PostgreSQL connection; its socket is driven by a task on the current runtime.
pub struct PgConn {
    client: std::sync::Arc<Client>,
    statements: std::sync::Arc<Vec<Statement>>,
    sqls: std::sync::Arc<Vec<String>>,
    pub(crate) protocol: super::Protocol,
    /// Table being loaded with COPY FREEZE inside an open transaction.
    fresh: Option<String>,
    /// The COPY of a fresh load, kept open across batches so the server parses one batch
    /// while the next is generated.
    copy: Option<std::pin::Pin<Box<tokio_postgres::CopyInSink<bytes::Bytes>>>>,
}

impl PgConn {
    pub async fn connect(url: &DbUrl) -> Result<Self, ConnectError> {
        let mut config: tokio_postgres::Config =
            url.secret_url()
                .parse()
                .map_err(|e: tokio_postgres::Error| ConnectError::Other {
                    url: url.redacted(),
                    detail: e.to_string(),
                })?;
        if config.get_password().is_none() {
            if let Some(pw) = url.fallback_password() {
                config.password(pw);
            }
        }
        if config.get_connect_timeout().is_none() {
            // Per host: a failover URL tries the next one after it, and a host cut off by a
            // partition (whose SYNs vanish) must leave the others time within the engine's
            // bound on one reconnect (5 s at most).
            config.connect_timeout(connect_timeout(url));
        }
        config.application_name("dbarena");
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| connect_error(url, e))?;
        crate::util::runtime::spawn_driver(async move {
            // Errors surface on the client as a closed connection.
            let _ = connection.await;
        });
        Ok(PgConn {
            client: std::sync::Arc::new(client),
            statements: Default::default(),
            sqls: Default::default(),
            protocol: super::Protocol::Prepared,
            fresh: None,
            copy: None,
        })
    }

    /// Whether `run` returns statement `stmt`'s first value by default (inserts: their key).
    pub fn wants_first(&self, stmt: usize) -> bool {
        self.sqls.get(stmt).is_some_and(|s| super::is_insert(s))
    }

    pub async fn prepare_all(&mut self, sqls: &[String]) -> Result<(), DbError> {
        let mut out = Vec::with_capacity(sqls.len());
        // Simple and unnamed extended statements are parsed at each run: nothing is prepared.
        let named = self.protocol == super::Protocol::Prepared;
        for sql in sqls.iter().filter(|_| named) {
            out.push(self.client.prepare(sql).await.map_err(|e| self.map(e))?);
        }
        self.statements = std::sync::Arc::new(out);
        self.sqls = std::sync::Arc::new(sqls.to_vec());
        Ok(())
    }

    /// `want`: return the first value of the first row (it costs a copy of text values, which
    /// only inserts returning their key and explicit reads need).
    pub async fn run(
        &mut self,
        stmt: usize,
        params: &[Value],
        want: bool,
    ) -> Result<StmtOutcome, DbError> {
        match self.protocol {
            super::Protocol::Prepared => {}
            super::Protocol::Extended => return self.run_extended(stmt, params).await,
            super::Protocol::Simple => return self.run_simple(stmt, params).await,
        }
        let st = self
            .statements
            .get(stmt)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
        // The raw variants take the parameters as an iterator and stream the rows: no
        // per-call vectors of parameters or rows on the hot path.
        if st.columns().is_empty() {
            let n = self
                .client
                .execute_raw(st, params.iter().map(PgValue))
                .await
                .map_err(|e| map_error(e, self.client.is_closed()))?;
            return Ok(StmtOutcome {
                rows: n,
                ..Default::default()
            });
        }
        let stream = self
            .client
            .query_raw(st, params.iter().map(PgValue))
            .await
            .map_err(|e| map_error(e, self.client.is_closed()))?;
        futures_util::pin_mut!(stream);
        use futures_util::Stream as _;
        let mut out = StmtOutcome::default();
        loop {
            let row = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await;
            let Some(row) = row else { break };
            let r = row.map_err(|e| map_error(e, self.client.is_closed()))?;
            if out.rows == 0 && want {
                out.first = Some(first_value(&r));
            }
            out.rows += 1;
        }
        Ok(out)
    }

    pub async fn run_rows(
        &mut self,
        stmt: usize,
        params: &[Value],
    ) -> Result<Vec<Vec<Value>>, DbError> {
        if self.protocol != super::Protocol::Prepared {
            let sql = self
                .sqls
                .get(stmt)
                .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
            let text = super::Dialect::new(DbKind::Postgres).interpolate(sql, params);
            let rows = self.query_text(&text).await?;
            return Ok(rows
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|v| v.map_or(Value::Null, Value::Text))
                        .collect()
                })
                .collect());
        }
        let st = self
            .statements
            .get(stmt)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
        let stream = self
            .client
            .query_raw(st, params.iter().map(PgValue))
            .await
            .map_err(|e| map_error(e, self.client.is_closed()))?;
        futures_util::pin_mut!(stream);
        use futures_util::Stream as _;
        let mut out = Vec::new();
        loop {
            let row = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await;
            let Some(row) = row else { break };
            let r = row.map_err(|e| map_error(e, self.client.is_closed()))?;
            let values = (0..r.len())
                .map(|i| {
                    r.try_get::<_, AnyValue>(i)
                        .map(|v| v.0)
                        .map_err(|e| DbError::client(format!("reading column {i}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push(values);
        }
        Ok(out)
    }

    pub async fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        use futures_util::SinkExt;
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let cols: Vec<String> = columns.iter().map(|c| q(c)).collect();
        let mut buf = BytesMut::with_capacity(rows.len() * 64);
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.put_u8(b'\t');
                }
                copy_text(v, &mut buf);
            }
            buf.put_u8(b'\n');
        }
        let fresh = self.fresh.as_deref() == Some(table);
        if fresh && self.copy.is_none() {
            let sql = format!(
                "COPY {} ({}) FROM STDIN (FREEZE)",
                q(table),
                cols.join(", ")
            );
            let sink = self
                .client
                .copy_in::<_, bytes::Bytes>(&sql)
                .await
                .map_err(|e| self.map(e))?;
            self.copy = Some(Box::pin(sink));
        }
        if let (true, Some(sink)) = (fresh, self.copy.as_mut()) {
            let r = sink.send(buf.freeze()).await;
            return r.map_err(|e| map_error(e, self.client.is_closed()));
        }
        let sql = format!("COPY {} ({}) FROM STDIN", q(table), cols.join(", "));
        let sink = self
            .client
            .copy_in::<_, bytes::Bytes>(&sql)
            .await
            .map_err(|e| self.map(e))?;
        futures_util::pin_mut!(sink);
        sink.send(buf.freeze()).await.map_err(|e| self.map(e))?;
        sink.finish().await.map_err(|e| self.map(e))?;
        Ok(())
    }

    /// One round trip with an unnamed statement and parameter types from the values.
    async fn run_extended(
        &mut self,
        stmt: usize,
        params: &[Value],
    ) -> Result<StmtOutcome, DbError> {
        let sql = self
            .sqls
            .get(stmt)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
        let bound: Vec<PgValue<'_>> = params.iter().map(PgValue).collect();
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = bound
            .iter()
            .map(|v| {
                let ty = match v.0 {
                    Value::Int(_) => Type::INT8,
                    Value::Float(_) => Type::FLOAT8,
                    Value::Bool(_) => Type::BOOL,
                    Value::Decimal(_) => Type::NUMERIC,
                    Value::Timestamp(_) => Type::TIMESTAMP,
                    Value::Date(_) => Type::DATE,
                    Value::Text(_) | Value::Null => Type::TEXT,
                };
                (v as &(dyn ToSql + Sync), ty)
            })
            .collect();
        let rows = self
            .client
            .query_typed(sql, &typed)
            .await
            .map_err(|e| map_error(e, self.client.is_closed()))?;
        Ok(StmtOutcome {
            rows: rows.len() as u64,
            first: rows.first().and_then(|r| {
                r.try_get::<_, Option<i64>>(0)
                    .ok()
                    .flatten()
                    .map(Value::Int)
            }),
            last_insert_id: None,
        })
    }

    /// Values interpolated into the text; simple query protocol.
    async fn run_simple(&mut self, stmt: usize, params: &[Value]) -> Result<StmtOutcome, DbError> {
        let sql = self
            .sqls
            .get(stmt)
            .ok_or_else(|| DbError::client(format!("statement {stmt} was not prepared")))?;
        let text = super::Dialect::new(DbKind::Postgres).interpolate(sql, params);
        let msgs = self
            .client
            .simple_query(&text)
            .await
            .map_err(|e| self.map(e))?;
        let mut out = StmtOutcome::default();
        for m in msgs {
            match m {
                SimpleQueryMessage::Row(r) => {
                    if out.rows == 0 {
                        out.first = r.get(0).map(|s| match s.parse::<i64>() {
                            Ok(v) => Value::Int(v),
                            Err(_) => Value::Text(s.to_string()),
                        });
                    }
                    out.rows += 1;
                }
                SimpleQueryMessage::CommandComplete(n) if out.rows == 0 => out.rows = n,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Another handle on the same connection: statements sent through both are pipelined by
    /// tokio-postgres. Only for single-statement (autocommit) work.
    pub fn share(&self) -> PgConn {
        PgConn {
            client: self.client.clone(),
            statements: self.statements.clone(),
            sqls: self.sqls.clone(),
            protocol: self.protocol,
            fresh: None,
            copy: None,
        }
    }

    /// Returns false when another table references this one: TRUNCATE would refuse.
    pub async fn begin_fresh_load(&mut self, table: &str) -> Result<bool, DbError> {
        let q = format!("\"{}\"", table.replace('"', "\"\""));
        let refs = self
            .query_text(&format!(
                "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = {}::regclass",
                quote_literal(&q)
            ))
            .await?;
        if refs.first().and_then(|r| r[0].as_deref()) != Some("0") {
            return Ok(false);
        }
        self.execute(&format!("BEGIN; TRUNCATE {q}")).await?;
        self.fresh = Some(table.to_string());
        Ok(true)
    }

    pub async fn finish_fresh_load(&mut self) -> Result<(), DbError> {
        self.fresh = None;
        if let Some(mut sink) = self.copy.take() {
            sink.as_mut().finish().await.map_err(|e| self.map(e))?;
        }
        self.execute("COMMIT").await
    }

    pub async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| self.map(e))
    }

    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        let msgs = self
            .client
            .simple_query(sql)
            .await
            .map_err(|e| self.map(e))?;
        let mut out = Vec::new();
        for m in msgs {
            if let SimpleQueryMessage::Row(row) = m {
                out.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
        }
        Ok(out)
    }

    pub async fn introspect(&mut self, table: &str) -> Result<Option<TableInfo>, DbError> {
        let lit = quote_literal(table);
        let cols = self
            .query_text(&format!(
                "SELECT column_name, data_type, udt_name, character_maximum_length, numeric_precision, \
                 numeric_scale, is_nullable, column_default, is_identity \
                 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = {lit} \
                 ORDER BY ordinal_position"
            ))
            .await?;
        if cols.is_empty() {
            return Ok(None);
        }
        let keys = self
            .query_text(&format!(
                "SELECT tc.constraint_type, tc.constraint_name, kcu.column_name \
                 FROM information_schema.table_constraints tc \
                 JOIN information_schema.key_column_usage kcu \
                   ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
                 WHERE tc.table_schema = current_schema() AND tc.table_name = {lit} \
                   AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE') ORDER BY kcu.ordinal_position"
            ))
            .await?;
        let fks = self
            .query_text(&format!(
                "SELECT kcu.column_name, ccu.table_name, ccu.column_name \
                 FROM information_schema.table_constraints tc \
                 JOIN information_schema.key_column_usage kcu \
                   ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
                 JOIN information_schema.constraint_column_usage ccu \
                   ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.table_schema \
                 WHERE tc.table_schema = current_schema() AND tc.table_name = {lit} \
                   AND tc.constraint_type = 'FOREIGN KEY'"
            ))
            .await?;
        let primary_key: Vec<String> = keys
            .iter()
            .filter(|r| r[0].as_deref() == Some("PRIMARY KEY"))
            .filter_map(|r| r[2].clone())
            .collect();
        // A unique constraint counts for a column only when it covers that column alone.
        let mut unique_cols = Vec::new();
        let mut unique_keys: Vec<Vec<String>> = Vec::new();
        let mut seen: Vec<Option<String>> = Vec::new();
        for r in keys.iter().filter(|r| r[0].as_deref() == Some("UNIQUE")) {
            let members: Vec<String> = keys
                .iter()
                .filter(|k| k[1] == r[1])
                .filter_map(|k| k[2].clone())
                .collect();
            if members.len() == 1 {
                if let Some(c) = r[2].clone() {
                    unique_cols.push(c);
                }
            } else if !seen.contains(&r[1]) {
                seen.push(r[1].clone());
                unique_keys.push(members);
            }
        }
        // Unique indexes that are not constraints (CREATE UNIQUE INDEX), partial or on
        // expressions: pg_index knows them all.
        let mut index_notes = Vec::new();
        let idx = self
            .query_text(&format!(
                "SELECT c.relname, a.attname, i.indpred IS NOT NULL, i.indexprs IS NOT NULL \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = to_regclass(quote_ident({lit})) AND i.indisunique AND NOT i.indisprimary \
                 ORDER BY c.relname, k.ord"
            ))
            .await?;
        let mut names: Vec<String> = idx.iter().filter_map(|r| r[0].clone()).collect();
        names.dedup();
        for name in names {
            let rows: Vec<&Vec<Option<String>>> = idx
                .iter()
                .filter(|r| r[0].as_deref() == Some(&name))
                .collect();
            let yes = |v: &Option<String>| matches!(v.as_deref(), Some("t") | Some("true"));
            if rows.iter().any(|r| yes(&r[3]) || r[1].is_none()) {
                index_notes.push(format!(
                    "unique index {name} is on an expression, which seeding does not handle: a duplicate can fail the load"
                ));
                continue;
            }
            if rows.iter().any(|r| yes(&r[2])) {
                index_notes.push(format!(
                    "partial unique index {name}: filled as if unique on every row"
                ));
            }
            let cols: Vec<String> = rows.iter().filter_map(|r| r[1].clone()).collect();
            if cols.len() == 1 {
                if !unique_cols.contains(&cols[0]) {
                    unique_cols.push(cols[0].clone());
                }
            } else if !unique_keys.contains(&cols) {
                unique_keys.push(cols);
            }
        }
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u32>().ok());
        // Labels of enum types used by this table.
        let mut enums: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in cols
            .iter()
            .filter(|r| r[1].as_deref() == Some("USER-DEFINED"))
        {
            let udt = r[2].clone().unwrap_or_default();
            let labels = self
                .query_text(&format!(
                    "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid \
                     WHERE t.typname = {} ORDER BY e.enumsortorder",
                    quote_literal(&udt)
                ))
                .await?;
            if !labels.is_empty() {
                enums.insert(
                    udt,
                    labels.into_iter().filter_map(|l| l[0].clone()).collect(),
                );
            }
        }
        let columns = cols
            .iter()
            .map(|r| {
                let name = r[0].clone().unwrap_or_default();
                let data_type = r[1].clone().unwrap_or_default();
                let udt = r[2].clone().unwrap_or_default();
                let default = r[7].clone();
                let identity = r[8].as_deref() == Some("YES");
                let serial = default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval("));
                let type_name = if data_type == "USER-DEFINED" || data_type == "ARRAY" {
                    udt.clone()
                } else {
                    data_type.clone()
                };
                let kind = match enums.get(&udt) {
                    Some(labels) => ColKind::Enum(labels.clone()),
                    None => ColKind::from_sql(&type_name, num(&r[3]), num(&r[4]), num(&r[5])),
                };
                ColumnInfo {
                    kind,
                    sql_type: udt,
                    nullable: r[6].as_deref() == Some("YES"),
                    auto_generated: identity || serial,
                    has_default: default.is_some() || identity,
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

    fn map(&self, e: tokio_postgres::Error) -> DbError {
        map_error(e, self.client.is_closed())
    }
}

/// One value in COPY text format.
fn copy_text(v: &Value, buf: &mut BytesMut) {
    match v {
        Value::Null => buf.put_slice(b"\\N"),
        Value::Bool(b) => buf.put_u8(if *b { b't' } else { b'f' }),
        Value::Int(i) => buf.put_slice(i.to_string().as_bytes()),
        Value::Text(s) | Value::Decimal(s) => {
            for &b in s.as_bytes() {
                match b {
                    b'\\' => buf.put_slice(b"\\\\"),
                    b'\t' => buf.put_slice(b"\\t"),
                    b'\n' => buf.put_slice(b"\\n"),
                    b'\r' => buf.put_slice(b"\\r"),
                    _ => buf.put_u8(b),
                }
            }
        }
        other => buf.put_slice(other.to_sql_text().unwrap_or_default().as_bytes()),
    }
}

/// The first column of a row as a [`Value`] (keys returned by INSERT … RETURNING).
fn first_value(r: &tokio_postgres::Row) -> Value {
    match *r.columns()[0].type_() {
        Type::INT8 => r
            .try_get::<_, Option<i64>>(0)
            .ok()
            .flatten()
            .map(Value::Int),
        Type::INT4 => r
            .try_get::<_, Option<i32>>(0)
            .ok()
            .flatten()
            .map(|v| Value::Int(v as i64)),
        Type::INT2 => r
            .try_get::<_, Option<i16>>(0)
            .ok()
            .flatten()
            .map(|v| Value::Int(v as i64)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => r
            .try_get::<_, Option<String>>(0)
            .ok()
            .flatten()
            .map(Value::Text),
        _ => None,
    }
    .unwrap_or(Value::Null)
}

/// Any column as a [`Value`]: numbers, NUMERIC as exact text, text, timestamps and dates.
struct AnyValue(Value);

impl<'a> tokio_postgres::types::FromSql<'a> for AnyValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
        Ok(AnyValue(match *ty {
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)? as f64),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::NUMERIC => Value::Decimal(decode_numeric(raw)?),
            Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                Value::Timestamp(i64::from_sql(&Type::INT8, raw)? + PG_EPOCH_US)
            }
            Type::DATE => Value::Date(i32::from_sql(&Type::INT4, raw)? + PG_EPOCH_DAYS),
            _ => Value::Text(String::from_utf8_lossy(raw).into_owned()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxErr> {
        Ok(AnyValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// NUMERIC's binary form (base-10000 digits, weight, sign, display scale) as decimal text.
fn decode_numeric(raw: &[u8]) -> Result<String, BoxErr> {
    let word = |i: usize| -> Result<i16, BoxErr> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "short NUMERIC value".into())
    };
    let (n, weight, sign, scale) = (word(0)?, word(1)?, word(2)? as u16, word(3)?);
    if sign == 0xC000 {
        return Ok("NaN".into());
    }
    let digit = |i: i32| -> Result<i16, BoxErr> {
        if i < 0 || i >= n as i32 {
            Ok(0)
        } else {
            word(4 + i as usize)
        }
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    }
    for i in 0..=weight as i32 {
        let d = digit(i)?;
        if i == 0 {
            s.push_str(&d.to_string());
        } else {
            s.push_str(&format!("{d:04}"));
        }
    }
    if scale > 0 {
        let mut frac = String::new();
        let mut i = weight as i32 + 1;
        while (frac.len() as i16) < scale {
            frac.push_str(&format!("{:04}", digit(i)?));
            i += 1;
        }
        frac.truncate(scale as usize);
        s.push('.');
        s.push_str(&frac);
    }
    Ok(s)
}

fn map_error(e: tokio_postgres::Error, closed: bool) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code().to_string();
        return DbError::new(kind_from_sqlstate(&code), code, db.message().to_string());
    }
    if closed || e.is_closed() {
        return DbError::new(ErrorKind::ConnectionLost, "closed", describe(&e));
    }
    // Errors without a server message are I/O or protocol problems: the connection is suspect.
    let text = describe(&e);
    if text.contains("serializing parameter") || text.contains("deserializing") {
        DbError::new(ErrorKind::Other, "client", text)
    } else {
        DbError::new(ErrorKind::ConnectionLost, "io", text)
    }
}

fn describe(e: &tokio_postgres::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// How long one host has to accept the TCP connection: 5 s, or 1 s each on a URL of several
/// hosts (a cluster: a live host accepts at once, and TCP resends a lost SYN only after 1 s).
fn connect_timeout(url: &DbUrl) -> Duration {
    if url.hosts().len() > 1 {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    }
}

fn connect_error(url: &DbUrl, e: tokio_postgres::Error) -> ConnectError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return match code {
            "28P01" | "28000" => ConnectError::Auth {
                url: url.redacted(),
                detail: db.message().to_string(),
            },
            "3D000" => ConnectError::UnknownDatabase {
                url: url.redacted(),
                name: url.database().unwrap_or_default(),
            },
            _ => ConnectError::Other {
                url: url.redacted(),
                detail: format!("[{code}] {}", db.message()),
            },
        };
    }
    let detail = describe(&e);
    if detail.contains("password") {
        return ConnectError::Auth {
            url: url.redacted(),
            detail,
        };
    }
    ConnectError::Unreachable {
        kind: DbKind::Postgres,
        host: url.host_port(),
        detail,
    }
}

/// Binds a [`Value`] to whatever type PostgreSQL inferred for the parameter.
#[derive(Debug)]
struct PgValue<'a>(&'a Value);

type BoxErr = Box<dyn StdError + Sync + Send>;

const PG_EPOCH_US: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

impl ToSql for PgValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
        let v = self.0;
        if matches!(v, Value::Null) {
            return Ok(IsNull::Yes);
        }
        let int = || -> Result<i64, BoxErr> {
            v.as_i64()
                .ok_or_else(|| format!("value {v} is not an integer (parameter type {ty})").into())
        };
        let float = || -> Result<f64, BoxErr> {
            match v {
                Value::Float(f) => Ok(*f),
                Value::Int(i) => Ok(*i as f64),
                other => other
                    .to_sql_text()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        format!("value {v} is not a number (parameter type {ty})").into()
                    }),
            }
        };
        match *ty {
            Type::BOOL => out.put_u8(match v {
                Value::Bool(b) => *b as u8,
                other => (other.as_i64().unwrap_or(0) != 0) as u8,
            }),
            Type::INT2 => out.put_i16(int()? as i16),
            Type::INT4 => out.put_i32(int()? as i32),
            Type::INT8 => out.put_i64(int()?),
            Type::FLOAT4 => out.put_f32(float()? as f32),
            Type::FLOAT8 => out.put_f64(float()?),
            Type::NUMERIC => encode_numeric(&v.to_sql_text().unwrap_or_default(), out)?,
            Type::TIMESTAMP | Type::TIMESTAMPTZ => match v {
                Value::Timestamp(us) => out.put_i64(us - PG_EPOCH_US),
                Value::Int(us) => out.put_i64(us - PG_EPOCH_US),
                other => return Err(format!("value {other} is not a timestamp").into()),
            },
            Type::DATE => match v {
                Value::Date(d) => out.put_i32(d - PG_EPOCH_DAYS),
                Value::Timestamp(us) => {
                    out.put_i32((us.div_euclid(86_400_000_000)) as i32 - PG_EPOCH_DAYS)
                }
                other => return Err(format!("value {other} is not a date").into()),
            },
            Type::UUID => {
                let s = v.to_sql_text().unwrap_or_default().replace('-', "");
                if s.len() != 32 {
                    return Err(format!("value {v} is not a UUID").into());
                }
                for i in 0..16 {
                    out.put_u8(u8::from_str_radix(&s[2 * i..2 * i + 2], 16)?);
                }
            }
            Type::JSONB => {
                out.put_u8(1);
                out.put_slice(v.to_sql_text().unwrap_or_default().as_bytes());
            }
            _ => {
                // text, varchar, bpchar, name, json, unknown and text-cast parameters
                out.put_slice(v.to_sql_text().unwrap_or_default().as_bytes());
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
        self.to_sql(ty, out)
    }
}

/// PostgreSQL's binary NUMERIC: base-10000 digits with weight, sign and display scale.
fn encode_numeric(text: &str, out: &mut BytesMut) -> Result<(), BoxErr> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = t.split_once('.').unwrap_or((t, ""));
    if !int_part
        .chars()
        .chain(frac_part.chars())
        .all(|c| c.is_ascii_digit())
        || (int_part.is_empty() && frac_part.is_empty())
    {
        return Err(format!("value '{text}' is not a decimal number").into());
    }
    let int_part = int_part.trim_start_matches('0');
    let dscale = frac_part.len() as u16;
    let pad_left = (4 - int_part.len() % 4) % 4;
    let pad_right = (4 - frac_part.len() % 4) % 4;
    let digits_str = format!(
        "{}{}{}{}",
        "0".repeat(pad_left),
        int_part,
        frac_part,
        "0".repeat(pad_right)
    );
    let int_groups = (pad_left + int_part.len()) / 4;
    let mut groups: Vec<i16> = digits_str
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + (d - b'0') as i16))
        .collect();
    let mut weight = int_groups as i16 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight);
    out.put_u16(if neg && !groups.is_empty() { 0x4000 } else { 0 });
    out.put_u16(dscale);
    for g in groups {
        out.put_i16(g);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failover URL gives each host 1 s, so a host behind a partition leaves the next
    /// one time within one reconnect.
    #[test]
    fn each_host_of_a_failover_url_gets_a_short_connect_timeout() {
        let one = DbUrl::parse("postgres://u@10.77.1.2:5432/db").unwrap();
        let two = DbUrl::parse("postgres://u@10.77.1.2:5432,10.77.2.2:5432/db").unwrap();
        assert_eq!(connect_timeout(&one), Duration::from_secs(5));
        assert_eq!(connect_timeout(&two), Duration::from_secs(1));
    }

    fn enc(s: &str) -> Vec<i16> {
        let mut b = BytesMut::new();
        encode_numeric(s, &mut b).unwrap();
        b.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numeric_encoding() {
        // ndigits, weight, sign, dscale, digits...
        assert_eq!(enc("12345.67"), vec![3, 1, 0, 2, 1, 2345, 6700]);
        assert_eq!(enc("0.05"), vec![1, -1, 0, 2, 500]);
        assert_eq!(enc("-7"), vec![1, 0, 0x4000, 0, 7]);
        assert_eq!(enc("0"), vec![0, 0, 0, 0]);
        assert_eq!(enc("10000"), vec![1, 1, 0, 0, 1]);
        let mut b = BytesMut::new();
        assert!(encode_numeric("1e5", &mut b).is_err());
    }

    /// Values read back (TPC-C's money and rates) are the text that was written.
    #[test]
    fn numeric_decoding_inverts_encoding() {
        for s in [
            "12345.67",
            "0.05",
            "-7",
            "0",
            "10000",
            "0.1999",
            "300000.00",
            "-10.00",
            "0.0001",
        ] {
            let mut b = BytesMut::new();
            encode_numeric(s, &mut b).unwrap();
            assert_eq!(decode_numeric(&b).unwrap(), s, "{s}");
        }
    }
}
