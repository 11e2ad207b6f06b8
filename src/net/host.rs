//! A host: a network namespace `dbarena-NAME` joined to the machine by a veth pair
//! `dbarena-N` (machine side, 10.77.N.1/24) and `dbarena-Nn` (inside, 10.77.N.2/24).
//! The pair number N is taken by creating its link, which fails if another dbarena took it,
//! so two instances started at once never share a subnet.

use super::tools::{run, IP};
use super::NetError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a host's owner is written: the file whose existence says an instance owns the
/// namespace (its meta.json), and the process creating it (which owns it until that file
/// is written). Under /run, so it goes with the namespaces at a reboot.
pub(super) const OWNERS: &str = "/run/dbarena";

/// The prefix of every namespace and link dbarena creates.
pub const PREFIX: &str = "dbarena-";

/// A namespace with its link and addresses (saved in the instance's meta.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetHost {
    /// The namespace, `dbarena-NAME`.
    pub ns: String,
    /// The machine's end of the veth pair.
    pub link: String,
    /// The end inside the namespace.
    pub peer: String,
    /// The pair number N of 10.77.N.0/24.
    pub index: u8,
    /// The machine's address on the link (10.77.N.1).
    pub host_addr: String,
    /// The namespace's address (10.77.N.2): the server listens there.
    pub addr: String,
}

/// The file naming the owner of namespace `ns`.
pub(super) fn owner_file(ns: &str) -> PathBuf {
    Path::new(OWNERS).join(format!("{ns}.owner"))
}

impl NetHost {
    /// The namespace name for instance `name`.
    pub fn namespace_for(name: &str) -> String {
        format!("{PREFIX}{name}")
    }

    /// Creates the namespace for instance `name`, owned while the file (or folder) `owner`
    /// exists or this process runs, with its link up and addressed. A failure part-way removes what was made.
    pub fn create(name: &str, owner: &Path) -> Result<NetHost, NetError> {
        super::check_requirements()?;
        let ns = Self::namespace_for(name);
        std::fs::create_dir_all(OWNERS)
            .and_then(|_| {
                std::fs::write(
                    owner_file(&ns),
                    format!("{}\n{}\n", owner.display(), std::process::id()),
                )
            })
            .map_err(|e| NetError::Command {
                command: format!("writing {}", owner_file(&ns).display()),
                detail: e.to_string(),
            })?;
        if let Err(e) = run(IP, &["netns", "add", &ns], None) {
            let _ = std::fs::remove_file(owner_file(&ns));
            return Err(e);
        }
        let made = write_resolv_conf(&ns).and_then(|_| Self::link_up(&ns));
        if made.is_err() {
            let _ = remove_namespace(&ns);
        }
        made
    }

    fn link_up(ns: &str) -> Result<NetHost, NetError> {
        let mut taken = None;
        for n in 1..=254u8 {
            let link = format!("{PREFIX}{n}");
            let peer = format!("{link}n");
            let add = run(
                IP,
                &[
                    "link", "add", &link, "type", "veth", "peer", "name", &peer, "netns", ns,
                ],
                None,
            );
            match add {
                Ok(_) => {
                    taken = Some((n, link, peer));
                    break;
                }
                Err(NetError::Command { detail, .. }) if detail.contains("exists") => continue,
                Err(e) => return Err(e),
            }
        }
        let (index, link, peer) = taken.ok_or(NetError::NoFreeSubnet)?;
        let host = NetHost {
            ns: ns.into(),
            link,
            peer,
            index,
            host_addr: format!("10.77.{index}.1"),
            addr: format!("10.77.{index}.2"),
        };
        let host_cidr = format!("{}/24", host.host_addr);
        let cidr = format!("{}/24", host.addr);
        let steps: [Vec<&str>; 8] = [
            // The alias names the namespace, so a link whose namespace is gone is found.
            vec!["link", "set", &host.link, "alias", ns],
            vec!["addr", "add", &host_cidr, "dev", &host.link],
            vec!["link", "set", &host.link, "up"],
            vec!["-n", ns, "addr", "add", &cidr, "dev", &host.peer],
            vec!["-n", ns, "link", "set", &host.peer, "up"],
            vec!["-n", ns, "link", "set", "lo", "up"],
            // Other namespaces are reached through the machine.
            vec!["-n", ns, "route", "add", "default", "via", &host.host_addr],
            vec!["link", "show", &host.link],
        ];
        for args in &steps {
            if let Err(e) = run(IP, args, None) {
                let _ = run(IP, &["link", "del", &host.link], None);
                return Err(e);
            }
        }
        // Namespaces reach each other through the machine: forwarding on these links only
        // (it goes with the link), not the machine-wide net.ipv4.ip_forward.
        let forwarding = format!("/proc/sys/net/ipv4/conf/{}/forwarding", host.link);
        if let Err(e) = std::fs::write(&forwarding, "1") {
            let _ = run(IP, &["link", "del", &host.link], None);
            return Err(NetError::Command {
                command: format!("writing 1 to {forwarding}"),
                detail: e.to_string(),
            });
        }
        Ok(host)
    }

    /// The command prefix that runs a program inside the namespace.
    pub fn exec_prefix(&self) -> Result<Vec<String>, NetError> {
        let ip = super::tools::locate(IP)?;
        Ok(vec![
            ip.display().to_string(),
            "netns".into(),
            "exec".into(),
            self.ns.clone(),
        ])
    }

    /// Removes the namespace (and with it the veth pair, its qdiscs and its rules). Gone
    /// already is no error.
    pub fn remove(&self) -> Result<(), NetError> {
        remove_namespace(&self.ns)?;
        // The pair goes with the namespace, a moment later (the kernel tears a namespace
        // down in the background); a link left by a half-made pair does not go by itself.
        // Once ours is gone, another host may take its name at once: only a link whose alias
        // still names this namespace is ours to wait for and delete.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while link_of(&self.link, &self.ns) && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if link_of(&self.link, &self.ns) {
            match run(IP, &["link", "del", &self.link], None) {
                Err(NetError::Command { detail, .. }) if detail.contains("Cannot find") => {}
                r => {
                    r?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a link of that name exists on the machine with its alias naming namespace `ns`
/// (set as the link is made: the name alone may be another host's by now).
fn link_of(link: &str, ns: &str) -> bool {
    link_details(link).is_some_and(|l| l["ifalias"].as_str() == Some(ns))
}

/// What `ip -j link show NAME` says of the link, None when there is no such link.
pub(super) fn link_details(link: &str) -> Option<serde_json::Value> {
    let out = run(IP, &["-j", "link", "show", link], None).ok()?;
    let mut all: serde_json::Value = serde_json::from_str(&out).ok()?;
    Some(all.get_mut(0)?.take()).filter(serde_json::Value::is_object)
}

/// The namespaces that exist.
pub(super) fn namespaces() -> Result<Vec<String>, NetError> {
    Ok(run(IP, &["netns", "list"], None)?
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// Where `ip netns exec` finds the files it puts over /etc's inside namespace `ns`.
fn etc_dir(ns: &str) -> PathBuf {
    Path::new("/etc/netns").join(ns)
}

/// Gives the namespace a resolver without a name server. The machine's name server is not
/// reachable from inside (namespaces reach only each other and the machine), so every
/// lookup would wait 10 s for it: rsync's reverse lookup of its peer makes each step of a
/// Galera state transfer 10 s longer. Without one, a lookup fails at once (nothing answers
/// on the namespace's own loopback) and servers go on with the address.
fn write_resolv_conf(ns: &str) -> Result<(), NetError> {
    let dir = etc_dir(ns);
    std::fs::create_dir_all(&dir)
        .and_then(|_| {
            std::fs::write(
                dir.join("resolv.conf"),
                "# dbarena: no name server inside this namespace (addresses only)\noptions timeout:1 attempts:1\n",
            )
        })
        .map_err(|e| NetError::Command {
            command: format!("writing {}", dir.join("resolv.conf").display()),
            detail: e.to_string(),
        })
}

/// Deletes a namespace, its resolver file and its owner file; a missing one is no error.
pub(super) fn remove_namespace(ns: &str) -> Result<(), NetError> {
    if namespaces()?.iter().any(|n| n == ns) {
        run(IP, &["netns", "del", ns], None)?;
    }
    let _ = std::fs::remove_dir_all(etc_dir(ns));
    let _ = std::fs::remove_file(owner_file(ns));
    Ok(())
}

impl NetHost {
    /// TCP segments the host has retransmitted since its namespace was made (its own
    /// counters: only its server's traffic), from `/proc/net/snmp` read inside it.
    pub fn tcp_retransmits(&self) -> Result<u64, NetError> {
        let snmp = run(
            IP,
            &["netns", "exec", &self.ns, "cat", "/proc/net/snmp"],
            None,
        )?;
        retrans_segs(&snmp).ok_or_else(|| NetError::Command {
            command: format!("ip netns exec {} cat /proc/net/snmp", self.ns),
            detail: "no Tcp RetransSegs counter in its output".into(),
        })
    }
}

/// The `RetransSegs` counter of `/proc/net/snmp` (a `Tcp:` header line, then its values).
fn retrans_segs(snmp: &str) -> Option<u64> {
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let names = tcp.next()?;
    let values = tcp.next()?;
    let i = names.split_whitespace().position(|n| n == "RetransSegs")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn retransmits_are_read_from_the_tcp_lines() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm ActiveOpens RetransSegs InErrs\nTcp: 1 10 42 0\n";
        assert_eq!(super::retrans_segs(snmp), Some(42));
        assert_eq!(super::retrans_segs("Ip: a\nIp: 1\n"), None);
    }
}
