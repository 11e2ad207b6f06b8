//! What the built-in patterns do: their SELECT/INSERT/UPDATE/DELETE mixes and the kinds of
//! reads each issues (the pattern names themselves are configuration, in `config::spec`).

pub use crate::config::{OpMix, Pattern, PATTERN_NAMES};
use serde::{Deserialize, Serialize};

/// The kinds of read a pattern issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectKind {
    /// One row by primary key.
    Point,
    /// Up to 100 rows in key order from a random key.
    Range,
    /// A parent row with its children.
    Join,
    /// COUNT/SUM/AVG over a key range.
    Aggregate,
    /// Aggregates over a join, grouped by a parent column.
    JoinAggregate,
    /// GROUP BY over a large key range.
    GroupBy,
    /// Up to 1000 rows in key order.
    LargeScan,
    /// Rows in a window of time, by a timestamp column.
    TimeRange,
}

impl Pattern {
    /// The operation mix in percent.
    pub fn mix(self) -> OpMix {
        let (select, insert, update, delete) = match self {
            Pattern::Oltp => (40.0, 30.0, 25.0, 5.0),
            Pattern::Ecommerce => (50.0, 25.0, 20.0, 5.0),
            Pattern::Olap => (90.0, 5.0, 4.0, 1.0),
            Pattern::Reporting => (95.0, 3.0, 2.0, 0.0),
            Pattern::TimeSeries => (30.0, 65.0, 2.0, 3.0),
            Pattern::SocialMedia => (70.0, 20.0, 8.0, 2.0),
            Pattern::Iot => (20.0, 75.0, 3.0, 2.0),
            Pattern::ReadHeavy => (80.0, 10.0, 8.0, 2.0),
            Pattern::WriteHeavy => (20.0, 40.0, 30.0, 10.0),
            Pattern::Balanced => (50.0, 25.0, 20.0, 5.0),
        };
        OpMix {
            select,
            insert,
            update,
            delete,
        }
    }

    /// The kinds of SELECT and their weights.
    pub fn selects(self) -> Vec<(SelectKind, f64)> {
        use SelectKind::*;
        match self {
            Pattern::Oltp | Pattern::ReadHeavy => vec![(Point, 70.0), (Range, 20.0), (Join, 10.0)],
            Pattern::Ecommerce => vec![(Point, 50.0), (Join, 30.0), (Range, 20.0)],
            Pattern::Olap => vec![(JoinAggregate, 50.0), (Aggregate, 30.0), (GroupBy, 20.0)],
            Pattern::Reporting => vec![(GroupBy, 60.0), (LargeScan, 30.0), (JoinAggregate, 10.0)],
            Pattern::TimeSeries => vec![(TimeRange, 70.0), (Point, 20.0), (Aggregate, 10.0)],
            Pattern::SocialMedia => vec![(Point, 60.0), (Join, 25.0), (Range, 15.0)],
            Pattern::Iot => vec![(TimeRange, 60.0), (Point, 30.0), (Aggregate, 10.0)],
            Pattern::WriteHeavy => vec![(Point, 80.0), (Range, 20.0)],
            Pattern::Balanced => vec![
                (Point, 60.0),
                (Range, 20.0),
                (Join, 10.0),
                (Aggregate, 10.0),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_sums_to_100() {
        for name in PATTERN_NAMES {
            let p = Pattern::parse(name).unwrap();
            assert_eq!(p.name(), *name);
            let m = p.mix();
            assert!((m.select + m.insert + m.update + m.delete - 100.0).abs() < 1e-9);
        }
        assert_eq!(Pattern::parse("time-series"), Some(Pattern::TimeSeries));
        assert_eq!(Pattern::parse("nope"), None);
    }
}
