//! Progress of a seed run: one bar per table with rows/s on a terminal; nothing otherwise.

use crate::seed::run::{SeedProgress, SeedReport};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write;

/// Bars on a terminal, silence elsewhere.
pub fn for_stderr(quiet: bool) -> Box<dyn SeedProgress> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        Box::new(NoBars)
    } else {
        Box::new(Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Vec::new(),
        })
    }
}

struct NoBars;

impl SeedProgress for NoBars {
    fn start(&mut self, _: &[(String, u64)]) {}
    fn update(&mut self, _: &[(String, u64)]) {}
    fn finish(&mut self) {}
}

struct Bars {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
}

impl SeedProgress for Bars {
    fn start(&mut self, tables: &[(String, u64)]) {
        let style = ProgressStyle::with_template(
            "{prefix:>20} [{bar:30.cyan/blue}] {pos}/{len} rows  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        for (name, n) in tables {
            let b = self.multi.add(ProgressBar::new(*n));
            b.set_style(style.clone());
            b.set_prefix(name.clone());
            self.bars.push(b);
        }
    }

    fn update(&mut self, done: &[(String, u64)]) {
        for (b, (_, n)) in self.bars.iter().zip(done) {
            b.set_position(*n);
        }
    }

    fn finish(&mut self) {
        for b in &self.bars {
            b.finish_and_clear();
        }
    }
}

/// The summary table printed after a seed.
pub fn render(r: &SeedReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "dbarena seed: {} (seed {})", r.database, r.seed);
    let _ = writeln!(
        s,
        "  {:<24} {:>12} {:>10} {:>14}",
        "table", "rows", "seconds", "rows/s"
    );
    for t in &r.tables {
        let _ = writeln!(
            s,
            "  {:<24} {:>12} {:>10.2} {:>14.0}",
            t.table, t.rows, t.seconds, t.rows_per_sec
        );
    }
    let _ = writeln!(
        s,
        "  {:<24} {:>12} {:>10.2} {:>14.0}",
        "total", r.total_rows, r.seconds, r.rows_per_sec
    );
    s
}
