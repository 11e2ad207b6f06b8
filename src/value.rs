//! A database-neutral value: what generators produce and drivers bind.

use std::fmt;

/// One SQL value. Timestamps are microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    /// A decimal carried as its exact text form (for example `"12.50"`).
    Decimal(String),
    Text(String),
    Bool(bool),
    Timestamp(i64),
    /// Days since the Unix epoch.
    Date(i32),
}

impl Value {
    /// The value as an integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::Text(s) | Value::Decimal(s) => s.parse().ok(),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }

    /// Text rendering used by drivers that bind everything as strings.
    pub fn to_sql_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(v) => Some(v.to_string()),
            Value::Float(v) => Some(v.to_string()),
            Value::Decimal(s) | Value::Text(s) => Some(s.clone()),
            Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
            Value::Timestamp(us) => Some(crate::util::time::format_timestamp_us(*us)),
            Value::Date(d) => Some(crate::util::time::format_date(*d)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_sql_text() {
            Some(s) => f.write_str(&s),
            None => f.write_str("NULL"),
        }
    }
}
