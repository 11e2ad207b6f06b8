//! A run's per-second series kept in a file while the run lasts, so that what a run holds in
//! memory does not grow with its length: a second of intervals and server readings is ~3 kB,
//! 250 MB for a day-long soak run. The file sits beside the result file and is unlinked as
//! soon as it is open (a process killed outright leaves nothing to clean up); its records are
//! read back once, when the result is written (or by a second Ctrl-C's save).
//!
//! A write that fails (a full disk) does not lose the record: from then on records are kept in
//! memory and the file, still open, keeps those written before. Without a file (no folder, or
//! none could be made there) everything is in memory, as before this module existed.

use serde::{de::DeserializeOwned, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("cannot read the per-second series back from its file beside the result: {0}")]
    Read(#[from] std::io::Error),
}

/// What came back: the records, and how many lines of the file could not be decoded (left
/// out rather than failing the whole series).
#[derive(Debug)]
pub struct ReadBack<T> {
    pub records: Vec<T>,
    pub undecodable: usize,
}

/// An append-only series of records, in a file or in memory.
#[derive(Debug)]
pub struct Spill<T> {
    file: Option<File>,
    /// Bytes of whole records written to the file: a torn last line lies beyond it.
    end: u64,
    on_file: usize,
    /// The first failed write, after which the file takes no more records.
    write_error: Option<String>,
    /// Records after the file's: every record without one.
    mem: Vec<T>,
    line: Vec<u8>,
}

impl<T: Serialize + DeserializeOwned + Clone> Spill<T> {
    /// A series in an unlinked file in `dir`; in memory without a folder or a file there.
    pub fn in_dir(dir: Option<&Path>) -> Spill<T> {
        Spill {
            file: dir.and_then(unlinked_file),
            end: 0,
            on_file: 0,
            write_error: None,
            mem: Vec::new(),
            line: Vec::new(),
        }
    }

    /// A series written to `file` (tests: a file whose writes fail).
    #[cfg(test)]
    fn on(file: File) -> Spill<T> {
        let mut s = Spill::in_dir(None);
        s.file = Some(file);
        s
    }

    pub fn len(&self) -> usize {
        self.on_file + self.mem.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Why records stopped going to the file, when a write failed.
    pub fn write_error(&self) -> Option<&str> {
        self.write_error.as_deref()
    }

    pub fn push(&mut self, record: T) {
        let Some(f) = self.file.as_ref().filter(|_| self.write_error.is_none()) else {
            self.mem.push(record);
            return;
        };
        self.line.clear();
        let written = serde_json::to_writer(&mut self.line, &record)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                self.line.push(b'\n');
                f.write_all_at(&self.line, self.end)
                    .map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => {
                self.end += self.line.len() as u64;
                self.on_file += 1;
            }
            Err(e) => {
                self.write_error = Some(e);
                self.mem.push(record);
            }
        }
    }

    /// Every record so far, in order.
    pub fn read_back(&self) -> Result<ReadBack<T>, SpillError> {
        let mut r = self.read_file()?;
        r.records.extend(self.mem.iter().cloned());
        Ok(r)
    }

    pub fn into_records(self) -> Result<ReadBack<T>, SpillError> {
        let mut r = self.read_file()?;
        r.records.extend(self.mem);
        Ok(r)
    }

    fn read_file(&self) -> Result<ReadBack<T>, SpillError> {
        let mut out = ReadBack {
            records: Vec::with_capacity(self.len()),
            undecodable: 0,
        };
        let Some(file) = &self.file else {
            return Ok(out);
        };
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
            // A value serde_json cannot write (a non-finite float becomes null) costs its own
            // record only, not the series.
            match serde_json::from_slice(&line) {
                Ok(rec) => out.records.push(rec),
                Err(_) => out.undecodable += 1,
            }
        }
        Ok(out)
    }
}

/// Reads `file` from `pos` to `end` without moving its cursor, so reading back while the
/// collector appends needs no coordination beyond the lock both already hold.
struct At<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A new file in `dir`, open for reading and writing, already removed from the folder; None
/// where it cannot be made or removed (a file system that refuses to unlink an open file
/// would otherwise keep it after the run).
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
    if std::fs::remove_file(&path).is_err() {
        drop(f);
        let _ = std::fs::remove_file(&path);
        return None;
    }
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

    /// A folder of the test's own, removed when the test ends, passed or not.
    struct Dir(std::path::PathBuf);
    impl Dir {
        fn new(tag: &str) -> Dir {
            let d =
                std::env::temp_dir().join(format!("dbarena-spill-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
        fn entries(&self) -> usize {
            std::fs::read_dir(&self.0).unwrap().count()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn records_come_back_in_order_and_exactly_and_no_file_is_left() {
        let dir = Dir::new("order");
        let mut s = Spill::in_dir(Some(&dir.0));
        assert!(s.file.is_some());
        assert_eq!(dir.entries(), 0);
        for i in 0..1000 {
            s.push(rec(i));
        }
        assert_eq!(s.len(), 1000);
        // All of them in the file, none in memory.
        assert_eq!((s.on_file, s.mem.len()), (1000, 0));
        let back = s.read_back().unwrap();
        assert_eq!(back.records, (0..1000).map(rec).collect::<Vec<_>>());
        assert_eq!(back.undecodable, 0);
        // Reading back does not disturb later writes.
        s.push(rec(1000));
        let all = s.into_records().unwrap().records;
        assert_eq!(all.len(), 1001);
        assert_eq!(all[1000], rec(1000));
        assert_eq!(dir.entries(), 0);
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
        assert!(
            s.write_error().is_some_and(|e| e.contains("space")),
            "{:?}",
            s.write_error()
        );
        assert_eq!(s.len(), 5);
        let back = s.into_records().unwrap();
        assert_eq!(back.records, (0..5).map(rec).collect::<Vec<_>>());
    }

    #[test]
    fn records_written_before_a_failure_stay_in_the_file_and_come_first() {
        let dir = Dir::new("fail");
        let mut s = Spill::in_dir(Some(&dir.0));
        s.push(rec(0));
        s.push(rec(1));
        // The disk fills: the file is swapped for one that holds the same bytes but takes
        // no writes (opened read-only).
        let copy = dir.0.join("copy");
        let mut body = Vec::new();
        for r in s.read_back().unwrap().records {
            serde_json::to_writer(&mut body, &r).unwrap();
            body.push(b'\n');
        }
        std::fs::write(&copy, &body).unwrap();
        s.file = Some(std::fs::File::open(&copy).unwrap());
        s.push(rec(2));
        s.push(rec(3));
        assert!(s.write_error().is_some());
        assert_eq!((s.on_file, s.mem.len()), (2, 2));
        assert_eq!(
            s.into_records().unwrap().records,
            (0..4).map(rec).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_record_that_cannot_be_read_back_costs_only_itself() {
        let dir = Dir::new("nan");
        let mut s = Spill::in_dir(Some(&dir.0));
        s.push(rec(0));
        // serde_json writes a non-finite float as null, which an f64 cannot be read from.
        s.push(Rec {
            t: f64::NAN,
            ..rec(1)
        });
        s.push(rec(2));
        let back = s.into_records().unwrap();
        assert_eq!(back.records, vec![rec(0), rec(2)]);
        assert_eq!(back.undecodable, 1);
    }

    #[test]
    fn without_a_folder_the_series_is_in_memory() {
        let mut s = Spill::in_dir(None);
        s.push(rec(7));
        assert!(s.file.is_none());
        assert_eq!(s.into_records().unwrap().records, vec![rec(7)]);
        let missing = Path::new("/nonexistent/dbarena/folder");
        let mut s = Spill::in_dir(Some(missing));
        s.push(rec(8));
        assert!(s.file.is_none());
        assert_eq!(s.into_records().unwrap().records, vec![rec(8)]);
    }
}
