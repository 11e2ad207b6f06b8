//! `dbarena check` as a user runs it: both history formats, verdicts and exit codes, the
//! explanation files, empty histories, rw-register flags, a closed pipe.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn check(args: &[&str]) -> (i32, String, String) {
    let dir = Scratch::new("check");
    let mut full = vec!["check"];
    full.extend_from_slice(args);
    let o = dbarena(&full, dir.path());
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr(&o),
    )
}

#[test]
fn read_skew_in_both_formats_with_explanations() {
    for f in ["g-single.elle.json", "g-single.jsonl"] {
        let (code, out, err) = check(&[&data(f)]);
        assert_eq!(code, 1, "{f}: {out}{err}");
        assert!(out.contains("G-single-item"), "{out}");
        assert!(out.contains("expected serializable: INVALID"), "{out}");
        assert!(out.contains("did not see T"), "{out}");
        assert!(out.contains("key \"x\""), "{out}");
        let (code, out, _) = check(&[&data(f), "--model", "read-committed"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("expected read-committed: VALID"), "{out}");
    }
}

#[test]
fn dot_svg_and_json() {
    let dir = Scratch::new("check-files");
    let dot = dir.file("c.dot");
    let svg = dir.file("c.svg");
    let o = dbarena(
        &[
            "check",
            &data("g-single.elle.json"),
            "--json",
            "--dot",
            dot.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    assert_eq!(j["valid"], "invalid");
    assert_eq!(j["models"]["read-committed"], "valid");
    assert_eq!(j["weakest_violated"], "repeatable-read");
    assert_eq!(j["weakest_violated_all"][1], "consistent-view");
    // Elle's lattice: read skew still allows cursor stability, parallel SI, strong RC…
    let strongest = j["strongest_satisfied_all"].as_array().unwrap();
    assert!(
        strongest.iter().any(|m| m == "strong-read-committed"),
        "{strongest:?}"
    );
    assert!(
        strongest.iter().any(|m| m == "parallel-snapshot-isolation"),
        "{strongest:?}"
    );
    let dot = std::fs::read_to_string(&dot).unwrap();
    assert!(
        dot.starts_with("digraph") && dot.contains("->") && dot.contains("rw"),
        "{dot}"
    );
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<path") && svg.contains("did not see"),
        "{svg}"
    );
}

#[test]
fn an_empty_history_is_nothing_to_check() {
    let dir = Scratch::new("check-empty");
    for (name, text) in [
        ("empty.jsonl", ""),
        ("nemesis.json", "[{\"type\":\":info\",\"f\":\":kill\",\"value\":\":all\",\"process\":\":nemesis\",\"index\":0}]"),
    ] {
        let p = dir.file(name);
        std::fs::write(&p, text).unwrap();
        let o = dbarena(&["check", p.to_str().unwrap()], dir.path());
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains("nothing to check"), "{out}");
        assert!(out.contains("UNKNOWN"), "{out}");
    }
}

#[test]
fn a_bad_history_names_file_and_line() {
    let dir = Scratch::new("check-bad");
    let p = dir.file("bad.jsonl");
    std::fs::write(
        &p,
        "{\"process\":0,\"type\":\"invoke\",\"value\":[[\"append\",1,1]]}\n{\"process\":0,\"type\":\"done\"}\n",
    )
    .unwrap();
    let o = dbarena(&["check", p.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.jsonl:2:") && e.contains("done"), "{e}");
    let (code, _, e) = check(&[&data("g-single.jsonl"), "--model", "nonsense"]);
    assert_eq!(code, 2);
    assert!(e.contains("strict-serializable"), "{e}");
}

#[test]
fn rw_register_version_order_flags() {
    let f = data("rw-register-stale.elle.json");
    let (code, out, _) = check(&[&f, "--workload", "rw-register"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = check(&[&f, "--workload", "rw-register", "--linearizable-keys"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cyclic-versions"), "{out}");
    let (code, _, e) = check(&[&f, "--linearizable-keys"]);
    assert_eq!(code, 2, "{e}");
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    let dir = Scratch::new("check-pipe");
    // Long key names make the report far larger than a pipe's buffer.
    let mut h = String::new();
    let pad = "k".repeat(20_000);
    for i in 0..4u64 {
        let (k1, k2) = (
            format!("\"{pad}{}\"", 2 * i),
            format!("\"{pad}{}\"", 2 * i + 1),
        );
        let t1 = format!("[[\"r\",{k1},[]],[\"r\",{k2},[]],[\"append\",{k1},1]]");
        let t2 = format!("[[\"r\",{k1},[]],[\"r\",{k2},[]],[\"append\",{k2},1]]");
        for (p, typ, v) in [
            (2 * i, "invoke", &t1),
            (2 * i + 1, "invoke", &t2),
            (2 * i, "ok", &t1),
            (2 * i + 1, "ok", &t2),
        ] {
            h.push_str(&format!(
                "{{\"process\":{p},\"type\":\"{typ}\",\"value\":{v}}}\n"
            ));
        }
    }
    let p = dir.file("many.jsonl");
    std::fs::write(&p, h).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(["check", p.to_str().unwrap(), "--json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "{");
    drop(out);
    let o = child.wait_with_output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("panicked"), "{e}");
    assert_eq!(o.status.code(), Some(1), "{e}");
}
