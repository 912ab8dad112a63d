//! Contracts shared by the Talk 2 Tables core (`talk2tables`) and our Database MCP
//! server (`talk2tables-database-mcp`).
//!
//! Both sides of the MCP wire use these types, so the JSON they produce and parse is
//! defined once:
//! - [`Dialect`]: the SQL dialect of a database (`"sqlite"`, `"postgresql"`, `"mysql"`).
//! - [`schema`]: the JSON document served as the `database://schema` resource.
//! - [`QueryOutput`]: the structured content of the `execute_query` tool.
//! - [`guard`]: the read-only statement allow-list, used by the core before it sends SQL
//!   and by the Database MCP before it runs SQL.

pub mod dialect;
pub mod guard;
pub mod output;
pub mod schema;

pub use dialect::Dialect;
pub use output::QueryOutput;
pub use schema::{ColumnSchema, DatabaseSchema, ForeignKey, TableSchema};
