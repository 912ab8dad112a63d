//! One [`Supervisor`] per configured server: owns the current [`Connection`], a circuit
//! [`Breaker`], and the rebuild logic that makes connections heal.
//!
//! - Every call goes through [`Supervisor::run`]: an open circuit refuses it at once with
//!   `MCP_UNAVAILABLE` ("circuit open for <server> until <RFC 3339 time>").
//! - A transport failure or timeout (`MCP_UNAVAILABLE`, `MCP_TIMEOUT`, which includes a
//!   lost session, see [`super::errors::is_session_error`]) counts toward the breaker and
//!   discards the connection; the next call rebuilds it (handshake under its own timeout).
//! - Only one rebuild runs at a time per server; concurrent callers wait for it. After a
//!   failed rebuild, further attempts wait a capped exponential backoff with jitter;
//!   callers arriving earlier fail fast with `MCP_UNAVAILABLE`.
//! - [`CallKind::Read`] calls (lists, reads) are retried once on a rebuilt connection;
//!   [`CallKind::Tool`] calls are never replayed.
//! - [`Supervisor::probe`] (the orchestrator's background health check) lists tools
//!   (resources for a server without tools) under
//!   a short timeout, ignoring an open circuit, so a restarted server comes back (and the
//!   circuit closes) without any request.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use super::breaker::{Breaker, CircuitState, Refusal};
use super::connection::{Connection, InProcessServer};
use super::errors;
use crate::config::{OrchestrationConfig, ServerConfig};
use crate::error::{Error, ErrorKind, Result};

/// Longest time a probe's `tools/list` may take (less when the server's timeout is shorter).
const PROBE_TIMEOUT_CAP: Duration = Duration::from_secs(5);
/// Longest a discarded connection is kept open so calls already in flight can finish.
const DISCARD_GRACE_CAP: Duration = Duration::from_secs(30);

/// How connections heal; built from the `orchestration` config section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HealPolicy {
    /// Consecutive failures that open the circuit (`circuit_failure_threshold`).
    pub failure_threshold: u32,
    /// How long an open circuit refuses calls (`circuit_open_seconds`).
    pub open_for: Duration,
    /// Cap of the connect + handshake time (`handshake_timeout`).
    pub handshake_timeout: Duration,
    /// Delay after the first failed rebuild; doubles per further failure.
    pub backoff_base: Duration,
    /// Longest delay between rebuild attempts.
    pub backoff_max: Duration,
    /// Cap of a probe's `tools/list` time.
    pub probe_timeout: Duration,
}

impl HealPolicy {
    /// The policy for `config` (backoff 250 ms doubling up to 30 s, probes ≤ 5 s).
    pub(crate) fn from_config(config: &OrchestrationConfig) -> Self {
        HealPolicy {
            failure_threshold: config.circuit_failure_threshold.max(1),
            open_for: Duration::from_secs(config.circuit_open_seconds),
            handshake_timeout: Duration::from_secs_f64(config.handshake_timeout.clamp(0.001, 3600.0)),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            probe_timeout: PROBE_TIMEOUT_CAP,
        }
    }

    /// The delay before rebuild attempt `failed + 1` after `failed` (≥ 1) failures:
    /// `min(base · 2^(failed-1), max)`, scaled by a random factor in `[0.5, 1]`.
    pub(crate) fn backoff(&self, failed: u32) -> Duration {
        let exp = failed.saturating_sub(1).min(20);
        let full = self.backoff_base.saturating_mul(1u32 << exp).min(self.backoff_max);
        full.mul_f64(0.5 + 0.5 * rand::random::<f64>())
    }
}

/// Whether a call may be replayed on a rebuilt connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// `tools/list`, `resources/list`, `resources/read`: retried once after a rebuild.
    Read,
    /// `tools/call`: never replayed (it may have had effects).
    Tool,
}

impl CallKind {
    /// The `method` label of the request-duration histogram.
    fn method(self) -> &'static str {
        match self {
            CallKind::Read => "resources",
            CallKind::Tool => "tools/call",
        }
    }
}

/// What status reports about one server's health.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Health {
    /// Whether a live connection exists.
    pub connected: bool,
    /// The last connection-level failure, or the last fetch error (`None` when healthy).
    pub last_error: Option<String>,
    /// Tool names at the last successful listing.
    pub tools: Vec<String>,
    /// Resource count at the last listing.
    pub resources: usize,
    /// Breaker state.
    pub circuit_state: CircuitState,
    /// Consecutive failures counted by the breaker.
    pub consecutive_failures: u32,
    /// Duration of the last probe, in milliseconds (`None` before the first probe).
    pub last_probe_latency_ms: Option<f64>,
    /// When the last probe ran, RFC 3339 UTC.
    pub last_probe_at: Option<String>,
    /// Successful rebuilds after the first connection.
    pub reconnects: u64,
    /// The MCP protocol version negotiated by the last connection.
    pub protocol_version: Option<String>,
}

struct State {
    connection: Option<Connection>,
    breaker: Breaker,
    last_error: Option<String>,
    tools: Vec<String>,
    resources: usize,
    ever_connected: bool,
    reconnects: u64,
    failed_attempts: u32,
    next_attempt: Option<Instant>,
    protocol_version: Option<String>,
    last_probe_latency_ms: Option<f64>,
    last_probe_at: Option<DateTime<Utc>>,
}

/// A failed [`Supervisor::ensure`]: whether a rebuild was actually attempted.
enum EnsureError {
    /// The rebuild ran and failed (counts toward the breaker).
    Attempted(Error),
    /// No attempt: still backing off, or closed.
    NotAttempted(Error),
}

/// Whether [`Supervisor::ensure`] waits out the rebuild backoff. Calls respect it (they
/// fail fast instead of hammering a down server); the probe, which runs once per
/// `health_check_interval`, ignores it so a restarted server is back within one interval
/// however long the backoff has grown (up to 30 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backoff {
    Respect,
    Ignore,
}

/// The healing wrapper around one server's connection. Shared as `Arc<Supervisor>`.
pub(crate) struct Supervisor {
    config: ServerConfig,
    in_process: Option<InProcessServer>,
    policy: HealPolicy,
    state: Mutex<State>,
    rebuild: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    /// MCP request durations by server and method, when the engine records them.
    timer: OnceLock<prometheus::HistogramVec>,
}

fn is_transport_failure(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::McpUnavailable | ErrorKind::McpTimeout)
}

/// `at` (a monotonic instant) as wall-clock RFC 3339 UTC.
fn wall_clock(at: Instant) -> String {
    let ahead = at.saturating_duration_since(Instant::now());
    let when = Utc::now() + chrono::Duration::from_std(ahead).unwrap_or_default();
    when.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Supervisor {
    /// A supervisor for `config`, not connected yet (see [`Supervisor::connect_first`]).
    /// `in_process` is the server factory for `InProcess` servers.
    pub(crate) fn new(config: ServerConfig, in_process: Option<InProcessServer>, policy: HealPolicy) -> Self {
        Supervisor {
            config,
            in_process,
            policy,
            state: Mutex::new(State {
                connection: None,
                breaker: Breaker::new(policy.failure_threshold, policy.open_for),
                last_error: None,
                tools: Vec::new(),
                resources: 0,
                ever_connected: false,
                reconnects: 0,
                failed_attempts: 0,
                next_attempt: None,
                protocol_version: None,
                last_probe_latency_ms: None,
                last_probe_at: None,
            }),
            rebuild: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            timer: OnceLock::new(),
        }
    }

    /// The server's configuration.
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.config
    }

    fn server_id(&self) -> &str {
        &self.config.server_id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state itself stays consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live connection, if any.
    pub(crate) fn current(&self) -> Option<Connection> {
        self.lock().connection.clone().filter(Connection::is_connected)
    }

    /// Whether the circuit refuses calls right now.
    pub(crate) fn is_open(&self) -> bool {
        self.lock().breaker.state(Instant::now()) == CircuitState::Open
    }

    /// Whether the last tool listing contains `name`.
    pub(crate) fn has_tool(&self, name: &str) -> bool {
        self.lock().tools.iter().any(|t| t == name)
    }

    /// Records the resource count of a successful listing and clears the fetch error.
    pub(crate) fn set_resources(&self, count: usize) {
        let mut s = self.lock();
        s.resources = count;
        s.last_error = None;
    }

    /// Records a fetch error for status.
    pub(crate) fn set_error(&self, message: String) {
        self.lock().last_error = Some(message);
    }

    /// The first connection attempt (at start-up): connects, lists tools. Counts toward the
    /// breaker and the backoff like any rebuild.
    pub(crate) async fn connect_first(&self) -> Result<Connection> {
        let _guard = self.rebuild.lock().await;
        match self.rebuild_now().await {
            Ok(conn) => {
                self.lock().breaker.on_success();
                Ok(conn)
            }
            Err(e) => {
                self.lock().breaker.on_failure(Instant::now());
                Err(e)
            }
        }
    }

    /// Runs `op` on the live connection (rebuilding it first if needed) under the breaker;
    /// see the module doc for retries and failure accounting. A JSON-RPC or SQL error
    /// from the server counts as a success for the breaker (the server answered).
    ///
    /// Errors: `MCP_UNAVAILABLE` (circuit open, backing off, rebuild failed, connection
    /// lost), `MCP_TIMEOUT`, and whatever `op` returns.
    pub(crate) async fn run<T, F, Fut>(&self, kind: CallKind, op: F) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.admit()?;
        let mut retried = false;
        loop {
            let conn = match self.ensure(Backoff::Respect).await {
                Ok(conn) => conn,
                Err(EnsureError::Attempted(e)) => {
                    self.record_failure(&e, None);
                    return Err(e);
                }
                Err(EnsureError::NotAttempted(e)) => return Err(e),
            };
            let started = Instant::now();
            let outcome = op(conn.clone()).await;
            self.observe(kind.method(), started);
            match outcome {
                Ok(value) => {
                    self.record_success();
                    return Ok(value);
                }
                Err(e) if is_transport_failure(&e) => {
                    self.record_failure(&e, Some(&conn));
                    if kind == CallKind::Read && !retried && self.admit().is_ok() {
                        tracing::info!(server = %self.server_id(), "retrying a read on a rebuilt connection: {e}");
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
                Err(e) => {
                    self.record_success();
                    return Err(e);
                }
            }
        }
    }

    /// Records MCP request durations into `timer` (labels: server, method) from now on.
    pub(crate) fn set_timer(&self, timer: prometheus::HistogramVec) {
        let _ = self.timer.set(timer);
    }

    fn observe(&self, method: &str, started: Instant) {
        if let Some(timer) = self.timer.get() {
            timer.with_label_values(&[self.config.server_id.as_str(), method]).observe(started.elapsed().as_secs_f64());
        }
    }

    /// One health probe: (re)connects if needed, then lists tools (resources for a server
    /// without tools) under `min(server timeout, 5 s)`; records latency and time, feeds
    /// the breaker (a success closes it, even from `open`). Rebuilds a lost connection even
    /// while calls are backing off (see [`Backoff`]); does nothing after close.
    pub(crate) async fn probe(&self) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let started = Instant::now();
        let conn = match self.ensure(Backoff::Ignore).await {
            Ok(conn) => conn,
            Err(EnsureError::NotAttempted(_)) => return,
            Err(EnsureError::Attempted(e)) => {
                self.record_probe(started);
                self.record_failure(&e, None);
                return;
            }
        };
        let limit = self.config.request_timeout().min(self.policy.probe_timeout);
        // A server without tools (e.g. a resources-only metadata server) is asked for its
        // resources instead: `list_tools` would answer locally and never notice it died.
        let offers_tools = conn.offers_tools();
        let request = async {
            if offers_tools { conn.list_tools().await.map(Some) } else { conn.list_resources().await.map(|_| None) }
        };
        let result = match tokio::time::timeout(limit, request).await {
            Ok(result) => result,
            Err(_) => Err(errors::timeout(self.server_id(), limit)),
        };
        self.observe(if offers_tools { "tools/list" } else { "resources/list" }, started);
        self.record_probe(started);
        match result {
            Ok(tools) => {
                if let Some(tools) = tools {
                    self.lock().tools = tools.into_iter().map(|t| t.name.to_string()).collect();
                }
                self.record_success();
            }
            Err(e) if is_transport_failure(&e) => self.record_failure(&e, Some(&conn)),
            Err(e) => {
                tracing::debug!(server = %self.server_id(), "probe: server answered with an error: {e}");
                self.record_success();
            }
        }
    }

    fn record_probe(&self, started: Instant) {
        let mut s = self.lock();
        s.last_probe_latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        s.last_probe_at = Some(Utc::now());
    }

    fn admit(&self) -> Result<()> {
        let refusal = self.lock().breaker.admit(Instant::now());
        match refusal {
            Ok(()) => Ok(()),
            Err(Refusal::OpenUntil(until)) => Err(Error::new(
                ErrorKind::McpUnavailable,
                format!("circuit open for {} until {}", self.server_id(), wall_clock(until)),
            )),
            Err(Refusal::TrialInFlight(until)) => Err(Error::new(
                ErrorKind::McpUnavailable,
                format!(
                    "circuit half-open for {}: a trial call is in flight (at most until {})",
                    self.server_id(),
                    wall_clock(until)
                ),
            )),
        }
    }

    fn record_success(&self) {
        self.lock().breaker.on_success();
    }

    /// Counts a failure; a transport failure on `conn` discards it (closed after a grace
    /// period so other calls in flight on it may finish). Failures of calls on a
    /// connection that is already discarded are the same incident (e.g. parallel calls on
    /// one hung connection all timing out) and are not counted again.
    fn record_failure(&self, e: &Error, conn: Option<&Connection>) {
        let discarded = {
            let mut s = self.lock();
            let already_discarded =
                conn.is_some_and(|failed| s.connection.as_ref().is_none_or(|current| current.id() != failed.id()));
            if already_discarded {
                tracing::debug!(server = %self.server_id(), "failure on a discarded connection: {e}");
                return;
            }
            s.breaker.on_failure(Instant::now());
            s.last_error = Some(e.to_string());
            match (conn, &s.connection) {
                (Some(failed), Some(current)) if failed.id() == current.id() => s.connection.take(),
                _ => None,
            }
        };
        if let Some(old) = discarded {
            tracing::warn!(server = %self.server_id(), "discarding the connection: {e}");
            let grace = self.config.request_timeout().min(DISCARD_GRACE_CAP);
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                old.close().await;
            });
        }
    }

    /// The live connection, or a rebuilt one (one rebuild at a time; waiters reuse its
    /// result).
    async fn ensure(&self, backoff: Backoff) -> std::result::Result<Connection, EnsureError> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let _guard = self.rebuild.lock().await;
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(EnsureError::NotAttempted(Error::new(
                ErrorKind::McpUnavailable,
                format!("{}: closed", self.server_id()),
            )));
        }
        let waiting = if backoff == Backoff::Ignore {
            None
        } else {
            let s = self.lock();
            s.next_attempt.filter(|at| *at > Instant::now()).map(|at| (at, s.last_error.clone().unwrap_or_default()))
        };
        if let Some((at, last)) = waiting {
            let left = at.saturating_duration_since(Instant::now());
            return Err(EnsureError::NotAttempted(Error::new(
                ErrorKind::McpUnavailable,
                format!(
                    "{}: reconnecting, next attempt in {:.1} s (last error: {last})",
                    self.server_id(),
                    left.as_secs_f64()
                ),
            )));
        }
        self.rebuild_now().await.map_err(EnsureError::Attempted)
    }

    /// Connects anew (caller holds the rebuild lock) and lists tools; on failure schedules
    /// the next attempt after the backoff.
    async fn rebuild_now(&self) -> Result<Connection> {
        let stale = self.lock().connection.take();
        if let Some(old) = stale {
            tokio::spawn(async move { old.close().await });
        }
        let attempt =
            Connection::connect_with(&self.config, self.in_process.clone(), self.policy.handshake_timeout).await;
        match attempt {
            Ok(conn) => {
                let tools = conn.list_tools().await;
                let mut s = self.lock();
                if let Ok(tools) = tools {
                    s.tools = tools.into_iter().map(|t| t.name.to_string()).collect();
                }
                if s.ever_connected {
                    s.reconnects += 1;
                    tracing::info!(server = %self.config.server_id, reconnects = s.reconnects, "MCP connection rebuilt");
                }
                s.ever_connected = true;
                s.failed_attempts = 0;
                s.next_attempt = None;
                s.last_error = None;
                s.protocol_version = Some(conn.protocol_version().to_string());
                s.connection = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                let mut s = self.lock();
                s.failed_attempts = s.failed_attempts.saturating_add(1);
                let delay = self.policy.backoff(s.failed_attempts);
                s.next_attempt = Some(Instant::now() + delay);
                s.last_error = Some(e.to_string());
                tracing::warn!(server = %self.config.server_id, attempt = s.failed_attempts, "MCP connect failed (next attempt in {delay:?}): {e}");
                Err(e)
            }
        }
    }

    /// The health snapshot for status output.
    pub(crate) fn health(&self) -> Health {
        let s = self.lock();
        let live = s.connection.as_ref().filter(|c| c.is_connected());
        let last_error = match (live, &s.connection) {
            (Some(_), _) => s.last_error.clone(),
            (None, Some(dead)) => dead.last_error().or_else(|| s.last_error.clone()),
            (None, None) => s.last_error.clone(),
        };
        Health {
            connected: live.is_some(),
            last_error,
            tools: s.tools.clone(),
            resources: s.resources,
            circuit_state: s.breaker.state(Instant::now()),
            consecutive_failures: s.breaker.consecutive_failures(),
            last_probe_latency_ms: s.last_probe_latency_ms,
            last_probe_at: s.last_probe_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            reconnects: s.reconnects,
            protocol_version: s.protocol_version.clone(),
        }
    }

    /// Closes the connection; later calls fail with `MCP_UNAVAILABLE` and probes stop.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let conn = {
            let _guard = self.rebuild.lock().await;
            self.lock().connection.clone()
        };
        if let Some(conn) = conn {
            conn.close().await;
        }
    }
}
