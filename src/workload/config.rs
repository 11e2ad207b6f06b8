//! Workload configuration: the TOML file format, the flags that override it, validation,
//! and the fully resolved [`WorkloadConfig`] that a run records in its result file.

use super::pattern::{OpMix, Pattern, PATTERN_NAMES};
use crate::db::{Isolation, Protocol};
use crate::util::duration::parse_duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// A configuration problem; each message names the setting and how to fix it.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{path}:{line}:{column}: {message}")]
    Toml {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("unknown pattern '{0}'; valid patterns: {list}, {pg}, {ycsb}, writers-readers, list-append", list = PATTERN_NAMES.join(", "), pg = super::pgbench::SCRIPTS.join(", "), ycsb = super::ycsb::WORKLOADS.join(", "))]
    UnknownPattern(String),
    #[error("{what} weights sum to {sum}; they must sum to 1 (or 100) — adjust them, dbarena does not normalise silently")]
    Weights { what: String, sum: f64 },
    #[error("invalid {setting} '{value}': {why}")]
    Invalid {
        setting: String,
        value: String,
        why: String,
    },
}

fn invalid(setting: &str, value: impl ToString, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        value: value.to_string(),
        why: why.into(),
    }
}

/// A custom operation mix in place of a pattern's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomOperations {
    #[serde(default)]
    pub select: f64,
    #[serde(default)]
    pub insert: f64,
    #[serde(default)]
    pub update: f64,
    #[serde(default)]
    pub delete: f64,
    #[serde(default)]
    pub use_joins: bool,
    #[serde(default)]
    pub use_aggregations: bool,
}

/// How one `:param` of a custom query gets its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// foreign_key, random_int, random_decimal, enum, template, sequential, uniform, zipfian.
    pub generator: String,
    /// `table.column` for foreign_key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    /// uniform (default) or zipfian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
}

/// A custom SQL transaction: one or more statements separated by `;`, with `:param`s.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomQuery {
    pub name: String,
    pub sql: String,
    pub weight: f64,
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
}

/// `tps = 500` or `tps = "max"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TpsSetting {
    Rate(f64),
    Word(String),
}

/// The workload TOML file; every field optional, flags override it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    pub db: Option<String>,
    pub pattern: Option<String>,
    pub tps: Option<TpsSetting>,
    pub arrival: Option<String>,
    pub duration: Option<String>,
    pub transactions: Option<u64>,
    pub warmup: Option<String>,
    pub connections: Option<usize>,
    pub threads: Option<usize>,
    pub isolation: Option<String>,
    pub max_retries: Option<u32>,
    pub tables: Option<Vec<String>>,
    pub seed: Option<u64>,
    pub out: Option<String>,
    pub protocol: Option<String>,
    pub distribution: Option<String>,
    pub pipeline: Option<usize>,
    /// Longest a transaction may take before its connection is given up, e.g. "30s".
    pub timeout: Option<String>,
    // writers-readers pattern
    pub num_writers: Option<usize>,
    pub writer_rate: Option<f64>,
    pub num_readers: Option<usize>,
    pub reader_rate: Option<f64>,
    pub value_size: Option<usize>,
    pub max_retry_count: Option<u32>,
    pub key_pool: Option<String>,
    pub key_pool_size: Option<u64>,
    pub key_overlap_ratio: Option<f64>,
    /// Table of the writers-readers pattern [default: dbarena_kv].
    pub kv_table: Option<String>,
    pub verify: Option<bool>,
    pub custom_operations: Option<CustomOperations>,
    pub custom_queries: Option<Vec<CustomQuery>>,
}

impl WorkloadFile {
    /// Reads and parses a TOML file; errors carry file:line:column.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Toml {
                path: origin.into(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })
    }

    /// Layers `over` on top of `self`: every setting `over` has wins.
    pub fn overlay(self, over: WorkloadFile) -> WorkloadFile {
        WorkloadFile {
            db: over.db.or(self.db),
            pattern: over.pattern.or(self.pattern),
            tps: over.tps.or(self.tps),
            arrival: over.arrival.or(self.arrival),
            duration: over.duration.or(self.duration),
            transactions: over.transactions.or(self.transactions),
            warmup: over.warmup.or(self.warmup),
            connections: over.connections.or(self.connections),
            threads: over.threads.or(self.threads),
            isolation: over.isolation.or(self.isolation),
            max_retries: over.max_retries.or(self.max_retries),
            tables: over.tables.or(self.tables),
            seed: over.seed.or(self.seed),
            out: over.out.or(self.out),
            protocol: over.protocol.or(self.protocol),
            distribution: over.distribution.or(self.distribution),
            pipeline: over.pipeline.or(self.pipeline),
            timeout: over.timeout.or(self.timeout),
            num_writers: over.num_writers.or(self.num_writers),
            writer_rate: over.writer_rate.or(self.writer_rate),
            num_readers: over.num_readers.or(self.num_readers),
            reader_rate: over.reader_rate.or(self.reader_rate),
            value_size: over.value_size.or(self.value_size),
            max_retry_count: over.max_retry_count.or(self.max_retry_count),
            key_pool: over.key_pool.or(self.key_pool),
            key_pool_size: over.key_pool_size.or(self.key_pool_size),
            key_overlap_ratio: over.key_overlap_ratio.or(self.key_overlap_ratio),
            kv_table: over.kv_table.or(self.kv_table),
            verify: over.verify.or(self.verify),
            custom_operations: over.custom_operations.or(self.custom_operations),
            custom_queries: over.custom_queries.or(self.custom_queries),
        }
    }

    /// Validates and resolves every setting. `db` is resolved by the caller (flags and
    /// environment variables), so it is passed in.
    pub fn resolve(self, db: String) -> Result<WorkloadConfig, ConfigError> {
        let tps = match &self.tps {
            None => None,
            Some(TpsSetting::Word(w)) if w.eq_ignore_ascii_case("max") => None,
            Some(TpsSetting::Word(w)) => match w.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => return Err(invalid("tps", w, "expected a number or 'max'")),
            },
            Some(TpsSetting::Rate(r)) => Some(*r),
        };
        if let Some(r) = tps {
            if !(r.is_finite() && r > 0.0) {
                return Err(invalid("tps", r, "must be a positive number (or 'max')"));
            }
        }
        let arrival = match self.arrival.as_deref().unwrap_or("poisson") {
            "poisson" => Arrival::Poisson,
            "uniform" => Arrival::Uniform,
            other => return Err(invalid("arrival", other, "expected poisson or uniform")),
        };
        let dur = |name: &str, v: &Option<String>| -> Result<Option<Duration>, ConfigError> {
            v.as_deref()
                .map(|s| parse_duration(s).map_err(|why| invalid(name, s, why)))
                .transpose()
        };
        let mut duration = dur("duration", &self.duration)?;
        if duration.is_none() && self.transactions.is_none() {
            duration = Some(Duration::from_secs(10));
        }
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(invalid("duration", "0", "must be longer than zero"));
        }
        if self.transactions == Some(0) {
            return Err(invalid("transactions", 0, "must be at least 1"));
        }
        let warmup = dur("warmup", &self.warmup)?.unwrap_or_default();
        let timeout = dur("timeout", &self.timeout)?.unwrap_or(Duration::from_secs(30));
        if timeout.is_zero() {
            return Err(invalid("timeout", "0", "must be longer than zero"));
        }
        let connections = self.connections.unwrap_or(4);
        if connections == 0 || connections > 10_000 {
            return Err(invalid(
                "connections",
                connections,
                "must be between 1 and 10000",
            ));
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let threads = self.threads.unwrap_or(cores).clamp(1, connections);
        let isolation = match self.isolation.as_deref() {
            None => None,
            Some(s) => Some(Isolation::parse(s).ok_or_else(|| {
                invalid(
                    "isolation",
                    s,
                    "expected read-committed, repeatable-read or serializable",
                )
            })?),
        };
        if self.custom_operations.is_some() && self.custom_queries.is_some() {
            return Err(invalid(
                "custom_operations",
                "[custom_operations]",
                "use either [custom_operations] or [[custom_queries]], not both",
            ));
        }
        let (pattern, mix) = if let Some(ops) = &self.custom_operations {
            let w = [ops.select, ops.insert, ops.update, ops.delete];
            if w.iter().any(|v| *v < 0.0 || !v.is_finite()) {
                return Err(invalid(
                    "custom_operations",
                    "weights",
                    "weights must be >= 0",
                ));
            }
            check_weights("[custom_operations]", &w)?;
            let scale = if w.iter().sum::<f64>() > 1.5 {
                1.0
            } else {
                100.0
            };
            (
                "custom".to_string(),
                OpMix {
                    select: ops.select * scale,
                    insert: ops.insert * scale,
                    update: ops.update * scale,
                    delete: ops.delete * scale,
                },
            )
        } else if let Some(queries) = &self.custom_queries {
            if queries.is_empty() {
                return Err(invalid("custom_queries", "[]", "list at least one query"));
            }
            let w: Vec<f64> = queries.iter().map(|q| q.weight).collect();
            if w.iter().any(|v| *v < 0.0 || !v.is_finite()) {
                return Err(invalid("custom_queries", "weight", "weights must be >= 0"));
            }
            check_weights("[[custom_queries]]", &w)?;
            let mut names = std::collections::HashSet::new();
            for q in queries {
                if !names.insert(q.name.as_str()) {
                    return Err(invalid(
                        "custom_queries.name",
                        &q.name,
                        "names must be unique",
                    ));
                }
            }
            (
                "custom_sql".to_string(),
                OpMix {
                    select: 0.0,
                    insert: 0.0,
                    update: 0.0,
                    delete: 0.0,
                },
            )
        } else {
            let name = self.pattern.as_deref().unwrap_or("balanced");
            let lower = name.to_ascii_lowercase().replace('_', "-");
            if super::pgbench::is_script(&lower)
                || super::ycsb::is_workload(&lower)
                || lower == "writers-readers"
                || lower == "list-append"
            {
                let none = OpMix {
                    select: 0.0,
                    insert: 0.0,
                    update: 0.0,
                    delete: 0.0,
                };
                (lower, none)
            } else {
                let p = Pattern::parse(name)
                    .ok_or_else(|| ConfigError::UnknownPattern(name.to_string()))?;
                (p.name().to_string(), p.mix())
            }
        };
        let protocol = match self.protocol.as_deref() {
            None => Protocol::Prepared,
            Some(p) => Protocol::parse(p)
                .ok_or_else(|| invalid("protocol", p, "expected simple, extended or prepared"))?,
        };
        if let Some(d) = self.distribution.as_deref() {
            if !super::ycsb::DISTRIBUTIONS.contains(&d) {
                return Err(invalid(
                    "distribution",
                    d,
                    "expected uniform, zipfian, latest or hotspot",
                ));
            }
        }
        Ok(WorkloadConfig {
            db,
            pattern,
            mix,
            tps,
            arrival,
            duration,
            transactions: self.transactions,
            warmup,
            connections,
            threads,
            isolation,
            max_retries: self.max_retries.unwrap_or(3),
            tables: self.tables,
            seed: self.seed,
            protocol,
            distribution: self.distribution,
            timeout,
            writers_readers: WritersReadersFile {
                num_writers: self.num_writers,
                writer_rate: self.writer_rate,
                num_readers: self.num_readers,
                reader_rate: self.reader_rate,
                value_size: self.value_size,
                max_retry_count: self.max_retry_count,
                key_pool: self.key_pool.clone(),
                key_pool_size: self.key_pool_size,
                key_overlap_ratio: self.key_overlap_ratio,
                kv_table: self.kv_table.clone(),
                verify: self.verify,
            }
            .resolve()?,
            pipeline: match self.pipeline.unwrap_or(1) {
                0 => return Err(invalid("pipeline", 0, "must be at least 1")),
                n => n,
            },
            custom_operations: self.custom_operations,
            custom_queries: self.custom_queries.unwrap_or_default(),
        })
    }
}

/// Weights must sum to 1 or to 100 (within rounding).
pub fn check_weights(what: &str, w: &[f64]) -> Result<(), ConfigError> {
    let sum: f64 = w.iter().sum();
    if (sum - 1.0).abs() <= 1e-6 || (sum - 100.0).abs() <= 1e-4 {
        Ok(())
    } else {
        Err(ConfigError::Weights {
            what: what.into(),
            sum: (sum * 1e6).round() / 1e6,
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

pub use crate::engine::Arrival;

/// Which client a workload runs: the statement workloads share one source, the checked
/// patterns have their own. Decided once, from the validated pattern name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    /// Patterns, custom operations, custom SQL, pgbench scripts, YCSB.
    Statements,
    WritersReaders,
    ListAppend,
}

impl WorkloadConfig {
    pub fn kind(&self) -> WorkloadKind {
        match self.pattern.as_str() {
            "writers-readers" => WorkloadKind::WritersReaders,
            "list-append" => WorkloadKind::ListAppend,
            _ => WorkloadKind::Statements,
        }
    }
}

/// A fully resolved workload, recorded verbatim in the result file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Database URL; the password is redacted before this is written anywhere.
    pub db: String,
    /// Pattern name, `custom` (custom operation mix) or `custom_sql`.
    pub pattern: String,
    pub mix: OpMix,
    /// Target rate in transactions/s; `None` runs closed-loop.
    pub tps: Option<f64>,
    pub arrival: Arrival,
    #[serde(with = "opt_duration")]
    pub duration: Option<Duration>,
    pub transactions: Option<u64>,
    #[serde(with = "duration_secs")]
    pub warmup: Duration,
    pub connections: usize,
    pub threads: usize,
    pub isolation: Option<Isolation>,
    pub max_retries: u32,
    pub tables: Option<Vec<String>>,
    pub seed: Option<u64>,
    /// How statements are sent (pgbench -M).
    #[serde(default)]
    pub protocol: Protocol,
    /// YCSB request distribution override.
    #[serde(default)]
    pub distribution: Option<String>,
    /// A transaction running longer than this is abandoned with its connection (a hung or
    /// blackholed server must not stall the run).
    #[serde(with = "duration_secs", default = "default_timeout")]
    pub timeout: Duration,
    /// Settings of the writers-readers pattern.
    #[serde(default)]
    pub writers_readers: WritersReaders,
    /// Transactions in flight per connection (PostgreSQL, single-statement work).
    #[serde(default = "one")]
    pub pipeline: usize,
    pub custom_operations: Option<CustomOperations>,
    pub custom_queries: Vec<CustomQuery>,
}

/// Writers-readers settings as written in TOML (all optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WritersReadersFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_writers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_readers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retry_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pool_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_overlap_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
}

impl WritersReadersFile {
    fn resolve(&self) -> Result<WritersReaders, ConfigError> {
        let d = WritersReaders::default();
        let pool = match self.key_pool.as_deref().unwrap_or("monotonic") {
            "monotonic" => false,
            "pool" => true,
            other => return Err(invalid("key_pool", other, "expected monotonic or pool")),
        };
        let overlap = self.key_overlap_ratio.unwrap_or(d.key_overlap_ratio);
        if !(0.0..=1.0).contains(&overlap) {
            return Err(invalid(
                "key_overlap_ratio",
                overlap,
                "must be between 0 and 1",
            ));
        }
        let table = self.kv_table.clone().unwrap_or(d.table);
        let plain = table.len() <= 63
            && table.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(invalid(
                "kv_table",
                &table,
                "expected a plain table name: letters, digits and _, at most 63",
            ));
        }
        for (name, r) in [
            ("writer_rate", self.writer_rate),
            ("reader_rate", self.reader_rate),
        ] {
            if let Some(r) = r {
                if !(r.is_finite() && r > 0.0) {
                    return Err(invalid(name, r, "must be a positive rate per second"));
                }
            }
        }
        Ok(WritersReaders {
            num_writers: self.num_writers.unwrap_or(d.num_writers),
            writer_rate: self.writer_rate.unwrap_or(d.writer_rate),
            num_readers: self.num_readers.unwrap_or(d.num_readers),
            reader_rate: self.reader_rate.unwrap_or(d.reader_rate),
            value_size: self.value_size.unwrap_or(d.value_size),
            max_retry_count: self.max_retry_count.unwrap_or(d.max_retry_count),
            pool,
            key_pool_size: self.key_pool_size.unwrap_or(d.key_pool_size).max(1),
            key_overlap_ratio: overlap,
            table,
            verify: self.verify.unwrap_or(false),
        })
    }
}

/// Resolved writers-readers settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WritersReaders {
    pub num_writers: usize,
    /// Write transactions per second per writer.
    pub writer_rate: f64,
    pub num_readers: usize,
    pub reader_rate: f64,
    pub value_size: usize,
    pub max_retry_count: u32,
    /// Keys from a pool (true) or fresh monotonic keys (false).
    pub pool: bool,
    pub key_pool_size: u64,
    pub key_overlap_ratio: f64,
    /// The key-value table, dropped and created at the start of each run.
    #[serde(default = "default_kv_table")]
    pub table: String,
    /// Fail the run when a consistency check fails.
    pub verify: bool,
}

impl Default for WritersReaders {
    fn default() -> Self {
        WritersReaders {
            num_writers: 1,
            writer_rate: 10.0,
            num_readers: 1,
            reader_rate: 10.0,
            value_size: 100,
            max_retry_count: 3,
            pool: false,
            key_pool_size: 100,
            key_overlap_ratio: 0.0,
            table: default_kv_table(),
            verify: false,
        }
    }
}

fn default_kv_table() -> String {
    "dbarena_kv".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn one() -> usize {
    1
}

mod duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs_f64(f64::deserialize(d)?.max(0.0)))
    }
}

mod opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.map(|v| Duration::from_secs_f64(v.max(0.0))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_name_line_and_column() {
        let err = WorkloadFile::parse("pattern = \"oltp\"\ntps = [1,\n", "w.toml").unwrap_err();
        match err {
            ConfigError::Toml { line, .. } => assert!(line >= 2),
            other => panic!("{other}"),
        }
        let err = WorkloadFile::parse("patern = \"oltp\"\n", "w.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("w.toml:1:1"), "{err}");
        assert!(err.contains("patern"), "{err}");
    }

    #[test]
    fn weights_must_sum_to_one_or_hundred() {
        let f = WorkloadFile::parse(
            "[custom_operations]\nselect = 0.5\ninsert = 0.3\nupdate = 0.1\n",
            "x",
        )
        .unwrap();
        let err = f.resolve("sqlite::memory:".into()).unwrap_err().to_string();
        assert!(err.contains("sum to 0.9"), "{err}");
        let f = WorkloadFile::parse(
            "[custom_operations]\nselect = 60\ninsert = 20\nupdate = 15\ndelete = 5\n",
            "x",
        )
        .unwrap();
        let c = f.resolve("sqlite::memory:".into()).unwrap();
        assert_eq!(c.mix.select, 60.0);
        let f = WorkloadFile::parse(
            "[custom_operations]\nselect = 0.6\ninsert = 0.2\nupdate = 0.15\ndelete = 0.05\n",
            "x",
        )
        .unwrap();
        let c = f.resolve("sqlite::memory:".into()).unwrap();
        assert!((c.mix.delete - 5.0).abs() < 1e-9);
    }

    #[test]
    fn defaults_and_overrides() {
        let base = WorkloadFile::parse("pattern = \"oltp\"\nconnections = 8\n", "x").unwrap();
        let over = WorkloadFile {
            connections: Some(2),
            ..Default::default()
        };
        let c = base
            .overlay(over)
            .resolve("sqlite::memory:".into())
            .unwrap();
        assert_eq!(c.connections, 2);
        assert_eq!(c.pattern, "oltp");
        assert_eq!(c.duration, Some(Duration::from_secs(10)));
        let err = WorkloadFile {
            pattern: Some("bogus".into()),
            ..Default::default()
        }
        .resolve("x".into())
        .unwrap_err()
        .to_string();
        assert!(err.contains("valid patterns: oltp"), "{err}");
    }

    #[test]
    fn kv_table_must_be_a_plain_name() {
        let table = |t: &str| {
            WorkloadFile {
                pattern: Some("writers-readers".into()),
                kv_table: Some(t.into()),
                ..Default::default()
            }
            .resolve("sqlite::memory:".into())
            .map(|c| c.writers_readers.table)
            .map_err(|e| e.to_string())
        };
        assert_eq!(table("kv_2").unwrap(), "kv_2");
        let err = table("kv; DROP TABLE x").unwrap_err();
        assert!(
            err.contains("kv_table") && err.contains("plain table name"),
            "{err}"
        );
        assert!(table("2kv").is_err());
    }
}
