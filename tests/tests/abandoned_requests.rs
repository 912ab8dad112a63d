//! Clients that give up: a heavy query whose HTTP request is abandoned (connection
//! closed mid-request, or mid-stream on `/api/chat/stream` and a streaming
//! `/chat/completions`) must stop in the Database
//! MCP instead of holding one of its pooled connections until the timeout. Before the
//! fix, five abandoned requests made the next simple question wait about 30 s.

use std::time::{Duration, Instant};

use serde_json::json;
use talk2tables_e2e::*;

/// A query that runs far longer than any timeout here (8e9 rows counted).
const HEAVY: &str = "SELECT count(*) FROM orders a, orders b, orders c";
/// More than the Database MCP's pool of four connections.
const ABANDONED: usize = 5;
/// How long a simple question may take after the abandoned ones.
const LIMIT: Duration = Duration::from_secs(8);

async fn abandon(client: &reqwest::Client, url: &str, body: &serde_json::Value) {
    // Read for a moment (the stream's first events), then drop the response and close
    // the connection while the query is still running.
    let attempt = async {
        let mut resp = client.post(url).json(body).send().await.expect("POST");
        while let Ok(Some(_)) = resp.chunk().await {}
    };
    assert!(tokio::time::timeout(Duration::from_millis(400), attempt).await.is_err(), "{url}: the heavy query ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_requests_free_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("sample.db");
    init_sample(&db_path);
    let db = start_database_mcp(&db_path);
    let config = write_config(dir.path(), &db.url, None);
    let server = start_server(&config);
    let api = Api::new(&server.url);

    let native = json!({ "query": HEAVY });
    let chatbot = json!({ "messages": [{"role": "user", "content": HEAVY}], "stream": true });
    for (path, body) in [("/api/chat", &native), ("/api/chat/stream", &native), ("/chat/completions", &chatbot)] {
        // A fresh client per request: no pooled connection survives the drop.
        for _ in 0..ABANDONED {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
            abandon(&client, &format!("{}{path}", server.url), body).await;
        }
        let started = Instant::now();
        let (status, body) = api.chat("How many customers are there?").await;
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(num(&expect_ok("count", &body)["results"]["rows"][0][0]), 200.0);
        assert!(started.elapsed() < LIMIT, "after abandoned {path} requests: waited {:?}", started.elapsed());
    }
}
