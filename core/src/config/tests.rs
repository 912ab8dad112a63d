//! Tests of configuration loading (DESIGN.md §2).

use std::collections::HashMap;

use super::*;
use crate::ErrorKind;

/// The DESIGN.md §2 example, verbatim.
const DESIGN_EXAMPLE: &str = r#"mcp_servers:
  database_mcp:                      # server_id
    name: "Database MCP"
    url: "http://localhost:8000/mcp"  # streamable HTTP; ".../sse" = legacy SSE
    transport: "streamable_http"      # streamable_http | sse | stdio
    # command: ["talk2tables-database-mcp", "--db", "sample.db"]   # for stdio
    priority: 10
    domains: [sales, orders, customers, database]
    capabilities: [execute_query, list_resources]
    timeout: 30                       # seconds, per MCP request
  product_metadata_mcp:
    name: "Product Metadata MCP"
    url: "http://localhost:8002/mcp"
    transport: "streamable_http"
    priority: 1
    domains: [products, product_aliases, column_mappings, metadata]
    capabilities: [list_resources]
    timeout: 30
orchestration:
  resource_cache_ttl: 300   # seconds; 0 disables the cache
  fail_fast: false          # true: initialisation fails if any server fails
  enable_logging: true
  log_level: "INFO"
  max_retries: 3            # SQL recovery attempts
"#;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name: &str| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config> {
    Config::from_yaml_str(text, "mcp_config.yaml", &no_env)
}

/// Parses `text`, expects CONFIG_ERROR, returns the message.
fn config_error(text: &str) -> String {
    let err = parse(text).expect_err("expected a configuration error");
    assert_eq!(err.kind(), ErrorKind::ConfigError, "{err}");
    err.message().to_owned()
}

#[test]
fn design_example_parses() {
    let config = parse(DESIGN_EXAMPLE).unwrap();
    let ids: Vec<_> = config.servers.iter().map(|s| s.server_id.as_str()).collect();
    assert_eq!(ids, ["product_metadata_mcp", "database_mcp"], "sorted by priority");
    let meta = &config.servers[0];
    assert_eq!(meta.name, "Product Metadata MCP");
    assert_eq!(meta.url.as_deref(), Some("http://localhost:8002/mcp"));
    assert_eq!(meta.transport, TransportKind::StreamableHttp);
    assert_eq!(meta.priority, 1);
    assert_eq!(meta.domains, ["products", "product_aliases", "column_mappings", "metadata"]);
    assert_eq!(meta.capabilities, ["list_resources"]);
    assert_eq!(meta.timeout, 30.0);
    assert_eq!(meta.request_timeout(), Duration::from_secs(30));
    let db = &config.servers[1];
    assert_eq!(db.name, "Database MCP");
    assert_eq!(db.priority, 10);
    assert!(db.has_capability("execute_query"));
    assert!(db.command.is_empty());
    assert_eq!(
        config.orchestration,
        OrchestrationConfig {
            resource_cache_ttl: 300,
            fail_fast: false,
            enable_logging: true,
            log_level: "INFO".into(),
            max_retries: 3,
            default_limit: 1000,
            circuit_failure_threshold: 5,
            circuit_open_seconds: 60,
            handshake_timeout: 10.0,
            health_check_interval: 30,
        }
    );
    assert!(config.enable_multi_mcp);
    assert!(!config.require_multi_mcp);
    assert_eq!(config.llm.provider, LlmProvider::Offline);
    assert_eq!(config.llm.api_key, None);
}

#[test]
fn ties_sort_by_server_id_and_defaults_apply() {
    let config = parse(
        "mcp_servers:\n  zeta:\n    url: http://a/mcp\n    priority: 5\n  alpha:\n    url: http://b/mcp\n    priority: 5\n  last:\n    url: http://c/mcp\n",
    )
    .unwrap();
    let ids: Vec<_> = config.servers.iter().map(|s| s.server_id.as_str()).collect();
    assert_eq!(ids, ["alpha", "zeta", "last"]);
    let last = &config.servers[2];
    assert_eq!(last.name, "last", "name defaults to the server id");
    assert_eq!(last.priority, 100);
    assert_eq!(last.timeout, 30.0);
    assert_eq!(config.orchestration, OrchestrationConfig::default());
}

#[test]
fn transport_is_inferred() {
    let config = parse(
        "mcp_servers:
  a:
    url: http://x:1/sse
  b:
    url: http://x:1/sse/
  c:
    url: http://x:1/mcp
  d:
    command: [talk2tables-database-mcp, --transport, stdio]
    env: {RUST_LOG: debug, N: 5}
    cwd: /tmp
  e:
    command: \"talk2tables-metadata-mcp --transport stdio\"
",
    )
    .unwrap();
    let by_id = |id: &str| config.servers.iter().find(|s| s.server_id == id).unwrap().clone();
    assert_eq!(by_id("a").transport, TransportKind::Sse);
    assert_eq!(by_id("b").transport, TransportKind::Sse);
    assert_eq!(by_id("c").transport, TransportKind::StreamableHttp);
    let d = by_id("d");
    assert_eq!(d.transport, TransportKind::Stdio);
    assert_eq!(d.command, ["talk2tables-database-mcp", "--transport", "stdio"]);
    assert_eq!(d.env.get("N").map(String::as_str), Some("5"));
    assert_eq!(d.cwd, Some(PathBuf::from("/tmp")));
    assert_eq!(by_id("e").command, ["talk2tables-metadata-mcp", "--transport", "stdio"]);
}

#[test]
fn expansion_with_and_without_defaults() {
    let text = "mcp_servers:
  db:
    name: \"DB on ${DB_HOST}\"
    url: \"http://${DB_HOST}:${DB_PORT:-8000}/mcp\"
    priority: ${DB_PRIORITY:-7}
    timeout: ${DB_TIMEOUT:-2.5}
    critical: ${DB_CRITICAL:-yes}
    headers:
      Authorization: \"Bearer ${TOKEN}\"
      X-Literal: \"$${NOT_EXPANDED}\"
orchestration:
  log_level: ${LOG:-debug}
  fail_fast: ${FAIL_FAST:-false}
";
    let env = env_of(&[("DB_HOST", "db.internal"), ("TOKEN", "s3cret"), ("DB_PRIORITY", "3")]);
    let config = Config::from_yaml_str(text, "mcp_config.yaml", &env).unwrap();
    let db = &config.servers[0];
    assert_eq!(db.name, "DB on db.internal");
    assert_eq!(db.url.as_deref(), Some("http://db.internal:8000/mcp"));
    assert_eq!(db.priority, 3);
    assert_eq!(db.timeout, 2.5);
    assert!(db.critical);
    assert_eq!(db.headers["Authorization"], "Bearer s3cret");
    assert_eq!(db.headers["X-Literal"], "${NOT_EXPANDED}");
    assert_eq!(config.orchestration.log_level, "debug");
    assert!(!config.orchestration.fail_fast);
}

#[test]
fn unset_variable_names_variable_field_and_line() {
    let text = "mcp_servers:\n  db:\n    name: DB\n    url: \"http://${DB_HOST}/mcp\"\n";
    let msg = config_error(text);
    assert!(msg.contains("DB_HOST"), "{msg}");
    assert!(msg.contains("mcp_config.yaml line 4"), "{msg}");
    assert!(msg.contains("mcp_servers.db.url"), "{msg}");
}

#[test]
fn yaml_syntax_error_names_line() {
    let msg = config_error("mcp_servers:\n  db:\n    url: [unclosed\n    name: x\n");
    assert!(msg.starts_with("mcp_config.yaml line "), "{msg}");
    let msg = config_error("mcp_servers:\n  db:\n    url: http://x/mcp\n   bad indent: 1\n");
    assert!(msg.contains("line 4"), "{msg}");
}

/// Each semantic / type error names the field path and the right line.
#[test]
fn errors_name_field_and_line() {
    let base = "# servers\nmcp_servers:\n  database_mcp:\n    name: DB\n";
    let cases: &[(&str, &str, usize)] = &[
        ("    url: http://x/mcp\n    priority: 0\n", "mcp_servers.database_mcp.priority: must be between 1 and 999", 6),
        ("    url: http://x/mcp\n    priority: 1000\n", "mcp_servers.database_mcp.priority", 6),
        ("    url: http://x/mcp\n    priority: high\n", "mcp_servers.database_mcp.priority: must be an integer", 6),
        (
            "    url: http://x/mcp\n    timeout: 0\n",
            "mcp_servers.database_mcp.timeout: must be a number of seconds > 0",
            6,
        ),
        ("    url: http://x/mcp\n    timeout: -1\n", "mcp_servers.database_mcp.timeout", 6),
        // Finite but beyond what a `Duration` holds: was a panic in `request_timeout`.
        ("    url: http://x/mcp\n    timeout: 1e300\n", "mcp_servers.database_mcp.timeout: must be a number", 6),
        (
            "    url: http://x/mcp\norchestration:\n  handshake_timeout: 1e300\n",
            "orchestration.handshake_timeout: must be a number",
            7,
        ),
        ("    transport: streamable_http\n", "mcp_servers.database_mcp.url: required for transport streamable_http", 3),
        ("    transport: sse\n", "mcp_servers.database_mcp.url: required for transport sse", 3),
        ("    transport: stdio\n    url: http://x/mcp\n", "mcp_servers.database_mcp.command: required", 3),
        (
            "    url: http://x/mcp\n    transport: carrier_pigeon\n",
            "mcp_servers.database_mcp.transport: unknown transport",
            6,
        ),
        ("    url: ftp://x/mcp\n", "mcp_servers.database_mcp.url: must be an http", 5),
        (
            "    url: http://x/mcp\n    domains: sales\n",
            "mcp_servers.database_mcp.domains: must be a list of strings",
            6,
        ),
        ("    url: http://x/mcp\n    critical: maybe\n", "mcp_servers.database_mcp.critical: must be a boolean", 6),
        ("    url: http://x/mcp\norchestration:\n  max_retries: -1\n", "orchestration.max_retries", 7),
        // u64::MAX seconds: were panics in moka (TTL) and in `Instant + Duration` (circuit).
        (
            "    url: http://x/mcp\norchestration:\n  resource_cache_ttl: 18446744073709551615\n",
            "orchestration.resource_cache_ttl: must be at most",
            7,
        ),
        (
            "    url: http://x/mcp\norchestration:\n  circuit_open_seconds: 18446744073709551615\n",
            "orchestration.circuit_open_seconds: must be at most",
            7,
        ),
        (
            "    url: http://x/mcp\norchestration:\n  health_check_interval: 18446744073709551615\n",
            "orchestration.health_check_interval: must be at most",
            7,
        ),
        ("    url: http://x/mcp\norchestration:\n  log_level: LOUD\n", "orchestration.log_level", 7),
    ];
    for (tail, expected, line) in cases {
        let text = format!("{base}{tail}");
        let msg = config_error(&text);
        assert!(msg.contains(expected), "{text}\n→ {msg}");
        assert!(msg.starts_with(&format!("mcp_config.yaml line {line}: ")), "{text}\n→ {msg}");
    }
}

#[test]
fn structural_errors() {
    assert!(config_error("").contains("empty"));
    assert!(config_error("orchestration: {}\n").contains("mcp_servers: required"));
    assert!(config_error("- a\n- b\n").contains("mapping"));
    assert!(config_error("mcp_servers:\n  db: 5\n").contains("line 2: mcp_servers.db: must be a mapping"));
}

#[test]
fn unknown_keys_are_tolerated() {
    let config = parse(
        "version: 2\nmcp_servers:\n  db:\n    url: http://x/mcp\n    colour: blue\norchestration:\n  turbo: true\n",
    )
    .unwrap();
    assert_eq!(config.servers.len(), 1);
}

#[test]
fn env_overrides() {
    let env = env_of(&[
        ("ENABLE_MULTI_MCP", "off"),
        ("REQUIRE_MULTI_MCP", "YES"),
        ("MCP_SERVER_URL", "http://127.0.0.1:8000/mcp"),
        ("GEMINI_API_KEY", "g-key"),
        ("OPENAI_API_KEY", "o-key"),
        ("LLM_MODEL", "gemini-2.5-flash"),
    ]);
    let config = Config::from_yaml_str(DESIGN_EXAMPLE, "mcp_config.yaml", &env).unwrap();
    assert!(!config.enable_multi_mcp);
    assert!(config.require_multi_mcp);
    assert_eq!(config.mcp_server_url.as_deref(), Some("http://127.0.0.1:8000/mcp"));
    assert_eq!(config.servers.len(), 2, "MCP_SERVER_URL does not replace the file's servers");
    assert_eq!(config.llm.provider, LlmProvider::Gemini, "first key present wins: openrouter, gemini, openai");
    assert_eq!(config.llm.api_key.as_deref(), Some("g-key"));
    assert_eq!(config.llm.model.as_deref(), Some("gemini-2.5-flash"));

    let explicit = env_of(&[("LLM_PROVIDER", "OpenAI"), ("OPENAI_API_KEY", "o"), ("OPENROUTER_API_KEY", "r")]);
    let llm = Config::from_yaml_str(DESIGN_EXAMPLE, "x", &explicit).unwrap().llm;
    assert_eq!((llm.provider, llm.api_key.as_deref()), (LlmProvider::Openai, Some("o")));

    let offline = env_of(&[("LLM_PROVIDER", "offline"), ("OPENROUTER_API_KEY", "r")]);
    let llm = Config::from_yaml_str(DESIGN_EXAMPLE, "x", &offline).unwrap().llm;
    assert_eq!((llm.provider, llm.api_key), (LlmProvider::Offline, None));

    let local = env_of(&[("LLM_PROVIDER", "openai"), ("LLM_BASE_URL", "http://127.0.0.1:11434/v1")]);
    let llm = Config::from_yaml_str(DESIGN_EXAMPLE, "x", &local).unwrap().llm;
    assert_eq!(llm.provider, LlmProvider::Openai);
    assert_eq!(llm.base_url.as_deref(), Some("http://127.0.0.1:11434/v1"));
}

#[test]
fn bad_env_is_a_config_error() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("ENABLE_MULTI_MCP", "maybe")], "ENABLE_MULTI_MCP"),
        (&[("REQUIRE_MULTI_MCP", "2")], "REQUIRE_MULTI_MCP"),
        (&[("LLM_PROVIDER", "openrouter")], "OPENROUTER_API_KEY"),
        (&[("LLM_PROVIDER", "gemini"), ("OPENAI_API_KEY", "x")], "GEMINI_API_KEY"),
        (&[("LLM_PROVIDER", "openai")], "OPENAI_API_KEY"),
        (&[("LLM_PROVIDER", "claude")], "unknown provider"),
        (&[("MCP_SERVER_URL", "localhost:8000")], "MCP_SERVER_URL"),
        // Finite but too large for a `Duration`: was a panic when the LLM client is built.
        (&[("LLM_TIMEOUT_SECONDS", "1e300")], "LLM_TIMEOUT_SECONDS"),
    ];
    for (vars, expected) in cases {
        let env = env_of(vars);
        let err = Config::from_yaml_str(DESIGN_EXAMPLE, "x", &env).expect_err(expected);
        assert_eq!(err.kind(), ErrorKind::ConfigError);
        assert!(err.message().contains(expected), "{vars:?} → {err}");
    }
}

#[test]
fn from_env_without_file() {
    let config = Config::from_env_with(&no_env).unwrap();
    assert!(config.servers.is_empty());
    assert!(config.enable_multi_mcp);
    assert_eq!(config.llm.provider, LlmProvider::Offline);

    let env = env_of(&[("MCP_SERVER_URL", "http://127.0.0.1:8000/sse")]);
    let config = Config::from_env_with(&env).unwrap();
    assert_eq!(config.servers.len(), 1);
    let db = &config.servers[0];
    assert_eq!(db.server_id, "database_mcp");
    assert_eq!(db.transport, TransportKind::Sse);
    assert!(db.has_capability("execute_query"));
}

#[test]
fn from_env_with_config_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mcp_config.yaml");
    std::fs::write(&path, "mcp_servers:\n  db:\n    url: \"http://${HOST:-localhost}:8000/mcp\"\n    priority: 0\n")
        .unwrap();
    let env = env_of(&[("MCP_CONFIG_PATH", path.to_str().unwrap())]);
    let err = Config::from_env_with(&env).unwrap_err();
    assert!(err.message().contains(&format!("{} line 4: mcp_servers.db.priority", path.display())), "{err}");

    std::fs::write(&path, "mcp_servers:\n  db:\n    url: \"http://${HOST:-localhost}:8000/mcp\"\n").unwrap();
    let env = env_of(&[("MCP_CONFIG_PATH", path.to_str().unwrap()), ("HOST", "10.0.0.5")]);
    let config = Config::from_env_with(&env).unwrap();
    assert_eq!(config.servers[0].url.as_deref(), Some("http://10.0.0.5:8000/mcp"));

    let missing = env_of(&[("MCP_CONFIG_PATH", "/nonexistent/mcp_config.yaml")]);
    let err = Config::from_env_with(&missing).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigError);
    assert!(err.message().contains("/nonexistent/mcp_config.yaml"), "{err}");
}

#[test]
fn llm_debug_hides_the_key() {
    let env = env_of(&[("OPENROUTER_API_KEY", "sk-or-very-secret")]);
    let config = Config::from_yaml_str(DESIGN_EXAMPLE, "x", &env).unwrap();
    assert_eq!(config.llm.provider, LlmProvider::Openrouter);
    let debug = format!("{:?} {:?}", config.llm, config);
    assert!(!debug.contains("very-secret"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
}

#[test]
fn in_process_transport_serialises_but_is_not_accepted_in_yaml() {
    assert_eq!(serde_json::to_value(TransportKind::InProcess).unwrap(), "in_process");
    assert!(serde_json::from_str::<TransportKind>("\"in_process\"").is_err());
}

#[test]
fn healing_settings_are_read_from_yaml() {
    let text = "mcp_servers:
  db:
    name: DB
    url: \"http://127.0.0.1:9/mcp\"
orchestration:
  circuit_failure_threshold: 2
  circuit_open_seconds: 3
  handshake_timeout: 1.5
  health_check_interval: 1
";
    let config = Config::from_yaml_str(text, "mcp_config.yaml", &env_of(&[])).unwrap();
    assert_eq!(config.orchestration.circuit_failure_threshold, 2);
    assert_eq!(config.orchestration.circuit_open_seconds, 3);
    assert_eq!(config.orchestration.handshake_timeout, 1.5);
    assert_eq!(config.orchestration.health_check_interval, 1);
    let zero = text.replace("circuit_failure_threshold: 2", "circuit_failure_threshold: 0");
    let msg = config_error(&zero);
    assert!(msg.contains("orchestration.circuit_failure_threshold"), "{msg}");
    let negative = text.replace("handshake_timeout: 1.5", "handshake_timeout: -1");
    let msg = config_error(&negative);
    assert!(msg.contains("orchestration.handshake_timeout"), "{msg}");
}

/// A hand-built `ServerConfig` with an absurd timeout gives a bounded `Duration`, not a panic.
#[test]
fn request_timeout_never_panics() {
    let mut config = Config::from_yaml_str(DESIGN_EXAMPLE, "x", &no_env).unwrap();
    let server = &mut config.servers[0];
    for (timeout, want) in [(1e300, 86_400.0), (f64::INFINITY, 86_400.0), (-5.0, 0.001), (f64::NAN, 30.0)] {
        server.timeout = timeout;
        assert_eq!(server.request_timeout(), Duration::from_secs_f64(want), "{timeout}");
    }
}

#[test]
fn max_retries_is_bounded() {
    let text =
        "mcp_servers:\n  db:\n    name: DB\n    url: \"http://127.0.0.1:9/mcp\"\norchestration:\n  max_retries: 10\n";
    let config = Config::from_yaml_str(text, "mcp_config.yaml", &env_of(&[])).unwrap();
    assert_eq!(config.orchestration.max_retries, 10);
    let msg = config_error(&text.replace("max_retries: 10", "max_retries: 11"));
    assert!(msg.contains("orchestration.max_retries") && msg.contains("at most 10"), "{msg}");
    assert!(msg.contains("line 6"), "{msg}");
}
