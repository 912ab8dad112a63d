//! `mcp_config.yaml` text → [`Config`]: YAML syntax, `${VAR}` expansion, field types and
//! semantic checks, every error naming the file, the field path and the line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use yaml_serde::Value;

use super::expand::{ExpandError, expand};
use super::locate::key_line;
use super::{Config, OrchestrationConfig, ServerConfig, TransportKind};
use crate::error::{Error, Result};

/// Keys of one `mcp_servers` entry.
const SERVER_KEYS: &[&str] = &[
    "name",
    "url",
    "transport",
    "command",
    "env",
    "cwd",
    "priority",
    "domains",
    "capabilities",
    "timeout",
    "critical",
    "headers",
];

/// Parsing context: the source text (for line numbers), its name, the environment.
pub(crate) struct Parser<'a> {
    text: &'a str,
    source: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str, source: &'a str, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Parser { text, source, env }
    }

    /// Parses the whole document. `enable_multi_mcp` etc. are left at their defaults;
    /// the caller applies the environment afterwards.
    pub(crate) fn parse(&self) -> Result<Config> {
        let document: Value = yaml_serde::from_str(self.text).map_err(|e| {
            let line = e.location().map(|l| format!(" line {}", l.line())).unwrap_or_default();
            Error::config(format!("{}{line}: invalid YAML: {e}", self.source))
        })?;
        let mut document = document;
        self.expand_value(&mut document, &mut Vec::new())?;
        let top = match document {
            Value::Mapping(m) => m,
            Value::Null => {
                return Err(Error::config(format!("{}: the configuration is empty", self.source)));
            }
            _ => return Err(self.error(&[], "the document must be a mapping with `mcp_servers`")),
        };
        let mut config = Config::default();
        for (key, value) in &top {
            let key = self.key_string(key, &[])?;
            match key.as_str() {
                "mcp_servers" => config.servers = self.servers(value)?,
                "orchestration" => config.orchestration = self.orchestration(value)?,
                other => self.warn_unknown(&[other]),
            }
        }
        if !top.contains_key("mcp_servers") {
            return Err(self.error(&["mcp_servers"], "required section is missing"));
        }
        Ok(config)
    }

    fn servers(&self, value: &Value) -> Result<Vec<ServerConfig>> {
        let map = match value {
            Value::Mapping(m) => m,
            Value::Null => return Ok(Vec::new()),
            _ => {
                return Err(self.error(&["mcp_servers"], "must be a mapping of server_id → server settings"));
            }
        };
        let mut servers = Vec::with_capacity(map.len());
        for (key, entry) in map {
            let id = self.key_string(key, &["mcp_servers"])?;
            servers.push(self.server(&id, entry)?);
        }
        servers.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.server_id.cmp(&b.server_id)));
        Ok(servers)
    }

    fn server(&self, id: &str, value: &Value) -> Result<ServerConfig> {
        let base = ["mcp_servers", id];
        let Value::Mapping(map) = value else {
            return Err(self.error(&base, "must be a mapping of server settings"));
        };
        for key in map.keys() {
            let key = self.key_string(key, &base)?;
            if !SERVER_KEYS.contains(&key.as_str()) {
                self.warn_unknown(&["mcp_servers", id, &key]);
            }
        }
        let field = |name: &'static str| map.get(name).filter(|v| !v.is_null());
        let path = |name: &'static str| [base[0], base[1], name];

        let name = match field("name") {
            Some(v) => self.string(v, &path("name"))?,
            None => id.to_owned(),
        };
        let url = field("url").map(|v| self.string(v, &path("url"))).transpose()?;
        if let Some(url) = &url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(self.error(&path("url"), &format!("must be an http:// or https:// URL, got {url:?}")));
        }
        let command = match field("command") {
            None => Vec::new(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(v) => self.string_list(v, &path("command"))?,
        };
        let transport = match field("transport") {
            Some(v) => {
                let text = self.string(v, &path("transport"))?;
                match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                    "streamable_http" | "http" => TransportKind::StreamableHttp,
                    "sse" => TransportKind::Sse,
                    "stdio" => TransportKind::Stdio,
                    _ => {
                        return Err(self.error(
                            &path("transport"),
                            &format!("unknown transport {text:?}; expected streamable_http, sse or stdio"),
                        ));
                    }
                }
            }
            None if !command.is_empty() => TransportKind::Stdio,
            None if url.as_deref().is_some_and(|u| u.trim_end_matches('/').ends_with("/sse")) => TransportKind::Sse,
            None => TransportKind::StreamableHttp,
        };
        match transport {
            TransportKind::StreamableHttp | TransportKind::Sse if url.is_none() => {
                let kind = if transport == TransportKind::Sse { "sse" } else { "streamable_http" };
                return Err(self.error(&path("url"), &format!("required for transport {kind}")));
            }
            TransportKind::Stdio if command.is_empty() => {
                return Err(self.error(&path("command"), "required (a non-empty list) for transport stdio"));
            }
            _ => {}
        }
        let priority = match field("priority") {
            Some(v) => {
                let p = self.integer(v, &path("priority"))?;
                if !(1..=999).contains(&p) {
                    return Err(self.error(&path("priority"), &format!("must be between 1 and 999, got {p}")));
                }
                p as u32
            }
            None => super::default_priority(),
        };
        let timeout = match field("timeout") {
            Some(v) => {
                let t = self.float(v, &path("timeout"))?;
                if !(t > 0.0 && t <= super::MAX_TIMEOUT_SECONDS) {
                    return Err(self.error(
                        &path("timeout"),
                        &format!("must be a number of seconds > 0 and <= {}, got {t}", super::MAX_TIMEOUT_SECONDS),
                    ));
                }
                t
            }
            None => super::default_timeout(),
        };
        Ok(ServerConfig {
            server_id: id.to_owned(),
            name,
            url,
            transport,
            command,
            env: field("env").map(|v| self.string_map(v, &path("env"))).transpose()?.unwrap_or_default(),
            cwd: field("cwd").map(|v| self.string(v, &path("cwd")).map(PathBuf::from)).transpose()?,
            priority,
            domains: field("domains").map(|v| self.string_list(v, &path("domains"))).transpose()?.unwrap_or_default(),
            capabilities: field("capabilities")
                .map(|v| self.string_list(v, &path("capabilities")))
                .transpose()?
                .unwrap_or_default(),
            timeout,
            critical: field("critical").map(|v| self.boolean(v, &path("critical"))).transpose()?.unwrap_or(false),
            headers: field("headers").map(|v| self.string_map(v, &path("headers"))).transpose()?.unwrap_or_default(),
        })
    }

    fn orchestration(&self, value: &Value) -> Result<OrchestrationConfig> {
        let map = match value {
            Value::Mapping(m) => m,
            Value::Null => return Ok(OrchestrationConfig::default()),
            _ => return Err(self.error(&["orchestration"], "must be a mapping")),
        };
        let mut out = OrchestrationConfig::default();
        for (key, value) in map {
            let key = self.key_string(key, &["orchestration"])?;
            if value.is_null() {
                continue;
            }
            let path = ["orchestration", key.as_str()];
            match key.as_str() {
                "resource_cache_ttl" => out.resource_cache_ttl = self.seconds(value, &path)?,
                "fail_fast" => out.fail_fast = self.boolean(value, &path)?,
                "enable_logging" => out.enable_logging = self.boolean(value, &path)?,
                "log_level" => {
                    let level = self.string(value, &path)?;
                    if !["TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "OFF"]
                        .contains(&level.to_ascii_uppercase().as_str())
                    {
                        return Err(self.error(
                            &path,
                            &format!("unknown log level {level:?}; expected TRACE, DEBUG, INFO, WARN or ERROR"),
                        ));
                    }
                    out.log_level = level;
                }
                "max_retries" => {
                    // Each attempt may cost an LLM call and a database query.
                    let n = self.unsigned(value, &path)?;
                    out.max_retries =
                        u32::try_from(n).ok().filter(|n| *n <= super::MAX_RECOVERY_ATTEMPTS).ok_or_else(|| {
                            self.error(&path, &format!("must be at most {}, got {n}", super::MAX_RECOVERY_ATTEMPTS))
                        })?;
                }
                "default_limit" => {
                    let n = self.unsigned(value, &path)?;
                    if n == 0 {
                        return Err(self.error(&path, "must be at least 1"));
                    }
                    out.default_limit = n;
                }
                "circuit_failure_threshold" => {
                    let n = self.unsigned(value, &path)?;
                    out.circuit_failure_threshold = u32::try_from(n)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| self.error(&path, &format!("must be between 1 and {}, got {n}", u32::MAX)))?;
                }
                "circuit_open_seconds" => out.circuit_open_seconds = self.seconds(value, &path)?,
                "handshake_timeout" => {
                    let t = self.float(value, &path)?;
                    if !(t > 0.0 && t <= super::MAX_TIMEOUT_SECONDS) {
                        return Err(self.error(
                            &path,
                            &format!("must be a number of seconds > 0 and <= {}, got {t}", super::MAX_TIMEOUT_SECONDS),
                        ));
                    }
                    out.handshake_timeout = t;
                }
                "health_check_interval" => out.health_check_interval = self.seconds(value, &path)?,
                other => self.warn_unknown(&["orchestration", other]),
            }
        }
        Ok(out)
    }

    // ---- expansion ------------------------------------------------------------------

    /// Expands `${VAR}` in every string of `value`, tracking the key path for errors.
    fn expand_value(&self, value: &mut Value, path: &mut Vec<String>) -> Result<()> {
        match value {
            Value::String(s) => {
                let expanded = expand(s, self.env).map_err(|e| {
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    match e {
                        ExpandError::Unset(var) => self.error(
                            &path,
                            &format!("environment variable {var} is not set (use ${{{var}:-default}} for a default)"),
                        ),
                        ExpandError::Malformed(msg) => self.error(&path, &msg),
                    }
                })?;
                *s = expanded;
            }
            Value::Sequence(items) => {
                for item in items {
                    self.expand_value(item, path)?;
                }
            }
            Value::Mapping(map) => {
                for (key, item) in map.iter_mut() {
                    path.push(scalar_key(key).unwrap_or_default());
                    let result = self.expand_value(item, path);
                    path.pop();
                    result?;
                }
            }
            Value::Tagged(tagged) => self.expand_value(&mut tagged.value, path)?,
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        Ok(())
    }

    // ---- typed accessors ------------------------------------------------------------
    // Strings holding a number/boolean are accepted, so `priority: ${PRIO:-10}` works.

    fn string(&self, value: &Value, path: &[&str]) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.type_error(path, "a string", other)),
        }
    }

    fn integer(&self, value: &Value, path: &[&str]) -> Result<i64> {
        match value {
            Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().unwrap_or_default()),
            other => Err(self.type_error(path, "an integer", other)),
        }
    }

    fn unsigned(&self, value: &Value, path: &[&str]) -> Result<u64> {
        match value {
            Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or_default()),
            Value::String(s) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().unwrap_or_default()),
            other => Err(self.type_error(path, "a non-negative integer", other)),
        }
    }

    /// A whole number of seconds, at most [`super::MAX_SECONDS_SETTING`] (larger values
    /// overflow `Instant` arithmetic or the cache builder).
    fn seconds(&self, value: &Value, path: &[&str]) -> Result<u64> {
        let n = self.unsigned(value, path)?;
        if n > super::MAX_SECONDS_SETTING {
            return Err(self.error(path, &format!("must be at most {} seconds, got {n}", super::MAX_SECONDS_SETTING)));
        }
        Ok(n)
    }

    fn float(&self, value: &Value, path: &[&str]) -> Result<f64> {
        match value {
            Value::Number(n) if n.as_f64().is_some() => Ok(n.as_f64().unwrap_or_default()),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(s.trim().parse().unwrap_or_default()),
            other => Err(self.type_error(path, "a number", other)),
        }
    }

    fn boolean(&self, value: &Value, path: &[&str]) -> Result<bool> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => super::env::parse_bool(s).ok_or_else(|| self.type_error(path, "a boolean", value)),
            other => Err(self.type_error(path, "a boolean", other)),
        }
    }

    fn string_list(&self, value: &Value, path: &[&str]) -> Result<Vec<String>> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => self.string(item, path),
                    other => Err(self.type_error(path, "a list of strings", other)),
                })
                .collect(),
            other => Err(self.type_error(path, "a list of strings", other)),
        }
    }

    fn string_map(&self, value: &Value, path: &[&str]) -> Result<BTreeMap<String, String>> {
        let Value::Mapping(map) = value else {
            return Err(self.type_error(path, "a mapping of strings", value));
        };
        let mut out = BTreeMap::new();
        for (key, item) in map {
            let key = self.key_string(key, path)?;
            let mut item_path = path.to_vec();
            item_path.push(&key);
            out.insert(key.clone(), self.string(item, &item_path)?);
        }
        Ok(out)
    }

    fn key_string(&self, key: &Value, parent: &[&str]) -> Result<String> {
        scalar_key(key).ok_or_else(|| self.error(parent, "mapping keys must be strings"))
    }

    // ---- errors ---------------------------------------------------------------------

    fn type_error(&self, path: &[&str], expected: &str, got: &Value) -> Error {
        self.error(path, &format!("must be {expected}, got {}", describe(got)))
    }

    /// `CONFIG_ERROR`: `"{source} line {n}: {path}: {message}"`.
    pub(crate) fn error(&self, path: &[&str], message: &str) -> Error {
        let line = if path.is_empty() { None } else { key_line(self.text, path).map(|(line, _)| line) };
        let location = match line {
            Some(line) => format!("{} line {line}", self.source),
            None => self.source.to_owned(),
        };
        let field = if path.is_empty() { String::new() } else { format!("{}: ", path.join(".")) };
        Error::config(format!("{location}: {field}{message}"))
    }

    fn warn_unknown(&self, path: &[&str]) {
        let line = key_line(self.text, path).map(|(line, _)| line).unwrap_or(0);
        tracing::warn!(source = self.source, line, field = %path.join("."), "unknown configuration key ignored");
    }
}

fn scalar_key(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("tagged value {}", t.tag),
    }
}
