//! Finding the SQL in an LLM's answer, whatever its form: a JSON object, a fenced code
//! block, or SQL surrounded by explanations.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::{Error, ErrorKind, Result};

/// JSON keys that may hold the SQL, in order of preference (matched case-insensitively).
const SQL_KEYS: [&str; 3] = ["sql", "query", "sql_query"];
/// Code-fence languages taken as SQL.
const SQL_FENCE_LANGS: [&str; 7] = ["sql", "sqlite", "postgres", "postgresql", "psql", "mysql", "tsql"];
/// Upper bounds on the work spent on one answer (answers are short; this guards odd ones).
const MAX_JSON_STARTS: usize = 64;
const MAX_BARE_STARTS: usize = 32;

/// Opening fence with its language tag, the content up to the closing fence (or the end
/// of the text, for a cut-off answer).
static FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\z)").expect("valid regex"));
/// Where a bare statement may start.
static STATEMENT_START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(select|with)\b").expect("valid regex"));

/// The SQL in an LLM answer `text`, trimmed and without trailing semicolons.
///
/// Looked for, in order:
/// 1. a JSON object (bare, inside a ```` ```json ```` fence, or amid other text) with a
///    string under `sql`, `query` or `sql_query`;
/// 2. a fenced block tagged `sql` (or a dialect name), or an untagged fence whose
///    content starts with `SELECT`/`WITH`;
/// 3. bare SQL from the first `SELECT`/`WITH` that starts a parseable statement, up to
///    its semicolon or a blank line, ignoring the chatter before and after.
///
/// The result is not validated here (that is the SQL guard's job).
///
/// Errors: `LLM_BAD_OUTPUT` when none of these yields SQL, or when the JSON object
/// holds an empty or `null` SQL value (its `error`/`explanation` text, if any, is quoted).
pub(crate) fn extract_sql(text: &str) -> Result<String> {
    if let Some(found) = from_json(text) {
        return found;
    }
    if let Some(sql) = from_fence(text) {
        return Ok(sql);
    }
    if let Some(sql) = from_bare_text(text) {
        return Ok(sql);
    }
    Err(Error::new(ErrorKind::LlmBadOutput, format!("no SQL found in the model's answer: {}", preview(text))))
}

/// The first JSON object in `text` that has one of [`SQL_KEYS`]: `Some(Ok(sql))`, or
/// `Some(Err(_))` when that key holds nothing usable.
fn from_json(text: &str) -> Option<Result<String>> {
    for (start, _) in text.match_indices('{').take(MAX_JSON_STARTS) {
        let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        let Some(Ok(Value::Object(object))) = values.next() else {
            continue;
        };
        let value =
            SQL_KEYS.iter().find_map(|key| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v));
        let Some(value) = value else { continue };
        let sql = value.as_str().map(|s| from_fence(s).unwrap_or_else(|| clean(s))).unwrap_or_default();
        if !sql.is_empty() {
            return Some(Ok(sql));
        }
        let why = ["error", "explanation", "reason", "message"]
            .iter()
            .find_map(|k| object.get(*k).and_then(Value::as_str))
            .map(|m| format!(": {}", preview(m)))
            .unwrap_or_default();
        return Some(Err(Error::new(ErrorKind::LlmBadOutput, format!("the model returned no SQL{why}"))));
    }
    None
}

/// The content of the first SQL-tagged fence, else of the first untagged fence that
/// holds a statement.
fn from_fence(text: &str) -> Option<String> {
    let mut untagged = None;
    for fence in FENCE.captures_iter(text) {
        let lang = fence.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
        let body = clean(fence.get(2).map_or("", |m| m.as_str()));
        if body.is_empty() {
            continue;
        }
        if SQL_FENCE_LANGS.contains(&lang.as_str()) {
            return Some(body);
        }
        if lang.is_empty() && untagged.is_none() && starts_statement(&body) {
            untagged = Some(body);
        }
    }
    untagged
}

/// Bare SQL amid prose: the first `SELECT`/`WITH` from which a statement parses
/// (dropping trailing lines of chatter as needed); failing that, the first one written
/// in capitals.
fn from_bare_text(text: &str) -> Option<String> {
    let starts: Vec<_> = STATEMENT_START.find_iter(text).take(MAX_BARE_STARTS).collect();
    for start in &starts {
        let segment = statement_segment(&text[start.start()..]);
        let mut lines: Vec<&str> = segment.lines().collect();
        while !lines.is_empty() {
            let candidate = clean(&lines.join("\n"));
            if parses(&candidate) {
                return Some(candidate);
            }
            lines.pop();
        }
    }
    starts
        .iter()
        .find(|m| m.as_str().bytes().all(|b| b.is_ascii_uppercase()))
        .map(|m| clean(statement_segment(&text[m.start()..])))
        .filter(|sql| !sql.is_empty())
}

/// `text` up to its first semicolon outside quotes, or its first blank line.
fn statement_segment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous_newline = false;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                ';' => return &text[..i],
                '\n' if previous_newline => return &text[..i],
                _ => {}
            },
        }
        if c == '\n' {
            previous_newline = true;
        } else if !c.is_whitespace() {
            previous_newline = false;
        }
    }
    text
}

fn parses(sql: &str) -> bool {
    !sql.is_empty() && Parser::parse_sql(&GenericDialect {}, sql).is_ok_and(|statements| statements.len() == 1)
}

fn starts_statement(sql: &str) -> bool {
    let head: String = sql.chars().take(6).collect::<String>().to_ascii_uppercase();
    head.starts_with("SELECT") || head.starts_with("WITH")
}

/// Trimmed, trailing semicolons removed.
fn clean(sql: &str) -> String {
    sql.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_owned()
}

fn preview(text: &str) -> String {
    const CHARS: usize = 120;
    let text = text.trim();
    match text.char_indices().nth(CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty)".to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = "SELECT name, price FROM products WHERE price > 10";

    #[test]
    fn json_objects() {
        assert_eq!(extract_sql(&format!(r#"{{"sql": "{SQL};"}}"#)).unwrap(), SQL);
        assert_eq!(extract_sql(&format!(r#"{{"explanation": "x", "query": "{SQL}"}}"#)).unwrap(), SQL);
        assert_eq!(extract_sql(&format!(r#"{{"SQL_QUERY": "{SQL}"}}"#)).unwrap(), SQL);
        let fenced = format!("Here you go:\n```json\n{{\"sql\": \"{SQL}\", \"note\": \"{{braces}}\"}}\n```\nEnjoy!");
        assert_eq!(extract_sql(&fenced).unwrap(), SQL);
        let escaped = r#"{"sql": "SELECT \"first_name\" FROM customers\nWHERE city = 'Paris';\n"}"#;
        assert_eq!(extract_sql(escaped).unwrap(), "SELECT \"first_name\" FROM customers\nWHERE city = 'Paris'");
    }

    #[test]
    fn json_without_sql_is_bad_output_with_reason() {
        let e = extract_sql(r#"{"sql": null, "error": "no table holds weather data"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LlmBadOutput);
        assert!(e.message().contains("weather"), "{}", e.message());
        assert_eq!(extract_sql(r#"{"sql": "  ;  "}"#).unwrap_err().kind(), ErrorKind::LlmBadOutput);
    }

    #[test]
    fn fenced_blocks() {
        let text = format!("Sure! The query is:\n\n```sql\n{SQL};\n```\n\nIt lists products.");
        assert_eq!(extract_sql(&text).unwrap(), SQL);
        let text = format!("```\n{SQL}\n```");
        assert_eq!(extract_sql(&text).unwrap(), SQL);
        let text = format!("```SQLite\n{SQL}\n```");
        assert_eq!(extract_sql(&text).unwrap(), SQL);
        // cut off before the closing fence
        assert_eq!(extract_sql(&format!("```sql\n{SQL}\n")).unwrap(), SQL);
    }

    #[test]
    fn bare_sql_amid_chatter() {
        let text = format!("To select the expensive products with a price filter, run:\n{SQL};\nThis returns names.");
        assert_eq!(extract_sql(&text).unwrap(), SQL);
        let text = format!("{SQL}\n\nThis query selects products.");
        assert_eq!(extract_sql(&text).unwrap(), SQL);
        let text = format!("{SQL}\nThis query selects products.");
        assert_eq!(extract_sql(&text).unwrap(), SQL);
        let cte = "WITH t AS (SELECT customer_id, SUM(total_amount) AS s FROM orders GROUP BY customer_id)\nSELECT * FROM t ORDER BY s DESC";
        assert_eq!(extract_sql(&format!("Answer with a CTE:\n{cte}")).unwrap(), cte);
        let quoted = "SELECT 'a;b' AS x FROM t";
        assert_eq!(extract_sql(&format!("{quoted}; done")).unwrap(), quoted);
    }

    #[test]
    fn unparseable_capitalised_sql_is_still_returned() {
        // dialect syntax the generic parser may not know is left to the SQL guard
        let text = "SELECT name FROM products WHERE name ~~* $$x$$";
        assert_eq!(extract_sql(text).unwrap(), text);
    }

    #[test]
    fn nothing_usable() {
        for text in ["", "I cannot answer that.", "```python\nprint(1)\n```", "{\"answer\": 42}"] {
            let e = extract_sql(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::LlmBadOutput, "{text}");
        }
    }
}
