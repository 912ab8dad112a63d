//! The MySQL / MariaDB backend: a native `MySqlPool` with fast-failing connects, queries
//! run in a `READ ONLY` transaction that is always rolled back, under a session
//! statement timeout set by the server before every query (MySQL
//! `MAX_EXECUTION_TIME` in ms, MariaDB `max_statement_time` in s; which one is detected
//! from `VERSION()` on connect). The statement goes through the binary (prepared)
//! protocol, so the server itself refuses a string holding several statements.
//!
//! Rows are streamed and reading stops after `max_rows + 1`; a connection left with
//! unread rows is closed rather than drained. Values map to JSON by type name:
//! integer types → integers, DECIMAL / FLOAT / DOUBLE → numbers, DATE / DATETIME /
//! TIMESTAMP / TIME → ISO text, binary types → hex, the rest → text.

use std::time::Duration;

use futures::TryStreamExt;
use serde_json::Value;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Column, Executor, MySql, Row, SqlSafeStr, Statement, TypeInfo, ValueRef};
use talk2tables_common::{ColumnSchema, DatabaseSchema, Dialect, ForeignKey, QueryOutput, TableSchema};

use crate::collect::{Next, RowCollector, blob_to_hex, cap_text};
use crate::error::driver_message;
use crate::pooled::{rollback, within};
use crate::postgres::CONNECT_TIMEOUT;
use crate::{DbError, DbOptions, QueryError};

/// Which server answers: the statement-timeout variable differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Oracle MySQL: `MAX_EXECUTION_TIME` (milliseconds, SELECT only).
    Mysql,
    /// MariaDB: `max_statement_time` (seconds, fractional).
    Mariadb,
}

/// A read-only MySQL or MariaDB database.
#[derive(Clone, Debug)]
pub(crate) struct MysqlBackend {
    pool: MySqlPool,
    flavor: Flavor,
}

impl MysqlBackend {
    /// Connects to `url` (`mysql://user:pass@host:port/db`; `mariadb://` is accepted as
    /// an alias). Errors: [`DbError::InvalidDatabase`] for a malformed URL,
    /// [`DbError::Database`] when the server refuses or cannot be reached within
    /// [`CONNECT_TIMEOUT`].
    pub(crate) async fn connect(url: &str, options: &DbOptions) -> Result<Self, DbError> {
        let url = match url.trim().strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.trim().to_string(),
        };
        let connect: MySqlConnectOptions =
            url.parse().map_err(|_| DbError::InvalidDatabase("the MySQL URL could not be parsed".into()))?;
        let connect = connect.statement_cache_capacity(0);
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT.min(options.timeout.max(Duration::from_secs(1))))
            .connect_lazy_with(connect);
        let check = async {
            let mut conn = pool.acquire().await?;
            sqlx::query_scalar::<_, String>("SELECT VERSION()").fetch_one(&mut *conn).await
        };
        let version = match tokio::time::timeout(CONNECT_TIMEOUT, check).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(DbError::Database(format!("cannot connect to MySQL: {}", driver_message(&e)))),
            Err(_) => return Err(DbError::Timeout(CONNECT_TIMEOUT)),
        };
        let flavor = if version.to_ascii_lowercase().contains("mariadb") { Flavor::Mariadb } else { Flavor::Mysql };
        Ok(MysqlBackend { pool, flavor })
    }

    /// The server kind detected on connect.
    pub(crate) fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Runs one statement that already passed the guard, read-only, under `options`.
    pub(crate) async fn execute(&self, sql: &str, options: &DbOptions) -> Result<QueryOutput, QueryError> {
        let mut conn = tokio::time::timeout(options.timeout, self.pool.acquire())
            .await
            .map_err(|_| QueryError::Timeout(options.timeout))?
            .map_err(|e| QueryError::Failed(driver_message(&e)))?;
        let backstop = options.timeout + Duration::from_secs(2);
        let result = tokio::time::timeout(backstop, run_query(&mut conn, sql, options, self.flavor)).await;
        match result {
            Ok(Ok(out)) => {
                if out.truncated {
                    // Unread rows remain on the wire: close instead of draining them.
                    conn.close_on_drop();
                } else {
                    rollback(conn).await;
                }
                Ok(out)
            }
            Ok(Err(e)) => {
                rollback(conn).await;
                let code = e.as_database_error().and_then(|d| d.code()).map(|c| c.to_string());
                let message = driver_message(&e);
                // 3024 (MySQL) / 1969 (MariaDB): the statement timeout fired.
                let timed_out = matches!(code.as_deref(), Some("HY000") | Some("70100"))
                    && (message.contains("execution time exceeded") || message.contains("max_statement_time"));
                if timed_out { Err(QueryError::Timeout(options.timeout)) } else { Err(QueryError::Failed(message)) }
            }
            Err(_) => {
                conn.close_on_drop();
                Err(QueryError::Timeout(options.timeout))
            }
        }
    }

    /// Introspects the base tables and views of the connection's database.
    pub(crate) async fn schema(&self, options: &DbOptions) -> Result<DatabaseSchema, DbError> {
        within(options.timeout, async {
            let mut conn = self.pool.acquire().await?;
            introspect(&mut conn).await
        })
        .await
    }
}

/// The statement that sets the session timeout for `flavor`.
pub(crate) fn timeout_statement(flavor: Flavor, timeout: Duration) -> String {
    let ms = timeout.as_millis().max(1);
    match flavor {
        Flavor::Mysql => format!("SET SESSION MAX_EXECUTION_TIME = {ms}"),
        Flavor::Mariadb => format!("SET SESSION max_statement_time = {}.{:03}", ms / 1000, ms % 1000),
    }
}

async fn run_query(
    conn: &mut PoolConnection<MySql>,
    sql: &str,
    options: &DbOptions,
    flavor: Flavor,
) -> Result<QueryOutput, sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(timeout_statement(flavor, options.timeout))).execute(&mut **conn).await?;
    sqlx::raw_sql("START TRANSACTION READ ONLY").execute(&mut **conn).await?;
    let body = sql.trim().trim_end_matches(';').to_owned();
    let statement = (&mut **conn).prepare(AssertSqlSafe(body.clone()).into_sql_str()).await?;
    let columns: Vec<String> = statement.columns().iter().map(|c| c.name().to_owned()).collect();
    let mut collector = RowCollector::new(columns, options);
    let mut rows = sqlx::query(AssertSqlSafe(body)).persistent(false).fetch(&mut **conn);
    while let Some(row) = rows.try_next().await? {
        if collector.push(row_to_json(&row, options.max_cell_bytes)) == Next::Stop {
            break;
        }
    }
    drop(rows);
    Ok(collector.finish())
}

fn row_to_json(row: &MySqlRow, max_cell_bytes: usize) -> Vec<Value> {
    (0..row.len()).map(|i| cell_to_json(row, i, max_cell_bytes)).collect()
}

fn cell_to_json(row: &MySqlRow, i: usize, max: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else { return Value::Null };
    if raw.is_null() {
        return Value::Null;
    }
    let kind = raw.type_info().name().to_ascii_uppercase();
    let float = |v: f64| serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null);
    match kind.as_str() {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            row.try_get_unchecked::<i64, _>(i).map(Value::from).unwrap_or(Value::Null)
        }
        k if k.ends_with(" UNSIGNED") => row.try_get_unchecked::<u64, _>(i).map(Value::from).unwrap_or(Value::Null),
        "FLOAT" | "DOUBLE" => row.try_get_unchecked::<f64, _>(i).map(float).unwrap_or(Value::Null),
        "DECIMAL" => match row.try_get_unchecked::<String, _>(i) {
            Ok(s) => s.parse::<f64>().map(float).unwrap_or(Value::String(s)),
            Err(_) => Value::Null,
        },
        "DATE" | "DATETIME" | "TIMESTAMP" => match row.try_get_unchecked::<&[u8], _>(i) {
            Ok(b) => binary_datetime(b, kind == "DATE").map(Value::String).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        },
        "TIME" => match row.try_get_unchecked::<&[u8], _>(i) {
            Ok(b) => binary_time(b).map(Value::String).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        },
        "BIT" | "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "GEOMETRY" => {
            row.try_get_unchecked::<&[u8], _>(i).map(|b| Value::String(blob_to_hex(b, max))).unwrap_or(Value::Null)
        }
        _ => match row.try_get_unchecked::<&[u8], _>(i) {
            Ok(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::String(cap_text(s.to_owned(), max)),
                Err(_) => Value::String(blob_to_hex(b, max)),
            },
            Err(_) => Value::Null,
        },
    }
}

/// A binary-protocol DATE/DATETIME/TIMESTAMP (`[year lo, year hi, month, day, hour,
/// minute, second, micro×4]`, trailing parts optional) as `YYYY-MM-DD` or
/// `YYYY-MM-DD HH:MM:SS[.ffffff]`. A zero-length value is MySQL's zero date.
pub(crate) fn binary_datetime(b: &[u8], date_only: bool) -> Option<String> {
    if b.is_empty() {
        return Some(if date_only { "0000-00-00".into() } else { "0000-00-00 00:00:00".into() });
    }
    if b.len() < 4 {
        return None;
    }
    let year = u16::from_le_bytes([b[0], b[1]]);
    let mut s = format!("{year:04}-{:02}-{:02}", b[2], b[3]);
    if date_only {
        return Some(s);
    }
    let (h, m, sec) = if b.len() >= 7 { (b[4], b[5], b[6]) } else { (0, 0, 0) };
    s.push_str(&format!(" {h:02}:{m:02}:{sec:02}"));
    if b.len() >= 11 {
        let micro = u32::from_le_bytes([b[7], b[8], b[9], b[10]]);
        if micro > 0 {
            s.push_str(&format!(".{micro:06}"));
        }
    }
    Some(s)
}

/// A binary-protocol TIME (`[negative, days×4, hour, minute, second, micro×4]`) as
/// `[-]HH:MM:SS[.ffffff]` with days folded into the hours.
pub(crate) fn binary_time(b: &[u8]) -> Option<String> {
    if b.is_empty() {
        return Some("00:00:00".into());
    }
    if b.len() < 8 {
        return None;
    }
    let negative = b[0] == 1;
    let days = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    let hours = u64::from(days) * 24 + u64::from(b[5]);
    let mut s = format!("{}{hours:02}:{:02}:{:02}", if negative { "-" } else { "" }, b[6], b[7]);
    if b.len() >= 12 {
        let micro = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if micro > 0 {
            s.push_str(&format!(".{micro:06}"));
        }
    }
    Some(s)
}

async fn introspect(conn: &mut PoolConnection<MySql>) -> Result<DatabaseSchema, sqlx::Error> {
    let objects: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    )
    .fetch_all(&mut **conn)
    .await?;
    let mut tables = Vec::with_capacity(objects.len());
    for (name, kind) in objects {
        let cols: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR), \
             CAST(COLUMN_KEY AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(&name)
        .fetch_all(&mut **conn)
        .await?;
        let pk: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
             ORDER BY ORDINAL_POSITION",
        )
        .bind(&name)
        .fetch_all(&mut **conn)
        .await?;
        let primary_key: Vec<String> = pk.into_iter().map(|(c,)| c).collect();
        let fk_rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT CAST(CONSTRAINT_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
             CAST(REFERENCED_TABLE_NAME AS CHAR), CAST(REFERENCED_COLUMN_NAME AS CHAR) \
             FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
             AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
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
            .map(|(col, ty, nullable, _key)| ColumnSchema {
                primary_key: primary_key.contains(&col),
                nullable: nullable == "YES",
                name: col,
                data_type: ty,
            })
            .collect();
        let row_count = if kind == "BASE TABLE" {
            let sql = format!("SELECT COUNT(*) FROM `{}`", name.replace('`', "``"));
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
    Ok(DatabaseSchema { dialect: Dialect::Mysql, tables })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_dates_and_times() {
        assert_eq!(binary_datetime(&[0xea, 0x07, 11, 30], true).as_deref(), Some("2026-11-30"));
        assert_eq!(binary_datetime(&[0xea, 0x07, 11, 30, 8, 5, 9], false).as_deref(), Some("2026-11-30 08:05:09"));
        assert_eq!(binary_datetime(&[0xea, 0x07, 11, 30], false).as_deref(), Some("2026-11-30 00:00:00"));
        assert_eq!(binary_datetime(&[1], true), None);
        assert_eq!(binary_time(&[1, 1, 0, 0, 0, 2, 3, 4]).as_deref(), Some("-26:03:04"));
    }

    #[test]
    fn timeout_statements() {
        let t = Duration::from_millis(1500);
        assert_eq!(timeout_statement(Flavor::Mysql, t), "SET SESSION MAX_EXECUTION_TIME = 1500");
        assert_eq!(timeout_statement(Flavor::Mariadb, t), "SET SESSION max_statement_time = 1.500");
    }
}
