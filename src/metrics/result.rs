//! The result file: a versioned JSON document that report/compare/merge read later.
//! The format is documented in docs/RESULTS.md; bump [`SCHEMA_VERSION`] on breaking change.

use super::hist::{self, LatencySummary};
use super::recorder::Interval;
use crate::config::WorkloadConfig;
use crate::db::DbKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the result file format.
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest version [`RunResult::read`] still reads (version 1 held the workload in flat
/// `config` fields; `config::spec` reads those).
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The database a run talked to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    pub kind: DbKind,
    pub server_version: String,
    /// The URL with any password removed.
    pub url: String,
    /// `false` when the server does not make commits durable (a dbarena instance created with
    /// `--fast`: fsync off), so its latencies are not those of a durable server; absent when
    /// unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<bool>,
}

/// Totals over the measured part of the run (warmup excluded).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    pub committed: u64,
    pub failed: u64,
    /// Extra attempts after retryable errors.
    pub retries: u64,
    /// Committed transactions per second.
    pub tps: f64,
    /// committed / (committed + failed), in percent.
    pub success_rate_pct: f64,
}

/// One operation kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationResult {
    pub committed: u64,
    pub failed: u64,
    pub retries: u64,
    /// Share of all transactions (committed + failed), percent.
    pub share_pct: f64,
    pub response: LatencySummary,
    pub service: LatencySummary,
    /// HDR V2 encoding, base64, of response times in µs.
    pub response_hdr: String,
    /// HDR V2 encoding, base64, of service times in µs.
    pub service_hdr: String,
}

/// One second (or one progress interval) of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntervalRecord {
    /// Seconds since the measured part began, at the end of the interval.
    pub t_s: f64,
    pub committed: u64,
    pub failed: u64,
    pub retries: u64,
    pub tps: f64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// The last interval of a run, shorter than the others (its rates are per second of its
    /// own span, but its few transactions make poor percentiles); charts leave it out.
    #[serde(default)]
    pub partial: bool,
    /// Seconds this interval covers.
    #[serde(default = "one_second")]
    pub span_s: f64,
    /// The rate the schedule intended over this interval (open loop): constant, or following
    /// the stages of a ramp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tps: Option<f64>,
    /// This interval's response times (µs, compressed HdrHistogram V2, base64, like `response_hdr`):
    /// what `compare` resamples and `merge` adds. Empty in files from before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_hdr: String,
}

fn one_second() -> f64 {
    1.0
}

/// One error class.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorClassResult {
    pub class: String,
    pub count: u64,
    /// Whether dbarena retries this class (serialization failure, deadlock, lock timeout).
    pub retryable: bool,
    pub first_message: String,
}

/// How well the open-loop schedule was kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// None: closed loop.
    pub target_tps: Option<f64>,
    /// Transactions started per second (committed + failed).
    pub achieved_tps: f64,
    pub lag_mean_ms: f64,
    pub lag_max_ms: f64,
    /// Scheduled starts that never happened (the database fell behind, or a connection was
    /// lost and could not be reopened before the end).
    pub missed: u64,
    /// Of `missed`, those that fell while a connection was lost.
    #[serde(default)]
    pub missed_connection_lost: u64,
    /// Transactions still waiting for an answer when the run ended or was interrupted; their
    /// waits so far are in the response times.
    #[serde(default)]
    pub in_flight: u64,
    #[serde(default)]
    pub in_flight_max_wait_ms: f64,
    /// True when the database could not keep up with the target rate.
    pub behind: bool,
}

/// A period in which a connection was lost and being re-established.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outage {
    pub connection: usize,
    /// Seconds since the measured part began.
    pub start_s: f64,
    pub duration_s: f64,
    pub error: String,
    pub recovered: bool,
}

/// When a fault was in force during the run (chaos scenarios), seconds since the measured
/// start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultWindow {
    /// The fault type: latency, bandwidth, reset, blackhole, slow_close, cpu, kill, pause…
    pub fault: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub schema_version: u32,
    pub tool: String,
    pub command: String,
    pub config: WorkloadConfig,
    pub target: TargetInfo,
    pub started_at: String,
    pub ended_at: String,
    /// Measured seconds (warmup excluded).
    pub duration_s: f64,
    /// Seconds before the measured start: connecting, the workload's schema and data,
    /// opening and preparing every connection. Never part of any figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_s: Option<f64>,
    pub interrupted: bool,
    pub totals: Totals,
    pub response: LatencySummary,
    pub service: LatencySummary,
    pub response_hdr: String,
    pub service_hdr: String,
    pub operations: BTreeMap<String, OperationResult>,
    pub intervals: Vec<IntervalRecord>,
    pub errors: Vec<ErrorClassResult>,
    pub schedule: ScheduleInfo,
    pub outages: Vec<Outage>,
    /// Faults injected during the run (chaos), for charts and reports.
    #[serde(default)]
    pub faults: Vec<FaultWindow>,
    pub notes: Vec<String>,
    /// Role metrics and consistency checks of the writers-readers pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writers_readers: Option<WritersReadersStats>,
    /// The isolation check of the list-append pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// TPC-C-like figures: tpmC, NOPM, rollbacks, response-time limits, consistency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpcc: Option<TpccStats>,
    /// Each threshold with what was measured and whether it passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<crate::thresholds::ThresholdResult>,
    /// The agents a merged result was made of (`dbarena merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<crate::merge::MergeInfo>,
    /// This agent's part in a run over several machines (`--segment`, `--start-at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentInfo>,
    /// Each `--stage` of the run, measured on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<crate::metrics::phases::PhaseResult>,
    /// What the server was doing (PostgreSQL, MariaDB): its own counters per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<crate::metrics::server::ServerMetrics>,
    /// Why the run was stopped early by `--abort-on-fail` (the threshold and its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

/// One agent of a run over several machines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentInfo {
    /// `2/4`; absent for an agent that only shared a start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<crate::engine::Segment>,
    /// The common start asked for (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// How late this agent started against it, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_skew_ms: Option<f64>,
    /// Which clock the start was read from (agents agree only as well as their clocks do).
    pub clock_source: String,
    pub host: String,
}

impl AgentInfo {
    /// This machine's clock and name.
    pub fn here(
        segment: Option<crate::engine::Segment>,
        start_at_us: Option<i64>,
        start_skew_ms: Option<f64>,
    ) -> AgentInfo {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let cs = read("/sys/devices/system/clocksource/clocksource0/current_clocksource");
        AgentInfo {
            segment,
            start_at: start_at_us.map(crate::util::time::rfc3339_us),
            start_skew_ms,
            clock_source: if cs.is_empty() {
                "system clock (CLOCK_REALTIME)".into()
            } else {
                format!("system clock (CLOCK_REALTIME, clocksource {cs})")
            },
            host: std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| read("/etc/hostname")),
        }
    }
}

/// What a checker concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The checker looked and found nothing the model forbids.
    Pass,
    /// It found an anomaly the model forbids.
    Fail,
    /// It could not decide (the cycle search ran out of time).
    Unknown,
    /// Not judged here: one agent's part of a run over several (`--segment`) reads what the
    /// others wrote, so only the agents' histories together can be judged (`dbarena merge`).
    Deferred,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
            Verdict::Deferred => "deferred to the merge of the agents",
        })
    }
}

/// What a TPC-C-like run measured beyond the per-transaction results (which are the
/// operations `new_order`, `payment`, `order_status`, `delivery`, `stock_level`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TpccStats {
    pub warehouses: u32,
    /// `throughput` or `spec`.
    pub mode: String,
    /// Completed New-Order business transactions per measured minute (the intended 1%
    /// rollbacks included, as the specification counts them).
    pub tpmc: f64,
    /// HammerDB's NOPM: new orders per minute from the database's own counter (the sum of
    /// D_NEXT_O_ID before and after the engine ran, warmup included, over that time).
    pub nopm: f64,
    pub new_orders: u64,
    /// New-Orders rolled back by their unused item id (also counted in `new_orders`).
    pub rollbacks: u64,
    /// Payment and Order-Status by last name, percent of both.
    pub by_last_name_pct: f64,
    /// Payments by a customer of another warehouse, percent.
    pub remote_payment_pct: f64,
    /// Order lines supplied by another warehouse, percent.
    pub remote_line_pct: f64,
    /// Districts a Delivery found with nothing to deliver.
    pub skipped_deliveries: u64,
    /// The specification's 90th-percentile response-time limits, per transaction type.
    pub response_limits: Vec<TpccResponseLimit>,
    /// Spec mode: the most tpmC the terminals' keying and think times allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_tpmc: Option<f64>,
    /// Spec mode: more New-Orders than terminals at the ceiling make in the measured time,
    /// beyond three standard deviations of that count (taken as Poisson): the ceiling is a
    /// mean, which a short run's count scatters around.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_ceiling: Option<bool>,
    /// The consistency conditions checked after the run.
    pub consistency: Vec<TpccCondition>,
}

/// One transaction type's 90th percentile against its limit (clause 5.2.5.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TpccResponseLimit {
    pub transaction: String,
    pub p90_ms: f64,
    pub limit_ms: f64,
    pub pass: bool,
}

/// One consistency condition of clause 3.3.2 and the rows that break it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TpccCondition {
    pub condition: u8,
    pub description: String,
    /// The warehouses/districts that break it (at most a few named), empty when it holds.
    pub violations: Vec<String>,
    /// How many rows break it in all.
    pub violating: u64,
}

/// The verdict of a history checker on the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    pub checker: String,
    /// The consistency model the history was checked against.
    pub model: String,
    pub verdict: Verdict,
    /// Anomaly kinds found, with counts.
    pub anomalies: Vec<String>,
    /// The recorded history, for `dbarena check`.
    pub history: String,
}

/// What the writers-readers pattern measures beyond the per-operation figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WritersReadersStats {
    pub write_tps: f64,
    pub read_tps: f64,
    pub writer_p50_ms: f64,
    pub writer_p95_ms: f64,
    pub writer_p99_ms: f64,
    pub precondition_failure_p50_ms: f64,
    pub precondition_failure_p99_ms: f64,
    pub read_p50_ms: f64,
    pub read_p95_ms: f64,
    pub read_p99_ms: f64,
    /// Write attempts (first tries and retries).
    pub attempts: u64,
    pub precondition_failures: u64,
    /// precondition failures / attempts.
    pub precondition_failure_rate: f64,
    /// Retries per write transaction.
    pub avg_retry_count: f64,
    /// Of the writes that needed a retry, the share that finally succeeded.
    pub retry_success_rate: f64,
    pub retry_failure_rate: f64,
    /// Writes that failed after max_retry_count retries.
    pub exceeded_retry_limit: u64,
    /// Consistency violations found after the run (empty: all checks passed).
    pub violations: Vec<String>,
    /// The acknowledged writes the final table does not hold (also among `violations`), by
    /// key: what a failover lost.
    #[serde(default)]
    pub lost_writes: Vec<LostWrite>,
}

/// An acknowledged write missing from the final table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostWrite {
    pub key: String,
    /// The highest version a writer was told was committed.
    pub version: i64,
    /// The version the final table holds (None: the key is not there at all).
    pub final_version: Option<i64>,
}

/// Raw material of a result, from the engine.
pub struct RunData<'a> {
    pub config: WorkloadConfig,
    pub target: TargetInfo,
    pub op_names: &'a [String],
    pub totals: &'a Interval,
    pub intervals: Vec<IntervalRecord>,
    pub outages: Vec<Outage>,
    pub started_at_us: i64,
    pub ended_at_us: i64,
    pub measured_s: f64,
    pub interrupted: bool,
    pub notes: Vec<String>,
}

impl RunResult {
    /// The consistency verdict for people: `pass`, `fail: …` with what was found, the
    /// checker's verdict and model, or `n/a` for workloads without checks.
    pub fn verification_text(&self) -> String {
        match &self.writers_readers {
            None => match &self.verification {
                Some(v) if v.verdict == Verdict::Fail => {
                    format!("fail: {} ({})", v.model, v.anomalies.join(" "))
                }
                Some(v) => format!("{} ({})", v.verdict, v.model),
                None => "n/a".into(),
            },
            Some(w) if w.violations.is_empty() => "pass".into(),
            Some(w) => format!(
                "fail: {} violations (first: {})",
                w.violations.len(),
                w.violations[0]
            ),
        }
    }

    /// Assembles the result from what the engine measured.
    pub fn build(d: RunData<'_>) -> RunResult {
        let t = d.totals;
        let committed = t.committed();
        let failed = t.failed();
        let all = (committed + failed).max(1) as f64;
        let secs = d.measured_s.max(1e-9);
        let mut operations = BTreeMap::new();
        for (i, name) in d.op_names.iter().enumerate() {
            let Some(o) = t.ops.get(i) else { continue };
            operations.insert(
                name.clone(),
                OperationResult {
                    committed: o.committed,
                    failed: o.failed,
                    retries: o.retries,
                    share_pct: (o.committed + o.failed) as f64 * 100.0 / all,
                    response: LatencySummary::of(&o.response),
                    service: LatencySummary::of(&o.service),
                    response_hdr: hist::encode(&o.response),
                    service_hdr: hist::encode(&o.service),
                },
            );
        }
        let mut errors: Vec<ErrorClassResult> = t
            .errors
            .iter()
            .map(|(k, v)| ErrorClassResult {
                class: k.clone(),
                count: v.count,
                retryable: v.retryable,
                first_message: v.first_message.clone(),
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.class.cmp(&b.class)));
        let response = t.all_response();
        let service = t.all_service();
        let achieved = (committed + failed) as f64 / secs;
        let lag_mean_ms = if t.lag_count > 0 {
            t.lag_sum_us as f64 / t.lag_count as f64 / 1000.0
        } else {
            0.0
        };
        let started = committed + failed;
        // Behind when more than 1% of the schedule was never started, or starts slipped by more
        // than 10 ms on average. The achieved rate alone is no test: Poisson arrivals vary.
        let open_loop = d.config.open_loop();
        let behind = open_loop && (t.missed * 100 > (started + t.missed) || lag_mean_ms > 10.0);
        // With stages the rate changes: the target is the mean the schedule intended over
        // the measured seconds (from the per-second targets), not the rate it started from.
        let staged = (!d.config.stages.is_empty()).then(|| {
            let (sum, span) = d
                .intervals
                .iter()
                .filter_map(|iv| Some((iv.target_tps? * iv.span_s, iv.span_s)))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            if span > 0.0 {
                sum / span
            } else {
                d.config.tps.unwrap_or(0.0)
            }
        });
        // An agent's target is its share of the whole run's rate.
        let target_tps = staged.or(d.config.tps).map(|r| match d.config.segment {
            Some(s) => {
                let n = d.config.connections.max(1);
                r * (0..n).filter(|c| s.owns(*c)).count() as f64 / n as f64
            }
            None => r,
        });
        let mut notes = d.notes;
        if behind {
            notes.push(format!(
                "the database could not keep up: target {:.0} tps, achieved {:.1} tps, {} scheduled starts missed, mean schedule lag {:.1} ms (latencies are measured from the intended start)",
                target_tps.unwrap_or(0.0),
                achieved,
                t.missed,
                lag_mean_ms
            ));
        }
        RunResult {
            schema_version: SCHEMA_VERSION,
            tool: format!("dbarena {}", env!("CARGO_PKG_VERSION")),
            command: "workload run".into(),
            schedule: ScheduleInfo {
                target_tps,
                achieved_tps: achieved,
                lag_mean_ms,
                lag_max_ms: t.lag_max_us as f64 / 1000.0,
                missed: t.missed,
                missed_connection_lost: t.missed_down,
                in_flight: t.in_flight,
                in_flight_max_wait_ms: t.in_flight_max_wait_us as f64 / 1000.0,
                behind,
            },
            config: d.config,
            target: d.target,
            started_at: crate::util::time::rfc3339_us(d.started_at_us),
            ended_at: crate::util::time::rfc3339_us(d.ended_at_us),
            duration_s: d.measured_s,
            setup_s: None,
            interrupted: d.interrupted,
            totals: Totals {
                committed,
                failed,
                retries: t.retries(),
                tps: committed as f64 / secs,
                success_rate_pct: if committed + failed == 0 {
                    0.0
                } else {
                    committed as f64 * 100.0 / all
                },
            },
            response: LatencySummary::of(&response),
            service: LatencySummary::of(&service),
            response_hdr: hist::encode(&response),
            service_hdr: hist::encode(&service),
            operations,
            intervals: d.intervals,
            errors,
            outages: d.outages,
            notes,
            writers_readers: None,
            verification: None,
            tpcc: None,
            thresholds: Vec::new(),
            agent: None,
            merged: None,
            stages: Vec::new(),
            server: None,
            aborted: None,
            faults: Vec::new(),
        }
    }

    /// Writes the result to a new file, atomically; fails with `AlreadyExists` rather than
    /// replace a file.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::util::fsx::write_new(path, &json)
    }

    /// Reads a result file, checking its version.
    pub fn read(path: &Path) -> Result<RunResult, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let Some(version) = v.get("schema_version").and_then(|x| x.as_u64()) else {
            return Err(format!(
                "{} is not a dbarena result file (it has no schema_version); give the JSON file `workload run` wrote",
                path.display()
            ));
        };
        if !(OLDEST_READABLE_VERSION as u64..=SCHEMA_VERSION as u64).contains(&version) {
            return Err(format!(
                "{} has result schema version {version}; this dbarena reads versions {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}",
                path.display()
            ));
        }
        serde_json::from_value(v)
            .map_err(|e| format!("{} is not a dbarena result: {e}", path.display()))
    }
}
