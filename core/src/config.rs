//! Configuration: the phase-3 `mcp_config.yaml` (DESIGN.md §2) plus environment
//! variables.
//!
//! TYPES ONLY for now — loading (YAML with line numbers, `${VAR:-default}` expansion,
//! `.env`, environment overrides) is being implemented.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the core reaches one MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// Streamable HTTP (MCP 2025-03-26 and later) at `url`.
    #[default]
    StreamableHttp,
    /// Legacy HTTP+SSE (2024-11-05) at `url` (`…/sse`).
    Sse,
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout (`command`).
    Stdio,
    /// Our own server linked into this process (the embedded default); never in YAML.
    #[serde(skip)]
    InProcess,
}

/// One entry of `mcp_servers` (the map key is its `server_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The map key in `mcp_servers`; identifies the server everywhere.
    #[serde(skip)]
    pub server_id: String,
    /// Display name for people.
    pub name: String,
    /// Endpoint for `streamable_http` and `sse`.
    #[serde(default)]
    pub url: Option<String>,
    /// Transport; inferred from the URL (`…/sse` → `sse`) or `command` when absent.
    #[serde(default)]
    pub transport: TransportKind,
    /// Program and arguments for `stdio`.
    #[serde(default)]
    pub command: Vec<String>,
    /// Extra environment for a `stdio` child.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory for a `stdio` child.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Lower number wins (1..=999).
    #[serde(default = "default_priority")]
    pub priority: u32,
    /// Business domains this server knows (`sales`, `products`, …).
    #[serde(default)]
    pub domains: Vec<String>,
    /// What the server can do (`execute_query`, `list_resources`, …).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Seconds per MCP request.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Whether the system is unusable without this server (start-up fails when
    /// `REQUIRE_MULTI_MCP` or `fail_fast` and it is down).
    #[serde(default)]
    pub critical: bool,
    /// Extra HTTP headers (e.g. `Authorization`) for HTTP transports.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_priority() -> u32 {
    100
}

fn default_timeout() -> f64 {
    30.0
}

impl ServerConfig {
    /// `timeout` as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout.max(0.001))
    }

    /// Whether `capabilities` lists `capability`.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// The `orchestration` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrchestrationConfig {
    /// Seconds a gathered resource stays cached; 0 disables the cache.
    #[serde(default = "default_ttl")]
    pub resource_cache_ttl: u64,
    /// When true, start-up fails if any server fails to connect.
    #[serde(default)]
    pub fail_fast: bool,
    /// Whether the core logs.
    #[serde(default = "default_true")]
    pub enable_logging: bool,
    /// `TRACE`..`ERROR`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// SQL recovery attempts.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Row cap added as `LIMIT` when the SQL has none.
    #[serde(default = "default_limit")]
    pub default_limit: u64,
    /// Consecutive failures (transport errors, timeouts, failed reconnects) after which a
    /// server's circuit opens and calls to it fail fast with `MCP_UNAVAILABLE`.
    #[serde(default = "default_circuit_failure_threshold")]
    pub circuit_failure_threshold: u32,
    /// Seconds an open circuit stays open before one trial call is let through.
    #[serde(default = "default_circuit_open_seconds")]
    pub circuit_open_seconds: u64,
    /// Seconds allowed for connecting plus the MCP handshake (`initialize`); the
    /// effective limit is `min(handshake_timeout, server timeout)`.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout: f64,
    /// Seconds between background health probes (a `tools/list` per server); 0 = off.
    /// The environment variable `HEALTH_CHECK_INTERVAL` overrides it.
    #[serde(default = "default_health_check_interval")]
    pub health_check_interval: u64,
}

fn default_ttl() -> u64 {
    300
}
fn default_true() -> bool {
    true
}
fn default_log_level() -> String {
    "INFO".into()
}
fn default_max_retries() -> u32 {
    3
}
fn default_limit() -> u64 {
    1000
}
fn default_circuit_failure_threshold() -> u32 {
    5
}
fn default_circuit_open_seconds() -> u64 {
    60
}
fn default_handshake_timeout() -> f64 {
    10.0
}
fn default_health_check_interval() -> u64 {
    30
}

impl Default for OrchestrationConfig {
    fn default() -> Self {
        OrchestrationConfig {
            resource_cache_ttl: default_ttl(),
            fail_fast: false,
            enable_logging: true,
            log_level: default_log_level(),
            max_retries: default_max_retries(),
            default_limit: default_limit(),
            circuit_failure_threshold: default_circuit_failure_threshold(),
            circuit_open_seconds: default_circuit_open_seconds(),
            handshake_timeout: default_handshake_timeout(),
            health_check_interval: default_health_check_interval(),
        }
    }
}

/// Which SQL generator answers questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// The built-in offline engine (no network).
    #[default]
    Offline,
    /// OpenRouter (OpenAI-compatible, with attribution headers).
    Openrouter,
    /// Google Gemini `generateContent`.
    Gemini,
    /// Any OpenAI-compatible chat-completions endpoint (`LLM_BASE_URL`).
    Openai,
}

/// LLM settings from the environment (`LLM_PROVIDER`, `LLM_MODEL`, `LLM_BASE_URL`,
/// `*_API_KEY`). `Debug` never prints the key.
#[derive(Clone, PartialEq, Default)]
pub struct LlmConfig {
    /// The provider; `offline` when no key is set.
    pub provider: LlmProvider,
    /// Model name; provider default when `None`.
    pub model: Option<String>,
    /// Base URL override.
    pub base_url: Option<String>,
    /// API key (secret).
    pub api_key: Option<String>,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Everything the engine needs to start.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// Servers sorted by priority (lowest number first), then by `server_id`.
    pub servers: Vec<ServerConfig>,
    /// The `orchestration` section.
    pub orchestration: OrchestrationConfig,
    /// `ENABLE_MULTI_MCP` (default true).
    pub enable_multi_mcp: bool,
    /// `REQUIRE_MULTI_MCP` (default false): start-up fails unless every server connects.
    pub require_multi_mcp: bool,
    /// `MCP_SERVER_URL`: the single-MCP fallback Database MCP when no config file is used.
    pub mcp_server_url: Option<String>,
    /// LLM settings.
    pub llm: LlmConfig,
}
