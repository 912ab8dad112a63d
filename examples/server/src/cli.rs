//! Command line: `serve` (the default) and `ask "QUESTION"`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use talk2tables::{ChatRequest, Config, Engine, Mode};

use crate::compat::ServerUrls;

/// Talk 2 Tables: ask a database questions in plain language.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// mcp_config.yaml naming the MCP servers; without it (and without
    /// MCP_CONFIG_PATH / MCP_SERVER_URL) the embedded default runs.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Where the embedded default keeps its sample database.
    #[arg(long, global = true, default_value = "./.talk2tables")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, global = true, env = "HOST", default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, global = true, env = "PORT", default_value_t = 8001)]
    port: u16,
    #[command(subcommand)]
    command: Option<Command>,
}

impl Args {
    /// Whether this command prints its own output and should log only warnings.
    pub fn quiet_by_default(&self) -> bool {
        matches!(self.command, Some(Command::Ask { .. }))
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Answer one question, print the SQL, the resolved entities and the rows, and exit.
    Ask {
        /// The question (or one SQL query).
        question: String,
        /// Processing mode.
        #[arg(long, value_enum, default_value = "auto")]
        mode: ModeArg,
        /// Print the full JSON response instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Auto,
    SingleMcp,
    MultiMcp,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Auto => Mode::Auto,
            ModeArg::SingleMcp => Mode::SingleMcp,
            ModeArg::MultiMcp => Mode::MultiMcp,
        }
    }
}

pub async fn run(args: Args) -> Result<ExitCode, talk2tables::Error> {
    let (engine, server_urls) = start_engine(&args).await?;
    let code = match args.command {
        None | Some(Command::Serve) => {
            crate::http::serve(engine.clone(), server_urls, &args.host, args.port).await?;
            ExitCode::SUCCESS
        }
        Some(Command::Ask { question, mode, json }) => {
            let mut request = ChatRequest::new(question);
            request.mode = mode.into();
            let response = engine.chat(request).await;
            if json {
                println!("{}", serde_json::to_string_pretty(&response).unwrap_or_default());
            } else {
                print_response(&response);
            }
            if response.success { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
    };
    engine.close().await;
    Ok(code)
}

/// The engine, and where its servers live (empty for the embedded default).
async fn start_engine(args: &Args) -> Result<(Engine, ServerUrls), talk2tables::Error> {
    let config = if let Some(path) = &args.config {
        Config::load(path)?
    } else if ["MCP_CONFIG_PATH", "MCP_SERVER_URL"].iter().any(|v| std::env::var_os(v).is_some()) {
        Config::from_env()?
    } else {
        tracing::info!(data_dir = %args.data_dir.display(), "no configuration: running the embedded default");
        return Ok((Engine::embedded(&args.data_dir).await?, ServerUrls::new()));
    };
    let urls = config
        .servers
        .iter()
        .map(|s| (s.server_id.clone(), s.url.clone().unwrap_or_else(|| s.command.join(" "))))
        .collect();
    Ok((Engine::from_config(config).await?, urls))
}

fn print_response(response: &talk2tables::ChatResponse) {
    if let Some(error) = &response.error {
        println!("error: {}: {}", error.code.code(), error.message);
        for a in &error.attempted_sql {
            println!("  tried: {}  ({}: {})", a.sql, a.error_category, a.error);
        }
        return;
    }
    let Some(data) = &response.data else { return };
    println!("SQL:\n  {}\n", data.sql_query);
    if !data.resolved_entities.is_empty() {
        println!("Resolved entities:");
        for e in &data.resolved_entities {
            println!("  {} -> {} ({}, from {})", e.original_term, e.resolved_value, e.entity_type, e.source);
        }
        println!();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(data.results.columns.clone());
    for row in &data.results.rows {
        table.add_row(row.iter().map(cell).collect::<Vec<_>>());
    }
    println!("{table}");
    let more = if data.results.truncated { " (truncated)" } else { "" };
    println!("{} row(s){more}", data.results.row_count);
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
