//! Google Gemini's native API: `POST {base}/v1beta/models/{model}:generateContent`
//! with the key in the `x-goog-api-key` header (never in the URL).

use serde_json::{Value, json};

use super::client::{Completion, Prompt, TokenUsage};
use crate::{Error, ErrorKind, Result};

/// Gemini's API root, the default `LLM_BASE_URL` for provider `gemini`.
pub(crate) const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// Default model for provider `gemini`.
pub(crate) const GEMINI_DEFAULT_MODEL: &str = "gemini-2.0-flash";

/// The URL of `generateContent` for `model` under `base` (no trailing slash). The
/// model name has been checked by [`valid_model_name`]; a leading `models/` is dropped.
pub(crate) fn endpoint(base: &str, model: &str) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    format!("{base}/v1beta/models/{model}:generateContent")
}

/// Whether `model` can go into the URL path as it is: ASCII letters, digits, `-`, `_`,
/// `.`, optionally after `models/`.
pub(crate) fn valid_model_name(model: &str) -> bool {
    let name = model.strip_prefix("models/").unwrap_or(model);
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The request body: `systemInstruction`, one user turn in `contents`, and
/// `generationConfig` with `temperature: 0`; when `structured` is set also
/// `responseMimeType: "application/json"` and, when the prompt carries a schema,
/// `responseSchema` (the schema without the JSON-Schema keywords Gemini's OpenAPI
/// subset refuses: `$schema`, `$id`, `additionalProperties`, `$defs`, `definitions`).
pub(crate) fn request_body(prompt: &Prompt, structured: bool) -> Value {
    let mut generation = json!({"temperature": 0});
    if structured {
        generation["responseMimeType"] = json!("application/json");
        if let Some(schema) = &prompt.json_schema {
            generation["responseSchema"] = openapi_subset(schema);
        }
    }
    json!({
        "systemInstruction": {"parts": [{"text": prompt.system}]},
        "contents": [{"role": "user", "parts": [{"text": prompt.user}]}],
        "generationConfig": generation,
    })
}

fn openapi_subset(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "$schema" | "$id" | "additionalProperties" | "$defs" | "definitions")
                })
                .map(|(k, v)| (k.clone(), openapi_subset(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(openapi_subset).collect()),
        other => other.clone(),
    }
}

/// Whether a 400 answer's body says Gemini refused the structured-output settings, so
/// the request can be sent again without them.
pub(crate) fn rejects_structured_output(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    ["responseschema", "response_schema", "responsemimetype", "response_mime_type"].iter().any(|k| lower.contains(k))
}

/// Reads a successful answer: the concatenated `text` parts of `candidates[0].content`,
/// `usageMetadata` (`promptTokenCount`, `candidatesTokenCount` (+ `thoughtsTokenCount`)
/// as completion tokens, `totalTokenCount`; absent → 0) and `modelVersion`
/// (`fallback_model` when absent).
///
/// Errors: `LLM_UNAVAILABLE` for an `{"error": …}` body; `LLM_BAD_OUTPUT` when the body
/// is not JSON, the prompt was blocked (`promptFeedback.blockReason`), or there is no
/// text (the `finishReason` is reported).
pub(crate) fn parse_response(body: &str, fallback_model: &str) -> Result<Completion> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        Error::new(ErrorKind::LlmBadOutput, format!("gemini answered with a body that is not JSON: {e}"))
    })?;
    if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
        return Err(Error::new(ErrorKind::LlmUnavailable, format!("gemini answered with an error: {message}")));
    }
    if let Some(reason) = value.pointer("/promptFeedback/blockReason").and_then(Value::as_str) {
        return Err(Error::new(ErrorKind::LlmBadOutput, format!("gemini blocked the prompt ({reason})")));
    }
    let candidate = value.pointer("/candidates/0");
    let text = candidate
        .and_then(|c| c.pointer("/content/parts"))
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default();
    if text.trim().is_empty() {
        let reason = candidate.and_then(|c| c.get("finishReason")).and_then(Value::as_str).unwrap_or("no candidate");
        return Err(Error::new(ErrorKind::LlmBadOutput, format!("gemini answered without text ({reason})")));
    }
    let count = |key: &str| value.pointer(&format!("/usageMetadata/{key}")).and_then(Value::as_u64).unwrap_or(0);
    let prompt_tokens = count("promptTokenCount");
    let completion_tokens = count("candidatesTokenCount") + count("thoughtsTokenCount");
    let total_tokens = match count("totalTokenCount") {
        0 => prompt_tokens + completion_tokens,
        n => n,
    };
    let model = value.get("modelVersion").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(fallback_model);
    Ok(Completion {
        text,
        usage: TokenUsage { prompt_tokens, completion_tokens, total_tokens },
        provider: "gemini",
        model: model.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_and_endpoint() {
        assert!(valid_model_name("gemini-2.0-flash"));
        assert!(valid_model_name("models/gemini-1.5-pro-002"));
        assert!(!valid_model_name("gemini/../x?key=1"));
        assert!(!valid_model_name(""));
        assert_eq!(
            endpoint("http://h", "models/gemini-2.0-flash"),
            "http://h/v1beta/models/gemini-2.0-flash:generateContent"
        );
    }

    #[test]
    fn schema_keywords_gemini_refuses_are_dropped() {
        let prompt = Prompt {
            system: "s".into(),
            user: "u".into(),
            json_schema: Some(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {"sql": {"type": "string", "additionalProperties": false}},
                "required": ["sql"],
            })),
        };
        let body = request_body(&prompt, true);
        assert_eq!(
            body["generationConfig"]["responseSchema"],
            json!({"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]})
        );
        assert!(request_body(&prompt, false)["generationConfig"].get("responseSchema").is_none());
    }

    #[test]
    fn blocked_and_empty_answers() {
        let e = parse_response(r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#, "m").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LlmBadOutput);
        assert!(e.message().contains("SAFETY"));
        let e = parse_response(r#"{"candidates":[{"finishReason":"MAX_TOKENS","content":{"parts":[]}}]}"#, "m")
            .unwrap_err();
        assert!(e.message().contains("MAX_TOKENS"));
    }
}
