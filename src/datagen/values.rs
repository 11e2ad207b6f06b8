//! Values that fit a column: chosen from its type, its length and its name.

use super::rng::Rng;
use crate::schema::{ColKind, ColumnInfo};
use crate::value::Value;

/// First names, shared with the seed generators.
pub(crate) const FIRST: &[&str] = &[
    "Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kara",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe",
];
/// Last names, shared with the seed generators.
pub(crate) const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Muller", "Rossi", "Dubois", "Kowalski", "Silva", "Kim", "Novak",
    "Jensen", "Okafor", "Haddad", "Ivanova", "Tanaka", "Brown", "Lopez", "Nguyen", "Cohen", "Berg",
];
const COUNTRIES: &[&str] = &[
    "US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "ES", "IT", "NL", "SE", "PL", "KR", "MX",
];
const CITIES: &[&str] = &[
    "Berlin", "Paris", "Tokyo", "Lisbon", "Austin", "Toronto", "Seoul", "Madrid", "Oslo", "Lima",
];
const STATUSES: &[&str] = &["pending", "paid", "shipped", "delivered", "cancelled"];
const CATEGORIES: &[&str] = &[
    "books",
    "electronics",
    "garden",
    "toys",
    "kitchen",
    "sports",
    "music",
    "clothing",
];
const WORDS: &[&str] = &[
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
];

/// Two years before "now" at load time, in microseconds: the span generated timestamps cover.
const TWO_YEARS_US: i64 = 2 * 365 * 86_400 * 1_000_000;

/// Generates a value for `col`. `unique` adds a random 64-bit tag so unique columns do not
/// collide; `now_us` anchors timestamps.
pub fn for_column(col: &ColumnInfo, rng: &mut Rng, now_us: i64) -> Value {
    let name = col.name.to_ascii_lowercase();
    match &col.kind {
        ColKind::SmallInt => Value::Int(rng.range_i64(0, 1000)),
        ColKind::Int | ColKind::BigInt => {
            if col.unique {
                Value::Int(rng.range_i64(1, i32::MAX as i64))
            } else if name.contains("quantity") || name.contains("qty") {
                Value::Int(rng.range_i64(1, 10))
            } else if name.contains("stock") {
                Value::Int(rng.range_i64(0, 1000))
            } else {
                Value::Int(rng.range_i64(0, 100_000))
            }
        }
        ColKind::Float => Value::Float((rng.f64() * 100_000.0).round() / 100.0),
        ColKind::Decimal { precision, scale } => decimal(rng, *precision, *scale, &name),
        ColKind::Bool => Value::Bool(rng.chance(0.5)),
        ColKind::Timestamp => Value::Timestamp(now_us - rng.range_i64(0, TWO_YEARS_US)),
        ColKind::Date => Value::Date(((now_us / 86_400_000_000) - rng.range_i64(0, 730)) as i32),
        ColKind::Uuid => Value::Text(uuid(rng)),
        ColKind::Json => Value::Text(format!(
            "{{\"score\": {}, \"tag\": \"{}\"}}",
            rng.range_i64(0, 100),
            WORDS[rng.below(WORDS.len() as u64) as usize]
        )),
        ColKind::Text { max_len } => {
            let max = max_len.unwrap_or(255).max(1) as usize;
            let s = text_for_name(&name, rng, col.unique);
            fit(s, max, rng, col.unique)
        }
        ColKind::Enum(labels) => match rng.pick(labels) {
            Some(l) => Value::Text(l.clone()),
            None => Value::Null,
        },
        ColKind::Other(_) => Value::Null,
    }
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn text_for_name(name: &str, rng: &mut Rng, unique: bool) -> String {
    let tag = if unique {
        format!("{:x}", rng.next_u64())
    } else {
        String::new()
    };
    if name.contains("email") {
        let first = pick(rng, FIRST).to_ascii_lowercase();
        let last = pick(rng, LAST).to_ascii_lowercase();
        if unique {
            format!("{first}.{last}.{tag}@example.com")
        } else {
            format!("{first}.{last}{}@example.com", rng.below(1000))
        }
    } else if name == "country" || name.ends_with("_country") || name == "country_code" {
        pick(rng, COUNTRIES).to_string() + &tag
    } else if name.contains("city") {
        pick(rng, CITIES).to_string() + &tag
    } else if name.contains("status") || name.contains("state") {
        pick(rng, STATUSES).to_string() + &tag
    } else if name.contains("category") || name.contains("type") {
        pick(rng, CATEGORIES).to_string() + &tag
    } else if name.contains("phone") {
        format!("+1-555-{:04}{tag}", rng.below(10_000))
    } else if name.contains("name") {
        format!("{} {}{tag}", pick(rng, FIRST), pick(rng, LAST))
    } else {
        let n = 3 + rng.below(8) as usize;
        let mut s: Vec<&str> = (0..n).map(|_| pick(rng, WORDS)).collect();
        if unique {
            s.push(&tag);
            s.join(" ")
        } else {
            s.join(" ")
        }
    }
}

/// Shortens text to the column's length; for unique columns, keeps a random tail instead.
fn fit(s: String, max: usize, rng: &mut Rng, unique: bool) -> Value {
    if s.chars().count() <= max {
        return Value::Text(s);
    }
    if unique {
        let hex = format!("{:016x}", rng.next_u64());
        let keep = max.min(16);
        return Value::Text(hex[..keep].to_string());
    }
    Value::Text(s.chars().take(max).collect())
}

fn decimal(rng: &mut Rng, precision: u32, scale: u32, name: &str) -> Value {
    let int_digits = precision.saturating_sub(scale).min(9);
    let max_int = 10i64.pow(int_digits) - 1;
    let cap = if name.contains("price") || name.contains("amount") || name.contains("total") {
        max_int.min(999)
    } else {
        max_int.min(99_999)
    };
    let whole = rng.range_i64(0, cap.max(0));
    if scale == 0 {
        return Value::Decimal(whole.to_string());
    }
    let scale = scale.min(6);
    let frac = rng.range_i64(0, 10i64.pow(scale) - 1);
    Value::Decimal(format!("{whole}.{frac:0width$}", width = scale as usize))
}

/// YCSB's key for record `n`: "user" followed by the FNV-1a-64 hash of its 8 bytes, as
/// YCSB's CoreWorkload builds it with hashed insert order.
pub fn ycsb_key(n: u64) -> String {
    format!("user{}", fnv64(n))
}

/// YCSB's FNV-1a-64 hash of a long's eight bytes, made non-negative.
pub fn fnv64(n: u64) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let mut v = n;
    for _ in 0..8 {
        h ^= v & 0xff;
        v >>= 8;
        h = h.wrapping_mul(1_099_511_628_211);
    }
    (h as i64).unsigned_abs()
}

/// A random version-4 UUID in text form.
pub fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        8 + (b >> 62),
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColKind, unique: bool) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            sql_type: String::new(),
            kind,
            nullable: false,
            auto_generated: false,
            has_default: false,
            unique,
        }
    }

    #[test]
    fn values_fit_their_columns() {
        let mut rng = Rng::new(5);
        for _ in 0..500 {
            let c = col("email", ColKind::Text { max_len: Some(20) }, true);
            match for_column(&c, &mut rng, 0) {
                Value::Text(s) => assert!(s.chars().count() <= 20, "{s}"),
                v => panic!("{v:?}"),
            }
            let d = col(
                "price",
                ColKind::Decimal {
                    precision: 5,
                    scale: 2,
                },
                false,
            );
            match for_column(&d, &mut rng, 0) {
                Value::Decimal(s) => {
                    let (i, f) = s.split_once('.').unwrap();
                    assert!(i.len() <= 3 && f.len() == 2, "{s}");
                }
                v => panic!("{v:?}"),
            }
        }
        let u = uuid(&mut rng);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
