//! MCP client connections: one [`Connection`] per configured server, over streamable
//! HTTP, legacy HTTP+SSE ([`sse`]), stdio (a child process) or an in-process duplex pipe,
//! each wrapped by a [`supervisor::Supervisor`] (circuit [`breaker`], rebuild with
//! backoff, health probe).
//!
//! Every request runs under the server's `timeout`; the handshake under
//! `min(timeout, 10 s)`. rmcp's own response cache is disabled (the orchestrator caches).
//! Failures map to `MCP_UNAVAILABLE`, `MCP_TIMEOUT` and `MCP_PROTOCOL_ERROR`
//! (see [`errors`]); `execute_query` tool errors to `SQL_REJECTED` /
//! `SQL_EXECUTION_FAILED` (see [`query_result`]).

pub(crate) mod breaker;
pub(crate) mod connection;
pub(crate) mod errors;
pub(crate) mod query_result;
pub(crate) mod sse;
pub(crate) mod supervisor;
pub(crate) mod transport;

#[cfg(test)]
pub(crate) mod test_server;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use connection::{Connection, EXECUTE_QUERY_TOOL, InProcessServer};
