//! Conversations: the questions asked before the current one, so a follow-up ("now only
//! for last month", "and by category?") can refine the previous question.
//!
//! A conversation comes from `ChatRequest.context["previous_questions"]` (a JSON array
//! of strings, oldest first; the OpenAI-compatible endpoint passes the earlier user
//! messages this way) or, when that is absent, from the engine's memory of the
//! `session_id`: the questions of that session that were answered (raw SQL excluded).
//! Only question strings are kept; the previous reading is rebuilt from them against the
//! current context.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::response::{ChatRequest, MAX_QUERY_CHARS};

/// Key of the explicit conversation in `ChatRequest.context`.
pub(crate) const PREVIOUS_QUESTIONS_KEY: &str = "previous_questions";

/// How long a session is remembered after its last answered question.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(30 * 60);

/// Most sessions remembered at once (least recently used ones are evicted).
pub(crate) const SESSION_CAPACITY: u64 = 10_000;

/// Most previous questions kept per session or read from an explicit list (the latest).
pub(crate) const MAX_HISTORY: usize = 20;

/// Longest accepted `session_id`, in characters.
pub(crate) const MAX_SESSION_ID_CHARS: usize = 256;

/// The questions before the current one, oldest first, as passed to SQL generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Conversation {
    /// Previous questions, oldest first (at most [`MAX_HISTORY`]; may contain questions
    /// that cannot be read, which generation skips).
    pub previous: Vec<String>,
}

/// Per-session memory of answered questions: `session_id` → questions, oldest first.
/// A moka cache with a [`SESSION_TTL`] time to live (renewed by each answered question)
/// and a [`SESSION_CAPACITY`] bound.
pub(crate) struct Sessions {
    cache: moka::future::Cache<String, Arc<Vec<String>>>,
}

impl Sessions {
    /// An empty store.
    pub(crate) fn new() -> Self {
        Sessions {
            cache: moka::future::Cache::builder().max_capacity(SESSION_CAPACITY).time_to_live(SESSION_TTL).build(),
        }
    }

    /// The answered questions of `session_id`, oldest first (empty for an unknown or
    /// expired session).
    pub(crate) async fn history(&self, session_id: &str) -> Vec<String> {
        self.cache.get(session_id).await.map(|h| h.as_ref().clone()).unwrap_or_default()
    }

    /// Appends an answered `question` to `session_id`'s history (keeping the latest
    /// [`MAX_HISTORY`]).
    pub(crate) async fn record(&self, session_id: &str, question: &str) {
        let question = question.trim().to_string();
        self.cache
            .entry_by_ref(session_id)
            .and_upsert_with(|existing| {
                let mut list = existing.map(|e| e.into_value().as_ref().clone()).unwrap_or_default();
                list.push(question);
                if list.len() > MAX_HISTORY {
                    list.drain(..list.len() - MAX_HISTORY);
                }
                std::future::ready(Arc::new(list))
            })
            .await;
    }
}

/// The explicit conversation of `request`: `context["previous_questions"]`, when present.
///
/// Errors: `INVALID_REQUEST` when it is not an array of strings, or one of them is
/// longer than [`MAX_QUERY_CHARS`] characters.
pub(crate) fn explicit_previous(request: &ChatRequest) -> Result<Option<Vec<String>>> {
    let Some(value) = request.context.as_ref().and_then(|c| c.get(PREVIOUS_QUESTIONS_KEY)) else {
        return Ok(None);
    };
    let invalid = || Error::invalid_request(format!("context.{PREVIOUS_QUESTIONS_KEY} must be an array of strings"));
    let items = value.as_array().ok_or_else(invalid)?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let text = item.as_str().ok_or_else(invalid)?;
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::invalid_request(format!(
                "context.{PREVIOUS_QUESTIONS_KEY} holds a question longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        if !text.trim().is_empty() {
            out.push(text.trim().to_string());
        }
    }
    Ok(Some(out))
}

/// Checks the conversation fields of `request`. Errors: `INVALID_REQUEST` for a bad
/// `context.previous_questions` (see [`explicit_previous`]) or a `session_id` longer
/// than [`MAX_SESSION_ID_CHARS`] characters.
pub(crate) fn validate(request: &ChatRequest) -> Result<()> {
    explicit_previous(request)?;
    if let Some(id) = &request.session_id
        && id.chars().count() > MAX_SESSION_ID_CHARS
    {
        return Err(Error::invalid_request(format!("session_id is longer than {MAX_SESSION_ID_CHARS} characters")));
    }
    Ok(())
}

/// The session id of `request`, when it has a non-blank one.
pub(crate) fn session_id(request: &ChatRequest) -> Option<&str> {
    request.session_id.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The conversation of `request`: the explicit list when present (it wins), else the
/// session's history, else none. An invalid explicit list (already refused by
/// [`validate`]) counts as none.
pub(crate) async fn for_request(sessions: &Sessions, request: &ChatRequest) -> Conversation {
    let mut previous = match explicit_previous(request) {
        Ok(Some(list)) => list,
        Ok(None) | Err(_) => match session_id(request) {
            Some(id) => sessions.history(id).await,
            None => Vec::new(),
        },
    };
    if previous.len() > MAX_HISTORY {
        previous.drain(..previous.len() - MAX_HISTORY);
    }
    Conversation { previous }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn with_context(value: serde_json::Value) -> ChatRequest {
        let mut r = ChatRequest::new("now only for last month");
        r.context = Some(serde_json::Map::from_iter([(PREVIOUS_QUESTIONS_KEY.to_string(), value)]));
        r
    }

    #[tokio::test]
    async fn explicit_list_wins_over_the_session() {
        let sessions = Sessions::new();
        sessions.record("s1", "How many customers are there?").await;
        let mut r = with_context(serde_json::json!(["How many orders were cancelled?", " "]));
        r.session_id = Some("s1".into());
        assert_eq!(for_request(&sessions, &r).await.previous, ["How many orders were cancelled?"]);
        r.context = None;
        assert_eq!(for_request(&sessions, &r).await.previous, ["How many customers are there?"]);
        r.session_id = Some("other".into());
        assert!(for_request(&sessions, &r).await.previous.is_empty());
    }

    #[tokio::test]
    async fn history_is_bounded() {
        let sessions = Sessions::new();
        for i in 0..MAX_HISTORY + 5 {
            sessions.record("s", &format!("q{i}")).await;
        }
        let h = sessions.history("s").await;
        assert_eq!(h.len(), MAX_HISTORY);
        assert_eq!(h[0], "q5");
        assert_eq!(h.last().map(String::as_str), Some(format!("q{}", MAX_HISTORY + 4).as_str()));
    }

    #[test]
    fn bad_conversation_fields_are_invalid_requests() {
        for bad in [serde_json::json!("x"), serde_json::json!([1, 2]), serde_json::json!({"a": "b"})] {
            assert_eq!(validate(&with_context(bad)).unwrap_err().kind(), ErrorKind::InvalidRequest);
        }
        assert_eq!(
            validate(&with_context(serde_json::json!(["x".repeat(MAX_QUERY_CHARS + 1)]))).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        let mut r = ChatRequest::new("q");
        r.session_id = Some("s".repeat(MAX_SESSION_ID_CHARS + 1));
        assert_eq!(validate(&r).unwrap_err().kind(), ErrorKind::InvalidRequest);
        r.session_id = Some("abc".into());
        assert!(validate(&r).is_ok());
    }
}
