//! The background health probe: every interval, [`Supervisor::probe`] on every server in
//! parallel. Holds only weak references (it never keeps servers alive) and stops when its
//! token is cancelled or every supervisor is gone.

use std::sync::Weak;
use std::time::Duration;

use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::mcp::supervisor::Supervisor;

/// Spawns the probe loop: waits `every`, probes all servers, repeats.
pub(super) fn spawn(supervisors: Vec<Weak<Supervisor>>, every: Duration, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
            let alive: Vec<_> = supervisors.iter().filter_map(Weak::upgrade).collect();
            if alive.is_empty() {
                break;
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = join_all(alive.iter().map(|s| s.probe())) => {}
            }
        }
        tracing::debug!("health probe stopped");
    });
}
