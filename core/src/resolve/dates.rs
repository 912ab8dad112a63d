//! Date phrases → half-open date ranges relative to the current date: today, yesterday,
//! this/last week/month/quarter/year, last N days/weeks/months/years, in YYYY,
//! since YYYY-MM-DD, between YYYY-MM-DD and YYYY-MM-DD.

use chrono::{Days, NaiveDate};

use super::{DateRange, Resolution, ResolvedKind};
use crate::sql::dialect::{Bound, Unit};

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "day" => Unit::Day,
        "week" => Unit::Week,
        "month" => Unit::Month,
        "quarter" => Unit::Quarter,
        "year" => Unit::Year,
        _ => return None,
    })
}

fn iso(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn range(r: &Resolution, start: Bound, end: Bound, year: Option<i32>) -> DateRange {
    DateRange { start, end, start_date: start.on(r.today), end_date: end.on(r.today), year }
}

/// Finds date phrases, left to right; each becomes a `date_range` entity from `core`.
pub(crate) fn resolve_dates(question: &str, r: &mut Resolution) {
    let mut i = 0;
    while i < r.tokens.len() {
        match match_at(r, i) {
            Some((len, d)) => {
                r.take(question, (i, i + len), ResolvedKind::Date(d), "core");
                i += len;
            }
            None => i += 1,
        }
    }
}

fn match_at(r: &Resolution, i: usize) -> Option<(usize, DateRange)> {
    let w = |k: usize| r.tokens.get(i + k).map(|t| t.norm.as_str()).unwrap_or("");
    let today = |d: i32| Bound::Today { months: 0, days: d };
    match w(0) {
        "today" => return Some((1, range(r, today(0), today(1), None))),
        "yesterday" => return Some((1, range(r, today(-1), today(0), None))),
        "this" | "current" => {
            let u = unit(w(1))?;
            let (s, e) = (Bound::StartOf { unit: u, offset: 0 }, Bound::StartOf { unit: u, offset: 1 });
            return Some((2, range(r, s, e, None)));
        }
        "last" | "past" | "previous" | "prior" => {
            if let Some(u) = unit(w(1)) {
                let (s, e) = (Bound::StartOf { unit: u, offset: -1 }, Bound::StartOf { unit: u, offset: 0 });
                return Some((2, range(r, s, e, None)));
            }
            let n: i32 = w(1).parse().ok().filter(|n| (1..=10_000).contains(n))?;
            let start = match unit(w(2))? {
                Unit::Day => Bound::Today { months: 0, days: -n },
                Unit::Week => Bound::Today { months: 0, days: -n * 7 },
                Unit::Month => Bound::Today { months: -n, days: 0 },
                Unit::Quarter => Bound::Today { months: -n * 3, days: 0 },
                Unit::Year => Bound::Today { months: -n * 12, days: 0 },
            };
            return Some((3, range(r, start, today(1), None)));
        }
        "since" | "after" => {
            let d = iso(w(1)).or_else(|| year_start(w(1)))?;
            return Some((2, range(r, Bound::Date(d), today(1), None)));
        }
        "between" => {
            let (a, b) = (iso(w(1))?, iso(w(3))?);
            if w(2) != "and" {
                return None;
            }
            let end = b.checked_add_days(Days::new(1))?;
            return Some((4, range(r, Bound::Date(a), Bound::Date(end), None)));
        }
        "in" | "during" | "for" | "of" | "from" => {
            let y: i32 = w(1).parse().ok().filter(|y| (1900..=2200).contains(y))?;
            let s = NaiveDate::from_ymd_opt(y, 1, 1)?;
            let e = NaiveDate::from_ymd_opt(y + 1, 1, 1)?;
            return Some((2, range(r, Bound::Date(s), Bound::Date(e), Some(y))));
        }
        _ => {}
    }
    None
}

fn year_start(w: &str) -> Option<NaiveDate> {
    let y: i32 = w.parse().ok().filter(|y| (1900..=2200).contains(y))?;
    NaiveDate::from_ymd_opt(y, 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::text::tokenize;

    type Found = (String, Option<NaiveDate>, Option<NaiveDate>, Option<i32>);

    fn dates(q: &str) -> Vec<Found> {
        let tokens = tokenize(q);
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut r = Resolution { consumed: vec![false; tokens.len()], tokens, items: vec![], today };
        resolve_dates(q, &mut r);
        r.items
            .into_iter()
            .map(|i| match i.kind {
                ResolvedKind::Date(d) => (i.original, d.start_date, d.end_date, d.year),
                _ => unreachable!(),
            })
            .collect()
    }

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn phrases() {
        assert_eq!(dates("sales this month"), [("this month".into(), day(2026, 11, 1), day(2026, 12, 1), None)]);
        assert_eq!(dates("orders last month"), [("last month".into(), day(2026, 10, 1), day(2026, 11, 1), None)]);
        assert_eq!(dates("Orders yesterday"), [("yesterday".into(), day(2026, 11, 29), day(2026, 11, 30), None)]);
        assert_eq!(dates("last 7 days"), [("last 7 days".into(), day(2026, 11, 23), day(2026, 12, 1), None)]);
        assert_eq!(dates("publications in 2015"), [("in 2015".into(), day(2015, 1, 1), day(2016, 1, 1), Some(2015))]);
        assert_eq!(
            dates("between 2025-01-01 and 2025-01-31"),
            [("between 2025-01-01 and 2025-01-31".into(), day(2025, 1, 1), day(2025, 2, 1), None)]
        );
        assert_eq!(dates("this quarter")[0].1, day(2026, 10, 1));
        assert!(dates("top 5 products in stock").is_empty());
    }
}
