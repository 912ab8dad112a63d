//! [`DatabaseServer`]: the rmcp `ServerHandler` with the `execute_query` tool and the
//! `database://schema` resource.

use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use talk2tables_common::guard::check_query;
use talk2tables_common::{DatabaseSchema, Dialect, QueryOutput};

use crate::backend::Backend;
use crate::{DbError, DbOptions, QueryError};

/// URI of the schema resource.
pub const SCHEMA_URI: &str = "database://schema";
/// Name of the schema resource.
pub const SCHEMA_RESOURCE_NAME: &str = "database_schema";

/// Arguments of the `execute_query` tool: `{"query": "SELECT …"}`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ExecuteQueryArgs {
    /// Exactly one read-only SQL query (SELECT or WITH … SELECT) in the database's dialect.
    pub query: String,
}

/// The Database MCP server. Cheap to clone (shared pool); one clone serves each MCP
/// session. Build it with [`connect`], then serve it with [`crate::http_router`],
/// [`crate::serve_stdio`], or rmcp's `ServiceExt::serve` on any transport (e.g. an
/// in-memory `tokio::io::duplex` pair).
#[derive(Clone)]
pub struct DatabaseServer {
    inner: Arc<Inner>,
    tool_router: ToolRouter<DatabaseServer>,
}

struct Inner {
    backend: Backend,
    options: DbOptions,
}

impl std::fmt::Debug for DatabaseServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseServer")
            .field("dialect", &self.dialect())
            .field("options", &self.inner.options)
            .finish()
    }
}

/// Opens `db` read-only and builds the server.
///
/// `db`: a SQLite file path or `sqlite:` URL (the file must exist; create the sample
/// with [`crate::sample::ensure`]), or a `postgres://`, `mysql://` or `mariadb://` URL
/// (create the sample with [`crate::sample::ensure_url`]). Connect as a role with
/// SELECT rights only. Errors: [`DbError::InvalidDatabase`] for a missing or
/// non-SQLite file or a malformed URL, [`DbError::Database`] when a server refuses the
/// connection, [`DbError::Timeout`] when opening takes too long (a dead port fails
/// within 5 s).
pub async fn connect(db: &str, options: DbOptions) -> Result<DatabaseServer, DbError> {
    let backend = Backend::connect(db, &options).await?;
    Ok(DatabaseServer { inner: Arc::new(Inner { backend, options }), tool_router: DatabaseServer::tool_router() })
}

impl DatabaseServer {
    /// The SQL dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.inner.backend.dialect()
    }

    /// The database product behind the server: `sqlite`, `postgresql`, `mysql` or
    /// `mariadb` (detected on connect).
    pub fn server_kind(&self) -> &'static str {
        self.inner.backend.server_kind()
    }

    /// The limits in force.
    pub fn options(&self) -> &DbOptions {
        &self.inner.options
    }

    /// Checks `sql` with the guard for this dialect and runs it read-only: what the
    /// `execute_query` tool does, without MCP around it.
    pub async fn execute(&self, sql: &str) -> Result<QueryOutput, QueryError> {
        self.execute_cancellable(sql, &CancellationToken::new()).await
    }

    /// [`Self::execute`] that stops early when `cancel` fires (the client sent
    /// `notifications/cancelled`, or went away): on SQLite the running statement is
    /// interrupted at once and its connection returns to the pool, instead of running
    /// on until the timeout. Error when cancelled: `SQL_EXECUTION_FAILED: query
    /// cancelled by the client`.
    pub async fn execute_cancellable(&self, sql: &str, cancel: &CancellationToken) -> Result<QueryOutput, QueryError> {
        check_query(sql, self.dialect()).map_err(QueryError::Rejected)?;
        self.inner.backend.execute(sql, &self.inner.options, cancel).await
    }

    /// The `database://schema` document, introspected now.
    pub async fn schema(&self) -> Result<DatabaseSchema, DbError> {
        self.inner.backend.schema(&self.inner.options).await
    }
}

#[tool_router]
impl DatabaseServer {
    /// The `execute_query` tool.
    #[tool(description = "Run exactly one read-only SQL query (SELECT or WITH … SELECT) on the database and \
                       return {columns, rows (arrays), row_count, truncated, total_rows}. Write the SQL in \
                       the dialect given by the database://schema resource. Results are capped; \
                       truncated=true means more rows exist. Errors start with SQL_REJECTED or \
                       SQL_EXECUTION_FAILED.")]
    async fn execute_query(
        &self,
        Parameters(args): Parameters<ExecuteQueryArgs>,
        cancel: CancellationToken,
    ) -> Result<CallToolResult, ErrorData> {
        let started = std::time::Instant::now();
        match self.execute_cancellable(&args.query, &cancel).await {
            Ok(output) => {
                tracing::info!(
                    rows = output.row_count,
                    truncated = output.truncated,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "execute_query ok"
                );
                let value = serde_json::to_value(&output)
                    .map_err(|e| ErrorData::internal_error(format!("cannot serialise result: {e}"), None))?;
                Ok(CallToolResult::structured(value))
            }
            Err(e) => {
                tracing::info!(
                    code = e.code(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "execute_query failed"
                );
                Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]))
            }
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for DatabaseServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "Read-only {} database. Read the {SCHEMA_URI} resource for tables, columns and keys, then \
                 call execute_query with one SELECT.",
                self.dialect()
            ))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(SCHEMA_URI, SCHEMA_RESOURCE_NAME)
                .with_description(
                    "Database schema as JSON: dialect, tables and views, columns with declared types and \
                     nullability, primary keys, foreign keys, row counts",
                )
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != SCHEMA_URI {
            return Err(ErrorData::resource_not_found(format!("unknown resource: {}", request.uri), None));
        }
        let schema = self
            .schema()
            .await
            .map_err(|e| ErrorData::internal_error(format!("schema introspection failed: {e}"), None))?;
        let body = serde_json::to_string(&schema)
            .map_err(|e| ErrorData::internal_error(format!("cannot serialise schema: {e}"), None))?;
        Ok(ReadResourceResult::new(vec![ResourceContents::text(body, request.uri).with_mime_type("application/json")])
            .into())
    }
}
