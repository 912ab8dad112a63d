//! Property tests for the statement guard: arbitrary input never panics, and statements
//! built from SQL fragments are accepted only when they are single read-only queries.
//! The case count is fixed so the run is bounded in CI.

use proptest::prelude::*;
use talk2tables_common::Dialect;
use talk2tables_common::guard::check_query;

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgresql, Dialect::Mysql];

/// Fragments attackers combine: keywords, quotes, comments, separators, dangerous calls.
const FRAGMENTS: &[&str] = &[
    "SELECT ",
    "* ",
    "FROM ",
    "orders ",
    "WHERE ",
    "1 ",
    "= ",
    "; ",
    "'",
    "\"",
    "`",
    "--",
    "\n",
    "/*",
    "*/",
    "/*!",
    "/*+",
    "$$",
    "\\",
    "DELETE ",
    "INSERT INTO ",
    "UPDATE ",
    "SET ",
    "DROP TABLE ",
    "WITH ",
    "x AS ",
    "( ",
    ") ",
    "RETURNING * ",
    "INTO ",
    "OUTFILE ",
    "'/tmp/x' ",
    "FOR UPDATE ",
    "UNION ",
    "pg_sleep(1) ",
    "sleep(1) ",
    "load_extension('x') ",
    "@v := 1 ",
    "ATTACH ",
    "PRAGMA ",
    "COPY ",
    "BEGIN ",
    "COMMIT ",
    ", ",
    "E'\\'' ",
    "LIMIT 5 ",
    "GROUP BY 1 ",
    "count(*) ",
    "VALUES ",
    "ORDER BY ",
    "CALL ",
    "LOCK ",
    "EXPLAIN ",
];

fn fragment_sql() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(FRAGMENTS), 1..14).prop_map(|v| v.concat())
}

/// Calls that must never survive the guard (lower case, with the opening parenthesis).
/// A name matches only as a whole identifier: MySQL's `sleep(` is not found inside
/// `pg_sleep(` (no such function on MySQL; the guard rightly lets it through to fail).
fn denied_call(rendered: &str, dialect: Dialect) -> bool {
    let lower = rendered.to_lowercase();
    let common = ["load_extension(", ":="];
    let specific: &[&str] = match dialect {
        Dialect::Postgresql => &["pg_sleep("],
        Dialect::Mysql => &["sleep("],
        Dialect::Sqlite => &[],
    };
    let whole = |k: &str| {
        lower.match_indices(k).any(|(i, _)| {
            let before = lower[..i].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
    };
    common.iter().chain(specific).any(|k| whole(k))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(sql in "\\PC{0,200}") {
        for d in DIALECTS {
            let _ = check_query(&sql, d);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let sql = String::from_utf8_lossy(&bytes);
        for d in DIALECTS {
            let _ = check_query(&sql, d);
        }
    }

    #[test]
    fn accepted_fragment_mixes_are_single_read_only_queries(sql in fragment_sql()) {
        for d in DIALECTS {
            if let Ok(query) = check_query(&sql, d) {
                let rendered = query.to_string();
                // The accepted tree, printed and checked again, is still one read-only query.
                prop_assert!(check_query(&rendered, d).is_ok(), "{d}: {sql:?} accepted, rendering {rendered} refused");
                if !rendered.contains('\'') && !rendered.contains('"') && !rendered.contains('`') {
                    prop_assert!(!denied_call(&rendered, d), "{d}: accepted {sql:?} as {rendered}");
                }
            }
        }
    }
}
