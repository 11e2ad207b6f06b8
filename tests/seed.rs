//! `dbarena seed` against real databases: presets, every generator, determinism across
//! databases and parallelism, truncate/incremental, inference, and the error table.

mod common;
use common::*;

const SCHEMA: &str = "
CREATE TABLE customers (
  id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL UNIQUE, full_name VARCHAR(80),
  first VARCHAR(30), phone VARCHAR(30), street VARCHAR(60), city VARCHAR(40), zip VARCHAR(10),
  score INTEGER, rank_z INTEGER, height INTEGER, balance DECIMAL(10,2), active BOOLEAN,
  created_at TIMESTAMP NULL, seen_at TIMESTAMP NULL, uid VARCHAR(36), bio VARCHAR(200),
  tier VARCHAR(10), code VARCHAR(40), meta VARCHAR(200), nick VARCHAR(20) NULL);
CREATE TABLE purchases (
  id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, amount DECIMAL(8,2),
  FOREIGN KEY (customer_id) REFERENCES customers(id))";

/// Every generator; options nested under `options` for some columns and flat for others.
const CONFIG: &str = r#"
global_seed = 7
batch_size = 300

[[seed_rules.tables]]
name = "customers"
count = 1000

[[seed_rules.tables.columns]]
name = "id"
generator = "sequential"
options = { start = 10, step = 5 }

[[seed_rules.tables.columns]]
name = "email"
generator = "email"

[[seed_rules.tables.columns]]
name = "full_name"
generator = "name"

[[seed_rules.tables.columns]]
name = "first"
generator = "name"
part = "first"

[[seed_rules.tables.columns]]
name = "phone"
generator = "phone"

[[seed_rules.tables.columns]]
name = "street"
generator = "address"

[[seed_rules.tables.columns]]
name = "city"
generator = "address"
options = { part = "city" }

[[seed_rules.tables.columns]]
name = "zip"
generator = "address"
part = "zip"

[[seed_rules.tables.columns]]
name = "score"
generator = "random_int"
min = 1
max = 100

[[seed_rules.tables.columns]]
name = "rank_z"
generator = "random_int"
options = { min = 1, max = 50, distribution = "zipfian" }

[[seed_rules.tables.columns]]
name = "height"
generator = "random_int"
min = 150
max = 200
distribution = "normal"

[[seed_rules.tables.columns]]
name = "balance"
generator = "random_decimal"
min = -100
max = 5000
precision = 2

[[seed_rules.tables.columns]]
name = "active"
generator = "boolean"
probability = 0.8

[[seed_rules.tables.columns]]
name = "created_at"
generator = "timestamp"
start = "2024-01-01 00:00:00"
end = "2024-12-31 23:59:59"

[[seed_rules.tables.columns]]
name = "seen_at"
generator = "timestamp"
options = { start = "2024-06-01 00:00:00", end = "2024-06-02 00:00:00", monotonic = true }

[[seed_rules.tables.columns]]
name = "uid"
generator = "uuid"

[[seed_rules.tables.columns]]
name = "bio"
generator = "text"
min_length = 20
max_length = 120

[[seed_rules.tables.columns]]
name = "tier"
generator = "enum"
values = ["gold", "silver", "bronze"]
weights = [1, 3, 6]

[[seed_rules.tables.columns]]
name = "code"
generator = "template"
template = "C-{sequential}-{random_int:10:99}"

[[seed_rules.tables.columns]]
name = "meta"
generator = "json"

[[seed_rules.tables.columns]]
name = "nick"
generator = "name"
part = "first"
null_probability = 0.3

[[seed_rules.tables]]
name = "purchases"
count = 3000

[[seed_rules.tables.columns]]
name = "id"
generator = "sequential"

[[seed_rules.tables.columns]]
name = "customer_id"
generator = "foreign_key"
references = "customers.id"
distribution = "zipfian"

[[seed_rules.tables.columns]]
name = "amount"
generator = "random_decimal"
options = { min = 1, max = 999, precision = 2 }
"#;

fn normalise(cell: &Option<String>) -> String {
    match cell.as_deref() {
        None => "NULL".into(),
        Some("t") | Some("true") => "1.0000".into(),
        Some("f") | Some("false") => "0.0000".into(),
        // SQLite keeps DECIMAL as REAL: compare numbers by value, not by text.
        Some(s) => match s.parse::<f64>() {
            Ok(v) => format!("{v:.4}"),
            Err(_) => s.trim_end().to_string(),
        },
    }
}

fn dump(db: &TestDb, table: &str) -> Vec<String> {
    db.query(&format!("SELECT * FROM {table} ORDER BY id"))
        .iter()
        .map(|r| r.iter().map(normalise).collect::<Vec<_>>().join("|"))
        .collect()
}

fn seed_ok(db: &TestDb, dir: &Scratch, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["seed", "--db", &db.url, "--json", "-q"];
    args.extend_from_slice(extra);
    let o = dbarena(&args, dir.path());
    assert!(o.status.success(), "{:?}: {}", db.kind, stderr(&o));
    serde_json::from_slice(&o.stdout).expect("--json prints JSON")
}

#[test]
fn every_generator_same_rows_on_every_database() {
    let dir = Scratch::new("seedcfg");
    let cfg = dir.file("seed.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let mut dumps = Vec::new();
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "seedgen") else {
            continue;
        };
        db.exec(SCHEMA);
        let r = seed_ok(&db, &dir, &["--config", cfg.to_str().unwrap()]);
        assert_eq!(r["total_rows"], 4000);
        let customers = dump(&db, "customers");
        let purchases = dump(&db, "purchases");
        assert_eq!(customers.len(), 1000);
        assert_eq!(purchases.len(), 3000);
        // Sequential ids with start/step from nested options.
        let ids = db.query("SELECT MIN(id), MAX(id) FROM customers");
        assert_eq!(ids[0][0].as_deref(), Some("10"));
        assert_eq!(ids[0][1].as_deref(), Some("5005"));
        // Bounds and shapes.
        let q = |sql: &str| db.query(sql)[0][0].clone().unwrap_or_default();
        assert_eq!(
            q("SELECT COUNT(*) FROM customers WHERE score < 1 OR score > 100"),
            "0"
        );
        assert_eq!(
            q("SELECT COUNT(*) FROM customers WHERE height < 150 OR height > 200"),
            "0"
        );
        assert_eq!(q("SELECT COUNT(DISTINCT email) FROM customers"), "1000");
        let nulls: u64 = q("SELECT COUNT(*) FROM customers WHERE nick IS NULL")
            .parse()
            .unwrap();
        assert!(
            (200..400).contains(&nulls),
            "{kind:?}: {nulls} nulls for p=0.3"
        );
        let gold: u64 = q("SELECT COUNT(*) FROM customers WHERE tier = 'gold'")
            .parse()
            .unwrap();
        let bronze: u64 = q("SELECT COUNT(*) FROM customers WHERE tier = 'bronze'")
            .parse()
            .unwrap();
        assert!(
            gold < 160 && bronze > 520,
            "{kind:?}: weights ignored ({gold} gold, {bronze} bronze)"
        );
        let hot: u64 = q("SELECT COUNT(*) FROM customers WHERE rank_z = 1")
            .parse()
            .unwrap();
        assert!(hot > 100, "{kind:?}: zipfian rank 1 only {hot} times");
        assert_eq!(q("SELECT COUNT(*) FROM purchases p LEFT JOIN customers c ON c.id = p.customer_id WHERE c.id IS NULL"), "0");
        assert_eq!(q("SELECT COUNT(*) FROM customers WHERE created_at < '2024-01-01' OR created_at > '2025-01-01'"), "0");
        assert_eq!(
            q("SELECT COUNT(*) FROM customers WHERE code NOT LIKE 'C-%'"),
            "0"
        );
        // Determinism across runs on one database.
        let again = seed_ok(
            &db,
            &dir,
            &["--config", cfg.to_str().unwrap(), "--truncate"],
        );
        assert_eq!(again["total_rows"], 4000);
        assert_eq!(
            dump(&db, "customers"),
            customers,
            "{kind:?}: second run differs"
        );
        // A different seed gives different data.
        seed_ok(
            &db,
            &dir,
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--truncate",
                "--seed",
                "8",
            ],
        );
        assert_ne!(
            dump(&db, "customers"),
            customers,
            "{kind:?}: --seed ignored"
        );
        dumps.push((kind, customers, purchases));
    }
    for w in dumps.windows(2) {
        assert_eq!(w[0].1.len(), w[1].1.len());
        for (a, b) in w[0].1.iter().zip(&w[1].1) {
            assert_eq!(a, b, "{:?} and {:?} differ", w[0].0, w[1].0);
        }
        assert_eq!(
            w[0].2, w[1].2,
            "{:?} and {:?} differ in purchases",
            w[0].0, w[1].0
        );
    }
}

#[test]
fn same_rows_whatever_the_parallelism() {
    let Some(db) = TestDb::new(Db::Postgres, "par") else {
        return;
    };
    let dir = Scratch::new("par");
    let sum = |db: &TestDb| {
        db.query("SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o")[0][0].clone()
    };
    seed_ok(
        &db,
        &dir,
        &[
            "--preset",
            "ecommerce",
            "--rows",
            "orders=120000",
            "--connections",
            "1",
        ],
    );
    let one = sum(&db);
    seed_ok(
        &db,
        &dir,
        &[
            "--preset",
            "ecommerce",
            "--rows",
            "orders=120000",
            "--connections",
            "3",
            "--truncate",
        ],
    );
    assert_eq!(
        sum(&db),
        one,
        "3 loader connections produced different rows than 1"
    );
}

#[test]
fn presets_on_every_database() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "presets") else {
            continue;
        };
        let dir = Scratch::new("presets");
        let count = |t: &str| {
            db.query(&format!("SELECT COUNT(*) FROM {t}"))[0][0]
                .clone()
                .unwrap()
        };
        seed_ok(&db, &dir, &["--preset", "ecommerce", "--size", "small"]);
        assert_eq!(
            (
                count("users"),
                count("products"),
                count("orders"),
                count("order_items")
            ),
            ("1000".into(), "100".into(), "5000".into(), "15000".into()),
            "{kind:?}"
        );
        seed_ok(&db, &dir, &["--preset", "ycsb", "--size", "small"]);
        assert_eq!(count("usertable"), "10000");
        let k = db.query("SELECT ycsb_key, field0 FROM usertable ORDER BY ycsb_key LIMIT 1");
        assert!(k[0][0].as_deref().unwrap().starts_with("user"));
        assert_eq!(k[0][1].as_deref().unwrap().len(), 100);
        seed_ok(&db, &dir, &["--preset", "timeseries", "--size", "small"]);
        assert_eq!(
            (count("devices"), count("readings")),
            ("100".into(), "20000".into())
        );
        seed_ok(&db, &dir, &["--preset", "pgbench", "--scale", "1"]);
        assert_eq!(count("pgbench_branches"), "1");
        assert_eq!(count("pgbench_tellers"), "10");
        assert_eq!(count("pgbench_accounts"), "100000");
        assert_eq!(count("pgbench_history"), "0");
        let bal = db.query("SELECT SUM(abalance), MIN(bid), MAX(bid) FROM pgbench_accounts");
        assert_eq!(bal[0][0].as_deref(), Some("0"));
        assert_eq!(bal[0][1].as_deref(), Some("1"));
        // The workload can run on seeded data straight away.
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--transactions",
                "200",
                "-q",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{kind:?}: {}", stderr(&o));
    }
}

#[test]
fn pgbench_preset_matches_pgbench_tables() {
    let Some(db) = TestDb::new(Db::Postgres, "pgb") else {
        return;
    };
    let dir = Scratch::new("pgb");
    seed_ok(&db, &dir, &["--preset", "pgbench", "--scale", "2"]);
    let cols = db.query(
        "SELECT table_name, column_name, data_type, character_maximum_length FROM information_schema.columns \
         WHERE table_name LIKE 'pgbench_%' ORDER BY table_name, ordinal_position",
    );
    let got: Vec<String> = cols
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(
        got.contains(&"pgbench_accounts filler character 84".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"pgbench_branches filler character 88".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"pgbench_history mtime timestamp without time zone ".to_string()),
        "{got:?}"
    );
    let pk = db.query("SELECT COUNT(*) FROM information_schema.table_constraints WHERE constraint_type = 'PRIMARY KEY' AND table_name LIKE 'pgbench_%'");
    assert_eq!(pk[0][0].as_deref(), Some("3"));
    assert_eq!(
        db.query("SELECT COUNT(*) FROM pgbench_accounts")[0][0].as_deref(),
        Some("200000")
    );
    assert_eq!(
        db.query("SELECT COUNT(*) FROM pgbench_tellers WHERE bid = 2")[0][0].as_deref(),
        Some("10")
    );
    // pgbench runs on these tables unchanged.
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-t", "20", "-c", "2", &db.url])
        .output();
    if let Ok(o) = out {
        assert!(
            o.status.success(),
            "pgbench on dbarena's tables: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn truncate_and_incremental_are_not_no_ops() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "trinc") else {
            continue;
        };
        let dir = Scratch::new("trinc");
        let count = |t: &str| {
            db.query(&format!("SELECT COUNT(*) FROM {t}"))[0][0]
                .clone()
                .unwrap()
        };
        seed_ok(&db, &dir, &["--preset", "ecommerce", "--size", "small"]);
        let o = dbarena(
            &[
                "seed",
                "--db",
                &db.url,
                "--preset",
                "ecommerce",
                "--size",
                "small",
                "-q",
            ],
            dir.path(),
        );
        assert_eq!(
            o.status.code(),
            Some(4),
            "{kind:?}: seeding a full table must refuse"
        );
        assert!(stderr(&o).contains("--truncate") && stderr(&o).contains("--incremental"));
        seed_ok(
            &db,
            &dir,
            &["--preset", "ecommerce", "--size", "small", "--incremental"],
        );
        assert_eq!(count("users"), "2000", "{kind:?}");
        assert_eq!(count("order_items"), "30000");
        let distinct = db.query("SELECT COUNT(DISTINCT email), MAX(id) FROM users");
        assert_eq!(
            distinct[0][0].as_deref(),
            Some("2000"),
            "{kind:?}: emails collide after --incremental"
        );
        assert_eq!(distinct[0][1].as_deref(), Some("2000"));
        seed_ok(
            &db,
            &dir,
            &["--preset", "ecommerce", "--size", "small", "--truncate"],
        );
        assert_eq!(count("users"), "1000", "{kind:?}");
        assert_eq!(count("order_items"), "15000");
        // The workload's inserts still get fresh keys after explicit ids (sequences moved).
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                &db.url,
                "--pattern",
                "write_heavy",
                "--transactions",
                "300",
                "-q",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{kind:?}: {}", stderr(&o));
    }
}

#[test]
fn rows_alone_infers_generators_from_the_schema() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "infer") else {
            continue;
        };
        db.exec(
            "CREATE TABLE members (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE, first_name VARCHAR(12) NOT NULL,
               country VARCHAR(2) NOT NULL, created_at TIMESTAMP NULL, born DATE, credit DECIMAL(5,2), vip BOOLEAN, notes VARCHAR(15));
             CREATE TABLE visits (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL, pages INTEGER,
               FOREIGN KEY (member_id) REFERENCES members(id))",
        );
        let dir = Scratch::new("infer");
        let r = seed_ok(&db, &dir, &["--rows", "members=2000,visits=5000"]);
        assert_eq!(r["total_rows"], 7000, "{kind:?}");
        let q = |sql: &str| db.query(sql)[0][0].clone().unwrap_or_default();
        assert_eq!(
            q("SELECT COUNT(DISTINCT email) FROM members"),
            "2000",
            "{kind:?}"
        );
        assert_eq!(
            q("SELECT COUNT(*) FROM members WHERE email NOT LIKE '%@%'"),
            "0"
        );
        assert_eq!(q("SELECT COUNT(*) FROM visits v LEFT JOIN members m ON m.id = v.member_id WHERE m.id IS NULL"), "0");
        assert_eq!(
            q("SELECT MAX(LENGTH(notes)) <= 15 FROM members")
                .replace("true", "1")
                .replace('t', "1"),
            "1"
        );
        // --print-config writes TOML that seeds the same rows.
        let o = dbarena(
            &[
                "seed",
                "--db",
                &db.url,
                "--rows",
                "members=2000,visits=5000",
                "--print-config",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let toml = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            toml.contains("part = \"email\"") && toml.contains("references = \"members.id\""),
            "{toml}"
        );
        let before = dump(&db, "members");
        let cfg = dir.file("inferred.toml");
        std::fs::write(&cfg, &toml).unwrap();
        seed_ok(
            &db,
            &dir,
            &["--config", cfg.to_str().unwrap(), "--truncate"],
        );
        assert_eq!(
            dump(&db, "members"),
            before,
            "{kind:?}: printed config seeds different rows"
        );
    }
}

fn seed_err(args: &[&str]) -> (i32, String) {
    let dir = Scratch::new("seederr");
    let o = dbarena(args, dir.path());
    (o.status.code().unwrap_or(-1), stderr(&o))
}

#[test]
fn seed_errors_name_the_cause() {
    let dir = Scratch::new("seederrs");
    let db = TestDb::new(Db::Sqlite, "seederr").unwrap();
    db.exec(SCHEMA);
    let cfg = dir.file("bad.toml");
    // Unknown generator, with file:line.
    std::fs::write(
        &cfg,
        CONFIG.replace("generator = \"phone\"", "generator = \"telephone\""),
    )
    .unwrap();
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let line = CONFIG
        .lines()
        .position(|l| l.contains("generator = \"phone\""))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("bad.toml:{line}:")) && err.contains("telephone"),
        "{err}"
    );
    // Unknown option and wrong type.
    std::fs::write(&cfg, CONFIG.replace("probability = 0.8", "chance = 0.8")).unwrap();
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown option 'chance'"), "{err}");
    std::fs::write(&cfg, CONFIG.replace("min = 150", "min = \"tall\"")).unwrap();
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("option 'min' must be an integer"), "{err}");
    // A foreign key to a table neither planned nor present.
    std::fs::write(
        &cfg,
        CONFIG.replace(
            "references = \"customers.id\"",
            "references = \"clients.id\"",
        ),
    )
    .unwrap();
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("clients.id"), "{err}");
    // Unknown preset.
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--preset", "tpch"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ecommerce, pgbench, ycsb, timeseries, tpcc"),
        "{err}"
    );
    // Missing table.
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--rows", "ghosts=10"]);
    assert_eq!(code, 4);
    assert!(err.contains("'ghosts' does not exist"), "{err}");
    // An unknown preset is refused before the database is opened: no empty file is left.
    let fresh = dir.file("fresh.db");
    let url = format!("sqlite://{}", fresh.display());
    let (code, err) = seed_err(&["seed", "--db", &url, "--preset", "ecomerce"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        !fresh.exists(),
        "a typo in the preset created {}",
        fresh.display()
    );
}

#[test]
fn nulls_for_a_not_null_column_are_refused_before_anything_is_emptied() {
    let dir = Scratch::new("seednotnull");
    let db = TestDb::new(Db::Sqlite, "seednotnull").unwrap();
    db.exec("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)");
    db.exec("INSERT INTO people VALUES (1, 'kept')");
    let cfg = dir.file("nulls.toml");
    std::fs::write(
        &cfg,
        "[[seed_rules.tables]]\nname = \"people\"\ncount = 10\n[[seed_rules.tables.columns]]\nname = \"name\"\ngenerator = \"name\"\nnull_probability = 0.05\n",
    )
    .unwrap();
    let (code, err) = seed_err(&[
        "seed",
        "--db",
        &db.url,
        "--config",
        cfg.to_str().unwrap(),
        "--truncate",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'people', column 'name' is NOT NULL")
            && err.contains("null_probability 0.05"),
        "{err}"
    );
    assert_eq!(
        db.query("SELECT name FROM people"),
        vec![vec![Some("kept".to_string())]]
    );
}

#[test]
fn foreign_key_cycles_are_named_and_self_references_work() {
    let db = TestDb::new(Db::Sqlite, "cycle").unwrap();
    db.exec(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));
         CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id));
         CREATE TABLE emp (id INTEGER PRIMARY KEY, boss INTEGER REFERENCES emp(id), name VARCHAR(20))",
    );
    let (code, err) = seed_err(&["seed", "--db", &db.url, "--rows", "a=10,b=10"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cycle") && (err.contains("a -> b -> a") || err.contains("b -> a -> b")),
        "{err}"
    );
    let dir = Scratch::new("selfref");
    seed_ok(&db, &dir, &["--rows", "emp=500"]);
    let q = db.query(
        "SELECT COUNT(*), COUNT(boss), SUM(CASE WHEN boss >= id THEN 1 ELSE 0 END) FROM emp",
    );
    assert_eq!(q[0][0].as_deref(), Some("500"));
    assert_eq!(
        q[0][1].as_deref(),
        Some("499"),
        "every row but the first has a boss"
    );
    assert_eq!(q[0][2].as_deref(), Some("0"), "bosses are earlier rows");
}

#[test]
fn a_failure_part_way_names_table_batch_and_committed_rows() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "fail") else {
            continue;
        };
        db.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (id INTEGER PRIMARY KEY, tag VARCHAR(5) NOT NULL UNIQUE, parent_id INTEGER NOT NULL, FOREIGN KEY (parent_id) REFERENCES parent(id))");
        let dir = Scratch::new("fail");
        let cfg = dir.file("dup.toml");
        std::fs::write(
            &cfg,
            "batch_size = 100\n[[seed_rules]]\ntable = \"parent\"\ncount = 50\n[[seed_rules.columns]]\nname = \"id\"\ngenerator = \"sequential\"\n\
             [[seed_rules]]\ntable = \"child\"\ncount = 1000\n[[seed_rules.columns]]\nname = \"id\"\ngenerator = \"sequential\"\n\
             [[seed_rules.columns]]\nname = \"tag\"\ngenerator = \"enum\"\nvalues = [\"a\", \"b\", \"c\"]\n\
             [[seed_rules.columns]]\nname = \"parent_id\"\ngenerator = \"foreign_key\"\nreferences = \"parent.id\"\n",
        )
        .unwrap();
        let (code, err) = seed_err(&[
            "seed",
            "--db",
            &db.url,
            "--config",
            cfg.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(code, 5, "{kind:?}: {err}");
        assert!(
            err.contains("table 'child', batch 1")
                && err.contains("parent=50")
                && err.contains("child=0"),
            "{kind:?}: {err}"
        );
        assert_eq!(
            db.query("SELECT COUNT(*) FROM child")[0][0].as_deref(),
            Some("0")
        );
    }
}
