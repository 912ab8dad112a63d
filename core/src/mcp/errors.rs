//! Mapping of rmcp failures to the core's [`Error`] codes (DESIGN.md §4).
//!
//! - elapsed request timeout → `MCP_TIMEOUT` (`"<server_id>: request timed out after N s"`);
//! - transport send failure, transport closed, cancelled service, refused connection →
//!   `MCP_UNAVAILABLE` (the connection is then considered down);
//! - a JSON-RPC error from the server or an unexpected response → `MCP_PROTOCOL_ERROR`.
//!
//! The rmcp error is kept as the cause ([`Error::with_source`]).

use std::time::Duration;

use rmcp::ServiceError;
use rmcp::model::ErrorCode;
use rmcp::service::ClientInitializeError;

use crate::error::{Error, ErrorKind};

/// JSON-RPC "method not found": a server without the called capability.
pub(crate) const METHOD_NOT_FOUND: ErrorCode = ErrorCode::METHOD_NOT_FOUND;

/// Whether this error means the transport is gone (the connection must be marked down).
pub(crate) fn is_connection_failure(err: &ServiceError) -> bool {
    matches!(err, ServiceError::TransportSend(_) | ServiceError::TransportClosed | ServiceError::Cancelled { .. })
}

/// Whether a JSON-RPC error says our session is gone (legacy `-32000`/`-32001` with a
/// message mentioning the session, e.g. "Bad Request: No valid session ID provided"):
/// the connection must be rebuilt, so it counts as a connection failure.
pub(crate) fn is_session_error(data: &rmcp::ErrorData) -> bool {
    matches!(data.code.0, -32001 | -32000) && data.message.to_ascii_lowercase().contains("session")
}

/// Whether the server answered JSON-RPC `-32601` (method not found).
pub(crate) fn is_method_not_found(err: &ServiceError) -> bool {
    matches!(err, ServiceError::McpError(data) if data.code == METHOD_NOT_FOUND)
}

/// The error for a request `operation` (e.g. `"resources/list"`) to `server_id` that failed
/// with `err`.
pub(crate) fn from_service_error(server_id: &str, operation: &str, err: ServiceError) -> Error {
    let (kind, message) = match &err {
        ServiceError::TransportSend(_) | ServiceError::TransportClosed => {
            (ErrorKind::McpUnavailable, format!("{server_id}: {operation} failed: connection lost ({err})"))
        }
        ServiceError::Cancelled { .. } => {
            (ErrorKind::McpUnavailable, format!("{server_id}: {operation} failed: connection closed ({err})"))
        }
        ServiceError::Timeout { timeout } => (ErrorKind::McpTimeout, timeout_message(server_id, *timeout)),
        ServiceError::McpError(data) if is_session_error(data) => (
            ErrorKind::McpUnavailable,
            format!("{server_id}: {operation} failed: session lost ({}: {})", data.code.0, data.message),
        ),
        ServiceError::McpError(data) => (
            ErrorKind::McpProtocolError,
            format!("{server_id}: {operation} failed: server error {}: {}", data.code.0, data.message),
        ),
        _ => (ErrorKind::McpProtocolError, format!("{server_id}: {operation} failed: {err}")),
    };
    Error::new(kind, message).with_source(err)
}

/// The error for a request to `server_id` that did not answer within `timeout`.
pub(crate) fn timeout(server_id: &str, timeout: Duration) -> Error {
    Error::new(ErrorKind::McpTimeout, timeout_message(server_id, timeout))
}

fn timeout_message(server_id: &str, timeout: Duration) -> String {
    format!("{server_id}: request timed out after {} s", format_secs(timeout))
}

/// Seconds without a trailing `.0` for whole numbers (`30`, `0.5`).
pub(crate) fn format_secs(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 { format!("{}", secs as u64) } else { format!("{secs}") }
}

/// The error for a failed handshake (`initialize`) with `server_id`: a JSON-RPC error or
/// a malformed answer is `MCP_PROTOCOL_ERROR`, anything about the transport (refused,
/// closed, child exited) is `MCP_UNAVAILABLE`. `detail` (e.g. the child's last stderr
/// lines) is appended when not empty.
pub(crate) fn from_initialize_error(server_id: &str, err: ClientInitializeError, detail: &str) -> Error {
    let kind = match &err {
        ClientInitializeError::TransportError { .. } | ClientInitializeError::ConnectionClosed(_) => {
            ErrorKind::McpUnavailable
        }
        _ => ErrorKind::McpProtocolError,
    };
    let mut message = format!("{server_id}: handshake failed: {err}");
    if !detail.is_empty() {
        message.push_str(" — ");
        message.push_str(detail);
    }
    Error::new(kind, message).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_kinds() {
        let e = from_service_error("db", "tools/call", ServiceError::TransportClosed);
        assert_eq!(e.kind(), ErrorKind::McpUnavailable);
        assert!(e.message().starts_with("db: tools/call failed"));
        assert!(std::error::Error::source(&e).is_some());

        let e = from_service_error("db", "x", ServiceError::Timeout { timeout: Duration::from_millis(1500) });
        assert_eq!(e.kind(), ErrorKind::McpTimeout);
        assert_eq!(e.message(), "db: request timed out after 1.5 s");

        let data = rmcp::ErrorData::new(ErrorCode::INTERNAL_ERROR, "boom", None);
        let e = from_service_error("db", "resources/read", ServiceError::McpError(data));
        assert_eq!(e.kind(), ErrorKind::McpProtocolError);
        assert!(e.message().contains("boom"));

        let e = from_service_error("db", "x", ServiceError::UnexpectedResponse);
        assert_eq!(e.kind(), ErrorKind::McpProtocolError);
    }

    #[test]
    fn session_errors_are_unavailable() {
        let data = rmcp::ErrorData::new(ErrorCode(-32000), "Bad Request: No valid session ID provided", None);
        let e = from_service_error("m", "tools/list", ServiceError::McpError(data));
        assert_eq!(e.kind(), ErrorKind::McpUnavailable);
        let data = rmcp::ErrorData::new(ErrorCode(-32000), "tool exploded", None);
        let e = from_service_error("m", "tools/call", ServiceError::McpError(data));
        assert_eq!(e.kind(), ErrorKind::McpProtocolError);
    }

    #[test]
    fn method_not_found_is_recognised() {
        let data = rmcp::ErrorData::new(ErrorCode::METHOD_NOT_FOUND, "nope", None);
        assert!(is_method_not_found(&ServiceError::McpError(data)));
        assert!(!is_method_not_found(&ServiceError::TransportClosed));
        assert!(is_connection_failure(&ServiceError::TransportClosed));
        assert_eq!(timeout("a", Duration::from_secs(30)).message(), "a: request timed out after 30 s");
    }
}
