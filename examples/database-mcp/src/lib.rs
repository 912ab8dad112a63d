//! The Talk 2 Tables **Database MCP** server: one read-only SQL tool and one schema
//! resource over the Model Context Protocol.
//!
//! - Tool `execute_query` with arguments `{"query": string}`: the statement is checked by
//!   [`talk2tables_common::guard::check_query`] for the database's dialect, then run on a
//!   read-only connection with a timeout; rows are streamed and capped (see [`DbOptions`]).
//!   Success: structured content = [`talk2tables_common::QueryOutput`] JSON plus one text
//!   block with the same JSON. Failure: a tool-level error whose text starts with
//!   `SQL_REJECTED: ` or `SQL_EXECUTION_FAILED: ` (see [`QueryError`]).
//! - Resource `database://schema` (`application/json`): the
//!   [`talk2tables_common::DatabaseSchema`] of the database, read fresh on each request.
//!
//! Databases: SQLite (a file path or a `sqlite:` URL, opened read-only), PostgreSQL
//! (`postgres://…`) and MySQL/MariaDB (`mysql://…`, `mariadb://…`), each query in a
//! `READ ONLY` transaction that is rolled back, under a server-side statement timeout.
//!
//! ```no_run
//! # async fn run() -> Result<(), talk2tables_database_mcp::DbError> {
//! use talk2tables_database_mcp::{connect, http_router, DbOptions};
//! let server = connect("sample.db", DbOptions::default()).await?;
//! let ct = tokio_util::sync::CancellationToken::new();
//! let app = http_router(server, ct.clone()); // streamable HTTP at /mcp
//! # let _ = app; Ok(()) }
//! ```

mod backend;
mod collect;
mod error;
mod mysql;
mod options;
mod pooled;
mod postgres;
pub mod sample;
mod server;
mod sqlite;
mod transport;

pub use error::{DbError, QueryError};
pub use options::DbOptions;
pub use server::{DatabaseServer, ExecuteQueryArgs, SCHEMA_RESOURCE_NAME, SCHEMA_URI, connect};
pub use transport::{http_router, http_router_with_config, serve_stdio};
