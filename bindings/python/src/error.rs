//! Core errors across the FFI boundary.
//!
//! The native module raises one exception type, `NativeError`, whose `args` are
//! `(code: str, message: str, causes: list[str])`: the DESIGN.md §4 code, the message
//! without the code prefix, and the `source()` chain of the Rust error, outermost first.
//! The public package (`talk2tables/errors.py`) turns it into the subclass of
//! `Talk2TablesError` for the code, with the causes chained in `__cause__`. Building the
//! exception is lazy, so no GIL is needed where the error is made.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use talk2tables::{Error, ErrorKind};

create_exception!(
    talk2tables._native,
    NativeError,
    PyException,
    "Raised by talk2tables._native: args are (code, message, causes). The public package re-raises it \
     as the Talk2TablesError subclass of the code."
);

/// The Python exception for a core error.
pub(crate) fn to_py_err(error: &Error) -> PyErr {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    NativeError::new_err((error.kind().code().to_string(), error.message().to_string(), causes))
}

/// An `INVALID_REQUEST` error for a bad argument.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

/// Every code of DESIGN.md §4 with whether it is retryable, in the table's order:
/// `[("INVALID_REQUEST", False), ...]`. The Python package checks its classes against it.
#[pyfunction]
pub(crate) fn error_codes() -> Vec<(&'static str, bool)> {
    ErrorKind::ALL.iter().map(|k| (k.code(), k.is_retryable())).collect()
}
