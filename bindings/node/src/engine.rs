//! [`NativeEngine`]: the core [`Engine`] as a napi class.

use std::path::PathBuf;

use napi_derive::napi;
use serde_json::Value;
use talk2tables::{ChatRequest, ChatResponse, Config, Engine, Error, ErrorKind};

use crate::error::{coded, from_core, guarded, guarded_sync, serialization};
use crate::stream::NativeChatStream;

/// A connected engine. Created only by the async factories; every method takes `&self`
/// (the core engine is an `Arc` inside), so concurrent calls are fine.
#[napi]
pub struct NativeEngine {
    engine: Engine,
}

#[napi]
impl NativeEngine {
    /// Reads the YAML configuration file at `path` (DESIGN.md §2, `${VAR}` expanded,
    /// environment variables and `./.env` applied) and connects to its servers.
    ///
    /// Rejects with `[CONFIG_ERROR]` (unreadable or invalid file) or `[MCP_UNAVAILABLE]`
    /// (`fail_fast` / `REQUIRE_MULTI_MCP` and a server is down).
    #[napi(factory)]
    pub async fn from_config_path(path: String) -> napi::Result<NativeEngine> {
        guarded(async move {
            let config = Config::load(&PathBuf::from(path)).map_err(|e| from_core(&e))?;
            start(config).await
        })
        .await
    }

    /// Like [`NativeEngine::from_config_path`] for a configuration given as a JSON value
    /// with the YAML file's structure (`{mcp_servers: {...}, orchestration: {...}}`).
    #[napi(factory)]
    pub async fn from_config_object(config: Value) -> napi::Result<NativeEngine> {
        guarded(async move {
            let text = serde_json::to_string(&config).map_err(|e| serialization("the configuration", &e))?;
            let env = talk2tables::config::process_env().map_err(|e| from_core(&e))?;
            let config = Config::from_yaml_str(&text, "<configuration object>", &*env).map_err(|e| from_core(&e))?;
            start(config).await
        })
        .await
    }

    /// The embedded default (sample database under `data_dir`, our two MCP servers in
    /// this process, offline SQL engine unless an LLM is configured by environment).
    ///
    /// Rejects with `[CONFIG_ERROR]` (directory or database cannot be written) or
    /// `[MCP_UNAVAILABLE]`.
    #[napi(factory)]
    pub async fn embedded(data_dir: String) -> napi::Result<NativeEngine> {
        guarded(async move {
            let engine = Engine::embedded(PathBuf::from(data_dir)).await.map_err(|e| from_core(&e))?;
            Ok(NativeEngine { engine })
        })
        .await
    }

    /// Answers one request (`{query, mode?, context?, session_id?, enable_recovery?}`,
    /// snake_case) with the DESIGN.md §3 envelope as JSON text (`node/lib` parses it with
    /// `JSON.parse`: one string crosses to the JS thread instead of an object built
    /// property by property). Never rejects for a question that cannot be answered: the
    /// envelope says `success: false` with `error: {code, message}`; a request of the
    /// wrong shape gives an `INVALID_REQUEST` envelope.
    #[napi]
    pub async fn chat(&self, request: Value) -> napi::Result<String> {
        let engine = self.engine.clone();
        guarded(async move {
            let response = match parse_request(request) {
                Ok(request) => engine.chat(request).await,
                Err(error) => ChatResponse::rejected(&error),
            };
            serde_json::to_string(&response).map_err(|e| serialization("the response", &e))
        })
        .await
    }

    /// Starts answering one request (same shape as [`NativeEngine::chat`]) and resolves
    /// to a [`NativeChatStream`] of its progress events and then its envelope. A request
    /// of the wrong shape gives a stream with only the `INVALID_REQUEST` envelope.
    #[napi]
    pub async fn chat_stream(&self, request: Value) -> napi::Result<NativeChatStream> {
        let engine = self.engine.clone();
        let request = parse_request(request);
        guarded(async move {
            Ok(match request {
                Ok(request) => NativeChatStream::start(engine, request),
                Err(error) => NativeChatStream::finished(&ChatResponse::rejected(&error)),
            })
        })
        .await
    }

    /// Answers one request like [`NativeEngine::chat`] and resolves to its `data` part
    /// (`{sql_query, results, resolved_entities, explanation, recovery_performed,
    /// metadata}`) as JSON text; rejects with `[CODE] message` when the envelope is a
    /// failure.
    #[napi]
    pub async fn ask(&self, request: Value) -> napi::Result<String> {
        let engine = self.engine.clone();
        guarded(async move {
            let request = parse_request(request).map_err(|e| from_core(&e))?;
            let response = engine.chat(request).await;
            match (response.data, response.error) {
                (Some(data), _) => serde_json::to_string(&data).map_err(|e| serialization("the result", &e)),
                (None, Some(error)) => Err(coded(error.code, &error.message)),
                (None, None) => Err(coded(ErrorKind::Internal, "response without data or error")),
            }
        })
        .await
    }

    /// `GET /api/chat/modes`: `{available_modes: [{mode, description, available}],
    /// default_mode, orchestrator_status}`.
    #[napi]
    pub fn modes(&self) -> napi::Result<Value> {
        guarded_sync(|| serde_json::to_value(self.engine.modes()).map_err(|e| serialization("the modes", &e)))
    }

    /// `GET /api/health`: `{status, services: {server_id: {...}}, timestamp, details}`.
    #[napi]
    pub async fn health(&self) -> napi::Result<Value> {
        let engine = self.engine.clone();
        guarded(async move {
            serde_json::to_value(engine.health().await).map_err(|e| serialization("the health report", &e))
        })
        .await
    }

    /// `GET /api/health/ready`: `{status: "ready"}` or `{status: "not_ready", reasons}`.
    #[napi]
    pub fn readiness(&self) -> napi::Result<Value> {
        guarded_sync(|| serde_json::to_value(self.engine.readiness()).map_err(|e| serialization("the readiness", &e)))
    }

    /// `GET /api/metrics`: counters, latency percentiles in seconds, cache counters,
    /// `mcp_connection_status`, `uptime_seconds`.
    #[napi]
    pub fn metrics(&self) -> napi::Result<Value> {
        guarded_sync(|| Ok(self.engine.metrics()))
    }

    /// `GET /api/metrics/prometheus`: every metric in the Prometheus text exposition
    /// format (names start with `talk2tables_`).
    #[napi]
    pub fn prometheus(&self) -> napi::Result<String> {
        guarded_sync(|| Ok(self.engine.prometheus()))
    }

    /// Whether multi-server mode is enabled by configuration (`ENABLE_MULTI_MCP`).
    #[napi(getter)]
    pub fn multi_mcp_enabled(&self) -> bool {
        self.engine.multi_mcp_enabled()
    }

    /// Disconnects every server; afterwards questions get `MCP_UNAVAILABLE`.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        let engine = self.engine.clone();
        guarded(async move {
            engine.close().await;
            Ok(())
        })
        .await
    }
}

async fn start(config: Config) -> napi::Result<NativeEngine> {
    let engine = Engine::from_config(config).await.map_err(|e| from_core(&e))?;
    Ok(NativeEngine { engine })
}

fn parse_request(request: Value) -> Result<ChatRequest, Error> {
    serde_json::from_value(request).map_err(|e| Error::new(ErrorKind::InvalidRequest, format!("invalid request: {e}")))
}
