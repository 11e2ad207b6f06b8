//! Key distributions: which of `n` keys an operation touches.

use super::rng::Rng;

/// How keys are chosen from `[0, n)`.
#[derive(Debug, Clone)]
pub enum KeyDist {
    Uniform,
    /// Zipfian with YCSB's constant; item 0 is the hottest unless scrambled.
    Zipfian(Zipf),
}

impl KeyDist {
    /// Zipfian over `n` items with exponent `theta` (YCSB uses 0.99).
    pub fn zipfian(n: u64, theta: f64) -> Self {
        KeyDist::Zipfian(Zipf::new(n.max(1), theta))
    }

    /// An index in `[0, n)`; for Zipfian, `n` above the prepared size is clamped by modulo.
    pub fn sample(&self, rng: &mut Rng, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        match self {
            KeyDist::Uniform => rng.below(n),
            KeyDist::Zipfian(z) => z.sample(rng) % n,
        }
    }
}

/// Zipfian generator after Gray et al., "Quickly Generating Billion-Record Synthetic Databases",
/// the algorithm YCSB uses.
#[derive(Debug, Clone)]
pub struct Zipf {
    n: u64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
}

fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

impl Zipf {
    pub fn new(n: u64, theta: f64) -> Self {
        // Exact zeta up to 10M items; beyond, the integral approximation is within 1e-6.
        let zetan = if n <= 10_000_000 {
            zeta(n, theta)
        } else {
            zeta(10_000_000, theta)
                + ((n as f64).powf(1.0 - theta) - (10_000_000f64).powf(1.0 - theta)) / (1.0 - theta)
        };
        let zeta2 = zeta(2, theta);
        let alpha = 1.0 / (1.0 - theta);
        let eta = (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta2 / zetan);
        Zipf {
            n,
            theta,
            alpha,
            zetan,
            eta,
        }
    }

    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.f64();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1.min(self.n - 1);
        }
        let v = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        v.min(self.n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_and_bounded() {
        let d = KeyDist::zipfian(1000, 0.99);
        let mut r = Rng::new(3);
        let mut hits0 = 0;
        for _ in 0..100_000 {
            let v = d.sample(&mut r, 1000);
            assert!(v < 1000);
            if v == 0 {
                hits0 += 1;
            }
        }
        // P(0) = 1/zeta(1000, 0.99) ~ 0.13
        assert!(hits0 > 10_000 && hits0 < 16_000, "{hits0}");
    }
}
