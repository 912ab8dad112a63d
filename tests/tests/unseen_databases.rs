//! End to end over databases the offline engine was not written for: a schema this test
//! invents, and the public `restaurants` and `academic` databases (defog-data, loaded
//! into SQLite), each behind the real Database MCP binary and no metadata server.

use std::path::Path;

use talk2tables_e2e::*;

struct Stack {
    _db: Proc,
    server: Proc,
}

fn start_db_only(dir: &Path, db_path: &Path) -> Stack {
    let db = start_database_mcp(db_path);
    let config = write_config(dir, &db.url, None);
    let server = start_server(&config);
    Stack { _db: db, server }
}

/// Asks `q` and checks the single number equals `reference` run on the file.
async fn check_number(api: &Api, pool: &sqlx::SqlitePool, q: &str, reference: &str) {
    let (_, body) = api.chat(q).await;
    let got = single_number(q, expect_ok(q, &body));
    assert_close(q, got, scalar(pool, reference).await);
}

/// Asks `q` and checks its (label, number) rows equal `reference`'s, in any order
/// unless `ordered`.
async fn check_pairs(api: &Api, pool: &sqlx::SqlitePool, q: &str, reference: &str, ordered: bool) {
    let (_, body) = api.chat(q).await;
    let mut got = label_values(expect_ok(q, &body));
    let mut want = pairs(pool, reference).await;
    if !ordered {
        got.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
    }
    assert_eq!(got.len(), want.len(), "{q}: {body:#}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
        assert_eq!(gl, wl, "{q}: {body:#}");
        assert_close(q, *gv, *wv);
    }
}

async fn create_library(path: &Path) {
    use std::str::FromStr;
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
    let mut sql = String::from(
        "CREATE TABLE writers (writer_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, nationality TEXT);
         CREATE TABLE books (book_id INTEGER PRIMARY KEY, title TEXT NOT NULL, genre TEXT, pages INTEGER,
                             published_year INTEGER, writer_id INTEGER REFERENCES writers(writer_id));
         CREATE TABLE loans (loan_id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES books(book_id),
                             member TEXT, loaned_on DATE);\n",
    );
    let nations = ["Irish", "French", "Japanese", "Chilean"];
    for w in 1..=8 {
        sql.push_str(&format!("INSERT INTO writers VALUES ({w}, 'Writer {w}', '{}');\n", nations[w % 4]));
    }
    let genres = ["Fantasy", "Mystery", "Poetry", "Science Fiction", "History"];
    for b in 1..=40 {
        sql.push_str(&format!(
            "INSERT INTO books VALUES ({b}, 'Book {b}', '{}', {}, {}, {});\n",
            genres[b % 5],
            100 + (b * 37) % 400,
            1990 + b % 30,
            1 + b % 8
        ));
    }
    for l in 1..=120 {
        sql.push_str(&format!(
            "INSERT INTO loans VALUES ({l}, {}, 'member{}', date('now', '-{} days'));\n",
            1 + (l * 7) % 40,
            l % 13,
            l * 3
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_library_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("library.db");
    create_library(&db_path).await;
    let stack = start_db_only(dir.path(), &db_path);
    let api = Api::new(&stack.server.url);
    let pool = open_sqlite(&db_path).await;

    check_number(&api, &pool, "How many books are there?", "SELECT COUNT(*) FROM books").await;
    check_number(&api, &pool, "What is the average number of pages of books?", "SELECT AVG(pages) FROM books").await;
    check_number(
        &api,
        &pool,
        "How many Fantasy books are there?",
        "SELECT COUNT(*) FROM books WHERE genre = 'Fantasy'",
    )
    .await;
    check_pairs(&api, &pool, "Number of books per genre", "SELECT genre, COUNT(*) FROM books GROUP BY genre", false)
        .await;
    check_pairs(
        &api,
        &pool,
        "Top 3 books by pages",
        "SELECT title, pages FROM books ORDER BY pages DESC, book_id LIMIT 3",
        false,
    )
    .await;
    check_number(&api, &pool, "How many loans are there?", "SELECT COUNT(*) FROM loans").await;
    let (_, body) = api.chat("How many employees are there?").await;
    expect_error("employees", &body, "UNANSWERABLE");
    let (_, body) = api.chat("DROP TABLE books").await;
    expect_error("drop", &body, "SQL_REJECTED");
    check_number(&api, &pool, "SELECT COUNT(*) FROM books", "SELECT COUNT(*) FROM books").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_restaurants_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("restaurants.db");
    load_public_db("restaurants", &db_path).await;
    let stack = start_db_only(dir.path(), &db_path);
    let api = Api::new(&stack.server.url);
    let pool = open_sqlite(&db_path).await;

    check_number(&api, &pool, "How many restaurants are there?", "SELECT COUNT(*) FROM restaurant").await;
    check_number(&api, &pool, "What is the average rating of restaurants?", "SELECT AVG(rating) FROM restaurant").await;
    check_number(
        &api,
        &pool,
        "How many Italian restaurants are there?",
        "SELECT COUNT(*) FROM restaurant WHERE food_type = 'Italian'",
    )
    .await;
    check_pairs(
        &api,
        &pool,
        "Number of restaurants per city",
        "SELECT city_name, COUNT(*) FROM restaurant GROUP BY city_name",
        false,
    )
    .await;
    let q = "Top 3 restaurants by rating";
    let (_, body) = api.chat(q).await;
    let got = label_values(expect_ok(q, &body));
    assert_eq!(got.len(), 3, "{q}: {body:#}");
    let best = scalar(&pool, "SELECT MAX(rating) FROM restaurant").await;
    assert_close(q, got[0].1, best);
    assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "{q}: not sorted: {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_academic_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("academic.db");
    load_public_db("academic", &db_path).await;
    let stack = start_db_only(dir.path(), &db_path);
    let api = Api::new(&stack.server.url);
    let pool = open_sqlite(&db_path).await;

    check_number(&api, &pool, "How many authors are there?", "SELECT COUNT(*) FROM author").await;
    check_number(
        &api,
        &pool,
        "What is the average citation number of publications?",
        "SELECT AVG(citation_num) FROM publication",
    )
    .await;
    check_pairs(
        &api,
        &pool,
        "Number of publications per year",
        "SELECT year, COUNT(*) FROM publication GROUP BY year",
        false,
    )
    .await;
    let q = "Top 3 publications by citation number";
    let (_, body) = api.chat(q).await;
    let got = label_values(expect_ok(q, &body));
    assert_eq!(got.len(), 3, "{q}: {body:#}");
    assert_close(q, got[0].1, scalar(&pool, "SELECT MAX(citation_num) FROM publication").await);
    check_pairs(
        &api,
        &pool,
        "How many authors per organization?",
        "SELECT o.name, COUNT(*) FROM author a JOIN organization o ON o.oid = a.oid GROUP BY o.oid, o.name",
        false,
    )
    .await;
}
