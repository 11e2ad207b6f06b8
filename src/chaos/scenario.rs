//! Chaos scenarios: faults on a timeline during an ordinary workload run, each scenario with
//! its own result file, compared with a baseline in `chaos.csv`.

use super::cpu::CpuHog;
use super::links::{
    check_link_fault, check_tools, link_faults_in_force, resolve_hosts, retransmits, LinkTargets,
};
use super::proxy::{Direction, Faults, Proxy};
use crate::config::WorkloadConfig;
use crate::instance::Instance;
use crate::metrics::RunResult;
use crate::util::duration::parse_duration;
use crate::workload::run::{run_workload, RunOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One fault on the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// latency, bandwidth, reset, blackhole, slow_close (through the proxy); cpu; kill,
    /// pause, restart (of the instance); failover (of a cluster); loss, duplicate, reorder,
    /// corrupt, delay, rate, partition (on the links of instances in network namespaces).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub latency_ms: f64,
    #[serde(default)]
    pub jitter_ms: f64,
    #[serde(default)]
    pub normal: bool,
    #[serde(default)]
    pub bandwidth_bps: u64,
    #[serde(default)]
    pub slow_close_ms: u64,
    #[serde(default)]
    pub direction: Direction,
    pub toxicity: Option<f64>,
    #[serde(default)]
    pub threads: usize,
    /// CPU load per thread; for loss, duplicate, reorder and corrupt, the share of packets.
    #[serde(default)]
    pub percent: f64,
    /// How a delay's jitter is drawn: uniform (default), normal, pareto, paretonormal.
    pub distribution: Option<crate::net::Distribution>,
    /// Link faults: the instances (in network namespaces) whose links they hit, a cluster's
    /// members by their names [default: the --db instance, a cluster's first member]; for a
    /// partition, one side.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// A partition's other side (instances); empty: the hosts are cut off from everyone.
    #[serde(default)]
    pub peers: Vec<String>,
    /// When it starts ("0s" default; "mid" = half the duration).
    pub start: Option<String>,
    /// How long it lasts (default: to the end; kill: until the restart).
    pub duration: Option<String>,
    /// Repeat every this long.
    pub every: Option<String>,
    /// failover: when a standby is promoted, counted from the kill (default 1s).
    pub promote_after: Option<String>,
    /// failover: kill (default) or partition (the member cut off its link; a cluster made
    /// with --netns).
    pub how: Option<super::failover::FailoverHow>,
}

/// A named set of faults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    scenarios: Vec<Scenario>,
}

pub(super) fn fault(kind: &str) -> FaultSpec {
    FaultSpec {
        kind: kind.into(),
        latency_ms: 0.0,
        jitter_ms: 0.0,
        normal: false,
        bandwidth_bps: 0,
        slow_close_ms: 0,
        direction: Direction::Both,
        toxicity: None,
        threads: 0,
        percent: 0.0,
        distribution: None,
        hosts: Vec::new(),
        peers: Vec::new(),
        start: None,
        duration: None,
        every: None,
        promote_after: None,
        how: None,
    }
}

/// The default scenario set.
pub fn default_scenarios() -> Vec<Scenario> {
    let lat = |ms: f64| FaultSpec {
        latency_ms: ms,
        ..fault("latency")
    };
    let cpu = |t: usize, p: f64| FaultSpec {
        threads: t,
        percent: p,
        ..fault("cpu")
    };
    vec![
        Scenario {
            name: "baseline".into(),
            faults: vec![],
        },
        Scenario {
            name: "latency-50ms".into(),
            faults: vec![lat(50.0)],
        },
        Scenario {
            name: "latency-100ms".into(),
            faults: vec![lat(100.0)],
        },
        Scenario {
            name: "latency-200ms".into(),
            faults: vec![lat(200.0)],
        },
        Scenario {
            name: "cpu-2x50".into(),
            faults: vec![cpu(2, 50.0)],
        },
        Scenario {
            name: "cpu-4x80".into(),
            faults: vec![cpu(4, 80.0)],
        },
        Scenario {
            name: "combined-100ms-cpu-2x50".into(),
            faults: vec![lat(100.0), cpu(2, 50.0)],
        },
        Scenario {
            name: "kill-restart".into(),
            faults: vec![FaultSpec {
                start: Some("mid".into()),
                duration: Some("2s".into()),
                ..fault("kill")
            }],
        },
        Scenario {
            name: "pause-5s".into(),
            faults: vec![FaultSpec {
                start: Some("mid".into()),
                duration: Some("5s".into()),
                ..fault("pause")
            }],
        },
    ]
}

/// The default scenario set for a cluster: a baseline, and a failover at mid-run (the
/// primary or a Galera node killed, a standby promoted 1 s later, the killed member back 5 s
/// after the kill). When the members are hosts of their own (`--netns`), the same failover
/// again with the primary cut off by a partition instead of killed: the fault a network
/// makes, where the old primary lives on and must be fenced. The proxy's network faults stand
/// in for one server only, so they are not among the defaults.
pub fn cluster_scenarios(in_namespaces: bool) -> Vec<Scenario> {
    let failover = |how| FaultSpec {
        start: Some("mid".into()),
        duration: Some("5s".into()),
        promote_after: Some("1s".into()),
        how,
        ..fault("failover")
    };
    let mut v = vec![
        Scenario {
            name: "baseline".into(),
            faults: vec![],
        },
        Scenario {
            name: "failover".into(),
            faults: vec![failover(None)],
        },
    ];
    if in_namespaces {
        v.push(Scenario {
            name: "partition-failover".into(),
            faults: vec![failover(Some(super::failover::FailoverHow::Partition))],
        });
    }
    v
}

/// Reads scenarios from TOML (`[[scenarios]]` with `[[scenarios.faults]]`).
pub fn load_scenarios(path: &Path) -> Result<Vec<Scenario>, crate::Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    let f: ScenarioFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        crate::Error::Usage(format!("{}:{line}: {}", path.display(), e.message().trim()))
    })?;
    for sc in &f.scenarios {
        for fault in &sc.faults {
            if !FAULT_TYPES.contains(&fault.kind.as_str()) {
                return Err(crate::Error::Usage(format!(
                    "{}: scenario '{}' has an unknown fault type '{}'; use one of {}",
                    path.display(),
                    sc.name,
                    fault.kind,
                    FAULT_TYPES.join(", ")
                )));
            }
            if let Err(why) = check_link_fault(fault) {
                return Err(crate::Error::Usage(format!(
                    "{}: scenario '{}': {why}",
                    path.display(),
                    sc.name
                )));
            }
        }
        // Bad times are usage errors now, not after the scenarios before them have run.
        timeline(sc, 60.0)?;
        for fault in &sc.faults {
            secs(&fault.promote_after, 60.0, 1.0)?;
            if fault.how.is_some() && fault.kind != "failover" {
                return Err(crate::Error::Usage(format!(
                    "{}: scenario '{}': how is for the failover fault (kill or partition), not for {}; leave it out",
                    path.display(),
                    sc.name,
                    fault.kind
                )));
            }
        }
        // A partition failover's cut and the scenario's link faults would both write the one
        // nftables table of a host: a loss starting or ending could heal the cut mid-window,
        // beside a promoted standby.
        let partitions = sc.faults.iter().any(|f| {
            f.kind == "failover" && f.how == Some(super::failover::FailoverHow::Partition)
        });
        if let Some(link) = sc
            .faults
            .iter()
            .find(|f| partitions && super::links::is_link_fault(&f.kind))
        {
            return Err(crate::Error::Usage(format!(
                "{}: scenario '{}': a failover with how = \"partition\" and the link fault {} cannot share a scenario (both rewrite the hosts' filter rules); put the {} in a scenario of its own",
                path.display(),
                sc.name,
                link.kind,
                link.kind
            )));
        }
    }
    Ok(f.scenarios)
}

/// The fault types a scenario may use.
pub const FAULT_TYPES: [&str; 17] = [
    "latency",
    "bandwidth",
    "reset",
    "blackhole",
    "slow_close",
    "cpu",
    "kill",
    "pause",
    "restart",
    "failover",
    "loss",
    "duplicate",
    "reorder",
    "corrupt",
    "delay",
    "rate",
    "partition",
];

/// A fault window, seconds from the start of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub fault: String,
    pub start_s: f64,
    pub end_s: f64,
}

fn secs(s: &Option<String>, total: f64, default: f64) -> Result<f64, crate::Error> {
    match s.as_deref() {
        None => Ok(default),
        Some("mid") => Ok(total / 2.0),
        Some(t) => parse_duration(t)
            .map(|d| d.as_secs_f64())
            .map_err(|why| crate::Error::Usage(format!("invalid fault time '{t}': {why}"))),
    }
}

/// Each window of one fault as asked: its start and its end, which may lie past the run's end
/// `total` (a kill or restart lasts until the server is back, a failover until the former
/// primary returns as a standby, anything else to the end by default).
fn asked_windows(f: &FaultSpec, total: f64) -> Result<Vec<(f64, f64)>, crate::Error> {
    let start = secs(&f.start, total, 0.0)?;
    let default_len = if f.kind == "kill" || f.kind == "restart" {
        2.0
    } else if f.kind == "failover" {
        // Time for a promotion and the former primary's return as a standby.
        5.0
    } else {
        total - start
    };
    let len = secs(&f.duration, total, default_len)?;
    let every = secs(&f.every, total, 0.0)?;
    let mut out = Vec::new();
    let mut t = start;
    loop {
        out.push((t, t + len));
        if every <= 0.0 {
            break;
        }
        t += every;
        if t >= total {
            break;
        }
    }
    Ok(out)
}

/// The fault windows of a scenario over a run of `total` seconds.
pub fn timeline(sc: &Scenario, total: f64) -> Result<Vec<(usize, Window)>, crate::Error> {
    let mut out = Vec::new();
    for (i, f) in sc.faults.iter().enumerate() {
        for (start, end) in asked_windows(f, total)? {
            out.push((
                i,
                Window {
                    fault: f.kind.clone(),
                    start_s: start,
                    end_s: end.min(total),
                },
            ));
        }
    }
    Ok(out)
}

/// What the end of the run cuts short: a fault (or a kill's restart) that would have lasted
/// past it, as warnings naming the duration that would hold it whole.
pub fn cut_short(sc: &Scenario, total: f64) -> Result<Vec<String>, crate::Error> {
    let mut out = Vec::new();
    for f in &sc.faults {
        let Some(&(t, end)) = asked_windows(f, total)?.last() else {
            continue;
        };
        if end > total + 1e-9 {
            out.push(format!(
                "scenario {}: {} from {t:.1} s would last {:.1} s but the run ends at {total:.1} s, so it is cut short; give --duration {:.0}s or more to see it whole and the recovery after it",
                sc.name,
                f.kind,
                end - t,
                (end + 2.0).ceil()
            ));
        }
    }
    Ok(out)
}

/// Whether a scenario kills, pauses or restarts the server (which needs a managed instance).
fn needs_instance(sc: &Scenario) -> bool {
    sc.faults
        .iter()
        .any(|f| matches!(f.kind.as_str(), "kill" | "pause" | "restart" | "failover"))
}

/// Whether a scenario fails over a cluster.
fn fails_over(sc: &Scenario) -> bool {
    sc.faults.iter().any(|f| f.kind == "failover")
}

/// Whether a scenario changes the network through the proxy.
fn needs_proxy(sc: &Scenario) -> bool {
    sc.faults.iter().any(|f| {
        matches!(
            f.kind.as_str(),
            "latency" | "bandwidth" | "reset" | "blackhole" | "slow_close"
        )
    })
}

/// Refuses, before anything runs, what would make the run empty or meaningless: a fault that
/// starts at or after the end of a `total`-second scenario, and a set of scenarios whose every
/// faulty one would be skipped (kill/pause/restart without an instance).
pub fn check_scenarios(
    scenarios: &[Scenario],
    total: f64,
    instance: bool,
) -> Result<(), crate::Error> {
    if scenarios.is_empty() {
        return Err(crate::Error::Usage(
            "no chaos scenario to run: list at least one [[scenarios]] in the --scenarios file, or use --scenarios default".into(),
        ));
    }
    for sc in scenarios {
        for f in &sc.faults {
            let start = secs(&f.start, total, 0.0)?;
            if start >= total {
                return Err(crate::Error::Usage(format!(
                    "scenario '{}': the {} fault starts at {start:.1} s, at or after the end of the {total:.1} s run, so it would never happen; start it earlier or give a longer --duration",
                    sc.name, f.kind
                )));
            }
        }
    }
    let faulty = |sc: &&Scenario| !sc.faults.is_empty();
    let skipped: Vec<&str> = scenarios
        .iter()
        .filter(faulty)
        .filter(|sc| !instance && needs_instance(sc))
        .map(|sc| sc.name.as_str())
        .collect();
    if !skipped.is_empty() && skipped.len() == scenarios.iter().filter(faulty).count() {
        return Err(crate::Error::Usage(format!(
            "every scenario with faults ({}) kills, pauses or restarts the server, which needs a managed instance, so all would be skipped; use --db instance:NAME (dbarena instance up postgres --name NAME) or scenarios with network or CPU faults",
            skipped.join(", ")
        )));
    }
    Ok(())
}

/// What a scenario's consistency check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The checker looked and found nothing the model forbids.
    Pass,
    /// A violation: the scenario fails.
    Fail,
    /// Something worth reporting that the setup allows (acknowledged writes lost at an
    /// asynchronous failover), not a failure.
    Finding,
    /// The checker could not decide (or an agent's part awaits the merge).
    Undecided,
    /// The pattern has no consistency check.
    NotChecked,
}

impl CheckOutcome {
    fn of(r: &crate::metrics::RunResult, lost_is_finding: bool) -> CheckOutcome {
        use crate::metrics::result::Verdict;
        match (&r.writers_readers, &r.verification) {
            (Some(w), _) if w.violations.is_empty() => CheckOutcome::Pass,
            (Some(w), _) if lost_is_finding && w.violations.len() == w.lost_writes.len() => {
                CheckOutcome::Finding
            }
            (Some(_), _) => CheckOutcome::Fail,
            (None, Some(v)) => match v.verdict {
                Verdict::Pass => CheckOutcome::Pass,
                Verdict::Fail => CheckOutcome::Fail,
                Verdict::Unknown | Verdict::Deferred => CheckOutcome::Undecided,
            },
            (None, None) => CheckOutcome::NotChecked,
        }
    }
}

/// One row of chaos.csv.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    pub scenario: String,
    pub tps: f64,
    pub failure_rate: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub errors: String,
    pub longest_outage_s: f64,
    pub longest_gap_s: f64,
    pub recovery_s: Option<f64>,
    pub tps_change_pct: f64,
    pub p99_change_pct: f64,
    /// Consistency verdict as people read it: `pass`, `fail: N violations (first: …)`, or
    /// `n/a` for patterns without checks.
    pub verification: String,
    /// The same verdict as data, for everything that decides on it.
    pub check: CheckOutcome,
    pub result: String,
    /// Faults on the server that could not be applied or undone (empty: all were).
    pub fault_errors: Vec<FaultError>,
    /// TCP segments the hosts of link faults retransmitted during the scenario (their own
    /// namespaces' counters); None when the run has no such host.
    pub tcp_retransmits: Option<u64>,
    /// Failovers of a cluster: who was killed and promoted, and when.
    pub failovers: Vec<super::failover::FailoverRecord>,
    /// Seconds from the (first) failover's kill to the first commit acknowledged after it.
    pub first_commit_s: Option<f64>,
    /// Acknowledged writes the final table lacks (writers-readers; None for other workloads).
    pub lost_writes: Option<usize>,
    /// Their keys.
    pub lost_keys: Vec<String>,
}

impl ScenarioRow {
    /// Whether a fault of the scenario could not be applied or undone.
    pub fn failed_faults(&self) -> bool {
        !self.fault_errors.is_empty()
    }

    /// Whether the scenario's consistency checks found a violation.
    pub fn failed_verification(&self) -> bool {
        self.check == CheckOutcome::Fail
    }
}

/// Settings of a chaos run.
pub struct ChaosOptions {
    pub db: String,
    pub instance: Option<Instance>,
    pub base: WorkloadConfig,
    pub scenarios: Vec<Scenario>,
    pub out: PathBuf,
    pub stop: Arc<AtomicBool>,
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
}

/// The URL with its host:port replaced by the proxy's address.
fn proxied(url: &str, addr: &str) -> Result<String, crate::Error> {
    let u = crate::db::DbUrl::parse(url)?;
    if u.embedded() {
        return Err(crate::Error::Usage(
            "chaos needs a network database (postgres://, mysql:// or instance:NAME); SQLite is embedded".into(),
        ));
    }
    let raw = u.secret_url();
    let (scheme, rest) = raw.split_once("://").unwrap_or(("", raw));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    Ok(format!("{scheme}://{userinfo}{addr}{tail}"))
}

type InstanceError = crate::instance::InstanceError;

/// What the fault thread does to a managed instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultAction {
    Kill,
    Pause,
    Resume,
    Restart,
    /// Starting the server again at the end of a kill window.
    Start,
    /// Leaving the server running and resumed after the scenario.
    Restore,
    /// Putting a fault on a host's link or taking it off.
    Network,
    /// Killing a cluster's primary (or a Galera node).
    Failover,
    /// Promoting a standby to primary.
    Promote,
    /// Bringing the killed member of a cluster back.
    Rejoin,
}

impl std::fmt::Display for FaultAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultAction::Kill => "kill",
            FaultAction::Pause => "pause",
            FaultAction::Resume => "resume",
            FaultAction::Restart => "restart",
            FaultAction::Start => "start",
            FaultAction::Restore => "restore",
            FaultAction::Network => "network",
            FaultAction::Failover => "failover",
            FaultAction::Promote => "promote",
            FaultAction::Rejoin => "rejoin",
        })
    }
}

/// A fault that could not be applied or undone: an error of its scenario (in its row of
/// `chaos.csv`, and the command exits 1), not a scenario that silently ran without it.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{action} at {at_s:.1} s failed: {error}")]
pub struct FaultError {
    pub action: FaultAction,
    /// Seconds since the measured start.
    pub at_s: f64,
    pub error: String,
}

/// Leaves the instance running and resumed however a chaos run ends: normal return, error
/// or panic (Drop), or a second Ctrl-C/SIGTERM that exits at once (an exit hook).
struct RestoreOnExit {
    inst: Instance,
    log: Arc<dyn Fn(&str) + Send + Sync>,
    _hook: crate::util::signals::ExitHookGuard,
}

impl RestoreOnExit {
    fn new(inst: Instance, log: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        let on_signal = inst.clone();
        let hook = crate::util::signals::on_exit(move || {
            if let Err(e) = on_signal.restore() {
                eprintln!("error: {}", restore_failed(&on_signal, &e));
            }
        });
        RestoreOnExit {
            inst,
            log,
            _hook: hook,
        }
    }
}

fn restore_failed(inst: &Instance, e: &InstanceError) -> String {
    format!(
        "could not leave instance {0} running after chaos ({e}); check it with `dbarena instance list`, then `dbarena instance resume {0}` or `dbarena instance start {0}`",
        inst.name
    )
}

impl Drop for RestoreOnExit {
    fn drop(&mut self) {
        if let Err(e) = self.inst.restore() {
            (self.log)(&format!("error: {}", restore_failed(&self.inst, &e)));
        }
    }
}

/// Runs one action on the instance, keeping its error.
fn act(errors: &mut Vec<FaultError>, action: FaultAction, at_s: f64, r: Result<(), InstanceError>) {
    if let Err(e) = r {
        errors.push(FaultError {
            action,
            at_s,
            error: e.to_string(),
        });
    }
}

/// What the fault thread did: the faults on the server that could not be applied or undone,
/// and the failovers.
#[derive(Debug, Default)]
struct Applied {
    errors: Vec<FaultError>,
    failovers: Vec<super::failover::FailoverRecord>,
}

/// What a scenario's faults act on: the instance (kill, pause, restart, failover), the
/// proxy, the links of hosts in namespaces, and the URL the clients use (a failover's probe
/// commits through it).
struct Targets<'a> {
    inst: Option<&'a Instance>,
    proxy: &'a super::proxy::ProxyControl,
    links: Option<&'a LinkTargets<'a>>,
    url: &'a str,
}

/// Applies a scenario's fault windows on the run's clock until `done`.
fn apply_timeline(
    windows: &[(usize, Window)],
    specs: &[FaultSpec],
    started: &std::sync::OnceLock<Instant>,
    done: &AtomicBool,
    targets: Targets,
) -> Applied {
    let Targets {
        inst,
        proxy,
        links,
        url,
    } = targets;
    use super::failover::Failover;
    let mut errors = Vec::new();
    let mut failovers: Vec<(usize, Failover)> = Vec::new();
    let mut ended: Vec<Failover> = Vec::new();
    let mut hogs: Vec<(usize, CpuHog)> = Vec::new();
    let mut active = vec![false; windows.len()];
    let mut finished = vec![false; windows.len()];
    while !done.load(Ordering::SeqCst) {
        let Some(t0) = started.get() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let t = t0.elapsed().as_secs_f64();
        for (w, (i, win)) in windows.iter().enumerate() {
            let f = &specs[*i];
            if !active[w] && !finished[w] && t >= win.start_s {
                active[w] = true;
                match (f.kind.as_str(), inst) {
                    ("cpu", _) => {
                        hogs.push((w, CpuHog::start(f.threads.max(1), f.percent.max(1.0))))
                    }
                    ("kill", Some(i)) => act(&mut errors, FaultAction::Kill, t, i.kill()),
                    ("pause", Some(i)) => act(&mut errors, FaultAction::Pause, t, i.pause(true)),
                    ("restart", Some(i)) => act(
                        &mut errors,
                        FaultAction::Restart,
                        t,
                        i.stop().and_then(|_| i.start()),
                    ),
                    ("failover", Some(i)) => {
                        // Checked when the scenarios were loaded.
                        let after = secs(&f.promote_after, 0.0, 1.0).unwrap_or(1.0);
                        match Failover::begin(i, url, t, t + after, f.how.unwrap_or_default()) {
                            Ok(fo) => failovers.push((w, fo)),
                            Err(e) => act(&mut errors, FaultAction::Failover, t, Err(e)),
                        }
                    }
                    _ => {}
                }
            }
            if let Some(i) = inst {
                for (_, fo) in failovers.iter_mut() {
                    if let Some(r) = fo.tick(i, t) {
                        act(&mut errors, FaultAction::Promote, t, r);
                    }
                }
            }
            if active[w] && t >= win.end_s {
                active[w] = false;
                finished[w] = true;
                match (f.kind.as_str(), inst) {
                    ("cpu", _) => hogs.retain(|(x, _)| *x != w),
                    ("kill", Some(i)) => act(&mut errors, FaultAction::Start, t, i.start()),
                    ("pause", Some(i)) => act(&mut errors, FaultAction::Resume, t, i.pause(false)),
                    ("failover", Some(_)) => {
                        if let Some(k) = failovers.iter().position(|(x, _)| *x == w) {
                            let (_, mut fo) = failovers.remove(k);
                            act(&mut errors, FaultAction::Rejoin, t, fo.end(t));
                            // Its probe goes on until the end of the run.
                            ended.push(fo);
                        }
                    }
                    _ => {}
                }
            }
        }
        // Network faults in force: the union of the active windows.
        let mut net = Faults::default();
        for (w, (i, _)) in windows.iter().enumerate() {
            if !active[w] {
                continue;
            }
            let f = &specs[*i];
            match f.kind.as_str() {
                "latency" => {
                    net.latency_ms += f.latency_ms;
                    net.jitter_ms += f.jitter_ms;
                    net.normal |= f.normal;
                }
                "bandwidth" => net.bandwidth_bps = f.bandwidth_bps,
                "reset" => net.reset = true,
                "blackhole" => net.blackhole = true,
                "slow_close" => net.slow_close_ms = f.slow_close_ms,
                _ => continue,
            }
            net.direction = f.direction;
            net.toxicity = f.toxicity;
        }
        proxy.set(net);
        if let Some(l) = links {
            let want = link_faults_in_force(windows, specs, &active, l.hosts, l.default);
            for (name, faults) in want {
                let Some(host) = l.hosts.get(&name) else {
                    continue;
                };
                if let Err(e) = l.faults.set(host, &faults) {
                    errors.push(FaultError {
                        action: FaultAction::Network,
                        at_s: t,
                        error: format!("on {name}: {e}"),
                    });
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Leave the server running, unpaused, and the network clean; a cluster whole again.
    proxy.set(Faults::default());
    let t = started.get().map_or(0.0, |t0| t0.elapsed().as_secs_f64());
    // Failovers first: a partitioned former primary is fenced before anything heals a link.
    for (_, mut fo) in failovers {
        act(&mut errors, FaultAction::Rejoin, t, fo.end(t));
        ended.push(fo);
    }
    if let Some(l) = links {
        for e in l.faults.clear_all() {
            errors.push(FaultError {
                action: FaultAction::Network,
                at_s: t,
                error: format!("removing link faults: {e}"),
            });
        }
    }
    let records = ended.into_iter().map(Failover::finish).collect();
    if let Some(i) = inst {
        act(&mut errors, FaultAction::Restore, t, i.restore());
    }
    Applied {
        errors,
        failovers: records,
    }
}

/// Runs every scenario and writes `chaos.csv`, the charts and `report.html` next to the result
/// files.
pub fn run_chaos(o: ChaosOptions) -> Result<Vec<ScenarioRow>, crate::Error> {
    std::fs::create_dir_all(&o.out).map_err(|e| crate::Error::Io {
        path: o.out.display().to_string(),
        source: e,
    })?;
    let total = o.base.duration.map(|d| d.as_secs_f64()).unwrap_or(20.0);
    check_scenarios(&o.scenarios, total, o.instance.is_some())?;
    let u = crate::db::DbUrl::parse(&o.db)?;
    let cluster = o.instance.as_ref().and_then(|i| i.cluster.clone());
    check_cluster(&o.scenarios, &u, cluster.as_ref(), o.instance.as_ref())?;
    let hosts = u.hosts();
    let upstream = hosts.first().cloned().unwrap_or_default();
    let proxy = Proxy::start(&upstream)
        .map_err(|e| crate::Error::Failed(format!("cannot start the chaos proxy: {e}")))?;
    // A URL of several hosts (a cluster) is used as it is, so clients follow a failover; the
    // proxy stands in for one server only.
    let url = if hosts.len() > 1 {
        o.db.clone()
    } else {
        proxied(&o.db, &proxy.addr().to_string())?
    };
    // Asynchronous replication may lose acknowledged writes at a failover: a finding to
    // report, where a synchronous cluster losing one fails the scenario.
    let lost_is_finding = matches!(
        cluster.as_ref().map(|c| c.topology),
        Some(crate::instance::cluster::Topology::Replication { sync: false })
    );
    let _restore = o
        .instance
        .clone()
        .map(|i| RestoreOnExit::new(i, o.log.clone()));
    check_tools(&o.scenarios)?;
    let hosts = Arc::new(resolve_hosts(&o.scenarios, o.instance.as_ref())?);
    // Removes every link fault when the run ends, however it ends.
    let link_faults = (!hosts.is_empty()).then(|| Arc::new(crate::net::LinkFaults::new()));
    let mut rows: Vec<ScenarioRow> = Vec::new();
    let mut runs: Vec<(String, RunResult)> = Vec::new();
    let mut baseline: Option<(f64, f64)> = None;
    for sc in &o.scenarios {
        if o.stop.load(Ordering::SeqCst) {
            break;
        }
        if needs_instance(sc) && o.instance.is_none() {
            (o.log)(&format!("skipping {}: killing or pausing the server needs a managed instance (--db instance:NAME)", sc.name));
            continue;
        }
        let windows = timeline(sc, total)?;
        (o.log)(&format!(
            "scenario {} ({} fault windows)",
            sc.name,
            windows.len()
        ));
        for w in cut_short(sc, total)? {
            (o.log)(&format!("warning: {w}"));
        }
        let mut cfg = o.base.clone();
        cfg.db = url.clone();
        if fails_over(sc) {
            super::failover::prepare_probe(&url)?;
        }
        let path = o.out.join(format!("{}.json", sc.name));
        // Faults run on their own thread, on the run's clock.
        let done = Arc::new(AtomicBool::new(false));
        // Fault times count from the start of the measured run, not from setup.
        let started = Arc::new(std::sync::OnceLock::new());
        let control = proxy.control();
        let handle = {
            let windows = windows.clone();
            let specs = sc.faults.clone();
            let done = done.clone();
            let inst = o.instance.clone();
            let started = started.clone();
            let hosts = hosts.clone();
            let link_faults = link_faults.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let links = link_faults.as_deref().map(|faults| LinkTargets {
                    faults,
                    hosts: &hosts,
                    default: inst.as_ref().map(|i| i.name.as_str()),
                });
                apply_timeline(
                    &windows,
                    &specs,
                    &started,
                    &done,
                    Targets {
                        inst: inst.as_ref(),
                        proxy: &control,
                        links: links.as_ref(),
                        url: &url,
                    },
                )
            })
        };
        let retransmits_before = retransmits(&hosts);
        let mut progress = crate::report::progress::Silent;
        let res = run_workload(
            cfg,
            RunOptions {
                out: Some(path.clone()),
                stop: o.stop.clone(),
                log: Box::new(|_| {}),
                started: Some(started.clone()),
                tx_log: None,
                hdr_log: None,
                faults: windows
                    .iter()
                    .map(|(_, w)| crate::metrics::result::FaultWindow {
                        fault: w.fault.clone(),
                        start_s: w.start_s,
                        end_s: w.end_s,
                    })
                    .collect(),
            },
            &mut progress,
        );
        done.store(true, Ordering::SeqCst);
        let applied = handle.join().unwrap_or_else(|_| Applied {
            errors: vec![FaultError {
                action: FaultAction::Restore,
                at_s: 0.0,
                error: "the fault thread panicked".into(),
            }],
            failovers: Vec::new(),
        });
        let fault_errors = applied.errors;
        let report = match res {
            Ok(r) => r,
            Err(e) => {
                // The scenarios that finished keep their CSV rows and charts.
                if !rows.is_empty() {
                    (o.log)(&format!(
                        "scenario {} failed; writing the finished ones",
                        sc.name
                    ));
                    write_outputs(&o, &mut rows, &runs, baseline)?;
                }
                return Err(e);
            }
        };
        let result = report.result;
        let mut row = summarise(
            &sc.name,
            &result,
            &windows,
            baseline,
            &path,
            lost_is_finding && fails_over(sc),
        );
        row.first_commit_s = applied.failovers.first().and_then(|f| f.first_commit_s);
        row.failovers = applied.failovers;
        for e in &fault_errors {
            (o.log)(&format!("scenario {}: {e}", sc.name));
        }
        row.fault_errors = fault_errors;
        row.tcp_retransmits = retransmits_before
            .zip(retransmits(&hosts))
            .map(|(a, b)| b.saturating_sub(a));
        if sc.name == "baseline" || baseline.is_none() && sc.faults.is_empty() {
            baseline = Some((result.totals.tps, result.response.p99_ms));
        }
        rows.push(row);
        runs.push((sc.name.clone(), result));
    }
    write_outputs(&o, &mut rows, &runs, baseline)?;
    Ok(rows)
}

/// Fills in the changes against the baseline and writes `chaos.csv`, the charts and
/// `report.html`.
fn write_outputs(
    o: &ChaosOptions,
    rows: &mut [ScenarioRow],
    runs: &[(String, RunResult)],
    baseline: Option<(f64, f64)>,
) -> Result<(), crate::Error> {
    if let Some((tps, p99)) = baseline {
        for r in rows.iter_mut() {
            r.tps_change_pct = crate::report::charts::change_pct(r.tps, tps);
            r.p99_change_pct = crate::report::charts::change_pct(r.p99_ms, p99);
        }
    }
    write_csv(&o.out.join("chaos.csv"), rows)?;
    // Charts: every scenario side by side, its change against the baseline, and each over
    // time with its fault windows shaded.
    use crate::report::charts::{self, Across};
    let mut charts = charts::comparison_charts(runs, Across::Scenarios);
    let mut tables = Vec::new();
    if let Some((degradation, table)) = charts::chaos_view(runs, "baseline") {
        charts.extend(degradation);
        tables.push(table);
    }
    if let Some(t) = failover_table(rows) {
        tables.push(t);
    }
    for (name, r) in runs {
        charts.extend(charts::run_charts(name, r));
    }
    charts::write(&o.out, &charts, runs, &tables, charts::Formats::ALL)?;
    Ok(())
}

/// The failovers of the scenarios, for report.html: who was killed and promoted when, the
/// first commit after the kill, the clients' longest outage and what was lost. None when no
/// scenario failed over.
fn failover_table(rows: &[ScenarioRow]) -> Option<crate::report::charts::Table> {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .flat_map(|r| {
            r.failovers.iter().map(move |f| {
                vec![
                    r.scenario.clone(),
                    format!("{} {} at {:.2}", f.how.verb(), f.killed, f.killed_at_s),
                    match (&f.promoted, f.promoted_at_s) {
                        (Some(p), Some(at)) => format!("{p} at {at:.2}"),
                        _ => "-".into(),
                    },
                    opt(f.first_commit_s),
                    format!("{:.2}", r.longest_outage_s),
                    opt(f.recovered_at_s),
                    r.lost_writes
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.verification.clone(),
                ]
            })
        })
        .collect();
    if table_rows.is_empty() {
        return None;
    }
    Some(crate::report::charts::Table {
        caption:
            "failovers (times in seconds from the measured start; first commit: from the kill or cut)"
                .into(),
        header: [
            "scenario",
            "killed or cut off",
            "promoted",
            "first commit s",
            "longest client outage s (whole scenario)",
            "killed member back at",
            "lost acknowledged writes (whole scenario)",
            "verification (whole scenario)",
        ]
        .map(String::from)
        .to_vec(),
        rows: table_rows,
    })
}

/// Refuses what cannot work on the URL and instance given: a failover of something that is
/// not a cluster, and network faults on a URL of several hosts (the proxy stands in for one).
fn check_cluster(
    scenarios: &[Scenario],
    url: &crate::db::DbUrl,
    cluster: Option<&crate::instance::cluster::Membership>,
    inst: Option<&Instance>,
) -> Result<(), crate::Error> {
    if let Some(sc) = scenarios.iter().find(|sc| fails_over(sc)) {
        if cluster.is_none() {
            let name = inst.map_or("the --db server".to_string(), |i| i.name.clone());
            return Err(crate::Error::Usage(format!(
                "scenario '{}' fails over a cluster, but {name} is not one; create one with `dbarena instance up postgres --replicas 1 --name NAME` (or `mariadb --galera 3`) and use --db instance:NAME",
                sc.name
            )));
        }
    }
    let partitions = |sc: &&Scenario| {
        sc.faults
            .iter()
            .any(|f| f.kind == "failover" && f.how == Some(super::failover::FailoverHow::Partition))
    };
    if let (Some(sc), Some(i)) = (scenarios.iter().find(partitions), inst) {
        if i.net.is_none() {
            return Err(crate::Error::Usage(format!(
                "scenario '{}': {}",
                sc.name,
                super::failover::needs_namespaces(i)
            )));
        }
    }
    if url.hosts().len() > 1 {
        if let Some(sc) = scenarios.iter().find(|sc| needs_proxy(sc)) {
            return Err(crate::Error::Usage(format!(
                "scenario '{}' has network faults, which go through a proxy in front of one server, and --db lists several hosts; run it against one member (--db instance:MEMBER) or leave those faults out",
                sc.name
            )));
        }
    }
    Ok(())
}

fn summarise(
    name: &str,
    r: &RunResult,
    windows: &[(usize, Window)],
    baseline: Option<(f64, f64)>,
    path: &Path,
    lost_is_finding: bool,
) -> ScenarioRow {
    let all = (r.totals.committed + r.totals.failed).max(1) as f64;
    let errors = r
        .errors
        .iter()
        .map(|e| format!("{}={}", e.class, e.count))
        .collect::<Vec<_>>()
        .join(";");
    // Longest stretch of whole intervals without a commit.
    let mut gap = 0.0f64;
    let mut run = 0.0f64;
    let mut last_t = 0.0;
    for i in r.intervals.iter().filter(|i| !i.partial) {
        let span = i.t_s - last_t;
        last_t = i.t_s;
        if i.committed == 0 {
            run += span;
            gap = gap.max(run);
        } else {
            run = 0.0;
        }
    }
    // Recovery: from the end of the last fault until throughput is within 10% of baseline.
    let recovery = match (
        baseline,
        windows
            .iter()
            .map(|(_, w)| w.end_s)
            .fold(None, |a: Option<f64>, e| {
                Some(a.map_or(e, |x: f64| x.max(e)))
            }),
    ) {
        (Some((base_tps, _)), Some(end)) if end < r.duration_s - 0.5 => r
            .intervals
            .iter()
            .find(|i| i.t_s > end && i.tps >= base_tps * 0.9)
            .map(|i| (i.t_s - 1.0 - end).max(0.0)),
        _ => None,
    };
    ScenarioRow {
        scenario: name.into(),
        tps: r.totals.tps,
        failure_rate: r.totals.failed as f64 / all,
        p50_ms: r.response.p50_ms,
        p95_ms: r.response.p95_ms,
        p99_ms: r.response.p99_ms,
        errors,
        longest_outage_s: r.outages.iter().map(|o| o.duration_s).fold(0.0, f64::max),
        longest_gap_s: gap,
        recovery_s: recovery,
        tps_change_pct: 0.0,
        p99_change_pct: 0.0,
        check: CheckOutcome::of(r, lost_is_finding),
        verification: match (&r.writers_readers, CheckOutcome::of(r, lost_is_finding)) {
            // Only lost writes, where asynchronous replication allows them.
            (Some(w), CheckOutcome::Finding) => format!(
                "finding: {} acknowledged writes lost at the failover (asynchronous replication)",
                w.lost_writes.len()
            ),
            _ => r.verification_text(),
        },
        result: path.display().to_string(),
        fault_errors: Vec::new(),
        tcp_retransmits: None,
        failovers: Vec::new(),
        first_commit_s: None,
        lost_writes: r.writers_readers.as_ref().map(|w| w.lost_writes.len()),
        lost_keys: r
            .writers_readers
            .iter()
            .flat_map(|w| w.lost_writes.iter().map(|l| l.key.clone()))
            .collect(),
    }
}

fn write_csv(path: &Path, rows: &[ScenarioRow]) -> Result<(), crate::Error> {
    let header = "scenario,tps,failure_rate,p50_ms,p95_ms,p99_ms,errors,longest_outage_s,longest_gap_s,recovery_s,tps_change_pct,p99_change_pct,verification,result,fault_errors,tcp_retransmits,failovers,first_commit_s,lost_writes,lost_keys";
    let mut table = vec![header.split(',').map(str::to_string).collect::<Vec<_>>()];
    for r in rows {
        table.push(vec![
            r.scenario.clone(),
            format!("{:.2}", r.tps),
            format!("{:.4}", r.failure_rate),
            format!("{:.3}", r.p50_ms),
            format!("{:.3}", r.p95_ms),
            format!("{:.3}", r.p99_ms),
            r.errors.clone(),
            format!("{:.2}", r.longest_outage_s),
            format!("{:.2}", r.longest_gap_s),
            r.recovery_s.map(|v| format!("{v:.2}")).unwrap_or_default(),
            format!("{:.1}", r.tps_change_pct),
            format!("{:.1}", r.p99_change_pct),
            r.verification.clone(),
            r.result.clone(),
            r.fault_errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
            r.tcp_retransmits.map(|n| n.to_string()).unwrap_or_default(),
            r.failovers
                .iter()
                .map(|f| {
                    let mut s = format!("{} {} at {:.2} s", f.how.verb(), f.killed, f.killed_at_s);
                    if let (Some(p), Some(at)) = (&f.promoted, f.promoted_at_s) {
                        s.push_str(&format!(" then promoted {p} at {at:.2} s"));
                    }
                    if let Some(at) = f.recovered_at_s {
                        s.push_str(&format!(" and {} was back at {at:.2} s", f.killed));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join("; "),
            r.first_commit_s
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default(),
            r.lost_writes.map(|n| n.to_string()).unwrap_or_default(),
            r.lost_keys.join(" "),
        ]);
    }
    let s = crate::util::csv::to_bytes(&table);
    crate::util::fsx::write_atomic(path, &s).map_err(|e| crate::Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::InstanceKind;

    /// A server that is not running cannot be paused, resumed or restored: each is a typed
    /// error of the scenario, not a silent no-op.
    #[test]
    fn failovers_need_a_cluster_and_clusters_refuse_network_faults() {
        use crate::instance::cluster::{Member, Membership, Topology};
        let one = crate::db::DbUrl::parse("postgres://u@127.0.0.1:5/db").unwrap();
        let two = crate::db::DbUrl::parse("postgres://u@127.0.0.1:5,127.0.0.1:6/db").unwrap();
        let m = Membership {
            cluster: "c".into(),
            topology: Topology::Replication { sync: true },
            index: 0,
            members: vec![Member {
                name: "c".into(),
                port: 5,
                peer_port: 0,
                ist_port: 0,
                sst_port: 0,
                addr: None,
            }],
        };
        let failover = cluster_scenarios(false);
        // Members that are hosts of their own get a partition failover by default too.
        let partition = Some(super::super::failover::FailoverHow::Partition);
        assert!(!failover
            .iter()
            .flat_map(|s| &s.faults)
            .any(|f| f.how == partition));
        assert!(cluster_scenarios(true)
            .iter()
            .any(|s| s.name == "partition-failover" && s.faults[0].how == partition));
        let e = check_cluster(&failover, &one, None, None).unwrap_err();
        assert!(e.to_string().contains("is not one"), "{e}");
        assert!(check_cluster(&failover, &two, Some(&m), None).is_ok());
        let e = check_cluster(&default_scenarios(), &two, Some(&m), None).unwrap_err();
        assert!(e.to_string().contains("lists several hosts"), "{e}");
        assert!(check_cluster(&default_scenarios(), &one, None, None).is_ok());
        // A failover that partitions needs the cluster's members in namespaces.
        let dir = std::env::temp_dir();
        let head = Instance {
            name: "c".into(),
            kind: InstanceKind::Postgres,
            port: 5,
            dir: dir.clone(),
            server_dir: dir,
            url: String::new(),
            fast: false,
            net: None,
            cluster: Some(m.clone()),
        };
        let cut = vec![Scenario {
            name: "cut".into(),
            faults: vec![FaultSpec {
                how: Some(super::super::failover::FailoverHow::Partition),
                ..fault("failover")
            }],
        }];
        let e = check_cluster(&cut, &two, Some(&m), Some(&head)).unwrap_err();
        assert!(
            e.to_string()
                .contains("cuts c off its network link, but it is not in a network namespace; make the cluster again in namespaces: `dbarena instance down c`, then `dbarena instance up postgres --replicas 1 --sync --netns --name c`"),
            "{e}"
        );
        assert!(check_cluster(&failover, &two, Some(&m), Some(&head)).is_ok());
    }

    /// `how` belongs to the failover fault; elsewhere it is refused with the reason.
    #[test]
    fn faults_the_end_of_the_run_cuts_short_are_named() {
        let with = |kind: &str, start: &str, duration: Option<&str>| Scenario {
            name: "s".into(),
            faults: vec![FaultSpec {
                start: Some(start.into()),
                duration: duration.map(String::from),
                ..fault(kind)
            }],
        };
        // A 5 s pause from the middle of a 3 s run lasts 1.5 s.
        let w = cut_short(&with("pause", "mid", Some("5s")), 3.0).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("pause from 1.5 s would last 5.0 s") && w[0].contains("--duration 9s"),
            "{w:?}"
        );
        // A kill at 2.5 s restarts 2 s later, after the end.
        assert_eq!(
            cut_short(&with("kill", "2.5s", None), 3.0).unwrap().len(),
            1
        );
        // Whole ones, and faults that last to the end by default, say nothing.
        assert!(cut_short(&with("pause", "1s", Some("1s")), 3.0)
            .unwrap()
            .is_empty());
        assert!(cut_short(&with("latency", "1s", None), 3.0)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn how_is_for_failovers_only() {
        let dir = std::env::temp_dir().join(format!("dbarena-how-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.toml");
        std::fs::write(
            &p,
            "[[scenarios]]\nname = \"x\"\n[[scenarios.faults]]\ntype = \"kill\"\nhow = \"partition\"\n",
        )
        .unwrap();
        let e = load_scenarios(&p).unwrap_err();
        assert!(
            e.to_string()
                .contains("how is for the failover fault (kill or partition), not for kill"),
            "{e}"
        );
        std::fs::write(
            &p,
            "[[scenarios]]\nname = \"x\"\n[[scenarios.faults]]\ntype = \"failover\"\nhow = \"partition\"\n",
        )
        .unwrap();
        let sc = load_scenarios(&p).unwrap();
        assert_eq!(
            sc[0].faults[0].how,
            Some(super::super::failover::FailoverHow::Partition)
        );
        // Beside a link fault in one scenario, a partition failover is refused.
        std::fs::write(
            &p,
            "[[scenarios]]\nname = \"x\"\n[[scenarios.faults]]\ntype = \"failover\"\nhow = \"partition\"\n[[scenarios.faults]]\ntype = \"loss\"\npercent = 5\n",
        )
        .unwrap();
        let e = load_scenarios(&p).unwrap_err();
        assert!(
            e.to_string()
                .contains("the link fault loss cannot share a scenario"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn faults_that_cannot_be_applied_are_errors_of_the_scenario() {
        // Its port is taken, so restoring it fails at once without starting anything.
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dir = std::env::temp_dir().join(format!("dbarena-ghost-{}", std::process::id()));
        let inst = Instance {
            name: "ghost".into(),
            kind: InstanceKind::Postgres,
            port: busy.local_addr().unwrap().port(),
            dir: dir.clone(),
            server_dir: dir.join("server"),
            url: "postgres://postgres:***@127.0.0.1:1/dbarena".into(),
            fast: false,
            net: None,
            cluster: None,
        };
        let proxy = Proxy::start("127.0.0.1:1").unwrap();
        let windows = vec![(
            0,
            Window {
                fault: "pause".into(),
                start_s: 0.0,
                end_s: 0.05,
            },
        )];
        let started = std::sync::OnceLock::new();
        let _ = started.set(Instant::now());
        let done = Arc::new(AtomicBool::new(false));
        let stopper = {
            let done = done.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                done.store(true, Ordering::SeqCst);
            })
        };
        let errors = apply_timeline(
            &windows,
            &[fault("pause")],
            &started,
            &done,
            Targets {
                inst: Some(&inst),
                proxy: &proxy.control(),
                links: None,
                url: "postgres://postgres@127.0.0.1:1/dbarena",
            },
        )
        .errors;
        stopper.join().unwrap();
        let actions: Vec<FaultAction> = errors.iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [
                FaultAction::Pause,
                FaultAction::Resume,
                FaultAction::Restore
            ],
            "{errors:?}"
        );
        assert!(
            errors[0].to_string().contains("not running"),
            "{}",
            errors[0]
        );
        assert!(errors[2].error.contains("in use"), "{}", errors[2]);
        // The row carries them to chaos.csv.
        let json = serde_json::to_value(&errors[0]).unwrap();
        assert_eq!(json["action"], "pause");
    }
}
