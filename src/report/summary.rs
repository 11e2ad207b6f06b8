//! The final human-readable summary of a run.

use crate::metrics::hist::LatencySummary;
use crate::metrics::RunResult;
use std::fmt::Write;

fn lat_line(label: &str, l: &LatencySummary) -> String {
    format!(
        "  {label:<9} p50 {:>9.3}  p90 {:>9.3}  p95 {:>9.3}  p99 {:>9.3}  p99.9 {:>9.3}  max {:>9.3}  mean {:>9.3} ms\n",
        l.p50_ms, l.p90_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms
    )
}

/// Renders the summary printed after a run.
pub fn render(r: &RunResult, path: Option<&str>) -> String {
    let mut s = String::new();
    let c = &r.config;
    let _ = writeln!(
        s,
        "dbarena workload run: pattern {} on {} ({}){}",
        c.pattern(),
        r.target.kind,
        r.target.server_version,
        if r.interrupted {
            " — INTERRUPTED"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "  database  {}", r.target.url);
    let rate = c.rate_description();
    let _ = writeln!(
        s,
        "  setup     {} connections on {} threads, {rate}, isolation {}, max retries {}",
        c.connections,
        c.threads,
        c.isolation
            .map(|i| i.sql().to_lowercase())
            .unwrap_or_else(|| if r.target.kind == crate::db::DbKind::Sqlite {
                // SQLite has one level whatever is asked.
                "serializable (SQLite)".into()
            } else {
                "database default".into()
            }),
        c.max_retries
    );
    let _ = writeln!(
        s,
        "  duration  {:.2} s measured{}{}",
        r.duration_s,
        if c.warmup.is_zero() {
            String::new()
        } else {
            format!(" (after {:.1} s warmup)", c.warmup.as_secs_f64())
        },
        match r.setup_s {
            Some(s) => format!("; setup {s:.2} s before it, not measured"),
            None => String::new(),
        }
    );
    let t = &r.totals;
    let _ = writeln!(
        s,
        "  transactions  {} committed, {} failed, {} retries ({:.2}% success)",
        t.committed, t.failed, t.retries, t.success_rate_pct
    );
    let _ = writeln!(s, "  throughput    {:.1} tps", t.tps);
    if let Some(target) = r.schedule.target_tps {
        let _ = writeln!(
            s,
            "  schedule      target {}, achieved {:.1} tps, {} missed starts, lag mean {:.3} ms max {:.3} ms{}",
            if c.stages.is_empty() {
                format!("{target} tps")
            } else {
                format!("{target:.1} tps on average over the stages")
            },
            r.schedule.achieved_tps,
            r.schedule.missed,
            r.schedule.lag_mean_ms,
            r.schedule.lag_max_ms,
            if r.schedule.behind { "  (BEHIND: the database could not keep up)" } else { "" }
        );
    }
    let sc = &r.schedule;
    if sc.missed_connection_lost > 0 {
        let _ = writeln!(
            s,
            "  lost          {} scheduled starts missed while a connection was lost and could not be reopened",
            sc.missed_connection_lost
        );
    }
    if sc.in_flight > 0 {
        let _ = writeln!(
            s,
            "  in flight     {} transactions had no answer when the run ended (longest wait {:.1} ms; counted in the response times)",
            sc.in_flight, sc.in_flight_max_wait_ms
        );
    }
    s.push_str("latency (response time from intended start / service time from actual start):\n");
    s.push_str(&lat_line("response", &r.response));
    s.push_str(&lat_line("service", &r.service));
    s.push_str("operations:\n");
    // As wide as the longest name (READ-MODIFY-WRITE), so the columns line up.
    let w = r
        .operations
        .keys()
        .map(|n| n.len())
        .max()
        .unwrap_or(0)
        .max(14);
    for (name, o) in &r.operations {
        if o.committed + o.failed == 0 {
            continue;
        }
        let _ = writeln!(
            s,
            "  {name:<w$} {:>6.2}%  {:>9} ok {:>7} failed {:>6} retries  p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3} ms",
            o.share_pct, o.committed, o.failed, o.retries, o.response.p50_ms, o.response.p95_ms, o.response.p99_ms, o.response.max_ms
        );
    }
    if !r.errors.is_empty() {
        s.push_str("errors by class:\n");
        for e in &r.errors {
            let _ = writeln!(
                s,
                "  {:<28} {:>8}{}  first: {}",
                e.class,
                e.count,
                if e.retryable { " (retried)" } else { "" },
                e.first_message.chars().take(160).collect::<String>()
            );
        }
    }
    if !r.outages.is_empty() {
        let longest = r.outages.iter().map(|o| o.duration_s).fold(0.0, f64::max);
        let _ = writeln!(
            s,
            "outages: {} connection losses, longest {:.2} s (reconnected with backoff)",
            r.outages.len(),
            longest
        );
    }
    if let Some(w) = &r.writers_readers {
        let _ = writeln!(
            s,
            "writers: {:.1} writes/s, p50 {:.3} p95 {:.3} p99 {:.3} ms; precondition failures {} of {} attempts ({:.2}%), p50 {:.3} p99 {:.3} ms; avg retries {:.3}; retry success {}; over the retry limit {}",
            w.write_tps, w.writer_p50_ms, w.writer_p95_ms, w.writer_p99_ms, w.precondition_failures, w.attempts,
            w.precondition_failure_rate * 100.0, w.precondition_failure_p50_ms, w.precondition_failure_p99_ms,
            w.avg_retry_count,
            // No retry, no rate: 0% would read as every retry failing.
            if w.precondition_failures == 0 { "n/a (no retries)".to_string() } else { format!("{:.1}%", w.retry_success_rate * 100.0) },
            w.exceeded_retry_limit
        );
        let _ = writeln!(
            s,
            "readers: {:.1} reads/s, p50 {:.3} p95 {:.3} p99 {:.3} ms",
            w.read_tps, w.read_p50_ms, w.read_p95_ms, w.read_p99_ms
        );
        if w.violations.is_empty() {
            s.push_str("consistency: every acknowledged write survived, reads saw only committed versions, never going back\n");
        } else {
            for v in &w.violations {
                let _ = writeln!(s, "consistency VIOLATION: {v}");
            }
        }
    }
    if let Some(v) = &r.verification {
        let _ = writeln!(
            s,
            "{} check against {}: {}{}; history {}",
            v.checker,
            v.model,
            v.verdict,
            if v.anomalies.is_empty() {
                String::new()
            } else {
                format!(" (anomalies: {})", v.anomalies.join(", "))
            },
            v.history
        );
    }
    if let Some(t) = &r.tpcc {
        s.push_str(&tpcc(t));
    }
    if let Some(a) = &r.agent {
        let _ = writeln!(
            s,
            "  agent     {}{}{} ({})",
            a.segment
                .map(|g| format!("segment {g}"))
                .unwrap_or_else(|| "one of several agents".into()),
            a.start_at
                .as_deref()
                .map(|t| format!(", asked to start at {t}"))
                .unwrap_or_default(),
            a.start_skew_ms
                .map(|k| format!(", started {k:+.1} ms from it"))
                .unwrap_or_default(),
            a.clock_source
        );
    }
    if let Some(m) = &r.merged {
        let _ = writeln!(
            s,
            "  merged    from {} agents{}",
            m.agents.len(),
            if m.missing_segments.is_empty() {
                String::new()
            } else {
                format!(" (MISSING segments {})", m.missing_segments.join(", "))
            }
        );
    }
    if !r.stages.is_empty() {
        let _ = writeln!(s, "stages");
        for p in &r.stages {
            let _ = writeln!(
                s,
                "  {:>2}  {:>6.1}-{:<6.1} s  target {:>7.1} -> {:<7.1}{}  {:>8.1} tps  p50 {:.2} ms  p99 {:.2} ms  failed {}",
                p.stage,
                p.from_s,
                p.to_s,
                p.target_from,
                p.target_to,
                p.connections
                    .map(|n| format!(" on {n} conn"))
                    .unwrap_or_default(),
                p.tps,
                p.response.p50_ms,
                p.response.p99_ms,
                p.failed
            );
        }
    }
    if let Some(m) = &r.server {
        let line = m.headline();
        if !line.is_empty() {
            let _ = writeln!(s, "  server    {line}");
        }
    }
    if !r.thresholds.is_empty() {
        let _ = writeln!(s, "thresholds");
        for t in &r.thresholds {
            let _ = writeln!(
                s,
                "  {:<28} {:<20} {}",
                t.threshold,
                t.shown,
                if t.pass { "pass" } else { "FAIL" }
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    if let Some(p) = path {
        let _ = writeln!(s, "result file: {p}");
    }
    s
}

/// The TPC-C-like figures of a run.
fn tpcc(t: &crate::metrics::result::TpccStats) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "TPC-C-like ({} mode, {} warehouse(s); not an audited result):",
        t.mode, t.warehouses
    );
    let _ = writeln!(
        s,
        "  tpmC      {:.1} New-Orders/min ({} New-Orders, {} rolled back by the spec's unused item)",
        t.tpmc, t.new_orders, t.rollbacks
    );
    let _ = writeln!(
        s,
        "  NOPM      {:.1} (HammerDB's: D_NEXT_O_ID growth per minute of the whole run)",
        t.nopm
    );
    if let Some(c) = t.ceiling_tpmc {
        let verdict = match (t.tpmc <= c, t.above_ceiling) {
            (true, _) => "within",
            (false, Some(false)) => "above by chance (within 3σ of the count at the ceiling)",
            (false, _) => "ABOVE (beyond 3σ of the count at the ceiling: think times not kept)",
        };
        let _ = writeln!(
            s,
            "  ceiling   {c:.2} tpmC for these terminals' keying and think times: {verdict}"
        );
    }
    let _ = writeln!(
        s,
        "  inputs    {:.1}% by last name, {:.1}% remote payments, {:.2}% remote order lines, {} empty districts at delivery",
        t.by_last_name_pct, t.remote_payment_pct, t.remote_line_pct, t.skipped_deliveries
    );
    for l in &t.response_limits {
        let _ = writeln!(
            s,
            "  p90 {:<13} {:>10.3} ms  limit {:>6.0} s  {}",
            l.transaction,
            l.p90_ms,
            l.limit_ms / 1000.0,
            if l.pass { "pass" } else { "OVER" }
        );
    }
    for c in &t.consistency {
        s.push_str(&condition_line(c));
    }
    s
}

fn condition_line(c: &crate::metrics::result::TpccCondition) -> String {
    if c.violating == 0 {
        format!("  consistency {}  pass  {}\n", c.condition, c.description)
    } else {
        format!(
            "  consistency {}  BROKEN in {} place(s)  {}: {}\n",
            c.condition,
            c.violating,
            c.description,
            c.violations.join("; ")
        )
    }
}

/// The report of `workload run --check-consistency`.
pub fn tpcc_conditions(db: &str, conditions: &[crate::metrics::result::TpccCondition]) -> String {
    let mut s = format!("TPC-C consistency conditions of {db}:\n");
    for c in conditions {
        s.push_str(&condition_line(c));
    }
    s
}
