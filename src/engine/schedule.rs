//! Open-loop arrival schedules: when each transaction is supposed to start.

use crate::datagen::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Open-loop arrival process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    Poisson,
    Uniform,
}

/// When the next transaction of one connection is due, as an offset from the run start.
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
    next: f64,
}

#[derive(Debug, Clone)]
enum Kind {
    Closed,
    Poisson {
        mean_gap: f64,
        rng: Rng,
    },
    Uniform {
        gap: f64,
    },
    /// A rate that changes over time: arrivals are placed in the space of expected arrivals
    /// (Λ, the integral of the rate) and mapped back to time, which keeps Poisson arrivals
    /// Poisson and uniform ones evenly spaced at every rate.
    Profile {
        profile: std::sync::Arc<RateProfile>,
        /// This lane's share of the whole run's rate.
        share: f64,
        /// Position in Λ-space of the next arrival, in this lane's units.
        u: f64,
        rng: Option<Rng>,
    },
}

/// This agent's part of a run split over several machines (`--segment i/N`): the
/// connections (and so the lanes and their schedules) whose number is `index` modulo
/// `count`. N agents together run exactly the lanes one agent would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// 0-based.
    pub index: usize,
    pub count: usize,
}

impl Segment {
    /// Whether connection `c` (global numbering) is this agent's.
    pub fn owns(&self, c: usize) -> bool {
        c % self.count.max(1) == self.index
    }

    /// The `n`th id of this agent in a sequence shared by all agents (values, keys,
    /// process ids): disjoint across agents, dense together.
    pub fn spread(&self, n: u64) -> u64 {
        n * self.count.max(1) as u64 + self.index as u64
    }

    /// `"2/4"` (1-based, as users write it) or `"2:4"`.
    pub fn parse(s: &str) -> Result<Segment, String> {
        let (i, n) = s
            .split_once(['/', ':'])
            .ok_or_else(|| format!("expected I/N such as 2/4, got '{s}'"))?;
        let i: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("'{i}' is not a segment number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("'{n}' is not a segment count"))?;
        if n == 0 || i == 0 || i > n {
            return Err(format!("segment {i}/{n}: I runs from 1 to N"));
        }
        Ok(Segment {
            index: i - 1,
            count: n,
        })
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// One stage of a rate profile: over `duration`, the rate moves linearly to `target`, on the
/// first `connections` connections of the run (all when None; the others stay open, idle),
/// with the operations in the proportions of `weights` (by operation name; the workload's
/// own when None).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    #[serde(with = "secs")]
    pub duration: Duration,
    pub target: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<std::collections::BTreeMap<String, f64>>,
}

/// Which stage an offset from the run start falls in: the warmup counts as the first stage,
/// the hold after the last as the last.
pub fn stage_at(stages: &[Stage], warmup: Duration, offset: Duration) -> usize {
    let mut end = warmup;
    for (i, st) in stages.iter().enumerate() {
        end += st.duration;
        if offset < end {
            return i;
        }
    }
    stages.len().saturating_sub(1)
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs_f64(f64::deserialize(d)?.max(0.0)))
    }
}

/// The whole run's target rate over time (offsets from the run start, warmup included): the
/// start rate until `ramp_from`, then each stage in turn, then the last target held.
#[derive(Debug, Clone)]
pub struct RateProfile {
    /// (time, rate) corners; linear between them, constant after the last.
    corners: Vec<(f64, f64)>,
}

impl RateProfile {
    pub fn new(start_rate: f64, ramp_from: Duration, stages: &[Stage]) -> RateProfile {
        Self::shared(start_rate, ramp_from, stages, |_| 1.0)
    }

    /// The part of the run's rate that falls to connection `connection` of `connections`
    /// (each with `pipeline` lanes; this is one lane's): while a stage runs on its first
    /// `Stage::connections`, they share its rate and the others get none. The warmup runs on
    /// the first stage's connections, the hold after the last stage on the last one's.
    pub fn for_lane(
        start_rate: f64,
        ramp_from: Duration,
        stages: &[Stage],
        connection: usize,
        connections: usize,
        pipeline: usize,
    ) -> RateProfile {
        let share = |active: Option<usize>| {
            let a = active.unwrap_or(connections).clamp(1, connections.max(1));
            if connection < a {
                1.0 / (a * pipeline.max(1)) as f64
            } else {
                0.0
            }
        };
        Self::shared(start_rate, ramp_from, stages, share)
    }

    /// The run's profile with each stage's rate times `share` of its connections (the
    /// warmup at the first stage's share). A change of share is a step at the stage's start,
    /// a corner of no width.
    fn shared(
        start_rate: f64,
        ramp_from: Duration,
        stages: &[Stage],
        share: impl Fn(Option<usize>) -> f64,
    ) -> RateProfile {
        let lead = share(stages.first().and_then(|s| s.connections));
        let mut corners = vec![(0.0, start_rate * lead)];
        let (mut t, mut rate) = (ramp_from.as_secs_f64(), start_rate);
        if t > 0.0 {
            corners.push((t, start_rate * lead));
        }
        for st in stages {
            let sh = share(st.connections);
            corners.push((t, rate * sh));
            t += st.duration.as_secs_f64();
            rate = st.target.max(0.0);
            corners.push((t, rate * sh));
        }
        RateProfile { corners }
    }

    /// The target rate at time `t`.
    pub fn rate_at(&self, t: f64) -> f64 {
        let c = &self.corners;
        for w in c.windows(2) {
            let ((t0, r0), (t1, r1)) = (w[0], w[1]);
            if t < t1 {
                if t1 <= t0 {
                    return r1;
                }
                return r0 + (r1 - r0) * ((t - t0).max(0.0) / (t1 - t0));
            }
        }
        c.last().map(|x| x.1).unwrap_or(0.0)
    }

    /// Expected arrivals from 0 to `t`.
    pub fn expected(&self, t: f64) -> f64 {
        let c = &self.corners;
        let mut acc = 0.0;
        for w in c.windows(2) {
            let ((t0, r0), (t1, r1)) = (w[0], w[1]);
            if t <= t0 {
                return acc;
            }
            let end = t.min(t1);
            let r_end = if t1 > t0 {
                r0 + (r1 - r0) * (end - t0) / (t1 - t0)
            } else {
                r1
            };
            acc += (r0 + r_end) / 2.0 * (end - t0);
            if t <= t1 {
                return acc;
            }
        }
        let (tl, rl) = c.last().copied().unwrap_or((0.0, 0.0));
        acc + rl * (t - tl).max(0.0)
    }

    /// The time by which `x` arrivals are expected; None if the rate falls to zero first.
    pub fn time_of(&self, x: f64) -> Option<f64> {
        let c = &self.corners;
        let mut acc = 0.0;
        for w in c.windows(2) {
            let ((t0, r0), (t1, r1)) = (w[0], w[1]);
            let seg = (r0 + r1) / 2.0 * (t1 - t0);
            if acc + seg >= x && t1 > t0 {
                // Solve acc + r0·τ + (b/2)·τ² = x on this segment, b the slope.
                let need = x - acc;
                let b = (r1 - r0) / (t1 - t0);
                let tau = if b.abs() < 1e-12 {
                    if r0 <= 0.0 {
                        return None;
                    }
                    need / r0
                } else {
                    let disc = (r0 * r0 + 2.0 * b * need).max(0.0);
                    (disc.sqrt() - r0) / b
                };
                return Some(t0 + tau.clamp(0.0, t1 - t0));
            }
            acc += seg;
        }
        let (tl, rl) = c.last().copied().unwrap_or((0.0, 0.0));
        if rl <= 0.0 {
            return None;
        }
        Some(tl + (x - acc) / rl)
    }
}

impl Schedule {
    /// No schedule: start each transaction when the previous one ends.
    pub fn closed() -> Self {
        Schedule {
            kind: Kind::Closed,
            next: 0.0,
        }
    }

    /// Poisson arrivals at `rate` per second.
    pub fn poisson(rate: f64, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mean_gap = 1.0 / rate;
        let first = rng.exp(mean_gap);
        Schedule {
            kind: Kind::Poisson { mean_gap, rng },
            next: first,
        }
    }

    /// Evenly spaced arrivals at `rate` per second, the first at `offset` seconds.
    pub fn uniform(rate: f64, offset: f64) -> Self {
        Schedule {
            kind: Kind::Uniform { gap: 1.0 / rate },
            next: offset,
        }
    }

    /// Lane `lane` of `lanes` at `rate` per second: independent Poisson streams, or uniform
    /// ones staggered so that together they are evenly spaced.
    pub fn open(arrival: Arrival, rate: f64, lane: usize, lanes: usize, seed: u64) -> Self {
        match arrival {
            Arrival::Poisson => Schedule::poisson(rate, seed ^ ((lane as u64) << 20)),
            Arrival::Uniform => Schedule::uniform(rate, lane as f64 / (rate * lanes.max(1) as f64)),
        }
    }

    /// Lane `lane` of `lanes` following `profile` (the whole run's rate over time).
    pub fn profiled(
        arrival: Arrival,
        profile: std::sync::Arc<RateProfile>,
        lane: usize,
        lanes: usize,
        seed: u64,
    ) -> Self {
        let share = 1.0 / lanes.max(1) as f64;
        let (u, rng) = match arrival {
            Arrival::Poisson => {
                let mut rng = Rng::new(seed ^ ((lane as u64) << 20));
                (rng.exp(1.0), Some(rng))
            }
            // Staggered so that the lanes together are evenly spaced.
            Arrival::Uniform => (lane as f64 * share, None),
        };
        let mut s = Schedule {
            kind: Kind::Profile {
                profile,
                share,
                u,
                rng,
            },
            next: 0.0,
        };
        s.place();
        s
    }

    /// Lane `lane` of `lanes` following `profile`, which is this lane's own part of the rate
    /// ([`RateProfile::for_lane`]).
    pub fn own_profile(
        arrival: Arrival,
        profile: std::sync::Arc<RateProfile>,
        lane: usize,
        lanes: usize,
        seed: u64,
    ) -> Self {
        let mut s = Schedule::profiled(arrival, profile, lane, lanes, seed);
        if let Kind::Profile { share, .. } = &mut s.kind {
            *share = 1.0;
        }
        s.place();
        s
    }

    /// Maps the profile's Λ-space position to the next start time.
    fn place(&mut self) {
        if let Kind::Profile {
            profile, share, u, ..
        } = &self.kind
        {
            self.next = profile.time_of(*u / *share).unwrap_or(f64::INFINITY);
        }
    }

    /// Whether this is an open-loop schedule.
    pub fn is_open(&self) -> bool {
        !matches!(self.kind, Kind::Closed)
    }

    /// The intended start of the next transaction (offset from run start); advances.
    pub fn next_start(&mut self) -> Option<Duration> {
        let at = self.next;
        match &mut self.kind {
            Kind::Closed => return None,
            Kind::Poisson { mean_gap, rng } => self.next += rng.exp(*mean_gap),
            Kind::Uniform { gap } => self.next += *gap,
            Kind::Profile { u, rng, .. } => {
                if !at.is_finite() {
                    // The rate fell to zero for good: nothing more is due.
                    return None;
                }
                *u += match rng {
                    Some(r) => r.exp(1.0),
                    None => 1.0,
                };
                self.place();
            }
        }
        Some(Duration::from_secs_f64(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_exact_on_average() {
        let mut p = Schedule::poisson(1000.0, 9);
        let mut last = Duration::ZERO;
        for _ in 0..100_000 {
            last = p.next_start().unwrap();
        }
        // 100k arrivals at 1000/s take ~100 s; Poisson noise is ~0.3%.
        assert!((last.as_secs_f64() - 100.0).abs() < 1.5, "{last:?}");
        let mut u = Schedule::uniform(10.0, 0.05);
        assert_eq!(u.next_start().unwrap(), Duration::from_secs_f64(0.05));
        assert_eq!(u.next_start().unwrap(), Duration::from_secs_f64(0.15));
        assert!(Schedule::closed().next_start().is_none());
    }

    #[test]
    fn a_ramp_is_followed_second_by_second() {
        // 100 → 1000 tps over 10 s after a 1 s hold, then held: 4 lanes, evenly spaced.
        let stages = [Stage {
            duration: Duration::from_secs(10),
            target: 1000.0,
            connections: None,
            weights: None,
        }];
        let p = std::sync::Arc::new(RateProfile::new(100.0, Duration::from_secs(1), &stages));
        assert_eq!(p.rate_at(0.5), 100.0);
        assert!((p.rate_at(6.0) - 550.0).abs() < 1e-9);
        assert_eq!(p.rate_at(20.0), 1000.0);
        assert!((p.expected(1.0) - 100.0).abs() < 1e-9);
        assert!((p.expected(11.0) - (100.0 + 5500.0)).abs() < 1e-6);
        for x in [50.0, 100.0, 3000.0, 5600.0, 9000.0] {
            let t = p.time_of(x).unwrap();
            assert!((p.expected(t) - x).abs() < 1e-6, "{x}: {t}");
        }
        let mut counts = [0u32; 14];
        for lane in 0..4 {
            let mut s = Schedule::profiled(Arrival::Uniform, p.clone(), lane, 4, 1);
            while let Some(t) = s.next_start() {
                if t.as_secs_f64() >= 14.0 {
                    break;
                }
                counts[t.as_secs() as usize] += 1;
            }
        }
        for (sec, n) in counts.iter().enumerate() {
            let want = p.expected(sec as f64 + 1.0) - p.expected(sec as f64);
            assert!(
                (*n as f64 - want).abs() <= want * 0.02 + 1.0,
                "second {sec}: {n} vs {want}"
            );
        }
        // Poisson arrivals follow the ramp on average.
        let mut total = 0;
        for lane in 0..4 {
            let mut s = Schedule::profiled(Arrival::Poisson, p.clone(), lane, 4, 3);
            while s.next_start().is_some_and(|t| t.as_secs_f64() < 11.0) {
                total += 1;
            }
        }
        assert!((total as f64 - 5600.0).abs() < 5600.0 * 0.05, "{total}");
    }

    /// A stage on fewer connections gives its rate to those alone; the run's rate over time
    /// is unchanged.
    #[test]
    fn stage_connections_share_the_rate_among_themselves() {
        let stages = [
            Stage {
                duration: Duration::from_secs(4),
                target: 100.0,
                connections: Some(1),
                weights: None,
            },
            Stage {
                duration: Duration::from_secs(4),
                target: 100.0,
                connections: Some(4),
                weights: None,
            },
        ];
        let mut per_lane = [[0u32; 2]; 4];
        for (lane, counts) in per_lane.iter_mut().enumerate() {
            let p = std::sync::Arc::new(RateProfile::for_lane(
                100.0,
                Duration::ZERO,
                &stages,
                lane,
                4,
                1,
            ));
            let mut s = Schedule::own_profile(Arrival::Uniform, p, lane, 4, 1);
            while let Some(t) = s.next_start() {
                if t.as_secs_f64() >= 8.0 {
                    break;
                }
                counts[(t.as_secs_f64() >= 4.0) as usize] += 1;
            }
        }
        // First stage: connection 0 alone makes all 400; then each makes a quarter.
        assert!((per_lane[0][0] as i32 - 400).abs() <= 1, "{per_lane:?}");
        for lane in 1..4 {
            assert_eq!(per_lane[lane][0], 0, "{per_lane:?}");
        }
        for lane in per_lane {
            assert!((lane[1] as i32 - 100).abs() <= 1, "{per_lane:?}");
        }
    }
}
