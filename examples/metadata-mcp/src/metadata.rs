//! The product metadata document: loading (JSON or YAML), validation and the three
//! resource payloads served by [`crate::MetadataServer`].
//!
//! Document shape (the original system's `product_metadata.json`, DESIGN.md §6):
//! ```json
//! {"last_updated": "2026-11-30T00:00:00Z", "version": "1.0.0",
//!  "product_aliases": {"abracadabra": {"canonical_id": "123", "canonical_name": "Magic Wand Pro",
//!                      "aliases": ["magic wand"], "database_references": {"products.product_id": 123},
//!                      "categories": ["Toys"]}},
//!  "column_mappings": {"sales": "SUM(order_items.quantity * order_items.unit_price)"}}
//! ```
//! `column_mappings` may also hold nested groups (`{"aggregation_terms": {"total": "SUM"}}`);
//! they are passed through unchanged.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::MetadataError;

/// The embedded default document (`examples/data/product_metadata.json`).
pub const BUILTIN_METADATA_JSON: &str = include_str!("../../data/product_metadata.json");

/// A validated metadata document.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    product_aliases: Map<String, Value>,
    column_mappings: Map<String, Value>,
    last_updated: Option<String>,
    version: Option<String>,
    description: Option<String>,
}

impl Metadata {
    /// Validates a parsed document.
    ///
    /// Required: a top-level object with `product_aliases` (object of objects, each with a
    /// `canonical_id` string or integer and a `canonical_name` string; `aliases` and
    /// `categories`, when present, arrays of strings; `database_references`, when present,
    /// an object) and `column_mappings` (object whose values are SQL strings or one level
    /// of nested groups of SQL strings). `last_updated`, `version`, `description` are
    /// optional strings.
    ///
    /// Errors: [`MetadataError::Invalid`] naming the offending key path.
    pub fn from_value(value: Value) -> Result<Self, MetadataError> {
        let Value::Object(mut top) = value else {
            return Err(invalid("$", "the document must be a JSON/YAML object"));
        };
        let product_aliases = match top.remove("product_aliases") {
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(invalid("product_aliases", "must be an object (alias key -> entry)"));
            }
            None => return Err(invalid("product_aliases", "required key is missing")),
        };
        for (key, entry) in &product_aliases {
            validate_alias_entry(key, entry)?;
        }
        let column_mappings = match top.remove("column_mappings") {
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(invalid("column_mappings", "must be an object (term -> SQL expression)"));
            }
            None => return Err(invalid("column_mappings", "required key is missing")),
        };
        for (term, expr) in &column_mappings {
            match expr {
                Value::String(_) => {}
                Value::Object(group) => {
                    for (inner, v) in group {
                        if !v.is_string() {
                            return Err(invalid(
                                &format!("column_mappings.{term}.{inner}"),
                                "must be a string (SQL expression)",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(invalid(
                        &format!("column_mappings.{term}"),
                        "must be a string (SQL expression) or an object of strings (a mapping group)",
                    ));
                }
            }
        }
        Ok(Metadata {
            product_aliases,
            column_mappings,
            last_updated: optional_string(&top, "last_updated")?,
            version: optional_string(&top, "version")?,
            description: optional_string(&top, "description")?,
        })
    }

    /// Parses `text` as JSON or YAML and validates it.
    ///
    /// `format_hint`: `Some("json")`/`Some("yaml")` forces a parser; `None` tries JSON
    /// first (when the text starts with `{`) and YAML otherwise. `source` names the origin
    /// (a path) in error messages.
    ///
    /// Errors: [`MetadataError::Parse`] with the line/column the parser reports, or
    /// [`MetadataError::Invalid`].
    pub fn from_text(text: &str, format_hint: Option<&str>, source: &str) -> Result<Self, MetadataError> {
        let as_json = match format_hint {
            Some("json") => true,
            Some(_) => false,
            None => text.trim_start().starts_with('{'),
        };
        let value: Value = if as_json {
            serde_json::from_str(text).map_err(|e| MetadataError::Parse {
                source_name: source.to_owned(),
                format: "JSON",
                message: e.to_string(),
            })?
        } else {
            yaml_serde::from_str(text).map_err(|e| MetadataError::Parse {
                source_name: source.to_owned(),
                format: "YAML",
                message: e.to_string(),
            })?
        };
        Self::from_value(value).map_err(|e| match e {
            MetadataError::Invalid { message, .. } => {
                MetadataError::Invalid { source_name: source.to_owned(), message }
            }
            other => other,
        })
    }

    /// Reads a file: `.json` is parsed as JSON, `.yaml`/`.yml` as YAML, anything else by
    /// content (see [`Metadata::from_text`]).
    ///
    /// Errors: [`MetadataError::Io`] when the file cannot be read, otherwise as
    /// [`Metadata::from_text`].
    pub fn from_path(path: &Path) -> Result<Self, MetadataError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| MetadataError::Io { path: path.display().to_string(), source })?;
        let hint = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Some("json"),
            Some("yaml" | "yml") => Some("yaml"),
            _ => None,
        };
        Self::from_text(&text, hint, &path.display().to_string())
    }

    /// The embedded default document.
    ///
    /// Errors: only if the embedded file were invalid (a test guards against that).
    pub fn builtin() -> Result<Self, MetadataError> {
        Self::from_text(BUILTIN_METADATA_JSON, Some("json"), "builtin product_metadata.json")
    }

    /// A document with no aliases and no mappings.
    pub fn empty() -> Self {
        Metadata {
            product_aliases: Map::new(),
            column_mappings: Map::new(),
            last_updated: None,
            version: None,
            description: None,
        }
    }

    /// Number of product alias entries.
    pub fn total_products(&self) -> usize {
        self.product_aliases.len()
    }

    /// Number of term → SQL mappings, counting the members of nested groups.
    pub fn total_mappings(&self) -> usize {
        self.column_mappings
            .values()
            .map(|v| match v {
                Value::Object(group) => group.len(),
                _ => 1,
            })
            .sum()
    }

    /// Payload of `product-aliases://list`: `{"aliases": {...}, "description": "..."}`.
    pub fn aliases_payload(&self) -> Value {
        json!({
            "aliases": self.product_aliases,
            "description": "Product aliases for natural language query translation: alias key -> \
                            {canonical_id, canonical_name, aliases, database_references, categories}",
        })
    }

    /// Payload of `column-mappings://list`: `{"mappings": {...}, "description": "..."}`.
    pub fn mappings_payload(&self) -> Value {
        json!({
            "mappings": self.column_mappings,
            "description": "Column mappings: business term -> SQL expression over the database's \
                            table.column names (nested objects are groups of such mappings)",
        })
    }

    /// Payload of `metadata-summary://info`:
    /// `{total_products, total_mappings, last_updated, version, description}` (absent
    /// strings are `null`, except `description`, which has a default).
    pub fn summary_payload(&self) -> Value {
        json!({
            "total_products": self.total_products(),
            "total_mappings": self.total_mappings(),
            "last_updated": self.last_updated,
            "version": self.version,
            "description": self
                .description
                .clone()
                .unwrap_or_else(|| "Product metadata: aliases and column mappings".to_owned()),
        })
    }
}

fn invalid(path: &str, message: &str) -> MetadataError {
    MetadataError::Invalid { source_name: String::new(), message: format!("{path}: {message}") }
}

fn optional_string(top: &Map<String, Value>, key: &str) -> Result<Option<String>, MetadataError> {
    match top.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(key, "must be a string")),
    }
}

fn validate_alias_entry(key: &str, entry: &Value) -> Result<(), MetadataError> {
    let path = format!("product_aliases.{key}");
    let Value::Object(entry) = entry else {
        return Err(invalid(&path, "must be an object"));
    };
    match entry.get("canonical_id") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(_) => {
            return Err(invalid(&format!("{path}.canonical_id"), "must be a non-empty string or an integer"));
        }
        None => {
            return Err(invalid(&format!("{path}.canonical_id"), "required key is missing"));
        }
    }
    match entry.get("canonical_name") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => {
            return Err(invalid(&format!("{path}.canonical_name"), "must be a non-empty string"));
        }
        None => {
            return Err(invalid(&format!("{path}.canonical_name"), "required key is missing"));
        }
    }
    for list in ["aliases", "categories"] {
        match entry.get(list) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(invalid(&format!("{path}.{list}"), "must be an array of strings"));
            }
        }
    }
    match entry.get("database_references") {
        None | Some(Value::Null) | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(invalid(&format!("{path}.database_references"), "must be an object (table.column -> value)")),
    }
}
