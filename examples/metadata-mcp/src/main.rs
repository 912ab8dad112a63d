//! `talk2tables-metadata-mcp`: the Metadata MCP server as a program.
//!
//! ```text
//! talk2tables-metadata-mcp [--metadata FILE] [--transport streamable_http|stdio]
//!                          [--host 127.0.0.1] [--port 8002]
//! ```
//! Logs go to stderr (filter with `RUST_LOG`). Over HTTP it prints
//! `listening on http://HOST:PORT/mcp` to stderr once bound (the real port with
//! `--port 0`) and stops on ctrl-c.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use talk2tables_metadata_mcp::{MetadataError, MetadataServer, http_router, serve_stdio};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    /// MCP streamable HTTP at `/mcp`.
    #[value(name = "streamable_http", alias = "streamable-http", alias = "http")]
    StreamableHttp,
    /// Newline-delimited JSON-RPC on stdin/stdout.
    Stdio,
}

/// Talk 2 Tables Metadata MCP server: product aliases and column mappings as MCP resources.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Metadata file (.json or .yaml/.yml); the embedded sample metadata when absent.
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// Transport to serve.
    #[arg(long, value_enum, default_value = "streamable_http")]
    transport: Transport,
    /// Address to bind for HTTP.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind for HTTP (0 = any free port).
    #[arg(long, default_value_t = 8002)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), MetadataError> {
    let server = match &args.metadata {
        Some(path) => MetadataServer::from_path(path)?,
        None => MetadataServer::builtin(),
    };
    tracing::info!(
        products = server.metadata().total_products(),
        mappings = server.metadata().total_mappings(),
        "metadata loaded"
    );
    match args.transport {
        Transport::Stdio => serve_stdio(server).await,
        Transport::StreamableHttp => serve_http(server, &args.host, args.port).await,
    }
}

async fn serve_http(server: MetadataServer, host: &str, port: u16) -> Result<(), MetadataError> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| MetadataError::Transport(format!("cannot bind {host}:{port}: {e}")))?;
    let addr =
        listener.local_addr().map_err(|e| MetadataError::Transport(format!("cannot read bound address: {e}")))?;
    let ct = CancellationToken::new();
    let app = http_router(server, ct.clone());
    eprintln!("listening on http://{addr}/mcp");
    let shutdown = ct.clone();
    // TCP_NODELAY: rmcp writes a response as several small SSE chunks; with Nagle on, the
    // second chunk waits for the client's delayed ACK (~40 ms per request on Linux).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!(error = %e, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
            tracing::info!("shutting down");
            shutdown.cancel();
        })
        .await
        .map_err(|e| MetadataError::Transport(format!("HTTP server failed: {e}")))
}
