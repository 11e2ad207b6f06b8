//! SQL text that differs between databases: quoting, placeholders, types, DDL, isolation.

use super::url::DbKind;
use crate::schema::{ColKind, TableInfo};

/// Requested transaction isolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    /// Parses `read-committed`, `repeatable-read`, `serializable` (also with `_` or spaces).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "read-committed" | "rc" => Some(Isolation::ReadCommitted),
            "repeatable-read" | "rr" => Some(Isolation::RepeatableRead),
            "serializable" | "ser" => Some(Isolation::Serializable),
            _ => None,
        }
    }

    /// The SQL words for the level.
    pub fn sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }
}

/// How statements travel, like pgbench `-M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Values interpolated into SQL text (simple query protocol).
    Simple,
    /// Parse, bind and execute each time, unnamed (PostgreSQL extended protocol).
    Extended,
    /// Prepared once per connection, then only executed.
    #[default]
    Prepared,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "simple" => Some(Protocol::Simple),
            "extended" => Some(Protocol::Extended),
            "prepared" => Some(Protocol::Prepared),
            _ => None,
        }
    }
}

/// The SQL flavour of one database kind.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    kind: DbKind,
}

impl Dialect {
    pub fn new(kind: DbKind) -> Self {
        Dialect { kind }
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Quotes an identifier.
    pub fn ident(&self, name: &str) -> String {
        match self.kind {
            DbKind::Mysql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// The placeholder for the `n`-th (1-based) parameter.
    pub fn placeholder(&self, n: usize) -> String {
        match self.kind {
            DbKind::Postgres => format!("${n}"),
            _ => "?".to_string(),
        }
    }

    /// Whether one placeholder may be referenced several times (`$1` twice).
    pub fn numbered_placeholders(&self) -> bool {
        self.kind == DbKind::Postgres
    }

    /// `INSERT … RETURNING` is available (PostgreSQL, SQLite >= 3.35; MySQL uses last_insert_id).
    pub fn supports_returning(&self) -> bool {
        self.kind != DbKind::Mysql
    }

    /// The statement that sets the session's isolation level, if the database has one.
    pub fn set_isolation(&self, level: Isolation) -> Option<String> {
        match self.kind {
            DbKind::Postgres => Some(format!(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {}",
                level.sql()
            )),
            DbKind::Mysql => Some(format!(
                "SET SESSION TRANSACTION ISOLATION LEVEL {}",
                level.sql()
            )),
            // SQLite transactions are always serializable.
            DbKind::Sqlite => None,
        }
    }

    /// Starts an explicit transaction; `writes` lets SQLite take its write lock up front,
    /// which avoids busy upgrades that cannot be retried by waiting.
    pub fn begin(&self, writes: bool) -> &'static str {
        match (self.kind, writes) {
            (DbKind::Sqlite, true) => "BEGIN IMMEDIATE",
            (DbKind::Mysql, _) => "START TRANSACTION",
            _ => "BEGIN",
        }
    }

    /// A value as a SQL literal (for the simple protocol).
    pub fn literal(&self, v: &crate::value::Value) -> String {
        use crate::value::Value;
        match v {
            Value::Null => "NULL".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) if f.is_finite() => format!("{f:?}"),
            Value::Bool(b) => match self.kind {
                DbKind::Postgres => if *b { "TRUE" } else { "FALSE" }.into(),
                _ => if *b { "1" } else { "0" }.into(),
            },
            Value::Decimal(s) if s.parse::<f64>().is_ok() => s.clone(),
            other => {
                let s = other.to_sql_text().unwrap_or_default();
                let mut out = String::with_capacity(s.len() + 2);
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\'' => out.push_str("''"),
                        // MySQL reads backslash as an escape by default.
                        '\\' if self.kind == DbKind::Mysql => out.push_str("\\\\"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
        }
    }

    /// Replaces placeholders (`$n` or `?`, outside quotes) with literals.
    pub fn interpolate(&self, sql: &str, params: &[crate::value::Value]) -> String {
        let mut out = String::with_capacity(sql.len() + params.len() * 8);
        let b = sql.as_bytes();
        let mut i = 0;
        let mut next = 0;
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                out.push(c as char);
                i += 1;
                continue;
            }
            match c {
                b'\'' | b'"' | b'`' => {
                    quote = Some(c);
                    out.push(c as char);
                    i += 1;
                }
                b'$' if self.kind == DbKind::Postgres
                    && i + 1 < b.len()
                    && b[i + 1].is_ascii_digit() =>
                {
                    let mut j = i + 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let n: usize = sql[i + 1..j].parse().unwrap_or(0);
                    match params.get(n.wrapping_sub(1)) {
                        Some(v) => out.push_str(&self.literal(v)),
                        None => out.push_str(&sql[i..j]),
                    }
                    i = j;
                }
                b'?' if self.kind != DbKind::Postgres => {
                    match params.get(next) {
                        Some(v) => out.push_str(&self.literal(v)),
                        None => out.push('?'),
                    }
                    next += 1;
                    i += 1;
                }
                _ => {
                    // Copy one UTF-8 character.
                    let len = utf8_len(c);
                    out.push_str(&sql[i..(i + len).min(b.len())]);
                    i += len;
                }
            }
        }
        out
    }

    /// Upsert that appends `,v` to a list-append row (or creates it): parameters (id, v).
    pub fn append_upsert(&self, table: &str) -> String {
        let t = self.ident(table);
        match self.kind {
            DbKind::Postgres => format!(
                "INSERT INTO {t} (id, val) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET val = {t}.val || ',' || EXCLUDED.val"
            ),
            DbKind::Sqlite => format!(
                "INSERT INTO {t} (id, val) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET val = val || ',' || excluded.val"
            ),
            DbKind::Mysql => format!(
                "INSERT INTO {t} (id, val) VALUES (?, ?) ON DUPLICATE KEY UPDATE val = CONCAT(val, ',', VALUES(val))"
            ),
        }
    }

    /// rw-register: set `id`'s value, creating the row if needed.
    pub fn register_upsert(&self, table: &str) -> String {
        let t = self.ident(table);
        match self.kind {
            DbKind::Postgres => format!(
                "INSERT INTO {t} (id, val) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET val = EXCLUDED.val"
            ),
            DbKind::Sqlite => format!(
                "INSERT INTO {t} (id, val) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET val = excluded.val"
            ),
            DbKind::Mysql => format!(
                "INSERT INTO {t} (id, val) VALUES (?, ?) ON DUPLICATE KEY UPDATE val = VALUES(val)"
            ),
        }
    }

    /// Column type in DDL.
    pub fn column_type(&self, kind: &ColKind) -> String {
        match (self.kind, kind) {
            (_, ColKind::SmallInt) => "SMALLINT".into(),
            (_, ColKind::Int) => "INTEGER".into(),
            (_, ColKind::BigInt) => "BIGINT".into(),
            (DbKind::Postgres, ColKind::Float) => "DOUBLE PRECISION".into(),
            (_, ColKind::Float) => "DOUBLE".into(),
            (_, ColKind::Decimal { precision, scale }) => format!("DECIMAL({precision},{scale})"),
            (DbKind::Sqlite, ColKind::Text { .. }) => "TEXT".into(),
            (_, ColKind::Text { max_len: Some(n) }) => format!("VARCHAR({n})"),
            (_, ColKind::Text { max_len: None }) => "TEXT".into(),
            (DbKind::Mysql, ColKind::Bool) => "TINYINT(1)".into(),
            (_, ColKind::Bool) => "BOOLEAN".into(),
            (DbKind::Mysql, ColKind::Timestamp) => "DATETIME".into(),
            (_, ColKind::Timestamp) => "TIMESTAMP".into(),
            (_, ColKind::Date) => "DATE".into(),
            (DbKind::Postgres, ColKind::Uuid) => "UUID".into(),
            (_, ColKind::Uuid) => "CHAR(36)".into(),
            (DbKind::Postgres, ColKind::Json) => "JSONB".into(),
            (DbKind::Mysql, ColKind::Json) => "JSON".into(),
            (_, ColKind::Json) => "TEXT".into(),
            (_, ColKind::Enum(_)) => "VARCHAR(64)".into(),
            (_, ColKind::Other(name)) => name.clone(),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for a table description.
    pub fn create_table(&self, t: &TableInfo) -> String {
        let mut parts = Vec::new();
        for c in &t.columns {
            let is_pk = t.primary_key.len() == 1 && t.primary_key[0] == c.name;
            let mut def = format!("{} ", self.ident(&c.name));
            if is_pk && c.auto_generated {
                def.push_str(match self.kind {
                    DbKind::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
                    DbKind::Postgres => "BIGSERIAL PRIMARY KEY",
                    DbKind::Mysql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
                });
            } else {
                def.push_str(&self.column_type(&c.kind));
                if is_pk {
                    def.push_str(" PRIMARY KEY");
                } else if !c.nullable {
                    def.push_str(" NOT NULL");
                }
                if c.unique {
                    def.push_str(" UNIQUE");
                }
            }
            parts.push(def);
        }
        if t.primary_key.len() > 1 {
            let cols: Vec<String> = t.primary_key.iter().map(|c| self.ident(c)).collect();
            parts.push(format!("PRIMARY KEY ({})", cols.join(", ")));
        }
        for fk in &t.foreign_keys {
            parts.push(format!(
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                self.ident(&fk.column),
                self.ident(&fk.ref_table),
                self.ident(&fk.ref_column)
            ));
        }
        let suffix = if self.kind == DbKind::Mysql {
            " ENGINE=InnoDB"
        } else {
            ""
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {}\n){suffix}",
            self.ident(&t.name),
            parts.join(",\n  ")
        )
    }

    /// Adds a primary key after loading (faster than maintaining it during the load), or None
    /// where the database cannot (SQLite: the key is declared with the table instead).
    pub fn add_primary_key(&self, table: &str, column: &str) -> Option<String> {
        match self.kind {
            DbKind::Sqlite => None,
            _ => Some(format!(
                "ALTER TABLE {} ADD PRIMARY KEY ({})",
                self.ident(table),
                self.ident(column)
            )),
        }
    }

    /// Whether primary keys can be added after the load.
    pub fn defers_primary_keys(&self) -> bool {
        self.kind != DbKind::Sqlite
    }

    /// Moves an identity/serial sequence past explicitly inserted keys (PostgreSQL only; MySQL
    /// and SQLite do this by themselves).
    pub fn sync_sequence(&self, table: &str, column: &str) -> Option<String> {
        match self.kind {
            DbKind::Postgres => Some(format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), GREATEST(COALESCE(MAX({}), 0), 1)) FROM {}",
                super::quote_literal(&self.ident(table)),
                super::quote_literal(column),
                self.ident(column),
                self.ident(table)
            )),
            _ => None,
        }
    }

    /// Refreshes planner statistics after a bulk load.
    pub fn analyze(&self, table: &str) -> String {
        match self.kind {
            DbKind::Postgres => format!("VACUUM ANALYZE {}", self.ident(table)),
            DbKind::Mysql => format!("ANALYZE TABLE {}", self.ident(table)),
            DbKind::Sqlite => format!("ANALYZE {}", self.ident(table)),
        }
    }

    /// Statements that empty `tables`, given children before parents.
    pub fn truncate(&self, tables: &[String]) -> Vec<String> {
        match self.kind {
            DbKind::Postgres => {
                let list: Vec<String> = tables.iter().map(|t| self.ident(t)).collect();
                vec![format!("TRUNCATE {} RESTART IDENTITY", list.join(", "))]
            }
            DbKind::Mysql => {
                let mut v = vec!["SET FOREIGN_KEY_CHECKS = 0".to_string()];
                v.extend(
                    tables
                        .iter()
                        .map(|t| format!("TRUNCATE TABLE {}", self.ident(t))),
                );
                v.push("SET FOREIGN_KEY_CHECKS = 1".to_string());
                v
            }
            DbKind::Sqlite => tables
                .iter()
                .map(|t| format!("DELETE FROM {}", self.ident(t)))
                .collect(),
        }
    }

    /// Drops a table if it exists.
    pub fn drop_table(&self, table: &str) -> String {
        match self.kind {
            DbKind::Postgres => format!("DROP TABLE IF EXISTS {} CASCADE", self.ident(table)),
            _ => format!("DROP TABLE IF EXISTS {}", self.ident(table)),
        }
    }

    /// An index on a column, so joins and range scans on foreign keys stay index-driven.
    pub fn create_index(&self, table: &str, column: &str) -> String {
        let name = format!("idx_{table}_{column}");
        match self.kind {
            // MySQL has no IF NOT EXISTS for indexes before 8.0.29 (MariaDB has it).
            DbKind::Mysql => format!(
                "CREATE INDEX {} ON {} ({})",
                self.ident(&name),
                self.ident(table),
                self.ident(column)
            ),
            _ => format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                self.ident(&name),
                self.ident(table),
                self.ident(column)
            ),
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn interpolates_outside_quotes() {
        let pg = Dialect::new(DbKind::Postgres);
        let sql = pg.interpolate(
            "SELECT $1, '$2', $2, $10",
            &[Value::Int(5), Value::Text("it's".into())],
        );
        assert_eq!(sql, "SELECT 5, '$2', 'it''s', $10");
        let my = Dialect::new(DbKind::Mysql);
        let sql = my.interpolate(
            "UPDATE t SET a = ? WHERE b = '?' AND c = ?",
            &[Value::Text("a\\b".into()), Value::Null],
        );
        assert_eq!(sql, "UPDATE t SET a = 'a\\\\b' WHERE b = '?' AND c = NULL");
    }

    #[test]
    fn renders_per_database() {
        let pg = Dialect::new(DbKind::Postgres);
        let my = Dialect::new(DbKind::Mysql);
        assert_eq!(pg.placeholder(3), "$3");
        assert_eq!(my.placeholder(3), "?");
        assert_eq!(my.ident("a`b"), "`a``b`");
        assert_eq!(pg.ident("a\"b"), "\"a\"\"b\"");
        let tables = crate::schema::builtin::ecommerce();
        let ddl = pg.create_table(&tables[2].0);
        assert!(ddl.contains("BIGSERIAL PRIMARY KEY"), "{ddl}");
        assert!(ddl.contains("FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\")"));
        assert_eq!(
            Isolation::parse("Repeatable_Read"),
            Some(Isolation::RepeatableRead)
        );
    }
}
