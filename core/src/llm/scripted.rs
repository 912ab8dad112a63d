//! Scripted LLM providers for tests: an OpenAI-compatible and a Gemini HTTP server on
//! `127.0.0.1:0` that answer from a queue of [`Reply`]s and record every request.
//!
//! ```ignore
//! let server = ScriptedServer::openai([Reply::openai_answer(r#"{"sql": "SELECT 1"}"#)]).await;
//! let config = LlmConfig { provider: LlmProvider::Openai, base_url: Some(server.base_url().into()), .. };
//! // … call the client …
//! assert_eq!(server.requests()[0].path, "/v1/chat/completions");
//! ```
//!
//! Requests to a path the provider does not serve get 404 without using a reply; when
//! the queue is empty the server answers 500 `script exhausted`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers, e.g. `("retry-after", "1")`.
    pub headers: Vec<(String, String)>,
    /// Body, sent as `application/json`.
    pub body: String,
    /// Time to wait before answering.
    pub delay: Duration,
}

impl Reply {
    /// `status` with `body` as JSON.
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Reply { status, headers: Vec::new(), body: body.to_string(), delay: Duration::ZERO }
    }

    /// `status` with an OpenAI/Gemini-style error body `{"error": {"message", "code"}}`.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Reply::json(status, json!({"error": {"message": message, "code": status}}))
    }

    /// A successful chat completion with `content`, model `scripted-model` and usage
    /// 11 prompt + 7 completion = 18 tokens.
    pub(crate) fn openai_answer(content: &str) -> Self {
        Reply::json(
            200,
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "scripted-model",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }),
        )
    }

    /// A successful `generateContent` answer with `text`, `modelVersion`
    /// `scripted-gemini` and usage 13 prompt + 5 candidates = 18 tokens.
    pub(crate) fn gemini_answer(text: &str) -> Self {
        Reply::json(
            200,
            json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 13, "candidatesTokenCount": 5, "totalTokenCount": 18},
                "modelVersion": "scripted-gemini",
            }),
        )
    }

    /// The same reply with one more header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same reply, sent after `delay`.
    pub(crate) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path and query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Headers, names in lower case (a repeated header keeps its last value).
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
    /// When it arrived.
    pub received: Instant,
}

/// Which provider the server imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `POST /v1/chat/completions`.
    OpenAi,
    /// `POST /v1beta/models/{model}:generateContent`.
    Gemini,
}

struct Script {
    flavor: Flavor,
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

/// A running scripted provider; stops when dropped.
pub(crate) struct ScriptedServer {
    base_url: String,
    script: Arc<Script>,
    task: JoinHandle<()>,
}

impl ScriptedServer {
    /// An OpenAI-compatible server; its [`base_url`](Self::base_url) ends in `/v1`.
    pub(crate) async fn openai(replies: impl IntoIterator<Item = Reply>) -> Self {
        Self::start(Flavor::OpenAi, replies).await
    }

    /// A Gemini server; its [`base_url`](Self::base_url) is the bare origin.
    pub(crate) async fn gemini(replies: impl IntoIterator<Item = Reply>) -> Self {
        Self::start(Flavor::Gemini, replies).await
    }

    async fn start(flavor: Flavor, replies: impl IntoIterator<Item = Reply>) -> Self {
        let script = Arc::new(Script {
            flavor,
            replies: Mutex::new(replies.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new().fallback(answer).with_state(script.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let base_url = match flavor {
            Flavor::OpenAi => format!("http://{addr}/v1"),
            Flavor::Gemini => format!("http://{addr}"),
        };
        ScriptedServer { base_url, script, task }
    }

    /// The value for `LLM_BASE_URL`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Queues one more reply.
    pub(crate) fn push(&self, reply: Reply) {
        self.script.replies.lock().expect("script lock").push_back(reply);
    }

    /// Every request received so far, in order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.script.requests.lock().expect("script lock").clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    script.requests.lock().expect("script lock").push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        received: Instant::now(),
    });
    let served = method == Method::POST
        && match script.flavor {
            Flavor::OpenAi => uri.path() == "/v1/chat/completions",
            Flavor::Gemini => uri.path().starts_with("/v1beta/models/") && uri.path().ends_with(":generateContent"),
        };
    if !served {
        let body = json!({"error": {"message": format!("no route for {method} {path}")}});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    let reply = script.replies.lock().expect("script lock").pop_front();
    let Some(reply) = reply else {
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": {"message": "script exhausted"}})))
            .into_response();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    for (name, value) in &reply.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    response.body(reply.body.into()).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
