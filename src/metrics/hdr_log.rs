//! `--hdr-log`: the run's per-second response-time histograms as a standard HdrHistogram
//! interval log (compressed V2, what HdrHistogram's HistogramLogProcessor, HdrHistogramVisualizer
//! and every port read), written from the result's intervals after the run — nothing on the
//! hot path.

use super::hist::decode;
use super::RunResult;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// The interval log of `r` as bytes. `warmup` moves the intervals' offsets (counted from the
/// measured start) onto the run's start time.
pub fn render(r: &RunResult, warmup: Duration) -> Result<Vec<u8>, String> {
    let start_us = crate::util::time::parse_timestamp_us(&r.started_at)
        .ok_or_else(|| format!("the result's started_at '{}' is not a time", r.started_at))?;
    let start = UNIX_EPOCH + Duration::from_micros(start_us.max(0) as u64);
    let mut buf = Vec::new();
    let mut ser = V2DeflateSerializer::new();
    {
        let mut b = IntervalLogWriterBuilder::new();
        b.add_comment(&format!(
            "dbarena {} {} on {}: response times in microseconds from the intended start",
            env!("CARGO_PKG_VERSION"),
            r.config.pattern(),
            r.target.url
        ))
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1000.0);
        let mut w = b
            .begin_log_with(&mut buf, &mut ser)
            .map_err(|e| format!("cannot write the interval log: {e}"))?;
        let tag = Tag::new("response");
        for iv in &r.intervals {
            if iv.response_hdr.is_empty() {
                continue;
            }
            let h = decode(&iv.response_hdr)?;
            let from = warmup.as_secs_f64() + (iv.t_s - iv.span_s).max(0.0);
            w.write_histogram(
                &h,
                Duration::from_secs_f64(from),
                Duration::from_secs_f64(iv.span_s.max(0.0)),
                tag,
            )
            .map_err(|e| format!("cannot write the interval log: {e:?}"))?;
        }
    }
    Ok(buf)
}

/// Writes the interval log to `path`, never replacing a file.
pub fn write(path: &Path, r: &RunResult, warmup: Duration) -> Result<(), crate::Error> {
    let bytes = render(r, warmup).map_err(crate::Error::Failed)?;
    crate::util::fsx::write_new(path, &bytes).map_err(|e| crate::Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}
