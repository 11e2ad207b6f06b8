//! The five transactions of clauses 2.4 to 2.8: their inputs (drawn by the terminal, so a
//! retry repeats the same business transaction) and their database profiles, each one
//! database transaction on a connection whose statements `statements()` prepared.

use super::random::{self as rnd, Constants, DISTRICTS, ITEMS};
use crate::datagen::Rng;
use crate::db::{Connection, DbError, DbKind};
use crate::value::Value;

/// The transaction types, in the order of the result's operations.
pub const NAMES: [&str; 5] = [
    "new_order",
    "payment",
    "order_status",
    "delivery",
    "stock_level",
];

/// A customer chosen by id or (60% of the time) by last name.
#[derive(Debug, Clone)]
pub enum Customer {
    Id(i64),
    Last(String),
}

#[derive(Debug, Clone)]
pub struct Line {
    pub item: i64,
    pub supply_w: i64,
    pub quantity: i64,
}

/// One business transaction with its inputs.
#[derive(Debug, Clone)]
pub enum Tx {
    NewOrder {
        w: i64,
        d: i64,
        c: i64,
        lines: Vec<Line>,
    },
    Payment {
        w: i64,
        d: i64,
        c_w: i64,
        c_d: i64,
        customer: Customer,
        cents: i64,
    },
    OrderStatus {
        w: i64,
        d: i64,
        customer: Customer,
    },
    Delivery {
        w: i64,
        carrier: i64,
    },
    StockLevel {
        w: i64,
        d: i64,
        threshold: i64,
    },
}

impl Tx {
    /// Index into [`NAMES`].
    pub fn kind(&self) -> usize {
        match self {
            Tx::NewOrder { .. } => 0,
            Tx::Payment { .. } => 1,
            Tx::OrderStatus { .. } => 2,
            Tx::Delivery { .. } => 3,
            Tx::StockLevel { .. } => 4,
        }
    }
}

/// How a business transaction ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Committed,
    /// New-Order's intended 1%: an unused item id, rolled back (clause 2.4.2.3).
    RolledBack,
    /// Delivery: committed, with this many districts that had no new-order to deliver.
    Delivered {
        skipped: u32,
    },
}

/// A terminal's view of the database: its home warehouse and district, and the spec's
/// constants.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub warehouses: i64,
    pub home: i64,
    /// Stock-Level's district is the terminal's own (clause 2.8.1.1).
    pub district: i64,
    pub consts: Constants,
}

impl Terminal {
    fn remote_warehouse(&self, r: &mut Rng) -> i64 {
        // Any warehouse but the home one.
        let other = r.range_i64(1, self.warehouses - 1);
        if other >= self.home {
            other + 1
        } else {
            other
        }
    }

    fn customer(&self, r: &mut Rng) -> Customer {
        if r.range_i64(1, 100) <= 60 {
            Customer::Last(rnd::customer_last(r, &self.consts))
        } else {
            Customer::Id(rnd::customer_id(r, &self.consts))
        }
    }

    /// Clause 2.4.1.
    pub fn new_order(&self, r: &mut Rng) -> Tx {
        let d = r.range_i64(1, DISTRICTS);
        let c = rnd::customer_id(r, &self.consts);
        let n = r.range_i64(5, 15);
        let rollback = r.range_i64(1, 100) == 1;
        let mut lines: Vec<Line> = (0..n)
            .map(|_| Line {
                item: rnd::item_id(r, &self.consts),
                supply_w: if self.warehouses > 1 && r.range_i64(1, 100) == 1 {
                    self.remote_warehouse(r)
                } else {
                    self.home
                },
                quantity: r.range_i64(1, 10),
            })
            .collect();
        // Stock rows are locked in one global order, so two New-Orders cannot deadlock on
        // them; the order of lines within an order has no meaning in the specification.
        lines.sort_by_key(|l| (l.supply_w, l.item));
        if rollback {
            if let Some(last) = lines.last_mut() {
                last.item = ITEMS + 1;
            }
        }
        Tx::NewOrder {
            w: self.home,
            d,
            c,
            lines,
        }
    }

    /// Clause 2.5.1: 85% of customers pay at their home district, 15% at a remote
    /// warehouse (when there is another one).
    pub fn payment(&self, r: &mut Rng) -> Tx {
        let d = r.range_i64(1, DISTRICTS);
        let (c_w, c_d) = if self.warehouses > 1 && r.range_i64(1, 100) > 85 {
            (self.remote_warehouse(r), r.range_i64(1, DISTRICTS))
        } else {
            (self.home, d)
        };
        Tx::Payment {
            w: self.home,
            d,
            c_w,
            c_d,
            customer: self.customer(r),
            cents: r.range_i64(100, 500_000),
        }
    }

    /// Clause 2.6.1.
    pub fn order_status(&self, r: &mut Rng) -> Tx {
        Tx::OrderStatus {
            w: self.home,
            d: r.range_i64(1, DISTRICTS),
            customer: self.customer(r),
        }
    }

    /// Clause 2.7.1.
    pub fn delivery(&self, r: &mut Rng) -> Tx {
        Tx::Delivery {
            w: self.home,
            carrier: r.range_i64(1, 10),
        }
    }

    /// Clause 2.8.1.
    pub fn stock_level(&self, r: &mut Rng) -> Tx {
        Tx::StockLevel {
            w: self.home,
            d: self.district,
            threshold: r.range_i64(10, 20),
        }
    }
}

// Statement numbers, in the order of `statements()`.
const NO_W: usize = 0;
const NO_D: usize = 1;
const NO_D_UPD: usize = 2;
const NO_C: usize = 3;
const NO_O_INS: usize = 4;
const NO_NO_INS: usize = 5;
const NO_I: usize = 6;
const NO_S: usize = 7;
const NO_S_UPD: usize = 8;
const NO_OL_INS: usize = 9;
const P_W_UPD: usize = 10;
const P_W: usize = 11;
const P_D_UPD: usize = 12;
const P_D: usize = 13;
const C_BY_NAME: usize = 14;
const P_C: usize = 15;
const P_C_DATA: usize = 16;
const P_C_UPD: usize = 17;
const P_C_UPD_BC: usize = 18;
const P_H_INS: usize = 19;
const OS_C: usize = 20;
const OS_O: usize = 21;
const OS_OL: usize = 22;
const D_NO: usize = 23;
const D_NO_DEL: usize = 24;
const D_O: usize = 25;
const D_O_UPD: usize = 26;
const D_OL_UPD: usize = 27;
const D_OL_SUM: usize = 28;
const D_C_UPD: usize = 29;
const SL_D: usize = 30;
const SL_COUNT: usize = 31;

/// The statements every connection prepares, in the database's placeholder form.
pub fn statements(kind: DbKind) -> Vec<String> {
    let fu = super::schema::words(kind).for_update;
    let c_key = "c_w_id = ? AND c_d_id = ? AND c_id = ?";
    let sqls = [
        "SELECT w_tax FROM warehouse WHERE w_id = ?".to_string(),
        format!("SELECT d_tax, d_next_o_id FROM district WHERE d_w_id = ? AND d_id = ?{fu}"),
        "UPDATE district SET d_next_o_id = ? WHERE d_w_id = ? AND d_id = ?".into(),
        format!("SELECT c_discount, c_last, c_credit FROM customer WHERE {c_key}"),
        "INSERT INTO orders (o_id, o_d_id, o_w_id, o_c_id, o_entry_d, o_carrier_id, o_ol_cnt, \
         o_all_local) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)"
            .into(),
        "INSERT INTO new_order (no_o_id, no_d_id, no_w_id) VALUES (?, ?, ?)".into(),
        "SELECT i_price, i_name, i_data FROM item WHERE i_id = ?".into(),
        format!(
            "SELECT s_quantity, s_data, s_dist_01, s_dist_02, s_dist_03, s_dist_04, s_dist_05, \
             s_dist_06, s_dist_07, s_dist_08, s_dist_09, s_dist_10 FROM stock \
             WHERE s_w_id = ? AND s_i_id = ?{fu}"
        ),
        "UPDATE stock SET s_quantity = ?, s_ytd = s_ytd + ?, s_order_cnt = s_order_cnt + 1, \
         s_remote_cnt = s_remote_cnt + ? WHERE s_w_id = ? AND s_i_id = ?"
            .into(),
        "INSERT INTO order_line (ol_o_id, ol_d_id, ol_w_id, ol_number, ol_i_id, ol_supply_w_id, \
         ol_delivery_d, ol_quantity, ol_amount, ol_dist_info) \
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)"
            .into(),
        "UPDATE warehouse SET w_ytd = w_ytd + ? WHERE w_id = ?".into(),
        "SELECT w_name, w_street_1, w_street_2, w_city, w_state, w_zip FROM warehouse \
         WHERE w_id = ?"
            .into(),
        "UPDATE district SET d_ytd = d_ytd + ? WHERE d_w_id = ? AND d_id = ?".into(),
        "SELECT d_name, d_street_1, d_street_2, d_city, d_state, d_zip FROM district \
         WHERE d_w_id = ? AND d_id = ?"
            .into(),
        "SELECT c_id FROM customer WHERE c_w_id = ? AND c_d_id = ? AND c_last = ? \
         ORDER BY c_first"
            .into(),
        format!(
            "SELECT c_first, c_middle, c_last, c_street_1, c_street_2, c_city, c_state, c_zip, \
             c_phone, c_since, c_credit, c_credit_lim, c_discount, c_balance FROM customer \
             WHERE {c_key}{fu}"
        ),
        format!("SELECT c_data FROM customer WHERE {c_key}"),
        format!(
            "UPDATE customer SET c_balance = c_balance - ?, c_ytd_payment = c_ytd_payment + ?, \
             c_payment_cnt = c_payment_cnt + 1 WHERE {c_key}"
        ),
        format!(
            "UPDATE customer SET c_balance = c_balance - ?, c_ytd_payment = c_ytd_payment + ?, \
             c_payment_cnt = c_payment_cnt + 1, c_data = ? WHERE {c_key}"
        ),
        "INSERT INTO history (h_c_id, h_c_d_id, h_c_w_id, h_d_id, h_w_id, h_date, h_amount, \
         h_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            .into(),
        format!("SELECT c_balance, c_first, c_middle, c_last FROM customer WHERE {c_key}"),
        "SELECT o_id, o_entry_d, o_carrier_id FROM orders WHERE o_w_id = ? AND o_d_id = ? \
         AND o_c_id = ? ORDER BY o_id DESC LIMIT 1"
            .into(),
        "SELECT ol_i_id, ol_supply_w_id, ol_quantity, ol_amount, ol_delivery_d FROM order_line \
         WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id = ?"
            .into(),
        format!(
            "SELECT no_o_id FROM new_order WHERE no_w_id = ? AND no_d_id = ? \
             ORDER BY no_o_id LIMIT 1{fu}"
        ),
        "DELETE FROM new_order WHERE no_w_id = ? AND no_d_id = ? AND no_o_id = ?".into(),
        "SELECT o_c_id FROM orders WHERE o_w_id = ? AND o_d_id = ? AND o_id = ?".into(),
        "UPDATE orders SET o_carrier_id = ? WHERE o_w_id = ? AND o_d_id = ? AND o_id = ?".into(),
        "UPDATE order_line SET ol_delivery_d = ? WHERE ol_w_id = ? AND ol_d_id = ? \
         AND ol_o_id = ?"
            .into(),
        "SELECT SUM(ol_amount) FROM order_line WHERE ol_w_id = ? AND ol_d_id = ? \
         AND ol_o_id = ?"
            .into(),
        format!(
            "UPDATE customer SET c_balance = c_balance + ?, c_delivery_cnt = c_delivery_cnt + 1 \
             WHERE {c_key}"
        ),
        "SELECT d_next_o_id FROM district WHERE d_w_id = ? AND d_id = ?".into(),
        "SELECT COUNT(DISTINCT s_i_id) FROM order_line, stock WHERE ol_w_id = ? AND ol_d_id = ? \
         AND ol_o_id < ? AND ol_o_id >= ? AND s_w_id = ? AND s_i_id = ol_i_id \
         AND s_quantity < ?"
            .into(),
    ];
    sqls.iter()
        .map(|s| super::schema::placeholders(kind, s))
        .collect()
}

/// A number the database returned (integer, float, exact decimal or its text).
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Decimal(s) | Value::Text(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// An amount the database returned, in cents.
pub fn cents(v: &Value) -> i64 {
    (num(v) * 100.0).round() as i64
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) | Value::Decimal(s) => s.as_str(),
        _ => "",
    }
}

/// The one row a statement must return, or an error naming what was missing.
async fn one_row(
    c: &mut Connection,
    stmt: usize,
    params: &[Value],
    what: &str,
) -> Result<Vec<Value>, DbError> {
    c.run_rows(stmt, params)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DbError::client(format!("{what} not found: the tpcc data is incomplete; reload it with `dbarena seed --preset tpcc --truncate`")))
}

fn int(v: i64) -> Value {
    Value::Int(v)
}

fn money(cents: i64) -> Value {
    Value::Decimal(rnd::money(cents))
}

/// Runs one business transaction as one database transaction.
pub async fn run(c: &mut Connection, tx: &Tx) -> Result<Done, DbError> {
    let writes = !matches!(tx, Tx::OrderStatus { .. } | Tx::StockLevel { .. });
    let begin = c.dialect().begin(writes);
    c.execute(begin).await?;
    let r = match tx {
        Tx::NewOrder {
            w,
            d,
            c: cid,
            lines,
        } => new_order(c, *w, *d, *cid, lines).await,
        Tx::Payment {
            w,
            d,
            c_w,
            c_d,
            customer,
            cents,
        } => payment(c, *w, *d, *c_w, *c_d, customer, *cents).await,
        Tx::OrderStatus { w, d, customer } => order_status(c, *w, *d, customer).await,
        Tx::Delivery { w, carrier } => delivery(c, *w, *carrier).await,
        Tx::StockLevel { w, d, threshold } => stock_level(c, *w, *d, *threshold).await,
    };
    let end = match r {
        Ok(Done::RolledBack) => "ROLLBACK",
        Ok(_) => "COMMIT",
        Err(e) => {
            c.rollback_after(&e).await;
            return Err(e);
        }
    };
    if let Err(e) = c.execute(end).await {
        c.rollback_after(&e).await;
        return Err(e);
    }
    r
}

/// Clause 2.4.2.
async fn new_order(
    c: &mut Connection,
    w: i64,
    d: i64,
    cid: i64,
    lines: &[Line],
) -> Result<Done, DbError> {
    let w_tax = num(&one_row(c, NO_W, &[int(w)], "warehouse").await?[0]);
    let dist = one_row(c, NO_D, &[int(w), int(d)], "district").await?;
    let d_tax = num(&dist[0]);
    let o_id = num(&dist[1]) as i64;
    c.run(NO_D_UPD, &[int(o_id + 1), int(w), int(d)]).await?;
    let cust = one_row(c, NO_C, &[int(w), int(d), int(cid)], "customer").await?;
    let discount = num(&cust[0]);
    let all_local = lines.iter().all(|l| l.supply_w == w) as i64;
    let now = Value::Timestamp(crate::util::time::now_us());
    c.run(
        NO_O_INS,
        &[
            int(o_id),
            int(d),
            int(w),
            int(cid),
            now,
            int(lines.len() as i64),
            int(all_local),
        ],
    )
    .await?;
    c.run(NO_NO_INS, &[int(o_id), int(d), int(w)]).await?;
    let mut total = 0i64;
    for (n, l) in lines.iter().enumerate() {
        let item = c.run_rows(NO_I, &[int(l.item)]).await?;
        let Some(item) = item.into_iter().next() else {
            // The unused item id of the intended 1%: the whole order is rolled back.
            return Ok(Done::RolledBack);
        };
        let price = cents(&item[0]);
        let stock = one_row(c, NO_S, &[int(l.supply_w), int(l.item)], "stock").await?;
        let s_qty = num(&stock[0]) as i64;
        let qty = if s_qty >= l.quantity + 10 {
            s_qty - l.quantity
        } else {
            s_qty - l.quantity + 91
        };
        let remote = (l.supply_w != w) as i64;
        c.run(
            NO_S_UPD,
            &[
                int(qty),
                int(l.quantity),
                int(remote),
                int(l.supply_w),
                int(l.item),
            ],
        )
        .await?;
        let amount = l.quantity * price;
        total += amount;
        // Brand/generic (clause 2.4.2.2) is shown on the terminal only.
        let _brand = text(&item[2]).contains("ORIGINAL") && text(&stock[1]).contains("ORIGINAL");
        let dist_info = stock.get(1 + d as usize).cloned().unwrap_or(Value::Null);
        c.run(
            NO_OL_INS,
            &[
                int(o_id),
                int(d),
                int(w),
                int(n as i64 + 1),
                int(l.item),
                int(l.supply_w),
                int(l.quantity),
                money(amount),
                dist_info,
            ],
        )
        .await?;
    }
    let _total = total as f64 * (1.0 - discount) * (1.0 + w_tax + d_tax);
    Ok(Done::Committed)
}

/// The customer's id: given, or the middle one by first name of those with the last name
/// (position ceil(n/2), clause 2.5.2.2).
async fn customer_id(
    c: &mut Connection,
    w: i64,
    d: i64,
    customer: &Customer,
) -> Result<i64, DbError> {
    match customer {
        Customer::Id(id) => Ok(*id),
        Customer::Last(last) => {
            let rows = c
                .run_rows(C_BY_NAME, &[int(w), int(d), Value::Text(last.clone())])
                .await?;
            if rows.is_empty() {
                return Err(DbError::client(format!(
                    "no customer named {last} in warehouse {w}, district {d}: the tpcc data is incomplete; reload it with `dbarena seed --preset tpcc --truncate`"
                )));
            }
            let middle = rows.len().div_ceil(2) - 1;
            Ok(num(&rows[middle][0]) as i64)
        }
    }
}

/// Clause 2.5.2.
async fn payment(
    c: &mut Connection,
    w: i64,
    d: i64,
    c_w: i64,
    c_d: i64,
    customer: &Customer,
    amount: i64,
) -> Result<Done, DbError> {
    c.run(P_W_UPD, &[money(amount), int(w)]).await?;
    let wh = one_row(c, P_W, &[int(w)], "warehouse").await?;
    c.run(P_D_UPD, &[money(amount), int(w), int(d)]).await?;
    let di = one_row(c, P_D, &[int(w), int(d)], "district").await?;
    let cid = customer_id(c, c_w, c_d, customer).await?;
    let cust = one_row(c, P_C, &[int(c_w), int(c_d), int(cid)], "customer").await?;
    if text(&cust[10]) == "BC" {
        let old = one_row(c, P_C_DATA, &[int(c_w), int(c_d), int(cid)], "customer").await?;
        let mut data = format!(
            "{cid} {c_d} {c_w} {d} {w} {} | {}",
            rnd::money(amount),
            text(&old[0])
        );
        data.truncate(500);
        c.run(
            P_C_UPD_BC,
            &[
                money(amount),
                money(amount),
                Value::Text(data),
                int(c_w),
                int(c_d),
                int(cid),
            ],
        )
        .await?;
    } else {
        c.run(
            P_C_UPD,
            &[money(amount), money(amount), int(c_w), int(c_d), int(cid)],
        )
        .await?;
    }
    let h_data = format!("{}    {}", text(&wh[0]), text(&di[0]));
    c.run(
        P_H_INS,
        &[
            int(cid),
            int(c_d),
            int(c_w),
            int(d),
            int(w),
            Value::Timestamp(crate::util::time::now_us()),
            money(amount),
            Value::Text(h_data),
        ],
    )
    .await?;
    Ok(Done::Committed)
}

/// Clause 2.6.2.
async fn order_status(
    c: &mut Connection,
    w: i64,
    d: i64,
    customer: &Customer,
) -> Result<Done, DbError> {
    let cid = customer_id(c, w, d, customer).await?;
    one_row(c, OS_C, &[int(w), int(d), int(cid)], "customer").await?;
    // A customer may have no order yet only if the data was not loaded by the rules.
    if let Some(o) = c
        .run_rows(OS_O, &[int(w), int(d), int(cid)])
        .await?
        .into_iter()
        .next()
    {
        let o_id = num(&o[0]) as i64;
        c.run_rows(OS_OL, &[int(w), int(d), int(o_id)]).await?;
    }
    Ok(Done::Committed)
}

/// Clause 2.7.4: the ten districts in one database transaction.
async fn delivery(c: &mut Connection, w: i64, carrier: i64) -> Result<Done, DbError> {
    let mut skipped = 0;
    let now = Value::Timestamp(crate::util::time::now_us());
    for d in 1..=DISTRICTS {
        let Some(no) = c
            .run_rows(D_NO, &[int(w), int(d)])
            .await?
            .into_iter()
            .next()
        else {
            skipped += 1;
            continue;
        };
        let o_id = num(&no[0]) as i64;
        // Another Delivery of the same warehouse may have taken it since (read committed).
        if c.run(D_NO_DEL, &[int(w), int(d), int(o_id)]).await?.rows == 0 {
            skipped += 1;
            continue;
        }
        let o = one_row(c, D_O, &[int(w), int(d), int(o_id)], "order").await?;
        let cid = num(&o[0]) as i64;
        c.run(D_O_UPD, &[int(carrier), int(w), int(d), int(o_id)])
            .await?;
        c.run(D_OL_UPD, &[now.clone(), int(w), int(d), int(o_id)])
            .await?;
        let sum = one_row(c, D_OL_SUM, &[int(w), int(d), int(o_id)], "order lines").await?;
        c.run(D_C_UPD, &[money(cents(&sum[0])), int(w), int(d), int(cid)])
            .await?;
    }
    Ok(Done::Delivered { skipped })
}

/// Clause 2.8.2.
async fn stock_level(c: &mut Connection, w: i64, d: i64, threshold: i64) -> Result<Done, DbError> {
    let next = num(&one_row(c, SL_D, &[int(w), int(d)], "district").await?[0]) as i64;
    c.run_rows(
        SL_COUNT,
        &[
            int(w),
            int(d),
            int(next),
            int(next - 20),
            int(w),
            int(threshold),
        ],
    )
    .await?;
    Ok(Done::Committed)
}
