//! Stored values of low-cardinality text columns ("Electronics", "cancelled",
//! "San Francisco"): whole words, case-insensitive, singular/plural tolerant, longest first.

use super::{Resolution, ResolvedKind};
use crate::context::Context;

/// Finds stored values in the question. When the same value is stored in several
/// columns, the column of a table named in the question comes first, then declaration
/// order. A span that is exactly a table's name is left for the generator.
pub(crate) fn resolve_values(question: &str, ctx: &Context, r: &mut Resolution) {
    let mut entries: Vec<&crate::context::ValueEntry> = ctx.values.iter().collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.words.len()));
    let mentioned = |ti: usize, r: &Resolution| {
        let w = &ctx.tables[ti].words;
        !w.is_empty() && !r.find_phrase(w).is_empty()
    };
    let mut i = 0;
    while i < entries.len() {
        let e = entries[i];
        i += 1;
        if e.words.len() == 1 && (super::text::is_stop_word(&e.words[0]) || e.words[0].chars().count() < 2) {
            continue;
        }
        if ctx.tables.iter().any(|t| t.words == e.words) {
            continue;
        }
        for pos in r.find_phrase(&e.words) {
            let span = (pos, pos + e.words.len());
            if !r.free(span.0, span.1) {
                continue;
            }
            let mut columns: Vec<(usize, String, String)> = ctx
                .values
                .iter()
                .filter(|v| v.words == e.words)
                .map(|v| (v.table, v.column.clone(), v.value.clone()))
                .collect();
            columns.sort_by_key(|(t, _, _)| (!mentioned(*t, r), *t));
            columns.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
            let value = columns[0].2.clone();
            let lit = crate::sql::dialect::string_literal(ctx.dialect(), &value);
            let display = format!("{}.{} = {lit}", ctx.tables[columns[0].0].name, columns[0].1);
            let columns = columns.into_iter().map(|(t, c, _)| (t, c)).collect();
            let kind = ResolvedKind::Value { columns, value, display };
            r.take(question, span, kind, &ctx.schema_source);
        }
    }
}
