//! An rmcp client lists and reads the three resources over streamable HTTP (loopback)
//! and over an in-process duplex pipe.

use std::time::Duration;

use rmcp::model::{ClientConfig, ReadResourceRequestParams, ResourceContents};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ServiceError, ServiceExt};
use serde_json::Value;
use talk2tables_metadata_mcp::{
    COLUMN_MAPPINGS_URI, METADATA_SUMMARY_URI, MetadataServer, PRODUCT_ALIASES_URI, http_router,
};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const LIMIT: Duration = Duration::from_secs(10);

async fn read_json(client: &RunningService<RoleClient, ClientConfig>, uri: &str) -> Value {
    let result = timeout(LIMIT, client.read_resource(ReadResourceRequestParams::new(uri)))
        .await
        .expect("read timed out")
        .expect("read failed");
    assert_eq!(result.contents.len(), 1);
    match &result.contents[0] {
        ResourceContents::TextResourceContents { uri: got, mime_type, text, .. } => {
            assert_eq!(got, uri);
            assert_eq!(mime_type.as_deref(), Some("application/json"));
            serde_json::from_str(text).expect("resource text is JSON")
        }
        other => panic!("expected text contents, got {other:?}"),
    }
}

async fn exercise(client: RunningService<RoleClient, ClientConfig>) {
    let info = client.peer_info().and_then(|i| i.server_info.clone()).expect("server info");
    assert_eq!(info.name, "talk2tables-metadata-mcp");

    let resources = timeout(LIMIT, client.list_all_resources()).await.unwrap().unwrap();
    let listed: Vec<(String, String, Option<String>)> =
        resources.iter().map(|r| (r.uri.clone(), r.name.clone(), r.mime_type.clone())).collect();
    let json = Some("application/json".to_owned());
    assert_eq!(
        listed,
        vec![
            (PRODUCT_ALIASES_URI.to_owned(), "get_product_aliases".to_owned(), json.clone()),
            (COLUMN_MAPPINGS_URI.to_owned(), "get_column_mappings".to_owned(), json.clone()),
            (METADATA_SUMMARY_URI.to_owned(), "get_metadata_summary".to_owned(), json),
        ]
    );

    let aliases = read_json(&client, PRODUCT_ALIASES_URI).await;
    assert_eq!(aliases["aliases"]["abracadabra"]["canonical_id"], "123");
    assert_eq!(aliases["aliases"]["mystic"]["canonical_name"], "Mystic Crystal Ball");
    assert!(aliases["description"].is_string());

    let mappings = read_json(&client, COLUMN_MAPPINGS_URI).await;
    assert_eq!(mappings["mappings"]["sales"], "SUM(order_items.quantity * order_items.unit_price)");
    assert!(mappings["description"].is_string());

    let summary = read_json(&client, METADATA_SUMMARY_URI).await;
    assert_eq!(summary["total_products"], 5);
    assert_eq!(summary["total_mappings"], mappings["mappings"].as_object().unwrap().len());
    assert_eq!(summary["version"], "1.0.0");
    assert!(summary["last_updated"].is_string());

    let missing = timeout(LIMIT, client.read_resource(ReadResourceRequestParams::new("database://schema")))
        .await
        .unwrap()
        .unwrap_err();
    match missing {
        ServiceError::McpError(e) => assert!(e.message.contains("database://schema"), "{e:?}"),
        other => panic!("expected an MCP error, got {other:?}"),
    }

    let tools = timeout(LIMIT, client.list_all_tools()).await.unwrap();
    assert!(tools.map(|t| t.is_empty()).unwrap_or(true), "the metadata server has no tools");

    client.cancel().await.unwrap();
}

#[tokio::test]
async fn streamable_http_lists_and_reads() {
    let ct = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = http_router(MetadataServer::builtin(), ct.clone());
    let stop = ct.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await
    });

    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    let client = timeout(LIMIT, ClientConfig::default().serve(transport)).await.unwrap().unwrap();
    exercise(client).await;

    ct.cancel();
    timeout(LIMIT, server).await.expect("server did not stop").unwrap().unwrap();
}

#[tokio::test]
async fn duplex_lists_and_reads() {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = MetadataServer::builtin().serve(server_io).await.map_err(|e| e.to_string())?;
        running.waiting().await.map(|_| ()).map_err(|e| e.to_string())
    });
    let client = timeout(LIMIT, ClientConfig::default().serve(client_io)).await.unwrap().unwrap();
    exercise(client).await;
    timeout(LIMIT, server).await.expect("server did not stop").unwrap().ok();
}
