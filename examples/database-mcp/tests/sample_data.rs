//! The sample database: determinism and the promises DESIGN §6 makes about its content.

mod common;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row, SqliteConnection};
use talk2tables_database_mcp::sample::{self, CATEGORIES, FEATURED_PRODUCTS, STATUSES};

async fn open(path: &std::path::Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path).read_only(true)).await.expect("open")
}

/// Every row of every table, as text, in key order.
async fn dump(path: &std::path::Path) -> String {
    let mut conn = open(path).await;
    let mut out = String::new();
    for (table, key) in [
        ("customers", "customer_id"),
        ("products", "product_id"),
        ("orders", "order_id"),
        ("order_items", "order_item_id"),
    ] {
        let sql = format!("SELECT * FROM {table} ORDER BY {key}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.expect("dump");
        for row in rows {
            let cells: Vec<String> = (0..row.len())
                .map(|i| {
                    row.try_get::<String, _>(i)
                        .or_else(|_| row.try_get::<i64, _>(i).map(|v| v.to_string()))
                        .or_else(|_| row.try_get::<f64, _>(i).map(|v| v.to_string()))
                        .unwrap_or_else(|_| "NULL".into())
                })
                .collect();
            out.push_str(table);
            out.push('|');
            out.push_str(&cells.join("|"));
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn sample_is_deterministic_and_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let summary = sample::create(&a, common::today()).await.expect("create a");
    sample::create(&b, common::today()).await.expect("create b");
    let (da, db) = (dump(&a).await, dump(&b).await);
    assert_eq!(da, db, "two creations differ");
    assert!(da.lines().count() > 4000);

    assert_eq!(summary.customers, 200);
    assert_eq!(summary.products, 60);
    assert_eq!(summary.orders, 2000);
    assert!(summary.order_items >= 2000);

    // A different day gives different dates (dates are relative to `today`).
    let c = dir.path().join("c.db");
    sample::create(&c, common::today() + chrono::Duration::days(40)).await.expect("create c");
    assert_ne!(dump(&c).await, da);

    // Creating over an existing file is refused; ensure() leaves it alone.
    assert!(sample::create(&a, common::today()).await.is_err());
    assert!(!sample::ensure(&a).await.expect("ensure"));
    assert_eq!(dump(&a).await, da);
}

#[tokio::test]
async fn sample_content_matches_design() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let mut conn = open(&path).await;

    // Featured products exist with their names/categories and have items this month.
    for (id, name, category, _) in FEATURED_PRODUCTS {
        let row = sqlx::query(
            "SELECT p.name, p.category, \
               (SELECT count(*) FROM order_items i JOIN orders o ON o.order_id = i.order_id \
                WHERE i.product_id = p.product_id AND o.order_date >= '2026-03-01' AND o.order_date <= '2026-03-15') \
             FROM products p WHERE p.product_id = ?",
        )
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .expect("featured product");
        assert_eq!(row.get::<String, _>(0), name);
        assert_eq!(row.get::<String, _>(1), category);
        assert!(row.get::<i64, _>(2) > 0, "product {id} has no items this month");
    }

    // Rows in the current and the previous month; nothing in the future or before 18 months.
    let counts: (i64, i64, String, String) = sqlx::query_as(
        "SELECT sum(order_date BETWEEN '2026-03-01' AND '2026-03-15'), \
                sum(order_date BETWEEN '2026-02-01' AND '2026-02-28'), min(order_date), max(order_date) FROM orders",
    )
    .fetch_one(&mut conn)
    .await
    .expect("dates");
    assert!(counts.0 >= 40 && counts.1 >= 40, "{counts:?}");
    assert!(counts.2.as_str() >= "2024-09-01" && counts.3.as_str() <= "2026-03-15", "{counts:?}");

    // Totals are the sum of their items, to the cent.
    let bad: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders o WHERE abs(o.total_amount - \
           (SELECT round(sum(quantity * unit_price), 2) FROM order_items i WHERE i.order_id = o.order_id)) > 0.001",
    )
    .fetch_one(&mut conn)
    .await
    .expect("totals");
    assert_eq!(bad, 0);

    // Categories and statuses are exactly the design's.
    let cats: Vec<String> = sqlx::query_scalar("SELECT DISTINCT category FROM products ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .expect("categories");
    let mut want: Vec<String> = CATEGORIES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(cats, want);
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status FROM orders ORDER BY 1").fetch_all(&mut conn).await.expect("st");
    let mut want: Vec<String> = STATUSES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(statuses, want);

    // Declared constraints hold and ISO date formats are used.
    let fk_violations: Vec<(String,)> =
        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&mut conn).await.expect("fk");
    assert!(fk_violations.is_empty());
    let bad_dates: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM orders WHERE order_date NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]') + \
                (SELECT count(*) FROM customers WHERE created_at NOT GLOB \
                 '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("dates");
    assert_eq!(bad_dates, 0);
}
