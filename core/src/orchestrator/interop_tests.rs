//! Interop with a server no one here wrote: `@modelcontextprotocol/server-everything`
//! (TypeScript SDK) over stdio, streamable HTTP and legacy SSE: connect, list tools and
//! resources, read a resource, call `echo`, and keep working after the server restarts
//! (over HTTP it answers 400 to the old session, mcp.md §1.8).
//!
//! Needs `T2T_SERVER_EVERYTHING=/path/to/node_modules/.bin/mcp-server-everything`
//! (`scripts/test.sh` installs it under `target/interop/`). Unset: the tests print
//! SKIPPED, unless `T2T_REQUIRE_TOOLS` is set, where they fail. Loopback only, bounded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::config::{Config, OrchestrationConfig, ServerConfig};
use crate::mcp::tests::server_config;

/// Per-request timeout for these tests, seconds (a call on a stale HTTP session can hang
/// until it, see mcp.md §2 pitfall 4).
const TIMEOUT: f64 = 3.0;
/// How long a restarted server may take to answer `echo` again through our client.
const RECOVERY: Duration = Duration::from_secs(15);

/// The server-everything launcher, or `None` (after printing SKIPPED) when not configured.
fn server_everything() -> Option<PathBuf> {
    match std::env::var_os("T2T_SERVER_EVERYTHING").map(PathBuf::from) {
        Some(path) if path.exists() => Some(path),
        other => {
            assert!(
                std::env::var_os("T2T_REQUIRE_TOOLS").is_none(),
                "T2T_SERVER_EVERYTHING must point at mcp-server-everything (T2T_REQUIRE_TOOLS=1), got {other:?}"
            );
            eprintln!("SKIPPED: T2T_SERVER_EVERYTHING not set (scripts/test.sh installs server-everything)");
            None
        }
    }
}

fn policy() -> HealPolicy {
    HealPolicy {
        failure_threshold: 100,
        open_for: Duration::from_secs(1),
        handshake_timeout: Duration::from_secs(10),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        probe_timeout: Duration::from_secs(2),
    }
}

async fn start(server: ServerConfig) -> Orchestrator {
    let config = Config {
        servers: vec![server],
        orchestration: OrchestrationConfig::default(),
        enable_multi_mcp: true,
        ..Config::default()
    };
    Orchestrator::start_with(&config, HashMap::new(), policy(), Some(Duration::from_millis(500)))
        .await
        .expect("connect to server-everything")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// server-everything in `mode` (`streamableHttp` or `sse`) on `port`, killed on drop.
struct NodeServer {
    child: tokio::process::Child,
}

impl NodeServer {
    async fn start(program: &PathBuf, mode: &str, port: u16) -> NodeServer {
        let child = tokio::process::Command::new(program)
            .arg(mode)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mcp-server-everything");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "server-everything {mode} not listening on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        NodeServer { child }
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Calls `echo` and returns its text.
async fn echo(orch: &Orchestrator, message: &str) -> Result<String> {
    let mut args = serde_json::Map::new();
    args.insert("message".into(), json!(message));
    let (_, result) = orch.call_tool("echo", args).await?;
    assert_ne!(result.is_error, Some(true), "echo failed: {result:?}");
    Ok(result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n"))
}

/// Connect, list tools and resources, read one resource, call `echo`.
async fn exercise(orch: &Orchestrator, label: &str) {
    let status = &orch.statuses()[0];
    assert!(status.connected, "{label}: {status:?}");
    for tool in ["echo", "get-sum"] {
        assert!(status.tools.iter().any(|t| t == tool), "{label}: no {tool} in {:?}", status.tools);
    }
    let conn = orch.supervisor("everything").and_then(|s| s.current()).expect("live connection");
    let resources = conn.list_resources().await.expect("resources/list");
    let document = resources
        .iter()
        .find(|r| r.uri.starts_with("demo://resource/static/document/"))
        .unwrap_or_else(|| panic!("{label}: no static document in {resources:?}"));
    let text = conn.read_resource(&document.uri).await.expect("resources/read");
    assert!(!text.is_empty(), "{label}: empty {}", document.uri);
    let said = echo(orch, &format!("hello over {label}")).await.expect("echo");
    assert!(said.contains(&format!("hello over {label}")), "{label}: echo answered {said:?}");
}

/// Polls `echo` until it answers (after a restart); returns how long it took.
async fn echo_until_ok(orch: &Orchestrator, label: &str) -> Duration {
    let started = Instant::now();
    loop {
        match echo(orch, "again").await {
            Ok(text) if text.contains("again") => return started.elapsed(),
            Ok(text) => panic!("{label}: echo answered {text:?}"),
            Err(e) => {
                assert!(started.elapsed() < RECOVERY, "{label}: not back within {RECOVERY:?}: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_stdio() {
    let Some(program) = server_everything() else { return };
    let mut cfg = server_config("everything", TransportKind::Stdio);
    cfg.command = vec![program.to_string_lossy().to_string(), "stdio".into()];
    cfg.timeout = TIMEOUT;
    let orch = start(cfg).await;
    exercise(&orch, "stdio").await;

    // Crash the child: the next calls spawn a new one.
    let conn = orch.supervisor("everything").and_then(|s| s.current()).expect("live connection");
    let pgid = conn.process_group().expect("stdio child runs in its own process group");
    crate::mcp::transport::kill_process_group(pgid);
    let took = echo_until_ok(&orch, "stdio").await;
    eprintln!("stdio: echo answers again {took:?} after the kill");
    assert!(orch.statuses()[0].reconnects >= 1, "{:?}", orch.statuses()[0]);
    orch.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http_survives_its_restart() {
    let Some(program) = server_everything() else { return };
    let port = free_port();
    let server = NodeServer::start(&program, "streamableHttp", port).await;
    let mut cfg = server_config("everything", TransportKind::StreamableHttp);
    cfg.url = Some(format!("http://127.0.0.1:{port}/mcp"));
    cfg.timeout = TIMEOUT;
    let orch = start(cfg).await;
    exercise(&orch, "streamable HTTP").await;

    // Restart on the same port: it answers 400 to our old session; we must rebuild.
    server.stop().await;
    let server = NodeServer::start(&program, "streamableHttp", port).await;
    let took = echo_until_ok(&orch, "streamable HTTP").await;
    eprintln!("streamable HTTP: echo answers again {took:?} after the restart");
    assert!(orch.statuses()[0].reconnects >= 1, "{:?}", orch.statuses()[0]);
    exercise(&orch, "streamable HTTP").await;
    orch.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_legacy_sse_survives_its_restart() {
    let Some(program) = server_everything() else { return };
    let port = free_port();
    let server = NodeServer::start(&program, "sse", port).await;
    let mut cfg = server_config("everything", TransportKind::Sse);
    cfg.url = Some(format!("http://127.0.0.1:{port}/sse"));
    cfg.timeout = TIMEOUT;
    let orch = start(cfg).await;
    exercise(&orch, "SSE").await;

    server.stop().await;
    let server = NodeServer::start(&program, "sse", port).await;
    let took = echo_until_ok(&orch, "SSE").await;
    eprintln!("SSE: echo answers again {took:?} after the restart");
    assert!(orch.statuses()[0].reconnects >= 1, "{:?}", orch.statuses()[0]);
    exercise(&orch, "SSE").await;
    orch.close().await;
    server.stop().await;
}
