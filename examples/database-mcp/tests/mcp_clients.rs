//! An rmcp client talks to the server over streamable HTTP on 127.0.0.1:0, over an
//! in-process duplex pipe, and to the binary started with `--port 0`.

mod common;

use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;
use talk2tables_common::{DatabaseSchema, QueryOutput};
use talk2tables_database_mcp::{DbOptions, SCHEMA_URI, connect, http_router};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

const CALL_TIMEOUT: Duration = Duration::from_secs(20);

async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL_TIMEOUT, fut).await.expect("MCP call timed out")
}

fn args(query: &str) -> serde_json::Map<String, serde_json::Value> {
    json!({ "query": query }).as_object().cloned().expect("object")
}

/// Lists, reads and calls everything the server offers, checking each answer.
async fn exercise(client: &RunningService<RoleClient, ()>) {
    let info = client.peer_info().expect("peer info");
    let server_info = info.server_info.as_ref().expect("server info");
    assert_eq!(server_info.name, "talk2tables-database-mcp");

    let tools = within(client.list_all_tools()).await.expect("tools");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, "execute_query");
    let schema = serde_json::to_value(&tools[0].input_schema).expect("schema");
    assert!(schema["properties"]["query"].is_object(), "{schema}");

    let resources = within(client.list_resources(None)).await.expect("resources").resources;
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, SCHEMA_URI);
    assert_eq!(resources[0].name, "database_schema");
    assert_eq!(resources[0].mime_type.as_deref(), Some("application/json"));

    let read = within(client.read_resource(ReadResourceRequestParams::new(SCHEMA_URI))).await.expect("read");
    let ResourceContents::TextResourceContents { text, mime_type, .. } = &read.contents[0] else {
        panic!("schema is not text");
    };
    assert_eq!(mime_type.as_deref(), Some("application/json"));
    let schema: DatabaseSchema = serde_json::from_str(text).expect("DatabaseSchema JSON");
    assert_eq!(schema.table("orders").expect("orders").foreign_keys.len(), 1);

    let result = within(
        client.call_tool(
            CallToolRequestParams::new("execute_query")
                .with_arguments(args("SELECT product_id, name FROM products WHERE product_id = 123")),
        ),
    )
    .await
    .expect("call");
    assert_ne!(result.is_error, Some(true));
    let structured: QueryOutput =
        serde_json::from_value(result.structured_content.clone().expect("structured")).expect("QueryOutput");
    assert_eq!(structured.rows, vec![vec![json!(123), json!("Magic Wand Pro")]]);
    assert_eq!(structured.total_rows, Some(1));
    let text = &result.content[0].as_text().expect("text block").text;
    let from_text: QueryOutput = serde_json::from_str(text).expect("text is the same JSON");
    assert_eq!(from_text, structured);

    let result = within(
        client.call_tool(CallToolRequestParams::new("execute_query").with_arguments(args("DELETE FROM orders"))),
    )
    .await
    .expect("call");
    assert_eq!(result.is_error, Some(true));
    let text = &result.content[0].as_text().expect("text").text;
    assert!(text.starts_with("SQL_REJECTED: "), "{text}");

    let result = within(
        client.call_tool(CallToolRequestParams::new("execute_query").with_arguments(args("SELECT nope FROM orders"))),
    )
    .await
    .expect("call");
    assert_eq!(result.is_error, Some(true));
    let text = &result.content[0].as_text().expect("text").text;
    assert_eq!(text, "SQL_EXECUTION_FAILED: no such column: nope");

    let err = within(client.read_resource(ReadResourceRequestParams::new("database://nope"))).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn streamable_http_on_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let server = connect(path.to_str().expect("utf-8"), DbOptions::default()).await.expect("connect");
    let ct = CancellationToken::new();
    let app = http_router(server, ct.child_token());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = ct.clone();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
    });

    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    let client = within(().serve(transport)).await.expect("initialize");
    exercise(&client).await;
    within(client.cancel()).await.expect("close");
    ct.cancel();
    within(serving).await.expect("join").expect("serve");
}

#[tokio::test]
async fn in_process_duplex() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let server = connect(path.to_str().expect("utf-8"), DbOptions::default()).await.expect("connect");
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    let serving = tokio::spawn(async move {
        let running = server.serve(server_io).await.expect("server init");
        running.waiting().await
    });
    let client = within(().serve(client_io)).await.expect("initialize");
    exercise(&client).await;
    within(client.cancel()).await.expect("close");
    within(serving).await.expect("join").expect("server ended");
}

#[tokio::test]
async fn binary_serves_on_port_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bin.db");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_talk2tables-database-mcp"))
        .arg("--init-sample")
        .arg(&path)
        .arg("--db")
        .arg(&path)
        .args(["--host", "127.0.0.1", "--port", "0", "--max-rows", "5"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = within(async {
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("server exited before listening");
    })
    .await;
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp") && !url.contains(":0/"), "{url}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let client = within(().serve(StreamableHttpClientTransport::from_uri(url))).await.expect("initialize");
    let result = within(
        client
            .call_tool(CallToolRequestParams::new("execute_query").with_arguments(args("SELECT order_id FROM orders"))),
    )
    .await
    .expect("call");
    let out: QueryOutput = serde_json::from_value(result.structured_content.expect("structured")).expect("output");
    assert_eq!((out.row_count, out.truncated, out.total_rows), (5, true, None));
    within(client.cancel()).await.expect("close");
    child.start_kill().expect("kill");
    let _ = within(child.wait()).await;
}

#[tokio::test]
async fn binary_rejects_sse_and_missing_db() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_talk2tables-database-mcp"))
        .args(["--db", "x.db", "--transport", "sse"])
        .output();
    let out = within(out).await.expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SSE transport is not supported"));
    let out = within(tokio::process::Command::new(env!("CARGO_BIN_EXE_talk2tables-database-mcp")).output())
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--db"));
}

/// A client that gives up on a call (its future is dropped, so rmcp sends
/// `notifications/cancelled`) frees the database at once: before, each abandoned heavy
/// query kept one of the four pooled connections busy until the 20 s timeout, so a
/// simple query after a few abandoned ones waited for the timeout.
#[tokio::test]
async fn cancelled_calls_stop_their_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::sample_db(dir.path()).await;
    let opts = DbOptions { timeout: Duration::from_secs(20), ..DbOptions::default() };
    let server = connect(path.to_str().expect("utf-8"), opts).await.expect("connect");
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    let serving = tokio::spawn(async move {
        let running = server.serve(server_io).await.expect("server init");
        running.waiting().await
    });
    let client = within(().serve(client_io)).await.expect("initialize");
    let heavy = "SELECT count(*) FROM orders a, orders b, orders c";
    for _ in 0..6 {
        let call = client.call_tool(CallToolRequestParams::new("execute_query").with_arguments(args(heavy)));
        assert!(tokio::time::timeout(Duration::from_millis(300), call).await.is_err(), "the heavy query finished");
    }
    let started = std::time::Instant::now();
    let call = CallToolRequestParams::new("execute_query").with_arguments(args("SELECT count(*) FROM customers"));
    let result = within(client.call_tool(call)).await.expect("call");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?} for a free connection", started.elapsed());
    within(client.cancel()).await.expect("close");
    within(serving).await.expect("join").expect("server ended");
}
