//! A cheap bridge from tokio tasks to one asyncio event loop, for the per-question calls
//! (`Engine.chat_into`, `Engine.ask_into`).
//!
//! pyo3-async-runtimes delivers each result by spawning a second task, then a blocking
//! thread that takes the GIL and calls `loop.call_soon_threadsafe`: three thread hops
//! and a GIL hand-off per awaitable (about 100 µs on a busy 2-core machine). Here a
//! finished task only pushes `(id, result)` onto a queue and writes one byte to a
//! socket pair (only when the queue was empty); the event loop watches the other end
//! with `loop.add_reader` and its callback takes every finished result with
//! [`Completions::take`]. No tokio thread ever takes the GIL.
//!
//! Unix only (a socket pair and `add_reader`); the public package falls back to the
//! pyo3-async-runtimes awaitables where either is missing.

use std::future::Future;
use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use pyo3::prelude::*;
use talk2tables::{Error, ErrorKind};
use tokio::task::AbortHandle;

use crate::error::to_py_err;
use crate::runtime::{self, InFlight, panic_error};

/// What a finished task left: its id and its JSON text or error.
type Finished = (u64, Result<String, Error>);

/// The state shared between the Python object and the tasks.
struct Shared {
    finished: Mutex<Vec<Finished>>,
    /// Set when a wake-up byte is written and not yet consumed by `take`.
    signalled: AtomicBool,
    /// Written by tasks (non-blocking).
    writer: UnixStream,
    /// Watched by the event loop (non-blocking).
    reader: UnixStream,
}

impl Shared {
    fn finish(&self, id: u64, result: Result<String, Error>) {
        match self.finished.lock() {
            Ok(mut finished) => finished.push((id, result)),
            Err(poisoned) => poisoned.into_inner().push((id, result)),
        }
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // The socket holds at most one unconsumed byte, so this cannot block or fill
            // the buffer; a failed write would only delay delivery until the next one.
            let _ = (&self.writer).write(&[1]);
        }
    }
}

/// `talk2tables._native.Completions`: the finished results of tasks started with
/// `Engine.chat_into` / `Engine.ask_into`, and the file descriptor that becomes readable
/// when there are some. Use one per event loop.
#[pyclass(frozen, module = "talk2tables._native", name = "Completions")]
pub(crate) struct Completions {
    shared: Arc<Shared>,
}

#[pymethods]
impl Completions {
    /// A new socket pair and an empty queue. Raises `INTERNAL` when the sockets cannot
    /// be created.
    #[new]
    fn new() -> PyResult<Self> {
        let make = || -> std::io::Result<Shared> {
            let (writer, reader) = UnixStream::pair()?;
            writer.set_nonblocking(true)?;
            reader.set_nonblocking(true)?;
            Ok(Shared { finished: Mutex::new(Vec::new()), signalled: AtomicBool::new(false), writer, reader })
        };
        let shared = make().map_err(|e| {
            to_py_err(&Error::new(ErrorKind::Internal, format!("cannot create the completion sockets: {e}")))
        })?;
        Ok(Completions { shared: Arc::new(shared) })
    }

    /// The file descriptor to watch for reading (`loop.add_reader(c.fileno(), ...)`).
    fn fileno(&self) -> i32 {
        self.shared.reader.as_raw_fd()
    }

    /// Every result finished since the last call, oldest first: `(id, json, None)` or
    /// `(id, None, NativeError)`. Consumes the wake-up byte; never blocks.
    fn take(&self, py: Python<'_>) -> Vec<(u64, Option<String>, Option<Py<PyAny>>)> {
        self.shared.signalled.store(false, Ordering::Release);
        let mut buf = [0u8; 64];
        loop {
            match (&self.shared.reader).read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let finished = match self.shared.finished.lock() {
            Ok(mut finished) => std::mem::take(&mut *finished),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        finished
            .into_iter()
            .map(|(id, result)| match result {
                Ok(json) => (id, Some(json), None),
                Err(error) => (id, None, Some(to_py_err(&error).into_value(py).into_any())),
            })
            .collect()
    }
}

/// `talk2tables._native.Task`: a task started with `Engine.chat_into` / `ask_into`.
#[pyclass(frozen, module = "talk2tables._native", name = "Task")]
pub(crate) struct Task {
    abort: AbortHandle,
}

#[pymethods]
impl Task {
    /// Drops the task's future (at its next await point); its result never arrives.
    fn cancel(&self) {
        self.abort.abort();
    }
}

/// Runs `fut` on the runtime; its result (or an `INTERNAL` error for a panic) is queued
/// on `completions` under `id`.
///
/// Errors: `INVALID_REQUEST` after `fork()`, `INTERNAL` when the runtime cannot start.
pub(crate) fn spawn<F>(completions: &Completions, id: u64, fut: F) -> PyResult<Task>
where
    F: Future<Output = Result<String, Error>> + Send + 'static,
{
    let runtime = runtime::runtime().map_err(|e| to_py_err(&e))?;
    let shared = Arc::clone(&completions.shared);
    let guard = InFlight::new();
    let handle = runtime.spawn(async move {
        let _guard = guard;
        let result = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(panic_error(panic.as_ref())),
        };
        shared.finish(id, result);
    });
    Ok(Task { abort: handle.abort_handle() })
}
