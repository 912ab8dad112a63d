//! The SQLite backend: a read-only pool, query execution with a progress-handler
//! deadline, and schema introspection.
//!
//! Every connection is opened with `SQLITE_OPEN_READONLY` (`mode=ro`) and
//! `PRAGMA query_only = ON`; extension loading stays disabled (sqlx never enables the
//! SQL `load_extension()` function unless extensions are configured, and none are).
//! After connecting, the connection's attached-database limit is set to 0 (so `ATTACH`
//! and `VACUUM INTO`, which attaches its target, fail) and an authorizer allows only
//! reading: `SELECT`, column reads, function calls, recursive CTEs and pragmas without
//! a value; every write, `ATTACH`/`DETACH`, DDL, transaction and pragma assignment is
//! denied by SQLite itself.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use futures::TryStreamExt;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, Column, Executor, Row, SqlSafeStr, Sqlite, Statement, TypeInfo, ValueRef};
use talk2tables_common::{ColumnSchema, DatabaseSchema, Dialect, ForeignKey, QueryOutput, TableSchema};
use tokio_util::sync::CancellationToken;

use crate::collect::{Next, RowCollector, blob_to_hex, cap_text};
use crate::error::driver_message;
use crate::{DbError, DbOptions, QueryError};

/// Progress-handler granularity: SQLite VM instructions between deadline checks.
const PROGRESS_OPS: i32 = 1000;

/// Error text of a statement stopped because the client cancelled the request.
const CANCELLED: &str = "query cancelled by the client";

/// Largest string or blob SQLite may build or return on our connections, in bytes
/// (`SQLITE_LIMIT_LENGTH`; SQLite's default is 1e9). Without it one query such as
/// `SELECT randomblob(1000000000)` or `printf('%.*c', 1000000000, 'x')` allocates
/// about 2 GB in the server (SQLite's value plus our copy) before the cell cap cuts it
/// to 16 KiB, and four at once (the pool size) exhaust memory. Such a query now fails
/// with `string or blob too big`; stored values larger than this cannot be read.
pub(crate) const MAX_VALUE_BYTES: i32 = 32 * 1024 * 1024;

/// A read-only SQLite database.
#[derive(Clone, Debug)]
pub(crate) struct SqliteBackend {
    pool: SqlitePool,
}

/// The file path of a SQLite `db` argument: a plain path, `sqlite:PATH`,
/// `sqlite://PATH` (query parameters after `?` are ignored: the server decides the
/// open mode).
pub(crate) fn sqlite_path(db: &str) -> PathBuf {
    let db = db.trim();
    let rest = db.strip_prefix("sqlite://").or_else(|| db.strip_prefix("sqlite:")).unwrap_or(db);
    let rest = if db.len() != rest.len() { rest.split('?').next().unwrap_or(rest) } else { rest };
    PathBuf::from(rest)
}

impl SqliteBackend {
    /// Opens `db` read-only. Errors: [`DbError::InvalidDatabase`] when the file does not
    /// exist or is not a SQLite database; [`DbError::Database`] for other driver errors.
    pub(crate) async fn open(db: &str, options: &DbOptions) -> Result<Self, DbError> {
        let path = sqlite_path(db);
        if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") {
            return Err(DbError::InvalidDatabase("an in-memory SQLite database has no data to serve".into()));
        }
        if !path.is_file() {
            return Err(DbError::InvalidDatabase(format!("SQLite file not found: {}", path.display())));
        }
        let connect = read_only_options(&path)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(options.timeout)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    lock_down(handle.as_raw_handle().as_ptr().cast());
                    Ok(())
                })
            })
            .connect_lazy_with(connect);
        let backend = SqliteBackend { pool };
        // Validate now: a non-SQLite file fails here with "file is not a database".
        let check = async {
            let mut conn = backend.pool.acquire().await?;
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master").fetch_one(&mut *conn).await
        };
        match tokio::time::timeout(options.timeout, check).await {
            Ok(Ok(_)) => Ok(backend),
            Ok(Err(e)) => Err(DbError::InvalidDatabase(format!("{}: {}", path.display(), driver_message(&e)))),
            Err(_) => Err(DbError::Timeout(options.timeout)),
        }
    }

    /// Runs one statement that already passed the guard, under `options`' caps.
    /// `cancel` interrupts the statement through the progress handler (dropping the
    /// future alone would leave it running on sqlx's worker thread until the deadline).
    pub(crate) async fn execute(
        &self,
        sql: &str,
        options: &DbOptions,
        cancel: &CancellationToken,
    ) -> Result<QueryOutput, QueryError> {
        let deadline = Instant::now() + options.timeout;
        let run = async {
            let mut conn = self.acquire_with_deadline(deadline, Some(cancel.clone())).await?;
            run_query(&mut conn, sql, options).await
        };
        let run = async {
            tokio::select! {
                result = run => Some(result),
                () = cancel.cancelled() => None,
            }
        };
        match tokio::time::timeout(options.timeout, run).await {
            Err(_) => Err(QueryError::Timeout(options.timeout)),
            Ok(None) => Err(QueryError::Failed(CANCELLED.into())),
            Ok(Some(_)) if cancel.is_cancelled() => Err(QueryError::Failed(CANCELLED.into())),
            Ok(Some(Err(_))) if Instant::now() >= deadline => Err(QueryError::Timeout(options.timeout)),
            Ok(Some(Err(e))) => Err(QueryError::Failed(driver_message(&e))),
            Ok(Some(Ok(out))) => Ok(out),
        }
    }

    /// Introspects tables and views (not `sqlite_*`), sorted by name: declared column
    /// types, NOT NULL, primary keys, declared foreign keys, and row counts of tables
    /// (views get `None`).
    pub(crate) async fn schema(&self, options: &DbOptions) -> Result<DatabaseSchema, DbError> {
        let deadline = Instant::now() + options.timeout;
        let run = async {
            let mut conn = self.acquire_with_deadline(deadline, None).await?;
            introspect(&mut conn).await
        };
        match tokio::time::timeout(options.timeout, run).await {
            Err(_) => Err(DbError::Timeout(options.timeout)),
            Ok(Err(_)) if Instant::now() >= deadline => Err(DbError::Timeout(options.timeout)),
            Ok(r) => r.map_err(DbError::from),
        }
    }

    /// A pooled connection whose progress handler interrupts any statement once
    /// `deadline` has passed or `cancel` fired (set on every checkout, so a connection
    /// returned by a timed-out or cancelled call never carries an old deadline or token
    /// into the next one).
    async fn acquire_with_deadline(
        &self,
        deadline: Instant,
        cancel: Option<CancellationToken>,
    ) -> Result<PoolConnection<Sqlite>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        conn.lock_handle().await?.set_progress_handler(PROGRESS_OPS, move || {
            Instant::now() < deadline && !cancel.as_ref().is_some_and(|c| c.is_cancelled())
        });
        Ok(conn)
    }
}

mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    /// Authorizer callback type of `sqlite3_set_authorizer`.
    pub(super) type Authorizer =
        unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const c_char, *const c_char, *const c_char) -> c_int;

    // Provided by the SQLite library sqlx links (libsqlite3-sys, bundled).
    unsafe extern "C" {
        pub(super) fn sqlite3_limit(db: *mut c_void, id: c_int, new_value: c_int) -> c_int;
        pub(super) fn sqlite3_set_authorizer(db: *mut c_void, callback: Option<Authorizer>, arg: *mut c_void) -> c_int;
    }

    pub(super) const SQLITE_LIMIT_LENGTH: c_int = 0;
    pub(super) const SQLITE_LIMIT_ATTACHED: c_int = 7;
    pub(super) const SQLITE_OK: c_int = 0;
    pub(super) const SQLITE_DENY: c_int = 1;
    pub(super) const SQLITE_PRAGMA: c_int = 19;
    pub(super) const SQLITE_READ: c_int = 20;
    pub(super) const SQLITE_SELECT: c_int = 21;
    pub(super) const SQLITE_FUNCTION: c_int = 31;
    pub(super) const SQLITE_RECURSIVE: c_int = 33;
}

/// The authorizer: reading is allowed, everything else denied (see the module docs).
unsafe extern "C" fn read_only_authorizer(
    _arg: *mut std::ffi::c_void,
    action: std::ffi::c_int,
    arg1: *const std::ffi::c_char,
    arg2: *const std::ffi::c_char,
    _database: *const std::ffi::c_char,
    _trigger: *const std::ffi::c_char,
) -> std::ffi::c_int {
    match action {
        ffi::SQLITE_SELECT | ffi::SQLITE_READ | ffi::SQLITE_FUNCTION | ffi::SQLITE_RECURSIVE => ffi::SQLITE_OK,
        // `PRAGMA name` reads; `PRAGMA name = value` / `PRAGMA name(value)` writes.
        // The introspection pragmas take an object name, not a value.
        ffi::SQLITE_PRAGMA if arg2.is_null() => ffi::SQLITE_OK,
        ffi::SQLITE_PRAGMA if !arg1.is_null() => {
            // SAFETY: SQLite passes a NUL-terminated pragma name valid for this call.
            let name = unsafe { std::ffi::CStr::from_ptr(arg1) }.to_bytes().to_ascii_lowercase();
            let reading =
                [&b"table_info"[..], b"table_xinfo", b"foreign_key_list", b"index_list", b"index_info", b"index_xinfo"];
            if reading.contains(&name.as_slice()) { ffi::SQLITE_OK } else { ffi::SQLITE_DENY }
        }
        _ => ffi::SQLITE_DENY,
    }
}

/// Denies ATTACH (limit 0) and every non-reading action (authorizer) on `db`, a live
/// `sqlite3*` owned by the connection being set up, and caps values at
/// [`MAX_VALUE_BYTES`].
fn lock_down(db: *mut std::ffi::c_void) {
    // SAFETY: `db` is the open handle of the connection sqlx just created, used on this
    // thread while the connection is locked; the callback is a plain function with no
    // captured state.
    unsafe {
        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_ATTACHED, 0);
        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
        ffi::sqlite3_set_authorizer(db, Some(read_only_authorizer), std::ptr::null_mut());
    }
}

fn read_only_options(path: &Path) -> Result<SqliteConnectOptions, DbError> {
    // `from_str` on a bare `sqlite:` URL would accept query options; build from the path.
    let opts = SqliteConnectOptions::from_str("sqlite:")
        .map_err(|e| DbError::InvalidDatabase(e.to_string()))?
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .foreign_keys(false)
        .pragma("query_only", "ON")
        .statement_cache_capacity(32);
    Ok(opts)
}

async fn run_query(
    conn: &mut PoolConnection<Sqlite>,
    sql: &str,
    options: &DbOptions,
) -> Result<QueryOutput, sqlx::Error> {
    let statement = (&mut **conn).prepare(AssertSqlSafe(sql.to_owned()).into_sql_str()).await?;
    let columns: Vec<String> = statement.columns().iter().map(|c| c.name().to_owned()).collect();
    let mut collector = RowCollector::new(columns, options);
    let mut rows = statement.query().fetch(&mut **conn);
    let mut stopped = false;
    while let Some(row) = rows.try_next().await? {
        if collector.push(row_to_json(&row, options.max_cell_bytes)) == Next::Stop {
            stopped = true;
            break;
        }
    }
    drop(rows);
    let out = collector.finish();
    debug_assert!(stopped == out.truncated);
    Ok(out)
}

/// One row as JSON scalars by each value's storage class: INTEGER → number, REAL →
/// number (non-finite → null), TEXT → string (capped), BLOB → hex string (capped),
/// NULL → null.
fn row_to_json(row: &SqliteRow, max_cell_bytes: usize) -> Vec<Value> {
    (0..row.len()).map(|i| cell_to_json(row, i, max_cell_bytes)).collect()
}

fn cell_to_json(row: &SqliteRow, i: usize, max_cell_bytes: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let kind = raw.type_info().name().to_ascii_uppercase();
    match kind.as_str() {
        "INTEGER" => row.try_get_unchecked::<i64, _>(i).map(Value::from).unwrap_or(Value::Null),
        "REAL" => row
            .try_get_unchecked::<f64, _>(i)
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        "BLOB" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .map(|b| Value::String(blob_to_hex(&b, max_cell_bytes)))
            .unwrap_or(Value::Null),
        _ => match row.try_get_unchecked::<String, _>(i) {
            Ok(s) => Value::String(cap_text(s, max_cell_bytes)),
            Err(_) => row
                .try_get_unchecked::<Vec<u8>, _>(i)
                .map(|b| Value::String(blob_to_hex(&b, max_cell_bytes)))
                .unwrap_or(Value::Null),
        },
    }
}

/// `name` as a double-quoted SQLite identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn introspect(conn: &mut PoolConnection<Sqlite>) -> Result<DatabaseSchema, sqlx::Error> {
    let objects: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut **conn)
    .await?;
    let mut tables = Vec::with_capacity(objects.len());
    for (name, kind) in objects {
        let cols: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut **conn)
                .await?;
        let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.3 > 0).map(|c| (c.3, c.0.clone())).collect();
        pk.sort();
        let columns = cols
            .iter()
            .map(|(col, ty, notnull, pk_pos)| ColumnSchema {
                name: col.clone(),
                data_type: ty.clone(),
                nullable: *notnull == 0 && *pk_pos == 0,
                primary_key: *pk_pos > 0,
            })
            .collect();
        let fk_rows: Vec<(i64, i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(&mut **conn)
        .await?;
        let mut foreign_keys: Vec<(i64, ForeignKey, Vec<Option<String>>)> = Vec::new();
        for (id, _seq, target, from, to) in fk_rows {
            match foreign_keys.last_mut() {
                Some((last, fk, tos)) if *last == id => {
                    fk.columns.push(from);
                    tos.push(to);
                }
                _ => foreign_keys.push((
                    id,
                    ForeignKey { columns: vec![from], references_table: target, references_columns: vec![] },
                    vec![to],
                )),
            }
        }
        let mut resolved = Vec::with_capacity(foreign_keys.len());
        for (_, mut fk, tos) in foreign_keys {
            fk.references_columns = if tos.iter().all(Option::is_some) {
                tos.into_iter().flatten().collect()
            } else {
                // `REFERENCES t` without columns means t's primary key.
                referenced_primary_key(conn, &fk.references_table).await?
            };
            resolved.push(fk);
        }
        let row_count = if kind == "table" {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote_ident(&name))))
                .fetch_one(&mut **conn)
                .await?;
            u64::try_from(n).ok()
        } else {
            None
        };
        tables.push(TableSchema {
            name,
            columns,
            primary_key: pk.into_iter().map(|(_, c)| c).collect(),
            foreign_keys: resolved,
            row_count,
        });
    }
    Ok(DatabaseSchema { dialect: Dialect::Sqlite, tables })
}

async fn referenced_primary_key(conn: &mut PoolConnection<Sqlite>, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let pk: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk")
        .bind(table)
        .fetch_all(&mut **conn)
        .await?;
    Ok(pk.into_iter().map(|(n,)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("./a.db"), PathBuf::from("./a.db"));
        assert_eq!(sqlite_path("sqlite:a.db"), PathBuf::from("a.db"));
        assert_eq!(sqlite_path("sqlite:///tmp/a.db?mode=rwc"), PathBuf::from("/tmp/a.db"));
        assert_eq!(sqlite_path("sqlite://a.db"), PathBuf::from("a.db"));
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}

#[cfg(test)]
impl SqliteBackend {
    async fn execute_plain(&self, sql: &str, options: &DbOptions) -> Result<QueryOutput, QueryError> {
        self.execute(sql, options, &CancellationToken::new()).await
    }
}

#[cfg(test)]
mod read_only_tests {
    use super::*;

    /// Defence in depth: even a write that skipped the guard cannot change the file.
    #[tokio::test]
    async fn connection_refuses_writes_without_the_guard() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 10).expect("date");
        crate::sample::create(&path, date).await.expect("sample");
        let opts = DbOptions::default();
        let db = SqliteBackend::open(path.to_str().expect("utf-8"), &opts).await.expect("open");
        let attached = dir.path().join("attached.db");
        let vacuumed = dir.path().join("vacuumed.db");
        for sql in [
            "DELETE FROM orders".to_string(),
            "CREATE TABLE x (a)".to_string(),
            "PRAGMA query_only = OFF; DELETE FROM orders".to_string(),
            format!("ATTACH DATABASE '{}' AS a", attached.display()),
            format!("VACUUM INTO '{}'", vacuumed.display()),
            "PRAGMA writable_schema = 1".to_string(),
        ] {
            let err = db.execute_plain(&sql, &opts).await.expect_err("refused by the connection");
            assert!(matches!(err, QueryError::Failed(_)), "{sql}: {err}");
        }
        assert!(!attached.exists() && !vacuumed.exists(), "no file may be created");
        let out = db.execute_plain("SELECT query_only FROM pragma_query_only", &opts).await.expect("pragma read");
        assert_eq!(out.rows[0][0], serde_json::json!(1));
        let err = db.execute_plain("DELETE FROM orders", &opts).await.expect_err("write must fail");
        assert!(matches!(err, QueryError::Failed(ref m) if m.contains("not authorized")), "{err}");
        let out = db.execute_plain("SELECT count(*) FROM orders", &opts).await.expect("count");
        assert_eq!(out.rows[0][0], serde_json::json!(2000));
        let out = db.execute_plain("SELECT count(*) FROM sqlite_master WHERE name = 'x'", &opts).await.expect("count");
        assert_eq!(out.rows[0][0], serde_json::json!(0));
    }

    /// Giant values fail fast instead of allocating gigabytes (they used to succeed after
    /// building a 1 GB value); values below the limit still work.
    #[tokio::test]
    async fn giant_values_are_refused_by_the_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 10).expect("date");
        crate::sample::create(&path, date).await.expect("sample");
        let opts = DbOptions::default();
        let db = SqliteBackend::open(path.to_str().expect("utf-8"), &opts).await.expect("open");
        let over = MAX_VALUE_BYTES as i64 + 1;
        for sql in [
            format!("SELECT randomblob({over})"),
            format!("SELECT zeroblob({over})"),
            format!("SELECT length(replace(hex(zeroblob({})), '0', 'ab'))", MAX_VALUE_BYTES / 2),
        ] {
            let started = Instant::now();
            let err = db.execute_plain(&sql, &opts).await.expect_err(&sql);
            assert!(matches!(err, QueryError::Failed(ref m) if m.contains("too big")), "{sql}: {err}");
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "{sql}");
        }
        // printf() gives NULL instead of a value over the limit.
        for sql in [format!("SELECT printf('%.*c', {over}, 'x')"), "SELECT printf('%.*c', 1000000000, 'x')".into()] {
            let out = db.execute_plain(&sql, &opts).await.expect(&sql);
            assert_eq!(out.rows[0][0], serde_json::Value::Null, "{sql}");
        }
        let out = db.execute_plain("SELECT length(zeroblob(1000000))", &opts).await.expect("1 MB is fine");
        assert_eq!(out.rows[0][0], serde_json::json!(1_000_000));
    }
}
