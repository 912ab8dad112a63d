//! The load generator's side of the HTTP API: `POST /api/chat` and the Prometheus text.

use std::time::Duration;

use serde_json::{Value, json};

use crate::BenchResult;

/// Per-request limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the bench needs from one successful answer.
#[derive(Debug, Clone)]
pub struct Answered {
    /// `data.sql_query`: the SQL the pipeline ran.
    pub sql: String,
    /// `data.metadata.generator` (`offline`, `raw_sql`, or the LLM path's name).
    pub generator: String,
}

/// An HTTP client for one server (keep-alive connections reused across requests).
#[derive(Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// A client for `base` (`http://127.0.0.1:PORT`), with connect and request timeouts.
    ///
    /// Errors: the HTTP client cannot be built.
    pub fn new(base: &str) -> BenchResult<Api> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Api { base: base.to_string(), client })
    }

    /// `POST /api/chat {"query": question}`; `Ok` only for a `success: true` envelope.
    ///
    /// Errors: transport failure, a non-JSON body, or the envelope's error code and message.
    pub async fn chat(&self, question: &str) -> BenchResult<Answered> {
        let resp = self
            .client
            .post(format!("{}/api/chat", self.base))
            .json(&json!({ "query": question }))
            .send()
            .await
            .map_err(|e| format!("POST /api/chat: {e}"))?;
        let body: Value = resp.json().await.map_err(|e| format!("POST /api/chat: body: {e}"))?;
        if body["success"] != true {
            return Err(format!("{question:?}: {} {}", body["error"]["code"], body["error"]["message"]));
        }
        Ok(Answered {
            sql: body["data"]["sql_query"].as_str().unwrap_or_default().to_string(),
            generator: body["data"]["metadata"]["generator"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// `GET /api/health/live` (the cheapest route: one HTTP round trip, no engine work).
    ///
    /// Errors: transport failure or a non-200 answer.
    pub async fn live(&self) -> BenchResult<()> {
        let resp = self
            .client
            .get(format!("{}/api/health/live", self.base))
            .send()
            .await
            .map_err(|e| format!("GET /api/health/live: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET /api/health/live: HTTP {}", resp.status()));
        }
        resp.bytes().await.map(|_| ()).map_err(|e| format!("GET /api/health/live: {e}"))
    }

    /// `GET /api/metrics/prometheus` as text.
    ///
    /// Errors: transport failure or a non-200 answer.
    pub async fn prometheus(&self) -> BenchResult<String> {
        let resp = self
            .client
            .get(format!("{}/api/metrics/prometheus", self.base))
            .send()
            .await
            .map_err(|e| format!("GET /api/metrics/prometheus: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET /api/metrics/prometheus: HTTP {}", resp.status()));
        }
        resp.text().await.map_err(|e| format!("GET /api/metrics/prometheus: {e}"))
    }
}
