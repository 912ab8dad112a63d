//! The sample database of DESIGN §6: customers, products, orders and order items,
//! deterministic (fixed seed) with dates relative to a given day.
//!
//! Written through a read-write sqlx SQLite connection (the only writer in this crate)
//! into `PATH.tmp`, then renamed into place, so a failure never leaves a half-written
//! database behind.
//!
//! Guarantees: ~200 customers, 60 products (6 per category), ~2000 orders spread over the
//! 18 months before `today`, with orders in the current and the previous month; products
//! 123 "Magic Wand Pro" (Toys), 456 "TechGadget X1" (Electronics), 789 "SuperSonic
//! Blaster" (Toys), 101 "Quantum Processor Q5" (Electronics) and 202 "Mystic Crystal
//! Ball" (Home & Garden) have order items in the current month; `orders.total_amount` =
//! Σ quantity × unit_price of its items, rounded to cents. Dates are ISO text:
//! `YYYY-MM-DD` for `order_date`, `YYYY-MM-DD HH:MM:SS` for `created_at`.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, SqliteConnection};

use talk2tables_common::Dialect;

use crate::DbError;

/// The fixed seed of the sample data.
pub const SEED: u64 = 20_261_130;

/// Order statuses, as stored in `orders.status`.
pub const STATUSES: [&str; 4] = ["pending", "shipped", "delivered", "cancelled"];

/// Product categories, as stored in `products.category`.
pub const CATEGORIES: [&str; 10] = [
    "Electronics",
    "Clothing",
    "Home & Garden",
    "Sports",
    "Books",
    "Health & Beauty",
    "Toys",
    "Automotive",
    "Food & Beverages",
    "Office Supplies",
];

/// The products the metadata server's aliases point at: (id, name, category, price in cents).
pub const FEATURED_PRODUCTS: [(i64, &str, &str, i64); 5] = [
    (123, "Magic Wand Pro", "Toys", 4999),
    (456, "TechGadget X1", "Electronics", 29999),
    (789, "SuperSonic Blaster", "Toys", 7950),
    (101, "Quantum Processor Q5", "Electronics", 54900),
    (202, "Mystic Crystal Ball", "Home & Garden", 3475),
];

const CUSTOMERS: i64 = 200;
const ORDERS: i64 = 2000;
const PRODUCTS_PER_CATEGORY: usize = 6;
/// Orders forced into the current month and into the previous month.
const ORDERS_PER_RECENT_MONTH: i64 = 40;
/// Orders are spread over this many days before `today` (18 months).
const SPAN_DAYS: i64 = 548;

/// Row counts of a created sample database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSummary {
    /// Rows in `customers`.
    pub customers: u64,
    /// Rows in `products`.
    pub products: u64,
    /// Rows in `orders`.
    pub orders: u64,
    /// Rows in `order_items`.
    pub order_items: u64,
}

const SCHEMA: &str = "
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    address TEXT,
    city TEXT,
    country TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    stock_quantity INTEGER NOT NULL,
    supplier TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
    order_date TEXT NOT NULL,
    total_amount REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled')),
    shipping_address TEXT
);
CREATE TABLE order_items (
    order_item_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(order_id),
    product_id INTEGER NOT NULL REFERENCES products(product_id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price REAL NOT NULL
);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE INDEX idx_orders_date ON orders(order_date);
CREATE INDEX idx_items_order ON order_items(order_id);
CREATE INDEX idx_items_product ON order_items(product_id);
";

const FIRST_NAMES: [&str; 24] = [
    "Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam", "Maya",
    "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wen", "Yusuf",
];
const LAST_NAMES: [&str; 20] = [
    "Smith", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Silva", "Johnson", "Nguyen", "Brown",
    "Martin", "Novak", "Jensen", "Okafor", "Larsen", "Costa", "Schmidt", "Ivanova", "Walker",
];
const PLACES: [(&str, &str); 12] = [
    ("New York", "USA"),
    ("Chicago", "USA"),
    ("Toronto", "Canada"),
    ("London", "UK"),
    ("Manchester", "UK"),
    ("Paris", "France"),
    ("Lyon", "France"),
    ("Berlin", "Germany"),
    ("Madrid", "Spain"),
    ("Rome", "Italy"),
    ("Tokyo", "Japan"),
    ("Sydney", "Australia"),
];
const STREETS: [&str; 8] = ["Main St", "Oak Ave", "Park Rd", "High St", "Elm St", "Lake Dr", "Hill Rd", "Pine Ln"];
const SUPPLIERS: [&str; 6] =
    ["Acme Corp", "Globex Supply", "Initech Trading", "Umbrella Goods", "Stark Wholesale", "Wayne Distribution"];
/// Per category: (nouns, lowest price in cents, highest price in cents).
const CATEGORY_ITEMS: [(&[&str], i64, i64); 10] = [
    (&["Headphones", "Smartwatch", "Tablet", "Speaker", "Charger", "Camera"], 1999, 89999),
    (&["T-Shirt", "Jacket", "Jeans", "Sweater", "Scarf", "Sneakers"], 999, 14999),
    (&["Plant Pot", "Garden Hose", "Lamp", "Rug", "Cushion", "Tool Set"], 799, 19999),
    (&["Yoga Mat", "Football", "Tennis Racket", "Dumbbells", "Bicycle Helmet", "Water Bottle"], 899, 24999),
    (&["Novel", "Cookbook", "Atlas", "Biography", "Poetry Collection", "Travel Guide"], 599, 4999),
    (&["Face Cream", "Shampoo", "Vitamins", "Perfume", "Hair Dryer", "Toothbrush"], 499, 12999),
    (&["Puzzle", "Building Blocks", "Doll House", "Board Game", "Kite", "Robot Kit"], 799, 9999),
    (&["Car Wax", "Floor Mats", "Dash Cam", "Tire Gauge", "Seat Covers", "Jump Starter"], 999, 19999),
    (&["Coffee Beans", "Green Tea", "Dark Chocolate", "Olive Oil", "Honey", "Granola"], 299, 3999),
    (&["Notebook", "Desk Organizer", "Stapler", "Pen Set", "Office Chair", "Monitor Stand"], 199, 29999),
];
const ADJECTIVES: [&str; 8] = ["Classic", "Deluxe", "Eco", "Smart", "Ultra", "Compact", "Premium", "Nova"];

/// Creates the sample database at `path` for the day `today` (the current month is
/// `today`'s month). Errors: [`DbError::InvalidDatabase`] if `path` already exists,
/// [`DbError::Io`] / [`DbError::Database`] when writing fails.
pub async fn create(path: &Path, today: NaiveDate) -> Result<SampleSummary, DbError> {
    if path.exists() {
        return Err(DbError::InvalidDatabase(format!("{} already exists", path.display())));
    }
    let tmp = temp_path(path);
    if tmp.exists() {
        std::fs::remove_file(&tmp)?;
    }
    match write(&tmp, today).await {
        Ok(summary) => {
            std::fs::rename(&tmp, path)?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Creates the sample database at `path` (for today's UTC date, matching SQLite's
/// `date('now')`) only if no file exists there. Returns whether it created one.
pub async fn ensure(path: &Path) -> Result<bool, DbError> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    create(path, chrono::Utc::now().date_naive()).await?;
    Ok(true)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

fn timestamp(date: NaiveDate, seconds: u32) -> String {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds % 86_400, 0).unwrap_or(NaiveTime::MIN);
    NaiveDateTime::new(date, time).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn cents_to_real(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// The first day of the month before `day`'s month.
fn previous_month_start(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    (first - Duration::days(1)).with_day(1).unwrap_or(first)
}

/// One generated customer row (values as stored).
struct CustomerRow {
    id: i64,
    first: &'static str,
    last: &'static str,
    email: String,
    phone: String,
    address: String,
    city: &'static str,
    country: &'static str,
    created_at: String,
}

/// One generated product row; `cents` is the price in cents.
struct ProductRow {
    id: i64,
    name: String,
    description: String,
    category: &'static str,
    cents: i64,
    stock: i64,
    supplier: &'static str,
    created_at: String,
}

/// One generated order with its items `(order_item_id, product_id, quantity, unit cents)`.
struct OrderRow {
    id: i64,
    customer: i64,
    date: NaiveDate,
    total_cents: i64,
    status: &'static str,
    address: String,
    items: Vec<(i64, i64, i64, i64)>,
}

/// The whole sample, generated in memory (deterministic for a given `today`).
struct SampleData {
    customers: Vec<CustomerRow>,
    products: Vec<ProductRow>,
    orders: Vec<OrderRow>,
}

impl SampleData {
    fn summary(&self) -> SampleSummary {
        SampleSummary {
            customers: self.customers.len() as u64,
            products: self.products.len() as u64,
            orders: self.orders.len() as u64,
            order_items: self.orders.iter().map(|o| o.items.len() as u64).sum(),
        }
    }
}

fn generate(today: NaiveDate) -> SampleData {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);

    // Customers.
    let mut customers = Vec::with_capacity(CUSTOMERS as usize);
    for id in 1..=CUSTOMERS {
        let first = *FIRST_NAMES.choose(&mut rng).unwrap_or(&"Alex");
        let last = *LAST_NAMES.choose(&mut rng).unwrap_or(&"Doe");
        let (city, country) = *PLACES.choose(&mut rng).unwrap_or(&PLACES[0]);
        let street = *STREETS.choose(&mut rng).unwrap_or(&STREETS[0]);
        let address = format!("{} {street}", rng.random_range(1..=999));
        let email = format!("{}.{}{id}@example.com", first.to_lowercase(), last.to_lowercase().replace('ü', "ue"));
        let phone = format!("+1-555-{:04}", rng.random_range(0..10_000));
        let created = today - Duration::days(rng.random_range(60..=900));
        let created_at = timestamp(created, rng.random_range(0..86_400));
        customers.push(CustomerRow { id, first, last, email, phone, address, city, country, created_at });
    }

    // Products: the featured five plus generated ones (ids 1.., never clashing with them).
    let mut products: Vec<ProductRow> = Vec::new();
    let mut next_id = 1_i64;
    for (cat_index, category) in CATEGORIES.iter().enumerate() {
        let featured: Vec<_> = FEATURED_PRODUCTS.iter().filter(|p| p.2 == *category).collect();
        for (id, name, _, cents) in &featured {
            products.push(product_row(&mut rng, *id, name, category, *cents, today));
        }
        let (nouns, low, high) = CATEGORY_ITEMS[cat_index];
        for noun in nouns.iter().take(PRODUCTS_PER_CATEGORY - featured.len()) {
            while FEATURED_PRODUCTS.iter().any(|p| p.0 == next_id) {
                next_id += 1;
            }
            let adjective = *ADJECTIVES.choose(&mut rng).unwrap_or(&"Classic");
            let name = format!("{adjective} {noun}");
            let cents = rng.random_range(low..=high) / 25 * 25 + 24;
            products.push(product_row(&mut rng, next_id, &name, category, cents, today));
            next_id += 1;
        }
    }

    // Orders and items.
    let month_start = today.with_day(1).unwrap_or(today);
    let last_month_start = previous_month_start(today);
    let span_days = SPAN_DAYS;
    let featured_index: Vec<usize> =
        FEATURED_PRODUCTS.iter().filter_map(|f| products.iter().position(|p| p.id == f.0)).collect();
    let mut item_id = 1_i64;
    let mut orders = Vec::with_capacity(ORDERS as usize);
    for order_id in 1..=ORDERS {
        let date = if order_id <= ORDERS_PER_RECENT_MONTH {
            let days = (today - month_start).num_days();
            month_start + Duration::days(rng.random_range(0..=days))
        } else if order_id <= 2 * ORDERS_PER_RECENT_MONTH {
            let days = (month_start - last_month_start).num_days() - 1;
            last_month_start + Duration::days(rng.random_range(0..=days))
        } else {
            today - Duration::days(rng.random_range(0..=span_days))
        };
        let age = (today - date).num_days();
        let status = if age < 3 {
            if rng.random_bool(0.7) { "pending" } else { "shipped" }
        } else if age < 10 {
            *["pending", "shipped", "shipped", "delivered", "cancelled"].choose(&mut rng).unwrap_or(&"shipped")
        } else {
            let roll = rng.random_range(0..100);
            match roll {
                0..=79 => "delivered",
                80..=91 => "cancelled",
                92..=96 => "shipped",
                _ => "pending",
            }
        };
        let customer = rng.random_range(1..=CUSTOMERS);
        let address = customers
            .get((customer - 1) as usize)
            .map(|c| format!("{}, {}, {}", c.address, c.city, c.country))
            .unwrap_or_default();

        let mut chosen: Vec<usize> = Vec::new();
        if order_id <= ORDERS_PER_RECENT_MONTH && !featured_index.is_empty() {
            chosen.push(featured_index[(order_id as usize - 1) % featured_index.len()]);
        }
        let item_count = rng.random_range(1..=4);
        while chosen.len() < item_count {
            let pick = rng.random_range(0..products.len());
            if !chosen.contains(&pick) {
                chosen.push(pick);
            }
        }
        let mut items = Vec::with_capacity(chosen.len());
        let mut total_cents = 0_i64;
        for index in chosen {
            let product = &products[index];
            let quantity = rng.random_range(1..=5_i64);
            // Occasional 10 % discount, kept in whole cents.
            let unit_cents = if rng.random_bool(0.1) { product.cents * 9 / 10 } else { product.cents };
            total_cents += quantity * unit_cents;
            items.push((item_id, product.id, quantity, unit_cents));
            item_id += 1;
        }
        orders.push(OrderRow { id: order_id, customer, date, total_cents, status, address, items });
    }
    SampleData { customers, products, orders }
}

fn product_row(
    rng: &mut ChaCha8Rng,
    id: i64,
    name: &str,
    category: &'static str,
    cents: i64,
    today: NaiveDate,
) -> ProductRow {
    let supplier = *SUPPLIERS.choose(rng).unwrap_or(&SUPPLIERS[0]);
    let created = today - Duration::days(rng.random_range(560..=1000));
    let created_at = timestamp(created, rng.random_range(0..86_400));
    ProductRow {
        id,
        name: name.to_string(),
        description: format!("{name} from our {category} range"),
        category,
        cents,
        stock: rng.random_range(0..=500_i64),
        supplier,
        created_at,
    }
}

async fn write(path: &Path, today: NaiveDate) -> Result<SampleSummary, DbError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let data = generate(today);
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    for c in &data.customers {
        sqlx::query(
            "INSERT INTO customers (customer_id, first_name, last_name, email, phone, address, city, country, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id)
        .bind(c.first)
        .bind(c.last)
        .bind(&c.email)
        .bind(&c.phone)
        .bind(&c.address)
        .bind(c.city)
        .bind(c.country)
        .bind(&c.created_at)
        .execute(&mut *tx)
        .await?;
    }
    for p in &data.products {
        sqlx::query(
            "INSERT INTO products (product_id, name, description, category, price, stock_quantity, supplier, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.category)
        .bind(cents_to_real(p.cents))
        .bind(p.stock)
        .bind(p.supplier)
        .bind(&p.created_at)
        .execute(&mut *tx)
        .await?;
    }
    for o in &data.orders {
        sqlx::query(
            "INSERT INTO orders (order_id, customer_id, order_date, total_amount, status, shipping_address) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(o.id)
        .bind(o.customer)
        .bind(o.date.format("%Y-%m-%d").to_string())
        .bind(cents_to_real(o.total_cents))
        .bind(o.status)
        .bind(&o.address)
        .execute(&mut *tx)
        .await?;
        for (item_id, product_id, quantity, unit_cents) in &o.items {
            sqlx::query(
                "INSERT INTO order_items (order_item_id, order_id, product_id, quantity, unit_price) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(item_id)
            .bind(o.id)
            .bind(product_id)
            .bind(quantity)
            .bind(cents_to_real(*unit_cents))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(data.summary())
}

/// The sample tables for a server database: dates as `DATE`/`TIMESTAMP`, money as
/// exact decimals (so `SUM(quantity * unit_price)` is exact and `ROUND` works).
fn server_schema(dialect: Dialect) -> Vec<String> {
    let (text, stamp, ddl_tail) = match dialect {
        Dialect::Mysql => ("VARCHAR(255)", "DATETIME", " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"),
        _ => ("TEXT", "TIMESTAMP", ""),
    };
    let customers = format!(
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_name {text} NOT NULL, \
         last_name {text} NOT NULL, email {text} NOT NULL UNIQUE, phone {text}, address {text}, city {text}, \
         country {text}, created_at {stamp} NOT NULL){ddl_tail}"
    );
    let products = format!(
        "CREATE TABLE products (product_id INTEGER PRIMARY KEY, name {text} NOT NULL, description {text}, \
         category {text} NOT NULL, price DECIMAL(10, 2) NOT NULL, stock_quantity INTEGER NOT NULL, \
         supplier {text}, created_at {stamp} NOT NULL){ddl_tail}"
    );
    let orders = format!(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, \
         order_date DATE NOT NULL, total_amount DECIMAL(12, 2) NOT NULL, \
         status {text} NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled')), \
         shipping_address {text}, FOREIGN KEY (customer_id) REFERENCES customers(customer_id)){ddl_tail}"
    );
    let items = format!(
        "CREATE TABLE order_items (order_item_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, \
         product_id INTEGER NOT NULL, quantity INTEGER NOT NULL CHECK (quantity > 0), \
         unit_price DECIMAL(10, 2) NOT NULL, FOREIGN KEY (order_id) REFERENCES orders(order_id), \
         FOREIGN KEY (product_id) REFERENCES products(product_id)){ddl_tail}"
    );
    let mut out = vec![customers, products, orders, items];
    out.extend(
        [
            "CREATE INDEX idx_orders_customer ON orders(customer_id)",
            "CREATE INDEX idx_orders_date ON orders(order_date)",
            "CREATE INDEX idx_items_order ON order_items(order_id)",
            "CREATE INDEX idx_items_product ON order_items(product_id)",
        ]
        .map(String::from),
    );
    out
}

/// A SQL string literal for our own generated values (quotes doubled; backslashes
/// doubled for MySQL).
fn lit(dialect: Dialect, value: &str) -> String {
    let mut v = value.replace('\'', "''");
    if dialect == Dialect::Mysql {
        v = v.replace('\\', "\\\\");
    }
    format!("'{v}'")
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// `INSERT INTO table (columns) VALUES …` statements of at most 500 rows each.
fn batched_inserts(table: &str, columns: &str, rows: Vec<String>) -> Vec<String> {
    rows.chunks(500).map(|chunk| format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(", "))).collect()
}

/// Creates the sample tables and rows in the PostgreSQL or MySQL/MariaDB database at
/// `url` (the URL's user must be allowed to create tables), for the day `today`, unless
/// a table named `orders` already exists there. Returns whether it created them.
///
/// The data are exactly those of [`create`] for the same day; `order_date` is a `DATE`,
/// `created_at` a `TIMESTAMP`/`DATETIME`, money columns `DECIMAL`. Errors:
/// [`DbError::InvalidDatabase`] for a SQLite path or a malformed URL,
/// [`DbError::Database`] when the server refuses (message from the server),
/// [`DbError::Timeout`] when it cannot be reached within a few seconds.
pub async fn ensure_url(url: &str, today: NaiveDate) -> Result<bool, DbError> {
    let dialect = Dialect::from_url(url);
    let data = generate(today);
    let mut statements = server_schema(dialect);
    let rows = data
        .customers
        .iter()
        .map(|c| {
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {})",
                c.id,
                lit(dialect, c.first),
                lit(dialect, c.last),
                lit(dialect, &c.email),
                lit(dialect, &c.phone),
                lit(dialect, &c.address),
                lit(dialect, c.city),
                lit(dialect, c.country),
                lit(dialect, &c.created_at)
            )
        })
        .collect();
    statements.extend(batched_inserts(
        "customers",
        "customer_id, first_name, last_name, email, phone, address, city, country, created_at",
        rows,
    ));
    let rows = data
        .products
        .iter()
        .map(|p| {
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {})",
                p.id,
                lit(dialect, &p.name),
                lit(dialect, &p.description),
                lit(dialect, p.category),
                money(p.cents),
                p.stock,
                lit(dialect, p.supplier),
                lit(dialect, &p.created_at)
            )
        })
        .collect();
    statements.extend(batched_inserts(
        "products",
        "product_id, name, description, category, price, stock_quantity, supplier, created_at",
        rows,
    ));
    let rows = data
        .orders
        .iter()
        .map(|o| {
            format!(
                "({}, {}, {}, {}, {}, {})",
                o.id,
                o.customer,
                lit(dialect, &o.date.format("%Y-%m-%d").to_string()),
                money(o.total_cents),
                lit(dialect, o.status),
                lit(dialect, &o.address)
            )
        })
        .collect();
    statements.extend(batched_inserts(
        "orders",
        "order_id, customer_id, order_date, total_amount, status, shipping_address",
        rows,
    ));
    let rows = data
        .orders
        .iter()
        .flat_map(|o| {
            o.items.iter().map(move |(item, product, quantity, cents)| {
                format!("({item}, {}, {product}, {quantity}, {})", o.id, money(*cents))
            })
        })
        .collect();
    statements.extend(batched_inserts(
        "order_items",
        "order_item_id, order_id, product_id, quantity, unit_price",
        rows,
    ));
    let timeout = std::time::Duration::from_secs(60);
    let run = async {
        match dialect {
            Dialect::Postgresql => load_postgres(url, &statements).await,
            Dialect::Mysql => load_mysql(url, &statements).await,
            Dialect::Sqlite => Err(DbError::InvalidDatabase("ensure_url takes a PostgreSQL or MySQL URL".into())),
        }
    };
    tokio::time::timeout(timeout, run).await.map_err(|_| DbError::Timeout(timeout))?
}

fn connect_error(e: sqlx::Error) -> DbError {
    DbError::Database(crate::error::driver_message(&e))
}

/// Runs `statements` in one transaction on `conn`, commits and closes; `Ok(true)`.
async fn load_in_transaction<C>(mut conn: C, statements: &[String]) -> Result<bool, DbError>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let mut tx = conn.begin().await?;
    for s in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone())).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(true)
}

async fn load_postgres(url: &str, statements: &[String]) -> Result<bool, DbError> {
    use sqlx::postgres::{PgConnectOptions, PgConnection};
    let options: PgConnectOptions =
        url.parse().map_err(|_| DbError::InvalidDatabase("the PostgreSQL URL could not be parsed".into()))?;
    let mut conn = tokio::time::timeout(crate::postgres::CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| DbError::Timeout(crate::postgres::CONNECT_TIMEOUT))?
        .map_err(connect_error)?;
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('orders')::text").fetch_one(&mut conn).await?;
    if exists.is_some() {
        conn.close().await?;
        return Ok(false);
    }
    load_in_transaction(conn, statements).await
}

async fn load_mysql(url: &str, statements: &[String]) -> Result<bool, DbError> {
    use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
    let url = match url.trim().strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.trim().to_string(),
    };
    let options: MySqlConnectOptions =
        url.parse().map_err(|_| DbError::InvalidDatabase("the MySQL URL could not be parsed".into()))?;
    let mut conn = tokio::time::timeout(crate::postgres::CONNECT_TIMEOUT, MySqlConnection::connect_with(&options))
        .await
        .map_err(|_| DbError::Timeout(crate::postgres::CONNECT_TIMEOUT))?
        .map_err(connect_error)?;
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders'",
    )
    .fetch_one(&mut conn)
    .await?;
    if exists > 0 {
        conn.close().await?;
        return Ok(false);
    }
    load_in_transaction(conn, statements).await
}
