//! Logs other tools read: a line per transaction (`--log`, like pgbench's) and the
//! per-second histograms as an HdrHistogram interval log (`--hdr-log`).

mod common;
use common::*;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;

#[test]
fn transaction_and_interval_logs_hold_every_transaction() {
    let Some(db) = TestDb::new(Db::Sqlite, "logs") else {
        return;
    };
    let dir = Scratch::new("logs");
    let out = dir.new_file("r", "json");
    let log = dir.new_file("tx", "log");
    let hlog = dir.new_file("lat", "hlog");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "read_heavy",
            "--tps",
            "300",
            "-n",
            "3",
            "-d",
            "2s",
            "--warmup",
            "500ms",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--hdr-log",
            hlog.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let done = r["totals"]["committed"].as_u64().unwrap()
        + r["totals"]["failed"].as_u64().unwrap()
        + r["schedule"]["in_flight"].as_u64().unwrap();

    // One line per measured transaction, warmup left out, in pgbench's column order.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("# client_id transaction_no latency_us"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(' ').collect()).collect();
    assert_eq!(rows.len() as u64, done);
    let started = r["started_at"].as_str().unwrap();
    for row in &rows {
        assert_eq!(row.len(), 10, "{row:?}");
        let conn: usize = row[0].parse().unwrap();
        assert!(conn < 3);
        let latency: u64 = row[2].parse().unwrap();
        assert!(latency < 10_000_000);
        let epoch: i64 = row[4].parse().unwrap();
        assert!(epoch > 1_700_000_000, "{started} vs {epoch}");
        assert!(["ok", "failed", "in_flight"].contains(&row[8]));
    }

    // The interval log: a histogram per second whose counts add up to the run's.
    let bytes = std::fs::read(&hlog).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("#[StartTime: "));
    let mut total = 0u64;
    let mut intervals = 0;
    for e in IntervalLogIterator::new(&bytes) {
        if let Ok(LogEntry::Interval(h)) = e {
            let raw = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                h.encoded_histogram(),
            )
            .unwrap();
            let hist: hdrhistogram::Histogram<u64> = Deserializer::new()
                .deserialize(&mut std::io::Cursor::new(raw))
                .unwrap();
            total += hist.len();
            intervals += 1;
            assert_eq!(h.tag().map(|t| t.as_str()), Some("response"));
        }
    }
    assert!(intervals >= 2, "{intervals}");
    let in_hist = r["response"]["count"].as_u64().unwrap();
    assert_eq!(total, in_hist, "the interval log holds every response time");

    // Neither log replaces a file.
    let out2 = dir.new_file("r2", "json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "-d",
            "1s",
            "--quiet",
            "--out",
            out2.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

#[test]
fn live_figures_are_served_in_openmetrics_format() {
    use std::io::{BufRead, Read, Write};
    let Some(db) = TestDb::new(Db::Sqlite, "om") else {
        return;
    };
    let dir = Scratch::new("om");
    let out = dir.new_file("r", "json");
    let mut child = spawn_dbarena(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "--pattern",
            "read_heavy",
            "--tps",
            "200",
            "-d",
            "4s",
            "--progress-lines",
            "--metrics-addr",
            "127.0.0.1:0",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut addr = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.trim().strip_prefix("metrics at http://") {
            addr = rest.trim_end_matches("/metrics").to_string();
            break;
        }
        line.clear();
    }
    assert!(!addr.is_empty(), "no metrics address printed");
    // Wait for a measured interval (progress lines come once a second).
    line.clear();
    err.read_line(&mut line).unwrap();
    line.clear();
    err.read_line(&mut line).unwrap();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("application/openmetrics-text"), "{body}");
    assert!(
        body.contains("# TYPE dbarena_transactions counter"),
        "{body}"
    );
    let committed: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("dbarena_transactions_total{status=\"committed\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(committed > 0.0, "{body}");
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    // Drain stderr so the run is never blocked on a full pipe, then let it finish.
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    assert!(child.wait().unwrap().success());
}
