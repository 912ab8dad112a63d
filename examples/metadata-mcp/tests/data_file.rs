//! The embedded `examples/data/product_metadata.json` matches the sample database.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use talk2tables_metadata_mcp::{BUILTIN_METADATA_JSON, MetadataServer};

/// The sample database's columns, DESIGN.md §6.
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "customers",
        &["customer_id", "first_name", "last_name", "email", "phone", "address", "city", "country", "created_at"],
    ),
    (
        "products",
        &["product_id", "name", "description", "category", "price", "stock_quantity", "supplier", "created_at"],
    ),
    ("orders", &["order_id", "customer_id", "order_date", "total_amount", "status", "shipping_address"]),
    ("order_items", &["order_item_id", "order_id", "product_id", "quantity", "unit_price"]),
];

/// The product ids the sample data guarantees (DESIGN.md §6).
const PRODUCTS: &[(&str, i64, &str)] = &[
    ("abracadabra", 123, "Magic Wand Pro"),
    ("techgadget", 456, "TechGadget X1"),
    ("supersonic", 789, "SuperSonic Blaster"),
    ("quantum", 101, "Quantum Processor Q5"),
    ("mystic", 202, "Mystic Crystal Ball"),
];

fn column_exists(reference: &str) -> bool {
    let Some((table, column)) = reference.split_once('.') else {
        return false;
    };
    SCHEMA.iter().any(|(t, cols)| *t == table && cols.contains(&column))
}

fn document() -> Value {
    serde_json::from_str(BUILTIN_METADATA_JSON).expect("embedded metadata is JSON")
}

/// Every `word.word` outside string literals.
fn qualified_references(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_string = false;
    let mut token = String::new();
    for ch in expr.chars().chain(std::iter::once(' ')) {
        if ch == '\'' {
            in_string = !in_string;
            token.clear();
            continue;
        }
        if in_string {
            continue;
        }
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' {
            token.push(ch);
        } else {
            if token.contains('.') && !token.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                out.insert(token.clone());
            }
            token.clear();
        }
    }
    out
}

#[test]
fn builtin_loads_and_counts() {
    let server = MetadataServer::builtin();
    assert_eq!(server.metadata().total_products(), PRODUCTS.len());
    let mappings = document()["column_mappings"].as_object().unwrap().len();
    assert_eq!(server.metadata().total_mappings(), mappings);
    assert!(mappings >= 15, "the sample needs a useful set of business terms");
}

#[test]
fn products_match_the_sample_data() {
    let doc = document();
    let aliases = doc["product_aliases"].as_object().unwrap();
    assert_eq!(aliases.len(), PRODUCTS.len());
    for (key, id, name) in PRODUCTS {
        let entry = &aliases[*key];
        assert_eq!(entry["canonical_id"], Value::String(id.to_string()), "{key}");
        assert_eq!(entry["canonical_name"], *name, "{key}");
        assert_eq!(entry["database_references"]["products.product_id"], *id, "{key}");
        assert_eq!(entry["database_references"]["products.name"], *name, "{key}");
        let list = entry["aliases"].as_array().unwrap();
        assert!(list.len() >= 3, "{key} needs a few aliases");
        assert!(list.iter().any(|a| a.as_str().unwrap().contains(' ')), "{key} needs a multi-word alias");
    }
}

#[test]
fn every_column_reference_exists_in_the_schema() {
    let doc = document();
    let mut checked = 0;
    for (key, entry) in doc["product_aliases"].as_object().unwrap() {
        for reference in entry["database_references"].as_object().unwrap().keys() {
            assert!(column_exists(reference), "product_aliases.{key}: unknown column {reference}");
            checked += 1;
        }
    }
    for (term, expr) in doc["column_mappings"].as_object().unwrap() {
        let expr = expr.as_str().unwrap();
        let refs = qualified_references(expr);
        assert!(!refs.is_empty(), "column_mappings.{term}: names no table.column");
        for reference in refs {
            assert!(column_exists(&reference), "column_mappings.{term}: unknown column {reference} in {expr}");
            checked += 1;
        }
    }
    assert!(checked > 20);
}

#[test]
fn the_reference_scanner_finds_bad_columns() {
    assert!(!column_exists("products.product_name"));
    assert!(!column_exists("customers.customer_name"));
    let refs = qualified_references("customers.first_name || ' x.y ' || 1.5 || products.cost");
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["customers.first_name", "products.cost"]);
}

#[test]
fn every_mapping_parses_as_an_expression() {
    let doc = document();
    let dialects: [(&str, Box<dyn Dialect>); 4] = [
        ("generic", Box::new(GenericDialect {})),
        ("sqlite", Box::new(SQLiteDialect {})),
        ("postgresql", Box::new(PostgreSqlDialect {})),
        ("mysql", Box::new(MySqlDialect {})),
    ];
    for (term, expr) in doc["column_mappings"].as_object().unwrap() {
        let expr = expr.as_str().unwrap();
        assert!(!expr.contains(';'), "column_mappings.{term}: no statements");
        for (name, dialect) in &dialects {
            let parsed = Parser::new(dialect.as_ref()).try_with_sql(expr).and_then(|mut p| p.parse_expr());
            assert!(parsed.is_ok(), "column_mappings.{term} ({name}): {expr}: {parsed:?}");
        }
        // As a select item in a full statement, to catch trailing garbage.
        let sql = format!("SELECT {expr} FROM t");
        let stmts = Parser::parse_sql(&GenericDialect {}, &sql);
        assert!(matches!(&stmts, Ok(s) if s.len() == 1), "column_mappings.{term}: {sql}: {stmts:?}");
    }
}

#[test]
fn mappings_carry_no_date_predicates() {
    let doc = document();
    for (term, expr) in doc["column_mappings"].as_object().unwrap() {
        let upper = expr.as_str().unwrap().to_ascii_uppercase();
        for word in ["DATE_TRUNC", "INTERVAL", "CURRENT_DATE", "NOW(", "STRFTIME", "{DATE_COLUMN}"] {
            assert!(!upper.contains(word), "column_mappings.{term} has a date predicate: {upper}");
        }
    }
}
