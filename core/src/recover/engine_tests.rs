//! The LLM generator and the recovery loop through the public [`Engine`], on the
//! embedded sample stack with a scripted OpenAI-compatible provider. The Database MCP's
//! in-process pipe is tapped so tests can check which SQL reached the tool.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{LlmConfig, LlmProvider};
use crate::embedded::DATABASE_SERVER_ID;
use crate::engine::Engine;
use crate::error::ErrorKind;
use crate::llm::scripted::{Reply, ScriptedServer};
use crate::mcp::InProcessServer;
use crate::response::ChatRequest;

/// Bytes the client sent to the Database MCP.
type Tap = Arc<Mutex<Vec<u8>>>;

/// `server`, with every byte the client sends it copied into `tap`.
fn tapped(server: InProcessServer, tap: Tap) -> InProcessServer {
    Arc::new(move |client_side: tokio::io::DuplexStream| {
        let (proxy, server_side) = tokio::io::duplex(256 * 1024);
        server(server_side);
        let tap = tap.clone();
        tokio::spawn(async move {
            let (mut from_client, mut to_client) = tokio::io::split(client_side);
            let (mut from_server, mut to_server) = tokio::io::split(proxy);
            let up = async {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match from_client.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    tap.lock().unwrap().extend_from_slice(&buf[..n]);
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown().await;
            };
            let down = tokio::io::copy(&mut from_server, &mut to_client);
            let _ = tokio::join!(up, down);
        });
    })
}

fn sent(tap: &Tap) -> String {
    String::from_utf8_lossy(&tap.lock().unwrap()).into_owned()
}

/// The embedded stack answering with the scripted provider (total LLM timeout
/// `timeout_seconds`, two tries per call).
async fn engine(dir: &Path, server: &ScriptedServer, timeout_seconds: f64) -> (Engine, Tap) {
    let (mut config, mut servers) = crate::embedded::prepare(dir).await.expect("embedded stack");
    config.llm = LlmConfig {
        provider: LlmProvider::Openai,
        base_url: Some(server.base_url().to_string()),
        api_key: Some("test-key".into()),
        timeout_seconds: Some(timeout_seconds),
        max_tries: Some(2),
        ..Default::default()
    };
    let tap: Tap = Arc::default();
    let db = servers.remove(DATABASE_SERVER_ID).expect("database server");
    servers.insert(DATABASE_SERVER_ID.to_string(), tapped(db, tap.clone()));
    (Engine::start(config, servers).await.expect("engine"), tap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_column_from_the_llm_is_repaired_by_a_second_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = ScriptedServer::openai([
        Reply::openai_answer(r#"{"sql": "SELECT customer_name FROM customers", "explanation": "names"}"#),
        Reply::openai_answer(r#"{"sql": "SELECT first_name, last_name FROM customers", "explanation": "fixed"}"#),
    ])
    .await;
    let (engine, _) = engine(dir.path(), &server, 5.0).await;
    let response = engine.chat(ChatRequest::new("Give me every customer's full name")).await;
    assert!(response.success, "{response:#?}");
    let data = response.data.unwrap();
    assert_eq!(data.metadata.generator, "llm:openai");
    assert!(data.recovery_performed && response.metadata.recovery_performed);
    assert_eq!(data.metadata.recovery_attempts, 1);
    assert_eq!(data.metadata.attempted_sql.len(), 1);
    assert!(data.metadata.attempted_sql[0].sql.contains("customer_name"), "{:?}", data.metadata.attempted_sql);
    assert_eq!(data.metadata.attempted_sql[0].error_category, "MISSING_COLUMN");
    assert!(data.sql_query.contains("first_name, last_name"), "{}", data.sql_query);
    assert!(data.results.row_count > 0);
    let usage = data.metadata.llm_usage.expect("llm usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (22, 14, 36));
    // The repair request carried the failed SQL, the error and its category.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let repair = requests[1].body["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(repair.contains("SELECT customer_name FROM customers") && repair.contains("MISSING_COLUMN"), "{repair}");
    // The generation prompt states the dialect and the resolved tables.
    let system = requests[0].body["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(system.contains("sqlite") && system.contains("customers("), "{system}");
    assert_eq!(engine.metrics()["llm_tokens_total"], 36);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writing_llm_answer_never_reaches_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let server = ScriptedServer::openai([Reply::openai_answer(r#"{"sql": "DROP TABLE orders"}"#)]).await;
    let (engine, tap) = engine(dir.path(), &server, 5.0).await;
    let response = engine.chat(ChatRequest::new("How many orders are there?")).await;
    assert!(!response.success);
    let error = response.error.unwrap();
    assert_eq!(error.code, ErrorKind::SqlRejected, "{}", error.message);
    assert_eq!(error.attempted_sql.len(), 1);
    assert_eq!(server.requests().len(), 1, "a refused write is never sent back for repair");
    let wire = sent(&tap);
    assert!(wire.contains("execute_query"), "the tap sees tool calls (value probes)");
    assert!(!wire.to_uppercase().contains("DROP TABLE"), "DROP reached the Database MCP");
    // The database is intact.
    let rows = engine.ask("SELECT COUNT(*) FROM orders").await.expect("orders still there");
    assert_eq!(rows.results.row_count, 1);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_provider_falls_back_to_offline_or_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let hang = || Reply::openai_answer(r#"{"sql": "SELECT 1"}"#).delayed(Duration::from_secs(30));
    let server = ScriptedServer::openai([hang(), hang(), hang(), hang()]).await;
    let (engine, _) = engine(dir.path(), &server, 0.5).await;
    let started = Instant::now();
    let response = engine.chat(ChatRequest::new("How many customers are there?")).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(response.success, "{response:#?}");
    let data = response.data.unwrap();
    assert_eq!(data.metadata.generator, "offline");
    assert_eq!(data.metadata.llm_usage, None);

    let started = Instant::now();
    let response = engine.chat(ChatRequest::new("Which employees were hired by the moon?")).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(response.error.unwrap().code, ErrorKind::LlmUnavailable);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misspelled_sql_is_repaired_without_the_llm() {
    let dir = tempfile::tempdir().unwrap();
    let server = ScriptedServer::openai([]).await;
    let (engine, _) = engine(dir.path(), &server, 5.0).await;
    let response = engine.chat(ChatRequest::new("SELECT * FORM orders")).await;
    assert!(response.success, "{response:#?}");
    let data = response.data.unwrap();
    assert_eq!(data.metadata.generator, "raw_sql");
    assert_eq!(data.sql_query, "SELECT * FROM orders LIMIT 1000");
    assert!(data.results.row_count > 0);
    assert_eq!(data.metadata.recovery_attempts, 1);
    assert_eq!(data.metadata.attempted_sql[0].error_category, "SYNTAX_ERROR");
    assert!(server.requests().is_empty(), "no LLM call");

    // With recovery off, the parse error is the answer.
    let mut off = ChatRequest::new("SELECT * FORM orders");
    off.enable_recovery = false;
    let response = engine.chat(off).await;
    assert_eq!(response.error.unwrap().code, ErrorKind::SqlRejected);
    engine.close().await;
}

/// `Engine::chat` must stay spawnable (the HTTP server runs it in `tokio::spawn`).
#[allow(dead_code)]
fn chat_future_is_send(engine: Engine) {
    fn send<T: Send>(_: T) {}
    send(async move { engine.chat(ChatRequest::new("q")).await });
}

#[tokio::test]
async fn a_provider_without_its_key_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, servers) = crate::embedded::prepare(dir.path()).await.unwrap();
    config.llm = LlmConfig { provider: LlmProvider::Gemini, ..Default::default() };
    let error = Engine::start(config, servers).await.err().expect("config error");
    assert_eq!(error.kind(), ErrorKind::ConfigError);
}
