//! Finding table and column names in the free words of a question: singular/plural,
//! underscores as spaces, loose word matches (`citation number` → `citation_num`) and
//! partial names that leave out a generic last word (`city` → `city_name`,
//! `food` → `food_type`).

use crate::context::Context;
use crate::resolve::Resolution;
use crate::resolve::text::{is_stop_word, word_matches};

/// Last words of a column name that a question may leave out.
const GENERIC: &[&str] =
    &["name", "id", "num", "no", "number", "code", "type", "count", "amount", "value", "date", "at", "on", "qty"];

/// What a mention names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// A table.
    Table(usize),
    /// One of these columns `(table, column, exact)`, best first in schema order.
    Column(Vec<(usize, String, bool)>),
}

/// A table or column name found in the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mention {
    /// Token range `[first, last)`.
    pub span: (usize, usize),
    /// What it names.
    pub target: Target,
}

impl Mention {
    /// The table named, or the first candidate column's table.
    pub(crate) fn table(&self) -> usize {
        match &self.target {
            Target::Table(t) => *t,
            Target::Column(c) => c[0].0,
        }
    }
}

fn loose_eq(q: &[String], name: &[String]) -> bool {
    q.len() == name.len() && q.iter().zip(name).all(|(a, b)| word_matches(a, b))
}

/// Every mention among the tokens not consumed by resolution, left to right, longest
/// match first (up to four words); at equal length a table beats an exact column, which
/// beats a partial one.
pub(crate) fn find(ctx: &Context, r: &Resolution) -> Vec<Mention> {
    let mut out = Vec::new();
    let n = r.tokens.len();
    let mut i = 0;
    while i < n {
        if r.consumed[i] || is_stop_word(&r.tokens[i].norm) || r.tokens[i].number().is_some() {
            i += 1;
            continue;
        }
        let mut found = None;
        for len in (1..=4.min(n - i)).rev() {
            if !r.free(i, i + len) {
                continue;
            }
            let q: Vec<String> = r.tokens[i..i + len].iter().map(|t| t.norm.clone()).collect();
            if let Some(t) = ctx.tables.iter().position(|t| t.words == q) {
                found = Some(Mention { span: (i, i + len), target: Target::Table(t) });
                break;
            }
            let mut exact = Vec::new();
            let mut partial = Vec::new();
            for (ti, t) in ctx.tables.iter().enumerate() {
                for c in &t.columns {
                    if loose_eq(&q, &c.words) {
                        exact.push((ti, c.name.clone(), true));
                    } else if c.words.len() > q.len()
                        && loose_eq(&q, &c.words[..q.len()])
                        && c.words[q.len()..].iter().all(|w| GENERIC.contains(&w.as_str()))
                    {
                        partial.push((ti, c.name.clone(), false));
                    } else if len == 1 && c.words.len() > 1 && c.words[0] == t.words.last().cloned().unwrap_or_default()
                    {
                        // `published_year` style handled above; `book_title` → `title`
                        if loose_eq(&q, &c.words[1..]) {
                            partial.push((ti, c.name.clone(), false));
                        }
                    }
                }
            }
            if let Some(t) = ctx.tables.iter().position(|t| loose_eq(&q, &t.words)) {
                found = Some(Mention { span: (i, i + len), target: Target::Table(t) });
                break;
            }
            exact.extend(partial);
            if !exact.is_empty() {
                found = Some(Mention { span: (i, i + len), target: Target::Column(exact) });
                break;
            }
        }
        match found {
            Some(m) => {
                i = m.span.1;
                out.push(m);
            }
            None => i += 1,
        }
    }
    out
}
