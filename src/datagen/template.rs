//! Templates such as `user_{sequential}_{random_int:1:9}`: one grammar for seed columns and
//! custom-query parameters.

/// A part of a template string.
#[derive(Debug, Clone)]
pub enum Piece {
    Lit(String),
    /// `{sequential}` (also `{row}`): the row number, or a counter, from 1.
    Row,
    RandomInt(i64, i64),
    Timestamp,
    Name,
    Email,
    Uuid,
}

/// Parses `{sequential}`, `{random_int:a:b}`, `{timestamp}`, `{name}`, `{email}`, `{uuid}`.
pub fn parse(t: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Lit(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in template '{t}'"))?
            + open;
        let inner = &rest[open + 1..close];
        let mut f = inner.split(':');
        out.push(match f.next().unwrap_or("") {
            "sequential" | "row" => Piece::Row,
            "random_int" => {
                let a = f.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                let b = f.next().and_then(|x| x.parse().ok()).unwrap_or(1_000_000);
                Piece::RandomInt(a, b)
            }
            "timestamp" => Piece::Timestamp,
            "name" => Piece::Name,
            "email" => Piece::Email,
            "uuid" => Piece::Uuid,
            other => {
                return Err(format!(
                    "unknown template field '{{{other}}}' (use sequential, random_int:a:b, timestamp, name, email, uuid)"
                ))
            }
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(rest.to_string()));
    }
    Ok(out)
}
