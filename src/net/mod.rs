//! Hosts on one machine: network namespaces joined to the host by veth pairs, and the faults
//! Linux can put on those links (tc qdiscs for delay, duplication, reordering, corruption and
//! rate; nftables rules for loss and partitions).
//!
//! Every object is named with a `dbarena-` prefix (`leftovers.rs` finds the ones no instance
//! owns). Faults live inside the host's namespace or on its veth pair, so removing the
//! namespace removes them too: `instance down` cannot leave a qdisc or a rule behind.

mod faults;
mod filter;
mod host;
mod leftovers;
mod shaping;
mod tools;

pub use faults::{clear_host, in_force, HostFaults, LinkFaults};
pub use filter::{Cut, FilterRules};
pub use host::NetHost;
pub use leftovers::{clean_leftovers, leftovers, Leftover};
pub use shaping::{Distribution, Shaping};
pub use tools::{check_fault_tools, check_requirements, requirements_error};

use thiserror::Error;

/// Why a network operation failed.
#[derive(Debug, Error)]
pub enum NetError {
    #[error("network namespaces need root (dbarena runs as uid {uid}); run dbarena as root, or leave out --netns")]
    NotRoot { uid: String },
    #[error("{tool} not found{}; install {package} (Debian: apt-get install {package})", .path.as_ref().map(|p| format!(" at {p}")).unwrap_or_default())]
    MissingTool {
        tool: String,
        package: String,
        /// The path an environment variable named, if any.
        path: Option<String>,
    },
    #[error("this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is off), so delay, duplication, reordering and corruption cannot be put on a link; use a kernel with sch_netem, or the proxy's latency fault (type = \"latency\")")]
    NoNetem,
    #[error("no free 10.77.N.0/24 subnet for another namespace (dbarena-1 … dbarena-254 all exist); `dbarena instance list` shows leftovers, `dbarena instance clean` removes them")]
    NoFreeSubnet,
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
}

impl NetError {
    /// Whether the user fixes this by changing how dbarena is run (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            NetError::NotRoot { .. } | NetError::MissingTool { .. }
        )
    }
}

/// Which way a fault applies on a host's link, seen from the host (the server's side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Way {
    /// Packets coming in to the host (client to server).
    In,
    /// Packets going out of the host (server to client).
    Out,
}
