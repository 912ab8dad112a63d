//! `talk2tables-server`: the Talk 2 Tables HTTP API (axum) and the `ask` command.
//!
//! With no configuration it runs the embedded default: the sample database under
//! `--data-dir`, our Database and Metadata MCP servers in-process, the offline SQL
//! engine. With `--config` (or `MCP_CONFIG_PATH` / `MCP_SERVER_URL`) it connects to the
//! MCP servers the configuration names.

mod cli;
mod compat;
mod http;
mod web;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Args::parse();
    init_logging(args.quiet_by_default());
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: `LOG_LEVEL` (or `RUST_LOG`) sets the level, `LOG_FORMAT=json`
/// switches to JSON lines.
/// `ask` logs warnings only unless a level is set.
fn init_logging(quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "warn" } else { "info,rmcp=warn" };
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_else(|_| default.into());
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}
