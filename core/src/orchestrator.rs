//! The set of MCP servers: connects them in parallel, gathers their resources (cached per
//! server in moka), routes SQL to the database server, and reports status.
//!
//! Lower `priority` number wins everywhere (ties by `server_id`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::join_all;
use rmcp::model::CallToolResult;
use serde::Serialize;
use talk2tables_common::QueryOutput;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, TransportKind};
use crate::context::FetchedResource;
use crate::error::{Error, ErrorKind, Result};
use crate::mcp::breaker::CircuitState;
use crate::mcp::supervisor::{CallKind, HealPolicy, Supervisor};
use crate::mcp::{Connection, EXECUTE_QUERY_TOOL, InProcessServer};

/// Which servers [`Orchestrator::gather`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only the database server (`single_mcp` mode: schema only).
    DatabaseOnly,
    /// Every configured server (`multi_mcp` mode).
    All,
}

/// The resources of the servers in scope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gathered {
    /// Every text resource of every answering server, servers by priority (lowest number
    /// first), each server's resources in its listing order.
    pub resources: Vec<FetchedResource>,
    /// `server_id`s that answered, by priority.
    pub servers_used: Vec<String>,
    /// `server_id`s in scope that are down or whose fetch failed, by priority.
    pub missing: Vec<String>,
    /// `(server_id, epoch)` per answering server; the epoch changes each time that
    /// server's resources are fetched again (key for caches of derived context).
    pub fingerprint: Vec<(String, u64)>,
}

/// The result of [`Orchestrator::execute_query`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Executed {
    /// The rows.
    pub output: QueryOutput,
    /// The server that ran the SQL.
    pub server_id: String,
}

/// One server's state, as `GET /api/health` and `/mcp/status` report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ServerStatus {
    /// Config key.
    pub server_id: String,
    /// Display name.
    pub name: String,
    /// Configured transport.
    pub transport: TransportKind,
    /// Lower number wins.
    pub priority: u32,
    /// Configured business domains.
    pub domains: Vec<String>,
    /// Whether the connection is up.
    pub connected: bool,
    /// Why it is down (connect failure, lost connection), or the last fetch error.
    pub last_error: Option<String>,
    /// Tool names listed at connect time.
    pub tools: Vec<String>,
    /// Resources at the last listing (connect time or last fetch).
    pub resources: Vec<crate::status::ResourceRef>,
    /// Circuit breaker: `"closed"`, `"open"` (calls fail fast) or `"half_open"`.
    pub circuit_state: CircuitState,
    /// Consecutive transport failures/timeouts (reset by a success).
    pub consecutive_failures: u32,
    /// Duration of the last background probe in milliseconds (`None` before the first).
    pub last_probe_latency_ms: Option<f64>,
    /// When the last probe ran (RFC 3339 UTC).
    pub last_probe_at: Option<String>,
    /// Successful reconnects after the first connection.
    pub reconnects: u64,
    /// MCP protocol version negotiated by the last connection (e.g. `2025-11-25`).
    pub protocol_version: Option<String>,
}

/// Resource-cache counters. A hit is one server's resources served from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct CacheStats {
    /// Servers' resources served from the cache.
    pub hits: u64,
    /// Servers' resources fetched (cache empty, expired, or disabled).
    pub misses: u64,
    /// Servers whose resources are cached now.
    pub entries: u64,
}

/// One server's cached resources.
#[derive(Debug)]
struct ServerResources {
    resources: Vec<FetchedResource>,
    epoch: u64,
    /// The connection they were read from ([`Connection::id`]); a rebuilt connection
    /// makes them stale.
    connection: u64,
    /// The connection's resource-change counter when fetched.
    changes: u64,
}

/// The configured MCP servers and what is known about them. Dropping it (or
/// [`Orchestrator::close`]) stops the background probe.
pub(crate) struct Orchestrator {
    /// By priority, then `server_id`.
    supervisors: Vec<Arc<Supervisor>>,
    cache: Option<moka::future::Cache<String, Arc<ServerResources>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    epochs: AtomicU64,
    started: AtomicBool,
    /// Cancels the background probe.
    cancel: CancellationToken,
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The probe interval: `HEALTH_CHECK_INTERVAL` (seconds) when set and valid, else
/// `orchestration.health_check_interval`; `None` when 0 (probing off).
fn probe_interval(config: &Config) -> Option<Duration> {
    let secs = std::env::var("HEALTH_CHECK_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(config.orchestration.health_check_interval);
    (secs > 0).then(|| Duration::from_secs(secs.min(crate::config::MAX_SECONDS_SETTING)))
}

impl Orchestrator {
    /// Connects every server of `config.servers` in parallel. `in_process` holds the
    /// server factories for `InProcess` servers, keyed by `server_id`. After connecting,
    /// each server's tools and resources are listed once (for status and routing).
    /// Then a background probe runs every `health_check_interval` seconds (see
    /// [`probe_interval`]) until [`Orchestrator::close`] or drop.
    ///
    /// A failed server is recorded; calls and probes reconnect it later (see
    /// [`Supervisor`]). Errors: `MCP_UNAVAILABLE` naming the failed servers when
    /// `orchestration.fail_fast` or `require_multi_mcp` is set and any server failed (the
    /// others are closed again). No server connected at all is not an error:
    /// [`Orchestrator::statuses`] and [`Orchestrator::is_ready`] show it.
    pub(crate) async fn start(config: &Config, in_process: HashMap<String, InProcessServer>) -> Result<Orchestrator> {
        let policy = HealPolicy::from_config(&config.orchestration);
        Self::start_with(config, in_process, policy, probe_interval(config)).await
    }

    /// [`Orchestrator::start`] with an explicit heal policy and probe interval (`None` =
    /// no probe); tests use short ones.
    pub(crate) async fn start_with(
        config: &Config,
        mut in_process: HashMap<String, InProcessServer>,
        policy: HealPolicy,
        probe_every: Option<Duration>,
    ) -> Result<Orchestrator> {
        let mut configs = config.servers.clone();
        configs.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.server_id.cmp(&b.server_id)));
        let supervisors: Vec<Arc<Supervisor>> = configs
            .into_iter()
            .map(|c| {
                let factory = in_process.remove(&c.server_id);
                Arc::new(Supervisor::new(c, factory, policy))
            })
            .collect();
        let attempts = supervisors.iter().map(|sup| async move {
            let conn = sup.connect_first().await?;
            match conn.list_resources().await {
                Ok(r) => sup.set_resources(&r),
                Err(e) => {
                    tracing::warn!(server = %sup.config().server_id, "resources/list failed: {e}");
                }
            }
            Ok::<_, Error>(())
        });
        let results = join_all(attempts).await;
        let mut failed = Vec::new();
        for (sup, result) in supervisors.iter().zip(results) {
            if let Err(e) = result {
                tracing::warn!(server = %sup.config().server_id, "MCP server not connected: {e}");
                failed.push(format!("{} ({e})", sup.config().server_id));
            }
        }
        let ttl = config.orchestration.resource_cache_ttl;
        let cache = (ttl > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(supervisors.len().max(1) as u64)
                .time_to_live(Duration::from_secs(ttl))
                .build()
        });
        let cancel = CancellationToken::new();
        if let Some(every) = probe_every {
            probe::spawn(supervisors.iter().map(Arc::downgrade).collect(), every, cancel.clone());
        }
        let orchestrator = Orchestrator {
            supervisors,
            cache,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            epochs: AtomicU64::new(0),
            started: AtomicBool::new(true),
            cancel,
        };
        if !failed.is_empty() && (config.orchestration.fail_fast || config.require_multi_mcp) {
            orchestrator.close().await;
            return Err(Error::new(
                ErrorKind::McpUnavailable,
                format!("MCP server(s) failed to connect: {}", failed.join("; ")),
            ));
        }
        Ok(orchestrator)
    }

    fn supervisor(&self, server_id: &str) -> Option<&Arc<Supervisor>> {
        self.supervisors.iter().find(|s| s.config().server_id == server_id)
    }

    /// Servers that can run SQL, by priority: those whose config `capabilities` include
    /// `execute_query`; when no server declares any capabilities, those whose last tool
    /// list contains `execute_query`.
    fn database_candidates(&self) -> impl Iterator<Item = &Arc<Supervisor>> {
        let declared = self.supervisors.iter().any(|s| !s.config().capabilities.is_empty());
        self.supervisors.iter().filter(move |s| {
            if declared { s.config().has_capability(EXECUTE_QUERY_TOOL) } else { s.has_tool(EXECUTE_QUERY_TOOL) }
        })
    }

    /// The connected server that runs SQL: the first (by priority, ties by `server_id`)
    /// connected database candidate (see `database_candidates`). `None` when none is
    /// connected.
    pub(crate) fn database_server(&self) -> Option<&str> {
        self.database_candidates().find(|s| s.current().is_some()).map(|s| s.config().server_id.as_str())
    }

    /// The server SQL goes to: the connected database server, else the first candidate
    /// whose circuit is not open (the call reconnects it), else the first candidate (the
    /// call then fails fast naming its open circuit).
    fn database_target(&self) -> Option<&Arc<Supervisor>> {
        self.database_candidates()
            .find(|s| s.current().is_some())
            .or_else(|| self.database_candidates().find(|s| !s.is_open()))
            .or_else(|| self.database_candidates().next())
    }

    /// The server that answers tool `name`: among servers whose last tool list contains
    /// it, by priority (lowest number first, ties by `server_id`), the first whose circuit
    /// is not open, else the first. `None` when no server lists the tool.
    #[cfg_attr(not(test), allow(dead_code, reason = "routing by tool and domain for servers beyond the two examples"))]
    pub(crate) fn server_for_tool(&self, name: &str) -> Option<&str> {
        let offering = || self.supervisors.iter().filter(|s| s.has_tool(name));
        offering().find(|s| !s.is_open()).or_else(|| offering().next()).map(|s| s.config().server_id.as_str())
    }

    /// Calls tool `name` with `args` on [`Orchestrator::server_for_tool`]; never replayed.
    /// Returns the server id and the result (a tool-level failure is `Ok` with
    /// `is_error = Some(true)`).
    ///
    /// Errors: `MCP_UNAVAILABLE` (no server offers it, circuit open, connection lost),
    /// `MCP_TIMEOUT`, `MCP_PROTOCOL_ERROR`.
    #[cfg_attr(not(test), allow(dead_code, reason = "routing by tool and domain for servers beyond the two examples"))]
    pub(crate) async fn call_tool(
        &self,
        name: &str,
        args: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(String, CallToolResult)> {
        let sup = self
            .server_for_tool(name)
            .and_then(|id| self.supervisor(id))
            .ok_or_else(|| Error::new(ErrorKind::McpUnavailable, format!("no MCP server offers the tool `{name}`")))?;
        let result = sup
            .run(CallKind::Tool, |conn| {
                let args = args.clone();
                async move { conn.call_tool(name, args).await }
            })
            .await?;
        Ok((sup.config().server_id.clone(), result))
    }

    /// `server_id`s whose configured `domains` include `domain` (case-insensitive), by
    /// priority; connected or not.
    #[cfg_attr(not(test), allow(dead_code, reason = "routing by tool and domain for servers beyond the two examples"))]
    pub(crate) fn servers_for_domain(&self, domain: &str) -> Vec<String> {
        self.supervisors
            .iter()
            .filter(|s| s.config().domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
            .map(|s| s.config().server_id.clone())
            .collect()
    }

    /// True when started (and not closed) and a database server is connected.
    pub(crate) fn is_ready(&self) -> bool {
        self.started.load(Ordering::Acquire) && self.database_server().is_some()
    }

    /// Lists and reads every resource of every server in `scope`, servers in parallel,
    /// each from the cache when fresh (TTL `orchestration.resource_cache_ttl`; 0 = always
    /// fetch) and read from the current connection. A warm cache makes no MCP request.
    /// Down servers are reconnected on the way (unless their circuit is open, which
    /// answers at once); a failed fetch is retried once on a rebuilt connection.
    ///
    /// A server that is down or fails is listed in `missing` (error logged and kept for
    /// its status) while the others still answer. Errors: `MCP_UNAVAILABLE` when no
    /// server offers `execute_query` or the database server's fetch failed (nothing can
    /// be answered without its schema).
    pub(crate) async fn gather(&self, scope: Scope) -> Result<Gathered> {
        let Some(database) = self.database_target().map(|s| s.config().server_id.clone()) else {
            return Err(Error::new(ErrorKind::McpUnavailable, "no connected MCP server offers execute_query"));
        };
        let in_scope: Vec<&Arc<Supervisor>> = match scope {
            Scope::DatabaseOnly => self.supervisors.iter().filter(|s| s.config().server_id == database).collect(),
            Scope::All => self.supervisors.iter().collect(),
        };
        let fetches = in_scope.iter().map(|sup| self.server_resources(sup));
        let results = join_all(fetches).await;
        let mut gathered =
            Gathered { resources: Vec::new(), servers_used: Vec::new(), missing: Vec::new(), fingerprint: Vec::new() };
        for (sup, result) in in_scope.iter().zip(results) {
            let id = sup.config().server_id.clone();
            match result {
                Ok(fetched) => {
                    gathered.resources.extend(fetched.resources.iter().cloned());
                    gathered.fingerprint.push((id.clone(), fetched.epoch));
                    gathered.servers_used.push(id);
                }
                Err(e) if id == database => {
                    return Err(Error::new(
                        ErrorKind::McpUnavailable,
                        format!("database server unavailable: {}", e.message()),
                    )
                    .with_source(e));
                }
                Err(e) => {
                    tracing::warn!(server = %id, "resources unavailable: {e}");
                    gathered.missing.push(id);
                }
            }
        }
        Ok(gathered)
    }

    /// One server's resources through its supervisor (reconnect, breaker, one retry).
    async fn server_resources(&self, sup: &Supervisor) -> Result<Arc<ServerResources>> {
        // A fresh entry for the live connection answers without the supervisor: no MCP
        // request is made, so none is timed into the request histogram (a warm question
        // shows only its `tools/call`).
        if let Some(conn) = sup.current()
            && !sup.is_open()
            && let Some(hit) = self.fresh(&sup.config().server_id, &conn).await
        {
            return Ok(hit);
        }
        let result = sup
            .run(CallKind::Read, |conn| async move { self.cached_or_fetch(&sup.config().server_id, &conn).await })
            .await;
        if let Err(e) = &result {
            sup.set_error(e.to_string());
        }
        result
    }

    /// The cached resources of `id` when read from `conn` and unchanged since (counted as
    /// a hit); `None` when absent, stale, or the cache is off.
    async fn fresh(&self, id: &str, conn: &Connection) -> Option<Arc<ServerResources>> {
        let cached = self.cache.as_ref()?.get(id).await?;
        let fresh = cached.connection == conn.id() && cached.changes == conn.resource_changes();
        fresh.then(|| {
            self.hits.fetch_add(1, Ordering::Relaxed);
            cached
        })
    }

    /// One server's resources, from the cache when fresh, read from this same connection
    /// and unchanged since.
    async fn cached_or_fetch(&self, id: &str, conn: &Connection) -> Result<Arc<ServerResources>> {
        let Some(cache) = &self.cache else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return self.fetch(id, conn).await.map(Arc::new);
        };
        if let Some(cached) = cache.get(id).await {
            if cached.connection == conn.id() && cached.changes == conn.resource_changes() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(cached);
            }
            cache.invalidate(id).await;
        }
        // Concurrent misses for one server share a single fetch; only the caller whose
        // fetch ran counts a miss (a failed fetch is a miss too and is not cached).
        let ran = AtomicBool::new(false);
        let entry = cache
            .entry_by_ref(id)
            .or_try_insert_with(async {
                ran.store(true, Ordering::Relaxed);
                self.fetch(id, conn).await.map(Arc::new)
            })
            .await;
        if ran.load(Ordering::Relaxed) {
            self.misses.fetch_add(1, Ordering::Relaxed);
        } else if entry.is_ok() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        let entry = entry.map_err(|e| Error::new(e.kind(), e.message().to_string()))?;
        Ok(entry.into_value())
    }

    /// Lists and reads one server's resources (skipping binary-only ones).
    async fn fetch(&self, id: &str, conn: &Connection) -> Result<ServerResources> {
        let changes = conn.resource_changes();
        let listed = conn.list_resources().await?;
        let reads = join_all(listed.iter().map(|r| conn.read_resource(&r.uri))).await;
        let mut resources = Vec::with_capacity(listed.len());
        for (meta, text) in listed.iter().zip(reads) {
            let text = text?;
            if text.is_empty() {
                tracing::debug!(server = %id, uri = %meta.uri, "resource without text skipped");
                continue;
            }
            resources.push(FetchedResource {
                server_id: id.to_string(),
                uri: meta.uri.clone(),
                name: meta.name.clone(),
                mime_type: meta.mime_type.clone(),
                text,
            });
        }
        if let Some(sup) = self.supervisor(id) {
            sup.set_resources(&listed);
        }
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(ServerResources { resources, epoch, connection: conn.id(), changes })
    }

    /// Runs `sql` on the database server (see `database_target`); never replayed.
    ///
    /// Errors: `MCP_UNAVAILABLE` when no server offers `execute_query`, its circuit is
    /// open or it cannot be reached; otherwise those of [`Connection::execute_query`]
    /// (`SQL_REJECTED`, `SQL_EXECUTION_FAILED`, `MCP_TIMEOUT`, …).
    pub(crate) async fn execute_query(&self, sql: &str) -> Result<Executed> {
        let sup = self
            .database_target()
            .ok_or_else(|| Error::new(ErrorKind::McpUnavailable, "no connected MCP server offers execute_query"))?;
        let output = sup.run(CallKind::Tool, |conn| async move { conn.execute_query(sql).await }).await?;
        Ok(Executed { output, server_id: sup.config().server_id.clone() })
    }

    /// Records every MCP request's duration in `timer` (labels: server, method).
    pub(crate) fn set_request_timer(&self, timer: &prometheus::HistogramVec) {
        for sup in &self.supervisors {
            sup.set_timer(timer.clone());
        }
    }

    /// Every configured server's status, by priority.
    pub(crate) fn statuses(&self) -> Vec<ServerStatus> {
        self.supervisors
            .iter()
            .map(|sup| {
                let h = sup.health();
                let c = sup.config();
                ServerStatus {
                    server_id: c.server_id.clone(),
                    name: c.name.clone(),
                    transport: c.transport,
                    priority: c.priority,
                    domains: c.domains.clone(),
                    connected: h.connected,
                    last_error: h.last_error,
                    tools: h.tools,
                    resources: h.resources,
                    circuit_state: h.circuit_state,
                    consecutive_failures: h.consecutive_failures,
                    last_probe_latency_ms: h.last_probe_latency_ms,
                    last_probe_at: h.last_probe_at,
                    reconnects: h.reconnects,
                    protocol_version: h.protocol_version,
                }
            })
            .collect()
    }

    /// Resource-cache counters (hits and misses since start; entries now).
    pub(crate) fn cache_stats(&self) -> CacheStats {
        let entries = match &self.cache {
            Some(cache) => self.supervisors.iter().filter(|s| cache.contains_key(&s.config().server_id)).count() as u64,
            None => 0,
        };
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed), entries }
    }

    /// Stops the probe, closes every connection (in parallel) and empties the cache;
    /// afterwards the orchestrator is not ready and calls fail with `MCP_UNAVAILABLE`.
    pub(crate) async fn close(&self) {
        self.started.store(false, Ordering::Release);
        self.cancel.cancel();
        join_all(self.supervisors.iter().map(|s| s.close())).await;
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }
}

mod probe;

#[cfg(test)]
mod heal_tests;
#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;
