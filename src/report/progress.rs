//! Live progress on stderr: a redrawn panel on a terminal, one plain line per interval
//! otherwise (like pgbench -P).

use crate::metrics::live::{ProgressSink, Snapshot};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

/// Chooses the display: `lines` forces plain lines; a non-terminal stderr also gets lines.
pub fn for_stderr(lines: bool, quiet: bool) -> Box<dyn ProgressSink> {
    use std::io::IsTerminal;
    if quiet {
        Box::new(Silent)
    } else if lines || !std::io::stderr().is_terminal() {
        Box::new(Lines)
    } else {
        Box::new(Panel::new())
    }
}

/// No output.
pub struct Silent;

impl ProgressSink for Silent {
    fn update(&mut self, _: &Snapshot) {}
    fn finish(&mut self) {}
}

/// One line per interval.
pub struct Lines;

impl ProgressSink for Lines {
    fn update(&mut self, s: &Snapshot) {
        let iv = &s.interval;
        let target = s.target_tps.map(|t| format!("/{t:.0}")).unwrap_or_default();
        let server = s
            .server
            .as_ref()
            .map(crate::metrics::server::live_line)
            .filter(|l| !l.is_empty())
            .map(|l| format!("; server {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "progress: {:.1} s, {:.1}{target} tps, lat p50 {:.3} p95 {:.3} p99 {:.3} ms, {} failed, {} retries, {} errors{server}",
            iv.t_s,
            iv.tps,
            iv.p50_ms,
            iv.p95_ms,
            iv.p99_ms,
            iv.failed,
            iv.retries,
            iv.errors
        );
    }
    fn finish(&mut self) {}
}

/// A redrawn multi-line panel.
pub struct Panel {
    bar: ProgressBar,
}

impl Panel {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30.cyan/blue}] {percent:>3}%\n{msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Panel { bar }
    }
}

impl ProgressSink for Panel {
    fn update(&mut self, s: &Snapshot) {
        let iv = &s.interval;
        let total = s.committed + s.failed;
        let rate = match s.target_tps {
            Some(t) => {
                let on = if (iv.tps + iv.failed as f64) >= t * 0.95 {
                    "on target"
                } else {
                    "BEHIND target"
                };
                format!("{:.1} tps of {t:.0} target ({on})", iv.tps)
            }
            None => format!("{:.1} tps (closed loop)", iv.tps),
        };
        let ok_pct = if total > 0 {
            s.committed as f64 * 100.0 / total as f64
        } else {
            100.0
        };
        let mix: Vec<String> = s
            .op_counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {:.1}%", *n as f64 * 100.0 / total.max(1) as f64))
            .collect();
        let mut msg = format!(
            "throughput  {rate}\nsuccess     {ok_pct:.2}% ({} committed, {} failed, {} retries)\nlatency     p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  mean {:.2} ms\noperations  {}",
            s.committed,
            s.failed,
            s.retries,
            s.latency.p50_ms,
            s.latency.p95_ms,
            s.latency.p99_ms,
            s.latency.mean_ms,
            mix.join("  ")
        );
        if let Some(line) = s
            .server
            .as_ref()
            .map(crate::metrics::server::live_line)
            .filter(|l| !l.is_empty())
        {
            msg.push_str("\nserver      ");
            msg.push_str(&line);
        }
        for e in &s.recent_errors {
            msg.push_str("\nerror       ");
            msg.push_str(&e.chars().take(120).collect::<String>());
        }
        self.bar.set_position((s.progress * 1000.0) as u64);
        self.bar.set_message(msg);
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
