//! The routing policy: which processor gets the next attempt, or none (hold the payment).
//!
//! A pure state machine: it is told what happened ([`Router::observe`], [`Router::set_health`])
//! and asked what to do ([`Router::choose`]), always with `now_ms` passed in, so the unit tests
//! run without a clock. `DESIGN.md` explains the rule and its constants.

use crate::{
    payment::Processor,
    worker::processor::{Health, PayOutcome},
};

/// Tunables of the policy, each explained in `DESIGN.md`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RouterSettings {
    /// Expected response time above which a processor counts as slow (ms).
    pub slow_ms: u64,
    /// Consecutive failures after which a processor is rested.
    pub failure_streak_max: u32,
    /// How long a processor is rested after `failure_streak_max` failures (ms).
    pub failure_rest_ms: i64,
    /// How long a processor that answered `429` is left alone (ms).
    pub busy_rest_ms: i64,
    /// How long a health report is trusted (ms); the cluster polls every 5 s.
    pub health_ttl_ms: i64,
}

impl Default for RouterSettings {
    fn default() -> Self {
        Self {
            slow_ms: 1000,
            failure_streak_max: 3,
            failure_rest_ms: 1000,
            busy_rest_ms: 250,
            health_ttl_ms: 10_000,
        }
    }
}

/// A health report and when it was polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthReport {
    /// The processor's answer.
    pub health: Health,
    /// When it was polled (ms since the epoch).
    pub polled_at_ms: i64,
}

/// What the router knows of one processor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessorState {
    /// The latest health report, if any.
    pub health: Option<HealthReport>,
    /// Failures (5xx, unreachable, ambiguous) since the last success.
    pub failure_streak: u32,
    /// When the last failure was observed.
    pub last_failure_ms: i64,
    /// When the last success (200/422) was observed.
    pub last_success_ms: i64,
    /// When the last `429` was observed.
    pub last_busy_ms: i64,
    /// Smoothed observed response time, ms (`None` until the first observation or report).
    pub latency_ms: Option<f64>,
}

/// Weight of a new latency sample in the moving average: reacts within a handful of answers.
const LATENCY_SMOOTHING: f64 = 0.2;

/// The router's whole state: one [`ProcessorState`] per processor.
#[derive(Clone, Debug, PartialEq)]
pub struct Router {
    settings: RouterSettings,
    states: [ProcessorState; 2],
}

impl Router {
    /// A router that knows nothing yet (both processors presumed healthy and fast).
    pub fn new(settings: RouterSettings) -> Self {
        Self { settings, states: [ProcessorState::default(); 2] }
    }

    /// What the router knows of `processor`.
    pub fn state(&self, processor: Processor) -> &ProcessorState {
        &self.states[processor.index()]
    }

    /// Takes a health report into account. The reported delay replaces the latency estimate: it
    /// is the processor's own word, and it is the only news of a processor we stopped using.
    pub fn set_health(&mut self, processor: Processor, report: HealthReport) {
        let state = &mut self.states[processor.index()];
        if state.health.is_some_and(|known| known.polled_at_ms >= report.polled_at_ms) {
            return;
        }
        state.health = Some(report);
        state.latency_ms = Some(report.health.min_response_time as f64);
    }

    /// Takes the outcome of an attempt that took `latency_ms` into account.
    pub fn observe(&mut self, processor: Processor, outcome: PayOutcome, latency_ms: u64, now_ms: i64) {
        let state = &mut self.states[processor.index()];
        let sample = latency_ms as f64;
        match outcome {
            PayOutcome::Accepted | PayOutcome::AlreadyRecorded => {
                state.failure_streak = 0;
                state.last_success_ms = now_ms;
            }
            PayOutcome::Busy => state.last_busy_ms = now_ms,
            PayOutcome::Failed | PayOutcome::Unreachable | PayOutcome::Ambiguous => {
                state.failure_streak = state.failure_streak.saturating_add(1);
                state.last_failure_ms = now_ms;
            }
            PayOutcome::Refused(_) => {}
        }
        if !matches!(outcome, PayOutcome::Busy | PayOutcome::Unreachable) {
            state.latency_ms = Some(match state.latency_ms {
                Some(average) => average + LATENCY_SMOOTHING * (sample - average),
                None => sample,
            });
        }
    }

    /// Whether `processor` may be sent an attempt now (it may still be slow).
    pub fn is_usable(&self, processor: Processor, now_ms: i64) -> bool {
        let settings = &self.settings;
        let state = &self.states[processor.index()];
        let reported_failing = state.health.is_some_and(|report| {
            report.health.failing
                && now_ms - report.polled_at_ms < settings.health_ttl_ms
                && state.last_success_ms < report.polled_at_ms
        });
        let resting = state.failure_streak >= settings.failure_streak_max
            && now_ms - state.last_failure_ms < settings.failure_rest_ms;
        let busy = state.last_busy_ms > 0 && now_ms - state.last_busy_ms < settings.busy_rest_ms;
        !reported_failing && !resting && !busy
    }

    /// Whether `processor` is expected to answer within `slow_ms`.
    pub fn is_fast(&self, processor: Processor) -> bool {
        let state = &self.states[processor.index()];
        state.latency_ms.is_none_or(|latency| latency <= self.settings.slow_ms as f64)
    }

    /// The processor for the next attempt, or `None` to hold the payment.
    ///
    /// Default when it is usable and fast; otherwise fallback when usable and fast; otherwise
    /// whichever is usable, default first (slow beats unpaid); otherwise hold.
    pub fn choose(&self, now_ms: i64) -> Option<Processor> {
        let fast = |processor| self.is_usable(processor, now_ms) && self.is_fast(processor);
        Processor::ALL
            .into_iter()
            .find(|processor| fast(*processor))
            .or_else(|| Processor::ALL.into_iter().find(|processor| self.is_usable(*processor, now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Processor::{Default as D, Fallback as F};

    const NOW: i64 = 1_752_150_896_000;

    fn health(failing: bool, min_response_time: u64, polled_at_ms: i64) -> HealthReport {
        HealthReport { health: Health { failing, min_response_time }, polled_at_ms }
    }

    fn router() -> Router {
        Router::new(RouterSettings::default())
    }

    #[test]
    fn a_fresh_router_prefers_default() {
        assert_eq!(router().choose(NOW), Some(D));
    }

    #[test]
    fn reported_failing_default_goes_to_fallback_until_it_recovers() {
        let mut router = router();
        router.set_health(D, health(true, 0, NOW - 100));
        assert_eq!(router.choose(NOW), Some(F));
        router.set_health(D, health(false, 0, NOW + 5000));
        assert_eq!(router.choose(NOW + 5001), Some(D));
    }

    #[test]
    fn a_success_after_a_failing_report_clears_it() {
        let mut router = router();
        router.set_health(D, health(true, 0, NOW - 100));
        router.observe(D, PayOutcome::Accepted, 5, NOW);
        assert_eq!(router.choose(NOW + 1), Some(D));
    }

    #[test]
    fn a_stale_failing_report_is_ignored() {
        let mut router = router();
        router.set_health(D, health(true, 0, NOW - 20_000));
        assert_eq!(router.choose(NOW), Some(D));
    }

    #[test]
    fn a_failure_streak_rests_the_processor_then_it_is_tried_again() {
        let mut router = router();
        for _ in 0..2 {
            router.observe(D, PayOutcome::Failed, 3, NOW);
        }
        assert_eq!(router.choose(NOW), Some(D), "two failures are not a streak yet");
        router.observe(D, PayOutcome::Failed, 3, NOW);
        assert_eq!(router.choose(NOW + 1), Some(F));
        assert_eq!(router.choose(NOW + 1000), Some(D), "rest is over");
    }

    #[test]
    fn busy_is_back_pressure_not_failure() {
        let mut router = router();
        router.observe(D, PayOutcome::Busy, 1, NOW);
        assert_eq!(router.state(D).failure_streak, 0);
        assert_eq!(router.choose(NOW + 1), Some(F));
        assert_eq!(router.choose(NOW + 250), Some(D));
    }

    #[test]
    fn slow_default_loses_to_fast_fallback_and_wins_over_nothing() {
        let mut router = router();
        router.set_health(D, health(false, 2000, NOW));
        assert_eq!(router.choose(NOW), Some(F));
        router.set_health(F, health(true, 0, NOW));
        assert_eq!(router.choose(NOW), Some(D), "slow beats unpaid");
    }

    #[test]
    fn both_failing_holds() {
        let mut router = router();
        router.set_health(D, health(true, 0, NOW));
        router.set_health(F, health(true, 0, NOW));
        assert_eq!(router.choose(NOW + 1), None);
    }

    #[test]
    fn latency_average_follows_observations() {
        let mut router = router();
        for _ in 0..30 {
            router.observe(D, PayOutcome::Accepted, 1500, NOW);
        }
        assert!(!router.is_fast(D));
        for _ in 0..30 {
            router.observe(D, PayOutcome::Accepted, 10, NOW);
        }
        assert!(router.is_fast(D));
    }

    #[test]
    fn an_older_report_does_not_replace_a_newer_one() {
        let mut router = router();
        router.set_health(D, health(false, 0, NOW));
        router.set_health(D, health(true, 0, NOW - 1));
        assert_eq!(router.state(D).health, Some(health(false, 0, NOW)));
    }
}
