//! The HTTP API of DESIGN.md §3 on axum.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use talk2tables::{ChatRequest, ChatResponse, Engine, Error, ErrorKind};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Builds the router for `engine`: the §3 API, the chatbot's §3b API
/// ([`crate::compat`]), the chat page ([`crate::web`]), with CORS from `ALLOWED_ORIGINS`.
/// `server_urls` names where each MCP server lives (for `GET /mcp/status`).
pub fn router(engine: Engine, server_urls: crate::compat::ServerUrls) -> Router {
    let cors = crate::compat::cors_layer(std::env::var("ALLOWED_ORIGINS").ok().as_deref());
    let api = Router::new()
        .route("/", get(root))
        .route("/api/chat", post(chat))
        .route("/api/chat/stream", post(chat_stream))
        .route("/api/chat/modes", get(modes))
        .route("/api/health", get(health))
        .route("/api/health/live", get(live))
        .route("/api/health/ready", get(ready))
        .route("/api/metrics", get(metrics))
        .route("/api/metrics/prometheus", get(prometheus))
        .with_state(engine.clone());
    api.merge(crate::compat::router(engine, server_urls))
        .merge(crate::web::router())
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

/// `x-request-id`: taken from the request or generated (UUID v4), put on the `request`
/// span that every pipeline stage's span and log line sits in, and returned in the
/// response.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_span(req: &Request<axum::body::Body>) -> tracing::Span {
    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
}

/// Serves until ctrl-c / SIGTERM. Prints `listening on http://HOST:PORT` to stderr once
/// bound (with the real port when `port` is 0).
pub async fn serve(engine: Engine, server_urls: crate::compat::ServerUrls, host: &str, port: u16) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| Error::new(ErrorKind::ConfigError, format!("cannot listen on {host}:{port}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    eprintln!("talk2tables-server listening on http://{addr}");
    // TCP_NODELAY: no Nagle delay on small responses (axum leaves it off).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(engine, server_urls))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, format!("server error: {e}")))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// `GET /`: the chat page for browsers (`Accept: text/html`), else
/// `{service, version, multi_mcp_enabled, status}`.
async fn root(State(engine): State<Engine>, headers: axum::http::HeaderMap) -> Response {
    if crate::web::wants_html(&headers) {
        return crate::web::page();
    }
    let ready = engine.readiness().is_ready();
    Json(json!({
        "service": "Talk 2 Tables",
        "version": env!("CARGO_PKG_VERSION"),
        "multi_mcp_enabled": engine.multi_mcp_enabled(),
        "status": if ready { "running" } else { "degraded" },
    }))
    .into_response()
}

async fn chat(State(engine): State<Engine>, body: Result<Json<ChatRequest>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return malformed(rejection),
    };
    let response = engine.chat(request).await;
    (status_for(&response), Json(response)).into_response()
}

/// 422 with the failure envelope for a body that is not a `ChatRequest`.
fn malformed(rejection: JsonRejection) -> Response {
    let error = Error::new(ErrorKind::InvalidRequest, rejection.body_text());
    (StatusCode::UNPROCESSABLE_ENTITY, Json(ChatResponse::rejected(&error))).into_response()
}

/// `POST /api/chat/stream`: server-sent events, one `progress` event per pipeline stage
/// start and end (`talk2tables::Progress` JSON), then one `response` event with the
/// `ChatResponse`. Malformed requests get the same 422 as `/api/chat`.
async fn chat_stream(State(engine): State<Engine>, body: Result<Json<ChatRequest>, JsonRejection>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return malformed(rejection),
    };
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    tokio::spawn(async move {
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let answer = engine.chat_with_progress(request, progress_tx);
        tokio::pin!(answer);
        let response = loop {
            tokio::select! {
                Some(p) = progress_rx.recv() => {
                    let _ = events_tx.send(json_event("progress", &p));
                }
                response = &mut answer => break response,
                // The client went away (the SSE body was dropped): dropping `answer`
                // cancels the MCP call, so the Database MCP stops the query instead of
                // running it to its timeout for nobody.
                () = events_tx.closed() => return,
            }
        };
        while let Ok(p) = progress_rx.try_recv() {
            let _ = events_tx.send(json_event("progress", &p));
        }
        let _ = events_tx.send(json_event("response", &response));
    });
    let stream = futures::stream::unfold(events_rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok::<_, std::convert::Infallible>(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

fn json_event(name: &str, value: &impl serde::Serialize) -> axum::response::sse::Event {
    axum::response::sse::Event::default().event(name).data(serde_json::to_string(value).unwrap_or_default())
}

/// 200 for answers and for questions that could not be answered; 422 for malformed
/// requests; 429 for rate limits; 500 only for bugs.
fn status_for(response: &ChatResponse) -> StatusCode {
    match response.error.as_ref().map(|e| e.code) {
        Some(ErrorKind::InvalidRequest) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(ErrorKind::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
        Some(ErrorKind::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    }
}

async fn modes(State(engine): State<Engine>) -> Json<talk2tables::status::ModesInfo> {
    Json(engine.modes())
}

/// `GET /api/health`.
async fn health(State(engine): State<Engine>) -> Json<talk2tables::status::Health> {
    Json(engine.health().await)
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "alive"}))
}

async fn ready(State(engine): State<Engine>) -> Response {
    let readiness = engine.readiness();
    let code = if readiness.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(readiness)).into_response()
}

async fn metrics(State(engine): State<Engine>) -> Json<serde_json::Value> {
    Json(engine.metrics())
}

async fn prometheus(State(engine): State<Engine>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], engine.prometheus())
        .into_response()
}
