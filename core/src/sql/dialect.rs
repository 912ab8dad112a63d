//! Dialect-specific SQL snippets: date bounds, month/year buckets, string concatenation,
//! identifier quoting and string literals, for SQLite, PostgreSQL and MySQL.
//!
//! Dates are compared as half-open ranges `col >= start AND col < end`. SQLite stores
//! dates as ISO text (`'YYYY-MM-DD'` or `'YYYY-MM-DD HH:MM:SS'`) and `date(...)` returns
//! ISO text, so the comparison is correct as text; `'now'` in SQLite is UTC.

use chrono::{Datelike, Days, Months, NaiveDate};
use talk2tables_common::Dialect;

/// A calendar unit for date truncation and bucketing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Calendar day.
    Day,
    /// ISO week starting on Monday.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter (Jan, Apr, Jul, Oct).
    Quarter,
    /// Calendar year.
    Year,
}

/// One end of a date range, relative to the database's current date so the SQL stays
/// correct on later days, or a fixed date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Today shifted by `months` months then `days` days (both may be negative).
    Today { months: i32, days: i32 },
    /// The start of the current `unit`, shifted by `offset` whole units.
    StartOf { unit: Unit, offset: i32 },
    /// A fixed calendar date.
    Date(NaiveDate),
}

impl Bound {
    /// The date this bound denotes when the current date is `today` (for the resolved
    /// value shown to people). `None` only on calendar overflow.
    pub(crate) fn on(&self, today: NaiveDate) -> Option<NaiveDate> {
        match *self {
            Bound::Date(d) => Some(d),
            Bound::Today { months, days } => add_days(add_months(today, months)?, days),
            Bound::StartOf { unit, offset } => {
                let start = match unit {
                    Unit::Day => today,
                    Unit::Week => today - Days::new(u64::from(today.weekday().num_days_from_monday())),
                    Unit::Month => today.with_day(1)?,
                    Unit::Quarter => NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1)?,
                    Unit::Year => NaiveDate::from_ymd_opt(today.year(), 1, 1)?,
                };
                match unit {
                    Unit::Day => add_days(start, offset),
                    Unit::Week => add_days(start, offset.checked_mul(7)?),
                    Unit::Month => add_months(start, offset),
                    Unit::Quarter => add_months(start, offset.checked_mul(3)?),
                    Unit::Year => add_months(start, offset.checked_mul(12)?),
                }
            }
        }
    }
}

fn add_days(d: NaiveDate, days: i32) -> Option<NaiveDate> {
    if days >= 0 {
        d.checked_add_days(Days::new(days as u64))
    } else {
        d.checked_sub_days(Days::new(u64::from(days.unsigned_abs())))
    }
}

fn add_months(d: NaiveDate, months: i32) -> Option<NaiveDate> {
    if months >= 0 {
        d.checked_add_months(Months::new(months as u32))
    } else {
        d.checked_sub_months(Months::new(months.unsigned_abs()))
    }
}

fn signed(n: i32) -> String {
    if n >= 0 { format!("+{n}") } else { n.to_string() }
}

/// SQL expression for `bound` in `dialect`, e.g. SQLite `date('now', 'start of month')`,
/// PostgreSQL `DATE_TRUNC('month', CURRENT_DATE)`, MySQL
/// `CAST(DATE_FORMAT(CURDATE(), '%Y-%m-01') AS DATE)`.
pub(crate) fn date_bound(dialect: Dialect, bound: &Bound) -> String {
    match dialect {
        Dialect::Sqlite => sqlite_bound(bound),
        Dialect::Postgresql => postgres_bound(bound),
        Dialect::Mysql => mysql_bound(bound),
    }
}

fn sqlite_bound(bound: &Bound) -> String {
    let mut mods: Vec<String> = Vec::new();
    match *bound {
        Bound::Date(d) => return format!("'{}'", d.format("%Y-%m-%d")),
        Bound::Today { months, days } => {
            if months != 0 {
                mods.push(format!("'{} months'", signed(months)));
            }
            if days != 0 {
                mods.push(format!("'{} days'", signed(days)));
            }
        }
        Bound::StartOf { unit, offset } => match unit {
            Unit::Day => {
                if offset != 0 {
                    mods.push(format!("'{} days'", signed(offset)));
                }
            }
            Unit::Week => {
                mods.push("'-6 days'".into());
                mods.push("'weekday 1'".into());
                if offset != 0 {
                    mods.push(format!("'{} days'", signed(offset * 7)));
                }
            }
            Unit::Month => {
                mods.push("'start of month'".into());
                if offset != 0 {
                    mods.push(format!("'{} months'", signed(offset)));
                }
            }
            Unit::Quarter => {
                mods.push("'start of month'".into());
                mods.push("printf('-%d months', (CAST(strftime('%m', 'now') AS INTEGER) - 1) % 3)".into());
                if offset != 0 {
                    mods.push(format!("'{} months'", signed(offset * 3)));
                }
            }
            Unit::Year => {
                mods.push("'start of year'".into());
                if offset != 0 {
                    mods.push(format!("'{} years'", signed(offset)));
                }
            }
        },
    }
    let mut s = String::from("date('now'");
    for m in mods {
        s.push_str(", ");
        s.push_str(&m);
    }
    s.push(')');
    s
}

fn pg_interval(base: String, n: i32, unit: &str) -> String {
    match n {
        0 => base,
        n if n > 0 => format!("{base} + INTERVAL '{n} {unit}'"),
        n => format!("{base} - INTERVAL '{} {unit}'", n.unsigned_abs()),
    }
}

fn postgres_bound(bound: &Bound) -> String {
    match *bound {
        Bound::Date(d) => format!("DATE '{}'", d.format("%Y-%m-%d")),
        Bound::Today { months, days } => {
            let s = pg_interval("CURRENT_DATE".into(), months, "months");
            pg_interval(s, days, "days")
        }
        Bound::StartOf { unit, offset } => {
            let (name, n, u) = match unit {
                Unit::Day => return pg_interval("CURRENT_DATE".into(), offset, "days"),
                Unit::Week => ("week", offset, "weeks"),
                Unit::Month => ("month", offset, "months"),
                Unit::Quarter => ("quarter", offset * 3, "months"),
                Unit::Year => ("year", offset, "years"),
            };
            pg_interval(format!("DATE_TRUNC('{name}', CURRENT_DATE)"), n, u)
        }
    }
}

fn my_interval(base: String, n: i32, unit: &str) -> String {
    match n {
        0 => base,
        n if n > 0 => format!("DATE_ADD({base}, INTERVAL {n} {unit})"),
        n => format!("DATE_SUB({base}, INTERVAL {} {unit})", n.unsigned_abs()),
    }
}

fn mysql_bound(bound: &Bound) -> String {
    match *bound {
        Bound::Date(d) => format!("DATE '{}'", d.format("%Y-%m-%d")),
        Bound::Today { months, days } => my_interval(my_interval("CURDATE()".into(), months, "MONTH"), days, "DAY"),
        Bound::StartOf { unit, offset } => match unit {
            Unit::Day => my_interval("CURDATE()".into(), offset, "DAY"),
            Unit::Week => my_interval("DATE_SUB(CURDATE(), INTERVAL WEEKDAY(CURDATE()) DAY)".into(), offset * 7, "DAY"),
            Unit::Month => my_interval("CAST(DATE_FORMAT(CURDATE(), '%Y-%m-01') AS DATE)".into(), offset, "MONTH"),
            Unit::Quarter => my_interval(
                "DATE_ADD(MAKEDATE(YEAR(CURDATE()), 1), INTERVAL (QUARTER(CURDATE()) - 1) QUARTER)".into(),
                offset * 3,
                "MONTH",
            ),
            Unit::Year => my_interval("MAKEDATE(YEAR(CURDATE()), 1)".into(), offset, "YEAR"),
        },
    }
}

/// Expression bucketing the date column `col` (already qualified/quoted) per `unit`, as
/// sortable text: month → `'2026-11'`, year → `'2026'`, day → `'2026-11-30'`; week and
/// quarter fall back to the day and month buckets' granularity (`'2026-W48'`, `'2026-Q4'`
/// where the dialect has the function).
pub(crate) fn date_bucket(dialect: Dialect, unit: Unit, col: &str) -> String {
    match (dialect, unit) {
        (Dialect::Sqlite, Unit::Day) => format!("strftime('%Y-%m-%d', {col})"),
        (Dialect::Sqlite, Unit::Week) => format!("strftime('%Y-W%W', {col})"),
        (Dialect::Sqlite, Unit::Month) => format!("strftime('%Y-%m', {col})"),
        (Dialect::Sqlite, Unit::Quarter) => {
            format!("strftime('%Y', {col}) || '-Q' || ((CAST(strftime('%m', {col}) AS INTEGER) + 2) / 3)")
        }
        (Dialect::Sqlite, Unit::Year) => format!("strftime('%Y', {col})"),
        (Dialect::Postgresql, Unit::Day) => format!("TO_CHAR({col}, 'YYYY-MM-DD')"),
        (Dialect::Postgresql, Unit::Week) => format!("TO_CHAR({col}, 'IYYY-\"W\"IW')"),
        (Dialect::Postgresql, Unit::Month) => format!("TO_CHAR({col}, 'YYYY-MM')"),
        (Dialect::Postgresql, Unit::Quarter) => format!("TO_CHAR({col}, 'YYYY-\"Q\"Q')"),
        (Dialect::Postgresql, Unit::Year) => format!("TO_CHAR({col}, 'YYYY')"),
        (Dialect::Mysql, Unit::Day) => format!("DATE_FORMAT({col}, '%Y-%m-%d')"),
        (Dialect::Mysql, Unit::Week) => format!("DATE_FORMAT({col}, '%x-W%v')"),
        (Dialect::Mysql, Unit::Month) => format!("DATE_FORMAT({col}, '%Y-%m')"),
        (Dialect::Mysql, Unit::Quarter) => format!("CONCAT(YEAR({col}), '-Q', QUARTER({col}))"),
        (Dialect::Mysql, Unit::Year) => format!("DATE_FORMAT({col}, '%Y')"),
    }
}

/// String concatenation of SQL expressions: `a || b` (SQLite, PostgreSQL) or
/// `CONCAT(a, b)` (MySQL).
#[allow(dead_code, reason = "dialect-aware concatenation for PostgreSQL/MySQL output (issue 7)")]
pub(crate) fn concat(dialect: Dialect, parts: &[String]) -> String {
    match dialect {
        Dialect::Mysql => format!("CONCAT({})", parts.join(", ")),
        _ => parts.join(" || "),
    }
}

/// An identifier as it must be written: bare when it is a plain lowercase name that is
/// not a keyword, otherwise quoted (`"Order"` / `` `Order` `` for MySQL) with the quote
/// character doubled inside.
pub(crate) fn quote_ident(dialect: Dialect, name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "order",
        "group",
        "select",
        "from",
        "where",
        "table",
        "user",
        "limit",
        "by",
        "desc",
        "asc",
        "index",
        "key",
        "join",
        "on",
        "as",
        "and",
        "or",
        "not",
        "null",
        "case",
        "when",
        "end",
        "values",
        "check",
        "default",
        "primary",
        "references",
        "column",
        "to",
        "in",
        "is",
        "all",
        "union",
        "offset",
        "having",
        "distinct",
        "natural",
        "left",
        "right",
        "inner",
        "outer",
    ];
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&name);
    if plain {
        return name.to_string();
    }
    match dialect {
        Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A single-quoted SQL string literal with embedded quotes doubled (`O'Brien` →
/// `'O''Brien'`; MySQL backslashes are doubled too).
pub(crate) fn string_literal(dialect: Dialect, value: &str) -> String {
    let mut v = value.replace('\'', "''");
    if dialect == Dialect::Mysql {
        v = v.replace('\\', "\\\\");
    }
    format!("'{v}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn bounds_per_dialect() {
        let b = Bound::StartOf { unit: Unit::Month, offset: -1 };
        assert_eq!(date_bound(Dialect::Sqlite, &b), "date('now', 'start of month', '-1 months')");
        assert_eq!(date_bound(Dialect::Postgresql, &b), "DATE_TRUNC('month', CURRENT_DATE) - INTERVAL '1 months'");
        assert_eq!(
            date_bound(Dialect::Mysql, &b),
            "DATE_SUB(CAST(DATE_FORMAT(CURDATE(), '%Y-%m-01') AS DATE), INTERVAL 1 MONTH)"
        );
        let t = Bound::Today { months: 0, days: -7 };
        assert_eq!(date_bound(Dialect::Postgresql, &t), "CURRENT_DATE - INTERVAL '7 days'");
        assert_eq!(date_bound(Dialect::Sqlite, &Bound::Today { months: 0, days: 0 }), "date('now')");
    }

    #[test]
    fn bounds_evaluate() {
        let today = day(2026, 11, 30); // a Monday
        assert_eq!(Bound::StartOf { unit: Unit::Month, offset: 1 }.on(today), Some(day(2026, 12, 1)));
        assert_eq!(Bound::StartOf { unit: Unit::Quarter, offset: -1 }.on(today), Some(day(2026, 7, 1)));
        assert_eq!(Bound::StartOf { unit: Unit::Week, offset: 0 }.on(day(2026, 12, 6)), Some(today));
        assert_eq!(Bound::StartOf { unit: Unit::Year, offset: 1 }.on(today), Some(day(2027, 1, 1)));
        assert_eq!(Bound::Today { months: -1, days: 0 }.on(today), Some(day(2026, 10, 30)));
    }

    #[test]
    fn quoting_and_literals() {
        assert_eq!(quote_ident(Dialect::Sqlite, "order_items"), "order_items");
        assert_eq!(quote_ident(Dialect::Sqlite, "order"), "\"order\"");
        assert_eq!(quote_ident(Dialect::Mysql, "Order Items"), "`Order Items`");
        assert_eq!(string_literal(Dialect::Sqlite, "O'Brien"), "'O''Brien'");
        assert_eq!(concat(Dialect::Mysql, &["a".into(), "b".into()]), "CONCAT(a, b)");
        assert_eq!(
            date_bucket(Dialect::Sqlite, Unit::Month, "orders.order_date"),
            "strftime('%Y-%m', orders.order_date)"
        );
    }
}
