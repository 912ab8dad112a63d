//! Modes, health and readiness as the HTTP API reports them (DESIGN.md §3).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::TransportKind;
use crate::engine::Inner;
use crate::response::Mode;

/// `GET /api/chat/modes`.
#[derive(Debug, Clone, Serialize)]
pub struct ModesInfo {
    /// Every mode with whether it can run now.
    pub available_modes: Vec<ModeInfo>,
    /// The mode used when a request names none (`auto`).
    pub default_mode: Mode,
    /// `ready`, `not_ready` (no Database MCP connected) or `disabled` (`ENABLE_MULTI_MCP=false`).
    pub orchestrator_status: String,
}

/// One entry of [`ModesInfo::available_modes`].
#[derive(Debug, Clone, Serialize)]
pub struct ModeInfo {
    /// The mode.
    pub mode: Mode,
    /// What it does.
    pub description: String,
    /// Whether it can run now.
    pub available: bool,
}

/// `GET /api/health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `healthy` (every server connected), `degraded` (the Database MCP is connected, some
    /// other server is not) or `unhealthy` (no Database MCP).
    pub status: String,
    /// Per server, by `server_id`.
    pub services: BTreeMap<String, ServiceHealth>,
    /// RFC 3339 UTC.
    pub timestamp: String,
    /// Counts.
    pub details: HealthDetails,
}

/// Health of one server.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHealth {
    /// Whether the server is connected.
    pub healthy: bool,
    /// `connected` or `disconnected`.
    pub status: String,
    /// Display name from the config.
    pub name: String,
    /// Transport in use.
    pub transport: TransportKind,
    /// Priority (lower wins).
    pub priority: u32,
    /// Domains from the config.
    pub domains: Vec<String>,
    /// Tools the server offers.
    pub tools: Vec<String>,
    /// Number of resources it listed at the last gather.
    pub resources: usize,
    /// Those resources: `[{name, uri}]`.
    pub resource_list: Vec<ResourceRef>,
    /// The last connection or request error, if any.
    pub last_error: Option<String>,
    /// Circuit breaker: `closed`, `open` or `half_open`.
    pub circuit_state: String,
    /// Failures in a row (the breaker opens at the configured threshold).
    pub consecutive_failures: u32,
    /// Latency of the last background probe (a `tools/list`), in milliseconds.
    pub last_probe_latency_ms: Option<f64>,
    /// When the last probe ran, RFC 3339 UTC.
    pub last_probe_at: Option<String>,
    /// Times the connection was rebuilt after the first one.
    pub reconnects: u64,
    /// MCP protocol version negotiated with the server.
    pub protocol_version: Option<String>,
}

/// One resource a server lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    /// Its name as listed (e.g. `database_schema`).
    pub name: String,
    /// Its URI (e.g. `database://schema`).
    pub uri: String,
}

/// `details` of [`Health`].
#[derive(Debug, Clone, Serialize)]
pub struct HealthDetails {
    /// Configured servers.
    pub total_services: usize,
    /// Connected servers.
    pub healthy_services: usize,
    /// Servers down.
    pub unhealthy_services: usize,
    /// Resource cache counters.
    pub cache: CacheDetails,
}

/// Resource cache counters.
#[derive(Debug, Clone, Serialize)]
pub struct CacheDetails {
    /// Server resource sets served from the cache.
    pub hits: u64,
    /// Server resource sets fetched from the server.
    pub misses: u64,
}

/// `GET /api/health/ready`: ready, or the reasons it is not.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Why not (empty when ready).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl Readiness {
    /// Whether the engine can answer questions.
    pub fn is_ready(&self) -> bool {
        self.reasons.is_empty()
    }
}

pub(crate) fn modes(inner: &Inner) -> ModesInfo {
    let db_up = inner.orchestrator.database_server().is_some();
    let multi = inner.config.enable_multi_mcp && inner.orchestrator.is_ready();
    let orchestrator_status = if !inner.config.enable_multi_mcp {
        "disabled"
    } else if multi {
        "ready"
    } else {
        "not_ready"
    };
    ModesInfo {
        available_modes: vec![
            ModeInfo {
                mode: Mode::SingleMcp,
                description: "The Database MCP alone: schema only, no metadata server".into(),
                available: db_up,
            },
            ModeInfo {
                mode: Mode::MultiMcp,
                description: "Every connected MCP server: schema, product aliases, business terms".into(),
                available: multi,
            },
            ModeInfo {
                mode: Mode::Auto,
                description: "multi_mcp when the orchestrator is ready, else single_mcp".into(),
                available: db_up,
            },
        ],
        default_mode: Mode::Auto,
        orchestrator_status: orchestrator_status.into(),
    }
}

pub(crate) fn health(inner: &Inner) -> Health {
    let statuses = inner.orchestrator.statuses();
    let db = inner.orchestrator.database_server().map(str::to_string);
    let total = statuses.len();
    let healthy = statuses.iter().filter(|s| s.connected).count();
    let status = if db.is_none() {
        "unhealthy"
    } else if healthy == total {
        "healthy"
    } else {
        "degraded"
    };
    let services = statuses
        .into_iter()
        .map(|s| {
            let health = ServiceHealth {
                healthy: s.connected,
                status: if s.connected { "connected" } else { "disconnected" }.into(),
                name: s.name,
                transport: s.transport,
                priority: s.priority,
                domains: s.domains,
                tools: s.tools,
                resources: s.resources.len(),
                resource_list: s.resources,
                last_error: s.last_error,
                circuit_state: serde_json::to_value(s.circuit_state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                consecutive_failures: s.consecutive_failures,
                last_probe_latency_ms: s.last_probe_latency_ms,
                last_probe_at: s.last_probe_at,
                reconnects: s.reconnects,
                protocol_version: s.protocol_version,
            };
            (s.server_id, health)
        })
        .collect();
    let cache = inner.orchestrator.cache_stats();
    Health {
        status: status.into(),
        services,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        details: HealthDetails {
            total_services: total,
            healthy_services: healthy,
            unhealthy_services: total - healthy,
            cache: CacheDetails { hits: cache.hits, misses: cache.misses },
        },
    }
}

pub(crate) fn readiness(inner: &Inner) -> Readiness {
    let mut reasons = Vec::new();
    if inner.orchestrator.database_server().is_none() {
        reasons.push("no connected MCP server offers execute_query (the Database MCP is down)".to_string());
    }
    if inner.config.require_multi_mcp {
        for s in inner.orchestrator.statuses().into_iter().filter(|s| !s.connected) {
            reasons.push(format!("required server {} is not connected", s.server_id));
        }
    }
    Readiness { status: if reasons.is_empty() { "ready" } else { "not_ready" }.into(), reasons }
}
