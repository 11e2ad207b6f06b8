//! A moving-block bootstrap over per-second intervals. Seconds of one run are autocorrelated
//! (a slow second is followed by slow seconds), so resampling single seconds would make every
//! difference look significant; resampling blocks of consecutive seconds keeps that
//! correlation, and resampling whole runs first keeps the spread between runs of one side.

use crate::datagen::Rng;

/// One interval, reduced to what the statistics need.
#[derive(Debug, Clone, Default)]
pub struct Second {
    pub committed: u64,
    pub failed: u64,
    pub retries: u64,
    pub span_s: f64,
    /// (index into the shared value table, count), ascending.
    pub hist: Vec<(u32, u64)>,
    /// The server's amounts in this second (per [`SERVER_KEYS`]), when sampled.
    pub server: Vec<Option<f64>>,
}

/// Server counters compared per committed transaction: what one transaction costs the server.
pub const SERVER_KEYS: [(&str, &str); 4] = [
    ("buffer_reads", "server_reads_per_tx"),
    ("wal_bytes", "server_wal_bytes_per_tx"),
    ("lock_wait_ms", "server_lock_wait_ms_per_tx"),
    ("cpu_ms", "server_cpu_ms_per_tx"),
];

/// The statistics compared, each computed from a multiset of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Throughput,
    Quantile(u32),
    ErrorRate,
    RetryRate,
    /// A server counter per committed transaction (index into [`SERVER_KEYS`]).
    ServerPerTx(usize),
}

impl Stat {
    /// What `compare` tests. The maximum is left out: one second's worst case is not a
    /// statistic resampling can say anything about.
    pub const ALL: [Stat; 7] = [
        Stat::Throughput,
        Stat::Quantile(500),
        Stat::Quantile(900),
        Stat::Quantile(990),
        Stat::Quantile(999),
        Stat::ErrorRate,
        Stat::RetryRate,
    ];

    pub fn name(self) -> String {
        match self {
            Stat::Throughput => "tps".into(),
            Stat::Quantile(1000) => "max_ms".into(),
            Stat::Quantile(999) => "p99.9_ms".into(),
            Stat::Quantile(q) => format!("p{}_ms", q / 10),
            Stat::ErrorRate => "error_rate".into(),
            Stat::RetryRate => "retry_rate".into(),
            Stat::ServerPerTx(k) => SERVER_KEYS[k].1.into(),
        }
    }

    /// Rates are compared by their difference (in points); everything else by the log of
    /// the ratio, whose intervals stay positive and treat ×2 and ×½ alike.
    pub fn is_rate(self) -> bool {
        matches!(self, Stat::ErrorRate | Stat::RetryRate)
    }

    /// The primary family: what the CI gate decides on, adjusted for multiple testing among
    /// themselves only. Holm over every metric at once multiplied the smallest p-value by
    /// eleven, so on short runs even a 40-fold slowdown could miss the level.
    pub fn is_primary(self) -> bool {
        matches!(
            self,
            Stat::Throughput | Stat::Quantile(500) | Stat::Quantile(990)
        )
    }

    /// Whether a larger value is worse.
    pub fn higher_is_worse(self) -> bool {
        !matches!(self, Stat::Throughput)
    }
}

/// Sums of a multiset of seconds, from which every [`Stat`] is read.
pub struct Acc {
    committed: u64,
    failed: u64,
    retries: u64,
    span: f64,
    counts: Vec<u64>,
    /// Per server key: its amount and the transactions committed in the seconds that had it.
    server: [(f64, u64); SERVER_KEYS.len()],
}

impl Acc {
    pub fn new(values: usize) -> Acc {
        Acc {
            committed: 0,
            failed: 0,
            retries: 0,
            span: 0.0,
            counts: vec![0; values],
            server: [(0.0, 0); SERVER_KEYS.len()],
        }
    }

    fn clear(&mut self) {
        self.committed = 0;
        self.failed = 0;
        self.retries = 0;
        self.span = 0.0;
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.server = [(0.0, 0); SERVER_KEYS.len()];
    }

    pub fn add(&mut self, s: &Second) {
        self.committed += s.committed;
        self.failed += s.failed;
        self.retries += s.retries;
        self.span += s.span_s;
        for &(i, n) in &s.hist {
            if let Some(c) = self.counts.get_mut(i as usize) {
                *c += n;
            }
        }
        for (k, v) in s.server.iter().enumerate() {
            if let (Some(v), Some(acc)) = (v, self.server.get_mut(k)) {
                acc.0 += v;
                acc.1 += s.committed;
            }
        }
    }

    /// Every statistic of `stats` at once: one pass over the histogram for all quantiles.
    pub fn read(&self, stats: &[Stat], values_ms: &[f64], out: &mut Vec<f64>) {
        out.clear();
        let total: u64 = self.counts.iter().sum();
        let attempts = (self.committed + self.failed).max(1) as f64;
        for st in stats {
            out.push(match *st {
                Stat::Throughput => {
                    if self.span > 0.0 {
                        self.committed as f64 / self.span
                    } else {
                        0.0
                    }
                }
                Stat::ErrorRate => self.failed as f64 / attempts,
                Stat::ServerPerTx(k) => match self.server[k] {
                    (_, 0) => f64::NAN,
                    (amount, n) => amount / n as f64,
                },
                Stat::RetryRate => self.retries as f64 / attempts,
                Stat::Quantile(q) => {
                    if total == 0 {
                        f64::NAN
                    } else {
                        // The smallest value with at least q‰ of the counts at or below it.
                        let want = ((total as f64) * (q as f64) / 1000.0).ceil().max(1.0) as u64;
                        let mut seen = 0;
                        let mut v = f64::NAN;
                        for (i, c) in self.counts.iter().enumerate() {
                            seen += c;
                            if seen >= want {
                                v = values_ms[i];
                                break;
                            }
                        }
                        v
                    }
                }
            });
        }
    }
}

/// One side of a comparison: its runs, each a series of seconds.
pub struct Side<'a> {
    pub runs: &'a [Vec<Second>],
}

impl Side<'_> {
    /// Point estimates from all seconds of all runs.
    pub fn estimate(&self, stats: &[Stat], values_ms: &[f64]) -> Vec<f64> {
        estimate_of(self.runs.iter().flatten(), stats, values_ms)
    }

    /// The batches whose spread shows how far a run's result can move as a whole: the side's
    /// runs when it has several, else the two halves of its one run (none for a run too
    /// short to halve).
    fn batches(&self) -> Vec<&[Second]> {
        match self.runs {
            [] => Vec::new(),
            [run] if run.len() < 4 => Vec::new(),
            [run] => {
                let h = run.len() / 2;
                vec![&run[..h], &run[h..]]
            }
            runs => runs.iter().map(|r| r.as_slice()).collect(),
        }
    }

    /// Per statistic, the variance of the side's estimate judged from its batches, on the
    /// scale it is tested on (see [`change`]): the sample variance of the batches over their
    /// number, with its degrees of freedom when the batches are runs (number − 1). A lone
    /// run's halves give no degrees of freedom: two batches are too few to carry a test
    /// alone (with one degree of freedom a 99.5% drop in throughput came out insignificant),
    /// so they only keep the variance from falling below the drift the run itself shows.
    /// None where fewer than two batches give the statistic.
    pub fn batch_variance(&self, stats: &[Stat], values_ms: &[f64]) -> Vec<Option<Spread>> {
        let runs = self.runs.len() >= 2;
        self.between_batches(stats, values_ms)
            .into_iter()
            .map(|b| {
                let (var, m) = b?;
                Some(Spread {
                    var: var / m as f64,
                    df: runs.then_some((m - 1) as f64),
                })
            })
            .collect()
    }

    /// Per statistic, the sample variance between the side's batches on the test scale and
    /// how many batches gave it (at least two; None otherwise).
    pub fn between_batches(&self, stats: &[Stat], values_ms: &[f64]) -> Vec<Option<(f64, usize)>> {
        let per: Vec<Vec<f64>> = self
            .batches()
            .into_iter()
            .map(|b| estimate_of(b.iter(), stats, values_ms))
            .collect();
        (0..stats.len())
            .map(|i| {
                let xs: Vec<f64> = per
                    .iter()
                    .filter_map(|e| on_test_scale(stats[i], e[i]))
                    .collect();
                let m = xs.len();
                (m >= 2).then(|| (sample_variance(&xs), m))
            })
            .collect()
    }

    /// Per statistic (not for rates), how far whole runs of this side differ from one
    /// another: their standard deviation as a fraction, what `--run-spread` assumes for lone
    /// runs. Pooled over `sides` that have two or more runs; None where none has.
    pub fn run_spread(sides: &[&Side], stats: &[Stat], values_ms: &[f64]) -> Vec<Option<f64>> {
        let per: Vec<Vec<Option<(f64, usize)>>> = sides
            .iter()
            .filter(|s| s.runs.len() >= 2)
            .map(|s| s.between_batches(stats, values_ms))
            .collect();
        (0..stats.len())
            .map(|i| {
                if stats[i].is_rate() {
                    return None;
                }
                let (mut ss, mut df) = (0.0, 0.0);
                for (var, m) in per.iter().filter_map(|p| p[i]) {
                    ss += var * (m - 1) as f64;
                    df += (m - 1) as f64;
                }
                (df > 0.0).then(|| (ss / df).sqrt().exp_m1())
            })
            .collect()
    }

    /// The moving-block bootstrap's variance runs low by about the share of a run one block
    /// takes (b/n): the factor that undoes it, for the side's standard error.
    pub fn se_inflation(&self) -> f64 {
        let (mut n, mut b) = (0.0, 0.0);
        for run in self.runs {
            n += run.len() as f64;
            b += block_len(run) as f64;
        }
        if n > b {
            (n / (n - b)).sqrt()
        } else {
            1.0
        }
    }

    /// Independent seconds the side is worth: each run's length shrunk by its lag-1
    /// correlation, n(1 − ρ)/(1 + ρ), summed over runs.
    ///
    /// A lone run's correlation is measured around its halves' means: the drift between the
    /// halves is already in the variance ([`Side::batch_variance`]), and counting it again as
    /// correlation took the degrees of freedom too: on a loaded CI machine both runs of a
    /// 98% slowdown stepped midway, each was worth under one second, and the test came out
    /// at df = 1 and p = 0.14.
    pub fn n_eff(&self) -> f64 {
        let halves = self.batches().len() == 2 && self.runs.len() == 1;
        self.runs
            .iter()
            .map(|run| {
                let tps: Vec<f64> = run
                    .iter()
                    .map(|s| s.committed as f64 / s.span_s.max(1e-9))
                    .collect();
                let mid: Vec<f64> = run.iter().map(median_index).collect();
                let (tps, mid) = if halves {
                    (around_halves(&tps), around_halves(&mid))
                } else {
                    (tps, mid)
                };
                let rho = corrected_rho(run.len(), lag1(&tps).max(lag1(&mid)));
                run.len() as f64 * (1.0 - rho) / (1.0 + rho)
            })
            .sum::<f64>()
            .max(1.0)
    }

    /// One bootstrap replicate into `acc`: runs drawn with replacement, then within each run
    /// blocks of consecutive seconds from random starts until the run's length is reached.
    /// With [`Blocks::Seconds`], blocks of one second.
    fn resample(&self, rng: &mut Rng, acc: &mut Acc, blocks: Blocks) {
        acc.clear();
        let k = self.runs.len();
        for _ in 0..k {
            let run = &self.runs[rng.below(k as u64) as usize];
            let n = run.len();
            if n == 0 {
                continue;
            }
            let b = match blocks {
                Blocks::Consecutive => block_len(run),
                Blocks::Seconds => 1,
            };
            let mut taken = 0;
            while taken < n {
                let start = rng.below((n - b + 1) as u64) as usize;
                for s in &run[start..(start + b).min(start + n - taken)] {
                    acc.add(s);
                }
                taken += b;
            }
        }
    }
}

/// Point estimates from a set of seconds.
pub fn estimate_of<'a>(
    seconds: impl Iterator<Item = &'a Second>,
    stats: &[Stat],
    values_ms: &[f64],
) -> Vec<f64> {
    let mut acc = Acc::new(values_ms.len());
    for s in seconds {
        acc.add(s);
    }
    let mut out = Vec::new();
    acc.read(stats, values_ms, &mut out);
    out
}

/// A value on the scale its statistic is tested on: rates as they are, the rest as logs.
fn on_test_scale(stat: Stat, v: f64) -> Option<f64> {
    match (stat.is_rate(), v.is_finite()) {
        (_, false) => None,
        (true, true) => Some(v),
        (false, true) if v > 0.0 => Some(v.ln()),
        _ => None,
    }
}

/// A variance judged from batches, and its degrees of freedom where the batches can carry
/// a test (None: the bootstrap's are used).
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub var: f64,
    pub df: Option<f64>,
}

/// The spread of a difference between two sides from their batches: the sum of the sides'
/// variances, with Welch–Satterthwaite's degrees of freedom where both sides have them.
pub fn batch_spread(base: Option<Spread>, new: Option<Spread>) -> Option<Spread> {
    let (b, n) = (base?, new?);
    let var = b.var + n.var;
    let df = match (b.df, n.df) {
        (Some(db), Some(dn)) => {
            let denom = b.var * b.var / db + n.var * n.var / dn;
            Some(
                if denom > 0.0 {
                    var * var / denom
                } else {
                    db + dn
                }
                .max(1.0),
            )
        }
        _ => None,
    };
    Some(Spread { var, df })
}

/// Block length for a run: long enough to hold the run's own correlation (twice the
/// integrated correlation time of its throughput and median-latency series, which for lag-1
/// correlation ρ is (1 + ρ)/(1 − ρ)), and at least about n^(1/3), the usual rate for the
/// moving-block bootstrap; at most a third of the run.
pub fn block_len(run: &[Second]) -> usize {
    let n = run.len();
    let tps: Vec<f64> = run
        .iter()
        .map(|s| s.committed as f64 / s.span_s.max(1e-9))
        .collect();
    let mid: Vec<f64> = run.iter().map(median_index).collect();
    let rho = corrected_rho(n, lag1(&tps).max(lag1(&mid)));
    let tau = (1.0 + rho) / (1.0 - rho);
    let b = ((n as f64).cbrt() * 1.5).max(3.0 * tau).round();
    let hi = (n as f64 / 2.0).floor().max(1.0);
    b.clamp(2.0_f64.min(hi), hi) as usize
}

fn median_index(s: &Second) -> f64 {
    let total: u64 = s.hist.iter().map(|p| p.1).sum();
    let mut seen = 0;
    for &(i, c) in &s.hist {
        seen += c;
        if seen * 2 >= total {
            return i as f64;
        }
    }
    0.0
}

/// The lag-1 estimate of a short series is biased low by about (1 + 4ρ)/n (Kendall; Marriott
/// and Pope); corrected, so that short runs do not look more independent than they are.
fn corrected_rho(n: usize, rho: f64) -> f64 {
    let n = n.max(1) as f64;
    // At most +0.1: on a run of a few seconds the formula itself is no better than the
    // estimate, and an unbounded correction left 8-second runs with one degree of freedom.
    (rho + ((1.0 + 4.0 * rho.max(0.0)) / n).min(0.1)).clamp(0.0, 0.95)
}

/// A series less the mean of the half it lies in (the halves split as in [`Side::batches`]).
fn around_halves(x: &[f64]) -> Vec<f64> {
    let h = x.len() / 2;
    let mean = |p: &[f64]| p.iter().sum::<f64>() / p.len().max(1) as f64;
    let (a, b) = (mean(&x[..h]), mean(&x[h..]));
    x.iter()
        .enumerate()
        .map(|(i, v)| v - if i < h { a } else { b })
        .collect()
}

/// Lag-1 autocorrelation of a series (0 for a constant or too short one).
fn lag1(x: &[f64]) -> f64 {
    if x.len() < 4 {
        return 0.0;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let var: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    if var <= 0.0 {
        return 0.0;
    }
    let cov: f64 = x.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
    cov / var
}

/// The bootstrap distribution of the relative change new/base − 1 of each statistic.
pub struct Changes {
    /// Per statistic, the sorted replicates (NaN-free).
    pub replicates: Vec<Vec<f64>>,
}

/// How a run is cut for resampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocks {
    /// Blocks of consecutive seconds, as long as the run's own correlation asks ([`block_len`]).
    Consecutive,
    /// Second by second: the seconds taken as independent.
    Seconds,
}

/// Resamples both sides `b` times, cut as `blocks` says.
pub fn changes(
    base: &Side,
    new: &Side,
    stats: &[Stat],
    values_ms: &[f64],
    b: usize,
    seed: u64,
    blocks: Blocks,
) -> Changes {
    let mut rng = Rng::new(seed);
    let (mut acc_b, mut acc_n) = (Acc::new(values_ms.len()), Acc::new(values_ms.len()));
    let (mut vb, mut vn) = (Vec::new(), Vec::new());
    let mut replicates = vec![Vec::with_capacity(b); stats.len()];
    for _ in 0..b {
        base.resample(&mut rng, &mut acc_b, blocks);
        new.resample(&mut rng, &mut acc_n, blocks);
        acc_b.read(stats, values_ms, &mut vb);
        acc_n.read(stats, values_ms, &mut vn);
        for (i, r) in replicates.iter_mut().enumerate() {
            if let Some(c) = change(stats[i], vb[i], vn[i]) {
                r.push(c);
            }
        }
    }
    for r in &mut replicates {
        r.sort_by(|a, b| a.total_cmp(b));
    }
    Changes { replicates }
}

/// The change of `stat` on the scale it is tested on: new − base for rates, ln(new/base)
/// otherwise (defined only when both are positive, or both zero: no change).
pub fn change(stat: Stat, base: f64, new: f64) -> Option<f64> {
    if !(base.is_finite() && new.is_finite()) {
        return None;
    }
    if stat.is_rate() {
        return Some(new - base);
    }
    match (base > 0.0, new > 0.0) {
        (true, true) => Some((new / base).ln()),
        (false, false) => Some(0.0),
        _ => None,
    }
}

/// The variance, on the log scale, that rounding to the histogram's buckets leaves in a
/// latency `ms`: the true value lies anywhere in the bucket below the recorded one (up to
/// 1 µs wide below 2 ms at three significant digits), uniformly, so its variance is
/// ln(top/bottom)²/12.
pub fn resolution_var(ms: f64) -> f64 {
    if !(ms.is_finite() && ms > 0.0) {
        return 0.0;
    }
    let h = crate::metrics::hist::new_histogram();
    let us = (ms * 1000.0).round().max(1.0);
    let width = h.equivalent_range(us as u64) as f64;
    let bottom = (us - width).max(us / 2.0);
    (us / bottom).ln().powi(2) / 12.0
}

/// One statistic tested for a change from the base side to the new one.
pub struct Tested {
    /// Point estimates from all seconds of each side.
    pub base: f64,
    pub new: f64,
    /// The change on the test's scale ([`change`]); None where it is not defined.
    pub change: Option<f64>,
    pub test: Test,
    /// Bootstrap replicates in which the change was defined.
    pub replicates: usize,
}

/// Every statistic of `stats` tested as `compare` tests it: the block bootstrap of both
/// sides, the batches' spread as a floor under its error, the histograms' rounding on top of
/// latencies, `between_runs` on top (per statistic, the run-to-run variance assumed for the
/// sides of one run, [`lone_run_var`]), and Student's t with the sides' effective seconds.
pub fn test_changes(
    base: &Side,
    new: &Side,
    stats: &[Stat],
    values_ms: &[f64],
    between_runs: &[f64],
    o: &super::CompareOptions,
) -> Vec<Tested> {
    let est_b = base.estimate(stats, values_ms);
    let est_n = new.estimate(stats, values_ms);
    let ch = changes(
        base,
        new,
        stats,
        values_ms,
        o.resamples,
        o.seed,
        Blocks::Consecutive,
    );
    // The same resampled second by second: a floor under the blocks' error. A 10 s run
    // holds two or three blocks, and their spread is a noisy estimate that can come out far
    // below what the seconds themselves show: two runs of a Poisson schedule whose
    // throughput differed by 3.2% (2.3 standard errors of the seconds) came out at p < 0.001.
    let alone = changes(
        base,
        new,
        stats,
        values_ms,
        o.resamples,
        o.seed ^ 0x5eed,
        Blocks::Seconds,
    );
    let df = base.n_eff() + new.n_eff() - 2.0;
    let inflate = base.se_inflation().max(new.se_inflation());
    let bv_b = base.batch_variance(stats, values_ms);
    let bv_n = new.batch_variance(stats, values_ms);
    stats
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let point = change(*st, est_b[i], est_n[i]);
            let rounding = match st {
                Stat::Quantile(_) => resolution_var(est_b[i]) + resolution_var(est_n[i]),
                _ => 0.0,
            };
            Tested {
                base: est_b[i],
                new: est_n[i],
                change: point,
                test: t_test(
                    point.unwrap_or(f64::NAN),
                    &ch.replicates[i],
                    df,
                    o.alpha,
                    inflate,
                    with_floor(
                        batch_spread(bv_b[i], bv_n[i]),
                        sample_variance(&alone.replicates[i]),
                    ),
                    rounding + between_runs.get(i).copied().unwrap_or(0.0),
                ),
                replicates: ch.replicates[i].len(),
            }
        })
        .collect()
}

/// The sample variance (n − 1 in the denominator); 0 for fewer than two values.
fn sample_variance(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / n as f64;
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64
}

/// The batches' spread raised to at least `var` (keeping the batches' degrees of freedom).
fn with_floor(batches: Option<Spread>, var: f64) -> Option<Spread> {
    match batches {
        Some(b) => Some(Spread {
            var: b.var.max(var),
            df: b.df,
        }),
        None if var > 0.0 => Some(Spread { var, df: None }),
        None => None,
    }
}

/// The variance, on the log scale, by which the result of a lone run may sit away from what
/// the same configuration gives on another run: `spread` is that movement as a fraction (its
/// standard deviation, 0.10 for runs that differ by about 10%). The seconds of one run cannot
/// show it (the machine's state drifts over tens of seconds and stays put within a short
/// run), so for a side of one run it is assumed; a side of several runs measures it
/// ([`Side::batch_variance`]).
pub fn lone_run_var(spread: f64) -> f64 {
    if spread.is_finite() && spread > 0.0 {
        spread.ln_1p().powi(2)
    } else {
        0.0
    }
}

/// Holm's step-down adjustment of p-values tested together: each metric's p-value as it must
/// be read when several metrics are compared at once (else one of seven would be
/// "significant" by chance far more often than `alpha`).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut out = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// A test of "no change" from the point estimate `d` and the bootstrap replicates: the
/// replicates' spread is the standard error, and Student's t with the sides' effective
/// degrees of freedom turns it into a p-value and an interval. With few effective seconds
/// (strongly correlated runs) the t tails keep the test from calling chance significant.
pub struct Test {
    pub p_value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The standard error and degrees of freedom behind them, for an interval at another
    /// level ([`Test::interval`]).
    pub se: f64,
    pub df: f64,
}

impl Test {
    /// The 1 − `alpha` interval around `d`: `compare` shows it at the level its adjusted
    /// verdict uses, so that an interval clear of zero is never "no significant difference".
    pub fn interval(&self, d: f64, alpha: f64) -> (f64, f64) {
        use statrs::distribution::{ContinuousCDF, StudentsT};
        if !(self.se > 0.0 && d.is_finite()) {
            return (self.ci_low, self.ci_high);
        }
        match StudentsT::new(0.0, 1.0, self.df.max(1.0)) {
            Ok(t) => {
                let q = t.inverse_cdf(1.0 - alpha / 2.0);
                (d - q * self.se, d + q * self.se)
            }
            Err(_) => (self.ci_low, self.ci_high),
        }
    }
}

/// The test of one statistic. `batches` is the same difference's spread judged from whole
/// runs or run halves ([`Side::batch_variance`]): where it is the wider, the test uses it
/// (and, for runs, their few degrees of freedom). The seconds of a run say nothing about how
/// its result as a whole moves between runs (the machine's state drifts over tens of
/// seconds: identical 10 s runs here differed by 18% in median latency from run to run,
/// against 5% within one), and a test blind to that calls identical runs different.
/// `known_var` is variance known without the data, added on top: what the histograms'
/// rounding leaves unknown ([`resolution_var`]: every second of a fast run can put its median
/// in the same 1 µs bucket, and resampling then sees no spread at all where 5 µs against 6 µs
/// is a rounding, not a certainty), and the run-to-run spread assumed for lone runs
/// ([`lone_run_var`]).
pub fn t_test(
    d: f64,
    replicates: &[f64],
    df: f64,
    alpha: f64,
    inflate: f64,
    batches: Option<Spread>,
    known_var: f64,
) -> Test {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = replicates.len();
    if n < 2 || !d.is_finite() {
        return Test {
            p_value: 1.0,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            se: f64::NAN,
            df,
        };
    }
    let se = sample_variance(replicates).sqrt() * inflate;
    let (se, df) = match batches {
        Some(b) if b.var.is_finite() && b.var > se * se => (b.var.sqrt(), b.df.unwrap_or(df)),
        _ => (se, df),
    };
    let se = (se * se + known_var.max(0.0)).sqrt();
    let Ok(t) = StudentsT::new(0.0, 1.0, df.max(1.0)) else {
        return Test {
            p_value: 1.0,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            se: f64::NAN,
            df,
        };
    };
    if se <= 0.0 {
        // Every resample agrees: a difference is certain, none is no difference.
        let p = if d == 0.0 { 1.0 } else { 0.0 };
        return Test {
            p_value: p,
            ci_low: d,
            ci_high: d,
            se,
            df,
        };
    }
    let q = t.inverse_cdf(1.0 - alpha / 2.0);
    Test {
        p_value: (2.0 * (1.0 - t.cdf((d / se).abs()))).clamp(0.0, 1.0),
        ci_low: d - q * se,
        ci_high: d + q * se,
        se,
        df,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const PHI: f64 = 0.5;

    /// Seconds of an AR(1) process with lag-1 correlation PHI (0.5: more than the seconds of
    /// the runs measured here show; at 0.8 and 60 s, about 7 independent seconds, the test
    /// flags about 15% of null comparisons, so long runs matter when runs are that sticky). Latencies sit in a 100-value table.
    fn ar1_run(rng: &mut Rng, n: usize, mean: f64) -> Vec<Second> {
        let mut x = 0.0f64;
        (0..n)
            .map(|_| {
                let noise = (rng.f64() - 0.5) * 2.0;
                x = PHI * x + noise * 0.2;
                let level = mean * (1.0 + x * 0.1);
                let committed = (level * 1000.0) as u64;
                let idx = ((50.0 / level).round() as u32).min(99);
                let hist = vec![(idx.saturating_sub(1), 300), (idx, 500), (idx + 1, 200)];
                Second {
                    committed,
                    failed: 0,
                    retries: 0,
                    span_s: 1.0,
                    hist,
                    server: Vec::new(),
                }
            })
            .collect()
    }

    fn table() -> Vec<f64> {
        (0..101).map(|i| i as f64 * 0.1).collect()
    }

    /// Two runs of the same process differ by chance only: at the 5% level about one
    /// comparison in twenty may call that significant. Measured here: 6–11 in 100 for one
    /// metric of 60 s runs at lag-1 correlation 0.5 (the block bootstrap runs a little narrow
    /// on short, sticky runs); `compare` adds Holm's adjustment across metrics and a noise
    /// floor on top.
    #[test]
    fn identical_processes_are_rarely_called_different() {
        let mut rng = Rng::new(7);
        let values = table();
        let mut flagged = 0;
        let tries = 100;
        for t in 0..tries {
            let a = vec![ar1_run(&mut rng, 60, 1.0)];
            let b = vec![ar1_run(&mut rng, 60, 1.0)];
            let (sa, sb) = (Side { runs: &a }, Side { runs: &b });
            let c = changes(
                &sa,
                &sb,
                &[Stat::Throughput],
                &values,
                400,
                t,
                Blocks::Consecutive,
            );
            let (ea, eb) = (
                sa.estimate(&[Stat::Throughput], &values),
                sb.estimate(&[Stat::Throughput], &values),
            );
            let d = change(Stat::Throughput, ea[0], eb[0]).unwrap();
            if t_test(
                d,
                &c.replicates[0],
                sa.n_eff() + sb.n_eff() - 2.0,
                0.05,
                sa.se_inflation().max(sb.se_inflation()),
                None,
                0.0,
            )
            .p_value
                < 0.05
            {
                flagged += 1;
            }
        }
        assert!(
            flagged <= 12,
            "{flagged} of {tries} null comparisons flagged"
        );
    }

    /// Runs whose level moves as a whole from run to run (the machine's state), with little
    /// noise within each: identical configurations, two runs per side, which the seconds and a
    /// resampling of so few runs call different far more often than 5%. The spread between
    /// runs must carry the test.
    #[test]
    fn runs_that_differ_as_a_whole_are_judged_by_their_spread() {
        let mut rng = Rng::new(11);
        let values = table();
        let run = |rng: &mut Rng| {
            let level = 1.0 + (rng.f64() - 0.5) * 0.4;
            let mut r = ar1_run(rng, 20, level);
            for s in &mut r {
                s.committed = (s.committed as f64 * 0.98 + 20.0 * level) as u64;
            }
            r
        };
        let (mut with, mut without) = (0, 0);
        let tries = 100;
        for t in 0..tries {
            let a: Vec<Vec<Second>> = (0..2).map(|_| run(&mut rng)).collect();
            let b: Vec<Vec<Second>> = (0..2).map(|_| run(&mut rng)).collect();
            let (sa, sb) = (Side { runs: &a }, Side { runs: &b });
            let st = [Stat::Throughput];
            let c = changes(&sa, &sb, &st, &values, 400, t, Blocks::Consecutive);
            let d = change(
                st[0],
                sa.estimate(&st, &values)[0],
                sb.estimate(&st, &values)[0],
            )
            .unwrap();
            let df = sa.n_eff() + sb.n_eff() - 2.0;
            let inflate = sa.se_inflation().max(sb.se_inflation());
            let spread = batch_spread(
                sa.batch_variance(&st, &values)[0],
                sb.batch_variance(&st, &values)[0],
            );
            assert!(spread.is_some_and(|b| b.df.is_some_and(|df| (1.0..=2.0).contains(&df))));
            with +=
                (t_test(d, &c.replicates[0], df, 0.05, inflate, spread, 0.0).p_value < 0.05) as u32;
            without +=
                (t_test(d, &c.replicates[0], df, 0.05, inflate, None, 0.0).p_value < 0.05) as u32;
        }
        // Measured: 23 of 100 without the spread (two runs per side resample too coarsely).
        assert!(
            with <= 10,
            "{with} of {tries} flagged with the runs' spread"
        );
        assert!(
            without >= 15,
            "only {without} of {tries} flagged without it: the case shows nothing"
        );
    }

    /// The test as `compare` runs it on one statistic, with the run-to-run spread of lone
    /// runs assumed as given.
    fn p_value_spread(a: &[Vec<Second>], b: &[Vec<Second>], st: Stat, run_spread: f64) -> f64 {
        let (sa, sb) = (Side { runs: a }, Side { runs: b });
        let o = crate::compare::CompareOptions {
            resamples: 400,
            seed: 3,
            ..Default::default()
        };
        let lone = [&sa, &sb].iter().filter(|s| s.runs.len() == 1).count() as f64;
        let t = test_changes(
            &sa,
            &sb,
            &[st],
            &table(),
            &[lone * lone_run_var(run_spread)],
            &o,
        );
        assert!(t[0].change.is_some());
        t[0].test.p_value
    }

    /// The test of the seconds alone (no run-to-run spread assumed).
    fn p_value(a: &[Vec<Second>], b: &[Vec<Second>], st: Stat) -> f64 {
        p_value_spread(a, b, st, 0.0)
    }

    /// Lone 10 s runs of independent seconds (the counts of a Poisson schedule at 1,000/s):
    /// two or three blocks per run are a noisy judge of the error, and once they came out
    /// far too narrow: two real runs whose throughput differed by 3.2%, 2.3 standard errors
    /// of their seconds, were called different at p < 0.001 (here 0.004). With the seconds' own spread as
    /// a floor that pair is ordinary, and null comparisons stay at about one in twenty
    /// (measured: 6 of 200 with the floor, 10 of 200 with the blocks alone).
    #[test]
    fn short_runs_of_independent_seconds_are_judged_by_their_seconds() {
        let secs = |counts: &[u64]| {
            vec![counts
                .iter()
                .map(|&c| Second {
                    committed: c,
                    span_s: 1.0,
                    hist: vec![(10, c)],
                    ..Second::default()
                })
                .collect::<Vec<_>>()]
        };
        // The pair (PostgreSQL select-only at --tps 1000, 2026-12-03).
        let a = secs(&[992, 1018, 942, 1008, 981, 971, 1043, 950, 957, 990]);
        let b = secs(&[1032, 1021, 996, 1011, 1019, 1049, 1030, 940, 1033, 1039]);
        let p = p_value(&a, &b, Stat::Throughput);
        assert!(p > 0.01, "p = {p}");
        let mut rng = Rng::new(23);
        let mut run = || {
            let counts: Vec<u64> = (0..10)
                .map(|_| {
                    let z = (0..12).map(|_| rng.f64()).sum::<f64>() - 6.0;
                    (1000.0 + 31.6 * z) as u64
                })
                .collect();
            secs(&counts)
        };
        let tries = 200;
        let flagged = (0..tries)
            .filter(|_| {
                let (a, b) = (run(), run());
                p_value(&a, &b, Stat::Throughput) < 0.05
            })
            .count();
        assert!(flagged <= 12, "{flagged} of {tries} flagged");
    }

    /// Lone runs whose level moves as a whole from run to run (sd 15%, as PostgreSQL's median
    /// latency does here between 10 s runs) with little noise within each: the seconds alone
    /// call most such pairs different; with that spread assumed, about one in twenty. A real
    /// halving of throughput stays significant.
    #[test]
    fn lone_runs_that_differ_as_a_whole_are_judged_by_the_assumed_spread() {
        let mut rng = Rng::new(17);
        let run = |rng: &mut Rng, scale: f64| {
            // Roughly normal (the sum of three uniforms), sd 0.15 on the log scale.
            let z = (rng.f64() + rng.f64() + rng.f64() - 1.5) * 2.0;
            let level = (0.15 * z).exp() * scale;
            vec![ar1_run(rng, 10, level)]
        };
        let tries = 200;
        let (mut with, mut without) = (0, 0);
        for _ in 0..tries {
            let (a, b) = (run(&mut rng, 1.0), run(&mut rng, 1.0));
            with += (p_value_spread(&a, &b, Stat::Throughput, 0.15) < 0.05) as u32;
            without += (p_value(&a, &b, Stat::Throughput) < 0.05) as u32;
        }
        assert!(
            with <= 16,
            "{with} of {tries} flagged with the spread assumed"
        );
        assert!(
            without >= 60,
            "only {without} of {tries} flagged without it: the case shows nothing"
        );
        let (a, b) = (run(&mut rng, 1.0), run(&mut rng, 0.3));
        let p = p_value_spread(&a, &b, Stat::Throughput, 0.15);
        assert!(p < 0.05, "a fall to 30% at p = {p}");
    }

    /// Lone runs of one process, tested as `compare` tests them (the halves' drift and all):
    /// measuring the correlation around the halves must not make chance look significant.
    /// Measured: 19 of 200 at one metric's 5% level, the same as with the correlation taken
    /// over the whole run (short sticky runs resample a little narrow; `compare` tests at
    /// half the level per family, after Holm).
    #[test]
    fn lone_identical_runs_are_rarely_called_different() {
        let mut rng = Rng::new(13);
        let tries = 200;
        let flagged = (0..tries)
            .filter(|_| {
                let a = vec![ar1_run(&mut rng, 15, 1.0)];
                let b = vec![ar1_run(&mut rng, 15, 1.0)];
                p_value(&a, &b, Stat::Throughput) < 0.05
            })
            .count();
        assert!(
            flagged <= 25,
            "{flagged} of {tries} null comparisons flagged"
        );
    }

    /// Both runs step midway (the machine's other load stopped): the drift between halves
    /// widens the interval, but a 50-fold slowdown is still far outside it.
    #[test]
    fn runs_that_step_midway_still_show_a_large_slowdown() {
        let mut rng = Rng::new(5);
        let stepped = |rng: &mut Rng, level: f64| {
            let mut r = ar1_run(rng, 15, level);
            for s in &mut r[7..] {
                s.committed *= 2;
            }
            r
        };
        let a = vec![stepped(&mut rng, 1.0)];
        let b = vec![stepped(&mut rng, 1.0)];
        let b: Vec<Vec<Second>> = b
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|s| Second {
                        committed: s.committed / 50,
                        ..s
                    })
                    .collect()
            })
            .collect();
        let p = p_value(&a, &b, Stat::Throughput);
        assert!(p < 0.01, "p = {p}");
    }

    #[test]
    fn a_real_shift_is_found() {
        let mut rng = Rng::new(9);
        let values = table();
        let a = vec![ar1_run(&mut rng, 60, 1.0)];
        let b = vec![ar1_run(&mut rng, 60, 0.8)];
        let stats = [Stat::Throughput, Stat::Quantile(500)];
        let (sa, sb) = (Side { runs: &a }, Side { runs: &b });
        let c = changes(&sa, &sb, &stats, &values, 400, 1, Blocks::Consecutive);
        let (ea, eb) = (sa.estimate(&stats, &values), sb.estimate(&stats, &values));
        let df = sa.n_eff() + sb.n_eff() - 2.0;
        let d = change(Stat::Throughput, ea[0], eb[0]).unwrap();
        let t = t_test(d, &c.replicates[0], df, 0.05, 1.0, None, 0.0);
        assert!(t.p_value < 0.01 && t.ci_high < 0.0, "throughput fell");
        let d = change(Stat::Quantile(500), ea[1], eb[1]).unwrap();
        let t = t_test(d, &c.replicates[1], df, 0.05, 1.0, None, 0.0);
        assert!(t.ci_low > 0.0, "median latency rose");
    }

    #[test]
    fn tiny_runs_get_a_block_that_fits() {
        for n in 1..6 {
            let run = vec![Second::default(); n];
            let b = block_len(&run);
            assert!(b >= 1 && b <= n.max(1), "{n}: {b}");
        }
    }

    #[test]
    fn rounding_matters_only_for_the_fastest_latencies() {
        // 5 µs: a 1 µs bucket is a fifth of the value.
        let fast = resolution_var(0.005).sqrt();
        assert!((0.05..0.07).contains(&fast), "{fast}");
        // 10 ms: 8 µs buckets, under a thousandth.
        assert!(resolution_var(10.0).sqrt() < 0.001);
        assert_eq!(resolution_var(f64::NAN), 0.0);
    }

    #[test]
    fn an_interval_clear_of_zero_is_a_p_value_under_its_level() {
        let reps: Vec<f64> = (0..200)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 500.0)
            .collect();
        for d in [0.01, 0.05, 0.1, 0.2, 0.3, -0.15] {
            let t = t_test(d, &reps, 12.0, 0.05, 1.0, None, 0.0);
            for alpha in [0.05, 0.01, 0.05 / 6.0] {
                let (lo, hi) = t.interval(d, alpha);
                assert_eq!(
                    lo > 0.0 || hi < 0.0,
                    t.p_value < alpha,
                    "d {d} alpha {alpha}: [{lo}, {hi}], p {}",
                    t.p_value
                );
            }
        }
    }

    #[test]
    fn holm_adjusts_in_order() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.5]);
        assert_eq!(adj, vec![0.04, 0.09, 0.09, 0.5]);
    }

    #[test]
    fn quantiles_read_the_shared_table() {
        let values = table();
        let mut acc = Acc::new(values.len());
        acc.add(&Second {
            committed: 10,
            failed: 0,
            retries: 0,
            span_s: 1.0,
            hist: vec![(10, 90), (50, 9), (100, 1)],
            server: vec![Some(20.0), None, None, None],
        });
        let mut out = Vec::new();
        acc.read(
            &[
                Stat::Quantile(500),
                Stat::Quantile(990),
                Stat::Quantile(1000),
            ],
            &values,
            &mut out,
        );
        assert_eq!(out, vec![1.0, 5.0, 10.0]);
    }
}
