//! Weighted choice among values: the `enum` generator of seed rules and custom queries.

use super::Rng;
use crate::value::Value;

/// Values with cumulative probabilities (the last is 1).
#[derive(Debug, Clone)]
pub struct Weighted {
    pub values: Vec<Value>,
    pub cumulative: Vec<f64>,
}

/// Why weights cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightError {
    /// Not one weight per value.
    Count,
    /// A negative weight, or none above zero.
    Invalid,
}

impl Weighted {
    /// `weights` need not be normalised.
    pub fn new(values: Vec<Value>, weights: &[f64]) -> Result<Weighted, WeightError> {
        if weights.len() != values.len() {
            return Err(WeightError::Count);
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 || weights.iter().any(|w| *w < 0.0) {
            return Err(WeightError::Invalid);
        }
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Ok(Weighted { values, cumulative })
    }

    /// Text values with weights (for built-in rules, whose weights are known to be valid).
    pub fn texts(values: &[&str], weights: &[f64]) -> Weighted {
        let values = values.iter().map(|v| Value::Text(v.to_string())).collect();
        Weighted::new(values, weights).unwrap_or(Weighted {
            values: vec![Value::Null],
            cumulative: vec![1.0],
        })
    }

    /// A value drawn with the weights.
    pub fn pick(&self, rng: &mut Rng) -> Value {
        let u = rng.f64();
        let i = self
            .cumulative
            .iter()
            .position(|c| u < *c)
            .unwrap_or(self.values.len() - 1);
        self.values[i].clone()
    }
}

/// A TOML value as a SQL value (enum values in configuration files).
pub fn value_of_toml(v: &toml::Value) -> Value {
    match v {
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}
