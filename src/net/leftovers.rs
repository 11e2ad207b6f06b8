//! Namespaces and links named `dbarena-…` that no instance owns: what a killed dbarena or a
//! removed instance folder left behind. A namespace is owned while the file named in its
//! owner file (the instance's meta.json) exists, or the process creating it still runs (so
//! instances of other DBARENA_HOMEs and half-made ones are not leftovers, and those of a
//! killed `instance up` are); a link while its other end is inside a namespace.

use super::host::{link_details, namespaces, owner_file, remove_namespace, PREFIX};
use super::tools::{run, IP};
use super::NetError;
use serde::Serialize;

/// Something dbarena made that nothing owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Leftover {
    /// A namespace whose instance folder is gone (or was never recorded).
    Namespace { name: String, owner: Option<String> },
    /// A veth end on the machine whose other end is in no namespace.
    Link { name: String },
    /// A namespace's resolver folder (/etc/netns/NAME) whose namespace is gone.
    Resolver { name: String },
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leftover::Namespace {
                name,
                owner: Some(o),
            } => {
                write!(f, "namespace {name} (its instance's {o} is gone)")
            }
            Leftover::Namespace { name, owner: None } => {
                write!(f, "namespace {name} (no instance recorded as its owner)")
            }
            Leftover::Link { name } => write!(f, "link {name} (its other end is in no namespace)"),
            Leftover::Resolver { name } => write!(
                f,
                "resolver folder /etc/netns/{name} (its namespace is gone)"
            ),
        }
    }
}

/// The leftovers on this machine.
pub fn leftovers() -> Result<Vec<Leftover>, NetError> {
    super::check_requirements()?;
    let mut out = Vec::new();
    let all = namespaces()?;
    for e in std::fs::read_dir("/etc/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && !all.contains(&name) {
            out.push(Leftover::Resolver { name });
        }
    }
    for ns in all.into_iter().filter(|n| n.starts_with(PREFIX)) {
        let record = std::fs::read_to_string(owner_file(&ns)).unwrap_or_default();
        let mut lines = record.lines();
        let owner = lines.next().filter(|o| !o.is_empty());
        let creator_runs = lines
            .next()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_some_and(alive);
        let owned = owner.is_some_and(|o| std::path::Path::new(o).exists()) || creator_runs;
        if !owned {
            out.push(Leftover::Namespace {
                name: ns,
                owner: owner.map(str::to_string),
            });
        }
    }
    let links: serde_json::Value =
        serde_json::from_str(&run(IP, &["-j", "link", "show"], None)?).unwrap_or_default();
    for l in links.as_array().into_iter().flatten() {
        let Some(name) = l["ifname"].as_str() else {
            continue;
        };
        let ours = name
            .strip_prefix(PREFIX)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if ours && unpaired(l) {
            out.push(Leftover::Link { name: name.into() });
        }
    }
    Ok(out)
}

/// Whether link `name` exists with its other end in no namespace. Looked at again just
/// before deleting: a link torn down with its namespace is listed as a leftover for a
/// moment, and once gone its name may be taken by a new host at once.
fn still_unpaired(name: &str) -> bool {
    link_details(name).is_some_and(|l| unpaired(&l))
}

/// Whether a link (as `ip -j link show` describes it) has its other end in no namespace.
fn unpaired(link: &serde_json::Value) -> bool {
    link.get("link_netnsid").is_none()
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| !matches!(state.as_str(), "Z" | "X" | "x"))
}

/// Removes the leftovers (first ending what still runs in a leftover namespace: servers of
/// instances whose folders are gone); returns what was removed.
pub fn clean_leftovers() -> Result<Vec<Leftover>, NetError> {
    let mut removed = Vec::new();
    for l in leftovers()? {
        match &l {
            Leftover::Namespace { name, .. } => {
                let pids = run(IP, &["netns", "pids", name], None).unwrap_or_default();
                for pid in pids.split_whitespace() {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", pid])
                        .output();
                }
                remove_namespace(name)?;
            }
            Leftover::Link { name } if !still_unpaired(name) => continue,
            Leftover::Link { name } => {
                run(IP, &["link", "del", name], None)?;
            }
            Leftover::Resolver { name } => {
                let dir = std::path::Path::new("/etc/netns").join(name);
                std::fs::remove_dir_all(&dir).map_err(|e| NetError::Command {
                    command: format!("removing {}", dir.display()),
                    detail: e.to_string(),
                })?;
            }
        }
        removed.push(l);
    }
    Ok(removed)
}
