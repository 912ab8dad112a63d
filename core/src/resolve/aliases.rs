//! Product aliases: the alias key, canonical name and every alias (underscores = spaces),
//! whole words, case-insensitive, with small typos tolerated for single long words.

use super::{Resolution, ResolvedKind};
use crate::context::Context;

/// Largest edit distance (Damerau) accepted between a question word and a one-word
/// alias of `len` letters: none under 5 letters, 1 for 5–8, 2 from 9.
fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Finds product aliases in the question; exact phrases (longest first) before typos.
pub(crate) fn resolve_products(question: &str, ctx: &Context, r: &mut Resolution) {
    let mut phrases: Vec<(usize, &Vec<String>)> =
        ctx.products.iter().enumerate().flat_map(|(i, p)| p.phrases.iter().map(move |ph| (i, ph))).collect();
    phrases.sort_by_key(|p| std::cmp::Reverse(p.1.len()));
    for (pi, phrase) in &phrases {
        // Single short common words ("x1", "pro") must still be whole words; stop words never match.
        if phrase.len() == 1 && super::text::is_stop_word(&phrase[0]) {
            continue;
        }
        for pos in r.find_phrase(phrase) {
            if r.free(pos, pos + phrase.len()) {
                take(question, ctx, r, *pi, (pos, pos + phrase.len()));
            }
        }
    }
    // Typos: one question word against one-word aliases.
    let schema_words: Vec<&String> =
        ctx.tables.iter().flat_map(|t| t.words.iter().chain(t.columns.iter().flat_map(|c| c.words.iter()))).collect();
    for i in 0..r.tokens.len() {
        if !r.free(i, i + 1) {
            continue;
        }
        let w = r.tokens[i].norm.clone();
        let lw = r.tokens[i].raw.to_lowercase();
        if !w.chars().all(char::is_alphabetic) || super::text::is_stop_word(&w) || schema_words.contains(&&w) {
            continue;
        }
        let mut best: Option<(usize, usize)> = None;
        for (pi, phrase) in &phrases {
            if phrase.len() != 1 {
                continue;
            }
            let a = &phrase[0];
            let budget = typo_budget(a.chars().count());
            let d = strsim::damerau_levenshtein(&lw, a).min(strsim::damerau_levenshtein(&w, a));
            if budget > 0 && d <= budget && best.is_none_or(|(_, bd)| d < bd) {
                best = Some((*pi, d));
            }
        }
        if let Some((pi, _)) = best {
            take(question, ctx, r, pi, (i, i + 1));
        }
    }
}

fn take(question: &str, ctx: &Context, r: &mut Resolution, pi: usize, span: (usize, usize)) {
    let p = &ctx.products[pi];
    let kind =
        ResolvedKind::Product { id: p.id.clone(), name: p.canonical_name.clone(), reference: p.reference.clone() };
    r.take(question, span, kind, &ctx.products_source);
}
