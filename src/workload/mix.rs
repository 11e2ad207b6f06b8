//! Smooth weighted round-robin: picks among weighted choices so that after any number of
//! picks each choice's count is within one of its exact share. A random draw would need
//! tens of thousands of transactions before the observed mix settles within 1 point.

/// A deterministic weighted chooser with exact long-run (and short-run) proportions.
#[derive(Debug, Clone)]
pub struct Mix {
    weights: Vec<f64>,
    current: Vec<f64>,
    total: f64,
    /// The one choice with a weight, when only one has: the rotation would always pick it,
    /// and single-operation workloads (a point select) pick once per transaction.
    only: Option<usize>,
}

impl Mix {
    /// Weights need not be normalised; zero weights are never picked.
    pub fn new(weights: &[f64]) -> Self {
        let mut positive = weights.iter().enumerate().filter(|(_, w)| **w > 0.0);
        let only = match (positive.next(), positive.next()) {
            (Some((i, _)), None) if weights.iter().all(|w| *w >= 0.0) => Some(i),
            _ => None,
        };
        Mix {
            weights: weights.to_vec(),
            current: vec![0.0; weights.len()],
            total: weights.iter().sum(),
            only,
        }
    }

    /// Starts the rotation at a different point, so connections do not move in lockstep.
    pub fn offset(mut self, steps: usize) -> Self {
        for _ in 0..steps % 97 {
            self.pick();
        }
        self
    }

    /// The index of the next choice.
    pub fn pick(&mut self) -> usize {
        if let Some(i) = self.only {
            return i;
        }
        let mut best = 0;
        for i in 0..self.weights.len() {
            self.current[i] += self.weights[i];
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_are_exact_at_every_prefix() {
        let w = [50.0, 25.0, 20.0, 5.0];
        let mut m = Mix::new(&w).offset(13);
        let mut counts = [0f64; 4];
        for n in 1..=2000 {
            counts[m.pick()] += 1.0;
            for i in 0..4 {
                let expect = n as f64 * w[i] / 100.0;
                assert!((counts[i] - expect).abs() <= 1.5, "n={n} i={i} {counts:?}");
            }
        }
        let mut z = Mix::new(&[1.0, 0.0]);
        assert!((0..100).all(|_| z.pick() == 0));
        let mut z = Mix::new(&[0.0, 0.0, 3.0]).offset(5);
        assert!((0..100).all(|_| z.pick() == 2));
    }
}
