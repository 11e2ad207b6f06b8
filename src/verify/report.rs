//! Verdicts and their presentation: text for people, JSON for machines. Cycles as Graphviz
//! and SVG live in `explain`.

use super::checker::Analysis;
use super::model::{impossible, strongest, weakest, Model, Validity, MODELS};
use serde_json::json;
use std::fmt::Write;

pub use super::explain::{dot, svg};

/// The verdict for every summarised model.
pub fn verdicts(an: &Analysis) -> Vec<(Model, Validity)> {
    MODELS.iter().map(|&m| (m, an.validity(m))).collect()
}

/// Familiar models (those of the summary) first, then the rest of Elle's lattice.
fn familiar_first(mut ms: Vec<Model>) -> Vec<Model> {
    ms.sort_by_key(|m| (!MODELS.contains(m), *m));
    ms
}

/// The weakest models the history violates (over Elle's whole lattice).
pub fn weakest_violated(an: &Analysis) -> Vec<Model> {
    familiar_first(weakest(&impossible(&an.found)))
}

/// The strongest models the history satisfies; empty when any verdict is unknown.
pub fn strongest_satisfied(an: &Analysis) -> Vec<Model> {
    if an.incomplete {
        return vec![];
    }
    let bad = impossible(&an.found);
    let ok: Vec<Model> = Model::ALL
        .iter()
        .copied()
        .filter(|m| !bad.contains(m))
        .collect();
    familiar_first(strongest(&ok))
}

fn names(ms: &[Model]) -> String {
    if ms.is_empty() {
        "none".into()
    } else {
        ms.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
    }
}

/// The human-readable report.
pub fn text(an: &Analysis, expect: Model) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "checked {} {} transactions ({} committed, {} failed, {} indeterminate) in {:.2} s",
        an.transactions,
        match an.workload {
            super::Workload::ListAppend => "list-append",
            super::Workload::RwRegister => "rw-register",
        },
        an.committed,
        an.failed,
        an.indeterminate,
        an.seconds
    );
    if !an.errors.is_empty() {
        let e: Vec<String> = an.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(
            s,
            "errors of failed/indeterminate operations: {}",
            e.join(", ")
        );
    }
    if an.nothing_to_check {
        let _ = writeln!(
            s,
            "nothing to check: the history holds no transaction that may have committed ({} operations read, {} ignored)",
            an.operations, an.ignored
        );
    }
    for why in &an.unknown {
        let _ = writeln!(s, "cannot judge this history: {why}");
    }
    if an.counts.is_empty() {
        if !an.nothing_to_check {
            s.push_str("no anomalies found\n");
        }
    } else {
        s.push_str("anomalies:\n");
        for (k, n) in &an.counts {
            let _ = writeln!(s, "  {k:<28} {n}");
        }
    }
    if an.incomplete && !an.nothing_to_check && an.unknown.is_empty() {
        s.push_str("the cycle search ran out of time in at least one component: models not ruled out are 'unknown'\n");
    }
    s.push_str("models:\n");
    for (m, v) in verdicts(an) {
        let _ = writeln!(s, "  {:<36} {}", m.name(), verdict_word(v));
    }
    let _ = writeln!(
        s,
        "weakest violated: {}; strongest satisfied: {}",
        names(&weakest_violated(an)),
        names(&strongest_satisfied(an))
    );
    let v = an.validity(expect);
    let _ = writeln!(
        s,
        "expected {}: {}",
        expect.name(),
        match v {
            Validity::Valid => "VALID",
            Validity::Invalid => "INVALID",
            Validity::Unknown if an.nothing_to_check => "UNKNOWN (nothing to check)",
            Validity::Unknown if !an.unknown.is_empty() => "UNKNOWN (see above)",
            Validity::Unknown => "UNKNOWN (search incomplete)",
        }
    );
    for a in an.anomalies.iter().filter(|a| expect.forbids(a.kind)) {
        let _ = writeln!(
            s,
            "\n{}:\n  {}",
            a.kind,
            a.explanation.replace('\n', "\n  ")
        );
        if !a.where_.is_empty() {
            s.push_str("  where\n");
            for w in &a.where_ {
                let _ = writeln!(s, "    {w}");
            }
        }
    }
    let allowed: Vec<&String> = an
        .counts
        .keys()
        .filter(|k| super::model::Kind::from_name(k).is_some_and(|k| !expect.forbids(k)))
        .collect();
    if !allowed.is_empty() {
        let _ = writeln!(
            s,
            "\nalso seen, allowed by {}: {}",
            expect.name(),
            allowed
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

fn verdict_word(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "valid",
        Validity::Invalid => "INVALID",
        Validity::Unknown => "unknown",
    }
}

/// The machine-readable report.
pub fn to_json(an: &Analysis, expect: Model) -> serde_json::Value {
    json!({
        "expected": expect.name(),
        "valid": an.validity(expect),
        "models": verdicts(an).iter().map(|(m, v)| (m.name().to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        // The first of each set (familiar models first), as before; the whole sets beside.
        "weakest_violated": weakest_violated(an).first().map(|m| m.name()),
        "strongest_satisfied": strongest_satisfied(an).first().map(|m| m.name()),
        "weakest_violated_all": weakest_violated(an).iter().map(|m| m.name()).collect::<Vec<_>>(),
        "strongest_satisfied_all": strongest_satisfied(an).iter().map(|m| m.name()).collect::<Vec<_>>(),
        "analysis": an,
    })
}
