//! End-to-end tests of [`LlmClient`] against the scripted providers on 127.0.0.1.

use std::time::{Duration, Instant};

use serde_json::json;

use super::scripted::{Reply, ScriptedServer};
use super::{LlmClient, LlmOptions, Prompt, TokenUsage, extract_sql};
use crate::ErrorKind;
use crate::config::{LlmConfig, LlmProvider};

const KEY: &str = "sk-test-secret-0123456789";
const SQL: &str = "SELECT COUNT(*) AS n FROM customers";

/// Fast retries for tests: 10 ms backoff, 5 s total.
fn fast() -> LlmOptions {
    LlmOptions {
        total_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        max_tries: 3,
        backoff_start: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(50),
    }
}

fn config(provider: LlmProvider, server: &ScriptedServer) -> LlmConfig {
    LlmConfig {
        provider,
        model: None,
        base_url: Some(server.base_url().to_owned()),
        api_key: Some(KEY.to_owned()),
        ..Default::default()
    }
}

fn prompt() -> Prompt {
    Prompt { system: "You write SQLite SQL.".into(), user: "how many customers?".into(), json_schema: None }
}

fn sql_schema() -> serde_json::Value {
    json!({"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"], "additionalProperties": false})
}

#[tokio::test]
async fn openai_request_shape_and_usage() {
    let server = ScriptedServer::openai([
        Reply::openai_answer(&format!(r#"{{"sql": "{SQL}"}}"#)),
        Reply::openai_answer(&format!(r#"{{"sql": "{SQL}"}}"#)),
    ])
    .await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let completion = client.complete(&prompt()).await.unwrap();
    assert_eq!(extract_sql(&completion.text).unwrap(), SQL);
    assert_eq!(completion.usage, TokenUsage { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    assert_eq!(completion.provider, "openai");
    assert_eq!(completion.model, "scripted-model");

    let with_schema = Prompt { json_schema: Some(sql_schema()), ..prompt() };
    client.complete(&with_schema).await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.headers["authorization"], format!("Bearer {KEY}"));
    assert!(!first.headers.contains_key("x-title"));
    assert_eq!(first.body["model"], "gpt-4o-mini");
    assert_eq!(
        first.body["messages"],
        json!([
            {"role": "system", "content": "You write SQLite SQL."},
            {"role": "user", "content": "how many customers?"},
        ])
    );
    assert_eq!(first.body["response_format"], json!({"type": "json_object"}));
    let second = &requests[1];
    assert_eq!(second.body["response_format"]["type"], "json_schema");
    assert_eq!(second.body["response_format"]["json_schema"]["schema"], sql_schema());
}

#[tokio::test]
async fn openrouter_sends_attribution_headers_and_its_default_model() {
    let server = ScriptedServer::openai([Reply::openai_answer(SQL)]).await;
    let client = LlmClient::new(&config(LlmProvider::Openrouter, &server), fast()).unwrap();
    let completion = client.complete(&prompt()).await.unwrap();
    assert_eq!(completion.provider, "openrouter");
    let request = &server.requests()[0];
    assert_eq!(request.body["model"], "openai/gpt-4o-mini");
    assert_eq!(request.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(request.headers["x-title"], "Talk 2 Tables");
    assert!(request.headers["http-referer"].starts_with("https://"));
}

#[tokio::test]
async fn gemini_request_shape_and_usage() {
    let server = ScriptedServer::gemini([Reply::gemini_answer(&format!(r#"{{"sql": "{SQL};"}}"#))]).await;
    let mut cfg = config(LlmProvider::Gemini, &server);
    cfg.model = Some("gemini-2.0-flash".into());
    let client = LlmClient::new(&cfg, fast()).unwrap();
    let completion = client.complete(&Prompt { json_schema: Some(sql_schema()), ..prompt() }).await.unwrap();
    assert_eq!(extract_sql(&completion.text).unwrap(), SQL);
    assert_eq!(completion.usage, TokenUsage { prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 });
    assert_eq!(completion.provider, "gemini");
    assert_eq!(completion.model, "scripted-gemini");

    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1beta/models/gemini-2.0-flash:generateContent");
    assert_eq!(request.headers["x-goog-api-key"], KEY);
    assert!(!request.headers.contains_key("authorization"));
    assert_eq!(request.body["systemInstruction"], json!({"parts": [{"text": "You write SQLite SQL."}]}));
    assert_eq!(request.body["contents"], json!([{"role": "user", "parts": [{"text": "how many customers?"}]}]));
    assert_eq!(request.body["generationConfig"]["responseMimeType"], "application/json");
    assert_eq!(
        request.body["generationConfig"]["responseSchema"],
        json!({"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]})
    );
}

#[tokio::test]
async fn json_fenced_and_chatty_answers_all_yield_the_sql() {
    let answers = [
        format!(r#"{{"sql": "{SQL}", "explanation": "counts rows"}}"#),
        format!("```json\n{{\"query\": \"{SQL};\"}}\n```"),
        format!("Here is the query:\n```sql\n{SQL};\n```\nIt counts customers."),
        format!("Sure, to count the customers with SQL you can run\n{SQL};\nHope this helps!"),
    ];
    let server = ScriptedServer::openai(answers.iter().map(|a| Reply::openai_answer(a))).await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    for answer in &answers {
        let completion = client.complete(&prompt()).await.unwrap();
        assert_eq!(&completion.text, answer);
        assert_eq!(extract_sql(&completion.text).unwrap(), SQL, "from {answer:?}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = ScriptedServer::openai([
        Reply::error(429, "rate limited").header("retry-after", "1"),
        Reply::openai_answer(SQL),
    ])
    .await;
    // backoff of 10 ms: any wait near 1 s can only come from Retry-After
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let started = Instant::now();
    let completion = client.complete(&prompt()).await.unwrap();
    assert_eq!(completion.text, SQL);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].received - requests[0].received;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn retry_after_beyond_the_total_timeout_fails_at_once() {
    let server = ScriptedServer::openai([Reply::error(429, "slow down").header("retry-after", "30")]).await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let started = Instant::now();
    let error = client.complete(&prompt()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind(), ErrorKind::LlmUnavailable);
    assert!(error.message().contains("429") && error.message().contains("total timeout"), "{}", error.message());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_error_is_retried_then_succeeds() {
    let server = ScriptedServer::openai([Reply::error(500, "boom"), Reply::openai_answer(SQL)]).await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    assert_eq!(client.complete(&prompt()).await.unwrap().text, SQL);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn three_server_errors_are_llm_unavailable() {
    let server = ScriptedServer::openai([
        Reply::error(500, "boom"),
        Reply::error(502, "bad gateway"),
        Reply::error(503, "overloaded"),
        Reply::openai_answer(SQL),
    ])
    .await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let error = client.complete(&prompt()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LlmUnavailable);
    assert!(error.is_retryable());
    assert!(error.message().contains("503") && error.message().contains("3 tries"), "{}", error.message());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn hung_provider_ends_within_the_total_timeout() {
    let server = ScriptedServer::gemini([Reply::gemini_answer(SQL).delayed(Duration::from_secs(30))]).await;
    let total = Duration::from_secs(2);
    let client =
        LlmClient::new(&config(LlmProvider::Gemini, &server), LlmOptions { total_timeout: total, ..fast() }).unwrap();
    let started = Instant::now();
    let error = client.complete(&prompt()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= total && elapsed < total + Duration::from_secs(1), "ended after {elapsed:?}");
    assert_eq!(error.kind(), ErrorKind::LlmUnavailable);
    assert!(error.message().contains("timeout"), "{}", error.message());
}

#[tokio::test]
async fn response_format_refusal_is_retried_without_it() {
    let server = ScriptedServer::openai([
        Reply::error(400, "Unrecognized request argument: response_format"),
        Reply::openai_answer(SQL),
    ])
    .await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    assert_eq!(client.complete(&prompt()).await.unwrap().text, SQL);
    server.push(Reply::openai_answer(SQL));
    assert_eq!(client.complete(&prompt()).await.unwrap().text, SQL);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[0].body.get("response_format").is_some());
    assert!(requests[1].body.get("response_format").is_none());
    assert!(requests[2].body.get("response_format").is_none(), "the refusal is remembered");
}

#[tokio::test]
async fn gemini_schema_refusal_is_retried_without_it() {
    let server = ScriptedServer::gemini([
        Reply::error(400, "Invalid JSON payload received. Unknown name \"responseSchema\""),
        Reply::gemini_answer(SQL),
    ])
    .await;
    let client = LlmClient::new(&config(LlmProvider::Gemini, &server), fast()).unwrap();
    let with_schema = Prompt { json_schema: Some(sql_schema()), ..prompt() };
    assert_eq!(client.complete(&with_schema).await.unwrap().text, SQL);
    let requests = server.requests();
    assert!(requests[0].body["generationConfig"].get("responseSchema").is_some());
    assert!(requests[1].body["generationConfig"].get("responseSchema").is_none());
    assert!(requests[1].body["generationConfig"].get("responseMimeType").is_none());
}

#[tokio::test]
async fn other_bad_request_is_not_retried() {
    let server =
        ScriptedServer::openai([Reply::error(400, "context length exceeded"), Reply::openai_answer(SQL)]).await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let error = client.complete(&prompt()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LlmUnavailable);
    assert!(error.message().contains("400") && error.message().contains("context length"), "{}", error.message());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn rejected_key_is_not_retried_and_never_shown() {
    let server = ScriptedServer::openai([
        Reply::error(401, &format!("Incorrect API key provided: {KEY}")),
        Reply::openai_answer(SQL),
    ])
    .await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let error = client.complete(&prompt()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LlmUnavailable);
    assert!(error.message().contains("401") && error.message().contains("check the API key"), "{}", error.message());
    assert!(!error.to_string().contains(KEY));
    assert!(!format!("{error:?} {client:?}").contains(KEY));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn error_body_with_status_200_is_retried() {
    let server = ScriptedServer::openai([
        Reply::json(200, json!({"error": {"message": "upstream overloaded", "code": 502}})),
        Reply::openai_answer(SQL),
    ])
    .await;
    let client = LlmClient::new(&config(LlmProvider::Openrouter, &server), fast()).unwrap();
    assert_eq!(client.complete(&prompt()).await.unwrap().text, SQL);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn empty_answer_is_bad_output() {
    let server = ScriptedServer::openai([Reply::openai_answer("")]).await;
    let client = LlmClient::new(&config(LlmProvider::Openai, &server), fast()).unwrap();
    let error = client.complete(&prompt()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LlmBadOutput);
}

#[tokio::test]
async fn unreachable_provider_is_retried_then_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // nothing listens there now
    let cfg = LlmConfig {
        provider: LlmProvider::Openai,
        model: Some("llama3".into()),
        base_url: Some(format!("http://{addr}/v1")),
        api_key: None, // a local endpoint needs no key
        ..Default::default()
    };
    let client = LlmClient::new(&cfg, fast()).unwrap();
    let error = client.complete(&prompt()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LlmUnavailable);
    assert!(
        error.message().contains("connection failed") && error.message().contains("3 tries"),
        "{}",
        error.message()
    );
}

#[test]
fn configuration_errors() {
    let base = LlmConfig { provider: LlmProvider::Openai, api_key: Some(KEY.into()), ..Default::default() };
    let offline = LlmConfig { provider: LlmProvider::Offline, ..base.clone() };
    assert_eq!(LlmClient::new(&offline, fast()).unwrap_err().kind(), ErrorKind::ConfigError);
    for provider in [LlmProvider::Openai, LlmProvider::Openrouter, LlmProvider::Gemini] {
        let keyless = LlmConfig { provider, api_key: None, ..base.clone() };
        let error = LlmClient::new(&keyless, fast()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConfigError);
        assert!(error.message().contains("_API_KEY"), "{}", error.message());
    }
    let bad_url = LlmConfig { base_url: Some("ftp://example.invalid".into()), ..base.clone() };
    assert_eq!(LlmClient::new(&bad_url, fast()).unwrap_err().kind(), ErrorKind::ConfigError);
    let bad_model = LlmConfig { provider: LlmProvider::Gemini, model: Some("x/../y?z".into()), ..base.clone() };
    assert_eq!(LlmClient::new(&bad_model, fast()).unwrap_err().kind(), ErrorKind::ConfigError);
    let bad_key = LlmConfig { api_key: Some("line\nbreak".into()), ..base.clone() };
    let error = LlmClient::new(&bad_key, fast()).unwrap_err();
    assert!(!error.to_string().contains("line\nbreak"));

    let defaults = LlmClient::new(&base, fast()).unwrap();
    assert_eq!((defaults.provider(), defaults.model()), ("openai", "gpt-4o-mini"));
    let gemini = LlmClient::new(&LlmConfig { provider: LlmProvider::Gemini, ..base.clone() }, fast()).unwrap();
    assert_eq!((gemini.provider(), gemini.model()), ("gemini", "gemini-2.0-flash"));
    let custom = LlmClient::new(&LlmConfig { model: Some("gpt-4.1".into()), ..base }, fast()).unwrap();
    assert_eq!(custom.model(), "gpt-4.1");
}
