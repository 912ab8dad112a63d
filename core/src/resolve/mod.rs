//! Entity resolution: finds the words of a question that name products (aliases), business
//! terms (column mappings), date ranges and stored column values, and records which
//! tokens each consumed so the generator does not read them again as table or column
//! names.

pub(crate) mod aliases;
pub(crate) mod dates;
pub(crate) mod terms;
pub(crate) mod text;
pub(crate) mod values;

use chrono::NaiveDate;

use crate::context::Context;
use crate::response::ResolvedEntity;
use crate::sql::dialect::Bound;
pub(crate) use text::Token;

/// A date range `[start, end)` found in the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateRange {
    /// Inclusive start, as a dialect-independent bound.
    pub start: Bound,
    /// Exclusive end.
    pub end: Bound,
    /// `start` evaluated on the resolution day.
    pub start_date: Option<NaiveDate>,
    /// `end` evaluated on the resolution day.
    pub end_date: Option<NaiveDate>,
    /// For "in 2025": the year, so an integer `year` column can be compared directly.
    pub year: Option<i32>,
}

/// What a span of the question resolved to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResolvedKind {
    /// A product alias: filter `table.column = id` (or the fact table's FK to it).
    Product { id: String, name: String, reference: Option<(usize, String)> },
    /// A business term: an SQL expression over the tables listed.
    Term { phrase: String, expr: String, tables: Vec<usize>, aggregate: bool },
    /// A date range; the column is chosen by the generator.
    Date(DateRange),
    /// A stored value: `table.column = value`. `alternatives` are other columns holding
    /// the same value (the first pair is the preferred one).
    Value { columns: Vec<(usize, String)>, value: String, display: String },
}

/// One resolved span of the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    /// Token range `[first, last)` consumed.
    pub span: (usize, usize),
    /// The words as written by the user.
    pub original: String,
    /// What they mean.
    pub kind: ResolvedKind,
    /// `server_id` whose data made the resolution, or `core`.
    pub source: String,
}

impl Resolved {
    /// This span as reported in `ChatResponse.data.resolved_entities` (see
    /// [`Resolution::entities`]).
    pub(crate) fn entity(&self) -> ResolvedEntity {
        let (resolved_value, entity_type) = match &self.kind {
            ResolvedKind::Product { id, .. } => (id.clone(), "product"),
            ResolvedKind::Term { expr, .. } => (expr.clone(), "business_term"),
            ResolvedKind::Date(d) => {
                let show = |x: Option<NaiveDate>| x.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
                (format!("{}..{}", show(d.start_date), show(d.end_date)), "date_range")
            }
            ResolvedKind::Value { display, .. } => (display.clone(), "value"),
        };
        ResolvedEntity {
            original_term: self.original.clone(),
            resolved_value,
            entity_type: entity_type.to_string(),
            source: self.source.clone(),
        }
    }
}

/// Everything resolution found in one question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolution {
    /// The question's tokens.
    pub tokens: Vec<Token>,
    /// Per token: whether a resolution consumed it.
    pub consumed: Vec<bool>,
    /// Resolved spans in question order.
    pub items: Vec<Resolved>,
    /// The day the resolution was made for (UTC).
    pub today: NaiveDate,
}

impl Resolution {
    /// The resolved entities as reported in `ChatResponse.data.resolved_entities`:
    /// products → id, business terms → SQL expression, dates → `start..end` ISO dates,
    /// values → `table.column = 'Value'`.
    pub(crate) fn entities(&self) -> Vec<ResolvedEntity> {
        self.items.iter().map(Resolved::entity).collect()
    }

    /// The text of tokens `[a, b)` as written in `question`.
    pub(crate) fn span_text(&self, question: &str, a: usize, b: usize) -> String {
        match (self.tokens.get(a), b.checked_sub(1).and_then(|l| self.tokens.get(l))) {
            (Some(s), Some(e)) if a < b => question.get(s.start..e.end).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }

    pub(crate) fn free(&self, a: usize, b: usize) -> bool {
        b <= self.consumed.len() && self.consumed[a..b].iter().all(|c| !c)
    }

    pub(crate) fn take(&mut self, question: &str, span: (usize, usize), kind: ResolvedKind, source: &str) {
        let original = self.span_text(question, span.0, span.1);
        for c in &mut self.consumed[span.0..span.1] {
            *c = true;
        }
        self.items.push(Resolved { span, original, kind, source: source.to_string() });
    }

    /// Free positions where the normalised word sequence `phrase` occurs.
    pub(crate) fn find_phrase(&self, phrase: &[String]) -> Vec<usize> {
        let n = phrase.len();
        if n == 0 || n > self.tokens.len() {
            return vec![];
        }
        (0..=self.tokens.len() - n)
            .filter(|&i| self.free(i, i + n) && self.tokens[i..i + n].iter().zip(phrase).all(|(t, w)| &t.norm == w))
            .collect()
    }
}

/// Resolves every entity of `question` against `ctx`, with dates computed for `today`
/// (UTC). Order: date phrases, product aliases, business terms (longest first), stored
/// values (longest first); a token is consumed at most once.
pub(crate) fn resolve(question: &str, ctx: &Context, today: NaiveDate) -> Resolution {
    let tokens = text::tokenize(question);
    let mut r = Resolution { consumed: vec![false; tokens.len()], tokens, items: vec![], today };
    dates::resolve_dates(question, &mut r);
    aliases::resolve_products(question, ctx, &mut r);
    terms::resolve_terms(question, ctx, &mut r);
    values::resolve_values(question, ctx, &mut r);
    r.items.sort_by_key(|i| i.span.0);
    r
}
