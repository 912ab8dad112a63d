//! Turning an `execute_query` tool result into a [`QueryOutput`] (or a SQL error).
//!
//! Accepted success shapes (from `structured_content`, else the first text block parsed as
//! JSON): `{"columns": [...], "rows": [[...]], "row_count"?, "truncated"?, "total_rows"?}`
//! with rows as arrays, or rows as objects keyed by column name. Object rows are
//! normalised to arrays in `columns` order (absent keys become `null`); when `columns`
//! is missing it is derived from the first object's keys (sorted by name, since JSON
//! objects carry no order here). `row_count` defaults to the number of rows,
//! `truncated` to `false`.
//!
//! Tool errors (`is_error = true`): text `"SQL_REJECTED: msg"` → `SQL_REJECTED` with
//! `msg`; `"SQL_EXECUTION_FAILED: msg"` → `SQL_EXECUTION_FAILED` with `msg`; any other
//! text → `SQL_EXECUTION_FAILED` with the whole text.

use rmcp::model::CallToolResult;
use serde_json::Value;
use talk2tables_common::QueryOutput;

use crate::error::{Error, ErrorKind};

const REJECTED_PREFIX: &str = "SQL_REJECTED: ";
const FAILED_PREFIX: &str = "SQL_EXECUTION_FAILED: ";

/// The text blocks of a tool result joined with newlines.
pub(crate) fn result_text(result: &CallToolResult) -> String {
    let texts: Vec<&str> = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
    texts.join("\n")
}

/// Interprets the result of `execute_query` from `server_id`.
///
/// Errors: `SQL_REJECTED` / `SQL_EXECUTION_FAILED` for tool errors (see module doc),
/// `MCP_PROTOCOL_ERROR` when a success result has no recognisable rows.
///
/// Takes the result by value so the rows move out of it: they are copied nowhere between
/// the tool result and the HTTP body.
pub(crate) fn parse_query_result(server_id: &str, result: CallToolResult) -> Result<QueryOutput, Error> {
    if result.is_error == Some(true) {
        return Err(tool_error(&result_text(&result)));
    }
    let value = match result.structured_content {
        Some(v) if !v.is_null() => v,
        _ => {
            let Some(text) = result.content.iter().find_map(|c| c.as_text()) else {
                return Err(protocol(server_id, "execute_query returned neither structured content nor text"));
            };
            serde_json::from_str::<Value>(&text.text)
                .map_err(|e| protocol(server_id, &format!("execute_query text is not JSON ({e})")).with_source(e))?
        }
    };
    normalise(value).map_err(|why| protocol(server_id, &format!("execute_query result {why}")))
}

fn protocol(server_id: &str, message: &str) -> Error {
    Error::new(ErrorKind::McpProtocolError, format!("{server_id}: {message}"))
}

/// Maps the text of a tool error to `SQL_REJECTED` or `SQL_EXECUTION_FAILED`.
pub(crate) fn tool_error(text: &str) -> Error {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix(REJECTED_PREFIX) {
        Error::new(ErrorKind::SqlRejected, rest)
    } else if let Some(rest) = text.strip_prefix(FAILED_PREFIX) {
        Error::new(ErrorKind::SqlExecutionFailed, rest)
    } else if text.is_empty() {
        Error::new(ErrorKind::SqlExecutionFailed, "the query failed without a message")
    } else {
        Error::new(ErrorKind::SqlExecutionFailed, text)
    }
}

/// Normalises a result document; `Err` names what is wrong with it.
fn normalise(value: Value) -> Result<QueryOutput, String> {
    let Value::Object(mut doc) = value else {
        return Err("is not a JSON object".into());
    };
    let rows = match doc.remove("rows") {
        Some(Value::Array(rows)) => rows,
        Some(_) => return Err("has `rows` that is not an array".into()),
        None => return Err("has no `rows`".into()),
    };
    let mut columns: Option<Vec<String>> = match doc.remove("columns") {
        Some(Value::Array(cols)) => Some(
            cols.into_iter()
                .map(|c| match c {
                    Value::String(s) => Ok(s),
                    _ => Err("has a non-string column name".to_string()),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(Value::Null) | None => None,
        Some(_) => return Err("has `columns` that is not an array".into()),
    };
    let mut out_rows = Vec::with_capacity(rows.len());
    for row in rows {
        match row {
            Value::Array(values) => out_rows.push(values),
            Value::Object(map) => {
                let cols = columns.get_or_insert_with(|| map.keys().cloned().collect());
                out_rows.push(cols.iter().map(|c| map.get(c).cloned().unwrap_or(Value::Null)).collect());
            }
            _ => return Err("has a row that is neither an array nor an object".into()),
        }
    }
    let columns = columns.unwrap_or_default();
    if columns.is_empty() && out_rows.iter().any(|r| !r.is_empty()) {
        return Err("has rows but no `columns`".into());
    }
    let row_count = match doc.get("row_count") {
        Some(Value::Number(n)) => n.as_u64().map(|n| n as usize).ok_or("has a negative `row_count`")?,
        _ => out_rows.len(),
    };
    let truncated = doc.get("truncated").and_then(Value::as_bool).unwrap_or(false);
    let total_rows = doc.get("total_rows").and_then(Value::as_u64);
    Ok(QueryOutput { columns, rows: out_rows, row_count, truncated, total_rows })
}

#[cfg(test)]
mod tests {
    use rmcp::model::ContentBlock;
    use serde_json::json;

    use super::*;

    fn text_result(text: &str, is_error: bool) -> CallToolResult {
        if is_error {
            CallToolResult::error(vec![ContentBlock::text(text)])
        } else {
            CallToolResult::success(vec![ContentBlock::text(text)])
        }
    }

    #[test]
    fn structured_arrays_pass_through() {
        let mut r = text_result("ignored", false);
        r.structured_content = Some(json!({"columns": ["a", "b"], "rows": [[1, "x"]], "row_count": 1,
                                           "truncated": true, "total_rows": 5}));
        let out = parse_query_result("db", r).unwrap();
        assert_eq!(out.columns, ["a", "b"]);
        assert_eq!(out.rows, vec![vec![json!(1), json!("x")]]);
        assert!(out.truncated);
        assert_eq!(out.total_rows, Some(5));
    }

    #[test]
    fn object_rows_follow_columns_order() {
        let r =
            text_result(r#"{"columns": ["name", "total"], "rows": [{"total": 3, "name": "w"}, {"name": "v"}]}"#, false);
        let out = parse_query_result("db", r).unwrap();
        assert_eq!(out.rows, vec![vec![json!("w"), json!(3)], vec![json!("v"), Value::Null]]);
        assert_eq!(out.row_count, 2);
        assert!(!out.truncated);
    }

    #[test]
    fn object_rows_without_columns_derive_them() {
        let r = text_result(r#"{"rows": [{"b": 2, "a": 1}]}"#, false);
        let out = parse_query_result("db", r).unwrap();
        assert_eq!(out.columns, ["a", "b"]);
        assert_eq!(out.rows, vec![vec![json!(1), json!(2)]]);
    }

    #[test]
    fn malformed_results_are_protocol_errors() {
        for text in ["not json", "[1,2]", r#"{"columns": ["a"]}"#, r#"{"rows": [[1]]}"#, r#"{"rows": [3]}"#] {
            let e = parse_query_result("db", text_result(text, false)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::McpProtocolError, "{text}");
            assert!(e.message().starts_with("db: "));
        }
    }

    #[test]
    fn tool_error_prefixes() {
        let e = parse_query_result("db", text_result("SQL_REJECTED: only SELECT", true)).unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::SqlRejected, "only SELECT"));
        let e = parse_query_result("db", text_result("SQL_EXECUTION_FAILED: no such table: x", true)).unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::SqlExecutionFailed, "no such table: x"));
        let e = parse_query_result("db", text_result("disk I/O error", true)).unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::SqlExecutionFailed, "disk I/O error"));
    }
}
