//! The one tokio runtime of the process, and the bridge from Rust futures to asyncio.
//!
//! Why a runtime of our own instead of pyo3-async-runtimes' lazy default:
//! - **Fork.** tokio's worker threads do not survive `fork()`; a runtime inherited by a
//!   child never runs anything again, so every awaitable would hang forever. The runtime
//!   records the PID that built it, and every entry point checks it: a child process
//!   gets an `INVALID_REQUEST` error that says what to do instead of a hang. A child that
//!   never inherited a runtime (the parent never used the binding) builds its own.
//! - **Exit.** pyo3-async-runtimes has no shutdown hook, and a tokio worker still
//!   completing an asyncio future while the interpreter finalises can crash the process
//!   (about 2 % of runs). [`drain`] is registered with `atexit`: it waits, without the
//!   GIL, until no future is in flight (at most 2 s).
//! - **Panics.** A panic inside a future or a sync call becomes an `INTERNAL` error, never
//!   pyo3's `PanicException`.
//!
//! The GIL is never held while a future waits: futures run on tokio workers and only
//! take the GIL (on a blocking thread, inside pyo3-async-runtimes) to deliver the result.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use pyo3::prelude::*;
use talk2tables::{Error, ErrorKind};
use tokio::runtime::Runtime;

use crate::error::to_py_err;

/// The runtime and the process that built it.
struct Owned {
    runtime: &'static Runtime,
    pid: u32,
}

static RUNTIME: OnceLock<Result<Owned, String>> = OnceLock::new();

/// Futures handed to asyncio that have not finished yet.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Longest [`drain`] waits at exit for in-flight futures.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// The process's runtime, built on first use and registered with pyo3-async-runtimes.
///
/// Errors: `INVALID_REQUEST` when called in a child process after `fork()` of a process
/// that had already built it; `INTERNAL` when tokio cannot start its threads.
pub(crate) fn runtime() -> Result<&'static Runtime, Error> {
    let owned = RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("talk2tables")
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
        let runtime: &'static Runtime = Box::leak(Box::new(runtime));
        // Only this module uses its copy of pyo3-async-runtimes, so this is the first call.
        let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime);
        Ok(Owned { runtime, pid: std::process::id() })
    });
    match owned {
        Err(message) => Err(Error::new(ErrorKind::Internal, message.clone())),
        Ok(owned) if owned.pid != std::process::id() => Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "talk2tables was used in a child process (pid {}) created by fork() after its parent (pid {}) \
                 had started the engine's runtime; the runtime's threads do not survive fork(). Create engines \
                 only after forking, or start worker processes with the 'spawn' or 'forkserver' \
                 multiprocessing start method",
                std::process::id(),
                owned.pid
            ),
        )),
        Ok(owned) => Ok(owned.runtime),
    }
}

/// The runtime if it was built by this process (for `Drop`), else `None`.
pub(crate) fn runtime_if_owned() -> Option<&'static Runtime> {
    match RUNTIME.get() {
        Some(Ok(owned)) if owned.pid == std::process::id() => Some(owned.runtime),
        _ => None,
    }
}

/// Counts one in-flight future from creation to drop (completion or cancellation).
pub(crate) struct InFlight;

impl InFlight {
    pub(crate) fn new() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Number of futures handed to asyncio that have not finished or been dropped yet.
pub(crate) fn in_flight() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// Runs `fut` on the runtime and returns an asyncio awaitable for its result.
///
/// Cancelling the awaitable (or the task awaiting it) drops `fut`. Core errors become
/// `NativeError(code, message, causes)`; a panic becomes an `INTERNAL` error. Must be
/// called with a running event loop (else `RuntimeError`, from pyo3-async-runtimes).
pub(crate) fn future_into_py<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    runtime().map_err(|e| to_py_err(&e))?;
    let guard = InFlight::new();
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let _guard = guard;
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(to_py_err(&error)),
            Err(panic) => Err(to_py_err(&panic_error(panic.as_ref()))),
        }
    })
}

/// Runs a quick synchronous core call inside the runtime's context, with the GIL
/// released and panics turned into `INTERNAL` errors.
pub(crate) fn call_sync<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> Result<T, Error> + Send,
    T: Send,
{
    let runtime = runtime().map_err(|e| to_py_err(&e))?;
    py.detach(|| {
        let _entered = runtime.enter();
        match std::panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(result) => result,
            Err(panic) => Err(panic_error(panic.as_ref())),
        }
    })
    .map_err(|e| to_py_err(&e))
}

/// Runs a synchronous call that needs no runtime, turning a panic into `INTERNAL`.
pub(crate) fn catch_panics<T>(f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => Err(panic_error(panic.as_ref())),
    }
    .map_err(|e| to_py_err(&e))
}

/// The `INTERNAL` error for a caught panic.
pub(crate) fn panic_error(panic: &(dyn std::any::Any + Send)) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Error::new(ErrorKind::Internal, format!("the Rust core panicked (a bug): {what}"))
}

/// `atexit` hook: waits without the GIL until no future is in flight (at most 2 s),
/// then 20 ms more so tokio workers finish handing results to asyncio before the
/// interpreter finalises.
#[pyfunction]
pub(crate) fn drain(py: Python<'_>) {
    if runtime_if_owned().is_none() {
        return;
    }
    py.detach(|| {
        let deadline = Instant::now() + DRAIN_LIMIT;
        while in_flight() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20));
    });
}
