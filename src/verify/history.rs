//! Histories of list-append transactions: the JSON-lines format dbarena writes, and the JSON
//! format of elle-cli, read into one model.

use super::parse::{self, ParseError, RawF, RawKey, RawOp, RawProcess, RawType, RawVal};
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
    /// rw-register: a write of a unique value.
    Write(u64, u64),
    /// rw-register: a read of one value (None: unknown before completion, or no value).
    ReadRegister(u64, Option<u64>),
}

impl Mop {
    pub fn key(&self) -> u64 {
        match self {
            Mop::Append(k, _) | Mop::Read(k, _) | Mop::Write(k, _) | Mop::ReadRegister(k, _) => *k,
        }
    }
}

/// One history entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub index: usize,
    pub process: u64,
    pub typ: OpType,
    /// Nanoseconds: since the Unix epoch in histories dbarena records (a monotonic clock
    /// from the wall-clock time the run began, so agents' histories merge in real-time
    /// order); any origin in histories read from elsewhere.
    pub time: u64,
    pub value: Vec<Mop>,
    /// Why a `fail` or `info` op ended so: its error class (`serialization`, `deadlock`,
    /// `lock_timeout`, `connection_lost`, `abandoned` …), so the summary can tell the
    /// database's conflict handling apart from faults.
    pub error: Option<String>,
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
    #[error("{first} and {second} both have process {process}: they are not agents of one run (give each agent its own --segment I/N)")]
    SharedProcess {
        first: String,
        second: String,
        process: u64,
    },
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
        Mop::Write(k, v) => json!(["w", k, v]),
        Mop::ReadRegister(k, v) => json!(["r", k, v]),
    }
}

fn from_raw(o: RawOp, pos: usize, origin: &str) -> Result<Option<Op>, HistoryError> {
    let RawProcess::Client(process) = o.process else {
        return Ok(None);
    };
    let bad = |why: &str| HistoryError::Bad {
        path: origin.into(),
        line: o.line as usize,
        why: why.into(),
    };
    let mut value = Vec::new();
    for m in o.mops.unwrap_or_default() {
        let RawKey::Int(k) = m.key else {
            return Err(bad("this history has string keys; use `dbarena check`"));
        };
        let k = u64::try_from(k).map_err(|_| bad("negative key"))?;
        value.push(match (m.f, m.val) {
            (RawF::Append, RawVal::Int(v)) => Mop::Append(k, v),
            (RawF::Read, RawVal::List(l)) => Mop::Read(k, Some(l)),
            (RawF::Read, RawVal::Null) => Mop::Read(k, None),
            (RawF::Write, RawVal::Int(v)) => Mop::Write(k, v),
            (RawF::Read, RawVal::Int(v)) => Mop::ReadRegister(k, Some(v)),
            _ => return Err(bad("not a list-append micro-op")),
        });
    }
    Ok(Some(Op {
        index: o.index.map(|i| i as usize).unwrap_or(pos),
        process,
        typ: match o.typ {
            RawType::Invoke => OpType::Invoke,
            RawType::Ok => OpType::Ok,
            RawType::Fail => OpType::Fail,
            RawType::Info => OpType::Info,
        },
        time: o.time.unwrap_or(0),
        value,
        error: o.error,
    }))
}

impl History {
    /// The histories of several agents of one run (`--segment`) as one: their operations in
    /// the order of their times (wall-clock aligned nanoseconds), indexed afresh. Agents
    /// keep their process ids apart; a process in two histories means they are not one run.
    pub fn merge(parts: Vec<(String, History)>) -> Result<History, HistoryError> {
        let mut owner: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
        for (i, (_, h)) in parts.iter().enumerate() {
            for o in &h.ops {
                if let Some(&j) = owner.get(&o.process) {
                    if j != i {
                        return Err(HistoryError::SharedProcess {
                            first: parts[j].0.clone(),
                            second: parts[i].0.clone(),
                            process: o.process,
                        });
                    }
                } else {
                    owner.insert(o.process, i);
                }
            }
        }
        // Each part is in order already; a stable sort by time keeps a process's own order
        // even where two of its operations share a time.
        let mut ops: Vec<Op> = parts.into_iter().flat_map(|(_, h)| h.ops).collect();
        ops.sort_by_key(|o| o.time);
        for (i, o) in ops.iter_mut().enumerate() {
            o.index = i;
        }
        Ok(History { ops })
    }

    /// Reads the histories of several agents of one run and merges them ([`History::merge`]).
    pub fn merge_files(paths: &[std::path::PathBuf]) -> Result<History, HistoryError> {
        let mut parts = Vec::new();
        for p in paths {
            parts.push((p.display().to_string(), History::load(p)?));
        }
        History::merge(parts)
    }

    /// Reads dbarena's JSON lines, or a JSON array of ops as elle-cli writes it, into memory
    /// (list-append with integer keys; `verify::check_file` streams any history instead).
    pub fn load(path: &Path) -> Result<History, HistoryError> {
        let f = std::fs::File::open(path).map_err(|e| HistoryError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::read(f, &path.display().to_string())
    }

    /// Parses either format; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<History, HistoryError> {
        Self::read(text.as_bytes(), origin)
    }

    fn read(src: impl std::io::Read + Send, origin: &str) -> Result<History, HistoryError> {
        let mut ops = Vec::new();
        let mut pos = 0usize;
        let mut conv: Option<HistoryError> = None;
        parse::stream(src, origin, 1, |batch| {
            for o in batch {
                if conv.is_some() {
                    break;
                }
                match from_raw(o, pos, origin) {
                    Ok(Some(op)) => ops.push(op),
                    Ok(None) => {}
                    Err(e) => conv = Some(e),
                }
                pos += 1;
            }
            Ok(())
        })
        .map_err(|e| match e {
            ParseError::Read { path, detail } => HistoryError::Read { path, detail },
            ParseError::Bad { path, line, why } => HistoryError::Bad {
                path,
                line: line as usize,
                why,
            },
        })?;
        match conv {
            Some(e) => Err(e),
            None => Ok(History { ops }),
        }
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
            let mut v = json!({
                "index": o.index,
                "process": o.process,
                "type": o.typ,
                "time": o.time,
                "value": o.value.iter().map(mop_to_json).collect::<Vec<_>>(),
            });
            if let (Some(e), Some(m)) = (&o.error, v.as_object_mut()) {
                m.insert("error".into(), json!(e));
            }
            writeln!(out, "{v}")?;
        }
        Ok(())
    }

    /// Reads JSON lines from a reader.
    pub fn read_lines(r: impl BufRead + Send, origin: &str) -> Result<History, HistoryError> {
        Self::read(r, origin)
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
