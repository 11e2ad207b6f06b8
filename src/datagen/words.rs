//! Word lists and small phrase builders for values that mean something: companies, job titles,
//! song, album, book and product titles, genres, URLs, IP addresses, log lines, sentences.
//! Each value depends only on the rng it is given.

use super::values::{FIRST, LAST};
use super::Rng;

const ADJ: &[&str] = &[
    "Blue", "Silent", "Golden", "Electric", "Broken", "Wild", "Midnight", "Crimson", "Lonely",
    "Bright", "Hidden", "Frozen", "Burning", "Sweet", "Restless", "Velvet", "Northern", "Distant",
    "Little", "Endless",
];
const NOUN: &[&str] = &[
    "River", "Heart", "Road", "Dream", "Fire", "Night", "Sky", "Rain", "Garden", "Ocean",
    "Mountain", "Shadow", "Light", "City", "Train", "Moon", "Storm", "Window", "Highway", "Song",
];
const COMPANY_WORD: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Vandelay",
    "Hooli",
    "Pied Piper",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Wonka",
    "Oceanic",
    "Monarch",
    "Aperture",
];
const COMPANY_SUFFIX: &[&str] = &[
    "Inc.", "LLC", "Ltd", "Group", "GmbH", "& Sons", "Corp.", "Partners", "Holdings", "Labs",
];
const LEVEL: &[&str] = &[
    "",
    "Senior ",
    "Junior ",
    "Lead ",
    "Chief ",
    "Principal ",
    "Assistant ",
];
const AREA: &[&str] = &[
    "Sales",
    "Marketing",
    "IT",
    "Finance",
    "Support",
    "Operations",
    "Product",
    "HR",
    "Legal",
];
const ROLE: &[&str] = &[
    "Manager",
    "Agent",
    "Engineer",
    "Analyst",
    "Specialist",
    "Director",
    "Coordinator",
];
const PRODUCT_ADJ: &[&str] = &[
    "Ergonomic",
    "Rustic",
    "Sleek",
    "Compact",
    "Durable",
    "Premium",
    "Classic",
    "Portable",
    "Smart",
    "Handmade",
];
const MATERIAL: &[&str] = &[
    "Steel", "Wooden", "Cotton", "Leather", "Plastic", "Granite", "Bamboo", "Wool", "Glass",
];
const ITEM: &[&str] = &[
    "Chair",
    "Lamp",
    "Backpack",
    "Keyboard",
    "Table",
    "Mug",
    "Jacket",
    "Bottle",
    "Wallet",
    "Headphones",
    "Shoes",
    "Watch",
];
const GENRE: &[&str] = &[
    "Rock",
    "Jazz",
    "Metal",
    "Alternative & Punk",
    "Blues",
    "Latin",
    "Reggae",
    "Pop",
    "Soundtrack",
    "Classical",
    "Electronica",
    "Hip Hop",
    "Country",
    "R&B",
    "World",
];
const MEDIA: &[&str] = &[
    "MPEG audio file",
    "Protected AAC audio file",
    "Purchased AAC audio file",
    "AAC audio file",
    "Protected MPEG-4 video file",
];
const CATEGORY: &[&str] = &[
    "Books",
    "Electronics",
    "Garden",
    "Toys",
    "Clothing",
    "Sports",
    "Home",
    "Beauty",
    "Grocery",
    "Automotive",
    "Music",
    "Health",
];
const DEPARTMENT: &[&str] = &[
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Support",
    "Operations",
    "Human Resources",
    "Legal",
    "Purchasing",
    "IT",
];
const WORD: &[&str] = &[
    "alpha", "river", "cloud", "orbit", "maple", "pixel", "delta", "ember", "harbor", "quartz",
    "nova", "summit", "willow", "falcon", "cobalt", "lumen",
];
const TLD: &[&str] = &["com", "net", "org", "io", "dev"];
const LOG_LEVEL: &[(&str, u32)] = &[("INFO", 70), ("DEBUG", 15), ("WARN", 10), ("ERROR", 5)];
const HTTP_METHOD: &[(&str, u32)] = &[("GET", 70), ("POST", 20), ("PUT", 5), ("DELETE", 5)];
const RESOURCE: &[&str] = &[
    "users", "orders", "products", "invoices", "sessions", "carts", "reviews", "tracks",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/8.5.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Mobile/15E148",
];
const CURRENCY: &[&str] = &["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "BRL"];
const LANGUAGE: &[&str] = &["en", "de", "fr", "es", "it", "pt", "ja", "nl"];
const COLOR: &[&str] = &[
    "red", "blue", "green", "black", "white", "silver", "orange", "purple", "yellow", "grey",
];
const VERB: &[&str] = &[
    "arrived", "shipped", "works", "broke", "fits", "looks", "feels", "sounds", "lasted",
];
const OPINION: &[&str] = &[
    "great",
    "fine",
    "as described",
    "better than expected",
    "too small",
    "well made",
    "a bit loud",
    "perfect",
    "okay for the price",
];
const EVENT: &[&str] = &[
    "request completed",
    "user logged in",
    "cache miss",
    "payment authorized",
    "job finished",
    "connection reset by peer",
    "retrying after timeout",
    "order created",
];
const MIME: &[&str] = &[
    "image/jpeg",
    "image/png",
    "application/pdf",
    "text/plain",
    "audio/mpeg",
    "video/mp4",
];
const EXT: &[&str] = &["jpg", "png", "pdf", "txt", "mp3", "mp4", "csv"];

/// A named kind of meaningful text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordList {
    Company,
    JobTitle,
    SongTitle,
    AlbumTitle,
    BookTitle,
    ProductName,
    Genre,
    MediaType,
    Category,
    Department,
    Tag,
    Url,
    Domain,
    Ipv4,
    UserAgent,
    LogLevel,
    HttpMethod,
    UrlPath,
    Currency,
    Language,
    Color,
    Sentence,
    LogMessage,
    MimeType,
    FileName,
    Username,
    Hash,
}

/// Every list with its TOML name.
pub const LISTS: &[(WordList, &str)] = &[
    (WordList::Company, "company"),
    (WordList::JobTitle, "job_title"),
    (WordList::SongTitle, "song_title"),
    (WordList::AlbumTitle, "album_title"),
    (WordList::BookTitle, "book_title"),
    (WordList::ProductName, "product_name"),
    (WordList::Genre, "genre"),
    (WordList::MediaType, "media_type"),
    (WordList::Category, "category"),
    (WordList::Department, "department"),
    (WordList::Tag, "tag"),
    (WordList::Url, "url"),
    (WordList::Domain, "domain"),
    (WordList::Ipv4, "ipv4"),
    (WordList::UserAgent, "user_agent"),
    (WordList::LogLevel, "log_level"),
    (WordList::HttpMethod, "http_method"),
    (WordList::UrlPath, "url_path"),
    (WordList::Currency, "currency"),
    (WordList::Language, "language"),
    (WordList::Color, "color"),
    (WordList::Sentence, "sentence"),
    (WordList::LogMessage, "log_message"),
    (WordList::MimeType, "mime_type"),
    (WordList::FileName, "file_name"),
    (WordList::Username, "username"),
    (WordList::Hash, "hash"),
];

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn weighted<'a>(rng: &mut Rng, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|x| x.1).sum();
    let mut r = rng.below(total as u64) as u32;
    for (s, w) in items {
        if r < *w {
            return s;
        }
        r -= w;
    }
    items[0].0
}

impl WordList {
    pub fn parse(s: &str) -> Option<WordList> {
        LISTS.iter().find(|(_, n)| *n == s).map(|(l, _)| *l)
    }

    pub fn name(self) -> &'static str {
        LISTS
            .iter()
            .find(|(l, _)| *l == self)
            .map(|(_, n)| *n)
            .unwrap_or("tag")
    }

    /// The longest value this list can produce, in characters.
    pub fn max_len(self) -> usize {
        match self {
            WordList::UserAgent => 100,
            WordList::Sentence | WordList::Url => 80,
            WordList::LogMessage => 60,
            WordList::Hash => 64,
            _ => 40,
        }
    }

    pub fn value(self, rng: &mut Rng) -> String {
        match self {
            WordList::Company => match rng.below(3) {
                0 => format!("{} {}", pick(rng, LAST), pick(rng, COMPANY_SUFFIX)),
                1 => format!("{} {}", pick(rng, COMPANY_WORD), pick(rng, COMPANY_SUFFIX)),
                _ => format!("{} & {}", pick(rng, LAST), pick(rng, LAST)),
            },
            WordList::JobTitle => format!(
                "{}{} {}",
                pick(rng, LEVEL),
                pick(rng, AREA),
                pick(rng, ROLE)
            ),
            WordList::SongTitle => match rng.below(3) {
                0 => format!("{} {}", pick(rng, ADJ), pick(rng, NOUN)),
                1 => format!("The {} of the {}", pick(rng, NOUN), pick(rng, NOUN)),
                _ => format!("{} {}", pick(rng, NOUN), pick(rng, NOUN)),
            },
            WordList::AlbumTitle => match rng.below(3) {
                0 => format!("{} {}s", pick(rng, ADJ), pick(rng, NOUN)),
                1 => format!("Songs from the {}", pick(rng, NOUN)),
                _ => format!(
                    "Live in {}",
                    super::places::PLACES[rng.below(super::places::PLACES.len() as u64) as usize]
                        .city
                ),
            },
            WordList::BookTitle => match rng.below(2) {
                0 => format!("The {} {}", pick(rng, ADJ), pick(rng, NOUN)),
                _ => format!("A {} in the {}", pick(rng, NOUN), pick(rng, NOUN)),
            },
            WordList::ProductName => format!(
                "{} {} {}",
                pick(rng, PRODUCT_ADJ),
                pick(rng, MATERIAL),
                pick(rng, ITEM)
            ),
            WordList::Genre => pick(rng, GENRE).to_string(),
            WordList::MediaType => pick(rng, MEDIA).to_string(),
            WordList::Category => pick(rng, CATEGORY).to_string(),
            WordList::Department => pick(rng, DEPARTMENT).to_string(),
            WordList::Tag => pick(rng, WORD).to_string(),
            WordList::Url => format!(
                "https://www.{}{}.{}/{}/{}",
                pick(rng, WORD),
                pick(rng, WORD),
                pick(rng, TLD),
                pick(rng, RESOURCE),
                1 + rng.below(100_000)
            ),
            WordList::Domain => {
                format!("{}{}.{}", pick(rng, WORD), pick(rng, WORD), pick(rng, TLD))
            }
            WordList::Ipv4 => format!(
                "{}.{}.{}.{}",
                1 + rng.below(223),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
            WordList::UserAgent => pick(rng, AGENTS).to_string(),
            WordList::LogLevel => weighted(rng, LOG_LEVEL).to_string(),
            WordList::HttpMethod => weighted(rng, HTTP_METHOD).to_string(),
            WordList::UrlPath => {
                format!("/api/v1/{}/{}", pick(rng, RESOURCE), 1 + rng.below(100_000))
            }
            WordList::Currency => pick(rng, CURRENCY).to_string(),
            WordList::Language => pick(rng, LANGUAGE).to_string(),
            WordList::Color => pick(rng, COLOR).to_string(),
            WordList::Sentence => format!(
                "The {} {} {}, {}.",
                pick(rng, ITEM).to_ascii_lowercase(),
                pick(rng, VERB),
                pick(rng, OPINION),
                pick(rng, OPINION)
            ),
            WordList::LogMessage => format!("{} in {} ms", pick(rng, EVENT), 1 + rng.below(2_000)),
            WordList::MimeType => pick(rng, MIME).to_string(),
            WordList::FileName => format!(
                "{}_{}.{}",
                pick(rng, WORD),
                rng.below(10_000),
                pick(rng, EXT)
            ),
            WordList::Username => format!(
                "{}{}{}",
                pick(rng, FIRST).to_ascii_lowercase(),
                &pick(rng, LAST).to_ascii_lowercase()[..1],
                rng.below(1000)
            ),
            WordList::Hash => {
                let mut s = String::with_capacity(64);
                for _ in 0..4 {
                    s.push_str(&format!("{:016x}", rng.next_u64()));
                }
                s
            }
        }
    }
}
