//! Keys that exist: loaded once before the run so reads hit real rows.

use crate::datagen::{KeyDist, Rng};
use crate::db::{Connection, DbError};
use crate::value::Value;

/// Most keys kept in memory per column; larger tables are sampled from their first keys.
pub const MAX_KEYS: u64 = 2_000_000;

/// The keys of one column, in ascending order.
#[derive(Debug, Clone)]
pub enum KeySet {
    /// Every integer in `[min, max]` exists.
    Dense { min: i64, max: i64 },
    /// Sorted list of the keys.
    List(Vec<Value>),
}

impl KeySet {
    pub fn len(&self) -> u64 {
        match self {
            KeySet::Dense { min, max } => (max - min + 1).max(0) as u64,
            KeySet::List(v) => v.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The i-th key in ascending order (clamped to the last).
    pub fn get(&self, i: u64) -> Value {
        match self {
            KeySet::Dense { min, max } => Value::Int((*min + i as i64).min(*max)),
            KeySet::List(v) => v
                .get((i as usize).min(v.len().saturating_sub(1)))
                .cloned()
                .unwrap_or(Value::Null),
        }
    }

    /// A key drawn with the given distribution.
    pub fn sample(&self, rng: &mut Rng, dist: &KeyDist) -> Value {
        self.get(dist.sample(rng, self.len()))
    }

    /// Loads the keys of `table.column`; `integer` says whether values are integers.
    pub async fn load(
        conn: &mut Connection,
        table: &str,
        column: &str,
        integer: bool,
    ) -> Result<KeySet, DbError> {
        let d = conn.dialect();
        let (t, c) = (d.ident(table), d.ident(column));
        if integer {
            let rows = conn
                .query_text(&format!("SELECT MIN({c}), MAX({c}), COUNT({c}) FROM {t}"))
                .await?;
            let num = |i: usize| -> Option<i64> {
                rows.first()?
                    .get(i)?
                    .as_deref()?
                    .parse::<f64>()
                    .ok()
                    .map(|v| v as i64)
            };
            if let (Some(min), Some(max), Some(count)) = (num(0), num(1), num(2)) {
                if count > 0 && max - min + 1 == count {
                    return Ok(KeySet::Dense { min, max });
                }
            }
        }
        let rows = conn
            .query_text(&format!(
                "SELECT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY {c} LIMIT {MAX_KEYS}"
            ))
            .await?;
        let mut keys: Vec<Value> = rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .map(|s| match (integer, s.parse::<i64>()) {
                (true, Ok(v)) => Value::Int(v),
                _ => Value::Text(s),
            })
            .collect();
        keys.dedup();
        Ok(KeySet::List(keys))
    }
}
