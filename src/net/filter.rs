//! Packet loss and partitions as nftables rules in a host's own namespace (table
//! `inet dbarena`): rules drop packets silently, as a lost or cut link does, one way or both,
//! from everyone or from chosen addresses. Rules rather than `ip link set down` (which
//! fails sends at once with "no route", unlike a real partition, and cannot be one-way) and
//! rather than netem's loss (which this machine's kernel and others lack). The table lives
//! in the namespace, so removing the namespace removes it.

use super::tools::{locate, run, IP, NFT};
use super::{NetError, NetHost, Way};

/// A partition seen from one host: packets going `way` to or from `peers` (addresses;
/// empty: everyone) are dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cut {
    pub way: Way,
    pub peers: Vec<String>,
}

/// The rules of one host; the default drops nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterRules {
    /// Percent of packets coming in that are dropped.
    pub loss_in_pct: f64,
    /// Percent of packets going out that are dropped.
    pub loss_out_pct: f64,
    pub cuts: Vec<Cut>,
}

const TABLE: &str = "table inet dbarena {}\ndelete table inet dbarena\n";

impl FilterRules {
    pub fn is_clean(&self) -> bool {
        self.loss_in_pct <= 0.0 && self.loss_out_pct <= 0.0 && self.cuts.is_empty()
    }

    /// The nft script that replaces the table with these rules, for a host whose link inside
    /// the namespace is `dev`. Loss is in hundredths of a percent.
    pub fn script(&self, dev: &str) -> String {
        let mut s = String::from(TABLE);
        if self.is_clean() {
            return s;
        }
        s.push_str("table inet dbarena {\n");
        for (way, chain, hook, ifkey, addr, loss) in [
            (
                Way::In,
                "input",
                "input",
                "iifname",
                "saddr",
                self.loss_in_pct,
            ),
            (
                Way::Out,
                "output",
                "output",
                "oifname",
                "daddr",
                self.loss_out_pct,
            ),
        ] {
            s.push_str(&format!(
                "  chain {chain} {{\n    type filter hook {hook} priority 0; policy accept;\n"
            ));
            for c in self.cuts.iter().filter(|c| c.way == way) {
                if c.peers.is_empty() {
                    s.push_str(&format!("    {ifkey} \"{dev}\" drop\n"));
                } else {
                    s.push_str(&format!(
                        "    {ifkey} \"{dev}\" ip {addr} {{ {} }} drop\n",
                        c.peers.join(", ")
                    ));
                }
            }
            if loss > 0.0 {
                let n = (loss.min(100.0) * 100.0).round() as u64;
                s.push_str(&format!(
                    "    {ifkey} \"{dev}\" numgen random mod 10000 < {n} drop\n"
                ));
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
        s
    }
}

fn nft(host: &NetHost, script: &str) -> Result<(), NetError> {
    let nft = locate(NFT)?.display().to_string();
    run(
        IP,
        &["netns", "exec", &host.ns, &nft, "-f", "-"],
        Some(script),
    )
    .map(|_| ())
}

/// Replaces the host's rules.
pub fn apply(host: &NetHost, rules: &FilterRules) -> Result<(), NetError> {
    nft(host, &rules.script(&host.peer))
}

/// Removes the host's rules; none is no error.
pub fn clear(host: &NetHost) -> Result<(), NetError> {
    nft(host, TABLE)
}

/// Whether the host has dbarena's rules (for checks).
pub fn present(host: &NetHost) -> bool {
    let Ok(nft) = locate(NFT) else { return false };
    run(
        IP,
        &[
            "netns",
            "exec",
            &host.ns,
            &nft.display().to_string(),
            "list",
            "tables",
        ],
        None,
    )
    .map(|o| o.contains("dbarena"))
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_drop_one_way_from_chosen_peers_and_a_share_of_packets() {
        let r = FilterRules {
            loss_in_pct: 5.0,
            loss_out_pct: 0.0,
            cuts: vec![Cut {
                way: Way::Out,
                peers: vec!["10.77.3.2".into(), "10.77.4.2".into()],
            }],
        };
        let s = r.script("dbarena-2n");
        assert!(s.starts_with(TABLE), "{s}");
        assert!(
            s.contains("iifname \"dbarena-2n\" numgen random mod 10000 < 500 drop"),
            "{s}"
        );
        assert!(
            s.contains("oifname \"dbarena-2n\" ip daddr { 10.77.3.2, 10.77.4.2 } drop"),
            "{s}"
        );
        assert!(!s.contains("iifname \"dbarena-2n\" drop"), "{s}");
        assert_eq!(FilterRules::default().script("x"), TABLE);
    }
}
