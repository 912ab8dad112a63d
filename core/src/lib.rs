//! # Talk 2 Tables core
//!
//! Plain-language questions answered as SQL and rows, with the knowledge spread over
//! several MCP servers (a Database MCP that runs read-only SQL, a Product-Metadata MCP
//! that knows business terms, …).
//!
//! ```no_run
//! # async fn demo() -> talk2tables::Result<()> {
//! use talk2tables::{ChatRequest, Engine};
//! let engine = Engine::embedded("./.talk2tables").await?;
//! let response = engine.chat(ChatRequest::new("How many customers are there?")).await;
//! assert!(response.success);
//! engine.close().await;
//! # Ok(()) }
//! ```
//!
//! The crate never creates its own tokio runtime: call it from inside one.

pub mod config;
pub(crate) mod context;
pub(crate) mod conversation;
pub(crate) mod embedded;
pub(crate) mod engine;
pub mod error;
pub(crate) mod generate;
pub(crate) mod llm;
pub(crate) mod mcp;
pub(crate) mod observe;
pub(crate) mod orchestrator;
pub(crate) mod pipeline;
pub mod progress;
pub(crate) mod recover;
pub(crate) mod resolve;
pub mod response;
pub(crate) mod sql;
pub mod status;

pub use config::Config;
pub use embedded::{DATABASE_SERVER_ID, METADATA_SERVER_ID, SAMPLE_DB_FILE};
pub use engine::Engine;
pub use error::{Error, ErrorKind, Result};
pub use progress::{Progress, Stage, StageStatus};
pub use response::{AttemptedSql, ChatRequest, ChatResponse, LlmUsage, Mode, QueryResult, ResolvedEntity};
pub use talk2tables_common::{Dialect, QueryOutput};
