//! Metrics of one engine, in a `prometheus` registry of its own (so several engines in
//! one process don't mix), plus a sliding window of chat latencies for the JSON
//! percentiles of `GET /api/metrics`.
//!
//! Prometheus names (all prefixed `talk2tables_`):
//! - `chat_duration_seconds{mode, outcome}` histogram — outcome is `success` or the code;
//! - `mcp_request_duration_seconds{server, method}` histogram — method `resources`,
//!   `tools/call` or `tools/list` (the health probe);
//! - `queries_total{outcome}`, `errors_total{code}`, `resource_cache_hits_total`,
//!   `resource_cache_misses_total`, `recovery_attempts_total`,
//!   `recovery_successes_total`, `llm_tokens_total{kind}` counters;
//! - `mcp_servers_connected`, `mcp_circuit_state{server}` (0 closed, 1 half-open,
//!   2 open), `uptime_seconds` gauges.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use serde_json::json;

use crate::mcp::breaker::CircuitState;
use crate::orchestrator::{CacheStats, ServerStatus};
use crate::response::ChatResponse;

/// Latencies kept for the JSON percentiles.
const WINDOW: usize = 1000;

/// Histogram buckets for chat and MCP durations, in seconds.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every metric of one engine.
pub(crate) struct Metrics {
    registry: Registry,
    chat_duration: HistogramVec,
    pub(crate) mcp_duration: HistogramVec,
    queries: IntCounterVec,
    errors: IntCounterVec,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    recovery_attempts: IntCounter,
    recovery_successes: IntCounter,
    llm_tokens: IntCounterVec,
    servers_connected: IntGauge,
    circuit_state: IntGaugeVec,
    uptime: Gauge,
    window: Mutex<VecDeque<f64>>,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace("talk2tables")
}

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let o = HistogramOpts::new(name, help).namespace("talk2tables").buckets(BUCKETS.to_vec());
    HistogramVec::new(o, labels).expect("valid histogram definition")
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let m = Metrics {
            registry: Registry::new(),
            chat_duration: histogram("chat_duration_seconds", "Time to answer one question", &["mode", "outcome"]),
            mcp_duration: histogram("mcp_request_duration_seconds", "MCP request duration", &["server", "method"]),
            queries: IntCounterVec::new(opts("queries_total", "Questions answered, by outcome"), &["outcome"])
                .expect("valid counter"),
            errors: IntCounterVec::new(opts("errors_total", "Failed questions, by error code"), &["code"])
                .expect("valid counter"),
            cache_hits: IntCounter::with_opts(opts("resource_cache_hits_total", "Server resource sets from the cache"))
                .expect("valid counter"),
            cache_misses: IntCounter::with_opts(opts(
                "resource_cache_misses_total",
                "Server resource sets fetched from the server",
            ))
            .expect("valid counter"),
            recovery_attempts: IntCounter::with_opts(opts("recovery_attempts_total", "SQL repair attempts"))
                .expect("valid counter"),
            recovery_successes: IntCounter::with_opts(opts("recovery_successes_total", "Answers that needed a repair"))
                .expect("valid counter"),
            llm_tokens: IntCounterVec::new(opts("llm_tokens_total", "LLM tokens used, by kind"), &["kind"])
                .expect("valid counter"),
            servers_connected: IntGauge::with_opts(opts("mcp_servers_connected", "Connected MCP servers"))
                .expect("valid gauge"),
            circuit_state: IntGaugeVec::new(
                opts("mcp_circuit_state", "Circuit breaker per server: 0 closed, 1 half-open, 2 open"),
                &["server"],
            )
            .expect("valid gauge"),
            uptime: Gauge::with_opts(opts("uptime_seconds", "Seconds since the engine started")).expect("valid gauge"),
            window: Mutex::new(VecDeque::with_capacity(WINDOW)),
        };
        for c in [
            Box::new(m.chat_duration.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.mcp_duration.clone()),
            Box::new(m.queries.clone()),
            Box::new(m.errors.clone()),
            Box::new(m.cache_hits.clone()),
            Box::new(m.cache_misses.clone()),
            Box::new(m.recovery_attempts.clone()),
            Box::new(m.recovery_successes.clone()),
            Box::new(m.llm_tokens.clone()),
            Box::new(m.servers_connected.clone()),
            Box::new(m.circuit_state.clone()),
            Box::new(m.uptime.clone()),
        ] {
            m.registry.register(c).expect("metric names are unique");
        }
        m
    }

    /// Records one answered question.
    pub(crate) fn record_chat(&self, response: &ChatResponse, elapsed: Duration) {
        let outcome = response.error.as_ref().map_or("success", |e| e.code.code());
        let secs = elapsed.as_secs_f64();
        self.chat_duration.with_label_values(&[response.metadata.mode.as_str(), outcome]).observe(secs);
        self.queries.with_label_values(&[if response.success { "success" } else { "failure" }]).inc();
        if let Some(error) = &response.error {
            self.errors.with_label_values(&[error.code.code()]).inc();
        }
        let (attempts, repaired) = match (&response.data, &response.error) {
            (Some(data), _) => (u64::from(data.metadata.recovery_attempts), data.recovery_performed),
            (None, Some(e)) => (e.attempted_sql.len().saturating_sub(1) as u64, false),
            (None, None) => (0, false),
        };
        self.recovery_attempts.inc_by(attempts);
        if repaired {
            self.recovery_successes.inc();
        }
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if window.len() == WINDOW {
            window.pop_front();
        }
        window.push_back(secs);
    }

    /// Counts the tokens of one LLM answer (`llm_tokens_total{kind="prompt"|"completion"}`).
    pub(crate) fn record_llm_usage(&self, usage: crate::llm::TokenUsage) {
        self.llm_tokens.with_label_values(&["prompt"]).inc_by(usage.prompt_tokens);
        self.llm_tokens.with_label_values(&["completion"]).inc_by(usage.completion_tokens);
    }

    /// Brings the cache counters and server gauges up to date from the orchestrator.
    fn sync(&self, cache: &CacheStats, statuses: &[ServerStatus], uptime: Duration) {
        self.cache_hits.inc_by(cache.hits.saturating_sub(self.cache_hits.get()));
        self.cache_misses.inc_by(cache.misses.saturating_sub(self.cache_misses.get()));
        self.servers_connected.set(statuses.iter().filter(|s| s.connected).count() as i64);
        for s in statuses {
            let state = match s.circuit_state {
                CircuitState::Closed => 0,
                CircuitState::HalfOpen => 1,
                CircuitState::Open => 2,
            };
            self.circuit_state.with_label_values(&[s.server_id.as_str()]).set(state);
        }
        self.uptime.set(uptime.as_secs_f64());
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub(crate) fn prometheus(&self, cache: &CacheStats, statuses: &[ServerStatus], uptime: Duration) -> String {
        self.sync(cache, statuses, uptime);
        let mut out = Vec::new();
        if TextEncoder::new().encode(&self.registry.gather(), &mut out).is_err() {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// The JSON of `GET /api/metrics` (DESIGN.md §3); latencies in seconds.
    pub(crate) fn snapshot(
        &self,
        cache: &CacheStats,
        statuses: &[ServerStatus],
        uptime: Duration,
    ) -> serde_json::Value {
        self.sync(cache, statuses, uptime);
        let mut sorted: Vec<f64> = self.window.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let successful = self.queries.with_label_values(&["success"]).get();
        let failed = self.queries.with_label_values(&["failure"]).get();
        let total = successful + failed;
        let attempts = self.recovery_attempts.get();
        let successes = self.recovery_successes.get();
        let prompt_tokens = self.llm_tokens.with_label_values(&["prompt"]).get();
        let completion_tokens = self.llm_tokens.with_label_values(&["completion"]).get();
        let connections: BTreeMap<&str, bool> = statuses.iter().map(|s| (s.server_id.as_str(), s.connected)).collect();
        json!({
            "query_latency_p50": percentile(&sorted, 0.50),
            "query_latency_p95": percentile(&sorted, 0.95),
            "query_latency_p99": percentile(&sorted, 0.99),
            "total_queries": total,
            "successful_queries": successful,
            "failed_queries": failed,
            "success_rate": ratio(successful, total),
            "cache_hit_rate": ratio(cache.hits, cache.hits + cache.misses),
            "cache_hits": cache.hits,
            "cache_misses": cache.misses,
            "recovery_attempts": attempts,
            "recovery_successes": successes,
            "recovery_success_rate": ratio(successes, attempts),
            "mcp_connection_status": connections,
            "uptime_seconds": uptime.as_secs_f64(),
            "llm_tokens_total": prompt_tokens + completion_tokens,
            "llm_prompt_tokens": prompt_tokens,
            "llm_completion_tokens": completion_tokens,
        })
    }
}

/// Nearest-rank percentile of sorted values; 0 when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
    }

    #[test]
    fn exposition_has_histograms_and_counters() {
        let m = Metrics::new();
        m.mcp_duration.with_label_values(&["db", "tools/call"]).observe(0.002);
        m.record_llm_usage(crate::llm::TokenUsage { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
        let cache = CacheStats { hits: 3, misses: 1, entries: 1 };
        let text = m.prometheus(&cache, &[], Duration::from_secs(2));
        assert!(text.contains("# TYPE talk2tables_mcp_request_duration_seconds histogram"), "{text}");
        assert!(text.contains(
            "talk2tables_mcp_request_duration_seconds_bucket{method=\"tools/call\",server=\"db\",le=\"0.0025\"} 1"
        ));
        assert!(text.contains("talk2tables_resource_cache_hits_total 3"));
        assert!(text.contains("talk2tables_llm_tokens_total{kind=\"prompt\"} 10"));
        // Syncing twice does not double count.
        let text = m.prometheus(&cache, &[], Duration::from_secs(3));
        assert!(text.contains("talk2tables_resource_cache_hits_total 3"));
    }
}
