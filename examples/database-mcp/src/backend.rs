//! The database behind the server, one variant per dialect over a native sqlx pool.
//! SQLite (file opened read-only), PostgreSQL and MySQL/MariaDB (read-only transactions).

use talk2tables_common::{DatabaseSchema, Dialect, QueryOutput};
use tokio_util::sync::CancellationToken;

use crate::mysql::MysqlBackend;
use crate::postgres::PostgresBackend;
use crate::sqlite::SqliteBackend;
use crate::{DbError, DbOptions, QueryError};

/// A connected, read-only database.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    /// SQLite file opened with `mode=ro` and `query_only`.
    Sqlite(SqliteBackend),
    /// PostgreSQL through a `READ ONLY` transaction per query.
    Postgres(PostgresBackend),
    /// MySQL or MariaDB through a `READ ONLY` transaction per query.
    Mysql(MysqlBackend),
}

impl Backend {
    /// Connects to `db`: a SQLite path or `sqlite:` URL, `postgres://…`, `mysql://…` or
    /// `mariadb://…`.
    pub(crate) async fn connect(db: &str, options: &DbOptions) -> Result<Backend, DbError> {
        match Dialect::from_url(db) {
            Dialect::Sqlite => Ok(Backend::Sqlite(SqliteBackend::open(db, options).await?)),
            Dialect::Postgresql => Ok(Backend::Postgres(PostgresBackend::connect(db, options).await?)),
            Dialect::Mysql => Ok(Backend::Mysql(MysqlBackend::connect(db, options).await?)),
        }
    }

    /// The dialect statements must be written in.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgresql,
            Backend::Mysql(_) => Dialect::Mysql,
        }
    }

    /// The server product: `sqlite`, `postgresql`, `mysql` or `mariadb`.
    pub(crate) fn server_kind(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgresql",
            Backend::Mysql(db) => match db.flavor() {
                crate::mysql::Flavor::Mysql => "mysql",
                crate::mysql::Flavor::Mariadb => "mariadb",
            },
        }
    }

    /// Runs a statement that passed the guard. `cancel` interrupts a SQLite statement
    /// (PostgreSQL and MySQL statements end at their server-side timeout).
    pub(crate) async fn execute(
        &self,
        sql: &str,
        options: &DbOptions,
        cancel: &CancellationToken,
    ) -> Result<QueryOutput, QueryError> {
        match self {
            Backend::Sqlite(db) => db.execute(sql, options, cancel).await,
            Backend::Postgres(db) => db.execute(sql, options).await,
            Backend::Mysql(db) => db.execute(sql, options).await,
        }
    }

    /// Introspects the schema.
    pub(crate) async fn schema(&self, options: &DbOptions) -> Result<DatabaseSchema, DbError> {
        match self {
            Backend::Sqlite(db) => db.schema(options).await,
            Backend::Postgres(db) => db.schema(options).await,
            Backend::Mysql(db) => db.schema(options).await,
        }
    }
}
