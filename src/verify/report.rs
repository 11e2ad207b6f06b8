//! Verdicts and their presentation: text for people, JSON for machines, Graphviz for cycles.

use super::checker::Analysis;
use super::model::{validity, Model, Validity, MODELS};
use serde_json::json;
use std::fmt::Write;

/// The verdict for every model.
pub fn verdicts(an: &Analysis) -> Vec<(Model, Validity)> {
    let kinds = an.kinds();
    MODELS
        .iter()
        .map(|&m| (m, validity(m, &kinds, an.incomplete)))
        .collect()
}

/// The weakest model the history violates.
pub fn weakest_violated(an: &Analysis) -> Option<Model> {
    verdicts(an)
        .into_iter()
        .find(|(_, v)| *v == Validity::Invalid)
        .map(|(m, _)| m)
}

/// The strongest model the history satisfies (a model counts only if it is valid).
pub fn strongest_satisfied(an: &Analysis) -> Option<Model> {
    verdicts(an)
        .into_iter()
        .rev()
        .find(|(_, v)| *v == Validity::Valid)
        .map(|(m, _)| m)
}

/// The human-readable report.
pub fn text(an: &Analysis, expect: Model) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "checked {} transactions ({} committed, {} failed, {} indeterminate) in {:.2} s",
        an.transactions, an.committed, an.failed, an.indeterminate, an.seconds
    );
    if an.counts.is_empty() {
        s.push_str("no anomalies found\n");
    } else {
        s.push_str("anomalies:\n");
        for (k, n) in &an.counts {
            let _ = writeln!(s, "  {k:<22} {n}");
        }
    }
    if an.incomplete {
        s.push_str("the cycle search ran out of time in at least one component: models it could not rule on are 'unknown'\n");
    }
    s.push_str("models:\n");
    for (m, v) in verdicts(an) {
        let _ = writeln!(s, "  {:<22} {:?}", m.name(), v);
    }
    let _ = writeln!(
        s,
        "weakest violated: {}; strongest satisfied: {}",
        weakest_violated(an).map(|m| m.name()).unwrap_or("none"),
        strongest_satisfied(an).map(|m| m.name()).unwrap_or("none")
    );
    let v = validity(expect, &an.kinds(), an.incomplete);
    let _ = writeln!(
        s,
        "expected {}: {}",
        expect.name(),
        match v {
            Validity::Valid => "VALID".to_string(),
            Validity::Invalid => "INVALID".to_string(),
            Validity::Unknown => "UNKNOWN (search incomplete)".to_string(),
        }
    );
    for a in an.anomalies.iter().filter(|a| expect.forbids(&a.kind)) {
        let _ = writeln!(
            s,
            "\n{}:\n  {}",
            a.kind,
            a.explanation.replace('\n', "\n  ")
        );
    }
    let allowed: Vec<&String> = an.counts.keys().filter(|k| !expect.forbids(k)).collect();
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

/// The machine-readable report.
pub fn to_json(an: &Analysis, expect: Model) -> serde_json::Value {
    json!({
        "expected": expect.name(),
        "valid": validity(expect, &an.kinds(), an.incomplete),
        "models": verdicts(an).iter().map(|(m, v)| (m.name().to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "weakest_violated": weakest_violated(an).map(|m| m.name()),
        "strongest_satisfied": strongest_satisfied(an).map(|m| m.name()),
        "analysis": an,
    })
}

/// The cycles found, as a Graphviz digraph.
pub fn dot(an: &Analysis) -> String {
    let mut s = String::from("digraph anomalies {\n  node [shape=box, fontname=\"monospace\"];\n");
    for (i, a) in an
        .anomalies
        .iter()
        .filter(|a| !a.cycle.is_empty())
        .enumerate()
    {
        let _ = writeln!(s, "  subgraph cluster_{i} {{\n    label=\"{}\";", a.kind);
        for c in &a.cycle {
            let _ = writeln!(
                s,
                "    \"{i}_T{}\" [label=\"T{}\"];\n    \"{i}_T{}\" -> \"{i}_T{}\" [label=\"{}\", tooltip=\"{}\"];",
                c.from,
                c.from,
                c.from,
                c.to,
                c.kind,
                c.explanation.replace('"', "'")
            );
        }
        s.push_str("  }\n");
    }
    s.push_str("}\n");
    s
}
