//! A threshold as a user writes it (`p99<20ms`, `errors<0.1%`, `tps>=950`,
//! `p99[new_order]<50ms`), parsed once into typed parts.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// Response time at this percentile (0–100), ms.
    Percentile(f64),
    MeanMs,
    MaxMs,
    /// Committed transactions per second.
    Tps,
    /// Failed transactions: a share of all (`%`) or a count.
    Errors {
        rate: bool,
    },
    /// Extra attempts after retryable errors: per transaction (`%`) or a count.
    Retries {
        rate: bool,
    },
    /// Scheduled starts that never happened: a share of all scheduled (`%`) or a count.
    Missed {
        rate: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Cmp::Lt => measured < limit,
            Cmp::Le => measured <= limit,
            Cmp::Gt => measured > limit,
            Cmp::Ge => measured >= limit,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// One threshold. `limit` is in the measure's unit: ms for latencies, a fraction for rates,
/// transactions/s for tps, a number for counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub measure: Measure,
    /// An operation's own figures instead of the whole run's.
    pub operation: Option<String>,
    pub cmp: Cmp,
    pub limit: f64,
    /// As written (normalised spacing), for messages and the result file.
    pub text: String,
}

/// Why a threshold does not parse; names the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid threshold '{text}': {why}. Write it like p99<20ms, p99.9<=50ms, mean<5ms, max<1s, tps>=950, errors<0.1%, errors<10, retries<5%, missed<1%, or p99[OPERATION]<20ms")]
pub struct ThresholdError {
    pub text: String,
    pub why: String,
}

impl Threshold {
    pub fn parse(input: &str) -> Result<Threshold, ThresholdError> {
        let text: String = input.split_whitespace().collect();
        let err = |why: &str| ThresholdError {
            text: input.trim().to_string(),
            why: why.into(),
        };
        let at = text
            .find(['<', '>'])
            .ok_or_else(|| err("no comparison (<, <=, >, >=)"))?;
        let (lhs, rest) = text.split_at(at);
        let (cmp, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Cmp::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Cmp::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Cmp::Lt, v)
        } else {
            (Cmp::Gt, &rest[1..])
        };
        let (name, operation) = match lhs.split_once('[') {
            Some((n, op)) => {
                let op = op
                    .strip_suffix(']')
                    .filter(|o| !o.is_empty())
                    .ok_or_else(|| err("an operation goes in brackets, e.g. p99[new_order]"))?;
                (n, Some(op.to_string()))
            }
            None => (lhs, None),
        };
        let name = name.to_ascii_lowercase();
        let pct = value.ends_with('%');
        let measure = match name.as_str() {
            "tps" => Measure::Tps,
            "errors" | "error_rate" => Measure::Errors { rate: pct },
            "retries" | "retry_rate" => Measure::Retries { rate: pct },
            "missed" => Measure::Missed { rate: pct },
            "mean" | "avg" => Measure::MeanMs,
            "max" => Measure::MaxMs,
            "p999" => Measure::Percentile(99.9),
            "median" => Measure::Percentile(50.0),
            n => match n.strip_prefix('p').and_then(|q| q.parse::<f64>().ok()) {
                Some(q) if q > 0.0 && q <= 100.0 => Measure::Percentile(q),
                _ => return Err(err(&format!("unknown metric '{name}'"))),
            },
        };
        if operation.is_some() && matches!(measure, Measure::Missed { .. }) {
            return Err(err(
                "missed starts belong to the whole run, not to one operation",
            ));
        }
        let latency = matches!(
            measure,
            Measure::Percentile(_) | Measure::MeanMs | Measure::MaxMs
        );
        let limit = if latency {
            parse_ms(value).ok_or_else(|| err("expected a time such as 20ms, 1.5s or 800us"))?
        } else if pct {
            if matches!(measure, Measure::Tps) {
                return Err(err("tps is a rate per second, not a percentage"));
            }
            value[..value.len() - 1]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| err("expected a percentage such as 0.1%"))?
                / 100.0
        } else {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| err("expected a number"))?
        };
        Ok(Threshold {
            measure,
            operation,
            cmp,
            limit,
            text,
        })
    }

    /// Whether the measure only grows during a run (a count, the maximum): an upper bound
    /// broken once stays broken, so `--abort-on-fail` may stop at once.
    pub fn monotone_upper(&self) -> bool {
        matches!(self.cmp, Cmp::Lt | Cmp::Le)
            && matches!(
                self.measure,
                Measure::MaxMs
                    | Measure::Errors { rate: false }
                    | Measure::Retries { rate: false }
                    | Measure::Missed { rate: false }
            )
    }

    /// The limit as written: 20 ms, 0.1%, 950.
    pub fn show(&self, v: f64) -> String {
        match self.measure {
            Measure::Percentile(_) | Measure::MeanMs | Measure::MaxMs => format!("{v:.3} ms"),
            Measure::Errors { rate: true }
            | Measure::Retries { rate: true }
            | Measure::Missed { rate: true } => format!("{:.4}%", v * 100.0),
            Measure::Tps => format!("{v:.1} tps"),
            _ => format!("{v:.0}"),
        }
    }

    pub fn cmp_text(&self) -> &'static str {
        self.cmp.text()
    }
}

/// "20ms", "1.5s", "800us", "20" (ms) → milliseconds.
fn parse_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("us").or_else(|| v.strip_suffix("µs")) {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x * scale)
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Threshold::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_users_write_parse() {
        let t = Threshold::parse("p99 < 20ms").unwrap();
        assert_eq!(
            (t.measure, t.cmp, t.limit),
            (Measure::Percentile(99.0), Cmp::Lt, 20.0)
        );
        let t = Threshold::parse("p99.9<=1.5s").unwrap();
        assert_eq!(
            (t.measure, t.cmp, t.limit),
            (Measure::Percentile(99.9), Cmp::Le, 1500.0)
        );
        let t = Threshold::parse("errors<0.1%").unwrap();
        assert_eq!(t.measure, Measure::Errors { rate: true });
        assert!((t.limit - 0.001).abs() < 1e-12);
        let t = Threshold::parse("errors<10").unwrap();
        assert_eq!(t.measure, Measure::Errors { rate: false });
        assert!(t.monotone_upper());
        let t = Threshold::parse("tps>=950").unwrap();
        assert_eq!((t.measure, t.cmp, t.limit), (Measure::Tps, Cmp::Ge, 950.0));
        let t = Threshold::parse("p50[new_order]<800us").unwrap();
        assert_eq!(t.operation.as_deref(), Some("new_order"));
        assert!((t.limit - 0.8).abs() < 1e-12);
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        for (bad, why) in [
            ("p99 20ms", "no comparison"),
            ("p999x<3ms", "unknown metric"),
            ("p99<fast", "expected a time"),
            ("tps>5%", "not a percentage"),
            ("missed[a]<1", "whole run"),
            ("p99[]<1ms", "brackets"),
        ] {
            let e = Threshold::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("p99<20ms"), "{bad}: {e}");
        }
    }
}
