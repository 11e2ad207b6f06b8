//! Generators inferred from a table's definition, for `seed --rows` without a config, and the
//! TOML that `--print-config` writes so the user can edit it.

use super::config::{fk_placeholder, TableRule};
use super::generators::{
    ColumnGen, Gen, IntDist, Locale, Part, Weighted, PERSON_PARTS, PLACE_PARTS,
};
use crate::schema::{ColKind, ColumnInfo, TableInfo};
use crate::value::Value;

/// A generator for every column dbarena can fill; columns it cannot (unknown types) are left
/// to their default or NULL.
pub fn infer_rule(t: &TableInfo, count: u64, locale: Locale) -> TableRule {
    let mut columns = Vec::new();
    let moments = super::consistency::moments(t);
    for c in &t.columns {
        let max_len = match c.kind {
            ColKind::Text { max_len } => max_len.map(|m| m as usize),
            _ => None,
        };
        let picked = match moments.iter().find(|m| m.column == c.name) {
            Some(m)
                if t.fk_for(&c.name).is_none() && !c.unique && !t.primary_key.contains(&c.name) =>
            {
                Some((m.gen.clone(), m.meaning.clone()))
            }
            _ => infer_column(t, c, locale, count),
        };
        if let Some((gen, meaning)) = picked {
            let mut meaning = meaning;
            if let Some(g) = super::keys::key_groups(t)
                .iter()
                .find(|g| g.contains(&c.name))
            {
                meaning.push_str(&format!(
                    "; part of the key ({}), filled with unique combinations instead",
                    g.join(", ")
                ));
            }
            if let (Some(m), Some(longest)) = (max_len, longest(&gen)) {
                if longest > m && matches!(gen, Gen::Person { .. }) {
                    meaning.push_str(&format!(
                        "; shortened to the person's initials where the full form does not fit {}",
                        c.sql_type
                    ));
                } else if longest > m && matches!(gen, Gen::Words(_)) {
                    meaning.push_str(&format!(
                        "; drawn again until a value fits {} (cut where no draw does)",
                        c.sql_type
                    ));
                } else if longest > m {
                    meaning.push_str(&format!(
                        "; values longer than {m} characters are cut to fit {}",
                        c.sql_type
                    ));
                }
            }
            columns.push(ColumnGen {
                name: c.name.clone(),
                gen,
                null_probability: 0.0,
                max_len,
                reason: Some(super::meaning::reason(
                    &t.name,
                    &c.name,
                    &c.sql_type,
                    &meaning,
                )),
            });
        }
    }
    let mut notes = t.index_notes.clone();
    for g in super::keys::key_groups(t) {
        notes.push(format!(
            "key ({}) is filled with unique combinations (of the referenced keys where they are foreign keys)",
            g.join(", ")
        ));
    }
    TableRule {
        name: t.name.clone(),
        count,
        columns,
        notes,
        derived: Vec::new(),
    }
}

/// The longest text a generator makes, where it is known.
pub fn longest(g: &Gen) -> Option<usize> {
    match g {
        Gen::Words(l) => Some(l.max_len()),
        Gen::Person { part, locale, .. } => Some(super::generators::person_max_len(*part, *locale)),
        Gen::Uuid => Some(36),
        Gen::Text { max, .. } => Some(*max),
        Gen::Chars { len } => Some(*len),
        Gen::Json => Some(60),
        Gen::Email { .. } => Some(40),
        Gen::Name(part, locale) => Some(super::generators::person_max_len(
            match part {
                Part::First => super::generators::PersonPart::First,
                Part::Last => super::generators::PersonPart::Last,
                _ => super::generators::PersonPart::Full,
            },
            *locale,
        )),
        Gen::Address(part) => Some(super::generators::address_max_len(*part)),
        Gen::Phone => Some(15),
        Gen::Enum(w) => w.values.iter().map(|v| v.to_string().chars().count()).max(),
        _ => None,
    }
}

/// Whether two rows never get the same value.
fn unique_by_row(g: &Gen) -> bool {
    matches!(
        g,
        Gen::Person {
            part: super::generators::PersonPart::Email | super::generators::PersonPart::Username,
            ..
        } | Gen::Uuid
            | Gen::Sequential { .. }
    )
}

fn infer_column(
    t: &TableInfo,
    c: &ColumnInfo,
    locale: Locale,
    count: u64,
) -> Option<(Gen, String)> {
    let is_pk = t.primary_key.len() == 1 && t.primary_key[0] == c.name;
    if let Some(fk) = t.fk_for(&c.name) {
        if fk.ref_table == t.name {
            return Some((
                Gen::SelfRef { start: 1, step: 1 },
                format!(
                    "self-reference to {}.{}: an earlier row (NULL in the first)",
                    fk.ref_table, fk.ref_column
                ),
            ));
        }
        return Some((
            fk_placeholder(&fk.ref_table, &fk.ref_column, true),
            format!(
                "foreign key to {}.{}, skewed popularity (zipfian: a few rows referenced often)",
                fk.ref_table, fk.ref_column
            ),
        ));
    }
    let key = is_pk || c.unique;
    if !is_pk || !c.kind.is_integer() {
        if let Some(g) = super::meaning::guess(&t.name, c, locale) {
            if !key || unique_by_row(&g.gen) {
                return Some((g.gen, g.meaning));
            }
        }
    }
    let why = if is_pk {
        "primary key"
    } else if c.unique {
        "unique"
    } else {
        ""
    };
    let gen = infer_by_type(t, c, locale, count)?;
    let meaning = if !why.is_empty() {
        format!("{why}: a value per row")
    } else if matches!(gen, Gen::Text { .. }) {
        "no meaning known from the name: text of the column's length (rename the generator to correct it)".to_string()
    } else {
        "no meaning known from the name: a value of the type".to_string()
    };
    Some((gen, meaning))
}

fn infer_by_type(t: &TableInfo, c: &ColumnInfo, locale: Locale, count: u64) -> Option<Gen> {
    let name = c.name.to_ascii_lowercase();
    let is_pk = t.primary_key.len() == 1 && t.primary_key[0] == c.name;
    if is_pk || c.unique {
        // A value per row, of any type: numbers count up, times step a day (dates) or a
        // second, text is numbered (without its prefix when the column is too short for it).
        const Y2000: i64 = 946_684_800_000_000;
        let unique = match &c.kind {
            ColKind::SmallInt
            | ColKind::Int
            | ColKind::BigInt
            | ColKind::Decimal { .. }
            | ColKind::Float => Some(Gen::Sequential { start: 1, step: 1 }),
            ColKind::Uuid => Some(Gen::Uuid),
            ColKind::Date | ColKind::Timestamp => {
                let step: i64 = if c.kind == ColKind::Date {
                    86_400_000_000
                } else {
                    1_000_000
                };
                Some(Gen::Timestamp {
                    start: Y2000,
                    end: Y2000 + step * count.max(1) as i64,
                    monotonic: true,
                    rows: count.max(1),
                })
            }
            ColKind::Text { max_len } => {
                let prefix = if is_pk {
                    format!("{}_", t.name)
                } else {
                    format!("{}_", c.name)
                };
                let short = max_len.is_some_and(|m| (m as usize) < prefix.len() + 9);
                let mut p = Vec::new();
                if !short {
                    p.push(super::generators::Piece::Lit(prefix));
                }
                p.push(super::generators::Piece::Row);
                Some(Gen::Template(p))
            }
            _ => None,
        };
        if unique.is_some() {
            return unique;
        }
    }
    let max_text = match c.kind {
        ColKind::Text { max_len } => max_len.unwrap_or(255) as usize,
        _ => 255,
    };
    Some(match &c.kind {
        ColKind::SmallInt => Gen::RandomInt {
            min: 0,
            max: 1000,
            dist: IntDist::Uniform,
        },
        ColKind::Int | ColKind::BigInt => {
            if name.contains("quantity") || name.contains("qty") || name.contains("count") {
                Gen::RandomInt {
                    min: 1,
                    max: 10,
                    dist: IntDist::Uniform,
                }
            } else if name.contains("age") {
                Gen::RandomInt {
                    min: 18,
                    max: 90,
                    dist: IntDist::Normal,
                }
            } else {
                Gen::RandomInt {
                    min: 0,
                    max: 100_000,
                    dist: IntDist::Uniform,
                }
            }
        }
        ColKind::Float => Gen::RandomDecimal {
            min: 0.0,
            max: 1000.0,
            precision: 3,
        },
        ColKind::Decimal { precision, scale } => {
            let int_digits = precision.saturating_sub(*scale).min(9);
            let max = (10f64.powi(int_digits as i32) - 1.0).min(
                if name.contains("price") || name.contains("total") || name.contains("amount") {
                    999.0
                } else {
                    99_999.0
                },
            );
            Gen::RandomDecimal {
                min: 0.0,
                max: max.max(0.0),
                precision: (*scale).min(9),
            }
        }
        ColKind::Bool => Gen::Boolean { probability: 0.5 },
        ColKind::Timestamp | ColKind::Date => Gen::Timestamp {
            start: 1_672_531_200_000_000,
            end: 1_735_689_600_000_000,
            monotonic: false,
            rows: 0,
        },
        ColKind::Uuid => Gen::Uuid,
        ColKind::Json => Gen::Json,
        ColKind::Enum(labels) => {
            let n = labels.len().max(1) as f64;
            Gen::Enum(Weighted {
                values: labels.iter().map(|l| Value::Text(l.clone())).collect(),
                cumulative: (1..=labels.len()).map(|i| i as f64 / n).collect(),
            })
        }
        ColKind::Text { .. } => {
            if name.contains("email") {
                Gen::Email { unique: c.unique }
            } else if name.contains("phone") {
                Gen::Phone
            } else if name == "first_name" || name == "firstname" {
                Gen::Name(Part::First, locale)
            } else if name == "last_name" || name == "lastname" || name == "surname" {
                Gen::Name(Part::Last, locale)
            } else if name.contains("name") && !c.unique {
                Gen::Name(Part::Full, locale)
            } else if name.contains("country") {
                if max_text < 4 {
                    Gen::Enum(Weighted {
                        values: ["US", "DE", "FR", "GB", "JP"]
                            .iter()
                            .map(|s| Value::Text(s.to_string()))
                            .collect(),
                        cumulative: vec![0.2, 0.4, 0.6, 0.8, 1.0],
                    })
                } else {
                    Gen::Address(Part::Country)
                }
            } else if name.contains("city") {
                Gen::Address(Part::City)
            } else if name.contains("state") && max_text <= 3 {
                Gen::Address(Part::State)
            } else if name.contains("zip") || name.contains("postal") {
                Gen::Address(Part::Zip)
            } else if name.contains("street") || name.contains("address") {
                Gen::Address(Part::Street)
            } else if name.ends_with("_at") || name.contains("date") || name.contains("time") {
                Gen::Timestamp {
                    start: 1_672_531_200_000_000,
                    end: 1_735_689_600_000_000,
                    monotonic: false,
                    rows: 0,
                }
            } else if c.unique {
                Gen::Template(vec![
                    super::generators::Piece::Lit(format!("{}_", c.name)),
                    super::generators::Piece::Row,
                ])
            } else if name.contains("status") {
                Gen::Enum(Weighted {
                    values: ["active", "pending", "closed"]
                        .iter()
                        .map(|s| Value::Text(s.to_string()))
                        .collect(),
                    cumulative: vec![0.6, 0.9, 1.0],
                })
            } else {
                Gen::Text {
                    min: max_text.min(10) / 2,
                    max: max_text.min(60),
                }
            }
        }
        ColKind::Other(_) => return None,
    })
}

fn opt(table: &mut toml::Table, k: &str, v: impl Into<toml::Value>) {
    table.insert(k.into(), v.into());
}

fn ts_text(us: i64) -> String {
    crate::util::time::format_timestamp_us(us)
}

/// TOML for a set of rules, in the format `seed --config` reads.
pub fn to_toml(global_seed: u64, batch_size: usize, rules: &[TableRule]) -> String {
    let mut tables = Vec::new();
    for r in rules {
        let mut t = toml::Table::new();
        opt(&mut t, "name", r.name.clone());
        opt(&mut t, "count", r.count as i64);
        let mut cols = Vec::new();
        for c in &r.columns {
            let mut m = toml::Table::new();
            opt(&mut m, "name", c.name.clone());
            let generator = match &c.gen {
                Gen::Sequential { start, step } => {
                    opt(&mut m, "start", *start);
                    opt(&mut m, "step", *step);
                    "sequential"
                }
                Gen::RandomInt { min, max, dist } => {
                    opt(&mut m, "min", *min);
                    opt(&mut m, "max", *max);
                    let d = match dist {
                        IntDist::Uniform => "uniform",
                        IntDist::Zipfian(_) => "zipfian",
                        IntDist::Normal => "normal",
                    };
                    opt(&mut m, "distribution", d);
                    "random_int"
                }
                Gen::RandomDecimal {
                    min,
                    max,
                    precision,
                } => {
                    opt(&mut m, "min", *min);
                    opt(&mut m, "max", *max);
                    opt(&mut m, "precision", *precision as i64);
                    "random_decimal"
                }
                Gen::Boolean { probability } => {
                    opt(&mut m, "probability", *probability);
                    "boolean"
                }
                Gen::Timestamp {
                    start,
                    end,
                    monotonic,
                    ..
                } => {
                    opt(&mut m, "start", ts_text(*start));
                    opt(&mut m, "end", ts_text(*end));
                    if *monotonic {
                        opt(&mut m, "monotonic", true);
                    }
                    "timestamp"
                }
                Gen::Email { unique } => {
                    opt(&mut m, "unique", *unique);
                    "email"
                }
                Gen::Phone => "phone",
                Gen::Name(part, _) => {
                    opt(
                        &mut m,
                        "part",
                        match part {
                            Part::First => "first",
                            Part::Last => "last",
                            _ => "full",
                        },
                    );
                    "name"
                }
                Gen::Address(part) => {
                    let p = match part {
                        Part::City => "city",
                        Part::State => "state",
                        Part::Zip => "zip",
                        Part::Country => "country",
                        _ => "street",
                    };
                    opt(&mut m, "part", p);
                    "address"
                }
                Gen::Uuid => "uuid",
                Gen::Text { min, max } => {
                    opt(&mut m, "min_length", *min as i64);
                    opt(&mut m, "max_length", *max as i64);
                    "text"
                }
                Gen::Enum(Weighted { values, cumulative }) => {
                    let vals: Vec<toml::Value> = values
                        .iter()
                        .map(|v| toml::Value::String(v.to_string()))
                        .collect();
                    let mut prev = 0.0;
                    let weights: Vec<toml::Value> = cumulative
                        .iter()
                        .map(|c| {
                            let w = ((c - prev) * 1000.0).round() / 1000.0;
                            prev = *c;
                            toml::Value::Float(w)
                        })
                        .collect();
                    opt(&mut m, "values", vals);
                    opt(&mut m, "weights", weights);
                    "enum"
                }
                Gen::Template(pieces) => {
                    let mut s = String::new();
                    for p in pieces {
                        match p {
                            super::generators::Piece::Lit(l) => s.push_str(l),
                            super::generators::Piece::Row => s.push_str("{sequential}"),
                            super::generators::Piece::RandomInt(a, b) => {
                                s.push_str(&format!("{{random_int:{a}:{b}}}"))
                            }
                            super::generators::Piece::Timestamp => s.push_str("{timestamp}"),
                            super::generators::Piece::Name => s.push_str("{name}"),
                            super::generators::Piece::Email => s.push_str("{email}"),
                            super::generators::Piece::Uuid => s.push_str("{uuid}"),
                        }
                    }
                    opt(&mut m, "template", s);
                    "template"
                }
                Gen::Reference {
                    table,
                    column,
                    zipfian,
                } => {
                    opt(&mut m, "references", format!("{table}.{column}"));
                    opt(
                        &mut m,
                        "distribution",
                        if *zipfian { "zipfian" } else { "uniform" },
                    );
                    "foreign_key"
                }
                Gen::Json => "json",
                Gen::Words(list) => {
                    opt(&mut m, "list", list.name());
                    "words"
                }
                Gen::Person { part, .. } => {
                    let p = PERSON_PARTS
                        .iter()
                        .find(|x| x.0 == *part)
                        .map(|x| x.1)
                        .unwrap_or("full");
                    opt(&mut m, "part", p);
                    "person"
                }
                Gen::Place { part, .. } => {
                    let p = PLACE_PARTS
                        .iter()
                        .find(|x| x.0 == *part)
                        .map(|x| x.1)
                        .unwrap_or("city");
                    opt(&mut m, "part", p);
                    "place"
                }
                Gen::Linked {
                    chain,
                    start,
                    end,
                    gaps,
                    ..
                } => {
                    opt(&mut m, "start", ts_text(*start));
                    opt(&mut m, "end", ts_text(*end));
                    if !gaps.is_empty() {
                        let g: Vec<toml::Value> = gaps
                            .iter()
                            .map(|(a, b)| toml::Value::Array(vec![(*a).into(), (*b).into()]))
                            .collect();
                        opt(&mut m, "gaps", g);
                    }
                    opt(&mut m, "chain", chain.clone());
                    "linked_timestamp"
                }
                Gen::SelfRef { start, step } => {
                    opt(&mut m, "start", *start);
                    opt(&mut m, "step", *step);
                    "self_reference"
                }
                // Generators only presets use; written as their closest configurable form.
                Gen::ForeignKey { .. } => continue,
                Gen::RowDiv { .. }
                | Gen::YcsbKey
                | Gen::Chars { .. }
                | Gen::Constant(_)
                | Gen::KeyPart { .. } => continue,
            };
            m.insert("generator".into(), toml::Value::String(generator.into()));
            if c.null_probability > 0.0 {
                opt(&mut m, "null_probability", c.null_probability);
            }
            cols.push((c.reason.clone(), m));
        }
        tables.push((t, cols, &r.notes, &r.derived));
    }
    // Written by hand around toml's own rendering, so each column carries its reason.
    let mut out = format!("global_seed = {global_seed}\nbatch_size = {batch_size}\n");
    for (t, cols, notes, derived) in tables {
        out.push_str("\n[[seed_rules.tables]]\n");
        for n in notes.iter() {
            out.push_str(&format!("# {n}\n"));
        }
        out.push_str(&toml::to_string(&t).unwrap_or_default());
        for (reason, m) in cols {
            out.push_str("\n[[seed_rules.tables.columns]]\n");
            if let Some(r) = reason {
                out.push_str(&format!("# {}\n", r.replace('\n', " ")));
            }
            out.push_str(&toml::to_string(&m).unwrap_or_default());
        }
        for d in derived.iter() {
            let mut m = toml::Table::new();
            opt(&mut m, "column", d.column.clone());
            opt(&mut m, "sum", d.sum.clone());
            opt(&mut m, "from", d.from.clone());
            opt(&mut m, "key", d.key.clone());
            out.push_str("\n[[seed_rules.tables.derived]]\n");
            out.push_str(&format!(
                "# set after the load: the sum of {} over the {} rows that reference this row\n",
                d.sum, d.from
            ));
            out.push_str(&toml::to_string(&m).unwrap_or_default());
        }
    }
    out
}
