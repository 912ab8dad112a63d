//! SQL from an LLM ([`crate::llm::LlmClient`]) with the prompts of [`super::prompt`],
//! and the choice of generator: the LLM when one is configured, the offline engine
//! otherwise or when the LLM is unreachable.

use tracing::{info, warn};

use super::prompt;
use crate::context::Context;
use crate::conversation::Conversation;
use crate::error::{ErrorKind, Result};
use crate::llm::{LlmClient, Prompt, TokenUsage, extract_sql};
use crate::observe::Metrics;
use crate::resolve::Resolution;
use crate::response::ResolvedEntity;

/// SQL written by one generator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generation {
    /// The candidate statement (not yet validated).
    pub sql: String,
    /// How the question was read.
    pub explanation: String,
    /// `offline` or `llm:<provider>` (`llm:openai`, `llm:openrouter`, `llm:gemini`).
    pub generator: String,
    /// Tokens spent (zero for the offline engine).
    pub usage: TokenUsage,
    /// Entities of earlier questions a follow-up still applies (offline engine).
    pub carried: Vec<ResolvedEntity>,
}

/// Adds `b` to `a`.
pub(crate) fn add_usage(a: &mut TokenUsage, b: TokenUsage) {
    a.prompt_tokens += b.prompt_tokens;
    a.completion_tokens += b.completion_tokens;
    a.total_tokens += b.total_tokens;
}

/// Sends `prompt` and reads the SQL and explanation out of the answer; the tokens are
/// counted in `metrics` even when the answer holds no SQL.
///
/// Errors: `LLM_UNAVAILABLE`, `LLM_BAD_OUTPUT` (see [`LlmClient::complete`] and
/// [`extract_sql`]).
pub(crate) async fn ask(client: &LlmClient, prompt: &Prompt, metrics: &Metrics) -> Result<Generation> {
    let completion = client.complete(prompt).await?;
    metrics.record_llm_usage(completion.usage);
    let sql = extract_sql(&completion.text)?;
    let explanation = explanation_of(&completion.text)
        .unwrap_or_else(|| format!("SQL written by the {} model {}.", completion.provider, completion.model));
    Ok(Generation {
        sql,
        explanation,
        generator: format!("llm:{}", completion.provider),
        usage: completion.usage,
        carried: Vec::new(),
    })
}

/// The `explanation` string of a JSON answer, if any.
fn explanation_of(text: &str) -> Option<String> {
    let start = text.find('{')?;
    let value: serde_json::Value = serde_json::Deserializer::from_str(&text[start..]).into_iter().next()?.ok()?;
    value.get("explanation")?.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// SQL for `question`: from `llm` when configured, else from the offline engine. When
/// the LLM is unavailable (unreachable, rate-limited or timed out after its retries) or
/// gives no SQL, the offline engine answers if it can.
///
/// Errors: `UNANSWERABLE` (offline engine, no LLM); with an LLM, the LLM's error
/// (`LLM_UNAVAILABLE` / `LLM_BAD_OUTPUT`) when the offline engine cannot answer either.
pub(crate) async fn generate_sql(
    llm: Option<&LlmClient>,
    question: &str,
    ctx: &Context,
    resolution: &Resolution,
    conversation: &Conversation,
    metrics: &Metrics,
) -> Result<Generation> {
    let offline = || {
        super::generate_offline_in(question, ctx, resolution, conversation).map(|g| Generation {
            sql: g.generated.sql,
            explanation: g.generated.explanation,
            generator: "offline".to_string(),
            usage: TokenUsage::default(),
            carried: g.carried,
        })
    };
    let Some(client) = llm else {
        return offline();
    };
    let prompt = prompt::generation_prompt(question, ctx, resolution, &conversation.previous);
    match ask(client, &prompt, metrics).await {
        Ok(generation) => Ok(generation),
        Err(e) if matches!(e.kind(), ErrorKind::LlmUnavailable | ErrorKind::LlmBadOutput) => match offline() {
            Ok(mut generation) => {
                info!(error = %e, "LLM failed; the offline engine answered");
                generation.explanation = format!("{} (The LLM could not answer: {})", generation.explanation, e.kind());
                Ok(generation)
            }
            Err(offline_error) => {
                warn!(error = %e, offline = %offline_error, "LLM failed and the offline engine cannot answer");
                Err(e)
            }
        },
        Err(e) => Err(e),
    }
}
