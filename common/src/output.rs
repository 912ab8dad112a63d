//! The result of one `execute_query` call.

use serde::{Deserialize, Serialize};

/// Rows returned by the Database MCP's `execute_query` tool, as its structured content
/// (and, serialised, as its text content).
///
/// JSON: `{"columns": ["name", "total"], "rows": [["Magic Wand Pro", 1234.5]],
/// "row_count": 1, "truncated": false, "total_rows": null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QueryOutput {
    /// Column names, in the order of the select list.
    pub columns: Vec<String>,
    /// One array per row, each aligned with `columns`. Values are JSON scalars:
    /// integers, floats, strings (dates and decimals the driver cannot map exactly come
    /// as strings), booleans or null.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Number of rows in `rows`.
    pub row_count: usize,
    /// True when the server stopped reading at its row or byte cap, so more rows exist.
    pub truncated: bool,
    /// The full number of rows when the server knows it (it never counts past its cap
    /// just to fill this in); `None` when unknown.
    #[serde(default)]
    pub total_rows: Option<u64>,
}
