//! Custom SQL transactions: `:param` placeholders, statement splitting and value generators.

use crate::config::{ConfigError, ParamSpec};
use crate::datagen::keys::KeySet;
use crate::datagen::template::{self, Piece};
use crate::datagen::weighted::{value_of_toml, WeightError, Weighted};
use crate::datagen::{values, KeyDist, Rng};
use crate::db::Dialect;
use crate::util::time::now_us;
use crate::value::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A statement with its placeholders rewritten for the dialect.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub sql: String,
    /// For each bound position, the index of the named parameter.
    pub bind: Vec<usize>,
    pub writes: bool,
}

/// Splits `sql` on `;` outside quotes and comments.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            cur.push('\n');
                            break;
                        }
                    }
                }
                ';' => {
                    if !cur.trim().is_empty() {
                        out.push(cur.trim().to_string());
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Rewrites `:name` placeholders (not `::casts`, not inside quotes) for `dialect`.
/// `names` collects parameter names in first-seen order across all statements.
pub fn rewrite_placeholders(
    stmt: &str,
    dialect: Dialect,
    names: &mut Vec<String>,
) -> ParsedStatement {
    let mut sql = String::with_capacity(stmt.len());
    let mut bind = Vec::new();
    let mut local: Vec<usize> = Vec::new(); // name index -> placeholder number (PostgreSQL)
    let chars: Vec<char> = stmt.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            sql.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' || c == '`' {
            quote = Some(c);
            sql.push(c);
            i += 1;
            continue;
        }
        let prev_colon = i > 0 && chars[i - 1] == ':';
        let next_ok = chars
            .get(i + 1)
            .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_');
        if c == ':' && !prev_colon && next_ok {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            let idx = match names.iter().position(|n| *n == name) {
                Some(p) => p,
                None => {
                    names.push(name);
                    names.len() - 1
                }
            };
            if dialect.numbered_placeholders() {
                let n = match local.iter().position(|&x| x == idx) {
                    Some(p) => p + 1,
                    None => {
                        local.push(idx);
                        bind.push(idx);
                        local.len()
                    }
                };
                sql.push_str(&dialect.placeholder(n));
            } else {
                bind.push(idx);
                sql.push_str(&dialect.placeholder(bind.len()));
            }
            i = end;
            continue;
        }
        sql.push(c);
        i += 1;
    }
    let first = stmt
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let writes = !matches!(first.as_str(), "select" | "with" | "show" | "explain");
    ParsedStatement { sql, bind, writes }
}

/// A runtime generator for one parameter.
#[derive(Debug, Clone)]
pub enum ParamGen {
    Keys(Arc<KeySet>, KeyDist),
    Int {
        min: i64,
        max: i64,
        dist: KeyDist,
    },
    Decimal {
        min: f64,
        max: f64,
        precision: u32,
    },
    Enum(Weighted),
    /// A template; `next` numbers `{sequential}`, from 1.
    Template {
        pieces: Vec<Piece>,
        next: Arc<AtomicI64>,
    },
    Sequential {
        next: Arc<AtomicI64>,
        step: i64,
    },
}

fn bad(query: &str, param: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: format!("custom_queries '{query}' param"),
        value: param.into(),
        why: why.into(),
    }
}

fn dist_of(query: &str, param: &str, spec: &ParamSpec, n: u64) -> Result<KeyDist, ConfigError> {
    match spec.distribution.as_deref().unwrap_or("uniform") {
        "uniform" => Ok(KeyDist::Uniform),
        "zipfian" => Ok(KeyDist::zipfian(n, 0.99)),
        other => Err(bad(
            query,
            param,
            format!("unknown distribution '{other}' (use uniform or zipfian)"),
        )),
    }
}

/// Builds a generator from its TOML spec. `keys` loads `table.column` for foreign keys.
pub fn build_param(
    query: &str,
    param: &str,
    spec: &ParamSpec,
    keys: &dyn Fn(&str, &str) -> Option<Arc<KeySet>>,
) -> Result<ParamGen, ConfigError> {
    let need = |v: Option<f64>, what: &str| {
        v.ok_or_else(|| {
            bad(
                query,
                param,
                format!("generator '{}' needs '{what}'", spec.generator),
            )
        })
    };
    Ok(match spec.generator.as_str() {
        "foreign_key" => {
            let r = spec
                .references
                .as_deref()
                .ok_or_else(|| bad(query, param, "foreign_key needs references = \"table.column\""))?;
            let (t, c) = r
                .split_once('.')
                .ok_or_else(|| bad(query, param, format!("references '{r}' must be table.column")))?;
            let set = keys(t, c).ok_or_else(|| {
                bad(query, param, format!("references '{r}': no such table or column, or it has no rows"))
            })?;
            let dist = dist_of(query, param, spec, set.len())?;
            ParamGen::Keys(set, dist)
        }
        "random_int" | "uniform" | "zipfian" => {
            let min = need(spec.min, "min")? as i64;
            let max = need(spec.max, "max")? as i64;
            if max < min {
                return Err(bad(query, param, "max must be >= min"));
            }
            let mut s = spec.clone();
            if spec.generator != "random_int" {
                s.distribution = Some(spec.generator.clone());
            }
            let dist = dist_of(query, param, &s, (max - min + 1) as u64)?;
            ParamGen::Int { min, max, dist }
        }
        "random_decimal" => {
            let min = need(spec.min, "min")?;
            let max = need(spec.max, "max")?;
            if max < min {
                return Err(bad(query, param, "max must be >= min"));
            }
            ParamGen::Decimal {
                min,
                max,
                precision: spec.precision.unwrap_or(2).min(9),
            }
        }
        "enum" => {
            let vals = spec
                .values
                .as_ref()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad(query, param, "enum needs a non-empty 'values' list"))?;
            let values: Vec<Value> = vals.iter().map(value_of_toml).collect();
            let weights = spec.weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
            ParamGen::Enum(Weighted::new(values, &weights).map_err(|e| match e {
                WeightError::Count => bad(query, param, "'weights' must have one entry per value"),
                WeightError::Invalid => bad(query, param, "weights must be >= 0 with a positive sum"),
            })?)
        }
        "template" => {
            let t = spec
                .template
                .as_deref()
                .ok_or_else(|| bad(query, param, "template needs template = \"...{sequential}...\""))?;
            ParamGen::Template {
                pieces: template::parse(t).map_err(|why| bad(query, param, why))?,
                next: Arc::new(AtomicI64::new(1)),
            }
        }
        "sequential" => ParamGen::Sequential {
            next: Arc::new(AtomicI64::new(spec.start.unwrap_or(1))),
            step: spec.step.unwrap_or(1),
        },
        other => {
            return Err(bad(
                query,
                param,
                format!("unknown generator '{other}' (use foreign_key, random_int, random_decimal, enum, template, sequential, uniform or zipfian)"),
            ))
        }
    })
}

impl ParamGen {
    /// The next value.
    pub fn generate(&self, rng: &mut Rng) -> Value {
        match self {
            ParamGen::Keys(set, dist) => set.sample(rng, dist),
            ParamGen::Int { min, max, dist } => {
                let span = (max - min + 1) as u64;
                Value::Int(min + dist.sample(rng, span) as i64)
            }
            ParamGen::Decimal {
                min,
                max,
                precision,
            } => {
                let v = min + rng.f64() * (max - min);
                Value::Decimal(format!("{v:.prec$}", prec = *precision as usize))
            }
            ParamGen::Enum(w) => w.pick(rng),
            ParamGen::Sequential { next, step } => {
                Value::Int(next.fetch_add(*step, Ordering::Relaxed))
            }
            ParamGen::Template { pieces, next } => {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let mut s = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => s.push_str(l),
                        Piece::Row => s.push_str(&n.to_string()),
                        Piece::RandomInt(a, b) => s.push_str(&rng.range_i64(*a, *b).to_string()),
                        Piece::Timestamp => {
                            s.push_str(&crate::util::time::format_timestamp_us(now_us()))
                        }
                        Piece::Name | Piece::Email => {
                            let col = crate::schema::ColumnInfo {
                                name: if matches!(p, Piece::Name) {
                                    "name"
                                } else {
                                    "email"
                                }
                                .into(),
                                sql_type: String::new(),
                                kind: crate::schema::ColKind::Text { max_len: None },
                                nullable: false,
                                auto_generated: false,
                                has_default: false,
                                unique: false,
                            };
                            s.push_str(&values::for_column(&col, rng, 0).to_string())
                        }
                        Piece::Uuid => s.push_str(&values::uuid(rng)),
                    }
                }
                Value::Text(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbKind;

    #[test]
    fn splits_and_rewrites() {
        let stmts =
            split_statements("UPDATE a SET x = ';' WHERE id = :id; -- c;\nSELECT :id, :v::text;");
        assert_eq!(stmts.len(), 2, "{stmts:?}");
        let mut names = Vec::new();
        let pg = rewrite_placeholders(&stmts[1], Dialect::new(DbKind::Postgres), &mut Vec::new());
        assert_eq!(pg.sql, "SELECT $1, $2::text");
        let my = rewrite_placeholders("SELECT :a, :b, :a", Dialect::new(DbKind::Mysql), &mut names);
        assert_eq!(my.sql, "SELECT ?, ?, ?");
        assert_eq!(my.bind, vec![0, 1, 0]);
        assert!(!my.writes);
        let pg = rewrite_placeholders(
            "SELECT :a, :b, :a",
            Dialect::new(DbKind::Postgres),
            &mut names,
        );
        assert_eq!(pg.sql, "SELECT $1, $2, $1");
        assert_eq!(pg.bind, vec![0, 1]);
    }

    #[test]
    fn templates_and_enums() {
        let mut rng = Rng::new(1);
        let g = ParamGen::Template {
            pieces: template::parse("user_{sequential}_{random_int:5:5}").unwrap(),
            next: Arc::new(AtomicI64::new(1)),
        };
        assert_eq!(g.generate(&mut rng), Value::Text("user_1_5".into()));
        assert_eq!(g.generate(&mut rng), Value::Text("user_2_5".into()));
        assert!(template::parse("{bogus}").is_err());
    }
}
