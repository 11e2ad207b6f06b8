//! What dbarena knows about a table: columns, keys and size.

use serde::{Deserialize, Serialize};

/// The family of a column's type; enough to generate values that fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColKind {
    SmallInt,
    Int,
    BigInt,
    Float,
    Decimal {
        precision: u32,
        scale: u32,
    },
    Text {
        max_len: Option<u32>,
    },
    Bool,
    Timestamp,
    Date,
    Uuid,
    Json,
    /// An enumerated type with its labels (PostgreSQL enum, MySQL enum).
    Enum(Vec<String>),
    /// A type dbarena cannot generate values for (the raw type name).
    Other(String),
}

impl ColKind {
    /// Maps a SQL type name (any of the three databases) to a kind.
    pub fn from_sql(
        type_name: &str,
        max_len: Option<u32>,
        precision: Option<u32>,
        scale: Option<u32>,
    ) -> ColKind {
        let t = type_name.to_ascii_lowercase();
        if let Some(labels) = t.strip_prefix("enum(") {
            // MySQL column_type: enum('a','b')
            let labels = labels
                .trim_end_matches(')')
                .split(',')
                .map(|l| l.trim().trim_matches('\'').replace("''", "'"))
                .collect();
            return ColKind::Enum(labels);
        }
        let base = t.split('(').next().unwrap_or("").trim();
        let base = base.trim_end_matches(" unsigned");
        match base {
            "smallint" | "int2" | "tinyint" | "smallserial" => ColKind::SmallInt,
            "integer" | "int" | "int4" | "mediumint" | "serial" => ColKind::Int,
            "bigint" | "int8" | "bigserial" => ColKind::BigInt,
            "real" | "float" | "float4" | "float8" | "double" | "double precision" => {
                ColKind::Float
            }
            "numeric" | "decimal" => ColKind::Decimal {
                precision: precision.unwrap_or(12).max(1),
                scale: scale.unwrap_or(2),
            },
            "boolean" | "bool" => ColKind::Bool,
            "timestamp"
            | "timestamptz"
            | "datetime"
            | "timestamp without time zone"
            | "timestamp with time zone" => ColKind::Timestamp,
            "date" => ColKind::Date,
            "uuid" => ColKind::Uuid,
            "json" | "jsonb" => ColKind::Json,
            "text" | "varchar" | "character varying" | "char" | "character" | "bpchar"
            | "tinytext" | "mediumtext" | "longtext" | "clob" | "string" | "name" => {
                ColKind::Text { max_len }
            }
            // SQLite type affinity rules for declared types dbarena has not matched above.
            b if b.contains("int") => ColKind::BigInt,
            b if b.contains("char") || b.contains("clob") || b.contains("text") => {
                ColKind::Text { max_len }
            }
            b if b.contains("real") || b.contains("floa") || b.contains("doub") => ColKind::Float,
            "" => ColKind::Text { max_len: None },
            other => ColKind::Other(other.to_string()),
        }
    }

    /// Whether the column holds integers.
    pub fn is_integer(&self) -> bool {
        matches!(self, ColKind::SmallInt | ColKind::Int | ColKind::BigInt)
    }
}

/// One column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// The type as the database names it.
    pub sql_type: String,
    pub kind: ColKind,
    pub nullable: bool,
    /// Filled in by the database when omitted (serial, identity, auto_increment, rowid).
    pub auto_generated: bool,
    pub has_default: bool,
    pub unique: bool,
}

/// A single-column foreign key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForeignKey {
    pub column: String,
    pub ref_table: String,
    pub ref_column: String,
}

/// One table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
    pub row_count: u64,
    /// UNIQUE constraints over two or more columns (single-column ones set
    /// [`ColumnInfo::unique`]).
    #[serde(default)]
    pub unique_keys: Vec<Vec<String>>,
    /// Unique indexes seeding cannot honour exactly (expressions; partial ones are filled as
    /// if unique everywhere), described for the user.
    #[serde(default)]
    pub index_notes: Vec<String>,
}

impl TableInfo {
    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The single primary key column, if the key has exactly one.
    pub fn pk_column(&self) -> Option<&ColumnInfo> {
        match self.primary_key.as_slice() {
            [one] => self.column(one),
            _ => None,
        }
    }

    /// The foreign key that starts at this column.
    pub fn fk_for(&self, column: &str) -> Option<&ForeignKey> {
        self.foreign_keys.iter().find(|f| f.column == column)
    }
}
