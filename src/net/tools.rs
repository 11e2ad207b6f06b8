//! The programs this module drives (`ip`, `tc`, `nft`), where they are, and running them.
//! `DBARENA_IP`, `DBARENA_TC` and `DBARENA_NFT` name another binary (tests use a missing
//! one to see the error).

use super::NetError;
use std::path::PathBuf;
use std::process::Command;

/// A program and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub package: &'static str,
    env: &'static str,
}

pub const IP: Tool = Tool {
    name: "ip",
    package: "iproute2",
    env: "DBARENA_IP",
};
pub const TC: Tool = Tool {
    name: "tc",
    package: "iproute2",
    env: "DBARENA_TC",
};
pub const NFT: Tool = Tool {
    name: "nft",
    package: "nftables",
    env: "DBARENA_NFT",
};

/// Where a tool is: the path its variable names, else the first on PATH or in /usr/sbin
/// and /sbin (root's tools, often not on a user's PATH).
pub fn locate(tool: Tool) -> Result<PathBuf, NetError> {
    if let Some(p) = std::env::var_os(tool.env).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(NetError::MissingTool {
                tool: tool.name.into(),
                package: tool.package.into(),
                path: Some(p.display().to_string()),
            })
        };
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(tool.name))
        .find(|p| p.is_file())
        .ok_or_else(|| NetError::MissingTool {
            tool: tool.name.into(),
            package: tool.package.into(),
            path: None,
        })
}

/// The effective uid, from /proc/self/status.
fn uid() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .unwrap_or_else(|| "?".into())
}

/// The error for a machine where namespaces cannot be made: not root, or no `ip`.
pub fn requirements_error(uid: &str, ip: Result<PathBuf, NetError>) -> Option<NetError> {
    if uid != "0" {
        return Some(NetError::NotRoot { uid: uid.into() });
    }
    ip.err()
}

/// Checks that this process can make namespaces and veth pairs.
pub fn check_requirements() -> Result<(), NetError> {
    match requirements_error(&uid(), locate(IP)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Checks, before a chaos run starts, that the tools its link faults need are there: `nft`
/// for loss and partitions, `tc` for the others, `ip` for all.
pub fn check_fault_tools(filter: bool, shaping: bool) -> Result<(), NetError> {
    check_requirements()?;
    if filter {
        locate(NFT)?;
    }
    if shaping {
        locate(TC)?;
    }
    Ok(())
}

/// Runs a tool with `args` (and `stdin`, if any); returns its stdout, or the error naming
/// the command and what it said.
pub fn run(tool: Tool, args: &[&str], stdin: Option<&str>) -> Result<String, NetError> {
    let program = locate(tool)?;
    let command = format!("{} {}", tool.name, args.join(" "));
    let mut cmd = Command::new(&program);
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
    let mut child = cmd.spawn().map_err(|e| NetError::Command {
        command: command.clone(),
        detail: e.to_string(),
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| NetError::Command {
        command: command.clone(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let detail = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    Err(NetError::Command {
        command,
        detail: if detail.is_empty() {
            format!("exit {}", out.status)
        } else {
            detail
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_root_or_ip_the_error_says_what_to_do() {
        let e = requirements_error("1000", Ok(PathBuf::from("/usr/sbin/ip"))).unwrap();
        assert!(e.to_string().contains("need root"), "{e}");
        assert!(e.is_usage());
        let missing = Err(NetError::MissingTool {
            tool: "ip".into(),
            package: "iproute2".into(),
            path: None,
        });
        let e = requirements_error("0", missing).unwrap();
        assert_eq!(
            e.to_string(),
            "ip not found; install iproute2 (Debian: apt-get install iproute2)"
        );
        assert!(requirements_error("0", Ok(PathBuf::from("/usr/sbin/ip"))).is_none());
    }
}
