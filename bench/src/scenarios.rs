//! The measured scenarios, in order: the `http` topology (server → Database and Metadata
//! MCP processes over streamable HTTP; floor = an rmcp client to the same Database MCP
//! over HTTP), the `embedded` topology (servers inside talk2tables-server; floor = an
//! in-process rmcp client), cold vs warm resource cache, the scripted LLM stub, and the
//! in-process call cost per language.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::baseline::McpClient;
use crate::chat::Api;
use crate::in_process::{self, CallCost};
use crate::llm_stub::LlmStub;
use crate::load::{self, Stats};
use crate::procs::{self, Memory, Proc};
use crate::{Args, BenchResult, prom};

/// The question mix: aggregates, joins along foreign keys, aliases, dates, raw SQL.
const QUESTIONS: &[&str] = &[
    "Show me total sales for abracadabra this month",
    "How many customers are there?",
    "Top 5 products by revenue",
    "Total sales per category",
    "Number of orders per month",
    "How many orders were cancelled?",
    "average order value by country",
    "SELECT name, price FROM products WHERE product_id = 123",
];
/// Requests before each measured series (connections, caches, allocator warm).
const WARMUP: usize = 50;
/// Environment variables that would make the server leave the embedded default or the
/// offline engine.
const CONFIG_VARS: &[&str] = &["MCP_CONFIG_PATH", "MCP_SERVER_URL", "LLM_BASE_URL", "LLM_MODEL"];
/// Interval of the memory sampler under load.
const MEMORY_SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// LLM stub delays, milliseconds.
const LLM_DELAYS_MS: [u64; 2] = [0, 200];

/// Everything measured.
#[derive(Debug, Serialize)]
pub struct Results {
    /// When the run started (RFC 3339, UTC).
    pub date: String,
    /// The machine and its load.
    pub machine: Machine,
    /// Requests per run, concurrency levels, questions per cache/LLM run.
    pub settings: Settings,
    /// Each question and the SQL the pipeline produced for it (the floor runs these).
    pub questions: Vec<(String, String)>,
    /// `http` and `embedded`.
    pub topologies: Vec<Topology>,
    /// Warm vs cold resource cache (`http` topology).
    pub cache: Vec<CacheRun>,
    /// The LLM generator path against the scripted stub.
    pub llm: Vec<LlmRun>,
    /// In-process call cost per language.
    pub calls: Vec<CallCost>,
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// 1/5/15-minute load averages when the run started.
    pub load_before: [f64; 3],
    /// The same when it ended.
    pub load_after: [f64; 3],
}

/// The run's settings.
#[derive(Debug, Serialize)]
pub struct Settings {
    /// Requests per measured run.
    pub requests: usize,
    /// Concurrency levels.
    pub concurrency: Vec<usize>,
    /// Questions per cache run and per LLM run.
    pub cache_questions: usize,
}

/// One way of running the system, with its floor.
#[derive(Debug, Serialize)]
pub struct Topology {
    /// `http` or `embedded`.
    pub name: String,
    /// What runs where.
    pub description: String,
    /// The floor at each concurrency.
    pub baseline: Vec<Stats>,
    /// `POST /api/chat` at each concurrency.
    pub chat: Vec<Stats>,
    /// chat ÷ baseline (p50 and mean) at each concurrency.
    pub ratio: Vec<Ratio>,
    /// `GET /api/health/live` at concurrency 1: the HTTP hop to the server alone.
    pub http_hop: Stats,
    /// Server memory.
    pub memory: MemoryFigures,
}

/// chat ÷ baseline at one concurrency.
#[derive(Debug, Serialize)]
pub struct Ratio {
    /// Concurrency.
    pub concurrency: usize,
    /// p50 chat ÷ p50 baseline.
    pub p50: f64,
    /// Mean chat ÷ mean baseline.
    pub mean: f64,
    /// Baseline throughput ÷ chat throughput.
    pub throughput: f64,
}

/// Resident memory of the server process (KiB).
#[derive(Debug, Default, Serialize)]
pub struct MemoryFigures {
    /// After start and warm-up, no requests in flight.
    pub idle: Memory,
    /// Highest VmRSS sampled while the highest concurrency ran.
    pub under_load_rss_kib: u64,
    /// VmHWM after the whole series.
    pub peak_hwm_kib: u64,
    /// The concurrency of `under_load_rss_kib`.
    pub load_concurrency: usize,
}

/// One cache run.
#[derive(Debug, Serialize)]
pub struct CacheRun {
    /// `warm` (TTL 300 s, after warm-up) or `cold` (TTL 0: every question fetches
    /// resources and rebuilds the context, as after an expiry).
    pub cache: String,
    /// MCP requests per question by `server method` (Prometheus deltas).
    pub mcp_requests_per_question: BTreeMap<String, f64>,
    /// Resource requests (`resources` method) per question, all servers.
    pub resource_requests_per_question: f64,
    /// `tools/call` requests per question (execute_query, value probes).
    pub tool_calls_per_question: f64,
    /// Latency at concurrency 1.
    pub latency: Stats,
}

/// One LLM-stub run.
#[derive(Debug, Serialize)]
pub struct LlmRun {
    /// Stub delay per completion, ms.
    pub delay_ms: u64,
    /// `data.metadata.generator` of the answers.
    pub generator: String,
    /// Completions per question.
    pub llm_calls_per_question: f64,
    /// Latency at concurrency 1, when the LLM path ran.
    pub latency: Option<Stats>,
    /// p50 minus the stub's delay × completions per question: the pipeline's own share, ms.
    pub pipeline_p50_ms: Option<f64>,
    /// Why there are no figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Runs every scenario.
///
/// Errors: a process does not start, the sample cannot be created, or a question of the
/// mix fails (the bench measures answers, not errors).
pub async fn run_all(args: &Args) -> BenchResult<Results> {
    let load_before = procs::load_average();
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bins = procs::bin_dir(args.bin_dir.as_deref())?;
    let database_mcp = procs::binary(&bins, "talk2tables-database-mcp")?;
    let metadata_mcp = procs::binary(&bins, "talk2tables-metadata-mcp")?;
    let server = procs::binary(&bins, "talk2tables-server")?;
    let tmp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let sample = tmp.path().join("sample.db");
    procs::init_sample(&database_mcp, &sample).await?;

    eprintln!("== http topology");
    let db = Proc::start(&database_mcp, &http_args(Some(&sample)), &[], &[]).await?;
    let meta = Proc::start(&metadata_mcp, &http_args(None), &[], &[]).await?;
    let warm_config = write_config(tmp.path(), "warm", &db.url, &meta.url, 300)?;
    let srv = start_server(&server, &["--config", &path_str(&warm_config)], &[]).await?;
    let api = Api::new(&srv.url)?;
    let questions = discover(&api).await?;
    let floor = Arc::new(McpClient::http(&format!("{}/mcp", db.url)).await?);
    let http = topology(
        "http",
        "talk2tables-server --config → talk2tables-database-mcp + talk2tables-metadata-mcp, streamable HTTP on 127.0.0.1; floor: rmcp client → the same database-mcp over HTTP",
        &srv,
        &api,
        floor.clone(),
        &questions,
        args,
    )
    .await?;

    eprintln!("== cache: warm");
    let warm = cache_run("warm", &api, &questions, args.cache_questions).await?;
    srv.stop().await;
    eprintln!("== cache: cold");
    let cold_config = write_config(tmp.path(), "cold", &db.url, &meta.url, 0)?;
    let cold_srv = start_server(&server, &["--config", &path_str(&cold_config)], &[]).await?;
    let cold = cache_run("cold", &Api::new(&cold_srv.url)?, &questions, args.cache_questions).await?;
    cold_srv.stop().await;
    if let Ok(floor) = Arc::try_unwrap(floor) {
        floor.close().await;
    }
    db.stop().await;
    meta.stop().await;

    eprintln!("== embedded topology");
    let data_dir = tmp.path().join("embedded");
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("create {}: {e}", data_dir.display()))?;
    std::fs::copy(&sample, data_dir.join("sample.db")).map_err(|e| format!("copy sample: {e}"))?;
    let srv = start_server(&server, &["--data-dir", &path_str(&data_dir)], &[]).await?;
    let api = Api::new(&srv.url)?;
    let floor = Arc::new(McpClient::in_process(&data_dir.join("sample.db")).await?);
    let embedded = topology(
        "embedded",
        "talk2tables-server (embedded default: Database + Metadata MCP in-process over in-memory pipes); floor: rmcp client → an in-process Database MCP over an in-memory pipe, no HTTP",
        &srv,
        &api,
        floor,
        &questions,
        args,
    )
    .await?;
    srv.stop().await;

    eprintln!("== LLM stub");
    let mut llm = Vec::new();
    for delay in LLM_DELAYS_MS {
        llm.push(llm_run(&server, &data_dir, delay, &questions, args.cache_questions).await?);
    }

    eprintln!("== in-process call cost");
    let question_texts: Vec<String> = questions.iter().map(|(q, _)| q.clone()).collect();
    let plan = in_process::Plan {
        data_dir: &tmp.path().join("calls"),
        modes_calls: args.modes_calls,
        chat_calls: args.chat_calls,
        questions: &question_texts,
    };
    let mut calls = vec![in_process::rust(&plan).await?];
    if !args.skip_bindings {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let addon = args.node_addon.clone().unwrap_or_else(|| bins.join("libtalk2tables_node.so"));
        calls.push(in_process::node(&plan, &repo, &addon).await);
        calls.push(in_process::python(&plan, &repo, &bins.join("lib_native.so")).await);
    }

    Ok(Results {
        date,
        machine: Machine {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            cpu_model: procs::cpu_model(),
            load_before,
            load_after: procs::load_average(),
        },
        settings: Settings {
            requests: args.requests,
            concurrency: args.concurrency.clone(),
            cache_questions: args.cache_questions,
        },
        questions,
        topologies: vec![http, embedded],
        cache: vec![warm, cold],
        llm,
        calls,
    })
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

fn http_args(db: Option<&Path>) -> Vec<&str> {
    let mut args = Vec::new();
    if let Some(db) = db {
        args.extend(["--db", db.to_str().unwrap_or_default()]);
    }
    args.extend(["--transport", "streamable_http", "--host", "127.0.0.1", "--port", "0"]);
    args
}

/// Starts talk2tables-server on a free loopback port with the offline engine, quiet logs.
async fn start_server(server: &Path, extra: &[&str], envs: &[(&str, &str)]) -> BenchResult<Proc> {
    let mut args = vec!["--host", "127.0.0.1", "--port", "0"];
    args.extend_from_slice(extra);
    let mut all_envs = vec![("LOG_LEVEL", "warn"), ("LLM_PROVIDER", "offline")];
    all_envs.extend_from_slice(envs);
    let mut unset = CONFIG_VARS.to_vec();
    unset.retain(|v| !envs.iter().any(|(k, _)| k == v));
    let mut deduped: Vec<(&str, &str)> = Vec::new();
    for (k, v) in all_envs.into_iter().rev() {
        if !deduped.iter().any(|(dk, _)| *dk == k) {
            deduped.push((k, v));
        }
    }
    Proc::start(server, &args, &deduped, &unset).await
}

/// An mcp_config.yaml for the two HTTP servers with resource cache TTL `ttl` seconds.
fn write_config(dir: &Path, name: &str, db_url: &str, meta_url: &str, ttl: u64) -> BenchResult<PathBuf> {
    let yaml = format!(
        "mcp_servers:\n  database_mcp:\n    name: \"Database MCP\"\n    url: \"{db_url}/mcp\"\n    transport: \"streamable_http\"\n    priority: 10\n    domains: [sales, orders, customers, database]\n    capabilities: [execute_query, list_resources]\n    timeout: 30\n  product_metadata_mcp:\n    name: \"Product Metadata MCP\"\n    url: \"{meta_url}/mcp\"\n    transport: \"streamable_http\"\n    priority: 1\n    domains: [products, product_aliases, column_mappings, metadata]\n    capabilities: [list_resources]\n    timeout: 30\norchestration:\n  resource_cache_ttl: {ttl}\n  fail_fast: true\n  max_retries: 3\n"
    );
    let path = dir.join(format!("mcp_config_{name}.yaml"));
    std::fs::write(&path, yaml).map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(path)
}

/// Asks every question once; returns (question, SQL) pairs.
async fn discover(api: &Api) -> BenchResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for q in QUESTIONS {
        let answered = api.chat(q).await.map_err(|e| format!("question of the mix failed: {e}"))?;
        out.push((q.to_string(), answered.sql));
    }
    Ok(out)
}

/// Baseline and chat at each concurrency (interleaved, so load drift hits both), with
/// the server's memory.
async fn topology(
    name: &str,
    description: &str,
    srv: &Proc,
    api: &Api,
    floor: Arc<McpClient>,
    questions: &[(String, String)],
    args: &Args,
) -> BenchResult<Topology> {
    let questions: Arc<Vec<(String, String)>> = Arc::new(questions.to_vec());
    let run_floor = |c: usize, n: usize| {
        let floor = floor.clone();
        let questions = questions.clone();
        load::run(c, n, move |i| {
            let floor = floor.clone();
            let questions = questions.clone();
            async move { floor.execute_query(&questions[i % questions.len()].1).await }
        })
    };
    let run_chat = |c: usize, n: usize| {
        let api = api.clone();
        let questions = questions.clone();
        load::run(c, n, move |i| {
            let api = api.clone();
            let questions = questions.clone();
            async move { api.chat(&questions[i % questions.len()].0).await.map(|_| ()) }
        })
    };
    let warm = run_chat(4, WARMUP).await;
    check(&warm, "chat warm-up")?;
    check(&run_floor(4, WARMUP).await, "floor warm-up")?;
    let hop_api = api.clone();
    let http_hop = load::run(1, args.requests, move |_| {
        let api = hop_api.clone();
        async move { api.live().await }
    })
    .await;
    let idle = srv.memory()?;
    let top = args.concurrency.iter().copied().max().unwrap_or(1);
    let mut baseline = Vec::new();
    let mut chat = Vec::new();
    let mut under_load = 0;
    for &c in &args.concurrency {
        eprintln!("   {name}: concurrency {c}");
        baseline.push(check(&run_floor(c, args.requests).await, "floor")?.clone());
        let sampler = (c == top).then(|| sample_rss(srv.pid));
        chat.push(check(&run_chat(c, args.requests).await, "chat")?.clone());
        if let Some((stop, peak, task)) = sampler {
            stop.store(true, Ordering::Relaxed);
            let _ = task.await;
            under_load = peak.load(Ordering::Relaxed);
        }
    }
    let ratio = baseline
        .iter()
        .zip(&chat)
        .map(|(b, c)| Ratio {
            concurrency: c.concurrency,
            p50: c.p50_ms / b.p50_ms,
            mean: c.mean_ms / b.mean_ms,
            throughput: b.throughput_rps / c.throughput_rps,
        })
        .collect();
    let after = srv.memory()?;
    Ok(Topology {
        name: name.into(),
        description: description.into(),
        baseline,
        chat,
        ratio,
        http_hop,
        memory: MemoryFigures {
            idle,
            under_load_rss_kib: under_load,
            peak_hwm_kib: after.hwm_kib,
            load_concurrency: top,
        },
    })
}

/// Fails when more than 1 % of a run's requests failed.
fn check<'a>(stats: &'a Stats, what: &str) -> BenchResult<&'a Stats> {
    if stats.errors * 100 > (stats.ok + stats.errors) {
        return Err(format!(
            "{what}: {} of {} requests failed, first: {}",
            stats.errors,
            stats.ok + stats.errors,
            stats.first_error.as_deref().unwrap_or("?")
        ));
    }
    Ok(stats)
}

/// Samples VmRSS of `pid` until the flag is set; the peak is in the counter.
fn sample_rss(pid: u32) -> (Arc<AtomicBool>, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let (s, p) = (stop.clone(), peak.clone());
    let task = tokio::spawn(async move {
        while !s.load(Ordering::Relaxed) {
            if let Ok(m) = Memory::of(pid) {
                p.fetch_max(m.rss_kib, Ordering::Relaxed);
            }
            tokio::time::sleep(MEMORY_SAMPLE_EVERY).await;
        }
    });
    (stop, peak, task)
}

/// `n` questions at concurrency 1 with Prometheus deltas around them (after a warm-up
/// pass over the mix).
async fn cache_run(name: &str, api: &Api, questions: &[(String, String)], n: usize) -> BenchResult<CacheRun> {
    for (q, _) in questions {
        api.chat(q).await?;
    }
    let before = prom::mcp_counts(&api.prometheus().await?);
    let qs: Arc<Vec<String>> = Arc::new(questions.iter().map(|(q, _)| q.clone()).collect());
    let client = api.clone();
    let latency = load::run(1, n, move |i| {
        let api = client.clone();
        let qs = qs.clone();
        async move { api.chat(&qs[i % qs.len()]).await.map(|_| ()) }
    })
    .await;
    check(&latency, name)?;
    let after = prom::mcp_counts(&api.prometheus().await?);
    let per = prom::per_question(&before, &after, n);
    let sum = |method: &str| per.iter().filter(|(k, _)| k.ends_with(method)).map(|(_, v)| v).sum::<f64>();
    Ok(CacheRun {
        cache: name.into(),
        resource_requests_per_question: sum(" resources"),
        tool_calls_per_question: sum(" tools/call"),
        mcp_requests_per_question: per,
        latency,
    })
}

/// The embedded server with `LLM_PROVIDER=openai` against the scripted stub.
async fn llm_run(
    server: &Path,
    data_dir: &Path,
    delay_ms: u64,
    questions: &[(String, String)],
    n: usize,
) -> BenchResult<LlmRun> {
    let nl: Vec<(String, String)> =
        questions.iter().filter(|(q, _)| !q.trim_start().to_uppercase().starts_with("SELECT")).cloned().collect();
    let stub = LlmStub::start(Duration::from_millis(delay_ms), nl.clone()).await?;
    let envs = [
        ("LLM_PROVIDER", "openai"),
        ("LLM_BASE_URL", stub.base_url.as_str()),
        ("OPENAI_API_KEY", "bench"),
        ("LLM_MODEL", "bench-stub"),
    ];
    let srv = start_server(server, &["--data-dir", &path_str(data_dir)], &envs).await?;
    let api = Api::new(&srv.url)?;
    let first = api.chat(&nl[0].0).await;
    let generator = first.as_ref().map(|a| a.generator.clone()).unwrap_or_default();
    if generator == "offline" || stub.calls() == 0 {
        srv.stop().await;
        return Ok(LlmRun {
            delay_ms,
            generator,
            llm_calls_per_question: 0.0,
            latency: None,
            pipeline_p50_ms: None,
            note: Some("n/a: the LLM generator path is not built yet (answers came from the offline engine)".into()),
        });
    }
    let calls_before = stub.calls();
    let qs: Arc<Vec<String>> = Arc::new(nl.iter().map(|(q, _)| q.clone()).collect());
    let client = api.clone();
    let latency = load::run(1, n, move |i| {
        let api = client.clone();
        let qs = qs.clone();
        async move { api.chat(&qs[i % qs.len()]).await.map(|_| ()) }
    })
    .await;
    let per_question = (stub.calls() - calls_before) as f64 / n.max(1) as f64;
    srv.stop().await;
    let note = first.err().or_else(|| latency.first_error.clone());
    Ok(LlmRun {
        delay_ms,
        generator,
        llm_calls_per_question: per_question,
        pipeline_p50_ms: Some(latency.p50_ms - delay_ms as f64 * per_question),
        latency: Some(latency),
        note,
    })
}
