//! Processes of a server: running tools as the server's user, their error lines, whether the
//! server runs or is paused (from /proc), signals to it and its children.

use super::{failed, InstanceError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether dbarena runs as root (the effective uid, from /proc/self/status, without libc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The name of the effective user (`id -un`), for tools that want one.
pub fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| std::env::var("USER").unwrap_or_default())
}

/// Finds a server binary in `dirs` (a `*` picks the newest version folder) or on PATH.
pub fn find(binary: &str, package: &str, dirs: &[&str]) -> Result<PathBuf, InstanceError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if let Some((base, _)) = d.split_once('*') {
            if let Ok(rd) = std::fs::read_dir(base) {
                let mut vers: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .collect();
                vers.sort();
                vers.reverse();
                candidates.extend(vers);
            }
        } else {
            candidates.push(PathBuf::from(d));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
        .ok_or_else(|| InstanceError::MissingBinary {
            binary: binary.into(),
            package: package.into(),
        })
}

/// A command that runs `program` as `user` when dbarena is root (servers refuse root), and
/// as dbarena's own user otherwise; through `prefix` (for example `ip netns exec NS`, which
/// places the server in a network namespace) unless it is empty.
pub fn command_in(prefix: &[String], user: Option<&str>, program: &Path) -> Command {
    let mut words: Vec<std::ffi::OsString> = prefix.iter().map(Into::into).collect();
    if let Some(u) = user.filter(|_| is_root()) {
        words.extend(["runuser", "-u", u, "--"].map(Into::into));
    }
    words.push(program.into());
    let mut c = Command::new(&words[0]);
    c.args(&words[1..]);
    c
}

/// Runs a tool to completion; on failure the error holds the lines of its output that say why.
pub fn run(
    what: &str,
    user: Option<&str>,
    program: &Path,
    args: &[String],
) -> Result<(), InstanceError> {
    run_full(&[], what, user, program, args, &[])
}

/// `run` through a command prefix (see `command_in`).
pub fn run_in(
    prefix: &[String],
    what: &str,
    user: Option<&str>,
    program: &Path,
    args: &[String],
) -> Result<(), InstanceError> {
    run_full(prefix, what, user, program, args, &[])
}

/// [`run`] with environment variables set for the tool (runuser passes them on).
pub fn run_env(
    what: &str,
    user: Option<&str>,
    program: &Path,
    args: &[String],
    env: &[(&str, &Path)],
) -> Result<(), InstanceError> {
    run_full(&[], what, user, program, args, env)
}

fn run_full(
    prefix: &[String],
    what: &str,
    user: Option<&str>,
    program: &Path,
    args: &[String],
    env: &[(&str, &Path)],
) -> Result<(), InstanceError> {
    let mut cmd = command_in(prefix, user, program);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| failed(what, format!("cannot run {}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(failed(
            what,
            error_lines(
                &String::from_utf8_lossy(&out.stderr),
                &String::from_utf8_lossy(&out.stdout),
            ),
        ));
    }
    Ok(())
}

/// The lines of a failed tool's output that say why, on one line: the last four that look
/// like an error (of stderr if it has any), else the last lines of stderr, else of stdout.
/// Tools such as initdb print progress on stdout and the cause on stderr, so the last line
/// of all output is not the cause.
pub fn error_lines(stderr: &str, stdout: &str) -> String {
    const MARKS: [&str; 9] = [
        "error",
        "fatal",
        "could not",
        "cannot",
        "can't",
        "denied",
        "failed",
        "no such",
        "invalid",
    ];
    let looks_bad = |l: &&str| {
        let l = l.to_lowercase();
        MARKS.iter().any(|m| l.contains(m))
    };
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (err, out) = (lines(stderr), lines(stdout));
    // A matched line cut mid-sentence ("Examine the logs in") takes the next line along.
    let bad = |v: &[String]| -> Vec<String> {
        v.iter()
            .enumerate()
            .filter(|(_, l)| looks_bad(&l.as_str()))
            .map(|(i, l)| {
                let ends = l.ends_with(['.', '!', '?', ':', ')', '"', '\'']);
                match v.get(i + 1) {
                    Some(next) if !ends && !looks_bad(&next.as_str()) => format!("{l} {next}"),
                    _ => l.clone(),
                }
            })
            .collect()
    };
    let mut picked = bad(&err);
    if picked.is_empty() {
        picked = bad(&out);
    }
    picked.dedup();
    if picked.is_empty() {
        let tail = if err.is_empty() { &out } else { &err };
        picked = tail[tail.len().saturating_sub(3)..].to_vec();
    }
    // The latest say most about a failure (a log holds older errors above).
    let picked = picked[picked.len().saturating_sub(4)..].to_vec();
    if picked.is_empty() {
        "it exited without saying why".into()
    } else {
        picked.join(" / ")
    }
}

/// What a server process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    /// Stopped by SIGSTOP (`instance pause`, a chaos pause): it holds its connections but
    /// answers nothing until resumed.
    Paused,
    Stopped,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Running => "running",
            State::Paused => "paused",
            State::Stopped => "stopped",
        })
    }
}

/// The state letter of a process from `/proc/<pid>/stat` ("pid (comm) S ppid …").
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(n).map(str::to_string)
}

/// The state of the server process `pid`, if it is the server of `data_dir` (its command line
/// names that folder, so a recycled pid is not mistaken for the server).
pub fn state_of(pid: u32, data_dir: &Path) -> State {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return State::Stopped;
    };
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    if !cmdline.contains(&data_dir.display().to_string()) {
        return State::Stopped;
    }
    match stat_field(pid, 0).as_deref() {
        Some("T") | Some("t") => State::Paused,
        Some("Z") | Some("X") | Some("x") | None => State::Stopped,
        Some(_) => State::Running,
    }
}

/// Child processes of `pid` (from /proc), recursively.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .collect();
    let parents: Vec<(u32, Option<u32>)> = all
        .iter()
        .map(|&c| (c, stat_field(c, 1).and_then(|s| s.parse().ok())))
        .collect();
    while let Some(p) = todo.pop() {
        for &(c, ppid) in &parents {
            if ppid == Some(p) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// Whether `pid` is alive: it exists and is not a zombie waiting to be reaped.
pub fn alive(pid: u32) -> bool {
    !matches!(
        stat_field(pid, 0).as_deref(),
        None | Some("Z") | Some("X") | Some("x")
    )
}

/// Sends `sig` (for example `-STOP`) to each process; fails naming the first it could not
/// signal.
pub fn signal(pids: &[u32], sig: &str) -> Result<(), InstanceError> {
    for p in pids {
        let out = Command::new("kill")
            .args([sig, &p.to_string()])
            .output()
            .map_err(|e| failed(format!("kill {sig} {p}"), e.to_string()))?;
        // A child that exited meanwhile is no failure.
        if !out.status.success() && Path::new(&format!("/proc/{p}")).exists() {
            return Err(failed(
                format!("kill {sig} {p}"),
                error_lines(&String::from_utf8_lossy(&out.stderr), ""),
            ));
        }
    }
    Ok(())
}

/// Waits until something accepts connections on `host`:`port`.
pub fn wait_for_port(host: &str, port: u16, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if std::net::TcpStream::connect((host, port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A free TCP port on 127.0.0.1.
/// A free port for a new server, below the kernel's ephemeral range: a port from that range
/// (what binding port 0 gives) can be taken by any outgoing connection's local end while the
/// server is down for a restart, and the server then cannot come back on it.
pub fn free_port() -> Result<u16, InstanceError> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    const LOW: u16 = 15000;
    if ephemeral_low > LOW + 100 {
        let span = u64::from(ephemeral_low - LOW);
        let mut rng = crate::datagen::Rng::new(
            crate::util::time::now_us() as u64 ^ u64::from(std::process::id()) << 32,
        );
        for _ in 0..200 {
            let port = LOW + rng.below(span) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| failed("finding a free port", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initdb_failure_names_the_cause_not_the_last_progress_line() {
        let stdout =
            "The files belonging to this database system will be owned by user \"postgres\".\n\
                      This user must also own the server process.\n\n\
                      Data page checksums are disabled.\n";
        let stderr = "initdb: error: could not create directory \"/root/.dbarena/instances/pg/data\": Permission denied\n";
        let e = error_lines(stderr, stdout);
        assert!(e.contains("Permission denied"), "{e}");
        assert!(!e.contains("checksums"), "{e}");
    }

    #[test]
    fn a_line_cut_mid_sentence_keeps_its_end() {
        let stdout = "\nInstallation of system tables failed!  Examine the logs in\n/x/data for more information.\n\nThe problem could be conflicting information in an external\nmy.cnf files.\n";
        assert_eq!(
            error_lines("", stdout),
            "Installation of system tables failed!  Examine the logs in /x/data for more information."
        );
    }

    #[test]
    fn without_error_words_the_last_lines_are_shown() {
        assert_eq!(error_lines("", "a\nb\nc\nd\n"), "b / c / d");
        assert_eq!(error_lines("", ""), "it exited without saying why");
    }

    #[test]
    fn own_process_is_running_and_a_foreign_data_dir_is_not_ours() {
        let me = std::process::id();
        assert_eq!(state_of(me, Path::new("/")), State::Running);
        assert_eq!(state_of(me, Path::new("/no/such/data/dir")), State::Stopped);
        assert_eq!(state_of(u32::MAX, Path::new("/")), State::Stopped);
    }
}
