//! MariaDB Galera clusters: the wsrep settings of each node (the provider library of the
//! galera-4 package, its own group, IST and SST ports on 127.0.0.1 or, for a node that is a
//! host of its own, on its namespace's address; rsync state transfers),
//! bootstrapping the first node that starts when no other member runs, and waiting until a
//! node is synced with the cluster.

use super::cluster::Membership;
use super::{failed, Instance, InstanceError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where Debian's galera-4 and other distributions put the provider.
const PROVIDERS: [&str; 4] = [
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/lib/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",
    "/usr/lib64/galera/libgalera_smm.so",
];

/// The wsrep provider library.
pub fn provider() -> Result<PathBuf, InstanceError> {
    PROVIDERS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| InstanceError::MissingBinary {
            binary: "libgalera_smm.so".into(),
            package: "galera-4 (and rsync, for state transfers)".into(),
        })
}

/// Whether another member of the cluster runs (then a node joins it; else it bootstraps).
fn others_running(inst: &Instance, m: &Membership) -> bool {
    m.members
        .iter()
        .filter(|o| o.name != inst.name)
        .filter_map(|o| Instance::load(&o.name).ok())
        .any(|o| o.pid().is_some())
}

/// Marks the node's saved state safe to bootstrap from: it is the only one starting (a kill
/// leaves `safe_to_bootstrap: 0`, and Galera then refuses to form a cluster from it).
fn allow_bootstrap(data: &Path) -> Result<(), InstanceError> {
    let p = data.join("grastate.dat");
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(());
    };
    let text = text.replace("safe_to_bootstrap: 0", "safe_to_bootstrap: 1");
    std::fs::write(&p, text).map_err(|e| failed(format!("writing {}", p.display()), e.to_string()))
}

/// The mariadbd options of a node.
pub fn args(inst: &Instance, m: &Membership) -> Result<Vec<String>, InstanceError> {
    let me = m.me();
    let peers: Vec<String> = m
        .members
        .iter()
        .map(|o| format!("{}:{}", o.host(), o.peer_port))
        .collect();
    let mut a = vec![
        "--wsrep-on=ON".to_string(),
        format!("--wsrep-provider={}", provider()?.display()),
        format!("--wsrep-cluster-name={}", m.cluster),
        format!("--wsrep-node-name={}", inst.name),
        format!("--wsrep-node-address={}", inst.host()),
        format!("--wsrep-cluster-address=gcomm://{}", peers.join(",")),
        // A killed node's peers notice within seconds (the defaults wait up to 15 s).
        format!(
            "--wsrep-provider-options=gmcast.listen_addr=tcp://{host}:{};ist.recv_addr={host}:{};evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S",
            me.peer_port, me.ist_port, host = inst.host()
        ),
        "--wsrep-sst-method=rsync".into(),
        format!("--wsrep-sst-receive-address={}:{}", inst.host(), me.sst_port),
        "--binlog-format=ROW".into(),
        "--default-storage-engine=InnoDB".into(),
        "--innodb-autoinc-lock-mode=2".into(),
    ];
    if !others_running(inst, m) {
        allow_bootstrap(&inst.data())?;
        a.push("--wsrep-new-cluster".into());
    }
    if let Some(pos) = recovered_position(inst) {
        a.push(format!("--wsrep-start-position={pos}"));
    }
    Ok(a)
}

/// After a kill the saved state says `seqno: -1`, and a node that starts so copies the whole
/// data set from a peer (SST). `mariadbd --wsrep-recover` reads the last committed position
/// from InnoDB, as the galera_recovery script of the packages does, so the node can ask for
/// the missing transactions only (IST). None: nothing to recover, or recovery failed (the
/// node then takes a full copy, which is slower but as correct).
fn recovered_position(inst: &Instance) -> Option<String> {
    let state = std::fs::read_to_string(inst.data().join("grastate.dat")).ok()?;
    let field = |k: &str| {
        state
            .lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
    };
    let uuid = field("uuid:")?;
    if field("seqno:")?.as_str() != "-1" || uuid.chars().all(|c| c == '0' || c == '-') {
        return None;
    }
    let mariadbd = super::process::find("mariadbd", "mariadb-server", &["/usr/sbin"]).ok()?;
    let log = inst.tmp_dir().join("wsrep-recover.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = std::process::Command::new(mariadbd);
    cmd.args([
        "--no-defaults".to_string(),
        format!("--datadir={}", inst.data().display()),
        format!("--tmpdir={}", inst.tmp_dir().display()),
        format!("--log-error={}", log.display()),
        format!("--socket={}", inst.run_dir().join("recover.sock").display()),
        format!(
            "--pid-file={}",
            inst.run_dir().join("recover.pid").display()
        ),
        "--skip-networking".into(),
        "--wsrep-on=ON".into(),
        format!("--wsrep-provider={}", provider().ok()?.display()),
        "--wsrep-recover".into(),
    ]);
    if super::process::is_root() {
        cmd.arg(format!("--user={}", super::mariadb::OS_USER));
    }
    let ok = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let pos = text
        .lines()
        .find_map(|l| l.split("WSREP: Recovered position:").nth(1))?
        .trim()
        .to_string();
    (ok && pos.starts_with(&uuid) && !pos.ends_with(":-1")).then_some(pos)
}

/// Waits until the node is synced with the cluster and takes transactions.
pub fn wait_synced(inst: &Instance) -> Result<(), InstanceError> {
    let url = inst.secret_url()?;
    let until = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < until {
        match super::query(&url, "SHOW STATUS LIKE 'wsrep_local_state_comment'") {
            Ok(rows) => {
                let state = rows
                    .first()
                    .and_then(|r| r.get(1).cloned().flatten())
                    .unwrap_or_default();
                if state == "Synced" {
                    return Ok(());
                }
                last = format!("its state is '{state}'");
            }
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(inst.with_log(failed(
        format!("waiting for Galera node {} to sync", inst.name),
        format!("after 90 s: {last}"),
    )))
}
