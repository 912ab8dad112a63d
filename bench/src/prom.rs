//! Reading MCP request counts from the server's Prometheus endpoint.

use std::collections::BTreeMap;

/// `talk2tables_mcp_request_duration_seconds_count` by `(server, method)`.
pub type McpCounts = BTreeMap<(String, String), f64>;

const COUNT_METRIC: &str = "talk2tables_mcp_request_duration_seconds_count{";

/// The MCP request counts in a Prometheus text exposition; lines of other metrics and
/// malformed lines are ignored.
pub fn mcp_counts(text: &str) -> McpCounts {
    let mut out = McpCounts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(COUNT_METRIC) else { continue };
        let Some((labels, value)) = rest.split_once('}') else { continue };
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        let label = |name: &str| {
            labels.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if let (Some(server), Some(method)) = (label("server"), label("method")) {
            out.insert((server, method), value);
        }
    }
    out
}

/// `after - before` per key, divided by `questions`: requests per question.
pub fn per_question(before: &McpCounts, after: &McpCounts, questions: usize) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|((server, method), v)| {
            let delta = v - before.get(&(server.clone(), method.clone())).copied().unwrap_or(0.0);
            (format!("{server} {method}"), delta / questions.max(1) as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_deltas() {
        let before = mcp_counts(
            "# TYPE x histogram\ntalk2tables_mcp_request_duration_seconds_count{method=\"tools/call\",server=\"db\"} 4\n",
        );
        let after = mcp_counts(
            "talk2tables_mcp_request_duration_seconds_count{method=\"tools/call\",server=\"db\"} 14\n\
             talk2tables_mcp_request_duration_seconds_count{method=\"resources\",server=\"meta\"} 5\n\
             talk2tables_mcp_request_duration_seconds_sum{method=\"resources\",server=\"meta\"} 0.5\n",
        );
        assert_eq!(after.len(), 2);
        let per = per_question(&before, &after, 10);
        assert_eq!(per["db tools/call"], 1.0);
        assert_eq!(per["meta resources"], 0.5);
    }
}
