//! `talk2tables-database-mcp`: serve a database read-only over MCP (streamable HTTP at
//! `/mcp`, or stdio). Logs go to stderr; stdout is reserved for the stdio protocol.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use talk2tables_common::Dialect;
use talk2tables_database_mcp::{DbOptions, connect, http_router_with_config, sample, serve_stdio};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
enum Transport {
    /// MCP streamable HTTP at http://HOST:PORT/mcp.
    StreamableHttp,
    /// Legacy HTTP+SSE (not supported yet).
    Sse,
    /// JSON-RPC over stdin/stdout.
    Stdio,
}

/// Talk 2 Tables Database MCP server: a read-only `execute_query` tool and the
/// `database://schema` resource.
#[derive(Debug, Parser)]
#[command(name = "talk2tables-database-mcp", version)]
struct Args {
    /// SQLite file path or sqlite: URL, postgres://USER:PASS@HOST:PORT/DB, or
    /// mysql://USER:PASS@HOST:PORT/DB (MariaDB too). Use a role with SELECT rights only.
    #[arg(long)]
    db: Option<String>,
    /// Transport to serve.
    #[arg(long, value_enum, default_value = "streamable_http")]
    transport: Transport,
    /// Address to bind for streamable HTTP.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port for streamable HTTP (0 picks a free port; the real one is printed).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Extra Host header values accepted by the HTTP transport (besides localhost,
    /// 127.0.0.1 and ::1), e.g. the server's DNS name behind a proxy.
    #[arg(long = "allowed-host")]
    allowed_hosts: Vec<String>,
    /// Most rows returned per query.
    #[arg(long, default_value_t = 1000)]
    max_rows: usize,
    /// Per-query timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Create the sample database at PATH (a SQLite file) or in the database at URL
    /// (postgres:// or mysql://, as a user allowed to create tables) if it does not exist
    /// yet; without --db, exit after.
    #[arg(long, value_name = "PATH|URL")]
    init_sample: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    if let Some(target) = &args.init_sample {
        let (created, shown) = if Dialect::from_url(target) == Dialect::Sqlite {
            let path = PathBuf::from(target);
            (sample::ensure(&path).await, path.display().to_string())
        } else {
            (sample::ensure_url(target, chrono::Utc::now().date_naive()).await, Dialect::from_url(target).to_string())
        };
        let created = created.map_err(|e| format!("cannot create the sample database: {e}"))?;
        if created {
            tracing::info!(target = %shown, "sample database created");
        } else {
            tracing::info!(target = %shown, "sample database already exists, left unchanged");
        }
    }
    let Some(db) = args.db.clone() else {
        if args.init_sample.is_some() {
            return Ok(());
        }
        return Err("--db <path|url> is required (or --init-sample PATH alone to create the sample)".into());
    };
    if args.transport == Transport::Sse {
        return Err("the legacy SSE transport is not supported yet; use --transport streamable_http or stdio".into());
    }
    let options =
        DbOptions { max_rows: args.max_rows, timeout: Duration::from_millis(args.timeout_ms), ..DbOptions::default() };
    let server = connect(&db, options).await.map_err(|e| e.to_string())?;
    tracing::info!(dialect = %server.dialect(), server = server.server_kind(), "database opened read-only");

    match args.transport {
        Transport::Stdio => {
            tokio::select! {
                r = serve_stdio(server) => r.map_err(|e| e.to_string()),
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
        _ => serve_http(server, &args).await,
    }
}

async fn serve_http(server: talk2tables_database_mcp::DatabaseServer, args: &Args) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| format!("cannot bind {}:{}: {e}", args.host, args.port))?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let ct = CancellationToken::new();
    let mut config = StreamableHttpServerConfig::default().with_cancellation_token(ct.child_token());
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let is_loopback = matches!(args.host.as_str(), "127.0.0.1" | "localhost" | "::1");
    if !is_loopback && !args.host.starts_with("0.0.0.0") && args.host != "::" {
        hosts.push(args.host.clone());
    }
    if hosts.len() > 3 || !args.allowed_hosts.is_empty() {
        hosts.extend(args.allowed_hosts.iter().cloned());
        config = config.with_allowed_hosts(hosts);
    }
    let app = http_router_with_config(server, config);
    eprintln!("listening on http://{addr}/mcp");
    let shutdown = ct.clone();
    // TCP_NODELAY: rmcp writes a response as several small SSE chunks; with Nagle on, the
    // second chunk waits for the client's delayed ACK (~40 ms per request on Linux).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
            shutdown.cancel();
        })
        .await
        .map_err(|e| format!("HTTP server failed: {e}"))
}
