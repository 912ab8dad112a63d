//! Healing tests: circuit breaker, reconnect after a restart on the same port (404 and
//! 400-on-unknown-session servers), slow tools, degradation, routing by priority,
//! list_changed invalidation, and the legacy SSE transport. All on loopback, bounded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use rmcp::ServiceExt;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::{Config, OrchestrationConfig, ServerConfig};
use crate::mcp::test_server::TestServer;
use crate::mcp::tests::server_config;

fn policy(threshold: u32, open_for: Duration) -> HealPolicy {
    HealPolicy {
        failure_threshold: threshold,
        open_for,
        handshake_timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(20),
        probe_timeout: Duration::from_secs(1),
    }
}

fn config(servers: Vec<ServerConfig>) -> Config {
    Config { servers, orchestration: OrchestrationConfig::default(), enable_multi_mcp: true, ..Config::default() }
}

fn http_server(id: &str, port: u16, timeout: f64) -> ServerConfig {
    let mut cfg = server_config(id, TransportKind::StreamableHttp);
    cfg.url = Some(format!("http://127.0.0.1:{port}/mcp"));
    cfg.capabilities = vec!["execute_query".into()];
    cfg.timeout = timeout;
    cfg
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A streamable HTTP test server on a fixed port that can be stopped.
struct RunningHttp {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningHttp {
    /// Serves `server` at `127.0.0.1:port/mcp`. With `reject_unknown_sessions`, a layer
    /// answers 400 `-32000 "Bad Request: No valid session ID provided"` to any session id
    /// this instance did not issue (like the TS/Python SDK examples).
    async fn start(server: &TestServer, port: u16, reject_unknown_sessions: bool) -> Self {
        use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
        use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
        let cancel = CancellationToken::new();
        let proto = server.clone();
        let svc = StreamableHttpService::new(
            move || Ok(proto.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_sse_keep_alive(None)
                .with_cancellation_token(cancel.child_token()),
        );
        let mut app = axum::Router::new().nest_service("/mcp", svc);
        if reject_unknown_sessions {
            let issued: Issued = Arc::default();
            app = app.layer(axum::middleware::from_fn_with_state(issued, session_guard));
        }
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let listener = listener.expect("rebind the same port");
        let shutdown = cancel.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        });
        RunningHttp { cancel, task }
    }

    async fn stop(self) {
        self.cancel.cancel();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), self.task).await.is_err() {
            abort.abort();
        }
    }
}

type Issued = Arc<Mutex<HashSet<String>>>;

async fn session_guard(State(issued): State<Issued>, request: Request, next: Next) -> Response {
    let presented = request.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(id) = presented
        && !issued.lock().unwrap().contains(&id)
    {
        let body = json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": -32000, "message": "Bad Request: No valid session ID provided"}});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let response = next.run(request).await;
    if let Some(id) = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()) {
        issued.lock().unwrap().insert(id.to_string());
    }
    response
}

async fn wait_until_ok(orch: &Orchestrator, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match orch.execute_query("SELECT 1").await {
            Ok(_) => return started.elapsed(),
            Err(e) if started.elapsed() < within => {
                tracing::debug!("still down: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("not recovered within {within:?}: {e}"),
        }
    }
}

#[tokio::test]
async fn breaker_opens_answers_fast_and_closes_after_a_successful_trial() {
    let port = free_port();
    let cfg = config(vec![http_server("db", port, 2.0)]);
    let orch =
        Orchestrator::start_with(&cfg, HashMap::new(), policy(5, Duration::from_millis(400)), None).await.unwrap();
    // Start-up counted one failure; four more failed reconnects open the circuit.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let e = orch.execute_query("SELECT 1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::McpUnavailable);
    }
    let status = &orch.statuses()[0];
    assert_eq!(status.circuit_state, CircuitState::Open);
    assert_eq!(status.consecutive_failures, 5);
    let json = serde_json::to_value(status).unwrap();
    assert_eq!(json["circuit_state"], "open");

    let started = Instant::now();
    let e = orch.execute_query("SELECT 1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);
    assert!(e.message().starts_with("circuit open for db until "), "{e}");

    let server = RunningHttp::start(&TestServer::new("db"), port, false).await;
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(orch.statuses()[0].circuit_state, CircuitState::HalfOpen);
    let executed = orch.execute_query("SELECT 1").await.unwrap();
    assert_eq!(executed.output.rows, vec![vec![json!("db")]]);
    let status = &orch.statuses()[0];
    assert_eq!(status.circuit_state, CircuitState::Closed);
    assert_eq!(status.consecutive_failures, 0);
    assert!(status.connected);
    assert!(status.protocol_version.is_some());
    orch.close().await;
    server.stop().await;
}

async fn restart_recovers(reject_unknown_sessions: bool) {
    let port = free_port();
    let db = TestServer::new("db");
    let server = RunningHttp::start(&db, port, reject_unknown_sessions).await;
    let cfg = config(vec![http_server("db", port, 1.0)]);
    let orch = Orchestrator::start_with(
        &cfg,
        HashMap::new(),
        policy(5, Duration::from_secs(1)),
        Some(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    orch.execute_query("SELECT 1").await.unwrap();

    server.stop().await;
    let e = orch.execute_query("SELECT 1").await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::McpUnavailable | ErrorKind::McpTimeout), "{e}");
    let e = orch.execute_query("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable, "{e}");

    let server = RunningHttp::start(&db, port, reject_unknown_sessions).await;
    wait_until_ok(&orch, Duration::from_secs(6)).await;
    let status = &orch.statuses()[0];
    assert!(status.connected);
    assert!(status.reconnects >= 1, "{status:?}");
    orch.close().await;
    server.stop().await;
}

#[tokio::test]
async fn http_server_restarted_on_the_same_port_is_reconnected() {
    restart_recovers(false).await;
}

#[tokio::test]
async fn server_answering_400_for_unknown_sessions_is_reconnected() {
    restart_recovers(true).await;
}

/// A restart the client does not notice: the next call presents the old session id and
/// gets 400 `-32000` (rmcp drops the id-less error, so the call would hang): it ends as a
/// timeout or session error, the connection is rebuilt and the following call succeeds.
#[tokio::test]
async fn stale_session_answered_400_is_rebuilt() {
    let port = free_port();
    let db = TestServer::new("db");
    let server = RunningHttp::start(&db, port, true).await;
    let cfg = config(vec![http_server("db", port, 1.0)]);
    let orch = Orchestrator::start_with(&cfg, HashMap::new(), policy(5, Duration::from_secs(1)), None).await.unwrap();
    orch.execute_query("SELECT 1").await.unwrap();
    server.stop().await;
    let server = RunningHttp::start(&db, port, true).await;
    let started = Instant::now();
    let first = orch.execute_query("SELECT 1").await;
    tracing::info!("first call after the restart: {first:?}");
    if let Err(e) = &first {
        assert!(matches!(e.kind(), ErrorKind::McpUnavailable | ErrorKind::McpTimeout), "{e}");
    }
    wait_until_ok(&orch, Duration::from_secs(6)).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(orch.statuses()[0].reconnects >= 1);
    orch.close().await;
    server.stop().await;
}

#[tokio::test]
async fn probe_alone_brings_a_restarted_server_back() {
    let port = free_port();
    let db = TestServer::new("db");
    let cfg = config(vec![http_server("db", port, 1.0)]);
    let orch = Orchestrator::start_with(
        &cfg,
        HashMap::new(),
        policy(1, Duration::from_secs(60)),
        Some(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    assert!(!orch.is_ready());
    assert_eq!(orch.statuses()[0].circuit_state, CircuitState::Open);
    let server = RunningHttp::start(&db, port, false).await;
    let started = Instant::now();
    // The probe reconnects, then its tools/list success closes the circuit.
    while !(orch.is_ready() && orch.statuses()[0].circuit_state == CircuitState::Closed) {
        assert!(started.elapsed() < Duration::from_secs(5), "probe did not reconnect: {:?}", orch.statuses()[0]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = &orch.statuses()[0];
    assert!(status.last_probe_at.is_some() && status.last_probe_latency_ms.is_some());
    assert_eq!(status.consecutive_failures, 0);
    orch.close().await;
    server.stop().await;
}

#[tokio::test]
async fn slow_tool_times_out_and_the_next_request_is_not_slowed() {
    let db = TestServer::new("db");
    let mut cfg = server_config("db", TransportKind::InProcess);
    cfg.timeout = 0.5;
    let orch = Orchestrator::start_with(
        &config(vec![cfg]),
        HashMap::from([("db".to_string(), db.in_process())]),
        policy(5, Duration::from_secs(60)),
        None,
    )
    .await
    .unwrap();
    let e = orch.call_tool("slow", Default::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::McpTimeout);
    let started = Instant::now();
    let executed = orch.execute_query("SELECT 1").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());
    assert_eq!(executed.server_id, "db");
    assert_eq!(orch.statuses()[0].consecutive_failures, 0);
    orch.close().await;
}

#[tokio::test]
async fn parallel_timeouts_on_one_connection_count_as_one_failure() {
    let db = TestServer::new("db");
    let mut cfg = server_config("db", TransportKind::InProcess);
    cfg.timeout = 0.3;
    let orch = Orchestrator::start_with(
        &config(vec![cfg]),
        HashMap::from([("db".to_string(), db.in_process())]),
        policy(2, Duration::from_secs(60)),
        None,
    )
    .await
    .unwrap();
    let calls = (0..4).map(|_| orch.call_tool("slow", Default::default()));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::McpTimeout);
    }
    // One incident: the circuit (threshold 2) stays closed and the next call reconnects.
    let status = &orch.statuses()[0];
    assert_eq!(status.consecutive_failures, 1, "{status:?}");
    assert_eq!(status.circuit_state, CircuitState::Closed);
    orch.execute_query("SELECT 1").await.unwrap();
    orch.close().await;
}

#[tokio::test]
async fn probe_of_a_server_without_tools_notices_it_is_gone() {
    let port = free_port();
    let mut meta = TestServer::new("meta");
    meta.tools = false;
    let server = RunningHttp::start(&meta, port, false).await;
    let mut cfg = http_server("meta", port, 1.0);
    cfg.capabilities = vec!["list_resources".into()];
    let orch = Orchestrator::start_with(
        &config(vec![cfg]),
        HashMap::new(),
        policy(5, Duration::from_secs(60)),
        Some(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    assert!(orch.statuses()[0].connected);
    server.stop().await;
    let started = Instant::now();
    while orch.statuses()[0].connected {
        assert!(started.elapsed() < Duration::from_secs(5), "probe did not notice: {:?}", orch.statuses()[0]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    orch.close().await;
}

#[tokio::test]
async fn gather_skips_an_open_circuit_at_once() {
    let db = TestServer::new("db");
    let mut db_cfg = server_config("db", TransportKind::InProcess);
    db_cfg.capabilities = vec!["execute_query".into()];
    db_cfg.priority = 10;
    let mut meta = http_server("meta", free_port(), 5.0);
    meta.capabilities = vec!["list_resources".into()];
    meta.priority = 1;
    let orch = Orchestrator::start_with(
        &config(vec![db_cfg, meta]),
        HashMap::from([("db".to_string(), db.in_process())]),
        policy(1, Duration::from_secs(60)),
        None,
    )
    .await
    .unwrap();
    let started = Instant::now();
    let gathered = orch.gather(Scope::All).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(gathered.servers_used, ["db"]);
    assert_eq!(gathered.missing, ["meta"]);
    let meta_status = &orch.statuses()[0];
    assert_eq!(meta_status.circuit_state, CircuitState::Open);
    assert!(meta_status.last_error.as_deref().is_some_and(|e| e.contains("circuit open for meta")));
    orch.close().await;
}

#[tokio::test]
async fn a_tool_offered_twice_resolves_by_priority() {
    let (a, b) = (TestServer::new("a"), TestServer::new("b"));
    let mut first = server_config("first", TransportKind::InProcess);
    first.priority = 50;
    let mut second = server_config("second", TransportKind::InProcess);
    second.priority = 5;
    let orch = Orchestrator::start_with(
        &config(vec![first, second]),
        HashMap::from([("first".to_string(), a.in_process()), ("second".to_string(), b.in_process())]),
        policy(5, Duration::from_secs(60)),
        None,
    )
    .await
    .unwrap();
    assert_eq!(orch.server_for_tool("execute_query"), Some("second"));
    assert_eq!(orch.server_for_tool("slow"), Some("second"));
    assert_eq!(orch.server_for_tool("nope"), None);
    let mut args = serde_json::Map::new();
    args.insert("query".into(), json!("SELECT 1"));
    let (id, result) = orch.call_tool("execute_query", args).await.unwrap();
    assert_eq!(id, "second");
    assert_eq!(result.structured_content.unwrap()["rows"], json!([["b"]]));
    let e = orch.call_tool("nope", Default::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);
    orch.close().await;
}

#[tokio::test]
async fn resource_list_changed_invalidates_the_cache() {
    let db = TestServer::new("db");
    let mut cfg = server_config("db", TransportKind::InProcess);
    cfg.capabilities = vec!["execute_query".into()];
    let orch = Orchestrator::start_with(
        &config(vec![cfg]),
        HashMap::from([("db".to_string(), db.in_process())]),
        policy(5, Duration::from_secs(60)),
        None,
    )
    .await
    .unwrap();
    let first = orch.gather(Scope::All).await.unwrap();
    let second = orch.gather(Scope::All).await.unwrap();
    assert_eq!(first.fingerprint, second.fingerprint, "served from cache");
    let conn = orch.supervisor("db").unwrap().current().unwrap();
    conn.call_tool("touch", Default::default()).await.unwrap();
    let started = Instant::now();
    while conn.resource_changes() == 0 {
        assert!(started.elapsed() < Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let third = orch.gather(Scope::All).await.unwrap();
    assert_ne!(second.fingerprint, third.fingerprint, "refetched");
    assert_eq!(orch.cache_stats().misses, 2);
    orch.close().await;
}

#[tokio::test]
async fn probe_stops_on_close_and_holds_no_strong_reference() {
    let db = TestServer::new("db");
    let cfg = server_config("db", TransportKind::InProcess);
    let orch = Orchestrator::start_with(
        &config(vec![cfg]),
        HashMap::from([("db".to_string(), db.in_process())]),
        policy(5, Duration::from_secs(60)),
        Some(Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let weak = Arc::downgrade(&orch.supervisors[0]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(orch.statuses()[0].last_probe_at.is_some());
    orch.close().await;
    drop(orch);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(weak.upgrade().is_none(), "the probe keeps the supervisor alive");
}

// ---- legacy HTTP+SSE ----

type Sessions = Arc<Mutex<HashMap<String, futures::channel::mpsc::UnboundedSender<ClientJsonRpcMessage>>>>;

/// A legacy-SSE MCP server: `GET /sse` sends `event: endpoint` then the server's messages
/// as `event: message`; `POST /messages?sessionId=…` takes a JSON-RPC message (202).
async fn serve_legacy_sse(server: TestServer) -> String {
    use axum::response::sse::{Event, Sse};
    let sessions: Sessions = Arc::default();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let get_sessions = sessions.clone();
    let get = move || {
        let sessions = get_sessions.clone();
        let server = server.clone();
        let id = format!("s{}", counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        async move {
            let (to_server, from_client) = futures::channel::mpsc::unbounded();
            let (to_client, from_server) = futures::channel::mpsc::unbounded();
            sessions.lock().unwrap().insert(id.clone(), to_server);
            tokio::spawn(async move {
                if let Ok(running) = server.serve((to_client, from_client)).await {
                    let _ = running.waiting().await;
                }
            });
            let endpoint = futures::stream::once(async move {
                Ok::<_, std::convert::Infallible>(
                    Event::default().event("endpoint").data(format!("/messages?sessionId={id}")),
                )
            });
            let messages = from_server.map(|m: rmcp::model::ServerJsonRpcMessage| {
                Ok(Event::default().event("message").data(serde_json::to_string(&m).unwrap_or_default()))
            });
            Sse::new(endpoint.chain(messages))
        }
    };
    let post = move |Query(q): Query<HashMap<String, String>>,
                     axum::Json(message): axum::Json<ClientJsonRpcMessage>| {
        let sessions = sessions.clone();
        async move {
            let tx = q.get("sessionId").and_then(|id| sessions.lock().unwrap().get(id).cloned());
            match tx {
                Some(tx) if tx.unbounded_send(message).is_ok() => StatusCode::ACCEPTED,
                _ => StatusCode::NOT_FOUND,
            }
        }
    };
    let app = axum::Router::new().route("/sse", axum::routing::get(get)).route("/messages", axum::routing::post(post));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/sse")
}

#[tokio::test]
async fn legacy_sse_transport_connects_lists_and_calls() {
    let url = serve_legacy_sse(TestServer::new("legacy")).await;
    let mut cfg = server_config("legacy", TransportKind::Sse);
    cfg.url = Some(url);
    cfg.timeout = 3.0;
    let conn = Connection::connect(&cfg, None).await.unwrap();
    assert!(!conn.protocol_version().is_empty());
    assert_eq!(conn.server_id(), "legacy");
    let tools: Vec<String> = conn.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools, ["execute_query", "slow"]);
    let out = conn.execute_query("SELECT 1").await.unwrap();
    assert_eq!(out.rows, vec![vec![json!("legacy")]]);
    assert_eq!(conn.read_resource("test://legacy").await.unwrap(), r#"{"label":"legacy"}"#);
    conn.close().await;
}

#[tokio::test]
async fn legacy_sse_without_endpoint_event_times_out() {
    let app = axum::Router::new().route(
        "/sse",
        axum::routing::get(|| async {
            let never = futures::stream::pending::<Result<axum::response::sse::Event, std::convert::Infallible>>();
            axum::response::sse::Sse::new(never)
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut cfg = server_config("legacy", TransportKind::Sse);
    cfg.url = Some(format!("http://{addr}/sse"));
    cfg.timeout = 0.3;
    let started = Instant::now();
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpTimeout);
    assert!(e.message().contains("no SSE endpoint event"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
