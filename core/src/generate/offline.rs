//! The offline engine: reads a question into an [`Intent`] using the schema graph, the
//! resolved entities and a small vocabulary of keywords, then renders it with
//! [`super::build`]. Works on any database, with or without metadata.

use std::collections::BTreeSet;

use super::Generated;
use super::intent::{Agg, Filter, GroupKey, Intent, Measure, OrderKey};
use super::mentions::{self, Mention, Target};
use crate::context::{ColumnKind, Context};
use crate::error::{Error, ErrorKind, Result};
use crate::resolve::text::{is_stop_word, snake};
use crate::resolve::{Resolution, ResolvedKind};
use crate::sql::dialect::{Unit, string_literal};

/// Words that are part of the question's grammar, never the name of a thing.
fn is_keyword(w: &str) -> bool {
    is_stop_word(w)
        || matches!(
            w,
            "day"
                | "week"
                | "month"
                | "quarter"
                | "year"
                | "rated"
                | "ranked"
                | "sorted"
                | "ordered"
                | "least"
                | "exist"
                | "registered"
                | "stored"
                | "available"
                | "currently"
                | "located"
                | "table"
                | "database"
        )
}

fn agg_word(w: &str) -> Option<Agg> {
    Some(match w {
        "total" | "sum" => Agg::Sum,
        "average" | "avg" | "mean" => Agg::Avg,
        "max" | "maximum" | "highest" | "largest" | "biggest" => Agg::Max,
        "min" | "minimum" | "lowest" | "smallest" => Agg::Min,
        _ => return None,
    })
}

fn unit_word(w: &str) -> Option<Unit> {
    Some(match w {
        "day" | "daily" => Unit::Day,
        "week" | "weekly" => Unit::Week,
        "month" | "monthly" => Unit::Month,
        "quarter" | "quarterly" => Unit::Quarter,
        "year" | "yearly" | "annual" => Unit::Year,
        _ => return None,
    })
}

/// Reads the question and renders SQL; see [`super::generate_offline`].
pub(crate) fn generate(question: &str, ctx: &Context, r: &Resolution) -> Result<Generated> {
    let intent = read(question, ctx, r)?;
    super::build::render(ctx, &intent)
}

struct Reader<'a> {
    ctx: &'a Context,
    r: &'a Resolution,
    mentions: Vec<Mention>,
    /// Per token: used by a role (resolution or reading).
    used: Vec<bool>,
}

impl Reader<'_> {
    fn norm(&self, i: usize) -> &str {
        self.r.tokens.get(i).map(|t| t.norm.as_str()).unwrap_or("")
    }

    fn mention_at(&self, i: usize) -> Option<usize> {
        self.mentions.iter().position(|m| m.span.0 == i)
    }

    /// Index of the first mention starting at or after token `i`, skipping only stop
    /// words and consumed tokens in between; `Err(word)` when an unknown content word
    /// comes first.
    fn next_mention(&self, mut i: usize) -> std::result::Result<Option<usize>, String> {
        while i < self.r.tokens.len() {
            if let Some(m) = self.mention_at(i) {
                return Ok(Some(m));
            }
            let w = self.norm(i);
            if !(self.r.consumed[i]
                || is_keyword(w)
                || self.r.tokens[i].number().is_some()
                || self.r.tokens[i].is_symbol())
            {
                return Err(self.r.tokens[i].raw.clone());
            }
            i += 1;
        }
        Ok(None)
    }

    /// A resolved business term starting at token `i` (after stop words).
    fn term_at(&self, mut i: usize) -> Option<&crate::resolve::Resolved> {
        while i < self.r.tokens.len() && is_stop_word(self.norm(i)) && !self.r.consumed[i] {
            i += 1;
        }
        self.r.items.iter().find(|it| it.span.0 == i && matches!(it.kind, ResolvedKind::Term { .. }))
    }

    /// The best column of a mention, preferring the tables in `prefer` (in order), then
    /// numeric columns when `numeric`, then exact names.
    fn pick_column(&self, m: &Mention, prefer: &[usize], numeric: bool) -> Option<(usize, String)> {
        let Target::Column(c) = &m.target else {
            return None;
        };
        let rank = |(t, col, exact): &(usize, String, bool)| {
            let p = prefer.iter().position(|x| x == t).unwrap_or(usize::MAX);
            let kind = self.ctx.tables[*t].column(col).map(|c| c.kind);
            let num_ok = !numeric || kind.is_some_and(|k| k.is_numeric());
            (!num_ok, p, !exact, *t)
        };
        c.iter().min_by_key(|x| rank(x)).map(|(t, col, _)| (*t, col.clone()))
    }
}

fn unanswerable(what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unanswerable, what.into())
}

fn term_measure(kind: &ResolvedKind, agg: Option<Agg>) -> Option<Measure> {
    let ResolvedKind::Term { phrase, expr, tables, aggregate } = kind else {
        return None;
    };
    let agg = if *aggregate { None } else { Some(agg.unwrap_or(Agg::Sum)) };
    let upper = expr.to_uppercase();
    let mut alias = snake(phrase);
    let summing = agg == Some(Agg::Sum) || (agg.is_none() && upper.starts_with("SUM("));
    if let Some(a) = agg.filter(|a| *a != Agg::Sum) {
        alias = format!("{}_{alias}", a.word());
    } else if summing && !alias.starts_with("total") {
        alias = format!("total_{alias}");
    }
    Some(Measure::Expr { sql: expr.clone(), alias, tables: tables.clone(), agg })
}

/// The reading of one question, with what a conversation needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    /// The intent read. Without a measure or table of its own, its `base` is the previous
    /// intent's (when one was given) or the table of a stored value it names.
    pub intent: Intent,
    /// Whether the question names its own measure or subject table, i.e. stands on its own.
    pub standalone: bool,
    /// "top N" / "bottom N": `(N, descending)`.
    pub top: Option<(u64, bool)>,
}

/// The reading itself.
pub(crate) fn read(question: &str, ctx: &Context, r: &Resolution) -> Result<Intent> {
    read_with(question, ctx, r, None).map(|reading| reading.intent)
}

/// The literal a product id is compared with: the number as is, else a string literal.
pub(crate) fn product_literal(ctx: &Context, id: &str) -> String {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
        id.to_string()
    } else {
        string_literal(ctx.dialect(), id)
    }
}

/// Tables an intent touches: base, measure, group keys and filter columns.
pub(crate) fn intent_tables(intent: &Intent) -> Vec<usize> {
    let mut out = vec![intent.base];
    match &intent.measure {
        Some(Measure::Count { table }) | Some(Measure::Column { table, .. }) => out.push(*table),
        Some(Measure::Expr { tables, .. }) => out.extend(tables.iter().copied()),
        None => {}
    }
    for g in &intent.group_by {
        match g {
            GroupKey::Column { table, .. } | GroupKey::Entity { table } => out.push(*table),
            GroupKey::Bucket { column: Some((t, _)), .. } => out.push(*t),
            GroupKey::Bucket { column: None, .. } => {}
        }
    }
    for f in &intent.filters {
        if let Filter::Equals { table, .. } | Filter::Compare { table, .. } | Filter::Between { table, .. } = f {
            out.push(*table);
        }
    }
    out
}

/// Reads `question`; with `prev` (the intent of the conversation so far), a question
/// without a measure or table of its own is read against the previous intent's tables
/// instead of failing.
///
/// Errors: `UNANSWERABLE` as [`read`].
pub(crate) fn read_with(question: &str, ctx: &Context, r: &Resolution, prev: Option<&Intent>) -> Result<Reading> {
    let mentions = mentions::find(ctx, r);
    let mut rd = Reader { ctx, r, used: r.consumed.clone(), mentions };
    let n = r.tokens.len();
    let mut intent = Intent::default();
    let mut measure: Option<Measure> = None;
    let mut subject: Option<usize> = None;
    let mut order_by_measure = false;
    let mut top: Option<(u64, bool)> = None; // (N, desc)
    let mut order_col: Option<(usize, String)> = None;
    let mut used_mentions: BTreeSet<usize> = BTreeSet::new();
    let mut group_spans: Vec<(usize, GroupKey)> = Vec::new();

    // 1. top-N / superlatives.
    for i in 0..n {
        let w = rd.norm(i).to_string();
        let num_after = r.tokens.get(i + 1).and_then(|t| t.number()).filter(|x| *x >= 1.0 && x.fract() == 0.0);
        if matches!(w.as_str(), "top" | "best" | "first" | "highest" | "bottom" | "worst" | "lowest")
            && num_after.is_some()
        {
            top = Some((num_after.unwrap_or(10.0) as u64, !matches!(w.as_str(), "bottom" | "worst" | "lowest")));
            rd.used[i] = true;
            rd.used[i + 1] = true;
        } else if matches!(w.as_str(), "top" | "bottom") && top.is_none() {
            top = Some((10, w == "top"));
            rd.used[i] = true;
        }
        if (w == "most" || w == "least") && rd.norm(i + 1) == "expensive" || w == "cheapest" || w == "priciest" {
            let desc = w == "most" || w == "priciest";
            let count = r.tokens.get(i.wrapping_sub(1)).and_then(|t| t.number()).map(|x| x as u64);
            let singular_subject = rd
                .mentions
                .iter()
                .find(|m| m.span.0 > i)
                .is_some_and(|m| r.tokens[m.span.1 - 1].raw.to_lowercase() == r.tokens[m.span.1 - 1].norm);
            top = Some((count.or(top.map(|t| t.0)).unwrap_or(if singular_subject { 1 } else { 10 }), desc));
            // The price-like column of the next table mentioned.
            let table = rd.mentions.iter().find(|m| m.span.0 > i).map(|m| m.table());
            if let Some(t) = table {
                let info = &ctx.tables[t];
                let col = ["price", "cost", "unit_price", "amount", "total_amount"]
                    .iter()
                    .find_map(|p| info.column(p))
                    .or_else(|| info.columns.iter().find(|c| c.words.iter().any(|w| w == "price" || w == "cost")));
                if let Some(c) = col {
                    order_col = Some((t, c.name.clone()));
                }
            }
            rd.used[i] = true;
            if w == "most" || w == "least" {
                rd.used[i + 1] = true;
            }
        }
    }

    // 2. "by"/"per"/"each" phrases: ordering after top-N, grouping otherwise.
    let mut i = 0;
    while i < n {
        let w = rd.norm(i).to_string();
        let grouping_word = w == "per" || w == "each" || w == "by" || (w == "every" && i + 1 < n);
        if !grouping_word || rd.used[i] {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < n && matches!(rd.norm(j), "the" | "each" | "every" | "a") {
            j += 1;
        }
        if w == "by" && top.is_some() && measure.is_none() && order_col.is_none() {
            // "top 5 products by revenue" / "by rating" / "by number of orders"
            if let Some(t) = rd.term_at(j).cloned() {
                measure = term_measure(&t.kind, None);
                order_by_measure = true;
                rd.used[i] = true;
                i = t.span.1;
                continue;
            }
            if matches!(rd.norm(j), "number" | "count") {
                let k = if rd.norm(j + 1) == "of" { j + 2 } else { j + 1 };
                if let Ok(Some(m)) = rd.next_mention(k) {
                    measure = Some(Measure::Count { table: rd.mentions[m].table() });
                    used_mentions.insert(m);
                    order_by_measure = true;
                    rd.used[i] = true;
                    i = rd.mentions[m].span.1;
                    continue;
                }
            }
            let agg = agg_word(rd.norm(j));
            let k = if agg.is_some() { j + 1 } else { j };
            if let Some(m) = rd.mention_at(k) {
                let prefer: Vec<usize> = rd.mentions.iter().take_while(|x| x.span.0 < i).map(|x| x.table()).collect();
                if let Some(col) = rd.pick_column(&rd.mentions[m], &prefer, true) {
                    used_mentions.insert(m);
                    rd.used[i] = true;
                    let entity = prefer.first().copied();
                    if agg.is_none() && entity == Some(col.0) {
                        order_col = Some(col);
                    } else {
                        measure = Some(Measure::Column { agg: agg.unwrap_or(Agg::Sum), table: col.0, column: col.1 });
                        order_by_measure = true;
                    }
                    i = rd.mentions[m].span.1;
                    continue;
                }
            }
        }
        if w == "by" && top.is_some() && measure.is_none() && order_col.is_none() && unit_word(rd.norm(j)).is_none() {
            // "top 5 products by <something the schema and metadata don't know>"
            return Err(Error::new(
                ErrorKind::Unanswerable,
                format!("could not find \"{}\" in the database to rank by", rd.norm(j)),
            ));
        }
        if let Some(u) = unit_word(rd.norm(j)) {
            rd.used[i] = true;
            rd.used[j] = true;
            // An integer column with the unit's name (`year`) is grouped as is.
            let named = rd.mention_at(j).and_then(|m| {
                let Target::Column(c) = &rd.mentions[m].target else {
                    return None;
                };
                c.iter()
                    .find(|(t, col, _)| ctx.tables[*t].column(col).is_some_and(|k| k.kind != ColumnKind::Date))
                    .cloned()
            });
            match named {
                Some((t, col, _)) => {
                    if let Some(m) = rd.mention_at(j) {
                        used_mentions.insert(m);
                    }
                    group_spans.push((j, GroupKey::Column { table: t, column: col }));
                }
                None => group_spans.push((j, GroupKey::Bucket { unit: u, column: None })),
            }
            i = j + 1;
            continue;
        }
        if let Some(m) = rd.mention_at(j) {
            rd.used[i] = true;
            used_mentions.insert(m);
            let key = match &rd.mentions[m].target {
                Target::Table(t) => GroupKey::Entity { table: *t },
                Target::Column(_) => {
                    let prefer: Vec<usize> = rd.mentions.iter().filter(|x| x.span.0 != j).map(|x| x.table()).collect();
                    let (t, c) = rd.pick_column(&rd.mentions[m], &prefer, false).unwrap_or_default();
                    GroupKey::Column { table: t, column: c }
                }
            };
            group_spans.push((j, key));
            i = rd.mentions[m].span.1;
            continue;
        }
        i += 1;
    }

    // 3. measures: count / aggregate keywords and business terms.
    let mut i = 0;
    while i < n && measure.is_none() {
        let w = rd.norm(i).to_string();
        let count_kw =
            (w == "how" && rd.norm(i + 1) == "many") || (w == "number" && rd.norm(i + 1) == "of") || w == "count";
        if count_kw && !rd.used[i] {
            let k = if w == "count" { i + 1 } else { i + 2 };
            match rd.next_mention(k) {
                Ok(Some(m)) => {
                    let t = rd.mentions[m].table();
                    used_mentions.insert(m);
                    measure = Some(Measure::Count { table: t });
                    subject.get_or_insert(t);
                }
                Ok(None) => {}
                Err(word) => {
                    return Err(unanswerable(format!("could not find \"{word}\" in the database")));
                }
            }
            i = k;
            continue;
        }
        if let Some(agg) = agg_word(&w).filter(|_| !rd.used[i]) {
            if let Some(t) = rd.term_at(i + 1).cloned() {
                measure = term_measure(&t.kind, Some(agg));
                break;
            }
            match rd.next_mention(i + 1) {
                Ok(Some(m)) => {
                    let prefer: Vec<usize> = rd.mentions.iter().filter(|x| x.span.0 > i).map(|x| x.table()).collect();
                    if let Some((t, c)) = rd.pick_column(&rd.mentions[m], &prefer, true) {
                        used_mentions.insert(m);
                        measure = Some(Measure::Column { agg, table: t, column: c });
                    }
                }
                Ok(None) => {}
                Err(word) => {
                    return Err(unanswerable(format!("could not find \"{word}\" in the database")));
                }
            }
        }
        i += 1;
    }
    if measure.is_none()
        && let Some(t) = r.items.iter().find(|it| matches!(it.kind, ResolvedKind::Term { .. }))
    {
        measure = term_measure(&t.kind, None);
    }

    // 4. the subject: the table the question is about.
    if subject.is_none() {
        subject = rd
            .mentions
            .iter()
            .enumerate()
            .find(|(k, m)| !used_mentions.contains(k) && matches!(m.target, Target::Table(_)))
            .map(|(_, m)| m.table());
    }
    if subject.is_none() && measure.is_none() {
        subject = rd.mentions.iter().enumerate().find(|(k, _)| !used_mentions.contains(k)).map(|(_, m)| m.table());
    }
    let value_table = r.items.iter().find_map(|it| match &it.kind {
        ResolvedKind::Value { columns, .. } => Some(columns[0].0),
        _ => None,
    });
    let base = match &measure {
        Some(Measure::Count { table }) | Some(Measure::Column { table, .. }) => *table,
        Some(Measure::Expr { tables, .. }) => tables[0],
        None => match subject.or(prev.map(|p| p.base)).or(value_table) {
            Some(t) => t,
            None => {
                let unknown: Vec<String> = (0..n)
                    .filter(|&k| {
                        !rd.used[k]
                            && !is_keyword(rd.norm(k))
                            && r.tokens[k].number().is_none()
                            && !r.tokens[k].is_symbol()
                    })
                    .map(|k| r.tokens[k].raw.clone())
                    .collect();
                let what = if unknown.is_empty() { question.trim().to_string() } else { unknown.join(", ") };
                return Err(unanswerable(format!("no table or measure in the database matches: {what}")));
            }
        },
    };
    intent.base = base;

    // Group keys that name the counted/listed table itself are a listing, not a grouping.
    for (_, key) in group_spans {
        intent.group_by.push(key);
    }
    if let (Some((n, desc)), None) = (top, &measure) {
        // top N <entity> by <column>, or N most expensive <entity>
        intent.limit = Some(n);
        let entity = subject.unwrap_or(base);
        intent.base = entity;
        if let Some(col) = order_col.clone() {
            intent.select.push(col.clone());
            intent.order = Some((OrderKey::Column { table: col.0, column: col.1 }, desc));
        }
    } else if let Some((n, desc)) = top {
        intent.limit = Some(n);
        if let Some(entity) = subject.filter(|s| Some(*s) != measure_table(&measure)) {
            intent.group_by.insert(0, GroupKey::Entity { table: entity });
        }
        if let Some(col) = order_col.clone() {
            intent.order = Some((OrderKey::Column { table: col.0, column: col.1 }, desc));
        } else if order_by_measure || measure.is_some() {
            intent.order = Some((OrderKey::Measure, desc));
        }
    }
    // "how many authors per organization": the count's own table grouped elsewhere.
    if let Some(Measure::Count { table }) = &measure
        && intent.group_by.iter().any(|g| matches!(g, GroupKey::Entity { table: t } if t == table))
    {
        intent.group_by.retain(|g| !matches!(g, GroupKey::Entity { table: t } if t == table));
    }
    let standalone = measure.is_some() || subject.is_some();
    intent.measure = measure;

    // 5. filters from resolved entities.
    let mut needed: Vec<usize> = vec![intent.base];
    if let Some(Measure::Expr { tables, .. }) = &intent.measure {
        needed.extend(tables.iter().copied());
    }
    for g in &intent.group_by {
        if let GroupKey::Column { table, .. } | GroupKey::Entity { table } = g {
            needed.push(*table);
        }
    }
    if let Some(p) = prev {
        needed.extend(intent_tables(p));
    }
    for it in &r.items {
        match &it.kind {
            ResolvedKind::Product { id, reference, .. } => {
                let literal = product_literal(ctx, id);
                let Some((rt, rc)) = reference.clone().or_else(|| product_reference(ctx)) else {
                    return Err(unanswerable(format!("no column holds the id of product \"{}\"", it.original)));
                };
                // Use the fact table's foreign key to the referenced id when one exists.
                let fk = needed.iter().find_map(|&t| {
                    ctx.edges
                        .iter()
                        .find(|e| e.a == t && e.b == rt && e.b_col.eq_ignore_ascii_case(&rc))
                        .map(|e| (t, e.a_col.clone()))
                });
                let (t, c) = fk.unwrap_or((rt, rc));
                needed.push(t);
                intent.filters.push(Filter::Equals { table: t, column: c, literal });
            }
            ResolvedKind::Value { columns, value, .. } => {
                let (t, c) = columns.iter().find(|(t, _)| needed.contains(t)).unwrap_or(&columns[0]).clone();
                needed.push(t);
                intent.filters.push(Filter::Equals {
                    table: t,
                    column: c,
                    literal: string_literal(ctx.dialect(), value),
                });
            }
            ResolvedKind::Date(d) => intent.filters.push(Filter::Date(d.clone())),
            ResolvedKind::Term { .. } => {}
        }
    }

    // 6. numeric comparisons: "rating above 4", "price between 10 and 20".
    let mut i = 0;
    while i < n {
        let w = rd.norm(i).to_string();
        let next = rd.norm(i + 1).to_string();
        let (op, width) = match (w.as_str(), next.as_str()) {
            ("more" | "greater" | "higher", "than") | ("at", "least") => (if w == "at" { ">=" } else { ">" }, 2),
            ("less" | "fewer" | "lower", "than") | ("at", "most") => (if w == "at" { "<=" } else { "<" }, 2),
            ("over" | "above" | "exceeding", _) => (">", 1),
            ("under" | "below", _) => ("<", 1),
            ("equal", "to") => ("=", 2),
            ("between", _) => ("between", 1),
            (s, _) if r.tokens[i].is_symbol() && matches!(s, ">" | "<" | ">=" | "<=" | "=" | "!=" | "<>") => (
                match s {
                    ">" => ">",
                    "<" => "<",
                    ">=" => ">=",
                    "<=" => "<=",
                    "=" => "=",
                    _ => "<>",
                },
                1,
            ),
            _ => {
                i += 1;
                continue;
            }
        };
        if r.consumed[i] {
            i += 1;
            continue;
        }
        let Some(v) = r.tokens.get(i + width).and_then(|t| t.number()) else {
            i += 1;
            continue;
        };
        // The nearest column named before the comparison, else a price-like column.
        let prefer = needed.clone();
        let col = rd
            .mentions
            .iter()
            .rev()
            .filter(|m| m.span.1 <= i)
            .find_map(|m| {
                rd.pick_column(m, &prefer, true)
                    .filter(|(t, c)| ctx.tables[*t].column(c).is_some_and(|k| k.kind.is_numeric()))
            })
            .or_else(|| order_col.clone());
        let Some((t, c)) = col else {
            i += width + 1;
            continue;
        };
        needed.push(t);
        let num = r.tokens[i + width].raw.clone();
        if op == "between"
            && rd.norm(i + 2) == "and"
            && let Some(hi) = r.tokens.get(i + 3).filter(|t| t.number().is_some())
        {
            intent.filters.push(Filter::Between { table: t, column: c, low: num, high: hi.raw.clone() });
            i += 4;
            continue;
        }
        if op != "between" {
            let _ = v;
            intent.filters.push(Filter::Compare { table: t, column: c, op, value: num });
        }
        i += width + 1;
    }
    Ok(Reading { intent, standalone, top })
}

fn measure_table(m: &Option<Measure>) -> Option<usize> {
    match m {
        Some(Measure::Count { table }) | Some(Measure::Column { table, .. }) => Some(*table),
        Some(Measure::Expr { tables, .. }) => tables.first().copied(),
        None => None,
    }
}

/// Without a `database_references` entry, a product id refers to the key of a table
/// named `products`/`product`.
fn product_reference(ctx: &Context) -> Option<(usize, String)> {
    ctx.tables
        .iter()
        .enumerate()
        .find_map(|(i, t)| (t.words == ["product"]).then(|| t.key.clone().map(|k| (i, k))).flatten())
}
