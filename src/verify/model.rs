//! Consistency models and the anomalies each one forbids.

use serde::Serialize;

/// A consistency model a history can be checked against, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    ReadCommitted,
    RepeatableRead,
    SnapshotIsolation,
    Serializable,
    StrictSerializable,
}

/// Every model, weakest first.
pub const MODELS: [Model; 5] = [
    Model::ReadCommitted,
    Model::RepeatableRead,
    Model::SnapshotIsolation,
    Model::Serializable,
    Model::StrictSerializable,
];

/// Anomalies that no model allows: they mean the data itself is wrong.
const ALWAYS: &[&str] = &[
    "duplicate-elements",
    "incompatible-order",
    "garbage-read",
    "future-read",
];
const READ_COMMITTED: &[&str] = &["G0", "G1a", "G1b", "G1c", "dirty-update"];
const REPEATABLE_READ: &[&str] = &[
    "G-single",
    "G-nonadjacent",
    "G2-item",
    "lost-update",
    "internal",
];
const SNAPSHOT: &[&str] = &["G-single", "G-nonadjacent", "lost-update", "internal"];

impl Model {
    /// The model that transactions run at `isolation` must satisfy (serializable when unset).
    pub fn for_isolation(isolation: Option<crate::db::Isolation>) -> Model {
        use crate::db::Isolation;
        match isolation {
            Some(Isolation::ReadCommitted) => Model::ReadCommitted,
            Some(Isolation::RepeatableRead) => Model::RepeatableRead,
            _ => Model::Serializable,
        }
    }

    pub fn parse(s: &str) -> Option<Model> {
        Some(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "read-committed" | "rc" => Model::ReadCommitted,
            "repeatable-read" | "rr" => Model::RepeatableRead,
            "snapshot-isolation" | "si" | "snapshot" => Model::SnapshotIsolation,
            "serializable" => Model::Serializable,
            "strict-serializable" | "strict" => Model::StrictSerializable,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Model::ReadCommitted => "read-committed",
            Model::RepeatableRead => "repeatable-read",
            Model::SnapshotIsolation => "snapshot-isolation",
            Model::Serializable => "serializable",
            Model::StrictSerializable => "strict-serializable",
        }
    }

    /// Whether this model rules out an anomaly of this kind.
    pub fn forbids(self, kind: &str) -> bool {
        if ALWAYS.contains(&kind) || READ_COMMITTED.contains(&kind) {
            return true;
        }
        let realtime = kind.ends_with("-realtime") || kind.ends_with("-process");
        match self {
            Model::ReadCommitted => false,
            Model::RepeatableRead => REPEATABLE_READ.contains(&kind),
            Model::SnapshotIsolation => SNAPSHOT.contains(&kind),
            Model::Serializable => REPEATABLE_READ.contains(&kind) || SNAPSHOT.contains(&kind),
            Model::StrictSerializable => {
                !kind.is_empty()
                    && (realtime || REPEATABLE_READ.contains(&kind) || SNAPSHOT.contains(&kind))
            }
        }
    }

    /// Models this one implies (a serializable history is also snapshot-isolated…).
    pub fn implies(self, other: Model) -> bool {
        use Model::*;
        matches!(
            (self, other),
            (a, b) if a == b
        ) || matches!(
            (self, other),
            (StrictSerializable, _)
                | (
                    Serializable,
                    ReadCommitted | RepeatableRead | SnapshotIsolation
                )
                | (RepeatableRead | SnapshotIsolation, ReadCommitted)
        )
    }
}

/// The verdict for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Valid,
    Invalid,
    /// The search ran out of time before it could rule cycles out.
    Unknown,
}

/// Checks a set of found anomaly kinds against a model.
pub fn validity(model: Model, kinds: &[String], incomplete: bool) -> Validity {
    if kinds.iter().any(|k| model.forbids(k)) {
        Validity::Invalid
    } else if incomplete {
        Validity::Unknown
    } else {
        Validity::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_table() {
        assert!(!Model::SnapshotIsolation.forbids("G2-item"));
        assert!(Model::Serializable.forbids("G2-item"));
        assert!(Model::RepeatableRead.forbids("lost-update"));
        assert!(!Model::ReadCommitted.forbids("G-single"));
        assert!(!Model::Serializable.forbids("G-single-realtime"));
        assert!(Model::StrictSerializable.forbids("G-single-realtime"));
        assert!(Model::ReadCommitted.forbids("garbage-read"));
        assert!(Model::StrictSerializable.implies(Model::ReadCommitted));
        assert!(!Model::SnapshotIsolation.implies(Model::RepeatableRead));
    }
}
