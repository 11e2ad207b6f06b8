//! What the server was doing during a run: once a second, on one connection of its own, the
//! server's counters (as rates per second) and gauges, and — when the server runs on this
//! machine — its processes' CPU and memory from /proc. Off the engine's threads; a failed
//! reading is skipped, never a failed run.

use crate::db::stats;
use crate::db::{Connection, DbUrl};
use crate::metrics::spill::Spill;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One second of the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerInterval {
    /// Seconds since the measured start, at the end of the interval (as the run's intervals).
    pub t_s: f64,
    /// Counters as per-second rates (`commits`, `buffer_reads`, `lock_wait_ms`…), gauges as
    /// read (`active_sessions`, `threads_running`…), `cpu_pct` (100 = one core) and
    /// `rss_mb` of the server's processes when they are on this machine.
    pub values: BTreeMap<String, f64>,
}

/// The server's side of a run, in the result file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerMetrics {
    /// Where the figures come from, e.g. `pg_stat_database, pg_stat_wal, pg_stat_bgwriter,
    /// pg_stat_activity, /proc`.
    pub source: String,
    /// Totals and averages over the measured run (`buffer_hit_pct`, `commits`, `checkpoints`,
    /// `deadlocks`, `lock_wait_ms_per_s`, `cpu_pct_mean`, `rss_mb_max`, and every counter's
    /// total).
    pub summary: BTreeMap<String, f64>,
    pub intervals: Vec<ServerInterval>,
    /// Seconds the series lacks: readings that failed (the server away during a fault), or,
    /// rarely, that could not be read back from their file at the end.
    pub missed_readings: u64,
}

impl ServerMetrics {
    /// The line the run summary shows.
    pub fn headline(&self) -> String {
        let s = &self.summary;
        let mut parts = Vec::new();
        if let Some(h) = s.get("buffer_hit_pct") {
            parts.push(format!("buffer hit {h:.1}%"));
        }
        if let Some(c) = s.get("checkpoints") {
            parts.push(format!("{c:.0} checkpoints"));
        }
        if let Some(d) = s.get("deadlocks") {
            parts.push(format!("{d:.0} deadlocks"));
        }
        if let Some(l) = s.get("lock_wait_ms_per_s") {
            parts.push(format!("lock waits {l:.0} ms/s"));
        }
        if let Some(w) = s.get("waiting_lock_mean") {
            parts.push(format!("{w:.1} sessions waiting on locks"));
        }
        if let Some(c) = s.get("cpu_pct_mean") {
            parts.push(format!("server CPU {c:.0}%"));
        }
        if let Some(m) = s.get("rss_mb_max") {
            parts.push(format!("{m:.0} MB"));
        }
        parts.join(", ")
    }
}

/// The server's latest second, shared with the live display while the run goes on.
pub type LiveServer = Arc<std::sync::Mutex<Option<BTreeMap<String, f64>>>>;

/// The server's second for the live display: what a user watches for (commits, buffer hit
/// rate, lock waits, sessions waiting, CPU); empty when none of them was read.
pub fn live_line(values: &BTreeMap<String, f64>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = values.get("commits") {
        parts.push(format!("{c:.0} commits/s"));
    }
    if let Some(h) = values.get("buffer_hit_pct") {
        parts.push(format!("buffer hit {h:.1}%"));
    }
    if let Some(l) = values.get("lock_wait_ms") {
        parts.push(format!("lock waits {l:.0} ms/s"));
    }
    if let Some(w) = values.get("waiting_lock").filter(|w| **w > 0.0) {
        parts.push(format!("{w:.0} waiting on locks"));
    }
    if let Some(c) = values.get("cpu_pct") {
        parts.push(format!("CPU {c:.0}%"));
    }
    parts.join(", ")
}

/// The share of buffer reads served from memory, in percent, from the hits and reads of the
/// same span; None when nothing was read.
fn hit_pct(kind: crate::db::DbKind, hits: f64, reads: f64) -> Option<f64> {
    // InnoDB's read requests include the reads that missed; PostgreSQL's hits do not.
    let all = if kind == crate::db::DbKind::Mysql {
        hits
    } else {
        hits + reads
    };
    (all > 0.0).then(|| (1.0 - reads / all).clamp(0.0, 1.0) * 100.0)
}

/// CPU ticks and resident memory of a process and its children (a PostgreSQL postmaster and
/// its backends), from /proc; None when the process is not on this machine.
fn process_usage(pid: u32) -> Option<(u64, u64)> {
    let stat = |p: &str| -> Option<(u32, u64, u64)> {
        let s = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let rest = s.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        // state ppid … utime(11) stime(12) … rss(21, pages)
        let ppid = f.get(1)?.parse().ok()?;
        let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        let rss = f.get(21)?.parse::<u64>().ok()?;
        Some((ppid, ticks, rss))
    };
    let (_, mut ticks, mut rss) = stat(&pid.to_string())?;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name();
        let Some(n) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Some((ppid, t, r)) = stat(n) {
            if ppid == pid {
                ticks += t;
                rss += r;
            }
        }
    }
    Some((ticks, rss * 4096))
}

/// A running sampler; [`ServerSampler::finish`] stops it and returns what it saw.
pub struct ServerSampler {
    done: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Option<ServerMetrics>>,
}

impl ServerSampler {
    /// Starts sampling `url` once the measured run has started (`started` is set by the
    /// engine); stops on `finish` or `stop`.
    /// Each second's figures also go to `live`, for the progress display. None when no
    /// thread can be started (the run goes on without server figures).
    pub fn start(
        url: DbUrl,
        started: Arc<OnceLock<Instant>>,
        stop: Arc<AtomicBool>,
        live: LiveServer,
        spill_dir: Option<std::path::PathBuf>,
    ) -> Option<Self> {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let handle = std::thread::Builder::new()
            .name("dbarena-server-stats".into())
            .spawn(move || sample_loop(url, started, stop, d, live, spill_dir))
            .ok()?;
        Some(ServerSampler { done, handle })
    }

    pub fn finish(self) -> Option<ServerMetrics> {
        self.done.store(true, Ordering::SeqCst);
        self.handle.join().ok().flatten()
    }
}

fn sample_loop(
    url: DbUrl,
    started: Arc<OnceLock<Instant>>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    live: LiveServer,
    spill_dir: Option<std::path::PathBuf>,
) -> Option<ServerMetrics> {
    let rt = crate::util::runtime::current_thread().ok()?;
    let quit = || done.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst);
    let mut conn = rt.block_on(Connection::connect(&url)).ok()?;
    let pid = rt.block_on(stats::server_pid(&mut conn));
    let local_pid = pid.filter(|p| process_usage(*p).is_some());
    let hz = 100.0; // USER_HZ on Linux
                    // The first reading at the measured start: every interval is a difference from it.
    let t0 = loop {
        if quit() {
            return None;
        }
        if let Some(t) = started.get() {
            break *t;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    while Instant::now() < t0 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut prev = rt.block_on(stats::read(&mut conn)).ok()?;
    let mut prev_at = Instant::now();
    let mut prev_proc = local_pid.and_then(process_usage);
    let first = prev.clone();
    let mut out = ServerMetrics {
        source: match url.kind() {
            crate::db::DbKind::Postgres => {
                "pg_stat_database, pg_stat_wal, pg_stat_bgwriter, pg_stat_activity"
            }
            _ => "SHOW GLOBAL STATUS",
        }
        .to_string()
            + if local_pid.is_some() { ", /proc" } else { "" },
        summary: BTreeMap::new(),
        intervals: Vec::new(),
        missed_readings: 0,
    };
    // Kept beside the result file while the run lasts, as the run's own intervals.
    let mut series = Spill::in_dir(spill_dir.as_deref());
    let mut gauge_sums: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let (mut cpu_sum, mut cpu_n, mut rss_max) = (0.0, 0u64, 0.0f64);
    let mut k = 1u32;
    let mut last = prev.clone();
    loop {
        let due = t0 + Duration::from_secs(k as u64);
        while Instant::now() < due && !quit() {
            std::thread::sleep(Duration::from_millis(10).min(due - Instant::now()));
        }
        if quit() {
            break;
        }
        k += 1;
        let reading = rt.block_on(async {
            match tokio::time::timeout(Duration::from_millis(800), stats::read(&mut conn)).await {
                Ok(r) => r.ok(),
                Err(_) => None,
            }
        });
        let Some(now) = reading else {
            out.missed_readings += 1;
            // Reconnect for the next second; a server that is away stays a gap.
            if let Ok(Ok(c)) = rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(500), Connection::connect(&url)).await
            }) {
                conn = c;
            }
            continue;
        };
        let at = Instant::now();
        let secs = at
            .saturating_duration_since(prev_at)
            .as_secs_f64()
            .max(1e-3);
        let mut values = BTreeMap::new();
        for (name, v) in &now.counters {
            if let Some(p) = prev.counters.get(name) {
                values.insert(name.clone(), (v - p).max(0.0) / secs);
            }
        }
        for (name, v) in &now.gauges {
            values.insert(name.clone(), *v);
            let e = gauge_sums.entry(name.clone()).or_default();
            e.0 += v;
            e.1 += 1;
        }
        if let (Some(h), Some(r)) = (values.get("buffer_hits"), values.get("buffer_reads")) {
            if let Some(p) = hit_pct(url.kind(), *h, *r) {
                values.insert("buffer_hit_pct".into(), p);
            }
        }
        let proc_now = local_pid.and_then(process_usage);
        if let (Some((t1, rss)), Some((t0p, _))) = (proc_now, prev_proc) {
            let cpu = (t1.saturating_sub(t0p)) as f64 / hz / secs * 100.0;
            values.insert("cpu_pct".into(), cpu);
            values.insert("rss_mb".into(), rss as f64 / 1e6);
            cpu_sum += cpu;
            cpu_n += 1;
            rss_max = rss_max.max(rss as f64 / 1e6);
        }
        // JSON has no NaN or infinity: such a figure would turn the second unreadable.
        values.retain(|_, v| v.is_finite());
        if let Ok(mut l) = live.lock() {
            *l = Some(values.clone());
        }
        series.push(ServerInterval {
            t_s: at.saturating_duration_since(t0).as_secs_f64(),
            values,
        });
        prev = now.clone();
        last = now;
        prev_at = at;
        prev_proc = proc_now;
    }
    // Readings that cannot be read back are seconds the series lacks, as those the server
    // did not answer; the totals below stand either way.
    let kept = series.len() as u64;
    match series.into_records() {
        Ok(b) => {
            out.missed_readings += b.undecodable as u64;
            out.intervals = b.records;
        }
        Err(_) => out.missed_readings += kept,
    }
    // Totals over the measured run, from the first reading to the last good one.
    let total = |n: &str| Some(last.counters.get(n)? - first.counters.get(n)?);
    for name in last.counters.keys() {
        if let Some(v) = total(name) {
            out.summary.insert(name.clone(), v.max(0.0));
        }
    }
    if let Some(p) = total("buffer_hits")
        .zip(total("buffer_reads"))
        .and_then(|(h, r)| hit_pct(url.kind(), h, r))
    {
        out.summary.insert("buffer_hit_pct".into(), p);
    }
    let span = prev_at.saturating_duration_since(t0).as_secs_f64();
    if let (Some(l), true) = (total("lock_wait_ms"), span > 0.0) {
        out.summary.insert("lock_wait_ms_per_s".into(), l / span);
    }
    for (name, (sum, n)) in gauge_sums {
        out.summary.insert(format!("{name}_mean"), sum / n as f64);
    }
    if cpu_n > 0 {
        out.summary
            .insert("cpu_pct_mean".into(), cpu_sum / cpu_n as f64);
        out.summary.insert("rss_mb_max".into(), rss_max);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_in_proc() {
        let (ticks, rss) = process_usage(std::process::id()).unwrap();
        assert!(rss > 0);
        let _ = ticks;
        assert!(process_usage(u32::MAX - 1).is_none());
    }

    #[test]
    fn the_headline_names_what_matters() {
        let m = ServerMetrics {
            source: "x".into(),
            summary: [
                ("buffer_hit_pct".to_string(), 99.24),
                ("checkpoints".to_string(), 3.0),
                ("lock_wait_ms_per_s".to_string(), 120.0),
            ]
            .into_iter()
            .collect(),
            intervals: Vec::new(),
            missed_readings: 0,
        };
        assert_eq!(
            m.headline(),
            "buffer hit 99.2%, 3 checkpoints, lock waits 120 ms/s"
        );
    }
}
