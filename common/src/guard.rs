//! The read-only statement guard: the parser allow-list that every SQL statement passes
//! before it reaches a database (in the core before sending, and again in the Database
//! MCP before running).
//!
//! PLACEHOLDER SIGNATURE — being implemented.

use sqlparser::ast::Query;

use crate::Dialect;

/// Why a statement was refused: the rule that refused it and a message that does not
/// echo the statement (so no secrets leak into logs or responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (rule: {rule})")]
pub struct Rejection {
    /// Stable rule name, e.g. `single_statement`, `query_only`, `data_modifying_cte`,
    /// `select_into`, `locking_read`, `forbidden_function`, `parse_error`, `empty`.
    pub rule: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

/// Parses `sql` with `dialect` and accepts it only if it is exactly one read-only query.
/// Returns the parsed query so callers can inspect or amend it (e.g. add a `LIMIT`).
///
/// Errors: a [`Rejection`] naming the rule that refused the statement.
pub fn check_query(sql: &str, dialect: Dialect) -> Result<Box<Query>, Rejection> {
    let _ = (sql, dialect);
    Err(Rejection { rule: "unimplemented", message: "guard not implemented yet".into() })
}
