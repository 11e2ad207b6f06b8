//! The seed TOML format: `global_seed`, `batch_size`, and per-table column rules, with
//! options flat on the column or nested under `options`. Errors point at file:line.

use super::generators::{
    name_hash, ColumnGen, Gen, IntDist, Locale, Part, Weighted, WordList, PERSON_PARTS, PLACE_PARTS,
};
use crate::datagen::weighted::value_of_toml;
use crate::datagen::KeyDist;
use crate::util::time::{now_us, parse_timestamp_us};
use crate::value::Value;
use thiserror::Error;
use toml::Value as T;

/// A problem in a seed configuration.
#[derive(Debug, Error)]
pub enum SeedConfigError {
    #[error("cannot read seed config {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{origin}:{line}: {message}")]
    At {
        origin: String,
        line: usize,
        message: String,
    },
}

/// A table to fill.
#[derive(Debug, Clone)]
pub struct TableRule {
    pub name: String,
    pub count: u64,
    pub columns: Vec<ColumnGen>,
    /// What inference noticed about the table (composite keys, indexes it cannot honour),
    /// printed as comments by `--print-config`.
    pub notes: Vec<String>,
    /// Columns computed after the load from other tables' rows.
    pub derived: Vec<Derived>,
}

/// A column set after the load to the sum of an expression over the rows of another table
/// that reference this row: `total = SUM(unit_price * quantity)` of an invoice's lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    pub column: String,
    /// SQL over the child table's columns.
    pub sum: String,
    /// The child table.
    pub from: String,
    /// The child's foreign key column to this table.
    pub key: String,
}

/// A parsed seed configuration.
#[derive(Debug, Clone)]
pub struct SeedConfig {
    pub global_seed: Option<u64>,
    pub batch_size: Option<usize>,
    pub tables: Vec<TableRule>,
}

/// Where a foreign key points, before the referenced keys are loaded.
#[derive(Debug, Clone)]
pub struct PendingFk {
    pub table: String,
    pub column: String,
    pub zipfian: bool,
}

struct Ctx<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Ctx<'_> {
    /// The line of the last of `needles` found in order (table name, then column name…).
    fn line_of(&self, needles: &[String]) -> usize {
        let mut pos = 0;
        for n in needles {
            if let Some(p) = self.text[pos..].find(n.as_str()) {
                pos += p;
            }
        }
        self.text[..pos].matches('\n').count() + 1
    }

    fn err(&self, needles: &[String], message: impl Into<String>) -> SeedConfigError {
        SeedConfigError::At {
            origin: self.origin.to_string(),
            line: self.line_of(needles),
            message: message.into(),
        }
    }
}

const GENERATORS: &[(&str, &[&str])] = &[
    ("sequential", &["start", "step"]),
    ("random_int", &["min", "max", "distribution"]),
    ("random_decimal", &["min", "max", "precision"]),
    ("boolean", &["probability"]),
    ("timestamp", &["start", "end", "offset", "now", "monotonic"]),
    ("email", &["unique"]),
    ("phone", &[]),
    ("name", &["part"]),
    ("address", &["part"]),
    ("uuid", &[]),
    ("text", &["min_length", "max_length"]),
    ("enum", &["values", "weights"]),
    ("template", &["template"]),
    ("foreign_key", &["references", "distribution"]),
    ("json", &[]),
    ("words", &["list"]),
    ("person", &["part"]),
    ("place", &["part"]),
    ("linked_timestamp", &["start", "end", "gaps", "chain"]),
    ("self_reference", &["start", "step"]),
];

impl SeedConfig {
    /// Reads a seed TOML file.
    pub fn load(path: &std::path::Path, locale: Locale) -> Result<Self, SeedConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| SeedConfigError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string(), locale)
    }

    /// Parses seed TOML; `origin` names it in errors. Foreign keys come back unresolved
    /// (see [`pending_fks`]).
    pub fn parse(text: &str, origin: &str, locale: Locale) -> Result<Self, SeedConfigError> {
        let ctx = Ctx { text, origin };
        let root: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            SeedConfigError::At {
                origin: origin.into(),
                line,
                message: e.message().trim().to_string(),
            }
        })?;
        for key in root.keys() {
            if !["global_seed", "batch_size", "seed_rules"].contains(&key.as_str()) {
                return Err(ctx.err(
                    std::slice::from_ref(key),
                    format!(
                        "unknown setting '{key}' (expected global_seed, batch_size, seed_rules)"
                    ),
                ));
            }
        }
        let int = |k: &str| -> Result<Option<i64>, SeedConfigError> {
            match root.get(k) {
                None => Ok(None),
                Some(T::Integer(i)) if *i >= 0 => Ok(Some(*i)),
                Some(_) => Err(ctx.err(
                    &[k.to_string()],
                    format!("'{k}' must be a non-negative integer"),
                )),
            }
        };
        let global_seed = int("global_seed")?.map(|v| v as u64);
        let batch_size = int("batch_size")?.map(|v| v as usize);
        if batch_size == Some(0) {
            return Err(ctx.err(&["batch_size".into()], "'batch_size' must be at least 1"));
        }
        let tables_raw: Vec<&toml::Table> = match root.get("seed_rules") {
            None => Vec::new(),
            Some(T::Table(t)) => match t.get("tables") {
                Some(T::Array(a)) => a.iter().filter_map(|v| v.as_table()).collect(),
                _ => {
                    return Err(ctx.err(
                        &["seed_rules".into()],
                        "[seed_rules] needs [[seed_rules.tables]] entries",
                    ))
                }
            },
            Some(T::Array(a)) => a.iter().filter_map(|v| v.as_table()).collect(),
            Some(_) => {
                return Err(ctx.err(
                    &["seed_rules".into()],
                    "seed_rules must be [[seed_rules]] or [[seed_rules.tables]]",
                ))
            }
        };
        let mut tables = Vec::new();
        for t in tables_raw {
            let name = match t.get("name").or_else(|| t.get("table")) {
                Some(T::String(s)) => s.clone(),
                _ => {
                    return Err(ctx.err(
                        &["seed_rules".into()],
                        "every table rule needs name = \"…\" (or table = \"…\")",
                    ))
                }
            };
            let here = vec![format!("\"{name}\"")];
            for k in t.keys() {
                if !["name", "table", "count", "columns", "derived"].contains(&k.as_str()) {
                    return Err(ctx.err(
                        &[here[0].clone(), k.clone()],
                        format!(
                            "table '{name}': unknown key '{k}' (expected name, count, columns, derived)"
                        ),
                    ));
                }
            }
            let count = match t.get("count") {
                Some(T::Integer(i)) if *i >= 0 => *i as u64,
                None => 0,
                Some(_) => {
                    return Err(ctx.err(
                        &[here[0].clone(), "count".into()],
                        format!("table '{name}': count must be a non-negative integer"),
                    ))
                }
            };
            let mut columns = Vec::new();
            if let Some(cols) = t.get("columns") {
                let T::Array(cols) = cols else {
                    return Err(ctx.err(
                        &here,
                        format!("table '{name}': columns must be [[…columns]] entries"),
                    ));
                };
                for c in cols {
                    let Some(c) = c.as_table() else { continue };
                    columns.push(parse_column(&ctx, &name, count, c, locale)?);
                }
            }
            let mut derived = Vec::new();
            if let Some(list) = t.get("derived") {
                let bad = || {
                    ctx.err(
                        &[here[0].clone(), "derived".into()],
                        format!("table '{name}': each derived entry needs column, sum, from and key strings, e.g. {{ column = \"total\", sum = \"unit_price * quantity\", from = \"invoice_lines\", key = \"invoice_id\" }}"),
                    )
                };
                let T::Array(list) = list else {
                    return Err(bad());
                };
                for d in list {
                    let get = |k: &str| d.get(k).and_then(|v| v.as_str()).map(String::from);
                    match (get("column"), get("sum"), get("from"), get("key")) {
                        (Some(column), Some(sum), Some(from), Some(key)) => derived.push(Derived {
                            column,
                            sum,
                            from,
                            key,
                        }),
                        _ => return Err(bad()),
                    }
                }
            }
            tables.push(TableRule {
                name,
                count,
                columns,
                notes: Vec::new(),
                derived,
            });
        }
        Ok(SeedConfig {
            global_seed,
            batch_size,
            tables,
        })
    }
}

/// Foreign-key columns of a rule: (column index, target).
pub fn pending_fks(rule: &TableRule) -> Vec<(usize, PendingFk)> {
    rule.columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.gen {
            Gen::Reference {
                table,
                column,
                zipfian,
            } => Some((
                i,
                PendingFk {
                    table: table.clone(),
                    column: column.clone(),
                    zipfian: *zipfian,
                },
            )),
            _ => None,
        })
        .collect()
}

/// The generator of a foreign key, resolved once the referenced keys are loaded.
pub fn fk_placeholder(table: &str, column: &str, zipfian: bool) -> Gen {
    Gen::Reference {
        table: table.to_string(),
        column: column.to_string(),
        zipfian,
    }
}

fn parse_column(
    ctx: &Ctx<'_>,
    table: &str,
    count: u64,
    c: &toml::Table,
    locale: Locale,
) -> Result<ColumnGen, SeedConfigError> {
    let name = match c.get("name") {
        Some(T::String(s)) => s.clone(),
        _ => {
            return Err(ctx.err(
                &[format!("\"{table}\"")],
                format!("table '{table}': every column rule needs name = \"…\""),
            ))
        }
    };
    let at = vec![format!("\"{table}\""), format!("\"{name}\"")];
    let what = format!("table '{table}', column '{name}'");
    let generator = match c.get("generator") {
        Some(T::String(s)) => s.clone(),
        _ => return Err(ctx.err(&at, format!("{what}: needs generator = \"…\""))),
    };
    let Some((_, allowed)) = GENERATORS.iter().find(|(g, _)| *g == generator) else {
        let names: Vec<&str> = GENERATORS.iter().map(|g| g.0).collect();
        let here = [at[0].clone(), at[1].clone(), "generator".to_string()];
        return Err(ctx.err(
            &here,
            format!(
                "{what}: unknown generator '{generator}' (use one of {})",
                names.join(", ")
            ),
        ));
    };
    // Options flat on the column, or nested under `options`; both may be used.
    let mut opts = toml::Table::new();
    for (k, v) in c {
        match k.as_str() {
            "name" | "generator" | "null_probability" => {}
            "options" => match v {
                T::Table(t) => opts.extend(t.clone()),
                _ => return Err(ctx.err(&at, format!("{what}: options must be a table"))),
            },
            _ => {
                opts.insert(k.clone(), v.clone());
            }
        }
    }
    for k in opts.keys() {
        if !allowed.contains(&k.as_str()) {
            let list = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(ctx.err(
                &[at[0].clone(), at[1].clone(), k.clone()],
                format!(
                    "{what}: unknown option '{k}' for generator '{generator}' (allowed: {list})"
                ),
            ));
        }
    }
    let bad_type = |k: &str, want: &str| {
        ctx.err(
            &[at[0].clone(), at[1].clone(), k.to_string()],
            format!("{what}: option '{k}' must be {want}"),
        )
    };
    let get_int = |k: &str| -> Result<Option<i64>, SeedConfigError> {
        match opts.get(k) {
            None => Ok(None),
            Some(T::Integer(i)) => Ok(Some(*i)),
            Some(_) => Err(bad_type(k, "an integer")),
        }
    };
    let get_num = |k: &str| -> Result<Option<f64>, SeedConfigError> {
        match opts.get(k) {
            None => Ok(None),
            Some(T::Integer(i)) => Ok(Some(*i as f64)),
            Some(T::Float(f)) => Ok(Some(*f)),
            Some(_) => Err(bad_type(k, "a number")),
        }
    };
    let get_str = |k: &str| -> Result<Option<String>, SeedConfigError> {
        match opts.get(k) {
            None => Ok(None),
            Some(T::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad_type(k, "a string")),
        }
    };
    let get_bool = |k: &str| -> Result<Option<bool>, SeedConfigError> {
        match opts.get(k) {
            None => Ok(None),
            Some(T::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(bad_type(k, "true or false")),
        }
    };
    let null_probability = match c.get("null_probability") {
        None => 0.0,
        Some(T::Float(f)) if (0.0..=1.0).contains(f) => *f,
        Some(T::Integer(i)) if (0..=1).contains(i) => *i as f64,
        Some(_) => {
            return Err(ctx.err(
                &[at[0].clone(), at[1].clone(), "null_probability".into()],
                format!("{what}: null_probability must be a number between 0 and 1"),
            ))
        }
    };
    let distribution = |n: u64| -> Result<IntDist, SeedConfigError> {
        Ok(
            match get_str("distribution")?.as_deref().unwrap_or("uniform") {
                "uniform" => IntDist::Uniform,
                "zipfian" => IntDist::Zipfian(KeyDist::zipfian(n, 0.99)),
                "normal" => IntDist::Normal,
                other => {
                    return Err(bad_type(
                        "distribution",
                        &format!("uniform, zipfian or normal (not '{other}')"),
                    ))
                }
            },
        )
    };
    let gen = match generator.as_str() {
        "sequential" => Gen::Sequential {
            start: get_int("start")?.unwrap_or(1),
            step: get_int("step")?.unwrap_or(1),
        },
        "random_int" => {
            let min = get_int("min")?.unwrap_or(0);
            let max = get_int("max")?.unwrap_or(1_000_000);
            if max < min {
                return Err(ctx.err(&at, format!("{what}: max ({max}) is below min ({min})")));
            }
            Gen::RandomInt {
                min,
                max,
                dist: distribution((max - min + 1) as u64)?,
            }
        }
        "random_decimal" => {
            let min = get_num("min")?.unwrap_or(0.0);
            let max = get_num("max")?.unwrap_or(1000.0);
            if max < min {
                return Err(ctx.err(&at, format!("{what}: max ({max}) is below min ({min})")));
            }
            Gen::RandomDecimal {
                min,
                max,
                precision: get_int("precision")?.unwrap_or(2).clamp(0, 9) as u32,
            }
        }
        "boolean" => Gen::Boolean {
            probability: get_num("probability")?.unwrap_or(0.5).clamp(0.0, 1.0),
        },
        "timestamp" => {
            let now = now_us();
            let parse_ts = |k: &str| -> Result<Option<i64>, SeedConfigError> {
                match get_str(k)? {
                    None => Ok(None),
                    Some(s) => parse_timestamp_us(&s)
                        .map(Some)
                        .ok_or_else(|| bad_type(k, "a timestamp like \"2024-01-01 00:00:00\"")),
                }
            };
            let (start, end) = if get_bool("now")?.unwrap_or(false) {
                (now, now)
            } else if let Some(off) = get_str("offset")? {
                let neg = off.starts_with('-');
                let d = parse_offset(off.trim_start_matches(['-', '+'])).ok_or_else(|| {
                    bad_type("offset", "a duration like \"-30d\", \"12h\" or \"90m\"")
                })?;
                if neg {
                    (now - d, now)
                } else {
                    (now, now + d)
                }
            } else {
                (
                    parse_ts("start")?.unwrap_or(1_577_836_800_000_000), // 2020-01-01
                    parse_ts("end")?.unwrap_or(1_735_689_600_000_000),   // 2025-01-01
                )
            };
            if end < start {
                return Err(ctx.err(&at, format!("{what}: end is before start")));
            }
            Gen::Timestamp {
                start,
                end,
                monotonic: get_bool("monotonic")?.unwrap_or(false),
                rows: count,
            }
        }
        "email" => Gen::Email {
            unique: get_bool("unique")?.unwrap_or(true),
        },
        "phone" => Gen::Phone,
        "name" => Gen::Name(
            match get_str("part")?.as_deref().unwrap_or("full") {
                "first" => Part::First,
                "last" => Part::Last,
                "full" => Part::Full,
                _ => return Err(bad_type("part", "first, last or full")),
            },
            locale,
        ),
        "address" => Gen::Address(match get_str("part")?.as_deref().unwrap_or("street") {
            "street" => Part::Street,
            "city" => Part::City,
            "state" => Part::State,
            "zip" => Part::Zip,
            "country" => Part::Country,
            _ => return Err(bad_type("part", "street, city, state, zip or country")),
        }),
        "uuid" => Gen::Uuid,
        "text" => {
            let min = get_int("min_length")?.unwrap_or(10).max(0) as usize;
            let max = get_int("max_length")?.unwrap_or(100).max(0) as usize;
            if max < min {
                return Err(ctx.err(&at, format!("{what}: max_length is below min_length")));
            }
            Gen::Text { min, max }
        }
        "enum" => {
            let Some(T::Array(vals)) = opts.get("values") else {
                return Err(bad_type("values", "a non-empty list"));
            };
            if vals.is_empty() {
                return Err(bad_type("values", "a non-empty list"));
            }
            let values: Vec<Value> = vals.iter().map(value_of_toml).collect();
            let weights: Vec<f64> = match opts.get("weights") {
                None => vec![1.0; values.len()],
                Some(T::Array(w)) => w
                    .iter()
                    .map(|x| x.as_float().or(x.as_integer().map(|i| i as f64)))
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| bad_type("weights", "a list of numbers"))?,
                Some(_) => return Err(bad_type("weights", "a list of numbers")),
            };
            Gen::Enum(Weighted::new(values, &weights).map_err(|_| {
                bad_type("weights", "one non-negative number per value, not all zero")
            })?)
        }
        "template" => {
            let t = get_str("template")?
                .ok_or_else(|| bad_type("template", "a string such as \"user_{sequential}\""))?;
            Gen::Template(
                crate::datagen::template::parse(&t)
                    .map_err(|m| ctx.err(&at, format!("{what}: {m}")))?,
            )
        }
        "foreign_key" => {
            let r =
                get_str("references")?.ok_or_else(|| bad_type("references", "\"table.column\""))?;
            let (t, col) = r
                .split_once('.')
                .ok_or_else(|| bad_type("references", "\"table.column\""))?;
            let zipf = match get_str("distribution")?.as_deref().unwrap_or("uniform") {
                "uniform" => false,
                "zipfian" => true,
                _ => return Err(bad_type("distribution", "uniform or zipfian")),
            };
            fk_placeholder(t, col, zipf)
        }
        "json" => Gen::Json,
        "words" => {
            let l = get_str("list")?.unwrap_or_default();
            let names: Vec<&str> = crate::datagen::words::LISTS.iter().map(|x| x.1).collect();
            Gen::Words(
                WordList::parse(&l)
                    .ok_or_else(|| bad_type("list", &format!("one of {}", names.join(", "))))?,
            )
        }
        "person" => {
            let p = get_str("part")?.unwrap_or_else(|| "full".into());
            let names: Vec<&str> = PERSON_PARTS.iter().map(|x| x.1).collect();
            let part = PERSON_PARTS
                .iter()
                .find(|x| x.1 == p)
                .map(|x| x.0)
                .ok_or_else(|| bad_type("part", &names.join(", ")))?;
            Gen::Person {
                part,
                locale,
                salt: name_hash(table),
            }
        }
        "place" => {
            let p = get_str("part")?.unwrap_or_else(|| "city".into());
            let names: Vec<&str> = PLACE_PARTS.iter().map(|x| x.1).collect();
            let part = PLACE_PARTS
                .iter()
                .find(|x| x.1 == p)
                .map(|x| x.0)
                .ok_or_else(|| bad_type("part", &names.join(", ")))?;
            Gen::Place {
                part,
                salt: name_hash(table),
            }
        }
        "linked_timestamp" => {
            let ts = |k: &str, d: i64| -> Result<i64, SeedConfigError> {
                match get_str(k)? {
                    None => Ok(d),
                    Some(s) => parse_timestamp_us(&s)
                        .ok_or_else(|| bad_type(k, "a timestamp like \"2024-01-01 00:00:00\"")),
                }
            };
            let start = ts("start", 1_577_836_800_000_000)?;
            let end = ts("end", 1_735_689_600_000_000)?;
            if end < start {
                return Err(ctx.err(&at, format!("{what}: end is before start")));
            }
            let mut gaps = Vec::new();
            match opts.get("gaps") {
                None => {}
                Some(T::Array(a)) => {
                    for g in a {
                        let pair = g.as_array().and_then(|p| match p.as_slice() {
                            [T::Integer(lo), T::Integer(hi)] if lo <= hi => Some((*lo, *hi)),
                            _ => None,
                        });
                        gaps.push(pair.ok_or_else(|| {
                            bad_type("gaps", "a list of [min, max] seconds, e.g. [[0, 86400]]")
                        })?);
                    }
                }
                Some(_) => {
                    return Err(bad_type(
                        "gaps",
                        "a list of [min, max] seconds, e.g. [[0, 86400]]",
                    ))
                }
            }
            let chain = get_str("chain")?.unwrap_or_else(|| table.to_string());
            Gen::Linked {
                salt: name_hash(&chain),
                chain,
                start,
                end,
                gaps,
            }
        }
        "self_reference" => Gen::SelfRef {
            start: get_int("start")?.unwrap_or(1),
            step: get_int("step")?.unwrap_or(1),
        },
        _ => unreachable!("generator names were checked above"),
    };
    Ok(ColumnGen {
        name,
        gen,
        null_probability,
        max_len: None,
        reason: None,
    })
}

fn parse_offset(s: &str) -> Option<i64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        "w" => n * 7 * 86_400,
        _ => return None,
    };
    Some(secs * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"
global_seed = 7
batch_size = 500

[[seed_rules.tables]]
name = "users"
count = 10

[[seed_rules.tables.columns]]
name = "id"
generator = "sequential"
options = { start = 100, step = 2 }

[[seed_rules.tables.columns]]
name = "email"
generator = "email"
null_probability = 0.1
"#;

    const FLAT: &str = r#"
[[seed_rules]]
table = "users"
count = 10

[[seed_rules.columns]]
name = "id"
generator = "sequential"
start = 100
step = 2
"#;

    #[test]
    fn nested_and_flat_options_both_work() {
        for text in [NESTED, FLAT] {
            let c = SeedConfig::parse(text, "s.toml", Locale::En).unwrap();
            assert_eq!(c.tables.len(), 1);
            assert_eq!(c.tables[0].name, "users");
            match &c.tables[0].columns[0].gen {
                Gen::Sequential { start, step } => assert_eq!((*start, *step), (100, 2)),
                g => panic!("{g:?}"),
            }
        }
        let c = SeedConfig::parse(NESTED, "s.toml", Locale::En).unwrap();
        assert_eq!(c.global_seed, Some(7));
        assert_eq!(c.batch_size, Some(500));
        assert_eq!(c.tables[0].columns[1].null_probability, 0.1);
    }

    #[test]
    fn errors_point_at_the_line() {
        let bad_gen = FLAT.replace("generator = \"sequential\"", "generator = \"sequentail\"");
        let e = SeedConfig::parse(&bad_gen, "s.toml", Locale::En)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.toml:8:") && e.contains("unknown generator 'sequentail'"),
            "{e}"
        );
        let bad_opt = FLAT.replace("step = 2", "stride = 2");
        let e = SeedConfig::parse(&bad_opt, "s.toml", Locale::En)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.toml:10:") && e.contains("unknown option 'stride'"),
            "{e}"
        );
        let bad_type = FLAT.replace("start = 100", "start = \"one\"");
        let e = SeedConfig::parse(&bad_type, "s.toml", Locale::En)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.toml:9:") && e.contains("must be an integer"),
            "{e}"
        );
    }

    #[test]
    fn derived_columns_parse_and_bad_ones_name_the_fix() {
        let ok = "[[seed_rules]]\ntable = \"invoices\"\ncount = 5\n[[seed_rules.derived]]\ncolumn = \"total\"\nsum = \"unit_price * quantity\"\nfrom = \"lines\"\nkey = \"invoice_id\"\n";
        let c = SeedConfig::parse(ok, "d.toml", Locale::En).unwrap();
        assert_eq!(
            c.tables[0].derived,
            vec![Derived {
                column: "total".into(),
                sum: "unit_price * quantity".into(),
                from: "lines".into(),
                key: "invoice_id".into(),
            }]
        );
        let bad = ok.replace("key = \"invoice_id\"\n", "");
        let e = SeedConfig::parse(&bad, "d.toml", Locale::En)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("d.toml:") && e.contains("column, sum, from and key"),
            "{e}"
        );
        let words = "[[seed_rules]]\ntable = \"t\"\ncount = 5\n[[seed_rules.columns]]\nname = \"c\"\ngenerator = \"words\"\nlist = \"poems\"\n";
        let e = SeedConfig::parse(words, "w.toml", Locale::En)
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.toml:") && e.contains("song_title"), "{e}");
    }
}
