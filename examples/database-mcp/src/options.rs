//! Limits applied to every query the server runs.

use std::time::Duration;

/// Limits for `execute_query` (and the timeout for schema introspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// Most rows returned per call (default 1000). The server reads at most
    /// `max_rows + 1` rows to know whether more exist, then stops.
    pub max_rows: usize,
    /// Wall-clock limit per query (default 30 s). SQLite queries are interrupted by a
    /// progress handler when it passes; the call also ends by a tokio timeout.
    pub timeout: Duration,
    /// Largest text or blob cell in bytes (default 16 KiB); longer text is cut at a
    /// character boundary and ends with `…`.
    pub max_cell_bytes: usize,
    /// Largest total result in bytes of row JSON (default 4 MiB); reading stops before a
    /// row that would exceed it, and the output is marked `truncated`.
    pub max_result_bytes: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_rows: 1000,
            timeout: Duration::from_secs(30),
            max_cell_bytes: 16 * 1024,
            max_result_bytes: 4 * 1024 * 1024,
        }
    }
}
