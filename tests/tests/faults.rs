//! Fault tests with real processes: the MCP servers and `talk2tables-server` run as
//! separate binaries on loopback; servers are killed and restarted on the same port while
//! questions keep coming. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use talk2tables_e2e::*;

/// Per-request MCP timeout of these tests, seconds.
const TIMEOUT: f64 = 2.0;
/// Slack on top of [`TIMEOUT`] for the HTTP round trip and the pipeline around the call.
const SLACK: Duration = Duration::from_millis(1500);
/// A question answered from the database alone (no product alias).
const COUNT_CUSTOMERS: &str = "How many customers are there?";
/// A question that needs the Metadata MCP (the alias `abracadabra` = product 123).
const ALIAS_QUESTION: &str = "Show me total sales for abracadabra this month";

fn sample(dir: &Path) -> PathBuf {
    let db_path = dir.join("sample.db");
    init_sample(&db_path);
    db_path
}

fn request_limit() -> Duration {
    Duration::from_secs_f64(TIMEOUT) + SLACK
}

/// Sends `question` and returns (elapsed, body); HTTP status must be 200.
async fn timed_chat(api: &Api, question: &str) -> (Duration, Value) {
    let started = Instant::now();
    let (status, body) = api.chat(question).await;
    assert_eq!(status, 200, "{question}: {body:#}");
    (started.elapsed(), body)
}

/// Polls `check` every 100 ms until it returns `Some` or `limit` passes.
async fn poll<T, F, Fut>(limit: Duration, mut check: F) -> Option<(Duration, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(v) = check().await {
            return Some((started.elapsed(), v));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_mcp_outage_fails_fast_and_heals_after_restart_on_the_same_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = sample(dir.path());
    let port = free_port();
    let db = start_database_mcp_on(&db_path, port);
    let meta = start_metadata_mcp();
    let config = write_config_with(dir.path(), &db.url, Some(&meta.url), &ConfigOptions::fast(TIMEOUT));
    let mut server = start_server(&config);
    let pid = server.pid();
    let api = Api::new(&server.url);

    let (_, body) = timed_chat(&api, COUNT_CUSTOMERS).await;
    expect_ok(COUNT_CUSTOMERS, &body);

    // Outage: a steady stream of questions for 6 s (long enough for the reconnect backoff
    // to grow past 5 s); every one ends in MCP_UNAVAILABLE within the configured timeout.
    drop(db);
    let outage = Instant::now();
    let mut failures = 0;
    while outage.elapsed() < Duration::from_secs(6) {
        let (elapsed, body) = timed_chat(&api, COUNT_CUSTOMERS).await;
        expect_error(COUNT_CUSTOMERS, &body, "MCP_UNAVAILABLE");
        assert!(elapsed < request_limit(), "a request during the outage took {elapsed:?}: {body:#}");
        failures += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failures >= 5, "only {failures} requests during the outage");
    let (_, health) = api.get("/api/health").await;
    assert_eq!(health["status"], "unhealthy", "{health:#}");
    assert_eq!(health["services"]["database_mcp"]["healthy"], false, "{health:#}");

    // Restart on the same port: answers succeed again within 5 s, same server process.
    let _db = start_database_mcp_on(&db_path, port);
    let healed = poll(Duration::from_secs(5), || async {
        let (elapsed, body) = timed_chat(&api, COUNT_CUSTOMERS).await;
        assert!(elapsed < request_limit(), "a request after the restart took {elapsed:?}: {body:#}");
        (body["success"] == true).then_some(body)
    })
    .await;
    let (after, body) = healed.expect("no successful answer within 5 s of restarting the Database MCP");
    eprintln!("answers succeed again {after:?} after the restart");
    let want = scalar(&open_sqlite(&db_path).await, "SELECT COUNT(*) FROM customers").await;
    assert_close(COUNT_CUSTOMERS, single_number(COUNT_CUSTOMERS, expect_ok(COUNT_CUSTOMERS, &body)), want);
    for _ in 0..3 {
        let (_, body) = timed_chat(&api, COUNT_CUSTOMERS).await;
        expect_ok(COUNT_CUSTOMERS, &body);
    }
    assert!(server.is_running() && server.pid() == pid, "our server must not restart");
    let (_, health) = api.get("/api/health").await;
    assert_eq!(health["services"]["database_mcp"]["healthy"], true, "{health:#}");
    assert!(health["services"]["database_mcp"]["reconnects"].as_u64().unwrap_or(0) >= 1, "{health:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_that_never_answers_times_out_without_slowing_the_next_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = sample(dir.path());
    // Counting queries never answer; others (the schema, value probes, top-N) do.
    let hang = start_hang_mcp(&db_path, "count(");
    let config = write_config_with(dir.path(), &hang.url, None, &ConfigOptions::fast(TIMEOUT));
    let server = start_server(&config);
    let api = Api::new(&server.url);
    let other = "Top 5 products by revenue";

    let (_, body) = timed_chat(&api, other).await;
    expect_ok(other, &body);

    // The hanging question and, while it hangs, another one.
    let hanging = {
        let api = Api::new(&server.url);
        tokio::spawn(async move { timed_chat(&api, COUNT_CUSTOMERS).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (elapsed, body) = timed_chat(&api, other).await;
    expect_ok(other, &body);
    assert!(elapsed < Duration::from_secs(1), "a request alongside the hanging one took {elapsed:?}");

    let (elapsed, body) = hanging.await.expect("hanging request task");
    expect_error(COUNT_CUSTOMERS, &body, "MCP_TIMEOUT");
    assert!(
        elapsed >= Duration::from_secs_f64(TIMEOUT * 0.9) && elapsed < request_limit(),
        "MCP_TIMEOUT after {elapsed:?}, configured {TIMEOUT} s: {body:#}"
    );

    // The next requests are not slowed by it.
    for _ in 0..3 {
        let (elapsed, body) = timed_chat(&api, other).await;
        expect_ok(other, &body);
        assert!(elapsed < Duration::from_secs(1), "a request after the timeout took {elapsed:?}");
    }
    let (_, health) = api.get("/api/health").await;
    assert_eq!(health["services"]["database_mcp"]["healthy"], true, "{health:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_mcp_outage_degrades_answers_and_heals_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = sample(dir.path());
    let db = start_database_mcp(&db_path);
    let port = free_port();
    let meta = start_metadata_mcp_on(port);
    // A long probe interval in the file, overridden by the environment.
    let opts = ConfigOptions { health_check_interval: 600, ..ConfigOptions::fast(TIMEOUT) };
    let config = write_config_with(dir.path(), &db.url, Some(&meta.url), &opts);
    let server = start_server_with(&config, &[("HEALTH_CHECK_INTERVAL", "1")]);
    let api = Api::new(&server.url);

    let (_, body) = timed_chat(&api, ALIAS_QUESTION).await;
    let data = expect_ok(ALIAS_QUESTION, &body);
    assert!(data["sql_query"].as_str().unwrap_or("").contains("123"), "{body:#}");
    assert!(body["metadata"].get("degraded").is_none(), "{body:#}");
    let (_, health) = api.get("/api/health").await;
    assert_eq!(health["status"], "healthy", "{health:#}");

    drop(meta);
    let degraded = poll(Duration::from_secs(5), || async {
        let (elapsed, body) = timed_chat(&api, COUNT_CUSTOMERS).await;
        assert!(elapsed < request_limit(), "a request during the outage took {elapsed:?}: {body:#}");
        (body["metadata"]["degraded"] == true).then_some(body)
    })
    .await;
    let (after, body) = degraded.expect("answers not degraded within 5 s of killing the Metadata MCP");
    eprintln!("answers degraded {after:?} after the kill");
    let data = expect_ok(COUNT_CUSTOMERS, &body);
    assert_eq!(body["metadata"]["missing_servers"], serde_json::json!(["product_metadata_mcp"]), "{body:#}");
    assert_eq!(data["metadata"]["mcp_servers_used"], serde_json::json!(["database_mcp"]), "{body:#}");
    let want = scalar(&open_sqlite(&db_path).await, "SELECT COUNT(*) FROM customers").await;
    assert_close(COUNT_CUSTOMERS, single_number(COUNT_CUSTOMERS, data), want);
    let (_, health) = api.get("/api/health").await;
    assert_eq!(health["status"], "degraded", "{health:#}");
    assert_eq!(health["services"]["product_metadata_mcp"]["healthy"], false, "{health:#}");
    let (status, ready) = api.get("/api/health/ready").await;
    assert_eq!(status, 200, "the Database MCP is up, so the server is ready: {ready:#}");

    // Restart on the same port: health and answers recover without any request.
    let _meta = start_metadata_mcp_on(port);
    let healthy = poll(Duration::from_secs(5), || async {
        let (_, health) = api.get("/api/health").await;
        (health["status"] == "healthy").then_some(health)
    })
    .await;
    let (after, _) = healthy.expect("health not back to healthy within 5 s of restarting the Metadata MCP");
    eprintln!("health back to healthy {after:?} after the restart");
    let (_, body) = timed_chat(&api, ALIAS_QUESTION).await;
    let data = expect_ok(ALIAS_QUESTION, &body);
    assert!(body["metadata"].get("degraded").is_none(), "{body:#}");
    assert!(data["sql_query"].as_str().unwrap_or("").contains("123"), "{body:#}");
}

#[test]
fn require_multi_mcp_with_a_server_down_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = sample(dir.path());
    let db = start_database_mcp(&db_path);
    let down = format!("http://127.0.0.1:{}", free_port());
    let config = write_config_with(dir.path(), &db.url, Some(&down), &ConfigOptions::fast(TIMEOUT));
    let exited = run_server_expecting_exit(&config, &[("REQUIRE_MULTI_MCP", "true")], Duration::from_secs(20));
    assert!(exited.code.is_some_and(|c| c != 0), "expected a non-zero exit: {exited:?}");
    assert!(exited.stderr.contains("product_metadata_mcp"), "the message must name the server: {}", exited.stderr);
    assert!(!exited.stderr.contains("database_mcp ("), "only the down server is named: {}", exited.stderr);
}

#[test]
fn fail_fast_with_a_server_down_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = sample(dir.path());
    let db = start_database_mcp(&db_path);
    let down = format!("http://127.0.0.1:{}", free_port());
    let opts = ConfigOptions { fail_fast: true, ..ConfigOptions::fast(TIMEOUT) };
    let config = write_config_with(dir.path(), &db.url, Some(&down), &opts);
    let exited = run_server_expecting_exit(&config, &[], Duration::from_secs(20));
    assert!(exited.code.is_some_and(|c| c != 0), "expected a non-zero exit: {exited:?}");
    assert!(exited.stderr.contains("product_metadata_mcp"), "the message must name the server: {}", exited.stderr);

    // The same configuration without fail_fast starts (degraded).
    let config = write_config_with(dir.path(), &db.url, Some(&down), &ConfigOptions::fast(TIMEOUT));
    let mut server = start_server(&config);
    assert!(server.is_running());
}
