//! Configuration: the phase-3 `mcp_config.yaml` (DESIGN.md §2) plus environment
//! variables.
//!
//! Loading:
//! - [`Config::load`] reads a YAML file; [`Config::from_yaml_str`] parses text with an
//!   explicit environment (for tests); [`Config::from_env`] follows `MCP_CONFIG_PATH` /
//!   `MCP_SERVER_URL`.
//! - `${VAR}` and `${VAR:-default}` are expanded in every string value (`$${` escapes);
//!   numbers and booleans may come from expansions (`priority: ${PRIO:-10}`).
//! - Every error is [`ErrorKind::ConfigError`](crate::ErrorKind::ConfigError) with a
//!   message `"<file> line <n>: <field.path>: <reason>"`, e.g.
//!   `mcp_config.yaml line 7: mcp_servers.database_mcp.priority: must be between 1 and 999, got 0`.
//! - Unknown keys are ignored with a `tracing` warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod env;
mod expand;
mod locate;
mod parse;
#[cfg(test)]
mod tests;

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
    /// Our own server linked into this process (the embedded default); never in YAML,
    /// reported as `"in_process"` (e.g. by `GET /api/health`).
    #[serde(skip_deserializing)]
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

/// Largest timeout accepted from configuration, in seconds (one day): larger values,
/// like `1e300`, do not fit a `Duration` and are refused as `CONFIG_ERROR`.
pub(crate) const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// Upper bound of `orchestration.max_retries`: each attempt may cost an LLM call and a
/// database query.
pub(crate) const MAX_RECOVERY_ATTEMPTS: u32 = 10;

/// Largest whole-second setting (`resource_cache_ttl`, `circuit_open_seconds`,
/// `health_check_interval`): one year. Larger values made the cache builder or `Instant`
/// arithmetic panic; they are refused as `CONFIG_ERROR`.
pub(crate) const MAX_SECONDS_SETTING: u64 = 365 * 24 * 3600;

fn default_timeout() -> f64 {
    30.0
}

impl ServerConfig {
    /// `timeout` as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        // `clamp` keeps a hand-built config (fields are public) from panicking in
        // `from_secs_f64`; NaN falls back to the default.
        let seconds = if self.timeout.is_nan() { default_timeout() } else { self.timeout };
        Duration::from_secs_f64(seconds.clamp(0.001, MAX_TIMEOUT_SECONDS))
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
    /// Seconds between background health probes (a `tools/list` per server,
    /// `resources/list` for servers without tools); 0 = off.
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
    /// `LLM_TIMEOUT_SECONDS`: upper bound for one LLM call, retries and waits included
    /// (default 60 s).
    pub timeout_seconds: Option<f64>,
    /// `LLM_MAX_TRIES`: requests per LLM call, the first included (default 3; 429, 5xx
    /// and connection errors are retried with backoff, honouring `Retry-After`).
    pub max_tries: Option<u32>,
}

impl LlmConfig {
    /// The client's timeouts and retry policy: the defaults, with `timeout_seconds` and
    /// `max_tries` applied. The first backoff wait is 1 s, or a tenth of a shorter total
    /// timeout.
    pub(crate) fn options(&self) -> crate::llm::LlmOptions {
        let mut options = crate::llm::LlmOptions::default();
        if let Some(total) = self.timeout_seconds.filter(|t| t.is_finite() && *t > 0.0) {
            options.total_timeout = std::time::Duration::from_secs_f64(total.min(MAX_TIMEOUT_SECONDS));
            options.connect_timeout = options.connect_timeout.min(options.total_timeout);
            options.backoff_start = options.backoff_start.min(options.total_timeout / 10);
        }
        if let Some(tries) = self.max_tries {
            options.max_tries = tries.max(1);
        }
        options
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_tries", &self.max_tries)
            .finish()
    }
}

/// Everything the engine needs to start.
///
/// `Default` is an empty server list, default orchestration, `enable_multi_mcp = true`,
/// offline LLM.
#[derive(Debug, Clone, PartialEq)]
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

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: Vec::new(),
            orchestration: OrchestrationConfig::default(),
            enable_multi_mcp: true,
            require_multi_mcp: false,
            mcp_server_url: None,
            llm: LlmConfig::default(),
        }
    }
}

/// An environment lookup: variable name → value.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The process environment, falling back to `./.env` (read with dotenvy) for variables
/// that are not set. The process environment is never modified, so `.env` never
/// overrides a variable already set.
///
/// Errors: `CONFIG_ERROR` when `.env` exists but cannot be read or parsed.
pub fn process_env() -> Result<Box<EnvLookup>> {
    let mut dotenv: BTreeMap<String, String> = BTreeMap::new();
    match dotenvy::from_filename_iter(".env") {
        Ok(iter) => {
            for item in iter {
                let (key, value) = item.map_err(|e| Error::config(format!(".env: {e}")).with_source(e))?;
                dotenv.entry(key).or_insert(value);
            }
        }
        Err(e) if e.not_found() => {}
        Err(e) => return Err(Error::config(format!(".env: {e}")).with_source(e)),
    }
    Ok(Box::new(move |name: &str| std::env::var(name).ok().or_else(|| dotenv.get(name).cloned())))
}

impl Config {
    /// Reads and parses a YAML configuration file (DESIGN.md §2), expanding `${VAR}` from
    /// [`process_env`] and applying the environment variables (see
    /// [`Config::apply_env`]).
    ///
    /// Errors: `CONFIG_ERROR` naming the file (unreadable), or as
    /// [`Config::from_yaml_str`].
    pub fn load(path: &Path) -> Result<Config> {
        let env = process_env()?;
        Self::load_with(path, &*env)
    }

    /// [`Config::load`] with an explicit environment.
    pub fn load_with(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("cannot read configuration file {}: {e}", path.display())).with_source(e)
        })?;
        Self::from_yaml_str(&text, &path.display().to_string(), env)
    }

    /// Parses configuration text. `source` names it in error messages (usually the path);
    /// `env` resolves `${VAR}` and the variables applied by [`Config::apply_env`].
    ///
    /// Servers get `server_id` from their map key, a transport inferred when absent
    /// (`command` → stdio; a URL ending in `/sse` → sse; else streamable_http) and are
    /// sorted by `(priority, server_id)`.
    ///
    /// Errors (`CONFIG_ERROR`, naming file, field path and line): YAML syntax; an unset
    /// `${VAR}` without default; wrong types; `priority` outside 1..=999; `timeout` ≤ 0;
    /// `streamable_http`/`sse` without `url`; `stdio` without `command`; unknown
    /// `transport`; a missing `mcp_servers` section; bad environment variables.
    pub fn from_yaml_str(text: &str, source: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let mut config = parse::Parser::new(text, source, env).parse()?;
        config.apply_env(env)?;
        Ok(config)
    }

    /// The configuration the environment describes ([`process_env`], i.e. with `.env`):
    /// see [`Config::from_env_with`].
    pub fn from_env() -> Result<Config> {
        let env = process_env()?;
        Self::from_env_with(&*env)
    }

    /// `MCP_CONFIG_PATH` set → that file ([`Config::load_with`]); else `MCP_SERVER_URL`
    /// set → one Database MCP server (`server_id` `database_mcp`, priority 10,
    /// capabilities `execute_query`, `list_resources`); else no servers. The environment
    /// variables are applied in every case.
    pub fn from_env_with(env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let path = env("MCP_CONFIG_PATH").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        if let Some(path) = path {
            return Self::load_with(Path::new(&path), env);
        }
        let mut config = Config::default();
        config.apply_env(env)?;
        if let Some(url) = &config.mcp_server_url {
            config.servers = vec![env::single_server(url)?];
        }
        Ok(config)
    }

    /// Applies DESIGN.md §2 variables: `ENABLE_MULTI_MCP` (default true),
    /// `REQUIRE_MULTI_MCP` (default false), `MCP_SERVER_URL` → `mcp_server_url`,
    /// `LLM_PROVIDER` / `LLM_MODEL` / `LLM_BASE_URL` and the provider's key
    /// (`OPENROUTER_API_KEY`, `GEMINI_API_KEY`, `OPENAI_API_KEY`). Empty values count as
    /// unset.
    ///
    /// Without `LLM_PROVIDER` the provider is the first whose key is set (OpenRouter,
    /// Gemini, OpenAI), else offline. Errors (`CONFIG_ERROR`): a boolean other than
    /// true/false/1/0/yes/no/on/off; an unknown provider; a provider named without its
    /// key (except `openai` with `LLM_BASE_URL`, for local OpenAI-compatible servers);
    /// a URL not starting with http:// or https://.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        env::apply(self, env)
    }
}
