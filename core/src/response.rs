//! The request and response shapes of DESIGN.md §3: [`ChatRequest`] in,
//! [`ChatResponse`] out, [`QueryResult`] for the `data` part.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use talk2tables_common::QueryOutput;

/// Longest accepted question, in characters.
pub const MAX_QUERY_CHARS: usize = 10_000;

/// How a question is answered (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The Database MCP alone: schema only, no metadata server (the legacy path).
    SingleMcp,
    /// Every connected server; `ORCHESTRATOR_NOT_READY` when the orchestrator is not up.
    MultiMcp,
    /// `multi_mcp` when the orchestrator is ready, else `single_mcp`.
    #[default]
    Auto,
}

impl Mode {
    /// The wire name (`"single_mcp"`, `"multi_mcp"`, `"auto"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SingleMcp => "single_mcp",
            Mode::MultiMcp => "multi_mcp",
            Mode::Auto => "auto",
        }
    }
}

/// One question (`POST /api/chat` body).
///
/// JSON: `{query: string (1..10000 chars), mode?: "single_mcp"|"multi_mcp"|"auto",
/// context?: object, session_id?: string, enable_recovery?: bool = true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The question in plain language, or one complete SQL query.
    pub query: String,
    /// Processing mode; `auto` when absent.
    #[serde(default)]
    pub mode: Mode,
    /// Free-form context from the caller (never SQL). `previous_questions`: the earlier
    /// questions of the conversation, a JSON array of strings, oldest first; when
    /// present it is used instead of the `session_id` history.
    #[serde(default)]
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
    /// Conversation id: follow-up questions with the same id refine the previous one.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Whether failed SQL is repaired and retried (up to `max_retries`).
    #[serde(default = "default_true")]
    pub enable_recovery: bool,
}

fn default_true() -> bool {
    true
}

impl ChatRequest {
    /// A request with default options (`auto` mode, recovery on).
    pub fn new(query: impl Into<String>) -> Self {
        ChatRequest { query: query.into(), mode: Mode::Auto, context: None, session_id: None, enable_recovery: true }
    }

    /// Checks the request's own shape. Errors: `INVALID_REQUEST` for an empty or
    /// whitespace-only query, or one longer than [`MAX_QUERY_CHARS`] characters; for a
    /// `context.previous_questions` that is not an array of strings (each at most
    /// [`MAX_QUERY_CHARS`] characters); for a `session_id` longer than 256 characters.
    pub fn validate(&self) -> Result<(), Error> {
        if self.query.trim().is_empty() {
            return Err(Error::invalid_request("query must not be empty"));
        }
        let chars = self.query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(Error::invalid_request(format!(
                "query is {chars} characters long; the limit is {MAX_QUERY_CHARS}"
            )));
        }
        crate::conversation::validate(self)
    }
}

/// One term of the question that was mapped to something in the database.
///
/// JSON: `{"original_term": "abracadabra", "resolved_value": "123",
/// "entity_type": "product", "source": "product_metadata_mcp"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedEntity {
    /// The words of the question as the user wrote them.
    pub original_term: String,
    /// What they resolved to: a product id, a date range, a column value, an SQL
    /// expression.
    pub resolved_value: String,
    /// `product`, `business_term`, `date_range`, `value`, …
    pub entity_type: String,
    /// The `server_id` whose data made the resolution (`product_metadata_mcp`,
    /// `database_mcp`), or `core` for built-in rules such as date phrases.
    pub source: String,
}

/// Rows as returned to callers: [`QueryOutput`] from the Database MCP.
pub type Results = QueryOutput;

/// One attempted SQL statement of the recovery trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptedSql {
    /// The SQL that was tried.
    pub sql: String,
    /// Its error category (`SYNTAX_ERROR`, `MISSING_COLUMN`, …) or an error code.
    pub error_category: String,
    /// The database's or validator's message.
    pub error: String,
}

/// `data.metadata` of a successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryMetadata {
    /// Servers that contributed, by `server_id`, in the order they were used.
    pub mcp_servers_used: Vec<String>,
    /// Number of repair attempts made (0 when the first SQL worked).
    pub recovery_attempts: u32,
    /// SQL statements that failed before the one in `sql_query`, with their errors.
    pub attempted_sql: Vec<AttemptedSql>,
    /// Which generator wrote the SQL: `offline`, `llm:<provider>`, or `raw_sql` when the
    /// question itself was SQL.
    pub generator: String,
    /// Dialect of the database the SQL ran on.
    pub dialect: String,
    /// Tokens the LLM spent on this answer (generation and repairs); absent when no
    /// LLM was called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_usage: Option<LlmUsage>,
}

/// Tokens counted by the LLM provider: `{prompt_tokens, completion_tokens, total_tokens}`
/// (0 where the provider did not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LlmUsage {
    /// Tokens of the prompts.
    pub prompt_tokens: u64,
    /// Tokens of the answers.
    pub completion_tokens: u64,
    /// As reported, else the sum of the two.
    pub total_tokens: u64,
}

/// The `data` part of a successful [`ChatResponse`] (also what `Engine::ask` returns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// The SQL that produced `results` (validated, with its LIMIT).
    pub sql_query: String,
    /// The rows.
    pub results: Results,
    /// Terms of the question mapped to database things.
    pub resolved_entities: Vec<ResolvedEntity>,
    /// A sentence or two on how the question was read.
    pub explanation: String,
    /// Whether the SQL had to be repaired.
    pub recovery_performed: bool,
    /// Provenance and recovery details.
    pub metadata: QueryMetadata,
}

/// `error` of a failed [`ChatResponse`]: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code of DESIGN.md §4.
    pub code: ErrorKind,
    /// Readable message (never contains secrets).
    pub message: String,
    /// For `RECOVERY_EXHAUSTED`: every SQL that was tried, with its error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempted_sql: Vec<AttemptedSql>,
}

/// Top-level `metadata` of every [`ChatResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    /// The mode that actually ran (`single_mcp` or `multi_mcp`; the requested one when
    /// the request failed before a mode was chosen).
    pub mode: Mode,
    /// Wall time in the core, in seconds.
    pub processing_time_seconds: f64,
    /// Whether the SQL had to be repaired.
    pub recovery_performed: bool,
    /// True when some servers were down and the answer was made without them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
    /// With `degraded`: the `server_id`s that could not be used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_servers: Vec<String>,
}

impl ResponseMetadata {
    /// Metadata for `mode` before anything ran: no time spent, no recovery, not degraded.
    pub fn new(mode: Mode) -> Self {
        ResponseMetadata {
            mode,
            processing_time_seconds: 0.0,
            recovery_performed: false,
            degraded: false,
            missing_servers: Vec::new(),
        }
    }
}

/// The envelope every question gets back (DESIGN.md §3), success or failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Whether `data` holds an answer.
    pub success: bool,
    /// The answer when `success`.
    pub data: Option<QueryResult>,
    /// The error when not `success`.
    pub error: Option<ErrorBody>,
    /// Mode and timing.
    pub metadata: ResponseMetadata,
    /// When the response was made, RFC 3339 UTC (`2026-11-30T12:00:00Z`).
    pub timestamp: String,
    /// A fresh UUID per response.
    pub response_id: String,
}

impl ChatResponse {
    /// A successful envelope around `data`.
    pub fn ok(data: QueryResult, metadata: ResponseMetadata) -> Self {
        ChatResponse {
            success: true,
            data: Some(data),
            error: None,
            metadata,
            timestamp: now_rfc3339(),
            response_id: new_id(),
        }
    }

    /// The failed envelope for a request refused before any mode ran (a malformed body):
    /// `metadata.mode` is `auto`, no time, no attempted SQL.
    pub fn rejected(error: &Error) -> Self {
        ChatResponse::failure(error, Vec::new(), ResponseMetadata::new(Mode::Auto))
    }

    /// A failed envelope for `error`.
    pub fn failure(error: &Error, attempted_sql: Vec<AttemptedSql>, metadata: ResponseMetadata) -> Self {
        ChatResponse {
            success: false,
            data: None,
            error: Some(ErrorBody { code: error.kind(), message: error.message().to_string(), attempted_sql }),
            metadata,
            timestamp: now_rfc3339(),
            response_id: new_id(),
        }
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_defaults() {
        let r: ChatRequest = serde_json::from_str(r#"{"query":"hi"}"#).unwrap();
        assert_eq!(r.mode, Mode::Auto);
        assert!(r.enable_recovery);
        assert!(serde_json::from_str::<ChatRequest>(r#"{"query":"hi","mode":"bad"}"#).is_err());
    }

    #[test]
    fn request_validation() {
        assert_eq!(ChatRequest::new("  ").validate().unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert_eq!(ChatRequest::new("x".repeat(10_001)).validate().unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert!(ChatRequest::new("x".repeat(10_000)).validate().is_ok());
    }

    #[test]
    fn failure_envelope_shape() {
        let r = ChatResponse::rejected(&Error::new(ErrorKind::SqlRejected, "only queries"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["success"], false);
        assert_eq!(v["data"], serde_json::Value::Null);
        assert_eq!(v["error"]["code"], "SQL_REJECTED");
        assert_eq!(v["metadata"]["mode"], "auto");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(v["response_id"].as_str().unwrap().len(), 36);
        assert!(v["metadata"].get("degraded").is_none());
    }
}
