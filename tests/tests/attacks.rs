//! The project's attack suite against the read-only guarantee, on every engine available
//! (SQLite always; PostgreSQL and MariaDB/MySQL when `scripts/db-setup.sh` exported
//! their URLs). Each statement is sent as raw SQL through `/api/chat` and straight to
//! the `execute_query` tool with an rmcp client. Afterwards the database is unchanged
//! (row counts and a checksum per table; the SQLite file byte for byte), no file named
//! by an attack exists, no session setting leaked into the next query, and a heavy
//! query ends at the Database MCP's 1 s timeout.

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};
use talk2tables_common::Dialect;
use talk2tables_e2e::*;

const S: u8 = 1; // SQLite
const P: u8 = 2; // PostgreSQL
const M: u8 = 4; // MySQL / MariaDB
const ALL: u8 = S | P | M;

/// (engines it applies to, attack class, statement).
const ATTACKS: &[(u8, &str, &str)] = &[
    // Plain writes and DDL.
    (ALL, "write", "DELETE FROM orders"),
    (ALL, "write", "UPDATE products SET price = 0"),
    (ALL, "write", "INSERT INTO customers (customer_id, first_name) VALUES (9999, 'x')"),
    (S | M, "write", "REPLACE INTO customers (customer_id) VALUES (1)"),
    (ALL, "ddl", "DROP TABLE orders"),
    (ALL, "ddl", "CREATE TABLE pwned (a INT)"),
    (ALL, "ddl", "ALTER TABLE orders ADD COLUMN pwned INT"),
    (ALL, "ddl", "TRUNCATE TABLE orders"),
    (ALL, "ddl", "GRANT ALL ON orders TO PUBLIC"),
    // Several statements.
    (ALL, "multi_statement", "SELECT 1; DELETE FROM orders"),
    (ALL, "multi_statement", "SELECT * FROM orders; DROP TABLE orders"),
    (ALL, "multi_statement", "SELECT ';'; UPDATE products SET price = 0 --"),
    // Data-modifying CTEs and subqueries.
    (ALL, "data_modifying_cte", "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d"),
    (ALL, "data_modifying_cte", "WITH x AS (SELECT 1) DELETE FROM orders"),
    (ALL, "data_modifying_cte", "SELECT * FROM (DELETE FROM orders RETURNING *) x"),
    (ALL, "data_modifying_cte", "WITH u AS (UPDATE products SET price = 0 RETURNING *) SELECT count(*) FROM u"),
    // SELECT … INTO and file output.
    (ALL, "select_into", "SELECT * INTO pwned_copy FROM orders"),
    (M, "select_into", "SELECT 1 INTO @v"),
    (M, "file", "SELECT * FROM orders INTO OUTFILE '/tmp/t2t_attack_outfile.csv'"),
    (M, "file", "SELECT * INTO DUMPFILE '/tmp/t2t_attack_dumpfile' FROM orders"),
    (P, "file", "COPY orders TO '/tmp/t2t_attack_copy.csv'"),
    (P, "file", "COPY (SELECT * FROM orders) TO PROGRAM 'touch /tmp/t2t_attack_program'"),
    (P, "file", "SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/t2t_attack_lo')"),
    (S, "file", "SELECT writefile('/tmp/t2t_attack_write.txt', 'x')"),
    (S, "file", "VACUUM INTO '/tmp/t2t_attack_vacuum.db'"),
    (S, "file", "ATTACH DATABASE '/tmp/t2t_attack_attach.db' AS pwn"),
    (M, "file", "LOAD DATA INFILE '/etc/passwd' INTO TABLE orders"),
    // Reading files, network, processes.
    (S, "forbidden_function", "SELECT readfile('/etc/passwd')"),
    (S, "forbidden_function", "SELECT load_extension('/tmp/t2t_attack_ext')"),
    (S, "forbidden_function", "SELECT name FROM fsdir('/tmp')"),
    (S, "forbidden_function", "SELECT edit('x', 'vi')"),
    (S, "forbidden_function", "SELECT fts3_tokenizer('simple')"),
    (P, "forbidden_function", "SELECT pg_read_file('/etc/passwd')"),
    (P, "forbidden_function", "SELECT * FROM pg_ls_dir('/tmp')"),
    (P, "forbidden_function", "SELECT * FROM dblink('host=127.0.0.1', 'DELETE FROM orders') AS t(a int)"),
    (P, "forbidden_function", "SELECT pg_terminate_backend(pg_backend_pid())"),
    (P, "forbidden_function", "SELECT query_to_xml('DELETE FROM orders', true, true, '')"),
    (P, "forbidden_function", "SELECT nextval('orders_seq')"),
    (P, "forbidden_function", "SELECT pg_advisory_lock(1)"),
    (M, "forbidden_function", "SELECT LOAD_FILE('/etc/passwd')"),
    (M, "forbidden_function", "SELECT GET_LOCK('t2t', 10)"),
    (M, "forbidden_function", "SELECT sys_exec('touch /tmp/t2t_attack_udf')"),
    // Sleeps (the timeout test below covers heavy queries).
    (P, "forbidden_function", "SELECT pg_sleep(5)"),
    (P, "forbidden_function", "SELECT pg_catalog.pg_sleep(5)"),
    (P, "forbidden_function", "SELECT count(*) FROM orders WHERE order_id > (SELECT 0 FROM pg_sleep(5))"),
    (M, "forbidden_function", "SELECT SLEEP(5)"),
    (M, "forbidden_function", "SELECT BENCHMARK(100000000, MD5('x'))"),
    (M, "parse_error", "DO SLEEP(5)"),
    // Locking reads.
    (ALL, "locking_read", "SELECT * FROM orders FOR UPDATE"),
    (ALL, "locking_read", "SELECT * FROM orders FOR SHARE"),
    (M, "locking_read", "SELECT * FROM orders LOCK IN SHARE MODE"),
    (M, "lock", "LOCK TABLES orders WRITE"),
    (M, "lock", "HANDLER orders OPEN"),
    // Transaction and session statements.
    (ALL, "transaction", "BEGIN"),
    (ALL, "transaction", "COMMIT"),
    (ALL, "transaction", "ROLLBACK"),
    (ALL, "transaction", "SET TRANSACTION READ WRITE"),
    (P, "session", "SET statement_timeout = 0"),
    (P, "session", "SELECT set_config('statement_timeout', '0', false)"),
    (P, "session", "RESET ALL"),
    (M, "session", "SET SESSION max_statement_time = 0"),
    (M, "session", "SET STATEMENT max_statement_time = 0 FOR SELECT 1"),
    (M, "session", "SELECT @t2t := 1"),
    (S, "session", "PRAGMA query_only = 0"),
    (S, "session", "PRAGMA writable_schema = 1"),
    (S, "session", "DETACH DATABASE main"),
    // Procedural code and other statement kinds.
    (P, "procedural", "DO $$ BEGIN DELETE FROM orders; END $$"),
    (P, "procedural", "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql"),
    (P, "procedural", "PREPARE p AS DELETE FROM orders"),
    (P, "procedural", "NOTIFY t2t"),
    (ALL, "procedural", "CALL p()"),
    (ALL, "explain", "EXPLAIN ANALYZE DELETE FROM orders"),
    // MySQL executable comments and optimizer hints (refused on every dialect).
    (ALL, "executable_comment", "SELECT 1 /*! , SLEEP(5) */"),
    (ALL, "executable_comment", "SELECT /*+ MAX_EXECUTION_TIME(100000) */ count(*) FROM orders"),
    (ALL, "executable_comment", "SELECT 1 /*!50000 ; DELETE FROM orders */"),
];

/// Files the attacks name; none may exist afterwards.
const FILES: &[&str] = &[
    "/tmp/t2t_attack_outfile.csv",
    "/tmp/t2t_attack_dumpfile",
    "/tmp/t2t_attack_copy.csv",
    "/tmp/t2t_attack_program",
    "/tmp/t2t_attack_lo",
    "/tmp/t2t_attack_write.txt",
    "/tmp/t2t_attack_vacuum.db",
    "/tmp/t2t_attack_attach.db",
    "/tmp/t2t_attack_udf",
];

fn bit(d: Dialect) -> u8 {
    match d {
        Dialect::Sqlite => S,
        Dialect::Postgresql => P,
        Dialect::Mysql => M,
    }
}

async fn call(client: &RunningService<rmcp::RoleClient, ()>, sql: &str) -> (bool, Value, String) {
    let args = json!({ "query": sql }).as_object().cloned().expect("object");
    let fut = client.call_tool(CallToolRequestParams::new("execute_query").with_arguments(args));
    let result = tokio::time::timeout(Duration::from_secs(30), fut).await.expect("MCP call timed out").expect("call");
    let text = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default();
    (result.is_error == Some(true), result.structured_content.clone().unwrap_or(Value::Null), text)
}

async fn attack_engine(engine: &EngineDb) {
    let d = engine.dialect;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = start_database_mcp_with(&engine.db, &["--timeout-ms", "1000"]);
    let config = write_config(dir.path(), &db.url, None);
    let server = start_server(&config);
    let api = Api::new(&server.url);
    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp", db.url));
    let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport))
        .await
        .expect("initialize in time")
        .expect("initialize");
    let reference = RefDb::connect(engine).await;
    let before = reference.fingerprint().await;

    let mut count = 0;
    for (engines, class, sql) in ATTACKS {
        if engines & bit(d) == 0 {
            continue;
        }
        count += 1;
        // Straight to the tool: refused by the guard, saying which rule.
        let (is_error, _, text) = call(&client, sql).await;
        assert!(is_error, "{d} [{class}] {sql}: the tool ran it: {text}");
        assert!(text.starts_with("SQL_REJECTED: ") && text.contains("(rule: "), "{d} [{class}] {sql}: {text}");
        assert!(!text.contains("/etc/passwd") && !text.contains("t2t_attack"), "{d} {sql}: echoed: {text}");
        // Through the API: refused, or (when the text is not read as SQL) answered
        // with a query that itself passes the guard.
        let (status, body) = api.chat(sql).await;
        assert_eq!(status, 200, "{d} {sql}: {body:#}");
        if body["success"] == true {
            let ran = body["data"]["sql_query"].as_str().unwrap_or_default();
            talk2tables_common::guard::check_query(ran, d)
                .unwrap_or_else(|r| panic!("{d} {sql}: the API ran a refused statement {ran}: {r}"));
            assert_ne!(body["data"]["metadata"]["generator"], "raw_sql", "{d} {sql}: raw SQL ran: {body:#}");
        }
    }
    eprintln!("{d}: {count} attacks refused on both paths");
    assert!(count >= 35, "{d}: only {count} attacks apply");

    // Nothing changed, nothing was written.
    assert_eq!(reference.fingerprint().await, before, "{d}: the database changed");
    for f in FILES {
        assert!(!std::path::Path::new(f).exists(), "{d}: {f} was created");
    }

    // No session setting leaked: the next query sees the server's own settings.
    let (probe, want): (&str, Value) = match d {
        Dialect::Sqlite => ("SELECT query_only FROM pragma_query_only", json!([1])),
        Dialect::Postgresql => (
            "SELECT current_setting('statement_timeout') AS t, current_setting('transaction_read_only') AS ro",
            json!(["1s", "on"]),
        ),
        Dialect::Mysql => ("SELECT @t2t AS v, @@session.max_statement_time >= 1 AS capped", json!([null, 1])),
    };
    let (is_error, out, text) = call(&client, probe).await;
    assert!(!is_error, "{d}: probe failed: {text}");
    assert_eq!(out["rows"][0], want, "{d}: session state after the suite: {out:#}");

    // A heavy query ends at the 1 s timeout.
    let heavy = match d {
        Dialect::Sqlite => "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        Dialect::Postgresql => {
            "SELECT count(*) FROM generate_series(1, 100000000) a CROSS JOIN generate_series(1, 1000) b"
        }
        Dialect::Mysql => "SELECT COUNT(*) FROM order_items a CROSS JOIN order_items b CROSS JOIN order_items c",
    };
    let started = Instant::now();
    let (is_error, _, text) = call(&client, heavy).await;
    let elapsed = started.elapsed();
    assert!(is_error && text.contains("timeout"), "{d}: heavy query: {text}");
    assert!(elapsed < Duration::from_secs(5), "{d}: the timeout took {elapsed:?}");
    // …and the pool still answers afterwards.
    let (is_error, out, text) = call(&client, "SELECT COUNT(*) AS n FROM customers").await;
    assert!(!is_error, "{d}: after the timeout: {text}");
    assert_eq!(out["rows"][0][0], json!(200), "{d}");
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_suite_on_every_engine() {
    assert!(ATTACKS.len() >= 60, "the suite has {} statements", ATTACKS.len());
    for f in FILES {
        let _ = std::fs::remove_file(f);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for engine in engines(&dir.path().join("sample.db")) {
        eprintln!("engine {}", engine.dialect);
        attack_engine(&engine).await;
    }
}
