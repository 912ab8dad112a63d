//! Helpers shared by the pooled server-database backends (PostgreSQL, MySQL/MariaDB).

use std::future::Future;
use std::time::Duration;

use sqlx::Executor;
use sqlx::pool::PoolConnection;

use crate::DbError;

/// Rolls the open transaction back; a connection that cannot roll back is closed, not
/// reused.
pub(crate) async fn rollback<DB>(mut conn: PoolConnection<DB>)
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() {
        conn.close_on_drop();
    }
}

/// Runs `work` under `timeout`. Errors: `DbError::Timeout` when it runs out, else
/// `work`'s own error.
pub(crate) async fn within<T>(
    timeout: Duration,
    work: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DbError> {
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Err(DbError::Timeout(timeout)),
        Ok(r) => r.map_err(DbError::from),
    }
}
