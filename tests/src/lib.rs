//! Helpers for the end-to-end tests: locate the workspace binaries, start them as real
//! processes on free loopback ports, and talk to them over HTTP.
//!
//! The binaries must be built first (`cargo build --workspace`, which the README's test
//! command does).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// How long a process may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The directory holding the workspace binaries (`target/<profile>`), found from the
/// running test executable (`target/<profile>/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Path of a workspace binary; panics with a hint when it has not been built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} not built: run `cargo build --workspace` first", path.display());
    path
}

/// A child process killed when dropped.
pub struct Proc {
    child: Child,
    /// `http://127.0.0.1:PORT` as printed by the process.
    pub url: String,
    /// The process's name, for messages.
    pub name: String,
}

impl Proc {
    /// Starts `program` with `args` and waits for `listening on http://ADDR` on stderr.
    pub fn start(program: &Path, args: &[&str], envs: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let stderr = child.stderr.take().expect("stderr");
        let name = program.file_name().unwrap_or_default().to_string_lossy().to_string();
        let (tx, rx) = mpsc::channel();
        let tag = name.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(pos) = line.find("listening on http://") {
                    let url = line[pos + "listening on ".len()..].trim().trim_end_matches("/mcp").to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
                if std::env::var_os("E2E_VERBOSE").is_some() {
                    eprintln!("[{tag}] {line}");
                }
            }
        });
        let url = match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("{name} did not report its address within {START_TIMEOUT:?}");
            }
        };
        Proc { child, url, name }
    }
}

impl Proc {
    /// Whether the process is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates the sample database of DESIGN.md §6 at `path` with our Database MCP binary.
pub fn init_sample(path: &Path) {
    let status = Command::new(bin("talk2tables-database-mcp"))
        .arg("--init-sample")
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .expect("run --init-sample");
    assert!(status.success(), "--init-sample failed");
}

/// Starts our Database MCP over streamable HTTP on a free port for `db`.
pub fn start_database_mcp(db: &Path) -> Proc {
    let db = db.to_string_lossy().to_string();
    Proc::start(
        &bin("talk2tables-database-mcp"),
        &["--db", &db, "--transport", "streamable_http", "--host", "127.0.0.1", "--port", "0"],
        &[],
    )
}

/// Starts our Metadata MCP (built-in metadata) over streamable HTTP on a free port.
pub fn start_metadata_mcp() -> Proc {
    Proc::start(
        &bin("talk2tables-metadata-mcp"),
        &["--transport", "streamable_http", "--host", "127.0.0.1", "--port", "0"],
        &[],
    )
}

/// A loopback port that was free a moment ago (bound to port 0, then released), for a
/// process that must be restarted on the same port.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Starts our Database MCP over streamable HTTP on the fixed `port` for `db` (restart it
/// on the same port by dropping the [`Proc`] and calling this again).
pub fn start_database_mcp_on(db: &Path, port: u16) -> Proc {
    let db = db.to_string_lossy().to_string();
    let port = port.to_string();
    Proc::start(
        &bin("talk2tables-database-mcp"),
        &["--db", &db, "--transport", "streamable_http", "--host", "127.0.0.1", "--port", &port],
        &[],
    )
}

/// Starts our Metadata MCP over streamable HTTP on the fixed `port`.
pub fn start_metadata_mcp_on(port: u16) -> Proc {
    let port = port.to_string();
    Proc::start(
        &bin("talk2tables-metadata-mcp"),
        &["--transport", "streamable_http", "--host", "127.0.0.1", "--port", &port],
        &[],
    )
}

/// Starts the `hang_mcp` test server (`tests/src/bin/hang_mcp.rs`) on a free port: a
/// Database MCP over `db` whose `execute_query` never answers for queries containing
/// `marker` (case-insensitive).
pub fn start_hang_mcp(db: &Path, marker: &str) -> Proc {
    let db = db.to_string_lossy().to_string();
    Proc::start(&bin("hang_mcp"), &["--db", &db, "--hang-on", marker, "--port", "0"], &[])
}

/// Settings of [`write_config_with`]: the per-request timeout of every server and the
/// `orchestration` healing knobs (DESIGN.md §2 plus `circuit_*`, `handshake_timeout`,
/// `health_check_interval`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOptions {
    /// `timeout` of each server, seconds.
    pub timeout: f64,
    /// `orchestration.fail_fast`.
    pub fail_fast: bool,
    /// `orchestration.circuit_failure_threshold`.
    pub circuit_failure_threshold: u32,
    /// `orchestration.circuit_open_seconds`.
    pub circuit_open_seconds: u64,
    /// `orchestration.handshake_timeout`, seconds.
    pub handshake_timeout: f64,
    /// `orchestration.health_check_interval`, seconds (0 = no probe).
    pub health_check_interval: u64,
    /// `orchestration.resource_cache_ttl`, seconds.
    pub resource_cache_ttl: u64,
}

impl Default for ConfigOptions {
    /// The defaults of DESIGN.md §2 (timeout 30 s, circuit 5 failures / 60 s, handshake
    /// 10 s, probe every 30 s, cache 300 s, fail_fast off).
    fn default() -> Self {
        ConfigOptions {
            timeout: 30.0,
            fail_fast: false,
            circuit_failure_threshold: 5,
            circuit_open_seconds: 60,
            handshake_timeout: 10.0,
            health_check_interval: 30,
            resource_cache_ttl: 300,
        }
    }
}

impl ConfigOptions {
    /// Short timeouts for fault tests: `timeout` seconds per request, a circuit that
    /// opens after 3 failures for 1 s, a 2 s handshake, a probe every second.
    pub fn fast(timeout: f64) -> Self {
        ConfigOptions {
            timeout,
            circuit_failure_threshold: 3,
            circuit_open_seconds: 1,
            handshake_timeout: 2.0,
            health_check_interval: 1,
            ..ConfigOptions::default()
        }
    }
}

/// Writes an mcp_config.yaml for a Database MCP at `db_url` and, optionally, a Metadata
/// MCP at `meta_url`, with the timeouts and healing settings of `opts`; returns its path.
pub fn write_config_with(dir: &Path, db_url: &str, meta_url: Option<&str>, opts: &ConfigOptions) -> PathBuf {
    let ConfigOptions {
        timeout,
        fail_fast,
        circuit_failure_threshold,
        circuit_open_seconds,
        handshake_timeout,
        health_check_interval,
        resource_cache_ttl,
    } = opts;
    let mut yaml = format!(
        "mcp_servers:\n  database_mcp:\n    name: \"Database MCP\"\n    url: \"{db_url}/mcp\"\n    transport: \"streamable_http\"\n    priority: 10\n    domains: [sales, orders, customers, database]\n    capabilities: [execute_query, list_resources]\n    timeout: {timeout}\n"
    );
    if let Some(meta) = meta_url {
        yaml.push_str(&format!(
            "  product_metadata_mcp:\n    name: \"Product Metadata MCP\"\n    url: \"{meta}/mcp\"\n    transport: \"streamable_http\"\n    priority: 1\n    domains: [products, product_aliases, column_mappings, metadata]\n    capabilities: [list_resources]\n    timeout: {timeout}\n"
        ));
    }
    yaml.push_str(&format!(
        "orchestration:\n  resource_cache_ttl: {resource_cache_ttl}\n  fail_fast: {fail_fast}\n  max_retries: 3\n  circuit_failure_threshold: {circuit_failure_threshold}\n  circuit_open_seconds: {circuit_open_seconds}\n  handshake_timeout: {handshake_timeout}\n  health_check_interval: {health_check_interval}\n"
    ));
    let path = dir.join("mcp_config.yaml");
    std::fs::write(&path, yaml).expect("write config");
    path
}

/// Writes an mcp_config.yaml for a Database MCP at `db_url` and, optionally, a Metadata
/// MCP at `meta_url`; returns its path.
pub fn write_config(dir: &Path, db_url: &str, meta_url: Option<&str>) -> PathBuf {
    let mut yaml = format!(
        "mcp_servers:\n  database_mcp:\n    name: \"Database MCP\"\n    url: \"{db_url}/mcp\"\n    transport: \"streamable_http\"\n    priority: 10\n    domains: [sales, orders, customers, database]\n    capabilities: [execute_query, list_resources]\n    timeout: 30\n"
    );
    if let Some(meta) = meta_url {
        yaml.push_str(&format!(
            "  product_metadata_mcp:\n    name: \"Product Metadata MCP\"\n    url: \"{meta}/mcp\"\n    transport: \"streamable_http\"\n    priority: 1\n    domains: [products, product_aliases, column_mappings, metadata]\n    capabilities: [list_resources]\n    timeout: 30\n"
        ));
    }
    yaml.push_str("orchestration:\n  resource_cache_ttl: 300\n  fail_fast: false\n  max_retries: 3\n");
    let path = dir.join("mcp_config.yaml");
    std::fs::write(&path, yaml).expect("write config");
    path
}

/// Starts `talk2tables-server` with `config` on a free loopback port.
pub fn start_server(config: &Path) -> Proc {
    let config = config.to_string_lossy().to_string();
    Proc::start(
        &bin("talk2tables-server"),
        &["--config", &config, "--host", "127.0.0.1", "--port", "0"],
        &[("LLM_PROVIDER", "offline"), ("MCP_CONFIG_PATH", "")],
    )
}

/// Starts `talk2tables-server` with `config` on a free loopback port and extra
/// environment `envs` (e.g. `HEALTH_CHECK_INTERVAL`).
pub fn start_server_with(config: &Path, envs: &[(&str, &str)]) -> Proc {
    let config = config.to_string_lossy().to_string();
    let mut all = vec![("LLM_PROVIDER", "offline"), ("MCP_CONFIG_PATH", "")];
    all.extend_from_slice(envs);
    Proc::start(&bin("talk2tables-server"), &["--config", &config, "--host", "127.0.0.1", "--port", "0"], &all)
}

/// How a process that was expected to stop ended.
#[derive(Debug)]
pub struct Exited {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything it wrote on stderr.
    pub stderr: String,
}

/// Runs `talk2tables-server` with `config` and `envs` and waits up to `limit` for it to
/// exit (start-up failure tests). Panics when it is still running after `limit` (it is
/// killed first) or reports that it is listening.
pub fn run_server_expecting_exit(config: &Path, envs: &[(&str, &str)], limit: Duration) -> Exited {
    let mut cmd = Command::new(bin("talk2tables-server"));
    cmd.args(["--config", &config.to_string_lossy(), "--host", "127.0.0.1", "--port", "0"])
        .env("LLM_PROVIDER", "offline")
        .env("MCP_CONFIG_PATH", "")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn talk2tables-server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        let _ = tx.send(text);
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let text = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
                panic!("talk2tables-server still running after {limit:?}; stderr:\n{text}");
            }
        }
    };
    let stderr = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    assert!(!stderr.contains("listening on http://"), "the server started although it should not:\n{stderr}");
    Exited { code: status.code(), stderr }
}

/// A blocking HTTP client with timeouts for the tests.
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// Client for the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        Api { base: base.to_string(), client }
    }

    /// `POST /api/chat` with `{query}`; returns (status, body).
    pub async fn chat(&self, query: &str) -> (u16, Value) {
        self.post("/api/chat", &serde_json::json!({ "query": query })).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.client.post(format!("{}{path}", self.base)).json(body).send().await.expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// `POST path` and read the whole body as text (for server-sent events).
    pub async fn post_text(&self, path: &str, body: &Value) -> (u16, String, String) {
        let resp = self.client.post(format!("{}{path}", self.base)).json(body).send().await.expect("POST");
        let status = resp.status().as_u16();
        let content_type =
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        (status, content_type, resp.text().await.expect("text body"))
    }

    /// `GET path` as text; returns (status, content type, body).
    pub async fn get_text(&self, path: &str) -> (u16, String, String) {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let status = resp.status().as_u16();
        let content_type =
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        (status, content_type, resp.text().await.expect("text body"))
    }

    /// `GET path`; returns (status, body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }
}

/// Asserts a successful envelope and returns its `data`.
pub fn expect_ok<'a>(question: &str, body: &'a Value) -> &'a Value {
    assert_eq!(body["success"], true, "{question}: expected success, got {body:#}");
    &body["data"]
}

/// Asserts a failed envelope with `code`.
pub fn expect_error(question: &str, body: &Value, code: &str) {
    assert_eq!(body["success"], false, "{question}: expected failure {code}, got {body:#}");
    assert_eq!(body["error"]["code"], code, "{question}: wrong code in {body:#}");
}

/// Reads a JSON number (integer, float or numeric string) as f64.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => s.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// Opens a SQLite file read-only for the tests' own reference queries.
pub async fn open_sqlite(path: &Path) -> sqlx::SqlitePool {
    use std::str::FromStr;
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("sqlite url")
        .read_only(true);
    sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.expect("open sqlite")
}

/// Runs `sql` and returns the first column of the first row as f64.
pub async fn scalar(pool: &sqlx::SqlitePool, sql: &str) -> f64 {
    use sqlx::Row;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(pool).await.expect("reference query");
    row.try_get::<f64, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v as f64)).expect("numeric")
}

/// Runs `sql` and returns (text label, f64 value) pairs from its first two columns.
pub async fn pairs(pool: &sqlx::SqlitePool, sql: &str) -> Vec<(String, f64)> {
    use sqlx::Row;
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(pool).await.expect("reference query");
    rows.iter()
        .map(|r| {
            let label = r
                .try_get::<String, _>(0)
                .or_else(|_| r.try_get::<i64, _>(0).map(|v| v.to_string()))
                .unwrap_or_default();
            let value =
                r.try_get::<f64, _>(1).or_else(|_| r.try_get::<i64, _>(1).map(|v| v as f64)).unwrap_or(f64::NAN);
            (label, value)
        })
        .collect()
}

/// Loads a PostgreSQL dump of `../shared/data/public-dbs` into a new SQLite file: the
/// `public.` schema prefix is removed; everything else runs as it is.
pub async fn load_public_db(name: &str, dest: &Path) {
    let src = public_dbs_dir().join(format!("{name}.sql"));
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
    let text = text.replace("public.", "");
    use std::str::FromStr;
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", dest.display()))
        .expect("url")
        .create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.expect("create");
    sqlx::raw_sql(sqlx::AssertSqlSafe(text)).execute(&pool).await.expect("load dump");
    pool.close().await;
}

/// `../shared/data/public-dbs`, relative to the repository root.
pub fn public_dbs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/public-dbs")
}

/// The rows of a successful `data` as (label, number) pairs: the label is the first
/// column holding text, the number the last column holding numbers.
pub fn label_values(data: &Value) -> Vec<(String, f64)> {
    let rows = data["results"]["rows"].as_array().cloned().unwrap_or_default();
    let Some(first) = rows.first().and_then(Value::as_array) else { return Vec::new() };
    let label_col = first.iter().position(Value::is_string).unwrap_or(0);
    let value_col = first.iter().rposition(|v| v.is_number()).unwrap_or(first.len().saturating_sub(1));
    rows.iter()
        .filter_map(Value::as_array)
        .map(|r| {
            let label = match &r[label_col] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (label, num(&r[value_col]))
        })
        .collect()
}

/// The single number of a one-row, one-number answer.
pub fn single_number(question: &str, data: &Value) -> f64 {
    let rows = data["results"]["rows"].as_array().unwrap_or_else(|| panic!("{question}: no rows in {data:#}"));
    assert_eq!(rows.len(), 1, "{question}: expected one row, got {data:#}");
    let row = rows[0].as_array().expect("row array");
    let n = row
        .iter()
        .rev()
        .find(|v| v.is_number() || v.is_null())
        .unwrap_or_else(|| panic!("{question}: no number in {data:#}"));
    if n.is_null() { 0.0 } else { num(n) }
}

/// Asserts two numbers are equal to within half a cent.
pub fn assert_close(question: &str, got: f64, want: f64) {
    assert!((got - want).abs() < 0.005, "{question}: got {got}, want {want}");
}

/// Parses a server-sent event stream into (event name, JSON data) pairs.
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut name = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if !data.is_empty() {
            out.push((name, serde_json::from_str(&data).unwrap_or(Value::String(data))));
        }
    }
    out
}

/// Whether an external tool is on PATH. When it is not, tests that need it print why
/// and skip — unless `T2T_REQUIRE_TOOLS=1` (set by `scripts/test.sh`, which installs
/// them), where a missing tool fails the test.
pub fn have_tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("T2T_REQUIRE_TOOLS").is_none(),
            "{name} is required (T2T_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("SKIPPED: {name} not installed (scripts/test.sh installs it)");
    }
    found
}

/// A database engine the multi-engine tests run against.
#[derive(Debug, Clone)]
pub struct EngineDb {
    /// The dialect (`sqlite`, `postgresql`, `mysql`).
    pub dialect: talk2tables_common::Dialect,
    /// What `--db` gets: a SQLite path or a server URL (a SELECT-only role).
    pub db: String,
}

/// The engines available to this run: SQLite always (the sample is created at
/// `sqlite_path`), PostgreSQL when `T2T_POSTGRES_URL` is set and MySQL/MariaDB when
/// `T2T_MYSQL_URL` is set (`scripts/db-setup.sh` exports both). A clear skip message is
/// printed for each one that is missing.
pub fn engines(sqlite_path: &Path) -> Vec<EngineDb> {
    use talk2tables_common::Dialect;
    init_sample(sqlite_path);
    let mut out = vec![EngineDb { dialect: Dialect::Sqlite, db: sqlite_path.to_string_lossy().to_string() }];
    for (var, dialect) in [("T2T_POSTGRES_URL", Dialect::Postgresql), ("T2T_MYSQL_URL", Dialect::Mysql)] {
        match std::env::var(var) {
            Ok(url) if !url.trim().is_empty() => out.push(EngineDb { dialect, db: url }),
            _ => eprintln!("SKIP {dialect}: {var} is not set (run `. scripts/db-setup.sh` to set up the servers)"),
        }
    }
    out
}

/// Starts our Database MCP for `db` (path or URL) over streamable HTTP on a free port,
/// with extra arguments (e.g. `--timeout-ms 1000`).
pub fn start_database_mcp_with(db: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--db", db, "--transport", "streamable_http", "--host", "127.0.0.1", "--port", "0"];
    args.extend_from_slice(extra);
    Proc::start(&bin("talk2tables-database-mcp"), &args, &[])
}

/// A direct connection for the tests' own reference queries on any engine.
pub enum RefDb {
    /// SQLite, opened read-only.
    Sqlite(sqlx::SqlitePool, PathBuf),
    /// PostgreSQL.
    Postgres(sqlx::PgPool),
    /// MySQL / MariaDB.
    Mysql(sqlx::MySqlPool),
}

impl RefDb {
    /// Connects to `engine` (5 s connect timeout).
    pub async fn connect(engine: &EngineDb) -> RefDb {
        use talk2tables_common::Dialect;
        let t = Duration::from_secs(5);
        match engine.dialect {
            Dialect::Sqlite => RefDb::Sqlite(open_sqlite(Path::new(&engine.db)).await, PathBuf::from(&engine.db)),
            Dialect::Postgresql => RefDb::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(t)
                    .connect(&engine.db)
                    .await
                    .expect("connect PostgreSQL"),
            ),
            Dialect::Mysql => RefDb::Mysql(
                sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(t)
                    .connect(&engine.db)
                    .await
                    .expect("connect MySQL"),
            ),
        }
    }

    /// The first column of the first row of `sql`, as f64 (the query is wrapped in a cast
    /// to a floating type on the servers).
    pub async fn scalar(&self, sql: &str) -> f64 {
        use sqlx::Row;
        match self {
            RefDb::Sqlite(pool, _) => scalar(pool, sql).await,
            RefDb::Postgres(pool) => {
                let q = format!("SELECT CAST(({sql}) AS DOUBLE PRECISION)");
                let row = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_one(pool).await.expect("reference query");
                row.try_get::<Option<f64>, _>(0).expect("f64").unwrap_or(0.0)
            }
            RefDb::Mysql(pool) => {
                let q = format!("SELECT CAST(({sql}) AS DOUBLE)");
                let row = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_one(pool).await.expect("reference query");
                row.try_get::<Option<f64>, _>(0).expect("f64").unwrap_or(0.0)
            }
        }
    }

    /// (label, value) pairs of `sql`'s first two columns (which must be named `label`
    /// and `value` for the servers, where the query is wrapped to cast them).
    pub async fn pairs(&self, sql: &str) -> Vec<(String, f64)> {
        use sqlx::Row;
        let (q, rows) = match self {
            RefDb::Sqlite(pool, _) => return pairs(pool, sql).await,
            RefDb::Postgres(pool) => {
                let q = format!("SELECT CAST(label AS TEXT), CAST(value AS DOUBLE PRECISION) FROM ({sql}) t");
                let rows = sqlx::query(sqlx::AssertSqlSafe(q.clone())).fetch_all(pool).await.expect("reference");
                (q, rows.iter().map(|r| (r.try_get::<String, _>(0), r.try_get::<f64, _>(1))).collect::<Vec<_>>())
            }
            RefDb::Mysql(pool) => {
                let q = format!("SELECT CAST(label AS CHAR), CAST(value AS DOUBLE) FROM ({sql}) t");
                let rows = sqlx::query(sqlx::AssertSqlSafe(q.clone())).fetch_all(pool).await.expect("reference");
                (q, rows.iter().map(|r| (r.try_get::<String, _>(0), r.try_get::<f64, _>(1))).collect::<Vec<_>>())
            }
        };
        rows.into_iter().map(|(l, v)| (l.unwrap_or_else(|e| panic!("{q}: {e}")), v.unwrap_or(f64::NAN))).collect()
    }

    /// A fingerprint of the sample tables: per table its row count and a checksum of
    /// every row (SQLite: a hash of the whole file's bytes as well).
    pub async fn fingerprint(&self) -> Vec<String> {
        use sqlx::Row;
        let tables = ["customers", "products", "orders", "order_items"];
        let mut out = Vec::new();
        match self {
            RefDb::Sqlite(pool, path) => {
                let bytes = std::fs::read(path).expect("read sqlite file");
                out.push(format!("file {} bytes, fnv {:016x}", bytes.len(), fnv(&bytes)));
                for t in tables {
                    out.push(format!("{t}: {}", scalar(pool, &format!("SELECT COUNT(*) FROM {t}")).await));
                }
                let n = scalar(pool, "SELECT COUNT(*) FROM sqlite_master").await;
                out.push(format!("schema objects: {n}"));
            }
            RefDb::Postgres(pool) => {
                for t in tables {
                    let q = format!(
                        "SELECT COUNT(*)::text || ' ' || md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_one(pool).await.expect("checksum");
                    out.push(format!("{t}: {}", row.try_get::<String, _>(0).expect("text")));
                }
                let q = "SELECT COUNT(*)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = 'public'";
                let row = sqlx::query(q).fetch_one(pool).await.expect("relations");
                out.push(format!("relations: {}", row.try_get::<String, _>(0).expect("text")));
            }
            RefDb::Mysql(pool) => {
                for t in tables {
                    let q = format!("CHECKSUM TABLE {t}");
                    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(q)).fetch_one(pool).await.expect("checksum");
                    let sum = row.try_get::<Option<i64>, _>(1).ok().flatten().map(|v| v.to_string());
                    let count = self.scalar(&format!("SELECT COUNT(*) FROM {t}")).await;
                    out.push(format!("{t}: {count} {sum:?}"));
                }
                let n =
                    self.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()").await;
                out.push(format!("tables: {n}"));
            }
        }
        out
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// SQL for the first day of the current month and of the next month on `dialect`
/// (the tests' own reference expressions).
pub fn month_bounds(dialect: talk2tables_common::Dialect) -> (&'static str, &'static str) {
    use talk2tables_common::Dialect;
    match dialect {
        Dialect::Sqlite => ("date('now','start of month')", "date('now','start of month','+1 month')"),
        Dialect::Postgresql => {
            ("DATE_TRUNC('month', CURRENT_DATE)", "DATE_TRUNC('month', CURRENT_DATE) + INTERVAL '1 month'")
        }
        Dialect::Mysql => {
            ("DATE_FORMAT(CURDATE(), '%Y-%m-01')", "DATE_ADD(DATE_FORMAT(CURDATE(), '%Y-%m-01'), INTERVAL 1 MONTH)")
        }
    }
}

/// The sample stack: our Database and Metadata MCP binaries over streamable HTTP and the
/// axum server configured to use them, on free loopback ports. Dropping it stops all.
pub struct SampleStack {
    /// The Database MCP process.
    pub db: Proc,
    /// The Metadata MCP process.
    pub meta: Proc,
    /// The axum server.
    pub server: Proc,
    /// The sample database file (SQLite).
    pub db_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Creates the sample database in a temp dir and starts [`SampleStack`].
pub fn start_sample_stack() -> SampleStack {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("sample.db");
    init_sample(&db_path);
    let db = start_database_mcp(&db_path);
    let meta = start_metadata_mcp();
    let config = write_config(dir.path(), &db.url, Some(&meta.url));
    let server = start_server(&config);
    SampleStack { db, meta, server, db_path, _dir: dir }
}
