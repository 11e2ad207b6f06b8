//! `dbarena seed`: orders tables by foreign keys, loads each level in parallel (large tables
//! split across connections), and reports rows per second.

use super::config::{pending_fks, SeedConfig, SeedConfigError, TableRule};
use super::generators::{name_hash, ColumnGen, Gen, Locale};
use super::infer::infer_rule;
use super::presets::{preset, Preset, PRESETS};
use crate::datagen::keys::KeySet;
use crate::datagen::KeyDist;
use crate::db::{Connection, DbError, DbUrl};
use crate::schema::{ColKind, TableInfo};
use crate::value::Value;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;
use thiserror::Error;

/// Why seeding could not start or did not finish.
#[derive(Debug, Error)]
pub enum SeedError {
    #[error(transparent)]
    Config(#[from] SeedConfigError),
    #[error("unknown preset '{0}'; valid presets: {list}", list = PRESETS.join(", "))]
    UnknownPreset(String),
    #[error("nothing to seed: give --preset, --config or --rows table=N")]
    Nothing,
    #[error("table '{0}' does not exist; create it first, or use --preset to have dbarena create its tables")]
    MissingTable(String),
    #[error("table '{table}' has no column '{column}' (from the seed rules); fix the column name or add the column")]
    UnknownColumn { table: String, column: String },
    #[error("table '{table}', column '{column}': foreign key to {reference}, which is neither in the seed plan nor in the database; add that table to the plan or fix references")]
    UnknownReference {
        table: String,
        column: String,
        reference: String,
    },
    #[error("table '{table}', column '{column}': the referenced table {reference} has no rows to point at; seed it first or in the same run")]
    EmptyReference {
        table: String,
        column: String,
        reference: String,
    },
    #[error(
        "foreign keys form a cycle: {0}; break it with a nullable column left out of the rules"
    )]
    Cycle(String),
    #[error("table '{table}' already holds {rows} rows; use --truncate to replace them or --incremental to append")]
    NotEmpty { table: String, rows: u64 },
    #[error("seeding failed in table '{table}', batch {batch}: {source}; rows committed so far: {committed}")]
    Failed {
        table: String,
        batch: u64,
        #[source]
        source: DbError,
        committed: String,
    },
    #[error("database error while {context}: {source}")]
    Database {
        context: String,
        #[source]
        source: DbError,
    },
    #[error("table '{table}', column '{column}': the generator makes values of up to {longest} characters but the column is {sql_type}; set max_length = {max} (text generator), choose a shorter generator, or widen the column")]
    TooLong {
        table: String,
        column: String,
        sql_type: String,
        longest: usize,
        max: u32,
    },
    #[error("--incremental cannot add rows to table '{table}': its key ({columns}) is filled with combinations that would repeat the rows already there; use --truncate to reseed it")]
    IncrementalCompositeKey { table: String, columns: String },
    #[error("--truncate would leave table '{table}' ({rows} rows) pointing at emptied table '{referenced}'; add {table} to --rows, or pass --cascade to empty it too")]
    TruncateBlocked {
        table: String,
        referenced: String,
        rows: u64,
    },
    #[error("interrupted; rows committed so far: {0}")]
    Interrupted(String),
    #[error("table '{table}': {requested} rows asked for, but the key ({columns}) has only {possible} unique combinations of the referenced rows; lower --rows {table}=N to at most {possible} or seed more rows in the referenced tables")]
    TooManyCombinations {
        table: String,
        columns: String,
        requested: u64,
        possible: u128,
    },
}

fn db(context: impl Into<String>) -> impl FnOnce(DbError) -> SeedError {
    let context = context.into();
    move |source| SeedError::Database { context, source }
}

/// Where the rules come from.
#[derive(Debug, Clone)]
pub enum Source {
    Preset {
        name: String,
        factor: f64,
        scale: u64,
    },
    Config(SeedConfig),
    /// Only `--rows`: infer everything from the schema.
    Schema,
}

/// Everything `seed` needs.
pub struct SeedOptions {
    pub url: DbUrl,
    pub source: Source,
    /// `--rows table=N` overrides (or, with [`Source::Schema`], the tables to fill).
    pub rows: Vec<(String, u64)>,
    pub seed: Option<u64>,
    pub batch_size: Option<usize>,
    pub truncate: bool,
    /// With `truncate`: also empty tables outside the plan that reference emptied ones.
    pub cascade: bool,
    pub incremental: bool,
    pub connections: Option<usize>,
    pub locale: Locale,
    pub stop: Arc<AtomicBool>,
}

/// Rows and speed of one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_sec: f64,
}

/// What a seed run did.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub database: String,
    pub seed: u64,
    pub tables: Vec<TableReport>,
    pub total_rows: u64,
    pub seconds: f64,
    pub rows_per_sec: f64,
    /// What seeding could not honour exactly (expression indexes, overlapping composite keys).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Live progress of the load: (table, rows done, rows planned) snapshots.
pub trait SeedProgress {
    fn start(&mut self, tables: &[(String, u64)]);
    fn update(&mut self, done: &[(String, u64)]);
    fn finish(&mut self);
}

struct Planned {
    rule: TableRule,
    info: TableInfo,
    /// Row number of the first generated row (non-zero with --incremental).
    offset: u64,
    deps: Vec<String>,
}

/// Builds the rules (without loading anything) — used by `--print-config` too.
pub fn plan_rules(
    opts: &SeedOptions,
    conn_tables: &HashMap<String, TableInfo>,
) -> Result<Vec<TableRule>, SeedError> {
    let mut rules = match &opts.source {
        Source::Preset {
            name,
            factor,
            scale,
        } => preset(name, *factor, *scale, opts.locale)
            .ok_or_else(|| SeedError::UnknownPreset(name.clone()))?
            .tables
            .into_iter()
            .map(|t| t.rule)
            .collect(),
        Source::Config(c) => c.tables.clone(),
        Source::Schema => {
            if opts.rows.is_empty() {
                return Err(SeedError::Nothing);
            }
            let mut v = Vec::new();
            for (t, n) in &opts.rows {
                let info = conn_tables
                    .get(t)
                    .ok_or_else(|| SeedError::MissingTable(t.clone()))?;
                v.push(infer_rule(info, *n, opts.locale));
            }
            super::consistency::derive_totals(&mut v, conn_tables);
            v
        }
    };
    for (t, n) in &opts.rows {
        match rules.iter_mut().find(|r| &r.name == t) {
            Some(r) => r.count = *n,
            None => {
                let info = conn_tables
                    .get(t)
                    .ok_or_else(|| SeedError::MissingTable(t.clone()))?;
                rules.push(infer_rule(info, *n, opts.locale));
            }
        }
    }
    Ok(rules)
}

/// The rules a seed would use, as seed TOML (for `--print-config`).
pub fn print_config(opts: &SeedOptions) -> Result<String, crate::Error> {
    let rt = crate::util::runtime::current_thread()?;
    let rules = rt.block_on(async {
        let names: Vec<String> = opts.rows.iter().map(|(t, _)| t.clone()).collect();
        let infos = if names.is_empty() {
            HashMap::new()
        } else {
            let mut conn = Connection::connect(&opts.url).await?;
            read_tables(&mut conn, &names).await?
        };
        Ok::<_, crate::Error>(plan_rules(opts, &infos)?)
    })?;
    Ok(super::infer::to_toml(
        opts.seed.unwrap_or(42),
        opts.batch_size.unwrap_or(10_000),
        &rules,
    ))
}

/// Reads the definitions of the tables a seed run may touch.
pub async fn read_tables(
    conn: &mut Connection,
    names: &[String],
) -> Result<HashMap<String, TableInfo>, SeedError> {
    let mut out = HashMap::new();
    for n in names {
        if let Some(t) = conn
            .introspect(n)
            .await
            .map_err(db(format!("reading table {n}")))?
        {
            out.insert(n.clone(), t);
        }
    }
    Ok(out)
}

/// The definition of a planned table.
fn infos_of<'a>(plan: &'a [Planned], name: &str) -> Option<&'a TableInfo> {
    plan.iter().find(|p| p.rule.name == name).map(|p| &p.info)
}

/// Rows each planned table gained, counted by the database; None if it cannot tell.
async fn committed_in_db(conn: &mut Connection, plan: &[Planned]) -> Option<String> {
    let d = conn.dialect();
    let mut parts = Vec::new();
    for p in plan {
        let rows = conn
            .query_text(&format!("SELECT COUNT(*) FROM {}", d.ident(&p.rule.name)))
            .await
            .ok()?;
        let n: u64 = rows.first()?.first()?.as_deref()?.parse().ok()?;
        parts.push(format!(
            "{}={}",
            p.rule.name,
            n.saturating_sub(p.info.row_count)
        ));
    }
    Some(parts.join(", "))
}

/// Orders tables into levels: every table's references are in earlier levels.
fn levels(plan: &[Planned]) -> Result<Vec<Vec<usize>>, SeedError> {
    let names: Vec<&str> = plan.iter().map(|p| p.rule.name.as_str()).collect();
    let mut done = vec![false; plan.len()];
    let mut out = Vec::new();
    loop {
        let ready: Vec<usize> = (0..plan.len())
            .filter(|&i| !done[i])
            .filter(|&i| {
                plan[i]
                    .deps
                    .iter()
                    .all(|d| match names.iter().position(|n| n == d) {
                        Some(j) => done[j],
                        None => true,
                    })
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for &i in &ready {
            done[i] = true;
        }
        out.push(ready);
    }
    if let Some(start) = (0..plan.len()).find(|&i| !done[i]) {
        // Walk dependencies among the remaining tables until one repeats: that is the cycle.
        let mut path = vec![start];
        loop {
            let cur = *path.last().unwrap_or(&start);
            let next = plan[cur]
                .deps
                .iter()
                .filter_map(|d| names.iter().position(|n| n == d))
                .find(|&j| !done[j]);
            let Some(next) = next else { break };
            if let Some(pos) = path.iter().position(|&p| p == next) {
                let mut cycle: Vec<&str> = path[pos..].iter().map(|&i| names[i]).collect();
                cycle.push(names[next]);
                return Err(SeedError::Cycle(cycle.join(" -> ")));
            }
            path.push(next);
        }
        return Err(SeedError::Cycle(names[start].to_string()));
    }
    Ok(out)
}

/// Runs the whole seed.
pub fn run_seed(
    opts: SeedOptions,
    progress: &mut dyn SeedProgress,
) -> Result<SeedReport, crate::Error> {
    let rt = crate::util::runtime::current_thread()?;
    let seed = opts.seed.unwrap_or(42);
    let mut conn = rt.block_on(Connection::connect(&opts.url))?;
    let dialect = conn.dialect();
    let is_sqlite = opts.url.single_writer();
    let preset: Option<Preset> = match &opts.source {
        Source::Preset {
            name,
            factor,
            scale,
        } => Some(
            preset(name, *factor, *scale, opts.locale)
                .ok_or_else(|| SeedError::UnknownPreset(name.clone()))?,
        ),
        _ => None,
    };
    // Tables this run created from a preset (their definitions need no reading back), and
    // those whose primary key is added after the load.
    let mut created: HashMap<String, TableInfo> = HashMap::new();
    let mut deferred_pk: Vec<String> = Vec::new();
    let setup: Result<(Vec<Planned>, Vec<String>), SeedError> = rt.block_on(async {
        // Presets create their tables; with --truncate they are dropped and recreated, which is
        // what `pgbench -i` does and lets primary keys be built after the load.
        if let Some(p) = &preset {
            let existing = conn.list_tables().await.map_err(db("listing tables"))?;
            if opts.truncate {
                for t in p.tables.iter().rev() {
                    if existing.contains(&t.info.name) {
                        conn.execute(&dialect.drop_table(&t.info.name)).await.map_err(db(format!("dropping {}", t.info.name)))?;
                    }
                }
            }
            for t in &p.tables {
                if opts.truncate || !existing.contains(&t.info.name) {
                    let mut info = t.info.clone();
                    created.insert(t.info.name.clone(), t.info.clone());
                    if p.defer_primary_keys && dialect.defers_primary_keys() {
                        info.primary_key.clear();
                        deferred_pk.push(t.info.name.clone());
                    }
                    conn.execute(&dialect.create_table(&info)).await.map_err(db(format!("creating {}", t.info.name)))?;
                }
            }
        }
        let mut names: Vec<String> = match (&preset, &opts.source) {
            (Some(p), _) => p.tables.iter().map(|t| t.info.name.clone()).collect(),
            (None, Source::Config(c)) => c.tables.iter().map(|t| t.name.clone()).collect(),
            _ => Vec::new(),
        };
        names.extend(opts.rows.iter().map(|(t, _)| t.clone()));
        let unread: Vec<String> = names.iter().filter(|n| !created.contains_key(*n)).cloned().collect();
        let mut infos = read_tables(&mut conn, &unread).await?;
        infos.extend(created.iter().map(|(k, v)| (k.clone(), v.clone())));
        let rules = plan_rules(&opts, &infos)?;
        // Referenced tables outside the plan must exist too.
        let mut extra = Vec::new();
        for r in &rules {
            for (_, fk) in pending_fks(r) {
                if !infos.contains_key(&fk.table) {
                    extra.push(fk.table.clone());
                }
            }
        }
        infos.extend(read_tables(&mut conn, &extra).await?);
        let mut plan = Vec::new();
        for mut rule in rules {
            let info = infos.get(&rule.name).cloned().ok_or_else(|| SeedError::MissingTable(rule.name.clone()))?;
            for c in &rule.columns {
                if info.column(&c.name).is_none() {
                    return Err(SeedError::UnknownColumn { table: rule.name.clone(), column: c.name.clone() });
                }
            }
            // Required columns the rules leave out get inferred generators.
            let inferred = infer_rule(&info, rule.count, opts.locale);
            for col in &info.columns {
                let covered = rule.columns.iter().any(|c| c.name == col.name);
                let required = !col.nullable && !col.has_default && !col.auto_generated;
                if !covered && required && preset.is_none() {
                    if let Some(g) = inferred.columns.iter().find(|g| g.name == col.name) {
                        rule.columns.push(g.clone());
                    }
                }
            }
            for c in &mut rule.columns {
                if c.max_len.is_none() {
                    if let Some(ColKind::Text { max_len: Some(m) }) = info.column(&c.name).map(|x| &x.kind) {
                        c.max_len = Some(*m as usize);
                        // A rule written by the user must fit; inferred ones say where they cut.
                        let fits_by_itself = matches!(c.gen, Gen::Words(_) | Gen::Person { .. });
                        if let Some(longest) = super::infer::longest(&c.gen).filter(|l| *l > *m as usize && !fits_by_itself) {
                            if c.reason.is_none() && preset.is_none() {
                                return Err(SeedError::TooLong {
                                    table: rule.name.clone(),
                                    column: c.name.clone(),
                                    sql_type: info.column(&c.name).map(|x| x.sql_type.clone()).unwrap_or_default(),
                                    longest,
                                    max: *m,
                                });
                            }
                        }
                    }
                }
            }
            let mut deps = Vec::new();
            for (_, fk) in pending_fks(&rule) {
                let target = infos.get(&fk.table);
                if target.and_then(|t| t.column(&fk.column)).is_none() {
                    let col = rule.columns.iter().find(|c| matches!(&c.gen, Gen::Reference { table, column, .. } if *table == fk.table && *column == fk.column)).map(|c| c.name.clone()).unwrap_or_default();
                    return Err(SeedError::UnknownReference { table: rule.name.clone(), column: col, reference: format!("{}.{}", fk.table, fk.column) });
                }
                if fk.table != rule.name {
                    deps.push(fk.table.clone());
                }
            }
            plan.push(Planned { rule, info, offset: 0, deps });
        }
        // Existing rows: refuse, replace, or append.
        let order = levels(&plan)?;
        let mut to_truncate = Vec::new();
        for lvl in order.iter().rev() {
            for &i in lvl {
                let p = &plan[i];
                if p.info.row_count > 0 && p.rule.count > 0 {
                    if opts.truncate {
                        to_truncate.push(p.rule.name.clone());
                    } else if !opts.incremental {
                        return Err(SeedError::NotEmpty { table: p.rule.name.clone(), rows: p.info.row_count });
                    }
                }
            }
        }
        if !to_truncate.is_empty() {
            // Tables outside the list that reference emptied ones: empty ones are emptied too
            // (PostgreSQL refuses TRUNCATE otherwise); ones with rows block, unless --cascade.
            let mut extra: Vec<String> = Vec::new();
            let mut queue = to_truncate.clone();
            while let Some(t) = queue.pop() {
                let refs = conn.referencing_tables(&t).await.map_err(db(format!("reading the tables that reference {t}")))?;
                for r in refs {
                    if to_truncate.contains(&r) || extra.contains(&r) {
                        continue;
                    }
                    let n = conn
                        .query_text(&format!("SELECT COUNT(*) FROM {}", dialect.ident(&r)))
                        .await
                        .map_err(db(format!("counting the rows of {r}")))?;
                    let rows: u64 = n.first().and_then(|x| x.first().cloned().flatten()).and_then(|s| s.parse().ok()).unwrap_or(0);
                    if rows > 0 && !opts.cascade {
                        return Err(SeedError::TruncateBlocked { table: r, referenced: t, rows });
                    }
                    extra.push(r.clone());
                    queue.push(r);
                }
            }
            // Referencing tables first, the deepest first.
            extra.reverse();
            extra.extend(to_truncate.iter().cloned());
            let to_truncate = extra;
            for sql in dialect.truncate(&to_truncate) {
                conn.execute(&sql).await.map_err(db(format!("emptying {}", to_truncate.join(", "))))?;
            }
            for p in &mut plan {
                if to_truncate.contains(&p.rule.name) {
                    p.info.row_count = 0;
                }
            }
        }
        if opts.incremental {
            for p in &mut plan {
                if p.info.row_count == 0 {
                    continue;
                }
                p.offset = p.info.row_count;
                for c in &mut p.rule.columns {
                    if let Gen::Sequential { start, step } = &mut c.gen {
                        let max = conn
                            .query_text(&format!("SELECT MAX({}) FROM {}", dialect.ident(&c.name), dialect.ident(&p.rule.name)))
                            .await
                            .map_err(db(format!("reading the largest {} of {}", c.name, p.rule.name)))?;
                        let max: i64 = max.first().and_then(|r| r[0].as_deref()).and_then(|s| s.parse::<f64>().ok()).map(|v| v as i64).unwrap_or(0);
                        // start + step * (offset + i) == max + step * (i + 1)
                        *start = max + *step - *step * p.offset as i64;
                    }
                }
            }
        }
        Ok((plan, order.into_iter().flatten().map(|i| i.to_string()).collect()))
    });
    let (mut plan, _) = setup?;
    let order = levels(&plan)?;
    let batch_size = opts
        .batch_size
        .unwrap_or(if is_sqlite { 50_000 } else { 10_000 });
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let conns = if is_sqlite {
        1
    } else {
        opts.connections.unwrap_or(cores).max(1)
    };
    let planned: Vec<(String, u64)> = plan
        .iter()
        .map(|p| (p.rule.name.clone(), p.rule.count))
        .collect();
    progress.start(&planned);
    let counters: Vec<Arc<AtomicU64>> = plan.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut reports: BTreeMap<usize, TableReport> = BTreeMap::new();
    let mut keys: HashMap<(String, String), Arc<KeySet>> = HashMap::new();
    let committed_text = |counters: &[Arc<AtomicU64>], plan: &[Planned]| -> String {
        plan.iter()
            .zip(counters)
            .map(|(p, c)| format!("{}={}", p.rule.name, c.load(Ordering::SeqCst)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let started = Instant::now();
    let mut notes: Vec<String> = plan
        .iter()
        .flat_map(|p| {
            p.info
                .index_notes
                .iter()
                .map(move |n| format!("table {}: {n}", p.rule.name))
        })
        .collect();
    for level in &order {
        // Resolve foreign keys of this level from the keys now in the database.
        for &i in level {
            for (ci, fk) in pending_fks(&plan[i].rule) {
                let k = (fk.table.clone(), fk.column.clone());
                if !keys.contains_key(&k) {
                    let integer = plan
                        .iter()
                        .find(|p| p.rule.name == fk.table)
                        .map(|p| &p.info)
                        .and_then(|t| t.column(&fk.column))
                        .map(|c| c.kind.is_integer())
                        .unwrap_or(true);
                    let set = rt
                        .block_on(KeySet::load(&mut conn, &fk.table, &fk.column, integer))
                        .map_err(db(format!("loading keys of {}.{}", fk.table, fk.column)))?;
                    keys.insert(k.clone(), Arc::new(set));
                }
                let set = keys[&k].clone();
                if set.is_empty() && plan[i].rule.count > 0 {
                    return Err(SeedError::EmptyReference {
                        table: plan[i].rule.name.clone(),
                        column: plan[i].rule.columns[ci].name.clone(),
                        reference: format!("{}.{}", fk.table, fk.column),
                    }
                    .into());
                }
                let dist = if fk.zipfian {
                    KeyDist::zipfian(set.len(), 0.99)
                } else {
                    KeyDist::Uniform
                };
                plan[i].rule.columns[ci].gen = Gen::ForeignKey { keys: set, dist };
            }
            // Composite keys: unique combinations of the (now known) referenced keys.
            let table_seed = seed ^ name_hash(&plan[i].rule.name);
            let p = &mut plan[i];
            match super::keys::apply(&mut p.rule, &p.info, table_seed) {
                Ok(done)
                    if p.offset > 0 && done.iter().any(|n| !n.note.starts_with("not handled")) =>
                {
                    let cols = done
                        .iter()
                        .find(|n| !n.note.starts_with("not handled"))
                        .map(|n| n.columns.join(", "))
                        .unwrap_or_default();
                    return Err(SeedError::IncrementalCompositeKey {
                        table: p.rule.name.clone(),
                        columns: cols,
                    }
                    .into());
                }
                Ok(done) => notes.extend(
                    done.into_iter()
                        .filter(|n| n.note.starts_with("not handled"))
                        .map(|n| {
                            format!(
                                "table {}: key ({}) {}",
                                p.rule.name,
                                n.columns.join(", "),
                                n.note
                            )
                        }),
                ),
                Err(t) => {
                    return Err(SeedError::TooManyCombinations {
                        table: p.rule.name.clone(),
                        columns: t.columns.join(", "),
                        requested: p.rule.count,
                        possible: t.possible,
                    }
                    .into())
                }
            }
        }
        // Load every table of the level at once; big tables in several chunks.
        let (tx, rx) = mpsc::channel::<(usize, Result<(), (usize, u64, DbError)>)>();
        let mut chunks_left: HashMap<usize, usize> = HashMap::new();
        let mut table_end: HashMap<usize, Instant> = HashMap::new();
        let mut handles = Vec::new();
        let mut table_start = HashMap::new();
        for &i in level {
            let p = &plan[i];
            if p.rule.count == 0 {
                reports.insert(
                    i,
                    TableReport {
                        table: p.rule.name.clone(),
                        rows: 0,
                        seconds: 0.0,
                        rows_per_sec: 0.0,
                    },
                );
                continue;
            }
            table_start.insert(i, Instant::now());
            // An empty PostgreSQL table loads fastest through one COPY FREEZE transaction
            // (rows written frozen, so the VACUUM afterwards is cheap), like pgbench -i.
            let fresh = p.info.row_count == 0 && opts.url.fresh_copy_load() && fresh_copy();
            let fresh = fresh || (is_sqlite && p.info.row_count == 0);
            let chunks = if is_sqlite || fresh {
                1
            } else {
                ((p.rule.count / 50_000) as usize).clamp(1, conns)
            };
            let per = p.rule.count.div_ceil(chunks as u64);
            let job = Arc::new(LoadJob::new(p, seed, &opts.url, fresh));
            chunks_left.insert(i, 0);
            for c in 0..chunks as u64 {
                let from = c * per;
                let to = ((c + 1) * per).min(p.rule.count);
                if from >= to {
                    continue;
                }
                *chunks_left.entry(i).or_default() += 1;
                let job = job.clone();
                let tx = tx.clone();
                let counter = counters[i].clone();
                let stop = opts.stop.clone();
                handles.push(std::thread::spawn(move || {
                    let r = job.load(i, from, to, batch_size, &counter, &stop);
                    let _ = tx.send((i, r));
                }));
            }
        }
        drop(tx);
        let mut failure = None;
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(200)) {
                Ok((i, Ok(()))) => {
                    if let Some(n) = chunks_left.get_mut(&i) {
                        *n -= 1;
                        if *n == 0 {
                            table_end.insert(i, Instant::now());
                        }
                    }
                }
                Ok((_, Err(e))) => {
                    if failure.is_none() {
                        failure = Some(e);
                        opts.stop.store(true, Ordering::SeqCst);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            progress.update(
                &plan
                    .iter()
                    .zip(&counters)
                    .map(|(p, c)| (p.rule.name.clone(), c.load(Ordering::Relaxed)))
                    .collect::<Vec<_>>(),
            );
        }
        for h in handles {
            let _ = h.join();
        }
        if let Some((i, batch, source)) = failure {
            progress.finish();
            // What the database holds now (a loader's own count can lag: SQLite commits a
            // fresh load every 50,000 rows by itself).
            let committed = rt
                .block_on(committed_in_db(&mut conn, &plan))
                .unwrap_or_else(|| committed_text(&counters, &plan));
            if source.code == "interrupted" {
                return Err(SeedError::Interrupted(committed).into());
            }
            return Err(SeedError::Failed {
                table: plan[i].rule.name.clone(),
                batch,
                source,
                committed,
            }
            .into());
        }
        for &i in level {
            if let Some(t0) = table_start.get(&i) {
                let secs = table_end
                    .get(&i)
                    .map(|e| e.duration_since(*t0))
                    .unwrap_or_else(|| t0.elapsed())
                    .as_secs_f64();
                let rows = counters[i].load(Ordering::SeqCst);
                reports.insert(
                    i,
                    TableReport {
                        table: plan[i].rule.name.clone(),
                        rows,
                        seconds: secs,
                        rows_per_sec: rows as f64 / secs.max(1e-9),
                    },
                );
            }
        }
    }
    progress.finish();
    // After the load: primary keys (pgbench), indexes, sequences, statistics.
    rt.block_on(async {
        if let Some(p) = &preset {
            for t in &p.tables {
                if p.defer_primary_keys {
                    if let (Some(sql), Some(pk)) = (
                        t.info
                            .primary_key
                            .first()
                            .and_then(|k| dialect.add_primary_key(&t.info.name, k)),
                        t.info.primary_key.first(),
                    ) {
                        if deferred_pk.contains(&t.info.name) {
                            conn.execute(&sql).await.map_err(db(format!(
                                "adding the primary key {pk} of {}",
                                t.info.name
                            )))?;
                        }
                    }
                }
                for col in &t.indexes {
                    // MySQL has no CREATE INDEX IF NOT EXISTS; an existing index is fine.
                    let _ = conn.execute(&dialect.create_index(&t.info.name, col)).await;
                }
            }
        }
        // Derived columns: a parent's total as the sum over the rows that reference it.
        for p in &plan {
            for d in &p.rule.derived {
                let child = infos_of(&plan, &d.from);
                let ref_col = child
                    .and_then(|c| c.fk_for(&d.key))
                    .map(|f| f.ref_column.clone())
                    .or_else(|| p.info.pk_column().map(|c| c.name.clone()))
                    .unwrap_or_else(|| "id".into());
                let (pt, ct) = (dialect.ident(&p.rule.name), dialect.ident(&d.from));
                let sql = format!(
                    "UPDATE {pt} SET {} = (SELECT COALESCE(SUM({}), 0) FROM {ct} WHERE {ct}.{} = {pt}.{})",
                    dialect.ident(&d.column),
                    d.sum,
                    dialect.ident(&d.key),
                    dialect.ident(&ref_col)
                );
                conn.execute(&sql).await.map_err(db(format!(
                    "setting {}.{} to the sum of {} over {}",
                    p.rule.name, d.column, d.sum, d.from
                )))?;
            }
        }
        for p in &plan {
            if p.rule.count == 0 {
                continue;
            }
            if let Some(pk) = p.info.pk_column().filter(|c| c.auto_generated) {
                if let Some(sql) = dialect.sync_sequence(&p.rule.name, &pk.name) {
                    conn.query_text(&sql)
                        .await
                        .map_err(db(format!("moving the sequence of {}", p.rule.name)))?;
                }
            }
            conn.execute(&dialect.analyze(&p.rule.name))
                .await
                .map_err(db(format!("analyzing {}", p.rule.name)))?;
        }
        Ok::<(), SeedError>(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let tables: Vec<TableReport> = reports.into_values().collect();
    let total: u64 = tables.iter().map(|t| t.rows).sum();
    Ok(SeedReport {
        database: opts.url.redacted(),
        seed,
        tables,
        total_rows: total,
        seconds: secs,
        rows_per_sec: total as f64 / secs.max(1e-9),
        notes,
    })
}

/// What a loader thread needs about one table.
struct LoadJob {
    table: String,
    columns: Vec<ColumnGen>,
    col_seeds: Vec<u64>,
    dates: Vec<bool>,
    offset: u64,
    url: DbUrl,
    /// Load in one transaction that empties the table first (COPY FREEZE on PostgreSQL).
    fresh: bool,
}

/// Whether fresh PostgreSQL tables load through one COPY FREEZE transaction (default) or
/// split across connections (DBARENA_SEED_FREEZE=0), for comparing the two.
fn fresh_copy() -> bool {
    std::env::var("DBARENA_SEED_FREEZE")
        .map(|v| v != "0")
        .unwrap_or(true)
}

impl LoadJob {
    fn new(p: &Planned, seed: u64, url: &DbUrl, fresh: bool) -> Self {
        let table_seed = seed ^ name_hash(&p.rule.name);
        LoadJob {
            table: p.rule.name.clone(),
            col_seeds: p
                .rule
                .columns
                .iter()
                .map(|c| table_seed ^ name_hash(&c.name).rotate_left(17))
                .collect(),
            dates: p
                .rule
                .columns
                .iter()
                .map(|c| matches!(p.info.column(&c.name).map(|x| &x.kind), Some(ColKind::Date)))
                .collect(),
            columns: p
                .rule
                .columns
                .iter()
                .map(|c| {
                    // The row's person, place and linked dates change with the seed too; the
                    // same seed for every column of the table keeps them agreeing.
                    let mut c = c.clone();
                    let mix = seed.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    match &mut c.gen {
                        Gen::Person { salt, .. }
                        | Gen::Place { salt, .. }
                        | Gen::Linked { salt, .. } => *salt ^= mix,
                        _ => {}
                    }
                    c
                })
                .collect(),
            offset: p.offset,
            url: url.clone(),
            fresh,
        }
    }

    fn row(&self, n: u64) -> Vec<Value> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| match c.value(self.col_seeds[i], n) {
                Value::Timestamp(us) if self.dates[i] => {
                    Value::Date(us.div_euclid(86_400_000_000) as i32)
                }
                v => v,
            })
            .collect()
    }

    /// Loads rows [from, to) in batches; each batch commits on its own.
    fn load(
        &self,
        idx: usize,
        from: u64,
        to: u64,
        batch: usize,
        counter: &AtomicU64,
        stop: &AtomicBool,
    ) -> Result<(), (usize, u64, DbError)> {
        let rt = crate::util::runtime::current_thread()
            .map_err(|e| (idx, 0, DbError::client(e.to_string())))?;
        rt.block_on(async {
            let mut conn = Connection::connect(&self.url)
                .await
                .map_err(|e| (idx, 0, DbError::client(e.to_string())))?;
            let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
            let fresh = self.fresh
                && conn
                    .begin_fresh_load(&self.table)
                    .await
                    .map_err(|e| (idx, 0, e))?;
            let mut pending = 0;
            let mut n = from;
            let mut rows: Vec<Vec<Value>> = Vec::with_capacity(batch);
            while n < to {
                let batch_no = (n - from) / batch as u64 + 1;
                if stop.load(Ordering::Relaxed) {
                    return Err((
                        idx,
                        batch_no,
                        DbError::new(crate::db::ErrorKind::Other, "interrupted", "stopped"),
                    ));
                }
                // A fresh SQLite load commits by itself every 50,000 rows; small generation
                // batches keep the rows in cache between generating and inserting them.
                let step = if fresh && self.url.single_writer() {
                    2_000
                } else {
                    batch as u64
                };
                let end = (n + step).min(to);
                rows.clear();
                rows.extend((n..end).map(|r| self.row(self.offset + r)));
                conn.bulk_insert(&self.table, &names, &rows)
                    .await
                    .map_err(|e| (idx, batch_no, e))?;
                if fresh {
                    // Nothing is committed until the single transaction ends.
                    pending += end - n;
                } else {
                    counter.fetch_add(end - n, Ordering::Relaxed);
                }
                n = end;
            }
            if fresh {
                let last = (to - from).div_ceil(batch as u64);
                conn.finish_fresh_load().await.map_err(|e| (idx, last, e))?;
                counter.fetch_add(pending, Ordering::Relaxed);
            }
            Ok(())
        })
    }
}
