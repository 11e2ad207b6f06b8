//! Clusters of instances: a PostgreSQL primary with streaming standbys (`--replicas N`,
//! asynchronous or `--sync`), or a MariaDB Galera cluster (`--galera N`). Each member is an
//! ordinary instance (`NAME`, then `NAME-r1`… or `NAME-n1`…) that knows its cluster; the
//! cluster's name resolves to a URL listing every member, so clients follow a failover.
//!
//! Failover here is kill-based: [`fail`] kills the primary (or a Galera node), [`promote`]
//! makes a standby the primary as `pg_ctl promote` does, [`recover`] brings the killed member
//! back (a former primary as a standby of the new one, never as a second primary).

use super::{failed, galera, replication, Instance, InstanceError, InstanceKind};
use serde::{Deserialize, Serialize};

/// How the members replicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Topology {
    /// PostgreSQL streaming replication; `sync`: a commit waits for one standby's flush.
    Replication { sync: bool },
    /// MariaDB Galera: every node takes writes; a majority keeps serving.
    Galera,
}

/// One member, as every member knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub port: u16,
    /// Galera's group communication port (0 for streaming replication).
    #[serde(default)]
    pub peer_port: u16,
    /// Galera's incremental and snapshot state transfer ports.
    #[serde(default)]
    pub ist_port: u16,
    #[serde(default)]
    pub sst_port: u16,
    /// The address it listens on when it is a host of its own (`--netns`: its namespace's
    /// 10.77.N.2); None: 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

impl Member {
    /// The address the member listens on and its peers reach it at.
    pub fn host(&self) -> &str {
        self.addr.as_deref().unwrap_or("127.0.0.1")
    }
}

/// An instance's place in its cluster (in its `meta.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The cluster's name: its first member's.
    pub cluster: String,
    pub topology: Topology,
    /// This member's place in `members`.
    pub index: usize,
    pub members: Vec<Member>,
}

impl Membership {
    /// The commands that make this cluster again as hosts in network namespaces, for errors
    /// that need them: its size, kind and synchronicity as they are now.
    pub fn remake_with_netns(&self) -> String {
        let (kind, shape) = match self.topology {
            Topology::Galera => ("mariadb", format!("--galera {}", self.members.len())),
            Topology::Replication { sync } => (
                "postgres",
                format!(
                    "--replicas {}{}",
                    self.members.len().saturating_sub(1).max(1),
                    if sync { " --sync" } else { "" }
                ),
            ),
        };
        format!(
            "`dbarena instance down {0}`, then `dbarena instance up {kind} {shape} --netns --name {0}`",
            self.cluster
        )
    }

    /// This member.
    pub fn me(&self) -> &Member {
        &self.members[self.index.min(self.members.len() - 1)]
    }
}

/// What a member is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Standby,
    Node,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Standby => "standby",
            Role::Node => "node",
        })
    }
}

/// The shape of a cluster to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Replicas { n: usize, sync: bool },
    Galera { nodes: usize },
}

/// A member's role, from its data folder (a standby keeps `standby.signal`).
pub fn role(inst: &Instance, m: &Membership) -> Role {
    match m.topology {
        Topology::Galera => Role::Node,
        Topology::Replication { .. } if replication::is_standby(inst) => Role::Standby,
        Topology::Replication { .. } => Role::Primary,
    }
}

/// The members that exist, in order.
pub fn members(m: &Membership) -> Vec<Instance> {
    m.members
        .iter()
        .filter_map(|o| Instance::load(&o.name).ok())
        .collect()
}

/// The URL of every member with the cluster's password: PostgreSQL clients connect to the
/// first that takes writes (`target_session_attrs=read-write`), MySQL clients to the first
/// that answers and is ready (dbarena's own failover, `db/mysql.rs`).
pub fn url(head: &Instance, m: &Membership) -> Result<String, InstanceError> {
    let hosts: Vec<String> = m
        .members
        .iter()
        .map(|o| format!("{}:{}", o.host(), o.port))
        .collect();
    let mut u = Instance::url_of_hosts(head.kind, &hosts.join(","), &head.password()?);
    if matches!(m.topology, Topology::Replication { .. }) {
        u.push_str("?target_session_attrs=read-write");
    }
    Ok(u)
}

/// Creates and starts a cluster; returns its members, the first one naming the cluster.
/// With `netns` every member is a host of its own (its namespace, address and link), and
/// the members replicate over those links. Everything made is removed again if a step fails.
pub fn up(
    kind: &str,
    name: Option<&str>,
    port: u16,
    fast: bool,
    shape: Shape,
    netns: bool,
) -> Result<Vec<Instance>, InstanceError> {
    let kind = InstanceKind::parse(kind)?;
    let (count, topology, suffix) = match (kind, shape) {
        (InstanceKind::Postgres, Shape::Replicas { n, sync }) => {
            if sync && fast {
                return Err(InstanceError::Cluster(
                    "--sync promises that no acknowledged commit is lost at a failover, and --fast turns synchronous commit off; drop one of them".into(),
                ));
            }
            (n + 1, Topology::Replication { sync }, "r")
        }
        (InstanceKind::Mariadb, Shape::Galera { nodes }) => (nodes, Topology::Galera, "n"),
        (InstanceKind::Mariadb, Shape::Replicas { .. }) => {
            return Err(InstanceError::Cluster(
                "--replicas makes PostgreSQL streaming replicas; for MariaDB use --galera 3".into(),
            ))
        }
        (InstanceKind::Postgres, Shape::Galera { .. }) => {
            return Err(InstanceError::Cluster(
                "--galera makes a MariaDB Galera cluster; for PostgreSQL use --replicas N".into(),
            ))
        }
    };
    if !(2..=9).contains(&count) {
        return Err(InstanceError::Cluster(format!(
            "a cluster has 2 to 9 members, not {count}: use --replicas 1 to 8 or --galera 2 to 9"
        )));
    }
    if topology == Topology::Galera {
        galera::provider()?;
    }
    let (name, port) = Instance::name_port(kind, name, port, netns)?;
    let mut members = Vec::with_capacity(count);
    for i in 0..count {
        let member_name = if i == 0 {
            name.clone()
        } else {
            format!("{name}-{suffix}{i}")
        };
        super::name::validate(&member_name)?;
        // A host of its own has every port to itself: the usual ones.
        let port = if i == 0 || netns {
            port
        } else {
            super::process::free_port()?
        };
        let galera_port = |usual: u16| match (topology, netns) {
            (Topology::Galera, true) => Ok(usual),
            (Topology::Galera, false) => super::process::free_port(),
            _ => Ok(0),
        };
        members.push(Member {
            name: member_name,
            port,
            peer_port: galera_port(4567)?,
            ist_port: galera_port(4568)?,
            sst_port: galera_port(4444)?,
            addr: None,
        });
    }
    let password = super::layout::generate_password()?;
    let mut made: Vec<Instance> = Vec::new();
    let r = make(
        kind,
        fast,
        topology,
        &name,
        &mut members,
        &password,
        netns,
        &mut made,
    );
    if let Err(e) = r {
        for inst in made.iter().rev() {
            let _ = inst.down_one();
        }
        return Err(e);
    }
    Ok(made)
}

#[allow(clippy::too_many_arguments)]
fn make(
    kind: InstanceKind,
    fast: bool,
    topology: Topology,
    cluster: &str,
    members: &mut [Member],
    password: &str,
    netns: bool,
    made: &mut Vec<Instance>,
) -> Result<(), InstanceError> {
    for (index, m) in members.iter().enumerate() {
        let membership = Membership {
            cluster: cluster.into(),
            topology,
            index,
            members: members.to_vec(),
        };
        made.push(Instance::create(
            kind,
            m.name.clone(),
            m.port,
            fast,
            Some(membership),
            password,
            netns,
        )?);
    }
    // A member's namespace address is known once its namespace exists: every member learns
    // every other's before any server starts.
    for (m, inst) in members.iter_mut().zip(made.iter()) {
        m.addr = inst.net.as_ref().map(|n| n.addr.clone());
    }
    for inst in made.iter_mut() {
        if let Some(c) = inst.cluster.as_mut() {
            c.members = members.to_vec();
        }
    }
    for index in 0..made.len() {
        let inst = made[index].clone();
        match topology {
            Topology::Replication { .. } => {
                replication::write_passfile(&inst, password)?;
                if index == 0 {
                    super::postgres::init(&inst, password)?;
                } else {
                    replication::base_backup(&inst, &made[0])?;
                }
            }
            Topology::Galera => super::mariadb::init(&inst, password)?,
        }
        inst.save()?;
        inst.start()?;
        if topology == Topology::Galera {
            galera::wait_synced(&inst)?;
        }
        if index == 0 && kind == InstanceKind::Postgres {
            super::postgres::create_database(&inst, password)?;
        }
    }
    if let Topology::Replication { sync } = topology {
        replication::wait_streaming(&made[0], members.len() - 1)?;
        if sync {
            replication::set_synchronous(made)?;
            // The standbys too: a promoted standby must hold its commits from its first one,
            // not from a reload after the promotion.
            for m in made.iter() {
                replication::reload(m)?;
            }
        }
    }
    Ok(())
}

/// Takes every member of the cluster down, the first last.
pub fn down(head: &Instance, m: &Membership) -> Result<(), InstanceError> {
    let mut first_error = None;
    for o in m.members.iter().skip(1).rev() {
        match Instance::load(&o.name) {
            Ok(inst) => {
                if let Err(e) = inst.down_one() {
                    first_error.get_or_insert(e);
                }
            }
            Err(InstanceError::NotFound(_)) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    head.down_one()
}

/// For a former primary about to start while another member runs as primary: makes it a
/// standby of that one instead (and starts it). False when it may start as it is.
pub fn rejoins_as_standby(inst: &Instance, m: &Membership) -> Result<bool, InstanceError> {
    if !matches!(m.topology, Topology::Replication { .. }) || replication::is_standby(inst) {
        return Ok(false);
    }
    let Some(primary) = members(m)
        .into_iter()
        .find(|o| o.name != inst.name && o.pid().is_some() && !replication::is_standby(o))
    else {
        return Ok(false);
    };
    replication::rejoin(inst, &primary)?;
    Ok(true)
}

/// The member a failover kills: the running primary, or the first running Galera node.
pub fn victim(head: &Instance) -> Result<Instance, InstanceError> {
    let m = membership(head)?;
    members(m)
        .into_iter()
        .filter(|o| o.pid().is_some())
        .find(|o| role(o, m) != Role::Standby)
        .ok_or_else(|| {
            failed(
                format!("failing over {}", m.cluster),
                "no member of the cluster runs as primary or node",
            )
        })
}

fn membership(head: &Instance) -> Result<&Membership, InstanceError> {
    head.cluster
        .as_ref()
        .ok_or_else(|| InstanceError::NotACluster(head.name.clone()))
}

/// Kills the primary (or a Galera node); returns the member killed.
pub fn fail(head: &Instance) -> Result<Instance, InstanceError> {
    let v = victim(head)?;
    v.kill()?;
    Ok(v)
}

/// Promotes the first running standby of a replication cluster; returns it. A Galera
/// cluster needs no promotion (None): its majority goes on.
pub fn promote(head: &Instance) -> Result<Option<Instance>, InstanceError> {
    let m = membership(head)?;
    if m.topology == Topology::Galera {
        return Ok(None);
    }
    let standby = members(m)
        .into_iter()
        .find(|o| o.pid().is_some() && replication::is_standby(o))
        .ok_or_else(|| {
            failed(
                format!("promoting a standby of {}", m.cluster),
                "no standby is running",
            )
        })?;
    promote_member(&standby)?;
    Ok(Some(standby))
}

/// Promotes this standby; the other running standbys become standbys of it.
pub fn promote_member(standby: &Instance) -> Result<(), InstanceError> {
    let m = membership(standby)?;
    if role(standby, m) != Role::Standby {
        return Err(InstanceError::Cluster(format!(
            "{} is not a standby (it is a {}); promote one of its standbys",
            standby.name,
            role(standby, m)
        )));
    }
    replication::promote(standby)?;
    // A standby started with synchronous_standby_names may not apply it as a primary until
    // it reads its configuration again (the one `up` made are reloaded beforehand, so their
    // first commit after a promotion already waits).
    replication::reload(standby)?;
    // They might have replayed past the point where the new primary's history forks off,
    // so each starts again from a copy of the new primary.
    for o in members(m)
        .into_iter()
        .filter(|o| o.name != standby.name && replication::is_standby(o) && o.pid().is_some())
    {
        o.stop()?;
        replication::rejoin(&o, standby)?;
    }
    Ok(())
}

/// Brings a killed member back: a former primary as a standby of the new one, a Galera
/// node into the cluster (synced before this returns).
pub fn recover(killed: &Instance) -> Result<(), InstanceError> {
    killed.start()?;
    if killed
        .cluster
        .as_ref()
        .is_some_and(|m| m.topology == Topology::Galera)
    {
        galera::wait_synced(killed)?;
    }
    Ok(())
}

/// Leaves every member running and resumed: the primary (a member that runs and is not a
/// standby) first, so that a stopped former primary comes back as its standby.
pub fn restore(m: &Membership) -> Result<(), InstanceError> {
    let mut all = members(m);
    // Running primaries first, then the rest in order.
    all.sort_by_key(|o| !(o.pid().is_some() && role(o, m) != Role::Standby));
    let mut first_error = None;
    for o in &all {
        if let Err(e) = o.restore_one() {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, port: u16) -> Member {
        Member {
            name: name.into(),
            port,
            peer_port: 0,
            ist_port: 0,
            sst_port: 0,
            addr: None,
        }
    }

    #[test]
    fn a_cluster_url_lists_every_member_and_survives_meta_json() {
        let dir = std::env::temp_dir().join(format!("dbarena-cluster-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("password"), "pw\n").unwrap();
        let m = Membership {
            cluster: "c".into(),
            topology: Topology::Replication { sync: true },
            index: 0,
            members: vec![member("c", 5001), member("c-r1", 5002)],
        };
        let mut head = Instance {
            name: "c".into(),
            kind: InstanceKind::Postgres,
            port: 5001,
            dir: dir.clone(),
            server_dir: dir.join("server"),
            url: String::new(),
            fast: false,
            net: None,
            cluster: Some(m.clone()),
        };
        assert_eq!(
            url(&head, &m).unwrap(),
            "postgres://postgres:pw@127.0.0.1:5001,127.0.0.1:5002/dbarena?target_session_attrs=read-write"
        );
        let g = Membership {
            topology: Topology::Galera,
            ..m.clone()
        };
        head.kind = InstanceKind::Mariadb;
        assert_eq!(
            url(&head, &g).unwrap(),
            "mysql://root:pw@127.0.0.1:5001,127.0.0.1:5002/dbarena"
        );
        // Members that are hosts of their own are listed at their namespaces' addresses.
        let mut hosts = m.clone();
        hosts.members[0].addr = Some("10.77.3.2".into());
        hosts.members[1].addr = Some("10.77.4.2".into());
        head.kind = InstanceKind::Postgres;
        assert_eq!(
            url(&head, &hosts).unwrap(),
            "postgres://postgres:pw@10.77.3.2:5001,10.77.4.2:5002/dbarena?target_session_attrs=read-write"
        );
        assert_eq!(
            serde_json::from_str::<Membership>(&serde_json::to_string(&hosts).unwrap()).unwrap(),
            hosts
        );
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("addr"), "{json}");
        assert!(
            json.contains(r#""type":"replication","sync":true"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Membership>(&json).unwrap(), m);
        // A member knows itself; roles come from the data folder (no standby.signal here).
        assert_eq!(m.me().name, "c");
        assert_eq!(role(&head, &m), Role::Primary);
        assert_eq!(role(&head, &g), Role::Node);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
