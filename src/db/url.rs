//! Database URLs: parsing, the kind of database, and redaction of passwords.

use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    Sqlite,
    Postgres,
    Mysql,
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
            DbKind::Mysql => "mysql",
        })
    }
}

/// A URL that could not be understood.
#[derive(Debug, Error)]
pub enum UrlError {
    #[error("invalid database URL '{0}': expected sqlite://PATH, sqlite::memory:, postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB")]
    Scheme(String),
    #[error("invalid database URL '{url}': {why}")]
    Malformed { url: String, why: String },
}

/// Where SQLite keeps its data.
#[derive(Debug, Clone, PartialEq)]
pub enum SqliteLocation {
    File(PathBuf),
    Memory,
}

/// A parsed database URL.
#[derive(Debug, Clone)]
pub struct DbUrl {
    kind: DbKind,
    raw: String,
    sqlite: Option<SqliteLocation>,
}

impl DbUrl {
    /// Parses a URL; the password (if any) is never part of an error message.
    pub fn parse(s: &str) -> Result<Self, UrlError> {
        let s = s.trim();
        if s == "sqlite::memory:" || s == "sqlite://:memory:" || s == ":memory:" {
            return Ok(DbUrl {
                kind: DbKind::Sqlite,
                raw: "sqlite::memory:".into(),
                sqlite: Some(SqliteLocation::Memory),
            });
        }
        if let Some(rest) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or("");
            if path.is_empty() {
                return Err(UrlError::Malformed {
                    url: s.into(),
                    why: "missing file path (for example sqlite://dbarena.db)".into(),
                });
            }
            return Ok(DbUrl {
                kind: DbKind::Sqlite,
                raw: format!("sqlite://{path}"),
                sqlite: Some(SqliteLocation::File(PathBuf::from(path))),
            });
        }
        let (kind, rest) = if let Some(r) = s
            .strip_prefix("postgres://")
            .or_else(|| s.strip_prefix("postgresql://"))
        {
            (DbKind::Postgres, r)
        } else if let Some(r) = s
            .strip_prefix("mysql://")
            .or_else(|| s.strip_prefix("mariadb://"))
        {
            (DbKind::Mysql, r)
        } else {
            return Err(UrlError::Scheme(redact(s)));
        };
        let (_, host_port, _) = split_authority(rest);
        if host_port.is_empty() {
            return Err(UrlError::Malformed {
                url: redact(s),
                why: "missing host (for example 127.0.0.1:5432)".into(),
            });
        }
        // Several hosts (`h1:p1,h2:p2`) are tried in order: each needs a host and a valid port.
        for one in host_port.split(',') {
            if one.is_empty() {
                return Err(UrlError::Malformed {
                    url: redact(s),
                    why: "an empty host in the host list (for example h1:5432,h2:5432)".into(),
                });
            }
            if let Some((_, port)) = one.rsplit_once(':') {
                if !one.ends_with(']') && port.parse::<u16>().is_err() {
                    return Err(UrlError::Malformed {
                        url: redact(s),
                        why: format!("port '{port}' is not a number between 1 and 65535"),
                    });
                }
            }
        }
        let scheme = if kind == DbKind::Postgres {
            "postgres"
        } else {
            "mysql"
        };
        Ok(DbUrl {
            kind,
            raw: format!("{scheme}://{rest}"),
            sqlite: None,
        })
    }

    /// The kind of database.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Whether the driver's calls block their thread (SQLite), so each connection needs a
    /// thread of its own.
    pub fn blocking(&self) -> bool {
        self.kind == DbKind::Sqlite
    }

    /// Whether the database runs inside dbarena (SQLite): no server, no network.
    pub fn embedded(&self) -> bool {
        self.kind == DbKind::Sqlite
    }

    /// Whether only one writer at a time can load a table (SQLite's database lock), so a
    /// load gains nothing from parallel chunks.
    pub fn single_writer(&self) -> bool {
        self.kind == DbKind::Sqlite
    }

    /// Whether an empty table loads fastest in one frozen COPY transaction (PostgreSQL).
    pub fn fresh_copy_load(&self) -> bool {
        self.kind == DbKind::Postgres
    }

    /// The server's standard port.
    pub fn default_port(&self) -> u16 {
        match self.kind {
            DbKind::Postgres => 5432,
            _ => 3306,
        }
    }

    /// The URL as given (normalised scheme), password included: only for drivers.
    pub fn secret_url(&self) -> &str {
        &self.raw
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// SQLite location, for SQLite URLs.
    pub fn sqlite_location(&self) -> Option<&SqliteLocation> {
        self.sqlite.as_ref()
    }

    /// `host:port` for network databases, for error messages.
    pub fn host_port(&self) -> String {
        let rest = self.raw.split_once("://").map(|x| x.1).unwrap_or("");
        split_authority(rest).1.to_string()
    }

    /// The hosts of a network URL, `host:port` each (the default port where none is given),
    /// in the order they are tried; a failover URL lists several.
    pub fn hosts(&self) -> Vec<String> {
        let port = self.default_port();
        self.host_port()
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| match h.rsplit_once(':') {
                Some(_) if !h.ends_with(']') => h.to_string(),
                _ => format!("{h}:{port}"),
            })
            .collect()
    }

    /// The same URL with one host in place of its host list (for drivers that take one).
    pub fn with_host(&self, host_port: &str) -> DbUrl {
        let (scheme, rest) = self.raw.split_once("://").unwrap_or(("", &self.raw));
        let (userinfo, _, tail) = split_authority(rest);
        let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
        DbUrl {
            kind: self.kind,
            raw: format!("{scheme}://{userinfo}{host_port}{tail}"),
            sqlite: None,
        }
    }

    /// Whether the URL itself carries a password (`user:pw@` or `?password=`), so anything
    /// that stores it must be private.
    pub fn has_password(&self) -> bool {
        self.redacted() != self.raw
    }

    /// The password to use when the URL has none: the password file (`--password-file` or
    /// `DBARENA_PASSWORD_FILE`, read once at start), else `PGPASSWORD` for PostgreSQL or
    /// `MYSQL_PWD` for MySQL/MariaDB. Never part of any message or file.
    pub fn fallback_password(&self) -> Option<String> {
        if let Some(pw) = super::secret::password_file() {
            return Some(pw);
        }
        let var = match self.kind {
            DbKind::Postgres => "PGPASSWORD",
            DbKind::Mysql => "MYSQL_PWD",
            DbKind::Sqlite => return None,
        };
        std::env::var(var).ok().filter(|s| !s.is_empty())
    }

    /// Database name from the path, if any.
    pub fn database(&self) -> Option<String> {
        let rest = self.raw.split_once("://")?.1;
        let path = split_authority(rest).2.strip_prefix('/')?;
        let name = path.split('?').next().unwrap_or("");
        (!name.is_empty()).then(|| name.to_string())
    }

    /// A short name for file names: `sqlite`, `postgres`, `mysql`.
    pub fn short_name(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Splits what follows `scheme://` into (userinfo, host:port, path and query). The userinfo
/// ends at the last `@` before the query, so a password with an unencoded `/` or `@` stays in
/// the userinfo (and is redacted) rather than becoming the host or the path.
fn split_authority(rest: &str) -> (Option<&str>, &str, &str) {
    let before_query = rest.find('?').unwrap_or(rest.len());
    let (userinfo, after) = match rest[..before_query].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let end = after.find(['/', '?']).unwrap_or(after.len());
    (userinfo, &after[..end], &after[end..])
}

/// Replaces the password in `scheme://user:password@host` (and `?password=`) with `***`.
/// Text that is not a well-formed URL (`postgres:/u:pw@h`) loses everything between its first
/// `:` and its last `@`, so an error message about a mistyped URL never shows a password.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match (url.find(':'), url.rfind('@')) {
            (Some(c), Some(at)) if c < at => {
                redact_query(&format!("{}:***{}", &url[..c], &url[at..]))
            }
            _ => redact_query(url),
        };
    };
    let (userinfo, host_port, tail) = split_authority(rest);
    let Some(userinfo) = userinfo else {
        return redact_query(url);
    };
    let userinfo = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_string(),
    };
    redact_query(&format!("{scheme}://{userinfo}@{host_port}{tail}"))
}

fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds() {
        assert_eq!(
            DbUrl::parse("sqlite::memory:").unwrap().kind(),
            DbKind::Sqlite
        );
        let u = DbUrl::parse("sqlite://dir/x.db").unwrap();
        assert_eq!(
            u.sqlite_location(),
            Some(&SqliteLocation::File(PathBuf::from("dir/x.db")))
        );
        let u = DbUrl::parse("postgresql://u:pw@h:5432/db").unwrap();
        assert_eq!(u.kind(), DbKind::Postgres);
        assert_eq!(u.database().as_deref(), Some("db"));
        assert_eq!(u.host_port(), "h:5432");
        assert_eq!(
            DbUrl::parse("mariadb://root@h/t").unwrap().kind(),
            DbKind::Mysql
        );
        assert!(DbUrl::parse("oracle://x").is_err());
        assert!(DbUrl::parse("postgres://u@h:99999/db").is_err());
        assert!(DbUrl::parse("postgres:///db").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(
            redact("postgres://h/db?password=secret&x=1"),
            "postgres://h/db?password=***&x=1"
        );
        for bad in [
            "oracle://u:secret@h",
            "postgres://u:sec/ret@h:5432/db",
            "postgres://u:sec/ret@h:x/db",
            "postgres:/u:secret@h/db",
            "u:secret@h/db",
            "mysql://u:sec@ret@h:99999/db",
        ] {
            let err = DbUrl::parse(bad)
                .map(|u| u.redacted())
                .unwrap_or_else(|e| e.to_string());
            assert!(!err.contains("sec"), "{bad}: {err}");
        }
        let u = DbUrl::parse("mysql://u:pw@a:3307,b,c:3309/db?x=1").unwrap();
        assert_eq!(u.hosts(), ["a:3307", "b:3306", "c:3309"]);
        assert_eq!(
            u.with_host("b:3306").secret_url(),
            "mysql://u:pw@b:3306/db?x=1"
        );
        assert_eq!(u.redacted(), "mysql://u:***@a:3307,b,c:3309/db?x=1");
        assert!(DbUrl::parse("postgres://u@a:1,b:x/db").is_err());
        assert!(DbUrl::parse("postgres://u@a:1,,b/db").is_err());
        let u = DbUrl::parse("postgres://u:p/w@h:5432/db").unwrap();
        assert_eq!(u.host_port(), "h:5432");
        assert_eq!(u.database().as_deref(), Some("db"));
        assert!(u.has_password());
        assert!(!DbUrl::parse("postgres://u@h/db").unwrap().has_password());
    }
}
