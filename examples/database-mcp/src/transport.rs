//! Serving a [`DatabaseServer`]: streamable HTTP (an axum router) or stdio.

use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::{DatabaseServer, DbError};

/// An axum router serving `server` over MCP streamable HTTP at `/mcp` (stateful
/// sessions, rmcp's default host check: only `localhost`, `127.0.0.1`, `::1` `Host`
/// headers are accepted). Cancelling `ct` closes open sessions and streams; pair it with
/// `axum::serve(..).with_graceful_shutdown(..)`.
pub fn http_router(server: DatabaseServer, ct: CancellationToken) -> axum::Router {
    http_router_with_config(server, StreamableHttpServerConfig::default().with_cancellation_token(ct))
}

/// Like [`http_router`] with an explicit rmcp config (e.g. `with_allowed_hosts` when
/// serving on a non-loopback name, or stateless JSON mode). Set the cancellation token
/// on `config` yourself.
pub fn http_router_with_config(server: DatabaseServer, config: StreamableHttpServerConfig) -> axum::Router {
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), config);
    axum::Router::new().nest_service("/mcp", service)
}

/// Serves `server` on stdin/stdout until the client closes the stream. Log to stderr
/// only: stdout carries the protocol. Errors: [`DbError::Transport`].
pub async fn serve_stdio(server: DatabaseServer) -> Result<(), DbError> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| DbError::Transport(format!("stdio initialisation failed: {e}")))?;
    running.waiting().await.map_err(|e| DbError::Transport(format!("stdio session failed: {e}")))?;
    Ok(())
}
