//! The database behind the server, one variant per dialect over a native sqlx pool.
//! SQLite is implemented; PostgreSQL and MySQL URLs are recognised and refused for now.

use talk2tables_common::{DatabaseSchema, Dialect, QueryOutput};

use crate::sqlite::SqliteBackend;
use crate::{DbError, DbOptions, QueryError};

/// A connected, read-only database.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    /// SQLite file opened with `mode=ro` and `query_only`.
    Sqlite(SqliteBackend),
}

impl Backend {
    /// Connects to `db` (SQLite path or `sqlite:` URL; `postgres://`, `mysql://` later).
    pub(crate) async fn connect(db: &str, options: &DbOptions) -> Result<Backend, DbError> {
        match Dialect::from_url(db) {
            Dialect::Sqlite => Ok(Backend::Sqlite(SqliteBackend::open(db, options).await?)),
            other => Err(DbError::Unsupported(format!(
                "{other} databases are not supported by this version of the Database MCP yet; use a SQLite file"
            ))),
        }
    }

    /// The dialect statements must be written in.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Backend::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs a statement that passed the guard.
    pub(crate) async fn execute(&self, sql: &str, options: &DbOptions) -> Result<QueryOutput, QueryError> {
        match self {
            Backend::Sqlite(db) => db.execute(sql, options).await,
        }
    }

    /// Introspects the schema.
    pub(crate) async fn schema(&self, options: &DbOptions) -> Result<DatabaseSchema, DbError> {
        match self {
            Backend::Sqlite(db) => db.schema(options).await,
        }
    }
}
