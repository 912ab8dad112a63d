//! Progress of one question through the pipeline, for callers that show it as it
//! happens (`POST /api/chat/stream` sends each event as a server-sent event).

use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

/// A stage of DESIGN.md §1's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading the resources of the MCP servers (or the cache).
    Gathering,
    /// Mapping aliases, business terms, dates and values.
    Resolving,
    /// Writing the SQL (offline engine or LLM).
    Generating,
    /// The read-only allow-list and the default LIMIT.
    Validating,
    /// Running the SQL on the Database MCP.
    Executing,
    /// Repairing SQL that failed, and running it again.
    Recovering,
}

/// Whether a stage started, finished or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// The stage began.
    Started,
    /// The stage ended well.
    Finished,
    /// The stage ended with an error (the final response carries it).
    Failed,
}

/// One progress event.
///
/// JSON: `{"stage": "executing", "status": "finished", "elapsed_ms": 12.5,
/// "duration_ms": 3.1, "detail": "12 rows"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The stage.
    pub stage: Stage,
    /// What happened to it.
    pub status: StageStatus,
    /// Milliseconds since the question arrived.
    pub elapsed_ms: f64,
    /// For `finished`/`failed`: how long the stage took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// A short note (row count, generator, error code); never rows or secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Sends progress events when a receiver is attached; does nothing otherwise.
pub(crate) struct Tracker {
    sender: Option<UnboundedSender<Progress>>,
    start: Instant,
}

/// A stage in flight; report its end with [`StageGuard::finish`] or [`StageGuard::fail`].
pub(crate) struct StageGuard<'a> {
    tracker: &'a Tracker,
    stage: Stage,
    started: Instant,
}

impl Tracker {
    pub(crate) fn new(sender: Option<UnboundedSender<Progress>>) -> Self {
        Tracker { sender, start: Instant::now() }
    }

    /// Reports that `stage` started.
    pub(crate) fn begin(&self, stage: Stage) -> StageGuard<'_> {
        self.send(stage, StageStatus::Started, None, None);
        StageGuard { tracker: self, stage, started: Instant::now() }
    }

    fn send(&self, stage: Stage, status: StageStatus, duration_ms: Option<f64>, detail: Option<String>) {
        if let Some(sender) = &self.sender {
            let elapsed_ms = self.start.elapsed().as_secs_f64() * 1000.0;
            // A receiver that went away only means nobody watches any more.
            let _ = sender.send(Progress { stage, status, elapsed_ms, duration_ms, detail });
        }
    }
}

impl StageGuard<'_> {
    /// Reports the stage finished, with an optional note.
    pub(crate) fn finish(self, detail: impl Into<Option<String>>) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.tracker.send(self.stage, StageStatus::Finished, Some(ms), detail.into());
    }

    /// Reports the stage failed with `code`.
    pub(crate) fn fail(self, code: &str) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.tracker.send(self.stage, StageStatus::Failed, Some(ms), Some(code.to_string()));
    }

    /// Reports the end of the stage from a result: finished, or failed with its code.
    pub(crate) fn end<T>(self, result: &crate::Result<T>, detail: impl FnOnce(&T) -> Option<String>) {
        match result {
            Ok(v) => {
                let d = detail(v);
                self.finish(d)
            }
            Err(e) => self.fail(e.kind().code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_order_with_durations() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let tracker = Tracker::new(Some(tx));
        tracker.begin(Stage::Gathering).finish(Some("2 servers".to_string()));
        let r: crate::Result<()> = Err(crate::Error::new(crate::ErrorKind::SqlRejected, "x"));
        tracker.begin(Stage::Validating).end(&r, |_| None);
        let events: Vec<Progress> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let kinds: Vec<_> = events.iter().map(|e| (e.stage, e.status)).collect();
        assert_eq!(
            kinds,
            [
                (Stage::Gathering, StageStatus::Started),
                (Stage::Gathering, StageStatus::Finished),
                (Stage::Validating, StageStatus::Started),
                (Stage::Validating, StageStatus::Failed),
            ]
        );
        assert_eq!(events[1].detail.as_deref(), Some("2 servers"));
        assert_eq!(events[3].detail.as_deref(), Some("SQL_REJECTED"));
        assert!(events[1].duration_ms.is_some() && events[0].duration_ms.is_none());
        assert!(events.windows(2).all(|w| w[0].elapsed_ms <= w[1].elapsed_ms));
        let json = serde_json::to_value(&events[1]).unwrap();
        assert_eq!(json["stage"], "gathering");
        assert_eq!(json["status"], "finished");
    }

    #[test]
    fn no_receiver_is_fine() {
        let tracker = Tracker::new(None);
        tracker.begin(Stage::Executing).finish(None);
    }
}
