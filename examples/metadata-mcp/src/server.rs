//! [`MetadataServer`]: an rmcp `ServerHandler` exposing the metadata as three resources
//! (no tools).

use std::path::Path;
use std::sync::Arc;

use rmcp::model::{
    Implementation, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;

use crate::error::MetadataError;
use crate::metadata::Metadata;

/// URI of the product alias resource.
pub const PRODUCT_ALIASES_URI: &str = "product-aliases://list";
/// URI of the column mapping resource.
pub const COLUMN_MAPPINGS_URI: &str = "column-mappings://list";
/// URI of the summary resource.
pub const METADATA_SUMMARY_URI: &str = "metadata-summary://info";

const MIME_JSON: &str = "application/json";

/// (uri, name, description) of every resource, in listing order.
const RESOURCES: [(&str, &str, &str); 3] = [
    (
        PRODUCT_ALIASES_URI,
        "get_product_aliases",
        "Product aliases: {aliases: {key: {canonical_id, canonical_name, aliases, database_references, categories}}, description}",
    ),
    (
        COLUMN_MAPPINGS_URI,
        "get_column_mappings",
        "Business terms mapped to SQL expressions: {mappings: {term: sql}, description}",
    ),
    (
        METADATA_SUMMARY_URI,
        "get_metadata_summary",
        "Summary: {total_products, total_mappings, last_updated, version, description}",
    ),
];

/// The Metadata MCP server. Cheap to clone (the document is shared behind an `Arc`);
/// the streamable HTTP service clones one per session.
#[derive(Clone, Debug)]
pub struct MetadataServer {
    metadata: Arc<Metadata>,
}

impl MetadataServer {
    /// The server over the embedded `examples/data/product_metadata.json`.
    pub fn builtin() -> Self {
        // The embedded file is validated by this crate's tests, so this cannot fail in a
        // released build; fall back to an empty document rather than panic regardless.
        let metadata = Metadata::builtin().unwrap_or_else(|e| {
            tracing::error!(error = %e, "embedded metadata is invalid; serving an empty document");
            Metadata::empty()
        });
        Self::from_metadata(metadata)
    }

    /// The server over a JSON (`.json`) or YAML (`.yaml`/`.yml`) file; other extensions
    /// are detected by content.
    ///
    /// Errors: unreadable file ([`MetadataError::Io`]), syntax error with line/column
    /// ([`MetadataError::Parse`]), missing/mistyped keys ([`MetadataError::Invalid`]).
    pub fn from_path(path: &Path) -> Result<Self, MetadataError> {
        Metadata::from_path(path).map(Self::from_metadata)
    }

    /// The server over an already parsed document; validated as
    /// [`Metadata::from_value`].
    pub fn from_value(value: Value) -> Result<Self, MetadataError> {
        Metadata::from_value(value).map(Self::from_metadata)
    }

    /// The server over validated metadata.
    pub fn from_metadata(metadata: Metadata) -> Self {
        MetadataServer { metadata: Arc::new(metadata) }
    }

    /// The document being served.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The JSON payload of a resource URI, or `None` for an unknown URI.
    pub fn resource_payload(&self, uri: &str) -> Option<Value> {
        match uri {
            PRODUCT_ALIASES_URI => Some(self.metadata.aliases_payload()),
            COLUMN_MAPPINGS_URI => Some(self.metadata.mappings_payload()),
            METADATA_SUMMARY_URI => Some(self.metadata.summary_payload()),
            _ => None,
        }
    }
}

impl ServerHandler for MetadataServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_resources().build())
            .with_server_info(Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Product metadata for Talk 2 Tables: read product-aliases://list, column-mappings://list \
                 and metadata-summary://info (all application/json).",
            )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = RESOURCES
            .iter()
            .map(|(uri, name, description)| {
                Resource::new(*uri, *name).with_description(*description).with_mime_type(MIME_JSON)
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let Some(payload) = self.resource_payload(&request.uri) else {
            return Err(ErrorData::resource_not_found(
                format!(
                    "unknown resource {:?}; available: {PRODUCT_ALIASES_URI}, {COLUMN_MAPPINGS_URI}, {METADATA_SUMMARY_URI}",
                    request.uri
                ),
                None,
            ));
        };
        tracing::debug!(uri = %request.uri, "read_resource");
        let text = payload.to_string();
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, request.uri).with_mime_type(MIME_JSON)]).into())
    }
}
