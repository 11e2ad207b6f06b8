//! The nine tables of TPC-C (clause 1.3) with their primary keys and the two secondary
//! indexes the transactions need (customers by last name, a customer's orders), plus
//! `tpcc_meta`, which records what the loader chose so a run can honour it. The few words
//! that differ between databases are this module's own dialect table.

use crate::db::{Connection, DbKind};

/// The tables in load order (items first; the rest per warehouse).
pub const TABLES: [&str; 9] = [
    "item",
    "warehouse",
    "stock",
    "district",
    "customer",
    "history",
    "orders",
    "order_line",
    "new_order",
];

/// What the loader chose: read back by every run.
pub const META: &str = "tpcc_meta";

/// Column types and clauses that differ between databases.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    pub timestamp: &'static str,
    /// `FOR UPDATE` where rows can be locked when read; SQLite locks the whole database
    /// at BEGIN IMMEDIATE instead.
    pub for_update: &'static str,
    pub table_suffix: &'static str,
    /// Primary keys are added after the load: PostgreSQL builds a sorted index far faster
    /// than it maintains one row by row. InnoDB clusters rows by their key (adding it later
    /// rebuilds the table) and SQLite's rowid tables gain nothing, so they keep theirs.
    pub keys_after_load: bool,
}

pub fn words(kind: DbKind) -> Words {
    match kind {
        DbKind::Postgres => Words {
            timestamp: "TIMESTAMP",
            for_update: " FOR UPDATE",
            table_suffix: "",
            keys_after_load: true,
        },
        DbKind::Mysql => Words {
            timestamp: "DATETIME",
            for_update: " FOR UPDATE",
            table_suffix: " ENGINE=InnoDB",
            keys_after_load: false,
        },
        DbKind::Sqlite => Words {
            timestamp: "TIMESTAMP",
            for_update: "",
            table_suffix: "",
            keys_after_load: false,
        },
    }
}

/// CREATE TABLE statements of the nine tables and the meta table.
pub fn create_tables(kind: DbKind) -> Vec<String> {
    let w = words(kind);
    let defs = definitions(w.timestamp);
    defs.iter()
        .map(|d| {
            let d = if w.keys_after_load && !d.starts_with(META) {
                split_key(d).0
            } else {
                d.clone()
            };
            format!("CREATE TABLE {d}{}", w.table_suffix)
        })
        .collect()
}

fn create_tables_with_keys() -> Vec<String> {
    definitions("TIMESTAMP").to_vec()
}

/// "name (columns, PRIMARY KEY (…))" of each table.
fn definitions(ts: &str) -> [String; 10] {
    [
        "item (i_id INTEGER NOT NULL, i_im_id INTEGER, i_name VARCHAR(24), i_price DECIMAL(5,2), \
         i_data VARCHAR(50), PRIMARY KEY (i_id))"
            .to_string(),
        "warehouse (w_id INTEGER NOT NULL, w_name VARCHAR(10), w_street_1 VARCHAR(20), \
         w_street_2 VARCHAR(20), w_city VARCHAR(20), w_state CHAR(2), w_zip CHAR(9), \
         w_tax DECIMAL(4,4), w_ytd DECIMAL(12,2), PRIMARY KEY (w_id))"
            .to_string(),
        "stock (s_i_id INTEGER NOT NULL, s_w_id INTEGER NOT NULL, s_quantity INTEGER, \
         s_dist_01 CHAR(24), s_dist_02 CHAR(24), s_dist_03 CHAR(24), s_dist_04 CHAR(24), \
         s_dist_05 CHAR(24), s_dist_06 CHAR(24), s_dist_07 CHAR(24), s_dist_08 CHAR(24), \
         s_dist_09 CHAR(24), s_dist_10 CHAR(24), s_ytd INTEGER, s_order_cnt INTEGER, \
         s_remote_cnt INTEGER, s_data VARCHAR(50), PRIMARY KEY (s_w_id, s_i_id))"
            .to_string(),
        "district (d_id INTEGER NOT NULL, d_w_id INTEGER NOT NULL, d_name VARCHAR(10), \
         d_street_1 VARCHAR(20), d_street_2 VARCHAR(20), d_city VARCHAR(20), d_state CHAR(2), \
         d_zip CHAR(9), d_tax DECIMAL(4,4), d_ytd DECIMAL(12,2), d_next_o_id INTEGER, \
         PRIMARY KEY (d_w_id, d_id))"
            .to_string(),
        format!(
            "customer (c_id INTEGER NOT NULL, c_d_id INTEGER NOT NULL, c_w_id INTEGER NOT NULL, \
             c_first VARCHAR(16), c_middle CHAR(2), c_last VARCHAR(16), c_street_1 VARCHAR(20), \
             c_street_2 VARCHAR(20), c_city VARCHAR(20), c_state CHAR(2), c_zip CHAR(9), \
             c_phone CHAR(16), c_since {ts}, c_credit CHAR(2), c_credit_lim DECIMAL(12,2), \
             c_discount DECIMAL(4,4), c_balance DECIMAL(12,2), c_ytd_payment DECIMAL(12,2), \
             c_payment_cnt INTEGER, c_delivery_cnt INTEGER, c_data VARCHAR(500), \
             PRIMARY KEY (c_w_id, c_d_id, c_id))"
        ),
        // The specification gives HISTORY no primary key.
        format!(
            "history (h_c_id INTEGER, h_c_d_id INTEGER, h_c_w_id INTEGER, h_d_id INTEGER, \
             h_w_id INTEGER, h_date {ts}, h_amount DECIMAL(6,2), h_data VARCHAR(24))"
        ),
        format!(
            "orders (o_id INTEGER NOT NULL, o_d_id INTEGER NOT NULL, o_w_id INTEGER NOT NULL, \
             o_c_id INTEGER, o_entry_d {ts}, o_carrier_id INTEGER, o_ol_cnt INTEGER, \
             o_all_local INTEGER, PRIMARY KEY (o_w_id, o_d_id, o_id))"
        ),
        format!(
            "order_line (ol_o_id INTEGER NOT NULL, ol_d_id INTEGER NOT NULL, \
             ol_w_id INTEGER NOT NULL, ol_number INTEGER NOT NULL, ol_i_id INTEGER, \
             ol_supply_w_id INTEGER, ol_delivery_d {ts}, ol_quantity INTEGER, \
             ol_amount DECIMAL(6,2), ol_dist_info CHAR(24), \
             PRIMARY KEY (ol_w_id, ol_d_id, ol_o_id, ol_number))"
        ),
        "new_order (no_o_id INTEGER NOT NULL, no_d_id INTEGER NOT NULL, \
         no_w_id INTEGER NOT NULL, PRIMARY KEY (no_w_id, no_d_id, no_o_id))"
            .to_string(),
        format!("{META} (name VARCHAR(32) NOT NULL, value BIGINT, PRIMARY KEY (name))"),
    ]
}

/// A table definition without its primary key, and the key's columns.
fn split_key(def: &str) -> (String, Option<String>) {
    match def.rfind(", PRIMARY KEY (") {
        Some(at) => {
            let cols = def[at + ", PRIMARY KEY (".len()..]
                .trim_end_matches(')')
                .to_string();
            (format!("{})", &def[..at]), Some(cols))
        }
        None => (def.to_string(), None),
    }
}

/// The primary keys left out of `create_tables`, added after the load.
pub fn add_keys(kind: DbKind) -> Vec<String> {
    if !words(kind).keys_after_load {
        return Vec::new();
    }
    create_tables_with_keys()
        .iter()
        .filter_map(|d| {
            let table = d.split_whitespace().next()?;
            let cols = split_key(d).1?;
            (table != META).then(|| format!("ALTER TABLE {table} ADD PRIMARY KEY ({cols})"))
        })
        .collect()
}

/// Secondary indexes, built after the load.
pub fn create_indexes() -> Vec<String> {
    vec![
        "CREATE INDEX customer_by_name ON customer (c_w_id, c_d_id, c_last, c_first)".into(),
        "CREATE INDEX orders_by_customer ON orders (o_w_id, o_d_id, o_c_id, o_id)".into(),
    ]
}

/// Drops the tables (and so their indexes) where they exist.
pub async fn drop_tables(c: &mut Connection) -> Result<(), crate::db::DbError> {
    let d = c.dialect();
    let existing = c.list_tables().await?;
    for t in TABLES.iter().rev().chain(std::iter::once(&META)) {
        if existing.iter().any(|e| e.eq_ignore_ascii_case(t)) {
            c.execute(&d.drop_table(t)).await?;
        }
    }
    Ok(())
}

/// `?` placeholders in the database's own form (`$1`, `$2`… on PostgreSQL).
pub fn placeholders(kind: DbKind, sql: &str) -> String {
    if kind != DbKind::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        let sql = "SELECT a FROM t WHERE x = ? AND y = ?";
        assert_eq!(
            placeholders(DbKind::Postgres, sql),
            "SELECT a FROM t WHERE x = $1 AND y = $2"
        );
        assert_eq!(placeholders(DbKind::Mysql, sql), sql);
        assert_eq!(create_tables(DbKind::Sqlite).len(), 10);
        assert!(create_tables(DbKind::Sqlite)[7].contains("PRIMARY KEY (ol_w_id"));
        let pg = create_tables(DbKind::Postgres);
        assert!(!pg[7].contains("PRIMARY KEY") && pg[7].ends_with("ol_dist_info CHAR(24))"));
        let keys = add_keys(DbKind::Postgres);
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert_eq!(
            keys[2],
            "ALTER TABLE stock ADD PRIMARY KEY (s_w_id, s_i_id)"
        );
        assert!(add_keys(DbKind::Mysql).is_empty());
    }
}
