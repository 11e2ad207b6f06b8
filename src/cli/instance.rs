//! `dbarena instance …`

use crate::instance::cluster::{self, Shape};
use crate::instance::Instance;
use crate::{Error, ExitCode};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Create and start a private server: postgres or mariadb.
    Up {
        kind: String,
        /// Name to refer to it by (`--db instance:NAME`): 1-63 of a-z, 0-9, _ and - [default: KIND-PORT]
        #[arg(long)]
        name: Option<String>,
        /// Port on 127.0.0.1; 0 picks a free one.
        #[arg(long, default_value = "0")]
        port: u16,
        /// Throwaway data: fsync and synchronous commits off (faster; a crash can lose
        /// committed transactions). Shown in `instance list` and in result files.
        #[arg(long)]
        fast: bool,
        /// Run the server in its own network namespace `dbarena-NAME` (a host of its own at
        /// 10.77.N.2, joined by a veth pair), so chaos can put loss, delay and partitions on
        /// its link. Needs root and iproute2. With --replicas or --galera: every member in
        /// a namespace of its own (dbarena-MEMBER), replicating over those links.
        #[arg(long)]
        netns: bool,
        /// PostgreSQL: a primary with N streaming standbys (NAME-r1…); `--db instance:NAME`
        /// then follows a failover.
        #[arg(long, value_name = "N", conflicts_with = "galera")]
        replicas: Option<usize>,
        /// With --replicas: each commit waits until a standby has flushed it (no acknowledged
        /// commit is lost at a failover); without it, replication is asynchronous.
        #[arg(long, requires = "replicas")]
        sync: bool,
        /// MariaDB: a Galera cluster of N nodes (NAME, NAME-n1…); every node takes writes.
        #[arg(long, value_name = "N")]
        galera: Option<usize>,
    },
    /// List instances with their state (running, paused, stopped) and URL, then the
    /// namespaces and links dbarena left that no instance owns.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Remove the leftover namespaces and links (as `instance clean`).
        #[arg(long)]
        clean: bool,
    },
    /// Remove the namespaces and links named dbarena-… that no instance owns.
    Clean,
    /// Print an instance's server log.
    Logs { name: String },
    /// Stop an instance and remove its data.
    Down { name: String },
    /// Shut the server down gracefully, keeping its data (`start` brings it back).
    Stop { name: String },
    /// Start a stopped (or killed) instance again; a paused one is resumed.
    Start { name: String },
    /// Promote a standby of a cluster to primary (as `pg_ctl promote`); the other standbys
    /// follow it.
    Promote { name: String },
    /// kill -9 the server.
    Kill { name: String },
    /// SIGSTOP the server.
    Pause { name: String },
    /// SIGCONT the server.
    Resume { name: String },
}

fn load(name: &str) -> Result<Instance, Error> {
    Instance::load(name).map_err(Error::from)
}

fn list(json: bool) -> anyhow::Result<()> {
    let infos: Vec<_> = Instance::list().iter().map(Instance::info).collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&infos).map_err(anyhow::Error::from)?
        );
    } else {
        for i in infos {
            let mut member = match (&i.cluster, i.role) {
                (Some(c), Some(r)) => format!("  {r} in cluster {c}"),
                _ => String::new(),
            };
            if let Some(ns) = &i.netns {
                member.push_str(&format!("  in {ns}"));
            }
            println!(
                "{:<20} {:<9} {:<8} {:<8} {}{member}",
                i.name,
                i.kind.to_string(),
                i.state.to_string(),
                if i.durable { "durable" } else { "fast" },
                i.url
            );
        }
    }
    Ok(())
}

/// Removes the leftover namespaces and links, saying what went.
fn clean() -> anyhow::Result<()> {
    let removed = crate::net::clean_leftovers()
        .map_err(|e| Error::from(crate::instance::InstanceError::from(e)))?;
    for l in &removed {
        eprintln!("removed {l}");
    }
    if removed.is_empty() {
        eprintln!("no leftovers");
    }
    Ok(())
}

pub fn run(cmd: InstanceCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        InstanceCommand::Up {
            kind,
            name,
            port,
            fast,
            netns,
            replicas,
            sync,
            galera,
        } => {
            let shape = match (replicas, galera) {
                (Some(n), _) => Some(Shape::Replicas { n, sync }),
                (None, Some(nodes)) => Some(Shape::Galera { nodes }),
                (None, None) => None,
            };
            if let Some(shape) = shape {
                let members = cluster::up(&kind, name.as_deref(), port, fast, shape, netns)
                    .map_err(Error::from)?;
                for m in &members {
                    let role = m.info().role.map(|r| r.to_string()).unwrap_or_default();
                    eprintln!(
                        "{} is up ({role}, {}port {})",
                        m.name,
                        m.net
                            .as_ref()
                            .map(|n| format!("namespace {} at {}, ", n.ns, n.addr))
                            .unwrap_or_default(),
                        m.port
                    );
                }
                let head = &members[0];
                eprintln!(
                    "cluster {} is up; use --db instance:{} (every member, clients follow a failover); its password is in {}",
                    head.name,
                    head.name,
                    head.password_file().display()
                );
                let url = crate::instance::resolve_url(&format!("instance:{}", head.name))
                    .map_err(Error::from)?;
                println!("{}", crate::db::url::redact(&url));
                return Ok(ExitCode::Success);
            }
            let i = Instance::up_with(&kind, name.as_deref(), port, fast, netns)
                .map_err(Error::from)?;
            eprintln!(
                "{} is up ({}, {}port {}{}); use --db instance:{}; its password is in {}",
                i.name,
                i.kind,
                i.net
                    .as_ref()
                    .map(|n| format!("namespace {} at {}, ", n.ns, n.addr))
                    .unwrap_or_default(),
                i.port,
                if i.fast {
                    ", fast: fsync off, not durable"
                } else {
                    ""
                },
                i.name,
                i.password_file().display()
            );
            println!("{}", i.url);
        }
        InstanceCommand::Clean => clean()?,
        InstanceCommand::List { json, clean: true } => {
            list(json)?;
            clean()?;
        }
        InstanceCommand::List { json, clean: false } => {
            list(json)?;
            // Leftovers only where namespaces can be made (root with iproute2).
            for l in crate::net::leftovers().unwrap_or_default() {
                eprintln!("leftover: {l}; `dbarena instance clean` removes it");
            }
        }
        InstanceCommand::Logs { name } => {
            let i = load(&name)?;
            let log = std::fs::read_to_string(i.log()).map_err(|e| {
                Error::Failed(format!(
                    "cannot read {}: {e}; the server has not written a log yet",
                    i.log().display()
                ))
            })?;
            print!("{log}");
        }
        InstanceCommand::Down { name } => {
            load(&name)?.down().map_err(Error::from)?;
            eprintln!("{name} is down");
        }
        // Each says what it did, as `up` and `down` do: a silent success reads as nothing done.
        InstanceCommand::Stop { name } => {
            load(&name)?.stop().map_err(Error::from)?;
            eprintln!("{name} is stopped");
        }
        InstanceCommand::Start { name } => {
            load(&name)?.restore().map_err(Error::from)?;
            eprintln!("{name} is running");
        }
        InstanceCommand::Promote { name } => {
            cluster::promote_member(&load(&name)?).map_err(Error::from)?;
            eprintln!("{name} is promoted");
        }
        InstanceCommand::Kill { name } => {
            load(&name)?.kill().map_err(Error::from)?;
            eprintln!("{name} is killed (start brings it back)");
        }
        InstanceCommand::Pause { name } => {
            load(&name)?.pause(true).map_err(Error::from)?;
            eprintln!("{name} is paused (resume lets it go on)");
        }
        InstanceCommand::Resume { name } => {
            load(&name)?.pause(false).map_err(Error::from)?;
            eprintln!("{name} is running");
        }
    }
    Ok(ExitCode::Success)
}
