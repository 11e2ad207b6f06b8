//! Rows that agree with themselves: dates of one row in a plausible order (birth 18–70 years
//! before hire, created before updated, ordered before shipped before delivered, started
//! before ended). Names, emails and user names of a row come from one person, and city,
//! state, postal code and country from one place, through the `person` and `place`
//! generators (see [`super::meaning`]); this module links the dates.

use super::generators::{name_hash, Gen};
use super::meaning::{snake, table_kind, TableKind};
use crate::schema::{ColKind, TableInfo};

const DAY: i64 = 86_400;
const YEAR: i64 = 365 * DAY + DAY / 4;
/// 2000-01-01, 2020-01-01, 2025-01-01 in microseconds.
const Y2000: i64 = 946_684_800_000_000;
const Y2020: i64 = 1_577_836_800_000_000;
const Y2025: i64 = 1_735_689_600_000_000;

/// A date or time column's generator and meaning.
pub struct Moment {
    pub column: String,
    pub gen: Gen,
    pub meaning: String,
}

fn is_time(k: &ColKind) -> bool {
    matches!(k, ColKind::Timestamp | ColKind::Date)
}

/// Roles of date columns, first name that matches wins.
const BIRTH: &[&str] = &[
    "birth_date",
    "birthdate",
    "date_of_birth",
    "dob",
    "born",
    "birthday",
    "born_on",
];
const HIRE: &[&str] = &[
    "hire_date",
    "hiredate",
    "hired_at",
    "hired_on",
    "employed_since",
    "start_date",
];
const CREATED: &[&str] = &[
    "created_at",
    "created",
    "created_on",
    "creation_date",
    "inserted_at",
    "create_time",
    "date_created",
];
const UPDATED: &[&str] = &[
    "updated_at",
    "updated",
    "updated_on",
    "modified_at",
    "modified",
    "last_modified",
    "update_time",
    "date_modified",
    "last_updated",
];
const ORDERED: &[&str] = &[
    "order_date",
    "ordered_at",
    "placed_at",
    "invoice_date",
    "purchase_date",
    "purchased_at",
    "orderdate",
];
const SHIPPED: &[&str] = &[
    "shipped_date",
    "shipped_at",
    "ship_date",
    "shipment_date",
    "dispatched_at",
];
const DELIVERED: &[&str] = &[
    "delivered_at",
    "delivery_date",
    "delivered_date",
    "received_at",
    "required_date",
];
const STARTED: &[&str] = &[
    "started_at",
    "start_time",
    "starts_at",
    "begin_at",
    "valid_from",
    "start",
];
const ENDED: &[&str] = &[
    "ended_at",
    "end_time",
    "ends_at",
    "finished_at",
    "end_date",
    "valid_to",
    "end",
    "completed_at",
];

/// Names of the first, second and third moment, the gaps after the first and the second,
/// and what the later moments mean.
type Chain = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    (i64, i64),
    (i64, i64),
    &'static str,
);

fn find<'a>(info: &'a TableInfo, names: &[&str]) -> Option<&'a str> {
    info.columns
        .iter()
        .filter(|c| is_time(&c.kind))
        .find(|c| names.contains(&snake(&c.name).as_str()))
        .map(|c| c.name.as_str())
}

fn linked(table: &str, anchor: &str, start: i64, end: i64, gaps: Vec<(i64, i64)>) -> Gen {
    let chain = format!("{table}.{anchor}");
    Gen::Linked {
        salt: name_hash(&chain),
        chain,
        start,
        end,
        gaps,
    }
}

/// The date columns of a table that belong to a chain, with their generators.
pub fn moments(info: &TableInfo) -> Vec<Moment> {
    let t = info.name.as_str();
    let mut out = Vec::new();
    let mut push = |column: &str, gen: Gen, meaning: &str| {
        if !out.iter().any(|m: &Moment| m.column == column) {
            out.push(Moment {
                column: column.to_string(),
                gen,
                meaning: meaning.to_string(),
            });
        }
    };
    let people = table_kind(t) == TableKind::People;
    // Birth and hire: hired 2000–2024, born 18–70 years (and two days, for dates) before.
    let hire = find(info, HIRE).filter(|_| people || find(info, BIRTH).is_some());
    match (find(info, BIRTH), hire) {
        (Some(b), Some(h)) => {
            push(
                h,
                linked(t, h, Y2000, Y2025, vec![]),
                "hire date, 2000–2024",
            );
            push(
                b,
                linked(
                    t,
                    h,
                    Y2000,
                    Y2025,
                    vec![(-70 * YEAR + 2 * DAY, -18 * YEAR - 2 * DAY)],
                ),
                "birth date: 18–70 years before the row's hire date",
            );
        }
        (Some(b), None) => push(
            b,
            linked(t, b, Y2000 - 45 * YEAR, Y2000 + 6 * YEAR, vec![]),
            "birth date: 1955–2005 (adults)",
        ),
        _ => {}
    }
    let pairs: [Chain; 3] = [
        (
            CREATED,
            UPDATED,
            &[],
            (0, 180 * DAY),
            (0, 0),
            "after the row's creation",
        ),
        (
            ORDERED,
            SHIPPED,
            DELIVERED,
            (DAY, 7 * DAY),
            (DAY, 10 * DAY),
            "after the row's order",
        ),
        (
            STARTED,
            ENDED,
            &[],
            (60, 30 * DAY),
            (0, 0),
            "after the row's start",
        ),
    ];
    for (first, second, third, gap1, gap2, what) in pairs {
        let Some(a) = find(info, first) else { continue };
        push(
            a,
            linked(t, a, Y2020, Y2025, vec![]),
            "anchor of the row's dates, 2020–2024",
        );
        if let Some(b) = find(info, second) {
            push(b, linked(t, a, Y2020, Y2025, vec![gap1]), what);
            if let Some(c) = find(info, third) {
                push(c, linked(t, a, Y2020, Y2025, vec![gap1, gap2]), what);
            }
        } else if let Some(c) = find(info, third) {
            push(c, linked(t, a, Y2020, Y2025, vec![gap1]), what);
        }
    }
    out
}

/// Totals that should be the sum of their lines: a money column named total, amount or
/// subtotal in a table that another planned table references, when that child has a price
/// and a quantity (or a single amount) to add up.
pub fn derive_totals(
    rules: &mut [super::config::TableRule],
    infos: &std::collections::HashMap<String, TableInfo>,
) {
    let planned: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    for r in rules.iter_mut() {
        let Some(parent) = infos.get(&r.name) else {
            continue;
        };
        let Some(total) = parent.columns.iter().find(|c| {
            matches!(c.kind, ColKind::Decimal { .. } | ColKind::Float)
                && ["total", "amount", "subtotal", "total_amount", "order_total"]
                    .contains(&snake(&c.name).as_str())
        }) else {
            continue;
        };
        for child in planned.iter().filter(|c| **c != r.name) {
            let Some(ci) = infos.get(child) else { continue };
            let Some(fk) = ci.foreign_keys.iter().find(|f| f.ref_table == r.name) else {
                continue;
            };
            let col = |names: &[&str]| {
                ci.columns
                    .iter()
                    .find(|c| names.contains(&snake(&c.name).as_str()))
                    .map(|c| c.name.clone())
            };
            let price = col(&["unit_price", "unitprice", "price", "item_price"]);
            let qty = col(&["quantity", "qty", "units"]);
            let amount = col(&["amount", "line_total", "subtotal", "total"]);
            let sum = match (price, qty, amount) {
                (Some(p), Some(q), _) => format!("{p} * {q}"),
                (_, _, Some(a)) => a,
                _ => continue,
            };
            if !r.derived.iter().any(|d| d.column == total.name) {
                r.derived.push(super::config::Derived {
                    column: total.name.clone(),
                    sum,
                    from: child.clone(),
                    key: fk.column.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnInfo;
    use crate::value::Value;

    fn col(name: &str, kind: ColKind) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            sql_type: String::new(),
            kind,
            nullable: true,
            auto_generated: false,
            has_default: false,
            unique: false,
        }
    }

    #[test]
    fn birth_before_hire_and_created_before_updated() {
        let info = TableInfo {
            name: "employees".into(),
            columns: vec![
                col("BirthDate", ColKind::Date),
                col("HireDate", ColKind::Timestamp),
                col("created_at", ColKind::Timestamp),
                col("updated_at", ColKind::Timestamp),
            ],
            primary_key: vec![],
            foreign_keys: vec![],
            row_count: 0,
            unique_keys: vec![],
            index_notes: vec![],
        };
        let m = moments(&info);
        assert_eq!(m.len(), 4);
        let gen = |c: &str| super::super::generators::ColumnGen {
            name: c.into(),
            gen: m.iter().find(|x| x.column == c).unwrap().gen.clone(),
            null_probability: 0.0,
            max_len: None,
            reason: None,
        };
        let ts = |v: Value| match v {
            Value::Timestamp(t) => t / 1_000_000,
            v => panic!("{v:?}"),
        };
        let (b, h, c, u) = (
            gen("BirthDate"),
            gen("HireDate"),
            gen("created_at"),
            gen("updated_at"),
        );
        for row in 0..2000 {
            let age = ts(h.value(1, row)) - ts(b.value(2, row));
            assert!((18 * YEAR..=70 * YEAR).contains(&age), "row {row}: {age}");
            assert!(ts(u.value(3, row)) >= ts(c.value(4, row)));
        }
    }
}
