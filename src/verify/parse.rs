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
        let mut value: Option<TxnValue> = None;
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
            (RawProcess::Other, _) | (_, None) | (_, Some(TxnValue::Null)) => None,
            (_, Some(TxnValue::Txn(v))) => Some(v),
            (_, Some(TxnValue::Bad(why))) => return Err(de::Error::custom(why)),
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

/// An operation's value, read leniently in one pass: a transaction, null, or something else
/// (a nemesis payload of any shape, consumed), with why it is not a transaction.
enum TxnValue {
    Null,
    Txn(Vec<RawMop>),
    Bad(String),
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut s: A) -> Result<(), A::Error> {
    while s.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut m: A) -> Result<(), A::Error> {
    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

const NOT_TXN: &str = "value must be a list of micro-ops";

impl<'de> Deserialize<'de> for TxnValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TxnValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of micro-ops")
            }
            fn visit_unit<E: de::Error>(self) -> Result<TxnValue, E> {
                Ok(TxnValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<TxnValue, E> {
                Ok(TxnValue::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<TxnValue, A::Error> {
                let mut v = Vec::with_capacity(s.size_hint().unwrap_or(4));
                let mut bad = None;
                while let Some(m) = s.next_element::<LenientMop>()? {
                    match m {
                        LenientMop::Ok(m) => v.push(m),
                        LenientMop::Bad(why) => {
                            bad.get_or_insert(why);
                        }
                    }
                }
                Ok(match bad {
                    Some(why) => TxnValue::Bad(why),
                    None => TxnValue::Txn(v),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<TxnValue, A::Error> {
                skip_map(m)?;
                Ok(TxnValue::Bad(NOT_TXN.into()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<TxnValue, E> {
                Ok(TxnValue::Bad(NOT_TXN.into()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<TxnValue, E> {
                Ok(TxnValue::Bad(NOT_TXN.into()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<TxnValue, E> {
                Ok(TxnValue::Bad(NOT_TXN.into()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<TxnValue, E> {
                Ok(TxnValue::Bad(NOT_TXN.into()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<TxnValue, E> {
                Ok(TxnValue::Bad(NOT_TXN.into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One element of a value's list: a micro-op, or why it is not one (input consumed).
enum LenientMop {
    Ok(RawMop),
    Bad(String),
}

/// A micro-op part that may have the wrong shape (input consumed either way).
enum Part<T> {
    Ok(T),
    Bad,
}

macro_rules! lenient_rest {
    ($t:ty) => {
        fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Part<$t>, A::Error> {
            skip_seq(s)?;
            Ok(Part::Bad)
        }
        fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Part<$t>, A::Error> {
            skip_map(m)?;
            Ok(Part::Bad)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Part<$t>, E> {
            Ok(Part::Bad)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Part<$t>, E> {
            Ok(Part::Bad)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Part<$t>, E> {
            Ok(Part::Bad)
        }
    };
}

struct LenientFn(Part<RawF>);
impl<'de> Deserialize<'de> for LenientFn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Part<RawF>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a micro-op function")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Part<RawF>, E> {
                Ok(match word(s) {
                    "append" => Part::Ok(RawF::Append),
                    "r" | "read" => Part::Ok(RawF::Read),
                    "w" | "write" => Part::Ok(RawF::Write),
                    _ => Part::Bad,
                })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Part<RawF>, E> {
                Ok(Part::Bad)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Part<RawF>, E> {
                Ok(Part::Bad)
            }
            lenient_rest!(RawF);
        }
        d.deserialize_any(V).map(LenientFn)
    }
}

struct LenientKey(Part<RawKey>);
impl<'de> Deserialize<'de> for LenientKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Part<RawKey>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Part<RawKey>, E> {
                Ok(i64::try_from(v)
                    .map(|v| Part::Ok(RawKey::Int(v)))
                    .unwrap_or(Part::Bad))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Part<RawKey>, E> {
                Ok(Part::Ok(RawKey::Int(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Part<RawKey>, E> {
                Ok(Part::Ok(RawKey::Str(v.to_string())))
            }
            lenient_rest!(RawKey);
        }
        d.deserialize_any(V).map(LenientKey)
    }
}

/// A list element: a non-negative integer, or not.
struct LenientInt(Part<u64>);
impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Part<u64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Part<u64>, E> {
                Ok(Part::Ok(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Part<u64>, E> {
                Ok(u64::try_from(v).map(Part::Ok).unwrap_or(Part::Bad))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Part<u64>, E> {
                Ok(Part::Bad)
            }
            lenient_rest!(u64);
        }
        d.deserialize_any(V).map(LenientInt)
    }
}

struct LenientVal(Part<RawVal>);
impl<'de> Deserialize<'de> for LenientVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Part<RawVal>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null, an integer or a list of integers")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Part<RawVal>, E> {
                Ok(Part::Ok(RawVal::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Part<RawVal>, E> {
                Ok(Part::Ok(RawVal::Null))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Part<RawVal>, E> {
                Ok(Part::Ok(RawVal::Int(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Part<RawVal>, E> {
                Ok(u64::try_from(v)
                    .map(|v| Part::Ok(RawVal::Int(v)))
                    .unwrap_or(Part::Bad))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Part<RawVal>, E> {
                Ok(Part::Bad)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Part<RawVal>, A::Error> {
                let mut v = Vec::with_capacity(s.size_hint().unwrap_or(8));
                let mut ok = true;
                while let Some(x) = s.next_element::<LenientInt>()? {
                    match x.0 {
                        Part::Ok(x) => v.push(x),
                        Part::Bad => ok = false,
                    }
                }
                Ok(if ok {
                    Part::Ok(RawVal::List(v))
                } else {
                    Part::Bad
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Part<RawVal>, A::Error> {
                skip_map(m)?;
                Ok(Part::Bad)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Part<RawVal>, E> {
                Ok(Part::Bad)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Part<RawVal>, E> {
                Ok(Part::Bad)
            }
        }
        d.deserialize_any(V).map(LenientVal)
    }
}

impl<'de> Deserialize<'de> for LenientMop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientMop;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a micro-op")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<LenientMop, A::Error> {
                let bad = |why: &str| Ok(LenientMop::Bad(why.to_string()));
                let f = match s.next_element::<LenientFn>()? {
                    Some(LenientFn(Part::Ok(f))) => f,
                    Some(_) => {
                        skip_seq(s)?;
                        return bad("unknown micro-op (expected append, r or w)");
                    }
                    None => return bad("micro-op without a function"),
                };
                let key = match s.next_element::<LenientKey>()? {
                    Some(LenientKey(Part::Ok(k))) => k,
                    Some(_) => {
                        skip_seq(s)?;
                        return bad("micro-op key must be an integer or a string");
                    }
                    None => return bad("micro-op without a key"),
                };
                let val = match s.next_element::<LenientVal>()? {
                    Some(LenientVal(Part::Ok(v))) => v,
                    None => RawVal::Null,
                    Some(_) => {
                        skip_seq(s)?;
                        return bad(
                            "micro-op values must be null, non-negative integers or lists of them",
                        );
                    }
                };
                skip_seq(s)?;
                if f != RawF::Read && val == RawVal::Null {
                    return bad("append/write without a value");
                }
                if f != RawF::Read && matches!(val, RawVal::List(_)) {
                    return bad("append/write value must be an integer");
                }
                Ok(LenientMop::Ok(RawMop { f, key, val }))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<LenientMop, A::Error> {
                skip_map(m)?;
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<LenientMop, E> {
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LenientMop, E> {
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LenientMop, E> {
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LenientMop, E> {
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LenientMop, E> {
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientMop, E> {
                Ok(LenientMop::Bad(
                    "a micro-op must be a list like [\"append\", k, v]".into(),
                ))
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

const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Bytes that matter to the scanner outside strings, and inside them.
static STRUCTURE: [bool; 256] = table(b"\"{}[]\n");
static IN_STRING: [bool; 256] = table(b"\"\\\n");

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
                // Skip the bytes that change nothing (digits, commas, letters…) in one tight
                // loop; strings only care about quotes and backslashes.
                let table = if in_str && !esc {
                    &IN_STRING
                } else {
                    &STRUCTURE
                };
                let buf = &self.buf[..];
                while i < buf.len() && !table[buf[i] as usize] && !esc {
                    i += 1;
                }
                if i >= buf.len() {
                    continue;
                }
                let b = buf[i];
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
        let e = all("{\"process\":1,\"type\":\"ok\",\"value\":\":x\"}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("list of micro-ops"), "{e}");
        let e = all("{\"process\":1,\"type\":\"ok\",\"value\":[[\"cas\",1,[2,3]]]}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown micro-op"), "{e}");
        let e = all("{\"process\":1,\"type\":\"ok\",\"value\":[[\"r\",1,[2,\"x\"]]]}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-negative integers"), "{e}");
        // A nemesis value of any shape, even one that looks like a broken transaction.
        let ok = all("{\"process\":\"nemesis\",\"type\":\"info\",\"value\":[[\"cas\",{\"a\":[1]}],2.5,true]}").unwrap();
        assert_eq!(ok[0].mops, None);
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
