//! The router as it was before the state machine (commit 3266198, `src/worker/router.rs`),
//! kept as the oracle of a differential test: for any sequence of events, with time moving
//! forward, the state machine must plan exactly what this code planned. Test-only; delete it
//! once the refactor has settled.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeSet;

use super::outcome::{Health, PayOutcome};
use crate::payment::Processor;

/// Tunables of the policy, each explained in `DESIGN.md` §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterSettings {
    /// Expected response time above which a processor is not used (ms).
    pub latency_max_ms: u64,
    /// Longest a payment waits for the default while the fallback could take it (ms).
    pub hold_max_ms: i64,
    /// Consecutive failures after which a processor is rested.
    pub failure_streak_max: u32,
    /// How long a processor is rested after `failure_streak_max` failures (ms).
    pub failure_rest_ms: i64,
    /// How long a processor that answered `429` is left alone (ms).
    pub busy_rest_ms: i64,
    /// How long a health report is trusted (ms); the cluster polls every 5 s.
    pub health_ttl_ms: i64,
}

/// The audit's margin in the preview test (the smaller of the two official ones), in ms: a
/// payment must be in our books within this long of its `requestedAt`.
pub const AUDIT_MARGIN_MS: u64 = 1500;

/// Slack kept under the audit margin for the answer's trip, the ledger write and scheduling
/// jitter on a loaded machine (ms).
pub const AUDIT_SLACK_MS: u64 = 250;

/// Allowance over the expected response time before an attempt in flight makes its processor
/// suspect (ms). Jitter on a loaded machine may now and then exceed it; that costs little: new
/// payments wait (within the hold) until the late answer arrives, while every payment sent to a
/// processor that really turned slow is a late record waiting to happen.
pub const SUSPICION_SLACK_MS: i64 = 100;

/// Factor on the expected response time before an attempt in flight makes its processor suspect.
pub const SUSPICION_FACTOR: f64 = 1.25;

/// Interval between probes of a recovering default while the fallback takes the payments (ms).
/// A probe of a failing processor costs one payment's time; a recovery noticed a second late
/// costs a second of payments at the dearer fee.
pub const PROBE_INTERVAL_COSTLY_MS: i64 = 100;

/// The default horizon over which the end of a test is expected, used to price holding (ms).
pub const HOLD_HORIZON_MS: i64 = 100_000;

/// The longest hold that cannot leave a payment unpaid when the load stops (ms). The contest's
/// virtual users sleep 1 s after each payment, so the test ends at least 1 s after its last
/// payment; a payment held at most 800 ms and then paid by a fast fallback is recorded in time.
pub const END_GRACE_MS: i64 = 800;

impl RouterSettings {
    /// The defaults for the given fees (basis points). The hold is the fee-priced bound of
    /// [`hold_max_ms_for_fees`] over [`HOLD_HORIZON_MS`], capped at [`END_GRACE_MS`] so that a
    /// hold never turns into a payment left unpaid at the end of the test.
    pub fn for_fees(fee_default_basis_points: u32, fee_fallback_basis_points: u32) -> Self {
        let priced_ms = hold_max_ms_for_fees(
            fee_default_basis_points,
            fee_fallback_basis_points,
            HOLD_HORIZON_MS,
        );
        Self {
            latency_max_ms: AUDIT_MARGIN_MS - AUDIT_SLACK_MS,
            hold_max_ms: priced_ms.min(END_GRACE_MS),
            failure_streak_max: 3,
            failure_rest_ms: 1000,
            busy_rest_ms: 250,
            health_ttl_ms: 10_000,
        }
    }
}

/// How long holding a payment for the default can pay for itself.
///
/// Holding gains the fee difference `Δ = fee_fallback − fee_default` if the default comes back in
/// time, and risks the fallback's net `1 − fee_fallback` if the test ends during the hold. With
/// the end equally likely anywhere in a horizon `T`, the chance it falls in a hold of `H` is `H/T`,
/// so holding is worth it while `H/T < Δ / (1 − fee_fallback)`. Preview fees (5 %/15 %) give
/// 11.8 s over 100 s; final fees (7 %/10 %) give 3.3 s. Zero when the fallback is not dearer.
pub fn hold_max_ms_for_fees(
    fee_default_basis_points: u32,
    fee_fallback_basis_points: u32,
    horizon_ms: i64,
) -> i64 {
    assert!(fee_fallback_basis_points < 10_000, "a fee of 100 % leaves nothing to earn");
    let difference = i64::from(fee_fallback_basis_points) - i64::from(fee_default_basis_points);
    if difference <= 0 {
        return 0;
    }
    horizon_ms * difference / (10_000 - i64::from(fee_fallback_basis_points))
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessorState {
    /// The latest health report, if any.
    pub health: Option<HealthReport>,
    /// Failures (5xx, unreachable, ambiguous) since the last success.
    pub failure_streak: u32,
    /// When the last failure was observed.
    pub last_failure_ms: i64,
    /// When the last success (200/422) was observed.
    pub last_success_ms: i64,
    /// When the last `429` was observed (0: never).
    pub last_busy_ms: i64,
    /// Smoothed response time, ms (`None` until the first observation or report).
    pub latency_ms: Option<f64>,
    /// When `latency_ms` last changed. An estimate older than the health TTL is forgotten: with
    /// no health report and no traffic it would otherwise keep a slow processor out forever.
    pub latency_updated_ms: i64,
    /// Set when an answer took longer than `latency_max_ms`: the processor stays out until a
    /// health report polled later says its delay is back under the bound, or until nothing has
    /// been heard for a health TTL. One slow answer is enough, because the average of a few fast
    /// answers and one slow one looks fast, and a slow processor is never probed with payments.
    pub slow_since_ms: Option<i64>,
    /// Start of the newest attempt that succeeded. Evidence about the processor's speed from an
    /// attempt started before it is old news: a fast answer to a later attempt outweighs a slow
    /// one to an earlier attempt still finishing, which was caught in the previous regime.
    pub newest_success_started_ms: i64,
    /// When the last probe was sent (0: never). Probes go one per rest period, even while an
    /// earlier one is still out: a probe sent into a long delay must not hide the recovery.
    pub last_probe_ms: i64,
    /// The speed of a processor that just recovered is unknown when its first success was a
    /// probe sent before the recovery: that probe's answer took as long as the old delay. Until a
    /// later attempt answers, the processor is probed (one payment at a time), not flooded.
    pub speed_unknown: bool,
    /// Ids of the attempts in flight that are recovery probes.
    pub probes: BTreeSet<u64>,
    /// Attempts in flight: (start ms, attempt id). The oldest one's age is a latency the router
    /// sees before any answer comes back.
    pub inflight: BTreeSet<(i64, u64)>,
}

/// Weight of a new latency sample in the moving average: reacts within a handful of answers.
const LATENCY_SMOOTHING: f64 = 0.2;

/// Whether a processor may be sent attempts, leaving its speed aside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// No sign of trouble.
    Usable,
    /// It showed signs of failure and has rested: one payment at a time may find out whether it
    /// recovered. A failing processor stores nothing, so a probe costs at most one payment's
    /// time, and with one payment it also risks at most one late record if it recovered slow.
    Probe,
    /// Resting after a failure, or pushing back with `429`.
    Out,
}

/// What to do with the payments waiting in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Send any payment to this processor.
    Send(Processor),
    /// Send exactly one payment (the oldest) to this processor, to probe it.
    Probe(Processor),
    /// Send to this processor only payments accepted at or before this instant (ms); the others
    /// keep waiting for the default.
    SendAcceptedBy(Processor, i64),
    /// Send nothing.
    Hold,
}

/// The router's whole state: one [`ProcessorState`] per processor.
#[derive(Clone, Debug, PartialEq)]
pub struct Router {
    settings: RouterSettings,
    states: [ProcessorState; 2],
    /// Since when the default has not been eligible (`None`: it is).
    default_out_since_ms: Option<i64>,
    /// Source of attempt ids.
    next_attempt: u64,
}

impl Router {
    /// A router that knows nothing yet (both processors presumed healthy and fast).
    pub fn new(settings: RouterSettings) -> Self {
        Self {
            settings,
            states: [ProcessorState::default(), ProcessorState::default()],
            default_out_since_ms: None,
            next_attempt: 0,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &RouterSettings {
        &self.settings
    }

    /// What the router knows of `processor`.
    pub fn state(&self, processor: Processor) -> &ProcessorState {
        &self.states[processor.index()]
    }

    /// Takes a health report into account. The reported delay replaces the latency estimate: it
    /// is the processor's own word, and the only news of a processor we stopped using.
    pub fn set_health(&mut self, processor: Processor, report: HealthReport) {
        let state = &mut self.states[processor.index()];
        if state.health.is_some_and(|known| known.polled_at_ms >= report.polled_at_ms) {
            return;
        }
        state.health = Some(report);
        state.latency_ms = Some(report.health.min_response_time as f64);
        state.latency_updated_ms = report.polled_at_ms;
        if report.health.min_response_time > self.settings.latency_max_ms {
            state.slow_since_ms = Some(report.polled_at_ms);
        } else if state.slow_since_ms.is_some_and(|since| since <= report.polled_at_ms) {
            state.slow_since_ms = None;
        }
    }

    /// Registers an attempt sent to `processor` at `now_ms`; returns its id for
    /// [`Router::observe`].
    pub fn attempt_started(&mut self, processor: Processor, now_ms: i64) -> u64 {
        self.next_attempt += 1;
        // A recovery probe (sent while the processor showed signs of failure) may sit out an old
        // delay; a speed probe (sent after such a probe came back slow) may not.
        let probe = self.availability(processor, now_ms) == Availability::Probe
            && !self.states[processor.index()].speed_unknown;
        let state = &mut self.states[processor.index()];
        state.inflight.insert((now_ms, self.next_attempt));
        if probe {
            state.probes.insert(self.next_attempt);
        }
        self.next_attempt
    }

    /// Takes the outcome of attempt `attempt` (started at `started_ms`) into account.
    pub fn observe(
        &mut self,
        processor: Processor,
        attempt: (i64, u64),
        outcome: PayOutcome,
        now_ms: i64,
    ) {
        let recovering = self.availability(processor, now_ms) != Availability::Usable;
        let latency_max_ms = self.settings.latency_max_ms as f64;
        let state = &mut self.states[processor.index()];
        let was_inflight = state.inflight.remove(&(attempt.0, attempt.1));
        debug_assert!(was_inflight, "observed an attempt that was not started");
        let was_probe = state.probes.remove(&attempt.1);
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
        // Only successes say how long a payment takes to be recorded: a failing processor's
        // delay may change by the time it recovers, and 429s are answered at once.
        if outcome.is_recorded() {
            let sample = (now_ms - attempt.0).max(0) as f64;
            let newest = attempt.0 >= state.newest_success_started_ms;
            state.latency_ms = Some(match state.latency_ms {
                // The first success after a failure starts a new regime: the old estimate
                // (often a failing processor's reported delay) says nothing about it.
                Some(average) if !recovering => average + LATENCY_SMOOTHING * (sample - average),
                _ => sample,
            });
            state.latency_updated_ms = now_ms;
            if newest {
                state.newest_success_started_ms = attempt.0;
                if sample <= latency_max_ms {
                    state.slow_since_ms = None;
                    state.speed_unknown = false;
                } else if was_probe {
                    // It may have sat out a delay that is over now: ask again, with one payment.
                    state.speed_unknown = true;
                } else {
                    state.slow_since_ms = Some(now_ms);
                    state.speed_unknown = false;
                }
            }
        }
    }

    /// Whether `processor` may be sent attempts now, leaving its speed aside.
    ///
    /// Signs of failure are an observed failure streak, or a health report saying `failing` with
    /// no success since. After the latest sign the processor rests `failure_rest_ms`, then is
    /// probed; the first success clears the signs. Probing every second finds a recovery long
    /// before the next health poll could.
    pub fn availability(&self, processor: Processor, now_ms: i64) -> Availability {
        let settings = &self.settings;
        let state = &self.states[processor.index()];
        if state.last_busy_ms > 0 && now_ms - state.last_busy_ms < settings.busy_rest_ms {
            return Availability::Out;
        }
        let reported_failing_at = state.health.and_then(|report| {
            (report.health.failing
                && now_ms - report.polled_at_ms < settings.health_ttl_ms
                && state.last_success_ms < report.polled_at_ms)
                // While the report stands, every failure since is a fresh sign of it.
                .then_some(report.polled_at_ms.max(state.last_failure_ms))
        });
        let streak_failing_at =
            (state.failure_streak >= settings.failure_streak_max).then_some(state.last_failure_ms);
        match reported_failing_at.max(streak_failing_at) {
            None if state.speed_unknown => Availability::Probe,
            None => Availability::Usable,
            Some(latest) if now_ms - latest < settings.failure_rest_ms => Availability::Out,
            Some(_) => Availability::Probe,
        }
    }

    /// Whether `processor` may be sent attempts freely now (it may still be slow).
    pub fn is_usable(&self, processor: Processor, now_ms: i64) -> bool {
        self.availability(processor, now_ms) == Availability::Usable
    }

    /// The response time to expect from `processor` now: the smoothed observations (or the
    /// reported delay), or the latch's infinity after a slow answer.
    pub fn expected_latency_ms(&self, processor: Processor, now_ms: i64) -> f64 {
        let state = &self.states[processor.index()];
        let fresh = now_ms - state.latency_updated_ms < self.settings.health_ttl_ms;
        let estimate = if fresh { state.latency_ms.unwrap_or(0.0) } else { 0.0 };
        let latched =
            state.slow_since_ms.is_some_and(|since| now_ms - since < self.settings.health_ttl_ms);
        if latched {
            f64::INFINITY
        } else {
            estimate
        }
    }

    /// The age of the oldest attempt in flight that started after the newest success (older
    /// ones belong to a past regime), in ms.
    pub fn oldest_inflight_age_ms(&self, processor: Processor, now_ms: i64) -> i64 {
        let state = &self.states[processor.index()];
        state
            .inflight
            .range((state.newest_success_started_ms, 0)..)
            .next()
            .map_or(0, |(started, _)| (now_ms - started).max(0))
    }

    /// How old an attempt may get before the processor is suspected of turning slow:
    /// [`SUSPICION_FACTOR`] times the expected time plus [`SUSPICION_SLACK_MS`], and never more
    /// than `latency_max_ms`. Every payment sent to a processor that has turned slow is a late
    /// record waiting to happen (DESIGN.md §4), so the sooner new payments stop, the fewer are
    /// exposed: a processor answering in 100 ms is suspected after 225 ms, not 1250 ms. One that
    /// really answers in 1000 ms is never suspected before the bound itself.
    pub fn suspicion_age_ms(&self, processor: Processor, now_ms: i64) -> f64 {
        let estimate = self.expected_latency_ms(processor, now_ms);
        (SUSPICION_FACTOR * estimate + SUSPICION_SLACK_MS as f64)
            .min(self.settings.latency_max_ms as f64)
    }

    /// Whether `processor` is usable and fast enough for the audit.
    pub fn is_eligible(&self, processor: Processor, now_ms: i64) -> bool {
        self.is_usable(processor, now_ms)
            && self.expected_latency_ms(processor, now_ms) <= self.settings.latency_max_ms as f64
            && self.oldest_inflight_age_ms(processor, now_ms) as f64
                <= self.suspicion_age_ms(processor, now_ms)
    }

    /// What to do with queued payments now (see the module docs).
    pub fn plan(&mut self, now_ms: i64) -> Plan {
        let (default, fallback) = (Processor::Default, Processor::Fallback);
        if self.is_eligible(default, now_ms) {
            self.default_out_since_ms = None;
            return Plan::Send(default);
        }
        let out_since_ms = *self.default_out_since_ms.get_or_insert(now_ms);
        let fallback_eligible = self.is_eligible(fallback, now_ms);
        // While the dearer fallback takes the payments, every moment the default's recovery goes
        // unnoticed costs money: probe it ten times as often.
        let interval_ms = if fallback_eligible {
            PROBE_INTERVAL_COSTLY_MS
        } else {
            self.settings.failure_rest_ms
        };
        if self.may_probe(default, now_ms, interval_ms) {
            self.states[default.index()].last_probe_ms = now_ms;
            return Plan::Probe(default);
        }
        if fallback_eligible {
            return if now_ms - out_since_ms >= self.settings.hold_max_ms {
                Plan::Send(fallback)
            } else {
                Plan::SendAcceptedBy(fallback, now_ms - self.settings.hold_max_ms)
            };
        }
        if self.may_probe(fallback, now_ms, self.settings.failure_rest_ms) {
            self.states[fallback.index()].last_probe_ms = now_ms;
            return Plan::Probe(fallback);
        }
        Plan::Hold
    }

    /// A probe is due: the processor has rested, and no probe went out in the last
    /// `interval_ms`.
    fn may_probe(&self, processor: Processor, now_ms: i64, interval_ms: i64) -> bool {
        let state = &self.states[processor.index()];
        self.availability(processor, now_ms) == Availability::Probe
            && (state.last_probe_ms == 0 || now_ms - state.last_probe_ms >= interval_ms)
    }
}

#[cfg(test)]
mod tests {
    //! The differential test: random event sequences, both routers, the same answers.

    use proptest::prelude::*;

    use super::super::{self as router, Event};
    use crate::payment::Processor;

    const NOW: i64 = 1_752_150_896_000;

    /// One step of a sequence; time moves forward by `advance_ms` before it.
    #[derive(Clone, Debug)]
    enum Step {
        /// A report polled `age_ms` before now (negative: a clock ahead of ours).
        Report { processor: usize, failing: bool, delay_ms: u64, age_ms: i64 },
        /// An attempt starts now.
        Start { processor: usize },
        /// The attempt in flight at `index` (modulo their number) is answered now.
        Answer { index: usize, outcome: router::PayOutcome },
        /// The dispatcher asks for a plan.
        Plan,
    }

    fn outcome() -> impl Strategy<Value = router::PayOutcome> {
        use router::PayOutcome::*;
        prop_oneof![
            4 => Just(Accepted),
            1 => Just(AlreadyRecorded),
            1 => Just(Busy),
            3 => Just(Failed),
            1 => Just(Refused(400)),
            1 => Just(Unreachable),
            1 => Just(Ambiguous),
        ]
    }

    fn step() -> impl Strategy<Value = (i64, Step)> {
        let delays = prop::sample::select(vec![0u64, 10, 100, 1000, 1250, 1251, 2000, 5000]);
        let advance = prop_oneof![3 => 0i64..30, 2 => 0i64..1500, 1 => 0i64..12_000];
        let step = prop_oneof![
            2 => (0..2usize, any::<bool>(), delays, -50i64..3000).prop_map(
                |(processor, failing, delay_ms, age_ms)| Step::Report {
                    processor, failing, delay_ms, age_ms
                }
            ),
            3 => (0..2usize).prop_map(|processor| Step::Start { processor }),
            3 => (any::<usize>(), outcome()).prop_map(|(index, outcome)| Step::Answer { index, outcome }),
            3 => Just(Step::Plan),
        ];
        (advance, step)
    }

    fn same_plan(new: router::Plan, old: super::Plan) -> bool {
        match (new, old) {
            (router::Plan::Send(a), super::Plan::Send(b)) => a == b,
            (router::Plan::Probe(a), super::Plan::Probe(b)) => a == b,
            (router::Plan::SendAcceptedBy(a, x), super::Plan::SendAcceptedBy(b, y)) => {
                a == b && x == y
            }
            (router::Plan::Hold, super::Plan::Hold) => true,
            _ => false,
        }
    }

    fn run(fees: (u32, u32), steps: &[(i64, Step)]) -> Result<(), TestCaseError> {
        let settings = router::RouterSettings::for_fees(fees.0, fees.1);
        let mut new = router::Router::new(settings);
        let mut old = super::Router::new(super::RouterSettings::for_fees(fees.0, fees.1));
        prop_assert_eq!(old.settings().hold_max_ms, settings.hold_max_ms);
        let mut inflight: Vec<(Processor, router::Attempt, (i64, u64))> = Vec::new();
        let mut now_ms = NOW;
        for (advance_ms, step) in steps {
            now_ms += advance_ms;
            match *step {
                Step::Report { processor, failing, delay_ms, age_ms } => {
                    let processor = Processor::ALL[processor];
                    let health = router::Health { failing, min_response_time: delay_ms };
                    let polled_at_ms = now_ms - age_ms;
                    let report = router::HealthReport { health, polled_at_ms };
                    new.apply(processor, Event::Reported(report), now_ms);
                    old.set_health(processor, super::HealthReport { health, polled_at_ms });
                }
                Step::Start { processor } => {
                    let processor = Processor::ALL[processor];
                    let attempt = new.attempt_started(processor, now_ms);
                    let id = old.attempt_started(processor, now_ms);
                    inflight.push((processor, attempt, (now_ms, id)));
                }
                Step::Answer { index, outcome } => {
                    if inflight.is_empty() {
                        continue;
                    }
                    let (processor, attempt, old_attempt) = inflight.remove(index % inflight.len());
                    new.apply(processor, Event::Answered { attempt, outcome }, now_ms);
                    old.observe(processor, old_attempt, outcome, now_ms);
                }
                Step::Plan => {
                    let (a, b) = (new.plan(now_ms), old.plan(now_ms));
                    prop_assert!(same_plan(a, b), "at +{} ms: {:?} vs {:?}", now_ms - NOW, a, b);
                }
            }
            for processor in Processor::ALL {
                let at = now_ms - NOW;
                let availability = match old.availability(processor, now_ms) {
                    super::Availability::Usable => router::Availability::Usable,
                    super::Availability::Probe => router::Availability::Probe,
                    super::Availability::Out => router::Availability::Out,
                };
                prop_assert_eq!(new.availability(processor, now_ms), availability, "+{}", at);
                prop_assert_eq!(
                    new.is_eligible(processor, now_ms),
                    old.is_eligible(processor, now_ms),
                    "+{}",
                    at
                );
                prop_assert_eq!(
                    new.expected_latency_ms(processor, now_ms),
                    old.expected_latency_ms(processor, now_ms)
                );
                prop_assert_eq!(
                    new.suspicion_age_ms(processor, now_ms),
                    old.suspicion_age_ms(processor, now_ms)
                );
                prop_assert_eq!(
                    new.state(processor).failure_streak(),
                    old.state(processor).failure_streak
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn the_state_machine_plans_what_the_old_router_planned(
            preview in any::<bool>(),
            steps in prop::collection::vec(step(), 1..200),
        ) {
            run(if preview { (500, 1500) } else { (700, 1000) }, &steps)?;
        }
    }
}
