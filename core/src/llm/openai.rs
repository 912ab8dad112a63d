//! OpenAI-compatible chat completions: `POST {base}/chat/completions` with a bearer key.
//! Serves OpenAI, OpenRouter (with its attribution headers), and local servers (Ollama
//! `http://localhost:11434/v1`, vLLM, llama.cpp server, LM Studio) through
//! `LLM_BASE_URL`.

use serde_json::{Value, json};

use super::client::{Completion, Prompt, TokenUsage};
use crate::{Error, ErrorKind, Result};

/// OpenAI's API root, the default `LLM_BASE_URL` for provider `openai`.
pub(crate) const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// OpenRouter's API root, the default for provider `openrouter`.
pub(crate) const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// Default model for provider `openai`.
pub(crate) const OPENAI_DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Default model for provider `openrouter`.
pub(crate) const OPENROUTER_DEFAULT_MODEL: &str = "openai/gpt-4o-mini";
/// `HTTP-Referer` sent to OpenRouter (its app attribution): the project's address, as in
/// the workspace's `repository` field (update both together).
pub(crate) const OPENROUTER_REFERER: &str = "https://example.invalid/talk2tables";
/// `X-Title` sent to OpenRouter.
pub(crate) const OPENROUTER_TITLE: &str = "Talk 2 Tables";

/// The URL of the chat-completions endpoint under `base` (no trailing slash).
pub(crate) fn endpoint(base: &str) -> String {
    format!("{base}/chat/completions")
}

/// The request body: `model`, a system and a user message, `temperature: 0`, and when
/// `structured` is set a `response_format` asking for JSON — `json_schema` (named
/// `sql_answer`) when the prompt carries a schema, else `json_object`.
pub(crate) fn request_body(model: &str, prompt: &Prompt, structured: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ],
        "temperature": 0,
    });
    if structured {
        body["response_format"] = match &prompt.json_schema {
            Some(schema) => json!({
                "type": "json_schema",
                "json_schema": {"name": "sql_answer", "schema": schema},
            }),
            None => json!({"type": "json_object"}),
        };
    }
    body
}

/// Whether a 400 answer's body says the endpoint refused `response_format` (local
/// servers often do), so the request can be sent again without it.
pub(crate) fn rejects_structured_output(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("response_format") || lower.contains("response format") || lower.contains("json_schema")
}

/// Reads a successful answer: the text of `choices[0].message.content` (a string, or
/// an array of `{type: "text", text}` parts), `usage` (`prompt_tokens`,
/// `completion_tokens`, `total_tokens`; absent → 0) and the answering `model`
/// (`fallback_model` when absent).
///
/// Errors: `LLM_UNAVAILABLE` when the body is an `{"error": …}` object (OpenRouter does
/// this with status 200); `LLM_BAD_OUTPUT` when it is not JSON or has no text content.
pub(crate) fn parse_response(body: &str, provider: &'static str, fallback_model: &str) -> Result<Completion> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        Error::new(ErrorKind::LlmBadOutput, format!("{provider} answered with a body that is not JSON: {e}"))
    })?;
    if let Some(error) = value.get("error").filter(|e| !e.is_null())
        && value.get("choices").is_none()
    {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
        return Err(Error::new(ErrorKind::LlmUnavailable, format!("{provider} answered with an error: {message}")));
    }
    let choice = value
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| Error::new(ErrorKind::LlmBadOutput, format!("{provider} answered without any choice")))?;
    let content = choice.get("message").and_then(|m| m.get("content"));
    let text = match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
        }
        _ => String::new(),
    };
    if text.trim().is_empty() {
        let reason = choice.get("finish_reason").and_then(Value::as_str).unwrap_or("unknown");
        return Err(Error::new(
            ErrorKind::LlmBadOutput,
            format!("{provider} answered with empty content (finish_reason: {reason})"),
        ));
    }
    let usage = value.get("usage");
    let count = |key: &str| usage.and_then(|u| u.get(key)).and_then(Value::as_u64).unwrap_or(0);
    let (prompt_tokens, completion_tokens) = (count("prompt_tokens"), count("completion_tokens"));
    let total_tokens = match count("total_tokens") {
        0 => prompt_tokens + completion_tokens,
        n => n,
    };
    let model = value.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(fallback_model);
    Ok(Completion {
        text,
        usage: TokenUsage { prompt_tokens, completion_tokens, total_tokens },
        provider,
        model: model.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(schema: Option<Value>) -> Prompt {
        Prompt { system: "sys".into(), user: "question".into(), json_schema: schema }
    }

    #[test]
    fn body_asks_for_json() {
        let body = request_body("m", &prompt(None), true);
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "sys"}));
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "question"}));
        let schema = json!({"type": "object", "properties": {"sql": {"type": "string"}}});
        let body = request_body("m", &prompt(Some(schema.clone())), true);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
        let body = request_body("m", &prompt(Some(schema)), false);
        assert!(body.get("response_format").is_none());
    }

    #[test]
    fn parses_content_parts_and_missing_usage() {
        let body =
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"SELECT "},{"type":"text","text":"1"}]}}]}"#;
        let c = parse_response(body, "openai", "fallback").unwrap();
        assert_eq!(c.text, "SELECT 1");
        assert_eq!(c.model, "fallback");
        assert_eq!(c.usage, TokenUsage::default());
    }

    #[test]
    fn error_bodies_and_empty_content() {
        let e =
            parse_response(r#"{"error":{"message":"upstream overloaded","code":502}}"#, "openrouter", "m").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LlmUnavailable);
        assert!(e.message().contains("upstream overloaded"));
        let e = parse_response(r#"{"choices":[{"message":{"content":null},"finish_reason":"length"}]}"#, "openai", "m")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LlmBadOutput);
        assert!(e.message().contains("length"));
        assert_eq!(parse_response("<html>", "openai", "m").unwrap_err().kind(), ErrorKind::LlmBadOutput);
    }
}
