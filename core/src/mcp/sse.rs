//! The legacy HTTP+SSE client transport (MCP 2024-11-05), which rmcp no longer ships.
//!
//! `GET <url>` opens an event stream; the server's first `endpoint` event carries the URL
//! (relative or absolute, same origin) to `POST` each JSON-RPC message to (answered
//! `202`/`200`); responses and notifications arrive on the event stream as `message`
//! events. Timeouts: TCP connect ([`super::transport::HTTP_CONNECT_TIMEOUT`]), the
//! response headers plus the `endpoint` event (`endpoint_wait`), each POST (`post_timeout`).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::Url;
use reqwest::header::{ACCEPT, HeaderMap};
use rmcp::RoleClient;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use sse_stream::SseStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::transport::{HTTP_CONNECT_TIMEOUT, custom_headers};
use crate::config::ServerConfig;
use crate::error::{Error, ErrorKind};

/// Messages buffered between the event-stream reader and rmcp.
const INBOX: usize = 64;

/// A connected legacy-SSE session: POSTs go to `endpoint`, a reader task feeds the
/// server's messages from the event stream. Dropping it stops the reader (and closes the
/// stream).
pub(crate) struct SseTransport {
    server_id: Arc<str>,
    http: reqwest::Client,
    endpoint: Url,
    headers: HeaderMap,
    post_timeout: Duration,
    inbox: mpsc::Receiver<ServerJsonRpcMessage>,
    reader: JoinHandle<()>,
}

/// Why a POST of a JSON-RPC message failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseSendError {
    /// Connection refused, reset, or no answer within the POST timeout.
    #[error("{server}: POST to the SSE message endpoint failed: {source}")]
    Http {
        /// The server id.
        server: Arc<str>,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint answered with a non-success status.
    #[error("{server}: the SSE message endpoint answered HTTP {status}: {body}")]
    Status {
        /// The server id.
        server: Arc<str>,
        /// HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
}

fn unavailable(id: &str, what: String) -> Error {
    Error::new(ErrorKind::McpUnavailable, format!("{id}: {what}"))
}

/// Opens the event stream at `config.url` (with `config.headers`) and waits up to
/// `endpoint_wait` for the `endpoint` event; each later POST runs under `post_timeout`.
///
/// Errors: `CONFIG_ERROR` (missing url, bad header); `MCP_UNAVAILABLE` (refused, non-2xx,
/// stream ended before the endpoint event); `MCP_TIMEOUT` (no endpoint event in time);
/// `MCP_PROTOCOL_ERROR` (an endpoint URL that is invalid or of another origin).
pub(crate) async fn connect(
    config: &ServerConfig,
    endpoint_wait: Duration,
    post_timeout: Duration,
) -> Result<SseTransport, Error> {
    let id = config.server_id.as_str();
    let url = config
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::config(format!("{id}: sse transport needs a `url`")))?;
    let base = Url::parse(url).map_err(|e| Error::config(format!("{id}: bad url `{url}`: {e}")))?;
    let headers: HeaderMap = custom_headers(config)?.into_iter().collect();
    let http = reqwest::Client::builder()
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        .build()
        .map_err(|e| unavailable(id, format!("cannot build HTTP client: {e}")).with_source(e))?;

    let opened = async {
        let response = http
            .get(base.clone())
            .headers(headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| unavailable(id, format!("GET {base} failed: {e}")).with_source(e))?;
        if !response.status().is_success() {
            return Err(unavailable(id, format!("GET {base} answered HTTP {}", response.status().as_u16())));
        }
        let mut events = SseStream::from_bytes_stream(response.bytes_stream());
        while let Some(event) = events.next().await {
            let event =
                event.map_err(|e| unavailable(id, format!("event stream failed before the endpoint event: {e}")))?;
            if event.event.as_deref() == Some("endpoint") {
                let data = event.data.unwrap_or_default();
                let endpoint = base.join(data.trim()).map_err(|e| {
                    Error::new(ErrorKind::McpProtocolError, format!("{id}: bad endpoint `{data}`: {e}"))
                })?;
                if endpoint.origin() != base.origin() {
                    return Err(Error::new(
                        ErrorKind::McpProtocolError,
                        format!("{id}: endpoint `{endpoint}` is not on the origin of `{base}`"),
                    ));
                }
                return Ok((endpoint, events));
            }
        }
        Err(unavailable(id, "event stream ended before the endpoint event".into()))
    };
    let (endpoint, mut events) = tokio::time::timeout(endpoint_wait, opened).await.map_err(|_| {
        Error::new(
            ErrorKind::McpTimeout,
            format!("{id}: no SSE endpoint event within {} s", super::errors::format_secs(endpoint_wait)),
        )
    })??;
    tracing::debug!(server = %id, %endpoint, "SSE endpoint received");

    let (tx, inbox) = mpsc::channel(INBOX);
    let server_id: Arc<str> = Arc::from(id);
    let reader_id = server_id.clone();
    let reader = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(server = %reader_id, "SSE stream failed: {e}");
                    break;
                }
            };
            if !matches!(event.event.as_deref(), None | Some("message")) {
                continue;
            }
            let Some(data) = event.data else { continue };
            match serde_json::from_str::<ServerJsonRpcMessage>(&data) {
                Ok(message) => {
                    if tx.send(message).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(server = %reader_id, "ignoring malformed SSE message: {e}")
                }
            }
        }
        tracing::debug!(server = %reader_id, "SSE stream ended");
    });
    Ok(SseTransport { server_id, http, endpoint, headers, post_timeout, inbox, reader })
}

impl Transport<RoleClient> for SseTransport {
    type Error = SseSendError;

    fn send(&mut self, item: ClientJsonRpcMessage) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let request =
            self.http.post(self.endpoint.clone()).headers(self.headers.clone()).timeout(self.post_timeout).json(&item);
        let server = self.server_id.clone();
        async move {
            let response =
                request.send().await.map_err(|source| SseSendError::Http { server: server.clone(), source })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let body = response.text().await.unwrap_or_default();
            Err(SseSendError::Status { server, status: status.as_u16(), body: body.chars().take(200).collect() })
        }
    }

    async fn receive(&mut self) -> Option<ServerJsonRpcMessage> {
        self.inbox.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.reader.abort();
        self.inbox.close();
        Ok(())
    }
}

impl Drop for SseTransport {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
