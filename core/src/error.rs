//! Errors of the core, one [`ErrorKind`] per stable code of DESIGN.md §4.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable error codes shared by Rust, Python and Node (DESIGN.md §4).
///
/// Serialised as the SCREAMING_SNAKE_CASE code, e.g. `"SQL_REJECTED"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    /// Malformed input: empty query, too long, bad mode.
    InvalidRequest,
    /// Configuration file or variable invalid.
    ConfigError,
    /// `multi_mcp` asked for but the orchestrator is not initialised.
    OrchestratorNotReady,
    /// MCP server not connected, or its circuit is open.
    McpUnavailable,
    /// An MCP request exceeded its timeout.
    McpTimeout,
    /// An MCP server answered outside the protocol.
    McpProtocolError,
    /// LLM provider unreachable, 5xx, or 429 after retries.
    LlmUnavailable,
    /// No usable SQL in the provider's answer.
    LlmBadOutput,
    /// The offline engine could not interpret the question.
    Unanswerable,
    /// Validation refused the statement (write, multi-statement, forbidden function).
    SqlRejected,
    /// The database returned an error.
    SqlExecutionFailed,
    /// All repair attempts failed.
    RecoveryExhausted,
    /// The API's own rate limit.
    RateLimited,
    /// A bug.
    Internal,
}

impl ErrorKind {
    /// Every code, in the order of DESIGN.md §4.
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::InvalidRequest,
        ErrorKind::ConfigError,
        ErrorKind::OrchestratorNotReady,
        ErrorKind::McpUnavailable,
        ErrorKind::McpTimeout,
        ErrorKind::McpProtocolError,
        ErrorKind::LlmUnavailable,
        ErrorKind::LlmBadOutput,
        ErrorKind::Unanswerable,
        ErrorKind::SqlRejected,
        ErrorKind::SqlExecutionFailed,
        ErrorKind::RecoveryExhausted,
        ErrorKind::RateLimited,
        ErrorKind::Internal,
    ];

    /// The code as it appears on the wire (`"SQL_REJECTED"`, …).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "INVALID_REQUEST",
            ErrorKind::ConfigError => "CONFIG_ERROR",
            ErrorKind::OrchestratorNotReady => "ORCHESTRATOR_NOT_READY",
            ErrorKind::McpUnavailable => "MCP_UNAVAILABLE",
            ErrorKind::McpTimeout => "MCP_TIMEOUT",
            ErrorKind::McpProtocolError => "MCP_PROTOCOL_ERROR",
            ErrorKind::LlmUnavailable => "LLM_UNAVAILABLE",
            ErrorKind::LlmBadOutput => "LLM_BAD_OUTPUT",
            ErrorKind::Unanswerable => "UNANSWERABLE",
            ErrorKind::SqlRejected => "SQL_REJECTED",
            ErrorKind::SqlExecutionFailed => "SQL_EXECUTION_FAILED",
            ErrorKind::RecoveryExhausted => "RECOVERY_EXHAUSTED",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// Whether the same request may succeed when tried again later (DESIGN.md §4).
    /// `SQL_EXECUTION_FAILED` "depends": it is reported as not retryable, because the
    /// same SQL against the same data fails the same way.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::OrchestratorNotReady
                | ErrorKind::McpUnavailable
                | ErrorKind::McpTimeout
                | ErrorKind::LlmUnavailable
                | ErrorKind::LlmBadOutput
                | ErrorKind::RateLimited
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The error type of every fallible core function: a [`ErrorKind`], a message for
/// people, and optionally the underlying cause (reachable through
/// [`std::error::Error::source`]).
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of this kind with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), source: None }
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The stable code of DESIGN.md §4.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether retrying may help; see [`ErrorKind::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// The message without the code prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidRequest, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::ConfigError, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_serde_names() {
        for kind in ErrorKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.code()));
        }
    }

    #[test]
    fn retryable_table() {
        let retryable: Vec<_> = ErrorKind::ALL.iter().filter(|k| k.is_retryable()).map(|k| k.code()).collect();
        assert_eq!(
            retryable,
            [
                "ORCHESTRATOR_NOT_READY",
                "MCP_UNAVAILABLE",
                "MCP_TIMEOUT",
                "LLM_UNAVAILABLE",
                "LLM_BAD_OUTPUT",
                "RATE_LIMITED"
            ]
        );
    }

    #[test]
    fn display_and_source() {
        let io = std::io::Error::other("disk gone");
        let e = Error::new(ErrorKind::SqlExecutionFailed, "no such table: x").with_source(io);
        assert_eq!(e.to_string(), "SQL_EXECUTION_FAILED: no such table: x");
        assert!(std::error::Error::source(&e).is_some());
        assert!(!e.is_retryable());
    }
}
