//! A run's per-second series kept in a file while the run lasts, so that what a run holds in
//! memory does not grow with its length: a second of intervals and server readings is ~3 kB,
//! 250 MB for a day-long soak run. The file sits beside the result file and is unlinked as
//! soon as it is open, so nothing is left behind whatever ends the process; its records are
//! read back once, when the result is written (or by a second Ctrl-C's save).
//!
//! Measurements are never lost to the file: without one (no folder given, or it could not be
//! created) and from the first write that fails (a full disk), records are kept in memory,
//! those already written read back first.

use serde::{de::DeserializeOwned, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// An append-only series of records, in a file or in memory.
#[derive(Debug)]
pub struct Spill<T> {
    file: Option<File>,
    /// Bytes of whole records written to the file.
    end: u64,
    len: usize,
    /// Every record when there is no file (since writing failed, those written before too).
    mem: Vec<T>,
    line: Vec<u8>,
}

impl<T: Serialize + DeserializeOwned + Clone> Spill<T> {
    /// A series kept in memory.
    pub fn in_memory() -> Spill<T> {
        Spill {
            file: None,
            end: 0,
            len: 0,
            mem: Vec::new(),
            line: Vec::new(),
        }
    }

    /// A series kept in an unlinked file in `dir` (in memory if none can be made there).
    pub fn in_dir(dir: Option<&Path>) -> Spill<T> {
        let mut s = Spill::in_memory();
        s.file = dir.and_then(unlinked_file);
        s
    }

    /// A series written to `file` (tests: a file whose writes fail).
    #[cfg(test)]
    fn on(file: File) -> Spill<T> {
        let mut s = Spill::in_memory();
        s.file = Some(file);
        s
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the records are in a file (false once a write failed).
    pub fn on_disk(&self) -> bool {
        self.file.is_some()
    }

    pub fn push(&mut self, record: T) {
        self.len += 1;
        let Some(f) = &self.file else {
            self.mem.push(record);
            return;
        };
        self.line.clear();
        let written = serde_json::to_writer(&mut self.line, &record)
            .map_err(std::io::Error::other)
            .and_then(|()| {
                self.line.push(b'\n');
                f.write_all_at(&self.line, self.end)
            });
        match written {
            Ok(()) => self.end += self.line.len() as u64,
            Err(_) => {
                // A full disk (or any failing write): from here on in memory, with what the
                // file holds so far read back first.
                self.mem = self.read_file().unwrap_or_default();
                self.file = None;
                self.mem.push(record);
                self.len = self.mem.len();
            }
        }
    }

    /// Every record so far, in order.
    pub fn to_vec(&self) -> std::io::Result<Vec<T>> {
        match self.file {
            Some(_) => self.read_file(),
            None => Ok(self.mem.clone()),
        }
    }

    pub fn into_vec(self) -> std::io::Result<Vec<T>> {
        match self.file {
            Some(_) => self.read_file(),
            None => Ok(self.mem),
        }
    }

    fn read_file(&self) -> std::io::Result<Vec<T>> {
        let Some(file) = &self.file else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(self.len);
        let mut r = BufReader::with_capacity(
            64 * 1024,
            At {
                file,
                pos: 0,
                end: self.end,
            },
        );
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            out.push(serde_json::from_slice(&line).map_err(std::io::Error::other)?);
        }
        Ok(out)
    }
}

/// Reads `file` from `pos` to `end` without moving its cursor.
struct At<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A new file in `dir`, open for reading and writing, already removed from the folder.
fn unlinked_file(dir: &Path) -> Option<File> {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        ".dbarena-series-{}-{}.tmp",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .ok()?;
    std::fs::remove_file(&path).ok()?;
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Rec {
        t: f64,
        n: u64,
        s: String,
    }

    fn rec(i: u64) -> Rec {
        Rec {
            // Values whose decimal form is long: read back to the bit.
            t: i as f64 / 3.0 + 0.1,
            n: i,
            s: format!("r{i}\n\"quoted\""),
        }
    }

    #[test]
    fn records_come_back_in_order_and_exactly_and_no_file_is_left() {
        let dir = std::env::temp_dir().join(format!("dbarena-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Spill::in_dir(Some(&dir));
        assert!(s.on_disk());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        for i in 0..1000 {
            s.push(rec(i));
        }
        assert_eq!(s.len(), 1000);
        let back = s.to_vec().unwrap();
        assert_eq!(back, (0..1000).map(rec).collect::<Vec<_>>());
        // Reading back does not disturb later writes.
        s.push(rec(1000));
        let all = s.into_vec().unwrap();
        assert_eq!(all.len(), 1001);
        assert_eq!(all[1000], rec(1000));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn a_failing_write_keeps_every_record_in_memory() {
        // Every write to /dev/full fails with "no space left on device".
        let full = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut s = Spill::on(full);
        for i in 0..5 {
            s.push(rec(i));
        }
        assert!(!s.on_disk());
        assert_eq!(s.len(), 5);
        assert_eq!(s.into_vec().unwrap(), (0..5).map(rec).collect::<Vec<_>>());
    }

    #[test]
    fn records_written_before_a_failure_are_read_back_first() {
        let dir = std::env::temp_dir().join(format!("dbarena-spill-f-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Spill::in_dir(Some(&dir));
        s.push(rec(0));
        s.push(rec(1));
        // The disk fills: the file is swapped for one whose writes fail, keeping what the
        // first holds readable through it (the same bytes at the same offsets).
        let written = s.to_vec().unwrap();
        let tmp = dir.join("copy");
        let mut body = Vec::new();
        for r in &written {
            serde_json::to_writer(&mut body, r).unwrap();
            body.push(b'\n');
        }
        std::fs::write(&tmp, &body).unwrap();
        s.file = Some(std::fs::File::open(&tmp).unwrap());
        s.push(rec(2));
        assert!(!s.on_disk());
        assert_eq!(s.to_vec().unwrap(), (0..3).map(rec).collect::<Vec<_>>());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_folder_the_series_is_in_memory() {
        let mut s = Spill::in_dir(None);
        s.push(rec(7));
        assert!(!s.on_disk());
        assert_eq!(s.into_vec().unwrap(), vec![rec(7)]);
        let missing = Path::new("/nonexistent/dbarena/folder");
        let mut s = Spill::in_dir(Some(missing));
        s.push(rec(8));
        assert!(!s.on_disk());
        assert_eq!(s.into_vec().unwrap(), vec![rec(8)]);
    }
}
