//! Creates a built-in schema where it is missing and fills its empty tables.

use crate::datagen::keys::KeySet;
use crate::datagen::{values, KeyDist, Rng};
use crate::db::{Connection, DbError};
use crate::schema::{builtin, TableInfo};
use crate::util::time::now_us;
use crate::value::Value;
use std::collections::HashMap;

/// What [`ensure_ecommerce`] did, per table: rows inserted (0 if it already had rows).
#[derive(Debug, Default)]
pub struct EnsureReport {
    pub created: Vec<String>,
    pub filled: Vec<(String, u64)>,
}

/// Makes sure the `ecommerce` tables exist and have rows; creates and fills what is missing.
/// The data is deterministic (fixed seed) so runs on fresh databases are comparable.
pub async fn ensure_ecommerce(conn: &mut Connection) -> Result<EnsureReport, DbError> {
    let d = conn.dialect();
    let existing = conn.list_tables().await?;
    let mut report = EnsureReport::default();
    let mut parents: HashMap<String, KeySet> = HashMap::new();
    for (i, (table, rows)) in builtin::ecommerce().into_iter().enumerate() {
        if !existing.iter().any(|t| t == &table.name) {
            conn.execute(&d.create_table(&table)).await?;
            for fk in &table.foreign_keys {
                conn.execute(&d.create_index(&table.name, &fk.column))
                    .await?;
            }
            if table.name == "orders" {
                conn.execute(&d.create_index(&table.name, "created_at"))
                    .await?;
            }
            report.created.push(table.name.clone());
        }
        let count = conn
            .query_text(&format!("SELECT COUNT(*) FROM {}", d.ident(&table.name)))
            .await?
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if count == 0 {
            fill(conn, &table, rows, &parents, 42 + i as u64).await?;
            report.filled.push((table.name.clone(), rows));
        }
        parents.insert(
            table.name.clone(),
            KeySet::load(conn, &table.name, "id", true).await?,
        );
    }
    Ok(report)
}

async fn fill(
    conn: &mut Connection,
    table: &TableInfo,
    rows: u64,
    parents: &HashMap<String, KeySet>,
    seed: u64,
) -> Result<(), DbError> {
    let mut rng = Rng::new(seed);
    let now = now_us();
    let cols: Vec<_> = table.columns.iter().filter(|c| !c.auto_generated).collect();
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let uniform = KeyDist::Uniform;
    let d = conn.dialect();
    conn.execute(d.begin(true)).await?;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(1000);
    for _ in 0..rows {
        let row = cols
            .iter()
            .map(|c| match table.fk_for(&c.name) {
                Some(fk) => parents
                    .get(&fk.ref_table)
                    .map(|k| k.sample(&mut rng, &uniform))
                    .unwrap_or(Value::Null),
                None => values::for_column(c, &mut rng, now),
            })
            .collect();
        batch.push(row);
        if batch.len() == 1000 {
            conn.insert_rows(&table.name, &names, &batch).await?;
            batch.clear();
        }
    }
    conn.insert_rows(&table.name, &names, &batch).await?;
    conn.execute("COMMIT").await
}
