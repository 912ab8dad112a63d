//! `talk2tables-bench`: starts the whole system on loopback, measures `POST /api/chat`
//! against the floor (a bare `execute_query` round trip to the Database MCP), and prints
//! a table, also written as JSON. Method and figures: `docs/performance.md`.
//!
//! Every load loop has a fixed request count; every process listens on 127.0.0.1 on a
//! free port and is killed at the end. Latencies are measured here, never in the server.

mod baseline;
mod chat;
mod in_process;
mod llm_stub;
mod load;
mod procs;
mod prom;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Errors of the bench: a message naming what failed.
pub type BenchResult<T> = Result<T, String>;

/// Benchmark the Talk 2 Tables server on loopback (use a release build).
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// Requests per measured run (each path, each concurrency).
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    concurrency: Vec<usize>,
    /// Questions per cold/warm cache run and per LLM-stub run.
    #[arg(long, default_value_t = 40)]
    cache_questions: usize,
    /// `modes()` calls per language for the in-process call cost.
    #[arg(long, default_value_t = 20_000)]
    modes_calls: usize,
    /// `chat()` calls per language for the in-process call cost.
    #[arg(long, default_value_t = 300)]
    chat_calls: usize,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-results.json")]
    out: PathBuf,
    /// Directory of the workspace binaries (default: this executable's directory).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The Node addon to load (default: BIN_DIR/libtalk2tables_node.so).
    #[arg(long)]
    node_addon: Option<PathBuf>,
    /// Skip the Node and Python measurements.
    #[arg(long)]
    skip_bindings: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.requests == 0 || args.concurrency.contains(&0) {
        eprintln!("error: --requests and every --concurrency level must be at least 1");
        return ExitCode::FAILURE;
    }
    match scenarios::run_all(&args).await {
        Ok(results) => {
            println!("{}", report::table(&results));
            match serde_json::to_string_pretty(&results) {
                Ok(json) => {
                    if let Err(e) = std::fs::write(&args.out, json) {
                        eprintln!("error: cannot write {}: {e}", args.out.display());
                        return ExitCode::FAILURE;
                    }
                    eprintln!("JSON written to {}", args.out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot serialise the results: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
