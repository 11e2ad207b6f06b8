//! `compare`: did B get slower than A, and is that more than chance? Each side is one or more
//! result files; the per-second intervals (counts and latency histograms) of each side are
//! resampled in blocks ([`bootstrap`]), which gives every metric a confidence interval and a
//! p-value that respect the correlation between neighbouring seconds.

pub mod bootstrap;

use crate::metrics::RunResult;
use bootstrap::{Second, Side, Stat};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How the comparison decides.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Significance level of the two-sided test.
    pub alpha: f64,
    /// Relative changes smaller than this are "within noise" even when significant (as
    /// criterion does): runs on a shared machine differ by a little for reasons the seconds
    /// of one run cannot show.
    pub noise: f64,
    /// How far a whole run's result moves from one run to the next on this machine (the
    /// standard deviation, as a fraction): assumed for a side of one run, which cannot show
    /// it; a side of several runs measures it instead.
    pub run_spread: f64,
    pub resamples: usize,
    pub seed: u64,
    /// Compare runs of different workloads anyway.
    pub force: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            alpha: 0.05,
            noise: 0.02,
            run_spread: DEFAULT_RUN_SPREAD,
            resamples: 2000,
            seed: 1,
            force: false,
        }
    }
}

/// The run-to-run spread assumed for lone runs unless `--run-spread` says otherwise
/// (docs/PERFORMANCE.md, "compare": measured between identical 10 s runs on the 2-core
/// machine this was built on).
pub const DEFAULT_RUN_SPREAD: f64 = 0.10;

/// What a change of one metric means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// Not significant at the chosen level.
    NoSignificantChange,
    /// Significant, but smaller than the noise floor.
    WithinNoise,
    Improved,
    Regressed,
    /// Not measured on one side (no transactions, or no per-second histograms).
    NotComparable,
}

impl Assessment {
    /// The verdict as the table and the HTML page say it.
    pub fn describe(self) -> &'static str {
        match self {
            Assessment::NoSignificantChange => "no significant difference",
            Assessment::WithinNoise => "within noise",
            Assessment::Improved => "better (significant)",
            Assessment::Regressed => "worse (significant)",
            Assessment::NotComparable => "not comparable",
        }
    }
}

/// One metric on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct MetricChange {
    pub metric: String,
    pub base: f64,
    pub new: f64,
    /// (new − base) / base in percent; for rates (`error_rate`, `retry_rate`), new − base in
    /// percentage points.
    pub change_pct: f64,
    /// The interval of that change, in the same unit: 1 − alpha for the metrics together
    /// (Bonferroni within the metric's family, each family at half the level), so one that
    /// excludes zero is significant.
    pub ci_low_pct: f64,
    pub ci_high_pct: f64,
    /// The test's own p-value.
    pub p_value: f64,
    /// Adjusted for every metric tested: Holm within its family, each of the two families
    /// at half the level; what decides significance.
    pub p_adjusted: f64,
    /// In the primary family (tps, p50, p99): the metrics `--fail-if-slower` decides on.
    /// The others form a second family, adjusted among themselves.
    pub primary: bool,
    pub assessment: Assessment,
    /// How far whole runs differed from one another in this metric (standard deviation, in
    /// percent), pooled over the sides of several runs: what to give `--run-spread` for lone
    /// runs on this machine. None where no side has two runs, and for rates.
    pub run_spread_pct: Option<f64>,
}

/// A setting whose value differs between the sides.
#[derive(Debug, Clone, Serialize)]
pub struct SettingDiff {
    pub setting: String,
    pub base: String,
    pub new: String,
}

/// The whole comparison, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: Vec<String>,
    pub new: Vec<String>,
    pub workload: String,
    pub base_seconds: usize,
    pub new_seconds: usize,
    pub alpha: f64,
    pub noise_pct: f64,
    /// The run-to-run spread assumed for a side of one run, in percent (0 where every side
    /// has several runs, which measure it).
    pub run_spread_pct: f64,
    pub resamples: usize,
    pub settings_differ: Vec<SettingDiff>,
    pub metrics: Vec<MetricChange>,
    pub notes: Vec<String>,
}

impl Comparison {
    /// The primary metrics that got significantly slower by more than `pct` percent:
    /// throughput down, or p50 or p99 latency up.
    pub fn slower_than(&self, pct: f64) -> Vec<&MetricChange> {
        self.metrics
            .iter()
            .filter(|m| {
                m.primary && m.assessment == Assessment::Regressed && m.change_pct.abs() > pct
            })
            .collect()
    }
}

/// Why two sets of results cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{side} has no result files")]
    Empty { side: &'static str },
    #[error("the runs are of different workloads ({base} against {new}); compare like with like, or pass --force")]
    DifferentWorkloads { base: String, new: String },
    #[error("{file} has {seconds} whole measured second(s); compare needs at least {MIN_SECONDS} per run to see how a run's seconds vary; run for longer (-d 10s or more)")]
    TooShort { file: String, seconds: usize },
    #[error("{file}: a per-second histogram does not decode: {why}")]
    BadHistogram { file: String, why: String },
}

/// Whole seconds a run needs: resampling one or two seconds says nothing about their spread
/// (a run of one second resampled to itself, and any change came out certain, p = 0).
pub const MIN_SECONDS: usize = 3;

/// Compares `base` with `new` (each a list of (name, result)).
pub fn compare(
    base: &[(String, RunResult)],
    new: &[(String, RunResult)],
    o: &CompareOptions,
) -> Result<Comparison, CompareError> {
    if base.is_empty() {
        return Err(CompareError::Empty { side: "the base" });
    }
    if new.is_empty() {
        return Err(CompareError::Empty {
            side: "the new side",
        });
    }
    let workload = |r: &RunResult| serde_json::to_value(&r.config.workload).unwrap_or_default();
    let wb = workload(&base[0].1);
    for (_, r) in base.iter().chain(new) {
        if workload(r) != wb && !o.force {
            return Err(CompareError::DifferentWorkloads {
                base: base[0].1.config.pattern().into(),
                new: r.config.pattern().into(),
            });
        }
    }
    let mut notes = Vec::new();
    let settings_differ = settings_diff(&base[0].1, &new[0].1);
    // One table of the distinct histogram values of both sides: each second is then a short
    // list of (index, count), and a resample sums counts into one array.
    let mut decoded: Vec<Vec<Vec<(u64, u64)>>> = Vec::new();
    let mut all_values = BTreeSet::new();
    let mut missing_hdr = false;
    for (name, r) in base.iter().chain(new) {
        let mut secs = Vec::new();
        for iv in whole_seconds(r) {
            if iv.response_hdr.is_empty() {
                missing_hdr |= iv.committed + iv.failed > 0;
                secs.push(Vec::new());
                continue;
            }
            let h = crate::metrics::hist::decode(&iv.response_hdr).map_err(|why| {
                CompareError::BadHistogram {
                    file: name.clone(),
                    why,
                }
            })?;
            let pairs: Vec<(u64, u64)> = h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            all_values.extend(pairs.iter().map(|p| p.0));
            secs.push(pairs);
        }
        if secs.len() < MIN_SECONDS {
            return Err(CompareError::TooShort {
                file: name.clone(),
                seconds: secs.len(),
            });
        }
        decoded.push(secs);
    }
    if missing_hdr {
        notes.push("some files have no per-second latency histograms (written by an older dbarena): latency is compared only where present".into());
    }
    let values: Vec<u64> = all_values.into_iter().collect();
    let index: BTreeMap<u64, u32> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect();
    let values_ms: Vec<f64> = values.iter().map(|v| *v as f64 / 1000.0).collect();
    let mut runs: Vec<Vec<Second>> = Vec::new();
    for ((_, r), secs) in base.iter().chain(new).zip(decoded) {
        runs.push(
            whole_seconds(r)
                .zip(secs)
                .map(|(iv, pairs)| Second {
                    server: server_amounts(r, iv),
                    committed: iv.committed,
                    failed: iv.failed,
                    retries: iv.retries,
                    span_s: iv.span_s,
                    hist: pairs
                        .into_iter()
                        .filter_map(|(v, c)| Some((*index.get(&v)?, c)))
                        .collect(),
                })
                .collect(),
        );
    }
    let (runs_b, runs_n) = runs.split_at(base.len());
    let (sb, sn) = (Side { runs: runs_b }, Side { runs: runs_n });
    // The server's figures per transaction, where both sides sampled them.
    let has = |k: usize, side: &[Vec<Second>]| {
        side.iter().all(|run| {
            run.iter()
                .any(|s| s.server.get(k).is_some_and(|v| v.is_some()))
        })
    };
    let mut stats = Stat::ALL.to_vec();
    for k in 0..bootstrap::SERVER_KEYS.len() {
        if has(k, runs_b) && has(k, runs_n) {
            stats.push(Stat::ServerPerTx(k));
        }
    }
    // The run-to-run spread assumed for the sides of one run, on what moves with the
    // machine's state: latencies, the server's cost per transaction, and throughput where no
    // schedule holds it (runs in open loop that kept up differ in it by ~1%). Error and
    // retry rates are mostly zero between identical runs. A run kept to its schedule when it
    // was not behind (missed starts and lag), not when it achieved near the target: a
    // Poisson schedule's own count varies (±4% over 3 s at 200 tps) in a run that kept up.
    let kept_to_schedule = |r: &RunResult| {
        r.config.open_loop() && r.schedule.target_tps.is_some() && !r.schedule.behind
    };
    // Per side of one run: whether its throughput moves with the machine (no schedule held
    // it), each such side adding the assumed spread once.
    let lone_tps_moves: Vec<bool> = [base, new]
        .iter()
        .filter(|side| side.len() == 1)
        .map(|side| !kept_to_schedule(&side[0].1))
        .collect();
    let assumed = bootstrap::lone_run_var(o.run_spread);
    let between: Vec<f64> = stats
        .iter()
        .map(|st| match st {
            _ if st.is_rate() => 0.0,
            Stat::Throughput => lone_tps_moves.iter().filter(|m| **m).count() as f64 * assumed,
            _ => lone_tps_moves.len() as f64 * assumed,
        })
        .collect();
    let tests = bootstrap::test_changes(&sb, &sn, &stats, &values_ms, &between, o);
    let spread = Side::run_spread(&[&sb, &sn], &stats, &values_ms);
    let a_lone_side = !lone_tps_moves.is_empty();
    if a_lone_side {
        notes.push(if o.run_spread > 0.0 {
            format!("a side with one run cannot show how far its result moves between runs: {:.0}% is assumed (--run-spread; compare three runs of one configuration against three to measure it here), which hides smaller changes; three or more runs per side (--base a1 a2 a3 --new b1 b2 b3) measure it and make the test sharper", o.run_spread * 100.0)
        } else {
            "a side with one run, --run-spread 0: how far its result moves between runs is judged from the run's two halves only, which sees drift within the run but not a machine that differs from run to run; three or more runs per side (--base a1 a2 a3 --new b1 b2 b3) measure it".into()
        });
    }
    // Holm within each family: the primary metrics, then the rest.
    let mut adjusted = vec![1.0; stats.len()];
    for primary in [true, false] {
        let members: Vec<usize> = (0..stats.len())
            .filter(|&i| stats[i].is_primary() == primary)
            .collect();
        let p: Vec<f64> = members.iter().map(|&i| tests[i].test.p_value).collect();
        // Each family at half the level (Bonferroni over the two): the chance of calling
        // anything at all different between identical runs stays within alpha.
        for (&i, a) in members.iter().zip(bootstrap::holm(&p)) {
            adjusted[i] = (a * 2.0).min(1.0);
        }
    }
    let metrics = stats
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let t = &tests[i];
            let (point, test) = (&t.change, &t.test);
            // Back from the test's scale: points for rates, percent for the rest.
            let shown = |x: f64| {
                if st.is_rate() {
                    x * 100.0
                } else {
                    (x.exp() - 1.0) * 100.0
                }
            };
            let p_adj = adjusted[i];
            // Simultaneous within the family (Bonferroni at the family's half of the level):
            // Holm rejects whatever this excludes zero for, so the interval never contradicts
            // the verdict by clearing zero beside "no significant difference".
            let members = stats
                .iter()
                .filter(|x| x.is_primary() == st.is_primary())
                .count();
            let (lo, hi) = match point {
                Some(d) => test.interval(*d, o.alpha / 2.0 / members.max(1) as f64),
                None => (test.ci_low, test.ci_high),
            };
            let assessment = match point {
                None => Assessment::NotComparable,
                Some(_) if t.replicates < o.resamples / 2 => Assessment::NotComparable,
                Some(_) if p_adj >= o.alpha => Assessment::NoSignificantChange,
                Some(c) if !st.is_rate() && c.exp_m1().abs() < o.noise => Assessment::WithinNoise,
                Some(c) if (*c > 0.0) == st.higher_is_worse() => Assessment::Regressed,
                Some(_) => Assessment::Improved,
            };
            MetricChange {
                metric: st.name(),
                base: t.base,
                new: t.new,
                change_pct: point.map(shown).unwrap_or(f64::NAN),
                ci_low_pct: shown(lo),
                ci_high_pct: shown(hi),
                p_value: test.p_value,
                p_adjusted: p_adj,
                primary: st.is_primary(),
                assessment,
                run_spread_pct: spread[i].map(|x| x * 100.0),
            }
        })
        .collect();
    let seconds = |s: &[Vec<Second>]| s.iter().map(|r| r.len()).sum();
    Ok(Comparison {
        base: base.iter().map(|(n, _)| n.clone()).collect(),
        new: new.iter().map(|(n, _)| n.clone()).collect(),
        workload: base[0].1.config.pattern().into(),
        base_seconds: seconds(runs_b),
        new_seconds: seconds(runs_n),
        alpha: o.alpha,
        noise_pct: o.noise * 100.0,
        run_spread_pct: if a_lone_side {
            o.run_spread * 100.0
        } else {
            0.0
        },
        resamples: o.resamples,
        settings_differ,
        metrics,
        notes,
    })
}

/// The server's amounts over the client second `iv` (from the server interval ending
/// closest to it, within half a second): rates times the second's span; CPU in ms.
fn server_amounts(r: &RunResult, iv: &crate::metrics::result::IntervalRecord) -> Vec<Option<f64>> {
    let none = vec![None; bootstrap::SERVER_KEYS.len()];
    let Some(m) = &r.server else {
        return none;
    };
    let Some(s) = m
        .intervals
        .iter()
        .filter(|s| (s.t_s - iv.t_s).abs() <= 0.5)
        .min_by(|a, b| (a.t_s - iv.t_s).abs().total_cmp(&(b.t_s - iv.t_s).abs()))
    else {
        return none;
    };
    bootstrap::SERVER_KEYS
        .iter()
        .map(|(key, _)| {
            let per_s = if *key == "cpu_ms" {
                s.values.get("cpu_pct").map(|p| p * 10.0)
            } else {
                s.values.get(*key).copied()
            };
            per_s.map(|v| v * iv.span_s)
        })
        .collect()
}

/// The whole measured seconds of a run: not warmup, not the short tail.
fn whole_seconds(r: &RunResult) -> impl Iterator<Item = &crate::metrics::result::IntervalRecord> {
    r.intervals
        .iter()
        .filter(|i| !i.partial && i.t_s - i.span_s > -0.05 && i.span_s > 0.0)
}

/// The settings (and workload settings) whose values differ, by name.
fn settings_diff(a: &RunResult, b: &RunResult) -> Vec<SettingDiff> {
    let flat = |r: &RunResult| {
        let mut out = BTreeMap::new();
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&r.config) {
            for (k, v) in m {
                match v {
                    serde_json::Value::Object(inner) => {
                        for (k2, v2) in inner {
                            out.insert(format!("{k}.{k2}"), shown(&v2));
                        }
                    }
                    v => {
                        out.insert(k, shown(&v));
                    }
                }
            }
        }
        out.insert("database".into(), r.target.kind.to_string());
        out.insert("server_version".into(), r.target.server_version.clone());
        out
    };
    // A setting one side leaves unset reads "none" whether it is null or absent, so an
    // option set on one side only shows as none -> its value, once per field.
    let (fa, fb) = (flat(a), flat(b));
    let get =
        |f: &BTreeMap<String, String>, k: &str| f.get(k).cloned().unwrap_or_else(|| "none".into());
    let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    keys.into_iter()
        .filter(|k| k.as_str() != "seed" && get(&fa, k) != get(&fb, k))
        .map(|k| SettingDiff {
            setting: k.clone(),
            base: get(&fa, k),
            new: get(&fb, k),
        })
        .collect()
}

/// A setting's value as the differing-settings line shows it.
fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        v => v.to_string(),
    }
}

/// The comparison as a table for people.
pub fn render(c: &Comparison) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let side = |v: &[String], secs: usize| {
        format!(
            "{} ({} run{}, {secs} s)",
            v.join(", "),
            v.len(),
            if v.len() == 1 { "" } else { "s" }
        )
    };
    let _ = writeln!(s, "dbarena compare: {}", c.workload);
    let _ = writeln!(s, "  base  {}", side(&c.base, c.base_seconds));
    let _ = writeln!(s, "  new   {}", side(&c.new, c.new_seconds));
    for d in &c.settings_differ {
        let _ = writeln!(s, "  differs: {} {} -> {}", d.setting, d.base, d.new);
    }
    // The longest name (a server metric per transaction) sets the first column.
    let w = c
        .metrics
        .iter()
        .map(|m| m.metric.len() + 1)
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(
        s,
        "\n  {:<w$} {:>11} {:>11} {:>9}  {:<23} {:>7}  verdict",
        "metric",
        "base",
        "new",
        "change",
        format!("{:.0}% interval", (1.0 - c.alpha) * 100.0),
        "p (adj)"
    );
    for m in &c.metrics {
        let num = |v: f64| {
            if !v.is_finite() {
                "-".to_string()
            } else if m.metric.ends_with("rate") {
                format!("{:.3}%", v * 100.0)
            } else {
                format!("{v:.3}")
            }
        };
        let rate = m.metric.ends_with("rate");
        let pct = |v: f64| {
            if !v.is_finite() {
                "-".into()
            } else if rate {
                format!("{v:+.2}pp")
            } else {
                format!("{v:+.1}%")
            }
        };
        let verdict = m.assessment.describe();
        let _ = writeln!(
            s,
            "  {:<w$} {:>11} {:>11} {:>9}  {:<23} {:>7.3}  {verdict}",
            if m.primary {
                format!("{}*", m.metric)
            } else {
                m.metric.clone()
            },
            num(m.base),
            num(m.new),
            pct(m.change_pct),
            format!("[{}, {}]", pct(m.ci_low_pct), pct(m.ci_high_pct)),
            m.p_adjusted,
        );
    }
    let worse: Vec<&str> = c
        .metrics
        .iter()
        .filter(|m| m.assessment == Assessment::Regressed)
        .map(|m| m.metric.as_str())
        .collect();
    let better: Vec<&str> = c
        .metrics
        .iter()
        .filter(|m| m.assessment == Assessment::Improved)
        .map(|m| m.metric.as_str())
        .collect();
    let _ = writeln!(
        s,
        "\n  {}",
        match (worse.is_empty(), better.is_empty()) {
            (true, true) => format!(
                "no significant difference (at {:.0}%, noise floor {:.1}%{})",
                c.alpha * 100.0,
                c.noise_pct,
                if c.run_spread_pct > 0.0 {
                    format!(", lone runs assumed to move by {:.0}%", c.run_spread_pct)
                } else {
                    String::new()
                }
            ),
            (false, _) => format!(
                "WORSE: {}{}",
                worse.join(", "),
                if better.is_empty() {
                    String::new()
                } else {
                    format!("; better: {}", better.join(", "))
                }
            ),
            (true, false) => format!("better: {}", better.join(", ")),
        }
    );
    let _ = writeln!(
        s,
        "  * primary: what --fail-if-slower decides on; p-values are adjusted (Holm) within the primary metrics and within the others, each family at half the level; intervals hold for all the metrics of a family at once (Bonferroni), so one that excludes 0 is significant"
    );
    let measured: Vec<String> = c
        .metrics
        .iter()
        .filter(|m| m.primary)
        .filter_map(|m| Some(format!("{} {:.1}%", m.metric, m.run_spread_pct?)))
        .collect();
    if !measured.is_empty() {
        let _ = writeln!(
            s,
            "  runs of one side differed from one another by (sd, within-run noise included, so a little above the pure run-to-run spread): {}; the largest is a --run-spread for lone runs on this machine that errs on the safe side",
            measured.join(", ")
        );
    }
    for n in &c.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(metric: &str, primary: bool, assessment: Assessment, pct: f64) -> MetricChange {
        MetricChange {
            metric: metric.into(),
            base: 1.0,
            new: 1.0,
            change_pct: pct,
            ci_low_pct: pct,
            ci_high_pct: pct,
            p_value: 0.001,
            p_adjusted: 0.003,
            primary,
            assessment,
            run_spread_pct: None,
        }
    }

    #[test]
    fn the_gate_decides_on_the_primary_metrics_beyond_the_allowance() {
        let c = Comparison {
            base: vec!["a".into()],
            new: vec!["b".into()],
            workload: "x".into(),
            base_seconds: 60,
            new_seconds: 60,
            alpha: 0.05,
            noise_pct: 2.0,
            run_spread_pct: 10.0,
            resamples: 2000,
            settings_differ: Vec::new(),
            metrics: vec![
                change("tps", true, Assessment::Regressed, -3.0),
                change("p99_ms", true, Assessment::Regressed, 12.0),
                change("p50_ms", true, Assessment::NoSignificantChange, 40.0),
                change("p99.9_ms", false, Assessment::Regressed, 80.0),
            ],
            notes: Vec::new(),
        };
        let slower: Vec<&str> = c
            .slower_than(5.0)
            .iter()
            .map(|m| m.metric.as_str())
            .collect();
        assert_eq!(slower, ["p99_ms"]);
        let text = render(&c);
        assert!(
            text.contains("p99_ms*") && text.contains("p99.9_ms "),
            "{text}"
        );
    }
}
