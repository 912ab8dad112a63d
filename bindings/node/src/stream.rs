//! [`NativeChatStream`]: the progress events of one question, then its answer.
//!
//! `NativeEngine.chatStream(request)` starts the question on napi's tokio runtime (core
//! `Engine::chat_with_progress`) and resolves to a stream. Each `next()` resolves to the
//! next event, `{event: "progress", data: Progress}` per stage start and end, then one
//! `{event: "response", data: ChatResponse}`, then `null`. Dropping the stream (garbage
//! collection) aborts the question if it is still running.

use std::sync::Arc;

use napi_derive::napi;
use serde_json::{Value, json};
use talk2tables::{ChatRequest, Engine};
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::AbortHandle;

use crate::error::guarded;

/// The events of one question in flight.
#[napi]
pub struct NativeChatStream {
    events: Arc<Mutex<UnboundedReceiver<Value>>>,
    task: AbortHandle,
}

impl NativeChatStream {
    /// Spawns the question; must be called inside napi's tokio runtime.
    pub(crate) fn start(engine: Engine, request: ChatRequest) -> NativeChatStream {
        let (tx, rx) = unbounded_channel::<Value>();
        let task = tokio::spawn(async move {
            let (progress_tx, mut progress_rx) = unbounded_channel();
            let answer = engine.chat_with_progress(request, progress_tx);
            tokio::pin!(answer);
            let response = loop {
                tokio::select! {
                    Some(p) = progress_rx.recv() => {
                        let _ = tx.send(event("progress", &p));
                    }
                    response = &mut answer => break response,
                }
            };
            while let Ok(p) = progress_rx.try_recv() {
                let _ = tx.send(event("progress", &p));
            }
            let _ = tx.send(event("response", &response));
        });
        NativeChatStream { events: Arc::new(Mutex::new(rx)), task: task.abort_handle() }
    }

    /// A stream with only `response` (a request rejected before it reached the engine);
    /// must be called inside napi's tokio runtime.
    pub(crate) fn finished(response: &talk2tables::ChatResponse) -> NativeChatStream {
        let (tx, rx) = unbounded_channel::<Value>();
        let _ = tx.send(event("response", response));
        let task = tokio::spawn(async {});
        NativeChatStream { events: Arc::new(Mutex::new(rx)), task: task.abort_handle() }
    }
}

/// `{event: name, data: value}`; a value that cannot be serialised (a bug) becomes an
/// `INTERNAL` failure body.
fn event<T: serde::Serialize>(name: &str, value: &T) -> Value {
    let data = serde_json::to_value(value).unwrap_or_else(
        |e| json!({"success": false, "error": {"code": "INTERNAL", "message": format!("cannot serialise: {e}")}}),
    );
    json!({"event": name, "data": data})
}

#[napi]
impl NativeChatStream {
    /// The next event (`{event: "progress" | "response", data}`), or `null` after the
    /// response.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<Value>> {
        let events = self.events.clone();
        guarded(async move { Ok(events.lock().await.recv().await) }).await
    }
}

impl Drop for NativeChatStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
