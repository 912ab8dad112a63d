//! Cheap deterministic repairs of a failed statement, tried before any LLM: misspelled
//! keywords, the nearest table or column name by edit distance, qualifying an ambiguous
//! column, rewriting a function into the database's dialect. Each works on a lexed
//! copy of the statement, so string literals and quoted identifiers are never changed.

use std::collections::BTreeSet;

use talk2tables_common::Dialect;

use super::classify::{Classified, ErrorCategory};
use crate::context::Context;

/// A repaired statement and a sentence saying what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repair {
    /// The new SQL.
    pub sql: String,
    /// What was changed, e.g. "`FORM` → `FROM`".
    pub note: String,
}

/// Keywords a misspelling may be corrected to.
const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP", "ORDER", "BY", "HAVING", "LIMIT", "OFFSET", "JOIN", "INNER", "LEFT", "RIGHT",
    "OUTER", "CROSS", "ON", "AS", "AND", "OR", "NOT", "DISTINCT", "UNION", "ALL", "BETWEEN", "LIKE", "IN", "IS",
    "NULL", "CASE", "WHEN", "THEN", "ELSE", "END", "DESC", "ASC", "WITH", "COUNT", "SUM", "AVG", "MIN", "MAX",
    "EXISTS", "CAST",
];

/// One lexical piece of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word (keyword or identifier).
    Word(String),
    /// Anything kept verbatim: literals, quoted identifiers, numbers, symbols, spaces,
    /// comments.
    Other(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Word(s) | Tok::Other(s) => s,
        }
    }
    fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(s) => Some(s),
            Tok::Other(_) => None,
        }
    }
}

/// Splits `sql` into words and verbatim pieces; concatenating the pieces gives `sql`
/// back exactly.
fn lex(sql: &str) -> Vec<Tok> {
    let chars: Vec<(usize, char)> = sql.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let end_of = |k: usize| chars.get(k).map_or(sql.len(), |(b, _)| *b);
    while i < chars.len() {
        let (start, c) = chars[i];
        let mut j = i + 1;
        if c.is_alphabetic() || c == '_' {
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_' || chars[j].1 == '$') {
                j += 1;
            }
            out.push(Tok::Word(sql[start..end_of(j)].to_string()));
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            let close = if c == '[' { ']' } else { c };
            while j < chars.len() {
                if chars[j].1 == close {
                    // A doubled quote is an escaped quote inside the literal.
                    if chars.get(j + 1).is_some_and(|(_, n)| *n == close) && close != ']' {
                        j += 2;
                        continue;
                    }
                    j += 1;
                    break;
                }
                j += 1;
            }
            out.push(Tok::Other(sql[start..end_of(j)].to_string()));
        } else if c == '-' && chars.get(j).is_some_and(|(_, n)| *n == '-') {
            while j < chars.len() && chars[j].1 != '\n' {
                j += 1;
            }
            out.push(Tok::Other(sql[start..end_of(j)].to_string()));
        } else if c.is_ascii_digit() {
            while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.') {
                j += 1;
            }
            out.push(Tok::Other(sql[start..end_of(j)].to_string()));
        } else {
            out.push(Tok::Other(c.to_string()));
        }
        i = j;
    }
    out
}

fn join(toks: &[Tok]) -> String {
    toks.iter().map(Tok::text).collect()
}

/// Index of the next token that is not whitespace, from `i` on.
fn next_solid(toks: &[Tok], mut i: usize) -> Option<usize> {
    while i < toks.len() {
        if !toks[i].text().trim().is_empty() {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Index of the previous token that is not whitespace, before `i`.
fn prev_solid(toks: &[Tok], i: usize) -> Option<usize> {
    (0..i).rev().find(|&k| !toks[k].text().trim().is_empty())
}

/// Tries the deterministic repair for `classified` on `sql`; `None` when there is none
/// (other categories, no close name, nothing to change).
pub(crate) fn repair(sql: &str, classified: &Classified, ctx: &Context) -> Option<Repair> {
    let repaired = match classified.category {
        ErrorCategory::SyntaxError => fix_keywords(sql, ctx),
        ErrorCategory::MissingTable => fix_table(sql, classified.subject.as_deref()?, ctx),
        ErrorCategory::MissingColumn => fix_column(sql, classified.subject.as_deref()?, ctx),
        ErrorCategory::AmbiguousColumn => qualify(sql, classified.subject.as_deref()?, ctx),
        ErrorCategory::FunctionOrDialectError => fix_functions(sql, ctx.dialect()),
        _ => None,
    }?;
    (repaired.sql != sql).then_some(repaired)
}

/// Names a word may legitimately be: every table and column of the schema.
fn schema_names(ctx: &Context) -> BTreeSet<String> {
    ctx.tables
        .iter()
        .flat_map(|t| std::iter::once(t.name.to_lowercase()).chain(t.columns.iter().map(|c| c.name.to_lowercase())))
        .collect()
}

/// Replaces words that are one or two edits away from an SQL keyword (and are neither a
/// keyword nor a schema name): `FORM` → `FROM`, `SELCT` → `SELECT`, `GROPU` → `GROUP`.
fn fix_keywords(sql: &str, ctx: &Context) -> Option<Repair> {
    let names = schema_names(ctx);
    let mut toks = lex(sql);
    let mut notes = Vec::new();
    for i in 0..toks.len() {
        let Some(w) = toks[i].word() else { continue };
        let upper = w.to_ascii_uppercase();
        // Function names (`IFNULL(`) and names after a dot are not keywords.
        let call_or_member = next_solid(&toks, i + 1).is_some_and(|n| toks[n].text() == "(")
            || prev_solid(&toks, i).is_some_and(|p| toks[p].text() == ".");
        if w.len() < 3 || call_or_member || KEYWORDS.contains(&upper.as_str()) || names.contains(&w.to_lowercase()) {
            continue;
        }
        let allowed = if w.len() >= 6 { 2 } else { 1 };
        let best = KEYWORDS
            .iter()
            .filter(|k| k.len() >= 3)
            .map(|k| (strsim::damerau_levenshtein(&upper, k), *k))
            .filter(|(d, _)| *d <= allowed)
            .min();
        if let Some((_, k)) = best {
            notes.push(format!("`{w}` → `{k}`"));
            toks[i] = Tok::Word(k.to_string());
        }
    }
    (!notes.is_empty()).then(|| Repair { sql: join(&toks), note: format!("corrected keywords: {}", notes.join(", ")) })
}

/// The closest of `candidates` to `name` (case-insensitive), within an edit distance of
/// a third of its length (at least 1, at most 3), or differing only by a plural `s`.
fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (lower.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| !c.eq_ignore_ascii_case(name))
        .map(|c| {
            let cl = c.to_lowercase();
            let plural = cl.trim_end_matches('s') == lower.trim_end_matches('s');
            (if plural { 0 } else { strsim::damerau_levenshtein(&lower, &cl) }, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

/// The last part of a possibly qualified name (`shop.ordrs` → `ordrs`).
fn last_part(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn fix_table(sql: &str, missing: &str, ctx: &Context) -> Option<Repair> {
    let missing = last_part(missing);
    let best = nearest(missing, ctx.tables.iter().map(|t| t.name.as_str()))?;
    let mut toks = lex(sql);
    let mut changed = false;
    for i in 0..toks.len() {
        let is_column_qualifier = next_solid(&toks, i + 1).is_some_and(|n| toks[n].text() == ".")
            && prev_solid(&toks, i).is_none_or(|p| toks[p].text() != ".");
        if toks[i].word().is_some_and(|w| w.eq_ignore_ascii_case(missing)) {
            let after_dot = prev_solid(&toks, i).is_some_and(|p| toks[p].text() == ".");
            if !after_dot || is_column_qualifier {
                toks[i] = Tok::Word(best.to_string());
                changed = true;
            }
        }
    }
    changed.then(|| Repair { sql: join(&toks), note: format!("table `{missing}` → `{best}`") })
}

/// Tables named in the statement (as schema indexes) with the alias each goes by (the
/// table name itself when it has none), in order of appearance.
fn tables_in(toks: &[Tok], ctx: &Context) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let Some(w) = t.word() else { continue };
        let Some(ti) = ctx.table_index(w) else { continue };
        // A table reference follows FROM / JOIN / a comma of the FROM list.
        let before = prev_solid(toks, i).map(|p| toks[p].text().to_ascii_uppercase());
        if !matches!(before.as_deref(), Some("FROM" | "JOIN" | ",")) {
            continue;
        }
        let mut alias = ctx.tables[ti].name.clone();
        if let Some(n) = next_solid(toks, i + 1) {
            let n = if toks[n].text().eq_ignore_ascii_case("AS") { next_solid(toks, n + 1) } else { Some(n) };
            if let Some(a) = n.and_then(|n| toks[n].word())
                && !KEYWORDS.contains(&a.to_ascii_uppercase().as_str())
                && !matches!(a.to_ascii_uppercase().as_str(), "USING" | "NATURAL" | "FULL")
            {
                alias = a.to_string();
            }
        }
        if !out.iter().any(|(x, a)| *x == ti && *a == alias) {
            out.push((ti, alias));
        }
    }
    out
}

fn fix_column(sql: &str, missing: &str, ctx: &Context) -> Option<Repair> {
    let mut toks = lex(sql);
    let used = tables_in(&toks, ctx);
    let (qualifier, column) = match missing.rsplit_once('.') {
        Some((q, c)) => (Some(last_part(q).to_string()), c.to_string()),
        None => (None, missing.to_string()),
    };
    // Candidate columns: those of the table the qualifier names, else of every table in
    // the statement, else of the whole schema.
    let scope: Vec<usize> = match &qualifier {
        Some(q) => used
            .iter()
            .filter(|(ti, a)| a.eq_ignore_ascii_case(q) || ctx.tables[*ti].name.eq_ignore_ascii_case(q))
            .map(|(ti, _)| *ti)
            .collect(),
        None => used.iter().map(|(ti, _)| *ti).collect(),
    };
    let scope: Vec<usize> = if scope.is_empty() { (0..ctx.tables.len()).collect() } else { scope };
    let best = nearest(&column, scope.iter().flat_map(|&ti| ctx.tables[ti].columns.iter().map(|c| c.name.as_str())))?
        .to_string();
    let mut changed = false;
    for i in 0..toks.len() {
        if !toks[i].word().is_some_and(|w| w.eq_ignore_ascii_case(&column)) {
            continue;
        }
        let prev = prev_solid(&toks, i);
        let qualified_by = prev
            .filter(|&p| toks[p].text() == ".")
            .and_then(|p| prev_solid(&toks, p))
            .and_then(|q| toks[q].word().map(str::to_string));
        let matches = match (&qualifier, &qualified_by) {
            (Some(q), Some(by)) => q.eq_ignore_ascii_case(by),
            (Some(_), None) => false,
            (None, _) => true,
        };
        // Not a function name (`count(`) and not the alias after AS.
        let is_call = next_solid(&toks, i + 1).is_some_and(|n| toks[n].text() == "(");
        let is_alias = prev.is_some_and(|p| toks[p].text().eq_ignore_ascii_case("AS"));
        if matches && !is_call && !is_alias {
            toks[i] = Tok::Word(best.clone());
            changed = true;
        }
    }
    changed.then(|| Repair { sql: join(&toks), note: format!("column `{missing}` → `{best}`") })
}

/// Qualifies every bare occurrence of `column` with the first table of the statement
/// that has it.
fn qualify(sql: &str, column: &str, ctx: &Context) -> Option<Repair> {
    let column = last_part(column);
    let toks = lex(sql);
    let used = tables_in(&toks, ctx);
    let (_, alias) = used.iter().find(|(ti, _)| ctx.tables[*ti].column(column).is_some())?;
    let mut out = Vec::with_capacity(toks.len() + 4);
    let mut changed = false;
    for i in 0..toks.len() {
        let bare = toks[i].word().is_some_and(|w| w.eq_ignore_ascii_case(column))
            && prev_solid(&toks, i).is_none_or(|p| !matches!(toks[p].text().to_ascii_uppercase().as_str(), "." | "AS"))
            && next_solid(&toks, i + 1).is_none_or(|n| !matches!(toks[n].text(), "." | "("));
        if bare {
            out.push(Tok::Other(format!("{alias}.")));
            changed = true;
        }
        out.push(toks[i].clone());
    }
    changed.then(|| Repair { sql: join(&out), note: format!("qualified `{column}` as `{alias}.{column}`") })
}

/// Position just after the parenthesis that closes the one opening at `open`.
fn closing(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.text() {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits the tokens between two parentheses at top-level commas.
fn arguments(toks: &[Tok]) -> Vec<String> {
    let mut args = vec![String::new()];
    let mut depth = 0;
    for t in toks {
        match t.text() {
            "(" => depth += 1,
            ")" => depth -= 1,
            "," if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = args.last_mut() {
            last.push_str(t.text());
        }
    }
    args.into_iter().map(|a| a.trim().to_string()).collect()
}

/// Rewrites PostgreSQL-style date functions into the dialect: `DATE_TRUNC('month', x)`
/// and `NOW()` on SQLite and MySQL, `EXTRACT(YEAR FROM x)` on SQLite.
fn fix_functions(sql: &str, dialect: Dialect) -> Option<Repair> {
    if dialect == Dialect::Postgresql {
        return None;
    }
    let toks = lex(sql);
    let mut out: Vec<Tok> = Vec::new();
    let mut notes = BTreeSet::new();
    let mut i = 0;
    while i < toks.len() {
        let name = toks[i].word().map(str::to_ascii_uppercase);
        let open = next_solid(&toks, i + 1).filter(|&n| toks[n].text() == "(");
        if let (Some(name), Some(open)) = (name, open)
            && let Some(close) = closing(&toks, open)
        {
            let args = arguments(&toks[open + 1..close]);
            let rewritten = match (name.as_str(), args.as_slice()) {
                ("DATE_TRUNC", [unit, expr]) => date_trunc(dialect, unit, &fix_functions_in(expr, dialect)),
                ("NOW", [empty]) if empty.is_empty() => Some("CURRENT_TIMESTAMP".to_string()),
                ("EXTRACT", [arg]) if dialect == Dialect::Sqlite => extract(&fix_functions_in(arg, dialect)),
                _ => None,
            };
            if let Some(r) = rewritten {
                notes.insert(name);
                out.push(Tok::Other(r));
                i = close + 1;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    (!notes.is_empty()).then(|| Repair {
        sql: join(&out),
        note: format!("rewrote {} for {}", notes.into_iter().collect::<Vec<_>>().join(", "), dialect.as_str()),
    })
}

fn fix_functions_in(expr: &str, dialect: Dialect) -> String {
    fix_functions(expr, dialect).map_or_else(|| expr.to_string(), |r| r.sql)
}

fn date_trunc(dialect: Dialect, unit: &str, expr: &str) -> Option<String> {
    let unit = unit.trim_matches(|c| c == '\'' || c == '"').to_ascii_lowercase();
    Some(match (dialect, unit.as_str()) {
        (Dialect::Sqlite, "day") => format!("date({expr})"),
        (Dialect::Sqlite, "month") => format!("date({expr}, 'start of month')"),
        (Dialect::Sqlite, "year") => format!("date({expr}, 'start of year')"),
        (Dialect::Sqlite, "week") => format!("date({expr}, 'weekday 0', '-6 days')"),
        (Dialect::Mysql, "day") => format!("DATE({expr})"),
        (Dialect::Mysql, "month") => format!("DATE_FORMAT({expr}, '%Y-%m-01')"),
        (Dialect::Mysql, "year") => format!("DATE_FORMAT({expr}, '%Y-01-01')"),
        _ => return None,
    })
}

/// `YEAR FROM x` → the SQLite integer expression.
fn extract(arg: &str) -> Option<String> {
    let (field, expr) = arg.split_once(char::is_whitespace)?;
    let expr = expr.trim_start();
    let expr = expr.get(..4).filter(|k| k.eq_ignore_ascii_case("FROM")).map(|_| expr[4..].trim())?;
    let format = match field.to_ascii_uppercase().as_str() {
        "YEAR" => "%Y",
        "MONTH" => "%m",
        "DAY" => "%d",
        "HOUR" => "%H",
        _ => return None,
    };
    Some(format!("CAST(strftime('{format}', {expr}) AS INTEGER)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::FetchedResource;

    fn ctx(dialect: &str) -> Context {
        let schema = serde_json::json!({
            "dialect": dialect,
            "tables": [
                {"name": "customers", "columns": [
                    {"name": "customer_id", "data_type": "INTEGER"}, {"name": "first_name", "data_type": "TEXT"},
                    {"name": "city", "data_type": "TEXT"}], "primary_key": ["customer_id"]},
                {"name": "orders", "columns": [
                    {"name": "order_id", "data_type": "INTEGER"}, {"name": "customer_id", "data_type": "INTEGER"},
                    {"name": "order_date", "data_type": "TEXT"}, {"name": "total_amount", "data_type": "REAL"},
                    {"name": "status", "data_type": "TEXT"}],
                 "primary_key": ["order_id"],
                 "foreign_keys": [{"columns": ["customer_id"], "references_table": "customers",
                                   "references_columns": ["customer_id"]}]}
            ]
        });
        let r = FetchedResource {
            server_id: "db".into(),
            uri: "database://schema".into(),
            name: "schema".into(),
            mime_type: None,
            text: schema.to_string(),
        };
        Context::from_resources(&[r]).expect("context")
    }

    fn fix(sql: &str, category: ErrorCategory, subject: Option<&str>) -> Option<String> {
        let c = Classified { category, subject: subject.map(str::to_string) };
        repair(sql, &c, &ctx("sqlite")).map(|r| r.sql)
    }

    #[test]
    fn lexing_round_trips() {
        let sql = "SELECT 'it''s FORM', \"odd col\" FROM t -- FORM\nWHERE x = 1.5";
        assert_eq!(join(&lex(sql)), sql);
    }

    #[test]
    fn misspelled_keywords() {
        use ErrorCategory::SyntaxError as S;
        assert_eq!(fix("SELECT * FORM orders", S, None).as_deref(), Some("SELECT * FROM orders"));
        assert_eq!(
            fix("SELCT status, COUNT(*) FROM orders GROPU BY status", S, None).as_deref(),
            Some("SELECT status, COUNT(*) FROM orders GROUP BY status")
        );
        // Literals and schema names are left alone.
        assert_eq!(fix("SELECT * FROM orders WHERE status = 'FORM'", S, None), None);
        assert_eq!(fix("SELECT city FROM customers", S, None), None);
    }

    #[test]
    fn nearest_table_and_column() {
        use ErrorCategory::*;
        assert_eq!(
            fix("SELECT * FROM ordrs WHERE ordrs.status = 'x'", MissingTable, Some("ordrs")).as_deref(),
            Some("SELECT * FROM orders WHERE orders.status = 'x'")
        );
        assert_eq!(fix("SELECT * FROM order", MissingTable, Some("order")).as_deref(), Some("SELECT * FROM orders"));
        assert_eq!(fix("SELECT * FROM employees", MissingTable, Some("employees")), None);
        assert_eq!(
            fix("SELECT o.totl_amount FROM orders o", MissingColumn, Some("o.totl_amount")).as_deref(),
            Some("SELECT o.total_amount FROM orders o")
        );
        assert_eq!(
            fix("SELECT frist_name FROM customers", MissingColumn, Some("frist_name")).as_deref(),
            Some("SELECT first_name FROM customers")
        );
        assert_eq!(fix("SELECT customer_name FROM customers", MissingColumn, Some("customer_name")), None);
    }

    #[test]
    fn ambiguous_column_is_qualified() {
        let sql = "SELECT customer_id, COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
                   GROUP BY customer_id";
        let fixed = fix(sql, ErrorCategory::AmbiguousColumn, Some("customer_id")).expect("fixed");
        assert_eq!(
            fixed,
            "SELECT o.customer_id, COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
             GROUP BY o.customer_id"
        );
    }

    #[test]
    fn functions_rewritten_for_the_dialect() {
        use ErrorCategory::FunctionOrDialectError as F;
        assert_eq!(
            fix("SELECT DATE_TRUNC('month', order_date) AS m, COUNT(*) FROM orders GROUP BY 1", F, None).as_deref(),
            Some("SELECT date(order_date, 'start of month') AS m, COUNT(*) FROM orders GROUP BY 1")
        );
        assert_eq!(
            fix("SELECT * FROM orders WHERE EXTRACT(YEAR FROM order_date) = 2025 AND order_date < NOW()", F, None)
                .as_deref(),
            Some(
                "SELECT * FROM orders WHERE CAST(strftime('%Y', order_date) AS INTEGER) = 2025 \
                 AND order_date < CURRENT_TIMESTAMP"
            )
        );
        let c = Classified { category: F, subject: None };
        assert_eq!(repair("SELECT DATE_TRUNC('month', x) FROM t", &c, &ctx("postgresql")), None);
    }
}
