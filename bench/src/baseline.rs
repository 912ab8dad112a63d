//! The floor: a bare `execute_query` round trip from an rmcp client to our Database MCP,
//! either over streamable HTTP on loopback (the same transport the server uses in the
//! `http` topology) or over an in-memory pipe to a server in this process (the transport
//! of the embedded default).

use std::path::Path;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{ClientCacheConfig, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};

use crate::BenchResult;

/// Handshake and per-call limit.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Our client identity (no capabilities, no notification handling).
#[derive(Clone)]
struct BenchClient;

impl ClientHandler for BenchClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("talk2tables-bench", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// One MCP client session; cheap to share behind an `Arc` (calls run concurrently on
/// it, as the server's single session to the Database MCP does).
pub struct McpClient {
    service: RunningService<RoleClient, BenchClient>,
}

impl McpClient {
    /// Connects over streamable HTTP to `url` (`http://127.0.0.1:PORT/mcp`), with rmcp's
    /// client response cache disabled (as the engine does).
    ///
    /// Errors: connect or handshake failure, or timeout.
    pub async fn http(url: &str) -> BenchResult<McpClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let transport = StreamableHttpClientTransport::with_client(
            http,
            StreamableHttpClientTransportConfig::with_uri(url.to_string()),
        );
        let service = tokio::time::timeout(CALL_TIMEOUT, BenchClient.serve(transport))
            .await
            .map_err(|_| format!("{url}: handshake timed out"))?
            .map_err(|e| format!("{url}: handshake failed: {e}"))?;
        service.peer().set_response_cache_config(ClientCacheConfig::disabled()).await;
        Ok(McpClient { service })
    }

    /// Starts our Database MCP for the SQLite file `db` inside this process and connects
    /// to it over an in-memory pipe (the embedded default's transport, same buffer size).
    ///
    /// Errors: the database cannot be opened, or the handshake fails.
    pub async fn in_process(db: &Path) -> BenchResult<McpClient> {
        let server = talk2tables_database_mcp::connect(&db.to_string_lossy(), Default::default())
            .await
            .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
        let (client_end, server_end) = tokio::io::duplex(256 * 1024);
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_end).await {
                let _ = running.waiting().await;
            }
        });
        let service = tokio::time::timeout(CALL_TIMEOUT, BenchClient.serve(client_end))
            .await
            .map_err(|_| "in-process handshake timed out".to_string())?
            .map_err(|e| format!("in-process handshake failed: {e}"))?;
        service.peer().set_response_cache_config(ClientCacheConfig::disabled()).await;
        Ok(McpClient { service })
    }

    /// Calls `execute_query` with `{"query": sql}`; a tool-level error is an `Err`.
    ///
    /// Errors: transport failure, timeout, or the tool reported an error.
    pub async fn execute_query(&self, sql: &str) -> BenchResult<()> {
        let mut args = serde_json::Map::new();
        args.insert("query".into(), serde_json::Value::String(sql.to_string()));
        let params = CallToolRequestParams::new("execute_query").with_arguments(args);
        let result = tokio::time::timeout(CALL_TIMEOUT, self.service.peer().call_tool(params))
            .await
            .map_err(|_| "execute_query timed out".to_string())?
            .map_err(|e| format!("execute_query failed: {e}"))?;
        if result.is_error == Some(true) {
            return Err(format!("execute_query returned a tool error for {sql}"));
        }
        Ok(())
    }

    /// Ends the session (bounded).
    pub async fn close(mut self) {
        let _ = self.service.close_with_timeout(Duration::from_secs(5)).await;
    }
}
