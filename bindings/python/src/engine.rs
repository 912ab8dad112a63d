//! `talk2tables._native.Engine`: a started core [`talk2tables::Engine`].
//!
//! Results cross the boundary as JSON text (the exact serde JSON of DESIGN.md §3), which
//! the public package parses; so no GIL is taken on tokio threads to build Python objects.

use std::path::PathBuf;

use pyo3::prelude::*;
use talk2tables::{ChatRequest, Engine};

use crate::config::NativeConfig;
use crate::error::{invalid, to_py_err};
use crate::runtime::{self, call_sync, future_into_py};
use crate::stream::ChatStream;

/// A running engine. Made only by the awaitables `Engine.start` / `Engine.embedded`.
#[pyclass(frozen, module = "talk2tables._native", name = "Engine")]
pub(crate) struct NativeEngine {
    /// Always `Some` until `Drop`.
    engine: Option<Engine>,
}

impl NativeEngine {
    fn engine(&self) -> PyResult<Engine> {
        runtime::runtime().map_err(|e| to_py_err(&e))?;
        self.engine.clone().ok_or_else(|| to_py_err(&invalid("the engine is gone")))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, talk2tables::Error> {
    serde_json::to_string(value)
        .map_err(|e| talk2tables::Error::new(talk2tables::ErrorKind::Internal, format!("cannot serialise: {e}")))
}

#[pymethods]
impl NativeEngine {
    /// Awaitable → `Engine`: connects to every server of `config` (core `Engine::from_config`).
    #[staticmethod]
    fn start<'py>(py: Python<'py>, config: &NativeConfig) -> PyResult<Bound<'py, PyAny>> {
        let config = config.config.clone();
        future_into_py(py, async move {
            let engine = Engine::from_config(config).await?;
            Ok(NativeEngine { engine: Some(engine) })
        })
    }

    /// Awaitable → `Engine`: the embedded default under `data_dir` (core `Engine::embedded`).
    #[staticmethod]
    fn embedded(py: Python<'_>, data_dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
        future_into_py(py, async move {
            let engine = Engine::embedded(data_dir).await?;
            Ok(NativeEngine { engine: Some(engine) })
        })
    }

    /// Awaitable → `str`: the ChatResponse JSON for a ChatRequest JSON
    /// (`{query, mode?, context?, session_id?, enable_recovery?}`). A request that does
    /// not have that shape raises `INVALID_REQUEST` at once.
    fn chat<'py>(&self, py: Python<'py>, request_json: &str) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        let request: ChatRequest = serde_json::from_str(request_json)
            .map_err(|e| to_py_err(&invalid(format!("malformed chat request: {e}"))))?;
        future_into_py(py, async move { to_json(&engine.chat(request).await) })
    }

    /// Starts answering a ChatRequest JSON like [`NativeEngine::chat`]; the ChatResponse
    /// JSON is queued on `completions` under `id` (see `completion.rs`). Returns the
    /// [`Task`](crate::completion::Task) to cancel it. A request that does not have the
    /// ChatRequest shape raises `INVALID_REQUEST` at once.
    #[cfg(unix)]
    fn chat_into(
        &self,
        request_json: &str,
        completions: &crate::completion::Completions,
        id: u64,
    ) -> PyResult<crate::completion::Task> {
        let engine = self.engine()?;
        let request: ChatRequest = serde_json::from_str(request_json)
            .map_err(|e| to_py_err(&invalid(format!("malformed chat request: {e}"))))?;
        crate::completion::spawn(completions, id, async move { to_json(&engine.chat(request).await) })
    }

    /// Starts answering `query` like [`NativeEngine::ask`]; the QueryResult JSON, or the
    /// error of the failed answer, is queued on `completions` under `id`.
    #[cfg(unix)]
    fn ask_into(
        &self,
        query: String,
        completions: &crate::completion::Completions,
        id: u64,
    ) -> PyResult<crate::completion::Task> {
        let engine = self.engine()?;
        crate::completion::spawn(completions, id, async move { to_json(&engine.ask(&query).await?) })
    }

    /// A [`ChatStream`] for a ChatRequest JSON: the question starts now, its progress
    /// events and then its ChatResponse come from `ChatStream.next()`. A request that
    /// does not have the ChatRequest shape raises `INVALID_REQUEST` at once.
    fn chat_stream(&self, request_json: &str) -> PyResult<ChatStream> {
        let engine = self.engine()?;
        let request: ChatRequest = serde_json::from_str(request_json)
            .map_err(|e| to_py_err(&invalid(format!("malformed chat request: {e}"))))?;
        let runtime = runtime::runtime().map_err(|e| to_py_err(&e))?;
        Ok(ChatStream::start(runtime, engine, request))
    }

    /// Awaitable → `str`: the QueryResult JSON (`data` of a successful ChatResponse), or
    /// raises the error of the failed answer.
    fn ask<'py>(&self, py: Python<'py>, query: String) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        future_into_py(py, async move { to_json(&engine.ask(&query).await?) })
    }

    /// Awaitable → `str`: the health JSON of `GET /api/health`.
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        future_into_py(py, async move { to_json(&engine.health().await) })
    }

    /// The modes JSON of `GET /api/chat/modes`.
    fn modes(&self, py: Python<'_>) -> PyResult<String> {
        let engine = self.engine()?;
        call_sync(py, move || to_json(&engine.modes()))
    }

    /// The readiness JSON of `GET /api/health/ready`: `{status, reasons?}`.
    fn readiness(&self, py: Python<'_>) -> PyResult<String> {
        let engine = self.engine()?;
        call_sync(py, move || to_json(&engine.readiness()))
    }

    /// The metrics JSON of `GET /api/metrics`.
    fn metrics(&self, py: Python<'_>) -> PyResult<String> {
        let engine = self.engine()?;
        call_sync(py, move || to_json(&engine.metrics()))
    }

    /// Every metric in the Prometheus text exposition format (`GET /api/metrics/prometheus`).
    fn prometheus(&self, py: Python<'_>) -> PyResult<String> {
        let engine = self.engine()?;
        call_sync(py, move || Ok(engine.prometheus()))
    }

    /// Whether multi-server mode is enabled by configuration (`ENABLE_MULTI_MCP`).
    fn multi_mcp_enabled(&self) -> PyResult<bool> {
        Ok(self.engine()?.multi_mcp_enabled())
    }

    /// Awaitable → `None`: disconnects every server.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        future_into_py(py, async move {
            engine.close().await;
            Ok(())
        })
    }
}

impl Drop for NativeEngine {
    /// Drops the core engine inside the runtime's context (its tasks and connections may
    /// need the reactor); in a forked child, where the runtime is dead, it is leaked.
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            match runtime::runtime_if_owned() {
                Some(rt) => {
                    let _entered = rt.enter();
                    drop(engine);
                }
                None => std::mem::forget(engine),
            }
        }
    }
}
