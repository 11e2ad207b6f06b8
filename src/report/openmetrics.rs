//! `--metrics-addr`: the run's live figures over HTTP in the OpenMetrics text format, for
//! Prometheus (and so Grafana) during long runs. A small server on a thread of its own
//! answers every request with the latest snapshot; the engine's threads never see it.

use crate::metrics::live::{ProgressSink, Snapshot};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The endpoint; dropping it stops the server.
pub struct MetricsEndpoint {
    page: Arc<Mutex<String>>,
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl MetricsEndpoint {
    /// Listens on `addr` (`127.0.0.1:9464`); fails before the run if the address is taken.
    pub fn bind(addr: &str) -> Result<MetricsEndpoint, crate::Error> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            crate::Error::Usage(format!(
                "cannot listen on --metrics-addr {addr}: {e}; choose a free address, e.g. 127.0.0.1:9464"
            ))
        })?;
        let local = listener.local_addr().map_err(|e| crate::Error::Io {
            path: addr.to_string(),
            source: e,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| crate::Error::Io {
                path: addr.to_string(),
                source: e,
            })?;
        let page = Arc::new(Mutex::new(render_empty()));
        let done = Arc::new(AtomicBool::new(false));
        let (p, d) = (page.clone(), done.clone());
        let handle = std::thread::Builder::new()
            .name("dbarena-metrics".into())
            .spawn(move || serve(listener, p, d))
            .map_err(|e| crate::Error::Failed(format!("cannot start the metrics server: {e}")))?;
        Ok(MetricsEndpoint {
            page,
            done,
            handle: Some(handle),
            addr: local,
        })
    }

    /// A progress sink that updates the page and passes every snapshot on to `inner`.
    pub fn sink<'a>(&'a self, inner: &'a mut dyn ProgressSink) -> impl ProgressSink + 'a {
        Exporter {
            inner,
            page: self.page.clone(),
        }
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(listener: TcpListener, page: Arc<Mutex<String>>, done: Arc<AtomicBool>) {
    while !done.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut req = [0u8; 2048];
                let _ = s.read(&mut req);
                let body = page.lock().map(|p| p.clone()).unwrap_or_default();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

struct Exporter<'a> {
    inner: &'a mut dyn ProgressSink,
    page: Arc<Mutex<String>>,
}

impl ProgressSink for Exporter<'_> {
    fn update(&mut self, snap: &Snapshot) {
        self.inner.update(snap);
        if let Ok(mut p) = self.page.lock() {
            *p = render(snap);
        }
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

fn render_empty() -> String {
    "# HELP dbarena_up Whether a dbarena run is measuring.\n# TYPE dbarena_up gauge\ndbarena_up 0\n# EOF\n".into()
}

/// One snapshot as OpenMetrics text.
pub fn render(s: &Snapshot) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# HELP dbarena_up Whether a dbarena run is measuring.");
    let _ = writeln!(o, "# TYPE dbarena_up gauge");
    let _ = writeln!(o, "dbarena_up {}", u8::from(!s.in_warmup));
    let _ = writeln!(
        o,
        "# HELP dbarena_transactions Transactions since the measured start."
    );
    let _ = writeln!(o, "# TYPE dbarena_transactions counter");
    let _ = writeln!(
        o,
        "dbarena_transactions_total{{status=\"committed\"}} {}",
        s.committed
    );
    let _ = writeln!(
        o,
        "dbarena_transactions_total{{status=\"failed\"}} {}",
        s.failed
    );
    let _ = writeln!(
        o,
        "# HELP dbarena_retries Extra attempts after retryable errors."
    );
    let _ = writeln!(o, "# TYPE dbarena_retries counter");
    let _ = writeln!(o, "dbarena_retries_total {}", s.retries);
    let _ = writeln!(
        o,
        "# HELP dbarena_operations Transactions per operation (committed and failed)."
    );
    let _ = writeln!(o, "# TYPE dbarena_operations counter");
    for (name, n) in &s.op_counts {
        let _ = writeln!(
            o,
            "dbarena_operations_total{{operation=\"{}\"}} {n}",
            label(name)
        );
    }
    let _ = writeln!(
        o,
        "# HELP dbarena_tps Committed transactions per second over the last interval."
    );
    let _ = writeln!(o, "# TYPE dbarena_tps gauge");
    let _ = writeln!(o, "dbarena_tps {}", s.interval.tps);
    if let Some(t) = s.interval.target_tps.or(s.target_tps) {
        let _ = writeln!(
            o,
            "# HELP dbarena_target_tps The rate the schedule intends now."
        );
        let _ = writeln!(o, "# TYPE dbarena_target_tps gauge");
        let _ = writeln!(o, "dbarena_target_tps {t}");
    }
    let _ = writeln!(o, "# HELP dbarena_interval_latency_seconds Response time over the last interval, from the intended start.");
    let _ = writeln!(o, "# TYPE dbarena_interval_latency_seconds gauge");
    for (q, v) in [
        ("0.5", s.interval.p50_ms),
        ("0.95", s.interval.p95_ms),
        ("0.99", s.interval.p99_ms),
        ("1", s.interval.max_ms),
    ] {
        let _ = writeln!(
            o,
            "dbarena_interval_latency_seconds{{quantile=\"{q}\"}} {}",
            v / 1000.0
        );
    }
    let l = &s.latency;
    let _ = writeln!(o, "# HELP dbarena_latency_seconds Response time since the measured start, from the intended start.");
    let _ = writeln!(o, "# TYPE dbarena_latency_seconds summary");
    for (q, v) in [
        ("0.5", l.p50_ms),
        ("0.9", l.p90_ms),
        ("0.95", l.p95_ms),
        ("0.99", l.p99_ms),
        ("0.999", l.p999_ms),
    ] {
        let _ = writeln!(
            o,
            "dbarena_latency_seconds{{quantile=\"{q}\"}} {}",
            v / 1000.0
        );
    }
    let _ = writeln!(o, "dbarena_latency_seconds_count {}", l.count);
    let _ = writeln!(
        o,
        "dbarena_latency_seconds_sum {}",
        l.mean_ms * l.count as f64 / 1000.0
    );
    let _ = writeln!(o, "# EOF");
    o
}

/// A label value with `\`, `"` and newlines escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
