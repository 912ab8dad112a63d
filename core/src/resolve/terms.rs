//! Business terms from the column mappings ("sales", "average order value"), matched as
//! whole words/phrases, longest first.

use super::{Resolution, ResolvedKind};
use crate::context::Context;

/// Finds business terms in the question (the context keeps them longest first).
pub(crate) fn resolve_terms(question: &str, ctx: &Context, r: &mut Resolution) {
    for t in &ctx.terms {
        for pos in r.find_phrase(&t.words) {
            if r.free(pos, pos + t.words.len()) {
                let kind = ResolvedKind::Term {
                    phrase: t.phrase.clone(),
                    expr: t.expr.clone(),
                    tables: t.tables.clone(),
                    aggregate: t.aggregate,
                };
                r.take(question, (pos, pos + t.words.len()), kind, &ctx.terms_source);
            }
        }
    }
}
