//! A per-server circuit breaker: `closed` → `open` after `threshold` consecutive
//! failures → `half_open` once `open_for` has passed (one trial call is let through) →
//! `closed` on the trial's success, `open` again on its failure.
//!
//! Pure state (no I/O, no clock of its own): callers pass `Instant`s, so it is tested
//! without sleeping.

use std::time::{Duration, Instant};

use serde::Serialize;

/// The breaker's state as reported in server status (`"closed"`, `"open"`, `"half_open"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// The cool-down ended: one trial call is (or may be) in flight.
    HalfOpen,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Open until this instant.
    OpenUntil(Instant),
    /// Half-open and a trial call is already in flight (until at most this instant).
    TrialInFlight(Instant),
}

/// Consecutive-failure circuit breaker.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    threshold: u32,
    open_for: Duration,
    failures: u32,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    /// A trial was admitted; another one is allowed after `trial_until` (in case the
    /// trial's outcome is never reported, e.g. its caller was cancelled).
    HalfOpen {
        trial_until: Instant,
    },
}

impl Breaker {
    /// A closed breaker that opens after `threshold` (at least 1) consecutive failures and
    /// stays open for `open_for`.
    pub(crate) fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker { threshold: threshold.max(1), open_for, failures: 0, phase: Phase::Closed }
    }

    /// The state at `now` (an expired `open` reads as `half_open`).
    pub(crate) fn state(&self, now: Instant) -> CircuitState {
        match self.phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until } if now < until => CircuitState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Consecutive failures so far (reset by a success).
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.failures
    }

    /// Whether a call may go through at `now`. In `half_open` the first caller becomes
    /// the trial and later callers are refused until its outcome is recorded.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Refusal> {
        match self.phase {
            Phase::Closed => Ok(()),
            Phase::Open { until } if now < until => Err(Refusal::OpenUntil(until)),
            Phase::HalfOpen { trial_until } if now < trial_until => Err(Refusal::TrialInFlight(trial_until)),
            Phase::Open { .. } | Phase::HalfOpen { .. } => {
                self.phase = Phase::HalfOpen { trial_until: now + self.open_for };
                Ok(())
            }
        }
    }

    /// Records a success: the breaker closes and the failure count resets.
    pub(crate) fn on_success(&mut self) {
        self.failures = 0;
        self.phase = Phase::Closed;
    }

    /// Records a failure at `now`: a failed trial re-opens the breaker; otherwise it opens
    /// when the count reaches the threshold.
    pub(crate) fn on_failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let reopen =
            matches!(self.phase, Phase::HalfOpen { .. }) || matches!(self.phase, Phase::Open { until } if now >= until);
        if reopen || (self.phase == Phase::Closed && self.failures >= self.threshold) {
            self.phase = Phase::Open { until: now + self.open_for };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_and_closes() {
        let t0 = Instant::now();
        let mut b = Breaker::new(5, Duration::from_secs(60));
        for i in 0..4 {
            assert!(b.admit(t0).is_ok());
            b.on_failure(t0);
            assert_eq!(b.state(t0), CircuitState::Closed, "after {} failures", i + 1);
        }
        b.on_failure(t0);
        assert_eq!(b.state(t0), CircuitState::Open);
        assert_eq!(b.consecutive_failures(), 5);
        let until = t0 + Duration::from_secs(60);
        assert_eq!(b.admit(t0), Err(Refusal::OpenUntil(until)));

        let later = until + Duration::from_millis(1);
        assert_eq!(b.state(later), CircuitState::HalfOpen);
        assert!(b.admit(later).is_ok(), "one trial goes through");
        assert!(matches!(b.admit(later), Err(Refusal::TrialInFlight(_))), "a second caller waits for the trial");
        b.on_success();
        assert_eq!(b.state(later), CircuitState::Closed);
        assert_eq!(b.consecutive_failures(), 0);
        assert!(b.admit(later).is_ok());
    }

    #[test]
    fn a_failed_trial_reopens_and_a_lost_trial_is_replaced() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(10);
        let mut b = Breaker::new(1, cool);
        b.on_failure(t0);
        assert_eq!(b.state(t0), CircuitState::Open);
        let t1 = t0 + cool;
        assert!(b.admit(t1).is_ok());
        b.on_failure(t1);
        assert_eq!(b.state(t1), CircuitState::Open);
        assert_eq!(b.admit(t1), Err(Refusal::OpenUntil(t1 + cool)));

        let t2 = t1 + cool;
        assert!(b.admit(t2).is_ok());
        // The trial never reports back; after another cool-down a new trial is allowed.
        assert!(b.admit(t2 + cool).is_ok());
    }

    #[test]
    fn success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(1));
        b.on_failure(t0);
        b.on_failure(t0);
        b.on_success();
        b.on_failure(t0);
        b.on_failure(t0);
        assert_eq!(b.state(t0), CircuitState::Closed);
        assert_eq!(b.consecutive_failures(), 2);
    }
}
