//! SQL generation from a question: the offline engine ([`offline`]) reads the question
//! into an explicit [`intent::Intent`] (measure, group-by, filters, date range,
//! order/limit) and [`build`] renders it as SQL for the database's dialect. An LLM
//! generator using the same [`crate::context::Context`] can live next to it.

pub(crate) mod build;
pub(crate) mod followup;
pub(crate) mod intent;
pub(crate) mod llm;
pub(crate) mod mentions;
pub(crate) mod offline;
pub(crate) mod prompt;

#[cfg(test)]
mod followup_tests;
#[cfg(test)]
pub(crate) mod tests;

use crate::context::Context;
use crate::conversation::Conversation;
use crate::resolve::Resolution;

/// SQL produced for a question, with a sentence or two on how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Generated {
    /// One SELECT statement in the database's dialect (no LIMIT unless the question
    /// asked for N rows; validation adds the default limit).
    pub sql: String,
    /// How the question was read.
    pub explanation: String,
}

/// Generates SQL without any LLM, from the schema graph and metadata in `ctx` and the
/// entities in `resolution`.
///
/// Errors: `UNANSWERABLE` naming what could not be found (no table or measure matched,
/// or the thing counted/aggregated is not in the schema).
pub(crate) fn generate_offline(question: &str, ctx: &Context, resolution: &Resolution) -> crate::Result<Generated> {
    offline::generate(question, ctx, resolution)
}

/// Like [`generate_offline`], for a question asked in `conversation`: when the question
/// refines the previous one ("now only for last month", "and by category?"), the
/// previous questions are re-read against `ctx` (no database calls) and the question is
/// applied on top; a question that stands on its own starts fresh. See
/// [`followup`] for the rules.
///
/// Errors: `UNANSWERABLE` as [`generate_offline`] (only when neither the follow-up nor
/// the fresh reading can be rendered).
pub(crate) fn generate_offline_in(
    question: &str,
    ctx: &Context,
    resolution: &Resolution,
    conversation: &Conversation,
) -> crate::Result<followup::InConversation> {
    if conversation.previous.is_empty() {
        let generated = generate_offline(question, ctx, resolution)?;
        return Ok(followup::InConversation { generated, carried: Vec::new(), follow_up_of: None });
    }
    followup::generate(question, ctx, resolution, conversation)
}
