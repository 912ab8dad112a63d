//! [`Engine`]: the public entry point (DESIGN.md §7).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{Config, LlmProvider};
use crate::context::Context;
use crate::conversation::Sessions;
use crate::error::{Error, ErrorKind, Result};
use crate::llm::LlmClient;
use crate::mcp::InProcessServer;
use crate::observe::Metrics;
use crate::orchestrator::Orchestrator;
use crate::pipeline::{self, Failure};
use crate::progress::{Progress, Tracker};
use crate::response::{ChatRequest, ChatResponse, Mode, QueryResult, ResponseMetadata};
use crate::status::{self, Health, ModesInfo, Readiness};
use tokio::sync::mpsc::UnboundedSender;

/// A running Talk 2 Tables engine: connected MCP servers, caches and metrics.
///
/// Cheap to clone (an `Arc` inside); every clone drives the same servers. Must be used
/// from inside a tokio runtime; the engine never creates its own.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) orchestrator: Orchestrator,
    pub(crate) contexts: moka::future::Cache<ContextKey, Arc<Context>>,
    pub(crate) metrics: Metrics,
    /// The LLM provider when `config.llm.provider` is not offline.
    pub(crate) llm: Option<LlmClient>,
    pub(crate) started: Instant,
    /// Answered questions per `session_id`, for follow-ups.
    pub(crate) sessions: Sessions,
}

/// Cache key of a derived [`Context`]: the mode's scope and the resource fingerprint.
pub(crate) type ContextKey = (bool, Vec<(String, u64)>);

impl Engine {
    /// Connects to every server of `config` (in parallel) and returns the engine.
    ///
    /// Errors: `MCP_UNAVAILABLE` when `orchestration.fail_fast` or `REQUIRE_MULTI_MCP`
    /// is set and a server cannot be reached; `CONFIG_ERROR` for a config the engine
    /// cannot use. Without those switches, servers that are down are reported by
    /// [`Engine::health`] and the engine still starts.
    pub async fn from_config(config: Config) -> Result<Engine> {
        Engine::start(config, HashMap::new()).await
    }

    /// The embedded default: creates the sample database under `data_dir` (when
    /// missing), runs our Database and Metadata MCP servers inside this process (rmcp
    /// over in-memory pipes) and answers with the offline engine.
    ///
    /// Errors: `CONFIG_ERROR` when `data_dir` cannot be created or the sample database
    /// cannot be written; `MCP_UNAVAILABLE` when a server fails to start.
    pub async fn embedded(data_dir: impl AsRef<Path>) -> Result<Engine> {
        let (config, servers) = crate::embedded::prepare(data_dir.as_ref()).await?;
        Engine::start(config, servers).await
    }

    pub(crate) async fn start(config: Config, in_process: HashMap<String, InProcessServer>) -> Result<Engine> {
        let llm = match config.llm.provider {
            LlmProvider::Offline => None,
            _ => Some(LlmClient::new(&config.llm, config.llm.options())?),
        };
        let orchestrator = Orchestrator::start(&config, in_process).await?;
        let metrics = Metrics::new();
        orchestrator.set_request_timer(&metrics.mcp_duration);
        let ttl = config.orchestration.resource_cache_ttl;
        let mut contexts = moka::future::Cache::builder().max_capacity(16);
        if ttl > 0 {
            contexts = contexts.time_to_live(std::time::Duration::from_secs(ttl));
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                orchestrator,
                contexts: contexts.build(),
                metrics,
                llm,
                started: Instant::now(),
                sessions: Sessions::new(),
            }),
        })
    }

    /// Answers one question. Never fails: errors come back inside the envelope
    /// (`success: false`, `error: {code, message}`), exactly as `POST /api/chat`
    /// returns them (DESIGN.md §3).
    pub async fn chat(&self, request: ChatRequest) -> ChatResponse {
        self.run_chat(request, Tracker::new(None)).await
    }

    /// Like [`Engine::chat`], and sends a [`Progress`] event to `progress` when each
    /// pipeline stage starts and ends (gathering, resolving, generating, validating,
    /// executing, recovering). The events arrive before this returns the response; a
    /// dropped receiver is ignored.
    pub async fn chat_with_progress(&self, request: ChatRequest, progress: UnboundedSender<Progress>) -> ChatResponse {
        self.run_chat(request, Tracker::new(Some(progress))).await
    }

    async fn run_chat(&self, request: ChatRequest, tracker: Tracker) -> ChatResponse {
        let started = Instant::now();
        let mut meta = ResponseMetadata::new(request.mode);
        let outcome = match request.validate().and_then(|()| self.choose_mode(request.mode)) {
            Err(error) => Err(Failure::from(error)),
            Ok(mode) => {
                meta.mode = mode;
                pipeline::run(&self.inner, &request, mode, &tracker).await
            }
        };
        meta.processing_time_seconds = started.elapsed().as_secs_f64();
        let response = match outcome {
            Ok(answer) => {
                meta.recovery_performed = answer.result.recovery_performed;
                meta.degraded = !answer.missing_servers.is_empty();
                meta.missing_servers = answer.missing_servers;
                ChatResponse::ok(answer.result, meta)
            }
            Err(failure) => {
                meta.degraded = !failure.missing_servers.is_empty();
                meta.missing_servers = failure.missing_servers.clone();
                ChatResponse::failure(&failure.error, failure.attempted_sql, meta)
            }
        };
        self.inner.metrics.record_chat(&response, started.elapsed());
        match &response.error {
            None => tracing::info!(
                question = %loggable(&request.query),
                mode = response.metadata.mode.as_str(),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "answered"
            ),
            Some(e) => tracing::info!(
                question = %loggable(&request.query),
                code = e.code.code(),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "not answered"
            ),
        }
        response
    }

    /// Answers one question and returns the result itself.
    ///
    /// Errors: the error of the failed envelope, with its §4 code (`UNANSWERABLE`,
    /// `SQL_REJECTED`, `MCP_UNAVAILABLE`, …).
    pub async fn ask(&self, question: &str) -> Result<QueryResult> {
        let response = self.chat(ChatRequest::new(question)).await;
        match (response.data, response.error) {
            (Some(data), _) => Ok(data),
            (None, Some(err)) => Err(Error::new(err.code, err.message)),
            (None, None) => Err(Error::new(ErrorKind::Internal, "response without data or error")),
        }
    }

    /// The modes and whether each is available now (`GET /api/chat/modes`).
    pub fn modes(&self) -> ModesInfo {
        status::modes(&self.inner)
    }

    /// Health of every configured server (`GET /api/health`).
    pub async fn health(&self) -> Health {
        status::health(&self.inner)
    }

    /// Whether the engine can answer questions now (`GET /api/health/ready`).
    pub fn readiness(&self) -> Readiness {
        status::readiness(&self.inner)
    }

    /// Counters and latency percentiles (`GET /api/metrics`), as a JSON object with the
    /// fields of DESIGN.md §3: `query_latency_p50/p95/p99` (seconds, over the last 1000
    /// questions), `total_queries`, `successful_queries`, `failed_queries`,
    /// `success_rate`, `cache_hit_rate`, `cache_hits`, `cache_misses`,
    /// `recovery_attempts`, `recovery_successes`, `recovery_success_rate`,
    /// `mcp_connection_status` {server_id: bool}, `uptime_seconds`.
    pub fn metrics(&self) -> serde_json::Value {
        let o = &self.inner.orchestrator;
        self.inner.metrics.snapshot(&o.cache_stats(), &o.statuses(), self.inner.started.elapsed())
    }

    /// Every metric in the Prometheus text exposition format (`GET
    /// /api/metrics/prometheus`): histograms of chat latency by mode and outcome and of
    /// MCP request duration by server and method; counters of queries, errors by code,
    /// cache hits/misses, recovery attempts/successes, LLM tokens; gauges of connected
    /// servers and circuit state. Names start with `talk2tables_`.
    pub fn prometheus(&self) -> String {
        let o = &self.inner.orchestrator;
        self.inner.metrics.prometheus(&o.cache_stats(), &o.statuses(), self.inner.started.elapsed())
    }

    /// Whether multi-server mode is enabled by configuration (`ENABLE_MULTI_MCP`).
    pub fn multi_mcp_enabled(&self) -> bool {
        self.inner.config.enable_multi_mcp
    }

    /// Disconnects every server (stdio children are stopped). The engine answers
    /// `MCP_UNAVAILABLE` afterwards.
    pub async fn close(&self) {
        self.inner.orchestrator.close().await;
    }

    fn choose_mode(&self, requested: Mode) -> Result<Mode> {
        let ready = self.inner.config.enable_multi_mcp && self.inner.orchestrator.is_ready();
        match requested {
            Mode::SingleMcp => Ok(Mode::SingleMcp),
            Mode::MultiMcp if ready => Ok(Mode::MultiMcp),
            Mode::MultiMcp => Err(Error::new(
                ErrorKind::OrchestratorNotReady,
                if self.inner.config.enable_multi_mcp {
                    "multi_mcp mode needs the orchestrator, which is not ready (no Database MCP connected)"
                } else {
                    "multi_mcp mode is disabled (ENABLE_MULTI_MCP=false)"
                },
            )),
            Mode::Auto if ready => Ok(Mode::MultiMcp),
            Mode::Auto => Ok(Mode::SingleMcp),
        }
    }
}

/// Longest question text written to logs, in characters.
const LOGGED_QUESTION_CHARS: usize = 120;

/// The question as logs show it: one line, at most [`LOGGED_QUESTION_CHARS`] characters.
fn loggable(question: &str) -> String {
    let one_line: String = question.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(LOGGED_QUESTION_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn questions_are_truncated_for_logs() {
        assert_eq!(loggable("how   many\ncustomers"), "how many customers");
        let long = "é".repeat(500);
        let logged = loggable(&long);
        assert_eq!(logged.chars().count(), 121);
        assert!(logged.ends_with('…'));
    }
}
