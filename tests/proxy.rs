//! The fault-injecting proxy, measured against an echo server and a real PostgreSQL.

mod common;
use common::*;
use dbarena::chaos::{Direction, Faults, Proxy};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// An echo server on a free port.
fn echo() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 65536];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn round_trip(s: &mut TcpStream, n: usize) -> std::io::Result<Duration> {
    let t = Instant::now();
    s.write_all(&vec![7u8; n])?;
    let mut got = 0;
    let mut buf = vec![0u8; n];
    while got < n {
        let k = s.read(&mut buf[got..])?;
        if k == 0 {
            return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "closed"));
        }
        got += k;
    }
    Ok(t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn latency_applies_to_open_connections_per_direction() {
    let p = Proxy::start(&echo()).unwrap();
    let mut s = TcpStream::connect(p.addr()).unwrap();
    s.set_nodelay(true).unwrap();
    let clean = median((0..20).map(|_| round_trip(&mut s, 10).unwrap()).collect());
    assert!(
        clean < Duration::from_millis(5),
        "pass-through round trip {clean:?}"
    );
    // Set on the already-open connection: 20 ms each way.
    p.set(Faults {
        latency_ms: 20.0,
        ..Default::default()
    });
    let both = median((0..10).map(|_| round_trip(&mut s, 10).unwrap()).collect());
    assert!(
        both >= Duration::from_millis(40) && both < Duration::from_millis(60),
        "{both:?}"
    );
    p.set(Faults {
        latency_ms: 20.0,
        direction: Direction::Upstream,
        ..Default::default()
    });
    let up = median((0..10).map(|_| round_trip(&mut s, 10).unwrap()).collect());
    assert!(
        up >= Duration::from_millis(20) && up < Duration::from_millis(35),
        "{up:?}"
    );
    p.set(Faults {
        latency_ms: 20.0,
        jitter_ms: 10.0,
        ..Default::default()
    });
    let samples: Vec<Duration> = (0..30).map(|_| round_trip(&mut s, 10).unwrap()).collect();
    let spread = samples
        .iter()
        .max()
        .unwrap()
        .saturating_sub(*samples.iter().min().unwrap());
    assert!(
        spread > Duration::from_millis(5),
        "jitter had no effect: {samples:?}"
    );
    p.set(Faults::default());
    assert!(round_trip(&mut s, 10).unwrap() < Duration::from_millis(10));
}

#[test]
fn bandwidth_limit_slows_large_transfers() {
    let p = Proxy::start(&echo()).unwrap();
    p.set(Faults {
        bandwidth_bps: 1_000_000,
        direction: Direction::Upstream,
        ..Default::default()
    });
    let mut s = TcpStream::connect(p.addr()).unwrap();
    // 200 KB at 1 MB/s takes about 200 ms.
    let t = round_trip(&mut s, 200_000).unwrap();
    assert!(
        t >= Duration::from_millis(180) && t < Duration::from_millis(600),
        "{t:?}"
    );
}

#[test]
fn reset_blackhole_and_slow_close() {
    let p = Proxy::start(&echo()).unwrap();
    let mut s = TcpStream::connect(p.addr()).unwrap();
    round_trip(&mut s, 10).unwrap();
    p.set(Faults {
        reset: true,
        ..Default::default()
    });
    let e = round_trip(&mut s, 10).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe
        ),
        "{e:?}"
    );
    p.set(Faults {
        blackhole: true,
        ..Default::default()
    });
    let mut s = TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let e = round_trip(&mut s, 10).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "blackhole answered: {e:?}"
    );
    p.set(Faults {
        slow_close_ms: 300,
        direction: Direction::Downstream,
        ..Default::default()
    });
    let mut s = TcpStream::connect(p.addr()).unwrap();
    round_trip(&mut s, 10).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 8];
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "close passed on after {:?}",
        t.elapsed()
    );
}

#[test]
fn toxicity_affects_a_share_of_connections() {
    let p = Proxy::start(&echo()).unwrap();
    p.set(Faults {
        latency_ms: 30.0,
        toxicity: Some(0.5),
        ..Default::default()
    });
    let mut slow = 0;
    for _ in 0..40 {
        let mut s = TcpStream::connect(p.addr()).unwrap();
        if round_trip(&mut s, 10).unwrap() > Duration::from_millis(30) {
            slow += 1;
        }
    }
    assert!(
        (8..=32).contains(&slow),
        "{slow} of 40 connections slowed at toxicity 0.5"
    );
}

/// The server's address in a test database URL, and the URL through a proxy in front of it.
fn through_proxy(db: &TestDb) -> (Proxy, String) {
    let upstream = ["127.0.0.1:5432", "127.0.0.1:3306"]
        .into_iter()
        .find(|a| db.url.contains(a))
        .expect("a local server address in the test URL");
    let p = Proxy::start(upstream).unwrap();
    let url = db.url.replace(upstream, &p.addr().to_string());
    (p, url)
}

#[test]
fn latency_through_the_proxy_shows_in_a_postgres_run() {
    latency_through_the_proxy_shows_in_a_run(Db::Postgres);
}

#[test]
fn latency_through_the_proxy_shows_in_a_mariadb_run() {
    latency_through_the_proxy_shows_in_a_run(Db::Mysql);
}

fn latency_through_the_proxy_shows_in_a_run(kind: Db) {
    let Some(db) = TestDb::new(kind, "proxy") else {
        return;
    };
    let (p, url) = through_proxy(&db);
    let dir = Scratch::new("proxy");
    let run = |out: &str| {
        let f = dir.file(out);
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &url,
                "--pattern",
                "read_heavy",
                "--transactions",
                "100",
                "-n",
                "2",
                "-q",
                "--out",
                f.to_str().unwrap(),
            ],
            dir.path(),
        );
        ok_result(&o, &f)
    };
    let base = run("base.json");
    p.set(Faults {
        latency_ms: 10.0,
        direction: Direction::Downstream,
        ..Default::default()
    });
    let slow = run("slow.json");
    let (b, s) = (
        base["response"]["p50_ms"].as_f64().unwrap(),
        slow["response"]["p50_ms"].as_f64().unwrap(),
    );
    assert!(
        s >= b + 9.0 && s < b + 20.0,
        "p50 {b} ms without, {s} ms with 10 ms of latency"
    );
}

#[test]
fn blackhole_and_reset_in_a_postgres_run_are_outages_with_recovery() {
    blackhole_and_reset_are_outages_with_recovery(Db::Postgres);
}

#[test]
fn blackhole_and_reset_in_a_mariadb_run_are_outages_with_recovery() {
    blackhole_and_reset_are_outages_with_recovery(Db::Mysql);
}

fn blackhole_and_reset_are_outages_with_recovery(kind: Db) {
    let Some(db) = TestDb::new(kind, "blackhole") else {
        return;
    };
    let (p, url) = through_proxy(&db);
    let dir = Scratch::new("blackhole");
    // Create the schema first, without faults.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &url,
            "--transactions",
            "10",
            "-q",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (fault, class) in [
        (
            Faults {
                blackhole: true,
                ..Default::default()
            },
            "connection:timeout",
        ),
        (
            Faults {
                reset: true,
                ..Default::default()
            },
            "connection:",
        ),
    ] {
        // A new file per fault: dbarena never overwrites a result.
        let out = dir.file(&format!("b-{}.json", class.replace(':', "_")));
        let child = spawn_dbarena(
            &[
                "workload",
                "run",
                "--db",
                &url,
                "-d",
                "6s",
                "--tps",
                "100",
                "-n",
                "2",
                "--timeout",
                "1s",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        std::thread::sleep(Duration::from_millis(2000));
        p.set(fault.clone());
        std::thread::sleep(Duration::from_millis(1000));
        p.set(Faults::default());
        let o = child.wait_with_output().unwrap();
        let r = ok_result(&o, &out);
        let errors = r["errors"].to_string();
        assert!(errors.contains(class), "{fault:?}: {errors}");
        let outages = r["outages"].as_array().unwrap();
        assert!(
            !outages.is_empty() && outages.iter().all(|o| o["recovered"] == true),
            "{fault:?}: {outages:?}"
        );
        let late: u64 = r["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["t_s"].as_f64().unwrap() > 5.0)
            .map(|i| i["committed"].as_u64().unwrap())
            .sum();
        assert!(
            late > 30,
            "{fault:?}: only {late} commits after the fault ended"
        );
    }
}

#[test]
fn writers_readers_that_fall_behind_stop_at_the_end_and_say_so() {
    let Some(db) = TestDb::new(Db::Postgres, "wrbehind") else {
        return;
    };
    let (p, url) = through_proxy(&db);
    let dir = Scratch::new("wrbehind");
    let cfg = dir.file("wr.toml");
    std::fs::write(
        &cfg,
        "pattern = \"writers-readers\"\nnum_writers = 1\nwriter_rate = 50.0\nnum_readers = 1\nreader_rate = 5.0\nduration = \"3s\"\n",
    )
    .unwrap();
    // Created without faults; then every round trip costs 2 x 25 ms, a write (BEGIN, SELECT,
    // UPDATE or INSERT, COMMIT) at least 200 ms: at most 5 writes/s of the 50 asked for.
    p.set(Faults {
        latency_ms: 25.0,
        ..Default::default()
    });
    let out = dir.file("r.json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &url,
            "--config",
            cfg.to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let r = ok_result(&o, &out);
    let w = &r["writers_readers"];
    let writes = w["write_tps"].as_f64().unwrap();
    assert!(
        writes <= 6.0,
        "reported {writes} writes/s through 200 ms writes"
    );
    assert!(
        r["notes"].to_string().contains("fell behind"),
        "{}",
        r["notes"]
    );
}
