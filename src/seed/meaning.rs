//! What a column means, guessed from its name, its table's name and its type together, with
//! the reason (which `--print-config` prints so a user can correct it in TOML).

use super::generators::{
    name_hash, Gen, IntDist, Locale, PersonPart, PlacePart, Weighted, WordList,
};
use crate::datagen::KeyDist;
use crate::schema::{ColKind, ColumnInfo};
use crate::value::Value;

/// A guess: the generator and why.
#[derive(Debug, Clone)]
pub struct Guess {
    pub gen: Gen,
    /// Short name of the meaning ("email", "song title", "price of a track").
    pub meaning: String,
}

/// `FirstName`, `firstName`, `first-name` -> `first_name`.
pub fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c == '-' || c == ' ' {
            out.push('_');
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// What kind of things a table holds, from its (singular) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    People,
    Track,
    Album,
    Book,
    Playlist,
    Genre,
    MediaType,
    Product,
    Category,
    Department,
    Organisation,
    Order,
    Log,
    Other,
}

pub fn table_kind(table: &str) -> TableKind {
    let t = snake(table);
    let words: Vec<&str> = t.split('_').collect();
    let last = words.last().copied().unwrap_or("");
    let one = last.strip_suffix('s').unwrap_or(last);
    let is = |names: &[&str]| names.contains(&one) || names.contains(&last);
    if t.contains("media_type") {
        return TableKind::MediaType;
    }
    if is(&[
        "customer", "employee", "user", "person", "people", "member", "contact", "author",
        "artist", "staff", "student", "patient", "client", "composer", "teacher", "driver",
        "account", "profile", "actor", "musician", "writer",
    ]) {
        TableKind::People
    } else if is(&["track", "song", "episode"]) {
        TableKind::Track
    } else if is(&["album", "record"]) {
        TableKind::Album
    } else if is(&[
        "book", "movie", "film", "show", "article", "post", "podcast",
    ]) {
        TableKind::Book
    } else if is(&["playlist"]) {
        TableKind::Playlist
    } else if is(&["genre"]) {
        TableKind::Genre
    } else if is(&["product", "item", "sku", "good", "article_item"]) {
        TableKind::Product
    } else if is(&["category", "categorie"]) {
        TableKind::Category
    } else if is(&["department", "dept", "team"]) {
        TableKind::Department
    } else if is(&[
        "company",
        "companie",
        "supplier",
        "vendor",
        "publisher",
        "brand",
        "label",
        "manufacturer",
        "organization",
        "organisation",
        "shipper",
        "carrier",
    ]) {
        TableKind::Organisation
    } else if is(&[
        "order", "invoice", "purchase", "sale", "payment", "cart", "shipment", "line",
    ]) {
        TableKind::Order
    } else if is(&[
        "log", "event", "request", "audit", "session", "access", "hit", "metric",
    ]) {
        TableKind::Log
    } else {
        TableKind::Other
    }
}

fn words(list: WordList, meaning: &str) -> Option<Guess> {
    Some(Guess {
        gen: Gen::Words(list),
        meaning: meaning.into(),
    })
}

fn person(part: PersonPart, locale: Locale, table: &str, meaning: &str) -> Option<Guess> {
    Some(Guess {
        gen: Gen::Person {
            part,
            locale,
            salt: name_hash(table),
        },
        meaning: meaning.into(),
    })
}

fn place(part: PlacePart, table: &str, meaning: &str) -> Option<Guess> {
    Some(Guess {
        gen: Gen::Place {
            part,
            salt: name_hash(table),
        },
        meaning: meaning.into(),
    })
}

fn choice(values: &[&str], weights: &[f64], meaning: &str) -> Option<Guess> {
    let vals: Vec<Value> = values.iter().map(|s| Value::Text(s.to_string())).collect();
    Some(Guess {
        gen: Gen::Enum(Weighted::new(vals, weights).ok()?),
        meaning: meaning.into(),
    })
}

/// The guess for a text column.
fn text(
    table: &str,
    kind: TableKind,
    n: &str,
    max_len: Option<u32>,
    locale: Locale,
) -> Option<Guess> {
    let has = |w: &str| n == w || n.split('_').any(|p| p == w);
    let any = |ws: &[&str]| ws.iter().any(|w| has(w));
    let short = |m: u32| max_len.is_some_and(|l| l <= m);
    use PersonPart as P;
    use PlacePart as L;
    use TableKind as K;
    use WordList as W;
    if any(&["email", "mail"]) || n.ends_with("email") {
        return person(P::Email, locale, table, "email of the row's person");
    }
    if any(&["username", "login", "handle"]) || n == "user_name" || n == "screen_name" {
        return person(P::Username, locale, table, "user name of the row's person");
    }
    if matches!(
        n,
        "first_name" | "firstname" | "given_name" | "fname" | "forename"
    ) {
        return person(P::First, locale, table, "first name");
    }
    if matches!(
        n,
        "last_name" | "lastname" | "surname" | "family_name" | "lname"
    ) {
        return person(P::Last, locale, table, "last name");
    }
    if matches!(
        n,
        "full_name" | "fullname" | "display_name" | "contact_name"
    ) || (has("name") && any(&["customer", "employee", "contact", "person", "author"]))
    {
        return person(P::Full, locale, table, "a person's full name");
    }
    if any(&[
        "composer",
        "author",
        "artist",
        "director",
        "writer",
        "singer",
        "performer",
        "owner",
        "manager",
        "assignee",
        "reporter",
    ]) {
        return person(
            P::Full,
            locale,
            table,
            "a person's name (the column names a role)",
        );
    }
    if any(&["job", "position", "role"]) && !any(&["id", "count"]) {
        return words(W::JobTitle, "job title");
    }
    if has("title") {
        return match kind {
            K::People | K::Department => words(W::JobTitle, "job title of a person"),
            K::Track | K::Playlist => words(W::SongTitle, "title of a song"),
            K::Album => words(W::AlbumTitle, "title of an album"),
            K::Book => words(W::BookTitle, "title of a book, film or article"),
            K::Product | K::Order => words(W::ProductName, "name of a product"),
            _ => words(W::BookTitle, "a title"),
        };
    }
    if any(&[
        "company",
        "organization",
        "organisation",
        "employer",
        "supplier",
        "vendor",
        "publisher",
        "brand",
        "manufacturer",
        "carrier",
    ]) {
        return words(W::Company, "company name");
    }
    if any(&["department", "dept"]) {
        return words(W::Department, "department");
    }
    if any(&["phone", "mobile", "cell", "telephone", "fax", "tel"]) {
        return place(L::Phone, table, "phone number of the row's country");
    }
    if any(&["street", "address", "address1", "address2", "addr"]) && !any(&["ip", "mac"]) {
        return place(L::Street, table, "street address");
    }
    if any(&["city", "town"]) {
        return place(
            L::City,
            table,
            "city (same country as the row's state and postal code)",
        );
    }
    if any(&["state", "province", "region", "county"]) {
        return if short(3) {
            place(L::State, table, "state or region code of the row's country")
        } else {
            place(L::StateName, table, "state or region of the row's country")
        };
    }
    if any(&["zip", "postal", "postcode", "zipcode"]) || n == "postal_code" {
        return place(
            L::Postal,
            table,
            "postal code shaped like the row's country's",
        );
    }
    if has("country") {
        return if short(3) || has("code") || has("iso") {
            place(L::CountryCode, table, "country code (ISO 3166)")
        } else {
            place(L::Country, table, "country")
        };
    }
    if any(&[
        "url", "website", "homepage", "link", "uri", "avatar", "image", "photo", "picture",
    ]) {
        return words(W::Url, "URL");
    }
    if any(&["domain", "host", "hostname"]) {
        return words(W::Domain, "domain name");
    }
    if any(&["ip", "ipv4", "remote_addr"]) || n == "ip_address" || n.ends_with("_ip") {
        return words(W::Ipv4, "IPv4 address");
    }
    if n.contains("user_agent") || any(&["agent", "browser"]) {
        return words(W::UserAgent, "HTTP user agent");
    }
    if any(&["level", "severity", "loglevel"]) && (kind == K::Log || short(10)) {
        return words(W::LogLevel, "log level");
    }
    if any(&["method", "verb"]) && kind == K::Log {
        return words(W::HttpMethod, "HTTP method");
    }
    if any(&["path", "endpoint", "route"]) {
        return words(W::UrlPath, "URL path");
    }
    if any(&["message", "msg"]) && kind == K::Log {
        return words(W::LogMessage, "log message");
    }
    if any(&[
        "description",
        "comment",
        "comments",
        "note",
        "notes",
        "body",
        "content",
        "review",
        "summary",
        "bio",
        "details",
        "remarks",
        "message",
        "text",
        "feedback",
    ]) {
        return words(W::Sentence, "free text (a sentence, not lorem ipsum)");
    }
    if any(&["currency"]) {
        return words(W::Currency, "currency code");
    }
    if any(&["language", "lang", "locale"]) {
        return words(W::Language, "language code");
    }
    if any(&["color", "colour"]) {
        return words(W::Color, "color");
    }
    if has("genre") {
        return words(W::Genre, "music genre");
    }
    if any(&["category", "section"]) {
        return words(W::Category, "product category");
    }
    if any(&["tag", "tags", "label", "keyword", "slug"]) {
        return words(W::Tag, "tag");
    }
    if any(&["mime", "content_type"]) || n == "mime_type" {
        return words(W::MimeType, "MIME type");
    }
    if any(&["filename", "file"]) || n == "file_name" {
        return words(W::FileName, "file name");
    }
    if any(&[
        "hash", "checksum", "sha", "sha1", "sha256", "md5", "digest", "token", "password",
    ]) {
        return words(W::Hash, "hash or token (hex)");
    }
    if any(&["gender", "sex"]) {
        return if short(1) {
            choice(&["F", "M", "X"], &[0.49, 0.49, 0.02], "gender")
        } else {
            choice(&["female", "male", "other"], &[0.49, 0.49, 0.02], "gender")
        };
    }
    if any(&["uuid", "guid"]) {
        return Some(Guess {
            gen: Gen::Uuid,
            meaning: "UUID".into(),
        });
    }
    if any(&[
        "json",
        "payload",
        "metadata",
        "attributes",
        "properties",
        "extra",
    ]) {
        return Some(Guess {
            gen: Gen::Json,
            meaning: "JSON document".into(),
        });
    }
    if has("name") {
        return match kind {
            K::People => person(
                P::Full,
                locale,
                table,
                "a person's full name (people table)",
            ),
            K::Track => words(W::SongTitle, "name of a track: a song title"),
            K::Album | K::Playlist => words(W::AlbumTitle, "name of an album or playlist"),
            K::Book => words(W::BookTitle, "name of a book or film"),
            K::Genre => words(W::Genre, "name of a genre"),
            K::MediaType => words(W::MediaType, "name of a media type"),
            K::Product | K::Order => words(W::ProductName, "name of a product"),
            K::Category => words(W::Category, "name of a category"),
            K::Department => words(W::Department, "name of a department"),
            K::Organisation => words(W::Company, "name of a company"),
            K::Log => words(W::Tag, "name of an event"),
            K::Other => words(W::Tag, "name of a thing (no better guess from the table)"),
        };
    }
    if matches!(kind, K::Genre) {
        return words(W::Genre, "music genre");
    }
    None
}

fn int(min: i64, max: i64, meaning: &str) -> Option<Guess> {
    Some(Guess {
        gen: Gen::RandomInt {
            min,
            max,
            dist: IntDist::Uniform,
        },
        meaning: meaning.into(),
    })
}

fn skewed(min: i64, max: i64, meaning: &str) -> Option<Guess> {
    Some(Guess {
        gen: Gen::RandomInt {
            min,
            max,
            dist: IntDist::Zipfian(KeyDist::zipfian((max - min + 1) as u64, 0.99)),
        },
        meaning: meaning.into(),
    })
}

/// The guess for a number (integer, decimal or float) column: a range that fits the type.
fn number(kind: TableKind, n: &str, col: &ColKind) -> Option<Guess> {
    let has = |w: &str| n == w || n.split('_').any(|p| p == w);
    let any = |ws: &[&str]| ws.iter().any(|w| has(w));
    use TableKind as K;
    let (lo, hi, precision, meaning): (f64, f64, u32, String) =
        if any(&["price", "cost", "msrp"]) || n == "unitprice" {
            match kind {
                K::Track => (0.99, 1.99, 2, "price of a track or episode".into()),
                K::Book => (4.99, 39.99, 2, "price of a book or film".into()),
                K::Product | K::Order => (1.0, 500.0, 2, "price of a product".into()),
                _ => (1.0, 250.0, 2, "a price".into()),
            }
        } else if any(&[
            "total", "amount", "subtotal", "balance", "revenue", "payment",
        ]) {
            (5.0, 1000.0, 2, "an amount of money".into())
        } else if any(&["salary", "wage", "income"]) {
            (30_000.0, 200_000.0, 0, "yearly salary".into())
        } else if any(&["tax", "vat", "shipping", "freight", "fee"]) {
            (0.0, 50.0, 2, "tax, fee or shipping cost".into())
        } else if any(&["discount", "percent", "pct", "percentage"]) {
            (0.0, 50.0, 2, "a percentage".into())
        } else if any(&["latitude", "lat"]) {
            (-90.0, 90.0, 6, "latitude".into())
        } else if any(&["longitude", "lng", "lon", "long"]) {
            (-180.0, 180.0, 6, "longitude".into())
        } else if any(&["weight", "kg", "mass"]) {
            (0.1, 50.0, 2, "weight in kg".into())
        } else if any(&["rating", "stars"]) {
            (1.0, 5.0, 0, "rating from 1 to 5".into())
        } else {
            return int_meaning(n, &any, col);
        };
    let integer = col.is_integer();
    let (lo, hi, precision) = match col {
        ColKind::Decimal {
            precision: p,
            scale,
        } => {
            let top = 10f64.powi(p.saturating_sub(*scale).min(15) as i32) - 1.0;
            (lo.max(-top), hi.min(top), precision.min(*scale))
        }
        _ if integer => (lo.ceil(), hi.floor(), 0),
        _ => (lo, hi, precision),
    };
    if integer || precision == 0 {
        let (a, b) = (lo.round() as i64, hi.round() as i64);
        let (a, b) = if integer { int_fit(col, a, b) } else { (a, b) };
        return Some(Guess {
            gen: if integer {
                Gen::RandomInt {
                    min: a,
                    max: b,
                    dist: IntDist::Uniform,
                }
            } else {
                Gen::RandomDecimal {
                    min: a as f64,
                    max: b as f64,
                    precision: 0,
                }
            },
            meaning,
        });
    }
    Some(Guess {
        gen: Gen::RandomDecimal {
            min: lo,
            max: hi,
            precision,
        },
        meaning,
    })
}

/// Clamps a range to what an integer column holds.
fn int_fit(col: &ColKind, a: i64, b: i64) -> (i64, i64) {
    let top = match col {
        ColKind::SmallInt => 32_767,
        ColKind::Int => i32::MAX as i64,
        _ => i64::MAX,
    };
    (a.clamp(-top, top), b.clamp(-top, top))
}

fn int_meaning(n: &str, any: &dyn Fn(&[&str]) -> bool, col: &ColKind) -> Option<Guess> {
    let g = if any(&["quantity", "qty", "units"]) || n == "quantity_ordered" {
        int(1, 10, "quantity")
    } else if any(&["stock", "inventory", "on_hand"]) {
        int(0, 500, "units in stock")
    } else if any(&["milliseconds", "ms", "millis"]) && !any(&["latency", "response", "elapsed"]) {
        int(
            30_000,
            600_000,
            "duration in milliseconds (a track: 30 s to 10 min)",
        )
    } else if any(&["latency", "elapsed", "response_time", "took"]) {
        skewed(
            1,
            5_000,
            "latency in milliseconds (skewed: most fast, some slow)",
        )
    } else if any(&["duration", "seconds", "runtime", "secs", "length"]) {
        int(30, 600, "duration in seconds")
    } else if any(&["bytes", "size", "filesize"]) {
        int(1_000, 50_000_000, "size in bytes")
    } else if any(&["year", "yr"]) {
        int(1960, 2025, "year")
    } else if any(&["age"]) {
        Some(Guess {
            gen: Gen::RandomInt {
                min: 18,
                max: 90,
                dist: IntDist::Normal,
            },
            meaning: "age in years".into(),
        })
    } else if any(&["status_code", "http_status", "response_code"])
        || (any(&["status"]) && any(&["code", "http"]))
    {
        return Some(Guess {
            gen: Gen::Enum(
                Weighted::new(
                    [200, 201, 204, 301, 404, 500]
                        .iter()
                        .map(|v| Value::Int(*v))
                        .collect(),
                    &[0.8, 0.05, 0.03, 0.03, 0.07, 0.02],
                )
                .ok()?,
            ),
            meaning: "HTTP status code".into(),
        });
    } else if any(&["port"]) {
        int(1024, 65_535, "TCP port")
    } else if any(&[
        "views",
        "likes",
        "plays",
        "downloads",
        "followers",
        "hits",
        "clicks",
    ]) {
        skewed(0, 100_000, "a popularity count (skewed)")
    } else if any(&[
        "position", "rank", "sort", "ordinal", "seq", "line", "number", "no",
    ]) {
        int(1, 20, "a position in a list")
    } else if any(&["score", "points"]) {
        int(0, 100, "score from 0 to 100")
    } else if any(&["version", "revision"]) {
        int(1, 20, "version number")
    } else if any(&["height", "width", "depth"]) {
        int(1, 300, "a dimension")
    } else if any(&["count"]) {
        skewed(0, 1_000, "a count (skewed)")
    } else {
        return None;
    };
    g.map(|mut g| {
        if let Gen::RandomInt { min, max, .. } = &mut g.gen {
            let (a, b) = int_fit(col, *min, *max);
            *min = a;
            *max = b;
        }
        g
    })
}

/// A boolean column's likely share of true.
fn boolean(n: &str) -> Option<Guess> {
    let has = |w: &str| n == w || n.split('_').any(|p| p == w);
    let (p, meaning) = if has("deleted") || has("banned") || has("archived") {
        (0.05, "rarely true (deleted, banned, archived)")
    } else if has("active") || has("enabled") || has("verified") || has("confirmed") {
        (0.85, "mostly true (active, enabled, verified)")
    } else {
        return None;
    };
    Some(Guess {
        gen: Gen::Boolean { probability: p },
        meaning: meaning.into(),
    })
}

/// The guess for a column that is neither a key nor a foreign key; None where the name says
/// nothing dbarena knows (the type's default is used then).
pub fn guess(table: &str, c: &ColumnInfo, locale: Locale) -> Option<Guess> {
    let n = snake(&c.name);
    let kind = table_kind(table);
    match &c.kind {
        ColKind::Text { max_len } => text(table, kind, &n, *max_len, locale),
        ColKind::SmallInt
        | ColKind::Int
        | ColKind::BigInt
        | ColKind::Decimal { .. }
        | ColKind::Float => number(kind, &n, &c.kind),
        ColKind::Bool => boolean(&n),
        _ => None,
    }
}

/// Why: the words of the reason printed above a column.
pub fn reason(table: &str, column: &str, sql_type: &str, meaning: &str) -> String {
    format!("{table}.{column} ({sql_type}): {meaning}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColKind) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            sql_type: String::new(),
            kind,
            nullable: true,
            auto_generated: false,
            has_default: false,
            unique: false,
        }
    }

    fn label(g: &Gen) -> String {
        match g {
            Gen::Words(l) => format!("words:{}", l.name()),
            Gen::Person { part, .. } => format!("person:{part:?}").to_lowercase(),
            Gen::Place { part, .. } => format!("place:{part:?}").to_lowercase(),
            Gen::RandomInt { min, max, .. } => format!("int:{min}..{max}"),
            Gen::RandomDecimal { min, max, .. } => format!("dec:{min}..{max}"),
            Gen::Boolean { probability } => format!("bool:{probability}"),
            Gen::Enum(_) => "enum".into(),
            Gen::Uuid => "uuid".into(),
            Gen::Json => "json".into(),
            g => format!("{g:?}"),
        }
    }

    /// (table, column, type, expected generator): people, commerce, media, logs.
    #[test]
    fn column_meaning_table() {
        let text = || ColKind::Text { max_len: Some(120) };
        let code = || ColKind::Text { max_len: Some(2) };
        let int = || ColKind::Int;
        let money = || ColKind::Decimal {
            precision: 10,
            scale: 2,
        };
        let cases: Vec<(&str, &str, ColKind, &str)> = vec![
            // people
            ("customers", "FirstName", text(), "person:first"),
            ("customers", "LastName", text(), "person:last"),
            ("customers", "Email", text(), "person:email"),
            ("users", "username", text(), "person:username"),
            ("customers", "Company", text(), "words:company"),
            ("customers", "State", text(), "place:statename"),
            ("customers", "state", code(), "place:state"),
            ("customers", "Country", text(), "place:country"),
            ("customers", "country", code(), "place:countrycode"),
            ("customers", "PostalCode", text(), "place:postal"),
            ("customers", "City", text(), "place:city"),
            ("customers", "Address", text(), "place:street"),
            ("customers", "Phone", text(), "place:phone"),
            ("customers", "Fax", text(), "place:phone"),
            ("employees", "Title", text(), "words:job_title"),
            ("employees", "department", text(), "words:department"),
            ("employees", "salary", int(), "int:30000..200000"),
            ("users", "age", int(), "int:18..90"),
            ("users", "gender", text(), "enum"),
            ("users", "avatar_url", text(), "words:url"),
            ("users", "password_hash", text(), "words:hash"),
            ("users", "is_active", ColKind::Bool, "bool:0.85"),
            ("artists", "Name", text(), "person:full"),
            // media
            ("tracks", "Name", text(), "words:song_title"),
            ("tracks", "Composer", text(), "person:full"),
            ("tracks", "Milliseconds", int(), "int:30000..600000"),
            ("tracks", "Bytes", int(), "int:1000..50000000"),
            ("tracks", "UnitPrice", money(), "dec:0.99..1.99"),
            ("albums", "Title", text(), "words:album_title"),
            ("genres", "Name", text(), "words:genre"),
            ("media_types", "Name", text(), "words:media_type"),
            ("books", "title", text(), "words:book_title"),
            ("books", "author", text(), "person:full"),
            ("reviews", "rating", int(), "int:1..5"),
            ("reviews", "body", text(), "words:sentence"),
            // commerce
            ("products", "name", text(), "words:product_name"),
            ("products", "price", money(), "dec:1..500"),
            ("products", "category", text(), "words:category"),
            ("products", "stock", int(), "int:0..500"),
            ("order_items", "quantity", int(), "int:1..10"),
            ("invoices", "Total", money(), "dec:5..1000"),
            ("invoices", "BillingCity", text(), "place:city"),
            ("invoices", "BillingCountry", text(), "place:country"),
            ("payments", "currency", text(), "words:currency"),
            ("suppliers", "name", text(), "words:company"),
            // logs
            ("access_log", "ip_address", text(), "words:ipv4"),
            ("access_log", "user_agent", text(), "words:user_agent"),
            ("access_log", "method", text(), "words:http_method"),
            ("access_log", "path", text(), "words:url_path"),
            ("access_log", "status_code", int(), "enum"),
            ("access_log", "latency_ms", int(), "int:1..5000"),
            ("app_logs", "level", text(), "words:log_level"),
            ("app_logs", "message", text(), "words:log_message"),
            ("events", "payload", text(), "json"),
            ("events", "hostname", text(), "words:domain"),
        ];
        assert!(cases.len() >= 40);
        let mut wrong = Vec::new();
        for (t, c, kind, want) in &cases {
            let got = guess(t, &col(c, kind.clone()), Locale::En)
                .map(|g| label(&g.gen))
                .unwrap_or_else(|| "none".into());
            if got != *want {
                wrong.push(format!("{t}.{c}: {got}, expected {want}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
