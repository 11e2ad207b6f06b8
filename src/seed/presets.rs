//! Built-in datasets: ecommerce, pgbench (as `pgbench -i` makes it), ycsb, timeseries.

use super::config::{fk_placeholder, TableRule};
use super::generators::{ColumnGen, Gen, IntDist, Locale, Part, Piece, Weighted};
use crate::datagen::KeyDist;
use crate::schema::{builtin, ColKind, ColumnInfo, ForeignKey, TableInfo};
use crate::value::Value;

/// A preset table: its definition, how to fill it, extra indexes.
#[derive(Debug, Clone)]
pub struct PresetTable {
    pub info: TableInfo,
    pub rule: TableRule,
    pub indexes: Vec<String>,
}

/// A preset: tables in foreign-key order.
#[derive(Debug, Clone)]
pub struct Preset {
    pub name: String,
    pub tables: Vec<PresetTable>,
    /// Create primary keys after loading, as `pgbench -i` does.
    pub defer_primary_keys: bool,
}

/// Preset names.
pub const PRESETS: &[&str] = &["ecommerce", "pgbench", "ycsb", "timeseries"];

fn g(name: &str, gen: Gen) -> ColumnGen {
    ColumnGen {
        name: name.into(),
        gen,
        null_probability: 0.0,
        max_len: None,
        reason: None,
    }
}

fn seq(name: &str) -> ColumnGen {
    g(name, Gen::Sequential { start: 1, step: 1 })
}

fn enum_of(values: &[&str], weights: &[f64]) -> Gen {
    Gen::Enum(Weighted::texts(values, weights))
}

fn ts(start: i64, end: i64) -> Gen {
    Gen::Timestamp {
        start,
        end,
        monotonic: false,
        rows: 0,
    }
}

const Y2023: i64 = 1_672_531_200_000_000;
const Y2025: i64 = 1_735_689_600_000_000;

fn scaled(n: u64, factor: f64) -> u64 {
    ((n as f64 * factor).round() as u64).max(1)
}

fn col(name: &str, kind: ColKind, nullable: bool) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        sql_type: String::new(),
        kind,
        nullable,
        auto_generated: false,
        has_default: false,
        unique: false,
    }
}

/// The named preset. `factor` multiplies row counts (`--size`); `scale` is pgbench's `-s`.
pub fn preset(name: &str, factor: f64, scale: u64, locale: Locale) -> Option<Preset> {
    let zipf = |n: u64| IntDist::Zipfian(KeyDist::zipfian(n, 0.99));
    Some(match name {
        "ecommerce" => {
            let defs = builtin::ecommerce();
            let counts = [10_000u64, 1_000, 50_000, 150_000].map(|n| scaled(n, factor));
            let rules = vec![
                vec![
                    seq("id"),
                    g("email", Gen::Email { unique: true }),
                    g("name", Gen::Name(Part::Full, locale)),
                    g(
                        "country",
                        enum_of(
                            &["US", "DE", "FR", "GB", "JP", "BR", "IN"],
                            &[30.0, 15.0, 12.0, 12.0, 10.0, 11.0, 10.0],
                        ),
                    ),
                    g("created_at", ts(Y2023, Y2025)),
                ],
                vec![
                    seq("id"),
                    g(
                        "name",
                        Gen::Template(vec![Piece::Lit("Product ".into()), Piece::Row]),
                    ),
                    g(
                        "category",
                        enum_of(
                            &[
                                "books",
                                "electronics",
                                "garden",
                                "toys",
                                "kitchen",
                                "sports",
                            ],
                            &[1.0; 6],
                        ),
                    ),
                    g(
                        "price",
                        Gen::RandomDecimal {
                            min: 1.0,
                            max: 500.0,
                            precision: 2,
                        },
                    ),
                    g(
                        "stock",
                        Gen::RandomInt {
                            min: 0,
                            max: 1000,
                            dist: IntDist::Uniform,
                        },
                    ),
                    g("created_at", ts(Y2023, Y2025)),
                ],
                vec![
                    seq("id"),
                    g("user_id", fk_placeholder("users", "id", true)),
                    g(
                        "status",
                        enum_of(
                            &["pending", "paid", "shipped", "delivered", "cancelled"],
                            &[10.0, 20.0, 20.0, 45.0, 5.0],
                        ),
                    ),
                    g(
                        "total",
                        Gen::RandomDecimal {
                            min: 5.0,
                            max: 2000.0,
                            precision: 2,
                        },
                    ),
                    g("created_at", ts(Y2023, Y2025)),
                ],
                vec![
                    seq("id"),
                    g("order_id", fk_placeholder("orders", "id", false)),
                    g("product_id", fk_placeholder("products", "id", true)),
                    g(
                        "quantity",
                        Gen::RandomInt {
                            min: 1,
                            max: 5,
                            dist: IntDist::Uniform,
                        },
                    ),
                    g(
                        "unit_price",
                        Gen::RandomDecimal {
                            min: 1.0,
                            max: 500.0,
                            precision: 2,
                        },
                    ),
                ],
            ];
            let tables = defs
                .into_iter()
                .zip(rules)
                .zip(counts)
                .map(|(((info, _), columns), count)| {
                    let mut indexes: Vec<String> =
                        info.foreign_keys.iter().map(|f| f.column.clone()).collect();
                    if info.name == "orders" {
                        indexes.push("created_at".into());
                    }
                    PresetTable {
                        rule: TableRule {
                            name: info.name.clone(),
                            count,
                            columns,
                            notes: Vec::new(),
                            derived: Vec::new(),
                        },
                        info,
                        indexes,
                    }
                })
                .collect();
            Preset {
                name: name.into(),
                tables,
                defer_primary_keys: false,
            }
        }
        "pgbench" => {
            let s = scale.max(1);
            let int = |n: &str| col(n, ColKind::Int, true);
            let filler = |n: u32| col("filler", ColKind::Text { max_len: Some(n) }, true);
            let mk = |name: &str, key: &str, columns: Vec<ColumnInfo>| TableInfo {
                name: name.into(),
                primary_key: vec![key.into()],
                columns,
                foreign_keys: vec![],
                row_count: 0,
                unique_keys: Vec::new(),
                index_notes: Vec::new(),
            };
            let mut branches = mk(
                "pgbench_branches",
                "bid",
                vec![int("bid"), int("bbalance"), filler(88)],
            );
            let mut tellers = mk(
                "pgbench_tellers",
                "tid",
                vec![int("tid"), int("bid"), int("tbalance"), filler(84)],
            );
            let mut accounts = mk(
                "pgbench_accounts",
                "aid",
                vec![int("aid"), int("bid"), int("abalance"), filler(84)],
            );
            let history = TableInfo {
                name: "pgbench_history".into(),
                primary_key: vec![],
                columns: vec![
                    int("tid"),
                    int("bid"),
                    int("aid"),
                    int("delta"),
                    col("mtime", ColKind::Timestamp, true),
                    filler(22),
                ],
                foreign_keys: vec![],
                row_count: 0,
                unique_keys: Vec::new(),
                index_notes: Vec::new(),
            };
            // pgbench declares fillers as CHAR(n); dbarena keeps the same widths.
            for t in [&mut branches, &mut tellers, &mut accounts] {
                for c in &mut t.columns {
                    if c.name == "filler" {
                        if let ColKind::Text { max_len: Some(n) } = c.kind {
                            c.kind = ColKind::Other(format!("CHAR({n})"));
                        }
                    }
                    if c.name == t.primary_key[0] {
                        c.nullable = false;
                    }
                }
            }
            let zero = || Gen::Constant(Value::Int(0));
            let rule = |name: &str, count: u64, columns: Vec<ColumnGen>| TableRule {
                name: name.into(),
                count,
                columns,
                notes: Vec::new(),
                derived: Vec::new(),
            };
            let table = |info: TableInfo, rule: TableRule| PresetTable {
                info,
                rule,
                indexes: vec![],
            };
            Preset {
                name: name.into(),
                tables: vec![
                    table(
                        branches,
                        rule(
                            "pgbench_branches",
                            s,
                            vec![seq("bid"), g("bbalance", zero())],
                        ),
                    ),
                    table(
                        tellers,
                        rule(
                            "pgbench_tellers",
                            10 * s,
                            vec![
                                seq("tid"),
                                g(
                                    "bid",
                                    Gen::RowDiv {
                                        divisor: 10,
                                        offset: 1,
                                    },
                                ),
                                g("tbalance", zero()),
                            ],
                        ),
                    ),
                    table(
                        accounts,
                        rule(
                            "pgbench_accounts",
                            100_000 * s,
                            vec![
                                seq("aid"),
                                g(
                                    "bid",
                                    Gen::RowDiv {
                                        divisor: 100_000,
                                        offset: 1,
                                    },
                                ),
                                g("abalance", zero()),
                                g("filler", Gen::Constant(Value::Text(String::new()))),
                            ],
                        ),
                    ),
                    table(history, rule("pgbench_history", 0, vec![])),
                ],
                defer_primary_keys: true,
            }
        }
        "ycsb" => {
            let mut columns = vec![col("ycsb_key", ColKind::Text { max_len: Some(255) }, false)];
            let mut gens = vec![g("ycsb_key", Gen::YcsbKey)];
            for i in 0..10 {
                columns.push(col(
                    &format!("field{i}"),
                    ColKind::Text { max_len: Some(100) },
                    true,
                ));
                gens.push(g(&format!("field{i}"), Gen::Chars { len: 100 }));
            }
            let info = TableInfo {
                name: "usertable".into(),
                primary_key: vec!["ycsb_key".into()],
                columns,
                foreign_keys: vec![],
                row_count: 0,
                unique_keys: Vec::new(),
                index_notes: Vec::new(),
            };
            Preset {
                name: name.into(),
                tables: vec![PresetTable {
                    info,
                    rule: TableRule {
                        name: "usertable".into(),
                        count: scaled(100_000, factor),
                        columns: gens,
                        notes: Vec::new(),
                        derived: Vec::new(),
                    },
                    indexes: vec![],
                }],
                defer_primary_keys: false,
            }
        }
        "timeseries" => {
            let id = ColumnInfo {
                auto_generated: true,
                ..col("id", ColKind::BigInt, false)
            };
            let text = |n: &str, l: u32| col(n, ColKind::Text { max_len: Some(l) }, false);
            let devices = TableInfo {
                name: "devices".into(),
                primary_key: vec!["id".into()],
                columns: vec![
                    id.clone(),
                    text("name", 100),
                    text("location", 100),
                    text("kind", 30),
                    col("created_at", ColKind::Timestamp, false),
                ],
                foreign_keys: vec![],
                row_count: 0,
                unique_keys: Vec::new(),
                index_notes: Vec::new(),
            };
            let readings = TableInfo {
                name: "readings".into(),
                primary_key: vec!["id".into()],
                columns: vec![
                    id,
                    col("device_id", ColKind::BigInt, false),
                    col("ts", ColKind::Timestamp, false),
                    col(
                        "temperature",
                        ColKind::Decimal {
                            precision: 5,
                            scale: 2,
                        },
                        true,
                    ),
                    col(
                        "humidity",
                        ColKind::Decimal {
                            precision: 5,
                            scale: 2,
                        },
                        true,
                    ),
                    col("battery", ColKind::Int, true),
                ],
                foreign_keys: vec![ForeignKey {
                    column: "device_id".into(),
                    ref_table: "devices".into(),
                    ref_column: "id".into(),
                }],
                row_count: 0,
                unique_keys: Vec::new(),
                index_notes: Vec::new(),
            };
            let devices_n = scaled(1_000, factor);
            let readings_n = scaled(200_000, factor);
            Preset {
                name: name.into(),
                tables: vec![
                    PresetTable {
                        info: devices,
                        rule: TableRule {
                            notes: Vec::new(),
                            derived: Vec::new(),
                            name: "devices".into(),
                            count: devices_n,
                            columns: vec![
                                seq("id"),
                                g(
                                    "name",
                                    Gen::Template(vec![Piece::Lit("sensor-".into()), Piece::Row]),
                                ),
                                g("location", Gen::Address(Part::City)),
                                g(
                                    "kind",
                                    enum_of(
                                        &["thermostat", "meter", "camera", "tracker"],
                                        &[4.0, 3.0, 1.0, 2.0],
                                    ),
                                ),
                                g("created_at", ts(Y2023, Y2025)),
                            ],
                        },
                        indexes: vec![],
                    },
                    PresetTable {
                        info: readings,
                        rule: TableRule {
                            notes: Vec::new(),
                            derived: Vec::new(),
                            name: "readings".into(),
                            count: readings_n,
                            columns: vec![
                                seq("id"),
                                g("device_id", fk_placeholder("devices", "id", false)),
                                g(
                                    "ts",
                                    Gen::Timestamp {
                                        start: Y2025 - 30 * 86_400_000_000,
                                        end: Y2025,
                                        monotonic: true,
                                        rows: readings_n,
                                    },
                                ),
                                g(
                                    "temperature",
                                    Gen::RandomDecimal {
                                        min: -10.0,
                                        max: 45.0,
                                        precision: 2,
                                    },
                                ),
                                g(
                                    "humidity",
                                    Gen::RandomDecimal {
                                        min: 0.0,
                                        max: 100.0,
                                        precision: 2,
                                    },
                                ),
                                g(
                                    "battery",
                                    Gen::RandomInt {
                                        min: 0,
                                        max: 100,
                                        dist: zipf(101),
                                    },
                                ),
                            ],
                        },
                        indexes: vec!["device_id".into(), "ts".into()],
                    },
                ],
                defer_primary_keys: false,
            }
        }
        _ => return None,
    })
}
