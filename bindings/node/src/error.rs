//! Core errors and panics as JavaScript errors.
//!
//! napi cannot give the rejection of an `async fn` a custom `code` (napi-rs/napi-rs#1632,
//! #2178), so the stable code of DESIGN.md §4 travels as a prefix of the message:
//! `"[SQL_REJECTED] only one read-only SELECT or WITH query is allowed"`. The wrapper
//! (`node/lib/errors.js`) parses the prefix and throws the matching `Talk2TablesError`
//! subclass with `.code` and `.retryable`.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use talk2tables::{Error, ErrorKind};

/// A JS error whose message is `[CODE] message`.
pub(crate) fn coded(kind: ErrorKind, message: &str) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("[{}] {message}", kind.code()))
}

/// The JS error for a core error: its code and its message without the code.
pub(crate) fn from_core(error: &Error) -> napi::Error {
    coded(error.kind(), error.message())
}

/// `INTERNAL` error for a value that could not be turned into JSON (a bug).
pub(crate) fn serialization(what: &str, error: &serde_json::Error) -> napi::Error {
    coded(ErrorKind::Internal, &format!("cannot serialise {what}: {error}"))
}

/// Runs `future`, turning a panic inside it into an `[INTERNAL]` rejection instead of
/// unwinding into napi.
pub(crate) async fn guarded<T>(future: impl Future<Output = napi::Result<T>>) -> napi::Result<T> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(panic_error(payload.as_ref())),
    }
}

/// Runs `f`, turning a panic into an `[INTERNAL]` error.
pub(crate) fn guarded_sync<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(panic_error(payload.as_ref())),
    }
}

fn panic_error(payload: &(dyn Any + Send)) -> napi::Error {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    coded(ErrorKind::Internal, &format!("panic in the native engine: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_carries_the_code() {
        let e = from_core(&Error::new(ErrorKind::SqlRejected, "writes are not allowed"));
        assert_eq!(e.reason, "[SQL_REJECTED] writes are not allowed");
    }

    #[test]
    fn panics_become_internal_errors() {
        let e = guarded_sync::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(e.reason, "[INTERNAL] panic in the native engine: boom");
    }
}
