//! `seed --rows` on a real schema of its own (a music store): composite primary keys, a
//! composite UNIQUE, a self-reference and a many-to-many link seed completely on every
//! database; values mean what their columns mean; each row agrees with itself (checked
//! with SQL); the same seed gives the same rows everywhere.

mod common;
use common::*;
use dbarena::datagen::places::PLACES;

const MUSIC: &str = "
CREATE TABLE artists (artist_id INTEGER PRIMARY KEY, name VARCHAR(120) NOT NULL);
CREATE TABLE albums (album_id INTEGER PRIMARY KEY, title VARCHAR(160) NOT NULL, artist_id INTEGER NOT NULL,
  FOREIGN KEY (artist_id) REFERENCES artists(artist_id));
CREATE TABLE genres (genre_id INTEGER PRIMARY KEY, name VARCHAR(120));
CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, album_id INTEGER,
  genre_id INTEGER, composer VARCHAR(220), milliseconds INTEGER NOT NULL, bytes INTEGER,
  unit_price DECIMAL(10,2) NOT NULL,
  FOREIGN KEY (album_id) REFERENCES albums(album_id), FOREIGN KEY (genre_id) REFERENCES genres(genre_id));
CREATE TABLE playlists (playlist_id INTEGER PRIMARY KEY, name VARCHAR(120));
CREATE TABLE playlist_track (playlist_id INTEGER NOT NULL, track_id INTEGER NOT NULL,
  PRIMARY KEY (playlist_id, track_id),
  FOREIGN KEY (playlist_id) REFERENCES playlists(playlist_id), FOREIGN KEY (track_id) REFERENCES tracks(track_id));
CREATE TABLE employees (employee_id INTEGER PRIMARY KEY, last_name VARCHAR(20) NOT NULL,
  first_name VARCHAR(20) NOT NULL, title VARCHAR(30), reports_to INTEGER, birth_date DATE, hire_date DATE,
  address VARCHAR(70), city VARCHAR(40), state VARCHAR(40), country VARCHAR(40), postal_code VARCHAR(10),
  phone VARCHAR(24), fax VARCHAR(24), email VARCHAR(60),
  FOREIGN KEY (reports_to) REFERENCES employees(employee_id));
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_name VARCHAR(40) NOT NULL,
  last_name VARCHAR(20) NOT NULL, company VARCHAR(80), city VARCHAR(40), state VARCHAR(40),
  country VARCHAR(40), postal_code VARCHAR(10), email VARCHAR(60) NOT NULL, support_rep_id INTEGER,
  created_at TIMESTAMP NULL, updated_at TIMESTAMP NULL,
  FOREIGN KEY (support_rep_id) REFERENCES employees(employee_id));
CREATE TABLE album_ratings (rating_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,
  album_id INTEGER NOT NULL, rating INTEGER, UNIQUE (customer_id, album_id),
  FOREIGN KEY (customer_id) REFERENCES customers(customer_id), FOREIGN KEY (album_id) REFERENCES albums(album_id));
CREATE TABLE customer_devices (customer_id INTEGER NOT NULL, device_no INTEGER NOT NULL, label VARCHAR(30),
  PRIMARY KEY (customer_id, device_no), FOREIGN KEY (customer_id) REFERENCES customers(customer_id));
CREATE TABLE invoices (invoice_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, invoice_date TIMESTAMP NULL,
  billing_city VARCHAR(40), billing_country VARCHAR(40), total DECIMAL(10,2) NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customers(customer_id));
CREATE TABLE invoice_lines (invoice_id INTEGER NOT NULL, line_no INTEGER NOT NULL, track_id INTEGER NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL, quantity INTEGER NOT NULL, PRIMARY KEY (invoice_id, line_no),
  FOREIGN KEY (invoice_id) REFERENCES invoices(invoice_id), FOREIGN KEY (track_id) REFERENCES tracks(track_id))";

const ROWS: &str = "artists=50,albums=200,genres=12,tracks=1000,playlists=20,playlist_track=5000,\
employees=30,customers=500,album_ratings=3000,customer_devices=800,invoices=400,invoice_lines=1500";

fn seed(db: &TestDb, dir: &Scratch, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["seed", "--db", &db.url, "-q", "--rows", ROWS];
    args.extend_from_slice(extra);
    dbarena(&args, dir.path())
}

fn cell(db: &TestDb, sql: &str) -> String {
    db.query(sql)[0][0].clone().unwrap_or_default()
}

/// (year, month, day) of a DATE as any of the three databases prints it.
fn ymd(s: &str) -> (i64, i64, i64) {
    let p: Vec<i64> = s[..10].split('-').map(|x| x.parse().unwrap()).collect();
    (p[0], p[1], p[2])
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

type Rows = Vec<Vec<Option<String>>>;

#[test]
fn a_music_store_seeds_completely_and_agrees_with_itself() {
    let mut dumps: Vec<(Db, Rows, Rows)> = Vec::new();
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "music") else {
            continue;
        };
        db.exec(MUSIC);
        let dir = Scratch::new("music");
        let o = seed(&db, &dir, &["--json"]);
        assert!(o.status.success(), "{kind:?}: {}", stderr(&o));
        for (t, n) in [
            ("playlist_track", "5000"),
            ("album_ratings", "3000"),
            ("customer_devices", "800"),
            ("employees", "30"),
        ] {
            assert_eq!(
                cell(&db, &format!("SELECT COUNT(*) FROM {t}")),
                n,
                "{kind:?} {t}"
            );
        }
        // Keys: every link points at real rows; the self-reference points at earlier rows.
        assert_eq!(cell(&db, "SELECT COUNT(*) FROM playlist_track pt LEFT JOIN tracks t ON t.track_id = pt.track_id WHERE t.track_id IS NULL"), "0");
        assert_eq!(
            cell(
                &db,
                "SELECT COUNT(*) FROM employees WHERE reports_to >= employee_id"
            ),
            "0"
        );
        assert_eq!(cell(&db, "SELECT COUNT(reports_to) FROM employees"), "29");
        // Skewed popularity: the most popular artist has far more albums than the average 4.
        let top: u64 = cell(
            &db,
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM albums GROUP BY artist_id) x",
        )
        .parse()
        .unwrap();
        assert!(top >= 20, "{kind:?}: artist popularity not skewed ({top})");
        // Meaning: prices of tracks, durations, no lorem ipsum anywhere it is known.
        assert_eq!(
            cell(
                &db,
                "SELECT COUNT(*) FROM tracks WHERE unit_price < 0.99 OR unit_price > 1.99"
            ),
            "0"
        );
        assert_eq!(
            cell(
                &db,
                "SELECT COUNT(*) FROM tracks WHERE milliseconds < 30000 OR milliseconds > 600000"
            ),
            "0"
        );
        for (t, c) in [
            ("tracks", "name"),
            ("tracks", "composer"),
            ("albums", "title"),
            ("employees", "title"),
            ("customers", "company"),
            ("employees", "state"),
            ("employees", "fax"),
            ("playlists", "name"),
            ("genres", "name"),
        ] {
            assert_eq!(
                cell(&db, &format!("SELECT COUNT(*) FROM {t} WHERE {c} LIKE '%ipsum%' OR {c} LIKE '%lorem%' OR {c} LIKE '%dolor%'")),
                "0",
                "{kind:?}: lorem ipsum in {t}.{c}"
            );
        }
        // An invoice's total is the sum of its lines; line numbers stay small.
        assert_eq!(cell(&db, "SELECT COUNT(*) FROM invoice_lines"), "1500");
        assert_eq!(
            cell(&db, "SELECT COUNT(*) FROM invoices i WHERE ABS(i.total - (SELECT COALESCE(SUM(l.unit_price * l.quantity), 0) FROM invoice_lines l WHERE l.invoice_id = i.invoice_id)) > 0.005"),
            "0",
            "{kind:?}: totals disagree with lines"
        );
        assert_eq!(
            cell(
                &db,
                "SELECT COUNT(*) FROM invoice_lines WHERE line_no < 1 OR line_no > 20"
            ),
            "0"
        );
        // Rows agree with themselves: birth 18–70 years before hire.
        for r in db.query("SELECT birth_date, hire_date FROM employees") {
            let (b, h) = (ymd(r[0].as_deref().unwrap()), ymd(r[1].as_deref().unwrap()));
            let age = h.0 - b.0 - i64::from((h.1, h.2) < (b.1, b.2));
            assert!((18..=70).contains(&age), "{kind:?}: hired at {age}: {r:?}");
        }
        assert_eq!(
            cell(
                &db,
                "SELECT COUNT(*) FROM employees WHERE birth_date >= hire_date"
            ),
            "0"
        );
        assert_eq!(
            cell(
                &db,
                "SELECT COUNT(*) FROM customers WHERE updated_at < created_at"
            ),
            "0"
        );
        // Email from the row's own names; city, state, postal code and country of one place.
        for r in db.query(
            "SELECT first_name, last_name, email, city, state, country, postal_code FROM customers",
        ) {
            let v: Vec<&str> = r.iter().map(|c| c.as_deref().unwrap_or("")).collect();
            let local = fold(v[2].split('@').next().unwrap());
            assert!(
                local.starts_with(&format!("{}{}", fold(v[0]), fold(v[1]))),
                "{kind:?}: email {} is not {} {}",
                v[2],
                v[0],
                v[1]
            );
            let p = PLACES
                .iter()
                .find(|p| p.city == v[3])
                .unwrap_or_else(|| panic!("{kind:?}: unknown city {}", v[3]));
            assert_eq!((p.state_name, p.country), (v[4], v[5]), "{kind:?}: {r:?}");
            assert_eq!(v[6].len(), p.postal.len(), "{kind:?}: postal code {r:?}");
        }
        dumps.push((
            kind,
            db.query("SELECT playlist_id, track_id FROM playlist_track ORDER BY playlist_id, track_id"),
            db.query("SELECT customer_id, first_name, last_name, email, city, company FROM customers ORDER BY customer_id"),
        ));
        // Asking for more links than there are pairs is refused up front, naming the limit.
        db.exec("DELETE FROM playlist_track");
        let o = dbarena(
            &[
                "seed",
                "--db",
                &db.url,
                "-q",
                "--rows",
                "playlist_track=20001",
            ],
            dir.path(),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{kind:?}: {err}");
        assert!(
            err.contains("playlist_track")
                && err.contains("20000")
                && err.contains("playlist_id, track_id"),
            "{kind:?}: {err}"
        );
    }
    for w in dumps.windows(2) {
        assert_eq!(
            w[0].1, w[1].1,
            "{:?} and {:?}: links differ",
            w[0].0, w[1].0
        );
        assert_eq!(
            w[0].2, w[1].2,
            "{:?} and {:?}: customers differ",
            w[0].0, w[1].0
        );
    }
}

#[test]
fn print_config_shows_guesses_reasons_and_self_references() {
    let db = TestDb::new(Db::Sqlite, "musiccfg").unwrap();
    db.exec(MUSIC);
    let dir = Scratch::new("musiccfg");
    let o = seed(&db, &dir, &["--print-config"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let toml = String::from_utf8_lossy(&o.stdout).into_owned();
    for want in [
        "# tracks.unit_price",
        "price of a track",
        "generator = \"self_reference\"",
        "# employees.birth_date",
        "18–70 years before",
        "list = \"song_title\"",
        "list = \"company\"",
        "list = \"job_title\"",
        "key (playlist_id, track_id)",
        "skewed popularity",
        "[[seed_rules.tables.derived]]",
        "sum = \"unit_price * quantity\"",
    ] {
        assert!(toml.contains(want), "missing {want:?} in:\n{toml}");
    }
    // The printed config seeds the same rows as inference.
    let cfg = dir.file("music.toml");
    std::fs::write(&cfg, &toml).unwrap();
    let o = seed(&db, &dir, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = db.query("SELECT * FROM employees ORDER BY employee_id");
    let o = dbarena(
        &[
            "seed",
            "--db",
            &db.url,
            "-q",
            "--config",
            cfg.to_str().unwrap(),
            "--truncate",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        db.query("SELECT * FROM employees ORDER BY employee_id"),
        before
    );
}

#[test]
fn truncate_names_the_table_that_blocks_it_and_cascade_empties_it() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "trunc") else {
            continue;
        };
        db.exec(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(40));
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL,
               FOREIGN KEY (parent_id) REFERENCES parent(id));
             CREATE TABLE audit (id INTEGER PRIMARY KEY, parent_id INTEGER,
               FOREIGN KEY (parent_id) REFERENCES parent(id))",
        );
        let dir = Scratch::new("trunc");
        let run = |args: &[&str]| {
            let mut a = vec!["seed", "--db", &db.url, "-q"];
            a.extend_from_slice(args);
            dbarena(&a, dir.path())
        };
        let o = run(&["--rows", "parent=20,child=50"]);
        assert!(o.status.success(), "{kind:?}: {}", stderr(&o));
        // The empty table outside the list (audit) is no obstacle; child, with rows, is.
        let o = run(&["--rows", "parent=10", "--truncate"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(4), "{kind:?}: {err}");
        assert!(
            err.contains("'child'") && err.contains("--cascade") && err.lines().count() == 1,
            "{kind:?}: {err}"
        );
        assert_eq!(
            cell(&db, "SELECT COUNT(*) FROM parent"),
            "20",
            "{kind:?}: nothing emptied"
        );
        let o = run(&["--rows", "parent=10", "--truncate", "--cascade"]);
        assert!(o.status.success(), "{kind:?}: {}", stderr(&o));
        assert_eq!(cell(&db, "SELECT COUNT(*) FROM parent"), "10");
        assert_eq!(cell(&db, "SELECT COUNT(*) FROM child"), "0");
    }
}

#[test]
fn an_interrupted_seed_reports_the_rows_the_database_holds() {
    let db = TestDb::new(Db::Sqlite, "intr").unwrap();
    db.exec(
        "CREATE TABLE usertable (id INTEGER PRIMARY KEY, field0 VARCHAR(100), field1 VARCHAR(100))",
    );
    let dir = Scratch::new("intr");
    let child = spawn_dbarena(
        &[
            "seed",
            "--db",
            &db.url,
            "-q",
            "--rows",
            "usertable=20000000",
        ],
        dir.path(),
    );
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    let n = cell(&db, "SELECT COUNT(*) FROM usertable");
    assert!(n != "0", "nothing committed in 2.5 s: {err}");
    assert!(
        err.contains(&format!("usertable={n}")),
        "database holds {n}: {err}"
    );
}

#[test]
fn text_never_cut_silently() {
    let db = TestDb::new(Db::Sqlite, "cut").unwrap();
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(15), label VARCHAR(8))");
    let dir = Scratch::new("cut");
    // A config asking for longer text than the column holds is refused, naming the fix.
    let cfg = dir.file("long.toml");
    std::fs::write(
        &cfg,
        "[[seed_rules]]\ntable = \"notes\"\ncount = 10\n[[seed_rules.columns]]\nname = \"body\"\ngenerator = \"text\"\nmin_length = 5\nmax_length = 40\n",
    )
    .unwrap();
    let o = dbarena(
        &[
            "seed",
            "--db",
            &db.url,
            "-q",
            "--config",
            cfg.to_str().unwrap(),
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("notes")
            && err.contains("body")
            && err.contains("15")
            && err.contains("max_length"),
        "{err}"
    );
    // Inference says where it cuts.
    let o = dbarena(
        &[
            "seed",
            "--db",
            &db.url,
            "--rows",
            "notes=10",
            "--print-config",
        ],
        dir.path(),
    );
    let toml = String::from_utf8_lossy(&o.stdout);
    assert!(
        toml.contains("fits VARCHAR(15)") && toml.contains("cut"),
        "{toml}"
    );
}

#[test]
fn unique_indexes_composite_partial_and_on_expressions() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "uidx") else {
            continue;
        };
        // A composite unique index that is not a constraint, on every database.
        db.exec(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(60) NOT NULL, handle VARCHAR(40), deleted BOOLEAN);
             CREATE TABLE follows (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL, b_id INTEGER NOT NULL,
               FOREIGN KEY (a_id) REFERENCES people(id), FOREIGN KEY (b_id) REFERENCES people(id));
             CREATE UNIQUE INDEX follows_pair ON follows (a_id, b_id)",
        );
        if kind != Db::Mysql {
            db.exec(
                "CREATE UNIQUE INDEX people_live_email ON people (email) WHERE deleted = false;
                 CREATE UNIQUE INDEX people_handle_lower ON people (lower(handle))",
            );
        }
        let dir = Scratch::new("uidx");
        let rows = ["--rows", "people=100,follows=5000"];
        let mut args = vec!["seed", "--db", &db.url, "-q"];
        args.extend_from_slice(&rows);
        let o = dbarena(&args, dir.path());
        let err = stderr(&o);
        assert!(o.status.success(), "{kind:?}: {err}");
        assert_eq!(cell(&db, "SELECT COUNT(*) FROM follows"), "5000");
        if kind != Db::Mysql {
            assert!(
                err.contains("people_handle_lower is on an expression"),
                "{kind:?}: {err}"
            );
            args.push("--print-config");
            let o = dbarena(&args, dir.path());
            let toml = String::from_utf8_lossy(&o.stdout);
            assert!(
                toml.contains("# partial unique index people_live_email")
                    && toml.contains("# unique index people_handle_lower is on an expression"),
                "{kind:?}: {toml}"
            );
        }
    }
}

#[test]
fn unique_columns_of_any_type_and_the_seed_changes_the_people() {
    for kind in ALL {
        let Some(db) = TestDb::new(kind, "uniq") else {
            continue;
        };
        db.exec(
            "CREATE TABLE days (day DATE PRIMARY KEY, code CHAR(3) NOT NULL UNIQUE, price DECIMAL(8,2) NOT NULL UNIQUE,
               seen TIMESTAMP NULL UNIQUE, first_name VARCHAR(20), last_name VARCHAR(20), email VARCHAR(60))",
        );
        let dir = Scratch::new("uniq");
        let run = |seed: &str| {
            let o = dbarena(
                &[
                    "seed",
                    "--db",
                    &db.url,
                    "-q",
                    "--rows",
                    "days=500",
                    "--truncate",
                    "--seed",
                    seed,
                ],
                dir.path(),
            );
            assert!(o.status.success(), "{kind:?}: {}", stderr(&o));
            db.query("SELECT first_name, last_name, email FROM days ORDER BY day")
        };
        let a = run("1");
        assert_eq!(
            cell(&db, "SELECT COUNT(DISTINCT day) FROM days"),
            "500",
            "{kind:?}"
        );
        assert_eq!(
            cell(&db, "SELECT COUNT(DISTINCT seen) FROM days"),
            "500",
            "{kind:?}"
        );
        let b = run("2");
        assert_ne!(a, b, "{kind:?}: --seed does not change the people");
        assert_eq!(run("1"), a, "{kind:?}: the same seed gives other people");
    }
}

#[test]
fn incremental_refuses_a_composite_key_it_would_repeat() {
    let db = TestDb::new(Db::Sqlite, "incr").unwrap();
    db.exec(
        "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);
         CREATE TABLE ab (a_id INTEGER NOT NULL REFERENCES a(id), b_id INTEGER NOT NULL REFERENCES b(id), PRIMARY KEY (a_id, b_id))",
    );
    let dir = Scratch::new("incr");
    let o = dbarena(
        &["seed", "--db", &db.url, "-q", "--rows", "a=10,b=10,ab=30"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = dbarena(
        &[
            "seed",
            "--db",
            &db.url,
            "-q",
            "--rows",
            "ab=30",
            "--incremental",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("'ab'") && err.contains("--truncate"), "{err}");
    assert_eq!(cell(&db, "SELECT COUNT(*) FROM ab"), "30");
}
