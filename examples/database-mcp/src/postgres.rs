//! The PostgreSQL backend: a native `PgPool` with fast-failing connects, queries run in
//! a `READ ONLY` transaction that is always rolled back, with a `SET LOCAL
//! statement_timeout` the query cannot change, and rows read through a server-side
//! cursor so at most `max_rows + 1` rows ever leave the server.
//!
//! One query, on one pooled connection:
//! 1. `BEGIN TRANSACTION READ ONLY` and `SET LOCAL statement_timeout = <ms>` (our text);
//! 2. the statement is prepared with the extended protocol (the server itself refuses a
//!    string holding several commands) to learn its column names;
//! 3. `DECLARE t2t_rows NO SCROLL CURSOR FOR <statement>` (extended protocol again);
//! 4. `FETCH FORWARD <max_rows + 1> FROM t2t_rows` over the simple protocol, which
//!    returns every value as text; values are mapped to JSON by type name (integers,
//!    NUMERIC and floats as numbers, `bool` as booleans, everything else as text);
//! 5. `ROLLBACK`, whatever happened.

use std::time::Duration;

use futures::TryStreamExt;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Column, Executor, Postgres, Row, SqlSafeStr, Statement, TypeInfo, ValueRef};
use talk2tables_common::{ColumnSchema, DatabaseSchema, Dialect, ForeignKey, QueryOutput, TableSchema};

use crate::collect::{Next, RowCollector, cap_text};
use crate::error::driver_message;
use crate::pooled::{rollback, within};
use crate::{DbError, DbOptions, QueryError};

/// Longest time to open a connection (a dead port fails after this, not after 30 s).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A read-only PostgreSQL database.
#[derive(Clone, Debug)]
pub(crate) struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    /// Connects to `url` (`postgres://user:pass@host:port/db`) and checks the
    /// connection. Errors: [`DbError::InvalidDatabase`] for a malformed URL,
    /// [`DbError::Database`] when the server refuses or cannot be reached within
    /// [`CONNECT_TIMEOUT`] (the message never repeats the password).
    pub(crate) async fn connect(url: &str, options: &DbOptions) -> Result<Self, DbError> {
        let connect: PgConnectOptions =
            url.parse().map_err(|_| DbError::InvalidDatabase("the PostgreSQL URL could not be parsed".into()))?;
        let connect = connect.application_name("talk2tables-database-mcp").statement_cache_capacity(64);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT.min(options.timeout.max(Duration::from_secs(1))))
            .connect_lazy_with(connect);
        let check = async {
            let mut conn = pool.acquire().await?;
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut *conn).await
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, check).await {
            Ok(Ok(_)) => Ok(PostgresBackend { pool }),
            Ok(Err(e)) => Err(DbError::Database(format!("cannot connect to PostgreSQL: {}", driver_message(&e)))),
            Err(_) => Err(DbError::Timeout(CONNECT_TIMEOUT)),
        }
    }

    /// Runs one statement that already passed the guard, read-only, under `options`.
    pub(crate) async fn execute(&self, sql: &str, options: &DbOptions) -> Result<QueryOutput, QueryError> {
        let mut conn = tokio::time::timeout(options.timeout, self.pool.acquire())
            .await
            .map_err(|_| QueryError::Timeout(options.timeout))?
            .map_err(|e| QueryError::Failed(driver_message(&e)))?;
        // The server-side timeout ends the query; the tokio one is only a backstop for a
        // server that stops answering.
        let backstop = options.timeout + Duration::from_secs(2);
        let result = tokio::time::timeout(backstop, run_query(&mut conn, sql, options)).await;
        match result {
            Ok(Ok(out)) => {
                rollback(conn).await;
                Ok(out)
            }
            Ok(Err(e)) => {
                rollback(conn).await;
                if e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "57014") {
                    Err(QueryError::Timeout(options.timeout))
                } else {
                    Err(QueryError::Failed(driver_message(&e)))
                }
            }
            Err(_) => {
                // Never reuse a connection in an unknown state.
                conn.close_on_drop();
                Err(QueryError::Timeout(options.timeout))
            }
        }
    }

    /// Introspects the base tables and views of the current schema, sorted by name.
    pub(crate) async fn schema(&self, options: &DbOptions) -> Result<DatabaseSchema, DbError> {
        within(options.timeout, async {
            let mut conn = self.pool.acquire().await?;
            introspect(&mut conn).await
        })
        .await
    }
}

async fn run_query(
    conn: &mut PoolConnection<Postgres>,
    sql: &str,
    options: &DbOptions,
) -> Result<QueryOutput, sqlx::Error> {
    let ms = options.timeout.as_millis().max(1);
    sqlx::raw_sql("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut **conn).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("SET LOCAL statement_timeout = {ms}"))).execute(&mut **conn).await?;
    sqlx::raw_sql("SET LOCAL idle_in_transaction_session_timeout = 0").execute(&mut **conn).await?;
    let body = sql.trim().trim_end_matches(';');
    let statement = (&mut **conn).prepare(AssertSqlSafe(body.to_owned()).into_sql_str()).await?;
    let columns: Vec<String> = statement.columns().iter().map(|c| c.name().to_owned()).collect();
    sqlx::query(AssertSqlSafe(format!("DECLARE t2t_rows NO SCROLL CURSOR FOR {body}\n")))
        .persistent(false)
        .execute(&mut **conn)
        .await?;
    let fetch = options.max_rows.saturating_add(1);
    let mut collector = RowCollector::new(columns, options);
    let mut rows = sqlx::raw_sql(AssertSqlSafe(format!("FETCH FORWARD {fetch} FROM t2t_rows"))).fetch(&mut **conn);
    while let Some(row) = rows.try_next().await? {
        if collector.push(row_to_json(&row, options.max_cell_bytes)) == Next::Stop {
            break;
        }
    }
    drop(rows);
    Ok(collector.finish())
}

/// One text-format row as JSON by each column's type name.
fn row_to_json(row: &PgRow, max_cell_bytes: usize) -> Vec<Value> {
    (0..row.len())
        .map(|i| {
            let Ok(raw) = row.try_get_raw(i) else { return Value::Null };
            if raw.is_null() {
                return Value::Null;
            }
            let kind = raw.type_info().name().to_ascii_uppercase();
            let text = match row.try_get_unchecked::<String, _>(i) {
                Ok(t) => t,
                Err(_) => return Value::Null,
            };
            text_to_json(&kind, text, max_cell_bytes)
        })
        .collect()
}

/// A PostgreSQL text value of type `kind` as JSON: integer types → integers, NUMERIC
/// and floats → numbers (NaN/Infinity → text), `BOOL` → boolean, the rest → text capped
/// at `max_cell_bytes`.
pub(crate) fn text_to_json(kind: &str, text: String, max_cell_bytes: usize) -> Value {
    match kind {
        "INT2" | "INT4" | "INT8" | "OID" => {
            text.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(text))
        }
        "NUMERIC" | "FLOAT4" | "FLOAT8" => match text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) if text.contains(['.', 'e', 'E']) || kind != "NUMERIC" => Value::Number(n),
            Some(n) => text.parse::<i64>().map(Value::from).unwrap_or(Value::Number(n)),
            None => Value::String(text),
        },
        "BOOL" => Value::Bool(text == "t"),
        _ => Value::String(cap_text(text, max_cell_bytes)),
    }
}

async fn introspect(conn: &mut PoolConnection<Postgres>) -> Result<DatabaseSchema, sqlx::Error> {
    let objects: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p', 'm') ORDER BY c.relname",
    )
    .fetch_all(&mut **conn)
    .await?;
    let mut tables = Vec::with_capacity(objects.len());
    for (name, kind) in objects {
        let cols: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind(&name)
        .fetch_all(&mut **conn)
        .await?;
        let pk: Vec<(String,)> = sqlx::query_as(
            "SELECT a.attname::text FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(col, ord) \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.col \
             WHERE k.contype = 'p' AND n.nspname = current_schema() AND c.relname = $1 ORDER BY u.ord",
        )
        .bind(&name)
        .fetch_all(&mut **conn)
        .await?;
        let primary_key: Vec<String> = pk.into_iter().map(|(c,)| c).collect();
        let fk_rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT k.conname::text, a.attname::text, rc.relname::text, ra.attname::text FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class rc ON rc.oid = k.confrelid \
             CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(col, refcol, ord) \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.col \
             JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = u.refcol \
             WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1 ORDER BY k.conname, u.ord",
        )
        .bind(&name)
        .fetch_all(&mut **conn)
        .await?;
        let mut foreign_keys: Vec<(String, ForeignKey)> = Vec::new();
        for (constraint, from, target, to) in fk_rows {
            match foreign_keys.last_mut() {
                Some((last, fk)) if *last == constraint => {
                    fk.columns.push(from);
                    fk.references_columns.push(to);
                }
                _ => foreign_keys.push((
                    constraint,
                    ForeignKey { columns: vec![from], references_table: target, references_columns: vec![to] },
                )),
            }
        }
        let columns = cols
            .into_iter()
            .map(|(col, ty, notnull)| ColumnSchema {
                primary_key: primary_key.contains(&col),
                nullable: !notnull,
                name: col,
                data_type: ty,
            })
            .collect();
        let row_count = if kind == "r" || kind == "p" {
            let sql = format!("SELECT count(*) FROM {}", quote_ident(&name));
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **conn).await?;
            u64::try_from(n).ok()
        } else {
            None
        };
        tables.push(TableSchema {
            name,
            columns,
            primary_key,
            foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
            row_count,
        });
    }
    Ok(DatabaseSchema { dialect: Dialect::Postgresql, tables })
}

/// `name` as a double-quoted PostgreSQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_values_map_by_type() {
        assert_eq!(text_to_json("INT8", "42".into(), 100), json!(42));
        assert_eq!(text_to_json("NUMERIC", "1234.50".into(), 100), json!(1234.5));
        assert_eq!(text_to_json("NUMERIC", "7".into(), 100), json!(7));
        assert_eq!(text_to_json("NUMERIC", "NaN".into(), 100), json!("NaN"));
        assert_eq!(text_to_json("FLOAT8", "2".into(), 100), json!(2.0));
        assert_eq!(text_to_json("BOOL", "t".into(), 100), json!(true));
        assert_eq!(text_to_json("DATE", "2026-11-30".into(), 100), json!("2026-11-30"));
        assert_eq!(text_to_json("TEXT", "abcdef".into(), 3), json!("abc…"));
    }
}
