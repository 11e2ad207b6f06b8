//! `seed --preset tpcc --warehouses W`: the initial database of clause 4.3.3.1, generated
//! from the seed and bulk-loaded with each database's fastest path (`bulk_insert`: COPY,
//! LOAD DATA, prepared inserts), one warehouse per loader connection at a time.

use super::random::{self as rnd, Constants, CUSTOMERS, DISTRICTS, FIRST_NEW_ORDER, ITEMS, ORDERS};
use super::schema;
use crate::datagen::Rng;
use crate::db::{Connection, DbError, DbUrl};
use crate::seed::run::{SeedProgress, TableReport};
use crate::seed::{SeedError, SeedOptions, SeedReport};
use crate::value::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rows per `bulk_insert` call: large enough for COPY and LOAD DATA to stream, small enough
/// that progress moves and memory stays flat.
const BATCH: usize = 10_000;

/// What the loader shares between its threads.
struct Shared {
    url: DbUrl,
    seed: u64,
    consts: Constants,
    now_us: i64,
    /// Rows committed per table (index into `schema::TABLES`).
    rows: [AtomicU64; 9],
    /// Microseconds spent inserting per table, summed over the threads.
    busy_us: [AtomicU64; 9],
    next_job: AtomicU64,
    stop: Arc<AtomicBool>,
    first_error: Mutex<Option<SeedError>>,
}

/// Loads W warehouses (dropping the tables first with `--truncate`).
pub fn seed(
    opts: &SeedOptions,
    warehouses: u32,
    progress: &mut dyn SeedProgress,
) -> Result<SeedReport, crate::Error> {
    let started = Instant::now();
    let seed = opts.seed.unwrap_or(42);
    let rt = crate::util::runtime::current_thread()?;
    let consts = Constants::for_load(seed);
    let db = |context: &str| {
        let context = context.to_string();
        move |source| SeedError::Database { context, source }
    };
    rt.block_on(async {
        let mut c = Connection::connect(&opts.url).await?;
        let existing = c.list_tables().await.map_err(db("listing tables"))?;
        let present: Vec<&&str> = schema::TABLES
            .iter()
            .filter(|t| existing.iter().any(|e| e.eq_ignore_ascii_case(t)))
            .collect();
        if let Some(t) = present.first() {
            if !opts.truncate {
                let rows = c
                    .query_text(&format!("SELECT COUNT(*) FROM {t}"))
                    .await
                    .ok()
                    .and_then(|r| r.first()?.first()?.clone())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                return Err(SeedError::NotEmpty {
                    table: t.to_string(),
                    rows,
                }
                .into());
            }
        }
        schema::drop_tables(&mut c)
            .await
            .map_err(db("dropping the tpcc tables"))?;
        for sql in schema::create_tables(c.dialect().kind()) {
            c.execute(&sql)
                .await
                .map_err(db("creating the tpcc tables"))?;
        }
        let meta = [
            ("c_last", consts.c_last),
            ("c_id", consts.c_id),
            ("ol_i_id", consts.ol_i_id),
            ("warehouses", warehouses as i64),
            ("seed", seed as i64),
        ];
        let rows: Vec<Vec<Value>> = meta
            .iter()
            .map(|(k, v)| vec![Value::Text(k.to_string()), Value::Int(*v)])
            .collect();
        c.insert_rows(schema::META, &["name".into(), "value".into()], &rows)
            .await
            .map_err(db("writing tpcc_meta"))?;
        Ok::<_, crate::Error>(())
    })?;

    let shared = Arc::new(Shared {
        url: opts.url.clone(),
        seed,
        consts,
        now_us: crate::util::time::now_us() / 1_000_000 * 1_000_000,
        rows: Default::default(),
        busy_us: Default::default(),
        next_job: AtomicU64::new(0),
        stop: opts.stop.clone(),
        first_error: Mutex::new(None),
    });
    let w = warehouses as u64;
    let planned: Vec<(String, u64)> = schema::TABLES
        .iter()
        .zip([
            ITEMS as u64,
            w,
            ITEMS as u64 * w,
            DISTRICTS as u64 * w,
            (CUSTOMERS * DISTRICTS) as u64 * w,
            (CUSTOMERS * DISTRICTS) as u64 * w,
            (ORDERS * DISTRICTS) as u64 * w,
            (ORDERS * DISTRICTS) as u64 * w * 10,
            ((ORDERS - FIRST_NEW_ORDER + 1) * DISTRICTS) as u64 * w,
        ])
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    progress.start(&planned);
    let threads = if opts.url.single_writer() {
        1
    } else {
        opts.connections
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .clamp(1, w as usize + 1)
    };
    // Job 0 is the item table, job k the k-th warehouse.
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let s = shared.clone();
            std::thread::spawn(move || worker(&s, w))
        })
        .collect();
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        progress.update(&done(&shared));
    }
    for h in handles {
        let _ = h.join();
    }
    progress.update(&done(&shared));
    if let Some(e) = shared
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        progress.finish();
        return Err(e.into());
    }
    if shared.stop.load(Ordering::SeqCst) {
        progress.finish();
        return Err(SeedError::Interrupted(committed(&shared)).into());
    }
    rt.block_on(async {
        let mut c = Connection::connect(&opts.url).await?;
        for sql in schema::add_keys(c.dialect().kind()) {
            c.execute(&sql)
                .await
                .map_err(db("adding the tpcc primary keys"))?;
        }
        for sql in schema::create_indexes() {
            c.execute(&sql)
                .await
                .map_err(db("creating the tpcc indexes"))?;
        }
        Ok::<_, crate::Error>(())
    })?;
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    let tables: Vec<TableReport> = schema::TABLES
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let rows = shared.rows[i].load(Ordering::Relaxed);
            let secs = shared.busy_us[i].load(Ordering::Relaxed) as f64 / 1e6;
            TableReport {
                table: t.to_string(),
                rows,
                seconds: secs,
                rows_per_sec: if secs > 0.0 { rows as f64 / secs } else { 0.0 },
            }
        })
        .collect();
    let total_rows = tables.iter().map(|t| t.rows).sum();
    Ok(SeedReport {
        database: opts.url.redacted(),
        seed,
        tables,
        total_rows,
        seconds,
        rows_per_sec: total_rows as f64 / seconds.max(1e-9),
        notes: vec![format!(
            "tpcc: {warehouses} warehouse(s), {threads} loader connection(s), indexes built after the load"
        )],
    })
}

fn done(s: &Shared) -> Vec<(String, u64)> {
    schema::TABLES
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), s.rows[i].load(Ordering::Relaxed)))
        .collect()
}

fn committed(s: &Shared) -> String {
    done(s)
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One loader thread: its own runtime and connection, taking jobs until none are left.
fn worker(s: &Shared, warehouses: u64) {
    let rt = match crate::util::runtime::current_thread() {
        Ok(rt) => rt,
        Err(e) => {
            fail(
                s,
                SeedError::Database {
                    context: format!("starting a loader thread ({e})"),
                    source: DbError::client("no runtime"),
                },
            );
            return;
        }
    };
    rt.block_on(async {
        let mut c = match Connection::connect(&s.url).await {
            Ok(c) => c,
            Err(e) => {
                fail(
                    s,
                    SeedError::Database {
                        context: "opening a loader connection".into(),
                        source: DbError::client(e.to_string()),
                    },
                );
                return;
            }
        };
        loop {
            if s.stop.load(Ordering::SeqCst) || has_failed(s) {
                return;
            }
            let job = s.next_job.fetch_add(1, Ordering::SeqCst);
            if job > warehouses {
                return;
            }
            let r = if job == 0 {
                load_items(s, &mut c).await
            } else {
                load_warehouse(s, &mut c, job as i64).await
            };
            if let Err(e) = r {
                fail(s, e);
                return;
            }
        }
    });
}

fn has_failed(s: &Shared) -> bool {
    s.first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some()
}

fn fail(s: &Shared, e: SeedError) {
    let mut g = s.first_error.lock().unwrap_or_else(|p| p.into_inner());
    if g.is_none() {
        *g = Some(e);
    }
}

/// Rows of one table, flushed to the database every `BATCH` rows.
struct Batch<'a> {
    s: &'a Shared,
    table: usize,
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    batches: u64,
}

impl<'a> Batch<'a> {
    fn new(s: &'a Shared, table: usize, columns: &[&str]) -> Self {
        Batch {
            s,
            table,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::with_capacity(BATCH),
            batches: 0,
        }
    }

    async fn push(&mut self, c: &mut Connection, row: Vec<Value>) -> Result<(), SeedError> {
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush(c).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, c: &mut Connection) -> Result<(), SeedError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        if self.s.stop.load(Ordering::SeqCst) {
            return Err(SeedError::Interrupted(committed(self.s)));
        }
        let t0 = Instant::now();
        let table = schema::TABLES[self.table];
        c.bulk_insert(table, &self.columns, &self.rows)
            .await
            .map_err(|source| SeedError::Failed {
                table: table.to_string(),
                batch: self.batches,
                source,
                committed: committed(self.s),
            })?;
        self.batches += 1;
        self.s.busy_us[self.table].fetch_add(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.s.rows[self.table].fetch_add(self.rows.len() as u64, Ordering::Relaxed);
        self.rows.clear();
        Ok(())
    }
}

fn int(v: i64) -> Value {
    Value::Int(v)
}

fn text(s: String) -> Value {
    Value::Text(s)
}

/// The ITEM table (clause 4.3.3.1).
async fn load_items(s: &Shared, c: &mut Connection) -> Result<(), SeedError> {
    let mut r = Rng::derive(s.seed, 0);
    let mut b = Batch::new(s, 0, &["i_id", "i_im_id", "i_name", "i_price", "i_data"]);
    for i in 1..=ITEMS {
        let row = vec![
            int(i),
            int(r.range_i64(1, 10_000)),
            text(rnd::a_string(&mut r, 14, 24)),
            Value::Decimal(rnd::money_between(&mut r, 100, 10_000)),
            text(rnd::data_with_original(&mut r)),
        ];
        b.push(c, row).await?;
    }
    b.flush(c).await
}

/// Street 1 and 2, city, state, zip.
fn address(r: &mut Rng) -> [Value; 5] {
    [
        text(rnd::a_string(r, 10, 20)),
        text(rnd::a_string(r, 10, 20)),
        text(rnd::a_string(r, 10, 20)),
        text(rnd::a_string(r, 2, 2).to_ascii_uppercase()),
        text(rnd::zip(r)),
    ]
}

/// Everything of warehouse `w`: the warehouse, its stock, districts, customers, history,
/// orders, order lines and new-orders.
async fn load_warehouse(s: &Shared, c: &mut Connection, w: i64) -> Result<(), SeedError> {
    let mut r = Rng::derive(s.seed, w as u64);
    let now = Value::Timestamp(s.now_us);

    let mut b = Batch::new(
        s,
        1,
        &[
            "w_id",
            "w_name",
            "w_street_1",
            "w_street_2",
            "w_city",
            "w_state",
            "w_zip",
            "w_tax",
            "w_ytd",
        ],
    );
    let mut row = vec![int(w), text(rnd::a_string(&mut r, 6, 10))];
    row.extend(address(&mut r));
    row.push(Value::Decimal(rnd::rate(&mut r, 0, 2000)));
    row.push(Value::Decimal(rnd::money(30_000_000)));
    b.push(c, row).await?;
    b.flush(c).await?;

    let mut cols = vec!["s_i_id", "s_w_id", "s_quantity"];
    let dists = [
        "s_dist_01",
        "s_dist_02",
        "s_dist_03",
        "s_dist_04",
        "s_dist_05",
        "s_dist_06",
        "s_dist_07",
        "s_dist_08",
        "s_dist_09",
        "s_dist_10",
    ];
    cols.extend(dists);
    cols.extend(["s_ytd", "s_order_cnt", "s_remote_cnt", "s_data"]);
    let mut b = Batch::new(s, 2, &cols);
    for i in 1..=ITEMS {
        let mut row = Vec::with_capacity(17);
        row.extend([int(i), int(w), int(r.range_i64(10, 100))]);
        for _ in 0..10 {
            row.push(text(rnd::a_string(&mut r, 24, 24)));
        }
        row.extend([
            int(0),
            int(0),
            int(0),
            text(rnd::data_with_original(&mut r)),
        ]);
        b.push(c, row).await?;
    }
    b.flush(c).await?;

    let mut b = Batch::new(
        s,
        3,
        &[
            "d_id",
            "d_w_id",
            "d_name",
            "d_street_1",
            "d_street_2",
            "d_city",
            "d_state",
            "d_zip",
            "d_tax",
            "d_ytd",
            "d_next_o_id",
        ],
    );
    for d in 1..=DISTRICTS {
        let mut row = vec![int(d), int(w), text(rnd::a_string(&mut r, 6, 10))];
        row.extend(address(&mut r));
        row.push(Value::Decimal(rnd::rate(&mut r, 0, 2000)));
        row.push(Value::Decimal(rnd::money(3_000_000)));
        row.push(int(ORDERS + 1));
        b.push(c, row).await?;
    }
    b.flush(c).await?;

    let mut customers = Batch::new(
        s,
        4,
        &[
            "c_id",
            "c_d_id",
            "c_w_id",
            "c_first",
            "c_middle",
            "c_last",
            "c_street_1",
            "c_street_2",
            "c_city",
            "c_state",
            "c_zip",
            "c_phone",
            "c_since",
            "c_credit",
            "c_credit_lim",
            "c_discount",
            "c_balance",
            "c_ytd_payment",
            "c_payment_cnt",
            "c_delivery_cnt",
            "c_data",
        ],
    );
    let mut history = Batch::new(
        s,
        5,
        &[
            "h_c_id", "h_c_d_id", "h_c_w_id", "h_d_id", "h_w_id", "h_date", "h_amount", "h_data",
        ],
    );
    for d in 1..=DISTRICTS {
        for id in 1..=CUSTOMERS {
            // The first 1,000 customers take the 1,000 names in order, so that every name
            // exists; the rest follow NURand (clause 4.3.3.1).
            let last = if id <= 1000 {
                rnd::last_name(id - 1)
            } else {
                rnd::customer_last(&mut r, &s.consts)
            };
            let mut row = vec![
                int(id),
                int(d),
                int(w),
                text(rnd::a_string(&mut r, 8, 16)),
                text("OE".into()),
                text(last),
            ];
            row.extend(address(&mut r));
            row.extend([
                text(rnd::n_string(&mut r, 16, 16)),
                now.clone(),
                text(if r.below(10) == 0 { "BC" } else { "GC" }.into()),
                Value::Decimal(rnd::money(5_000_000)),
                Value::Decimal(rnd::rate(&mut r, 0, 5000)),
                Value::Decimal(rnd::money(-1000)),
                Value::Decimal(rnd::money(1000)),
                int(1),
                int(0),
                text(rnd::a_string(&mut r, 300, 500)),
            ]);
            customers.push(c, row).await?;
            let h = vec![
                int(id),
                int(d),
                int(w),
                int(d),
                int(w),
                now.clone(),
                Value::Decimal(rnd::money(1000)),
                text(rnd::a_string(&mut r, 12, 24)),
            ];
            history.push(c, h).await?;
        }
    }
    customers.flush(c).await?;
    history.flush(c).await?;

    let mut orders = Batch::new(
        s,
        6,
        &[
            "o_id",
            "o_d_id",
            "o_w_id",
            "o_c_id",
            "o_entry_d",
            "o_carrier_id",
            "o_ol_cnt",
            "o_all_local",
        ],
    );
    let mut lines = Batch::new(
        s,
        7,
        &[
            "ol_o_id",
            "ol_d_id",
            "ol_w_id",
            "ol_number",
            "ol_i_id",
            "ol_supply_w_id",
            "ol_delivery_d",
            "ol_quantity",
            "ol_amount",
            "ol_dist_info",
        ],
    );
    let mut new_orders = Batch::new(s, 8, &["no_o_id", "no_d_id", "no_w_id"]);
    for d in 1..=DISTRICTS {
        // O_C_ID is a random permutation of the customer ids.
        let mut perm: Vec<i64> = (1..=CUSTOMERS).collect();
        for i in (1..perm.len()).rev() {
            let j = r.below(i as u64 + 1) as usize;
            perm.swap(i, j);
        }
        for o in 1..=ORDERS {
            let delivered = o < FIRST_NEW_ORDER;
            let ol_cnt = r.range_i64(5, 15);
            orders
                .push(
                    c,
                    vec![
                        int(o),
                        int(d),
                        int(w),
                        int(perm[(o - 1) as usize]),
                        now.clone(),
                        if delivered {
                            int(r.range_i64(1, 10))
                        } else {
                            Value::Null
                        },
                        int(ol_cnt),
                        int(1),
                    ],
                )
                .await?;
            for n in 1..=ol_cnt {
                let row = vec![
                    int(o),
                    int(d),
                    int(w),
                    int(n),
                    int(r.range_i64(1, ITEMS)),
                    int(w),
                    if delivered { now.clone() } else { Value::Null },
                    int(5),
                    Value::Decimal(if delivered {
                        rnd::money(0)
                    } else {
                        rnd::money_between(&mut r, 1, 999_999)
                    }),
                    text(rnd::a_string(&mut r, 24, 24)),
                ];
                lines.push(c, row).await?;
            }
            if !delivered {
                new_orders.push(c, vec![int(o), int(d), int(w)]).await?;
            }
        }
    }
    orders.flush(c).await?;
    lines.flush(c).await?;
    new_orders.flush(c).await
}
