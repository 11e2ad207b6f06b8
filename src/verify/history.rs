//! Histories of list-append transactions: the JSON-lines format dbarena writes, and the JSON
//! format of elle-cli, read into one model.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::io::{BufRead, Write};
use std::path::Path;
use thiserror::Error;

/// Whether an operation starts or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// A micro-operation: append `v` to key `k`, or read key `k` (the list, once known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mop {
    Append(u64, u64),
    Read(u64, Option<Vec<u64>>),
}

impl Mop {
    pub fn key(&self) -> u64 {
        match self {
            Mop::Append(k, _) | Mop::Read(k, _) => *k,
        }
    }
}

/// One history entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub index: usize,
    pub process: u64,
    pub typ: OpType,
    /// Nanoseconds since the start of the run.
    pub time: u64,
    pub value: Vec<Mop>,
}

/// A whole history, in order.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub ops: Vec<Op>,
}

/// A history file that cannot be read.
#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("cannot read history {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{path}:{line}: {why}")]
    Bad {
        path: String,
        line: usize,
        why: String,
    },
}

fn mop_to_json(m: &Mop) -> Json {
    match m {
        Mop::Append(k, v) => json!(["append", k, v]),
        Mop::Read(k, None) => json!(["r", k, null]),
        Mop::Read(k, Some(l)) => json!(["r", k, l]),
    }
}

/// Strips elle-cli's keyword colons: ":ok" -> "ok".
fn word(v: &Json) -> Option<&str> {
    v.as_str().map(|s| s.trim_start_matches(':'))
}

fn parse_mop(v: &Json) -> Result<Mop, String> {
    let a = v
        .as_array()
        .ok_or("a micro-op must be a list like [\"append\", k, v]")?;
    let f = a
        .first()
        .and_then(word)
        .ok_or("micro-op without a function")?;
    let k = a
        .get(1)
        .and_then(Json::as_u64)
        .ok_or("micro-op key must be a non-negative integer")?;
    match f {
        "append" => Ok(Mop::Append(
            k,
            a.get(2)
                .and_then(Json::as_u64)
                .ok_or("append value must be a non-negative integer")?,
        )),
        "r" => match a.get(2) {
            None | Some(Json::Null) => Ok(Mop::Read(k, None)),
            Some(Json::Array(l)) => Ok(Mop::Read(
                k,
                Some(
                    l.iter()
                        .map(|x| x.as_u64().ok_or("read values must be integers"))
                        .collect::<Result<Vec<u64>, _>>()?,
                ),
            )),
            Some(_) => Err("read value must be a list or null".into()),
        },
        other => Err(format!("unknown micro-op '{other}' (expected append or r)")),
    }
}

fn parse_op(v: &Json, fallback_index: usize) -> Result<Op, String> {
    let typ = match v.get("type").and_then(word) {
        Some("invoke") => OpType::Invoke,
        Some("ok") => OpType::Ok,
        Some("fail") => OpType::Fail,
        Some("info") => OpType::Info,
        other => {
            return Err(format!(
                "unknown op type {other:?} (expected invoke, ok, fail or info)"
            ))
        }
    };
    let process = match v.get("process") {
        Some(Json::Number(n)) => n.as_u64().ok_or("process must be a non-negative integer")?,
        // elle-cli histories may carry nemesis ops; they are not transactions.
        Some(Json::String(_)) => u64::MAX,
        _ => return Err("op without a process".into()),
    };
    let value = match v.get("value") {
        Some(Json::Array(ms)) => ms.iter().map(parse_mop).collect::<Result<Vec<_>, _>>()?,
        None | Some(Json::Null) => Vec::new(),
        Some(_) => return Err("value must be a list of micro-ops".into()),
    };
    Ok(Op {
        index: v
            .get("index")
            .and_then(Json::as_u64)
            .map(|i| i as usize)
            .unwrap_or(fallback_index),
        process,
        typ,
        time: v.get("time").and_then(Json::as_u64).unwrap_or(0),
        value,
    })
}

impl History {
    /// Reads dbarena's JSON lines, or a JSON array of ops as elle-cli writes it.
    pub fn load(path: &Path) -> Result<History, HistoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| HistoryError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses either format; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<History, HistoryError> {
        let bad = |line: usize, why: String| HistoryError::Bad {
            path: origin.into(),
            line,
            why,
        };
        let mut ops = Vec::new();
        if text.trim_start().starts_with('[') {
            let all: Json = serde_json::from_str(text).map_err(|e| bad(e.line(), e.to_string()))?;
            for (i, v) in all.as_array().into_iter().flatten().enumerate() {
                ops.push(parse_op(v, i).map_err(|w| bad(1, format!("op {i}: {w}")))?);
            }
        } else {
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: Json = serde_json::from_str(line).map_err(|e| bad(n + 1, e.to_string()))?;
                ops.push(parse_op(&v, ops.len()).map_err(|w| bad(n + 1, w))?);
            }
        }
        ops.retain(|o| o.process != u64::MAX);
        Ok(History { ops })
    }

    /// Writes the history to a new file at `path` as JSON lines, atomically; an existing file
    /// is never replaced.
    pub fn save(&self, path: &Path) -> Result<(), crate::Error> {
        let mut buf = Vec::new();
        self.write(&mut buf)
            .and_then(|_| crate::util::fsx::write_new(path, &buf))
            .map_err(|e| crate::Error::Io {
                path: path.display().to_string(),
                source: e,
            })
    }

    /// Writes JSON lines (one op each).
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for o in &self.ops {
            let v = json!({
                "index": o.index,
                "process": o.process,
                "type": o.typ,
                "time": o.time,
                "value": o.value.iter().map(mop_to_json).collect::<Vec<_>>(),
            });
            writeln!(out, "{v}")?;
        }
        Ok(())
    }

    /// Reads JSON lines from a reader (streaming large files).
    pub fn read_lines(r: impl BufRead, origin: &str) -> Result<History, HistoryError> {
        let mut text = String::new();
        for line in r.lines() {
            let line = line.map_err(|e| HistoryError::Read {
                path: origin.into(),
                detail: e.to_string(),
            })?;
            text.push_str(&line);
            text.push('\n');
        }
        Self::parse(&text, origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_read() {
        let jsonl = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"time\":5,\"value\":[[\"append\",3,1],[\"r\",3,null]]}\n\
                     {\"index\":1,\"process\":1,\"type\":\"ok\",\"time\":9,\"value\":[[\"append\",3,1],[\"r\",3,[1]]]}\n";
        let h = History::parse(jsonl, "h").unwrap();
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[1].value[1], Mop::Read(3, Some(vec![1])));
        let mut buf = Vec::new();
        h.write(&mut buf).unwrap();
        let again = History::parse(std::str::from_utf8(&buf).unwrap(), "h").unwrap();
        assert_eq!(again.ops, h.ops);
        let elle = r#"[{"type":":invoke","f":":txn","value":[[":append",1,2]],"process":0,"time":1,"index":0},
                       {"type":":ok","f":":txn","value":[[":append",1,2]],"process":0,"time":2,"index":1},
                       {"type":":info","f":":kill","value":null,"process":":nemesis","time":3,"index":2}]"#;
        let h = History::parse(elle, "e").unwrap();
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[1].typ, OpType::Ok);
        let err = History::parse("{\"process\":1,\"type\":\"done\"}\n", "x.jsonl")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("x.jsonl:1:") && err.contains("done"),
            "{err}"
        );
    }
}
