//! [`LlmClient`]: one configured provider, with timeouts and retries around each
//! [`LlmClient::complete`] call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::{gemini, openai, retry};
use crate::config::{LlmConfig, LlmProvider};
use crate::{Error, ErrorKind, Result};

/// Characters of a prompt, or of a provider's error body, that reach logs and messages.
const LOG_PREVIEW_CHARS: usize = 200;

/// Timeouts and retry policy of an [`LlmClient`] (not part of `LlmConfig`: these have
/// fixed defaults and are changed only by code, e.g. tests).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LlmOptions {
    /// Upper bound for one `complete` call, all tries and waits included (default 60 s).
    pub total_timeout: Duration,
    /// Upper bound for opening the TCP/TLS connection of one request (default 10 s).
    pub connect_timeout: Duration,
    /// Requests per `complete` call, the first included (default 3). Values below 1
    /// count as 1.
    pub max_tries: u32,
    /// Wait before the first retry, doubled for each later one (default 1 s), with
    /// jitter; a longer `Retry-After` wins.
    pub backoff_start: Duration,
    /// Largest backoff wait (default 30 s); `Retry-After` is not capped.
    pub backoff_cap: Duration,
}

impl Default for LlmOptions {
    fn default() -> Self {
        LlmOptions {
            total_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_tries: 3,
            backoff_start: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
        }
    }
}

/// What to ask: a system message, a user message, and optionally a JSON Schema the
/// answer must follow (sent as `response_format.json_schema` / `responseSchema`; without
/// it the provider is still asked for a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prompt {
    /// Instructions: role, schema context, output format.
    pub system: String,
    /// The question (or the repair request).
    pub user: String,
    /// JSON Schema of the expected answer, e.g. `{"type":"object","properties":{"sql":…}}`.
    pub json_schema: Option<Value>,
}

/// Tokens counted by the provider for one answer (0 when the provider did not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TokenUsage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the answer (for Gemini, thinking tokens included).
    pub completion_tokens: u64,
    /// As reported, else the sum of the two.
    pub total_tokens: u64,
}

/// The provider's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Completion {
    /// The raw text of the answer; pass it to [`super::extract_sql`].
    pub text: String,
    /// Token counts.
    pub usage: TokenUsage,
    /// `"openai"`, `"openrouter"` or `"gemini"`.
    pub provider: &'static str,
    /// The model that answered, as the provider reports it (else the configured one).
    pub model: String,
}

/// Which API the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    OpenAi,
    OpenRouter,
    Gemini,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::OpenAi => "openai",
            Api::OpenRouter => "openrouter",
            Api::Gemini => "gemini",
        }
    }
}

/// A client for the configured LLM provider. Cheap to share behind an `Arc`; `complete`
/// takes `&self` and may run concurrently.
pub(crate) struct LlmClient {
    api: Api,
    model: String,
    /// Base URL without a trailing slash.
    base_url: String,
    endpoint: String,
    http: reqwest::Client,
    /// Headers of every request, the authentication included (marked sensitive).
    headers: HeaderMap,
    /// The API key, kept only to scrub it from provider error bodies.
    api_key: Option<String>,
    options: LlmOptions,
    /// Cleared once the endpoint has refused `response_format`/`responseSchema`; later
    /// calls then ask without it.
    structured_output: AtomicBool,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("provider", &self.api.name())
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// How one HTTP exchange ended.
enum Attempt {
    Done(Completion),
    /// Worth another try (429, 5xx, connection error, error body with status 200).
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The endpoint refused the structured-output request field.
    StructuredRejected {
        reason: String,
    },
    /// Not worth another try.
    Fatal(Error),
}

impl LlmClient {
    /// A client for `config` (provider, model, base URL, key from `LLM_*` and
    /// `*_API_KEY`, DESIGN.md §2) with `options`.
    ///
    /// Defaults: base `https://api.openai.com/v1` (openai), `https://openrouter.ai/api/v1`
    /// (openrouter), `https://generativelanguage.googleapis.com` (gemini); model
    /// `gpt-4o-mini`, `openai/gpt-4o-mini`, `gemini-2.0-flash`.
    ///
    /// Errors (`CONFIG_ERROR`): provider `offline`; no key for openrouter or gemini, or
    /// for openai at its default base (a key is optional for a local `LLM_BASE_URL`); a
    /// base URL that is not http(s); a Gemini model name unfit for a URL path; a key that
    /// cannot be an HTTP header value.
    pub(crate) fn new(config: &LlmConfig, options: LlmOptions) -> Result<Self> {
        let api = match config.provider {
            LlmProvider::Offline => {
                return Err(Error::config("LLM_PROVIDER is offline: there is no LLM provider to call"));
            }
            LlmProvider::Openai => Api::OpenAi,
            LlmProvider::Openrouter => Api::OpenRouter,
            LlmProvider::Gemini => Api::Gemini,
        };
        let (default_base, default_model, key_var) = match api {
            Api::OpenAi => (openai::OPENAI_BASE_URL, openai::OPENAI_DEFAULT_MODEL, "OPENAI_API_KEY"),
            Api::OpenRouter => (openai::OPENROUTER_BASE_URL, openai::OPENROUTER_DEFAULT_MODEL, "OPENROUTER_API_KEY"),
            Api::Gemini => (gemini::GEMINI_BASE_URL, gemini::GEMINI_DEFAULT_MODEL, "GEMINI_API_KEY"),
        };
        let model = match config.model.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => default_model.to_owned(),
        };
        let base_url = match config.base_url.as_deref().map(str::trim) {
            Some(b) if !b.is_empty() => b.trim_end_matches('/').to_owned(),
            _ => default_base.to_owned(),
        };
        let custom_base = base_url != default_base;
        match Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => {
                return Err(Error::config(format!("LLM_BASE_URL `{base_url}` is not an http(s) URL")));
            }
        }
        let api_key = config.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned);
        if api_key.is_none() && !(api == Api::OpenAi && custom_base) {
            return Err(Error::config(format!("provider {} needs an API key ({key_var})", api.name())));
        }
        if api == Api::Gemini && !gemini::valid_model_name(&model) {
            return Err(Error::config(format!(
                "LLM_MODEL `{model}` is not a Gemini model name (letters, digits, `-`, `_`, `.`)"
            )));
        }

        let mut headers = HeaderMap::new();
        if let Some(key) = &api_key {
            let (name, value) = match api {
                Api::Gemini => (reqwest::header::HeaderName::from_static("x-goog-api-key"), key.clone()),
                _ => (AUTHORIZATION, format!("Bearer {key}")),
            };
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| Error::config(format!("{key_var} contains characters not allowed in an HTTP header")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if api == Api::OpenRouter {
            headers.insert("http-referer", HeaderValue::from_static(openai::OPENROUTER_REFERER));
            headers.insert("x-title", HeaderValue::from_static(openai::OPENROUTER_TITLE));
        }

        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.total_timeout)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")).with_source(e))?;
        let endpoint = match api {
            Api::Gemini => gemini::endpoint(&base_url, &model),
            _ => openai::endpoint(&base_url),
        };
        Ok(LlmClient {
            api,
            model,
            base_url,
            endpoint,
            http,
            headers,
            api_key,
            options,
            structured_output: AtomicBool::new(true),
        })
    }

    /// The provider's name: `"openai"`, `"openrouter"` or `"gemini"`.
    pub(crate) fn provider(&self) -> &'static str {
        self.api.name()
    }

    /// The configured model (or the provider's default).
    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    /// Sends `prompt` and returns the answer, asking for JSON output.
    ///
    /// Retries 429, 5xx and connection failures up to `max_tries` requests, waiting an
    /// exponential backoff with jitter or the `Retry-After` delay when longer. A 400
    /// that names the structured-output field is sent once more without it (and later
    /// calls omit it). The whole call, waits included, ends within `total_timeout`.
    ///
    /// Errors: `LLM_UNAVAILABLE` (tries exhausted, total timeout, a retry wait that
    /// would pass it, any other 4xx — 401/403 say to check the API key), with the
    /// status or cause in the message and never the key; `LLM_BAD_OUTPUT` (a 2xx answer
    /// without text).
    pub(crate) async fn complete(&self, prompt: &Prompt) -> Result<Completion> {
        let started = Instant::now();
        let deadline = started + self.options.total_timeout;
        let max_tries = self.options.max_tries.max(1);
        let mut structured = self.structured_output.load(Ordering::Relaxed);
        let mut tries = 0u32;
        tracing::debug!(
            provider = self.api.name(),
            model = %self.model,
            system = %preview(&prompt.system),
            user = %preview(&prompt.user),
            "llm request"
        );
        loop {
            tries += 1;
            let attempt = match tokio::time::timeout_at(deadline.into(), self.attempt(prompt, structured)).await {
                Ok(attempt) => attempt,
                Err(_) => {
                    return Err(self.unavailable(format!(
                        "no answer within the total timeout of {:.1} s (try {tries} of {max_tries})",
                        self.options.total_timeout.as_secs_f64()
                    )));
                }
            };
            match attempt {
                Attempt::Done(completion) => {
                    tracing::debug!(
                        provider = completion.provider,
                        model = %completion.model,
                        tries,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        prompt_tokens = completion.usage.prompt_tokens,
                        completion_tokens = completion.usage.completion_tokens,
                        "llm answer"
                    );
                    return Ok(completion);
                }
                Attempt::Fatal(error) => return Err(error),
                Attempt::StructuredRejected { reason } => {
                    if !structured {
                        return Err(self.unavailable(reason));
                    }
                    tracing::info!(
                        provider = self.api.name(),
                        base_url = %self.base_url,
                        "the endpoint refused structured JSON output; asking without it from now on"
                    );
                    structured = false;
                    self.structured_output.store(false, Ordering::Relaxed);
                    tries -= 1; // a changed request, not a retry of a failure
                }
                Attempt::Transient { reason, retry_after } => {
                    if tries >= max_tries {
                        return Err(self.unavailable(format!("{reason}; gave up after {tries} tries")));
                    }
                    let backoff = retry::backoff(tries + 1, self.options.backoff_start, self.options.backoff_cap);
                    let wait = retry_after.map_or(backoff, |asked| asked.max(backoff));
                    if Instant::now() + wait >= deadline {
                        return Err(self.unavailable(format!(
                            "{reason}; waiting {:.1} s before try {} would pass the total timeout of {:.1} s",
                            wait.as_secs_f64(),
                            tries + 1,
                            self.options.total_timeout.as_secs_f64()
                        )));
                    }
                    tracing::warn!(
                        provider = self.api.name(),
                        try_number = tries,
                        wait_ms = wait.as_millis() as u64,
                        %reason,
                        "llm request failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One HTTP exchange, classified.
    async fn attempt(&self, prompt: &Prompt, structured: bool) -> Attempt {
        let body = match self.api {
            Api::Gemini => gemini::request_body(prompt, structured),
            _ => openai::request_body(&self.model, prompt, structured),
        };
        let sent = self.http.post(&self.endpoint).headers(self.headers.clone()).json(&body).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let cause = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                };
                return Attempt::Transient {
                    reason: format!("{cause} at {}: {}", self.base_url, e.without_url()),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => {
                return Attempt::Transient {
                    reason: format!("reading the answer (HTTP {status}) failed: {}", e.without_url()),
                    retry_after: None,
                };
            }
        };
        if status.is_success() {
            let parsed = match self.api {
                Api::Gemini => gemini::parse_response(&text, &self.model),
                _ => openai::parse_response(&text, self.api.name(), &self.model),
            };
            return match parsed {
                Ok(completion) => Attempt::Done(completion),
                Err(e) if e.kind() == ErrorKind::LlmUnavailable => {
                    Attempt::Transient { reason: self.scrub(e.message()), retry_after }
                }
                Err(e) => Attempt::Fatal(e),
            };
        }
        let detail = self.scrub(&error_detail(&text));
        let reason = format!("HTTP {status}: {detail}");
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error()
        {
            return Attempt::Transient { reason, retry_after };
        }
        if status == StatusCode::BAD_REQUEST && structured {
            let rejected = match self.api {
                Api::Gemini => gemini::rejects_structured_output(&text),
                _ => openai::rejects_structured_output(&text),
            };
            if rejected {
                return Attempt::StructuredRejected { reason };
            }
        }
        let hint = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => " (check the API key)",
            StatusCode::NOT_FOUND => " (check LLM_MODEL and LLM_BASE_URL)",
            _ => "",
        };
        Attempt::Fatal(self.unavailable(format!("{reason}{hint}")))
    }

    fn unavailable(&self, reason: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::LlmUnavailable,
            format!("{} (model {}) unavailable: {reason}", self.api.name(), self.model),
        )
    }

    /// `text` with the API key replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) => text.replace(key.as_str(), "***"),
            None => text.to_owned(),
        }
    }
}

/// The useful part of an error body: `error.message` of a JSON body (OpenAI, OpenRouter
/// and Gemini all use it), else the start of the text.
fn error_detail(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let error = v.get("error")?;
        error.get("message").and_then(Value::as_str).or_else(|| error.as_str()).map(str::to_owned)
    });
    match from_json {
        Some(message) => preview(&message),
        None if body.trim().is_empty() => "empty body".to_owned(),
        None => preview(body.trim()),
    }
}

/// The first [`LOG_PREVIEW_CHARS`] characters of `text`, with `…` when cut.
fn preview(text: &str) -> String {
    match text.char_indices().nth(LOG_PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
