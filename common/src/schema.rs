//! The `database://schema` resource served by the Database MCP.
//!
//! JSON shape:
//! ```json
//! {"dialect": "sqlite",
//!  "tables": [{"name": "orders",
//!              "columns": [{"name": "order_id", "data_type": "INTEGER",
//!                           "nullable": false, "primary_key": true}],
//!              "primary_key": ["order_id"],
//!              "foreign_keys": [{"columns": ["customer_id"],
//!                                "references_table": "customers",
//!                                "references_columns": ["customer_id"]}],
//!              "row_count": 2000}]}
//! ```

use serde::{Deserialize, Serialize};

use crate::Dialect;

/// A database's tables, as introspected by the Database MCP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DatabaseSchema {
    /// The database's SQL dialect.
    pub dialect: Dialect,
    /// Tables (and views), sorted by name.
    pub tables: Vec<TableSchema>,
}

/// One table or view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TableSchema {
    /// Table name as the database spells it (unquoted).
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnSchema>,
    /// Primary key column names (empty when none is declared).
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Declared foreign keys (empty when none are declared).
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// Row count at introspection time; `None` when it was not counted.
    #[serde(default)]
    pub row_count: Option<u64>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ColumnSchema {
    /// Column name (unquoted).
    pub name: String,
    /// Declared type as the database reports it (`INTEGER`, `TEXT`, `DECIMAL(10,2)`,
    /// `timestamp with time zone`, …); may be empty for untyped SQLite columns.
    #[serde(default)]
    pub data_type: String,
    /// Whether NULL is allowed.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// Whether the column is part of the primary key.
    #[serde(default)]
    pub primary_key: bool,
}

fn yes() -> bool {
    true
}

/// A declared foreign key: `columns` of this table reference `references_columns` of
/// `references_table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ForeignKey {
    /// Referencing columns in this table.
    pub columns: Vec<String>,
    /// Referenced table.
    pub references_table: String,
    /// Referenced columns (same length as `columns`).
    pub references_columns: Vec<String>,
}

impl DatabaseSchema {
    /// The table with this name, compared case-insensitively.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

impl TableSchema {
    /// The column with this name, compared case-insensitively.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_roundtrip_and_defaults() {
        let json = r#"{"dialect":"sqlite","tables":[{"name":"t","columns":[{"name":"a"}]}]}"#;
        let s: DatabaseSchema = serde_json::from_str(json).unwrap();
        assert_eq!(s.dialect, Dialect::Sqlite);
        let t = s.table("T").unwrap();
        assert!(t.column("A").unwrap().nullable);
        assert!(t.primary_key.is_empty());
        let back: DatabaseSchema = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
