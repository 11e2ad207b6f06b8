//! The failover fault on a cluster instance: kill the primary (or a Galera node) or cut it
//! off the network (`how = "partition"`, members in namespaces), promote a standby after a
//! while, bring the member back at the end of the window; and a probe that measures, from
//! the fault, the time to the first commit the cluster acknowledges again.
//!
//! The cluster work itself is `instance::cluster`'s; this is its place on the timeline.

use crate::db::{Connection, DbUrl};
use crate::instance::{cluster, Instance, InstanceError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The probe's table: one row, one commit per probe.
const PROBE_TABLE: &str = "dbarena_failover_probe";

/// How a failover takes the primary (or a Galera node) away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailoverHow {
    /// kill -9 of its server.
    #[default]
    Kill,
    /// Its link drops every packet, both ways: cut off from the other members and from the
    /// clients, still running. A replication primary is killed before the link heals (once a
    /// standby was promoted), so it never takes writes beside the new one, and comes back as
    /// its standby; a Galera node rejoins by itself.
    Partition,
}

impl FailoverHow {
    /// The verb of chaos.csv and the summary lines.
    pub fn verb(self) -> &'static str {
        match self {
            FailoverHow::Kill => "killed",
            FailoverHow::Partition => "partitioned",
        }
    }
}

/// What one failover did and measured (seconds since the measured start).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailoverRecord {
    /// How the member was taken away.
    pub how: FailoverHow,
    /// The member killed or cut off (the primary, or a Galera node).
    pub killed: String,
    pub killed_at_s: f64,
    /// The standby promoted (streaming replication only).
    pub promoted: Option<String>,
    pub promoted_at_s: Option<f64>,
    /// From the kill (or cut) to the first commit acknowledged after it (None: none before
    /// the end).
    pub first_commit_s: Option<f64>,
    /// When the killed member was back (a former primary as a standby; a Galera node synced).
    pub recovered_at_s: Option<f64>,
}

/// Creates the probe's table (run before the measured start, on the cluster's URL).
pub fn prepare_probe(url: &str) -> Result<(), crate::Error> {
    let url = DbUrl::parse(url)?;
    block_on(async {
        let mut c = Connection::connect(&url).await?;
        for sql in [
            format!("CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"),
            format!("DELETE FROM {PROBE_TABLE}"),
            format!("INSERT INTO {PROBE_TABLE} (id, n) VALUES (1, 0)"),
        ] {
            c.execute(&sql)
                .await
                .map_err(|e| crate::Error::db("preparing the failover probe", e))?;
        }
        Ok(())
    })
}

fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, crate::Error>>,
) -> Result<T, crate::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Failed(format!("cannot start a runtime: {e}")))?
        .block_on(f)
}

/// Commits from the fault on until one is acknowledged, on a thread of its own: on each host
/// of the cluster's URL separately and at once (a fresh connection for each try: the old one
/// went with the primary), so a host that a partition makes hang does not delay finding the
/// one that answers.
pub struct Probe {
    found: Arc<Mutex<Option<f64>>>,
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Probe {
    pub fn start(url: &str, since: Instant) -> Probe {
        let found = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let handle = DbUrl::parse(url).ok().map(|url| {
            let (found, done) = (found.clone(), done.clone());
            std::thread::spawn(move || {
                let _ = block_on(async {
                    let sql = format!("UPDATE {PROBE_TABLE} SET n = n + 1 WHERE id = 1");
                    let one_host = |host: String| {
                        let (url, sql, done) = (url.with_host(&host), sql.clone(), done.clone());
                        Box::pin(async move {
                            while !done.load(Ordering::SeqCst) {
                                let attempt = async {
                                    let mut c = Connection::connect(&url).await.ok()?;
                                    c.execute(&sql).await.ok()
                                };
                                if let Ok(Some(())) =
                                    tokio::time::timeout(Duration::from_secs(2), attempt).await
                                {
                                    return Some(since.elapsed().as_secs_f64());
                                }
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            None
                        })
                    };
                    let hosts: Vec<_> = url.hosts().into_iter().map(one_host).collect();
                    if hosts.is_empty() {
                        return Ok(());
                    }
                    let (first, _, _) = futures_util::future::select_all(hosts).await;
                    if let (Some(at), Ok(mut f)) = (first, found.lock()) {
                        *f = Some(at);
                    }
                    Ok(())
                });
            })
        });
        Probe {
            found,
            done,
            handle,
        }
    }

    /// Whether it has seen its commit.
    pub fn found(&self) -> Option<f64> {
        self.found.lock().ok().and_then(|f| *f)
    }

    /// Stops it, after waiting up to `grace` for its commit (a synchronous primary acknowledges
    /// one only once a standby is back); the seconds from the kill to the first acknowledged
    /// commit, if one came.
    pub fn finish(mut self, grace: Duration) -> Option<f64> {
        let until = Instant::now() + grace;
        while self.found().is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.done.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.found()
    }
}

/// One failover window in progress.
pub struct Failover {
    pub record: FailoverRecord,
    killed: Instance,
    probe: Option<Probe>,
    promote_at_s: f64,
    /// The cut on the member's link (`how = "partition"`); dropping it heals the link, on
    /// every path out of a chaos run.
    cut: Option<(crate::net::LinkFaults, crate::net::NetHost)>,
    /// Set once a standby was promoted while the member is cut off: it must not come back
    /// as a second primary, however the run ends.
    fence: Arc<AtomicBool>,
    /// Kills a cut-off former primary if a second signal exits at once (registered before
    /// the cut's own hook, so it runs before the link heals).
    _fence_hook: Option<crate::util::signals::ExitHookGuard>,
}

/// Every packet in and out of a host dropped.
fn cut_off() -> crate::net::HostFaults {
    use crate::net::{Cut, FilterRules, HostFaults, Way};
    HostFaults {
        filter: FilterRules {
            cuts: [Way::In, Way::Out]
                .map(|way| Cut {
                    way,
                    peers: Vec::new(),
                })
                .to_vec(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The error of a partition failover on a cluster whose members are not hosts of their own.
pub fn needs_namespaces(member: &Instance) -> String {
    let fix = match &member.cluster {
        Some(m) => format!("make the cluster again in namespaces: {}", m.remake_with_netns()),
        None => "make the cluster with --netns (dbarena instance up postgres --replicas 1 --netns --name NAME)".into(),
    };
    format!(
        "a failover with how = \"partition\" cuts {} off its network link, but it is not in a network namespace; {fix}",
        member.name
    )
}

impl Failover {
    /// Kills the victim or cuts it off, and starts the probe; `promote_at_s` is when a
    /// standby is promoted.
    pub fn begin(
        head: &Instance,
        url: &str,
        at_s: f64,
        promote_at_s: f64,
        how: FailoverHow,
    ) -> Result<Failover, InstanceError> {
        let victim = cluster::victim(head)?;
        let fence = Arc::new(AtomicBool::new(false));
        let mut fence_hook = None;
        let cut = match how {
            FailoverHow::Kill => {
                victim.kill()?;
                None
            }
            FailoverHow::Partition => {
                let host = victim
                    .net
                    .clone()
                    .ok_or_else(|| InstanceError::Cluster(needs_namespaces(&victim)))?;
                let (flag, member) = (fence.clone(), victim.clone());
                fence_hook = Some(crate::util::signals::on_exit(move || {
                    if flag.load(Ordering::SeqCst) {
                        let _ = member.kill();
                    }
                }));
                let faults = crate::net::LinkFaults::new();
                faults.set(&host, &cut_off())?;
                Some((faults, host))
            }
        };
        let probe = Probe::start(url, Instant::now());
        Ok(Failover {
            record: FailoverRecord {
                how,
                killed: victim.name.clone(),
                killed_at_s: at_s,
                ..Default::default()
            },
            killed: victim,
            probe: Some(probe),
            promote_at_s,
            cut,
            fence,
            _fence_hook: fence_hook,
        })
    }

    /// Promotes a standby once its time has come (once).
    pub fn tick(&mut self, head: &Instance, t: f64) -> Option<Result<(), InstanceError>> {
        if self.record.promoted_at_s.is_some() || t < self.promote_at_s {
            return None;
        }
        self.record.promoted_at_s = Some(t);
        // Fenced from before the promotion: a promotion that fails half-way (the standby
        // promoted, the others not re-pointed) still leaves a new primary beside the old one.
        self.fence.store(true, Ordering::SeqCst);
        Some(cluster::promote(head).map(|p| {
            if p.is_none() {
                // Nothing was promoted (Galera re-forms by itself): nothing to fence.
                self.fence.store(false, Ordering::SeqCst);
            }
            self.record.promoted = p.map(|p| p.name);
        }))
    }

    /// Brings the member back (healing its link first), and stops the probe.
    pub fn end(&mut self, t: f64) -> Result<(), InstanceError> {
        let t0 = Instant::now();
        if self.cut.is_some() {
            // A former primary cut off while a standby took over still thinks it is the
            // primary: fenced before the link heals, so no client writes to two primaries,
            // and started again as the new one's standby. A kill that fails leaves the link
            // cut (the error says so) rather than reconnecting a second primary.
            if self.fence.load(Ordering::SeqCst) && self.killed.pid().is_some() {
                self.killed.kill()?;
            }
            if let Some((faults, _)) = self.cut.take() {
                if let Some(e) = faults.clear_all().into_iter().next() {
                    return Err(e.into());
                }
            }
        }
        // Fenced and healed: a second signal from here on must not kill the member again
        // once it is back as a standby.
        self.fence.store(false, Ordering::SeqCst);
        self._fence_hook = None;
        let r = cluster::recover(&self.killed);
        if r.is_ok() {
            self.record.recovered_at_s = Some(t + t0.elapsed().as_secs_f64());
        }
        r
    }

    /// The record, with the probe's measurement (waiting up to 10 s for it).
    pub fn finish(mut self) -> FailoverRecord {
        if let Some(p) = self.probe.take() {
            self.record.first_commit_s = p.finish(Duration::from_secs(10));
        }
        std::mem::take(&mut self.record)
    }
}

impl Drop for Failover {
    /// A window that did not end (an error or a panic of the fault thread): the cut heals
    /// with its guard, but a former primary a standby replaced is killed first, so the
    /// chaos restore brings it back as a standby rather than a second primary.
    fn drop(&mut self) {
        if self.cut.is_none() {
            return;
        }
        if self.fence.load(Ordering::SeqCst)
            && self.killed.pid().is_some()
            && self.killed.kill().is_err()
        {
            // Still running and unkillable: keep it cut off rather than reconnect a second
            // primary; `instance down` removes its namespace and the cut with it.
            if let Some((faults, _)) = self.cut.take() {
                std::mem::forget(faults);
            }
            eprintln!(
                "error: could not stop the former primary {} before healing its link; it stays cut off: `dbarena instance down {}` removes it",
                self.killed.name, self.killed.name
            );
            return;
        }
        self.cut.take();
    }
}
