//! Errors of the Metadata MCP server.

/// Why the metadata could not be loaded or the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The metadata file could not be read.
    #[error("cannot read metadata file {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON/YAML; `message` carries the parser's line and column.
    #[error("{source_name}: invalid {format}: {message}")]
    Parse {
        /// Where the text came from (a path or "builtin ...").
        source_name: String,
        /// `"JSON"` or `"YAML"`.
        format: &'static str,
        /// The parser's message, with its location.
        message: String,
    },
    /// The document parsed but lacks a required key or has a value of the wrong type;
    /// `message` starts with the key path (`product_aliases.abracadabra.canonical_id: ...`).
    #[error("{}invalid metadata: {message}", if source_name.is_empty() { String::new() } else { format!("{source_name}: ") })]
    Invalid {
        /// Where the document came from; empty for [`crate::MetadataServer::from_value`].
        source_name: String,
        /// Key path and reason.
        message: String,
    },
    /// Serving failed (bind, accept, MCP handshake over stdio).
    #[error("metadata server transport error: {0}")]
    Transport(String),
}
