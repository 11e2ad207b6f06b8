//! Link faults of a chaos scenario (loss, duplicate, reorder, corrupt, delay, rate,
//! partition): which hosts they hit, checked before the run, and the typed faults in force on
//! each host at a moment of the timeline, which `src/net/` puts on the links.

use super::proxy::Direction;
use super::scenario::{FaultSpec, Scenario, Window};
use crate::instance::Instance;

/// The fault types made on hosts' links (src/net), not through the proxy.
pub const LINK_FAULTS: [&str; 7] = [
    "loss",
    "duplicate",
    "reorder",
    "corrupt",
    "delay",
    "rate",
    "partition",
];

pub(super) fn is_link_fault(kind: &str) -> bool {
    LINK_FAULTS.contains(&kind)
}

/// What a link fault needs to mean something: a share of packets, a delay, a rate.
pub(super) fn check_link_fault(f: &FaultSpec) -> Result<(), String> {
    let k = f.kind.as_str();
    match k {
        "loss" | "duplicate" | "reorder" | "corrupt" if !(f.percent > 0.0 && f.percent <= 100.0) => Err(format!(
            "the {k} fault needs percent between 0 and 100 (the share of packets), for example percent = 5"
        )),
        "delay" if f.latency_ms <= 0.0 => Err("the delay fault needs latency_ms > 0 (and optionally jitter_ms and distribution)".into()),
        "rate" if f.bandwidth_bps == 0 => Err("the rate fault needs bandwidth_bps > 0 (bytes per second)".into()),
        "partition" if f.peers.iter().any(|p| f.hosts.contains(p)) => Err("a partition's hosts and peers must be two different sets of instances".into()),
        _ if !is_link_fault(k) && (!f.hosts.is_empty() || !f.peers.is_empty()) => Err(format!(
            "hosts and peers are for link faults ({}); the {k} fault goes through the proxy or to the --db instance",
            LINK_FAULTS.join(", ")
        )),
        _ => Ok(()),
    }
}

/// Checks, before the run, that the tools the scenarios' link faults need are here.
pub(super) fn check_tools(scenarios: &[Scenario]) -> Result<(), crate::Error> {
    // A failover that partitions cuts its member off with a partition's rules.
    let kinds: Vec<&str> = scenarios
        .iter()
        .flat_map(|sc| sc.faults.iter())
        .map(|f| match (f.kind.as_str(), f.how) {
            ("failover", Some(super::failover::FailoverHow::Partition)) => "partition",
            (k, _) => k,
        })
        .filter(|k| is_link_fault(k))
        .collect();
    if kinds.is_empty() {
        return Ok(());
    }
    let filter = kinds.iter().any(|k| matches!(*k, "loss" | "partition"));
    let shaping = kinds.iter().any(|k| !matches!(*k, "loss" | "partition"));
    crate::net::check_fault_tools(filter, shaping)
        .map_err(|e| crate::Error::Usage(format!("link faults cannot be made here: {e}")))
}

/// The namespaces of the instances that link faults hit, by instance name.
pub(super) type Hosts = std::collections::BTreeMap<String, crate::net::NetHost>;

/// The instances a link fault hits: its hosts, else the run's instance.
fn targets<'a>(f: &'a FaultSpec, default: Option<&'a str>) -> Vec<&'a str> {
    if f.hosts.is_empty() {
        default.into_iter().collect()
    } else {
        f.hosts.iter().map(String::as_str).collect()
    }
}

/// Finds the namespace of every instance a link fault names, before anything runs.
pub(super) fn resolve_hosts(
    scenarios: &[Scenario],
    instance: Option<&Instance>,
) -> Result<Hosts, crate::Error> {
    let mut hosts = Hosts::new();
    let default = instance.map(|i| i.name.as_str());
    for sc in scenarios {
        for f in sc.faults.iter().filter(|f| is_link_fault(&f.kind)) {
            let t = targets(f, default);
            if t.is_empty() {
                return Err(crate::Error::Usage(format!(
                    "scenario '{}': the {} fault needs a host: run chaos with --db instance:NAME of an instance made with `dbarena instance up postgres --name NAME --netns`, or list hosts = [\"NAME\"]",
                    sc.name, f.kind
                )));
            }
            for name in t.into_iter().chain(f.peers.iter().map(String::as_str)) {
                if hosts.contains_key(name) {
                    continue;
                }
                let inst = match instance.filter(|i| i.name == name) {
                    Some(i) => i.clone(),
                    None => Instance::load(name)?,
                };
                let net = inst.net.clone().ok_or_else(|| {
                    let fix = match &inst.cluster {
                        // A member is made with its cluster.
                        Some(m) => format!(
                            "it is a member of cluster '{}', made without --netns; make it again in namespaces: {}",
                            m.cluster,
                            m.remake_with_netns()
                        ),
                        None => format!(
                            "create it with `dbarena instance up {} --name {name} --netns`",
                            inst.kind
                        ),
                    };
                    crate::Error::Usage(format!(
                        "scenario '{}': the {} fault hits instance '{name}', which is not in a network namespace; {fix}",
                        sc.name, f.kind
                    ))
                })?;
                hosts.insert(name.to_string(), net);
            }
        }
    }
    Ok(hosts)
}

/// The link faults in force on each host: the union of the active windows (losses add up,
/// delays add up, the latest share or rate wins).
pub(super) fn link_faults_in_force(
    windows: &[(usize, Window)],
    specs: &[FaultSpec],
    active: &[bool],
    hosts: &Hosts,
    default: Option<&str>,
) -> std::collections::BTreeMap<String, crate::net::HostFaults> {
    use crate::net::{Cut, Distribution, Way};
    let mut want: std::collections::BTreeMap<String, crate::net::HostFaults> = hosts
        .keys()
        .map(|k| (k.clone(), Default::default()))
        .collect();
    for (w, (i, _)) in windows.iter().enumerate() {
        let f = &specs[*i];
        if !active[w] || !is_link_fault(&f.kind) {
            continue;
        }
        // Seen from the server's host: what the client sends comes in.
        let ways: &[Way] = match f.direction {
            Direction::Upstream => &[Way::In],
            Direction::Downstream => &[Way::Out],
            Direction::Both => &[Way::In, Way::Out],
        };
        let peers: Vec<String> = f
            .peers
            .iter()
            .filter_map(|p| hosts.get(p))
            .map(|h| h.addr.clone())
            .collect();
        for t in targets(f, default) {
            let Some(h) = want.get_mut(t) else { continue };
            for &way in ways {
                match f.kind.as_str() {
                    "loss" => {
                        let l = match way {
                            Way::In => &mut h.filter.loss_in_pct,
                            Way::Out => &mut h.filter.loss_out_pct,
                        };
                        *l = (*l + f.percent).min(100.0);
                    }
                    "partition" => h.filter.cuts.push(Cut {
                        way,
                        peers: peers.clone(),
                    }),
                    kind => {
                        let s = h.shaping_mut(way);
                        match kind {
                            "duplicate" => s.duplicate_pct = f.percent,
                            "reorder" => s.reorder_pct = f.percent,
                            "corrupt" => s.corrupt_pct = f.percent,
                            "delay" => {
                                s.delay_ms += f.latency_ms;
                                s.jitter_ms += f.jitter_ms;
                                s.distribution = match (f.distribution, f.normal) {
                                    (Some(d), _) => d,
                                    (None, true) => Distribution::Normal,
                                    (None, false) => s.distribution,
                                };
                            }
                            "rate" => s.rate_bps = f.bandwidth_bps,
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    for h in want.values_mut() {
        h.filter.cuts.sort();
        h.filter.cuts.dedup();
    }
    want
}

/// TCP retransmissions of all the hosts, so far; None without hosts or when one cannot be read.
pub(super) fn retransmits(hosts: &Hosts) -> Option<u64> {
    if hosts.is_empty() {
        return None;
    }
    hosts
        .values()
        .map(|h| h.tcp_retransmits().ok())
        .sum::<Option<u64>>()
}

/// Where a chaos run puts its link faults.
pub(super) struct LinkTargets<'a> {
    pub faults: &'a crate::net::LinkFaults,
    pub hosts: &'a Hosts,
    /// The --db instance: the host of faults that name none.
    pub default: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::scenario::fault;
    use crate::instance::InstanceKind;

    fn net_host(n: u8) -> crate::net::NetHost {
        crate::net::NetHost {
            ns: format!("dbarena-h{n}"),
            link: format!("dbarena-{n}"),
            peer: format!("dbarena-{n}n"),
            index: n,
            host_addr: format!("10.77.{n}.1"),
            addr: format!("10.77.{n}.2"),
        }
    }

    /// Link faults land on the hosts they name (the --db instance by default), in the
    /// directions asked, and add up while their windows overlap.
    #[test]
    fn link_faults_land_on_their_hosts_and_directions() {
        let hosts: Hosts = [
            ("db".to_string(), net_host(1)),
            ("b".to_string(), net_host(2)),
        ]
        .into_iter()
        .collect();
        let specs = vec![
            FaultSpec {
                percent: 5.0,
                direction: Direction::Upstream,
                ..fault("loss")
            },
            FaultSpec {
                percent: 3.0,
                ..fault("loss")
            },
            FaultSpec {
                latency_ms: 40.0,
                jitter_ms: 10.0,
                normal: true,
                direction: Direction::Downstream,
                ..fault("delay")
            },
            FaultSpec {
                hosts: vec!["db".into()],
                peers: vec!["b".into()],
                direction: Direction::Downstream,
                ..fault("partition")
            },
            FaultSpec {
                hosts: vec!["b".into()],
                bandwidth_bps: 1000,
                ..fault("rate")
            },
        ];
        let windows: Vec<(usize, Window)> = (0..specs.len())
            .map(|i| {
                (
                    i,
                    Window {
                        fault: specs[i].kind.clone(),
                        start_s: 0.0,
                        end_s: 1.0,
                    },
                )
            })
            .collect();
        let want = link_faults_in_force(&windows, &specs, &[true; 5], &hosts, Some("db"));
        let db = &want["db"];
        assert_eq!(db.filter.loss_in_pct, 8.0);
        assert_eq!(db.filter.loss_out_pct, 3.0);
        assert_eq!(db.shaping_out.delay_ms, 40.0);
        assert_eq!(
            db.shaping_out.distribution,
            crate::net::Distribution::Normal
        );
        assert!(db.shaping_in.is_clean());
        assert_eq!(
            db.filter.cuts,
            vec![crate::net::Cut {
                way: crate::net::Way::Out,
                peers: vec!["10.77.2.2".into()]
            }]
        );
        let b = &want["b"];
        assert_eq!(
            (b.shaping_in.rate_bps, b.shaping_out.rate_bps),
            (1000, 1000)
        );
        assert!(b.filter.is_clean());
        // Inactive windows leave every host clean.
        let none = link_faults_in_force(&windows, &specs, &[false; 5], &hosts, Some("db"));
        assert!(none
            .values()
            .all(|h| *h == crate::net::HostFaults::default()));
    }

    #[test]
    fn link_faults_say_what_they_miss() {
        let e = |f: FaultSpec| check_link_fault(&f).unwrap_err();
        assert!(e(fault("loss")).contains("percent between 0 and 100"));
        assert!(e(fault("delay")).contains("latency_ms > 0"));
        assert!(e(fault("rate")).contains("bandwidth_bps > 0"));
        assert!(e(FaultSpec {
            hosts: vec!["a".into()],
            ..fault("latency")
        })
        .contains("hosts and peers are for link faults"));
        assert!(check_link_fault(&fault("partition")).is_ok());
        // Without a host in a namespace, a link fault is refused before anything runs.
        let sc = Scenario {
            name: "cut".into(),
            faults: vec![fault("partition")],
        };
        let err = resolve_hosts(std::slice::from_ref(&sc), None).unwrap_err();
        assert!(err.to_string().contains("needs a host"), "{err}");
        let dir = std::env::temp_dir();
        let plain = Instance {
            name: "plain".into(),
            kind: InstanceKind::Postgres,
            port: 1,
            dir: dir.clone(),
            server_dir: dir,
            url: String::new(),
            fast: false,
            net: None,
            cluster: None,
        };
        let err = resolve_hosts(std::slice::from_ref(&sc), Some(&plain)).unwrap_err();
        assert!(
            err.to_string()
                .contains("not in a network namespace; create it with `dbarena instance up postgres --name plain --netns`"),
            "{err}"
        );
        // A cluster's member is named like any instance; one made without --netns is
        // refused with its cluster's fix.
        let member = Instance {
            cluster: Some(crate::instance::cluster::Membership {
                cluster: "plain".into(),
                topology: crate::instance::cluster::Topology::Galera,
                index: 0,
                members: Vec::new(),
            }),
            ..plain
        };
        let err = resolve_hosts(&[sc], Some(&member)).unwrap_err();
        assert!(
            err.to_string().contains(
                "member of cluster 'plain', made without --netns; make it again in namespaces: `dbarena instance down plain`, then `dbarena instance up mariadb --galera"
            ),
            "{err}"
        );
    }
}
