//! Finding the line of a key path (`mcp_servers.database_mcp.priority`) in YAML text,
//! so that semantic errors can name a line.
//!
//! Works on block-style mappings (the documented config style). For keys inside flow
//! collections (`{a: 1}`) or not present, the line of the deepest enclosing key found
//! is returned.

/// The 1-based line of the deepest prefix of `path` found in `text`, with whether the
/// whole path was found. `None` when not even the first key is present.
pub(crate) fn key_line(text: &str, path: &[&str]) -> Option<(usize, bool)> {
    let mut found: Option<usize> = None;
    // Indentation of each matched key, outermost first.
    let mut indents: Vec<usize> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let depth = indents.len();
        if depth == path.len() {
            break;
        }
        let content = raw.trim_start();
        if content.is_empty() || content.starts_with('#') || content.starts_with("---") {
            continue;
        }
        let indent = raw.len() - content.len();
        if let Some(&parent) = indents.last()
            && indent <= parent
        {
            // Left the block of the last matched key without finding the next one.
            break;
        }
        if depth == 0 && indent != 0 {
            continue;
        }
        if key_of(content) == Some(path[depth]) {
            indents.push(indent);
            found = Some(index + 1);
        }
    }
    found.map(|line| (line, indents.len() == path.len()))
}

/// The mapping key a line starts with (`key:` / `"key":` / `'key':`), if any.
fn key_of(content: &str) -> Option<&str> {
    let (key, rest) = if let Some(quoted) = content.strip_prefix('"') {
        let end = quoted.find('"')?;
        (&quoted[..end], &quoted[end + 1..])
    } else if let Some(quoted) = content.strip_prefix('\'') {
        let end = quoted.find('\'')?;
        (&quoted[..end], &quoted[end + 1..])
    } else {
        let end = content.find(':')?;
        (content[..end].trim_end(), &content[end..])
    };
    let rest = rest.trim_start();
    let after_colon = rest.strip_prefix(':')?;
    (after_colon.is_empty() || after_colon.starts_with([' ', '\t'])).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
mcp_servers:
  database_mcp:
    name: \"Database MCP\"
    priority: 10

  product_metadata_mcp:
    name: meta
    # priority: 1
    priority: 1
    url: \"http://x:1/mcp\"
orchestration:
  priority: 5
";

    #[test]
    fn finds_nested_keys() {
        assert_eq!(key_line(TEXT, &["mcp_servers"]), Some((2, true)));
        assert_eq!(key_line(TEXT, &["mcp_servers", "database_mcp", "priority"]), Some((5, true)));
        assert_eq!(key_line(TEXT, &["mcp_servers", "product_metadata_mcp", "priority"]), Some((10, true)));
        assert_eq!(key_line(TEXT, &["mcp_servers", "product_metadata_mcp", "url"]), Some((11, true)));
        assert_eq!(key_line(TEXT, &["orchestration", "priority"]), Some((13, true)));
    }

    #[test]
    fn missing_key_gives_enclosing_line() {
        assert_eq!(key_line(TEXT, &["mcp_servers", "database_mcp", "url"]), Some((3, false)));
        assert_eq!(key_line(TEXT, &["nothing"]), None);
    }

    #[test]
    fn keys_need_a_colon_and_a_separator() {
        assert_eq!(key_of("url: http://x"), Some("url"));
        assert_eq!(key_of("\"a b\": 1"), Some("a b"));
        assert_eq!(key_of("urls:"), Some("urls"));
        assert_eq!(key_of("http://x"), None);
        assert_eq!(key_of("- item"), None);
    }
}
