//! The resolved configuration of a run: the settings every run has, and the workload it runs
//! as one typed [`WorkloadSpec`] carrying only that workload's own settings. This is what a
//! result file records, so it is plain data: the result model reads it, the workloads give it
//! behaviour.

use crate::db::{Isolation, Protocol};
use crate::engine::{Arrival, Segment, Stage, ThinkTime};
use crate::thresholds::Threshold;
use crate::util::duration::format_duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// A fully resolved run, recorded verbatim in the result file.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Database URL; the password is redacted before this is written anywhere.
    pub db: String,
    /// What runs.
    pub workload: WorkloadSpec,
    /// What the run must achieve to pass (exit 7 otherwise).
    pub thresholds: Vec<Threshold>,
    /// Stop as soon as a threshold fails.
    pub abort_on_fail: bool,
    /// Target rate in transactions/s; `None` runs closed-loop.
    pub tps: Option<f64>,
    pub arrival: Arrival,
    pub duration: Option<Duration>,
    pub transactions: Option<u64>,
    pub warmup: Duration,
    pub connections: usize,
    pub threads: usize,
    pub isolation: Option<Isolation>,
    pub max_retries: u32,
    pub seed: Option<u64>,
    /// How statements are sent (pgbench -M).
    pub protocol: Protocol,
    /// A transaction running longer than this is abandoned with its connection (a hung or
    /// blackholed server must not stall the run).
    pub timeout: Duration,
    /// Transactions in flight per connection (PostgreSQL, single-statement work).
    pub pipeline: usize,
    /// Rate stages after the warmup (open loop, starting from `tps`).
    pub stages: Vec<Stage>,
    /// Closed loop: a user's pause between transactions.
    pub think_time: Option<ThinkTime>,
    /// Sample the server's own statistics once a second (PostgreSQL, MariaDB).
    pub server_stats: bool,
    /// This agent's share of a run over several machines (`--segment i/N`); connections,
    /// rate and transactions above are then the whole run's.
    pub segment: Option<Segment>,
    /// A common wall-clock start for the agents, µs since the epoch.
    pub start_at_us: Option<i64>,
}

impl WorkloadConfig {
    /// The workload's name as users write it (`oltp`, `tpcb-like`, `custom_sql`, ...).
    pub fn pattern(&self) -> &'static str {
        self.workload.name()
    }

    /// Whether the run's rate (`--tps` or stages) sets when transactions start, so that
    /// throughput follows the schedule while the database keeps up. (Writers-readers paces
    /// each role at its own rate and has no run rate.)
    pub fn open_loop(&self) -> bool {
        self.tps.is_some() || !self.stages.is_empty()
    }

    /// How the run paces its starts, as the summary and the report say it: with stages, each
    /// stage's ramp (linear from the rate before it), not just the starting rate.
    pub fn rate_description(&self) -> String {
        let arrivals = match self.arrival {
            Arrival::Poisson => "Poisson arrivals",
            Arrival::Uniform => "uniform arrivals",
        };
        if let WorkloadSpec::WritersReaders(w) = &self.workload {
            // Each role paces itself: the run's --tps does not apply.
            return format!(
                "open loop per role: {} writers at {} writes/s each, {} readers at {} reads/s each ({arrivals}); a write retried up to {} times on a precondition failure",
                w.num_writers, w.writer_rate, w.num_readers, w.reader_rate, w.max_retry_count
            );
        }
        if !self.stages.is_empty() {
            let mut from = self.tps.unwrap_or(0.0);
            let steps: Vec<String> = self
                .stages
                .iter()
                .map(|st| {
                    let over = format_duration(st.duration);
                    let step = if st.target == from {
                        format!("{} tps for {over}", st.target)
                    } else {
                        format!("{from} → {} tps over {over}", st.target)
                    };
                    from = st.target;
                    step
                })
                .collect();
            return format!(
                "open loop in stages: {} ({arrivals})",
                steps.join(", then ")
            );
        }
        match (self.tps, self.think_time) {
            (Some(t), _) => format!("open loop at {t} tps ({arrivals})"),
            (None, Some(tt)) => format!(
                "closed loop, {} think time of {} between transactions",
                if tt.exponential {
                    "exponential"
                } else {
                    "fixed"
                },
                format_duration(tt.mean)
            ),
            (None, None) => "closed loop (as fast as possible)".into(),
        }
    }
}

/// The workload a run drives, each kind with only its own settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkloadSpec {
    /// A built-in SELECT/INSERT/UPDATE/DELETE mix over the user's (or the built-in) tables.
    Pattern {
        pattern: Pattern,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tables: Option<Vec<String>>,
    },
    /// `[custom_operations]`: the user's own mix.
    CustomMix {
        /// Percent of SELECT, INSERT, UPDATE, DELETE.
        mix: OpMix,
        use_joins: bool,
        use_aggregations: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tables: Option<Vec<String>>,
    },
    /// `[[custom_queries]]`: the user's own SQL.
    CustomSql {
        queries: Vec<CustomQuery>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tables: Option<Vec<String>>,
    },
    /// One of pgbench's built-in scripts.
    Pgbench { script: PgbenchScript },
    /// One of YCSB's core workloads.
    Ycsb {
        workload: YcsbWorkload,
        /// Request distribution instead of the workload's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        distribution: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        table: Option<String>,
    },
    /// Writers and readers of a key-value table, checked after the run.
    WritersReaders(WritersReaders),
    /// Elle's list-append transactions, with the history checked after the run.
    ListAppend,
    /// TPC-C-like: the five transactions over the nine tables of `seed --preset tpcc`.
    Tpcc(Tpcc),
}

impl WorkloadSpec {
    /// The name users write for it.
    pub fn name(&self) -> &'static str {
        match self {
            WorkloadSpec::Pattern { pattern, .. } => pattern.name(),
            WorkloadSpec::CustomMix { .. } => "custom",
            WorkloadSpec::CustomSql { .. } => "custom_sql",
            WorkloadSpec::Pgbench { script } => script.name(),
            WorkloadSpec::Ycsb { workload, .. } => workload.name(),
            WorkloadSpec::WritersReaders(_) => "writers-readers",
            WorkloadSpec::ListAppend => "list-append",
            WorkloadSpec::Tpcc(_) => "tpcc",
        }
    }

    /// The tables the user named for a statement workload.
    pub fn tables(&self) -> Option<&[String]> {
        match self {
            WorkloadSpec::Pattern { tables, .. }
            | WorkloadSpec::CustomMix { tables, .. }
            | WorkloadSpec::CustomSql { tables, .. } => tables.as_deref(),
            _ => None,
        }
    }
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $list:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($var),+ }

        /// Every name, in order, for help and error messages.
        pub const $list: &[&str] = &[$($s),+];

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The canonical name.
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} '{s}'; expected one of {}",
                        stringify!($name),
                        $list.join(", ")
                    ))
                })
            }
        }
    };
}

named_enum!(
    /// A built-in pattern.
    Pattern, PATTERN_NAMES {
        Oltp = "oltp",
        Ecommerce = "ecommerce",
        Olap = "olap",
        Reporting = "reporting",
        TimeSeries = "time_series",
        SocialMedia = "social_media",
        Iot = "iot",
        ReadHeavy = "read_heavy",
        WriteHeavy = "write_heavy",
        Balanced = "balanced",
    }
);

impl Pattern {
    /// Parses a pattern name (`time_series` and `time-series` both work).
    pub fn parse(name: &str) -> Option<Self> {
        let norm = name.to_ascii_lowercase().replace('-', "_");
        if norm == "timeseries" {
            return Some(Pattern::TimeSeries);
        }
        Self::ALL.iter().copied().find(|p| p.name() == norm)
    }
}

named_enum!(
    /// pgbench's built-in scripts.
    PgbenchScript, PGBENCH_SCRIPTS {
        TpcbLike = "tpcb-like",
        SimpleUpdate = "simple-update",
        SelectOnly = "select-only",
    }
);

impl PgbenchScript {
    pub fn parse(name: &str) -> Option<Self> {
        let norm = name.to_ascii_lowercase().replace('_', "-");
        Self::ALL.iter().copied().find(|p| p.name() == norm)
    }
}

named_enum!(
    /// YCSB's core workloads.
    YcsbWorkload, YCSB_WORKLOADS {
        A = "ycsb-a",
        B = "ycsb-b",
        C = "ycsb-c",
        D = "ycsb-d",
        E = "ycsb-e",
        F = "ycsb-f",
    }
);

impl YcsbWorkload {
    pub fn parse(name: &str) -> Option<Self> {
        let norm = name.to_ascii_lowercase().replace('_', "-");
        Self::ALL.iter().copied().find(|p| p.name() == norm)
    }
}

/// Percentages of SELECT, INSERT, UPDATE, DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpMix {
    pub select: f64,
    pub insert: f64,
    pub update: f64,
    pub delete: f64,
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

/// TPC-C-like settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tpcc {
    /// Warehouses the transactions draw from; None: every warehouse the database holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouses: Option<u32>,
    /// Weights of New-Order, Payment, Order-Status, Delivery, Stock-Level.
    pub weights: [f64; 5],
    pub mode: TpccMode,
}

impl Default for Tpcc {
    fn default() -> Self {
        Tpcc {
            warehouses: None,
            weights: [45.0, 43.0, 4.0, 4.0, 4.0],
            mode: TpccMode::Throughput,
        }
    }
}

named_enum!(
    /// Throughput: the connections run back to back. Spec: 10 terminals per warehouse with
    /// the specification's keying and think times.
    TpccMode, TPCC_MODES {
        Throughput = "throughput",
        Spec = "spec",
    }
);

impl TpccMode {
    pub fn parse(name: &str) -> Option<Self> {
        let norm = name.to_ascii_lowercase();
        Self::ALL.iter().copied().find(|p| p.name() == norm)
    }
}

/// The result file's `config` object. `pattern` names the workload for people and tools that
/// only want the name; `workload` is the typed spec. Files written before the spec existed
/// hold the workload in flat fields instead, which [`ConfigRepr::into_config`] still reads.
#[derive(Serialize, Deserialize)]
struct ConfigRepr {
    db: String,
    pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workload: Option<WorkloadSpec>,
    tps: Option<f64>,
    arrival: Arrival,
    #[serde(with = "opt_duration")]
    duration: Option<Duration>,
    transactions: Option<u64>,
    #[serde(with = "duration_secs")]
    warmup: Duration,
    connections: usize,
    threads: usize,
    isolation: Option<Isolation>,
    max_retries: u32,
    seed: Option<u64>,
    #[serde(default)]
    protocol: Protocol,
    #[serde(with = "duration_secs", default = "default_timeout")]
    timeout: Duration,
    #[serde(default = "one")]
    pipeline: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stages: Vec<Stage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    think_time: Option<ThinkTime>,
    #[serde(default = "yes")]
    server_stats: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    segment: Option<Segment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_at_us: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    thresholds: Vec<Threshold>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    abort_on_fail: bool,
    // The flat fields of older files.
    #[serde(default, skip_serializing)]
    mix: Option<OpMix>,
    #[serde(default, skip_serializing)]
    tables: Option<Vec<String>>,
    #[serde(default, skip_serializing)]
    distribution: Option<String>,
    #[serde(default, skip_serializing)]
    writers_readers: Option<WritersReaders>,
    #[serde(default, skip_serializing)]
    custom_operations: Option<LegacyCustomOperations>,
    #[serde(default, skip_serializing)]
    custom_queries: Option<Vec<CustomQuery>>,
}

#[derive(Deserialize)]
struct LegacyCustomOperations {
    #[serde(default)]
    use_joins: bool,
    #[serde(default)]
    use_aggregations: bool,
}

impl ConfigRepr {
    fn into_config(self) -> Result<WorkloadConfig, String> {
        let workload = match self.workload {
            Some(w) => w,
            None => legacy_spec(
                &self.pattern,
                self.mix,
                self.tables,
                self.distribution,
                self.writers_readers,
                self.custom_operations,
                self.custom_queries,
            )?,
        };
        Ok(WorkloadConfig {
            db: self.db,
            workload,
            thresholds: self.thresholds,
            abort_on_fail: self.abort_on_fail,
            stages: self.stages,
            think_time: self.think_time,
            server_stats: self.server_stats,
            segment: self.segment,
            start_at_us: self.start_at_us,
            tps: self.tps,
            arrival: self.arrival,
            duration: self.duration,
            transactions: self.transactions,
            warmup: self.warmup,
            connections: self.connections,
            threads: self.threads,
            isolation: self.isolation,
            max_retries: self.max_retries,
            seed: self.seed,
            protocol: self.protocol,
            timeout: self.timeout,
            pipeline: self.pipeline,
        })
    }
}

fn legacy_spec(
    name: &str,
    mix: Option<OpMix>,
    tables: Option<Vec<String>>,
    distribution: Option<String>,
    writers_readers: Option<WritersReaders>,
    custom_operations: Option<LegacyCustomOperations>,
    custom_queries: Option<Vec<CustomQuery>>,
) -> Result<WorkloadSpec, String> {
    Ok(match name {
        "custom" => {
            let ops = custom_operations.unwrap_or(LegacyCustomOperations {
                use_joins: false,
                use_aggregations: false,
            });
            WorkloadSpec::CustomMix {
                mix: mix.ok_or("a custom mix without its `mix`")?,
                use_joins: ops.use_joins,
                use_aggregations: ops.use_aggregations,
                tables,
            }
        }
        "custom_sql" => WorkloadSpec::CustomSql {
            queries: custom_queries.unwrap_or_default(),
            tables,
        },
        "writers-readers" => WorkloadSpec::WritersReaders(writers_readers.unwrap_or_default()),
        "list-append" => WorkloadSpec::ListAppend,
        other => {
            if let Some(script) = PgbenchScript::parse(other) {
                WorkloadSpec::Pgbench { script }
            } else if let Some(workload) = YcsbWorkload::parse(other) {
                WorkloadSpec::Ycsb {
                    workload,
                    distribution,
                    table: tables.and_then(|t| t.into_iter().next()),
                }
            } else if let Some(pattern) = Pattern::parse(other) {
                WorkloadSpec::Pattern { pattern, tables }
            } else {
                return Err(format!("unknown workload '{other}' in the result's config"));
            }
        }
    })
}

impl Serialize for WorkloadConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.clone();
        ConfigRepr {
            db: c.db,
            pattern: c.workload.name().to_string(),
            workload: Some(c.workload),
            tps: c.tps,
            arrival: c.arrival,
            duration: c.duration,
            transactions: c.transactions,
            warmup: c.warmup,
            connections: c.connections,
            threads: c.threads,
            isolation: c.isolation,
            max_retries: c.max_retries,
            seed: c.seed,
            protocol: c.protocol,
            timeout: c.timeout,
            pipeline: c.pipeline,
            thresholds: c.thresholds,
            abort_on_fail: c.abort_on_fail,
            stages: c.stages,
            think_time: c.think_time,
            server_stats: c.server_stats,
            segment: c.segment,
            start_at_us: c.start_at_us,
            mix: None,
            tables: None,
            distribution: None,
            writers_readers: None,
            custom_operations: None,
            custom_queries: None,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for WorkloadConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ConfigRepr::deserialize(d)?
            .into_config()
            .map_err(serde::de::Error::custom)
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn yes() -> bool {
    true
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
    fn names_round_trip() {
        for name in PATTERN_NAMES {
            assert_eq!(Pattern::parse(name).map(Pattern::name), Some(*name));
        }
        assert_eq!(Pattern::parse("time-series"), Some(Pattern::TimeSeries));
        assert_eq!(Pattern::parse("nope"), None);
        assert_eq!(
            PgbenchScript::parse("select_only"),
            Some(PgbenchScript::SelectOnly)
        );
        assert_eq!(YcsbWorkload::parse("YCSB-E"), Some(YcsbWorkload::E));
    }

    /// The config of a result file written before the typed spec.
    const FLAT: &str = r#"{"db":"sqlite::memory:","pattern":"writers-readers","mix":{"select":0,"insert":0,"update":0,"delete":0},
            "tps":null,"arrival":"poisson","duration":10.0,"transactions":null,"warmup":0.0,"connections":4,"threads":2,
            "isolation":null,"max_retries":3,"tables":null,"seed":7,"protocol":"prepared","distribution":null,"timeout":30.0,
            "writers_readers":{"num_writers":3,"writer_rate":5.0,"num_readers":1,"reader_rate":10.0,"value_size":100,
            "max_retry_count":3,"pool":false,"key_pool_size":100,"key_overlap_ratio":0.0,"table":"kv","verify":true},
            "pipeline":1,"custom_operations":null,"custom_queries":[]}"#;

    #[test]
    fn the_rate_is_described_with_its_stages() {
        let mut c: WorkloadConfig = serde_json::from_str(FLAT).unwrap();
        c.workload = WorkloadSpec::Pgbench {
            script: PgbenchScript::SelectOnly,
        };
        assert_eq!(c.rate_description(), "closed loop (as fast as possible)");
        c.think_time = Some(ThinkTime {
            mean: Duration::from_millis(250),
            exponential: true,
        });
        assert_eq!(
            c.rate_description(),
            "closed loop, exponential think time of 250ms between transactions"
        );
        c.tps = Some(100.0);
        assert_eq!(
            c.rate_description(),
            "open loop at 100 tps (Poisson arrivals)"
        );
        let stage = |s: u64, target: f64| Stage {
            duration: Duration::from_secs(s),
            target,
            connections: None,
            weights: None,
        };
        let plain = c.clone();
        c.workload = WorkloadSpec::WritersReaders(WritersReaders {
            num_writers: 3,
            writer_rate: 5.0,
            max_retry_count: 5,
            ..WritersReaders::default()
        });
        assert_eq!(
            c.rate_description(),
            "open loop per role: 3 writers at 5 writes/s each, 1 readers at 10 reads/s each (Poisson arrivals); a write retried up to 5 times on a precondition failure"
        );
        let mut c = plain;
        c.stages = vec![stage(2, 500.0), stage(3, 500.0)];
        c.arrival = Arrival::Uniform;
        assert_eq!(
            c.rate_description(),
            "open loop in stages: 100 → 500 tps over 2s, then 500 tps for 3s (uniform arrivals)"
        );
    }

    /// A result file written before the typed spec still reads, into the same spec.
    #[test]
    fn flat_configs_of_older_result_files_still_read() {
        let old = FLAT;
        let c: WorkloadConfig = serde_json::from_str(old).unwrap();
        match &c.workload {
            WorkloadSpec::WritersReaders(w) => assert_eq!((w.num_writers, w.verify), (3, true)),
            other => panic!("{other:?}"),
        }
        let again: WorkloadConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(again.pattern(), "writers-readers");
        let old_ycsb = old
            .replace("\"writers-readers\"", "\"ycsb-b\"")
            .replace("\"distribution\":null", "\"distribution\":\"latest\"");
        let c: WorkloadConfig = serde_json::from_str(&old_ycsb).unwrap();
        assert!(matches!(
            c.workload,
            WorkloadSpec::Ycsb { workload: YcsbWorkload::B, distribution: Some(ref d), .. } if d == "latest"
        ));
    }

    #[test]
    fn the_result_file_names_the_workload_and_holds_only_its_settings() {
        let c = WorkloadConfig {
            db: "sqlite::memory:".into(),
            workload: WorkloadSpec::Pgbench {
                script: PgbenchScript::TpcbLike,
            },
            thresholds: vec![Threshold::parse("p99<20ms").unwrap()],
            abort_on_fail: false,
            tps: Some(100.0),
            arrival: Arrival::Poisson,
            duration: Some(Duration::from_secs(5)),
            transactions: None,
            warmup: Duration::ZERO,
            connections: 2,
            threads: 1,
            isolation: None,
            max_retries: 3,
            seed: None,
            protocol: Protocol::Prepared,
            timeout: Duration::from_secs(30),
            pipeline: 1,
            stages: Vec::new(),
            think_time: None,
            server_stats: true,
            segment: None,
            start_at_us: None,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["pattern"], "tpcb-like");
        assert_eq!(v["workload"]["kind"], "pgbench");
        assert_eq!(v["workload"]["script"], "tpcb-like");
        assert!(v.get("writers_readers").is_none() && v.get("mix").is_none());
        assert_eq!(v["thresholds"][0], "p99<20ms");
        let back: WorkloadConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back.thresholds[0].limit, 20.0);
    }
}
