//! File writes that never leave half a file, a temporary file, or an overwritten result behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary file a write to `path` goes through (same directory, so a rename is atomic).
fn temp_for(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    // Unique per call: two writers in one process never share a temporary file.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_file_name(format!(".{file_name}.tmp{}-{n}", std::process::id()))
}

fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// Writes `bytes` to a fresh temporary file next to `path`; removes it again on failure.
fn write_temp(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    write_temp_mode(path, bytes, 0o666)
}

/// `write_temp` with the file created with `mode` (before the umask), so a secret is never
/// readable by others, not even for a moment.
fn write_temp_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    create_parent(path)?;
    let tmp = temp_for(path);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename (replacing `path`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_temp(path, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `write_atomic` for a file that holds a secret (a password in a database URL): mode 0600.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_temp_mode(path, bytes, 0o600)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Writes `bytes` to `path` atomically, failing with `AlreadyExists` rather than replacing a
/// file that is there (a hard link publishes the file only if the name is free).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_temp(path, bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Checks, before a run, that a new file can be written at `path`: its folder exists or can
/// be created, is writable, and the name is not taken.
pub fn check_new_file(path: &Path) -> Result<(), String> {
    if path.exists() {
        return Err(format!(
            "{} already exists and dbarena never overwrites a result; remove it or choose another --out",
            path.display()
        ));
    }
    create_parent(path).map_err(|e| {
        format!(
            "cannot create the folder of {} ({e}); choose another --out",
            path.display()
        )
    })?;
    let probe = path.with_file_name(format!(".dbarena-probe{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| {
        format!(
            "cannot write in the folder of {} ({e}); choose a writable --out",
            path.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The first of `path`, `path-2`, `path-3`… that is not taken.
pub fn free_name(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| path.with_file_name(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_never_replace_and_leave_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("dbarena-fsx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("a/r.json");
        assert!(check_new_file(&p).is_ok());
        write_new(&p, b"one").unwrap();
        let e = write_new(&p, b"two").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        assert!(check_new_file(&p).unwrap_err().contains("already exists"));
        assert_eq!(free_name(&p), dir.join("a/r-2.json"));
        let names: Vec<_> = std::fs::read_dir(dir.join("a")).unwrap().collect();
        assert_eq!(names.len(), 1, "only r.json is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
