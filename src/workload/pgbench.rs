//! pgbench's built-in scripts, statement for statement: tpcb-like, simple-update, select-only.

use crate::config::{CustomQuery, ParamSpec, PgbenchScript};
use crate::db::Connection;
use crate::schema::SchemaError;
use std::collections::BTreeMap;

fn uniform(min: i64, max: i64) -> ParamSpec {
    ParamSpec {
        generator: "random_int".into(),
        references: None,
        min: Some(min as f64),
        max: Some(max as f64),
        precision: None,
        values: None,
        weights: None,
        template: None,
        start: None,
        step: None,
        distribution: None,
    }
}

/// The scale of the pgbench tables, as pgbench itself finds it: the number of branches.
pub async fn scale(conn: &mut Connection, db: &str) -> Result<i64, crate::Error> {
    let tables = conn
        .list_tables()
        .await
        .map_err(|e| crate::Error::db("listing tables", e))?;
    let missing: Vec<&str> = [
        "pgbench_branches",
        "pgbench_tellers",
        "pgbench_accounts",
        "pgbench_history",
    ]
    .into_iter()
    .filter(|t| !tables.iter().any(|x| x == t))
    .collect();
    if !missing.is_empty() {
        return Err(SchemaError::PgbenchNotLoaded {
            db: db.to_string(),
            missing: missing.join(", "),
        }
        .into());
    }
    let rows = conn
        .query_text("SELECT COUNT(*) FROM pgbench_branches")
        .await
        .map_err(|e| crate::Error::db("counting pgbench_branches", e))?;
    let n = rows
        .first()
        .and_then(|r| r[0].as_deref())
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    if n == 0 {
        return Err(SchemaError::EmptyTable {
            table: "pgbench_branches".into(),
        }
        .into());
    }
    Ok(n)
}

/// The script as one custom transaction with pgbench's random choices for `scale`.
pub fn queries(script: PgbenchScript, scale: i64) -> Vec<CustomQuery> {
    let mut params = BTreeMap::new();
    params.insert("aid".to_string(), uniform(1, 100_000 * scale));
    let sql = match script {
        PgbenchScript::SelectOnly => {
            "SELECT abalance FROM pgbench_accounts WHERE aid = :aid".to_string()
        }
        _ => {
            params.insert("bid".to_string(), uniform(1, scale));
            params.insert("tid".to_string(), uniform(1, 10 * scale));
            params.insert("delta".to_string(), uniform(-5000, 5000));
            let mut s = String::from(
                "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n\
                 SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n",
            );
            if script == PgbenchScript::TpcbLike {
                s.push_str(
                    "UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;\n\
                     UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;\n",
                );
            } else {
                // simple-update draws tid and bid for the history row, like pgbench.
            }
            s.push_str(
                "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP)",
            );
            s
        }
    };
    vec![CustomQuery {
        name: script.name().to_string(),
        sql,
        weight: 1.0,
        params,
    }]
}
