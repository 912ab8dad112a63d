//! Follow-up questions on the sample-shaped database: each follow-up's SQL is executed on
//! SQLite and its rows compared with a hand-written query's.

use chrono::Utc;
use sqlx::sqlite::SqlitePool;

use super::followup::InConversation;
use super::tests::{SAMPLE, context, pool, rows, sample_metadata};
use crate::context::Context;
use crate::conversation::Conversation;
use crate::error::ErrorKind;
use crate::resolve::resolve;

const LAST_MONTH: &str =
    "order_date >= date('now','start of month','-1 months') AND order_date < date('now','start of month')";

fn ask(ctx: &Context, previous: &[&str], q: &str) -> crate::Result<InConversation> {
    let r = resolve(q, ctx, Utc::now().date_naive());
    let conversation = Conversation { previous: previous.iter().map(|s| s.to_string()).collect() };
    super::generate_offline_in(q, ctx, &r, &conversation)
}

/// Asks `q` after `previous`, runs the SQL and `expected`, compares the rows (sorted
/// unless `ordered`).
async fn check(
    pool: &SqlitePool,
    ctx: &Context,
    previous: &[&str],
    q: &str,
    expected: &str,
    ordered: bool,
) -> InConversation {
    let got = ask(ctx, previous, q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let sql = crate::sql::validate::with_default_limit(&got.generated.sql, talk2tables_common::Dialect::Sqlite, 1000)
        .unwrap();
    let mut have = rows(pool, &sql).await;
    let mut want = rows(pool, expected).await;
    assert!(!want.is_empty(), "expected query returns no rows: {expected}");
    if !ordered {
        have.sort();
        want.sort();
    }
    assert_eq!(have, want, "\nprevious: {previous:?}\nquestion: {q}\ngenerated:\n{}", got.generated.sql);
    got
}

fn carried(got: &InConversation) -> Vec<&str> {
    got.carried.iter().map(|e| e.original_term.as_str()).collect()
}

#[tokio::test]
async fn follow_ups_refine_the_previous_question() {
    let pool = pool(SAMPLE).await;
    let ctx = context(&pool, &sample_metadata()).await;
    let cancelled = "How many orders were cancelled?";

    // A date range added to a value filter.
    let got = check(
        &pool,
        &ctx,
        &[cancelled],
        "now only for last month",
        &format!("SELECT COUNT(*) FROM orders WHERE status = 'cancelled' AND {LAST_MONTH}"),
        false,
    )
    .await;
    assert_eq!(got.follow_up_of.as_deref(), Some(cancelled));
    assert!(got.generated.explanation.starts_with("Read as a follow-up of \"How many orders were cancelled?\""));
    assert_eq!(carried(&got), ["cancelled"]);

    // Previous questions that are SQL or cannot be read are skipped.
    let got = ask(&ctx, &["SELECT 1", cancelled, "what is the weather in Paris"], "now only for last month").unwrap();
    assert!(got.generated.sql.contains("'cancelled'") && got.generated.sql.contains("-1 months"), "{got:?}");

    // A value on the same column replaces the old one.
    let got = check(
        &pool,
        &ctx,
        &[cancelled],
        "only delivered ones",
        "SELECT COUNT(*) FROM orders WHERE status = 'delivered'",
        false,
    )
    .await;
    assert!(got.carried.is_empty(), "{got:?}");

    // A time bucket, keeping the filter.
    check(
        &pool,
        &ctx,
        &[cancelled],
        "same but per month",
        "SELECT strftime('%Y-%m', order_date), COUNT(*) FROM orders WHERE status = 'cancelled' GROUP BY 1",
        false,
    )
    .await;

    // A chain of follow-ups keeps every earlier refinement.
    let got = check(
        &pool,
        &ctx,
        &[cancelled, "now only for last month"],
        "and by category?",
        &format!(
            "SELECT p.category, COUNT(DISTINCT o.order_id) FROM orders o JOIN order_items oi USING(order_id)
             JOIN products p USING(product_id) WHERE o.status = 'cancelled' AND o.{LAST_MONTH} GROUP BY 1"
        ),
        false,
    )
    .await;
    assert_eq!(got.follow_up_of.as_deref(), Some("now only for last month"));
    assert_eq!(carried(&got), ["cancelled", "last month"]);
}

#[tokio::test]
async fn follow_ups_on_measures_products_and_rankings() {
    let pool = pool(SAMPLE).await;
    let ctx = context(&pool, &sample_metadata()).await;
    let this_year =
        "o.order_date >= date('now','start of year') AND o.order_date < date('now','start of year','+1 years')";

    let got = check(
        &pool,
        &ctx,
        &["Total sales this year"],
        "and by category?",
        &format!(
            "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN orders o USING(order_id)
             JOIN products p USING(product_id) WHERE {this_year} GROUP BY 1"
        ),
        false,
    )
    .await;
    assert_eq!(carried(&got), ["sales", "this year"]);

    check(
        &pool,
        &ctx,
        &["Total sales this year"],
        "for Electronics",
        &format!(
            "SELECT SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN orders o USING(order_id)
             JOIN products p USING(product_id) WHERE p.category = 'Electronics' AND {this_year}"
        ),
        false,
    )
    .await;

    // A new product replaces the old one; the date range stays.
    let got = check(
        &pool,
        &ctx,
        &["Show me total sales for abracadabra this month"],
        "what about techgadget?",
        "SELECT SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN orders o USING(order_id)
         WHERE oi.product_id = 456 AND o.order_date >= date('now','start of month')",
        false,
    )
    .await;
    assert!(!got.generated.sql.contains("123"), "{}", got.generated.sql);
    assert_eq!(carried(&got), ["sales", "this month"]);

    // A new business term replaces the old one; the product stays, the year replaces the month.
    let got = ask(&ctx, &["Show me total sales for abracadabra this month"], "what about revenue last year?").unwrap();
    assert_eq!(carried(&got), ["abracadabra"]);
    let sql = &got.generated.sql;
    assert!(sql.contains("= 123") && sql.contains("'-1 years'") && !sql.contains("'start of month'"), "{sql}");

    check(
        &pool,
        &ctx,
        &["Total sales per category"],
        "top 3 instead",
        "SELECT p.category, SUM(oi.quantity * oi.unit_price) AS t FROM order_items oi JOIN products p USING(product_id)
         GROUP BY 1 ORDER BY t DESC LIMIT 3",
        true,
    )
    .await;

    // A new measure after a cue keeps the filters.
    check(
        &pool,
        &ctx,
        &["How many orders were cancelled?"],
        "and what about the average order value?",
        "SELECT AVG(total_amount) FROM orders WHERE status = 'cancelled'",
        false,
    )
    .await;
}

#[tokio::test]
async fn standalone_questions_start_fresh() {
    let pool = pool(SAMPLE).await;
    let ctx = context(&pool, &sample_metadata()).await;
    for q in ["How many customers are there?", "orders last month", "Total sales per category"] {
        let fresh = ask(&ctx, &[], q).unwrap();
        let after = ask(&ctx, &["How many orders were cancelled?", "now only for last month"], q).unwrap();
        assert_eq!(after.follow_up_of, None, "{q}");
        assert!(after.carried.is_empty(), "{q}");
        assert_eq!(after.generated, fresh.generated, "{q}");
    }
    // Without a conversation, a follow-up alone cannot be answered.
    let e = ask(&ctx, &[], "now only for last month").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unanswerable);
    let e = ask(&ctx, &["what is the weather in Paris"], "now only for last month").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unanswerable);
    // A new date range replaces the old one.
    let got = ask(&ctx, &["orders last month"], "now only for this month").unwrap();
    assert_eq!(got.generated.sql.matches(">=").count(), 1, "{}", got.generated.sql);
    assert!(!got.generated.sql.contains("-1 months"), "{}", got.generated.sql);
}
