//! `dbarena report`: charts of result files, a sweep folder or a chaos folder, as SVG files and
//! one self-contained HTML page.

use super::svg::{self, Series, PALETTE};
use crate::metrics::hist::decode;
use crate::metrics::RunResult;
use std::path::{Path, PathBuf};

/// A chart: file stem and SVG text.
pub struct Chart {
    pub name: String,
    pub title: String,
    pub svg: String,
}

fn s(name: &str, color: &'static str, points: Vec<(f64, f64)>) -> Series {
    Series {
        name: name.into(),
        color,
        points,
        dashed: false,
    }
}

/// Latency (ms) against "nines" of the percentile (1 = 90%, 2 = 99%, …) from the run's HDR
/// histogram; None when it holds nothing.
fn percentile_curve(r: &RunResult) -> Option<Vec<(f64, f64)>> {
    let h = decode(&r.response_hdr).ok().filter(|h| !h.is_empty())?;
    let qs = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999];
    Some(
        qs.iter()
            .map(|q| {
                (
                    -(1.0f64 - q).max(1e-5).log10(),
                    h.value_at_quantile(*q) as f64 / 1000.0,
                )
            })
            .collect(),
    )
}

/// Every run's latency distribution on one chart (a chaos run's scenarios side by side).
pub fn distribution_overlay(runs: &[(String, RunResult)]) -> Option<Chart> {
    let series: Vec<Series> = runs
        .iter()
        .filter_map(|(l, r)| Some((l, percentile_curve(r)?)))
        .enumerate()
        .map(|(i, (l, points))| Series {
            name: l.clone(),
            color: PALETTE[i % PALETTE.len()],
            points,
            // Past the palette, lines repeat colours dashed.
            dashed: (i / PALETTE.len()) % 2 == 1,
        })
        .collect();
    if series.len() < 2 {
        return None;
    }
    Some(Chart {
        name: "distribution-by-config".into(),
        title: "latency distribution per configuration".into(),
        svg: svg::lines(
            "latency by percentile (x: nines, 2 = 99%)",
            "nines",
            "ms",
            &series,
            &[],
        ),
    })
}

/// Every run's throughput and p99 over time on one chart each (compare's view of two runs).
pub fn overlay_over_time(runs: &[(String, RunResult)]) -> Vec<Chart> {
    let series = |f: &dyn Fn(&crate::metrics::result::IntervalRecord) -> f64| -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(i, (l, r))| Series {
                name: l.clone(),
                color: PALETTE[i % PALETTE.len()],
                points: r
                    .intervals
                    .iter()
                    .filter(|iv| !iv.partial)
                    .map(|iv| (iv.t_s, f(iv)))
                    .collect(),
                dashed: (i / PALETTE.len()) % 2 == 1,
            })
            .collect()
    };
    vec![
        Chart {
            name: "throughput-overlay".into(),
            title: "throughput over time, per run".into(),
            svg: svg::lines(
                "committed transactions per second",
                "seconds",
                "tps",
                &series(&|iv| iv.tps),
                &[],
            ),
        },
        Chart {
            name: "p99-overlay".into(),
            title: "p99 latency over time, per run".into(),
            svg: svg::lines(
                "p99 latency from intended start, per second",
                "seconds",
                "ms",
                &series(&|iv| iv.p99_ms),
                &[],
            ),
        },
    ]
}

/// `value` against `base` in percent (0 when there is no base to compare with).
pub fn change_pct(value: f64, base: f64) -> f64 {
    if base > 0.0 {
        (value - base) * 100.0 / base
    } else {
        0.0
    }
}

/// Change against the baseline, per scenario: throughput and p99 latency in percent, the
/// failure rate in percentage points.
pub fn degradation_charts(
    labels: &[String],
    tps_pct: &[f64],
    p99_pct: &[f64],
    failure_pp: &[f64],
) -> Vec<Chart> {
    let chart = |name: &str, title: &str, ylabel: &str, values: &[f64], color| Chart {
        name: name.into(),
        title: title.into(),
        svg: svg::signed_bars(title, "scenario", ylabel, labels, values, color),
    };
    vec![
        chart(
            "degradation-tps",
            "throughput change against the baseline",
            "% of baseline tps",
            tps_pct,
            PALETTE[0],
        ),
        chart(
            "degradation-failure-rate",
            "failure rate change against the baseline",
            "percentage points",
            failure_pp,
            PALETTE[3],
        ),
        chart(
            "degradation-p99",
            "p99 latency change against the baseline",
            "% of baseline p99",
            p99_pct,
            PALETTE[1],
        ),
    ]
}

/// A chaos folder's view: its scenarios against the `baseline` one, as degradation charts
/// and a table of degradation, outage and verification per scenario. None without the
/// baseline among the runs.
pub fn chaos_view(runs: &[(String, RunResult)], baseline: &str) -> Option<(Vec<Chart>, Table)> {
    let (_, base) = runs.iter().find(|(n, _)| n == baseline)?;
    let labels: Vec<String> = runs.iter().map(|(n, _)| n.clone()).collect();
    let tps: Vec<f64> = runs
        .iter()
        .map(|(_, r)| change_pct(r.totals.tps, base.totals.tps))
        .collect();
    let p99: Vec<f64> = runs
        .iter()
        .map(|(_, r)| change_pct(r.response.p99_ms, base.response.p99_ms))
        .collect();
    let fail: Vec<f64> = runs
        .iter()
        .map(|(_, r)| (failure_rate(r) - failure_rate(base)) * 100.0)
        .collect();
    let rows = runs
        .iter()
        .zip(tps.iter().zip(&p99).zip(&fail))
        .map(|((n, r), ((t, p), f))| {
            vec![
                n.clone(),
                format!("{:.1}", r.totals.tps),
                format!("{t:+.1}%"),
                format!("{:.2}%", failure_rate(r) * 100.0),
                format!("{f:+.2}"),
                format!("{:.2}", r.response.p99_ms),
                format!("{p:+.1}%"),
                format!(
                    "{:.2}",
                    r.outages.iter().map(|o| o.duration_s).fold(0.0, f64::max)
                ),
                r.faults
                    .iter()
                    .map(|w| format!("{} {:.1}-{:.1} s", w.fault, w.start_s, w.end_s))
                    .collect::<Vec<_>>()
                    .join("; "),
                lost_writes(r),
                r.verification_text(),
            ]
        })
        .collect();
    let table = Table {
        caption: format!("scenarios against {baseline}"),
        header: [
            "scenario",
            "tps",
            "tps change",
            "failure rate",
            "failure change (pp)",
            "p99 ms",
            "p99 change",
            "longest outage s",
            "faults",
            "lost acknowledged writes",
            "verification",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    };
    Some((degradation_charts(&labels, &tps, &p99, &fail), table))
}

/// The acknowledged writes a run's final table lacks: their count and the first keys ("-"
/// where the workload does not track writes).
fn lost_writes(r: &RunResult) -> String {
    let Some(w) = &r.writers_readers else {
        return "-".into();
    };
    if w.lost_writes.is_empty() {
        return "0".into();
    }
    const SHOWN: usize = 10;
    let keys: Vec<&str> = w
        .lost_writes
        .iter()
        .take(SHOWN)
        .map(|l| l.key.as_str())
        .collect();
    let more = w.lost_writes.len().saturating_sub(SHOWN);
    format!(
        "{}: {}{}",
        w.lost_writes.len(),
        keys.join(" "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// Charts of one run: throughput and latency over time, and the latency distribution.
pub fn run_charts(stem: &str, r: &RunResult) -> Vec<Chart> {
    let windows: Vec<(f64, f64, String)> = r
        .faults
        .iter()
        .map(|f| (f.start_s, f.end_s, f.fault.clone()))
        .collect();
    // The short tail after the last full second would read as a collapse: left out.
    let whole = || r.intervals.iter().filter(|i| !i.partial);
    let tps: Vec<(f64, f64)> = whole().map(|i| (i.t_s, i.tps)).collect();
    let mut tps_series = vec![s("tps", PALETTE[0], tps)];
    // The intended rate, dashed: a ramp's stages, or the fixed open-loop rate.
    let target: Vec<(f64, f64)> = whole()
        .filter_map(|i| Some((i.t_s, i.target_tps?)))
        .collect();
    if !target.is_empty() {
        tps_series.push(Series {
            name: "target".into(),
            color: PALETTE[1],
            points: target,
            dashed: true,
        });
    }
    let mut charts = vec![Chart {
        name: format!("{stem}-throughput"),
        title: format!("{stem}: throughput over time"),
        svg: svg::lines(
            &format!("{stem}: committed transactions per second"),
            "seconds",
            "tps",
            &tps_series,
            &windows,
        ),
    }];
    let p50: Vec<(f64, f64)> = whole().map(|i| (i.t_s, i.p50_ms)).collect();
    let p99: Vec<(f64, f64)> = whole().map(|i| (i.t_s, i.p99_ms)).collect();
    charts.push(Chart {
        name: format!("{stem}-latency"),
        title: format!("{stem}: latency over time"),
        svg: svg::lines(
            &format!("{stem}: latency from intended start"),
            "seconds",
            "ms",
            &[s("p50", PALETTE[0], p50), s("p99", PALETTE[1], p99)],
            &windows,
        ),
    });
    // What the server did meanwhile, under the throughput: its commits and rollbacks per
    // second, and its CPU when it runs on this machine.
    if let Some(m) = &r.server {
        let series_of = |key: &str| -> Vec<(f64, f64)> {
            m.intervals
                .iter()
                .filter_map(|iv| Some((iv.t_s, *iv.values.get(key)?)))
                .collect()
        };
        let mut lines = Vec::new();
        for (i, key) in ["commits", "rollbacks", "deadlocks"].iter().enumerate() {
            let pts = series_of(key);
            if !pts.is_empty() {
                lines.push(s(key, PALETTE[i], pts));
            }
        }
        if !lines.is_empty() {
            charts.push(Chart {
                name: format!("{stem}-server"),
                title: format!("{stem}: what the server counted"),
                svg: svg::lines(
                    &format!("{stem}: server transactions per second ({})", m.source),
                    "seconds",
                    "per second",
                    &lines,
                    &windows,
                ),
            });
        }
        let cpu = series_of("cpu_pct");
        if !cpu.is_empty() {
            charts.push(Chart {
                name: format!("{stem}-server-cpu"),
                title: format!("{stem}: server CPU"),
                svg: svg::lines(
                    &format!("{stem}: server CPU (100% = one core)"),
                    "seconds",
                    "%",
                    &[s("cpu", PALETTE[3], cpu)],
                    &windows,
                ),
            });
        }
    }
    // HDR percentile plot: latency at 0, 50, 90, 99, 99.9, 99.99 % ("nines" on x).
    if let Some(pts) = percentile_curve(r) {
        {
            charts.push(Chart {
                name: format!("{stem}-distribution"),
                title: format!("{stem}: latency distribution"),
                svg: svg::lines(
                    &format!("{stem}: latency by percentile (x: nines, 2 = 99%)"),
                    "nines",
                    "ms",
                    &[s("response", PALETTE[0], pts)],
                    &[],
                ),
            });
        }
    }
    charts
}

/// What the runs of a comparison are: a sweep's configurations follow a grid, so a line
/// between neighbours means something; chaos scenarios are unrelated, so they get bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    Configurations,
    Scenarios,
}

impl Across {
    fn noun(self) -> &'static str {
        match self {
            Across::Configurations => "configuration",
            Across::Scenarios => "scenario",
        }
    }
}

/// A run's failure rate: precondition failures for writers-readers, failed transactions
/// otherwise.
pub fn failure_rate(r: &RunResult) -> f64 {
    match &r.writers_readers {
        Some(w) => w.precondition_failure_rate,
        None => r.totals.failed as f64 / (r.totals.committed + r.totals.failed).max(1) as f64,
    }
}

/// Charts across runs (a sweep or a chaos folder): latency per run, failure rate and TPS bars.
pub fn comparison_charts(runs: &[(String, RunResult)], across: Across) -> Vec<Chart> {
    let labels: Vec<String> = runs.iter().map(|(l, _)| l.clone()).collect();
    let noun = across.noun();
    let wr = runs.iter().any(|(_, r)| r.writers_readers.is_some());
    type Get = fn(&RunResult) -> f64;
    let latency: Vec<(&str, Get)> = if wr {
        vec![
            ("writer p50", |r| {
                r.writers_readers.as_ref().map_or(0.0, |w| w.writer_p50_ms)
            }),
            ("writer p99", |r| {
                r.writers_readers.as_ref().map_or(0.0, |w| w.writer_p99_ms)
            }),
            ("reader p50", |r| {
                r.writers_readers.as_ref().map_or(0.0, |w| w.read_p50_ms)
            }),
            ("reader p99", |r| {
                r.writers_readers.as_ref().map_or(0.0, |w| w.read_p99_ms)
            }),
        ]
    } else {
        vec![
            ("p50", |r| r.response.p50_ms),
            ("p95", |r| r.response.p95_ms),
            ("p99", |r| r.response.p99_ms),
        ]
    };
    let colors = if wr {
        [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]]
    } else {
        [PALETTE[0], PALETTE[2], PALETTE[1], PALETTE[3]]
    };
    let values = |f: Get| runs.iter().map(|(_, r)| f(r)).collect::<Vec<f64>>();
    let latency_title = format!("latency per {noun}");
    let latency_svg = match across {
        Across::Configurations => {
            let series: Vec<Series> = latency
                .iter()
                .zip(colors)
                .map(|((name, f), c)| {
                    s(
                        name,
                        c,
                        values(*f)
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (i as f64, v))
                            .collect(),
                    )
                })
                .collect();
            svg::category_lines(&latency_title, noun, "ms", &labels, &series)
        }
        Across::Scenarios => {
            let columns: Vec<(&str, Vec<f64>)> = latency
                .iter()
                .map(|(name, f)| (*name, values(*f)))
                .collect();
            let groups: Vec<(&str, &str, &[f64])> = columns
                .iter()
                .zip(colors)
                .map(|((name, v), c)| (*name, c, v.as_slice()))
                .collect();
            svg::grouped_bars(&latency_title, noun, "ms", &labels, &groups)
        }
    };
    let fail: Vec<f64> = runs.iter().map(|(_, r)| failure_rate(r)).collect();
    let tps: Vec<f64> = runs.iter().map(|(_, r)| r.totals.tps).collect();
    let mut charts = vec![
        Chart {
            name: "latency-by-config".into(),
            title: latency_title,
            svg: latency_svg,
        },
        Chart {
            name: "failure-rate".into(),
            title: format!("failure rate per {noun}"),
            svg: svg::bars(
                if wr {
                    "precondition failure rate"
                } else {
                    "failure rate"
                },
                noun,
                "share of attempts",
                &labels,
                &fail,
                PALETTE[1],
            ),
        },
        Chart {
            name: "tps".into(),
            title: format!("throughput per {noun}"),
            svg: if wr {
                let (writes, reads) = (
                    values(|r| r.writers_readers.as_ref().map_or(0.0, |w| w.write_tps)),
                    values(|r| r.writers_readers.as_ref().map_or(0.0, |w| w.read_tps)),
                );
                svg::grouped_bars(
                    "throughput",
                    noun,
                    "transactions/s",
                    &labels,
                    &[
                        ("writes/s", PALETTE[0], &writes),
                        ("reads/s", PALETTE[2], &reads),
                    ],
                )
            } else {
                svg::bars("throughput", noun, "tps", &labels, &tps, PALETTE[0])
            },
        },
    ];
    if runs.iter().any(|(_, r)| r.tpcc.is_some()) {
        let per = |f: fn(&crate::metrics::result::TpccStats) -> f64| {
            runs.iter()
                .map(|(_, r)| r.tpcc.as_ref().map(f).unwrap_or(0.0))
                .collect::<Vec<f64>>()
        };
        let (tpmc, nopm) = (per(|t| t.tpmc), per(|t| t.nopm));
        charts.push(Chart {
            name: "tpmc".into(),
            title: format!("TPC-C-like tpmC and NOPM per {noun}"),
            svg: svg::grouped_bars(
                "TPC-C-like tpmC and NOPM",
                noun,
                "per minute",
                &labels,
                &[("tpmC", PALETTE[0], &tpmc), ("NOPM", PALETTE[2], &nopm)],
            ),
        });
    }
    // Beyond a dozen lines the overlay is unreadable; the per-run charts remain.
    if runs.len() <= 12 {
        charts.extend(distribution_overlay(runs));
    }
    charts
}

/// A sweep over two axes as people read it best: a metric over one axis (`x_axis`, numeric),
/// one line per value of the other (`line_axis`). Each point is (x, line value, run).
pub fn two_axis_charts(
    x_axis: &str,
    line_axis: &str,
    points: &[(f64, String, &RunResult)],
) -> Vec<Chart> {
    let mut lines: Vec<&str> = Vec::new();
    for (_, l, _) in points {
        if !lines.contains(&l.as_str()) {
            lines.push(l);
        }
    }
    let wr = points.iter().any(|(_, _, r)| r.writers_readers.is_some());
    type Get = fn(&RunResult) -> f64;
    let metrics: Vec<(&str, &str, &str, Get)> = if wr {
        vec![
            ("writer-p99", "writer p99 latency", "ms", |r| {
                r.writers_readers.as_ref().map_or(0.0, |w| w.writer_p99_ms)
            }),
            (
                "precondition-failure-rate",
                "precondition failure rate",
                "share of attempts",
                failure_rate,
            ),
        ]
    } else {
        vec![
            ("p99", "p99 latency", "ms", |r| r.response.p99_ms),
            ("tps", "throughput", "tps", |r| r.totals.tps),
            (
                "failure-rate",
                "failure rate",
                "share of attempts",
                failure_rate,
            ),
        ]
    };
    metrics
        .into_iter()
        .map(|(name, what, unit, f)| {
            let series: Vec<Series> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut pts: Vec<(f64, f64)> = points
                        .iter()
                        .filter(|(_, v, _)| v == l)
                        .map(|(x, _, r)| (*x, f(r)))
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series {
                        name: format!("{line_axis} = {l}"),
                        color: PALETTE[i % PALETTE.len()],
                        points: pts,
                        dashed: (i / PALETTE.len()) % 2 == 1,
                    }
                })
                .collect();
            let title = format!("{what} over {x_axis}, one line per {line_axis}");
            Chart {
                name: format!("{name}-by-{x_axis}-and-{line_axis}"),
                title: title.clone(),
                svg: svg::lines(&title, x_axis, unit, &series, &[]),
            }
        })
        .collect()
}

/// Throughput per concurrency level against the ideal linear line.
pub fn scaling_chart(levels: &[crate::metrics::scaling::ScaleLevel]) -> Chart {
    let tps = levels.iter().map(|l| (l.level, l.tps)).collect();
    let ideal = levels.iter().map(|l| (l.level, l.ideal)).collect();
    let title = match levels.last() {
        Some(l) => format!(
            "scaling: {:.0}% efficiency at {}",
            l.efficiency_pct, l.level
        ),
        None => "scaling".into(),
    };
    Chart {
        name: "scaling".into(),
        title: title.clone(),
        svg: svg::lines(
            &title,
            "connections",
            "tps",
            &[
                s("measured", PALETTE[0], tps),
                Series {
                    name: "ideal (linear)".into(),
                    color: PALETTE[7 % PALETTE.len()],
                    points: ideal,
                    dashed: true,
                },
            ],
            &[],
        ),
    }
}

/// A sort key that orders runs of digits by their value.
fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = c.to_digit(10).map(u64::from).unwrap_or(0);
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n.saturating_mul(10).saturating_add(u64::from(d));
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

/// Reads result files from paths (files, or folders of `*.json`), labelled by file stem.
pub fn load(paths: &[PathBuf]) -> Result<Vec<(String, RunResult)>, crate::Error> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| crate::Error::Usage(format!("cannot read {}: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            // w1_wr10 before w1_wr160: numbers in names compare as numbers.
            v.sort_by_key(|p| natural_key(&p.to_string_lossy()));
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Vec::new();
    for f in files {
        let r = RunResult::read(&f).map_err(crate::Error::Usage)?;
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((stem, r));
    }
    if out.is_empty() {
        return Err(crate::Error::Usage("no result files found".into()));
    }
    Ok(out)
}

/// A table of the page beyond the per-run one (the chaos scenarios against their baseline).
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What was run, for the top of the page: a setting shared by every run shows its value,
/// one that differs says so (the table below has them per run).
pub fn about(runs: &[(String, RunResult)]) -> Vec<(String, String)> {
    let same = |f: &dyn Fn(&RunResult) -> String| -> String {
        let mut vals: Vec<String> = runs.iter().map(|(_, r)| f(r)).collect();
        vals.dedup();
        match vals.len() {
            0 => "-".into(),
            1 => vals.remove(0),
            n => format!("{n} different values (per run below)"),
        }
    };
    let c = |r: &RunResult| r.config.clone();
    let first = runs
        .iter()
        .map(|(_, r)| r.started_at.as_str())
        .min()
        .unwrap_or("-");
    let last = runs
        .iter()
        .map(|(_, r)| r.ended_at.as_str())
        .max()
        .unwrap_or("-");
    vec![
        (
            "database".into(),
            same(&|r| crate::db::url::redact(&r.target.url)),
        ),
        (
            "server".into(),
            same(&|r| format!("{} {}", r.target.kind, r.target.server_version)),
        ),
        ("workload".into(), same(&|r| c(r).pattern().to_string())),
        (
            "connections".into(),
            same(&|r| c(r).connections.to_string()),
        ),
        ("rate".into(), same(&|r| c(r).rate_description())),
        (
            "measured".into(),
            same(&|r| format!("{:.1} s", r.duration_s)),
        ),
        (
            "isolation".into(),
            same(&|r| {
                c(r).isolation
                    .map(|i| i.sql().to_lowercase())
                    .unwrap_or_else(|| "database default".into())
            }),
        ),
        ("runs".into(), runs.len().to_string()),
        ("when".into(), format!("{first} to {last}")),
        ("by".into(), same(&|r| r.tool.clone())),
    ]
}

/// One HTML page with every chart inline: opens offline, no scripts needed. At the top, what
/// was run; then `tables`, the per-run table and the charts.
pub fn html(
    title: &str,
    charts: &[Chart],
    runs: &[(String, RunResult)],
    tables: &[Table],
) -> String {
    // Labels come from file names and scenario names: escaped like everything not written here.
    let title = svg::esc(title);
    let about = about(runs);
    let runs: Vec<(String, &RunResult)> = runs.iter().map(|(l, r)| (svg::esc(l), r)).collect();
    let mut h = format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}dl{{display:grid;grid-template-columns:max-content auto;gap:2px 12px}}dt{{font-weight:bold}}dd{{margin:0}}</style></head><body><h1>{title}</h1><dl id=\"about\">");
    for (k, v) in &about {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>", svg::esc(k), svg::esc(v)));
    }
    h.push_str("</dl>");
    for t in tables {
        h.push_str(&format!("<h2>{}</h2><table><tr>", svg::esc(&t.caption)));
        for c in &t.header {
            h.push_str(&format!("<th>{}</th>", svg::esc(c)));
        }
        h.push_str("</tr>");
        for row in &t.rows {
            h.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                // Figures right, words left.
                let figure = c
                    .trim_start_matches('+')
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .is_ok();
                let align = if i == 0 || !figure {
                    " style=\"text-align:left\""
                } else {
                    ""
                };
                h.push_str(&format!("<td{align}>{}</td>", svg::esc(c)));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>runs</h2><table>");
    if runs.iter().any(|(_, r)| r.writers_readers.is_some()) {
        h.push_str("<tr><th>run</th><th>writes/s</th><th>reads/s</th><th>writer p50 ms</th><th>writer p99 ms</th><th>reader p50 ms</th><th>reader p99 ms</th><th>precondition failures</th><th>avg retries</th><th>checks</th></tr>");
        for (l, r) in &runs {
            let Some(w) = &r.writers_readers else {
                continue;
            };
            let checks = if w.violations.is_empty() {
                "pass".to_string()
            } else {
                format!("{} violations", w.violations.len())
            };
            h.push_str(&format!(
                "<tr><td style=\"text-align:left\">{l}</td><td>{:.1}</td><td>{:.1}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.2}%</td><td>{:.3}</td><td>{checks}</td></tr>",
                w.write_tps, w.read_tps, w.writer_p50_ms, w.writer_p99_ms, w.read_p50_ms, w.read_p99_ms,
                w.precondition_failure_rate * 100.0, w.avg_retry_count
            ));
        }
    } else {
        h.push_str("<tr><th>run</th><th>tps</th><th>p50 ms</th><th>p99 ms</th><th>committed</th><th>failed</th></tr>");
        for (l, r) in &runs {
            h.push_str(&format!(
                "<tr><td style=\"text-align:left\">{l}</td><td>{:.1}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                r.totals.tps, r.response.p50_ms, r.response.p99_ms, r.totals.committed, r.totals.failed
            ));
        }
    }
    h.push_str("</table>");
    if runs.iter().any(|(_, r)| r.tpcc.is_some()) {
        h.push_str("<h2>TPC-C-like (not an audited result)</h2><table><tr><th>run</th><th>mode</th><th>W</th><th>tpmC</th><th>NOPM</th><th>rollbacks</th><th>p90 over its limit</th><th>consistency</th></tr>");
        for (l, r) in &runs {
            let Some(t) = &r.tpcc else { continue };
            let over: Vec<&str> = t
                .response_limits
                .iter()
                .filter(|x| !x.pass)
                .map(|x| x.transaction.as_str())
                .collect();
            let broken: Vec<String> = t
                .consistency
                .iter()
                .filter(|c| c.violating > 0)
                .map(|c| c.condition.to_string())
                .collect();
            h.push_str(&format!(
                "<tr><td style=\"text-align:left\">{l}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                svg::esc(&t.mode),
                t.warehouses,
                t.tpmc,
                t.nopm,
                t.rollbacks,
                if over.is_empty() { "none".to_string() } else { over.join(", ") },
                if broken.is_empty() {
                    format!("{} conditions hold", t.consistency.len())
                } else {
                    format!("broken: {}", broken.join(", "))
                }
            ));
        }
        h.push_str("</table>");
    }
    for c in charts {
        h.push_str(&format!("<h2>{}</h2>{}", svg::esc(&c.title), c.svg));
    }
    h.push_str("</body></html>");
    h
}

/// Which files `write` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    pub svg: bool,
    pub png: bool,
    pub html: bool,
}

impl Formats {
    /// Everything: what sweeps and chaos runs write by themselves.
    pub const ALL: Formats = Formats {
        svg: true,
        png: true,
        html: true,
    };
}

fn write_file(p: &Path, bytes: &[u8]) -> Result<(), crate::Error> {
    crate::util::fsx::write_atomic(p, bytes).map_err(|e| crate::Error::Io {
        path: p.display().to_string(),
        source: e,
    })
}

/// Writes the charts as SVG and/or PNG files and/or one HTML page into `out`; returns the
/// files written.
pub fn write(
    out: &Path,
    charts: &[Chart],
    runs: &[(String, RunResult)],
    tables: &[Table],
    formats: Formats,
) -> Result<Vec<PathBuf>, crate::Error> {
    std::fs::create_dir_all(out).map_err(|e| crate::Error::Io {
        path: out.display().to_string(),
        source: e,
    })?;
    let mut written = Vec::new();
    for c in charts {
        if formats.svg {
            let p = out.join(format!("{}.svg", c.name));
            write_file(&p, c.svg.as_bytes())?;
            written.push(p);
        }
        if formats.png {
            let p = out.join(format!("{}.png", c.name));
            let png = super::png::render(&c.svg)
                .map_err(|e| crate::Error::Failed(format!("cannot render {}: {e}", p.display())))?;
            write_file(&p, &png)?;
            written.push(p);
        }
    }
    if formats.html {
        let p = out.join("report.html");
        write_file(&p, html("dbarena report", charts, runs, tables).as_bytes())?;
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn numbers_in_names_sort_by_value() {
        let mut v = vec![
            "w1_wr160-t1",
            "w1_wr20-t1",
            "w1_wr10-t1",
            "w2_wr10-t1",
            "w10_wr10-t1",
        ];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(
            v,
            [
                "w1_wr10-t1",
                "w1_wr20-t1",
                "w1_wr160-t1",
                "w2_wr10-t1",
                "w10_wr10-t1"
            ]
        );
    }
}
