//! The public API of the core on the embedded default: `Engine::embedded`, `chat`, `ask`,
//! `modes`, `health`, `readiness`, `metrics`, `close`.

use talk2tables::{ChatRequest, Engine, ErrorKind, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_engine_answers_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::embedded(dir.path()).await.expect("embedded engine");
    assert!(dir.path().join(talk2tables::SAMPLE_DB_FILE).exists(), "sample database created");

    let response = engine.chat(ChatRequest::new("Show me total sales for abracadabra this month")).await;
    assert!(response.success, "{response:#?}");
    assert_eq!(response.metadata.mode, Mode::MultiMcp);
    let data = response.data.expect("data");
    assert!(data.sql_query.contains("123") && data.sql_query.contains("start of month"), "{}", data.sql_query);
    assert!(data.resolved_entities.iter().any(|e| e.original_term == "abracadabra" && e.resolved_value == "123"));
    assert_eq!(data.metadata.mcp_servers_used, ["product_metadata_mcp", "database_mcp"]);
    assert_eq!(data.metadata.generator, "offline");

    // single_mcp reads only the Database MCP.
    let mut single = ChatRequest::new("How many products are there?");
    single.mode = Mode::SingleMcp;
    let response = engine.chat(single).await;
    assert_eq!(response.metadata.mode, Mode::SingleMcp);
    assert_eq!(response.data.expect("data").metadata.mcp_servers_used, ["database_mcp"]);

    let result = engine.ask("How many customers are there?").await.expect("ask");
    assert_eq!(result.results.row_count, 1);
    assert_eq!(engine.ask("How many employees are there?").await.unwrap_err().kind(), ErrorKind::Unanswerable);
    assert_eq!(engine.ask("DELETE FROM orders").await.unwrap_err().kind(), ErrorKind::SqlRejected);
    assert_eq!(engine.ask(" ").await.unwrap_err().kind(), ErrorKind::InvalidRequest);

    let modes = engine.modes();
    assert_eq!(modes.orchestrator_status, "ready");
    assert!(modes.available_modes.iter().all(|m| m.available));

    let health = engine.health().await;
    assert_eq!(health.status, "healthy");
    assert_eq!(health.details.total_services, 2);
    assert!(engine.readiness().is_ready());

    let metrics = engine.metrics();
    assert_eq!(metrics["total_queries"], 6);
    assert_eq!(metrics["successful_queries"], 3);
    assert_eq!(metrics["failed_queries"], 3);
    assert!(metrics["cache_hits"].as_u64().unwrap() > 0, "{metrics:#}");
    assert_eq!(metrics["mcp_connection_status"]["database_mcp"], true);

    engine.close().await;
    let after = engine.chat(ChatRequest::new("How many customers are there?")).await;
    assert!(!after.success);
    let code = after.error.expect("error").code;
    assert!(matches!(code, ErrorKind::McpUnavailable | ErrorKind::OrchestratorNotReady), "{code:?}");
    assert!(!engine.readiness().is_ready());
    assert_eq!(engine.health().await.status, "unhealthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_reuses_the_sample_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Engine::embedded(dir.path()).await.expect("first");
    let a = first.ask("How many orders are there?").await.expect("ask");
    first.close().await;
    let second = Engine::embedded(dir.path()).await.expect("second");
    let b = second.ask("How many orders are there?").await.expect("ask");
    assert_eq!(a.results.rows, b.results.rows);
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_events_cover_every_stage_in_order() {
    use talk2tables::{Stage, StageStatus};
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::embedded(dir.path()).await.expect("embedded engine");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let response = engine.chat_with_progress(ChatRequest::new("Total sales per category"), tx).await;
    assert!(response.success);
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    let finished: Vec<Stage> = events.iter().filter(|e| e.status == StageStatus::Finished).map(|e| e.stage).collect();
    assert_eq!(finished, [Stage::Gathering, Stage::Resolving, Stage::Generating, Stage::Validating, Stage::Executing]);
    assert!(events.last().unwrap().detail.as_deref().unwrap().ends_with("rows"));

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let response = engine.chat_with_progress(ChatRequest::new("DELETE FROM orders"), tx).await;
    assert!(!response.success);
    let mut last = None;
    while let Ok(e) = rx.try_recv() {
        last = Some(e);
    }
    let last = last.expect("events");
    assert_eq!((last.stage, last.status), (Stage::Validating, StageStatus::Failed));
    assert_eq!(last.detail.as_deref(), Some("SQL_REJECTED"));
    engine.close().await;
}
