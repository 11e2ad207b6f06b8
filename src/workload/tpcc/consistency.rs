//! The consistency conditions of clause 3.3.2 that dbarena checks: 1 to 10 and 12
//! (11 holds for the initial database only, so a run is not checked against it). Each query returns the figures
//! per warehouse or district and the comparison is made here, with half a cent of slack
//! for SQLite, which keeps DECIMAL columns as floating point.

use crate::db::{Connection, DbError};
use crate::metrics::result::TpccCondition;
use std::collections::HashMap;

/// Violations named per condition; the rest are only counted.
const NAMED: usize = 5;

fn f(v: &Option<String>) -> Option<f64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

fn money_eq(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 0.005,
        (None, None) => true,
        _ => false,
    }
}

fn show(v: Option<f64>) -> String {
    v.map_or("none".into(), |x| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    })
}

struct Cond {
    condition: u8,
    description: &'static str,
    violations: Vec<String>,
    violating: u64,
}

impl Cond {
    fn new(condition: u8, description: &'static str) -> Self {
        Cond {
            condition,
            description,
            violations: Vec::new(),
            violating: 0,
        }
    }

    fn fail(&mut self, what: String) {
        self.violating += 1;
        if self.violations.len() < NAMED {
            self.violations.push(what);
        }
    }

    fn done(self) -> TpccCondition {
        TpccCondition {
            condition: self.condition,
            description: self.description.into(),
            violations: self.violations,
            violating: self.violating,
        }
    }
}

/// Checks conditions 1 to 10 and 12 and returns each with the rows that break it.
pub async fn check(c: &mut Connection) -> Result<Vec<TpccCondition>, DbError> {
    let mut out = Vec::new();

    let mut k = Cond::new(1, "W_YTD = sum(D_YTD) per warehouse");
    for r in c
        .query_text(
            "SELECT w_id, w_ytd, (SELECT SUM(d_ytd) FROM district WHERE d_w_id = w_id) \
             FROM warehouse ORDER BY w_id",
        )
        .await?
    {
        if !money_eq(f(&r[1]), f(&r[2])) {
            k.fail(format!(
                "warehouse {}: W_YTD {} but sum(D_YTD) {}",
                show(f(&r[0])),
                show(f(&r[1])),
                show(f(&r[2]))
            ));
        }
    }
    out.push(k.done());

    let districts = c
        .query_text(
            "SELECT d_w_id, d_id, d_next_o_id, \
             (SELECT MAX(o_id) FROM orders WHERE o_w_id = d_w_id AND o_d_id = d_id), \
             (SELECT MAX(no_o_id) FROM new_order WHERE no_w_id = d_w_id AND no_d_id = d_id), \
             (SELECT SUM(o_ol_cnt) FROM orders WHERE o_w_id = d_w_id AND o_d_id = d_id), \
             (SELECT COUNT(*) FROM order_line WHERE ol_w_id = d_w_id AND ol_d_id = d_id), \
             d_ytd FROM district ORDER BY d_w_id, d_id",
        )
        .await?;
    let place =
        |r: &[Option<String>]| format!("warehouse {}, district {}", show(f(&r[0])), show(f(&r[1])));
    let mut k = Cond::new(2, "D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID) per district");
    for r in &districts {
        let next = f(&r[2]).map(|n| n - 1.0);
        // A district whose new-orders were all delivered has no max(NO_O_ID) to compare.
        if next != f(&r[3]) || (r[4].is_some() && next != f(&r[4])) {
            k.fail(format!(
                "{}: D_NEXT_O_ID - 1 = {}, max(O_ID) = {}, max(NO_O_ID) = {}",
                place(r),
                show(next),
                show(f(&r[3])),
                show(f(&r[4]))
            ));
        }
    }
    out.push(k.done());

    let mut k = Cond::new(
        3,
        "max(NO_O_ID) - min(NO_O_ID) + 1 = count of NEW-ORDER rows per district",
    );
    for r in c
        .query_text(
            "SELECT no_w_id, no_d_id, MAX(no_o_id) - MIN(no_o_id) + 1, COUNT(*) FROM new_order \
             GROUP BY no_w_id, no_d_id ORDER BY no_w_id, no_d_id",
        )
        .await?
    {
        if f(&r[2]) != f(&r[3]) {
            k.fail(format!(
                "{}: max - min + 1 = {} but {} new-orders",
                place(&r),
                show(f(&r[2])),
                show(f(&r[3]))
            ));
        }
    }
    out.push(k.done());

    let mut k = Cond::new(4, "sum(O_OL_CNT) = count of ORDER-LINE rows per district");
    for r in &districts {
        if f(&r[5]) != f(&r[6]) {
            k.fail(format!(
                "{}: sum(O_OL_CNT) = {} but {} order lines",
                place(r),
                show(f(&r[5])),
                show(f(&r[6]))
            ));
        }
    }
    out.push(k.done());

    let mut k = Cond::new(
        5,
        "O_CARRIER_ID is null exactly for the orders with a NEW-ORDER row",
    );
    for r in c
        .query_text(
            "SELECT o_w_id, o_d_id, COUNT(*) FROM orders LEFT JOIN new_order \
             ON no_w_id = o_w_id AND no_d_id = o_d_id AND no_o_id = o_id \
             WHERE (o_carrier_id IS NULL AND no_o_id IS NULL) \
             OR (o_carrier_id IS NOT NULL AND no_o_id IS NOT NULL) \
             GROUP BY o_w_id, o_d_id ORDER BY o_w_id, o_d_id",
        )
        .await?
    {
        k.fail(format!("{}: {} orders", place(&r), show(f(&r[2]))));
    }
    out.push(k.done());

    let mut k = Cond::new(6, "O_OL_CNT = its number of ORDER-LINE rows, per order");
    for r in c
        .query_text(
            "SELECT o_w_id, o_d_id, o_id, o_ol_cnt, COUNT(ol_o_id) FROM orders LEFT JOIN order_line \
             ON ol_w_id = o_w_id AND ol_d_id = o_d_id AND ol_o_id = o_id \
             GROUP BY o_w_id, o_d_id, o_id, o_ol_cnt HAVING o_ol_cnt <> COUNT(ol_o_id) \
             ORDER BY o_w_id, o_d_id, o_id",
        )
        .await?
    {
        k.fail(format!(
            "{}, order {}: O_OL_CNT {} but {} lines",
            place(&r),
            show(f(&r[2])),
            show(f(&r[3])),
            show(f(&r[4]))
        ));
    }
    out.push(k.done());

    let mut k = Cond::new(
        7,
        "OL_DELIVERY_D is null exactly when its order's O_CARRIER_ID is",
    );
    for r in c
        .query_text(
            "SELECT ol_w_id, ol_d_id, COUNT(*) FROM order_line JOIN orders \
             ON o_w_id = ol_w_id AND o_d_id = ol_d_id AND o_id = ol_o_id \
             WHERE (ol_delivery_d IS NULL AND o_carrier_id IS NOT NULL) \
             OR (ol_delivery_d IS NOT NULL AND o_carrier_id IS NULL) \
             GROUP BY ol_w_id, ol_d_id ORDER BY ol_w_id, ol_d_id",
        )
        .await?
    {
        k.fail(format!("{}: {} order lines", place(&r), show(f(&r[2]))));
    }
    out.push(k.done());

    // Conditions 8 and 9 from one pass over HISTORY.
    let mut by_district: HashMap<(i64, i64), f64> = HashMap::new();
    for r in c
        .query_text("SELECT h_w_id, h_d_id, SUM(h_amount) FROM history GROUP BY h_w_id, h_d_id")
        .await?
    {
        if let (Some(w), Some(d), Some(s)) = (f(&r[0]), f(&r[1]), f(&r[2])) {
            by_district.insert((w as i64, d as i64), s);
        }
    }
    let mut k = Cond::new(8, "W_YTD = sum(H_AMOUNT) per warehouse");
    for r in c
        .query_text("SELECT w_id, w_ytd FROM warehouse ORDER BY w_id")
        .await?
    {
        let w = f(&r[0]).unwrap_or(0.0) as i64;
        let sum: f64 = by_district
            .iter()
            .filter(|((hw, _), _)| *hw == w)
            .map(|(_, s)| s)
            .sum();
        if !money_eq(f(&r[1]), Some(sum)) {
            k.fail(format!(
                "warehouse {w}: W_YTD {} but sum(H_AMOUNT) {}",
                show(f(&r[1])),
                show(Some(sum))
            ));
        }
    }
    out.push(k.done());

    let mut k = Cond::new(9, "D_YTD = sum(H_AMOUNT) per district");
    for r in &districts {
        let key = (
            f(&r[0]).unwrap_or(0.0) as i64,
            f(&r[1]).unwrap_or(0.0) as i64,
        );
        let sum = by_district.get(&key).copied().unwrap_or(0.0);
        if !money_eq(f(&r[7]), Some(sum)) {
            k.fail(format!(
                "{}: D_YTD {} but sum(H_AMOUNT) {}",
                place(r),
                show(f(&r[7])),
                show(Some(sum))
            ));
        }
    }
    out.push(k.done());

    // Conditions 10 and 12, per customer, from grouped sums (no index serves them per row).
    type Key = (i64, i64, i64);
    let key = |r: &[Option<String>]| -> Option<Key> {
        Some((f(&r[0])? as i64, f(&r[1])? as i64, f(&r[2])? as i64))
    };
    let mut delivered: HashMap<Key, f64> = HashMap::new();
    for r in c
        .query_text(
            "SELECT o_w_id, o_d_id, o_c_id, SUM(ol_amount) FROM orders JOIN order_line \
             ON ol_w_id = o_w_id AND ol_d_id = o_d_id AND ol_o_id = o_id \
             WHERE ol_delivery_d IS NOT NULL GROUP BY o_w_id, o_d_id, o_c_id",
        )
        .await?
    {
        if let (Some(k), Some(v)) = (key(&r), f(&r[3])) {
            delivered.insert(k, v);
        }
    }
    let mut paid: HashMap<Key, f64> = HashMap::new();
    for r in c
        .query_text(
            "SELECT h_c_w_id, h_c_d_id, h_c_id, SUM(h_amount) FROM history \
             GROUP BY h_c_w_id, h_c_d_id, h_c_id",
        )
        .await?
    {
        if let (Some(k), Some(v)) = (key(&r), f(&r[3])) {
            paid.insert(k, v);
        }
    }
    let mut k10 = Cond::new(
        10,
        "C_BALANCE = sum(delivered OL_AMOUNT) - sum(H_AMOUNT) per customer",
    );
    let mut k12 = Cond::new(
        12,
        "C_BALANCE + C_YTD_PAYMENT = sum(delivered OL_AMOUNT) per customer",
    );
    for r in c
        .query_text(
            "SELECT c_w_id, c_d_id, c_id, c_balance, c_ytd_payment FROM customer \
             ORDER BY c_w_id, c_d_id, c_id",
        )
        .await?
    {
        let Some(id) = key(&r) else { continue };
        let ol = delivered.get(&id).copied().unwrap_or(0.0);
        let h = paid.get(&id).copied().unwrap_or(0.0);
        let (balance, ytd) = (f(&r[3]), f(&r[4]));
        let who = format!("{}, customer {}", place(&r), id.2);
        if !money_eq(balance, Some(ol - h)) {
            k10.fail(format!(
                "{who}: C_BALANCE {} but delivered {} - paid {}",
                show(balance),
                show(Some(ol)),
                show(Some(h))
            ));
        }
        if !money_eq(balance.zip(ytd).map(|(b, y)| b + y), Some(ol)) {
            k12.fail(format!(
                "{who}: C_BALANCE + C_YTD_PAYMENT {} but delivered {}",
                show(balance.zip(ytd).map(|(b, y)| b + y)),
                show(Some(ol))
            ));
        }
    }
    out.push(k10.done());
    out.push(k12.done());
    Ok(out)
}

/// The first broken condition as a one-line error naming its rows, if any is broken.
pub fn verdict(conditions: &[TpccCondition]) -> Option<String> {
    let broken: Vec<&TpccCondition> = conditions.iter().filter(|c| c.violating > 0).collect();
    let first = broken.first()?;
    Some(format!(
        "TPC-C consistency condition {} ({}) is broken in {} place(s), first: {}{}",
        first.condition,
        first.description,
        first.violating,
        first.violations.first().cloned().unwrap_or_default(),
        if broken.len() > 1 {
            format!(
                "; also broken: {}",
                broken[1..]
                    .iter()
                    .map(|c| c.condition.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        }
    ))
}
