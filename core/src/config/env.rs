//! Environment variables of DESIGN.md §2 applied to a [`Config`].

use super::{Config, LlmConfig, LlmProvider, ServerConfig, TransportKind};
use crate::error::{Error, Result};

/// `true/false/1/0/yes/no/on/off` (any case, surrounding spaces ignored).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A variable's value, with empty strings treated as unset.
fn get(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn bool_var(env: &dyn Fn(&str) -> Option<String>, name: &str, default: bool) -> Result<bool> {
    match get(env, name) {
        None => Ok(default),
        Some(v) => parse_bool(&v).ok_or_else(|| {
            Error::config(format!("environment variable {name}: expected true/false/1/0/yes/no/on/off, got {v:?}"))
        }),
    }
}

/// Applies `ENABLE_MULTI_MCP`, `REQUIRE_MULTI_MCP`, `MCP_SERVER_URL` and the LLM
/// variables to `config`.
pub(crate) fn apply(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    config.enable_multi_mcp = bool_var(env, "ENABLE_MULTI_MCP", true)?;
    config.require_multi_mcp = bool_var(env, "REQUIRE_MULTI_MCP", false)?;
    if let Some(url) = get(env, "MCP_SERVER_URL") {
        check_url(&url, "MCP_SERVER_URL")?;
        config.mcp_server_url = Some(url);
    }
    config.llm = llm(env)?;
    Ok(())
}

fn check_url(url: &str, name: &str) -> Result<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(Error::config(format!("environment variable {name}: must be an http:// or https:// URL, got {url:?}")))
    }
}

/// The single Database MCP of the legacy setup, at `url` (`MCP_SERVER_URL`).
pub(crate) fn single_server(url: &str) -> Result<ServerConfig> {
    check_url(url, "MCP_SERVER_URL")?;
    let transport =
        if url.trim_end_matches('/').ends_with("/sse") { TransportKind::Sse } else { TransportKind::StreamableHttp };
    Ok(ServerConfig {
        server_id: "database_mcp".into(),
        name: "Database MCP".into(),
        url: Some(url.to_owned()),
        transport,
        command: Vec::new(),
        env: Default::default(),
        cwd: None,
        priority: 10,
        domains: ["sales", "orders", "customers", "database"].map(String::from).to_vec(),
        capabilities: ["execute_query", "list_resources"].map(String::from).to_vec(),
        timeout: super::default_timeout(),
        critical: true,
        headers: Default::default(),
    })
}

const KEY_VARS: [(LlmProvider, &str); 3] = [
    (LlmProvider::Openrouter, "OPENROUTER_API_KEY"),
    (LlmProvider::Gemini, "GEMINI_API_KEY"),
    (LlmProvider::Openai, "OPENAI_API_KEY"),
];

fn key_var(provider: LlmProvider) -> Option<&'static str> {
    KEY_VARS.iter().find(|(p, _)| *p == provider).map(|(_, v)| *v)
}

/// `LLM_PROVIDER` (or the provider whose key is set: OpenRouter, then Gemini, then
/// OpenAI; none → offline), `LLM_MODEL`, `LLM_BASE_URL`, the provider's `*_API_KEY`,
/// `LLM_TIMEOUT_SECONDS` (positive number), `LLM_MAX_TRIES` (1..10).
fn llm(env: &dyn Fn(&str) -> Option<String>) -> Result<LlmConfig> {
    let model = get(env, "LLM_MODEL");
    let base_url = get(env, "LLM_BASE_URL");
    if let Some(url) = &base_url {
        check_url(url, "LLM_BASE_URL")?;
    }
    let provider = match get(env, "LLM_PROVIDER") {
        Some(name) => match name.to_ascii_lowercase().as_str() {
            "offline" | "none" => LlmProvider::Offline,
            "openrouter" => LlmProvider::Openrouter,
            "gemini" | "google" => LlmProvider::Gemini,
            "openai" => LlmProvider::Openai,
            _ => {
                return Err(Error::config(format!(
                    "environment variable LLM_PROVIDER: unknown provider {name:?}; expected offline, openrouter, gemini or openai"
                )));
            }
        },
        None => {
            KEY_VARS.iter().find(|(_, var)| get(env, var).is_some()).map(|(p, _)| *p).unwrap_or(LlmProvider::Offline)
        }
    };
    let api_key = match key_var(provider) {
        None => None,
        Some(var) => match get(env, var) {
            Some(key) => Some(key),
            // A local OpenAI-compatible server (LLM_BASE_URL) may need no key.
            None if provider == LlmProvider::Openai && base_url.is_some() => None,
            None => {
                return Err(Error::config(format!(
                    "LLM_PROVIDER is {provider:?} but {var} is not set (set it, or LLM_PROVIDER=offline)"
                )));
            }
        },
    };
    let timeout_seconds = match get(env, "LLM_TIMEOUT_SECONDS") {
        None => None,
        Some(v) => {
            Some(v.parse::<f64>().ok().filter(|t| *t > 0.0 && *t <= super::MAX_TIMEOUT_SECONDS).ok_or_else(|| {
                Error::config(format!(
                    "environment variable LLM_TIMEOUT_SECONDS: expected a positive number <= {}, got {v:?}",
                    super::MAX_TIMEOUT_SECONDS
                ))
            })?)
        }
    };
    let max_tries = match get(env, "LLM_MAX_TRIES") {
        None => None,
        Some(v) => Some(v.parse::<u32>().ok().filter(|n| (1..=10).contains(n)).ok_or_else(|| {
            Error::config(format!("environment variable LLM_MAX_TRIES: expected a whole number 1..10, got {v:?}"))
        })?),
    };
    Ok(LlmConfig { provider, model, base_url, api_key, timeout_seconds, max_tries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for t in ["true", "TRUE", "1", "yes", "on", " On "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "off", "OFF"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "2", "enabled", "y"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }
}
