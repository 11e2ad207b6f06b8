//! Where an instance's files live and who may read them.
//!
//! ```text
//! $DBARENA_HOME/instances/NAME/      dbarena's folder (0700; 0711 when a server user must pass)
//!   .dbarena-instance                marker: dbarena created this folder (and may delete it)
//!   meta.json                        what `Instance` remembers
//!   password                         the generated password (0600, never printed)
//!   server/                          the server's folder, owned by the server's user (0700):
//!     .dbarena-instance              data/ (the cluster), run/ (sockets, pid; 0700),
//!                                    tmp/, server.log
//! ```
//!
//! As root the servers run as `postgres` / `mysql`, which must be able to reach their folder.
//! When the registry is out of their reach (the default `~/.dbarena` under a 0700 `/root`),
//! the server's folder goes to [`SERVER_BASE`] instead, recorded in `meta.json`.

use super::{failed, InstanceError};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file that marks a folder as created by dbarena.
pub const MARKER: &str = ".dbarena-instance";

/// Where server folders go when the server's user cannot reach the registry.
pub const SERVER_BASE: &str = "/var/lib/dbarena";

/// Where instances live: `$DBARENA_HOME/instances`, else `~/.dbarena/instances`.
pub fn registry() -> PathBuf {
    let home = std::env::var_os("DBARENA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".dbarena")))
        .unwrap_or_else(|| PathBuf::from(".dbarena"));
    // Absolute: the paths are given to servers that run from another folder.
    let reg = home.join("instances");
    std::path::absolute(&reg).unwrap_or(reg)
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> InstanceError {
    move |e| failed(what, e.to_string())
}

/// Whether `dir` is a folder (not a link) that dbarena marked as its own.
pub fn is_marked(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Creates `dir` (which must not exist yet: two `up` with one name cannot both win) with
/// `mode`, and marks it.
pub fn create_marked(dir: &Path, mode: u32) -> Result<(), InstanceError> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    std::fs::create_dir(dir).map_err(io(format!("creating {}", dir.display())))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(io(format!("setting the permissions of {}", dir.display())))?;
    std::fs::write(
        dir.join(MARKER),
        "created by dbarena; `dbarena instance down` removes it\n",
    )
    .map_err(io(format!("marking {}", dir.display())))
}

/// Removes a folder dbarena created, and nothing else.
pub fn remove_marked(dir: &Path) -> Result<(), InstanceError> {
    if !dir.exists() {
        return Ok(());
    }
    if !is_marked(dir) {
        return Err(InstanceError::NotOurs(dir.to_path_buf()));
    }
    std::fs::remove_dir_all(dir).map_err(io(format!("removing {}", dir.display())))
}

/// Writes a secret to a new file only its owner can read (0600).
pub fn write_secret(path: &Path, secret: &str) -> Result<(), InstanceError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("creating {}", path.display())))?;
    f.write_all(secret.as_bytes())
        .map_err(io(format!("writing {}", path.display())))
}

/// A new random password of 24 letters and digits (safe in a URL without escaping).
pub fn generate_password() -> Result<String, InstanceError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; 48];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(io("reading /dev/urandom for a password".into()))?;
    // 62 letters: drop bytes of 248 and above so every letter is equally likely.
    let pw: String = bytes
        .iter()
        .filter(|&&b| b < 248)
        .take(24)
        .map(|&b| ALPHABET[(b % 62) as usize] as char)
        .collect();
    if pw.len() < 24 {
        return generate_password();
    }
    Ok(pw)
}

/// A random tag for folder names outside the registry.
fn tag() -> Result<String, InstanceError> {
    Ok(generate_password()?.to_lowercase()[..8].to_string())
}

/// Whether `user` can reach (search) `path`, every folder on the way included.
pub fn can_reach(user: &str, path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Chooses the server's folder for an instance in `dir`: `dir/server`, or, when the server
/// runs as `user` (dbarena is root) and cannot reach the registry, a folder of its own
/// under [`SERVER_BASE`]. Returns the folder and whether it is inside `dir`.
pub fn server_dir(
    name: &str,
    dir: &Path,
    user: Option<&str>,
) -> Result<(PathBuf, bool), InstanceError> {
    let Some(user) = user else {
        return Ok((dir.join("server"), true));
    };
    let registry = dir.parent().unwrap_or(dir);
    if can_reach(user, registry) {
        return Ok((dir.join("server"), true));
    }
    let base = Path::new(SERVER_BASE);
    std::fs::create_dir_all(base).map_err(io(format!("creating {}", base.display())))?;
    if !can_reach(user, base) {
        return Err(InstanceError::Unreachable {
            user: user.into(),
            path: base.to_path_buf(),
        });
    }
    Ok((base.join(format!("{name}-{}", tag()?)), false))
}

/// Creates and marks the server's folder, with `run/` for sockets and `tmp/`, 0700 and owned by
/// the server's `user` (when dbarena is root).
pub fn create_server_dir(path: &Path, user: Option<&str>) -> Result<(), InstanceError> {
    create_marked(path, 0o700)?;
    for sub in ["run", "tmp"] {
        let p = path.join(sub);
        std::fs::create_dir(&p).map_err(io(format!("creating {}", p.display())))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("setting the permissions of {}", p.display())))?;
    }
    if let Some(user) = user {
        chown(path, user)?;
    }
    Ok(())
}

/// Hands `path` (recursively) to `user` and its group.
pub fn chown(path: &Path, user: &str) -> Result<(), InstanceError> {
    let out = Command::new("chown")
        .args(["-R", &format!("{user}:")])
        .arg(path)
        .output()
        .map_err(io(format!("chown {user} {}", path.display())))?;
    if !out.status.success() {
        return Err(failed(
            format!("handing {} to the {user} user", path.display()),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_url_safe() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
    }

    #[test]
    fn secrets_are_owner_only_and_unmarked_folders_are_not_removed() {
        let dir = std::env::temp_dir().join(format!("dbarena-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("password");
        write_secret(&secret, "pw").unwrap();
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Not created by dbarena: refused, and left alone.
        let e = remove_marked(&dir).unwrap_err().to_string();
        assert!(e.contains("not an instance dbarena created"), "{e}");
        assert!(secret.exists());
        let mine = dir.join("mine");
        create_marked(&mine, 0o700).unwrap();
        assert!(is_marked(&mine));
        remove_marked(&mine).unwrap();
        assert!(!mine.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
