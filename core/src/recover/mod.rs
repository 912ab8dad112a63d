//! Recovery of failed SQL (DESIGN.md §1 step 8): validate → execute → on error,
//! [`classify`] the error, try a cheap deterministic [`repair`], then an LLM fix, and
//! retry, at most `max_retries` times (validation failures count). Statements the guard
//! refused for what they do (writes, several statements, forbidden functions) and
//! permission errors are never retried; a parse error is treated as a syntax error to
//! repair.

pub(crate) mod classify;
pub(crate) mod repair;

use std::collections::BTreeSet;

use tracing::{info, warn};

use self::classify::{ErrorCategory, classify};
use crate::context::Context;
use crate::error::{Error, ErrorKind, Result};
use crate::generate::llm::{add_usage, ask};
use crate::generate::prompt::repair_prompt;
use crate::llm::{LlmClient, TokenUsage};
use crate::observe::Metrics;
use crate::progress::{Stage, Tracker};
use crate::resolve::Resolution;
use crate::response::AttemptedSql;

/// What the recovery loop needs besides the SQL and the executor.
pub(crate) struct Recovery<'a> {
    /// The user's question (for LLM repair prompts).
    pub question: &'a str,
    /// Schema and metadata.
    pub ctx: &'a Context,
    /// Entities resolved in the question.
    pub resolution: &'a Resolution,
    /// The LLM for repairs, when configured.
    pub llm: Option<&'a LlmClient>,
    /// Where LLM tokens are counted.
    pub metrics: &'a Metrics,
    /// The request's `enable_recovery`.
    pub enabled: bool,
    /// Most repair attempts (`orchestration.max_retries`).
    pub max_retries: u32,
    /// LIMIT added by validation when the statement has none.
    pub default_limit: u64,
    /// Where the `validating` and `recovering` stages are reported.
    pub tracker: &'a Tracker,
}

/// A statement that ran, perhaps after repairs.
#[derive(Debug)]
pub(crate) struct Recovered<T> {
    /// The validated SQL that ran.
    pub sql: String,
    /// What the executor returned.
    pub output: T,
    /// Every statement that failed before it, with its error category.
    pub attempted: Vec<AttemptedSql>,
    /// Repair attempts made (`attempted.len()`).
    pub attempts: u32,
    /// LLM tokens spent on repairs.
    pub usage: TokenUsage,
}

/// A statement that could not be run.
#[derive(Debug)]
pub(crate) struct Unrecovered {
    /// The error: the statement's own (no repair possible or allowed) or
    /// `RECOVERY_EXHAUSTED` after at least one repair.
    pub error: Error,
    /// Every statement tried, with its error category.
    pub attempted: Vec<AttemptedSql>,
}

/// Validates and executes `sql` with `execute`, repairing it on failure (see the module
/// documentation). `execute` receives validated SQL only (owned, so the future it
/// returns borrows nothing of the loop and stays `Send`).
///
/// Errors (in [`Unrecovered`]): `SQL_REJECTED` for a refused write / multi-statement /
/// forbidden function (never repaired); the first error unchanged when recovery is off,
/// the category is `PERMISSION_ERROR`, or no repair is found; `RECOVERY_EXHAUSTED` when
/// repairs were tried and the last one failed too, or `max_retries` is reached; errors
/// not about the statement (`MCP_UNAVAILABLE`, …) unchanged.
pub(crate) async fn run_with_recovery<T, F, Fut>(
    r: &Recovery<'_>,
    sql: String,
    execute: F,
) -> Result<Recovered<T>, Unrecovered>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let dialect = r.ctx.dialect();
    let mut sql = sql;
    let mut attempted: Vec<AttemptedSql> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut usage = TokenUsage::default();
    loop {
        seen.insert(normalise(&sql));
        let stage = r.tracker.begin(Stage::Validating);
        let validated = crate::sql::validate(&sql, dialect, r.default_limit);
        stage.end(&validated, |_| None);
        let (tried, failure) = match validated {
            Ok(valid) => match execute(valid.clone()).await {
                Ok(output) => {
                    let attempts = attempted.len() as u32;
                    if attempts > 0 {
                        info!(attempts, "SQL recovered");
                    }
                    return Ok(Recovered { sql: valid, output, attempted, attempts, usage });
                }
                Err(e) => (valid, e),
            },
            Err(e) => (sql.clone(), e),
        };
        let classified = classify(&failure);
        attempted.push(AttemptedSql {
            sql: tried.clone(),
            error_category: classified.as_ref().map_or(failure.kind().code(), |c| c.category.code()).to_string(),
            error: failure.message().to_string(),
        });
        let repairs = attempted.len() as u32 - 1;
        let Some(classified) = classified else {
            return Err(Unrecovered { error: failure, attempted });
        };
        if !r.enabled || classified.category == ErrorCategory::PermissionError {
            return Err(Unrecovered { error: failure, attempted });
        }
        if repairs >= r.max_retries {
            let error = if repairs == 0 { failure } else { exhausted(repairs, &failure, classified.category) };
            return Err(Unrecovered { error, attempted });
        }
        let stage = r.tracker.begin(Stage::Recovering);
        let deterministic = repair::repair(&tried, &classified, r.ctx)
            .or_else(|| if tried != sql { repair::repair(&sql, &classified, r.ctx) } else { None })
            .filter(|fix| !seen.contains(&normalise(&fix.sql)));
        let next = match deterministic {
            Some(fix) => {
                info!(category = classified.category.code(), note = %fix.note, "deterministic SQL repair");
                Some(fix.sql)
            }
            None => match r.llm {
                Some(client) => {
                    let category = (classified.category.code(), classified.category.instruction());
                    let prompt = repair_prompt(r.question, r.ctx, r.resolution, &tried, failure.message(), category);
                    match ask(client, &prompt, r.metrics).await {
                        Ok(generation) => {
                            add_usage(&mut usage, generation.usage);
                            Some(generation.sql).filter(|s| !seen.contains(&normalise(s)))
                        }
                        Err(e) => {
                            warn!(error = %e, "LLM repair failed");
                            None
                        }
                    }
                }
                None => None,
            },
        };
        match &next {
            Some(_) => stage.finish(format!("{} (attempt {})", classified.category.code(), repairs + 1)),
            None => stage.fail(classified.category.code()),
        }
        match next {
            Some(next) => sql = next,
            None if repairs == 0 => return Err(Unrecovered { error: failure, attempted }),
            None => {
                let error = exhausted(repairs, &failure, classified.category);
                return Err(Unrecovered { error, attempted });
            }
        }
    }
}

/// `RECOVERY_EXHAUSTED` after `repairs` repairs, naming the last error.
fn exhausted(repairs: u32, last: &Error, category: ErrorCategory) -> Error {
    Error::new(
        ErrorKind::RecoveryExhausted,
        format!(
            "the SQL still failed after {repairs} repair attempt{}; last error ({}): {}",
            if repairs == 1 { "" } else { "s" },
            category.code(),
            last.message()
        ),
    )
}

/// SQL compared for "already tried": whitespace collapsed, case folded, no trailing `;`.
fn normalise(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ").trim_end_matches(';').trim().to_lowercase()
}

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod tests;
