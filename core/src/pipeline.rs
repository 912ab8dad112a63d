//! One question through the flow of DESIGN.md §1: gather → context → resolve →
//! generate (LLM or offline, [`generate_sql`]) → validate → execute → recover
//! ([`run_with_recovery`]) → format.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use tracing::{Instrument, debug, info_span, warn};

use crate::context::Context;
use crate::conversation;
use crate::engine::Inner;
use crate::error::{Error, Result};
use crate::generate::llm::{Generation, add_usage, generate_sql};
use crate::llm::TokenUsage;
use crate::orchestrator::{Gathered, Scope};
use crate::progress::{Stage, Tracker};
use crate::recover::{Recovery, run_with_recovery};
use crate::resolve;
use crate::response::{AttemptedSql, ChatRequest, LlmUsage, Mode, QueryMetadata, QueryResult, ResolvedEntity};
use crate::sql;

/// Value probes run at once while a context is built.
const PROBE_CONCURRENCY: usize = 4;

/// A successful answer plus the servers that could not be used.
pub(crate) struct Answer {
    pub(crate) result: QueryResult,
    pub(crate) missing_servers: Vec<String>,
}

/// A failed answer: the error, the SQL tried so far, and missing servers.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) attempted_sql: Vec<AttemptedSql>,
    pub(crate) missing_servers: Vec<String>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, attempted_sql: Vec::new(), missing_servers: Vec::new() }
    }
}

/// Runs `request` in `mode` (already resolved from `auto`), reporting each stage to
/// `tracker`.
pub(crate) async fn run(
    inner: &Inner,
    request: &ChatRequest,
    mode: Mode,
    tracker: &Tracker,
) -> Result<Answer, Failure> {
    let scope = if mode == Mode::MultiMcp { Scope::All } else { Scope::DatabaseOnly };
    let stage = tracker.begin(Stage::Gathering);
    let gathered = async {
        let gathered = inner.orchestrator.gather(scope).await?;
        let context = context_for(inner, scope, &gathered).await?;
        Ok((gathered, context))
    }
    .instrument(info_span!("gather"))
    .await;
    stage.end(&gathered, |(g, _)| Some(format!("{} server(s), {} missing", g.servers_used.len(), g.missing.len())));
    let (gathered, context) = gathered?;
    let missing = gathered.missing.clone();
    let with_missing = |error: Error| Failure { error, attempted_sql: Vec::new(), missing_servers: missing.clone() };
    let dialect = context.dialect();
    let question = request.query.trim();
    let conversation = conversation::for_request(&inner.sessions, request).await;

    let today = chrono::Utc::now().date_naive();
    let raw_sql = sql::is_sql(question, dialect);
    let resolution = if raw_sql {
        resolve::resolve(question, &context, today)
    } else {
        let stage = tracker.begin(Stage::Resolving);
        let resolution = info_span!("resolve").in_scope(|| resolve::resolve(question, &context, today));
        stage.finish(Some(format!("{} entities", resolution.items.len())));
        resolution
    };
    let mut entities = if raw_sql { Vec::new() } else { resolution.entities() };
    let stage = tracker.begin(Stage::Generating);
    let generated = if raw_sql {
        Ok(Generation {
            sql: question.to_string(),
            explanation: "The question was run as the SQL query it is.".to_string(),
            generator: "raw_sql".to_string(),
            usage: TokenUsage::default(),
            carried: Vec::new(),
        })
    } else {
        let llm = inner.llm.as_ref();
        generate_sql(llm, question, &context, &resolution, &conversation, &inner.metrics)
            .instrument(info_span!("generate"))
            .await
    };
    stage.end(&generated, |g| Some(g.generator.clone()));
    let mut generated = generated.map_err(with_missing)?;
    entities.splice(0..0, std::mem::take(&mut generated.carried));

    let recovery = Recovery {
        question,
        ctx: &context,
        resolution: &resolution,
        llm: inner.llm.as_ref(),
        metrics: &inner.metrics,
        enabled: request.enable_recovery,
        max_retries: inner.config.orchestration.max_retries,
        default_limit: inner.config.orchestration.default_limit,
        tracker,
    };
    let execute = |valid: String| async move {
        let stage = tracker.begin(Stage::Executing);
        let executed = inner.orchestrator.execute_query(&valid).instrument(info_span!("execute")).await;
        stage.end(&executed, |e| Some(format!("{} rows", e.output.row_count)));
        executed
    };
    let mut usage = generated.usage;
    let ran = run_with_recovery(&recovery, generated.sql, execute).await.map_err(|u| Failure {
        error: u.error,
        attempted_sql: u.attempted,
        missing_servers: missing.clone(),
    })?;
    add_usage(&mut usage, ran.usage);
    let llm_usage = (usage.total_tokens > 0 || generated.generator.starts_with("llm:")).then_some(LlmUsage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.total_tokens,
    });

    if generated.generator != "raw_sql"
        && let Some(id) = conversation::session_id(request)
    {
        inner.sessions.record(id, question).await;
    }
    let servers_used = servers_used(&gathered, &entities, &ran.output.server_id);
    Ok(Answer {
        result: QueryResult {
            sql_query: ran.sql,
            results: ran.output.output,
            resolved_entities: entities,
            explanation: generated.explanation,
            recovery_performed: ran.attempts > 0,
            metadata: QueryMetadata {
                mcp_servers_used: servers_used,
                recovery_attempts: ran.attempts,
                attempted_sql: ran.attempted,
                generator: generated.generator,
                dialect: dialect.as_str().to_string(),
                llm_usage,
            },
        },
        missing_servers: missing,
    })
}

/// The derived context for this resource snapshot: from the cache when the resources
/// have not been re-fetched since it was built, else built now (including one value
/// probe per low-cardinality column, run through the Database MCP).
async fn context_for(inner: &Inner, scope: Scope, gathered: &Gathered) -> Result<Arc<Context>> {
    let key = (scope == Scope::All, gathered.fingerprint.clone());
    if inner.config.orchestration.resource_cache_ttl > 0
        && let Some(hit) = inner.contexts.get(&key).await
    {
        return Ok(hit);
    }
    let mut context = Context::from_resources(&gathered.resources)?;
    let probes = context.value_probes();
    let outputs: Vec<_> = stream::iter(probes)
        .map(|probe| async move {
            let out = inner.orchestrator.execute_query(&probe.sql).await;
            (probe, out)
        })
        .buffer_unordered(PROBE_CONCURRENCY)
        .collect()
        .await;
    for (probe, out) in outputs {
        match out {
            Ok(executed) => context.add_values(&probe, &executed.output),
            Err(e) => warn!(table = %probe.table, column = %probe.column, error = %e, "value probe failed"),
        }
    }
    let context = Arc::new(context);
    if inner.config.orchestration.resource_cache_ttl > 0 {
        inner.contexts.insert(key, context.clone()).await;
    }
    debug!("context built");
    Ok(context)
}

/// The servers that contributed, in priority order: those whose resources were used
/// for a resolution or the schema, and the one that ran the SQL.
fn servers_used(gathered: &Gathered, entities: &[ResolvedEntity], executor: &str) -> Vec<String> {
    gathered
        .servers_used
        .iter()
        .filter(|id| id.as_str() == executor || entities.iter().any(|e| &e.source == *id))
        .cloned()
        .chain(std::iter::once(executor.to_string()))
        .fold(Vec::new(), |mut acc, id| {
            if !acc.contains(&id) {
                acc.push(id);
            }
            acc
        })
}
