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
    Poisson { mean_gap: f64, rng: Rng },
    Uniform { gap: f64 },
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
}
