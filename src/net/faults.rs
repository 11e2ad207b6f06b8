//! The faults in force on hosts' links during a chaos run, and the guard that removes them
//! however the run ends: when dropped (normal return, error, panic) and, through an exit
//! hook, when a second Ctrl-C/SIGTERM exits at once.

use super::{filter, shaping, FilterRules, NetError, NetHost, Shaping, Way};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Everything done to one host's link; the default is a clean link.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFaults {
    /// On packets coming in to the host.
    pub shaping_in: Shaping,
    /// On packets going out of it.
    pub shaping_out: Shaping,
    pub filter: FilterRules,
}

impl HostFaults {
    /// The shaping of one direction.
    pub fn shaping_mut(&mut self, way: Way) -> &mut Shaping {
        match way {
            Way::In => &mut self.shaping_in,
            Way::Out => &mut self.shaping_out,
        }
    }
}

type Touched = Arc<Mutex<BTreeMap<String, (NetHost, HostFaults)>>>;

/// Applies faults to hosts, remembering every host it touched so that all of them are left
/// clean at the end.
pub struct LinkFaults {
    touched: Touched,
    _hook: crate::util::signals::ExitHookGuard,
}

/// Removes every fault dbarena may have put on a host's link.
pub fn clear_host(host: &NetHost) -> Vec<NetError> {
    [
        shaping::clear(host, Way::In),
        shaping::clear(host, Way::Out),
        filter::clear(host),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect()
}

fn clear_touched(touched: &Touched) -> Vec<NetError> {
    let hosts: Vec<NetHost> = touched
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|(h, _)| h.clone())
        .collect();
    let errors: Vec<NetError> = hosts.iter().flat_map(clear_host).collect();
    if errors.is_empty() {
        touched.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    errors
}

impl Default for LinkFaults {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkFaults {
    pub fn new() -> Self {
        let touched: Touched = Arc::default();
        let on_signal = touched.clone();
        let hook = crate::util::signals::on_exit(move || {
            for e in clear_touched(&on_signal) {
                eprintln!("error: could not remove a network fault ({e}); `dbarena instance down` of the instance removes its namespace and every fault with it");
            }
        });
        LinkFaults {
            touched,
            _hook: hook,
        }
    }

    /// Puts `want` on the host's link, changing only what differs from what is there. The
    /// host is remembered before anything is applied, so an interruption part-way still
    /// cleans it. A failure is returned once: the next call only retries after a change.
    pub fn set(&self, host: &NetHost, want: &HostFaults) -> Result<(), NetError> {
        let before = {
            let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            let entry = t
                .entry(host.ns.clone())
                .or_insert_with(|| (host.clone(), HostFaults::default()));
            if entry.1 == *want {
                return Ok(());
            }
            std::mem::replace(&mut entry.1, want.clone())
        };
        if before.shaping_in != want.shaping_in {
            shaping::apply(host, Way::In, &want.shaping_in)?;
        }
        if before.shaping_out != want.shaping_out {
            shaping::apply(host, Way::Out, &want.shaping_out)?;
        }
        if before.filter != want.filter {
            filter::apply(host, &want.filter)?;
        }
        Ok(())
    }

    /// Leaves every touched host clean; returns what could not be removed.
    pub fn clear_all(&self) -> Vec<NetError> {
        clear_touched(&self.touched)
    }
}

impl Drop for LinkFaults {
    fn drop(&mut self) {
        for e in self.clear_all() {
            eprintln!("error: could not remove a network fault ({e}); `dbarena instance down` of the instance removes its namespace and every fault with it");
        }
    }
}

/// What dbarena's faults are on a host's link now, as tc and nft show them (empty: none).
pub fn in_force(host: &NetHost) -> Vec<String> {
    let mut v = shaping::shown(host);
    if filter::present(host) {
        v.push("nft table inet dbarena".into());
    }
    v
}
