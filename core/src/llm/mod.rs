//! LLM providers for SQL generation: one [`LlmClient`] per configured provider
//! (`LLM_PROVIDER`, DESIGN.md §2), turning a [`Prompt`] into a [`Completion`], and
//! [`extract_sql`], which finds the SQL in the provider's answer.
//!
//! - [`client`]: the client, its [`LlmOptions`] (timeouts, retries) and the retry loop.
//! - [`openai`]: OpenAI-compatible `POST {base}/chat/completions` (OpenAI, OpenRouter,
//!   Ollama, vLLM, llama.cpp server, LM Studio).
//! - [`gemini`]: Google Gemini `POST {base}/v1beta/models/{model}:generateContent`.
//! - [`retry`]: backoff with jitter and `Retry-After` parsing.
//! - [`extract`]: SQL out of JSON, fenced or chatty answers.
//!
//! Errors: `LLM_UNAVAILABLE` (unreachable, 5xx, 429 after retries, timeout, rejected
//! key), `LLM_BAD_OUTPUT` (answer without usable content or SQL), `CONFIG_ERROR`
//! (provider `offline`, missing key, bad base URL or model name). API keys are never
//! logged nor put in error messages.

// Until the pipeline (written in parallel) calls this module, most of it is unused
// outside tests.
#![cfg_attr(not(test), allow(dead_code))]

pub(crate) mod client;
pub(crate) mod extract;
pub(crate) mod gemini;
pub(crate) mod openai;
pub(crate) mod retry;
#[cfg(test)]
pub(crate) mod scripted;

#[allow(unused_imports)]
pub(crate) use client::{Completion, LlmClient, LlmOptions, Prompt, TokenUsage};
#[allow(unused_imports)]
pub(crate) use extract::extract_sql;

#[cfg(test)]
mod tests;
