//! `--log`: one line per transaction, as pgbench's `--log` writes, but off the worker threads.
//! Lanes gather records in a buffer of their own and hand over full buffers through a
//! channel; one writer thread formats and writes them with a large buffer.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

/// One finished (or abandoned) transaction.
#[derive(Debug, Clone, Copy)]
pub struct TxRecord {
    pub lane: u32,
    pub op: u16,
    /// 0 committed, 1 failed, 2 still running when the run ended.
    pub status: u8,
    pub retries: u32,
    /// Intended start, µs after the run start.
    pub intended_us: u64,
    /// From the intended start to the end, µs.
    pub latency_us: u64,
    /// From the intended to the actual start, µs.
    pub lag_us: u64,
}

/// What lanes send: a full buffer.
pub type TxLogSender = mpsc::Sender<Vec<TxRecord>>;

/// Records per handover: large enough that the channel is touched rarely.
pub const BATCH: usize = 1024;

/// The header line, naming the columns.
pub const HEADER: &str = "# client_id transaction_no latency_us script_no time_epoch time_us schedule_lag_us operation status retries";

/// Starts the writer. `start_epoch_us` is the run start on the wall clock; the file must not
/// exist yet (checked before the run). Returns how many lines were written.
pub fn spawn_writer(
    path: PathBuf,
    rx: mpsc::Receiver<Vec<TxRecord>>,
    start_epoch_us: i64,
    op_names: Vec<String>,
) -> std::thread::JoinHandle<Result<u64, String>> {
    std::thread::spawn(move || {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("cannot create the transaction log {}: {e}", path.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let fail =
            |e: std::io::Error| format!("cannot write the transaction log {}: {e}", path.display());
        writeln!(w, "{HEADER}").map_err(fail)?;
        let mut per_lane: Vec<u64> = Vec::new();
        let mut lines = 0u64;
        for batch in rx {
            for r in batch {
                let lane = r.lane as usize;
                if per_lane.len() <= lane {
                    per_lane.resize(lane + 1, 0);
                }
                let n = per_lane[lane];
                per_lane[lane] += 1;
                let end = start_epoch_us + (r.intended_us + r.latency_us) as i64;
                let status = match r.status {
                    0 => "ok",
                    1 => "failed",
                    _ => "in_flight",
                };
                let op = op_names
                    .get(r.op as usize)
                    .map(String::as_str)
                    .unwrap_or("?");
                writeln!(
                    w,
                    "{} {n} {} {} {} {} {} {op} {status} {}",
                    r.lane,
                    r.latency_us,
                    r.op,
                    end.div_euclid(1_000_000),
                    end.rem_euclid(1_000_000),
                    r.lag_us,
                    r.retries
                )
                .map_err(fail)?;
                lines += 1;
            }
        }
        w.flush().map_err(fail)?;
        Ok(lines)
    })
}
