//! A tiny MCP server for tests: tools `execute_query` (answers depend on the SQL text,
//! see [`TestServer::call_tool`]), `slow` (never answers) and the unlisted `touch` (sends
//! `notifications/resources/list_changed`), text resources, and
//! switches for "no resources capability", "resources/list answers -32601" and "no tools".

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceContents, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::json;

use super::connection::InProcessServer;

/// Configurable test server; clones share the call counter.
#[derive(Clone)]
pub(crate) struct TestServer {
    /// Written into `execute_query` answers so tests can tell servers apart.
    pub label: String,
    /// `(uri, text)` resources.
    pub resources: Vec<(String, String)>,
    /// Advertise the resources capability.
    pub resources_capability: bool,
    /// Answer `resources/list` with `-32601`.
    pub resources_method_not_found: bool,
    /// Advertise (and serve) tools.
    pub tools: bool,
    /// Answer every `resources/read` with an internal error.
    pub fail_reads: bool,
    /// Number of `resources/list` + `resources/read` requests served.
    pub resource_calls: Arc<AtomicUsize>,
}

impl TestServer {
    /// A server with tools and one resource `test://<label>` whose text is `{"label": …}`.
    pub(crate) fn new(label: &str) -> Self {
        TestServer {
            label: label.to_string(),
            resources: vec![(format!("test://{label}"), json!({ "label": label }).to_string())],
            resources_capability: true,
            resources_method_not_found: false,
            tools: true,
            fail_reads: false,
            resource_calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many resource requests this server (and its clones) answered.
    pub(crate) fn resource_calls(&self) -> usize {
        self.resource_calls.load(Ordering::SeqCst)
    }

    /// An [`InProcessServer`] that serves a clone of this server on the duplex stream.
    pub(crate) fn in_process(&self) -> InProcessServer {
        let server = self.clone();
        Arc::new(move |stream| {
            let server = server.clone();
            tokio::spawn(async move {
                if let Ok(running) = server.serve(stream).await {
                    let _ = running.waiting().await;
                }
            });
        })
    }

    /// Serves this server over streamable HTTP on `127.0.0.1:0` at `/mcp`; returns the URL.
    pub(crate) async fn serve_http(&self) -> String {
        use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
        use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
        let proto = self.clone();
        let svc = StreamableHttpService::new(
            move || Ok(proto.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default().with_sse_keep_alive(None),
        );
        let app = axum::Router::new().nest_service("/mcp", svc);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}/mcp")
    }
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        let mut caps = ServerCapabilities::default();
        if self.tools {
            caps.tools = ServerCapabilities::builder().enable_tools().build().tools;
        }
        if self.resources_capability {
            caps.resources = ServerCapabilities::builder().enable_resources().build().resources;
        }
        ServerConfig::new(caps)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = json!({"type": "object", "properties": {"query": {"type": "string"}}});
        let schema = schema.as_object().cloned().unwrap_or_default();
        Ok(ListToolsResult::with_all_items(vec![
            Tool::new("execute_query", "run SQL", schema.clone()),
            Tool::new("slow", "never answers", schema),
        ]))
    }

    /// `execute_query` answers by the SQL text: `REJECT…` → tool error `SQL_REJECTED: …`,
    /// `FAIL…` → `SQL_EXECUTION_FAILED: no such table: x`, `ODD…` → an error without
    /// prefix, `OBJECTS…` → text JSON with object rows, anything else → structured
    /// `{columns: ["server"], rows: [[label]]}`.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        match request.name.as_ref() {
            "touch" => {
                let _ = context.peer.notify_resource_list_changed().await;
                Ok(CallToolResult::success(vec![ContentBlock::text("touched")]).into())
            }
            "slow" => {
                context.ct.cancelled().await;
                Err(ErrorData::internal_error("cancelled", None))
            }
            "execute_query" => {
                let sql = request
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("query"))
                    .and_then(|q| q.as_str())
                    .unwrap_or_default()
                    .to_string();
                let result = if sql.starts_with("REJECT") {
                    CallToolResult::error(vec![ContentBlock::text("SQL_REJECTED: only SELECT is allowed")])
                } else if sql.starts_with("FAIL") {
                    CallToolResult::error(vec![ContentBlock::text("SQL_EXECUTION_FAILED: no such table: x")])
                } else if sql.starts_with("ODD") {
                    CallToolResult::error(vec![ContentBlock::text("database is locked")])
                } else if sql.starts_with("OBJECTS") {
                    let body = json!({"columns": ["name", "total"],
                                      "rows": [{"total": 1234.5, "name": "Magic Wand Pro"}, {"name": "TechGadget X1", "total": 7}]});
                    CallToolResult::success(vec![ContentBlock::text(body.to_string())])
                } else {
                    let body = json!({"columns": ["server"], "rows": [[self.label]], "row_count": 1,
                                      "truncated": false, "total_rows": null});
                    let mut r = CallToolResult::success(vec![ContentBlock::text(body.to_string())]);
                    r.structured_content = Some(body);
                    r
                };
                Ok(result.into())
            }
            _ => Err(ErrorData::invalid_params(format!("unknown tool {}", request.name), None)),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.resource_calls.fetch_add(1, Ordering::SeqCst);
        if self.resources_method_not_found {
            return Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, "Method not found", None));
        }
        Ok(ListResourcesResult::with_all_items(
            self.resources
                .iter()
                .map(|(uri, _)| Resource::new(uri.clone(), format!("name of {uri}")).with_mime_type("application/json"))
                .collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.resource_calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_reads {
            return Err(ErrorData::internal_error("read failed", None));
        }
        match self.resources.iter().find(|(uri, _)| *uri == request.uri) {
            Some((uri, text)) => {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(text.clone(), uri.clone())]).into())
            }
            None => Err(ErrorData::resource_not_found(format!("no resource {}", request.uri), None)),
        }
    }
}
