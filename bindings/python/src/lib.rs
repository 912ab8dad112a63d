//! `talk2tables._native`: the private native module behind the `talk2tables` Python
//! package. The public API is plain Python in `python/talk2tables/`; this module offers:
//! - `Config.load(path)`, `Config.parse(text, source)` — parsed configuration;
//! - `Engine.start(config)`, `Engine.embedded(data_dir)` — awaitables giving an `Engine`;
//! - `Engine.chat/ask/health/close` (awaitables), `modes/readiness/metrics/prometheus/multi_mcp_enabled`;
//! - `Engine.chat_stream(request_json)` → `ChatStream` whose awaitable `next()` gives
//!   `("progress" | "response", json)` events, then `None`;
//! - `Engine.chat_into/ask_into(..., completions, id)` → `Task` (Unix): the result is
//!   queued on a `Completions` watched by the event loop (see `completion.rs`);
//! - `NativeError(code, message, causes)`, `error_codes()`, `in_flight()`.
//!
//! Results are JSON text. See `runtime.rs` for the runtime, fork and exit rules.

#[cfg(unix)]
mod completion;
mod config;
mod engine;
mod error;
mod runtime;
mod stream;

use pyo3::prelude::*;

/// Number of awaitables whose Rust future has not finished or been dropped yet (for
/// tests of cancellation, and the exit drain).
#[pyfunction]
fn in_flight() -> usize {
    runtime::in_flight()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<config::NativeConfig>()?;
    m.add_class::<engine::NativeEngine>()?;
    m.add_class::<stream::ChatStream>()?;
    #[cfg(unix)]
    m.add_class::<completion::Completions>()?;
    #[cfg(unix)]
    m.add_class::<completion::Task>()?;
    m.add("NativeError", py.get_type::<error::NativeError>())?;
    m.add_function(wrap_pyfunction!(error::error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(in_flight, m)?)?;
    let drain = wrap_pyfunction!(runtime::drain, m)?;
    py.import("atexit")?.call_method1("register", (drain,))?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
