//! The embedded default: the sample database and our two MCP servers inside this
//! process, connected over in-memory pipes (no ports, no other binaries).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rmcp::ServiceExt;
use talk2tables_database_mcp::DbOptions;
use talk2tables_metadata_mcp::MetadataServer;

use crate::config::{Config, ServerConfig, TransportKind};
use crate::error::{Error, ErrorKind, Result};
use crate::mcp::InProcessServer;

/// `server_id` of the embedded Database MCP.
pub const DATABASE_SERVER_ID: &str = "database_mcp";
/// `server_id` of the embedded Metadata MCP.
pub const METADATA_SERVER_ID: &str = "product_metadata_mcp";
/// Per-request MCP timeout of the embedded servers, seconds.
const REQUEST_TIMEOUT_SECONDS: f64 = 30.0;
/// Statement timeout of the embedded Database MCP: below [`REQUEST_TIMEOUT_SECONDS`], so
/// a heavy query ends as `SQL_EXECUTION_FAILED: query exceeded the 25000 ms timeout`
/// and the connection stays up. With both at 30 s the MCP timeout won the race: the
/// answer was `MCP_TIMEOUT` and the in-process connection was discarded and rebuilt.
const DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);
/// File name of the sample database inside the data directory.
pub const SAMPLE_DB_FILE: &str = "sample.db";

/// Creates the sample database when missing and returns the config and the in-process
/// servers of the embedded default. LLM settings come from the environment.
pub(crate) async fn prepare(data_dir: &Path) -> Result<(Config, HashMap<String, InProcessServer>)> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::new(ErrorKind::ConfigError, format!("cannot create data directory {}: {e}", data_dir.display()))
            .with_source(e)
    })?;
    let db_path = data_dir.join(SAMPLE_DB_FILE);
    talk2tables_database_mcp::sample::ensure(&db_path).await.map_err(|e| {
        Error::new(ErrorKind::ConfigError, format!("cannot create the sample database {}: {e}", db_path.display()))
            .with_source(e)
    })?;
    let db = talk2tables_database_mcp::connect(
        &db_path.to_string_lossy(),
        DbOptions { timeout: DB_TIMEOUT, ..DbOptions::default() },
    )
    .await
    .map_err(|e| {
        Error::new(ErrorKind::McpUnavailable, format!("cannot open the sample database {}: {e}", db_path.display()))
            .with_source(e)
    })?;
    let metadata = MetadataServer::builtin();

    let mut config = Config::from_env()?;
    config.servers = vec![
        server(
            METADATA_SERVER_ID,
            "Product Metadata MCP",
            1,
            &["products", "product_aliases", "column_mappings", "metadata"],
            &["list_resources"],
        ),
        server(
            DATABASE_SERVER_ID,
            "Database MCP",
            10,
            &["sales", "orders", "customers", "database"],
            &["execute_query", "list_resources"],
        ),
    ];

    let servers: HashMap<String, InProcessServer> = HashMap::from([
        (DATABASE_SERVER_ID.to_string(), in_process(db)),
        (METADATA_SERVER_ID.to_string(), in_process(metadata)),
    ]);
    Ok((config, servers))
}

/// A factory that serves `server` on each in-memory pipe the orchestrator opens.
fn in_process<S: rmcp::ServerHandler + Clone>(server: S) -> InProcessServer {
    Arc::new(move |io| {
        let server = server.clone();
        tokio::spawn(async move {
            if let Ok(running) = server.serve(io).await {
                let _ = running.waiting().await;
            }
        });
    })
}

fn server(id: &str, name: &str, priority: u32, domains: &[&str], capabilities: &[&str]) -> ServerConfig {
    ServerConfig {
        server_id: id.into(),
        name: name.into(),
        url: None,
        transport: TransportKind::InProcess,
        command: Vec::new(),
        env: Default::default(),
        cwd: None,
        priority,
        domains: domains.iter().map(|s| s.to_string()).collect(),
        capabilities: capabilities.iter().map(|s| s.to_string()).collect(),
        timeout: REQUEST_TIMEOUT_SECONDS,
        critical: true,
        headers: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database gives up first, with a clear SQL error, leaving time for the answer.
    #[test]
    fn database_timeout_ends_before_the_mcp_timeout() {
        let server = server("d", "d", 1, &[], &[]);
        assert!(DB_TIMEOUT + std::time::Duration::from_secs(2) <= server.request_timeout());
    }
}
