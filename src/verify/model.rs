//! Consistency models, anomaly kinds, and how they relate, after Elle's
//! `consistency-model` namespace: which models imply which, which anomalies imply which, and
//! which anomalies each model proscribes directly. A model is ruled out by an anomaly when it
//! (or a model it implies) proscribes that anomaly or one the anomaly implies.

use serde::{Serialize, Serializer};

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($v),* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// The name Elle uses.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }
            /// The value with this name, if any.
            pub fn from_name(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$v),)* _ => None }
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum!(
    /// A kind of anomaly, named as Elle names it. `garbage-read` (a read of a value no
    /// transaction wrote) is dbarena's own: Elle would ignore or crash on it.
    Kind {
        G0 = "G0",
        G0Process = "G0-process",
        G0Realtime = "G0-realtime",
        G1 = "G1",
        G1Process = "G1-process",
        G1Realtime = "G1-realtime",
        G1a = "G1a",
        G1b = "G1b",
        G1c = "G1c",
        G1cProcess = "G1c-process",
        G1cRealtime = "G1c-realtime",
        GSingle = "G-single",
        GSingleProcess = "G-single-process",
        GSingleRealtime = "G-single-realtime",
        GSingleItem = "G-single-item",
        GSingleItemProcess = "G-single-item-process",
        GSingleItemRealtime = "G-single-item-realtime",
        GNonadjacent = "G-nonadjacent",
        GNonadjacentProcess = "G-nonadjacent-process",
        GNonadjacentRealtime = "G-nonadjacent-realtime",
        GNonadjacentItem = "G-nonadjacent-item",
        GNonadjacentItemProcess = "G-nonadjacent-item-process",
        GNonadjacentItemRealtime = "G-nonadjacent-item-realtime",
        G2 = "G2",
        G2Process = "G2-process",
        G2Realtime = "G2-realtime",
        G2Item = "G2-item",
        G2ItemProcess = "G2-item-process",
        G2ItemRealtime = "G2-item-realtime",
        GSIa = "GSIa",
        GSIb = "GSIb",
        GSI = "GSI",
        GCursor = "G-cursor",
        GMonotonic = "G-monotonic",
        GMsr = "G-MSR",
        GUpdate = "G-update",
        Internal = "internal",
        FutureRead = "future-read",
        DirtyUpdate = "dirty-update",
        LostUpdate = "lost-update",
        WriteSkew = "write-skew",
        DuplicateElements = "duplicate-elements",
        IncompatibleOrder = "incompatible-order",
        CyclicVersions = "cyclic-versions",
        GarbageRead = "garbage-read",
        Pl1CycleExists = "PL-1-cycle-exists",
        Pl2CycleExists = "PL-2-cycle-exists",
        Pl299CycleExists = "PL-2.99-cycle-exists",
        PlSiCycleExists = "PL-SI-cycle-exists",
        Pl3CycleExists = "PL-3-cycle-exists",
        PlSsCycleExists = "PL-SS-cycle-exists",
        StrongSessionPl1CycleExists = "strong-session-PL-1-cycle-exists",
        StrongSessionPl2CycleExists = "strong-session-PL-2-cycle-exists",
        StrongSessionSiCycleExists = "strong-session-snapshot-isolation-cycle-exists",
        StrongSessionSerializableCycleExists = "strong-session-serializable-cycle-exists",
        StrongPl1CycleExists = "strong-PL-1-cycle-exists",
        StrongPl2CycleExists = "strong-PL-2-cycle-exists",
        StrongSiCycleExists = "strong-snapshot-isolation-cycle-exists",
    }
);

named_enum!(
    /// A consistency model a history can be checked against.
    Model {
        ReadUncommitted = "read-uncommitted",
        ReadCommitted = "read-committed",
        CursorStability = "cursor-stability",
        MonotonicView = "monotonic-view",
        MonotonicSnapshotRead = "monotonic-snapshot-read",
        ConsistentView = "consistent-view",
        ForwardConsistentView = "forward-consistent-view",
        UpdateSerializable = "update-serializable",
        MonotonicAtomicView = "monotonic-atomic-view",
        ReadAtomic = "read-atomic",
        CausalCerone = "causal-cerone",
        Prefix = "prefix",
        ParallelSnapshotIsolation = "parallel-snapshot-isolation",
        Rola = "ROLA",
        RepeatableRead = "repeatable-read",
        SnapshotIsolation = "snapshot-isolation",
        Serializable = "serializable",
        StrongSessionReadUncommitted = "strong-session-read-uncommitted",
        StrongSessionReadCommitted = "strong-session-read-committed",
        StrongReadUncommitted = "strong-read-uncommitted",
        StrongReadCommitted = "strong-read-committed",
        StrongSessionSnapshotIsolation = "strong-session-snapshot-isolation",
        StrongSnapshotIsolation = "strong-snapshot-isolation",
        StrongSessionSerializable = "strong-session-serializable",
        StrictSerializable = "strict-serializable",
    }
);

/// The models reported in summaries, weakest first (the others are still ruled on).
pub const MODELS: [Model; 10] = [
    Model::ReadUncommitted,
    Model::ReadCommitted,
    Model::MonotonicAtomicView,
    Model::RepeatableRead,
    Model::SnapshotIsolation,
    Model::Serializable,
    Model::StrongSessionSnapshotIsolation,
    Model::StrongSessionSerializable,
    Model::StrongSnapshotIsolation,
    Model::StrictSerializable,
];

impl Kind {
    /// Anomalies this one implies (Elle's `implied-anomalies`).
    fn implies(self) -> &'static [Kind] {
        use Kind::*;
        match self {
            G0 => &[G1c, G0Process],
            G0Process => &[G1cProcess, G0Realtime],
            G0Realtime => &[G1cRealtime],
            G1a | G1b => &[G1],
            G1c => &[G1, G1cProcess],
            G1cProcess => &[G1cRealtime, G1Process],
            G1cRealtime => &[G1Realtime],
            G1 => &[G1Process],
            G1Process => &[G1Realtime],
            GSingleItem => &[GSingle, GSingleItemProcess, GNonadjacentItem],
            GSingleItemProcess => &[GSingleProcess, GSingleItemRealtime, GNonadjacentItemProcess],
            GSingleItemRealtime => &[GSingleRealtime, GNonadjacentItemRealtime],
            GSingle => &[GNonadjacent, GSIb, GSingleProcess],
            GSingleProcess => &[GNonadjacentProcess, GSingleRealtime],
            GSingleRealtime => &[GNonadjacentRealtime],
            GNonadjacentItem => &[GNonadjacent, G2Item, GNonadjacentItemProcess],
            GNonadjacentItemProcess => {
                &[GNonadjacentProcess, G2ItemProcess, GNonadjacentItemRealtime]
            }
            GNonadjacentItemRealtime => &[G2ItemRealtime, GNonadjacentRealtime],
            GNonadjacent => &[G2, GNonadjacentProcess],
            GNonadjacentProcess => &[G2Process, GNonadjacentRealtime],
            GNonadjacentRealtime => &[G2Realtime],
            G2 => &[G2Process],
            G2Item => &[G2, G2ItemProcess],
            G2ItemProcess => &[G2Process, G2ItemRealtime],
            G2ItemRealtime => &[G2Realtime],
            G2Process => &[G2Realtime],
            GSIa | GSIb => &[GSI],
            IncompatibleOrder | DirtyUpdate => &[G1a],
            FutureRead => &[G1c],
            LostUpdate => &[WriteSkew, G2Item],
            WriteSkew => &[G2],
            _ => &[],
        }
    }

    /// This anomaly and every anomaly it implies, transitively.
    pub fn closure(self) -> Vec<Kind> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            for &k in out[i].implies() {
                if !out.contains(&k) {
                    out.push(k);
                }
            }
            i += 1;
        }
        out
    }

    /// Anomalies that make a verdict unknown rather than invalid never exist as kinds; a
    /// cycle-exists kind stands for "some cycle the model forbids, not yet named".
    pub fn is_cycle_exists(self) -> bool {
        self.name().ends_with("-cycle-exists")
    }
}

impl Model {
    /// Models this one implies directly (Elle's `models` graph).
    fn implies_directly(self) -> &'static [Model] {
        use Model::*;
        match self {
            CausalCerone => &[ReadAtomic],
            ConsistentView => &[CursorStability, MonotonicView],
            CursorStability => &[ReadCommitted],
            ForwardConsistentView => &[ConsistentView],
            ReadCommitted => &[ReadUncommitted],
            Serializable => &[RepeatableRead, UpdateSerializable, SnapshotIsolation],
            UpdateSerializable => &[ForwardConsistentView],
            MonotonicAtomicView | MonotonicView | MonotonicSnapshotRead => &[ReadCommitted],
            ParallelSnapshotIsolation => &[CausalCerone, Rola],
            Prefix => &[CausalCerone],
            ReadAtomic => &[MonotonicAtomicView],
            RepeatableRead => &[CursorStability, MonotonicAtomicView],
            Rola => &[ReadAtomic],
            SnapshotIsolation => &[
                ForwardConsistentView,
                MonotonicAtomicView,
                MonotonicSnapshotRead,
                ParallelSnapshotIsolation,
                Prefix,
            ],
            StrictSerializable => &[
                Serializable,
                SnapshotIsolation,
                StrongSnapshotIsolation,
                StrongSessionSerializable,
            ],
            StrongSessionReadUncommitted => &[ReadUncommitted],
            StrongSessionReadCommitted => &[ReadCommitted, StrongSessionReadUncommitted],
            StrongReadUncommitted => &[StrongSessionReadUncommitted],
            StrongReadCommitted => &[StrongSessionReadCommitted, StrongReadUncommitted],
            StrongSessionSerializable => &[Serializable, StrongSessionSnapshotIsolation],
            StrongSessionSnapshotIsolation => &[SnapshotIsolation, StrongSessionReadCommitted],
            StrongSnapshotIsolation => &[StrongSessionSnapshotIsolation, StrongReadCommitted],
            ReadUncommitted => &[],
        }
    }

    /// Anomalies this model proscribes directly (Elle's `direct-proscribed-anomalies`).
    fn proscribes_directly(self) -> &'static [Kind] {
        use Kind::*;
        match self {
            Model::CausalCerone | Model::ParallelSnapshotIsolation | Model::Prefix => {
                &[Internal, G1a]
            }
            Model::CursorStability => &[G1, GCursor, LostUpdate],
            Model::MonotonicView => &[G1, GMonotonic],
            Model::MonotonicSnapshotRead => &[G1, GMsr],
            Model::ConsistentView => &[G1, GSingle],
            Model::ForwardConsistentView => &[G1, GSIb],
            Model::Serializable => &[G1, G2, Internal, Pl3CycleExists],
            Model::ReadCommitted => &[G1, Pl2CycleExists],
            Model::ReadUncommitted => &[
                G0,
                DuplicateElements,
                CyclicVersions,
                GarbageRead,
                Pl1CycleExists,
            ],
            Model::SnapshotIsolation => &[Internal, G1, GSI, GNonadjacent, PlSiCycleExists],
            Model::ReadAtomic => &[Internal, G1a, FutureRead],
            Model::RepeatableRead => &[G1, G2Item, LostUpdate, Pl299CycleExists],
            Model::Rola => &[LostUpdate],
            Model::StrictSerializable => &[G1, G1cRealtime, G2Realtime, PlSsCycleExists],
            Model::StrongSessionReadUncommitted => &[G0Process, StrongSessionPl1CycleExists],
            Model::StrongSessionReadCommitted => &[G1cProcess, StrongSessionPl2CycleExists],
            Model::StrongReadUncommitted => &[G0Realtime, StrongPl1CycleExists],
            Model::StrongReadCommitted => &[G1cRealtime, StrongPl2CycleExists],
            Model::StrongSessionSnapshotIsolation => &[
                Internal,
                G1Process,
                GNonadjacentProcess,
                StrongSessionSiCycleExists,
            ],
            Model::StrongSnapshotIsolation => &[
                Internal,
                G1Realtime,
                GNonadjacentRealtime,
                StrongSiCycleExists,
            ],
            Model::StrongSessionSerializable => {
                &[G1Process, G2Process, StrongSessionSerializableCycleExists]
            }
            Model::UpdateSerializable => &[G1, GUpdate],
            Model::MonotonicAtomicView => &[],
        }
    }

    /// This model and every model it implies, transitively.
    pub fn closure(self) -> Vec<Model> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            for &m in out[i].implies_directly() {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
            i += 1;
        }
        out
    }

    /// Whether a history satisfying `self` also satisfies `other`.
    pub fn implies(self, other: Model) -> bool {
        self.closure().contains(&other)
    }

    /// Whether an anomaly of this kind rules the model out.
    pub fn forbids(self, kind: Kind) -> bool {
        let implied = kind.closure();
        self.closure()
            .iter()
            .any(|m| m.proscribes_directly().iter().any(|p| implied.contains(p)))
    }

    /// The model that transactions run at `isolation` must satisfy (serializable when unset).
    pub fn for_isolation(isolation: Option<crate::db::Isolation>) -> Model {
        use crate::db::Isolation;
        match isolation {
            Some(Isolation::ReadCommitted) => Model::ReadCommitted,
            Some(Isolation::RepeatableRead) => Model::RepeatableRead,
            _ => Model::Serializable,
        }
    }

    /// Parses a model name (Elle's names, plus a few short forms).
    pub fn parse(s: &str) -> Option<Model> {
        let s = s
            .trim_start_matches(':')
            .to_ascii_lowercase()
            .replace('_', "-");
        Some(match s.as_str() {
            "ru" | "pl-1" => Model::ReadUncommitted,
            "rc" | "pl-2" => Model::ReadCommitted,
            "rr" | "pl-2.99" => Model::RepeatableRead,
            "si" | "snapshot" | "pl-si" => Model::SnapshotIsolation,
            "pl-3" | "conflict-serializable" => Model::Serializable,
            "strict" | "strong-serializable" | "pl-ss" => Model::StrictSerializable,
            "mav" => Model::MonotonicAtomicView,
            "rola" => Model::Rola,
            "strong-session-pl-1" => Model::StrongSessionReadUncommitted,
            "strong-session-pl-2" => Model::StrongSessionReadCommitted,
            "strong-pl-1" => Model::StrongReadUncommitted,
            "strong-pl-2" => Model::StrongReadCommitted,
            other => return Model::ALL.iter().copied().find(|m| m.name() == other),
        })
    }

    /// Every name `parse` accepts, for error messages.
    pub fn names() -> String {
        Model::ALL
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The verdict for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Valid,
    Invalid,
    /// Nothing to check, or the search could not rule cycles out.
    Unknown,
}

/// Checks a set of found anomaly kinds against a model.
pub fn validity_of(model: Model, kinds: &[Kind], unknown: bool) -> Validity {
    if kinds.iter().any(|&k| model.forbids(k)) {
        Validity::Invalid
    } else if unknown {
        Validity::Unknown
    } else {
        Validity::Valid
    }
}

/// Checks anomaly kinds given by name (as `Analysis::kinds` lists them) against a model.
/// Unknown names count as anomalies no model forbids.
pub fn validity(model: Model, kinds: &[String], unknown: bool) -> Validity {
    let kinds: Vec<Kind> = kinds.iter().filter_map(|k| Kind::from_name(k)).collect();
    validity_of(model, &kinds, unknown)
}

/// The models ruled out by these anomalies.
pub fn impossible(kinds: &[Kind]) -> Vec<Model> {
    Model::ALL
        .iter()
        .copied()
        .filter(|m| kinds.iter().any(|&k| m.forbids(k)))
        .collect()
}

/// Of a set of models, those not implied by another in the set: the weakest ones ruled out.
pub fn weakest(ms: &[Model]) -> Vec<Model> {
    ms.iter()
        .copied()
        .filter(|&m| !ms.iter().any(|&o| o != m && m.implies(o)))
        .collect()
}

/// Of a set of models, those that imply no other… rather, that no other in the set implies:
/// the strongest ones still possible.
pub fn strongest(ms: &[Model]) -> Vec<Model> {
    ms.iter()
        .copied()
        .filter(|&m| !ms.iter().any(|&o| o != m && o.implies(m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_table() {
        use Kind::*;
        assert!(!Model::SnapshotIsolation.forbids(G2Item));
        assert!(Model::Serializable.forbids(G2Item));
        assert!(Model::RepeatableRead.forbids(LostUpdate));
        assert!(!Model::ReadCommitted.forbids(GSingleItem));
        assert!(Model::SnapshotIsolation.forbids(GSingleItem));
        assert!(!Model::Serializable.forbids(G1cRealtime));
        assert!(Model::StrictSerializable.forbids(G1cRealtime));
        assert!(Model::StrictSerializable.forbids(GSingleItemRealtime));
        assert!(!Model::Serializable.forbids(GSingleItemProcess));
        assert!(Model::StrongSessionSerializable.forbids(GSingleItemProcess));
        assert!(!Model::StrongSessionSerializable.forbids(GSingleItemRealtime));
        assert!(Model::ReadUncommitted.forbids(G0));
        assert!(!Model::ReadUncommitted.forbids(G1a));
        assert!(Model::ReadCommitted.forbids(G1a));
        assert!(Model::ReadCommitted.forbids(FutureRead));
        assert!(Model::ReadCommitted.forbids(IncompatibleOrder));
        assert!(!Model::ReadCommitted.forbids(Internal));
        assert!(Model::RepeatableRead.forbids(LostUpdate));
        assert!(Model::SnapshotIsolation.forbids(LostUpdate));
        assert!(Model::StrictSerializable.implies(Model::ReadCommitted));
        assert!(!Model::SnapshotIsolation.implies(Model::RepeatableRead));
        for m in Model::ALL {
            assert_eq!(Model::parse(m.name()), Some(*m));
        }
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(*k));
        }
        let imp = impossible(&[G2Item]);
        assert_eq!(weakest(&imp), vec![Model::RepeatableRead]);
    }
}
