//! `${VAR}` / `${VAR:-default}` expansion in configuration strings.

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `${VAR}` without a default and `VAR` is unset.
    Unset(String),
    /// `${` without its closing `}`, or an empty / malformed variable name.
    Malformed(String),
}

/// Expands every `${VAR}` and `${VAR:-default}` in `input` using `env`.
///
/// - `${VAR}`: the value of `VAR`; unset → [`ExpandError::Unset`].
/// - `${VAR:-default}`: the value of `VAR` when set and non-empty, else `default`
///   (taken literally, up to the first `}`).
/// - `$${...}` is an escape: it yields `${...}` literally.
/// - A `$` not followed by `{` is kept as is.
///
/// Variable names are `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn expand(input: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            // `$${` → literal `${`
            out.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(ExpandError::Malformed(format!("unclosed `${{` in {input:?}")));
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if !is_var_name(name) {
            return Err(ExpandError::Malformed(format!("invalid variable name {name:?} in {input:?}")));
        }
        let value = env(name).filter(|v| default.is_none() || !v.is_empty());
        match (value, default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(ExpandError::Unset(name.to_owned())),
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn plain_and_defaults() {
        assert_eq!(expand("http://${HOST}:8000/mcp", &env).unwrap(), "http://db.local:8000/mcp");
        assert_eq!(expand("${PORT:-8000}", &env).unwrap(), "8000");
        assert_eq!(expand("${HOST:-x}", &env).unwrap(), "db.local");
        assert_eq!(expand("${EMPTY:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        assert_eq!(expand("${A:-}", &env).unwrap(), "");
        assert_eq!(expand("a ${HOST} b ${HOST}", &env).unwrap(), "a db.local b db.local");
        assert_eq!(expand("no vars, $5 and $HOST", &env).unwrap(), "no vars, $5 and $HOST");
        assert_eq!(expand("${URL:-http://x:1/mcp}", &env).unwrap(), "http://x:1/mcp");
    }

    #[test]
    fn escape() {
        assert_eq!(expand("$${HOST}", &env).unwrap(), "${HOST}");
        assert_eq!(expand("$${MISSING} and ${HOST}", &env).unwrap(), "${MISSING} and db.local");
    }

    #[test]
    fn errors() {
        assert_eq!(expand("x ${MISSING} y", &env), Err(ExpandError::Unset("MISSING".into())));
        assert!(matches!(expand("${HOST", &env), Err(ExpandError::Malformed(_))));
        assert!(matches!(expand("${}", &env), Err(ExpandError::Malformed(_))));
        assert!(matches!(expand("${1A}", &env), Err(ExpandError::Malformed(_))));
    }
}
