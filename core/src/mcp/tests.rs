//! Connection tests against the in-process, streamable HTTP and stdio transports.

use std::time::{Duration, Instant};

use serde_json::json;

use super::test_server::TestServer;
use super::*;
use crate::config::{ServerConfig, TransportKind};
use crate::error::ErrorKind;

pub(crate) fn server_config(id: &str, transport: TransportKind) -> ServerConfig {
    ServerConfig {
        server_id: id.into(),
        name: format!("Server {id}"),
        url: None,
        transport,
        command: vec![],
        env: Default::default(),
        cwd: None,
        priority: 100,
        domains: vec![],
        capabilities: vec![],
        timeout: 5.0,
        critical: false,
        headers: Default::default(),
    }
}

async fn in_process(server: &TestServer, timeout: f64) -> Connection {
    let mut cfg = server_config("mem", TransportKind::InProcess);
    cfg.timeout = timeout;
    Connection::connect(&cfg, Some(server.in_process())).await.expect("in-process connect")
}

#[tokio::test]
async fn in_process_lists_reads_and_queries() {
    let server = TestServer::new("alpha");
    let conn = in_process(&server, 5.0).await;
    assert!(conn.is_connected());
    assert!(conn.has_resources());
    assert!(!conn.protocol_version().is_empty());

    let tools: Vec<String> = conn.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools, ["execute_query", "slow"]);

    let resources = conn.list_resources().await.unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, "test://alpha");
    let text = conn.read_resource("test://alpha").await.unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), json!({"label": "alpha"}));

    let unknown = conn.read_resource("test://nope").await.unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::McpProtocolError);
    assert!(conn.is_connected(), "a protocol error does not take the connection down");

    let out = conn.execute_query("SELECT 1").await.unwrap();
    assert_eq!(out.columns, ["server"]);
    assert_eq!(out.rows, vec![vec![json!("alpha")]]);
    assert_eq!(out.row_count, 1);

    let out = conn.execute_query("OBJECTS").await.unwrap();
    assert_eq!(out.columns, ["name", "total"]);
    assert_eq!(out.rows, vec![vec![json!("Magic Wand Pro"), json!(1234.5)], vec![json!("TechGadget X1"), json!(7)]]);
    assert_eq!(out.row_count, 2);

    let e = conn.execute_query("REJECT this").await.unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::SqlRejected, "only SELECT is allowed"));
    let e = conn.execute_query("FAIL").await.unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::SqlExecutionFailed, "no such table: x"));
    let e = conn.execute_query("ODD").await.unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::SqlExecutionFailed, "database is locked"));

    let e = conn.call_tool("no_such_tool", serde_json::Map::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::McpProtocolError);

    conn.close().await;
    assert!(!conn.is_connected());
    let e = conn.list_tools().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);
}

#[tokio::test]
async fn slow_tool_times_out_and_connection_survives() {
    let server = TestServer::new("slowpoke");
    let conn = in_process(&server, 0.3).await;
    let started = Instant::now();
    let e = conn.call_tool("slow", serde_json::Map::new()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::McpTimeout);
    assert_eq!(e.message(), "mem: request timed out after 0.3 s");
    assert!(elapsed >= Duration::from_millis(280) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    // The peer is still usable after the abandoned request.
    assert!(conn.is_connected());
    assert_eq!(conn.execute_query("SELECT 1").await.unwrap().rows[0][0], json!("slowpoke"));
}

#[tokio::test]
async fn method_not_found_on_resources_means_no_resources() {
    let mut server = TestServer::new("tools_only");
    server.resources_method_not_found = true;
    let conn = in_process(&server, 5.0).await;
    assert!(conn.list_resources().await.unwrap().is_empty());
    assert_eq!(server.resource_calls(), 1, "the server was asked once");
    assert!(conn.is_connected());
}

#[tokio::test]
async fn no_resources_capability_skips_the_request() {
    let mut server = TestServer::new("bare");
    server.resources_capability = false;
    let conn = in_process(&server, 5.0).await;
    assert!(!conn.has_resources());
    assert!(conn.list_resources().await.unwrap().is_empty());
    assert_eq!(server.resource_calls(), 0);
}

#[tokio::test]
async fn missing_in_process_factory_and_refused_sse_are_unavailable() {
    let cfg = server_config("mem", TransportKind::InProcess);
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);

    let mut cfg = server_config("legacy", TransportKind::Sse);
    cfg.url = Some("http://127.0.0.1:9/sse".into());
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);
    assert!(e.message().contains("GET http://127.0.0.1:9/sse failed"), "{e}");
}

#[tokio::test]
async fn streamable_http_on_loopback() {
    let server = TestServer::new("web");
    let url = server.serve_http().await;
    let mut cfg = server_config("http", TransportKind::StreamableHttp);
    cfg.url = Some(url);
    cfg.headers = [("X-Test".to_string(), "1".to_string())].into();
    let conn = Connection::connect(&cfg, None).await.expect("http connect");
    assert_eq!(conn.list_resources().await.unwrap().len(), 1);
    assert_eq!(conn.read_resource("test://web").await.unwrap(), json!({"label": "web"}).to_string());
    assert_eq!(conn.execute_query("SELECT 1").await.unwrap().rows, vec![vec![json!("web")]]);
    conn.close().await;
    assert!(!conn.is_connected());
}

#[tokio::test]
async fn streamable_http_refused_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut cfg = server_config("gone", TransportKind::StreamableHttp);
    cfg.url = Some(format!("http://127.0.0.1:{port}/mcp"));
    let started = Instant::now();
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable, "{e}");
    assert!(e.message().starts_with("gone: "));
    assert!(started.elapsed() < Duration::from_secs(5));

    cfg.url = None;
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::ConfigError);
}

#[tokio::test]
async fn stdio_child_that_exits_is_unavailable_with_its_stderr() {
    let mut cfg = server_config("crashy", TransportKind::Stdio);
    cfg.command = vec!["sh".into(), "-c".into(), "echo \"cannot open $DB_PATH\" >&2; exit 3".into()];
    cfg.env = [("DB_PATH".to_string(), "/nowhere.db".to_string())].into();
    let started = Instant::now();
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable, "{e}");
    assert!(e.message().contains("cannot open /nowhere.db"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));

    cfg.command = vec!["/definitely/not/a/program".into()];
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);

    cfg.command = vec![];
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::ConfigError);
}

#[tokio::test]
async fn stdio_child_that_never_answers_times_out_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let mut cfg = server_config("mute", TransportKind::Stdio);
    // The child starts a grandchild in the same process group, then ignores stdin.
    cfg.command = vec!["sh".into(), "-c".into(), "sleep 30 & echo $! > grandchild.pid; echo up >&2; sleep 30".into()];
    cfg.cwd = Some(dir.path().to_path_buf());
    cfg.timeout = 0.5;
    let started = Instant::now();
    let e = Connection::connect(&cfg, None).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpTimeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // The whole group was killed: the grandchild disappears (reaped by init).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0 && !is_zombie(pid);
        if !alive {
            break;
        }
        assert!(Instant::now() < deadline, "grandchild {pid} still alive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// A minimal newline-delimited JSON-RPC MCP server in Python: tools only, answering
/// `execute_query` with its environment variable `LABEL` and its working directory.
const PY_SERVER: &str = r#"
import json, os, sys
print("python server starting", file=sys.stderr, flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    method = msg.get("method")
    if method == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "py", "version": "0"}}
    elif method == "tools/list":
        result = {"tools": [{"name": "execute_query", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        body = {"columns": ["label", "cwd", "sql"],
                "rows": [{"label": os.environ.get("LABEL"), "cwd": os.path.basename(os.getcwd()),
                          "sql": msg["params"]["arguments"]["query"]}]}
        result = {"content": [{"type": "text", "text": json.dumps(body)}]}
    else:
        print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "Method not found"}}), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
"#;

#[tokio::test]
async fn stdio_python_server_with_env_and_cwd() {
    if std::process::Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not available; skipping the stdio success path");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("workdir");
    std::fs::create_dir(&work).unwrap();
    let script = dir.path().join("server.py");
    std::fs::write(&script, PY_SERVER).unwrap();
    let mut cfg = server_config("py", TransportKind::Stdio);
    cfg.command = vec!["python3".into(), script.display().to_string()];
    cfg.env = [("LABEL".to_string(), "from-env".to_string())].into();
    cfg.cwd = Some(work);
    let conn = Connection::connect(&cfg, None).await.expect("stdio connect");
    assert!(!conn.has_resources());
    assert!(conn.list_resources().await.unwrap().is_empty());
    let out = conn.execute_query("SELECT 42").await.unwrap();
    assert_eq!(out.columns, ["label", "cwd", "sql"]);
    assert_eq!(out.rows, vec![vec![json!("from-env"), json!("workdir"), json!("SELECT 42")]]);
    let started = Instant::now();
    conn.close().await;
    assert!(started.elapsed() < Duration::from_secs(5), "stdin close ends the child promptly");
    assert_eq!(conn.list_tools().await.unwrap_err().kind(), ErrorKind::McpUnavailable);
}
