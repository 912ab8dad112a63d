//! Free functions of the addon: the error-code table, failure envelopes, the version.

use napi_derive::napi;
use serde_json::Value;
use talk2tables::{ChatResponse, Error, ErrorKind};

use crate::error::{coded, serialization};

/// One row of the DESIGN.md §4 table, from the core's `ErrorKind`.
#[napi(object)]
pub struct ErrorCodeInfo {
    /// The stable code, e.g. `SQL_REJECTED`.
    pub code: String,
    /// Whether the same request may succeed when tried again later.
    pub retryable: bool,
}

/// Every error code of the core in DESIGN.md §4 order, with its retryability. The
/// wrapper's tests check its error classes against this table.
#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    ErrorKind::ALL.iter().map(|k| ErrorCodeInfo { code: k.code().to_string(), retryable: k.is_retryable() }).collect()
}

/// A failed DESIGN.md §3 envelope (`success: false`, `error: {code, message}`, mode
/// `auto`, fresh `timestamp` and `response_id`), for requests rejected before they reach
/// the engine (e.g. a body that is not JSON). Throws `[INVALID_REQUEST]` for an unknown
/// `code`.
#[napi]
pub fn failure_envelope(code: String, message: String) -> napi::Result<Value> {
    let kind: ErrorKind = serde_json::from_value(Value::String(code.clone()))
        .map_err(|_| coded(ErrorKind::InvalidRequest, &format!("unknown error code {code:?}")))?;
    serde_json::to_value(ChatResponse::rejected(&Error::new(kind, message)))
        .map_err(|e| serialization("the envelope", &e))
}

/// The version of the native addon (the workspace version, e.g. `0.1.0`).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
