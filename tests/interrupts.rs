//! Runs that end badly still end honestly: signals at any moment leave a complete result, a
//! server that goes silent shows as missed work and an unrecovered outage, and result files
//! are never lost, overwritten or left half-written.

mod common;
use common::*;
use dbarena::chaos::proxy::{Faults, Proxy};
use std::process::Command;
use std::time::{Duration, Instant};

/// Sends `signal` (INT, TERM) to a process.
fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits for a child, failing the test if it has not exited after `limit` (a hang).
fn wait(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("dbarena did not exit within {limit:?} of being signalled");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A small deterministic sequence of "random" moments.
fn moments(n: usize, seed: u64) -> Vec<Duration> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(150 + x % 2500)
        })
        .collect()
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp") || n.contains("probe"))
        .collect()
}

#[test]
fn sigint_and_sigterm_at_random_moments_always_leave_a_readable_result() {
    for kind in [Db::Sqlite, Db::Postgres] {
        let Some(db) = TestDb::new(kind, "sig") else {
            continue;
        };
        let dir = Scratch::new("sig");
        for (i, at) in moments(6, 0x5eed + kind as u64).into_iter().enumerate() {
            let (sig, code) = if i % 2 == 0 {
                ("TERM", 143)
            } else {
                ("INT", 130)
            };
            let out = dir.file(&format!("r{i}.json"));
            let child = spawn_dbarena(
                &[
                    "workload",
                    "run",
                    "--db",
                    &db.url,
                    "-d",
                    "60s",
                    "--tps",
                    "300",
                    "--connections",
                    "3",
                    "-q",
                    "--out",
                    out.to_str().unwrap(),
                ],
                dir.path(),
            );
            std::thread::sleep(at);
            signal(child.id(), sig);
            let o = wait(child, Duration::from_secs(20));
            assert_eq!(
                o.status.code(),
                Some(code),
                "{kind:?} {sig} at {at:?}: {}",
                stderr(&o)
            );
            assert!(stderr(&o).contains(out.to_str().unwrap()), "{}", stderr(&o));
            let r = read_json(&out);
            assert_eq!(r["interrupted"], true, "{kind:?} {sig} at {at:?}");
            let t = &r["totals"];
            let s = &r["schedule"];
            // Whatever was scheduled before the stop is accounted for.
            assert!(t["committed"].as_u64().is_some() && s["missed"].as_u64().is_some());
            assert!(r["duration_s"].as_f64().unwrap() < 5.0, "time actually run");
            assert!(
                leftovers(dir.path()).is_empty(),
                "{:?}",
                leftovers(dir.path())
            );
        }
    }
}

#[test]
fn a_second_signal_exits_at_once_and_still_saves() {
    let Some(db) = TestDb::new(Db::Sqlite, "sig2") else {
        return;
    };
    let dir = Scratch::new("sig2");
    let out = dir.file("r.json");
    let mut run = Watched::start(
        &[
            "workload",
            "run",
            "--db",
            &db.url,
            "-d",
            "60s",
            "--tps",
            "200",
            "--progress-lines",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    // Both signals land while the run measures (a second signal during setup exits before
    // anything was measured, which the random-moment test covers with single signals).
    run.wait_for("progress:", Duration::from_secs(60));
    signal(run.child.id(), "INT");
    signal(run.child.id(), "INT");
    let o = run.finish(Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let r = read_json(&out);
    assert_eq!(r["interrupted"], true);
    // The seconds measured before the signals, read back from their file beside the result
    // (the first progress line comes after the first of them is kept).
    let seconds = r["intervals"].as_array().map_or(0, |a| a.len());
    assert!(seconds >= 1, "no intervals saved: {r}");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_server_that_goes_silent_is_missed_work_and_an_outage_to_the_end() {
    let Some(db) = TestDb::new(Db::Postgres, "silent") else {
        return;
    };
    let dir = Scratch::new("silent");
    let proxy = Proxy::start("127.0.0.1:5432").unwrap();
    let url = db.url.replace("127.0.0.1:5432", &proxy.addr().to_string());
    let out = dir.file("r.json");
    // Create the schema first, so the measured run starts at once.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &url,
            "-t",
            "10",
            "-q",
            "--out",
            dir.file("warm.json").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut run = Watched::start(
        &[
            "workload",
            "run",
            "--db",
            &url,
            "--pattern",
            "read-heavy",
            "-d",
            "8s",
            "--tps",
            "200",
            "--connections",
            "4",
            "--timeout",
            "1s",
            "--progress-lines",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    // Silent for the second half of the run: from 4.5 s, counted from the first progress
    // line (1 s into the run), not from a start a loaded machine may delay.
    run.wait_for("progress:", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(3500));
    proxy.set(Faults {
        blackhole: true,
        ..Default::default()
    });
    let o = run.finish(Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(6), "degraded: {}", stderr(&o));
    assert!(stderr(&o).contains("degraded"), "{}", stderr(&o));
    let r = read_json(&out);
    let t = &r["totals"];
    let s = &r["schedule"];
    let (committed, failed) = (
        t["committed"].as_u64().unwrap(),
        t["failed"].as_u64().unwrap(),
    );
    let (missed, in_flight) = (
        s["missed"].as_u64().unwrap(),
        s["in_flight"].as_u64().unwrap(),
    );
    let all = committed + failed + missed + in_flight;
    let lost = (failed + missed + in_flight) as f64 / all as f64;
    // About the last 45–50% of the schedule (setup shifts the start a little).
    assert!((0.3..0.7).contains(&lost), "{lost}: {r}");
    assert!(s["missed_connection_lost"].as_u64().unwrap() > 0);
    // The stalled transactions show in the percentiles (1 s timeout).
    assert!(
        r["response"]["p99_ms"].as_f64().unwrap() >= 900.0,
        "{}",
        r["response"]
    );
    let outages = r["outages"].as_array().unwrap();
    assert!(!outages.is_empty());
    for o in outages {
        assert_eq!(o["recovered"], false, "{o}");
        let end = o["start_s"].as_f64().unwrap() + o["duration_s"].as_f64().unwrap();
        assert!(end > 7.0, "the outage lasts to the end: {o}");
        assert!(
            o["start_s"].as_f64().unwrap() < 5.5,
            "starts at the stall: {o}"
        );
    }
}

#[test]
fn an_unusable_out_is_refused_before_the_run_and_nothing_is_overwritten() {
    let dir = Scratch::new("outchk");
    let existing = dir.file("taken.json");
    std::fs::write(&existing, "keep me").unwrap();
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            "sqlite::memory:",
            "-d",
            "30s",
            "-q",
            "--out",
            existing.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    // A folder that cannot be created (a file is in the way): refused at once, not after 30 s.
    let blocked = dir.file("taken.json/r.json");
    let started = Instant::now();
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            "sqlite::memory:",
            "-d",
            "30s",
            "-q",
            "--out",
            blocked.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("choose another --out"),
        "{}",
        stderr(&o)
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the run went ahead"
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn runs_started_together_never_share_a_default_result_file() {
    let dir = Scratch::new("twins");
    let args = [
        "workload",
        "run",
        "--db",
        "sqlite::memory:",
        "-t",
        "20",
        "-q",
    ];
    let a = spawn_dbarena(&args, dir.path());
    let b = spawn_dbarena(&args, dir.path());
    for c in [a, b] {
        let o = wait(c, Duration::from_secs(60));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let files: Vec<_> = std::fs::read_dir(dir.file("dbarena-results"))
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
}

#[test]
fn a_result_name_taken_during_the_run_goes_beside_it() {
    let dir = Scratch::new("taken");
    let out = dir.file("r.json");
    let mut run = Watched::start(
        &[
            "workload",
            "run",
            "--db",
            "sqlite::memory:",
            "-d",
            "3s",
            "--progress-lines",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    // Free before the run (checked), taken while it measures.
    run.wait_for("progress:", Duration::from_secs(60));
    std::fs::write(&out, "someone else's").unwrap();
    let o = run.finish(Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "someone else's");
    let beside = dir.file("r-2.json");
    let r = read_json(&beside);
    assert!(r["totals"]["committed"].as_u64().unwrap() > 0);
    assert!(stderr(&o).contains("r-2.json"), "{}", stderr(&o));
}

#[test]
fn a_full_disk_at_the_end_sends_the_result_to_a_fallback_path() {
    // A 64 KiB tmpfs holds the --out folder: the check before the run passes, the result
    // (histograms of four operations) does not fit. Needs root for the mount.
    let dir = Scratch::new("fulldisk");
    let mnt = dir.file("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=64k",
            "tmpfs",
            mnt.to_str().unwrap(),
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        assert!(
            std::env::var("DBARENA_REQUIRE_SERVERS").as_deref() != Ok("1"),
            "cannot mount a tmpfs (root needed) for the full-disk test"
        );
        println!("SKIPPED: cannot mount a tmpfs");
        return;
    }
    // Fill it up but for a few KiB.
    let _ = std::fs::write(mnt.join("filler"), vec![0u8; 56 * 1024]);
    let out = mnt.join("r.json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            "sqlite::memory:",
            "-d",
            "2s",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let leftover = leftovers(&mnt);
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let fallback = err
        .split_whitespace()
        .find(|w| w.contains("dbarena-") && w.ends_with("r.json"))
        .unwrap_or_else(|| panic!("no fallback path named: {err}"));
    let r = read_json(std::path::Path::new(fallback));
    assert!(r["totals"]["committed"].as_u64().unwrap() > 0);
    assert!(leftover.is_empty(), "{leftover:?}");
    let _ = std::fs::remove_file(fallback);
}

#[test]
fn verify_refuses_an_existing_history_before_it_runs() {
    let dir = Scratch::new("histchk");
    let taken = dir.file("h.jsonl");
    std::fs::write(&taken, "keep me").unwrap();
    let o = dbarena(
        &[
            "verify",
            "--db",
            "sqlite::memory:",
            "-d",
            "30s",
            "--history",
            taken.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--history"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "keep me");
}
