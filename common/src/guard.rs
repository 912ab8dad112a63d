//! The read-only statement guard: the parser allow-list that every SQL statement passes
//! before it reaches a database (in the core before sending, and again in the Database
//! MCP before running).
//!
//! A statement passes only when, parsed with the database's dialect, it is exactly one
//! query (`SELECT`, `WITH … SELECT`, `VALUES`, set operations) that
//! - contains no nested non-query statement anywhere (data-modifying CTEs,
//!   `WITH … DELETE`, `DELETE … RETURNING` used as a table, …) → `data_modifying_cte`;
//! - has no `SELECT … INTO` → `select_into`;
//! - takes no row locks (`FOR UPDATE` / `FOR SHARE`) → `locking_read`;
//! - assigns no session variable (MySQL `@v := …`) → `session_variable`;
//! - calls no function of the dialect's deny-list (side effects, file, network, process
//!   or sleep access), wherever the call appears, schema-qualified or not, in any case
//!   → `forbidden_function`.
//!
//! Before parsing, MySQL executable comments (`/*! … */`) and optimizer hints (`/*+ … */`)
//! outside string literals are refused on every dialect → `executable_comment`.
//!
//! Rejection messages never echo the statement (so nothing secret leaks into logs).

use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, Expr, ObjectName, Query, SetExpr, Statement, TableFactor, Visit, Visitor};
use sqlparser::parser::Parser;

use crate::Dialect;

/// Why a statement was refused: the rule that refused it and a message that does not
/// echo the statement (so no secrets leak into logs or responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (rule: {rule})")]
pub struct Rejection {
    /// Stable rule name: `empty`, `executable_comment`, `parse_error`, `single_statement`,
    /// `query_only`, `data_modifying_cte`, `select_into`, `locking_read`,
    /// `forbidden_function`, `session_variable`.
    pub rule: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl Rejection {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Rejection { rule, message: message.into() }
    }
}

/// Parses `sql` with `dialect` and accepts it only if it is exactly one read-only query.
/// Returns the parsed query so callers can inspect or amend it (e.g. add a `LIMIT`).
///
/// Errors: a [`Rejection`] naming the rule that refused the statement (see the module
/// documentation for the rules).
pub fn check_query(sql: &str, dialect: Dialect) -> Result<Box<Query>, Rejection> {
    if strip_noise(sql).is_empty() {
        return Err(Rejection::new("empty", "the statement is empty"));
    }
    if has_executable_comment(sql) {
        return Err(Rejection::new(
            "executable_comment",
            "executable comments (/*! … */) and optimizer hints (/*+ … */) are not allowed",
        ));
    }
    let parser_dialect = dialect.parser_dialect();
    let statements = Parser::parse_sql(parser_dialect.as_ref(), sql).map_err(|e| {
        Rejection::new(
            "parse_error",
            format!("the statement could not be parsed as {dialect} SQL{}", error_location(&e.to_string())),
        )
    })?;
    let mut statements = statements.into_iter();
    let statement = match (statements.next(), statements.next()) {
        (None, _) => return Err(Rejection::new("empty", "the statement is empty")),
        (Some(s), None) => s,
        (Some(_), Some(_)) => {
            return Err(Rejection::new("single_statement", "exactly one statement is allowed"));
        }
    };
    let query = match statement {
        Statement::Query(q) => q,
        other => {
            return Err(Rejection::new(
                "query_only",
                format!("only read-only queries (SELECT/WITH) are allowed, not {}", statement_kind(&other)),
            ));
        }
    };
    let mut checker = ReadOnlyChecker { deny: deny_list(dialect) };
    if let ControlFlow::Break(rejection) = query.visit(&mut checker) {
        return Err(rejection);
    }
    Ok(query)
}

/// `sql` without whitespace, `;` and comments: empty when nothing executable remains.
fn strip_noise(sql: &str) -> String {
    let mut out = String::new();
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"--") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if bytes[i..].starts_with(b"/*") {
            i += 2;
            while i < bytes.len() && !bytes[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else {
            let c = bytes[i];
            if !c.is_ascii_whitespace() && c != b';' {
                out.push(c as char);
            }
            i += 1;
        }
    }
    out
}

/// True when `/*!` or `/*+` occurs outside string literals and quoted identifiers. The
/// scan runs twice, with and without backslash escapes in strings (MySQL's default and
/// `NO_BACKSLASH_ESCAPES`), and reports a hit under either reading; a marker inside a
/// regular block comment counts too (PostgreSQL nests comments), which only errs on the
/// side of refusing.
fn has_executable_comment(sql: &str) -> bool {
    scan_for_executable_comment(sql.as_bytes(), true) || scan_for_executable_comment(sql.as_bytes(), false)
}

fn scan_for_executable_comment(b: &[u8], backslash_escapes: bool) -> bool {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if backslash_escapes && b[i] == b'\\' && q != b'`' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if matches!(b.get(i + 2), Some(b'!') | Some(b'+')) {
                    return true;
                }
                i += 2;
                while i < b.len() && !b[i..].starts_with(b"*/") {
                    if b[i..].starts_with(b"/*!") || b[i..].starts_with(b"/*+") {
                        return true;
                    }
                    i += 1;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The ` at Line L, Column C` part of a parser error, if any (the rest may quote tokens).
fn error_location(message: &str) -> String {
    match message.rfind(" at Line ") {
        Some(pos) => {
            let tail = &message[pos..];
            if tail.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == ',') {
                tail.to_string()
            } else {
                String::new()
            }
        }
        None => String::new(),
    }
}

/// A short, SQL-free name for a statement kind (`INSERT`, `DROP`, …).
fn statement_kind(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    let name: String = debug.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    if out.is_empty() { "this statement".to_string() } else { out }
}

/// Functions refused on every dialect, lower case; a trailing `*` matches any suffix.
const DENY_COMMON: &[&str] = &[
    // SQLite
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "sqlite_compileoption*",
    "fsdir",
    "lsdir",
    "zipfile",
    "sqlar_*",
    "sqlite_dbpage",
];

const DENY_POSTGRESQL: &[&str] = &[
    "pg_sleep*",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_*",
    "pg_stat_file",
    "pg_file_*",
    "pg_logdir_ls",
    "lo_*",
    "set_config",
    "dblink*",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_promote",
    "pg_create_*",
    "pg_drop_replication_slot",
    "pg_replication_*",
    "pg_logical_*",
    "pg_backup_*",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_export_snapshot",
    "pg_import_system_collations",
    "pg_notify",
    "pg_stat_reset*",
    "pg_stat_statements_reset",
    "pg_log_*",
    "pg_wal_replay_*",
    "pg_prewarm",
    "brin_summarize*",
    "gin_clean_pending_list",
    "pg_advisory*",
    "pg_try_advisory*",
    "nextval",
    "setval",
    "currval",
    "lastval",
    "txid_*",
    "pg_current_xact_id*",
    "query_to_xml*",
    "cursor_to_xml*",
    "table_to_xml*",
    "schema_to_xml*",
    "database_to_xml*",
    "copy",
];

const DENY_MYSQL: &[&str] = &[
    "sleep",
    "benchmark",
    "load_file",
    "get_lock",
    "release_lock",
    "release_all_locks",
    "is_free_lock",
    "is_used_lock",
    "master_pos_wait",
    "source_pos_wait",
    "wait_for_executed_gtid_set",
    "wait_until_sql_thread_after_gtids",
    "sys_exec",
    "sys_eval",
    "sys_get",
    "sys_set",
];

/// The deny-list patterns that apply to `dialect`: the common list plus the dialect's.
fn deny_list(dialect: Dialect) -> Vec<&'static str> {
    let specific = match dialect {
        Dialect::Sqlite => &[][..],
        Dialect::Postgresql => DENY_POSTGRESQL,
        Dialect::Mysql => DENY_MYSQL,
    };
    DENY_COMMON.iter().chain(specific).copied().collect()
}

/// Walks a parsed query and breaks with the first [`Rejection`].
struct ReadOnlyChecker {
    deny: Vec<&'static str>,
}

impl ReadOnlyChecker {
    fn check_function(&self, name: &ObjectName) -> ControlFlow<Rejection> {
        let Some(last) = name.0.last().and_then(|p| p.as_ident()) else {
            return ControlFlow::Continue(());
        };
        let lower = last.value.to_lowercase();
        let denied = self.deny.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => lower.starts_with(prefix),
            None => lower == *pattern,
        });
        if denied {
            ControlFlow::Break(Rejection::new(
                "forbidden_function",
                format!("function {lower}() is not allowed in read-only queries"),
            ))
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl Visitor for ReadOnlyChecker {
    type Break = Rejection;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        if matches!(
            query.body.as_ref(),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)
        ) {
            return ControlFlow::Break(Rejection::new(
                "data_modifying_cte",
                "data-modifying statements are not allowed, also not inside WITH or subqueries",
            ));
        }
        if !query.locks.is_empty() {
            return ControlFlow::Break(Rejection::new(
                "locking_read",
                "locking reads (FOR UPDATE / FOR SHARE) are not allowed",
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<Self::Break> {
        if select.into.is_some() {
            return ControlFlow::Break(Rejection::new("select_into", "SELECT … INTO is not allowed"));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, _statement: &Statement) -> ControlFlow<Self::Break> {
        // The walk starts at the query, so every statement met is a nested one.
        ControlFlow::Break(Rejection::new("data_modifying_cte", "statements nested inside a query are not allowed"))
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Self::Break> {
        match factor {
            TableFactor::Table { name, args: Some(_), .. } => self.check_function(name),
            TableFactor::Function { name, .. } => self.check_function(name),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Self::Break> {
        match expr {
            Expr::Function(function) => self.check_function(&function.name),
            Expr::BinaryOp { op: BinaryOperator::Assignment, .. } => ControlFlow::Break(Rejection::new(
                "session_variable",
                "assigning session variables (@name := …) is not allowed",
            )),
            _ => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgresql, Dialect::Mysql];

    fn rule(sql: &str, dialect: Dialect) -> &'static str {
        match check_query(sql, dialect) {
            Ok(_) => "ok",
            Err(r) => r.rule,
        }
    }

    fn assert_rejected_everywhere(sql: &str) {
        for d in ALL {
            assert_ne!(rule(sql, d), "ok", "{d}: {sql}");
        }
    }

    fn assert_rule_everywhere(sql: &str, expected: &str) {
        for d in ALL {
            assert_eq!(rule(sql, d), expected, "{d}: {sql}");
        }
    }

    #[test]
    fn stack_md_table_rows_are_rejected() {
        assert_rule_everywhere("SELECT 1; DROP TABLE x", "single_statement");
        assert_rule_everywhere("COMMIT; DELETE FROM t", "single_statement");
        assert_rule_everywhere("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "data_modifying_cte");
        assert_rule_everywhere("WITH x AS (SELECT 1) DELETE FROM t", "data_modifying_cte");
        assert_rule_everywhere("SELECT * FROM (DELETE FROM t RETURNING *) x", "data_modifying_cte");
        assert_rule_everywhere("ATTACH DATABASE 'e.db' AS e", "query_only");
        assert_rejected_everywhere("DETACH DATABASE e");
        assert_rule_everywhere("PRAGMA writable_schema=1", "query_only");
        assert_rejected_everywhere("PRAGMA table_info(t)");
        assert_rejected_everywhere("PRAGMA table_info('t')");
        assert_rejected_everywhere("SELECT * INTO OUTFILE 'x.csv' FROM t");
        assert_rejected_everywhere("SELECT * FROM t INTO OUTFILE 'x.csv'");
        assert_rule_everywhere("SELECT * INTO newtable FROM t", "select_into");
        assert_rule_everywhere("SELECT 1 INTO @v", "select_into");
        assert_rule_everywhere("SELECT * FROM t FOR UPDATE", "locking_read");
        assert_rule_everywhere("SELECT * FROM t FOR SHARE", "locking_read");
        assert_rejected_everywhere("SELECT * FROM t LOCK IN SHARE MODE");
        assert_rule_everywhere("", "empty");
        assert_rule_everywhere("  ;  -- nothing\n /* here */", "empty");
        assert_rule_everywhere("SELECT 1; SELECT 2", "single_statement");
        assert_rule_everywhere("EXPLAIN SELECT 1", "query_only");
        assert_rule_everywhere("EXPLAIN ANALYZE DELETE FROM t", "query_only");
        for sql in [
            "SHOW TABLES",
            "DESCRIBE t",
            "COPY (SELECT 1) TO 'x'",
            "SET search_path=e",
            "CALL p()",
            "BEGIN",
            "ROLLBACK",
            "GRANT SELECT ON t TO u",
            "CREATE TEMP TABLE x AS SELECT 1",
            "INSERT INTO t SELECT * FROM u",
            "REPLACE INTO t VALUES (1)",
            "VACUUM INTO 'x.db'",
            "LOCK TABLES t WRITE",
            "HANDLER t OPEN",
            "SELECT (INSERT INTO t VALUES (1) RETURNING id)",
            "DELETE FROM t",
            "UPDATE t SET a = 1",
            "DROP TABLE t",
        ] {
            assert_rejected_everywhere(sql);
        }
    }

    #[test]
    fn forbidden_functions_per_dialect() {
        for d in ALL {
            assert_eq!(rule("SELECT load_extension('x')", d), "forbidden_function", "{d}");
            assert_eq!(rule("SELECT LOAD_EXTENSION('x')", d), "forbidden_function", "{d}");
            assert_eq!(rule("SELECT writefile('x', 'y')", d), "forbidden_function", "{d}");
            assert_eq!(rule("SELECT * FROM t WHERE a = (SELECT readfile('/etc/passwd'))", d), "forbidden_function");
        }
        let pg = Dialect::Postgresql;
        for sql in [
            "SELECT pg_sleep(10)",
            "SELECT pg_catalog.pg_sleep(10)",
            "SELECT \"pg_sleep\"(1)",
            "SELECT * FROM pg_sleep(10)",
            "SELECT lo_export(1, '/tmp/x')",
            "SELECT set_config('a', 'b', false)",
            "SELECT * FROM dblink('host=x', 'select 1') AS t(a int)",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT nextval('s')",
            "SELECT pg_advisory_lock(1)",
            "SELECT query_to_xml('select 1', true, true, '')",
            "SELECT a FROM t WHERE a > (SELECT max(pg_sleep_for('1 s')::text) FROM u)",
            "WITH x AS (SELECT pg_terminate_backend(1)) SELECT * FROM x",
            "SELECT * FROM t ORDER BY pg_sleep(1)",
            "SELECT sum(a) FROM t GROUP BY a HAVING count(pg_ls_dir('.')) > 0",
        ] {
            assert_eq!(rule(sql, pg), "forbidden_function", "{sql}");
        }
        let my = Dialect::Mysql;
        for sql in [
            "SELECT sleep(5)",
            "SELECT BENCHMARK(1000000, md5('a'))",
            "SELECT load_file('/etc/passwd')",
            "SELECT get_lock('a', 10)",
            "SELECT * FROM t WHERE id IN (SELECT release_lock('a'))",
            "SELECT sys_exec('id')",
            "SELECT master_pos_wait('f', 1)",
        ] {
            assert_eq!(rule(sql, my), "forbidden_function", "{sql}");
        }
        assert_eq!(rule("SELECT @t2t := 1", my), "session_variable");
        assert_eq!(rule("SELECT a FROM t WHERE (@n := a) > 0", my), "session_variable");
        // A dialect's list applies to that dialect only.
        assert_eq!(rule("SELECT sleep(5)", Dialect::Sqlite), "ok");
    }

    #[test]
    fn executable_comments_rejected_outside_strings() {
        assert_rule_everywhere("SELECT 1 /*! , sleep(5) */", "executable_comment");
        assert_rule_everywhere("SELECT /*+ MAX_EXECUTION_TIME(1) */ 1", "executable_comment");
        assert_rule_everywhere("SELECT 1 /* x /*! y */", "executable_comment");
        assert_rule_everywhere("SELECT '/*! not a comment */' AS s", "ok");
        assert_rule_everywhere("SELECT 'it''s /*! fine' AS s", "ok");
        // Under either backslash reading the marker may be live: refuse.
        assert_eq!(rule("SELECT 'a\\' /*! x */ '", Dialect::Mysql), "executable_comment");
    }

    #[test]
    fn messages_do_not_echo_sql() {
        let secret = "SELECT * FROM t WHERE password = 'hunter2' AND ) garbage";
        for d in ALL {
            let err = check_query(secret, d).unwrap_err();
            assert_eq!(err.rule, "parse_error");
            assert!(!err.message.contains("hunter2") && !err.message.contains("garbage"), "{}", err.message);
        }
        let err = check_query("DELETE FROM secret_table", Dialect::Sqlite).unwrap_err();
        assert!(!err.message.contains("secret_table"), "{}", err.message);
        assert_eq!(err.rule, "query_only");
    }

    #[test]
    fn legitimate_queries_pass() {
        for sql in [
            "SELECT 1",
            "SELECT ';DROP TABLE x' AS s",
            "-- leading comment\nSELECT a /* inline */ FROM t; ",
            "WITH recent AS (SELECT * FROM orders WHERE order_date >= '2026-01-01') SELECT count(*) FROM recent",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n",
            "SELECT a FROM t UNION SELECT b FROM u",
            "SELECT customer_id, SUM(total_amount) OVER (PARTITION BY customer_id ORDER BY order_date) FROM orders",
            "SELECT * FROM orders WHERE customer_id IN (SELECT customer_id FROM customers WHERE country = 'France')",
            "SELECT (SELECT max(price) FROM products) AS m",
            "SELECT c.first_name, o.total_amount FROM customers c JOIN orders o ON o.customer_id = c.customer_id \
             LEFT JOIN order_items i ON i.order_id = o.order_id WHERE o.status <> 'cancelled' LIMIT 10",
            "VALUES (1, 2)",
        ] {
            for d in ALL {
                assert_eq!(rule(sql, d), "ok", "{d}: {sql}");
            }
        }
        let sqlite = Dialect::Sqlite;
        for sql in [
            "SELECT strftime('%Y-%m', order_date) AS month, COUNT(*) FROM orders GROUP BY 1",
            "SELECT * FROM orders WHERE order_date >= date('now', 'start of month')",
            "SELECT name FROM pragma_table_info('orders')",
        ] {
            assert_eq!(rule(sql, sqlite), "ok", "{sql}");
        }
        let pg = Dialect::Postgresql;
        for sql in [
            "SELECT DATE_TRUNC('month', order_date) AS m, SUM(total_amount) FROM orders GROUP BY 1",
            "SELECT * FROM orders WHERE order_date >= CURRENT_DATE - INTERVAL '1 month'",
            "SELECT * FROM generate_series(1, 3)",
            "SELECT $1::int",
            "SELECT current_setting('TimeZone')",
        ] {
            assert_eq!(rule(sql, pg), "ok", "{sql}");
        }
        assert_eq!(rule("SELECT DATE_FORMAT(order_date, '%Y-%m') FROM orders WHERE a = ?", Dialect::Mysql), "ok");
        let q = check_query("SELECT a FROM t", sqlite).unwrap();
        assert_eq!(q.to_string(), "SELECT a FROM t");
    }
}
