//! Classifying a failed statement into an [`ErrorCategory`] from the database's message
//! (SQLite, PostgreSQL and MySQL wordings, SQLSTATE and MySQL error numbers when the
//! message carries them) or the validator's rejection.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Error, ErrorKind};

/// What went wrong with a statement, as far as repairing it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ErrorCategory {
    /// The statement does not parse (`near "FORM": syntax error`, `42601`, `1064`).
    SyntaxError,
    /// A table that does not exist (`no such table`, `42P01`, `1146`).
    MissingTable,
    /// A column that does not exist (`no such column`, `42703`, `1054`).
    MissingColumn,
    /// A column name found in several joined tables (`42702`, `1052`).
    AmbiguousColumn,
    /// Values of the wrong type (`datatype mismatch`, `22P02`, `1292`, `1366`).
    DataTypeMismatch,
    /// Misuse of aggregates or GROUP BY (`42803`, `1111`, `1055`).
    AggregationError,
    /// A function the dialect does not have or called wrongly (`no such function`,
    /// `42883`, `1305`).
    FunctionOrDialectError,
    /// Not allowed (read-only connection, privileges). Never retried.
    PermissionError,
    /// The statement ran out of time.
    Timeout,
    /// Anything else.
    Unknown,
}

impl ErrorCategory {
    /// The stable name shown in `attempted_sql[].error_category` (`SYNTAX_ERROR`, …).
    pub(crate) fn code(self) -> &'static str {
        match self {
            ErrorCategory::SyntaxError => "SYNTAX_ERROR",
            ErrorCategory::MissingTable => "MISSING_TABLE",
            ErrorCategory::MissingColumn => "MISSING_COLUMN",
            ErrorCategory::AmbiguousColumn => "AMBIGUOUS_COLUMN",
            ErrorCategory::DataTypeMismatch => "DATA_TYPE_MISMATCH",
            ErrorCategory::AggregationError => "AGGREGATION_ERROR",
            ErrorCategory::FunctionOrDialectError => "FUNCTION_OR_DIALECT_ERROR",
            ErrorCategory::PermissionError => "PERMISSION_ERROR",
            ErrorCategory::Timeout => "TIMEOUT",
            ErrorCategory::Unknown => "UNKNOWN",
        }
    }

    /// What an LLM asked to fix this kind of error is told to do.
    pub(crate) fn instruction(self) -> &'static str {
        match self {
            ErrorCategory::SyntaxError => "Fix the syntax; keep the meaning of the query.",
            ErrorCategory::MissingTable => "Use only tables that exist in the schema below.",
            ErrorCategory::MissingColumn => "Use only columns that exist in the schema below, in the right table.",
            ErrorCategory::AmbiguousColumn => "Qualify every column with its table name or alias.",
            ErrorCategory::DataTypeMismatch => "Compare and compute values of compatible types; add casts if needed.",
            ErrorCategory::AggregationError => {
                "Every selected column that is not aggregated must appear in GROUP BY; no aggregates in WHERE."
            }
            ErrorCategory::FunctionOrDialectError => "Use only functions that exist in the stated SQL dialect.",
            ErrorCategory::PermissionError => "The statement is not allowed.",
            ErrorCategory::Timeout => "Make the query cheaper: filter earlier, avoid needless joins.",
            ErrorCategory::Unknown => "Fix the query so that it runs.",
        }
    }
}

/// A classified failure: its category and, when the message names it, the offending
/// name (the missing table or column, as written — possibly qualified `o.nmae`; the
/// ambiguous column; the unknown function; the token near a syntax error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classified {
    /// The category.
    pub category: ErrorCategory,
    /// The name the message points at, without quotes.
    pub subject: Option<String>,
}

/// A pattern: category, regex on the message; capture group 1 (when present) is the
/// subject.
struct Rule {
    category: ErrorCategory,
    pattern: Regex,
}

fn rule(category: ErrorCategory, pattern: &str) -> Rule {
    Rule { category, pattern: Regex::new(&format!("(?i){pattern}")).expect("valid classification regex") }
}

/// Name characters inside quotes or bare: `"x"`, `'db.x'`, `` `x` ``, `o.x`.
const NAME: &str = r#"["'`]?([A-Za-z0-9_$.]+)["'`]?"#;

/// The rules in order; the first that matches wins. Permission and timeout come first:
/// their messages may also mention tables or columns.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use ErrorCategory::*;
    vec![
        // Permission: SQLite read-only / authorizer, PostgreSQL 42501 / 25006, MySQL 1142/1143/1044/1045/1227.
        rule(PermissionError, r"attempt to write a readonly database|\bnot authori[sz]ed\b|permission denied"),
        rule(PermissionError, r"read-only transaction|access denied|command denied to user|\b(?:42501|25006)\b"),
        rule(PermissionError, r"\b(?:1142|1143|1044|1045|1227)\b.*denied|readonly database|read only database"),
        // Timeout: our Database MCP, PostgreSQL 57014, MySQL 3024, SQLite interrupt.
        rule(Timeout, r"exceeded the \d+ ?ms timeout|statement timeout|\b57014\b|maximum statement execution time"),
        rule(Timeout, r"\binterrupted\b|timed out|\btimeout\b"),
        // Ambiguous before missing: PostgreSQL `column reference "x" is ambiguous`.
        rule(AmbiguousColumn, &format!(r"ambiguous column name:\s*{NAME}")),
        rule(AmbiguousColumn, &format!(r"column reference {NAME} is ambiguous")),
        rule(AmbiguousColumn, &format!(r"column {NAME} in [a-z ]+ is ambiguous")),
        rule(AmbiguousColumn, r"\bambiguous\b|\b42702\b|\b1052\b"),
        // Aggregation: before missing column (PostgreSQL's message starts with `column "x"`).
        rule(AggregationError, r"must appear in the group by clause|misuse of aggregate|invalid use of group function"),
        rule(AggregationError, r"aggregate functions are not allowed|group by clause is required before having"),
        rule(AggregationError, r"isn't in group by|not in group by|aggregate function calls cannot be nested"),
        rule(AggregationError, r"\b(?:42803|1111|1055|1140)\b"),
        // Missing table: SQLite, PostgreSQL (relation), MySQL (`Table 'db.x' doesn't exist`).
        rule(MissingTable, &format!(r"no such table:\s*{NAME}")),
        rule(MissingTable, &format!(r"relation {NAME} does not exist")),
        rule(MissingTable, &format!(r"table {NAME} doesn't exist")),
        rule(MissingTable, &format!(r"table {NAME} does not exist")),
        rule(MissingTable, r"missing from-clause entry for table|\b(?:42P01|1146)\b"),
        // Missing column.
        rule(MissingColumn, &format!(r"no such column:\s*{NAME}")),
        rule(MissingColumn, &format!(r"column {NAME} does not exist")),
        rule(MissingColumn, &format!(r"unknown column {NAME}")),
        rule(MissingColumn, &format!(r"column {NAME} of relation \S+ does not exist")),
        rule(MissingColumn, r"\b(?:42703|1054)\b"),
        // Functions and dialect: SQLite, PostgreSQL (`function date_trunc(...) does not exist`), MySQL 1305.
        rule(FunctionOrDialectError, &format!(r"no such function:\s*{NAME}")),
        rule(FunctionOrDialectError, r"function ([A-Za-z0-9_.]+)\(.*\) does not exist"),
        rule(FunctionOrDialectError, &format!(r"function {NAME} does not exist")),
        rule(FunctionOrDialectError, r"wrong number of arguments to function ([A-Za-z0-9_]+)"),
        rule(FunctionOrDialectError, r"incorrect parameter count in the call to native function '([A-Za-z0-9_]+)'"),
        rule(FunctionOrDialectError, r"\b(?:1305|1582)\b"),
        // Data types: `operator does not exist: text = integer` is a type problem.
        rule(DataTypeMismatch, r"datatype mismatch|type mismatch|cannot convert|invalid input syntax for"),
        rule(DataTypeMismatch, r"operator does not exist|cannot be cast|truncated incorrect|incorrect \w+ value"),
        rule(DataTypeMismatch, r"argument of \w+ must be type|\b(?:42804|22P02|42883|1292|1366)\b"),
        // Syntax: SQLite, PostgreSQL, MySQL 1064, and our validator's parse_error.
        rule(SyntaxError, r#"near "([^"]+)": syntax error"#),
        rule(SyntaxError, r#"syntax error at or near "([^"]+)""#),
        rule(SyntaxError, r"syntax to use near '(\S+)"),
        rule(SyntaxError, r"syntax error|incomplete input|unrecognized token|parse error|rule: parse_error"),
        rule(SyntaxError, r"unexpected token|expected .* found|\b(?:42601|1064)\b"),
    ]
});

/// Classifies a database (or validator) message.
pub(crate) fn classify_message(message: &str) -> Classified {
    for r in RULES.iter() {
        if let Some(c) = r.pattern.captures(message) {
            let subject = c.get(1).map(|m| m.as_str().trim_end_matches('.').to_string()).filter(|s| !s.is_empty());
            return Classified { category: r.category, subject };
        }
    }
    Classified { category: ErrorCategory::Unknown, subject: None }
}

/// Classifies an error of the validate/execute steps, or `None` when it is not about
/// the statement and must not be repaired: a validator or server refusal other than a
/// parse error (writes, several statements, forbidden functions), or a transport error
/// (`MCP_UNAVAILABLE`, …).
pub(crate) fn classify(error: &Error) -> Option<Classified> {
    match error.kind() {
        ErrorKind::SqlRejected if error.message().contains("rule: parse_error") => {
            Some(Classified { category: ErrorCategory::SyntaxError, subject: None })
        }
        ErrorKind::SqlExecutionFailed => Some(classify_message(error.message())),
        ErrorKind::McpTimeout => Some(Classified { category: ErrorCategory::Timeout, subject: None }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCategory::*;

    fn check(message: &str, category: ErrorCategory, subject: Option<&str>) {
        let c = classify_message(message);
        assert_eq!((c.category, c.subject.as_deref()), (category, subject), "{message}");
    }

    #[test]
    fn sqlite_messages() {
        check(r#"near "FORM": syntax error"#, SyntaxError, Some("FORM"));
        check("incomplete input", SyntaxError, None);
        check("no such table: ordrs", MissingTable, Some("ordrs"));
        check("no such column: o.nmae", MissingColumn, Some("o.nmae"));
        check("ambiguous column name: customer_id", AmbiguousColumn, Some("customer_id"));
        check("no such function: DATE_TRUNC", FunctionOrDialectError, Some("DATE_TRUNC"));
        check("wrong number of arguments to function strftime()", FunctionOrDialectError, Some("strftime"));
        check("misuse of aggregate function SUM()", AggregationError, None);
        check("a GROUP BY clause is required before HAVING", AggregationError, None);
        check("datatype mismatch", DataTypeMismatch, None);
        check("attempt to write a readonly database", PermissionError, None);
        check("not authorized", PermissionError, None);
        check("interrupted", Timeout, None);
        check("query exceeded the 5000 ms timeout", Timeout, None);
        check("disk I/O error", Unknown, None);
    }

    #[test]
    fn postgresql_messages() {
        check(r#"syntax error at or near "FORM""#, SyntaxError, Some("FORM"));
        check(r#"relation "ordrs" does not exist"#, MissingTable, Some("ordrs"));
        check(r#"column "nmae" does not exist"#, MissingColumn, Some("nmae"));
        check(r#"column o.nmae does not exist"#, MissingColumn, Some("o.nmae"));
        check(r#"column reference "customer_id" is ambiguous"#, AmbiguousColumn, Some("customer_id"));
        check(
            r#"column "orders.status" must appear in the GROUP BY clause or be used in an aggregate function"#,
            AggregationError,
            None,
        );
        check("aggregate functions are not allowed in WHERE", AggregationError, None);
        check(
            "function strftime(unknown, timestamp without time zone) does not exist",
            FunctionOrDialectError,
            Some("strftime"),
        );
        check(r#"invalid input syntax for type integer: "abc""#, DataTypeMismatch, None);
        check("operator does not exist: text = integer", DataTypeMismatch, None);
        check("permission denied for table orders", PermissionError, None);
        check("cannot execute DROP TABLE in a read-only transaction", PermissionError, None);
        check("canceling statement due to statement timeout", Timeout, None);
        check("ERROR: something odd (SQLSTATE 42P01)", MissingTable, None);
    }

    #[test]
    fn mysql_messages() {
        check(
            "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version \
             for the right syntax to use near 'FORM orders' at line 1",
            SyntaxError,
            Some("FORM"),
        );
        check("Table 'shop.ordrs' doesn't exist", MissingTable, Some("shop.ordrs"));
        check("Unknown column 'nmae' in 'field list'", MissingColumn, Some("nmae"));
        check("Column 'customer_id' in field list is ambiguous", AmbiguousColumn, Some("customer_id"));
        check("FUNCTION shop.DATE_TRUNC does not exist", FunctionOrDialectError, Some("shop.DATE_TRUNC"));
        check("Invalid use of group function", AggregationError, None);
        check(
            "Expression #1 of SELECT list is not in GROUP BY clause and contains nonaggregated column",
            AggregationError,
            None,
        );
        check("Truncated incorrect DOUBLE value: 'abc'", DataTypeMismatch, None);
        check("SELECT command denied to user 'ro'@'localhost' for table 'orders'", PermissionError, None);
        check("Access denied for user 'ro'@'localhost'", PermissionError, None);
        check("Query execution was interrupted, maximum statement execution time exceeded", Timeout, None);
        check("ERROR 1054 (42S22): bad", MissingColumn, None);
    }

    #[test]
    fn errors_that_are_never_repaired() {
        let write = Error::new(ErrorKind::SqlRejected, "only SELECT/WITH queries are allowed (rule: query_only)");
        assert_eq!(classify(&write), None);
        let multi = Error::new(ErrorKind::SqlRejected, "exactly one statement is allowed (rule: single_statement)");
        assert_eq!(classify(&multi), None);
        assert_eq!(classify(&Error::new(ErrorKind::McpUnavailable, "down")), None);
        let parse = Error::new(ErrorKind::SqlRejected, "could not be parsed as sqlite SQL (rule: parse_error)");
        assert_eq!(classify(&parse).map(|c| c.category), Some(SyntaxError));
        let db = Error::new(ErrorKind::SqlExecutionFailed, "no such column: x");
        assert_eq!(classify(&db).map(|c| c.category), Some(MissingColumn));
    }
}
