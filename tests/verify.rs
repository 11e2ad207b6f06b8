//! `dbarena verify` / `check` against real databases: random workloads and scripted
//! interleavings whose outcome each database's isolation level fixes.

mod common;
use common::*;
use dbarena::db::{Connection, DbUrl};
use dbarena::verify::check;
use dbarena::verify::history::{History, Mop, Op, OpType};
use dbarena::verify::model::{validity, Model, Validity};
use std::time::Duration;

fn verify(db: &TestDb, dir: &Scratch, args: &[&str]) -> (i32, String, std::path::PathBuf) {
    let hist = dir.new_file("h", "jsonl");
    let mut full = vec![
        "verify",
        "--db",
        &db.url,
        "--history",
        hist.to_str().unwrap(),
    ];
    full.extend_from_slice(args);
    let o = dbarena(&full, dir.path());
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o),
        hist,
    )
}

fn check_file(dir: &Scratch, hist: &std::path::Path, model: &str) -> (i32, String) {
    let o = dbarena(
        &["check", hist.to_str().unwrap(), "--model", model],
        dir.path(),
    );
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o),
    )
}

#[test]
fn serializable_databases_produce_valid_histories() {
    for (kind, iso) in [
        (Db::Postgres, "serializable"),
        (Db::Sqlite, "serializable"),
        (Db::Mysql, "serializable"),
    ] {
        let Some(db) = TestDb::new(kind, "verser") else {
            continue;
        };
        let dir = Scratch::new("verser");
        let (code, out, hist) = verify(
            &db,
            &dir,
            &["--isolation", iso, "-d", "3s", "-n", "6", "--keys", "6"],
        );
        assert_eq!(code, 0, "{kind:?}: {out}");
        assert!(out.contains("expected serializable: VALID"), "{out}");
        let h = History::load(&hist).unwrap();
        let committed = h.ops.iter().filter(|o| o.typ == OpType::Ok).count();
        assert!(committed > 20, "{kind:?}: only {committed} committed");
        // The saved history checks the same offline.
        let (code, out) = check_file(&dir, &hist, "serializable");
        assert_eq!(code, 0, "{out}");
    }
}

#[test]
fn postgres_read_committed_shows_anomalies_read_committed_allows() {
    let Some(db) = TestDb::new(Db::Postgres, "verrc") else {
        return;
    };
    let dir = Scratch::new("verrc");
    // Contention: few keys, many clients; retry a few times in case a short run is lucky.
    for attempt in 0..3 {
        let (code, out, hist) = verify(
            &db,
            &dir,
            &[
                "--isolation",
                "read-committed",
                "-d",
                "4s",
                "-n",
                "8",
                "--keys",
                "3",
            ],
        );
        assert_eq!(code, 0, "read committed must hold: {out}");
        let (ser, out2) = check_file(&dir, &hist, "serializable");
        if ser == 1 {
            assert!(out2.contains("INVALID"), "{out2}");
            assert!(
                out2.contains("G-single")
                    || out2.contains("G2-item")
                    || out2.contains("lost-update"),
                "{out2}"
            );
            let (rc, _) = check_file(&dir, &hist, "read-committed");
            assert_eq!(rc, 0);
            return;
        }
        eprintln!("attempt {attempt}: no anomaly yet");
    }
    panic!("three contended read-committed runs on PostgreSQL showed no anomaly");
}

/// Two scripted clients on one database, recording list-append ops as they go.
struct Script {
    rt: tokio::runtime::Runtime,
    c: [Connection; 2],
    ops: Vec<Op>,
    t: u64,
}

impl Script {
    fn new(db: &TestDb, isolation: &str) -> Script {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = DbUrl::parse(&db.url).unwrap();
        let (c0, c1) = rt.block_on(async {
            let mut a = Connection::connect(&url).await.unwrap();
            a.execute("DROP TABLE IF EXISTS la").await.unwrap();
            a.execute("CREATE TABLE la (id INTEGER PRIMARY KEY, val TEXT)")
                .await
                .unwrap();
            a.execute("INSERT INTO la VALUES (1, '0'), (2, '0')")
                .await
                .unwrap();
            let mut b = Connection::connect(&url).await.unwrap();
            let lvl = dbarena::db::Isolation::parse(isolation).unwrap();
            a.set_isolation(lvl).await.unwrap();
            b.set_isolation(lvl).await.unwrap();
            (a, b)
        });
        // The initial row values, as one committed transaction.
        let mut s = Script {
            rt,
            c: [c0, c1],
            ops: Vec::new(),
            t: 0,
        };
        s.op(
            9,
            OpType::Invoke,
            vec![Mop::Append(1, 0), Mop::Append(2, 0)],
        );
        s.op(9, OpType::Ok, vec![Mop::Append(1, 0), Mop::Append(2, 0)]);
        s
    }

    fn op(&mut self, p: u64, typ: OpType, value: Vec<Mop>) {
        self.t += 1;
        self.ops.push(Op {
            index: self.ops.len(),
            process: p,
            typ,
            time: self.t,
            value,
            error: None,
        });
    }

    fn sql(&mut self, p: usize, sql: &str) -> Result<(), dbarena::db::DbError> {
        let c = &mut self.c[p];
        self.rt.block_on(c.execute(sql))
    }

    fn read(&mut self, p: usize, k: u64) -> Vec<u64> {
        let c = &mut self.c[p];
        let rows = self
            .rt
            .block_on(c.query_text(&format!("SELECT val FROM la WHERE id = {k}")))
            .unwrap();
        rows[0][0]
            .clone()
            .unwrap()
            .split(',')
            .map(|x| x.parse().unwrap())
            .collect()
    }

    fn append(&mut self, p: usize, k: u64, v: u64) -> Result<(), dbarena::db::DbError> {
        let sql = if self.c[p].dialect().kind() == dbarena::db::DbKind::Mysql {
            format!("UPDATE la SET val = CONCAT(val, ',{v}') WHERE id = {k}")
        } else {
            format!("UPDATE la SET val = val || ',{v}' WHERE id = {k}")
        };
        self.sql(p, &sql)
    }

    fn history(&self) -> History {
        History {
            ops: self.ops.clone(),
        }
    }
}

fn verdict(h: &History, m: Model) -> Validity {
    let an = check(h, Duration::from_secs(5));
    validity(m, &an.kinds(), an.incomplete)
}

/// T0 and T1 both read key 1, then both append to it: a lost update where the database lets
/// the second append through.
fn lost_update_schedule(s: &mut Script, begin: &str) -> Result<(), dbarena::db::DbError> {
    s.sql(0, begin)?;
    s.sql(1, begin)?;
    let r0 = s.read(0, 1);
    let r1 = s.read(1, 1);
    s.append(1, 1, 2)?;
    s.sql(1, "COMMIT")?;
    s.op(
        1,
        OpType::Invoke,
        vec![Mop::Read(1, None), Mop::Append(1, 2)],
    );
    s.op(
        1,
        OpType::Ok,
        vec![Mop::Read(1, Some(r1)), Mop::Append(1, 2)],
    );
    s.op(
        0,
        OpType::Invoke,
        vec![Mop::Read(1, None), Mop::Append(1, 1)],
    );
    let res = s.append(0, 1, 1).and_then(|_| s.sql(0, "COMMIT"));
    match &res {
        Ok(()) => s.op(
            0,
            OpType::Ok,
            vec![Mop::Read(1, Some(r0)), Mop::Append(1, 1)],
        ),
        Err(_) => {
            let _ = s.sql(0, "ROLLBACK");
            s.op(
                0,
                OpType::Fail,
                vec![Mop::Read(1, Some(r0)), Mop::Append(1, 1)],
            );
        }
    }
    let fin = s.read(0, 1);
    s.op(5, OpType::Invoke, vec![Mop::Read(1, None)]);
    s.op(5, OpType::Ok, vec![Mop::Read(1, Some(fin))]);
    res
}

/// T0 reads both keys and appends to key 1; T1 reads both and appends to key 2: write skew.
fn write_skew_schedule(
    s: &mut Script,
    begin: &str,
) -> (
    Result<(), dbarena::db::DbError>,
    Result<(), dbarena::db::DbError>,
) {
    s.sql(0, begin).unwrap();
    s.sql(1, begin).unwrap();
    let (a1, a2) = (s.read(0, 1), s.read(0, 2));
    let (b1, b2) = (s.read(1, 1), s.read(1, 2));
    let r0 = s.append(0, 1, 1).and_then(|_| s.sql(0, "COMMIT"));
    let r1 = s.append(1, 2, 1).and_then(|_| s.sql(1, "COMMIT"));
    for (p, res, x, y, k) in [(0u64, &r0, a1, a2, 1u64), (1, &r1, b1, b2, 2)] {
        s.op(
            p,
            OpType::Invoke,
            vec![Mop::Read(1, None), Mop::Read(2, None), Mop::Append(k, 1)],
        );
        let t = if res.is_ok() {
            OpType::Ok
        } else {
            OpType::Fail
        };
        s.op(
            p,
            t,
            vec![
                Mop::Read(1, Some(x)),
                Mop::Read(2, Some(y)),
                Mop::Append(k, 1),
            ],
        );
    }
    if r0.is_err() {
        let _ = s.sql(0, "ROLLBACK");
    }
    if r1.is_err() {
        let _ = s.sql(1, "ROLLBACK");
    }
    let (f1, f2) = (s.read(0, 1), s.read(0, 2));
    s.op(
        5,
        OpType::Invoke,
        vec![Mop::Read(1, None), Mop::Read(2, None)],
    );
    s.op(
        5,
        OpType::Ok,
        vec![Mop::Read(1, Some(f1)), Mop::Read(2, Some(f2))],
    );
    (r0, r1)
}

#[test]
fn scripted_interleavings_on_postgres() {
    let Some(db) = TestDb::new(Db::Postgres, "script") else {
        return;
    };
    // Read committed lets the lost update through; the checker sees it.
    let mut s = Script::new(&db, "read-committed");
    lost_update_schedule(&mut s, "BEGIN").expect("read committed allows the second append");
    let h = s.history();
    assert!(check(&h, Duration::from_secs(5))
        .counts
        .contains_key("lost-update"));
    assert_eq!(verdict(&h, Model::ReadCommitted), Validity::Valid);
    assert_eq!(verdict(&h, Model::RepeatableRead), Validity::Invalid);
    // Repeatable read refuses it with a serialization failure.
    let mut s = Script::new(&db, "repeatable-read");
    let err =
        lost_update_schedule(&mut s, "BEGIN").expect_err("repeatable read prevents lost update");
    assert_eq!(err.code, "40001");
    assert_eq!(
        verdict(&s.history(), Model::SnapshotIsolation),
        Validity::Valid
    );
    // Repeatable read (snapshot isolation) permits write skew: G2-item.
    let mut s = Script::new(&db, "repeatable-read");
    let (a, b) = write_skew_schedule(&mut s, "BEGIN");
    assert!(
        a.is_ok() && b.is_ok(),
        "PostgreSQL repeatable read permits write skew"
    );
    let h = s.history();
    assert!(check(&h, Duration::from_secs(5))
        .counts
        .contains_key("G2-item"));
    assert_eq!(verdict(&h, Model::SnapshotIsolation), Validity::Valid);
    assert_eq!(verdict(&h, Model::Serializable), Validity::Invalid);
    // Serializable prevents write skew.
    let mut s = Script::new(&db, "serializable");
    let (a, b) = write_skew_schedule(&mut s, "BEGIN");
    assert!(a.is_err() || b.is_err(), "serializable must abort one side");
    let code = if let Err(e) = &a {
        e.code.clone()
    } else {
        b.unwrap_err().code
    };
    assert_eq!(code, "40001");
    assert_eq!(verdict(&s.history(), Model::Serializable), Validity::Valid);
}

#[test]
fn scripted_lost_update_on_mariadb_repeatable_read() {
    let Some(db) = TestDb::new(Db::Mysql, "script") else {
        return;
    };
    let mut s = Script::new(&db, "repeatable-read");
    lost_update_schedule(&mut s, "START TRANSACTION")
        .expect("InnoDB repeatable read lets the update through");
    let h = s.history();
    let an = check(&h, Duration::from_secs(5));
    assert!(an.counts.contains_key("lost-update"), "{:?}", an.counts);
    assert_eq!(verdict(&h, Model::RepeatableRead), Validity::Invalid);
}

#[test]
fn check_reads_elle_json_and_explains_cycles() {
    let dir = Scratch::new("elle");
    let f = dir.file("h.json");
    // G1c: each transaction reads the other's append.
    std::fs::write(
        &f,
        r#"[{"index":0,"type":":invoke","f":":txn","process":0,"time":1,"value":[[":append",1,1],[":r",2,null]]},
            {"index":1,"type":":invoke","f":":txn","process":1,"time":2,"value":[[":append",2,1],[":r",1,null]]},
            {"index":2,"type":":ok","f":":txn","process":0,"time":3,"value":[[":append",1,1],[":r",2,[1]]]},
            {"index":3,"type":":ok","f":":txn","process":1,"time":4,"value":[[":append",2,1],[":r",1,[1]]]}]"#,
    )
    .unwrap();
    let dot = dir.file("c.dot");
    let o = dbarena(
        &[
            "check",
            f.to_str().unwrap(),
            "--model",
            "read-committed",
            "--dot",
            dot.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("G1c") && out.contains("wr") && out.contains("T2") && out.contains("T3"),
        "{out}"
    );
    assert!(std::fs::read_to_string(&dot).unwrap().contains("digraph"));
    let o = dbarena(&["check", f.to_str().unwrap(), "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], "invalid");
    assert_eq!(v["weakest_violated"], "read-committed");
    let o = dbarena(&["check", "/no/such/history.jsonl"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read history"));
}

#[test]
fn list_append_runs_as_a_workload_with_its_check_in_the_result() {
    for kind in [Db::Sqlite, Db::Postgres, Db::Mysql] {
        let Some(db) = TestDb::new(kind, "lawl") else {
            continue;
        };
        let dir = Scratch::new("lawl");
        let out = dir.file("la.json");
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--pattern",
                "list-append",
                "--isolation",
                "serializable",
                "-d",
                "2s",
                "-n",
                "3",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        let r = ok_result(&o, &out);
        assert!(r["totals"]["committed"].as_u64().unwrap() > 20, "{kind:?}");
        let v = &r["verification"];
        assert_eq!(v["checker"], "list-append", "{kind:?}: {v}");
        assert_eq!(v["model"], "serializable", "{kind:?}: {v}");
        assert_eq!(v["verdict"], "pass", "{kind:?}: {v}");
        // The history it was judged on is kept and checks the same way on its own.
        let hist = std::path::PathBuf::from(v["history"].as_str().unwrap());
        let (code, text) = check_file(&dir, &hist, "serializable");
        assert_eq!(code, 0, "{kind:?}: {text}");
        let summary = String::from_utf8_lossy(&o.stdout);
        assert!(
            summary.contains("list-append check against serializable: pass"),
            "{summary}"
        );
    }
}

/// `verify` is bounded by default (a rate, said in the help), and a failed or unknown
/// operation says why in the history: the database's conflict handling apart from faults.
#[test]
fn histories_are_bounded_and_failures_carry_their_error_class() {
    let Some(db) = TestDb::new(Db::Sqlite, "vbound") else {
        return;
    };
    let dir = Scratch::new("vbound");
    let (code, err, hist) = verify(&db, &dir, &["-d", "2s"]);
    assert_eq!(code, 0, "{err}");
    let ops = std::fs::read_to_string(&hist).unwrap().lines().count();
    // 500 transactions a second by default: about 2 × 1000 ops, far from SQLite's full speed.
    assert!(ops <= 2 * 1100, "{ops} ops");
    assert!(ops >= 2 * 500, "{ops} ops");

    let Some(pg) = TestDb::new(Db::Postgres, "verr") else {
        return;
    };
    let (_, err, hist) = verify(
        &pg,
        &dir,
        &[
            "--isolation",
            "serializable",
            "-n",
            "8",
            "--keys",
            "2",
            "--tps",
            "max",
            "-d",
            "2s",
        ],
    );
    let text = std::fs::read_to_string(&hist).unwrap();
    let failed: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "fail")
        .collect();
    assert!(
        !failed.is_empty(),
        "no conflicts on 2 keys with 8 clients: {err}"
    );
    for f in &failed {
        let class = f["error"].as_str().unwrap_or("");
        assert!(
            class.starts_with("serialization") || class.starts_with("deadlock"),
            "{f}"
        );
    }
}

/// `verify --workload rw-register`: Elle's other workload recorded on every database and
/// checked by the same streaming checker as `check --workload rw-register`.
#[test]
fn rw_register_histories_are_recorded_and_checked() {
    for kind in [Db::Sqlite, Db::Postgres, Db::Mysql] {
        let Some(db) = TestDb::new(kind, "rwreg") else {
            return;
        };
        let dir = Scratch::new("rwreg");
        let (code, out, hist) = verify(
            &db,
            &dir,
            &[
                "--workload",
                "rw-register",
                "--isolation",
                "serializable",
                "-d",
                "2s",
            ],
        );
        assert_eq!(code, 0, "{kind:?}: {out}");
        let text = std::fs::read_to_string(&hist).unwrap();
        assert!(text.contains("[\"w\","), "{kind:?}: no writes recorded");
        // The saved history checks the same way from the file.
        let (code, out) = {
            let o = dbarena(
                &["check", hist.to_str().unwrap(), "--workload", "rw-register"],
                dir.path(),
            );
            (
                o.status.code().unwrap_or(-1),
                stderr(&o) + &String::from_utf8_lossy(&o.stdout),
            )
        };
        assert_eq!(code, 0, "{kind:?}: {out}");
    }
    // Read committed lets the anomalies serializable forbids through, and they are found.
    let Some(pg) = TestDb::new(Db::Postgres, "rwrc") else {
        return;
    };
    let dir = Scratch::new("rwrc");
    // Which anomaly shows first is chance (G2-item, G-single, or a non-repeatable read inside
    // one transaction), and on a loaded machine deadlocks (1 s each to detect) can leave a 3 s
    // run few transactions: up to three runs, until one finds something.
    let mut last = (0, String::new());
    for _ in 0..3 {
        let (code, out, _) = verify(
            &pg,
            &dir,
            &[
                "--workload",
                "rw-register",
                "--isolation",
                "read-committed",
                "--expect",
                "serializable",
                "-n",
                "8",
                "--keys",
                "3",
                "--tps",
                "max",
                "-d",
                "3s",
            ],
        );
        last = (code, out);
        if last.0 != 0 {
            break;
        }
    }
    let (code, out) = last;
    assert_eq!(code, 1, "{out}");
    // What was found is what read committed allows and serializable forbids.
    let verdict = |model: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(model))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(verdict("read-committed"), "valid", "{out}");
    assert_eq!(verdict("serializable"), "INVALID", "{out}");
}
