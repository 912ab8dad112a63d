//! Closed-loop load: `concurrency` workers issue a fixed number of requests between
//! them, each timing its own requests; the figures are computed from every latency.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Latency and throughput of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Workers issuing requests at once.
    pub concurrency: usize,
    /// Requests that succeeded.
    pub ok: usize,
    /// Requests that failed (not in the percentiles).
    pub errors: usize,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency, milliseconds.
    pub p95_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Mean latency, milliseconds.
    pub mean_ms: f64,
    /// Successful requests per second of wall time.
    pub throughput_rps: f64,
    /// Wall time of the run, seconds.
    pub wall_s: f64,
    /// First error message, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Runs `total` requests with `concurrency` workers; request `i` (0-based, in issue
/// order) is `request(i)`. A request's latency counts when it returns `Ok`.
pub async fn run<F, Fut>(concurrency: usize, total: usize, request: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let request = request.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let t = Instant::now();
                    match request(i).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => errors.push(e),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    let mut errors = Vec::new();
    for w in futures::future::join_all(workers).await {
        match w {
            Ok((l, e)) => {
                latencies.extend(l);
                errors.extend(e);
            }
            Err(e) => errors.push(format!("worker panicked: {e}")),
        }
    }
    let wall = started.elapsed();
    summarise(concurrency, latencies, errors, wall)
}

/// Percentiles (nearest rank), mean and throughput of `latencies`.
pub fn summarise(concurrency: usize, mut latencies: Vec<Duration>, errors: Vec<String>, wall: Duration) -> Stats {
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        ms(latencies[rank.clamp(1, latencies.len()) - 1])
    };
    let mean = if latencies.is_empty() {
        f64::NAN
    } else {
        latencies.iter().map(|d| ms(*d)).sum::<f64>() / latencies.len() as f64
    };
    Stats {
        concurrency,
        ok: latencies.len(),
        errors: errors.len(),
        p50_ms: pct(50.0),
        p95_ms: pct(95.0),
        p99_ms: pct(99.0),
        mean_ms: mean,
        throughput_rps: latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
        wall_s: wall.as_secs_f64(),
        first_error: errors.into_iter().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let lat: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = summarise(1, lat, vec!["x".into()], Duration::from_secs(2));
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p95_ms, 95.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.ok, 100);
        assert_eq!(s.errors, 1);
        assert!((s.throughput_rps - 50.0).abs() < 1e-9);
        assert!((s.mean_ms - 50.5).abs() < 1e-9);
    }

    #[tokio::test]
    async fn runs_exactly_the_requested_count() {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let s = run(7, 50, move |i| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                if i % 10 == 0 { Err(format!("failed {i}")) } else { Ok(()) }
            }
        })
        .await;
        assert_eq!(seen.load(Ordering::Relaxed), 50);
        assert_eq!(s.ok, 45);
        assert_eq!(s.errors, 5);
        assert!(s.first_error.is_some());
    }
}
