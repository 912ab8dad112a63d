//! The set of MCP servers: connects them in parallel, gathers their resources (cached per
//! server in moka), routes SQL to the database server, and reports status.
//!
//! Lower `priority` number wins everywhere (ties by `server_id`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;
use talk2tables_common::QueryOutput;

use crate::config::{Config, ServerConfig, TransportKind};
use crate::context::FetchedResource;
use crate::error::{Error, ErrorKind, Result};
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
    /// Number of resources at the last listing (connect time or last fetch).
    pub resources: usize,
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
    /// The connection's resource-change counter when fetched.
    changes: u64,
}

struct Slot {
    config: ServerConfig,
    state: RwLock<SlotState>,
}

#[derive(Default)]
struct SlotState {
    connection: Option<Connection>,
    error: Option<String>,
    tools: Vec<String>,
    resources: usize,
}

impl Slot {
    fn connection(&self) -> Option<Connection> {
        self.state.read().ok().and_then(|s| s.connection.clone()).filter(Connection::is_connected)
    }

    fn set_error(&self, message: String) {
        if let Ok(mut s) = self.state.write() {
            s.error = Some(message);
        }
    }
}

/// The configured MCP servers and what is known about them.
pub(crate) struct Orchestrator {
    /// By priority, then `server_id`.
    slots: Vec<Slot>,
    cache: Option<moka::future::Cache<String, Arc<ServerResources>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    epochs: AtomicU64,
    started: AtomicBool,
}

impl Orchestrator {
    /// Connects every server of `config.servers` in parallel. `in_process` holds the
    /// server factories for `InProcess` servers, keyed by `server_id`. After connecting,
    /// each server's tools and resources are listed once (for status and routing).
    ///
    /// A failed server is recorded and stays down. Errors: `MCP_UNAVAILABLE` naming the
    /// failed servers when `orchestration.fail_fast` or `require_multi_mcp` is set and any
    /// server failed (the others are closed again). No server connected at all is not an
    /// error: [`Orchestrator::statuses`] and [`Orchestrator::is_ready`] show it.
    pub(crate) async fn start(
        config: &Config,
        mut in_process: HashMap<String, InProcessServer>,
    ) -> Result<Orchestrator> {
        let mut configs = config.servers.clone();
        configs.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.server_id.cmp(&b.server_id)));
        let attempts = configs.iter().map(|c| {
            let factory = in_process.remove(&c.server_id);
            async move {
                let conn = Connection::connect(c, factory).await?;
                let tools = match conn.list_tools().await {
                    Ok(tools) => tools.into_iter().map(|t| t.name.to_string()).collect(),
                    Err(e) => {
                        tracing::warn!(server = %c.server_id, "tools/list failed: {e}");
                        Vec::new()
                    }
                };
                let resources = match conn.list_resources().await {
                    Ok(r) => r.len(),
                    Err(e) => {
                        tracing::warn!(server = %c.server_id, "resources/list failed: {e}");
                        0
                    }
                };
                Ok::<_, Error>((conn, tools, resources))
            }
        });
        let results = join_all(attempts).await;
        let mut slots = Vec::with_capacity(configs.len());
        let mut failed = Vec::new();
        for (config, result) in configs.into_iter().zip(results) {
            let state = match result {
                Ok((connection, tools, resources)) => {
                    SlotState { connection: Some(connection), error: None, tools, resources }
                }
                Err(e) => {
                    tracing::warn!(server = %config.server_id, "MCP server not connected: {e}");
                    failed.push(format!("{} ({e})", config.server_id));
                    SlotState { error: Some(e.to_string()), ..SlotState::default() }
                }
            };
            slots.push(Slot { config, state: RwLock::new(state) });
        }
        let ttl = config.orchestration.resource_cache_ttl;
        let cache = (ttl > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(slots.len().max(1) as u64)
                .time_to_live(Duration::from_secs(ttl))
                .build()
        });
        let orchestrator = Orchestrator {
            slots,
            cache,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            epochs: AtomicU64::new(0),
            started: AtomicBool::new(true),
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

    fn slot(&self, server_id: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.config.server_id == server_id)
    }

    /// The connected server that runs SQL: among servers whose config `capabilities`
    /// include `execute_query`, the lowest priority number (ties by `server_id`); when no
    /// server declares any capabilities, the first (by priority) whose tool list contains
    /// `execute_query`. `None` when no such server is connected.
    pub(crate) fn database_server(&self) -> Option<&str> {
        let declared = self.slots.iter().any(|s| !s.config.capabilities.is_empty());
        self.slots
            .iter()
            .filter(|s| {
                if declared {
                    s.config.has_capability(EXECUTE_QUERY_TOOL)
                } else {
                    s.state.read().is_ok_and(|st| st.tools.iter().any(|t| t == EXECUTE_QUERY_TOOL))
                }
            })
            .find(|s| s.connection().is_some())
            .map(|s| s.config.server_id.as_str())
    }

    /// `server_id`s whose configured `domains` include `domain` (case-insensitive), by
    /// priority; connected or not.
    #[allow(dead_code, reason = "domain routing for servers beyond the two examples")]
    pub(crate) fn servers_for_domain(&self, domain: &str) -> Vec<String> {
        self.slots
            .iter()
            .filter(|s| s.config.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
            .map(|s| s.config.server_id.clone())
            .collect()
    }

    /// True when started (and not closed) and a database server is connected.
    pub(crate) fn is_ready(&self) -> bool {
        self.started.load(Ordering::Acquire) && self.database_server().is_some()
    }

    /// Lists and reads every resource of every connected server in `scope`, servers in
    /// parallel, each from the cache when fresh (TTL `orchestration.resource_cache_ttl`;
    /// 0 = always fetch). A warm cache makes no MCP request.
    ///
    /// A server that is down or fails is listed in `missing` (error logged and kept for
    /// its status) while the others still answer. Errors: `MCP_UNAVAILABLE` when no
    /// database server is connected or the database server's fetch failed (nothing can
    /// be answered without its schema).
    pub(crate) async fn gather(&self, scope: Scope) -> Result<Gathered> {
        let Some(database) = self.database_server().map(str::to_string) else {
            return Err(Error::new(ErrorKind::McpUnavailable, "no connected MCP server offers execute_query"));
        };
        let in_scope: Vec<&Slot> = match scope {
            Scope::DatabaseOnly => self.slots.iter().filter(|s| s.config.server_id == database).collect(),
            Scope::All => self.slots.iter().collect(),
        };
        let fetches = in_scope.iter().map(|slot| async move {
            match slot.connection() {
                None => Err(Error::new(ErrorKind::McpUnavailable, format!("{}: not connected", slot.config.server_id))),
                Some(conn) => self.server_resources(slot, &conn).await,
            }
        });
        let results = join_all(fetches).await;
        let mut gathered =
            Gathered { resources: Vec::new(), servers_used: Vec::new(), missing: Vec::new(), fingerprint: Vec::new() };
        for (slot, result) in in_scope.iter().zip(results) {
            let id = slot.config.server_id.clone();
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

    /// One server's resources, from the cache when fresh and unchanged.
    async fn server_resources(&self, slot: &Slot, conn: &Connection) -> Result<Arc<ServerResources>> {
        let id = &slot.config.server_id;
        let Some(cache) = &self.cache else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return self.fetch(slot, conn).await.map(Arc::new);
        };
        if let Some(cached) = cache.get(id).await {
            if cached.changes == conn.resource_changes() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(cached);
            }
            cache.invalidate(id).await;
        }
        // Concurrent misses for one server share a single fetch; only the caller whose
        // fetch ran counts a miss (a failed fetch is a miss too and is not cached).
        let ran = AtomicBool::new(false);
        let entry = cache
            .entry_by_ref(id.as_str())
            .or_try_insert_with(async {
                ran.store(true, Ordering::Relaxed);
                self.fetch(slot, conn).await.map(Arc::new)
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
    async fn fetch(&self, slot: &Slot, conn: &Connection) -> Result<ServerResources> {
        let result = async {
            let changes = conn.resource_changes();
            let listed = conn.list_resources().await?;
            let reads = join_all(listed.iter().map(|r| conn.read_resource(&r.uri))).await;
            let mut resources = Vec::with_capacity(listed.len());
            for (meta, text) in listed.iter().zip(reads) {
                let text = text?;
                if text.is_empty() {
                    tracing::debug!(server = %conn.server_id(), uri = %meta.uri, "resource without text skipped");
                    continue;
                }
                resources.push(FetchedResource {
                    server_id: conn.server_id().to_string(),
                    uri: meta.uri.clone(),
                    name: meta.name.clone(),
                    mime_type: meta.mime_type.clone(),
                    text,
                });
            }
            let epoch = self.epochs.fetch_add(1, Ordering::Relaxed) + 1;
            Ok::<_, Error>((ServerResources { resources, epoch, changes }, listed.len()))
        }
        .await;
        match result {
            Ok((fetched, listed)) => {
                if let Ok(mut s) = slot.state.write() {
                    s.resources = listed;
                    s.error = None;
                }
                Ok(fetched)
            }
            Err(e) => {
                slot.set_error(e.to_string());
                Err(e)
            }
        }
    }

    /// Runs `sql` on [`Orchestrator::database_server`].
    ///
    /// Errors: `MCP_UNAVAILABLE` when no database server is connected; otherwise those of
    /// [`Connection::execute_query`] (`SQL_REJECTED`, `SQL_EXECUTION_FAILED`,
    /// `MCP_TIMEOUT`, …).
    pub(crate) async fn execute_query(&self, sql: &str) -> Result<Executed> {
        let conn = self
            .database_server()
            .and_then(|id| self.slot(id))
            .and_then(Slot::connection)
            .ok_or_else(|| Error::new(ErrorKind::McpUnavailable, "no connected MCP server offers execute_query"))?;
        let output = conn.execute_query(sql).await?;
        Ok(Executed { output, server_id: conn.server_id().to_string() })
    }

    /// Every configured server's status, by priority.
    pub(crate) fn statuses(&self) -> Vec<ServerStatus> {
        self.slots
            .iter()
            .map(|slot| {
                let state = slot.state.read();
                let (conn, error, tools, resources) = match &state {
                    Ok(s) => (s.connection.clone(), s.error.clone(), s.tools.clone(), s.resources),
                    Err(_) => (None, Some("state unavailable".into()), Vec::new(), 0),
                };
                let connected = conn.as_ref().is_some_and(Connection::is_connected);
                let last_error = if connected { error } else { conn.and_then(|c| c.last_error()).or(error) };
                ServerStatus {
                    server_id: slot.config.server_id.clone(),
                    name: slot.config.name.clone(),
                    transport: slot.config.transport,
                    priority: slot.config.priority,
                    domains: slot.config.domains.clone(),
                    connected,
                    last_error,
                    tools,
                    resources,
                }
            })
            .collect()
    }

    /// Resource-cache counters (hits and misses since start; entries now).
    pub(crate) fn cache_stats(&self) -> CacheStats {
        let entries = match &self.cache {
            Some(cache) => self.slots.iter().filter(|s| cache.contains_key(&s.config.server_id)).count() as u64,
            None => 0,
        };
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed), entries }
    }

    /// Closes every connection (in parallel) and empties the cache; afterwards the
    /// orchestrator is not ready.
    pub(crate) async fn close(&self) {
        self.started.store(false, Ordering::Release);
        let conns: Vec<Connection> =
            self.slots.iter().filter_map(|s| s.state.read().ok().and_then(|st| st.connection.clone())).collect();
        join_all(conns.iter().map(Connection::close)).await;
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests;
