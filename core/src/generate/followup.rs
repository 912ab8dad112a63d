//! Follow-up questions in a conversation for the offline engine: "now only for last
//! month", "and by category?", "what about techgadget?", "top 3 instead".
//!
//! The previous reading is rebuilt by re-reading the previous questions in order against
//! the current context (no database calls). A new question is a follow-up when it lacks
//! a measure and a subject table of its own (it only adds filters, dates, group keys or
//! an order/limit), or when it opens with a follow-up cue (`and`, `now`, `only`, `also`,
//! `but`, `just`, `same`, `what about`, `how about`) or says `instead`. Otherwise it
//! starts fresh. A follow-up keeps everything of the previous intent that it does not
//! replace: a new date range replaces the old one, a new value or product on the same
//! column replaces the old one, a new time bucket replaces the old one.

use super::Generated;
use super::build;
use super::intent::{Filter, GroupKey, Intent, Measure, OrderKey};
use super::offline::{self, Reading};
use crate::context::Context;
use crate::conversation::Conversation;
use crate::error::Result;
use crate::resolve::{self, Resolution, Resolved, ResolvedKind};
use crate::response::ResolvedEntity;
use crate::sql;
use crate::sql::dialect::string_literal;

/// SQL for a question asked in a conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InConversation {
    /// The SQL and explanation; the explanation starts with
    /// `Read as a follow-up of "<previous question>": ` for a follow-up.
    pub generated: Generated,
    /// Entities of previous questions still applied by the SQL (empty unless a follow-up),
    /// oldest first, without those the current question resolved again.
    pub carried: Vec<ResolvedEntity>,
    /// The previous question this one was read as a follow-up of, if it was.
    pub follow_up_of: Option<String>,
}

/// The conversation so far, as read.
#[derive(Debug, Clone)]
struct Thread {
    /// The intent of the latest question that could be read (refined by its follow-ups).
    intent: Intent,
    /// That question.
    question: String,
    /// The resolved spans the intent still applies, oldest first.
    items: Vec<Resolved>,
}

/// One question read on top of the thread.
struct Step {
    intent: Intent,
    generated: Generated,
    follow_up: bool,
}

/// Words of a question that mark it as a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cues {
    /// Opens with a follow-up word, or says `instead`.
    follow_up: bool,
    /// New group keys replace the old ones (`instead`, `same but …`) instead of adding.
    replace_groups: bool,
}

fn cues(r: &Resolution) -> Cues {
    let w = |i: usize| r.tokens.get(i).map(|t| t.norm.as_str()).unwrap_or("");
    let opening = matches!(w(0), "and" | "now" | "only" | "also" | "but" | "just" | "plus" | "same")
        || matches!((w(0), w(1)), ("what" | "how", "about"));
    let instead = r.tokens.iter().any(|t| matches!(t.norm.as_str(), "instead" | "rather"));
    Cues { follow_up: opening || instead, replace_groups: instead || w(0) == "same" }
}

/// Generates SQL for `question` in `conversation`; see [`super::generate_offline_in`].
pub(crate) fn generate(
    question: &str,
    ctx: &Context,
    resolution: &Resolution,
    conversation: &Conversation,
) -> Result<InConversation> {
    let thread = rebuild(ctx, &conversation.previous, resolution);
    let step = step(question, ctx, resolution, thread.as_ref())?;
    match thread.filter(|_| step.follow_up) {
        Some(thread) => {
            let current: Vec<ResolvedEntity> = resolution.entities();
            let mut carried: Vec<ResolvedEntity> = Vec::new();
            for item in carry(ctx, &thread.items, &resolution.items, &step.intent) {
                let e = item.entity();
                if !current.contains(&e) && !carried.contains(&e) {
                    carried.push(e);
                }
            }
            let generated = Generated {
                explanation: format!("Read as a follow-up of \"{}\": {}", thread.question, step.generated.explanation),
                sql: step.generated.sql,
            };
            Ok(InConversation { generated, carried, follow_up_of: Some(thread.question) })
        }
        None => Ok(InConversation { generated: step.generated, carried: Vec::new(), follow_up_of: None }),
    }
}

/// Re-reads the previous questions in order; questions that are SQL or cannot be read
/// are skipped. `None` when none could be read.
fn rebuild(ctx: &Context, previous: &[String], current: &Resolution) -> Option<Thread> {
    let mut thread: Option<Thread> = None;
    for q in previous {
        let q = q.trim();
        if q.is_empty() || sql::is_sql(q, ctx.dialect()) {
            continue;
        }
        let r = resolve::resolve(q, ctx, current.today);
        let Ok(step) = step(q, ctx, &r, thread.as_ref()) else {
            continue;
        };
        let mut items: Vec<Resolved> = match (&thread, step.follow_up) {
            (Some(t), true) => carry(ctx, &t.items, &r.items, &step.intent).cloned().collect(),
            _ => Vec::new(),
        };
        items.extend(r.items.iter().filter(|it| applies(ctx, it, &step.intent)).cloned());
        thread = Some(Thread { intent: step.intent, question: q.to_string(), items });
    }
    thread
}

/// Reads `q` on top of `thread`: fresh when it stands on its own (or there is no
/// thread), else as a refinement of the thread's intent. A refinement that cannot be
/// rendered falls back to the fresh reading.
fn step(q: &str, ctx: &Context, r: &Resolution, thread: Option<&Thread>) -> Result<Step> {
    let fresh = offline::read_with(q, ctx, r, None);
    let render_fresh = |reading: Reading| -> Result<Step> {
        let generated = build::render(ctx, &reading.intent)?;
        Ok(Step { intent: reading.intent, generated, follow_up: false })
    };
    let Some(thread) = thread else {
        return render_fresh(fresh?);
    };
    let cues = cues(r);
    match fresh {
        Ok(reading) if reading.standalone && !cues.follow_up => render_fresh(reading),
        fresh => {
            let refined = offline::read_with(q, ctx, r, Some(&thread.intent))
                .map(|reading| refine(&thread.intent, reading, cues))
                .and_then(|intent| {
                    let generated = build::render(ctx, &intent)?;
                    Ok(Step { intent, generated, follow_up: true })
                });
            match (refined, fresh) {
                (Ok(step), _) => Ok(step),
                (Err(_), Ok(reading)) => render_fresh(reading),
                (Err(e), Err(_)) => Err(e),
            }
        }
    }
}

/// Whether two filters constrain the same thing (so the newer replaces the older): both
/// date ranges, or both on the same column.
fn same_dimension(a: &Filter, b: &Filter) -> bool {
    fn column(f: &Filter) -> Option<(usize, &str)> {
        match f {
            Filter::Equals { table, column, .. }
            | Filter::Compare { table, column, .. }
            | Filter::Between { table, column, .. } => Some((*table, column.as_str())),
            Filter::Date(_) => None,
        }
    }
    match (a, b) {
        (Filter::Date(_), Filter::Date(_)) => true,
        _ => column(a).is_some_and(|c| column(b) == Some(c)),
    }
}

/// The previous intent refined by the follow-up's reading.
fn refine(prev: &Intent, reading: Reading, cues: Cues) -> Intent {
    let new = reading.intent;
    let mut out = prev.clone();
    // What is measured: a new measure replaces the old; a new subject table replaces the
    // counted or listed table.
    if new.measure.is_some() {
        out.measure = new.measure;
        out.base = new.base;
    } else if reading.standalone {
        match &prev.measure {
            Some(Measure::Count { .. }) => {
                out.measure = Some(Measure::Count { table: new.base });
                out.base = new.base;
            }
            None => {
                out.base = new.base;
                out.select = new.select.clone();
                out.order = None;
            }
            Some(_) => {}
        }
    }
    if !new.group_by.is_empty() {
        if cues.replace_groups {
            out.group_by.clear();
        }
        for key in new.group_by {
            if matches!(key, GroupKey::Bucket { .. }) {
                out.group_by.retain(|g| !matches!(g, GroupKey::Bucket { .. }));
            }
            if !out.group_by.contains(&key) {
                out.group_by.push(key);
            }
        }
    }
    for f in new.filters {
        out.filters.retain(|old| !same_dimension(old, &f));
        out.filters.push(f);
    }
    if !new.select.is_empty() && out.measure.is_none() {
        out.select = new.select;
    }
    if new.limit.is_some() {
        out.limit = new.limit;
    }
    match (new.order, reading.top) {
        (Some(order), _) => out.order = Some(order),
        (None, Some((_, desc))) if out.measure.is_some() => out.order = Some((OrderKey::Measure, desc)),
        (None, Some((_, desc))) => out.order = out.order.take().map(|(key, _)| (key, desc)),
        (None, None) => {}
    }
    out
}

/// The earlier resolved spans `old` that `intent` still applies and that the new
/// question's spans `new` did not replace (a new business term replaces an old one even
/// when both name the same expression).
fn carry<'a>(
    ctx: &'a Context,
    old: &'a [Resolved],
    new: &'a [Resolved],
    intent: &'a Intent,
) -> impl Iterator<Item = &'a Resolved> + 'a {
    let new_term = new.iter().any(|it| matches!(it.kind, ResolvedKind::Term { .. }));
    old.iter().filter(move |it| !(new_term && matches!(it.kind, ResolvedKind::Term { .. })) && applies(ctx, it, intent))
}

/// Whether the resolved span `item` is still applied by `intent` (its date range, value
/// or product filter, or its business-term measure).
fn applies(ctx: &Context, item: &Resolved, intent: &Intent) -> bool {
    let has_literal = |lit: &str| {
        intent.filters.iter().any(|f| matches!(f, Filter::Equals { literal, .. } if literal.as_str() == lit))
    };
    match &item.kind {
        ResolvedKind::Date(d) => intent.filters.iter().any(|f| matches!(f, Filter::Date(x) if x == d)),
        ResolvedKind::Product { id, .. } => has_literal(&offline::product_literal(ctx, id)),
        ResolvedKind::Value { value, .. } => has_literal(&string_literal(ctx.dialect(), value)),
        ResolvedKind::Term { expr, .. } => {
            matches!(&intent.measure, Some(Measure::Expr { sql, .. }) if sql == expr)
        }
    }
}
