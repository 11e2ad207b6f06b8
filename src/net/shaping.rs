//! Shaping one direction of a link with tc: a netem qdisc for delay (with jitter and a
//! distribution), duplication, reordering and corruption, and a token bucket (tbf) for a rate
//! limit, under netem when both are asked for. tbf needs no netem, so a rate limit works on
//! kernels built without it.

use super::tools::{run, TC};
use super::{NetError, NetHost, Way};

/// How a delay's jitter is drawn (netem's distribution tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    #[default]
    Uniform,
    Normal,
    Pareto,
    Paretonormal,
}

/// What one direction of a link does to packets; the default does nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shaping {
    pub delay_ms: f64,
    pub jitter_ms: f64,
    pub distribution: Distribution,
    pub duplicate_pct: f64,
    /// Share sent at once while the rest wait `delay_ms` (netem needs a delay to reorder).
    pub reorder_pct: f64,
    pub corrupt_pct: f64,
    /// Bytes per second; 0: unlimited.
    pub rate_bps: u64,
}

fn ms(v: f64) -> String {
    format!("{}us", (v * 1000.0).round() as u64)
}

fn pct(v: f64) -> String {
    format!("{v}%")
}

impl Shaping {
    /// Whether a netem qdisc is needed.
    fn needs_netem(&self) -> bool {
        self.delay_ms > 0.0
            || self.jitter_ms > 0.0
            || self.duplicate_pct > 0.0
            || self.reorder_pct > 0.0
            || self.corrupt_pct > 0.0
    }

    pub fn is_clean(&self) -> bool {
        !self.needs_netem() && self.rate_bps == 0
    }

    /// The netem options (after `netem`), if netem is needed.
    pub fn netem_args(&self) -> Option<Vec<String>> {
        if !self.needs_netem() {
            return None;
        }
        let mut a = Vec::new();
        // Reordering sends some packets at once and delays the rest, so it needs a delay.
        let delay = if self.delay_ms == 0.0 && self.reorder_pct > 0.0 {
            10.0
        } else {
            self.delay_ms
        };
        if delay > 0.0 || self.jitter_ms > 0.0 {
            a.extend(["delay".into(), ms(delay)]);
            if self.jitter_ms > 0.0 {
                a.push(ms(self.jitter_ms));
                if self.distribution != Distribution::Uniform {
                    a.push("distribution".into());
                    a.push(
                        serde_json::to_value(self.distribution)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    );
                }
            }
        }
        for (word, v) in [
            ("duplicate", self.duplicate_pct),
            ("reorder", self.reorder_pct),
            ("corrupt", self.corrupt_pct),
        ] {
            if v > 0.0 {
                a.extend([word.into(), pct(v)]);
            }
        }
        Some(a)
    }

    /// The tbf options (after `tbf`), if a rate is set: a burst of 20 ms worth (at least two
    /// full frames), and packets queued up to a second before being dropped.
    pub fn tbf_args(&self) -> Option<Vec<String>> {
        (self.rate_bps > 0).then(|| {
            let burst = (self.rate_bps / 50).max(3200);
            vec![
                "rate".into(),
                format!("{}bps", self.rate_bps),
                "burst".into(),
                burst.to_string(),
                "latency".into(),
                "1s".into(),
            ]
        })
    }
}

/// The device and namespace whose egress carries packets going `way` for `host`: packets in
/// to the host leave the machine's end; packets out of it leave the namespace's end.
fn device(host: &NetHost, way: Way) -> (Option<&str>, &str) {
    match way {
        Way::In => (None, host.link.as_str()),
        Way::Out => (Some(host.ns.as_str()), host.peer.as_str()),
    }
}

fn tc(ns: Option<&str>, args: &[&str]) -> Result<String, NetError> {
    let mut all: Vec<&str> = Vec::new();
    if let Some(n) = ns {
        all.extend(["-n", n]);
    }
    all.extend_from_slice(args);
    run(TC, &all, None).map_err(|e| match e {
        NetError::Command { detail, .. } if detail.contains("qdisc kind is unknown") => {
            NetError::NoNetem
        }
        e => e,
    })
}

/// Puts `s` on the link of `host` for packets going `way`, replacing what was there.
pub fn apply(host: &NetHost, way: Way, s: &Shaping) -> Result<(), NetError> {
    clear(host, way)?;
    let (ns, dev) = device(host, way);
    let strs = |v: &[String]| v.to_vec();
    match (s.netem_args(), s.tbf_args()) {
        (None, None) => Ok(()),
        (Some(netem), tbf) => {
            let mut a: Vec<String> = ["qdisc", "add", "dev", dev, "root", "handle", "1:", "netem"]
                .map(String::from)
                .to_vec();
            a.extend(strs(&netem));
            tc(ns, &a.iter().map(String::as_str).collect::<Vec<_>>())?;
            if let Some(tbf) = tbf {
                let mut a: Vec<String> = [
                    "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:", "tbf",
                ]
                .map(String::from)
                .to_vec();
                a.extend(tbf);
                tc(ns, &a.iter().map(String::as_str).collect::<Vec<_>>())?;
            }
            Ok(())
        }
        (None, Some(tbf)) => {
            let mut a: Vec<String> = ["qdisc", "add", "dev", dev, "root", "handle", "1:", "tbf"]
                .map(String::from)
                .to_vec();
            a.extend(tbf);
            tc(ns, &a.iter().map(String::as_str).collect::<Vec<_>>()).map(|_| ())
        }
    }
}

/// Removes dbarena's qdisc from the link for packets going `way`; none there is no error.
pub fn clear(host: &NetHost, way: Way) -> Result<(), NetError> {
    let (ns, dev) = device(host, way);
    let shown = tc(ns, &["qdisc", "show", "dev", dev])?;
    if shown.contains("netem") || shown.contains("tbf") {
        tc(ns, &["qdisc", "del", "dev", dev, "root"])?;
    }
    Ok(())
}

/// The qdiscs dbarena put on a host's links, as `tc qdisc show` prints them (for checks).
pub fn shown(host: &NetHost) -> Vec<String> {
    [Way::In, Way::Out]
        .into_iter()
        .filter_map(|w| {
            let (ns, dev) = device(host, w);
            tc(ns, &["qdisc", "show", "dev", dev]).ok()
        })
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains("netem") || l.contains("tbf"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_and_tbf_options_follow_the_fault() {
        let s = Shaping {
            delay_ms: 100.0,
            jitter_ms: 20.0,
            distribution: Distribution::Normal,
            duplicate_pct: 1.0,
            corrupt_pct: 0.5,
            ..Default::default()
        };
        assert_eq!(
            s.netem_args().unwrap().join(" "),
            "delay 100000us 20000us distribution normal duplicate 1% corrupt 0.5%"
        );
        assert!(s.tbf_args().is_none());
        let r = Shaping {
            reorder_pct: 25.0,
            ..Default::default()
        };
        // Reordering without a delay gets one, or netem would reorder nothing.
        assert_eq!(
            r.netem_args().unwrap().join(" "),
            "delay 10000us reorder 25%"
        );
        let rate = Shaping {
            rate_bps: 125_000,
            ..Default::default()
        };
        assert!(rate.netem_args().is_none());
        assert_eq!(
            rate.tbf_args().unwrap().join(" "),
            "rate 125000bps burst 3200 latency 1s"
        );
        assert!(Shaping::default().is_clean());
    }
}
