//! Rendering an [`Intent`] as SQL for the database's dialect: qualified column names,
//! joins along the schema graph, readable aliases, one clause per line.

use std::collections::BTreeSet;

use super::Generated;
use super::intent::{Filter, GroupKey, Intent, Measure, OrderKey};
use crate::context::{ColumnKind, Context};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::dialect::{Unit, date_bound, date_bucket, quote_ident};

fn col(ctx: &Context, t: usize, c: &str) -> String {
    let d = ctx.dialect();
    format!("{}.{}", quote_ident(d, &ctx.tables[t].name), quote_ident(d, c))
}

fn is_audit(name: &str) -> bool {
    let n = name.to_lowercase();
    ["created", "updated", "modified", "deleted", "inserted"].iter().any(|k| n.starts_with(k))
}

/// The date column to filter or bucket on, first found of: a business date (not an audit
/// stamp such as `created_at`) of a needed table (base first); any date column of the
/// base itself; the business date of the table nearest to the base; any date column of
/// a needed table, then of the nearest table. So "sales per category this year" filters
/// `orders.order_date`, not `products.created_at`, and "customers last month" filters
/// `customers.created_at`.
fn date_column(ctx: &Context, needed: &[usize], base: usize) -> Option<(usize, String)> {
    let dates = |t: usize| ctx.tables[t].columns.iter().filter(|c| c.kind == ColumnKind::Date);
    let business = |t: usize| dates(t).find(|c| !is_audit(&c.name)).map(|c| (t, c.name.clone()));
    let any = |t: usize| dates(t).next().map(|c| (t, c.name.clone()));
    needed
        .iter()
        .find_map(|&t| business(t))
        .or_else(|| any(base))
        .or_else(|| ctx.tables_by_distance(base).into_iter().find_map(business))
        .or_else(|| needed.iter().find_map(|&t| any(t)))
        .or_else(|| ctx.tables_by_distance(base).into_iter().find_map(any))
}

/// An integer column holding a year (`year`, `published_year`) in a needed table.
fn year_column(ctx: &Context, needed: &[usize]) -> Option<(usize, String)> {
    needed.iter().find_map(|&t| {
        ctx.tables[t]
            .columns
            .iter()
            .find(|c| c.kind == ColumnKind::Integer && c.words.last().is_some_and(|w| w == "year"))
            .map(|c| (t, c.name.clone()))
    })
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Day => "day",
        Unit::Week => "week",
        Unit::Month => "month",
        Unit::Quarter => "quarter",
        Unit::Year => "year",
    }
}

/// Renders the intent. Errors: `UNANSWERABLE` when the needed tables cannot be joined or
/// a date phrase has no date column to apply to.
pub(crate) fn render(ctx: &Context, intent: &Intent) -> Result<Generated> {
    let d = ctx.dialect();
    let base = intent.base;
    let mut needed: Vec<usize> = vec![base];
    let add = |t: usize, needed: &mut Vec<usize>| {
        if !needed.contains(&t) {
            needed.push(t);
        }
    };
    match &intent.measure {
        Some(Measure::Expr { tables, .. }) => tables.iter().for_each(|t| add(*t, &mut needed)),
        Some(Measure::Column { table, .. }) | Some(Measure::Count { table }) => add(*table, &mut needed),
        None => {}
    }
    for g in &intent.group_by {
        match g {
            GroupKey::Column { table, .. } | GroupKey::Entity { table } => add(*table, &mut needed),
            GroupKey::Bucket { column: Some((t, _)), .. } => add(*t, &mut needed),
            GroupKey::Bucket { .. } => {}
        }
    }
    for f in &intent.filters {
        match f {
            Filter::Equals { table, .. } | Filter::Compare { table, .. } | Filter::Between { table, .. } => {
                add(*table, &mut needed)
            }
            Filter::Date(_) => {}
        }
    }
    for (t, _) in &intent.select {
        add(*t, &mut needed);
    }
    if let Some((OrderKey::Column { table, .. }, _)) = &intent.order {
        add(*table, &mut needed);
    }

    // Date columns for bucket keys and date filters.
    let mut groups = intent.group_by.clone();
    for g in &mut groups {
        if let GroupKey::Bucket { column: c @ None, unit } = g {
            let found = date_column(ctx, &needed, base).ok_or_else(|| {
                Error::new(ErrorKind::Unanswerable, format!("no date column to group by {}", unit_name(*unit)))
            })?;
            add(found.0, &mut needed);
            *c = Some(found);
        }
    }
    let mut where_parts: Vec<String> = Vec::new();
    let mut described: Vec<String> = Vec::new();
    for f in &intent.filters {
        match f {
            Filter::Equals { table, column, literal } => {
                where_parts.push(format!("{} = {literal}", col(ctx, *table, column)))
            }
            Filter::Compare { table, column, op, value } => {
                where_parts.push(format!("{} {op} {value}", col(ctx, *table, column)))
            }
            Filter::Between { table, column, low, high } => {
                where_parts.push(format!("{} BETWEEN {low} AND {high}", col(ctx, *table, column)))
            }
            Filter::Date(range) => {
                let in_needed =
                    needed.iter().any(|&t| ctx.tables[t].columns.iter().any(|c| c.kind == ColumnKind::Date));
                let year =
                    range.year.and_then(|y| (!in_needed).then(|| year_column(ctx, &needed)).flatten().map(|c| (y, c)));
                if let Some((y, (t, c))) = year {
                    where_parts.push(format!("{} = {y}", col(ctx, t, &c)));
                    continue;
                }
                let (t, c) = date_column(ctx, &needed, base)
                    .ok_or_else(|| Error::new(ErrorKind::Unanswerable, "no date column to apply the date range to"))?;
                add(t, &mut needed);
                let q = col(ctx, t, &c);
                where_parts.push(format!(
                    "{q} >= {} AND {q} < {}",
                    date_bound(d, &range.start),
                    date_bound(d, &range.end)
                ));
                described.push(format!("{}.{}", ctx.tables[t].name, c));
            }
        }
    }

    let needed_set: BTreeSet<usize> = needed.iter().copied().collect();
    let joins = ctx.join_tree(base, &needed_set).ok_or_else(|| {
        let names: Vec<&str> = needed.iter().map(|&t| ctx.tables[t].name.as_str()).collect();
        Error::new(ErrorKind::Unanswerable, format!("no join path connects the tables {}", names.join(", ")))
    })?;

    // SELECT list and GROUP BY.
    let mut select: Vec<String> = Vec::new();
    let mut group_exprs: Vec<String> = Vec::new();
    for g in &groups {
        match g {
            GroupKey::Column { table, column } => {
                let e = col(ctx, *table, column);
                select.push(e.clone());
                group_exprs.push(e);
            }
            GroupKey::Entity { table } => {
                let info = &ctx.tables[*table];
                let cols: Vec<&String> =
                    info.key.iter().chain(info.label.iter().filter(|l| Some(*l) != info.key.as_ref())).collect();
                let cols = if cols.is_empty() { vec![&info.columns[0].name] } else { cols };
                for c in cols {
                    let e = col(ctx, *table, c);
                    select.push(e.clone());
                    group_exprs.push(e);
                }
            }
            GroupKey::Bucket { unit, column: Some((t, c)) } => {
                let e = date_bucket(d, *unit, &col(ctx, *t, c));
                select.push(format!("{e} AS {}", unit_name(*unit)));
                group_exprs.push(e);
            }
            GroupKey::Bucket { column: None, .. } => {}
        }
    }
    let mut measure_alias = None;
    match &intent.measure {
        Some(Measure::Count { table }) => {
            let key = ctx.tables[*table].key.clone();
            let e = match key {
                Some(k) if !joins.is_empty() => format!("COUNT(DISTINCT {})", col(ctx, *table, &k)),
                _ => "COUNT(*)".to_string(),
            };
            select.push(format!("{e} AS count"));
            measure_alias = Some("count".to_string());
        }
        Some(Measure::Column { agg, table, column }) => {
            let alias = format!("{}_{}", agg.word(), crate::resolve::text::snake(column));
            select.push(format!("{}({}) AS {alias}", agg.sql(), col(ctx, *table, column)));
            measure_alias = Some(alias);
        }
        Some(Measure::Expr { sql, alias, agg, .. }) => {
            let e = match agg {
                Some(a) => format!("{}({sql})", a.sql()),
                None => sql.clone(),
            };
            select.push(format!("{e} AS {alias}"));
            measure_alias = Some(alias.clone());
        }
        None => {}
    }
    if intent.measure.is_none() && groups.is_empty() {
        let info = &ctx.tables[base];
        if intent.select.is_empty() {
            select.extend(info.columns.iter().map(|c| col(ctx, base, &c.name)));
        } else {
            if let Some(l) = &info.label {
                select.push(col(ctx, base, l));
            }
            for (t, c) in &intent.select {
                let e = col(ctx, *t, c);
                if !select.contains(&e) {
                    select.push(e);
                }
            }
        }
    }

    let mut sql = format!("SELECT {}\nFROM {}", select.join(", "), quote_ident(d, &ctx.tables[base].name));
    for j in &joins {
        sql.push_str(&format!(
            "\nJOIN {} ON {} = {}",
            quote_ident(d, &ctx.tables[j.table].name),
            col(ctx, j.table, &j.col),
            col(ctx, j.other, &j.other_col)
        ));
    }
    if !where_parts.is_empty() {
        sql.push_str(&format!("\nWHERE {}", where_parts.join(" AND ")));
    }
    if !group_exprs.is_empty() {
        sql.push_str(&format!("\nGROUP BY {}", group_exprs.join(", ")));
    }
    let order = match &intent.order {
        Some((OrderKey::Measure, desc)) => {
            measure_alias.clone().map(|a| format!("{a}{}", if *desc { " DESC" } else { "" }))
        }
        Some((OrderKey::Column { table, column }, desc)) => {
            Some(format!("{}{}", col(ctx, *table, column), if *desc { " DESC" } else { "" }))
        }
        None if !group_exprs.is_empty() => Some(group_exprs.join(", ")),
        None => None,
    };
    if let Some(o) = order {
        sql.push_str(&format!("\nORDER BY {o}"));
    }
    if let Some(n) = intent.limit {
        sql.push_str(&format!("\nLIMIT {n}"));
    }
    Ok(Generated { explanation: explain(ctx, intent, &joins, &where_parts), sql })
}

fn explain(ctx: &Context, intent: &Intent, joins: &[crate::context::JoinStep], filters: &[String]) -> String {
    let base = &ctx.tables[intent.base].name;
    let mut s = match &intent.measure {
        Some(Measure::Count { table }) => {
            format!("Counted the rows of {}", ctx.tables[*table].name)
        }
        Some(Measure::Column { agg, table, column }) => {
            format!("Computed the {} of {}.{}", agg.word(), ctx.tables[*table].name, column)
        }
        Some(Measure::Expr { sql, alias, .. }) => format!("Computed {alias} as {sql}"),
        None => format!("Listed rows of {base}"),
    };
    if !joins.is_empty() {
        let names: Vec<&str> = joins.iter().map(|j| ctx.tables[j.table].name.as_str()).collect();
        s.push_str(&format!(" (joining {} with {})", base, names.join(", ")));
    }
    if !intent.group_by.is_empty() {
        s.push_str(", grouped");
    }
    if !filters.is_empty() {
        s.push_str(&format!(", where {}", filters.join(" and ")));
    }
    if let Some(n) = intent.limit {
        s.push_str(&format!(", keeping the first {n} rows in order"));
    }
    s.push('.');
    s
}
