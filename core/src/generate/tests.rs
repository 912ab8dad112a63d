//! End-to-end tests of resolution + the offline engine: each question's generated SQL is
//! executed on a real SQLite database and its rows compared with a hand-written query's.

use chrono::Utc;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef};
use talk2tables_common::{ColumnSchema, DatabaseSchema, Dialect, ForeignKey, QueryOutput, TableSchema};

use crate::context::{Context, FetchedResource};
use crate::error::ErrorKind;
use crate::resolve::resolve;

pub(crate) async fn pool(script: &str) -> SqlitePool {
    let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(script.to_string())).execute(&pool).await.unwrap();
    pool
}

pub(crate) async fn rows(pool: &SqlitePool, sql: &str) -> Vec<Vec<String>> {
    let out =
        sqlx::query(AssertSqlSafe(sql.to_string())).fetch_all(pool).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
    out.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    let raw = r.try_get_raw(i).unwrap();
                    if raw.is_null() {
                        return "NULL".into();
                    }
                    match raw.type_info().name() {
                        "INTEGER" => r.get::<i64, _>(i).to_string(),
                        "REAL" => format!("{:.4}", r.get::<f64, _>(i)),
                        _ => r.get::<String, _>(i),
                    }
                })
                .collect()
        })
        .collect()
}

/// Introspects a SQLite database into the `database://schema` JSON shape.
async fn introspect(pool: &SqlitePool) -> DatabaseSchema {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = Vec::new();
    for name in names {
        let cols =
            sqlx::query(AssertSqlSafe(format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{name}')")))
                .fetch_all(pool)
                .await
                .unwrap();
        let columns: Vec<ColumnSchema> = cols
            .iter()
            .map(|c| ColumnSchema {
                name: c.get("name"),
                data_type: c.get("type"),
                nullable: c.get::<i64, _>("notnull") == 0,
                primary_key: c.get::<i64, _>("pk") > 0,
            })
            .collect();
        let fks = sqlx::query(AssertSqlSafe(format!(
            "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list('{name}')"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let foreign_keys = fks
            .iter()
            .map(|f| ForeignKey {
                columns: vec![f.get("from")],
                references_table: f.get("table"),
                references_columns: vec![f.get("to")],
            })
            .collect();
        let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{name}\"")))
            .fetch_one(pool)
            .await
            .unwrap();
        let primary_key = columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect();
        tables.push(TableSchema { name, columns, primary_key, foreign_keys, row_count: Some(count as u64) });
    }
    DatabaseSchema { dialect: Dialect::Sqlite, tables }
}

fn resource(server: &str, uri: &str, text: String) -> FetchedResource {
    FetchedResource {
        server_id: server.into(),
        uri: uri.into(),
        name: uri.into(),
        mime_type: Some("application/json".into()),
        text,
    }
}

/// Builds the context as the pipeline would: resources, then the value probes run.
pub(crate) async fn context(pool: &SqlitePool, metadata: &[(&str, String)]) -> Context {
    let schema = introspect(pool).await;
    let mut res = vec![resource("database_mcp", "database://schema", serde_json::to_string(&schema).unwrap())];
    for (uri, text) in metadata {
        res.push(resource("product_metadata_mcp", uri, text.clone()));
    }
    let mut ctx = Context::from_resources(&res).unwrap();
    for probe in ctx.value_probes() {
        let got = rows(pool, &probe.sql).await;
        let output = QueryOutput {
            columns: vec![probe.column.clone()],
            row_count: got.len(),
            rows: got.into_iter().map(|r| r.into_iter().map(serde_json::Value::String).collect()).collect(),
            truncated: false,
            total_rows: None,
        };
        ctx.add_values(&probe, &output);
    }
    ctx
}

/// Generates SQL for `q`, runs it and the `expected` SQL, and compares the rows (sorted
/// unless `ordered`). Returns the generated SQL.
async fn check(pool: &SqlitePool, ctx: &Context, q: &str, expected: &str, ordered: bool) -> String {
    let r = resolve(q, ctx, Utc::now().date_naive());
    let g = crate::generate::generate_offline(q, ctx, &r).unwrap_or_else(|e| panic!("{q}: {e}"));
    let sql = crate::sql::validate::with_default_limit(&g.sql, Dialect::Sqlite, 1000).unwrap();
    let mut got = rows(pool, &sql).await;
    let mut want = rows(pool, expected).await;
    assert!(!want.is_empty(), "expected query returns no rows: {expected}");
    if !ordered {
        got.sort();
        want.sort();
    }
    assert_eq!(got, want, "\nquestion: {q}\ngenerated:\n{}\nexplanation: {}", g.sql, g.explanation);
    g.sql
}

fn unanswerable(ctx: &Context, q: &str) {
    let r = resolve(q, ctx, Utc::now().date_naive());
    let e = crate::generate::generate_offline(q, ctx, &r).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unanswerable, "{q}: {e}");
}

pub(crate) const SAMPLE: &str = "
CREATE TABLE customers(customer_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT UNIQUE,
  phone TEXT, address TEXT, city TEXT, country TEXT, created_at TEXT);
CREATE TABLE products(product_id INTEGER PRIMARY KEY, name TEXT, description TEXT, category TEXT,
  price DECIMAL(10,2), stock_quantity INTEGER, supplier TEXT, created_at TEXT);
CREATE TABLE orders(order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(customer_id),
  order_date DATE, total_amount DECIMAL(10,2), status TEXT, shipping_address TEXT);
CREATE TABLE order_items(order_item_id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(order_id),
  product_id INTEGER REFERENCES products(product_id), quantity INTEGER, unit_price DECIMAL(10,2));
INSERT INTO customers VALUES
 (1,'Ada','Lovelace','ada@x.org','1','1 St','London','UK','2024-01-01'),
 (2,'Alan','Turing','alan@x.org','2','2 St','Manchester','UK','2024-01-02'),
 (3,'Grace','Hopper','grace@x.org','3','3 St','New York','USA','2024-01-03'),
 (4,'Linus','Torvalds','linus@x.org','4','4 St','Portland','USA','2024-01-04');
INSERT INTO products VALUES
 (123,'Magic Wand Pro','A wand','Toys',49.99,10,'Acme','2024-01-01'),
 (456,'TechGadget X1','A gadget','Electronics',199.0,5,'Acme','2024-01-01'),
 (789,'SuperSonic Blaster','Loud','Electronics',99.5,5,'Beta','2024-01-01'),
 (101,'Quantum Processor Q5','Fast','Electronics',500.0,2,'Beta','2024-01-01'),
 (202,'Mystic Crystal Ball','Shiny','Home & Garden',25.0,7,'Gamma','2024-01-01'),
 (303,'Running Shoes','Quick','Sports',80.0,7,'Gamma','2024-01-01');
INSERT INTO orders VALUES
 (1,1,date('now','start of month'),149.97,'delivered','a'),
 (2,2,date('now','start of month'),199.0,'shipped','b'),
 (3,3,date('now','start of month','-1 months'),49.99,'cancelled','c'),
 (4,1,date('now','start of month','-1 months','+3 days'),598.5,'delivered','d'),
 (5,4,date('now','start of month','-14 months'),80.0,'cancelled','e'),
 (6,3,date('now','start of month','-2 months'),25.0,'pending','f');
INSERT INTO order_items VALUES
 (1,1,123,3,49.99),(2,2,456,1,199.0),(3,3,123,1,49.99),(4,4,101,1,500.0),(5,4,789,1,98.5),
 (6,5,303,1,80.0),(7,6,202,1,25.0);
";

pub(crate) fn sample_metadata() -> Vec<(&'static str, String)> {
    let aliases = serde_json::json!({"aliases": {
        "abracadabra": {"canonical_id": "PROD_123", "canonical_name": "Magic Wand Pro",
            "aliases": ["abra", "cadabra", "magic_wand", "magic wand pro"],
            "database_references": {"products.name": "Magic Wand Pro", "products.product_id": 123}, "categories": ["toys"]},
        "techgadget": {"canonical_id": "PROD_456", "canonical_name": "TechGadget X1", "aliases": ["tech_gadget", "gadget_x1", "x1"],
            "database_references": {"products.product_id": 456}},
        "supersonic": {"canonical_id": "PROD_789", "canonical_name": "SuperSonic Blaster", "aliases": ["sonic_blaster", "blaster"],
            "database_references": {"products.product_id": 789}},
        "quantum": {"canonical_id": "PROD_101", "canonical_name": "Quantum Processor Q5", "aliases": ["q5", "quantum processor"],
            "database_references": {"products.product_id": 101}},
        "mystic": {"canonical_id": "PROD_202", "canonical_name": "Mystic Crystal Ball", "aliases": ["crystal_ball", "mystic crystal"],
            "database_references": {"products.product_id": 202}}},
        "description": "Product aliases"});
    let mappings = serde_json::json!({"mappings": {
        "sales": "SUM(order_items.quantity * order_items.unit_price)",
        "revenue": "SUM(order_items.quantity * order_items.unit_price)",
        "average order value": "AVG(orders.total_amount)",
        "sales amount": "orders.total_amount",
        "profit margin": "products.cost - products.price",
        "this month": "DATE_TRUNC('month', {date_column}) = DATE_TRUNC('month', CURRENT_DATE)"},
        "description": "Column mappings"});
    vec![("product-aliases://list", aliases.to_string()), ("column-mappings://list", mappings.to_string())]
}

#[tokio::test]
async fn sample_database_questions() {
    let pool = pool(SAMPLE).await;
    let ctx = context(&pool, &sample_metadata()).await;
    let q = "Show me total sales for abracadabra this month";
    let r = resolve(q, &ctx, Utc::now().date_naive());
    let ents = r.entities();
    assert!(
        ents.iter().any(|e| e.original_term == "abracadabra"
            && e.resolved_value == "123"
            && e.entity_type == "product"
            && e.source == "product_metadata_mcp"),
        "{ents:?}"
    );
    assert!(ents.iter().any(|e| e.entity_type == "date_range" && e.source == "core"), "{ents:?}");
    assert!(ents.iter().any(|e| e.entity_type == "business_term" && e.original_term == "sales"), "{ents:?}");
    let sql = check(
        &pool,
        &ctx,
        q,
        "SELECT SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN orders o ON o.order_id = oi.order_id
         WHERE oi.product_id = 123 AND o.order_date >= date('now','start of month')",
        false,
    )
    .await;
    assert!(sql.contains("order_items.product_id = 123"), "{sql}");
    assert!(sql.contains("date('now', 'start of month')"), "{sql}");
    // typo in the alias
    check(&pool, &ctx, "total sales for abracadabr this month",
        "SELECT SUM(quantity * unit_price) FROM order_items oi JOIN orders o USING(order_id) WHERE product_id = 123 AND o.order_date >= date('now','start of month')", false).await;
    check(&pool, &ctx, "How many customers are there?", "SELECT COUNT(*) FROM customers", false).await;
    check(
        &pool,
        &ctx,
        "How many orders were cancelled?",
        "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'",
        false,
    )
    .await;
    check(&pool, &ctx, "Top 5 products by revenue",
        "SELECT p.product_id, p.name, SUM(oi.quantity * oi.unit_price) AS r FROM order_items oi JOIN products p USING(product_id)
         GROUP BY 1, 2 ORDER BY r DESC LIMIT 5", true).await;
    check(&pool, &ctx, "Total sales per category",
        "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN products p USING(product_id) GROUP BY 1", false).await;
    check(
        &pool,
        &ctx,
        "Number of orders per month",
        "SELECT strftime('%Y-%m', order_date), COUNT(*) FROM orders GROUP BY 1",
        false,
    )
    .await;
    check(
        &pool,
        &ctx,
        "Average order value by country",
        "SELECT c.country, AVG(o.total_amount) FROM orders o JOIN customers c USING(customer_id) GROUP BY 1",
        false,
    )
    .await;
    check(
        &pool,
        &ctx,
        "What is the average price of products in the Electronics category?",
        "SELECT AVG(price) FROM products WHERE category = 'Electronics'",
        false,
    )
    .await;
    check(&pool, &ctx, "orders last month",
        "SELECT * FROM orders WHERE order_date >= date('now','start of month','-1 months') AND order_date < date('now','start of month')", false).await;
    check(
        &pool,
        &ctx,
        "10 most expensive products",
        "SELECT name, price FROM products ORDER BY price DESC LIMIT 10",
        true,
    )
    .await;
    check(&pool, &ctx, "products with price over 100", "SELECT * FROM products WHERE price > 100", false).await;
    check(
        &pool,
        &ctx,
        "products with price between 20 and 90",
        "SELECT * FROM products WHERE price BETWEEN 20 AND 90",
        false,
    )
    .await;
    unanswerable(&ctx, "How many employees are there?");
    unanswerable(&ctx, "what is the weather in Paris");
    // Without the metadata, "revenue" names nothing: ranking by it is not a guess.
    let bare = context(&pool, &[]).await;
    unanswerable(&bare, "Top 5 products by revenue");
    check(
        &pool,
        &bare,
        "Top 3 products by price",
        "SELECT name, price FROM products ORDER BY price DESC LIMIT 3",
        true,
    )
    .await;
}

fn public_db(file: &str) -> String {
    let path = format!("/work/shared/data/public-dbs/{file}");
    std::fs::read_to_string(path).unwrap().replace("public.", "")
}

#[tokio::test]
async fn restaurants_questions() {
    let pool = pool(&public_db("restaurants.sql")).await;
    let ctx = context(&pool, &[]).await;
    check(&pool, &ctx, "How many restaurants are there?", "SELECT COUNT(*) FROM restaurant", false).await;
    check(&pool, &ctx, "What is the average rating of restaurants?", "SELECT AVG(rating) FROM restaurant", false).await;
    check(
        &pool,
        &ctx,
        "How many Italian restaurants are there?",
        "SELECT COUNT(*) FROM restaurant WHERE food_type = 'Italian'",
        false,
    )
    .await;
    check(
        &pool,
        &ctx,
        "restaurants that serve Italian food",
        "SELECT * FROM restaurant WHERE food_type = 'Italian'",
        false,
    )
    .await;
    check(
        &pool,
        &ctx,
        "Top 3 restaurants by rating",
        "SELECT name, rating FROM restaurant ORDER BY rating DESC LIMIT 3",
        true,
    )
    .await;
    check(
        &pool,
        &ctx,
        "Number of restaurants per city",
        "SELECT city_name, COUNT(*) FROM restaurant GROUP BY 1",
        false,
    )
    .await;
    check(
        &pool,
        &ctx,
        "restaurants in San Francisco",
        "SELECT * FROM restaurant WHERE city_name = 'San Francisco'",
        false,
    )
    .await;
    check(&pool, &ctx, "How many restaurants are in California?",
        "SELECT COUNT(DISTINCT r.id) FROM restaurant r JOIN geographic g ON g.city_name = r.city_name WHERE g.region = 'California'", false).await;
    check(&pool, &ctx, "restaurants with rating above 4.4", "SELECT * FROM restaurant WHERE rating > 4.4", false).await;
    unanswerable(&ctx, "How many employees are there?");
}

#[tokio::test]
async fn academic_questions() {
    let pool = pool(&public_db("academic.sql")).await;
    let ctx = context(&pool, &[]).await;
    check(&pool, &ctx, "How many authors are there?", "SELECT COUNT(*) FROM author", false).await;
    check(
        &pool,
        &ctx,
        "Number of publications per year",
        "SELECT year, COUNT(*) FROM publication GROUP BY year",
        false,
    )
    .await;
    check(
        &pool,
        &ctx,
        "Top 5 publications by citation number",
        "SELECT title, citation_num FROM publication ORDER BY citation_num DESC LIMIT 5",
        true,
    )
    .await;
    check(&pool, &ctx, "average citation_num of publications", "SELECT AVG(citation_num) FROM publication", false)
        .await;
    check(&pool, &ctx, "publications in 2021", "SELECT * FROM publication WHERE year = 2021", false).await;
    check(
        &pool,
        &ctx,
        "How many authors per organization?",
        "SELECT o.oid, o.name, COUNT(DISTINCT a.aid) FROM author a JOIN organization o ON o.oid = a.oid GROUP BY 1, 2",
        false,
    )
    .await;
}

const LIBRARY: &str = "
CREATE TABLE authors(author_id INTEGER PRIMARY KEY, name TEXT, country TEXT);
CREATE TABLE books(book_id INTEGER PRIMARY KEY, title TEXT, genre TEXT, pages INTEGER, published_year INTEGER,
  author_id INTEGER REFERENCES authors(author_id));
CREATE TABLE loans(loan_id INTEGER PRIMARY KEY, book_id INTEGER, member TEXT, loaned_on DATE);
INSERT INTO authors VALUES (1,'Ursula Le Guin','USA'),(2,'Terry Pratchett','UK'),(3,'Jane Austen','UK');
INSERT INTO books VALUES (1,'A Wizard of Earthsea','Fantasy',200,1968,1),(2,'The Dispossessed','Science Fiction',340,1974,1),
 (3,'Mort','Fantasy',250,1987,2),(4,'Small Gods','Fantasy',280,1992,2),(5,'Emma','Romance',470,1815,3);
INSERT INTO loans VALUES (1,1,'bob',date('now')),(2,3,'eve',date('now','start of month','-1 months')),
 (3,5,'bob',date('now','start of month','-1 months','+2 days')),(4,4,'amy',date('now','-400 days'));
";

#[tokio::test]
async fn library_questions() {
    let pool = pool(LIBRARY).await;
    let ctx = context(&pool, &[]).await;
    check(&pool, &ctx, "How many books are there?", "SELECT COUNT(*) FROM books", false).await;
    check(&pool, &ctx, "Number of books per genre", "SELECT genre, COUNT(*) FROM books GROUP BY genre", false).await;
    check(&pool, &ctx, "How many fantasy books?", "SELECT COUNT(*) FROM books WHERE genre = 'Fantasy'", false).await;
    check(&pool, &ctx, "Top 2 books by pages", "SELECT title, pages FROM books ORDER BY pages DESC LIMIT 2", true)
        .await;
    check(&pool, &ctx, "How many books per author?",
        "SELECT a.author_id, a.name, COUNT(DISTINCT b.book_id) FROM books b JOIN authors a USING(author_id) GROUP BY 1, 2", false).await;
    check(
        &pool,
        &ctx,
        "average pages of books by country",
        "SELECT a.country, AVG(b.pages) FROM books b JOIN authors a USING(author_id) GROUP BY 1",
        false,
    )
    .await;
    check(&pool, &ctx, "loans last month",
        "SELECT * FROM loans WHERE loaned_on >= date('now','start of month','-1 months') AND loaned_on < date('now','start of month')", false).await;
    check(&pool, &ctx, "books published in 1987", "SELECT * FROM books WHERE published_year = 1987", false).await;
    check(
        &pool,
        &ctx,
        "How many loans of fantasy books?",
        "SELECT COUNT(*) FROM loans l JOIN books b USING(book_id) WHERE b.genre = 'Fantasy'",
        false,
    )
    .await;
    unanswerable(&ctx, "How many employees are there?");
}

#[test]
fn context_recognises_resources_by_content() {
    let nested = serde_json::json!({"column_mappings": {"user_friendly_terms": {"revenue": "SUM(t.x)"},
        "aggregation_terms": {"total": "SUM"}, "table_relationships": {"t_u": "t.u_id = u.id"}}});
    let original_schema = serde_json::json!({"tables": {"t": {"columns": [{"name": "x", "type": "REAL"}, {"name": "u_id", "type": "INTEGER"}], "row_count": 3},
        "u": {"columns": [{"name": "id", "type": "INTEGER", "primary_key": true}, {"name": "name", "type": "TEXT"}]}}});
    let res = vec![
        resource("meta", "resource://column_mappings", nested.to_string()),
        resource("db", "x://whatever", original_schema.to_string()),
        resource("db", "x://junk", "not json".into()),
    ];
    let ctx = Context::from_resources(&res).unwrap();
    assert_eq!(ctx.schema().tables.len(), 2);
    assert_eq!(ctx.terms.len(), 1);
    assert_eq!(ctx.terms_source, "meta");
    assert!(ctx.edges.iter().any(|e| e.cost == 10));
    let err = Context::from_resources(&res[..1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::McpProtocolError);
}
