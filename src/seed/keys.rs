//! Composite keys: unique combinations for multi-column primary keys and UNIQUE constraints
//! (link tables of two foreign keys, `(invoice_id, line_no)`, ...). Row `n` gets combination
//! `π(n)` of a fixed permutation of all combinations, so no combination repeats, and a value
//! still depends only on (seed, table, row).

use super::config::TableRule;
use super::generators::{Gen, Piece};
use crate::datagen::keys::KeySet;
use crate::schema::{ColKind, TableInfo};
use crate::value::Value;
use std::sync::Arc;

/// Where one column of a composite key takes its values from.
#[derive(Debug, Clone)]
pub enum Domain {
    /// The keys of a referenced table.
    Keys(Arc<KeySet>),
    /// Integers `start..start+len`.
    Ints { start: i64, len: u64 },
    /// `prefix` + `1..=len`.
    Text { prefix: String, len: u64 },
}

impl Domain {
    fn len(&self) -> u64 {
        match self {
            Domain::Keys(k) => k.len(),
            Domain::Ints { len, .. } | Domain::Text { len, .. } => *len,
        }
    }

    fn get(&self, i: u64) -> Value {
        match self {
            Domain::Keys(k) => k.get(i),
            Domain::Ints { start, .. } => Value::Int(start + i as i64),
            Domain::Text { prefix, .. } => Value::Text(format!("{prefix}{}", i + 1)),
        }
    }
}

/// All combinations of some columns' domains, visited in a fixed pseudo-random order.
#[derive(Debug)]
pub struct ComboSpace {
    domains: Vec<Domain>,
    /// Number of combinations (capped at 2^62: more than any table needs).
    total: u128,
    mult: u128,
    add: u128,
}

const CAP: u128 = 1 << 62;

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl ComboSpace {
    pub fn new(domains: Vec<Domain>, seed: u64) -> ComboSpace {
        let mut total: u128 = 1;
        for d in &domains {
            total = (total * d.len() as u128).min(CAP);
        }
        // An affine map n -> (mult * n + add) mod total is a permutation when gcd(mult, total) = 1.
        let mut mult = if total > 2 {
            ((total as f64 * 0.618_033_988_7) as u128).max(1) | 1
        } else {
            1
        };
        while total > 1 && gcd(mult, total) != 1 {
            mult += 2;
        }
        let add = if total > 0 { seed as u128 % total } else { 0 };
        ComboSpace {
            domains,
            total,
            mult,
            add,
        }
    }

    pub fn total(&self) -> u128 {
        self.total
    }

    /// Component `part` of the combination of row `row` (row < total).
    pub fn value(&self, row: u64, part: usize) -> Value {
        if self.total == 0 {
            return Value::Null;
        }
        let mut idx = (self.mult * (row as u128 % self.total) + self.add) % self.total;
        // Mixed radix, the last column varying fastest.
        for (i, d) in self.domains.iter().enumerate().rev() {
            let len = (d.len() as u128).max(1);
            let digit = idx % len;
            idx /= len;
            if i == part {
                return d.get(digit as u64);
            }
        }
        Value::Null
    }
}

/// A composite key that was given unique combinations, or could not be.
#[derive(Debug, Clone)]
pub struct KeyNote {
    pub columns: Vec<String>,
    pub note: String,
}

/// Why a composite key cannot be filled.
#[derive(Debug, Clone)]
pub struct TooMany {
    pub columns: Vec<String>,
    pub possible: u128,
}

/// The column groups that must be unique together: a primary key of two or more columns and
/// every composite UNIQUE constraint.
pub fn key_groups(info: &TableInfo) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if info.primary_key.len() > 1 {
        out.push(info.primary_key.clone());
    }
    out.extend(info.unique_keys.iter().filter(|k| k.len() > 1).cloned());
    out
}

/// A generator that is unique on its own (a composite key containing it needs nothing).
fn unique_alone(g: &Gen) -> bool {
    match g {
        Gen::Sequential { step, .. } => *step != 0,
        Gen::Uuid | Gen::YcsbKey => true,
        Gen::Email { unique } => *unique,
        Gen::Template(p) => p.iter().any(|p| matches!(p, Piece::Row)),
        _ => false,
    }
}

/// Replaces the generators of each composite key's columns (foreign keys already resolved)
/// by parts of one combination space. Returns what was done, or the key whose combinations
/// are fewer than the rows asked for.
pub fn apply(rule: &mut TableRule, info: &TableInfo, seed: u64) -> Result<Vec<KeyNote>, TooMany> {
    let mut notes = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for group in key_groups(info) {
        let idx: Vec<Option<usize>> = group
            .iter()
            .map(|c| rule.columns.iter().position(|g| &g.name == c))
            .collect();
        if idx.iter().any(|i| i.is_none()) {
            // A column filled by the database (or left out): nothing dbarena can combine.
            continue;
        }
        let idx: Vec<usize> = idx.into_iter().flatten().collect();
        if idx.iter().any(|&i| unique_alone(&rule.columns[i].gen)) {
            continue;
        }
        if group.iter().any(|c| taken.contains(c)) {
            notes.push(KeyNote {
                columns: group.clone(),
                note: "not handled: shares a column with another composite key".into(),
            });
            continue;
        }
        // Columns that are not foreign keys get a small range: twice what the rows need
        // beside the referenced keys (an invoice's lines 1..8, not 1..count).
        let referenced: u128 = idx
            .iter()
            .filter_map(|&i| match &rule.columns[i].gen {
                Gen::ForeignKey { keys, .. } => Some(keys.len() as u128),
                _ => None,
            })
            .product::<u128>()
            .max(1);
        let own = idx
            .iter()
            .filter(|&&i| !matches!(rule.columns[i].gen, Gen::ForeignKey { .. }))
            .count() as u32;
        let per = if own == 0 {
            1
        } else {
            let need = (rule.count as u128).div_ceil(referenced).max(1);
            // The own columns share the need: each gets its own root of it, doubled.
            let root = (need as f64).powf(1.0 / own as f64).ceil() as u64;
            (root.saturating_mul(2)).clamp(1, rule.count.max(1))
        };
        let mut domains = Vec::new();
        let mut ok = true;
        for &i in &idx {
            let c = &rule.columns[i];
            let kind = info.column(&c.name).map(|x| &x.kind);
            let d = match (&c.gen, kind) {
                (Gen::ForeignKey { keys, .. }, _) => Domain::Keys(keys.clone()),
                (_, Some(k)) if k.is_integer() => Domain::Ints { start: 1, len: per },
                (_, Some(ColKind::Text { max_len })) => {
                    let prefix = format!("{}_", c.name);
                    let digits = per.to_string().len();
                    if max_len.is_some_and(|m| (m as usize) < prefix.len() + digits) {
                        Domain::Text {
                            prefix: String::new(),
                            len: per,
                        }
                    } else {
                        Domain::Text { prefix, len: per }
                    }
                }
                _ => {
                    ok = false;
                    break;
                }
            };
            domains.push(d);
        }
        if !ok {
            notes.push(KeyNote {
                columns: group.clone(),
                note: "not handled: a column type dbarena cannot combine".into(),
            });
            continue;
        }
        let space = Arc::new(ComboSpace::new(
            domains,
            seed ^ super::generators::name_hash(&group.join(",")),
        ));
        if space.total() < rule.count as u128 {
            return Err(TooMany {
                columns: group,
                possible: space.total(),
            });
        }
        for (part, &i) in idx.iter().enumerate() {
            rule.columns[i].gen = Gen::KeyPart {
                space: space.clone(),
                part,
            };
            rule.columns[i].null_probability = 0.0;
        }
        notes.push(KeyNote {
            columns: group.clone(),
            note: format!("{} unique combinations", space.total()),
        });
        taken.extend(group);
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_combination_once() {
        for (a, b) in [(7u64, 13u64), (10, 10), (1, 50), (64, 2)] {
            let s = ComboSpace::new(
                vec![
                    Domain::Keys(Arc::new(KeySet::Dense {
                        min: 1,
                        max: a as i64,
                    })),
                    Domain::Ints { start: 1, len: b },
                ],
                42,
            );
            assert_eq!(s.total(), (a * b) as u128);
            let mut seen = HashSet::new();
            for r in 0..a * b {
                let k = (s.value(r, 0).to_string(), s.value(r, 1).to_string());
                assert!(seen.insert(k), "repeat at row {r} ({a}x{b})");
            }
        }
    }
}
