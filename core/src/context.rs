//! Context for one question, derived from the servers' resources: the database schema
//! (from the Database MCP), product aliases and column terms (from the Metadata MCP), and
//! the values of low-cardinality text columns. Built once per cache refresh.
//!
//! STUB — being implemented.

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
