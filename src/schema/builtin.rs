//! Built-in schemas dbarena can create on an empty database.

use super::model::{ColKind, ColumnInfo, ForeignKey, TableInfo};

fn col(name: &str, kind: ColKind) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        sql_type: String::new(),
        kind,
        nullable: false,
        auto_generated: false,
        has_default: false,
        unique: false,
    }
}

fn id() -> ColumnInfo {
    ColumnInfo {
        auto_generated: true,
        ..col("id", ColKind::BigInt)
    }
}

fn text(name: &str, len: u32) -> ColumnInfo {
    col(name, ColKind::Text { max_len: Some(len) })
}

fn decimal(name: &str, precision: u32, scale: u32) -> ColumnInfo {
    col(name, ColKind::Decimal { precision, scale })
}

fn fk(column: &str, table: &str) -> ForeignKey {
    ForeignKey {
        column: column.into(),
        ref_table: table.into(),
        ref_column: "id".into(),
    }
}

fn table(name: &str, columns: Vec<ColumnInfo>, fks: Vec<ForeignKey>) -> TableInfo {
    TableInfo {
        name: name.into(),
        columns,
        primary_key: vec!["id".into()],
        foreign_keys: fks,
        row_count: 0,
        unique_keys: Vec::new(),
        index_notes: Vec::new(),
    }
}

/// The `ecommerce` schema: users, products, orders, order_items, in foreign-key order,
/// with the row counts used when the workload fills an empty database.
pub fn ecommerce() -> Vec<(TableInfo, u64)> {
    let email = ColumnInfo {
        unique: true,
        ..text("email", 255)
    };
    vec![
        (
            table(
                "users",
                vec![
                    id(),
                    email,
                    text("name", 100),
                    text("country", 2),
                    col("created_at", ColKind::Timestamp),
                ],
                vec![],
            ),
            1_000,
        ),
        (
            table(
                "products",
                vec![
                    id(),
                    text("name", 200),
                    text("category", 50),
                    decimal("price", 10, 2),
                    col("stock", ColKind::Int),
                    col("created_at", ColKind::Timestamp),
                ],
                vec![],
            ),
            500,
        ),
        (
            table(
                "orders",
                vec![
                    id(),
                    col("user_id", ColKind::BigInt),
                    text("status", 20),
                    decimal("total", 12, 2),
                    col("created_at", ColKind::Timestamp),
                ],
                vec![fk("user_id", "users")],
            ),
            2_000,
        ),
        (
            table(
                "order_items",
                vec![
                    id(),
                    col("order_id", ColKind::BigInt),
                    col("product_id", ColKind::BigInt),
                    col("quantity", ColKind::Int),
                    decimal("unit_price", 10, 2),
                ],
                vec![fk("order_id", "orders"), fk("product_id", "products")],
            ),
            5_000,
        ),
    ]
}
