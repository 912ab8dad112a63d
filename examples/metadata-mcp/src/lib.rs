//! # Talk 2 Tables Metadata MCP server
//!
//! Serves product aliases and business-term column mappings as three MCP resources
//! (DESIGN.md §5), the original system's URIs:
//! - `product-aliases://list` (`get_product_aliases`): `{"aliases": {...}, "description"}`
//! - `column-mappings://list` (`get_column_mappings`): `{"mappings": {...}, "description"}`
//! - `metadata-summary://info` (`get_metadata_summary`):
//!   `{total_products, total_mappings, last_updated, version, description}`
//!
//! All are `application/json`. The document comes from
//! `examples/data/product_metadata.json` (embedded, [`MetadataServer::builtin`]) or from a
//! JSON/YAML file ([`MetadataServer::from_path`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use talk2tables_metadata_mcp::{MetadataServer, http_router};
//! let ct = tokio_util::sync::CancellationToken::new();
//! let app = http_router(MetadataServer::builtin(), ct.clone());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8002").await?;
//! axum::serve(listener, app).with_graceful_shutdown(async move { ct.cancelled().await }).await?;
//! # Ok(()) }
//! ```

mod error;
mod metadata;
mod server;
mod transport;

pub use error::MetadataError;
pub use metadata::{BUILTIN_METADATA_JSON, Metadata};
pub use server::{COLUMN_MAPPINGS_URI, METADATA_SUMMARY_URI, MetadataServer, PRODUCT_ALIASES_URI};
pub use transport::{http_router, serve_stdio};
