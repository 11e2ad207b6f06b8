//! Column generators for seeding. A value depends only on (seed, table, column, row number),
//! so rows come out the same whatever the parallelism and on every database.

use crate::datagen::keys::KeySet;
use crate::datagen::places::PLACES;
use crate::datagen::values::{FIRST, LAST};
pub use crate::datagen::weighted::Weighted;
pub use crate::datagen::words::WordList;
use crate::datagen::{values, KeyDist, Rng};
use crate::util::time::format_timestamp_us;
use crate::value::Value;
use std::sync::Arc;

const FIRST_DE: &[&str] = &[
    "Lukas", "Anna", "Jonas", "Lea", "Felix", "Mia", "Paul", "Emma", "Leon", "Hannah",
];
const LAST_DE: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
];
const FIRST_FR: &[&str] = &[
    "Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon", "Lucas", "Camille", "Théo", "Inès",
];
const LAST_FR: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Pine Rd",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Lake View",
    "Hill Rd",
];
const CITIES: &[&str] = &[
    "Springfield",
    "Riverton",
    "Fairview",
    "Lakeside",
    "Georgetown",
    "Franklin",
    "Clinton",
    "Salem",
    "Madison",
    "Arlington",
];
const STATES: &[&str] = &["CA", "NY", "TX", "WA", "IL", "MA", "OR", "CO", "FL", "GA"];
const COUNTRIES: &[&str] = &[
    "United States",
    "Germany",
    "France",
    "Japan",
    "Brazil",
    "India",
    "Canada",
    "Spain",
];
const LOREM: &[&str] = &[
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
];

/// Names in a language: `en` (default), `de`, `fr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    De,
    Fr,
}

impl Locale {
    pub fn parse(s: &str) -> Option<Locale> {
        match s
            .to_ascii_lowercase()
            .split(['_', '-'])
            .next()
            .unwrap_or("")
        {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    pub fn names(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Locale::En => (FIRST, LAST),
            Locale::De => (FIRST_DE, LAST_DE),
            Locale::Fr => (FIRST_FR, LAST_FR),
        }
    }
}

/// Which part of a name or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    First,
    Last,
    Full,
    Street,
    City,
    State,
    Zip,
    Country,
}

/// Which part of the row's person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonPart {
    First,
    Last,
    Full,
    Email,
    Username,
}

pub const PERSON_PARTS: &[(PersonPart, &str)] = &[
    (PersonPart::First, "first"),
    (PersonPart::Last, "last"),
    (PersonPart::Full, "full"),
    (PersonPart::Email, "email"),
    (PersonPart::Username, "username"),
];

/// Which part of the row's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacePart {
    Street,
    City,
    State,
    StateName,
    Postal,
    Country,
    CountryCode,
    Phone,
}

pub const PLACE_PARTS: &[(PlacePart, &str)] = &[
    (PlacePart::Street, "street"),
    (PlacePart::City, "city"),
    (PlacePart::State, "state"),
    (PlacePart::StateName, "state_name"),
    (PlacePart::Postal, "postal_code"),
    (PlacePart::Country, "country"),
    (PlacePart::CountryCode, "country_code"),
    (PlacePart::Phone, "phone"),
];

/// The longest value an address generator makes.
pub fn address_max_len(part: Part) -> usize {
    let longest = |l: &[&str]| l.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    match part {
        Part::City => longest(CITIES),
        Part::State => longest(STATES),
        Part::Zip => 5,
        Part::Country => longest(COUNTRIES),
        _ => 5 + longest(STREETS),
    }
}

/// The longest value a person generator makes (emails with up to 12 digits of row number).
pub fn person_max_len(part: PersonPart, locale: Locale) -> usize {
    let (first, last) = locale.names();
    let f = first.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let l = last.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    match part {
        PersonPart::First => f,
        PersonPart::Last => l,
        PersonPart::Full => f + l + 1,
        // ß becomes ss: at most twice the letters.
        PersonPart::Email => 2 * (f + l) + 1 + 12 + "@example.com".len(),
        PersonPart::Username => 2 * f + 2 + 12,
    }
}

/// Letters of a name as they go into an email address or a user name.
fn ascii_lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_lowercase().next().unwrap_or(c);
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// How integers are spread.
#[derive(Debug, Clone)]
pub enum IntDist {
    Uniform,
    Zipfian(KeyDist),
    Normal,
}

pub use crate::datagen::template::Piece;

/// One column's generator.
#[derive(Debug, Clone)]
pub enum Gen {
    Sequential {
        start: i64,
        step: i64,
    },
    RandomInt {
        min: i64,
        max: i64,
        dist: IntDist,
    },
    RandomDecimal {
        min: f64,
        max: f64,
        precision: u32,
    },
    Boolean {
        probability: f64,
    },
    /// Microseconds: uniform in [start, end], or `monotonic` from start in even steps.
    Timestamp {
        start: i64,
        end: i64,
        monotonic: bool,
        rows: u64,
    },
    Email {
        unique: bool,
    },
    Phone,
    Name(Part, Locale),
    Address(Part),
    Uuid,
    Text {
        min: usize,
        max: usize,
    },
    Enum(Weighted),
    Template(Vec<Piece>),
    ForeignKey {
        keys: Arc<KeySet>,
        dist: KeyDist,
    },
    Json,
    /// `row / divisor + offset`: pgbench's bid of a teller or account.
    RowDiv {
        divisor: u64,
        offset: i64,
    },
    /// YCSB's hashed key name: `user` + FNV-1a-64 of the record number.
    YcsbKey,
    /// `len` random letters and digits (YCSB field values).
    Chars {
        len: usize,
    },
    /// A key of this same table from an earlier row (self-reference); NULL for the first row.
    SelfRef {
        start: i64,
        step: i64,
    },
    /// Fixed value (for example pgbench's blank filler).
    Constant(Value),
    /// Meaningful text from a named list (company, job title, song title, URL, ...).
    Words(WordList),
    /// One part of the row's person: every `Person` column of a table with the same `salt`
    /// describes the same person (first, last and full name, email, user name).
    Person {
        part: PersonPart,
        locale: Locale,
        salt: u64,
    },
    /// One part of the row's place: city, state, postal code, country and phone agree.
    Place {
        part: PlacePart,
        salt: u64,
    },
    /// A moment linked to others of the row: an anchor uniform in [start, end] (whole
    /// seconds), then each gap of `gaps` (seconds, may be negative) added in turn. Columns
    /// with the same `salt`, anchor and leading gaps share those draws (hire date, then birth
    /// 18–70 years before it; created, then updated after it).
    Linked {
        /// What names the chain in TOML (`table.anchor_column`); `salt` is its hash.
        chain: String,
        salt: u64,
        start: i64,
        end: i64,
        gaps: Vec<(i64, i64)>,
    },
    /// One column of a composite key's unique combination for this row.
    KeyPart {
        space: Arc<super::keys::ComboSpace>,
        part: usize,
    },
    /// A foreign key whose referenced keys are not loaded yet; resolved into `ForeignKey`
    /// once the referenced table is filled.
    Reference {
        table: String,
        column: String,
        zipfian: bool,
    },
}

/// A column generator with its null probability and maximum length.
#[derive(Debug, Clone)]
pub struct ColumnGen {
    pub name: String,
    pub gen: Gen,
    pub null_probability: f64,
    pub max_len: Option<usize>,
    /// Why inference chose this generator (shown by `--print-config`).
    pub reason: Option<String>,
}

/// Stable 64-bit hash (FNV-1a) of a name: part of each value's seed.
pub fn name_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

impl ColumnGen {
    /// The value of this column in row `row` (0-based, over the whole table).
    pub fn value(&self, col_seed: u64, row: u64) -> Value {
        let mut rng = Rng::derive(col_seed, row);
        if self.null_probability > 0.0 && rng.chance(self.null_probability) {
            return Value::Null;
        }
        let mut v = self.gen.value(&mut rng, row);
        // Word lists draw again until a value fits the column.
        if let (Gen::Words(_), Some(max)) = (&self.gen, self.max_len) {
            let mut tries = 0;
            while tries < 32 && matches!(&v, Value::Text(s) if s.chars().count() > max) {
                v = self.gen.value(&mut rng, row);
                tries += 1;
            }
        }
        // Emails and user names too long for the column keep the row's initials instead.
        if let (
            Gen::Person {
                part: part @ (PersonPart::Email | PersonPart::Username),
                locale,
                salt,
            },
            Some(max),
        ) = (&self.gen, self.max_len)
        {
            if matches!(&v, Value::Text(s) if s.chars().count() > max) {
                let mut r = Rng::derive(*salt, row);
                let (first, last) = locale.names();
                let f = ascii_lower(pick(&mut r, first));
                let l = ascii_lower(pick(&mut r, last));
                let (fi, li) = (&f[..1.min(f.len())], &l[..1.min(l.len())]);
                let short = match part {
                    PersonPart::Email => {
                        let a = format!("{fi}.{l}{}@example.com", row + 1);
                        if a.len() <= max {
                            a
                        } else {
                            format!("{fi}{li}{}@example.com", row + 1)
                        }
                    }
                    _ => format!("{fi}{li}{}", row + 1),
                };
                v = Value::Text(short);
            }
        }
        match (v, self.max_len) {
            (Value::Text(s), Some(max)) if s.chars().count() > max => {
                Value::Text(s.chars().take(max).collect())
            }
            (v, _) => v,
        }
    }
}

impl Gen {
    fn value(&self, rng: &mut Rng, row: u64) -> Value {
        match self {
            Gen::Sequential { start, step } => Value::Int(start + step * row as i64),
            Gen::RandomInt { min, max, dist } => match dist {
                IntDist::Uniform => Value::Int(rng.range_i64(*min, *max)),
                IntDist::Zipfian(z) => {
                    Value::Int(min + z.sample(rng, (max - min + 1) as u64) as i64)
                }
                IntDist::Normal => {
                    let mid = (*min as f64 + *max as f64) / 2.0;
                    let sd = (*max as f64 - *min as f64) / 6.0;
                    let v = (mid + rng.normal() * sd).round() as i64;
                    Value::Int(v.clamp(*min, *max))
                }
            },
            Gen::RandomDecimal {
                min,
                max,
                precision,
            } => {
                // Integer arithmetic in units of 10^-precision keeps the text exact everywhere.
                let scale = 10i64.pow(*precision);
                let lo = (min * scale as f64).round() as i64;
                let hi = (max * scale as f64).round() as i64;
                let v = rng.range_i64(lo, hi);
                Value::Decimal(format_scaled(v, *precision))
            }
            Gen::Boolean { probability } => Value::Bool(rng.chance(*probability)),
            Gen::Timestamp {
                start,
                end,
                monotonic,
                rows,
            } => {
                if *monotonic {
                    let span = (end - start).max(0) as u128;
                    let step = span / (*rows).max(1) as u128;
                    Value::Timestamp(start + (step * row as u128) as i64)
                } else {
                    // Whole seconds, so every database stores exactly what was generated.
                    let s = rng.range_i64(start / 1_000_000, end / 1_000_000);
                    Value::Timestamp(s * 1_000_000)
                }
            }
            Gen::Email { unique } => {
                let f = pick(rng, FIRST).to_ascii_lowercase();
                let l = pick(rng, LAST).to_ascii_lowercase();
                if *unique {
                    Value::Text(format!("{f}.{l}.{row}@example.com"))
                } else {
                    Value::Text(format!("{f}.{l}{}@example.com", rng.below(1000)))
                }
            }
            Gen::Phone => Value::Text(format!(
                "+1-{:03}-{:03}-{:04}",
                200 + rng.below(800),
                rng.below(1000),
                rng.below(10_000)
            )),
            Gen::Name(part, locale) => {
                let (first, last) = locale.names();
                Value::Text(match part {
                    Part::First => pick(rng, first).to_string(),
                    Part::Last => pick(rng, last).to_string(),
                    _ => format!("{} {}", pick(rng, first), pick(rng, last)),
                })
            }
            Gen::Address(part) => Value::Text(match part {
                Part::City => pick(rng, CITIES).to_string(),
                Part::State => pick(rng, STATES).to_string(),
                Part::Zip => format!("{:05}", rng.below(100_000)),
                Part::Country => pick(rng, COUNTRIES).to_string(),
                _ => format!("{} {}", 1 + rng.below(9999), pick(rng, STREETS)),
            }),
            Gen::Uuid => Value::Text(values::uuid(rng)),
            Gen::Text { min, max } => {
                let target = rng.range_i64(*min as i64, *max as i64) as usize;
                let mut s = String::with_capacity(target + 12);
                while s.len() < target {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(pick(rng, LOREM));
                }
                s.truncate(target);
                Value::Text(s)
            }
            Gen::Enum(w) => w.pick(rng),
            Gen::Template(pieces) => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => s.push_str(l),
                        Piece::Row => s.push_str(&(row + 1).to_string()),
                        Piece::RandomInt(a, b) => s.push_str(&rng.range_i64(*a, *b).to_string()),
                        Piece::Timestamp => s.push_str(&format_timestamp_us(
                            1_577_836_800_000_000 + rng.range_i64(0, 157_766_400) * 1_000_000,
                        )),
                        Piece::Name => {
                            s.push_str(pick(rng, FIRST));
                            s.push(' ');
                            s.push_str(pick(rng, LAST));
                        }
                        Piece::Email => s.push_str(&format!(
                            "{}.{}@example.com",
                            pick(rng, FIRST).to_ascii_lowercase(),
                            row + 1
                        )),
                        Piece::Uuid => s.push_str(&values::uuid(rng)),
                    }
                }
                Value::Text(s)
            }
            Gen::ForeignKey { keys, dist } => keys.sample(rng, dist),
            Gen::Json => Value::Text(format!(
                "{{\"score\":{},\"tag\":\"{}\",\"active\":{}}}",
                rng.below(100),
                pick(rng, LOREM),
                rng.chance(0.5)
            )),
            Gen::Constant(v) => v.clone(),
            Gen::KeyPart { space, part } => space.value(row, *part),
            Gen::Words(list) => Value::Text(list.value(rng)),
            Gen::Person { part, locale, salt } => {
                let mut r = Rng::derive(*salt, row);
                let (first, last) = locale.names();
                let f = pick(&mut r, first);
                let l = pick(&mut r, last);
                Value::Text(match part {
                    PersonPart::First => f.to_string(),
                    PersonPart::Last => l.to_string(),
                    PersonPart::Full => format!("{f} {l}"),
                    PersonPart::Email => format!(
                        "{}.{}{}@example.com",
                        ascii_lower(f),
                        ascii_lower(l),
                        row + 1
                    ),
                    PersonPart::Username => format!(
                        "{}{}{}",
                        ascii_lower(f),
                        ascii_lower(l).chars().next().unwrap_or('x'),
                        row + 1
                    ),
                })
            }
            Gen::Place { part, salt } => {
                let mut r = Rng::derive(*salt ^ 0x9e37_79b9_7f4a_7c15, row);
                let place = &PLACES[r.below(PLACES.len() as u64) as usize];
                Value::Text(match part {
                    PlacePart::Street => {
                        format!("{} {}", 1 + rng.below(9999), pick(rng, STREETS))
                    }
                    PlacePart::City => place.city.to_string(),
                    PlacePart::State => place.state.to_string(),
                    PlacePart::StateName => place.state_name.to_string(),
                    PlacePart::Postal => place.postal_code(r.next_u64()),
                    PlacePart::Country => place.country.to_string(),
                    PlacePart::CountryCode => place.country_code.to_string(),
                    PlacePart::Phone => format!(
                        "+{} {:03} {:03} {:04}",
                        place.phone,
                        200 + rng.below(800),
                        rng.below(1000),
                        rng.below(10_000)
                    ),
                })
            }
            Gen::Linked {
                salt,
                chain: _,
                start,
                end,
                gaps,
            } => {
                let mut r = Rng::derive(*salt, row);
                let mut s = r.range_i64(start / 1_000_000, end / 1_000_000);
                for (lo, hi) in gaps {
                    s += r.range_i64(*lo, *hi);
                }
                Value::Timestamp(s * 1_000_000)
            }
            Gen::Reference { .. } => Value::Null,
            Gen::RowDiv { divisor, offset } => Value::Int((row / divisor.max(&1)) as i64 + offset),
            Gen::YcsbKey => Value::Text(ycsb_key(row)),
            Gen::Chars { len } => {
                const ALPHABET: &[u8] =
                    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
                let s: String = (0..*len)
                    .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char)
                    .collect();
                Value::Text(s)
            }
            Gen::SelfRef { start, step } => {
                if row == 0 {
                    Value::Null
                } else {
                    Value::Int(start + step * rng.below(row) as i64)
                }
            }
        }
    }
}

pub use crate::datagen::values::ycsb_key;

/// `v` units of 10^-precision as decimal text: (12345, 2) -> "123.45".
pub fn format_scaled(v: i64, precision: u32) -> String {
    if precision == 0 {
        return v.to_string();
    }
    let scale = 10i64.pow(precision);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        a / scale as u64,
        a % scale as u64,
        width = precision as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_depend_only_on_row() {
        let g = ColumnGen {
            name: "x".into(),
            gen: Gen::Text { min: 5, max: 20 },
            null_probability: 0.0,
            max_len: None,
            reason: None,
        };
        let a: Vec<Value> = (0..100).map(|r| g.value(7, r)).collect();
        let b: Vec<Value> = (0..100).rev().map(|r| g.value(7, r)).collect();
        let b: Vec<Value> = b.into_iter().rev().collect();
        assert_eq!(a, b);
        for v in &a {
            match v {
                Value::Text(s) => assert!(s.len() >= 5 && s.len() <= 20, "{s}"),
                _ => panic!(),
            }
        }
        assert_eq!(format_scaled(-5, 2), "-0.05");
        assert_eq!(format_scaled(12345, 2), "123.45");
    }

    #[test]
    fn unique_emails_and_null_probability() {
        let g = ColumnGen {
            name: "email".into(),
            gen: Gen::Email { unique: true },
            null_probability: 0.3,
            max_len: None,
            reason: None,
        };
        let vals: Vec<Value> = (0..10_000).map(|r| g.value(1, r)).collect();
        let nulls = vals.iter().filter(|v| **v == Value::Null).count();
        assert!((2700..3300).contains(&nulls), "{nulls}");
        let mut set = std::collections::HashSet::new();
        for v in vals.iter().filter(|v| **v != Value::Null) {
            assert!(set.insert(v.to_string()), "duplicate {v}");
        }
    }
}
