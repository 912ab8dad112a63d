//! The API of the original React chatbot (DESIGN.md §3b), kept so that chatbot and any
//! OpenAI chat-completions client keep working against this server unchanged:
//!
//! - `POST /chat/completions`: OpenAI request in; the last user message is the question,
//!   the earlier user messages go to the core as `context.previous_questions` (oldest
//!   first). Answer as `chat.completion`, or with `stream: true` as server-sent
//!   `chat.completion.chunk` events ending in `data: [DONE]`.
//! - `GET /health`, `GET /models`, `GET /mcp/status`.
//! - CORS from `ALLOWED_ORIGINS` ([`cors_layer`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use talk2tables::config::TransportKind;
use talk2tables::status::Health;
use talk2tables::{ChatRequest, ChatResponse, Engine};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// The one model `GET /models` lists and every completion names.
pub const MODEL_ID: &str = "talk2tables";

/// Origins allowed when `ALLOWED_ORIGINS` is unset (the chatbot's dev server).
pub const DEFAULT_ALLOWED_ORIGINS: &str = "http://localhost:3000";

/// Where each configured MCP server lives, by `server_id`: its URL, or the command line
/// of a stdio server. Empty for the embedded default (its servers run in-process).
pub type ServerUrls = BTreeMap<String, String>;

/// State of the §3b routes.
#[derive(Clone)]
struct Compat {
    engine: Engine,
    server_urls: Arc<ServerUrls>,
    /// Unix seconds when the router was built (the model's `created`).
    started: i64,
}

/// The §3b routes for `engine`; `server_urls` feeds `server_url` of `GET /mcp/status`.
pub fn router(engine: Engine, server_urls: ServerUrls) -> Router {
    let state = Compat { engine, server_urls: Arc::new(server_urls), started: chrono::Utc::now().timestamp() };
    Router::new()
        .route("/chat/completions", post(completions))
        .route("/health", get(health))
        .route("/models", get(models))
        .route("/mcp/status", get(mcp_status))
        .with_state(state)
}

/// CORS for every route: origins from `allowed_origins` (the value of `ALLOWED_ORIGINS`,
/// comma-separated; `*` allows any; `None` or blank means [`DEFAULT_ALLOWED_ORIGINS`]).
/// Entries that are not valid header values are skipped with a warning.
pub fn cors_layer(allowed_origins: Option<&str>) -> CorsLayer {
    let raw = allowed_origins.filter(|s| !s.trim().is_empty()).unwrap_or(DEFAULT_ALLOWED_ORIGINS);
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(Any)
        .max_age(std::time::Duration::from_secs(600));
    let entries: Vec<&str> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if entries.contains(&"*") {
        return layer.allow_origin(Any);
    }
    let origins: Vec<HeaderValue> = entries
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim_end_matches('/')) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ALLOWED_ORIGINS: skipping an origin that is not a valid header value");
                None
            }
        })
        .collect();
    layer.allow_origin(AllowOrigin::list(origins))
}

/// An OpenAI chat-completions request. Options other than `messages` and `stream`
/// (`model`, `temperature`, `max_tokens`, `top_p`, …) are accepted and ignored: the
/// server's configuration decides how SQL is written.
#[derive(Debug, Deserialize)]
struct CompletionRequest {
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
}

/// One message; `content` is a string, `null`, or OpenAI content parts
/// (`[{type: "text", text}]`, other part types ignored).
#[derive(Debug, Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Value,
}

impl Message {
    fn text(&self) -> String {
        match &self.content {
            Value::String(s) => s.clone(),
            Value::Array(parts) => {
                parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
            }
            _ => String::new(),
        }
    }
}

/// 400/422 body: FastAPI's `detail` (what the chatbot shows) plus an OpenAI-style
/// `error` object (what OpenAI clients parse).
fn client_error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "detail": message,
        "error": {"message": message, "type": "invalid_request_error", "code": "INVALID_REQUEST"},
    });
    (status, Json(body)).into_response()
}

/// Turns the messages into the core's request: the last user message is the question,
/// earlier user messages are `context.previous_questions` (oldest first). `None` when
/// no message has the `user` role.
fn to_chat_request(messages: &[Message]) -> Option<ChatRequest> {
    let users: Vec<String> = messages.iter().filter(|m| m.role == "user").map(Message::text).collect();
    let (question, earlier) = users.split_last()?;
    let mut request = ChatRequest::new(question.clone());
    let previous: Vec<Value> =
        earlier.iter().filter(|q| !q.trim().is_empty()).map(|q| Value::String(q.clone())).collect();
    if !previous.is_empty() {
        let mut context = serde_json::Map::new();
        context.insert("previous_questions".into(), Value::Array(previous));
        request.context = Some(context);
    }
    Some(request)
}

async fn completions(State(state): State<Compat>, body: Result<Json<CompletionRequest>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return client_error(StatusCode::UNPROCESSABLE_ENTITY, &rejection.body_text()),
    };
    if request.messages.is_empty() {
        return client_error(StatusCode::BAD_REQUEST, "Messages array cannot be empty");
    }
    let Some(chat_request) = to_chat_request(&request.messages) else {
        return client_error(StatusCode::BAD_REQUEST, "Messages must include at least one user message");
    };
    let prompt_chars: usize = request.messages.iter().map(|m| m.text().chars().count()).sum();
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = chrono::Utc::now().timestamp();
    if request.stream {
        return stream_completion(state.engine, chat_request, id, created, prompt_chars);
    }
    let response = state.engine.chat(chat_request).await;
    let answer = Answer::from_response(&response);
    let completion_chars = answer.content.chars().count();
    Json(json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer.content},
            "finish_reason": answer.finish_reason,
            "query_result": answer.query_result,
        }],
        "usage": usage(&response, prompt_chars, completion_chars),
    }))
    .into_response()
}

/// `stream: true`: a first chunk with the assistant role right away (then keep-alive
/// comments while the core works), the answer's text, a last chunk with
/// `finish_reason` and `query_result`, and `data: [DONE]`.
fn stream_completion(engine: Engine, request: ChatRequest, id: String, created: i64, prompt_chars: usize) -> Response {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let chunk = move |delta: Value, finish: Option<&str>, extra: Option<(&str, Value)>| {
        let mut choice = json!({"index": 0, "delta": delta, "finish_reason": finish});
        if let (Some((key, value)), Some(obj)) = (extra, choice.as_object_mut()) {
            obj.insert(key.to_string(), value);
        }
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
               "choices": [choice]})
    };
    tokio::spawn(async move {
        let _ = tx.send(data_event(&chunk(json!({"role": "assistant", "content": ""}), None, None)));
        // A client that hangs up stops the pipeline (and its MCP call) at once.
        let response = tokio::select! {
            response = engine.chat(request) => response,
            () = tx.closed() => return,
        };
        let answer = Answer::from_response(&response);
        // The text in line-sized pieces, as a model would stream it.
        for piece in answer.content.split_inclusive('\n') {
            let _ = tx.send(data_event(&chunk(json!({"content": piece}), None, None)));
        }
        let mut last = chunk(json!({}), Some(answer.finish_reason), Some(("query_result", answer.query_result)));
        if let Some(obj) = last.as_object_mut() {
            obj.insert("usage".into(), usage(&response, prompt_chars, answer.content.chars().count()));
        }
        let _ = tx.send(data_event(&last));
        let _ = tx.send(Event::default().data("[DONE]"));
    });
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|event| (Ok::<_, Infallible>(event), rx)) },
        );
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

fn data_event(value: &Value) -> Event {
    Event::default().data(serde_json::to_string(value).unwrap_or_default())
}

/// `usage` of a completion: the LLM's own counts (`data.metadata.llm_usage`) when the
/// core reports them, else [`estimated_usage`].
fn usage(response: &ChatResponse, prompt_chars: usize, completion_chars: usize) -> Value {
    match response.data.as_ref().and_then(|d| d.metadata.llm_usage) {
        Some(u) => json!({"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
                          "total_tokens": u.total_tokens}),
        None => estimated_usage(prompt_chars, completion_chars),
    }
}

/// Token counts estimated as one token per four characters (rounded up), for answers
/// without an LLM (the offline engine has no tokenizer).
fn estimated_usage(prompt_chars: usize, completion_chars: usize) -> Value {
    let tokens = |chars: usize| chars.div_ceil(4);
    let (p, c) = (tokens(prompt_chars), tokens(completion_chars));
    json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c})
}

/// What a completion says about one [`ChatResponse`].
struct Answer {
    content: String,
    finish_reason: &'static str,
    query_result: Value,
}

impl Answer {
    /// `content`: a sentence on the result, the SQL in a ```sql block, the resolved
    /// entities and the core's explanation. `query_result`: `{success, data: [{column:
    /// value}], columns, error, row_count, execution_time (seconds)}`.
    fn from_response(response: &ChatResponse) -> Answer {
        let execution_time = response.metadata.processing_time_seconds;
        match (&response.data, &response.error) {
            (Some(data), _) => {
                let results = &data.results;
                let rows: Vec<Value> = results
                    .rows
                    .iter()
                    .map(|row| {
                        let obj: serde_json::Map<String, Value> =
                            results.columns.iter().cloned().zip(row.iter().cloned()).collect();
                        Value::Object(obj)
                    })
                    .collect();
                let mut content = summary(&results.columns, &results.rows, results.truncated);
                content.push_str(&format!("\n\n```sql\n{}\n```\n", data.sql_query.trim()));
                if !data.resolved_entities.is_empty() {
                    content.push_str("\nResolved: ");
                    let items: Vec<String> = data
                        .resolved_entities
                        .iter()
                        .map(|e| format!("\"{}\" → {} ({})", e.original_term, e.resolved_value, e.entity_type))
                        .collect();
                    content.push_str(&items.join("; "));
                    content.push('\n');
                }
                if !data.explanation.trim().is_empty() {
                    content.push('\n');
                    content.push_str(data.explanation.trim());
                    content.push('\n');
                }
                Answer {
                    content,
                    finish_reason: "stop",
                    query_result: json!({
                        "success": true,
                        "data": rows,
                        "columns": results.columns,
                        "error": null,
                        "row_count": results.row_count,
                        "execution_time": execution_time,
                    }),
                }
            }
            (None, error) => {
                let (code, message) = match error {
                    Some(e) => (e.code.code(), e.message.clone()),
                    None => ("INTERNAL", "the core returned neither an answer nor an error".to_string()),
                };
                let mut content = format!("Sorry, I could not answer that: {message} ({code}).");
                if let Some(tried) = error.as_ref().and_then(|e| e.attempted_sql.last()) {
                    content.push_str(&format!("\n\nLast SQL tried:\n\n```sql\n{}\n```\n", tried.sql.trim()));
                }
                Answer {
                    content,
                    finish_reason: "error",
                    query_result: json!({
                        "success": false,
                        "data": [],
                        "columns": [],
                        "error": format!("{code}: {message}"),
                        "row_count": 0,
                        "execution_time": execution_time,
                    }),
                }
            }
        }
    }
}

/// One sentence on the rows: the value itself for a single cell, else the row count.
fn summary(columns: &[String], rows: &[Vec<Value>], truncated: bool) -> String {
    match (columns, rows) {
        ([column], [row]) => match row.first() {
            Some(Value::String(s)) => format!("The answer is {s} ({column})."),
            Some(v) => format!("The answer is {v} ({column})."),
            None => "The query returned one empty row.".into(),
        },
        (_, []) => "The query returned no rows.".into(),
        (_, [_]) => "The query returned 1 row.".into(),
        (_, rows) => {
            let more = if truncated { " (truncated; there are more)" } else { "" };
            format!("The query returned {} rows{more}.", rows.len())
        }
    }
}

/// `GET /health`: `{status: "healthy", version, timestamp (unix seconds),
/// mcp_server_status: "connected"|"disconnected"}`. `status` is this HTTP service's
/// (it answered); `mcp_server_status` is whether a Database MCP is connected.
async fn health(State(state): State<Compat>) -> Json<Value> {
    let connected = state.engine.readiness().is_ready();
    Json(json!({
        "status": "healthy",
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": chrono::Utc::now().timestamp(),
        "mcp_server_status": if connected { "connected" } else { "disconnected" },
    }))
}

/// `GET /models`: an OpenAI model list with the one model, [`MODEL_ID`].
async fn models(State(state): State<Compat>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{
            "id": MODEL_ID,
            "object": "model",
            "created": state.started,
            "owned_by": "talk2tables",
            "permission": [],
            "root": MODEL_ID,
            "parent": null,
        }],
    }))
}

/// `GET /mcp/status`: `{connected, server_url, transport, tools: [{name, description}],
/// resources: [{name, uri}], database_metadata}` for the Database MCP (the server that
/// offers `execute_query`), plus `servers` with every configured server's health.
///
/// The core reports tool names but not their descriptions (`description` is null), and
/// a resource count but not the resources (`resources` is empty; the count is in
/// `database_metadata.resource_count`). `server_url` is `in-process` for the embedded
/// default. Without any Database MCP: `{connected: false, error}`.
async fn mcp_status(State(state): State<Compat>) -> Json<Value> {
    let health = state.engine.health().await;
    let database = health
        .services
        .iter()
        .find(|(_, s)| s.tools.iter().any(|t| t == "execute_query"))
        .or_else(|| health.services.iter().find(|(_, s)| s.healthy));
    let servers = health_value(&health)["services"].take();
    let Some((server_id, service)) = database else {
        return Json(json!({
            "connected": false,
            "error": "no MCP server is configured or connected",
            "servers": servers,
        }));
    };
    let server_url = state.server_urls.get(server_id).cloned().unwrap_or_else(|| "in-process".to_string());
    let tools: Vec<Value> = service.tools.iter().map(|t| json!({"name": t, "description": null})).collect();
    let mut body = json!({
        "connected": service.healthy,
        "server_url": server_url,
        "transport": transport_name(service.transport),
        "tools": tools,
        "resources": [],
        "database_metadata": {
            "server_id": server_id,
            "name": service.name,
            "domains": service.domains,
            "priority": service.priority,
            "resource_count": service.resources,
            "multi_mcp_enabled": state.engine.multi_mcp_enabled(),
            "overall_status": health.status,
        },
        "servers": servers,
    });
    if let (Some(err), Some(obj)) = (&service.last_error, body.as_object_mut()) {
        obj.insert("error".into(), Value::String(err.clone()));
    }
    Json(body)
}

/// The wire name of a transport. `TransportKind::InProcess` is `#[serde(skip)]` in the
/// core, so serde cannot write it; it is `in_process` here.
pub fn transport_name(transport: TransportKind) -> &'static str {
    match transport {
        TransportKind::StreamableHttp => "streamable_http",
        TransportKind::Sse => "sse",
        TransportKind::Stdio => "stdio",
        TransportKind::InProcess => "in_process",
    }
}

/// `engine.health()` as the JSON of `GET /api/health` (DESIGN.md §3).
pub fn health_value(health: &Health) -> Value {
    serde_json::to_value(health).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: Value) -> Message {
        Message { role: role.into(), content }
    }

    #[test]
    fn last_user_message_is_the_question_and_earlier_ones_the_context() {
        let messages = vec![
            msg("system", json!("be brief")),
            msg("user", json!("How many orders were cancelled?")),
            msg("assistant", json!("42")),
            msg("user", json!([{"type": "text", "text": "now only for last month"}])),
        ];
        let request = to_chat_request(&messages).expect("request");
        assert_eq!(request.query, "now only for last month");
        let context = request.context.expect("context");
        assert_eq!(context["previous_questions"], json!(["How many orders were cancelled?"]));
    }

    #[test]
    fn no_user_message_gives_no_request() {
        assert!(to_chat_request(&[msg("system", json!("hi"))]).is_none());
        assert!(to_chat_request(&[msg("user", json!("only"))]).expect("request").context.is_none());
    }

    #[test]
    fn usage_is_rounded_up() {
        assert_eq!(estimated_usage(5, 0), json!({"prompt_tokens": 2, "completion_tokens": 0, "total_tokens": 2}));
    }

    #[test]
    fn usage_prefers_the_llm_counts() {
        let mut body = json!({
            "success": true,
            "data": {"sql_query": "SELECT 1", "results": {"columns": ["n"], "rows": [[1]], "row_count": 1,
                     "truncated": false, "total_rows": null},
                     "resolved_entities": [], "explanation": "", "recovery_performed": false,
                     "metadata": {"mcp_servers_used": [], "recovery_attempts": 0, "attempted_sql": [],
                                  "generator": "llm:openai", "dialect": "sqlite",
                                  "llm_usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}}},
            "error": null,
            "metadata": {"mode": "multi_mcp", "processing_time_seconds": 0.1, "recovery_performed": false},
            "timestamp": "2026-11-30T12:00:00Z", "response_id": "00000000-0000-0000-0000-000000000000"
        });
        let response: ChatResponse = serde_json::from_value(body.clone()).expect("response");
        assert_eq!(usage(&response, 8, 8), json!({"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}));
        body["data"]["metadata"].as_object_mut().expect("metadata").remove("llm_usage");
        let response: ChatResponse = serde_json::from_value(body).expect("response");
        assert_eq!(usage(&response, 8, 8), json!({"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}));
    }

    #[test]
    fn summary_names_the_single_value() {
        let s = summary(&["n".into()], &[vec![json!(7)]], false);
        assert_eq!(s, "The answer is 7 (n).");
        assert_eq!(
            summary(&["a".into(), "b".into()], &[vec![], vec![]], true),
            "The query returned 2 rows (truncated; there are more)."
        );
    }
}
