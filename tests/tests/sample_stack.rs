//! End to end over the sample database: the real Database MCP and Metadata MCP binaries
//! over streamable HTTP on free loopback ports, and the axum server configured to use
//! them. Expected numbers are computed by the test straight from the database file.

use talk2tables_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_database_questions_end_to_end() {
    let stack = start_sample_stack();
    let api = Api::new(&stack.server.url);
    let pool = open_sqlite(&stack.db_path).await;

    // The headline question: product alias + this month.
    let q = "Show me total sales for abracadabra this month";
    let (status, body) = api.chat(q).await;
    assert_eq!(status, 200);
    let data = expect_ok(q, &body);
    let sql = data["sql_query"].as_str().unwrap();
    assert!(sql.contains("123"), "{q}: SQL should filter on product 123: {sql}");
    assert!(sql.contains("start of month"), "{q}: SQL should use SQLite month bounds: {sql}");
    let entities = data["resolved_entities"].as_array().unwrap();
    assert!(
        entities.iter().any(|e| e["original_term"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("abracadabra"))
            && e["resolved_value"] == "123"),
        "{q}: abracadabra not resolved: {entities:#?}"
    );
    let want = scalar(
        &pool,
        "SELECT COALESCE(SUM(oi.quantity * oi.unit_price), 0) FROM order_items oi JOIN orders o ON o.order_id = oi.order_id \
         WHERE oi.product_id = 123 AND o.order_date >= date('now','start of month') \
         AND o.order_date < date('now','start of month','+1 month')",
    )
    .await;
    assert!(want > 0.0, "the sample must have sales of product 123 this month");
    assert_close(q, single_number(q, data), want);
    assert_eq!(data["metadata"]["dialect"], "sqlite");
    assert_eq!(body["metadata"]["mode"], "multi_mcp");
    let used = data["metadata"]["mcp_servers_used"].as_array().unwrap();
    assert!(used.iter().any(|s| s == "product_metadata_mcp") && used.iter().any(|s| s == "database_mcp"), "{used:?}");

    // A count.
    let q = "How many customers are there?";
    let (_, body) = api.chat(q).await;
    let want = scalar(&pool, "SELECT COUNT(*) FROM customers").await;
    assert_close(q, single_number(q, expect_ok(q, &body)), want);

    // Top-N by revenue.
    let q = "Top 5 products by revenue";
    let (_, body) = api.chat(q).await;
    let got = label_values(expect_ok(q, &body));
    let want = pairs(
        &pool,
        "SELECT p.name, SUM(oi.quantity * oi.unit_price) AS revenue FROM products p JOIN order_items oi \
         ON oi.product_id = p.product_id GROUP BY p.product_id, p.name ORDER BY revenue DESC LIMIT 5",
    )
    .await;
    assert_eq!(got.len(), 5, "{q}: {body:#}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
        assert_eq!(gl, wl, "{q}");
        assert_close(q, *gv, *wv);
    }

    // Group-by per category.
    let q = "Total sales per category";
    let (_, body) = api.chat(q).await;
    let mut got = label_values(expect_ok(q, &body));
    let mut want = pairs(
        &pool,
        "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM products p JOIN order_items oi \
         ON oi.product_id = p.product_id GROUP BY p.category",
    )
    .await;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), 10, "{q}: {body:#}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
        assert_eq!(gl, wl, "{q}");
        assert_close(q, *gv, *wv);
    }

    // Raw SQL.
    let q = "SELECT name, price FROM products WHERE product_id = 123";
    let (_, body) = api.chat(q).await;
    let data = expect_ok(q, &body);
    assert_eq!(data["results"]["rows"][0][0], "Magic Wand Pro");
    assert_eq!(data["metadata"]["generator"], "raw_sql");
    assert!(data["sql_query"].as_str().unwrap().to_uppercase().contains("LIMIT"), "LIMIT added");

    // Raw SQL with a misspelled keyword is repaired without any LLM (offline stack).
    let q = "SELECT * FORM orders";
    let (status, body) = api.chat(q).await;
    assert_eq!(status, 200);
    let data = expect_ok(q, &body);
    assert_eq!(data["sql_query"], "SELECT * FROM orders LIMIT 1000");
    assert!(data["results"]["row_count"].as_u64().unwrap() > 0, "{data:#}");
    assert_eq!(data["recovery_performed"], true);
    assert_eq!(body["metadata"]["recovery_performed"], true);
    assert_eq!(data["metadata"]["recovery_attempts"], 1);
    assert_eq!(data["metadata"]["attempted_sql"][0]["sql"], q);
    assert_eq!(data["metadata"]["attempted_sql"][0]["error_category"], "SYNTAX_ERROR");
    assert!(data["metadata"].get("llm_usage").is_none(), "no LLM was called: {data:#}");

    // A write is rejected and changes nothing.
    let before = scalar(&pool, "SELECT COUNT(*) FROM orders").await;
    let q = "DELETE FROM orders";
    let (status, body) = api.chat(q).await;
    assert_eq!(status, 200);
    expect_error(q, &body, "SQL_REJECTED");
    assert_eq!(scalar(&pool, "SELECT COUNT(*) FROM orders").await, before);

    // Something absent from the schema.
    let q = "How many employees are there?";
    let (_, body) = api.chat(q).await;
    expect_error(q, &body, "UNANSWERABLE");

    // Malformed requests are 422 with the envelope.
    let (status, body) = api.post("/api/chat", &serde_json::json!({"query": ""})).await;
    assert_eq!(status, 422);
    expect_error("empty", &body, "INVALID_REQUEST");
    let (status, body) = api.post("/api/chat", &serde_json::json!({"query": "x", "mode": "bogus"})).await;
    assert_eq!(status, 422);
    expect_error("bad mode", &body, "INVALID_REQUEST");

    // single_mcp: no metadata server, so the alias is unknown but counts still work.
    let (_, body) =
        api.post("/api/chat", &serde_json::json!({"query": "How many orders are there?", "mode": "single_mcp"})).await;
    let data = expect_ok("single_mcp count", &body);
    assert_eq!(body["metadata"]["mode"], "single_mcp");
    assert_close(
        "single_mcp count",
        single_number("single_mcp", data),
        scalar(&pool, "SELECT COUNT(*) FROM orders").await,
    );
    assert_eq!(data["metadata"]["mcp_servers_used"], serde_json::json!(["database_mcp"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_endpoints() {
    let stack = start_sample_stack();
    let api = Api::new(&stack.server.url);

    let (status, body) = api.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(body["multi_mcp_enabled"], true);
    assert!(body["version"].is_string());

    let (_, body) = api.get("/api/health").await;
    assert_eq!(body["status"], "healthy", "{body:#}");
    assert_eq!(body["details"]["total_services"], 2);
    assert_eq!(body["services"]["database_mcp"]["healthy"], true);
    assert_eq!(body["services"]["product_metadata_mcp"]["healthy"], true);

    assert_eq!(api.get("/api/health/live").await.1["status"], "alive");

    // x-request-id is returned: the caller's, or a generated one.
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    let resp = client
        .get(format!("{}/api/health/live", stack.server.url))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "req-42");
    let resp = client.get(format!("{}/api/health/live", stack.server.url)).send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"].to_str().unwrap().len(), 36, "generated UUID");
    let (status, body) = api.get("/api/health/ready").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));

    let (_, body) = api.get("/api/chat/modes").await;
    assert_eq!(body["default_mode"], "auto");
    assert_eq!(body["orchestrator_status"], "ready");
    assert_eq!(body["available_modes"].as_array().unwrap().len(), 3);

    api.chat("How many customers are there?").await;

    // Progress streaming: one event per stage start/end, then the response.
    let (status, content_type, text) =
        api.post_text("/api/chat/stream", &serde_json::json!({"query": "How many products are there?"})).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let events = sse_events(&text);
    let stages: Vec<_> = events
        .iter()
        .filter(|(name, e)| name == "progress" && e["status"] == "finished")
        .map(|(_, e)| e["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages, ["gathering", "resolving", "generating", "validating", "executing"], "{text}");
    let (name, last) = events.last().expect("events");
    assert_eq!(name, "response");
    assert_eq!(last["success"], true, "{last:#}");
    let (_, body) = api.get("/api/metrics").await;
    assert_eq!(body["total_queries"], 2);
    assert_eq!(body["successful_queries"], 2);
    assert!(body["cache_hits"].as_u64().unwrap() >= 1, "warm cache after the first question: {body:#}");
    assert_eq!(body["mcp_connection_status"]["database_mcp"], true);

    // Health carries circuit state and the background probe.
    let (_, health) = api.get("/api/health").await;
    let db = &health["services"]["database_mcp"];
    assert_eq!(db["circuit_state"], "closed", "{health:#}");
    assert_eq!(db["protocol_version"], "2025-11-25", "{health:#}");

    // Prometheus exposition: real histograms, accepted by promtool.
    let (status, content_type, text) = api.get_text("/api/metrics/prometheus").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    for needle in [
        "# TYPE talk2tables_chat_duration_seconds histogram",
        "talk2tables_chat_duration_seconds_bucket{mode=\"multi_mcp\",outcome=\"success\",le=\"+Inf\"} 2",
        "# TYPE talk2tables_mcp_request_duration_seconds histogram",
        "talk2tables_mcp_request_duration_seconds_count{method=\"tools/call\",server=\"database_mcp\"}",
        "talk2tables_queries_total{outcome=\"success\"} 2",
        "talk2tables_mcp_servers_connected 2",
        "talk2tables_mcp_circuit_state{server=\"database_mcp\"} 0",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    if have_tool("promtool") {
        use std::io::Write;
        let mut child = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool");
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool rejected the exposition: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
