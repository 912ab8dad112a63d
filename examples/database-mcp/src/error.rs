//! Errors of the Database MCP: [`DbError`] for setup and introspection, [`QueryError`]
//! for one `execute_query` call (its `Display` is the exact tool error text).

use std::time::Duration;

use talk2tables_common::guard::Rejection;

/// Failure to open a database, introspect it, create the sample or serve a transport.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The `db` argument is not a usable path or URL (e.g. the SQLite file does not exist).
    #[error("invalid database: {0}")]
    InvalidDatabase(String),
    /// A database kind this server does not support.
    #[error("unsupported database: {0}")]
    Unsupported(String),
    /// The database driver reported an error (message from the driver).
    #[error("database error: {0}")]
    Database(String),
    /// An operation exceeded its timeout.
    #[error("operation exceeded the {} ms timeout", .0.as_millis())]
    Timeout(Duration),
    /// File system error (sample creation).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The MCP transport failed (stdio or HTTP serving).
    #[error("transport error: {0}")]
    Transport(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        DbError::Database(driver_message(&e))
    }
}

/// The database's own message for a driver error (`no such table: x`), without sqlx's
/// wrapper text; other errors as sqlx displays them.
pub(crate) fn driver_message(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// Why one `execute_query` call failed. `Display` gives the tool error text the core
/// parses, prefix included:
/// - `SQL_REJECTED: <message> (rule: <rule>)` — refused by the guard, nothing ran;
/// - `SQL_EXECUTION_FAILED: <database message>` — the database returned an error;
/// - `SQL_EXECUTION_FAILED: query exceeded the <ms> ms timeout`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The guard refused the statement.
    #[error("SQL_REJECTED: {0}")]
    Rejected(Rejection),
    /// The database reported an error.
    #[error("SQL_EXECUTION_FAILED: {0}")]
    Failed(String),
    /// The query ran longer than the configured timeout and was interrupted.
    #[error("SQL_EXECUTION_FAILED: query exceeded the {} ms timeout", .0.as_millis())]
    Timeout(Duration),
}

impl QueryError {
    /// The DESIGN §4 error code: `SQL_REJECTED` or `SQL_EXECUTION_FAILED`.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::Rejected(_) => "SQL_REJECTED",
            QueryError::Failed(_) | QueryError::Timeout(_) => "SQL_EXECUTION_FAILED",
        }
    }
}
