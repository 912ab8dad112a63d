//! `talk2tables._native.ChatStream`: the progress events of one question, then its answer.
//!
//! `Engine.chat_stream(request_json)` starts the question on the runtime at once (core
//! `Engine::chat_with_progress`) and returns a `ChatStream`. Each `next()` is an awaitable
//! for the next event as `(kind, json)`: `("progress", Progress JSON)` per stage start and
//! end, then one `("response", ChatResponse JSON)`, then `None`. Dropping the stream
//! aborts the question if it is still running.

use std::sync::Arc;

use pyo3::prelude::*;
use talk2tables::{ChatRequest, Engine};
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::AbortHandle;

use crate::runtime::{self, future_into_py};

/// One event: its kind (`progress` or `response`) and its JSON text.
type StreamEvent = (String, String);

/// The events of one question in flight.
#[pyclass(frozen, module = "talk2tables._native", name = "ChatStream")]
pub(crate) struct ChatStream {
    events: Arc<Mutex<UnboundedReceiver<StreamEvent>>>,
    task: AbortHandle,
}

impl ChatStream {
    /// Spawns the question on the binding's runtime (which must be running).
    pub(crate) fn start(runtime: &tokio::runtime::Runtime, engine: Engine, request: ChatRequest) -> ChatStream {
        let (tx, rx) = unbounded_channel::<StreamEvent>();
        let task = runtime.spawn(async move {
            let (progress_tx, mut progress_rx) = unbounded_channel();
            let answer = engine.chat_with_progress(request, progress_tx);
            tokio::pin!(answer);
            let response = loop {
                tokio::select! {
                    Some(p) = progress_rx.recv() => {
                        let _ = tx.send(("progress".into(), json(&p)));
                    }
                    response = &mut answer => break response,
                }
            };
            while let Ok(p) = progress_rx.try_recv() {
                let _ = tx.send(("progress".into(), json(&p)));
            }
            let _ = tx.send(("response".into(), json(&response)));
        });
        ChatStream { events: Arc::new(Mutex::new(rx)), task: task.abort_handle() }
    }
}

/// JSON text of a value whose serialisation cannot fail (plain serde structs).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        serde_json::json!({"success": false, "error": {"code": "INTERNAL", "message": format!("cannot serialise: {e}")}})
            .to_string()
    })
}

#[pymethods]
impl ChatStream {
    /// Awaitable → `(kind, json) | None`: the next event, or `None` after the response.
    fn next<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let events = self.events.clone();
        future_into_py(py, async move { Ok(events.lock().await.recv().await) })
    }
}

impl Drop for ChatStream {
    /// Stops the question when nobody reads its events any more (a no-op once finished).
    fn drop(&mut self) {
        if runtime::runtime_if_owned().is_some() {
            self.task.abort();
        }
    }
}
