//! The validation step before execution: the read-only guard of
//! `talk2tables_common::guard`, then a default `LIMIT` on the outermost query.

use sqlparser::ast::{Expr, LimitClause, Query, Value};
use talk2tables_common::Dialect;
use talk2tables_common::guard::check_query;

use crate::error::{Error, ErrorKind, Result};

/// Validates `sql` for `dialect` and returns the SQL to run: the guard must accept it
/// as exactly one read-only SELECT/WITH query, and `LIMIT default_limit` is added when
/// the outermost query has no LIMIT/FETCH (an existing one is kept as written). The
/// result is the amended AST rendered with sqlparser's `Display`.
///
/// Errors: `SQL_REJECTED` with the guard's message and rule name.
pub(crate) fn validate(sql: &str, dialect: Dialect, default_limit: u64) -> Result<String> {
    let mut query = check_query(sql, dialect)
        .map_err(|r| Error::new(ErrorKind::SqlRejected, format!("{} (rule: {})", r.message, r.rule)))?;
    apply_default_limit(&mut query, default_limit);
    Ok(query.to_string())
}

/// Adds `LIMIT limit` to `query` when its outermost level has no row limit (neither
/// `LIMIT`, MySQL `LIMIT offset, n`, nor `FETCH FIRST`). An `OFFSET` without `LIMIT` keeps
/// its offset. Returns whether a limit was added.
pub(crate) fn apply_default_limit(query: &mut Query, limit: u64) -> bool {
    if query.fetch.is_some() {
        return false;
    }
    let n = Expr::value(Value::Number(limit.to_string(), false));
    match &mut query.limit_clause {
        Some(LimitClause::OffsetCommaLimit { .. }) => false,
        Some(LimitClause::LimitOffset { limit: Some(_), .. }) => false,
        Some(LimitClause::LimitOffset { limit: l @ None, .. }) => {
            *l = Some(n);
            true
        }
        None => {
            query.limit_clause = Some(LimitClause::LimitOffset { limit: Some(n), offset: None, limit_by: vec![] });
            true
        }
    }
}

/// Parses one query with `dialect` (no guard) and applies [`apply_default_limit`]; used
/// where the statement is already known to be read-only, and in tests.
///
/// Errors: `SQL_REJECTED` (rule `parse_error` / `query_only`) when `sql` is not exactly
/// one query.
#[cfg(test)]
pub(crate) fn with_default_limit(sql: &str, dialect: Dialect, limit: u64) -> Result<String> {
    let parsed = sqlparser::parser::Parser::parse_sql(dialect.parser_dialect().as_ref(), sql).map_err(|e| {
        Error::new(ErrorKind::SqlRejected, format!("could not parse the statement: {e} (rule: parse_error)"))
    })?;
    let [sqlparser::ast::Statement::Query(query)] = <[_; 1]>::try_from(parsed)
        .map_err(|_| Error::new(ErrorKind::SqlRejected, "expected exactly one statement (rule: single_statement)"))?
    else {
        return Err(Error::new(ErrorKind::SqlRejected, "only SELECT/WITH queries are allowed (rule: query_only)"));
    };
    let mut query = query;
    apply_default_limit(&mut query, limit);
    Ok(query.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_added_when_missing() {
        let s = with_default_limit("SELECT name FROM t ORDER BY name", Dialect::Sqlite, 1000).unwrap();
        assert_eq!(s, "SELECT name FROM t ORDER BY name LIMIT 1000");
        let s = with_default_limit("SELECT a FROM t OFFSET 5", Dialect::Postgresql, 10).unwrap();
        assert!(s.contains("LIMIT 10"), "{s}");
        assert!(s.contains("OFFSET 5"), "{s}");
    }

    #[test]
    fn existing_limit_kept() {
        let s = with_default_limit("select * from t limit 5", Dialect::Sqlite, 1000).unwrap();
        assert_eq!(s, "SELECT * FROM t LIMIT 5");
        let s = with_default_limit("SELECT * FROM t LIMIT 2, 5", Dialect::Mysql, 1000).unwrap();
        assert_eq!(s, "SELECT * FROM t LIMIT 2, 5");
        let s = with_default_limit("SELECT * FROM t FETCH FIRST 3 ROWS ONLY", Dialect::Postgresql, 1000).unwrap();
        assert!(!s.contains("LIMIT"), "{s}");
    }

    #[test]
    fn inner_limits_do_not_count() {
        let s = with_default_limit("SELECT * FROM (SELECT * FROM t LIMIT 3) x", Dialect::Sqlite, 50).unwrap();
        assert!(s.ends_with("LIMIT 50"), "{s}");
        let s =
            with_default_limit("WITH c AS (SELECT 1 AS a) SELECT a FROM c UNION SELECT 2", Dialect::Sqlite, 7).unwrap();
        assert!(s.ends_with("LIMIT 7"), "{s}");
    }

    #[test]
    fn non_queries_rejected() {
        let e = with_default_limit("DELETE FROM t", Dialect::Sqlite, 10).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SqlRejected);
        let e = with_default_limit("SELECT 1; SELECT 2", Dialect::Sqlite, 10).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SqlRejected);
    }

    #[test]
    fn validate_rejects_writes_through_the_guard() {
        // Whatever the guard's state, a write is never accepted.
        let e = validate("DROP TABLE t", Dialect::Sqlite, 10).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SqlRejected);
        assert!(e.message().contains("rule:"), "{}", e.message());
    }
}
