//! Streaming history reader for dbarena's JSON lines and elle-cli's JSON array: a byte scanner
//! cuts the input into whole operations (tracking strings, escapes and nesting, never holding
//! the file), and each operation is deserialised into a typed record with serde (no
//! `serde_json::Value`). Batches are parsed on worker threads and handed back in order.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::io::Read;
use thiserror::Error;

/// A history that cannot be read.
#[derive(Debug, Error)]
pub enum ParseError {
    #[error("cannot read history {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{path}:{line}: {why}")]
    Bad {
        path: String,
        line: u64,
        why: String,
    },
}

/// Whether an operation starts or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// A key as written: an integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RawKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawKey::Int(i) => write!(f, "{i}"),
            RawKey::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// The value of a micro-op: nothing (unknown), one integer, or a list of integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawVal {
    Null,
    Int(u64),
    List(Vec<u64>),
}

/// What a micro-op does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawF {
    Append,
    Read,
    Write,
}

/// One micro-op as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMop {
    pub f: RawF,
    pub key: RawKey,
    pub val: RawVal,
}

/// Who ran an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawProcess {
    Client(u64),
    /// A string process such as `:nemesis`: not a transaction, ignored.
    Other,
}

/// One operation as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOp {
    pub typ: RawType,
    pub process: RawProcess,
    pub index: Option<u64>,
    pub time: Option<u64>,
    /// `None` when the value is not a transaction (null, or a nemesis payload).
    pub mops: Option<Vec<RawMop>>,
    /// An optional error class (`"error"` field) on failed or unknown operations.
    pub error: Option<String>,
    /// Line where the operation starts in the input.
    pub line: u64,
}

fn word(s: &str) -> &str {
    s.trim_start_matches(':')
}

struct OpVisitor;

impl<'de> Visitor<'de> for OpVisitor {
    type Value = RawOp;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an operation object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawOp, A::Error> {
        let mut typ = None;
        let mut process = None;
        let mut index = None;
        let mut time = None;
        let mut value: Option<&'de serde_json::value::RawValue> = None;
        let mut error = None;
        while let Some(k) = m.next_key::<Field>()? {
            match k {
                Field::Type => typ = Some(m.next_value::<TypeField>()?.0),
                Field::Process => process = Some(m.next_value::<ProcessField>()?.0),
                Field::Index => index = m.next_value::<Option<u64>>()?,
                Field::Time => time = m.next_value::<Option<i64>>()?.map(|t| t.max(0) as u64),
                Field::Value => value = Some(m.next_value()?),
                Field::Error => error = m.next_value::<Option<ErrorField>>()?.map(|e| e.0),
                Field::Other => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        let typ = typ.ok_or_else(|| de::Error::custom("op without a type"))?;
        let process = process.ok_or_else(|| de::Error::custom("op without a process"))?;
        // A nemesis value can be anything; only a client's value must be a transaction.
        let mops = match (process, value) {
            (RawProcess::Other, _) | (_, None) => None,
            (_, Some(raw)) => {
                serde_json::from_str::<MaybeTxn>(raw.get())
                    .map_err(|e| de::Error::custom(strip_position(e.to_string())))?
                    .0
            }
        };
        Ok(RawOp {
            typ,
            process,
            index,
            time,
            mops,
            error,
            line: 0,
        })
    }
}

impl<'de> Deserialize<'de> for RawOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawOp, D::Error> {
        d.deserialize_map(OpVisitor)
    }
}

/// The fields of an operation we read (matched without allocating).
enum Field {
    Type,
    Process,
    Index,
    Time,
    Value,
    Error,
    Other,
}
impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Field, E> {
                Ok(match s {
                    "type" => Field::Type,
                    "process" => Field::Process,
                    "index" => Field::Index,
                    "time" => Field::Time,
                    "value" => Field::Value,
                    "error" => Field::Error,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

struct TypeField(RawType);
impl<'de> Deserialize<'de> for TypeField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TypeField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an op type")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TypeField, E> {
                Ok(TypeField(match word(s) {
                    "invoke" => RawType::Invoke,
                    "ok" => RawType::Ok,
                    "fail" => RawType::Fail,
                    "info" => RawType::Info,
                    other => {
                        return Err(E::custom(format!(
                            "unknown op type {other:?} (expected invoke, ok, fail or info)"
                        )))
                    }
                }))
            }
        }
        d.deserialize_str(V)
    }
}

struct FnField(RawF);
impl<'de> Deserialize<'de> for FnField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FnField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a micro-op function (append, r or w)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FnField, E> {
                Ok(FnField(match word(s) {
                    "append" => RawF::Append,
                    "r" | "read" => RawF::Read,
                    "w" | "write" => RawF::Write,
                    other => {
                        return Err(E::custom(format!(
                            "unknown micro-op '{other}' (expected append, r or w)"
                        )))
                    }
                }))
            }
        }
        d.deserialize_str(V)
    }
}

/// An error class: a string, or anything else (kept as its JSON-ish description).
struct ErrorField(String);
impl<'de> Deserialize<'de> for ErrorField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ErrorField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an error class")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ErrorField, E> {
                Ok(ErrorField(word(s).to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<ErrorField, A::Error> {
                let mut first = None;
                while let Some(x) = s.next_element::<Option<ErrorField>>()? {
                    if first.is_none() {
                        first = x;
                    }
                }
                Ok(first.unwrap_or(ErrorField("error".into())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ErrorField, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ErrorField("error".into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ErrorField, E> {
                Ok(ErrorField(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ErrorField, E> {
                Ok(ErrorField(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ErrorField, E> {
                Ok(ErrorField(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

struct ProcessField(RawProcess);
impl<'de> Deserialize<'de> for ProcessField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ProcessField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a process number or name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ProcessField, E> {
                Ok(ProcessField(RawProcess::Client(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ProcessField, E> {
                u64::try_from(v)
                    .map(|v| ProcessField(RawProcess::Client(v)))
                    .map_err(|_| E::custom("process must be a non-negative integer"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<ProcessField, E> {
                Ok(ProcessField(RawProcess::Other))
            }
        }
        d.deserialize_any(V)
    }
}

/// A value that is a transaction (a list of micro-ops), or something else (null, a nemesis
/// payload) that is not.
struct MaybeTxn(Option<Vec<RawMop>>);
impl<'de> Deserialize<'de> for MaybeTxn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeTxn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of micro-ops")
            }
            fn visit_unit<E: de::Error>(self) -> Result<MaybeTxn, E> {
                Ok(MaybeTxn(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<MaybeTxn, E> {
                Ok(MaybeTxn(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<MaybeTxn, A::Error> {
                let mut v = Vec::with_capacity(s.size_hint().unwrap_or(4));
                while let Some(m) = s.next_element::<RawMop>()? {
                    v.push(m);
                }
                Ok(MaybeTxn(Some(v)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<MaybeTxn, E> {
                Err(E::custom("value must be a list of micro-ops"))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<MaybeTxn, A::Error> {
                Err(de::Error::custom("value must be a list of micro-ops"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MaybeTxn, E> {
                Err(E::custom("value must be a list of micro-ops"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MaybeTxn, E> {
                Err(E::custom("value must be a list of micro-ops"))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawMop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMop;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a micro-op like [\"append\", k, v] or [\"r\", k, null]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawMop, A::Error> {
                let f = s
                    .next_element::<FnField>()?
                    .ok_or_else(|| de::Error::custom("micro-op without a function"))?
                    .0;
                let key: KeyField = s
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("micro-op without a key"))?;
                let val: ValField = s.next_element()?.unwrap_or(ValField(RawVal::Null));
                while s.next_element::<IgnoredAny>()?.is_some() {}
                if f != RawF::Read && val.0 == RawVal::Null {
                    return Err(de::Error::custom("append/write without a value"));
                }
                if f != RawF::Read && matches!(val.0, RawVal::List(_)) {
                    return Err(de::Error::custom("append/write value must be an integer"));
                }
                Ok(RawMop {
                    f,
                    key: key.0,
                    val: val.0,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

struct KeyField(RawKey);
impl<'de> Deserialize<'de> for KeyField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key (integer or string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyField, E> {
                i64::try_from(v)
                    .map(|v| KeyField(RawKey::Int(v)))
                    .map_err(|_| E::custom("key out of range"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyField, E> {
                Ok(KeyField(RawKey::Int(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyField, E> {
                Ok(KeyField(RawKey::Str(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

struct ValField(RawVal);
impl<'de> Deserialize<'de> for ValField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ValField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null, a non-negative integer, or a list of them")
            }
            fn visit_unit<E: de::Error>(self) -> Result<ValField, E> {
                Ok(ValField(RawVal::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<ValField, E> {
                Ok(ValField(RawVal::Null))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ValField, E> {
                Ok(ValField(RawVal::Int(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ValField, E> {
                u64::try_from(v)
                    .map(|v| ValField(RawVal::Int(v)))
                    .map_err(|_| E::custom("values must be non-negative integers"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<ValField, A::Error> {
                let mut v = Vec::with_capacity(s.size_hint().unwrap_or(8));
                while let Some(x) = s.next_element::<u64>()? {
                    v.push(x);
                }
                Ok(ValField(RawVal::List(v)))
            }
        }
        d.deserialize_any(V)
    }
}

fn strip_position(s: String) -> String {
    // serde_json appends " at line L column C" of the slice; the caller knows the real line.
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Parses one operation from its JSON text.
pub fn parse_op(text: &[u8], line: u64) -> Result<RawOp, String> {
    let mut op: RawOp = serde_json::from_slice(text).map_err(|e| strip_position(e.to_string()))?;
    op.line = line;
    Ok(op)
}

/// A batch of whole operations cut from the input: their bytes and where each starts.
#[derive(Default)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    /// (start, end, line) of each operation in `bytes`.
    pub spans: Vec<(usize, usize, u64)>,
}

/// Cuts a byte stream into operations: objects at the top level (JSON lines, or a
/// concatenation), or the elements of one top-level array (elle-cli). Reads in blocks; holds
/// at most one block plus one unfinished operation.
pub struct Splitter<R: Read> {
    src: R,
    origin: String,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    eof: bool,
    line: u64,
    /// Whether the input is one top-level array (decided on the first non-blank byte).
    array: Option<bool>,
    done: bool,
}

const BLOCK: usize = 4 << 20;

impl<R: Read> Splitter<R> {
    pub fn new(src: R, origin: &str) -> Self {
        Splitter {
            src,
            origin: origin.to_string(),
            buf: Vec::with_capacity(BLOCK * 2),
            pos: 0,
            eof: false,
            line: 1,
            array: None,
            done: false,
        }
    }

    fn fill(&mut self) -> Result<bool, ParseError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + BLOCK, 0);
        let mut filled = old;
        while filled < self.buf.len() {
            match self.src.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(ParseError::Read {
                        path: self.origin.clone(),
                        detail: e.to_string(),
                    })
                }
            }
        }
        self.buf.truncate(filled);
        Ok(filled > old)
    }

    fn bad(&self, why: &str) -> ParseError {
        ParseError::Bad {
            path: self.origin.clone(),
            line: self.line,
            why: why.to_string(),
        }
    }

    /// The next chunk of up to `max_ops` whole operations; `None` at the end.
    pub fn next_chunk(&mut self, max_ops: usize) -> Result<Option<Chunk>, ParseError> {
        let mut chunk = Chunk::default();
        while chunk.spans.len() < max_ops && !self.done {
            // Skip separators.
            loop {
                while self.pos < self.buf.len() {
                    let b = self.buf[self.pos];
                    match b {
                        b'\n' => self.line += 1,
                        b' ' | b'\t' | b'\r' | b',' => {}
                        b'[' if self.array.is_none() => self.array = Some(true),
                        b']' if self.array == Some(true) => {
                            self.done = true;
                        }
                        _ => break,
                    }
                    self.pos += 1;
                    if self.done {
                        break;
                    }
                }
                if self.done || self.pos < self.buf.len() || !self.fill()? {
                    break;
                }
            }
            if self.done || self.pos >= self.buf.len() {
                if self.pos >= self.buf.len() && self.array == Some(true) && !self.done {
                    return Err(self.bad("the history's JSON array is not closed"));
                }
                self.done = true;
                break;
            }
            if self.array.is_none() {
                self.array = Some(false);
            }
            if self.buf[self.pos] != b'{' {
                return Err(self.bad("expected an operation (a JSON object)"));
            }
            // Scan to the matching brace.
            let start_line = self.line;
            let mut i = self.pos;
            let mut depth = 0usize;
            let mut in_str = false;
            let mut esc = false;
            let mut lines = 0u64;
            let end = loop {
                if i >= self.buf.len() {
                    let consumed = i - self.pos;
                    if !self.fill()? {
                        self.line = start_line;
                        return Err(self.bad("the history ends inside an operation"));
                    }
                    i = self.pos + consumed;
                    continue;
                }
                let b = self.buf[i];
                if in_str {
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        in_str = false;
                    }
                } else {
                    match b {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break i + 1;
                            }
                        }
                        b'\n' => lines += 1,
                        _ => {}
                    }
                }
                i += 1;
            };
            let s = chunk.bytes.len();
            chunk.bytes.extend_from_slice(&self.buf[self.pos..end]);
            chunk.spans.push((s, chunk.bytes.len(), start_line));
            self.line = start_line + lines;
            self.pos = end;
        }
        Ok(if chunk.spans.is_empty() {
            None
        } else {
            Some(chunk)
        })
    }
}

/// Parses a chunk's operations, each with its line; errors name the origin and line.
pub fn parse_chunk(chunk: &Chunk, origin: &str) -> Result<Vec<RawOp>, ParseError> {
    chunk
        .spans
        .iter()
        .map(|&(s, e, line)| {
            parse_op(&chunk.bytes[s..e], line).map_err(|why| ParseError::Bad {
                path: origin.to_string(),
                line,
                why,
            })
        })
        .collect()
}

/// Reads every operation of a history, parsing on `threads` worker threads, and hands them to
/// `sink` in input order, one batch at a time.
pub fn stream<R: Read + Send>(
    src: R,
    origin: &str,
    threads: usize,
    mut sink: impl FnMut(Vec<RawOp>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    const OPS: usize = 16 * 1024;
    let mut split = Splitter::new(src, origin);
    if threads <= 1 {
        while let Some(c) = split.next_chunk(OPS)? {
            sink(parse_chunk(&c, origin)?)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (to_work, work_rx) = std::sync::mpsc::sync_channel::<(u64, Chunk)>(threads * 2);
        let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) =
            std::sync::mpsc::sync_channel::<(u64, Result<Vec<RawOp>, ParseError>)>(threads * 2);
        for _ in 0..threads {
            let rx = work_rx.clone();
            let tx = done_tx.clone();
            let origin = origin.to_string();
            scope.spawn(move || loop {
                let next = match rx.lock() {
                    Ok(g) => g.recv(),
                    Err(_) => return,
                };
                let Ok((seq, chunk)) = next else { return };
                if tx.send((seq, parse_chunk(&chunk, &origin))).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // The reader runs on its own thread too, so this one only merges.
        let reader = scope.spawn(move || -> Result<(), ParseError> {
            let mut seq = 0u64;
            while let Some(c) = split.next_chunk(OPS)? {
                if to_work.send((seq, c)).is_err() {
                    break;
                }
                seq += 1;
            }
            Ok(())
        });
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut failure = None;
        for (seq, r) in done_rx.iter() {
            pending.insert(seq, r);
            while let Some(r) = pending.remove(&next) {
                next += 1;
                if failure.is_some() {
                    continue;
                }
                match r.and_then(&mut sink) {
                    Ok(()) => {}
                    Err(e) => failure = Some(e),
                }
            }
            if failure.is_some() {
                break;
            }
        }
        drop(done_rx);
        let read = reader.join().unwrap_or(Ok(()));
        match failure {
            Some(e) => Err(e),
            None => read,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Result<Vec<RawOp>, ParseError> {
        let mut out = Vec::new();
        stream(text.as_bytes(), "h", 1, |b| {
            out.extend(b);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn both_formats_and_odd_values() {
        let jsonl = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"value\":[[\"append\",3,1],[\"r\",3,null]]}\n\n{\"process\":1,\"type\":\"ok\",\"value\":[[\"append\",\"x\",1],[\"r\",3,[1]]],\"error\":null}\n";
        let ops = all(jsonl).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].line, 3);
        assert_eq!(
            ops[1].mops.as_ref().unwrap()[0].key,
            RawKey::Str("x".into())
        );
        let elle = "[{\"type\":\":invoke\",\"f\":\":txn\",\"value\":[[\":append\",1,2]],\"process\":0,\"time\":1,\"index\":0},\n {\"type\":\":info\",\"f\":\":kill\",\"value\":\":all \\\" }\",\"process\":\":nemesis\",\"index\":1},\n {\"type\":\":fail\",\"value\":[[\":append\",1,2]],\"process\":0,\"error\":[\":deadlock\",\"x\"],\"index\":2}]";
        let ops = all(elle).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[1].process, RawProcess::Other);
        assert_eq!(ops[1].mops, None);
        assert_eq!(ops[2].error.as_deref(), Some("deadlock"));
        assert_eq!(ops[2].line, 3);
        let e = all("{\"process\":1,\"type\":\"done\"}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("h:1:") && e.contains("done"), "{e}");
        let e = all("[{\"process\":1,\"type\":\"ok\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends inside"), "{e}");
        assert!(all("").unwrap().is_empty());
        assert!(all("[]").unwrap().is_empty());
    }

    #[test]
    fn threaded_stream_keeps_order() {
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!(
                "{{\"index\":{i},\"process\":{},\"type\":\"invoke\",\"value\":[[\"r\",1,null]]}}\n",
                i % 7
            ));
        }
        let mut seen = Vec::new();
        stream(text.as_bytes(), "t", 2, |b| {
            seen.extend(b.into_iter().map(|o| o.index.unwrap_or(u64::MAX)));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (0..50_000).collect::<Vec<u64>>());
    }
}
