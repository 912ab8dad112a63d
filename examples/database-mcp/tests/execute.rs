//! `execute_query` without the MCP layer: caps, rejections, errors, timeout, schema.

mod common;

use std::time::Duration;

use talk2tables_common::DatabaseSchema;
use talk2tables_database_mcp::{DbError, DbOptions, QueryError, connect};

async fn order_count(server: &talk2tables_database_mcp::DatabaseServer) -> serde_json::Value {
    server.execute("SELECT count(*) AS n FROM orders").await.expect("count").rows[0][0].clone()
}

#[tokio::test]
async fn rows_are_capped_and_counted_honestly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let server = connect(path.to_str().expect("utf-8"), DbOptions { max_rows: 10, ..DbOptions::default() })
        .await
        .expect("connect");

    let out = server.execute("SELECT * FROM orders ORDER BY order_id").await.expect("query");
    assert_eq!(out.columns[0], "order_id");
    assert_eq!(out.row_count, 10);
    assert_eq!(out.rows.len(), 10);
    assert!(out.truncated);
    assert_eq!(out.total_rows, None);
    assert_eq!(out.rows[0][0], serde_json::json!(1));

    // Exactly max_rows rows: not truncated, total known.
    let out = server.execute("SELECT order_id FROM orders LIMIT 10").await.expect("query");
    assert_eq!((out.row_count, out.truncated, out.total_rows), (10, false, Some(10)));

    // Typed values: integer, real, text, null; an empty result keeps its columns.
    let out = server.execute("SELECT 1 AS i, 2.5 AS r, 'x' AS t, NULL AS n, x'00ff' AS b").await.expect("types");
    assert_eq!(out.rows[0], serde_json::json!([1, 2.5, "x", null, "00ff"]).as_array().cloned().expect("arr"));
    let out = server.execute("SELECT order_id, status FROM orders WHERE 0").await.expect("empty");
    assert_eq!(out.columns, vec!["order_id", "status"]);
    assert_eq!((out.row_count, out.truncated, out.total_rows), (0, false, Some(0)));
}

#[tokio::test]
async fn byte_caps_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let opts = DbOptions { max_cell_bytes: 8, max_result_bytes: 200, ..DbOptions::default() };
    let server = connect(path.to_str().expect("utf-8"), opts).await.expect("connect");
    let out = server.execute("SELECT email FROM customers ORDER BY customer_id").await.expect("query");
    assert!(out.truncated);
    assert!(out.row_count > 0 && out.row_count < 200);
    let first = out.rows[0][0].as_str().expect("text");
    assert!(first.ends_with('…') && first.len() <= 8 + '…'.len_utf8(), "{first}");
}

#[tokio::test]
async fn writes_and_tricks_are_rejected_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let server = connect(path.to_str().expect("utf-8"), DbOptions::default()).await.expect("connect");
    let before = order_count(&server).await;
    for sql in [
        "DELETE FROM orders",
        "ATTACH DATABASE 'evil.db' AS evil",
        "SELECT 1; DELETE FROM orders",
        "WITH x AS (DELETE FROM orders RETURNING *) SELECT * FROM x",
        "SELECT load_extension('/tmp/x')",
        "PRAGMA query_only = OFF",
        "",
    ] {
        let err = server.execute(sql).await.expect_err(sql);
        assert!(matches!(err, QueryError::Rejected(_)), "{sql}: {err}");
        let text = err.to_string();
        assert!(text.starts_with("SQL_REJECTED: ") && text.contains("(rule: "), "{text}");
        assert_eq!(err.code(), "SQL_REJECTED");
    }
    assert_eq!(order_count(&server).await, before);
    assert!(!dir.path().join("evil.db").exists());
}

#[tokio::test]
async fn database_errors_and_timeouts_are_execution_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let opts = DbOptions { timeout: Duration::from_millis(300), ..DbOptions::default() };
    let server = connect(path.to_str().expect("utf-8"), opts).await.expect("connect");

    let err = server.execute("SELECT * FROM no_such_table").await.expect_err("missing table");
    assert_eq!(err.to_string(), "SQL_EXECUTION_FAILED: no such table: no_such_table");

    let started = std::time::Instant::now();
    let err = server
        .execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")
        .await
        .expect_err("endless query");
    assert_eq!(err.to_string(), "SQL_EXECUTION_FAILED: query exceeded the 300 ms timeout");
    assert!(started.elapsed() < Duration::from_secs(5));

    // The connection is usable again afterwards (the old deadline does not linger).
    assert_eq!(order_count(&server).await, serde_json::json!(2000));
}

#[tokio::test]
async fn schema_has_tables_keys_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let server = connect(&format!("sqlite:{}", path.display()), DbOptions::default()).await.expect("connect");
    let json = serde_json::to_string(&server.schema().await.expect("schema")).expect("json");
    let schema: DatabaseSchema = serde_json::from_str(&json).expect("parses as DatabaseSchema");
    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["customers", "order_items", "orders", "products"]);
    let orders = schema.table("orders").expect("orders");
    assert_eq!(orders.primary_key, ["order_id"]);
    assert_eq!(orders.row_count, Some(2000));
    assert_eq!(orders.foreign_keys.len(), 1);
    assert_eq!(orders.foreign_keys[0].references_table, "customers");
    assert_eq!(orders.foreign_keys[0].columns, ["customer_id"]);
    assert_eq!(orders.foreign_keys[0].references_columns, ["customer_id"]);
    let items = schema.table("order_items").expect("items");
    let mut targets: Vec<&str> = items.foreign_keys.iter().map(|f| f.references_table.as_str()).collect();
    targets.sort();
    assert_eq!(targets, ["orders", "products"]);
    let total = orders.column("total_amount").expect("column");
    assert_eq!(total.data_type, "REAL");
    assert!(!total.nullable);
    assert!(schema.table("customers").expect("c").column("phone").expect("phone").nullable);
}

#[tokio::test]
async fn bad_databases_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.db");
    let err = connect(missing.to_str().expect("utf-8"), DbOptions::default()).await.expect_err("missing");
    assert!(matches!(err, DbError::InvalidDatabase(_)), "{err}");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database, just some text that is long enough").expect("write");
    let err = connect(junk.to_str().expect("utf-8"), DbOptions::default()).await.expect_err("junk");
    assert!(matches!(err, DbError::InvalidDatabase(_)), "{err}");
    // A dead port fails fast with a clear error that does not repeat the password.
    for url in ["postgres://u:secret-pw@127.0.0.1:1/db", "mysql://u:secret-pw@127.0.0.1:1/db"] {
        let started = std::time::Instant::now();
        let err = connect(url, DbOptions::default()).await.expect_err("dead port");
        assert!(started.elapsed() < std::time::Duration::from_secs(8), "{url}: took {:?}", started.elapsed());
        assert!(matches!(err, DbError::Database(_) | DbError::Timeout(_)), "{err}");
        assert!(!err.to_string().contains("secret-pw"), "{err}");
    }
}
