//! Context for one question, derived from the servers' resources: the database schema
//! (from the Database MCP), product aliases and column terms (from the Metadata MCP), and
//! the values of low-cardinality text columns. Built once per cache refresh, with every
//! derived index (table/column name words, join graph, alias/term/value indexes), and
//! shared as `Arc<Context>`.

pub(crate) mod graph;
pub(crate) mod load;

use std::collections::BTreeSet;

use regex::Regex;
use talk2tables_common::{DatabaseSchema, Dialect, QueryOutput};

use crate::error::{Error, ErrorKind, Result};
use crate::resolve::text::words;
pub(crate) use graph::{Edge, JoinStep};

/// One resource as read from one server (the orchestrator's output, this module's input).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedResource {
    /// The `server_id` that served it.
    pub server_id: String,
    /// Its URI (e.g. `database://schema`, `product-aliases://list`).
    pub uri: String,
    /// Its name as listed by the server (e.g. `get_product_aliases`).
    pub name: String,
    /// MIME type when the server gave one.
    pub mime_type: Option<String>,
    /// The text content (JSON for all resources we understand).
    pub text: String,
}

/// Most distinct values kept per probed column; a column with more is not
/// low-cardinality and is dropped from the value index.
pub(crate) const MAX_VALUES_PER_COLUMN: usize = 50;

/// Broad type of a column, from its declared type and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// INTEGER, BIGINT, …
    Integer,
    /// REAL, DECIMAL, NUMERIC, FLOAT, …
    Real,
    /// DATE, DATETIME, TIMESTAMP, or a text column named like a date (`*_date`, `*_at`, `*_on`).
    Date,
    /// TEXT, VARCHAR, CHAR, …
    Text,
    /// Anything else (BLOB, BOOLEAN, untyped).
    Other,
}

impl ColumnKind {
    /// Integer or real.
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, ColumnKind::Integer | ColumnKind::Real)
    }
}

/// Derived facts about one column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnInfo {
    /// Name as the database spells it.
    pub name: String,
    /// Normalised words of the name (`citation_num` → `citation`, `num`).
    pub words: Vec<String>,
    /// Broad type.
    pub kind: ColumnKind,
}

/// Derived facts about one table (same index as in `schema().tables`).
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    /// Name as the database spells it.
    pub name: String,
    /// Normalised words of the name (`order_items` → `order`, `item`).
    pub words: Vec<String>,
    /// Columns in declaration order.
    pub columns: Vec<ColumnInfo>,
    /// The single identifying column: the declared one-column primary key, else `id`,
    /// else `<table>_id`, else a column named by the table's initial + `id` (`aid` in
    /// `author`).
    pub key: Option<String>,
    /// The column that names a row: `name`, `title`, `<table>_name`, else the first text
    /// column that is not a key.
    pub label: Option<String>,
}

impl TableInfo {
    /// The column with this name (case-insensitive).
    pub(crate) fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// A product alias: every phrase that names the product, and the id it resolves to.
#[derive(Debug, Clone)]
#[allow(dead_code)] // `key` is kept for LLM prompts and debugging
pub(crate) struct ProductAlias {
    /// Alias key in the metadata (`abracadabra`).
    pub key: String,
    /// Display name (`Magic Wand Pro`).
    pub canonical_name: String,
    /// The id value (`123`), `PROD_` prefix stripped.
    pub id: String,
    /// Normalised word sequences of the key, canonical name and aliases (`_` = space).
    pub phrases: Vec<Vec<String>>,
    /// `(table, column)` the id refers to, when it exists in the schema.
    pub reference: Option<(usize, String)>,
}

/// A business term from the column mappings whose SQL names only real columns.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// The term as written in the metadata (`average order value`).
    pub phrase: String,
    /// Its normalised words.
    pub words: Vec<String>,
    /// The SQL expression (`AVG(orders.total_amount)`).
    pub expr: String,
    /// Tables the expression references, in order of first appearance.
    pub tables: Vec<usize>,
    /// Whether the expression already aggregates (`SUM(`, `AVG(`, `COUNT(` …).
    pub aggregate: bool,
}

/// One distinct value of a low-cardinality text column.
#[derive(Debug, Clone)]
pub(crate) struct ValueEntry {
    /// Table index.
    pub table: usize,
    /// Column name.
    pub column: String,
    /// The value as stored.
    pub value: String,
    /// Its normalised words.
    pub words: Vec<String>,
}

/// A statement reading the distinct values of one candidate column, to be run through
/// the Database MCP and fed back with [`Context::add_values`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueProbe {
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
    /// `SELECT DISTINCT col FROM t WHERE col IS NOT NULL LIMIT 51`.
    pub sql: String,
}

/// Everything the resolvers and generators know about the databases and metadata.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    schema: DatabaseSchema,
    /// `server_id` of the schema resource (source of `value` entities).
    pub(crate) schema_source: String,
    /// Per table, same order as `schema.tables`.
    pub(crate) tables: Vec<TableInfo>,
    /// Join graph.
    pub(crate) edges: Vec<Edge>,
    /// Product aliases.
    pub(crate) products: Vec<ProductAlias>,
    /// `server_id` of the aliases resource.
    pub(crate) products_source: String,
    /// Business terms, longest phrase first.
    pub(crate) terms: Vec<Term>,
    /// `server_id` of the mappings resource.
    pub(crate) terms_source: String,
    /// Values of low-cardinality text columns.
    pub(crate) values: Vec<ValueEntry>,
}

impl Context {
    /// Builds the context from every fetched resource, recognising them by content: an
    /// object with `tables` is the database schema (our `DatabaseSchema` JSON, or the
    /// original system's `{"tables": {name: {columns: [{name, type}], row_count}}}`),
    /// `aliases`/`product_aliases` are product aliases, `mappings`/`column_mappings`
    /// (flat or nested groups) are column terms; anything else is ignored. When several
    /// resources of a kind exist, the first one wins.
    ///
    /// Errors: `MCP_PROTOCOL_ERROR` "no database schema resource" when none is a schema.
    pub(crate) fn from_resources(resources: &[FetchedResource]) -> Result<Context> {
        let mut schema = None;
        let mut products = None;
        let mut mappings = None;
        for r in resources {
            match load::parse(&r.text) {
                load::Parsed::Schema(s) if schema.is_none() => schema = Some((s, r.server_id.clone())),
                load::Parsed::Products(p) if products.is_none() => products = Some((p, r.server_id.clone())),
                load::Parsed::Mappings(m) if mappings.is_none() => mappings = Some((m, r.server_id.clone())),
                _ => {}
            }
        }
        let (schema, schema_source) =
            schema.ok_or_else(|| Error::new(ErrorKind::McpProtocolError, "no database schema resource"))?;
        let tables: Vec<TableInfo> = schema.tables.iter().map(table_info).collect();
        let (mappings, terms_source) = mappings.unwrap_or_default();
        let relation =
            Regex::new(r"^\s*(\w+)\.(\w+)\s*=\s*(\w+)\.(\w+)\s*$").map_err(|e| Error::internal(e.to_string()))?;
        let mut extra_joins = Vec::new();
        let mut terms = Vec::new();
        for (phrase, expr) in &mappings {
            if let Some(c) = relation.captures(expr) {
                extra_joins.push((c[1].to_string(), c[2].to_string(), c[3].to_string(), c[4].to_string()));
            } else if let Some(t) = term(&schema, phrase, expr) {
                terms.push(t);
            }
        }
        terms.sort_by(|a, b| b.words.len().cmp(&a.words.len()).then_with(|| a.phrase.cmp(&b.phrase)));
        let edges = graph::build_edges(&schema, &tables, &extra_joins);
        let (raw_products, products_source) = products.unwrap_or_default();
        let products = raw_products
            .into_iter()
            .map(|p| {
                let mut phrases: Vec<Vec<String>> = Vec::new();
                for s in std::iter::once(&p.key).chain(std::iter::once(&p.canonical_name)).chain(p.aliases.iter()) {
                    let w = words(s);
                    if !w.is_empty() && !phrases.contains(&w) {
                        phrases.push(w);
                    }
                }
                let reference = p.reference.as_ref().and_then(|(t, c)| {
                    let ti = schema.tables.iter().position(|x| x.name.eq_ignore_ascii_case(t))?;
                    let col = schema.tables[ti].column(c)?;
                    Some((ti, col.name.clone()))
                });
                ProductAlias { key: p.key, canonical_name: p.canonical_name, id: p.id, phrases, reference }
            })
            .collect();
        Ok(Context {
            schema,
            schema_source,
            tables,
            edges,
            products,
            products_source,
            terms,
            terms_source,
            values: vec![],
        })
    }

    /// The database's dialect (from the schema resource).
    pub(crate) fn dialect(&self) -> Dialect {
        self.schema.dialect
    }

    /// The database schema as served.
    #[allow(dead_code, reason = "for the LLM prompt builder (issue 3)")]
    pub(crate) fn schema(&self) -> &DatabaseSchema {
        &self.schema
    }

    /// Index of the table with this name (case-insensitive).
    pub(crate) fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Statements reading the distinct values of every low-cardinality-looking text
    /// column (not keys, not `*_id`, not free text such as email/phone/address/
    /// description/url/homepage/abstract/notes): `SELECT DISTINCT col FROM t WHERE col IS
    /// NOT NULL LIMIT 51`. Columns with more than [`MAX_VALUES_PER_COLUMN`] values are
    /// dropped by [`Context::add_values`].
    pub(crate) fn value_probes(&self) -> Vec<ValueProbe> {
        const FREE_TEXT: &[&str] = &[
            "email",
            "mail",
            "phone",
            "fax",
            "address",
            "description",
            "desc",
            "url",
            "homepage",
            "website",
            "abstract",
            "note",
            "comment",
            "street",
            "password",
            "hash",
            "token",
            "uuid",
            "body",
            "text",
            "content",
            "summary",
            "zip",
            "postcode",
            "postal",
        ];
        let d = self.dialect();
        let mut out = Vec::new();
        for t in &self.tables {
            for c in &t.columns {
                let lower = c.name.to_lowercase();
                let free = c.words.iter().any(|w| FREE_TEXT.contains(&w.as_str()));
                if c.kind != ColumnKind::Text
                    || free
                    || t.key.as_deref() == Some(c.name.as_str())
                    || lower.ends_with("id")
                {
                    continue;
                }
                let col = crate::sql::dialect::quote_ident(d, &c.name);
                let table = crate::sql::dialect::quote_ident(d, &t.name);
                out.push(ValueProbe {
                    table: t.name.clone(),
                    column: c.name.clone(),
                    sql: format!(
                        "SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL LIMIT {}",
                        MAX_VALUES_PER_COLUMN + 1
                    ),
                });
            }
        }
        out
    }

    /// Adds the output of one probe to the value index. Ignored when the probe names an
    /// unknown table/column, when the column has more than [`MAX_VALUES_PER_COLUMN`]
    /// values (or the output was truncated), or when values look like free text (longer
    /// than 60 characters). Only string cells are kept; a probe added twice replaces its
    /// earlier values.
    pub(crate) fn add_values(&mut self, probe: &ValueProbe, output: &QueryOutput) {
        let Some(ti) = self.table_index(&probe.table) else {
            return;
        };
        let Some(col) = self.tables[ti].column(&probe.column).map(|c| c.name.clone()) else {
            return;
        };
        self.values.retain(|v| !(v.table == ti && v.column == col));
        if output.truncated || output.rows.len() > MAX_VALUES_PER_COLUMN {
            return;
        }
        let mut seen = BTreeSet::new();
        for row in &output.rows {
            let Some(serde_json::Value::String(s)) = row.first() else {
                continue;
            };
            let w = words(s);
            if s.chars().count() > 60 || w.is_empty() || !seen.insert(s.clone()) {
                continue;
            }
            self.values.push(ValueEntry { table: ti, column: col.clone(), value: s.clone(), words: w });
        }
    }

    /// Join steps connecting `base` to every table of `needed` along the cheapest
    /// declared or inferred foreign keys; `None` when some table is unreachable.
    pub(crate) fn join_tree(&self, base: usize, needed: &BTreeSet<usize>) -> Option<Vec<JoinStep>> {
        graph::join_tree(&self.edges, self.tables.len(), base, needed)
    }

    /// Tables ordered by join distance from `from` (itself first); unreachable ones left out.
    pub(crate) fn tables_by_distance(&self, from: usize) -> Vec<usize> {
        graph::by_distance(&self.edges, self.tables.len(), from)
    }
}

fn column_kind(name: &str, data_type: &str) -> ColumnKind {
    let t = data_type.to_lowercase();
    let n = name.to_lowercase();
    if t.contains("date") || t.contains("time") {
        return ColumnKind::Date;
    }
    if t.contains("int") || t == "serial" || t == "bigserial" {
        return ColumnKind::Integer;
    }
    if ["real", "float", "double", "decimal", "numeric", "money"].iter().any(|k| t.contains(k)) {
        return ColumnKind::Real;
    }
    if t.contains("char") || t.contains("text") || t.contains("clob") || t.contains("string") {
        let date_name = n.ends_with("_date") || n == "date" || n.ends_with("_at") || n.ends_with("_on");
        return if date_name { ColumnKind::Date } else { ColumnKind::Text };
    }
    if t.is_empty() && (n.ends_with("_date") || n == "date") {
        return ColumnKind::Date;
    }
    ColumnKind::Other
}

fn table_info(t: &talk2tables_common::TableSchema) -> TableInfo {
    let columns: Vec<ColumnInfo> = t
        .columns
        .iter()
        .map(|c| ColumnInfo { name: c.name.clone(), words: words(&c.name), kind: column_kind(&c.name, &c.data_type) })
        .collect();
    let lower = t.name.to_lowercase();
    let singular = crate::resolve::text::singular(&lower);
    let find = |n: &str| t.columns.iter().find(|c| c.name.eq_ignore_ascii_case(n)).map(|c| c.name.clone());
    let initial_id = lower.chars().next().map(|c| format!("{c}id"));
    let key = if t.primary_key.len() == 1 {
        Some(t.primary_key[0].clone())
    } else {
        find("id")
            .or_else(|| find(&format!("{singular}_id")))
            .or_else(|| find(&format!("{lower}_id")))
            .or_else(|| initial_id.as_deref().and_then(find))
    };
    let label = find("name")
        .or_else(|| find("title"))
        .or_else(|| find(&format!("{singular}_name")))
        .or_else(|| find(&format!("{lower}_name")))
        .or_else(|| {
            columns
                .iter()
                .find(|c| {
                    c.kind == ColumnKind::Text
                        && !c.name.to_lowercase().ends_with("id")
                        && Some(&c.name) != key.as_ref()
                })
                .map(|c| c.name.clone())
        });
    TableInfo { name: t.name.clone(), words: words(&t.name), columns, key, label }
}

/// A term whose expression references only existing `table.column` pairs (at least one)
/// and no placeholders or PostgreSQL-only date functions.
fn term(schema: &DatabaseSchema, phrase: &str, expr: &str) -> Option<Term> {
    let lower = expr.to_lowercase();
    if expr.contains('{')
        || ["group by", "date_trunc", "interval", "current_date", "select "].iter().any(|k| lower.contains(k))
    {
        return None;
    }
    let refs = Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)").ok()?;
    let mut tables = Vec::new();
    for c in refs.captures_iter(expr) {
        let ti = schema.tables.iter().position(|t| t.name.eq_ignore_ascii_case(&c[1]))?;
        schema.tables[ti].column(&c[2])?;
        if !tables.contains(&ti) {
            tables.push(ti);
        }
    }
    if tables.is_empty() {
        return None;
    }
    let aggregate = Regex::new(r"(?i)\b(sum|avg|count|min|max)\s*\(").ok()?.is_match(expr);
    let w = words(phrase);
    if w.is_empty() {
        return None;
    }
    Some(Term { phrase: phrase.replace('_', " "), words: w, expr: expr.trim().to_string(), tables, aggregate })
}
