//! One question through the flow of DESIGN.md §1: gather → context → resolve →
//! generate → validate → execute → format.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use tracing::{Instrument, debug, info_span, warn};

use crate::context::Context;
use crate::engine::Inner;
use crate::error::{Error, Result};
use crate::generate;
use crate::orchestrator::{Gathered, Scope};
use crate::progress::{Stage, Tracker};
use crate::resolve;
use crate::response::{AttemptedSql, ChatRequest, Mode, QueryMetadata, QueryResult, ResolvedEntity};
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

    let (candidate, entities, explanation, generator) = if sql::is_sql(question, dialect) {
        let stage = tracker.begin(Stage::Generating);
        stage.finish(Some("raw_sql".to_string()));
        (question.to_string(), Vec::new(), "The question was run as the SQL query it is.".to_string(), "raw_sql")
    } else {
        let stage = tracker.begin(Stage::Resolving);
        let resolution =
            info_span!("resolve").in_scope(|| resolve::resolve(question, &context, chrono::Utc::now().date_naive()));
        let entities = resolution.entities();
        stage.finish(Some(format!("{} entities", entities.len())));
        let stage = tracker.begin(Stage::Generating);
        let generated = info_span!("generate").in_scope(|| generate::generate_offline(question, &context, &resolution));
        stage.end(&generated, |_| Some("offline".to_string()));
        let generated = generated.map_err(with_missing)?;
        (generated.sql, entities, generated.explanation, "offline")
    };

    let stage = tracker.begin(Stage::Validating);
    let validated = info_span!("validate")
        .in_scope(|| sql::validate(&candidate, dialect, inner.config.orchestration.default_limit));
    stage.end(&validated, |_| None);
    let validated = validated.map_err(|error| Failure {
        attempted_sql: vec![attempt(&candidate, &error)],
        error,
        missing_servers: missing.clone(),
    })?;

    let stage = tracker.begin(Stage::Executing);
    let executed = inner.orchestrator.execute_query(&validated).instrument(info_span!("execute")).await;
    stage.end(&executed, |e| Some(format!("{} rows", e.output.row_count)));
    let executed = executed.map_err(|error| Failure {
        attempted_sql: vec![attempt(&validated, &error)],
        error,
        missing_servers: missing.clone(),
    })?;

    let servers_used = servers_used(&gathered, &entities, &executed.server_id);
    Ok(Answer {
        result: QueryResult {
            sql_query: validated,
            results: executed.output,
            resolved_entities: entities,
            explanation,
            recovery_performed: false,
            metadata: QueryMetadata {
                mcp_servers_used: servers_used,
                recovery_attempts: 0,
                attempted_sql: Vec::new(),
                generator: generator.to_string(),
                dialect: dialect.as_str().to_string(),
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

fn attempt(sql: &str, error: &Error) -> AttemptedSql {
    AttemptedSql {
        sql: sql.to_string(),
        error_category: error.kind().code().to_string(),
        error: error.message().to_string(),
    }
}
