//! A scripted OpenAI-compatible LLM on loopback: `POST /v1/chat/completions` answers,
//! after a fixed delay, with the SQL scripted for the question found in the request's
//! messages (a fenced `sql` block), so the LLM generator path runs without a network.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use crate::BenchResult;

struct Script {
    delay: Duration,
    /// (question, SQL): the first question contained in the request's text wins.
    answers: Vec<(String, String)>,
    calls: AtomicU64,
}

/// A running stub; stops when dropped.
pub struct LlmStub {
    /// `http://127.0.0.1:PORT/v1`, the value for `LLM_BASE_URL`.
    pub base_url: String,
    script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

impl LlmStub {
    /// Starts the stub on a free loopback port.
    ///
    /// Errors: the port cannot be bound.
    pub async fn start(delay: Duration, answers: Vec<(String, String)>) -> BenchResult<LlmStub> {
        let script = Arc::new(Script { delay, answers, calls: AtomicU64::new(0) });
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/chat/completions", post(complete))
            .with_state(script.clone());
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("LLM stub: bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("LLM stub: {e}"))?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LlmStub { base_url: format!("http://{addr}/v1"), script, task })
    }

    /// Completions answered so far.
    pub fn calls(&self) -> u64 {
        self.script.calls.load(Ordering::Relaxed)
    }
}

impl Drop for LlmStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn complete(State(script): State<Arc<Script>>, Json(body): Json<Value>) -> Json<Value> {
    script.calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(script.delay).await;
    let text = body["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["content"].as_str()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
        .to_lowercase();
    let sql = script
        .answers
        .iter()
        .find(|(q, _)| text.contains(&q.to_lowercase()))
        .map(|(_, sql)| sql.as_str())
        .unwrap_or("SELECT 1");
    Json(json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": body["model"].as_str().unwrap_or("stub"),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": format!("```sql\n{sql}\n```")},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    }))
}
