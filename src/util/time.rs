//! Civil time formatting without a date library (UTC only, which is all dbarena needs).

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// (year, month, day) from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD HH:MM:SS` (whole seconds; what every target accepts for a timestamp column).
pub fn format_timestamp_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 with seconds, UTC, for result files.
pub fn rfc3339_us(us: i64) -> String {
    format_timestamp_us(us).replacen(' ', "T", 1) + "Z"
}

/// `YYYYMMDD-HHMMSS`, used in result file names.
pub fn compact_stamp(us: i64) -> String {
    format_timestamp_us(us)
        .replace(['-', ':'], "")
        .replace(' ', "-")
}

/// Like [`compact_stamp`], with microseconds: `20261201-230102.123456`.
pub fn compact_stamp_us(us: i64) -> String {
    format!("{}.{:06}", compact_stamp(us), us.rem_euclid(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_timestamp_us(0), "1970-01-01 00:00:00");
        // 2024-02-29 12:34:56 UTC
        assert_eq!(
            format_timestamp_us(1_709_210_096_000_000),
            "2024-02-29 12:34:56"
        );
        assert_eq!(format_date(19_782), "2024-02-29");
        assert_eq!(compact_stamp(1_709_210_096_000_000), "20240229-123456");
    }
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.frac][Z|+hh[:mm]]` (or a bare date) into microseconds
/// since the epoch, ignoring any zone suffix.
pub fn parse_timestamp_us(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, t),
        None => (s, "00:00:00"),
    };
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let time = time.split(['+', 'Z']).next()?;
    let time = match time.rfind('-') {
        Some(p) if p > 5 => &time[..p],
        _ => time,
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':');
    let hh: i64 = t.next()?.parse().ok()?;
    let mm: i64 = t.next().unwrap_or("0").parse().ok()?;
    let ss: i64 = t.next().unwrap_or("0").parse().ok()?;
    let frac_us: i64 = if frac.is_empty() {
        0
    } else {
        format!("{:0<6}", &frac[..frac.len().min(6)]).parse().ok()?
    };
    // days_from_civil (Howard Hinnant)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = if y2 >= 0 { y2 } else { y2 - 399 } / 400;
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + frac_us)
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parses_what_it_formats() {
        let us = 1_709_210_096_000_000;
        assert_eq!(parse_timestamp_us(&format_timestamp_us(us)), Some(us));
        assert_eq!(
            parse_timestamp_us("2024-02-29T12:34:56.5+02"),
            Some(us + 500_000)
        );
        assert_eq!(parse_timestamp_us("1970-01-02"), Some(86_400_000_000));
        assert_eq!(parse_timestamp_us("nope"), None);
    }
}

/// Parses an RFC 3339 time (`2026-12-02T10:00:00Z`, `2026-12-02T12:00:00.5+02:00`) into
/// microseconds since the epoch; the zone is required, so that agents on machines in other
/// zones agree.
pub fn parse_rfc3339_us(s: &str) -> Option<i64> {
    let s = s.trim();
    let (_, time) = s.split_once(['T', 't', ' '])?;
    let offset_min: i64 = if time.ends_with(['Z', 'z']) {
        0
    } else {
        let at = time.rfind(['+', '-'])?;
        let (sign, rest) = (
            if &time[at..at + 1] == "-" { -1 } else { 1 },
            &time[at + 1..],
        );
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
    };
    let local = parse_timestamp_us(s.trim_end_matches(['Z', 'z']))?;
    Some(local - offset_min * 60_000_000)
}

#[cfg(test)]
mod rfc3339_tests {
    use super::*;

    #[test]
    fn zones_are_applied_and_required() {
        let z = parse_rfc3339_us("2026-12-02T10:00:00Z").unwrap();
        assert_eq!(parse_rfc3339_us("2026-12-02T12:00:00+02:00"), Some(z));
        assert_eq!(parse_rfc3339_us("2026-12-02T09:30:00-00:30"), Some(z));
        assert_eq!(
            parse_rfc3339_us("2026-12-02T10:00:00.25Z"),
            Some(z + 250_000)
        );
        assert_eq!(parse_rfc3339_us("2026-12-02T10:00:00"), None);
        assert_eq!(rfc3339_us(z), "2026-12-02T10:00:00Z");
    }
}
