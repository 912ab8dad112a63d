//! # Talk 2 Tables core
//!
//! Plain-language questions answered as SQL and rows, with the knowledge spread over
//! several MCP servers (a Database MCP that runs read-only SQL, a Product-Metadata MCP
//! that knows business terms, …). See the repository README and DESIGN contracts.
//!
//! The crate never creates its own tokio runtime: call it from inside one.

pub mod config;
pub(crate) mod context;
pub mod error;
pub(crate) mod llm;
pub mod response;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use response::{AttemptedSql, ChatRequest, ChatResponse, Mode, QueryResult, ResolvedEntity};
pub use talk2tables_common::{Dialect, QueryOutput};
