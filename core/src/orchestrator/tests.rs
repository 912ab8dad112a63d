//! Orchestrator tests with in-process test servers (and one HTTP server).

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::config::{Config, OrchestrationConfig, ServerConfig};
use crate::mcp::test_server::TestServer;
use crate::mcp::tests::server_config;

fn server(id: &str, priority: u32, capabilities: &[&str], domains: &[&str]) -> ServerConfig {
    let mut cfg = server_config(id, TransportKind::InProcess);
    cfg.priority = priority;
    cfg.capabilities = capabilities.iter().map(|c| c.to_string()).collect();
    cfg.domains = domains.iter().map(|d| d.to_string()).collect();
    cfg
}

fn config(servers: Vec<ServerConfig>, ttl: u64) -> Config {
    Config {
        servers,
        orchestration: OrchestrationConfig { resource_cache_ttl: ttl, ..OrchestrationConfig::default() },
        enable_multi_mcp: true,
        ..Config::default()
    }
}

fn factories(servers: &[(&str, &TestServer)]) -> HashMap<String, InProcessServer> {
    servers.iter().map(|(id, s)| (id.to_string(), s.in_process())).collect()
}

#[tokio::test]
async fn lower_priority_number_runs_the_sql() {
    let (a, b) = (TestServer::new("a"), TestServer::new("b"));
    let cfg = config(
        vec![
            server("db_a", 20, &["execute_query", "list_resources"], &["sales"]),
            server("db_b", 10, &["execute_query"], &["sales", "orders"]),
        ],
        300,
    );
    let orch = Orchestrator::start(&cfg, factories(&[("db_a", &a), ("db_b", &b)])).await.unwrap();
    assert!(orch.is_ready());
    assert_eq!(orch.database_server(), Some("db_b"));
    let executed = orch.execute_query("SELECT 1").await.unwrap();
    assert_eq!(executed.server_id, "db_b");
    assert_eq!(executed.output.rows, vec![vec![json!("b")]]);
    assert_eq!(orch.servers_for_domain("SALES"), ["db_b", "db_a"]);
    assert_eq!(orch.servers_for_domain("orders"), ["db_b"]);
    assert!(orch.servers_for_domain("weather").is_empty());

    let e = orch.execute_query("REJECT").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SqlRejected);

    orch.close().await;
    assert!(!orch.is_ready());
    assert_eq!(orch.execute_query("SELECT 1").await.unwrap_err().kind(), ErrorKind::McpUnavailable);
}

#[tokio::test]
async fn database_server_from_tool_lists_when_no_capabilities_are_declared() {
    let mut meta = TestServer::new("meta");
    meta.tools = false;
    let db = TestServer::new("db");
    let cfg = config(vec![server("meta", 1, &[], &[]), server("db", 50, &[], &[])], 300);
    let orch = Orchestrator::start(&cfg, factories(&[("meta", &meta), ("db", &db)])).await.unwrap();
    assert_eq!(orch.database_server(), Some("db"));
    let statuses = orch.statuses();
    assert_eq!(statuses[0].server_id, "meta");
    assert!(statuses[0].tools.is_empty());
    assert_eq!(statuses[1].tools, ["execute_query", "slow"]);
    assert_eq!(statuses[1].resources.len(), 1);
    orch.close().await;
}

#[tokio::test]
async fn warm_cache_makes_no_round_trips() {
    let (meta, db) = (TestServer::new("meta"), TestServer::new("db"));
    let cfg = config(vec![server("db", 10, &["execute_query"], &[]), server("meta", 1, &["list_resources"], &[])], 300);
    let orch = Orchestrator::start(&cfg, factories(&[("meta", &meta), ("db", &db)])).await.unwrap();
    let timer = prometheus::HistogramVec::new(prometheus::HistogramOpts::new("t", "t"), &["server", "method"]).unwrap();
    orch.set_request_timer(&timer);
    let timed =
        || ["meta", "db"].iter().map(|s| timer.with_label_values(&[*s, "resources"]).get_sample_count()).sum::<u64>();
    let calls_before = meta.resource_calls() + db.resource_calls();

    let first = orch.gather(Scope::All).await.unwrap();
    assert_eq!(first.servers_used, ["meta", "db"], "by priority");
    assert!(first.missing.is_empty());
    let uris: Vec<&str> = first.resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["test://meta", "test://db"]);
    assert_eq!(first.resources[0].server_id, "meta");
    assert_eq!(first.resources[0].mime_type.as_deref(), Some("application/json"));
    assert_eq!(first.resources[0].name, "name of test://meta");
    let calls_after_first = meta.resource_calls() + db.resource_calls();
    assert_eq!(calls_after_first - calls_before, 4, "list + read per server");
    assert_eq!(orch.cache_stats(), CacheStats { hits: 0, misses: 2, entries: 2 });

    let timed_after_first = timed();
    assert_eq!(timed_after_first, 2, "one timed fetch per server");
    let second = orch.gather(Scope::All).await.unwrap();
    assert_eq!(meta.resource_calls() + db.resource_calls(), calls_after_first, "0 MCP round trips");
    assert_eq!(timed(), timed_after_first, "cache hits are not recorded as MCP requests");
    assert_eq!(second, first, "same resources, same fingerprint");
    assert_eq!(orch.cache_stats(), CacheStats { hits: 2, misses: 2, entries: 2 });

    let db_only = orch.gather(Scope::DatabaseOnly).await.unwrap();
    assert_eq!(db_only.servers_used, ["db"]);
    assert_eq!(db_only.resources.len(), 1);
    assert_eq!(db_only.fingerprint, vec![("db".to_string(), first.fingerprint[1].1)]);
    orch.close().await;
}

#[tokio::test]
async fn ttl_zero_always_fetches_with_new_epochs() {
    let db = TestServer::new("db");
    let cfg = config(vec![server("db", 10, &["execute_query"], &[])], 0);
    let orch = Orchestrator::start(&cfg, factories(&[("db", &db)])).await.unwrap();
    let before = db.resource_calls();
    let first = orch.gather(Scope::All).await.unwrap();
    let second = orch.gather(Scope::DatabaseOnly).await.unwrap();
    assert_eq!(db.resource_calls() - before, 4);
    assert_ne!(first.fingerprint, second.fingerprint);
    assert_eq!(first.resources, second.resources);
    assert_eq!(orch.cache_stats(), CacheStats { hits: 0, misses: 2, entries: 0 });
    orch.close().await;
}

#[tokio::test]
async fn a_down_server_is_missing_while_others_answer() {
    let db = TestServer::new("db");
    let web = TestServer::new("web");
    let url = web.serve_http().await;
    let mut http = server_config("web_meta", TransportKind::StreamableHttp);
    http.url = Some(url);
    http.priority = 5;
    let mut refused = server_config("dead_meta", TransportKind::StreamableHttp);
    refused.url = Some(format!("http://127.0.0.1:{}/mcp", free_port()));
    refused.priority = 1;
    // Registered as in-process, but the engine gave no factory for it.
    let orphan = server("orphan", 7, &[], &[]);
    let cfg = config(vec![server("db", 10, &["execute_query"], &[]), http, refused, orphan], 300);
    let orch = Orchestrator::start(&cfg, factories(&[("db", &db)])).await.unwrap();
    assert!(orch.is_ready());

    let gathered = orch.gather(Scope::All).await.unwrap();
    assert_eq!(gathered.servers_used, ["web_meta", "db"]);
    assert_eq!(gathered.missing, ["dead_meta", "orphan"]);
    assert_eq!(gathered.resources.len(), 2);

    let statuses = orch.statuses();
    let ids: Vec<&str> = statuses.iter().map(|s| s.server_id.as_str()).collect();
    assert_eq!(ids, ["dead_meta", "web_meta", "orphan", "db"]);
    assert!(!statuses[0].connected);
    assert!(statuses[0].last_error.as_deref().is_some_and(|e| e.contains("MCP_UNAVAILABLE")));
    assert_eq!(statuses[0].transport, TransportKind::StreamableHttp);
    assert!(statuses[1].connected && statuses[1].last_error.is_none());
    let json = serde_json::to_value(&statuses[1]).unwrap();
    assert_eq!(json["transport"], "streamable_http");
    assert_eq!(json["priority"], 5);
    orch.close().await;
}

#[tokio::test]
async fn database_server_down_fails_gather() {
    let meta = TestServer::new("meta");
    let mut db = server_config("db", TransportKind::StreamableHttp);
    db.url = Some(format!("http://127.0.0.1:{}/mcp", free_port()));
    db.capabilities = vec!["execute_query".into()];
    let cfg = config(vec![db, server("meta", 1, &["list_resources"], &[])], 300);
    let orch = Orchestrator::start(&cfg, factories(&[("meta", &meta)])).await.unwrap();
    assert!(!orch.is_ready());
    assert_eq!(orch.database_server(), None);
    for scope in [Scope::All, Scope::DatabaseOnly] {
        assert_eq!(orch.gather(scope).await.unwrap_err().kind(), ErrorKind::McpUnavailable);
    }
    assert_eq!(orch.execute_query("SELECT 1").await.unwrap_err().kind(), ErrorKind::McpUnavailable);
    orch.close().await;
}

#[tokio::test]
async fn no_server_at_all_is_not_an_error() {
    let orch = Orchestrator::start(&config(vec![], 300), HashMap::new()).await.unwrap();
    assert!(!orch.is_ready());
    assert!(orch.statuses().is_empty());
    assert_eq!(orch.gather(Scope::All).await.unwrap_err().kind(), ErrorKind::McpUnavailable);
}

#[tokio::test]
async fn fail_fast_and_require_multi_mcp_fail_start_up() {
    let db = TestServer::new("db");
    let mut dead = server_config("dead_meta", TransportKind::StreamableHttp);
    dead.url = Some(format!("http://127.0.0.1:{}/mcp", free_port()));
    let servers = vec![server("db", 10, &["execute_query"], &[]), dead];

    let mut cfg = config(servers.clone(), 300);
    cfg.orchestration.fail_fast = true;
    let e = Orchestrator::start(&cfg, factories(&[("db", &db)])).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);
    assert!(e.message().contains("dead_meta"), "{e}");
    assert!(!e.message().contains("db ("), "{e}");

    let mut cfg = config(servers.clone(), 300);
    cfg.require_multi_mcp = true;
    let e = Orchestrator::start(&cfg, factories(&[("db", &db)])).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::McpUnavailable);

    let cfg = config(servers, 300);
    let orch = Orchestrator::start(&cfg, factories(&[("db", &db)])).await.unwrap();
    assert!(orch.is_ready());
    orch.close().await;
}

#[tokio::test]
async fn a_failing_fetch_is_missing_and_not_cached() {
    let db = TestServer::new("db");
    let mut broken = TestServer::new("broken");
    broken.fail_reads = true;
    let cfg =
        config(vec![server("db", 10, &["execute_query"], &[]), server("broken", 1, &["list_resources"], &[])], 300);
    let orch = Orchestrator::start(&cfg, factories(&[("db", &db), ("broken", &broken)])).await.unwrap();
    for _ in 0..2 {
        let g = orch.gather(Scope::All).await.unwrap();
        assert_eq!(g.missing, ["broken"]);
        assert_eq!(g.servers_used, ["db"]);
    }
    let status = &orch.statuses()[0];
    assert!(status.connected, "a failed read does not take the connection down");
    assert!(status.last_error.as_deref().is_some_and(|e| e.contains("read failed")), "{status:?}");
    assert_eq!(orch.cache_stats(), CacheStats { hits: 1, misses: 3, entries: 1 }, "failures are not cached");
    orch.close().await;
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
