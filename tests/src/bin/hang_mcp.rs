//! `hang_mcp`: a Database-MCP-like test server whose `execute_query` never answers for
//! queries containing a marker; the fault tests use it to check `MCP_TIMEOUT`.
//!
//! Usage: `hang_mcp --db sample.db --hang-on MARKER [--port N]` (N = 0 picks a free port).
//! Serves streamable HTTP at `http://127.0.0.1:PORT/mcp` and prints
//! `listening on http://127.0.0.1:PORT/mcp` on stderr once bound. The `database://schema`
//! resource and every other query are answered by our Database MCP over the same
//! database file; a query containing MARKER (case-insensitive) waits forever (until the
//! client cancels it or the process dies).

use std::process::ExitCode;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use talk2tables_database_mcp::{DatabaseServer, DbOptions, ExecuteQueryArgs};

/// The server: our Database MCP plus the marker that makes a query hang.
#[derive(Clone)]
struct HangServer {
    db: DatabaseServer,
    marker: Arc<str>,
    tool_router: ToolRouter<HangServer>,
}

#[tool_router]
impl HangServer {
    /// `execute_query {query}`: never answers when `query` contains the marker; otherwise
    /// the Database MCP's result.
    #[tool(description = "Run one read-only SQL query; never answers when the query contains the hang marker.")]
    async fn execute_query(&self, Parameters(args): Parameters<ExecuteQueryArgs>) -> Result<CallToolResult, ErrorData> {
        if args.query.to_lowercase().contains(&self.marker.to_lowercase()) {
            eprintln!("hang_mcp: hanging on {}", args.query);
            std::future::pending::<()>().await;
        }
        match self.db.execute(&args.query).await {
            Ok(output) => {
                let value = serde_json::to_value(&output)
                    .map_err(|e| ErrorData::internal_error(format!("cannot serialise result: {e}"), None))?;
                Ok(CallToolResult::structured(value))
            }
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())])),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for HangServer {
    fn get_info(&self) -> ServerConfig {
        self.db.get_info()
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.db.list_resources(request, context).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.db.read_resource(request, context).await
    }
}

/// `--db PATH --hang-on MARKER [--port N]`.
fn parse_args() -> Result<(String, String, u16), String> {
    let mut db = None;
    let mut marker = None;
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--db" => db = Some(value),
            "--hang-on" => marker = Some(value),
            "--port" => port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let db = db.ok_or("--db is required")?;
    let marker = marker.filter(|m| !m.is_empty()).ok_or("--hang-on needs a non-empty marker")?;
    Ok((db, marker, port))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (db, marker, port) = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("hang_mcp: {e}\nusage: hang_mcp --db PATH --hang-on MARKER [--port N]");
            return ExitCode::from(2);
        }
    };
    let db = match talk2tables_database_mcp::connect(&db, DbOptions::default()).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("hang_mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = HangServer { db, marker: Arc::from(marker), tool_router: HangServer::tool_router() };
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hang_mcp: bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => eprintln!("listening on http://{addr}/mcp"),
        Err(e) => {
            eprintln!("hang_mcp: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("hang_mcp: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
