//! Table descriptions (read from a database or built in) and schema errors.

pub mod builtin;
pub mod model;

pub use model::{ColKind, ColumnInfo, ForeignKey, TableInfo};

use thiserror::Error;

/// The database lacks what the workload needs.
#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("table '{table}' does not exist in {db}; create it first or run `dbarena seed`, or drop it from --tables")]
    MissingTable { table: String, db: String },
    #[error("table '{table}' is empty but the workload reads from it; seed it first (`dbarena seed`) or drop it from --tables")]
    EmptyTable { table: String },
    #[error("table '{table}' has no single-column primary key, which generated operations need; describe its operations with [[custom_queries]] instead")]
    NoPrimaryKey { table: String },
    #[error("the pgbench tables are not in {db} ({missing}); load them first with `dbarena seed --preset pgbench --scale N --db …` (or `pgbench -i`)")]
    PgbenchNotLoaded { db: String, missing: String },
    #[error("the TPC-C tables are not in {db} ({missing}); load them first with `dbarena seed --preset tpcc --warehouses W --db …`")]
    TpccNotLoaded { db: String, missing: String },
}
