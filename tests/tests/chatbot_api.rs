//! The original React chatbot's API (DESIGN.md §3b) end to end: the real Database and
//! Metadata MCP binaries over streamable HTTP, the axum server configured to use them,
//! and the chatbot's exact request shapes. Expected numbers come from the database file.

use serde_json::{Value, json};
use talk2tables_e2e::*;

/// The body the chatbot's `useChat.ts` sends: earlier messages plus the new one,
/// `max_tokens: 2000`, `temperature: 0.7`.
fn chatbot_request(history: &[(&str, &str)], question: &str) -> Value {
    let mut messages: Vec<Value> =
        history.iter().map(|(role, content)| json!({"role": role, "content": content})).collect();
    messages.push(json!({"role": "user", "content": question}));
    json!({"messages": messages, "max_tokens": 2000, "temperature": 0.7})
}

/// Every field the chatbot reads, for a successful completion; returns `query_result`.
fn check_completion(body: &Value) -> &Value {
    let id = body["id"].as_str().expect("id");
    assert!(id.starts_with("chatcmpl-") && id.len() > 12, "{id}");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_i64().expect("created") > 1_600_000_000);
    assert!(!body["model"].as_str().expect("model").is_empty());
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    let content = choice["message"]["content"].as_str().expect("content");
    let sql_block = content.split("```sql\n").nth(1).expect("a ```sql block in the content");
    assert!(sql_block.contains("```"), "closed sql block: {content}");
    assert!(sql_block.trim_start().to_uppercase().starts_with("SELECT"), "{content}");
    assert_eq!(choice["finish_reason"], "stop", "{body:#}");
    let qr = &choice["query_result"];
    assert_eq!(qr["success"], true);
    assert!(qr["error"].is_null());
    let columns: Vec<&str> = qr["columns"].as_array().expect("columns").iter().filter_map(Value::as_str).collect();
    let data = qr["data"].as_array().expect("data");
    assert_eq!(qr["row_count"].as_u64(), Some(data.len() as u64));
    for row in data {
        let keys: Vec<&str> = row.as_object().expect("row object").keys().map(String::as_str).collect();
        let mut want = columns.clone();
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want, "rows are objects keyed by column");
    }
    assert!(qr["execution_time"].as_f64().expect("execution_time") >= 0.0);
    let usage = &body["usage"];
    let (p, c, t) =
        (usage["prompt_tokens"].as_u64(), usage["completion_tokens"].as_u64(), usage["total_tokens"].as_u64());
    assert!(p.unwrap_or(0) > 0 && c.unwrap_or(0) > 0, "{usage}");
    assert_eq!(t, Some(p.unwrap_or(0) + c.unwrap_or(0)));
    qr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_as_the_chatbot_calls_it() {
    let stack = start_sample_stack();
    let api = Api::new(&stack.server.url);
    let pool = open_sqlite(&stack.db_path).await;

    // A one-number answer, checked against the database.
    let history = [("user", "hello"), ("assistant", "Hi! Ask me about your data.")];
    let (status, body) =
        api.post("/chat/completions", &chatbot_request(&history, "How many orders were cancelled?")).await;
    assert_eq!(status, 200, "{body:#}");
    let qr = check_completion(&body);
    let expected = scalar(&pool, "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'").await;
    let column = qr["columns"][0].as_str().expect("column");
    assert_eq!(num(&qr["data"][0][column]), expected);
    let content = body["choices"][0]["message"]["content"].as_str().unwrap_or_default();
    assert!(content.contains(&format!("{expected}")), "the answer in words names the count: {content}");

    // Several rows keyed by column.
    let (_, body) = api.post("/chat/completions", &chatbot_request(&[], "Total sales by category")).await;
    let qr = check_completion(&body);
    assert_eq!(qr["row_count"], 10);
    let reference = pairs(
        &pool,
        "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN products p ON p.product_id = oi.product_id GROUP BY p.category",
    )
    .await;
    for (category, total) in reference {
        let row = qr["data"].as_array().unwrap().iter().find(|r| r["category"] == category.as_str());
        let row = row.unwrap_or_else(|| panic!("{category} missing from {qr:#}"));
        let value = row.as_object().unwrap().iter().find(|(k, _)| *k != "category").map(|(_, v)| num(v)).unwrap();
        assert!((value - total).abs() < 0.01, "{category}: {value} vs {total}");
    }

    // Empty messages → 400 with FastAPI's detail; a bad shape → 422.
    let (status, body) = api.post("/chat/completions", &json!({"messages": []})).await;
    assert_eq!(status, 400);
    assert_eq!(body["detail"], "Messages array cannot be empty");
    let (status, _) = api.post("/chat/completions", &json!({"messages": "How many customers?"})).await;
    assert_eq!(status, 422);
    let (status, _) = api.post("/chat/completions", &json!({"messages": [{"role": "system", "content": "x"}]})).await;
    assert_eq!(status, 400);

    // A question that cannot be answered → 200, finish_reason "error", readable message.
    let (status, body) = api.post("/chat/completions", &chatbot_request(&[], "what is the meaning of life")).await;
    assert_eq!(status, 200, "{body:#}");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "error");
    assert!(choice["message"]["content"].as_str().unwrap_or_default().starts_with("Sorry"), "{body:#}");
    assert_eq!(choice["query_result"]["success"], false);
    assert!(choice["query_result"]["error"].as_str().unwrap_or_default().contains("UNANSWERABLE"));
    assert_eq!(choice["query_result"]["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_streaming() {
    let stack = start_sample_stack();
    let api = Api::new(&stack.server.url);
    let mut request = chatbot_request(&[], "How many orders were cancelled?");
    request["stream"] = json!(true);
    let (status, content_type, text) = api.post_text("/chat/completions", &request).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let data: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{text}");
    let chunks: Vec<Value> =
        data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).expect("JSON chunk")).collect();
    assert!(chunks.len() >= 3, "{text}");
    let id = chunks[0]["id"].as_str().expect("id");
    assert!(id.starts_with("chatcmpl-"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let mut content = String::new();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], id);
        assert!(chunk["created"].is_i64() && chunk["model"].is_string());
        content.push_str(chunk["choices"][0]["delta"]["content"].as_str().unwrap_or_default());
    }
    assert!(content.contains("```sql\nSELECT"), "{content}");
    let last = chunks.last().expect("last chunk");
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["choices"][0]["query_result"]["success"], true);
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c["choices"][0]["finish_reason"].is_null()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_models_mcp_status_and_cors() {
    let stack = start_sample_stack();
    let api = Api::new(&stack.server.url);

    let (status, body) = api.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["mcp_server_status"], "connected");
    assert!(body["version"].is_string() && body["timestamp"].is_i64(), "{body:#}");

    let (_, body) = api.get("/models").await;
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["data"][0]["object"], "model");
    assert!(body["data"][0]["id"].is_string() && body["data"][0]["created"].is_i64());

    let (_, body) = api.get("/mcp/status").await;
    assert_eq!(body["connected"], true, "{body:#}");
    assert_eq!(body["server_url"], format!("{}/mcp", stack.db.url));
    assert_eq!(body["transport"], "streamable_http");
    assert!(body["tools"].as_array().unwrap().iter().any(|t| t["name"] == "execute_query"), "{body:#}");
    assert!(body["resources"].is_array() && body["database_metadata"].is_object());

    // CORS: the chatbot's origin (the default ALLOWED_ORIGINS) is allowed, others not.
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().expect("client");
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}/chat/completions", stack.server.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.expect("preflight");
    assert_eq!(
        allowed.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("http://localhost:3000")
    );
    let refused = preflight("http://evil.example").await.expect("preflight");
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

/// Needs conversation follow-ups in the core (`context.previous_questions`, being added
/// separately): run with `cargo test -p talk2tables-e2e --test chatbot_api -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_keeps_the_earlier_filters() {
    let stack = start_sample_stack();
    let api = Api::new(&stack.server.url);
    let (_, first) = api.post("/chat/completions", &chatbot_request(&[], "How many orders were cancelled?")).await;
    check_completion(&first);
    let answer = first["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string();
    let history = [("user", "How many orders were cancelled?"), ("assistant", answer.as_str())];
    let (_, second) = api.post("/chat/completions", &chatbot_request(&history, "now only for last month")).await;
    check_completion(&second);
    let content = second["choices"][0]["message"]["content"].as_str().unwrap_or_default();
    let sql = content.split("```sql\n").nth(1).and_then(|s| s.split("```").next()).unwrap_or_default();
    assert!(sql.contains("'cancelled'"), "the earlier filter is kept: {sql}");
    assert!(sql.contains("order_date"), "last month's dates are added: {sql}");

    // The reference: cancelled orders of last month, straight from the database.
    let pool = open_sqlite(&stack.db_path).await;
    let expected = scalar(
        &pool,
        "SELECT COUNT(*) FROM orders WHERE status = 'cancelled' AND order_date >= date('now', 'start of month', '-1 month') AND order_date < date('now', 'start of month')",
    )
    .await;
    let qr = &second["choices"][0]["query_result"];
    let column = qr["columns"][0].as_str().unwrap_or_default();
    assert_eq!(num(&qr["data"][0][column]), expected, "{content}");
}
