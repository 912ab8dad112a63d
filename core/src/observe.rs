//! Metrics of the engine: query counters and a sliding window of latencies.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::response::ChatResponse;

/// Latencies kept for the percentiles.
const WINDOW: usize = 1000;

#[derive(Default)]
struct State {
    total: u64,
    successful: u64,
    failed: u64,
    recovery_attempts: u64,
    recovery_successes: u64,
    llm_prompt_tokens: u64,
    llm_completion_tokens: u64,
    llm_total_tokens: u64,
    latencies: VecDeque<f64>,
}

/// Counters updated once per `chat` call.
pub(crate) struct Metrics {
    state: Mutex<State>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics { state: Mutex::new(State::default()) }
    }

    pub(crate) fn record_chat(&self, response: &ChatResponse, elapsed: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.total += 1;
        if response.success {
            s.successful += 1;
        } else {
            s.failed += 1;
        }
        if let Some(data) = &response.data {
            s.recovery_attempts += u64::from(data.metadata.recovery_attempts);
            if data.recovery_performed {
                s.recovery_successes += 1;
            }
        }
        if s.latencies.len() == WINDOW {
            s.latencies.pop_front();
        }
        s.latencies.push_back(elapsed.as_secs_f64());
    }

    /// Counts the tokens of one LLM answer (`llm_tokens_total` and its parts).
    pub(crate) fn record_llm_usage(&self, usage: crate::llm::TokenUsage) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.llm_prompt_tokens += usage.prompt_tokens;
        s.llm_completion_tokens += usage.completion_tokens;
        s.llm_total_tokens += usage.total_tokens;
    }

    /// The JSON of `GET /api/metrics` (DESIGN.md §3); latencies in seconds.
    pub(crate) fn snapshot(
        &self,
        cache_hits: u64,
        cache_misses: u64,
        connections: BTreeMap<String, bool>,
        uptime: Duration,
    ) -> serde_json::Value {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut sorted: Vec<f64> = s.latencies.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        json!({
            "query_latency_p50": percentile(&sorted, 0.50),
            "query_latency_p95": percentile(&sorted, 0.95),
            "query_latency_p99": percentile(&sorted, 0.99),
            "total_queries": s.total,
            "successful_queries": s.successful,
            "failed_queries": s.failed,
            "success_rate": ratio(s.successful, s.total),
            "cache_hit_rate": ratio(cache_hits, cache_hits + cache_misses),
            "cache_hits": cache_hits,
            "cache_misses": cache_misses,
            "recovery_attempts": s.recovery_attempts,
            "recovery_successes": s.recovery_successes,
            "recovery_success_rate": ratio(s.recovery_successes, s.recovery_attempts),
            "mcp_connection_status": connections,
            "uptime_seconds": uptime.as_secs_f64(),
            "llm_tokens_total": s.llm_total_tokens,
            "llm_prompt_tokens": s.llm_prompt_tokens,
            "llm_completion_tokens": s.llm_completion_tokens,
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
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
    }
}
