//! Turns a workload configuration and the tables it runs on into prepared statements and a
//! per-connection transaction generator.

use super::custom::{self, ParamGen};
use super::mix::Mix;
use super::pattern::SelectKind;
use super::tx::{Params, Step, Tx};
use crate::config::{WorkloadConfig, WorkloadSpec};
use crate::datagen::keys::KeySet;
use crate::datagen::{values, KeyDist, Rng};
use crate::db::{Connection, DbError, Dialect};
use crate::schema::{ColKind, ColumnInfo, SchemaError, TableInfo};
use crate::util::time::{now_us, parse_timestamp_us};
use crate::value::Value;
use smallvec::smallvec;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use thiserror::Error;

/// Why a workload cannot be built for these tables.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("the workload needs {what}, but none of the tables {tables:?} has one; pick other tables with --tables or use [[custom_queries]]")]
    Missing { what: String, tables: Vec<String> },
    #[error("custom query '{query}': {why}")]
    Custom { query: String, why: String },
    #[error(
        "cannot prepare statement for {what}: {source}; check the SQL and the table definitions"
    )]
    Prepare {
        what: String,
        #[source]
        source: DbError,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

impl PlanError {
    /// Whether the user's configuration (not the database) is at fault.
    pub fn is_usage(&self) -> bool {
        matches!(self, PlanError::Custom { .. } | PlanError::Config(_))
    }
}

/// Names of the four generated operation kinds, in mix order.
pub const OP_NAMES: [&str; 4] = ["select", "insert", "update", "delete"];

#[derive(Debug, Clone, Copy)]
enum Shape {
    /// One key of table i.
    Key(usize),
    /// A key range of table i: (lo, hi) that many keys apart.
    Span(usize, u64),
    /// A window of time: start and end, `width` µs wide within [min, max].
    Window { min: i64, max: i64, width: i64 },
}

#[derive(Debug, Clone)]
struct ReadStmt {
    stmt: usize,
    shape: Shape,
}

#[derive(Debug)]
enum ColSource {
    Random(ColumnInfo),
    Parent(Arc<KeySet>),
    NextInt(Arc<AtomicI64>),
    RandomKey(ColumnInfo),
}

#[derive(Debug)]
struct TablePlan {
    keys: Arc<KeySet>,
    insert: Option<(usize, Vec<ColSource>)>,
    /// Index in the insert's sources of the client-chosen key, if the key is not generated.
    client_key: Option<usize>,
    updates: Vec<(usize, ColumnInfo)>,
    delete: Option<usize>,
    point: usize,
}

#[derive(Debug)]
struct GeneratedPlan {
    mix: [f64; 4],
    select_kinds: Vec<f64>,
    reads: Vec<Vec<ReadStmt>>,
    tables: Vec<TablePlan>,
    insertable: Vec<usize>,
    updatable: Vec<usize>,
}

#[derive(Debug)]
struct CustomTx {
    stmts: Vec<(usize, Vec<usize>)>,
    params: Vec<ParamGen>,
    writes: bool,
    /// One statement that binds each parameter once, in order (most queries): its
    /// parameters are the generated values as they are, without copies.
    direct: bool,
}

#[derive(Debug)]
enum Kind {
    Ycsb(super::ycsb::YcsbPlan),
    Generated(GeneratedPlan),
    Custom {
        weights: Vec<f64>,
        queries: Vec<CustomTx>,
    },
}

/// Everything a connection needs to run the workload: statements to prepare and how to
/// build each transaction.
#[derive(Debug)]
pub struct WorkloadPlan {
    /// SQL of every statement, prepared once per connection; steps refer to them by index.
    pub statements: Vec<String>,
    /// What each statement is for, for error messages.
    pub statement_names: Vec<String>,
    /// Operation names: select/insert/update/delete or the custom query names.
    pub op_names: Vec<String>,
    /// Tables the workload touches.
    pub tables: Vec<TableInfo>,
    kind: Kind,
}

struct Builder {
    d: Dialect,
    statements: Vec<String>,
    names: Vec<String>,
}

impl Builder {
    fn add(&mut self, name: String, sql: String) -> usize {
        self.statements.push(sql);
        self.names.push(name);
        self.statements.len() - 1
    }
}

fn numeric_col(t: &TableInfo) -> Option<&ColumnInfo> {
    t.columns.iter().find(|c| {
        !t.primary_key.contains(&c.name)
            && t.fk_for(&c.name).is_none()
            && matches!(
                c.kind,
                ColKind::Decimal { .. } | ColKind::Float | ColKind::Int | ColKind::SmallInt
            )
    })
}

fn group_col(t: &TableInfo) -> Option<&ColumnInfo> {
    let text: Vec<&ColumnInfo> = t
        .columns
        .iter()
        .filter(|c| {
            matches!(c.kind, ColKind::Text { .. }) && !c.unique && !t.primary_key.contains(&c.name)
        })
        .collect();
    let preferred = ["status", "category", "country", "type", "state", "city"];
    text.iter()
        .find(|c| {
            preferred
                .iter()
                .any(|p| c.name.to_ascii_lowercase().contains(p))
        })
        .or(text.first())
        .copied()
}

fn time_col(t: &TableInfo) -> Option<&ColumnInfo> {
    let ts: Vec<&ColumnInfo> = t
        .columns
        .iter()
        .filter(|c| c.kind == ColKind::Timestamp)
        .collect();
    ts.iter()
        .find(|c| {
            let n = c.name.to_ascii_lowercase();
            n.contains("created") || n == "ts" || n.contains("time")
        })
        .or(ts.first())
        .copied()
}

fn pk_name(t: &TableInfo) -> Result<&str, SchemaError> {
    t.pk_column()
        .map(|c| c.name.as_str())
        .ok_or_else(|| SchemaError::NoPrimaryKey {
            table: t.name.clone(),
        })
}

impl WorkloadPlan {
    /// Each stage's operation weights over `op_names`; a name the workload does not run is
    /// refused with the names it does.
    pub fn stage_weights(
        &self,
        stages: &[crate::engine::Stage],
    ) -> Result<Option<StageWeights>, crate::Error> {
        if stages.iter().all(|s| s.weights.is_none()) {
            return Ok(None);
        }
        let mut out = Vec::new();
        for (i, st) in stages.iter().enumerate() {
            let Some(w) = &st.weights else {
                out.push(None);
                continue;
            };
            if let Some(bad) = w.keys().find(|k| !self.op_names.contains(k)) {
                return Err(crate::Error::Usage(format!(
                    "stage {} weighs operation '{bad}', which this workload does not run; its operations: {}",
                    i + 1,
                    self.op_names.join(", ")
                )));
            }
            out.push(Some(
                self.op_names
                    .iter()
                    .map(|n| w.get(n).copied().unwrap_or(0.0))
                    .collect(),
            ));
        }
        Ok(Some(Arc::new(out)))
    }

    /// Builds the plan for `tables` (already introspected). Loads existing keys through `conn`.
    pub async fn build(
        conn: &mut Connection,
        cfg: &WorkloadConfig,
        tables: Vec<TableInfo>,
    ) -> Result<WorkloadPlan, crate::Error> {
        let mut b = Builder {
            d: conn.dialect(),
            statements: Vec::new(),
            names: Vec::new(),
        };
        let mut key_cache: HashMap<(String, String), Arc<KeySet>> = HashMap::new();
        let (mix, selects) = match &cfg.workload {
            WorkloadSpec::Pgbench { script } => {
                let scale = super::pgbench::scale(conn, &cfg.db).await?;
                let queries = super::pgbench::queries(*script, scale);
                return Self::build_custom(conn, &queries, tables, b, key_cache).await;
            }
            WorkloadSpec::Ycsb {
                workload,
                distribution,
                ..
            } => {
                let table = tables.first().ok_or_else(|| SchemaError::MissingTable {
                    table: "usertable".into(),
                    db: cfg.db.clone(),
                })?;
                let d = b.d;
                let y = super::ycsb::YcsbPlan::build(
                    *workload,
                    distribution.as_deref(),
                    table,
                    d,
                    &mut |name, sql| b.add(name, sql),
                )?;
                return Ok(WorkloadPlan {
                    statements: b.statements,
                    statement_names: b.names,
                    op_names: super::ycsb::OPS.iter().map(|s| s.to_string()).collect(),
                    tables,
                    kind: Kind::Ycsb(y),
                });
            }
            WorkloadSpec::CustomSql { queries, .. } => {
                return Self::build_custom(conn, queries, tables, b, key_cache).await;
            }
            WorkloadSpec::CustomMix {
                mix,
                use_joins,
                use_aggregations,
                ..
            } => {
                let mut v = vec![(SelectKind::Point, 60.0), (SelectKind::Range, 20.0)];
                if *use_joins {
                    v.push((SelectKind::Join, 20.0));
                }
                if *use_aggregations {
                    v.push((SelectKind::Aggregate, 20.0));
                    if *use_joins {
                        v.push((SelectKind::JoinAggregate, 10.0));
                    }
                }
                (*mix, v)
            }
            WorkloadSpec::Pattern { pattern, .. } => (pattern.mix(), pattern.selects()),
            WorkloadSpec::WritersReaders(_) | WorkloadSpec::ListAppend | WorkloadSpec::Tpcc(_) => {
                return Err(crate::Error::Failed(format!(
                    "{} is not a statement workload; it has a client of its own",
                    cfg.pattern()
                )))
            }
        };
        let mix = [mix.select, mix.insert, mix.update, mix.delete];
        let reads_rows = mix[0] > 0.0 || mix[2] > 0.0;
        let d = b.d;
        let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
        let mut plans = Vec::new();
        for t in &tables {
            let pk = pk_name(t)?;
            if reads_rows && t.row_count == 0 {
                return Err(SchemaError::EmptyTable {
                    table: t.name.clone(),
                }
                .into());
            }
            let pk_col = t
                .pk_column()
                .cloned()
                .ok_or_else(|| SchemaError::NoPrimaryKey {
                    table: t.name.clone(),
                })?;
            let keys = Arc::new(
                KeySet::load(conn, &t.name, pk, pk_col.kind.is_integer())
                    .await
                    .map_err(|e| crate::Error::db(format!("loading keys of {}", t.name), e))?,
            );
            key_cache.insert((t.name.clone(), pk.to_string()), keys.clone());
            let (ti, pki) = (d.ident(&t.name), d.ident(pk));
            let point = b.add(
                format!("{} point select", t.name),
                format!("SELECT * FROM {ti} WHERE {pki} = {}", d.placeholder(1)),
            );
            // INSERT
            let mut sources = Vec::new();
            let mut cols = Vec::new();
            let mut client_key = None;
            let mut insertable = true;
            for c in &t.columns {
                let is_pk = c.name == pk;
                if is_pk && c.auto_generated {
                    continue;
                }
                let src = if is_pk {
                    client_key = Some(sources.len());
                    if c.kind.is_integer() {
                        let next = match keys.as_ref() {
                            KeySet::Dense { max, .. } => max + 1,
                            KeySet::List(v) => {
                                v.iter().filter_map(Value::as_i64).max().unwrap_or(0) + 1
                            }
                        };
                        ColSource::NextInt(Arc::new(AtomicI64::new(next)))
                    } else {
                        ColSource::RandomKey(c.clone())
                    }
                } else if let Some(fk) = t.fk_for(&c.name) {
                    let key = (fk.ref_table.clone(), fk.ref_column.clone());
                    let set = match key_cache.get(&key) {
                        Some(s) => s.clone(),
                        None => {
                            let integer = c.kind.is_integer();
                            let s = Arc::new(
                                KeySet::load(conn, &fk.ref_table, &fk.ref_column, integer)
                                    .await
                                    .map_err(|e| {
                                        crate::Error::db(
                                            format!("loading keys of {}", fk.ref_table),
                                            e,
                                        )
                                    })?,
                            );
                            key_cache.insert(key, s.clone());
                            s
                        }
                    };
                    if set.is_empty() && mix[1] > 0.0 {
                        return Err(SchemaError::EmptyTable {
                            table: fk.ref_table.clone(),
                        }
                        .into());
                    }
                    ColSource::Parent(set)
                } else if let ColKind::Other(_) = c.kind {
                    if !c.nullable && !c.has_default {
                        insertable = false;
                    }
                    continue;
                } else {
                    ColSource::Random(c.clone())
                };
                cols.push(d.ident(&c.name));
                sources.push(src);
            }
            let insert = if insertable {
                let ph: Vec<String> = (1..=cols.len()).map(|i| d.placeholder(i)).collect();
                let returning = if client_key.is_none() && d.supports_returning() {
                    format!(" RETURNING {pki}")
                } else {
                    String::new()
                };
                let sql = if cols.is_empty() {
                    format!("INSERT INTO {ti} DEFAULT VALUES{returning}")
                } else {
                    format!(
                        "INSERT INTO {ti} ({}) VALUES ({}){returning}",
                        cols.join(", "),
                        ph.join(", ")
                    )
                };
                Some((b.add(format!("{} insert", t.name), sql), sources))
            } else {
                None
            };
            let mut updates = Vec::new();
            for c in &t.columns {
                if t.primary_key.contains(&c.name)
                    || c.auto_generated
                    || t.fk_for(&c.name).is_some()
                    || matches!(c.kind, ColKind::Other(_))
                {
                    continue;
                }
                let sql = format!(
                    "UPDATE {ti} SET {} = {} WHERE {pki} = {}",
                    d.ident(&c.name),
                    d.placeholder(1),
                    d.placeholder(2)
                );
                updates.push((
                    b.add(format!("{} update {}", t.name, c.name), sql),
                    c.clone(),
                ));
            }
            let delete = insert.as_ref().map(|_| {
                b.add(
                    format!("{} delete", t.name),
                    format!("DELETE FROM {ti} WHERE {pki} = {}", d.placeholder(1)),
                )
            });
            plans.push(TablePlan {
                keys,
                insert,
                client_key,
                updates,
                delete,
                point,
            });
        }
        // Reads by kind.
        let mut reads: Vec<Vec<ReadStmt>> = Vec::new();
        let mut kinds = Vec::new();
        for (kind, weight) in &selects {
            let mut cands = Vec::new();
            for (i, t) in tables.iter().enumerate() {
                let pk = pk_name(t)?;
                let (ti, pki) = (d.ident(&t.name), d.ident(pk));
                let (p1, p2) = (d.placeholder(1), d.placeholder(2));
                let n = plans[i].keys.len();
                let agg = |alias: &str| match numeric_col(t) {
                    Some(c) => {
                        let c = format!("{alias}{}", d.ident(&c.name));
                        format!("COUNT(*), SUM({c}), AVG({c}), MIN({c}), MAX({c})")
                    }
                    None => "COUNT(*)".to_string(),
                };
                match kind {
                    SelectKind::Point => cands.push(ReadStmt {
                        stmt: plans[i].point,
                        shape: Shape::Key(i),
                    }),
                    SelectKind::Range | SelectKind::LargeScan => {
                        let limit = if *kind == SelectKind::Range {
                            100
                        } else {
                            1000
                        };
                        let sql = format!(
                            "SELECT * FROM {ti} WHERE {pki} >= {p1} ORDER BY {pki} LIMIT {limit}"
                        );
                        cands.push(ReadStmt {
                            stmt: b.add(format!("{} range scan", t.name), sql),
                            shape: Shape::Key(i),
                        });
                    }
                    SelectKind::Aggregate => {
                        let sql = format!(
                            "SELECT {} FROM {ti} WHERE {pki} >= {p1} AND {pki} <= {p2}",
                            agg("")
                        );
                        cands.push(ReadStmt {
                            stmt: b.add(format!("{} aggregate", t.name), sql),
                            shape: Shape::Span(i, 1000),
                        });
                    }
                    SelectKind::GroupBy => {
                        if let Some(g) = group_col(t) {
                            let g = d.ident(&g.name);
                            let sql = format!(
                                "SELECT {g}, {} FROM {ti} WHERE {pki} >= {p1} AND {pki} <= {p2} GROUP BY {g} ORDER BY COUNT(*) DESC",
                                agg("")
                            );
                            let width = (n / 10).clamp(1000, 50_000);
                            cands.push(ReadStmt {
                                stmt: b.add(format!("{} group by", t.name), sql),
                                shape: Shape::Span(i, width),
                            });
                        }
                    }
                    SelectKind::Join | SelectKind::JoinAggregate => {
                        for fk in &t.foreign_keys {
                            let Some(pi) = names.iter().position(|n| *n == fk.ref_table) else {
                                continue;
                            };
                            let parent = &tables[pi];
                            if parent.pk_column().map(|c| c.name.as_str())
                                != Some(fk.ref_column.as_str())
                            {
                                continue;
                            }
                            let (pt, ppk, cfk) = (
                                d.ident(&parent.name),
                                d.ident(&fk.ref_column),
                                d.ident(&fk.column),
                            );
                            if *kind == SelectKind::Join {
                                let sql = format!(
                                    "SELECT p.*, c.* FROM {pt} p JOIN {ti} c ON c.{cfk} = p.{ppk} WHERE p.{ppk} = {p1}"
                                );
                                cands.push(ReadStmt {
                                    stmt: b.add(format!("{} join {}", parent.name, t.name), sql),
                                    shape: Shape::Key(pi),
                                });
                            } else {
                                let g = group_col(parent)
                                    .map(|c| format!("p.{}", d.ident(&c.name)))
                                    .unwrap_or_else(|| format!("p.{ppk}"));
                                let sql = format!(
                                    "SELECT {g}, {} FROM {pt} p JOIN {ti} c ON c.{cfk} = p.{ppk} WHERE p.{ppk} >= {p1} AND p.{ppk} <= {p2} GROUP BY {g}",
                                    agg("c.")
                                );
                                cands.push(ReadStmt {
                                    stmt: b.add(
                                        format!("{} join-aggregate {}", parent.name, t.name),
                                        sql,
                                    ),
                                    shape: Shape::Span(pi, 500),
                                });
                            }
                        }
                    }
                    SelectKind::TimeRange => {
                        if let Some(c) = time_col(t) {
                            let ci = d.ident(&c.name);
                            let rows = conn
                                .query_text(&format!("SELECT MIN({ci}), MAX({ci}) FROM {ti}"))
                                .await
                                .map_err(|e| {
                                    crate::Error::db(format!("reading time range of {}", t.name), e)
                                })?;
                            let get = |j: usize| {
                                rows.first()
                                    .and_then(|r| r.get(j).cloned().flatten())
                                    .and_then(|s| parse_timestamp_us(&s))
                            };
                            if let (Some(min), Some(max)) = (get(0), get(1)) {
                                let width = ((max - min) / 200).max(60_000_000);
                                let sql = format!(
                                    "SELECT * FROM {ti} WHERE {ci} >= {p1} AND {ci} < {p2} ORDER BY {ci} LIMIT 500"
                                );
                                cands.push(ReadStmt {
                                    stmt: b.add(format!("{} time range", t.name), sql),
                                    shape: Shape::Window { min, max, width },
                                });
                            }
                        }
                    }
                }
            }
            if cands.is_empty() {
                // Tables without what this kind needs (no foreign keys, no timestamps) get
                // point reads instead, so the SELECT share of the mix still holds.
                for (i, p) in plans.iter().enumerate() {
                    cands.push(ReadStmt {
                        stmt: p.point,
                        shape: Shape::Key(i),
                    });
                }
            }
            reads.push(cands);
            kinds.push(*weight);
        }
        let insertable: Vec<usize> = (0..plans.len())
            .filter(|&i| plans[i].insert.is_some())
            .collect();
        let updatable: Vec<usize> = (0..plans.len())
            .filter(|&i| !plans[i].updates.is_empty())
            .collect();
        if (mix[1] > 0.0 || mix[3] > 0.0) && insertable.is_empty() {
            return Err(PlanError::Missing {
                what: "a table it can insert into".into(),
                tables: names,
            }
            .into());
        }
        if mix[2] > 0.0 && updatable.is_empty() {
            return Err(PlanError::Missing {
                what: "a non-key column to update".into(),
                tables: names,
            }
            .into());
        }
        Ok(WorkloadPlan {
            statements: b.statements,
            statement_names: b.names,
            op_names: OP_NAMES.iter().map(|s| s.to_string()).collect(),
            tables,
            kind: Kind::Generated(GeneratedPlan {
                mix,
                select_kinds: kinds,
                reads,
                tables: plans,
                insertable,
                updatable,
            }),
        })
    }

    async fn build_custom(
        conn: &mut Connection,
        custom_queries: &[crate::config::CustomQuery],
        tables: Vec<TableInfo>,
        mut b: Builder,
        mut key_cache: HashMap<(String, String), Arc<KeySet>>,
    ) -> Result<WorkloadPlan, crate::Error> {
        let mut queries = Vec::new();
        let mut weights = Vec::new();
        let mut op_names = Vec::new();
        for q in custom_queries {
            let stmts = custom::split_statements(&q.sql);
            if stmts.is_empty() {
                return Err(PlanError::Custom {
                    query: q.name.clone(),
                    why: "sql is empty".into(),
                }
                .into());
            }
            let mut names = Vec::new();
            let mut parsed = Vec::new();
            for s in &stmts {
                parsed.push(custom::rewrite_placeholders(s, b.d, &mut names));
            }
            // Load referenced keys first (async), then build generators.
            for n in &names {
                let spec = q.params.get(n).ok_or_else(|| PlanError::Custom {
                    query: q.name.clone(),
                    why: format!("the SQL uses :{n} but [custom_queries.params] has no '{n}'; add e.g. {n} = {{ generator = \"random_int\", min = 1, max = 100 }}"),
                })?;
                if let Some(r) = spec.references.as_deref() {
                    if let Some((t, c)) = r.split_once('.') {
                        let key = (t.to_string(), c.to_string());
                        if let std::collections::hash_map::Entry::Vacant(e) = key_cache.entry(key) {
                            let info = conn
                                .introspect(t)
                                .await
                                .map_err(|e| crate::Error::db(format!("reading table {t}"), e))?;
                            if let Some(col) = info.as_ref().and_then(|i| i.column(c)) {
                                let set = KeySet::load(conn, t, c, col.kind.is_integer())
                                    .await
                                    .map_err(|e| {
                                        crate::Error::db(format!("loading keys of {t}.{c}"), e)
                                    })?;
                                if !set.is_empty() {
                                    e.insert(Arc::new(set));
                                }
                            }
                        }
                    }
                }
            }
            let mut params = Vec::new();
            for n in &names {
                let spec = &q.params[n];
                let lookup =
                    |t: &str, c: &str| key_cache.get(&(t.to_string(), c.to_string())).cloned();
                params.push(custom::build_param(&q.name, n, spec, &lookup)?);
            }
            if let Some(unused) = q.params.keys().find(|k| !names.contains(k)) {
                return Err(PlanError::Custom {
                    query: q.name.clone(),
                    why: format!(
                        "parameter '{unused}' is defined but the SQL never uses :{unused}"
                    ),
                }
                .into());
            }
            let writes = parsed.iter().any(|p| p.writes);
            let stmts: Vec<(usize, Vec<usize>)> = parsed
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        b.add(
                            format!("custom query '{}' statement {}", q.name, i + 1),
                            p.sql,
                        ),
                        p.bind,
                    )
                })
                .collect();
            let direct =
                matches!(stmts.as_slice(), [(_, bind)] if bind.iter().copied().eq(0..params.len()));
            queries.push(CustomTx {
                stmts,
                params,
                writes,
                direct,
            });
            weights.push(q.weight);
            op_names.push(q.name.clone());
        }
        Ok(WorkloadPlan {
            statements: b.statements,
            statement_names: b.names,
            op_names,
            tables,
            kind: Kind::Custom { weights, queries },
        })
    }

    /// Whether every transaction is one statement in autocommit, which pipelining needs.
    pub fn single_statement(&self) -> bool {
        match &self.kind {
            Kind::Custom { queries, .. } => queries.iter().all(|q| q.stmts.len() == 1),
            Kind::Ycsb(y) => y.single_statement(),
            // Deletes may insert and delete in one transaction.
            Kind::Generated(g) => g.mix[3] == 0.0,
        }
    }

    /// Prepares every statement on a connection, naming the one that fails.
    pub async fn prepare(&self, conn: &mut Connection) -> Result<(), PlanError> {
        if let Err(e) = conn.prepare_all(&self.statements).await {
            // Find which one failed, for a useful message.
            for (i, sql) in self.statements.iter().enumerate() {
                if let Err(source) = conn.prepare_all(std::slice::from_ref(sql)).await {
                    return Err(PlanError::Prepare {
                        what: format!("{} ({sql})", self.statement_names[i]),
                        source,
                    });
                }
            }
            return Err(PlanError::Prepare {
                what: "the workload".into(),
                source: e,
            });
        }
        Ok(())
    }
}

/// Most inserted keys a connection remembers per table for later deletes.
const MAX_REMEMBERED: usize = 100_000;

/// Operation weights per stage, over the plan's `op_names` (None: the workload's own).
pub type StageWeights = Arc<Vec<Option<Vec<f64>>>>;

/// Builds one connection's transactions; each connection owns one.
pub struct TxGen {
    plan: Arc<WorkloadPlan>,
    st: GenState,
    /// The workload's own operation mix, and each stage's where it has one.
    base_ops: Mix,
    stage_weights: Option<StageWeights>,
    index: usize,
}

/// The mutable half of a [`TxGen`], kept apart so the plan is borrowed, not cloned, per call.
struct GenState {
    rng: Rng,
    ops: Mix,
    selects: Mix,
    inserted: Vec<VecDeque<Value>>,
    uniform: KeyDist,
    now_us: i64,
}

impl TxGen {
    /// A generator for connection `index`; `seed` makes the stream reproducible.
    pub fn new(plan: Arc<WorkloadPlan>, index: usize, seed: u64) -> Self {
        let (ops, selects) = match &plan.kind {
            Kind::Ycsb(y) => (y.mix(), Mix::new(&[1.0])),
            Kind::Generated(g) => (Mix::new(&g.mix), Mix::new(&g.select_kinds)),
            Kind::Custom { weights, .. } => (Mix::new(weights), Mix::new(&[1.0])),
        };
        let tables = plan.tables.len();
        let ops = ops.offset(index * 7);
        TxGen {
            st: GenState {
                rng: Rng::derive(seed, index as u64),
                ops: ops.clone(),
                selects: selects.offset(index * 3),
                inserted: vec![VecDeque::new(); tables],
                uniform: KeyDist::Uniform,
                now_us: now_us(),
            },
            plan,
            base_ops: ops,
            stage_weights: None,
            index,
        }
    }

    /// Stages with their own operation weights.
    pub fn with_stage_weights(mut self, w: StageWeights) -> Self {
        self.stage_weights = Some(w);
        self
    }

    /// The mix of stage `stage`: its own weights, else the workload's.
    pub fn enter_stage(&mut self, stage: usize) {
        let own = self
            .stage_weights
            .as_ref()
            .and_then(|w| w.get(stage).cloned().flatten());
        self.st.ops = match own {
            Some(w) => Mix::new(&w).offset(self.index * 7),
            None => self.base_ops.clone(),
        };
    }

    /// The next transaction.
    pub fn next_tx(&mut self) -> Tx {
        self.st.next_tx(&self.plan)
    }

    /// Records what a committed transaction inserted, so a later delete can remove it.
    pub fn committed(&mut self, tx: &Tx, inserted_key: Option<Value>) {
        self.st.committed(tx, inserted_key)
    }
}

impl GenState {
    fn next_tx(&mut self, plan: &WorkloadPlan) -> Tx {
        match &plan.kind {
            Kind::Ycsb(y) => {
                let op = self.ops.pick();
                y.tx(op, &mut self.rng)
            }
            Kind::Custom { queries, .. } => {
                let qi = self.ops.pick();
                let q = &queries[qi];
                let values: Params = q.params.iter().map(|p| p.generate(&mut self.rng)).collect();
                let steps = match q.stmts.first() {
                    Some(&(stmt, _)) if q.direct => smallvec![Step {
                        stmt,
                        params: values,
                        key_from: None,
                    }],
                    _ => q
                        .stmts
                        .iter()
                        .map(|(stmt, bind)| Step {
                            stmt: *stmt,
                            params: bind.iter().map(|&i| values[i].clone()).collect(),
                            key_from: None,
                        })
                        .collect(),
                };
                Tx {
                    op: qi,
                    steps,
                    writes: q.writes,
                    remember_insert: None,
                    client_key: None,
                }
            }
            Kind::Generated(g) => match self.ops.pick() {
                0 => self.select(g),
                1 => {
                    let t = g.insertable[self.rng.below(g.insertable.len() as u64) as usize];
                    self.insert(g, t, 1)
                }
                2 => self.update(g),
                _ => self.delete(g),
            },
        }
    }

    fn committed(&mut self, tx: &Tx, inserted_key: Option<Value>) {
        if let Some(t) = tx.remember_insert {
            if let Some(k) = tx.client_key.clone().or(inserted_key) {
                let q = &mut self.inserted[t];
                if q.len() >= MAX_REMEMBERED {
                    q.pop_front();
                }
                q.push_back(k);
            }
        }
    }

    fn key_of(&mut self, g: &GeneratedPlan, t: usize) -> Value {
        g.tables[t].keys.sample(&mut self.rng, &self.uniform)
    }

    fn select(&mut self, g: &GeneratedPlan) -> Tx {
        let kind = self.selects.pick();
        let cands = &g.reads[kind];
        let r = &cands[self.rng.below(cands.len() as u64) as usize];
        let params = match r.shape {
            Shape::Key(t) => smallvec![self.key_of(g, t)],
            Shape::Span(t, width) => {
                let keys = &g.tables[t].keys;
                let n = keys.len();
                let start = self.rng.below(n.max(1));
                smallvec![
                    keys.get(start),
                    keys.get((start + width).min(n.saturating_sub(1))),
                ]
            }
            Shape::Window { min, max, width } => {
                let lo = self.rng.range_i64(min, (max - width).max(min));
                smallvec![Value::Timestamp(lo), Value::Timestamp(lo + width)]
            }
        };
        Tx {
            op: 0,
            steps: smallvec![Step {
                stmt: r.stmt,
                params,
                key_from: None,
            }],
            writes: false,
            remember_insert: None,
            client_key: None,
        }
    }

    fn insert_step(&mut self, g: &GeneratedPlan, t: usize) -> (Step, Option<Value>) {
        let Some((stmt, sources)) = &g.tables[t].insert else {
            unreachable!("insert on a table without an insert statement")
        };
        let mut client_key = None;
        let mut params = Params::with_capacity(sources.len());
        for (i, s) in sources.iter().enumerate() {
            let v = match s {
                ColSource::Random(c) => values::for_column(c, &mut self.rng, self.now_us),
                ColSource::Parent(set) => set.sample(&mut self.rng, &self.uniform),
                ColSource::NextInt(n) => Value::Int(n.fetch_add(1, Ordering::Relaxed)),
                ColSource::RandomKey(c) => {
                    let mut c = c.clone();
                    c.unique = true;
                    values::for_column(&c, &mut self.rng, self.now_us)
                }
            };
            if g.tables[t].client_key == Some(i) {
                client_key = Some(v.clone());
            }
            params.push(v);
        }
        (
            Step {
                stmt: *stmt,
                params,
                key_from: None,
            },
            client_key,
        )
    }

    fn insert(&mut self, g: &GeneratedPlan, t: usize, op: usize) -> Tx {
        let (step, client_key) = self.insert_step(g, t);
        Tx {
            op,
            steps: smallvec![step],
            writes: true,
            remember_insert: Some(t),
            client_key,
        }
    }

    fn update(&mut self, g: &GeneratedPlan) -> Tx {
        let t = g.updatable[self.rng.below(g.updatable.len() as u64) as usize];
        let ups = &g.tables[t].updates;
        let (stmt, col) = &ups[self.rng.below(ups.len() as u64) as usize];
        let value = values::for_column(col, &mut self.rng, self.now_us);
        let key = self.key_of(g, t);
        Tx {
            op: 2,
            steps: smallvec![Step {
                stmt: *stmt,
                params: smallvec![value, key],
                key_from: None,
            }],
            writes: true,
            remember_insert: None,
            client_key: None,
        }
    }

    fn delete(&mut self, g: &GeneratedPlan) -> Tx {
        // Delete the oldest row this connection inserted, from a table that has one.
        let start = self.rng.below(g.insertable.len() as u64) as usize;
        for k in 0..g.insertable.len() {
            let t = g.insertable[(start + k) % g.insertable.len()];
            if let Some(key) = self.inserted[t].pop_front() {
                let stmt = g.tables[t].delete.unwrap_or(0);
                return Tx {
                    op: 3,
                    steps: smallvec![Step {
                        stmt,
                        params: smallvec![key],
                        key_from: None,
                    }],
                    writes: true,
                    remember_insert: None,
                    client_key: None,
                };
            }
        }
        // Nothing inserted yet: insert a row and delete it in one transaction, so the delete
        // is real and never touches rows the workload did not create.
        let t = g.insertable[start];
        let (ins, client_key) = self.insert_step(g, t);
        let stmt = g.tables[t].delete.unwrap_or(0);
        let del = match client_key {
            Some(k) => Step {
                stmt,
                params: smallvec![k],
                key_from: None,
            },
            None => Step {
                stmt,
                params: smallvec![Value::Null],
                key_from: Some((0, 0)),
            },
        };
        Tx {
            op: 3,
            steps: smallvec![ins, del],
            writes: true,
            remember_insert: None,
            client_key: None,
        }
    }
}
