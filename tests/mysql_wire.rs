//! dbarena's own MySQL/MariaDB wire client against the real server: value round trips through
//! prepared statements, error codes and kinds, a killed session, failover over a dead host.

mod common;

use common::{Db, TestDb};
use dbarena::db::{Connection, DbUrl, ErrorKind, Protocol};
use dbarena::value::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn connect(url: &str) -> Connection {
    let c = Connection::connect(&DbUrl::parse(url).unwrap())
        .await
        .expect("connect");
    match &c {
        Connection::Mysql(m) => assert!(
            m.is_lean(),
            "not on the lean client: {:?}",
            m.fallback_reason()
        ),
        _ => panic!("not a MySQL connection"),
    }
    c
}

#[test]
fn values_round_trip_through_prepared_and_text_statements() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_types") else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, \
         su SMALLINT UNSIGNED, mi MEDIUMINT, ii INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, \
         de DECIMAL(10,2), fl FLOAT, do DOUBLE, da DATE, dt DATETIME, dt6 DATETIME(6), tm TIME, \
         vc VARCHAR(20), tx TEXT, bl BLOB, nu INT NULL);\
         INSERT INTO t VALUES (1, -128, 255, -32768, 65535, -8388608, -2147483648, 4294967295, \
         -9223372036854775808, 18446744073709551615, -12.34, 1.5, -2.25, '2024-02-29', \
         '1999-12-31 23:59:58', '2000-01-02 03:04:05.123456', '-26:03:04', 'héllo', 'text', \
         x'000102', NULL)",
    );
    rt().block_on(async {
        let mut c = connect(&db.url).await;
        c.prepare_all(&["SELECT * FROM t WHERE id = ?".to_string()])
            .await
            .unwrap();
        let want = vec![
            Value::Int(1),
            Value::Int(-128),
            Value::Int(255),
            Value::Int(-32768),
            Value::Int(65535),
            Value::Int(-8388608),
            Value::Int(-2147483648),
            Value::Int(4294967295),
            Value::Int(i64::MIN),
            // Past i64::MAX an unsigned value wraps, as it did through mysql_async.
            Value::Int(-1),
            Value::Text("-12.34".into()),
            Value::Float(1.5),
            Value::Float(-2.25),
            Value::Text("2024-02-29".into()),
            Value::Text("1999-12-31 23:59:58".into()),
            Value::Text("2000-01-02 03:04:05.123456".into()),
            // Days folded into hours, three digits at least: mysql_async's form, kept.
            Value::Text("-026:03:04".into()),
            Value::Text("héllo".into()),
            Value::Text("text".into()),
            Value::Text("\0\u{1}\u{2}".into()),
            Value::Null,
        ];
        // Twice: the second execution reuses the cached metadata on MariaDB 10.6+.
        for _ in 0..2 {
            let rows = c.run_rows(0, &[Value::Int(1)]).await.unwrap();
            assert_eq!(rows, vec![want.clone()]);
        }
        let first = c.run_first(0, &[Value::Int(1)]).await.unwrap();
        assert_eq!((first.rows, first.first), (1, Some(Value::Int(1))));
        // A statement whose result has no rows.
        let none = c.run_first(0, &[Value::Int(2)]).await.unwrap();
        assert_eq!((none.rows, none.first), (0, None));
        assert!(c.run_rows(0, &[Value::Int(2)]).await.unwrap().is_empty());

        // The text protocol: every value as text, NULL as NULL.
        let text = c.query_text("SELECT bu, da, nu FROM t").await.unwrap();
        assert_eq!(
            text,
            vec![vec![
                Some("18446744073709551615".into()),
                Some("2024-02-29".into()),
                None
            ]]
        );
        c.set_protocol(Protocol::Simple);
        c.prepare_all(&["SELECT id, vc FROM t WHERE id = ?".to_string()])
            .await
            .unwrap();
        let rows = c.run_rows(0, &[Value::Int(1)]).await.unwrap();
        assert_eq!(
            rows,
            vec![vec![Value::Text("1".into()), Value::Text("héllo".into())]]
        );
        assert_eq!(c.run(0, &[Value::Int(1)]).await.unwrap().rows, 1);
    });
}

#[test]
fn inserts_report_their_key_and_duplicates_are_constraint_errors() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_insert") else {
        return;
    };
    db.exec("CREATE TABLE k (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10) UNIQUE)");
    rt().block_on(async {
        let mut c = connect(&db.url).await;
        c.prepare_all(&[
            "INSERT INTO k (v) VALUES (?)".to_string(),
            "UPDATE k SET v = ? WHERE id = ?".to_string(),
        ])
        .await
        .unwrap();
        let a = c.run(0, &[Value::Text("a".into())]).await.unwrap();
        let b = c.run(0, &[Value::Text("b".into())]).await.unwrap();
        assert_eq!((a.rows, b.rows), (1, 1));
        assert_eq!(
            b.inserted_key(),
            Some(Value::Int(a.last_insert_id.unwrap() + 1))
        );
        let e = c.run(0, &[Value::Text("a".into())]).await.unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Constraint, "1062"));
        // The connection is still in step after the error.
        let u = c
            .run(1, &[Value::Text("c".into()), Value::Int(1)])
            .await
            .unwrap();
        assert_eq!(u.rows, 1);
        let e = c.execute("SELECT * FROM no_such_table").await.unwrap_err();
        assert_eq!(e.code, "1146");
        // A parameter count that does not match is the client's error, not the server's.
        assert!(c.run(0, &[]).await.is_err());
        assert_eq!(
            c.query_text("SELECT COUNT(*) FROM k").await.unwrap()[0][0].as_deref(),
            Some("2")
        );
        // LOAD DATA LOCAL INFILE (or its fallback) through the same session.
        c.bulk_insert(
            "k",
            &["v".to_string()],
            &[vec![Value::Text("x\ty".into())], vec![Value::Null]],
        )
        .await
        .unwrap();
        let rows = c
            .query_text("SELECT v FROM k WHERE id > 2 ORDER BY id")
            .await
            .unwrap();
        assert_eq!(rows, vec![vec![Some("x\ty".into())], vec![None]]);
    });
}

#[test]
fn a_deadlock_is_retryable() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_deadlock") else {
        return;
    };
    db.exec("CREATE TABLE d (id INT PRIMARY KEY, v INT); INSERT INTO d VALUES (1, 0), (2, 0)");
    rt().block_on(async {
        let mut a = connect(&db.url).await;
        let mut b = connect(&db.url).await;
        let upd = vec!["UPDATE d SET v = v + 1 WHERE id = ?".to_string()];
        a.prepare_all(&upd).await.unwrap();
        b.prepare_all(&upd).await.unwrap();
        a.execute("START TRANSACTION").await.unwrap();
        b.execute("START TRANSACTION").await.unwrap();
        a.run(0, &[Value::Int(1)]).await.unwrap();
        b.run(0, &[Value::Int(2)]).await.unwrap();
        // a waits for b's row; b then asks for a's: one of them is chosen as the victim.
        let (ra, rb) = tokio::join!(a.run(0, &[Value::Int(2)]), async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            b.run(0, &[Value::Int(1)]).await
        });
        let e = ra.err().or(rb.err()).expect("one side deadlocks");
        assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Deadlock, "1213"));
        assert!(e.kind.is_retryable());
        let _ = a.execute("ROLLBACK").await;
        let _ = b.execute("ROLLBACK").await;
    });
}

#[test]
fn a_killed_session_is_a_lost_connection() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_kill") else {
        return;
    };
    rt().block_on(async {
        let mut c = connect(&db.url).await;
        c.prepare_all(&["SELECT 1".to_string()]).await.unwrap();
        let id = c.query_text("SELECT CONNECTION_ID()").await.unwrap()[0][0]
            .clone()
            .unwrap();
        let mut admin = connect(&db.url).await;
        admin.execute(&format!("KILL {id}")).await.unwrap();
        let e = c.run(0, &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConnectionLost, "{e}");
        let e = c.run(0, &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConnectionLost, "{e}");
    });
}

#[test]
fn failover_passes_a_dead_first_host() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_failover") else {
        return;
    };
    // Port 1 refuses connections; the second host is the real server.
    let url = db
        .url
        .replace("127.0.0.1:3306", "127.0.0.1:1,127.0.0.1:3306");
    assert_ne!(url, db.url, "the test expects the default server URL");
    rt().block_on(async {
        let mut c = connect(&url).await;
        let rows = c.query_text("SELECT DATABASE()").await.unwrap();
        assert_eq!(rows[0][0].as_deref(), Some(db.name.as_str()));
    });
}

#[test]
fn wrong_password_and_unknown_database_say_so() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_auth") else {
        return;
    };
    db.exec(&format!(
        "CREATE USER IF NOT EXISTS '{0}'@'%' IDENTIFIED BY 's3cret-pw'; GRANT ALL ON {0}.* TO '{0}'@'%'",
        db.name
    ));
    let base = db.url.rsplit_once('/').unwrap().0.replace("root@", "");
    rt().block_on(async {
        // The right password: through mysql_native_password's scramble.
        let ok = format!(
            "{}/{}",
            base.replacen("://", &format!("://{}:s3cret-pw@", db.name), 1),
            db.name
        );
        let mut c = connect(&ok).await;
        assert_eq!(
            c.query_text("SELECT 1").await.unwrap()[0][0].as_deref(),
            Some("1")
        );
        let bad = ok.replace("s3cret-pw", "wrong-pw");
        let e = Connection::connect(&DbUrl::parse(&bad).unwrap())
            .await
            .err()
            .expect("refused");
        let text = e.to_string();
        assert!(text.contains("authentication failed"), "{text}");
        assert!(!text.contains("wrong-pw"), "the password leaked: {text}");
        let missing = format!(
            "{}/no_such_db_{}",
            base.replacen("://", "://root@", 1),
            db.name
        );
        let e = Connection::connect(&DbUrl::parse(&missing).unwrap())
            .await
            .err()
            .expect("refused");
        assert!(e.to_string().contains("does not exist"), "{e}");
    });
    db.exec(&format!("DROP USER '{}'@'%'", db.name));
}

#[test]
fn a_lock_wait_timeout_is_retryable() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_lockwait") else {
        return;
    };
    db.exec("CREATE TABLE w (id INT PRIMARY KEY, v INT); INSERT INTO w VALUES (1, 0)");
    rt().block_on(async {
        let mut a = connect(&db.url).await;
        let mut b = connect(&db.url).await;
        let upd = vec!["UPDATE w SET v = v + 1 WHERE id = ?".to_string()];
        b.prepare_all(&upd).await.unwrap();
        b.execute("SET SESSION innodb_lock_wait_timeout = 1")
            .await
            .unwrap();
        a.execute("START TRANSACTION").await.unwrap();
        a.execute("UPDATE w SET v = 5 WHERE id = 1").await.unwrap();
        let e = b.run(0, &[Value::Int(1)]).await.unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (ErrorKind::LockTimeout, "1205"));
        assert!(e.kind.is_retryable());
        a.execute("ROLLBACK").await.unwrap();
        // b's session goes on.
        assert_eq!(b.run(0, &[Value::Int(1)]).await.unwrap().rows, 1);
    });
}

#[test]
fn url_options_only_mysql_async_handles_go_to_it() {
    let Some(db) = TestDb::new(Db::Mysql, "wire_fallback") else {
        return;
    };
    rt().block_on(async {
        let url = format!("{}?wait_timeout=600", db.url);
        let mut c = Connection::connect(&DbUrl::parse(&url).unwrap())
            .await
            .expect("connect");
        match &c {
            Connection::Mysql(m) => assert!(!m.is_lean()),
            _ => panic!("not a MySQL connection"),
        }
        let rows = c.query_text("SELECT 1").await.unwrap();
        assert_eq!(rows[0][0].as_deref(), Some("1"));
    });
}
