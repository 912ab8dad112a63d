//! Loading metadata from values and files: JSON, YAML, and clear errors.

use std::io::Write;

use serde_json::json;
use talk2tables_metadata_mcp::{COLUMN_MAPPINGS_URI, METADATA_SUMMARY_URI, MetadataError, MetadataServer};

fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    (dir, path)
}

#[test]
fn from_value_accepts_nested_groups_and_counts_them() {
    let server = MetadataServer::from_value(json!({
        "version": "2",
        "product_aliases": {"w": {"canonical_id": 1, "canonical_name": "Widget"}},
        "column_mappings": {
            "sales": "SUM(order_items.quantity)",
            "aggregation_terms": {"total": "SUM", "distinct": "COUNT(DISTINCT"}
        }
    }))
    .unwrap();
    assert_eq!(server.metadata().total_products(), 1);
    assert_eq!(server.metadata().total_mappings(), 3);
    let mappings = server.resource_payload(COLUMN_MAPPINGS_URI).unwrap();
    assert_eq!(mappings["mappings"]["aggregation_terms"]["distinct"], "COUNT(DISTINCT");
    let summary = server.resource_payload(METADATA_SUMMARY_URI).unwrap();
    assert_eq!(summary["version"], "2");
    assert_eq!(summary["last_updated"], serde_json::Value::Null);
    assert_eq!(summary["total_mappings"], 3);
    assert!(server.resource_payload("database://schema").is_none());
}

#[test]
fn missing_and_mistyped_keys_are_named() {
    let cases = [
        (json!([1, 2]), "$"),
        (json!({"column_mappings": {}}), "product_aliases: required key is missing"),
        (json!({"product_aliases": {}}), "column_mappings: required key is missing"),
        (json!({"product_aliases": [], "column_mappings": {}}), "product_aliases: must be an object"),
        (
            json!({"product_aliases": {"a": {"canonical_name": "A"}}, "column_mappings": {}}),
            "product_aliases.a.canonical_id: required key is missing",
        ),
        (
            json!({"product_aliases": {"a": {"canonical_id": "1"}}, "column_mappings": {}}),
            "product_aliases.a.canonical_name: required key is missing",
        ),
        (
            json!({"product_aliases": {"a": {"canonical_id": "1", "canonical_name": "A", "aliases": "x"}},
                   "column_mappings": {}}),
            "product_aliases.a.aliases: must be an array of strings",
        ),
        (json!({"product_aliases": {}, "column_mappings": {"sales": 5}}), "column_mappings.sales"),
        (json!({"product_aliases": {}, "column_mappings": {"g": {"x": [1]}}}), "column_mappings.g.x"),
        (json!({"product_aliases": {}, "column_mappings": {}, "version": 3}), "version: must be a string"),
    ];
    for (value, expected) in cases {
        let err = MetadataServer::from_value(value.clone()).unwrap_err();
        assert!(matches!(err, MetadataError::Invalid { .. }), "{value}: {err:?}");
        assert!(err.to_string().contains(expected), "{value}: {err}");
    }
}

#[test]
fn yaml_file_loads() {
    let (_dir, path) = write(
        "meta.yaml",
        "version: '1'\nproduct_aliases:\n  widget:\n    canonical_id: '7'\n    canonical_name: Widget\n    aliases: [gizmo, blue widget]\ncolumn_mappings:\n  units: SUM(order_items.quantity)\n",
    );
    let server = MetadataServer::from_path(&path).unwrap();
    assert_eq!(server.metadata().total_products(), 1);
    assert_eq!(server.metadata().total_mappings(), 1);
}

#[test]
fn unknown_extension_is_detected_by_content() {
    let (_d1, json_path) = write("meta.txt", r#"{"product_aliases": {}, "column_mappings": {"a": "b.c"}}"#);
    assert_eq!(MetadataServer::from_path(&json_path).unwrap().metadata().total_mappings(), 1);
    let (_d2, yaml_path) = write("meta", "product_aliases: {}\ncolumn_mappings:\n  a: b.c\n  d: e.f\n");
    assert_eq!(MetadataServer::from_path(&yaml_path).unwrap().metadata().total_mappings(), 2);
}

#[test]
fn syntax_errors_name_file_and_line() {
    let (_d1, path) =
        write("bad.json", "{\n  \"product_aliases\": {},\n  \"column_mappings\": {\"a\": \"b.c\",,}\n}\n");
    let err = MetadataServer::from_path(&path).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MetadataError::Parse { format: "JSON", .. }), "{err:?}");
    assert!(text.contains("bad.json") && text.contains("line 3"), "{text}");

    let (_d2, path) = write("bad.yaml", "product_aliases: {}\ncolumn_mappings:\n  a: [unclosed\n");
    let err = MetadataServer::from_path(&path).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MetadataError::Parse { format: "YAML", .. }), "{err:?}");
    assert!(text.contains("bad.yaml") && text.contains("line"), "{text}");
}

#[test]
fn invalid_file_names_the_file() {
    let (_d, path) = write("meta.json", r#"{"product_aliases": {}}"#);
    let text = MetadataServer::from_path(&path).unwrap_err().to_string();
    assert!(text.contains("meta.json") && text.contains("column_mappings: required key is missing"), "{text}");
}

#[test]
fn missing_file_is_an_io_error() {
    let err = MetadataServer::from_path(std::path::Path::new("/nonexistent/meta.json")).unwrap_err();
    assert!(matches!(err, MetadataError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/meta.json"));
}
