//! YCSB core workloads A–F over the `usertable` of the ycsb preset, with YCSB's key
//! distributions (scrambled zipfian, latest, hotspot, uniform) and operations.

use super::mix::Mix;
use super::tx::{Params, Step, Tx};
use crate::config::YcsbWorkload;
use crate::datagen::dist::Zipf;
use crate::datagen::values::{fnv64, ycsb_key};
use crate::datagen::Rng;
use crate::db::Dialect;
use crate::schema::{SchemaError, TableInfo};
use crate::value::Value;
use smallvec::smallvec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Operation names, in YCSB's spelling; indexes into the plan's op names.
pub const OPS: [&str; 5] = ["READ", "UPDATE", "INSERT", "SCAN", "READ-MODIFY-WRITE"];

/// Request distributions.
pub const DISTRIBUTIONS: &[&str] = &["uniform", "zipfian", "latest", "hotspot"];

/// Proportions of READ, UPDATE, INSERT, SCAN, READ-MODIFY-WRITE and the default distribution.
fn spec(workload: YcsbWorkload) -> ([f64; 5], &'static str) {
    match workload {
        YcsbWorkload::A => ([0.5, 0.5, 0.0, 0.0, 0.0], "zipfian"),
        YcsbWorkload::B => ([0.95, 0.05, 0.0, 0.0, 0.0], "zipfian"),
        YcsbWorkload::C => ([1.0, 0.0, 0.0, 0.0, 0.0], "zipfian"),
        YcsbWorkload::D => ([0.95, 0.0, 0.05, 0.0, 0.0], "latest"),
        YcsbWorkload::E => ([0.0, 0.0, 0.05, 0.95, 0.0], "zipfian"),
        YcsbWorkload::F => ([0.5, 0.0, 0.0, 0.0, 0.5], "zipfian"),
    }
}

#[derive(Debug)]
enum Chooser {
    Uniform,
    /// YCSB's ScrambledZipfian: zipfian over a huge item space, hashed onto the records.
    Scrambled(Zipf),
    /// Recent inserts are hottest.
    Latest(Zipf),
    /// 80% of operations on the first 20% of keys.
    Hotspot,
}

/// Statements and state shared by the connections of a YCSB run.
#[derive(Debug)]
pub struct YcsbPlan {
    weights: [f64; 5],
    chooser: Chooser,
    fields: usize,
    field_len: usize,
    /// Records loaded plus records inserted so far: the key space reads choose from.
    next_key: Arc<AtomicU64>,
    read: usize,
    update: Vec<usize>,
    insert: usize,
    scan: usize,
    /// Distribution actually used (for the record).
    pub distribution: String,
}

impl YcsbPlan {
    /// Builds the statements for `usertable` and the chooser. `add` registers a statement.
    pub fn build(
        workload: YcsbWorkload,
        distribution: Option<&str>,
        table: &TableInfo,
        d: Dialect,
        add: &mut dyn FnMut(String, String) -> usize,
    ) -> Result<YcsbPlan, crate::Error> {
        let (weights, default) = spec(workload);
        let dist = distribution.unwrap_or(default);
        let key =
            table
                .pk_column()
                .map(|c| c.name.clone())
                .ok_or_else(|| SchemaError::NoPrimaryKey {
                    table: table.name.clone(),
                })?;
        let fields: Vec<String> = table
            .columns
            .iter()
            .filter(|c| c.name.to_ascii_lowercase().starts_with("field"))
            .map(|c| c.name.clone())
            .collect();
        if table.row_count == 0 {
            return Err(SchemaError::EmptyTable {
                table: table.name.clone(),
            }
            .into());
        }
        let records = table.row_count;
        let chooser = match dist {
            "uniform" => Chooser::Uniform,
            "zipfian" => Chooser::Scrambled(Zipf::new(10_000_000_000, 0.99)),
            "latest" => Chooser::Latest(Zipf::new(records, 0.99)),
            "hotspot" => Chooser::Hotspot,
            other => {
                return Err(crate::Error::Usage(format!(
                    "unknown --distribution '{other}'; use one of {}",
                    DISTRIBUTIONS.join(", ")
                )))
            }
        };
        let (t, k) = (d.ident(&table.name), d.ident(&key));
        let p = |n| d.placeholder(n);
        let read = add(
            "YCSB read".into(),
            format!("SELECT * FROM {t} WHERE {k} = {}", p(1)),
        );
        let update = fields
            .iter()
            .map(|f| {
                add(
                    format!("YCSB update {f}"),
                    format!(
                        "UPDATE {t} SET {} = {} WHERE {k} = {}",
                        d.ident(f),
                        p(1),
                        p(2)
                    ),
                )
            })
            .collect();
        let cols: Vec<String> = std::iter::once(k.clone())
            .chain(fields.iter().map(|f| d.ident(f)))
            .collect();
        let ph: Vec<String> = (1..=cols.len()).map(p).collect();
        let insert = add(
            "YCSB insert".into(),
            format!(
                "INSERT INTO {t} ({}) VALUES ({})",
                cols.join(", "),
                ph.join(", ")
            ),
        );
        let scan = add(
            "YCSB scan".into(),
            format!(
                "SELECT * FROM {t} WHERE {k} >= {} ORDER BY {k} LIMIT {}",
                p(1),
                p(2)
            ),
        );
        Ok(YcsbPlan {
            weights,
            chooser,
            fields: fields.len(),
            field_len: 100,
            next_key: Arc::new(AtomicU64::new(records)),
            read,
            update,
            insert,
            scan,
            distribution: dist.to_string(),
        })
    }

    /// Whether no operation needs two statements (READ-MODIFY-WRITE does).
    pub fn single_statement(&self) -> bool {
        self.weights[4] == 0.0
    }

    /// The operation mix for one connection.
    pub fn mix(&self) -> Mix {
        Mix::new(&self.weights)
    }

    fn key_number(&self, rng: &mut Rng) -> u64 {
        let n = self.next_key.load(Ordering::Relaxed).max(1);
        match &self.chooser {
            Chooser::Uniform => rng.below(n),
            Chooser::Scrambled(z) => fnv64(z.sample(rng)) % n,
            Chooser::Latest(z) => n - 1 - (z.sample(rng) % n),
            Chooser::Hotspot => {
                let hot = (n / 5).max(1);
                if rng.chance(0.8) {
                    rng.below(hot)
                } else {
                    hot + rng.below((n - hot).max(1))
                }
            }
        }
    }

    fn value(&self, rng: &mut Rng) -> Value {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut s = String::with_capacity(self.field_len);
        for _ in 0..self.field_len {
            s.push(A[rng.below(A.len() as u64) as usize] as char);
        }
        Value::Text(s)
    }

    /// The next transaction for operation `op` (an index into [`OPS`]).
    pub fn tx(&self, op: usize, rng: &mut Rng) -> Tx {
        let one = |stmt: usize, params: Params| Step {
            stmt,
            params,
            key_from: None,
        };
        let key = || Value::Text(String::new());
        let mut k = key();
        if op != 2 {
            k = Value::Text(ycsb_key(self.key_number(rng)));
        }
        let field =
            |rng: &mut Rng| self.update[rng.below(self.update.len().max(1) as u64) as usize];
        let (steps, writes) = match op {
            0 => (smallvec![one(self.read, smallvec![k])], false),
            1 if !self.update.is_empty() => (
                smallvec![one(field(rng), smallvec![self.value(rng), k])],
                true,
            ),
            2 => {
                let n = self.next_key.fetch_add(1, Ordering::Relaxed);
                let mut params = Params::with_capacity(1 + self.fields);
                params.push(Value::Text(ycsb_key(n)));
                for _ in 0..self.fields {
                    params.push(self.value(rng));
                }
                (smallvec![one(self.insert, params)], true)
            }
            3 => {
                let len = 1 + rng.below(100) as i64;
                (
                    smallvec![one(self.scan, smallvec![k, Value::Int(len)])],
                    false,
                )
            }
            _ if !self.update.is_empty() => {
                let upd = one(field(rng), smallvec![self.value(rng), k.clone()]);
                (smallvec![one(self.read, smallvec![k]), upd], true)
            }
            _ => (smallvec![one(self.read, smallvec![k])], false),
        };
        Tx {
            op,
            steps,
            writes,
            remember_insert: None,
            client_key: None,
        }
    }
}
