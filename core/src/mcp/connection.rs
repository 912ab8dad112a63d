//! One client connection to one MCP server: handshake, requests under timeouts, and the
//! `connected` state a supervisor can watch (and rebuild the connection from its config).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, PaginatedRequestParams,
    ReadResourceRequestParams, Resource, ResourceContents, ResourceUpdatedNotificationParam, Tool,
};
use rmcp::service::{ClientCacheConfig, ClientInitializeError, NotificationContext, RunningService};
use rmcp::transport::IntoTransport;
use rmcp::{ClientHandler, Peer, RoleClient, ServiceError, ServiceExt};
use talk2tables_common::QueryOutput;

use super::errors;
use super::query_result::parse_query_result;
use super::sse;
use super::transport::{self, DUPLEX_BUFFER, StdioChild};
use crate::config::{ServerConfig, TransportKind};
use crate::error::{Error, ErrorKind, Result};

/// A callback provided by the engine that starts one of our MCP servers on the given
/// server-side end of an in-memory pipe (typically by spawning `server.serve(stream)`).
pub(crate) type InProcessServer = Arc<dyn Fn(tokio::io::DuplexStream) + Send + Sync>;

/// Upper bound of the handshake (`initialize`) timeout, whatever the server's `timeout`.
#[cfg(test)]
const HANDSHAKE_TIMEOUT_CAP: Duration = Duration::from_secs(10);
/// How long `close` waits for the service (and a stdio child) to shut down.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a failed stdio handshake waits for the child's last stderr lines.
const STDERR_GRACE: Duration = Duration::from_millis(500);
/// Pages followed at most when listing (protection against cursor loops).
const MAX_PAGES: usize = 1000;
/// The tool our Database MCP (and compatible servers) expose for SQL.
pub(crate) const EXECUTE_QUERY_TOOL: &str = "execute_query";

/// Source of [`Connection::id`].
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Service = RunningService<RoleClient, Notifications>;

/// A connected MCP server. Cheap to clone (an `Arc` inside); all clones share the state.
/// Dropping the last clone without [`Connection::close`] cancels the service and kills a
/// stdio child (and its process group).
#[derive(Clone)]
pub(crate) struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    server_id: String,
    request_timeout: Duration,
    peer: Peer<RoleClient>,
    service: tokio::sync::Mutex<Option<Service>>,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
    has_resources: bool,
    has_tools: bool,
    protocol_version: String,
    resource_changes: Arc<AtomicU64>,
    process_group: Option<u32>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(pgid) = self.process_group {
            transport::kill_process_group(pgid);
        }
    }
}

/// Our client handler: identifies the client and counts resource-change notifications
/// so cached resources can be invalidated.
#[derive(Clone)]
struct Notifications {
    server_id: Arc<str>,
    resource_changes: Arc<AtomicU64>,
}

impl ClientHandler for Notifications {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::default(), Implementation::new("talk2tables", env!("CARGO_PKG_VERSION")))
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::debug!(server = %self.server_id, "resource list changed");
        self.resource_changes.fetch_add(1, Ordering::Relaxed);
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        tracing::debug!(server = %self.server_id, uri = %params.uri, "resource updated");
        self.resource_changes.fetch_add(1, Ordering::Relaxed);
    }
}

enum HandshakeError {
    TimedOut,
    Failed(Box<ClientInitializeError>),
}

impl HandshakeError {
    fn into_error(self, server_id: &str, limit: Duration, detail: &str) -> Error {
        match self {
            HandshakeError::TimedOut => {
                let mut message = format!("{server_id}: handshake timed out after {} s", errors::format_secs(limit));
                if !detail.is_empty() {
                    message.push_str(" — ");
                    message.push_str(detail);
                }
                Error::new(ErrorKind::McpTimeout, message)
            }
            HandshakeError::Failed(e) => errors::from_initialize_error(server_id, *e, detail),
        }
    }
}

async fn handshake<T, E, A>(
    handler: Notifications,
    transport: T,
    limit: Duration,
) -> std::result::Result<Service, HandshakeError>
where
    T: IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(limit, handler.serve(transport)).await {
        Err(_) => Err(HandshakeError::TimedOut),
        Ok(Err(e)) => Err(HandshakeError::Failed(Box::new(e))),
        Ok(Ok(service)) => Ok(service),
    }
}

impl Connection {
    /// Connects to the server described by `config` and runs the MCP handshake under
    /// `min(config.timeout, 10 s)`.
    ///
    /// By `config.transport`: `StreamableHttp` uses `config.url` and `config.headers`;
    /// `Stdio` spawns `config.command` with `env`/`cwd`; `InProcess` calls `in_process`
    /// with the server end of an in-memory duplex pipe; `Sse` opens the legacy event
    /// stream at `config.url` (see [`super::sse`]).
    ///
    /// Errors: `CONFIG_ERROR` (missing url/command, bad header); `MCP_UNAVAILABLE`
    /// (refused, child exited, no in-process server); `MCP_TIMEOUT` (handshake too
    /// slow); `MCP_PROTOCOL_ERROR` (the server answered the handshake with an error).
    #[cfg(test)]
    pub(crate) async fn connect(config: &ServerConfig, in_process: Option<InProcessServer>) -> Result<Connection> {
        Self::connect_with(config, in_process, HANDSHAKE_TIMEOUT_CAP).await
    }

    /// Like [`Connection::connect`], with the handshake (and, for `Sse`, the wait for the
    /// endpoint event) under `min(config.timeout, handshake_timeout)`.
    pub(crate) async fn connect_with(
        config: &ServerConfig,
        in_process: Option<InProcessServer>,
        handshake_timeout: Duration,
    ) -> Result<Connection> {
        let id = config.server_id.as_str();
        let limit = config.request_timeout().min(handshake_timeout);
        let handler = Notifications { server_id: Arc::from(id), resource_changes: Arc::new(AtomicU64::new(0)) };
        let changes = handler.resource_changes.clone();
        match config.transport {
            TransportKind::StreamableHttp => {
                let t = transport::streamable_http(config)?;
                let service = handshake(handler, t, limit).await.map_err(|e| e.into_error(id, limit, ""))?;
                Ok(Self::established(config, service, changes, None).await)
            }
            TransportKind::Stdio => {
                let StdioChild { transport, process_group, stderr_tail, drain } = transport::stdio(config)?;
                match handshake(handler, transport, limit).await {
                    Ok(service) => Ok(Self::established(config, service, changes, process_group).await),
                    Err(e) => {
                        if let Some(pgid) = process_group {
                            transport::kill_process_group(pgid);
                        }
                        if let Some(drain) = drain {
                            let _ = tokio::time::timeout(STDERR_GRACE, drain).await;
                        }
                        let tail = stderr_tail.joined();
                        let detail = if tail.is_empty() { String::new() } else { format!("stderr: {tail}") };
                        Err(e.into_error(id, limit, &detail))
                    }
                }
            }
            TransportKind::InProcess => {
                let Some(start_server) = in_process else {
                    return Err(Error::new(
                        ErrorKind::McpUnavailable,
                        format!("{id}: no in-process server registered"),
                    ));
                };
                let (client_end, server_end) = tokio::io::duplex(DUPLEX_BUFFER);
                start_server(server_end);
                let service = handshake(handler, client_end, limit).await.map_err(|e| e.into_error(id, limit, ""))?;
                Ok(Self::established(config, service, changes, None).await)
            }
            TransportKind::Sse => {
                let t = sse::connect(config, limit, config.request_timeout()).await?;
                let service = handshake(handler, t, limit).await.map_err(|e| e.into_error(id, limit, ""))?;
                Ok(Self::established(config, service, changes, None).await)
            }
        }
    }

    async fn established(
        config: &ServerConfig,
        service: Service,
        resource_changes: Arc<AtomicU64>,
        process_group: Option<u32>,
    ) -> Connection {
        let peer = service.peer().clone();
        // Our own cache (the orchestrator's) decides freshness; rmcp's would serve stale data.
        peer.set_response_cache_config(ClientCacheConfig::disabled()).await;
        let info = peer.peer_info();
        let has_resources = info.as_ref().is_some_and(|i| i.capabilities.resources.is_some());
        let has_tools = info.as_ref().is_some_and(|i| i.capabilities.tools.is_some());
        let protocol_version = info.as_ref().map(|i| i.protocol_version.to_string()).unwrap_or_default();
        tracing::info!(server = %config.server_id, protocol = %protocol_version, has_resources, has_tools, "MCP server connected");
        Connection {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                server_id: config.server_id.clone(),
                request_timeout: config.request_timeout(),
                peer,
                service: tokio::sync::Mutex::new(Some(service)),
                connected: AtomicBool::new(true),
                last_error: Mutex::new(None),
                has_resources,
                has_tools,
                protocol_version,
                resource_changes,
                process_group,
            }),
        }
    }

    /// A process-wide unique number of this connection (a rebuilt connection to the same
    /// server gets a new one).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// The server's `server_id`.
    #[cfg(test)]
    pub(crate) fn server_id(&self) -> &str {
        &self.inner.server_id
    }

    /// The negotiated MCP protocol version (e.g. `2025-11-25`).
    pub(crate) fn protocol_version(&self) -> &str {
        &self.inner.protocol_version
    }

    /// False once the transport closed, a send failed, or [`Connection::close`] ran.
    pub(crate) fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire) && !self.inner.peer.is_transport_closed()
    }

    /// The last connection-level failure (`None` while healthy).
    pub(crate) fn last_error(&self) -> Option<String> {
        self.inner.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Whether the server advertised the `resources` capability.
    #[cfg(test)]
    pub(crate) fn has_resources(&self) -> bool {
        self.inner.has_resources
    }

    /// How many resource-change notifications the server has sent so far; a cache of
    /// its resources is stale when this moved since it was filled.
    /// Whether the server advertised the `tools` capability at the handshake (when not,
    /// [`Connection::list_tools`] answers an empty list without asking it).
    pub(crate) fn offers_tools(&self) -> bool {
        self.inner.has_tools
    }

    /// The process group of a stdio child (tests kill it to simulate a crash).
    #[cfg(test)]
    pub(crate) fn process_group(&self) -> Option<u32> {
        self.inner.process_group
    }

    pub(crate) fn resource_changes(&self) -> u64 {
        self.inner.resource_changes.load(Ordering::Relaxed)
    }

    fn mark_down(&self, reason: &str) {
        self.inner.connected.store(false, Ordering::Release);
        if let Ok(mut e) = self.inner.last_error.lock() {
            *e = Some(reason.to_string());
        }
        tracing::warn!(server = %self.inner.server_id, "MCP connection down: {reason}");
    }

    /// Runs one request under the server's timeout. Outer error: not connected or
    /// timed out; inner error: what rmcp reported (a connection failure marks the
    /// connection down).
    async fn raw<T>(
        &self,
        fut: impl Future<Output = std::result::Result<T, ServiceError>>,
    ) -> Result<std::result::Result<T, ServiceError>> {
        if !self.is_connected() {
            let reason = self.last_error().unwrap_or_else(|| "connection closed".into());
            return Err(Error::new(
                ErrorKind::McpUnavailable,
                format!("{}: not connected ({reason})", self.inner.server_id),
            ));
        }
        match tokio::time::timeout(self.inner.request_timeout, fut).await {
            Err(_) => Err(errors::timeout(&self.inner.server_id, self.inner.request_timeout)),
            Ok(Err(e)) => {
                if errors::is_connection_failure(&e) || self.inner.peer.is_transport_closed() {
                    self.mark_down(&e.to_string());
                }
                Ok(Err(e))
            }
            Ok(Ok(v)) => Ok(Ok(v)),
        }
    }

    async fn request<T>(
        &self,
        operation: &str,
        fut: impl Future<Output = std::result::Result<T, ServiceError>>,
    ) -> Result<T> {
        self.raw(fut).await?.map_err(|e| errors::from_service_error(&self.inner.server_id, operation, e))
    }

    /// Every resource the server lists (all pages, each page under the timeout).
    /// Empty when the server does not advertise resources or answers `-32601`.
    ///
    /// Errors: `MCP_UNAVAILABLE`, `MCP_TIMEOUT`, `MCP_PROTOCOL_ERROR`.
    pub(crate) async fn list_resources(&self) -> Result<Vec<Resource>> {
        if !self.inner.has_resources {
            return Ok(Vec::new());
        }
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = PaginatedRequestParams::default().with_cursor(cursor.clone());
            let page = match self.raw(self.inner.peer.list_resources(Some(params))).await? {
                Ok(page) => page,
                Err(e) if errors::is_method_not_found(&e) => return Ok(Vec::new()),
                Err(e) => {
                    return Err(errors::from_service_error(&self.inner.server_id, "resources/list", e));
                }
            };
            all.extend(page.resources);
            match page.next_cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(all),
            }
        }
        Err(Error::new(
            ErrorKind::McpProtocolError,
            format!("{}: resources/list returned more than {MAX_PAGES} pages", self.inner.server_id),
        ))
    }

    /// The text contents of resource `uri`, joined with newlines (binary contents are
    /// skipped; empty when there is no text).
    ///
    /// Errors: `MCP_UNAVAILABLE`, `MCP_TIMEOUT`, `MCP_PROTOCOL_ERROR` (e.g. unknown URI).
    pub(crate) async fn read_resource(&self, uri: &str) -> Result<String> {
        let result =
            self.request("resources/read", self.inner.peer.read_resource(ReadResourceRequestParams::new(uri))).await?;
        let texts: Vec<String> = result
            .contents
            .into_iter()
            .filter_map(|c| match c {
                ResourceContents::TextResourceContents { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        Ok(texts.join("\n"))
    }

    /// Every tool the server lists (all pages). Empty when the server does not advertise
    /// tools or answers `-32601`.
    ///
    /// Errors: `MCP_UNAVAILABLE`, `MCP_TIMEOUT`, `MCP_PROTOCOL_ERROR`.
    pub(crate) async fn list_tools(&self) -> Result<Vec<Tool>> {
        if !self.inner.has_tools {
            return Ok(Vec::new());
        }
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = PaginatedRequestParams::default().with_cursor(cursor.clone());
            let page = match self.raw(self.inner.peer.list_tools(Some(params))).await? {
                Ok(page) => page,
                Err(e) if errors::is_method_not_found(&e) => return Ok(Vec::new()),
                Err(e) => {
                    return Err(errors::from_service_error(&self.inner.server_id, "tools/list", e));
                }
            };
            all.extend(page.tools);
            match page.next_cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(all),
            }
        }
        Err(Error::new(
            ErrorKind::McpProtocolError,
            format!("{}: tools/list returned more than {MAX_PAGES} pages", self.inner.server_id),
        ))
    }

    /// Calls tool `name` with `args`. A tool-level failure comes back as `Ok` with
    /// `is_error = Some(true)`.
    ///
    /// Errors: `MCP_UNAVAILABLE`, `MCP_TIMEOUT`, `MCP_PROTOCOL_ERROR` (unknown tool, bad
    /// arguments).
    pub(crate) async fn call_tool(
        &self,
        name: &str,
        args: serde_json::Map<String, serde_json::Value>,
    ) -> Result<CallToolResult> {
        let params = CallToolRequestParams::new(name.to_string()).with_arguments(args);
        self.request("tools/call", self.inner.peer.call_tool(params)).await
    }

    /// Runs `sql` with the `execute_query` tool (`{"query": sql}`) and normalises the rows
    /// (see [`super::query_result`]).
    ///
    /// Errors: `SQL_REJECTED` / `SQL_EXECUTION_FAILED` from the tool's error text;
    /// `MCP_UNAVAILABLE`, `MCP_TIMEOUT`, `MCP_PROTOCOL_ERROR`.
    pub(crate) async fn execute_query(&self, sql: &str) -> Result<QueryOutput> {
        let mut args = serde_json::Map::new();
        args.insert("query".into(), serde_json::Value::String(sql.to_string()));
        let result = self.call_tool(EXECUTE_QUERY_TOOL, args).await?;
        parse_query_result(&self.inner.server_id, result)
    }

    /// Cancels the service (for stdio: closes stdin, then SIGTERM, then kill, bounded to
    /// a few seconds) and marks the connection down. Idempotent.
    pub(crate) async fn close(&self) {
        self.inner.connected.store(false, Ordering::Release);
        let service = self.inner.service.lock().await.take();
        if let Some(mut service) = service {
            let _ = service.close_with_timeout(CLOSE_TIMEOUT).await;
        }
        if let Some(pgid) = self.inner.process_group {
            transport::kill_process_group(pgid);
        }
        if let Ok(mut e) = self.inner.last_error.lock()
            && e.is_none()
        {
            *e = Some("closed".into());
        }
    }
}
