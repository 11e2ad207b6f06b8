//! The workload TOML file: every setting optional, flags layered over it, then validated
//! and resolved into a [`WorkloadConfig`] with a typed [`WorkloadSpec`].

use super::spec::*;
use crate::db::{Isolation, Protocol};
use crate::engine::{Arrival, Segment, Stage, ThinkTime};
use crate::thresholds::Threshold;
use crate::util::duration::parse_duration;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// A configuration problem; each message names the setting and how to fix it.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{path}:{line}:{column}: not valid TOML: {message}")]
    Toml {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("unknown pattern '{0}'; valid patterns: {list}, {pg}, {ycsb}, writers-readers, list-append, tpcc", list = PATTERN_NAMES.join(", "), pg = PGBENCH_SCRIPTS.join(", "), ycsb = YCSB_WORKLOADS.join(", "))]
    UnknownPattern(String),
    #[error("{what} weights sum to {sum}; they must sum to 1 (or 100) — adjust them, dbarena does not normalise silently")]
    Weights { what: String, sum: f64 },
    #[error(transparent)]
    Threshold(#[from] crate::thresholds::ThresholdError),
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
    /// tpcc: warehouses to draw from [default: all the database holds].
    pub warehouses: Option<u32>,
    /// tpcc: `throughput` (no think time) or `spec` (10 terminals per warehouse, keying and
    /// think times).
    pub tpcc_mode: Option<String>,
    /// tpcc: weights of New-Order, Payment, Order-Status, Delivery, Stock-Level
    /// [default: 45, 43, 4, 4, 4].
    pub tpcc_weights: Option<Vec<f64>>,
    /// `["p99<20ms", "errors<0.1%"]`, or a table `{ p99 = "<20ms", operations = { new_order
    /// = { p99 = "<50ms" } } }`.
    pub thresholds: Option<toml::Value>,
    /// Stop the run as soon as a threshold fails.
    pub abort_on_fail: Option<bool>,
    /// Rate stages after the warmup, `"DURATION:TARGET[@CONNECTIONS]"`: `["30s:1000",
    /// "1m:1000"]` ramps from `tps` to 1000 in 30 s and holds it for a minute; or tables
    /// `{ duration = "1m", tps = 1000, connections = 8, weights = { read = 9, update = 1 } }`.
    pub stages: Option<Vec<StageSetting>>,
    /// Closed loop: pause between transactions, `"100ms"` fixed or `"exp:100ms"`
    /// exponentially distributed around 100 ms.
    pub think_time: Option<String>,
    /// Sample the server's statistics views once a second [default: true].
    pub server_stats: Option<bool>,
    /// This agent's share of a run over several machines, `"2/4"`.
    pub segment: Option<String>,
    /// Start at this wall-clock time (RFC 3339), for agents that start together.
    pub start_at: Option<String>,
    /// Start this long after now (`30s`): a shell loop's way to a common start.
    pub start_after: Option<String>,
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
                // One line, as every error: toml's message may span several.
                message: e.message().trim().replace('\n', "; "),
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
            warehouses: over.warehouses.or(self.warehouses),
            tpcc_mode: over.tpcc_mode.or(self.tpcc_mode),
            tpcc_weights: over.tpcc_weights.or(self.tpcc_weights),
            // The file's thresholds and the flags' together.
            thresholds: match (self.thresholds, over.thresholds) {
                (Some(a), Some(b)) => Some(toml::Value::Array(vec![a, b])),
                (a, b) => b.or(a),
            },
            abort_on_fail: over.abort_on_fail.or(self.abort_on_fail),
            stages: over.stages.or(self.stages),
            think_time: over.think_time.or(self.think_time),
            server_stats: over.server_stats.or(self.server_stats),
            segment: over.segment.or(self.segment),
            start_at: over.start_at.or(self.start_at),
            start_after: over.start_after.or(self.start_after),
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
        let stages = self
            .stages
            .iter()
            .flatten()
            .map(StageSetting::resolve)
            .collect::<Result<Vec<Stage>, ConfigError>>()?;
        if !stages.is_empty() {
            if matches!(&self.tps, Some(TpsSetting::Word(w)) if w.eq_ignore_ascii_case("max")) {
                return Err(invalid(
                    "stages",
                    stages.len(),
                    "stages set an arrival rate (open loop); give the start rate with --tps N (default 0), not max",
                ));
            }
            if self.transactions.is_some() {
                return Err(invalid(
                    "stages",
                    stages.len(),
                    "stages run for their durations; remove --transactions",
                ));
            }
            // The stages are the run, unless a duration cuts or extends it (the last target
            // is then held).
            duration.get_or_insert(stages.iter().map(|s| s.duration).sum());
        }
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
        if let Some(n) = stages
            .iter()
            .filter_map(|s| s.connections)
            .find(|n| *n > connections)
        {
            return Err(invalid(
                "stages",
                format!("@{n}"),
                format!("a stage runs on at most the run's {connections} connections; give -n {n} (all are opened at the start, a stage uses the first ones)"),
            ));
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        if self.threads == Some(0) {
            return Err(invalid("threads", 0, "must be at least 1"));
        }
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
        let workload = self.workload_spec()?;
        let segment = self
            .segment
            .as_deref()
            .map(|s| Segment::parse(s).map_err(|why| invalid("segment", s, why)))
            .transpose()?;
        if let Some(seg) = segment {
            if connections < seg.count {
                return Err(invalid(
                    "segment",
                    seg,
                    format!("{connections} connections cannot be split over {} agents; --connections is the whole run's, use at least {}", seg.count, seg.count),
                ));
            }
        }
        let start_at_us = match (&self.start_at, &self.start_after) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "start_at",
                    "start_after",
                    "give one of --start-at and --start-after",
                ))
            }
            (Some(at), None) => Some(crate::util::time::parse_rfc3339_us(at).ok_or_else(|| {
                invalid(
                    "start_at",
                    at,
                    "expected an RFC 3339 time such as 2026-12-02T10:00:00Z",
                )
            })?),
            (None, Some(after)) => Some(
                crate::util::time::now_us()
                    + parse_duration(after)
                        .map_err(|why| invalid("start_after", after, why))?
                        .as_micros() as i64,
            ),
            (None, None) => None,
        };
        let think_time = match self.think_time.as_deref() {
            None => None,
            Some(t) => {
                let (exponential, d) = match t.strip_prefix("exp:") {
                    Some(d) => (true, d),
                    None => (false, t),
                };
                let mean = parse_duration(d.trim()).map_err(|why| invalid("think_time", t, why))?;
                if tps.is_some() || !stages.is_empty() {
                    return Err(invalid(
                        "think_time",
                        t,
                        "think time belongs to a closed loop (users that wait between transactions); an open-loop rate already spaces the starts, so drop --tps or the think time",
                    ));
                }
                Some(ThinkTime { mean, exponential })
            }
        };
        let protocol = match self.protocol.as_deref() {
            None => Protocol::Prepared,
            Some(p) => Protocol::parse(p)
                .ok_or_else(|| invalid("protocol", p, "expected simple, extended or prepared"))?,
        };
        let thresholds = match &self.thresholds {
            None => Vec::new(),
            Some(v) => {
                let mut texts = Vec::new();
                threshold_texts(v, None, None, &mut texts)?;
                texts
                    .iter()
                    .map(|t| Threshold::parse(t).map_err(ConfigError::from))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let abort_on_fail = self.abort_on_fail.unwrap_or(false);
        if abort_on_fail && thresholds.is_empty() {
            return Err(invalid(
                "abort_on_fail",
                true,
                "there is no threshold to fail; add --threshold, e.g. 'p99<20ms'",
            ));
        }
        let tps = if stages.is_empty() {
            tps
        } else {
            Some(tps.unwrap_or(0.0))
        };
        Ok(WorkloadConfig {
            db,
            workload,
            thresholds,
            abort_on_fail,
            stages,
            think_time,
            server_stats: self.server_stats.unwrap_or(true),
            segment,
            start_at_us,
            tps,
            arrival,
            duration,
            transactions: self.transactions,
            warmup,
            connections,
            threads,
            isolation,
            max_retries: self.max_retries.unwrap_or(3),
            seed: self.seed,
            protocol,
            timeout,
            pipeline: match self.pipeline.unwrap_or(1) {
                0 => return Err(invalid("pipeline", 0, "must be at least 1")),
                n => n,
            },
        })
    }

    /// The workload and its own settings. A setting that belongs to another workload is an
    /// error, not silently ignored: a user who sets it expects it to change something.
    fn workload_spec(&self) -> Result<WorkloadSpec, ConfigError> {
        if self.custom_operations.is_some() && self.custom_queries.is_some() {
            return Err(invalid(
                "custom_operations",
                "[custom_operations]",
                "use either [custom_operations] or [[custom_queries]], not both",
            ));
        }
        let tables = self.tables.clone();
        let spec = if let Some(ops) = &self.custom_operations {
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
            WorkloadSpec::CustomMix {
                mix: OpMix {
                    select: ops.select * scale,
                    insert: ops.insert * scale,
                    update: ops.update * scale,
                    delete: ops.delete * scale,
                },
                use_joins: ops.use_joins,
                use_aggregations: ops.use_aggregations,
                tables,
            }
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
            WorkloadSpec::CustomSql {
                queries: queries.clone(),
                tables,
            }
        } else {
            let name = self.pattern.as_deref().unwrap_or("balanced");
            let lower = name.to_ascii_lowercase().replace('_', "-");
            if let Some(script) = PgbenchScript::parse(name) {
                WorkloadSpec::Pgbench { script }
            } else if let Some(workload) = YcsbWorkload::parse(name) {
                let table = match tables.as_deref() {
                    None => None,
                    Some([t]) => Some(t.clone()),
                    Some(many) => {
                        return Err(invalid(
                            "tables",
                            many.join(","),
                            "YCSB runs on one table; name one (the ycsb preset's is usertable)",
                        ))
                    }
                };
                WorkloadSpec::Ycsb {
                    workload,
                    distribution: self.distribution.clone(),
                    table,
                }
            } else if lower == "writers-readers" {
                WorkloadSpec::WritersReaders(self.writers_readers_file().resolve()?)
            } else if lower == "list-append" {
                WorkloadSpec::ListAppend
            } else if lower == "tpcc" || lower == "tpc-c" {
                WorkloadSpec::Tpcc(self.tpcc()?)
            } else {
                let pattern = Pattern::parse(name)
                    .ok_or_else(|| ConfigError::UnknownPattern(name.to_string()))?;
                WorkloadSpec::Pattern { pattern, tables }
            }
        };
        self.refuse_foreign_settings(&spec)?;
        Ok(spec)
    }

    /// The tpcc settings, validated.
    fn tpcc(&self) -> Result<Tpcc, ConfigError> {
        let mut t = Tpcc::default();
        if let Some(w) = self.warehouses {
            if w == 0 {
                return Err(invalid("warehouses", w, "give 1 or more"));
            }
            t.warehouses = Some(w);
        }
        if let Some(m) = &self.tpcc_mode {
            t.mode = TpccMode::parse(m).ok_or_else(|| {
                invalid(
                    "tpcc_mode",
                    m,
                    format!("expected {}", TPCC_MODES.join(" or ")),
                )
            })?;
        }
        if let Some(w) = &self.tpcc_weights {
            let why = "give five weights >= 0 (New-Order, Payment, Order-Status, Delivery, Stock-Level) summing to 100, e.g. 45,43,4,4,4";
            let shown = w
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let five: [f64; 5] = w
                .as_slice()
                .try_into()
                .map_err(|_| invalid("tpcc_weights", &shown, why))?;
            if five.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(invalid("tpcc_weights", &shown, why));
            }
            check_weights("tpcc_weights", &five)?;
            t.weights = five;
        }
        Ok(t)
    }

    fn writers_readers_file(&self) -> WritersReadersFile {
        WritersReadersFile {
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
    }

    fn refuse_foreign_settings(&self, spec: &WorkloadSpec) -> Result<(), ConfigError> {
        let name = spec.name();
        let foreign = |setting: &str, value: String, belongs: &str| {
            Err(invalid(
                setting,
                value,
                format!(
                    "it applies to {belongs} only, and this run's workload is {name}; remove it"
                ),
            ))
        };
        if let Some(d) = self.distribution.as_deref() {
            if !matches!(spec, WorkloadSpec::Ycsb { .. }) {
                return foreign("distribution", d.into(), "the YCSB workloads");
            }
            if !crate::workload::ycsb::DISTRIBUTIONS.contains(&d) {
                return Err(invalid(
                    "distribution",
                    d,
                    "expected uniform, zipfian, latest or hotspot",
                ));
            }
        }
        if let Some(t) = &self.tables {
            if matches!(
                spec,
                WorkloadSpec::Pgbench { .. }
                    | WorkloadSpec::WritersReaders(_)
                    | WorkloadSpec::ListAppend
                    | WorkloadSpec::Tpcc(_)
            ) {
                return foreign(
                    "tables",
                    t.join(","),
                    "the patterns, custom workloads and YCSB",
                );
            }
        }
        if !matches!(spec, WorkloadSpec::Tpcc(_)) {
            if let Some(w) = self.warehouses {
                return foreign("warehouses", w.to_string(), "tpcc");
            }
            if let Some(m) = &self.tpcc_mode {
                return foreign("tpcc_mode", m.clone(), "tpcc");
            }
            if self.tpcc_weights.is_some() {
                return foreign("tpcc_weights", "[…]".into(), "tpcc");
            }
        }
        if !matches!(spec, WorkloadSpec::WritersReaders(_)) {
            let wr = toml::Value::try_from(self.writers_readers_file()).ok();
            if let Some(toml::Value::Table(t)) = wr {
                if let Some((k, v)) = t.iter().next() {
                    return foreign(k, v.to_string(), "the writers-readers pattern");
                }
            }
        }
        Ok(())
    }
}

/// A stage as written: `"30s:1000@8"`, or a table that can also set the operation weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StageSetting {
    Text(String),
    Table {
        duration: String,
        tps: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connections: Option<usize>,
        /// Operation name → weight, for this stage (names the workload does not run are
        /// refused when it starts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<std::collections::BTreeMap<String, f64>>,
    },
}

impl StageSetting {
    fn resolve(&self) -> Result<Stage, ConfigError> {
        match self {
            StageSetting::Text(t) => parse_stage(t),
            StageSetting::Table {
                duration,
                tps,
                connections,
                weights,
            } => {
                let mut text = format!("{duration}:{tps}");
                if let Some(c) = connections {
                    text.push_str(&format!("@{c}"));
                }
                let mut st = parse_stage(&text)?;
                if let Some(w) = weights {
                    if w.values().any(|v| !(v.is_finite() && *v >= 0.0)) {
                        return Err(invalid("stages", &text, "stage weights must be 0 or more"));
                    }
                    // As the workload's own weights: they sum to 1 or 100, never normalised.
                    let values: Vec<f64> = w.values().copied().collect();
                    check_weights(&format!("the weights of stage {text}"), &values)?;
                }
                st.weights = weights.clone();
                Ok(st)
            }
        }
    }
}

/// `"30s:1000"` → 30 s towards 1000 tps; `"30s:1000@8"` → the same on the first 8
/// connections only.
fn parse_stage(s: &str) -> Result<Stage, ConfigError> {
    let why = "expected DURATION:TARGET_TPS[@CONNECTIONS], e.g. 30s:1000 or 30s:1000@8";
    let (d, r) = s.split_once(':').ok_or_else(|| invalid("stages", s, why))?;
    let duration = parse_duration(d.trim()).map_err(|e| invalid("stages", s, e))?;
    let (r, conns) = match r.split_once('@') {
        Some((r, c)) => (r, Some(c)),
        None => (r, None),
    };
    let target: f64 = r.trim().parse().map_err(|_| invalid("stages", s, why))?;
    if !(target.is_finite() && target >= 0.0) {
        return Err(invalid("stages", s, "the target rate must be 0 or more"));
    }
    let connections = match conns {
        None => None,
        Some(c) => match c.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(invalid(
                    "stages",
                    s,
                    "the connections after @ must be 1 or more",
                ))
            }
        },
    };
    Ok(Stage {
        duration,
        target,
        connections,
        weights: None,
    })
}

/// Flattens the TOML forms of thresholds into expressions: strings as they are, arrays
/// item by item, tables as `metric = "<20ms"` (or a list of conditions) with per-operation
/// tables under `operations`.
fn threshold_texts(
    v: &toml::Value,
    metric: Option<&str>,
    op: Option<&str>,
    out: &mut Vec<String>,
) -> Result<(), ConfigError> {
    match v {
        toml::Value::String(s) => out.push(match metric {
            None => s.clone(),
            Some(m) => match op {
                Some(op) => format!("{m}[{op}]{s}"),
                None => format!("{m}{s}"),
            },
        }),
        toml::Value::Array(items) => {
            for i in items {
                threshold_texts(i, metric, op, out)?;
            }
        }
        toml::Value::Table(t) if metric.is_none() => {
            for (k, v) in t {
                if k == "operations" && op.is_none() {
                    let toml::Value::Table(ops) = v else {
                        return Err(invalid(
                            "thresholds.operations",
                            v,
                            "expected a table per operation, e.g. [thresholds.operations.new_order]",
                        ));
                    };
                    for (name, v) in ops {
                        let toml::Value::Table(inner) = v else {
                            return Err(invalid(
                                "thresholds.operations",
                                v,
                                "expected a table of metric = \"<limit\"",
                            ));
                        };
                        for (m, cond) in inner {
                            threshold_texts(cond, Some(m), Some(name), out)?;
                        }
                    }
                } else {
                    threshold_texts(v, Some(k), op, out)?;
                }
            }
        }
        other => {
            return Err(invalid(
                "thresholds",
                other,
                "expected \"p99<20ms\", a list of them, or a table such as p99 = \"<20ms\"",
            ))
        }
    }
    Ok(())
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
        if self.num_writers.unwrap_or(d.num_writers) + self.num_readers.unwrap_or(d.num_readers)
            == 0
        {
            return Err(invalid(
                "num_writers",
                0,
                "with num_readers = 0 the run has no operations; give at least one writer or reader",
            ));
        }
        if self.key_pool_size == Some(0) {
            return Err(invalid("key_pool_size", 0, "must be at least 1"));
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

    fn mix(c: &WorkloadConfig) -> OpMix {
        match &c.workload {
            WorkloadSpec::CustomMix { mix, .. } => *mix,
            other => panic!("{other:?}"),
        }
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
        assert_eq!(mix(&c).select, 60.0);
        let f = WorkloadFile::parse(
            "[custom_operations]\nselect = 0.6\ninsert = 0.2\nupdate = 0.15\ndelete = 0.05\n",
            "x",
        )
        .unwrap();
        let c = f.resolve("sqlite::memory:".into()).unwrap();
        assert!((mix(&c).delete - 5.0).abs() < 1e-9);
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
        assert_eq!(c.pattern(), "oltp");
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
            .map(|c| match c.workload {
                WorkloadSpec::WritersReaders(w) => w.table,
                other => panic!("{other:?}"),
            })
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

    #[test]
    fn thresholds_from_a_list_a_table_and_flags() {
        let f = WorkloadFile::parse(
            "[thresholds]\np99 = \"<20ms\"\nerrors = [\"<0.1%\", \"<=10\"]\n[thresholds.operations.lookup]\np50 = \"<2ms\"\n",
            "x",
        )
        .unwrap();
        let flags = WorkloadFile {
            thresholds: Some(toml::Value::Array(vec!["tps>=950".into()])),
            ..Default::default()
        };
        let c = f.overlay(flags).resolve("sqlite::memory:".into()).unwrap();
        let texts: Vec<&str> = c.thresholds.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "errors<0.1%",
                "errors<=10",
                "p50[lookup]<2ms",
                "p99<20ms",
                "tps>=950"
            ]
        );
        let err = WorkloadFile {
            abort_on_fail: Some(true),
            ..Default::default()
        }
        .resolve("x".into())
        .unwrap_err()
        .to_string();
        assert!(err.contains("no threshold"), "{err}");
        let err = WorkloadFile {
            thresholds: Some(toml::Value::Array(vec!["p99 20ms".into()])),
            ..Default::default()
        }
        .resolve("x".into())
        .unwrap_err()
        .to_string();
        assert!(err.contains("no comparison"), "{err}");
    }

    /// Settings of one workload given to another are refused, never silently ignored.
    #[test]
    fn settings_of_another_workload_are_refused() {
        let err = |f: WorkloadFile| f.resolve("sqlite::memory:".into()).unwrap_err().to_string();
        let e = err(WorkloadFile {
            pattern: Some("oltp".into()),
            num_writers: Some(3),
            ..Default::default()
        });
        assert!(
            e.contains("num_writers") && e.contains("writers-readers"),
            "{e}"
        );
        let e = err(WorkloadFile {
            pattern: Some("tpcb-like".into()),
            distribution: Some("zipfian".into()),
            ..Default::default()
        });
        assert!(e.contains("distribution") && e.contains("YCSB"), "{e}");
        let e = err(WorkloadFile {
            pattern: Some("list-append".into()),
            tables: Some(vec!["t".into()]),
            ..Default::default()
        });
        assert!(e.contains("tables"), "{e}");
        let c = WorkloadFile {
            pattern: Some("ycsb_c".into()),
            distribution: Some("latest".into()),
            ..Default::default()
        }
        .resolve("sqlite::memory:".into())
        .unwrap();
        assert!(matches!(
            c.workload,
            WorkloadSpec::Ycsb {
                workload: YcsbWorkload::C,
                ..
            }
        ));
    }

    #[test]
    fn tpcc_settings_come_from_toml_and_are_checked() {
        let f = WorkloadFile::parse(
            "pattern = \"tpcc\"\nwarehouses = 2\ntpcc_mode = \"spec\"\ntpcc_weights = [50, 40, 4, 3, 3]\n",
            "t.toml",
        )
        .unwrap();
        let c = f.resolve("sqlite::memory:".into()).unwrap();
        match &c.workload {
            WorkloadSpec::Tpcc(t) => {
                assert_eq!(t.warehouses, Some(2));
                assert_eq!(t.mode, TpccMode::Spec);
                assert_eq!(t.weights, [50.0, 40.0, 4.0, 3.0, 3.0]);
            }
            other => panic!("{other:?}"),
        }
        let bad = |toml: &str| {
            WorkloadFile::parse(toml, "t.toml")
                .unwrap()
                .resolve("sqlite::memory:".into())
                .unwrap_err()
                .to_string()
        };
        assert!(bad("pattern = \"tpcc\"\ntpcc_weights = [1, 2]\n").contains("five weights"));
        assert!(bad("pattern = \"tpcc\"\ntpcc_mode = \"fast\"\n").contains("throughput or spec"));
        assert!(bad("pattern = \"oltp\"\nwarehouses = 3\n").contains("tpcc"));
    }
}
