//! Follow-up questions through the public Engine API on the embedded default: by
//! `session_id`, and by `context.previous_questions`.

use serde_json::json;
use talk2tables::{ChatRequest, ChatResponse, Engine, ErrorKind, QueryResult};

const CANCELLED: &str = "How many orders were cancelled?";
const LAST_MONTH_SQL: &str = "SELECT COUNT(*) FROM orders WHERE status = 'cancelled' \
     AND order_date >= date('now', 'start of month', '-1 months') AND order_date < date('now', 'start of month')";

async fn in_session(engine: &Engine, session: &str, q: &str) -> ChatResponse {
    let mut request = ChatRequest::new(q);
    request.session_id = Some(session.to_string());
    engine.chat(request).await
}

fn data(response: ChatResponse) -> QueryResult {
    match (response.data, response.error) {
        (Some(data), _) => data,
        (None, error) => panic!("no data: {error:?}"),
    }
}

fn error_code(response: &ChatResponse) -> Option<ErrorKind> {
    response.error.as_ref().map(|e| e.code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_follow_ups_refine_the_previous_question() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::embedded(dir.path()).await.expect("embedded engine");
    let direct = engine.ask(LAST_MONTH_SQL).await.expect("direct count");

    let all_cancelled = data(in_session(&engine, "a", CANCELLED).await);
    let count = |r: &QueryResult| r.results.rows.first().and_then(|row| row.first()).and_then(|v| v.as_i64());
    let (all, last_month) = (count(&all_cancelled), count(&direct));
    assert!(last_month.is_some_and(|n| n > 0) && all > last_month, "{all:?} {last_month:?}");
    let follow = data(in_session(&engine, "a", "now only for last month").await);
    let sql = &follow.sql_query;
    assert!(sql.contains("'cancelled'") && sql.contains("'-1 months'"), "{sql}");
    assert_eq!(follow.results.rows, direct.results.rows, "{sql}");
    assert!(follow.explanation.contains(&format!("follow-up of \"{CANCELLED}\"")), "{}", follow.explanation);
    assert!(
        follow.resolved_entities.iter().any(|e| e.original_term == "cancelled" && e.entity_type == "value"),
        "{:?}",
        follow.resolved_entities
    );
    assert!(follow.resolved_entities.iter().any(|e| e.original_term == "last month"));

    // Sessions don't leak: a new session has no previous question.
    let other = in_session(&engine, "b", "now only for last month").await;
    assert_eq!(error_code(&other), Some(ErrorKind::Unanswerable), "{other:?}");

    // A question that stands on its own starts fresh, and becomes the one refined next.
    let fresh = data(in_session(&engine, "a", "How many customers are there?").await);
    assert!(!fresh.sql_query.contains("cancelled") && !fresh.explanation.contains("follow-up"), "{fresh:?}");
    let customers = engine.ask("How many customers are there?").await.expect("ask");
    assert_eq!(fresh.results.rows, customers.results.rows);

    // Raw SQL and failed answers don't enter the history.
    data(in_session(&engine, "c", "SELECT COUNT(*) FROM orders").await);
    assert_eq!(error_code(&in_session(&engine, "c", "now only for last month").await), Some(ErrorKind::Unanswerable));
    assert!(!in_session(&engine, "d", "How many employees are there?").await.success);
    assert_eq!(error_code(&in_session(&engine, "d", "now only for last month").await), Some(ErrorKind::Unanswerable));

    // Grouping added to a measure keeps its date range.
    data(in_session(&engine, "e", "Total sales this year").await);
    let by_category = data(in_session(&engine, "e", "and by category?").await);
    let sql = &by_category.sql_query;
    assert!(sql.contains("GROUP BY") && sql.contains("category") && sql.contains("start of year"), "{sql}");
    assert!(sql.contains("order_date"), "the year applies to the order date: {sql}");
    let expected = engine
        .ask(
            "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN orders o ON o.order_id = oi.order_id \
             JOIN products p ON p.product_id = oi.product_id \
             WHERE o.order_date >= date('now', 'start of year') AND o.order_date < date('now', 'start of year', '+1 years') \
             GROUP BY p.category ORDER BY p.category",
        )
        .await
        .expect("direct sales per category");
    assert_eq!(by_category.results.rows, expected.results.rows, "{sql}");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_questions_in_the_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::embedded(dir.path()).await.expect("embedded engine");
    let direct = engine.ask(LAST_MONTH_SQL).await.expect("direct count");

    let mut request = ChatRequest::new("now only for last month");
    request.context = Some(serde_json::Map::from_iter([("previous_questions".to_string(), json!([CANCELLED]))]));
    let follow = data(engine.chat(request.clone()).await);
    assert!(follow.sql_query.contains("'cancelled'"), "{}", follow.sql_query);
    assert_eq!(follow.results.rows, direct.results.rows);

    // The explicit list wins over the session's history.
    assert!(in_session(&engine, "s", "How many customers are there?").await.success);
    request.session_id = Some("s".into());
    let follow = data(engine.chat(request.clone()).await);
    assert_eq!(follow.results.rows, direct.results.rows, "{}", follow.sql_query);

    // A malformed list is an invalid request.
    request.context = Some(serde_json::Map::from_iter([("previous_questions".to_string(), json!("not a list"))]));
    assert_eq!(error_code(&engine.chat(request).await), Some(ErrorKind::InvalidRequest));
    engine.close().await;
}
