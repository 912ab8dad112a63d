//! Telling SQL typed into the question box from prose.

use sqlparser::parser::Parser;
use talk2tables_common::Dialect;

/// First words that start an SQL statement of any kind.
const STATEMENT_STARTS: &[&str] = &[
    "select",
    "with",
    "insert",
    "update",
    "delete",
    "drop",
    "create",
    "alter",
    "attach",
    "detach",
    "pragma",
    "truncate",
    "replace",
    "grant",
    "revoke",
    "vacuum",
    "explain",
    "values",
    "merge",
    "exec",
    "execute",
    "begin",
    "commit",
    "rollback",
    "copy",
    "reindex",
    "savepoint",
];

/// Keywords whose near-misses (`FORM`, `WHER`, `GROPU`) mark SQL with a typo.
const CLAUSE_KEYWORDS: &[&str] = &["from", "where", "group", "order", "join", "limit", "having", "select"];

/// True when `input` is itself one complete SQL statement rather than prose.
///
/// The rule:
/// 1. The first word must start an SQL statement (`SELECT`, `WITH`, `DELETE`, `DROP`,
///    `ATTACH`, `PRAGMA`, …; words that also start English sentences — SHOW, DESCRIBE,
///    EXPLAIN, SET, USE, TABLE, CALL, START, LOCK — are deliberately not in the list, so
///    "Show me total sales" is prose) and the whole input must parse with the `dialect` (or, for
///    statements the dialect's parser does not know, the generic one) as exactly one
///    statement (a trailing `;` is fine). "Show me total sales", "describe the sales
///    trend", "please delete nothing" and "select the best customers for me" do not
///    parse, so they are prose.
/// 2. Otherwise, input that starts with `SELECT` or `WITH` is still SQL-with-a-typo
///    (so a recovery step can repair it) when it has no `?` and reads like SQL: it
///    contains one of `* ( ) , = < > ;` or a qualified `a.b` name, or a near-miss (edit
///    distance 1, not equal) of a clause keyword such as `FORM` for `FROM`; a `WITH`
///    input must also contain `AS (`.
pub(crate) fn is_sql(input: &str, dialect: Dialect) -> bool {
    let text = input.trim();
    let first = text.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("").to_ascii_lowercase();
    if !STATEMENT_STARTS.contains(&first.as_str()) {
        return false;
    }
    if parses_as_one_statement(text, dialect) {
        return true;
    }
    if !(first == "select" || first == "with") || text.contains('?') {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    if first == "with" && !regex_as_paren(&lower) {
        return false;
    }
    let symbols = text.chars().any(|c| matches!(c, '*' | '(' | ')' | ',' | '=' | '<' | '>' | ';'))
        || lower.split_whitespace().any(|w| {
            let mut parts = w.split('.');
            matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None)
                if !a.is_empty() && !b.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && b.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !a.chars().all(|c| c.is_ascii_digit()))
        });
    let near_miss = lower.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 3).any(|w| {
        !CLAUSE_KEYWORDS.contains(&w) && CLAUSE_KEYWORDS.iter().any(|k| strsim::damerau_levenshtein(w, k) == 1)
    });
    symbols || near_miss
}

fn regex_as_paren(lower: &str) -> bool {
    let compact: String = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    compact.contains(" as (") || compact.contains(" as(")
}

fn parses_as_one_statement(text: &str, dialect: Dialect) -> bool {
    let one = |d: &dyn sqlparser::dialect::Dialect| Parser::parse_sql(d, text).is_ok_and(|s| s.len() == 1);
    one(dialect.parser_dialect().as_ref()) || one(&sqlparser::dialect::GenericDialect {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_statements_are_sql() {
        for s in [
            "SELECT * FROM orders",
            "select name from customers where city = 'Paris';",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "DELETE FROM orders",
            "DROP TABLE customers",
            "ATTACH DATABASE 'x.db' AS x",
            "PRAGMA writable_schema=1",
            "SELECT * FORM orders",
            "SELECT name, price FROM products WHER price > 3",
            "select count(*) from",
        ] {
            assert!(is_sql(s, Dialect::Sqlite), "{s}");
        }
    }

    #[test]
    fn prose_is_not_sql() {
        for s in [
            "Show me total sales",
            "select the best customers for me",
            "describe the sales trend",
            "please delete nothing",
            "How many customers are there?",
            "Select customers from Germany?",
            "with the highest sales, which product sold most?",
            "update me on the orders",
            "",
        ] {
            assert!(!is_sql(s, Dialect::Sqlite), "{s}");
        }
    }
}
