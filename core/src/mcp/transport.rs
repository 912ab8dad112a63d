//! Building the client side of each transport: streamable HTTP (reqwest), stdio (a child
//! process whose stderr is drained into `tracing`), and in-process (an in-memory duplex).

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::TokioChildProcess;
use rmcp::transport::common::client_side_sse::ExponentialBackoff;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::error::{Error, ErrorKind};

/// Seconds to wait for a TCP connection to an HTTP server.
pub(crate) const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnect attempts of the server-to-client SSE stream before giving up.
const SSE_RECONNECT_ATTEMPTS: usize = 5;
/// Longest delay between SSE reconnect attempts.
const SSE_RECONNECT_MAX_DELAY: Duration = Duration::from_secs(10);
/// Longest stderr line forwarded to `tracing`, in bytes; the rest is cut.
pub(crate) const STDERR_LINE_MAX: usize = 2048;
/// Most stderr lines per second of one child forwarded to `tracing`; the rest are
/// counted and reported as one line when the next second starts (a child printing in
/// a loop filled the log at about 2 MB/s).
pub(crate) const STDERR_LINES_PER_SECOND: u32 = 50;
/// Number of recent stderr lines kept for error messages.
const STDERR_TAIL_LINES: usize = 5;
/// Buffer size of the in-process duplex pipe, in bytes.
pub(crate) const DUPLEX_BUFFER: usize = 256 * 1024;

/// Headers the transport sets itself; config may not override them.
const RESERVED_HEADERS: &[&str] = &["accept", "mcp-session-id", "last-event-id", "content-type"];

/// The streamable HTTP client transport for `config.url`, with a connect timeout,
/// a bounded SSE reconnect policy and `config.headers` sent on every request.
///
/// Errors: `CONFIG_ERROR` when `url` is missing or a header is invalid or reserved;
/// `MCP_UNAVAILABLE` when the HTTP client cannot be built.
pub(crate) fn streamable_http(config: &ServerConfig) -> Result<StreamableHttpClientTransport<reqwest::Client>, Error> {
    let url = config
        .url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::config(format!("{}: streamable_http transport needs a `url`", config.server_id)))?;
    let headers = custom_headers(config)?;
    let http = reqwest::Client::builder().connect_timeout(HTTP_CONNECT_TIMEOUT).build().map_err(|e| {
        Error::new(ErrorKind::McpUnavailable, format!("{}: cannot build HTTP client: {e}", config.server_id))
            .with_source(e)
    })?;
    let mut backoff = ExponentialBackoff::default();
    backoff.max_times = Some(SSE_RECONNECT_ATTEMPTS);
    backoff.max_delay = Some(SSE_RECONNECT_MAX_DELAY);
    let mut cfg = StreamableHttpClientTransportConfig::with_uri(url.trim().to_string()).custom_headers(headers);
    cfg.retry_config = Arc::new(backoff);
    Ok(StreamableHttpClientTransport::with_client(http, cfg))
}

pub(crate) fn custom_headers(config: &ServerConfig) -> Result<HashMap<HeaderName, HeaderValue>, Error> {
    let mut out = HashMap::new();
    for (name, value) in &config.headers {
        let bad = |why: &str| Error::config(format!("{}: header `{name}`: {why}", config.server_id));
        let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("invalid header name"))?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(bad("set by the MCP transport itself"));
        }
        let mut value = HeaderValue::from_str(value).map_err(|_| bad("invalid header value"))?;
        if header == reqwest::header::AUTHORIZATION {
            value.set_sensitive(true);
        }
        out.insert(header, value);
    }
    Ok(out)
}

/// A spawned stdio server: the transport plus what is needed to clean up after it.
pub(crate) struct StdioChild {
    /// The rmcp transport over the child's stdin/stdout.
    pub transport: TokioChildProcess,
    /// The child's process group id (= its pid), killed as a whole on close/drop.
    pub process_group: Option<u32>,
    /// The most recent stderr lines.
    pub stderr_tail: StderrTail,
    /// The task draining stderr; ends when the child closes stderr.
    pub drain: Option<JoinHandle<()>>,
}

/// Spawns `config.command` with `config.env` and `config.cwd`, in its own process group,
/// killed on drop; stderr is drained line by line into `tracing`
/// (target `talk2tables::mcp::stderr`, field `server`).
///
/// Errors: `CONFIG_ERROR` when `command` is empty; `MCP_UNAVAILABLE` when it cannot be
/// spawned.
pub(crate) fn stdio(config: &ServerConfig) -> Result<StdioChild, Error> {
    let Some((program, args)) = config.command.split_first() else {
        return Err(Error::config(format!("{}: stdio transport needs a `command`", config.server_id)));
    };
    let mut command = tokio::process::Command::new(program);
    command.args(args).envs(&config.env).kill_on_drop(true);
    if let Some(cwd) = &config.cwd {
        command.current_dir(cwd);
    }
    #[cfg(unix)]
    command.process_group(0);
    let (transport, stderr) = TokioChildProcess::builder(command).stderr(Stdio::piped()).spawn().map_err(|e| {
        Error::new(ErrorKind::McpUnavailable, format!("{}: cannot start `{program}`: {e}", config.server_id))
            .with_source(e)
    })?;
    let stderr_tail = StderrTail::default();
    let drain = stderr.map(|s| tokio::spawn(drain_stderr(config.server_id.clone(), s, stderr_tail.clone())));
    let process_group = transport.id();
    Ok(StdioChild { transport, process_group, stderr_tail, drain })
}

/// Kills every process left in the group `pgid` (a stdio server and its children).
pub(crate) fn kill_process_group(pgid: u32) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: killpg only sends a signal; an unknown group yields ESRCH, which we ignore.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// The last few stderr lines of a child, for error messages.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == STDERR_TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    /// The kept lines joined with `" | "`; empty when none.
    pub(crate) fn joined(&self) -> String {
        self.0.lock().map(|l| l.iter().cloned().collect::<Vec<_>>().join(" | ")).unwrap_or_default()
    }
}

/// Rate limit of forwarded stderr lines: [`STDERR_LINES_PER_SECOND`] per one-second
/// window.
struct LineBudget {
    window_start: std::time::Instant,
    logged: u32,
    suppressed: u64,
}

impl LineBudget {
    fn new(now: std::time::Instant) -> Self {
        LineBudget { window_start: now, logged: 0, suppressed: 0 }
    }

    /// Whether a line seen at `now` may be logged: `Some(n)` with the number of lines
    /// dropped since the last logged one, `None` when this one is dropped too.
    fn admit(&mut self, now: std::time::Instant) -> Option<u64> {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.logged = 0;
        }
        if self.logged >= STDERR_LINES_PER_SECOND {
            self.suppressed += 1;
            return None;
        }
        self.logged += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

fn report_suppressed(server_id: &str, suppressed: u64) {
    if suppressed > 0 {
        tracing::warn!(
            target: "talk2tables::mcp::stderr",
            server = %server_id,
            "{suppressed} stderr line(s) not logged (more than {STDERR_LINES_PER_SECOND} per second)"
        );
    }
}

/// Reads `stream` line by line until EOF, cutting lines at [`STDERR_LINE_MAX`] bytes
/// (without buffering the rest), and logs each at `info` level, at most
/// [`STDERR_LINES_PER_SECOND`] a second (every line still reaches the tail).
pub(crate) async fn drain_stderr(server_id: String, stream: impl AsyncRead + Unpin, tail: StderrTail) {
    let mut budget = LineBudget::new(std::time::Instant::now());
    let mut reader = BufReader::new(stream);
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        let buf = match reader.fill_buf().await {
            Ok(buf) => buf,
            Err(e) => {
                tracing::debug!(target: "talk2tables::mcp::stderr", server = %server_id, "stderr read failed: {e}");
                break;
            }
        };
        if buf.is_empty() {
            if !line.is_empty() {
                emit(&server_id, &line, cut, &tail, &mut budget);
            }
            report_suppressed(&server_id, budget.suppressed);
            break;
        }
        let (chunk, newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = STDERR_LINE_MAX.saturating_sub(line.len());
        if chunk.len() > room {
            cut = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = newline.unwrap_or(buf.len());
        reader.consume(consumed);
        if newline.is_some() {
            emit(&server_id, &line, cut, &tail, &mut budget);
            line.clear();
            cut = false;
        }
    }
}

fn emit(server_id: &str, line: &[u8], cut: bool, tail: &StderrTail, budget: &mut LineBudget) {
    let mut text = String::from_utf8_lossy(line).trim_end_matches('\r').to_string();
    if cut {
        text.push_str(" …");
    }
    if let Some(suppressed) = budget.admit(std::time::Instant::now()) {
        report_suppressed(server_id, suppressed);
        tracing::info!(target: "talk2tables::mcp::stderr", server = %server_id, "{text}");
    }
    tail.push(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_cuts_long_lines_and_keeps_a_tail() {
        let mut input = b"first\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', STDERR_LINE_MAX * 3));
        input.extend_from_slice(b"\nlast without newline");
        let tail = StderrTail::default();
        drain_stderr("s".into(), &input[..], tail.clone()).await;
        let lines: Vec<String> = tail.0.lock().unwrap().iter().cloned().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "first");
        assert_eq!(lines[1].len(), STDERR_LINE_MAX + " …".len());
        assert_eq!(lines[2], "last without newline");
    }

    /// A child flooding stderr is logged at a bounded rate; the count of dropped lines
    /// is reported with the next logged line.
    #[test]
    fn stderr_logging_is_rate_limited() {
        let start = std::time::Instant::now();
        let mut budget = LineBudget::new(start);
        let logged = (0..10_000).filter(|_| budget.admit(start).is_some()).count();
        assert_eq!(logged, STDERR_LINES_PER_SECOND as usize);
        let later = start + Duration::from_millis(1001);
        assert_eq!(budget.admit(later), Some(10_000 - u64::from(STDERR_LINES_PER_SECOND)));
        assert_eq!(budget.admit(later), Some(0));
    }

    #[tokio::test]
    async fn flooded_stderr_still_fills_the_tail() {
        let input: Vec<u8> = (0..5_000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        let tail = StderrTail::default();
        drain_stderr("s".into(), &input[..], tail.clone()).await;
        assert!(tail.joined().ends_with("line 4999"), "{}", tail.joined());
    }

    #[test]
    fn reserved_and_invalid_headers_are_config_errors() {
        let mut cfg = ServerConfig {
            server_id: "h".into(),
            name: "h".into(),
            url: Some("http://127.0.0.1:1/mcp".into()),
            transport: crate::config::TransportKind::StreamableHttp,
            command: vec![],
            env: Default::default(),
            cwd: None,
            priority: 1,
            domains: vec![],
            capabilities: vec![],
            timeout: 1.0,
            critical: false,
            headers: [("Accept".to_string(), "x".to_string())].into(),
        };
        assert_eq!(custom_headers(&cfg).unwrap_err().kind(), ErrorKind::ConfigError);
        cfg.headers = [("bad name".to_string(), "x".to_string())].into();
        assert_eq!(custom_headers(&cfg).unwrap_err().kind(), ErrorKind::ConfigError);
        cfg.headers = [("Authorization".to_string(), "Bearer t".to_string())].into();
        assert_eq!(custom_headers(&cfg).unwrap().len(), 1);
    }
}
