//! The MySQL/MariaDB wire format: length-encoded integers and strings, packet framing, OK and
//! ERR packets, column definitions and binary result rows. Pure functions over byte slices, so
//! a malformed packet is an error value, never a panic.

use crate::value::Value;
use thiserror::Error;

/// Largest payload of one packet; a longer payload continues in the next packet(s).
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;

/// A packet that does not parse (the server, or whatever answered, broke the protocol).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("malformed MySQL packet: {0}")]
pub struct Malformed(pub &'static str);

/// Column types (`enum_field_types`) that the binary row decoder handles specially.
pub mod ty {
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VAR_STRING: u8 = 253;
}

/// Column flag: the integer is unsigned.
pub const UNSIGNED_FLAG: u16 = 32;

/// A reader over one packet's payload.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.buf.len() < n {
            return Err(Malformed("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Result<u32, Malformed> {
        let b = self.take(3)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-encoded integer; `None` for 0xFB, which marks NULL in text rows.
    pub fn lenenc_opt(&mut self) -> Result<Option<u64>, Malformed> {
        Ok(Some(match self.u8()? {
            n @ 0..=0xFA => n as u64,
            0xFB => return Ok(None),
            0xFC => self.u16()? as u64,
            0xFD => self.u24()? as u64,
            0xFE => self.u64()?,
            _ => return Err(Malformed("0xFF is not a length-encoded integer")),
        }))
    }

    pub fn lenenc(&mut self) -> Result<u64, Malformed> {
        self.lenenc_opt()?
            .ok_or(Malformed("NULL where a length was expected"))
    }

    pub fn lenenc_bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.lenenc()?;
        self.take(usize::try_from(n).map_err(|_| Malformed("length out of range"))?)
    }

    /// A NUL-terminated string (the NUL is consumed, not returned).
    pub fn nul_bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or(Malformed("string without its NUL"))?;
        let s = &self.buf[..end];
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }
}

pub fn put_lenenc(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xFA => out.push(n as u8),
        0xFB..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

pub fn put_lenenc_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_lenenc(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Frames `payload` as packets starting at sequence number `seq` and appends them to `out`;
/// returns the next sequence number. A payload of exactly a multiple of 16 MiB - 1 ends with an
/// empty packet, which is how the receiver knows it is complete.
pub fn frame(out: &mut Vec<u8>, payload: &[u8], mut seq: u8) -> u8 {
    let mut rest = payload;
    loop {
        let n = rest.len().min(MAX_PAYLOAD);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        out.push(seq);
        seq = seq.wrapping_add(1);
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        if n < MAX_PAYLOAD {
            return seq;
        }
    }
}

/// The header of one framed packet: (payload length, sequence number).
pub fn header(b: [u8; 4]) -> (usize, u8) {
    (u32::from_le_bytes([b[0], b[1], b[2], 0]) as usize, b[3])
}

/// An ERR packet (header 0xFF): the server's error number, SQLSTATE and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    pub state: String,
    pub message: String,
}

pub fn parse_err(payload: &[u8]) -> Result<ServerError, Malformed> {
    let mut r = Reader::new(payload);
    if r.u8()? != 0xFF {
        return Err(Malformed("not an ERR packet"));
    }
    let code = r.u16()?;
    // Errors sent before the handshake settles the protocol carry no SQLSTATE marker.
    let state = if r.rest().first() == Some(&b'#') {
        r.take(1)?;
        String::from_utf8_lossy(r.take(5)?).into_owned()
    } else {
        "HY000".to_string()
    };
    Ok(ServerError {
        code,
        state,
        message: String::from_utf8_lossy(r.rest()).into_owned(),
    })
}

/// An OK packet (header 0x00, or 0xFE ending a result set under CLIENT_DEPRECATE_EOF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ok {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: u16,
}

/// SERVER_MORE_RESULTS_EXISTS: another result set follows this one.
pub const MORE_RESULTS: u16 = 0x0008;

pub fn parse_ok(payload: &[u8]) -> Result<Ok, Malformed> {
    let mut r = Reader::new(payload);
    r.u8()?;
    Ok(Ok {
        affected_rows: r.lenenc()?,
        last_insert_id: r.lenenc()?,
        status: r.u16()?,
    })
}

/// A pre-4.1 style EOF packet (no CLIENT_DEPRECATE_EOF): its status flags.
pub fn parse_eof_status(payload: &[u8]) -> Result<u16, Malformed> {
    let mut r = Reader::new(payload);
    r.u8()?;
    r.u16()?;
    r.u16()
}

/// Whether a packet ends rows (EOF, or OK with 0xFE): a row may also start with 0xFE, but then
/// it holds a value of 16 MiB or more.
pub fn is_end(payload: &[u8]) -> bool {
    payload.first() == Some(&0xFE) && payload.len() < MAX_PAYLOAD
}

/// What decoding a binary row needs of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub ty: u8,
    pub flags: u16,
}

pub fn parse_column(payload: &[u8]) -> Result<Column, Malformed> {
    let mut r = Reader::new(payload);
    for _ in 0..6 {
        r.lenenc_bytes()?; // catalog, schema, table, org_table, name, org_name
    }
    r.lenenc()?; // length of the fixed fields
    r.u16()?; // character set
    r.u32()?; // display length
    let ty = r.u8()?;
    let flags = r.u16()?;
    Ok(Column { ty, flags })
}

/// Appends a COM_STMT_EXECUTE payload for statement `id` with `params` (bound anew each time:
/// their types are sent with them).
pub fn put_execute(out: &mut Vec<u8>, id: u32, params: &[Value]) {
    out.push(0x17);
    out.extend_from_slice(&id.to_le_bytes());
    out.push(0); // no cursor
    out.extend_from_slice(&1u32.to_le_bytes()); // iteration count
    if params.is_empty() {
        return;
    }
    let bitmap = out.len();
    out.resize(bitmap + params.len().div_ceil(8), 0);
    for (i, v) in params.iter().enumerate() {
        if matches!(v, Value::Null) {
            out[bitmap + i / 8] |= 1 << (i % 8);
        }
    }
    out.push(1); // types follow
    for v in params {
        let t = match v {
            Value::Null => ty::NULL,
            Value::Int(_) | Value::Bool(_) => ty::LONGLONG,
            Value::Float(_) => ty::DOUBLE,
            _ => ty::VAR_STRING,
        };
        out.extend_from_slice(&[t, 0]);
    }
    for v in params {
        match v {
            Value::Null => {}
            Value::Int(i) => out.extend_from_slice(&i.to_le_bytes()),
            Value::Bool(b) => out.extend_from_slice(&(*b as i64).to_le_bytes()),
            Value::Float(f) => out.extend_from_slice(&f.to_le_bytes()),
            Value::Text(s) | Value::Decimal(s) => put_lenenc_bytes(out, s.as_bytes()),
            other => put_lenenc_bytes(out, other.to_sql_text().unwrap_or_default().as_bytes()),
        }
    }
}

/// The values of a binary result row (header 0x00, NULL bitmap offset by 2, then each
/// non-NULL value in its type's encoding). `first_only` stops after the first column.
pub fn decode_binary_row(
    payload: &[u8],
    cols: &[Column],
    first_only: bool,
    out: &mut Vec<Value>,
) -> Result<(), Malformed> {
    let mut r = Reader::new(payload);
    if r.u8()? != 0 {
        return Err(Malformed("binary row without its 0x00 header"));
    }
    let bitmap = r.take((cols.len() + 9) / 8)?;
    for (i, c) in cols.iter().enumerate() {
        let bit = i + 2;
        let v = if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
            Value::Null
        } else {
            binary_value(&mut r, *c)?
        };
        out.push(v);
        if first_only {
            break;
        }
    }
    Ok(())
}

fn binary_value(r: &mut Reader<'_>, c: Column) -> Result<Value, Malformed> {
    let unsigned = c.flags & UNSIGNED_FLAG != 0;
    Ok(match c.ty {
        ty::TINY => {
            let b = r.u8()?;
            Value::Int(if unsigned { b as i64 } else { b as i8 as i64 })
        }
        ty::SHORT | ty::YEAR => {
            let v = r.u16()?;
            Value::Int(if unsigned { v as i64 } else { v as i16 as i64 })
        }
        ty::LONG | ty::INT24 => {
            let v = r.u32()?;
            Value::Int(if unsigned { v as i64 } else { v as i32 as i64 })
        }
        // An unsigned value past i64::MAX wraps, as it did through mysql_async's UInt.
        ty::LONGLONG => Value::Int(r.u64()? as i64),
        // Widened as mysql_async's Float was: the f32's exact value, not its shortest decimal.
        ty::FLOAT => Value::Float(f32::from_bits(r.u32()?) as f64),
        ty::DOUBLE => Value::Float(f64::from_bits(r.u64()?)),
        ty::NULL => Value::Null,
        ty::DATE | ty::DATETIME | ty::TIMESTAMP | ty::NEWDATE => Value::Text(datetime(r)?),
        ty::TIME => Value::Text(time(r)?),
        _ => Value::Text(String::from_utf8_lossy(r.lenenc_bytes()?).into_owned()),
    })
}

/// A binary DATE/DATETIME as text (`YYYY-MM-DD`, with ` HH:MM:SS[.ffffff]` when not midnight),
/// the form mysql_async's values printed as.
fn datetime(r: &mut Reader<'_>) -> Result<String, Malformed> {
    let n = r.u8()?;
    let mut b = Reader::new(r.take(n as usize)?);
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut us) = (0, 0, 0, 0, 0, 0, 0);
    if n >= 4 {
        y = b.u16()?;
        mo = b.u8()?;
        d = b.u8()?;
    }
    if n >= 7 {
        h = b.u8()?;
        mi = b.u8()?;
        s = b.u8()?;
    }
    if n >= 11 {
        us = b.u32()?;
    }
    if !matches!(n, 0 | 4 | 7 | 11) {
        return Err(Malformed("date of an unknown length"));
    }
    Ok(match (h, mi, s, us) {
        (0, 0, 0, 0) => format!("{y:04}-{mo:02}-{d:02}"),
        (_, _, _, 0) => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        _ => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"),
    })
}

/// A binary TIME as text (`[-]HHH:MM:SS[.ffffff]`, days folded into hours).
fn time(r: &mut Reader<'_>) -> Result<String, Malformed> {
    let n = r.u8()?;
    let mut b = Reader::new(r.take(n as usize)?);
    let (mut neg, mut days, mut h, mut mi, mut s, mut us) = (false, 0u32, 0u8, 0u8, 0u8, 0u32);
    if n >= 8 {
        neg = b.u8()? == 1;
        days = b.u32()?;
        h = b.u8()?;
        mi = b.u8()?;
        s = b.u8()?;
    }
    if n >= 12 {
        us = b.u32()?;
    }
    if !matches!(n, 0 | 8 | 12) {
        return Err(Malformed("time of an unknown length"));
    }
    let sign = if neg { "-" } else { "" };
    let hours = days as u64 * 24 + h as u64;
    Ok(if us == 0 {
        format!("{sign}{hours:03}:{mi:02}:{s:02}")
    } else {
        format!("{sign}{hours:03}:{mi:02}:{s:02}.{us:06}")
    })
}

/// The values of a text result row: each a length-encoded string, or 0xFB for NULL.
pub fn decode_text_row(payload: &[u8], out: &mut Vec<Option<String>>) -> Result<(), Malformed> {
    let mut r = Reader::new(payload);
    while !r.is_empty() {
        out.push(match r.lenenc_opt()? {
            None => None,
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| Malformed("length out of range"))?;
                Some(String::from_utf8_lossy(r.take(n)?).into_owned())
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trips_at_every_width() {
        for n in [
            0u64,
            250,
            251,
            0xFFFF,
            0x1_0000,
            0xFF_FFFF,
            0x100_0000,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_lenenc(&mut b, n);
            let mut r = Reader::new(&b);
            assert_eq!(r.lenenc(), Ok(n), "{n}");
            assert!(r.is_empty());
        }
        assert_eq!(Reader::new(&[0xFB]).lenenc_opt(), Ok(None));
        assert!(Reader::new(&[0xFF]).lenenc().is_err());
        assert!(Reader::new(&[0xFC, 1]).lenenc().is_err());
        assert!(Reader::new(&[]).lenenc().is_err());
    }

    #[test]
    fn lenenc_strings_and_nul_strings() {
        let mut b = Vec::new();
        put_lenenc_bytes(&mut b, b"hello");
        b.extend_from_slice(b"abc\0rest");
        let mut r = Reader::new(&b);
        assert_eq!(r.lenenc_bytes(), Ok(&b"hello"[..]));
        assert_eq!(r.nul_bytes(), Ok(&b"abc"[..]));
        assert_eq!(r.rest(), b"rest");
        assert!(r.nul_bytes().is_err());
        // A length past the end is an error, not a panic.
        assert!(Reader::new(&[5, b'a']).lenenc_bytes().is_err());
    }

    #[test]
    fn framing_splits_at_16_mib() {
        let mut out = Vec::new();
        assert_eq!(frame(&mut out, b"abc", 3), 4);
        assert_eq!(out, [3, 0, 0, 3, b'a', b'b', b'c']);

        let big = vec![7u8; MAX_PAYLOAD + 10];
        let mut out = Vec::new();
        assert_eq!(frame(&mut out, &big, 0), 2);
        assert_eq!(header([out[0], out[1], out[2], out[3]]), (MAX_PAYLOAD, 0));
        let second = 4 + MAX_PAYLOAD;
        let h = [
            out[second],
            out[second + 1],
            out[second + 2],
            out[second + 3],
        ];
        assert_eq!(header(h), (10, 1));
        assert_eq!(out.len(), 8 + MAX_PAYLOAD + 10);

        // Exactly 16 MiB - 1: an empty packet says the payload ends there.
        let exact = vec![1u8; MAX_PAYLOAD];
        let mut out = Vec::new();
        assert_eq!(frame(&mut out, &exact, 0), 2);
        assert_eq!(&out[4 + MAX_PAYLOAD..], [0, 0, 0, 1]);
    }

    #[test]
    fn err_packets_with_and_without_sqlstate() {
        let mut p = vec![0xFF];
        p.extend_from_slice(&1062u16.to_le_bytes());
        p.extend_from_slice(b"#23000Duplicate entry '1' for key 'PRIMARY'");
        let e = parse_err(&p).unwrap();
        assert_eq!(e.code, 1062);
        assert_eq!(e.state, "23000");
        assert_eq!(e.message, "Duplicate entry '1' for key 'PRIMARY'");

        let mut p = vec![0xFF];
        p.extend_from_slice(&1040u16.to_le_bytes());
        p.extend_from_slice(b"Too many connections");
        let e = parse_err(&p).unwrap();
        assert_eq!((e.code, e.state.as_str()), (1040, "HY000"));
        assert!(parse_err(&[0xFF, 1]).is_err());
        assert!(parse_err(&[0x00, 1, 2]).is_err());
    }

    #[test]
    fn ok_packets() {
        let mut p = vec![0x00];
        put_lenenc(&mut p, 3);
        put_lenenc(&mut p, 70_000);
        p.extend_from_slice(&(MORE_RESULTS | 2).to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes());
        let ok = parse_ok(&p).unwrap();
        assert_eq!((ok.affected_rows, ok.last_insert_id), (3, 70_000));
        assert!(ok.status & MORE_RESULTS != 0);
        assert!(parse_ok(&[0x00, 1]).is_err());
        assert!(is_end(&[0xFE, 0, 0, 2, 0, 0, 0]));
        assert!(!is_end(&[0x00]));
    }

    fn row(cols: &[Column], nulls: &[usize], values: &[u8]) -> Vec<Value> {
        let mut p = vec![0u8];
        let mut bitmap = vec![0u8; (cols.len() + 9) / 8];
        for &i in nulls {
            bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
        }
        p.extend_from_slice(&bitmap);
        p.extend_from_slice(values);
        let mut out = Vec::new();
        decode_binary_row(&p, cols, false, &mut out).unwrap();
        out
    }

    fn col(ty: u8, unsigned: bool) -> Column {
        Column {
            ty,
            flags: if unsigned { UNSIGNED_FLAG } else { 0 },
        }
    }

    #[test]
    fn binary_integers_signed_and_unsigned() {
        let cols = [
            col(ty::TINY, false),
            col(ty::TINY, true),
            col(ty::SHORT, false),
            col(ty::SHORT, true),
            col(ty::INT24, false),
            col(ty::LONG, true),
            col(ty::LONGLONG, false),
            col(ty::YEAR, true),
        ];
        let mut v = vec![0xFF, 0xFF];
        v.extend_from_slice(&(-2i16).to_le_bytes());
        v.extend_from_slice(&65535u16.to_le_bytes());
        v.extend_from_slice(&(-3i32).to_le_bytes());
        v.extend_from_slice(&u32::MAX.to_le_bytes());
        v.extend_from_slice(&i64::MIN.to_le_bytes());
        v.extend_from_slice(&2024u16.to_le_bytes());
        assert_eq!(
            row(&cols, &[], &v),
            vec![
                Value::Int(-1),
                Value::Int(255),
                Value::Int(-2),
                Value::Int(65535),
                Value::Int(-3),
                Value::Int(u32::MAX as i64),
                Value::Int(i64::MIN),
                Value::Int(2024),
            ]
        );
    }

    #[test]
    fn binary_floats_strings_and_nulls() {
        let cols = [
            col(ty::FLOAT, false),
            col(ty::DOUBLE, false),
            col(246, false), // NEWDECIMAL
            col(ty::VAR_STRING, false),
            col(252, false), // BLOB
            col(ty::LONG, false),
            col(0, false), // DECIMAL
        ];
        let mut v = Vec::new();
        v.extend_from_slice(&1.5f32.to_le_bytes());
        v.extend_from_slice(&(-2.25f64).to_le_bytes());
        put_lenenc_bytes(&mut v, b"12.34");
        put_lenenc_bytes(&mut v, "héllo".as_bytes());
        put_lenenc_bytes(&mut v, &[0, 1, 2]);
        put_lenenc_bytes(&mut v, b"1");
        assert_eq!(
            row(&cols, &[5], &v),
            vec![
                Value::Float(1.5),
                Value::Float(-2.25),
                Value::Text("12.34".into()),
                Value::Text("héllo".into()),
                Value::Text("\0\u{1}\u{2}".into()),
                Value::Null,
                Value::Text("1".into()),
            ]
        );
    }

    #[test]
    fn binary_dates_and_times() {
        let cols = [
            col(ty::DATE, false),
            col(ty::DATETIME, false),
            col(ty::TIMESTAMP, false),
            col(ty::DATETIME, false),
            col(ty::TIME, false),
            col(ty::TIME, false),
            col(ty::DATE, false),
        ];
        let mut v = vec![4];
        v.extend_from_slice(&2024u16.to_le_bytes());
        v.extend_from_slice(&[2, 29]);
        v.push(7);
        v.extend_from_slice(&1999u16.to_le_bytes());
        v.extend_from_slice(&[12, 31, 23, 59, 58]);
        v.push(11);
        v.extend_from_slice(&2000u16.to_le_bytes());
        v.extend_from_slice(&[1, 2, 3, 4, 5]);
        v.extend_from_slice(&123_456u32.to_le_bytes());
        v.push(0);
        v.extend_from_slice(&[8, 1]);
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&[2, 3, 4]);
        v.extend_from_slice(&[12, 0]);
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&[10, 11, 12]);
        v.extend_from_slice(&5u32.to_le_bytes());
        v.push(3); // a date of a length no server sends
        v.extend_from_slice(&[1, 2, 3]);
        let mut p = vec![0u8, 0, 0];
        p.extend_from_slice(&v);
        let mut out = Vec::new();
        assert!(decode_binary_row(&p, &cols, false, &mut out).is_err());
        assert_eq!(
            out,
            vec![
                Value::Text("2024-02-29".into()),
                Value::Text("1999-12-31 23:59:58".into()),
                Value::Text("2000-01-02 03:04:05.123456".into()),
                Value::Text("0000-00-00".into()),
                Value::Text("-026:03:04".into()),
                Value::Text("010:11:12.000005".into()),
            ]
        );
    }

    #[test]
    fn truncated_rows_are_errors() {
        let cols = [col(ty::LONGLONG, false)];
        let mut out = Vec::new();
        assert!(decode_binary_row(&[0, 0, 1, 2], &cols, false, &mut out).is_err());
        assert!(decode_binary_row(&[1, 0], &cols, false, &mut out).is_err());
        assert!(decode_binary_row(&[], &cols, false, &mut out).is_err());
        let mut text = Vec::new();
        assert!(decode_text_row(&[3, b'a'], &mut text).is_err());
    }

    #[test]
    fn text_rows_with_null() {
        let mut p = Vec::new();
        put_lenenc_bytes(&mut p, b"42");
        p.push(0xFB);
        put_lenenc_bytes(&mut p, b"");
        let mut out = Vec::new();
        decode_text_row(&p, &mut out).unwrap();
        assert_eq!(out, vec![Some("42".into()), None, Some(String::new())]);
    }

    #[test]
    fn column_definitions() {
        let mut p = Vec::new();
        for s in ["def", "db", "t", "t", "c", "c"] {
            put_lenenc_bytes(&mut p, s.as_bytes());
        }
        p.push(0x0C);
        p.extend_from_slice(&45u16.to_le_bytes());
        p.extend_from_slice(&11u32.to_le_bytes());
        p.push(ty::LONG);
        p.extend_from_slice(&(UNSIGNED_FLAG | 1).to_le_bytes());
        p.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            parse_column(&p),
            Ok(col(ty::LONG, true)).map(|mut c| {
                c.flags |= 1;
                c
            })
        );
        assert!(parse_column(&p[..10]).is_err());
    }

    #[test]
    fn execute_payload_binds_types_and_nulls() {
        let mut out = Vec::new();
        put_execute(
            &mut out,
            7,
            &[Value::Int(5), Value::Null, Value::Text("x".into())],
        );
        let mut want = vec![0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0b010, 1];
        want.extend_from_slice(&[ty::LONGLONG, 0, ty::NULL, 0, ty::VAR_STRING, 0]);
        want.extend_from_slice(&5i64.to_le_bytes());
        want.extend_from_slice(&[1, b'x']);
        assert_eq!(out, want);
    }
}
