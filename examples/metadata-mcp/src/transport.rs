//! Serving a [`MetadataServer`]: streamable HTTP (an axum router) or stdio.

use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::error::MetadataError;
use crate::server::MetadataServer;

/// An axum router serving `server` over MCP streamable HTTP at `/mcp`.
///
/// Sessions are kept in memory (rmcp `LocalSessionManager`); every session gets a clone
/// of `server`. Cancelling `ct` ends open sessions and SSE streams (pair it with
/// `axum::serve(..).with_graceful_shutdown`). rmcp's default Host allow-list applies
/// (`localhost`, `127.0.0.1`, `::1`): other Host headers get 403.
pub fn http_router(server: MetadataServer, ct: CancellationToken) -> axum::Router {
    let config =
        StreamableHttpServerConfig::default().with_sse_keep_alive(None).with_cancellation_token(ct.child_token());
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), config);
    axum::Router::new().nest_service("/mcp", service)
}

/// Serves `server` over stdin/stdout until the client closes the connection.
///
/// Nothing else may write to stdout meanwhile (log to stderr).
///
/// Errors: [`MetadataError::Transport`] when the MCP handshake or the session fails.
pub async fn serve_stdio(server: MetadataServer) -> Result<(), MetadataError> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| MetadataError::Transport(format!("stdio handshake failed: {e}")))?;
    running.waiting().await.map_err(|e| MetadataError::Transport(format!("stdio session ended abnormally: {e}")))?;
    Ok(())
}
