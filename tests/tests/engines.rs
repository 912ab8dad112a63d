//! The end-to-end questions of `sample_stack.rs`, asked on every engine available
//! (SQLite always; PostgreSQL and MariaDB/MySQL when `scripts/db-setup.sh` exported
//! their URLs): the real Database MCP, Metadata MCP and axum server, with the expected
//! numbers computed by the test's own SQL on that engine.

use talk2tables_common::Dialect;
use talk2tables_e2e::*;

async fn ask_everything(engine: &EngineDb) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = start_database_mcp_with(&engine.db, &[]);
    let meta = start_metadata_mcp();
    let config = write_config(dir.path(), &db.url, Some(&meta.url));
    let server = start_server(&config);
    let api = Api::new(&server.url);
    let reference = RefDb::connect(engine).await;
    let d = engine.dialect;
    let before = reference.fingerprint().await;

    // The headline question: product alias + this month, with the dialect's date SQL.
    let q = "Show me total sales for abracadabra this month";
    let (status, body) = api.chat(q).await;
    assert_eq!(status, 200);
    let data = expect_ok(q, &body);
    let sql = data["sql_query"].as_str().unwrap_or_default();
    assert!(sql.contains("123"), "{d} {q}: SQL should filter on product 123: {sql}");
    let date_marker = match d {
        Dialect::Sqlite => "start of month",
        Dialect::Postgresql => "DATE_TRUNC",
        Dialect::Mysql => "CURDATE()",
    };
    assert!(sql.contains(date_marker), "{d} {q}: SQL should use {date_marker}: {sql}");
    assert_eq!(data["metadata"]["dialect"], d.as_str(), "{body:#}");
    let (start, end) = month_bounds(d);
    let want = reference
        .scalar(&format!(
            "SELECT COALESCE(SUM(oi.quantity * oi.unit_price), 0) FROM order_items oi JOIN orders o \
             ON o.order_id = oi.order_id WHERE oi.product_id = 123 AND o.order_date >= {start} AND o.order_date < {end}"
        ))
        .await;
    assert!(want > 0.0, "{d}: the sample must have sales of product 123 this month");
    assert_close(&format!("{d} {q}"), single_number(q, data), want);

    // Counts.
    for (q, table) in [("How many customers are there?", "customers"), ("How many orders are there?", "orders")] {
        let (_, body) = api.chat(q).await;
        let want = reference.scalar(&format!("SELECT COUNT(*) FROM {table}")).await;
        assert_close(&format!("{d} {q}"), single_number(q, expect_ok(q, &body)), want);
    }

    // Top-N by revenue.
    let q = "Top 5 products by revenue";
    let (_, body) = api.chat(q).await;
    let got = label_values(expect_ok(q, &body));
    let want = reference
        .pairs(
            "SELECT p.name AS label, SUM(oi.quantity * oi.unit_price) AS value FROM products p JOIN order_items oi \
             ON oi.product_id = p.product_id GROUP BY p.product_id, p.name ORDER BY value DESC LIMIT 5",
        )
        .await;
    assert_eq!(got.len(), 5, "{d} {q}: {body:#}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
        assert_eq!(gl, wl, "{d} {q}");
        assert_close(&format!("{d} {q}"), *gv, *wv);
    }

    // Group-by per category.
    let q = "Total sales per category";
    let (_, body) = api.chat(q).await;
    let mut got = label_values(expect_ok(q, &body));
    let mut want = reference
        .pairs(
            "SELECT p.category AS label, SUM(oi.quantity * oi.unit_price) AS value FROM products p \
             JOIN order_items oi ON oi.product_id = p.product_id GROUP BY p.category",
        )
        .await;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), 10, "{d} {q}: {body:#}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
        assert_eq!(gl, wl, "{d} {q}");
        assert_close(&format!("{d} {q}"), *gv, *wv);
    }

    // Orders per month: the dialect's bucketing, one row per month of data.
    let q = "Number of orders per month";
    let (_, body) = api.chat(q).await;
    let data = expect_ok(q, &body);
    let got = label_values(data);
    let total: f64 = got.iter().map(|(_, v)| v).sum();
    assert_close(&format!("{d} {q}"), total, reference.scalar("SELECT COUNT(*) FROM orders").await);
    assert!(got.len() >= 18 && got.len() <= 20, "{d} {q}: {} buckets in {data:#}", got.len());

    // Raw SQL, a decimal column as a JSON number.
    let q = "SELECT name, price FROM products WHERE product_id = 123";
    let (_, body) = api.chat(q).await;
    let data = expect_ok(q, &body);
    assert_eq!(data["results"]["rows"][0][0], "Magic Wand Pro", "{d}");
    assert!(data["results"]["rows"][0][1].is_number(), "{d}: price must be a number: {data:#}");
    assert_close(&format!("{d} price"), num(&data["results"]["rows"][0][1]), 49.99);

    // A write is rejected and changes nothing.
    let q = "DELETE FROM orders";
    let (_, body) = api.chat(q).await;
    expect_error(q, &body, "SQL_REJECTED");
    assert_eq!(reference.fingerprint().await, before, "{d}: the database changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_questions_same_answers_on_every_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    for engine in engines(&dir.path().join("sample.db")) {
        eprintln!("engine {}", engine.dialect);
        ask_everything(&engine).await;
    }
}
