//! Recognising resources by their content and parsing them: the database schema (ours
//! or the original system's map shape), product aliases, column terms (flat or nested
//! groups, with `table_relationships` join predicates).

use serde_json::{Map, Value};
use talk2tables_common::{ColumnSchema, DatabaseSchema, Dialect, TableSchema};

/// A product alias entry as served by the metadata server.
#[derive(Debug, Clone)]
pub(crate) struct RawProduct {
    pub key: String,
    pub canonical_name: String,
    pub id: String,
    pub aliases: Vec<String>,
    /// `(table, column)` the id refers to (from `database_references`), if given.
    pub reference: Option<(String, String)>,
}

/// What one resource turned out to be.
pub(crate) enum Parsed {
    Schema(DatabaseSchema),
    Products(Vec<RawProduct>),
    /// `(user term, SQL expression)` pairs and `a.x = b.y` join predicates.
    Mappings(Vec<(String, String)>),
    Unknown,
}

/// Parses one resource's text by content. Never fails: text that is not JSON, or JSON
/// of an unknown shape, is `Unknown`.
pub(crate) fn parse(text: &str) -> Parsed {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        return Parsed::Unknown;
    };
    if let Some(tables) = obj.get("tables")
        && let Some(s) = schema(&obj, tables)
    {
        return Parsed::Schema(s);
    }
    if let Some(Value::Object(aliases)) = obj.get("aliases").or_else(|| obj.get("product_aliases")) {
        return Parsed::Products(aliases.iter().filter_map(|(k, v)| product(k, v)).collect());
    }
    if let Some(Value::Object(m)) = obj.get("mappings").or_else(|| obj.get("column_mappings")) {
        let mut out = Vec::new();
        flatten(m, &mut out);
        return Parsed::Mappings(out);
    }
    Parsed::Unknown
}

fn flatten(m: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in m {
        match v {
            Value::String(s) => out.push((k.clone(), s.clone())),
            Value::Object(inner) => flatten(inner, out),
            _ => {}
        }
    }
}

fn schema(obj: &Map<String, Value>, tables: &Value) -> Option<DatabaseSchema> {
    let dialect = obj
        .get("dialect")
        .or_else(|| obj.get("database_type"))
        .and_then(|d| serde_json::from_value::<Dialect>(Value::String(d.as_str()?.to_lowercase())).ok())
        .unwrap_or_default();
    match tables {
        Value::Array(_) => {
            let mut o = obj.clone();
            o.insert("dialect".into(), serde_json::to_value(dialect).ok()?);
            serde_json::from_value(Value::Object(o)).ok()
        }
        Value::Object(map) => {
            let mut out = Vec::new();
            for (name, t) in map {
                let cols = t.get("columns").and_then(Value::as_array)?;
                let columns: Vec<ColumnSchema> = cols
                    .iter()
                    .filter_map(|c| {
                        Some(ColumnSchema {
                            name: c.get("name")?.as_str()?.to_string(),
                            data_type: c
                                .get("type")
                                .or_else(|| c.get("data_type"))
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            nullable: c.get("nullable").and_then(Value::as_bool).unwrap_or(true),
                            primary_key: c
                                .get("primary_key")
                                .and_then(|p| p.as_bool().or_else(|| p.as_i64().map(|n| n > 0)))
                                .unwrap_or(false),
                        })
                    })
                    .collect();
                let primary_key = columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect();
                out.push(TableSchema {
                    name: name.clone(),
                    columns,
                    primary_key,
                    foreign_keys: vec![],
                    row_count: t.get("row_count").and_then(Value::as_u64),
                });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Some(DatabaseSchema { dialect, tables: out })
        }
        _ => None,
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn product(key: &str, v: &Value) -> Option<RawProduct> {
    let canonical_name = v.get("canonical_name").and_then(Value::as_str).unwrap_or(key).to_string();
    let mut reference = None;
    let mut id = None;
    if let Some(Value::Object(refs)) = v.get("database_references") {
        // Prefer an `*.…id` reference: that is the column to filter on.
        for (k, val) in refs {
            if let Some((t, c)) = k.split_once('.')
                && c.to_lowercase().ends_with("id")
            {
                reference = Some((t.to_string(), c.to_string()));
                id = scalar(val);
                break;
            }
        }
    }
    let id = id.or_else(|| {
        let c = scalar(v.get("canonical_id")?)?;
        Some(c.strip_prefix("PROD_").or_else(|| c.strip_prefix("prod_")).unwrap_or(&c).to_string())
    })?;
    let aliases = v
        .get("aliases")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Some(RawProduct { key: key.to_string(), canonical_name, id, aliases, reference })
}
