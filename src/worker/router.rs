//! The routing policy: which processor gets the next attempt, or none (hold the payment).
//!
//! A pure state machine. It is told what happened ([`Router::observe`], [`Router::set_health`],
//! [`Router::attempt_started`]) and asked what to do ([`Router::plan`], [`Router::choose`]). The
//! caller always passes `now_ms`, so the unit tests run without a clock. `DESIGN.md` §5 explains
//! the rule and every constant.
//!
//! # The rule in one paragraph
//! A processor is *eligible* when it is usable (no sign of failure, not pushing back with `429`)
//! and *fast*: its expected response time is at most `latency_max_ms`. That bound is below the
//! consistency audit's margin, so a payment is in our books before its `requestedAt` can enter an
//! audited window. The default gets every payment while it is eligible. While it is not, a payment
//! waits for it for at most `hold_max_ms`, counted from the payment's acceptance or from the start
//! of the default's outage, whichever is earlier; after that it goes to an eligible fallback. With
//! no eligible processor, payments wait in the queue. A processor that showed signs of failure is
//! rested for `failure_rest_ms`, then *probed* with one payment at a time until one succeeds.

use std::collections::BTreeSet;

use crate::{
    payment::Processor,
    worker::processor::{Health, PayOutcome},
};

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
    use super::*;
    use Processor::{Default as D, Fallback as F};

    const NOW: i64 = 1_752_150_896_000;
    const PREVIEW_FEES: (u32, u32) = (500, 1500);
    const FINAL_FEES: (u32, u32) = (700, 1000);

    /// A router with the fee-priced hold, uncapped (as `HOLD_MAX_MS` can configure it), so the
    /// tables exercise the hold logic at both fee pairs.
    fn router(fees: (u32, u32)) -> Router {
        let hold_max_ms = hold_max_ms_for_fees(fees.0, fees.1, HOLD_HORIZON_MS);
        Router::new(RouterSettings { hold_max_ms, ..RouterSettings::for_fees(fees.0, fees.1) })
    }

    fn health(failing: bool, min_response_time: u64, polled_at_ms: i64) -> HealthReport {
        HealthReport { health: Health { failing, min_response_time }, polled_at_ms }
    }

    /// Runs one attempt of `latency_ms` ending at `end_ms` with `outcome`.
    fn attempt(
        router: &mut Router,
        processor: Processor,
        outcome: PayOutcome,
        latency_ms: i64,
        end_ms: i64,
    ) {
        let started = end_ms - latency_ms;
        let id = router.attempt_started(processor, started);
        router.observe(processor, (started, id), outcome, end_ms);
    }

    #[test]
    fn hold_bounds_follow_the_fee_difference() {
        assert_eq!(hold_max_ms_for_fees(PREVIEW_FEES.0, PREVIEW_FEES.1, HOLD_HORIZON_MS), 11_764);
        assert_eq!(hold_max_ms_for_fees(FINAL_FEES.0, FINAL_FEES.1, HOLD_HORIZON_MS), 3_333);
        assert_eq!(hold_max_ms_for_fees(1000, 1000, HOLD_HORIZON_MS), 0, "equal fees: never hold");
        assert_eq!(
            hold_max_ms_for_fees(1500, 500, HOLD_HORIZON_MS),
            0,
            "cheaper fallback: never hold"
        );
        let settings = RouterSettings::for_fees(700, 1000);
        assert_eq!(settings.latency_max_ms, 1250);
        assert!(settings.latency_max_ms < AUDIT_MARGIN_MS);
        assert_eq!(
            settings.hold_max_ms, END_GRACE_MS,
            "the default hold is capped by the end grace"
        );
        assert_eq!(RouterSettings::for_fees(1000, 1000).hold_max_ms, 0);
        assert_eq!(
            RouterSettings::for_fees(995, 1000).hold_max_ms,
            55,
            "a tiny saving holds briefly"
        );
    }

    /// One row of the decision table: the conditions, then the plan expected.
    struct Case {
        name: &'static str,
        fees: (u32, u32),
        default: (bool, u64),
        fallback: (bool, u64),
        default_out_for_ms: i64,
        expected: Plan,
    }

    #[test]
    fn decision_table_from_health_reports() {
        let hold_preview = 11_764;
        let hold_final = 3_333;
        let cases = [
            Case {
                name: "both healthy",
                fees: FINAL_FEES,
                default: (false, 0),
                fallback: (false, 0),
                default_out_for_ms: 0,
                expected: Plan::Send(D),
            },
            Case {
                name: "default 1000 ms is still fast",
                fees: FINAL_FEES,
                default: (false, 1000),
                fallback: (false, 0),
                default_out_for_ms: 0,
                expected: Plan::Send(D),
            },
            Case {
                name: "fallback failing, default healthy",
                fees: FINAL_FEES,
                default: (false, 100),
                fallback: (true, 0),
                default_out_for_ms: 0,
                expected: Plan::Send(D),
            },
            Case {
                name: "default failing, young outage, final fees",
                fees: FINAL_FEES,
                default: (true, 0),
                fallback: (false, 0),
                default_out_for_ms: 1000,
                expected: Plan::SendAcceptedBy(F, NOW - hold_final),
            },
            Case {
                name: "default failing, old outage, final fees",
                fees: FINAL_FEES,
                default: (true, 0),
                fallback: (false, 0),
                default_out_for_ms: hold_final,
                expected: Plan::Send(F),
            },
            Case {
                name: "default failing, young outage, preview fees",
                fees: PREVIEW_FEES,
                default: (true, 100),
                fallback: (false, 0),
                default_out_for_ms: 5000,
                expected: Plan::SendAcceptedBy(F, NOW - hold_preview),
            },
            Case {
                name: "default failing, old outage, preview fees",
                fees: PREVIEW_FEES,
                default: (true, 100),
                fallback: (false, 0),
                default_out_for_ms: 12_000,
                expected: Plan::Send(F),
            },
            Case {
                name: "default slow, fallback fast, old outage",
                fees: FINAL_FEES,
                default: (false, 2000),
                fallback: (false, 0),
                default_out_for_ms: 5000,
                expected: Plan::Send(F),
            },
            Case {
                name: "default slow, fallback slow",
                fees: FINAL_FEES,
                default: (false, 2000),
                fallback: (false, 1500),
                default_out_for_ms: 5000,
                expected: Plan::Hold,
            },
            Case {
                name: "default slow, fallback failing",
                fees: FINAL_FEES,
                default: (false, 5000),
                fallback: (true, 0),
                default_out_for_ms: 5000,
                expected: Plan::Hold,
            },
            Case {
                name: "both failing",
                fees: PREVIEW_FEES,
                default: (true, 0),
                fallback: (true, 0),
                default_out_for_ms: 20_000,
                expected: Plan::Hold,
            },
            Case {
                name: "default failing and slow, fallback 1000 ms",
                fees: FINAL_FEES,
                default: (true, 2000),
                fallback: (false, 1000),
                default_out_for_ms: 10_000,
                expected: Plan::Send(F),
            },
            Case {
                name: "equal fees never hold",
                fees: (1000, 1000),
                default: (true, 0),
                fallback: (false, 0),
                default_out_for_ms: 1,
                expected: Plan::Send(F),
            },
        ];
        for case in cases {
            let mut router = router(case.fees);
            let start = NOW - case.default_out_for_ms;
            router.set_health(D, health(case.default.0, case.default.1, start));
            router.set_health(F, health(case.fallback.0, case.fallback.1, start));
            // The outage starts when the router first sees it; the reports stay fresh.
            router.plan(start);
            router.set_health(D, health(case.default.0, case.default.1, NOW - 1));
            router.set_health(F, health(case.fallback.0, case.fallback.1, NOW - 1));
            assert_eq!(router.plan(NOW), case.expected, "{}", case.name);
        }
    }

    #[test]
    fn the_hold_counts_from_the_start_of_the_outage() {
        let mut router = router(FINAL_FEES);
        router.set_health(D, health(true, 0, NOW - 500));
        assert_eq!(router.plan(NOW - 500), Plan::SendAcceptedBy(F, NOW - 500 - 3_333));
        assert_eq!(router.plan(NOW), Plan::SendAcceptedBy(F, NOW - 3_333), "young outage");
        // Still failing (a newer report), the outage is now older than the hold.
        router.set_health(D, health(true, 0, NOW + 2_800));
        assert_eq!(router.plan(NOW + 2_833), Plan::Send(F), "old outage: everything goes");
    }

    #[test]
    fn a_failing_report_rests_the_processor_then_one_payment_probes_it() {
        let mut router = router(PREVIEW_FEES);
        router.set_health(D, health(true, 0, NOW));
        assert_eq!(router.availability(D, NOW + 999), Availability::Out);
        assert_eq!(router.plan(NOW + 999), Plan::SendAcceptedBy(F, NOW + 999 - 11_764));
        assert_eq!(router.availability(D, NOW + 1000), Availability::Probe);
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D), "probe one rest after the report");
        let probe = router.attempt_started(D, NOW + 1000);
        assert_ne!(router.plan(NOW + 1001), Plan::Probe(D), "one probe per rest period");
        router.observe(D, (NOW + 1000, probe), PayOutcome::Failed, NOW + 1002);
        assert_eq!(
            router.availability(D, NOW + 1003),
            Availability::Out,
            "the failed probe rests it"
        );
        assert_eq!(router.plan(NOW + 2002), Plan::Probe(D));
        attempt(&mut router, D, PayOutcome::Accepted, 2, NOW + 2004);
        assert_eq!(router.plan(NOW + 2005), Plan::Send(D), "a successful probe ends the outage");
    }

    #[test]
    fn a_recovered_processor_is_judged_by_its_new_speed_not_its_reported_delay() {
        let mut router = router(FINAL_FEES);
        // Failing with a 5 s delay, as reported; the probe finds it fast again.
        router.set_health(D, health(true, 5000, NOW));
        assert!(!router.is_eligible(D, NOW));
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D), "a failing processor is probed");
        attempt(&mut router, D, PayOutcome::Accepted, 3, NOW + 1003);
        assert!(router.is_eligible(D, NOW + 1004), "the first success starts a new estimate");
        // Failing and slow answers do not feed the estimate: they say nothing of the next regime.
        let mut router = self::router(FINAL_FEES);
        for step in 0..5 {
            attempt(&mut router, D, PayOutcome::Failed, 2000, NOW + step);
        }
        assert_eq!(router.state(D).latency_ms, None);
        assert_eq!(router.state(D).slow_since_ms, None);
    }

    #[test]
    fn both_out_holds_and_both_probing_probes_the_default_first() {
        let mut router = router(PREVIEW_FEES);
        router.set_health(D, health(true, 0, NOW));
        router.set_health(F, health(true, 0, NOW));
        assert_eq!(router.plan(NOW + 1), Plan::Hold);
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
        let probe = router.attempt_started(D, NOW + 1000);
        assert_eq!(router.plan(NOW + 1001), Plan::Probe(F), "the fallback is probed meanwhile");
        router.attempt_started(F, NOW + 1001);
        assert_eq!(router.plan(NOW + 1002), Plan::Hold);
        router.observe(D, (NOW + 1000, probe), PayOutcome::Accepted, NOW + 1010);
        assert_eq!(router.plan(NOW + 1011), Plan::Send(D));
    }

    #[test]
    fn a_probe_that_sat_out_the_old_delay_leads_to_another_probe_not_a_latch() {
        let mut router = router(PREVIEW_FEES);
        router.set_health(D, health(true, 2000, NOW));
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
        // The processor recovers while this probe sleeps; it is stored and answers after 2 s.
        let probe = router.attempt_started(D, NOW + 1000);
        router.observe(D, (NOW + 1000, probe), PayOutcome::Accepted, NOW + 3000);
        assert_eq!(
            router.state(D).slow_since_ms,
            Some(NOW),
            "only the report's latch, not the probe's"
        );
        assert_eq!(router.availability(D, NOW + 3001), Availability::Probe);
        assert_eq!(router.plan(NOW + 3001), Plan::Probe(D), "its speed is asked again");
        attempt(&mut router, D, PayOutcome::Accepted, 20, NOW + 3021);
        assert_eq!(router.plan(NOW + 3022), Plan::Send(D));
        // A slow answer to a probe sent after the recovery: slow for real, latched.
        let mut router = self::router(PREVIEW_FEES);
        router.set_health(D, health(true, 2000, NOW));
        router.plan(NOW + 1000);
        let probe = router.attempt_started(D, NOW + 1000);
        router.observe(D, (NOW + 1000, probe), PayOutcome::Accepted, NOW + 3000);
        router.plan(NOW + 3001);
        let second = router.attempt_started(D, NOW + 3001);
        router.observe(D, (NOW + 3001, second), PayOutcome::Accepted, NOW + 5001);
        assert_eq!(router.state(D).slow_since_ms, Some(NOW + 5001));
        assert!(!router.is_eligible(D, NOW + 5002));
    }

    #[test]
    fn the_default_is_probed_more_often_while_the_fallback_takes_the_payments() {
        let mut router = router(FINAL_FEES);
        router.set_health(D, health(true, 0, NOW));
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
        router.attempt_started(D, NOW + 1000);
        assert_eq!(router.plan(NOW + 1050), Plan::SendAcceptedBy(F, NOW + 1050 - 3_333), "F pays");
        assert_eq!(router.plan(NOW + 1100), Plan::Probe(D), "and the default is probed again");
        // With no fallback to pay, probing once per rest period is enough.
        let mut router = self::router(FINAL_FEES);
        router.set_health(D, health(true, 0, NOW));
        router.set_health(F, health(true, 0, NOW));
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
        router.attempt_started(D, NOW + 1000);
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(F));
        router.attempt_started(F, NOW + 1000);
        assert_eq!(router.plan(NOW + 1100), Plan::Hold);
    }

    #[test]
    fn a_probe_stuck_in_an_old_delay_does_not_hide_a_recovery() {
        let mut router = router(PREVIEW_FEES);
        router.set_health(D, health(true, 2000, NOW));
        assert_eq!(router.plan(NOW + 1000), Plan::Probe(D));
        let stuck = router.attempt_started(D, NOW + 1000);
        // The processor recovers while that probe sleeps in its 2 s delay; the next one goes out.
        assert_eq!(router.plan(NOW + 2000), Plan::Probe(D), "a probe per rest period");
        attempt(&mut router, D, PayOutcome::Accepted, 20, NOW + 2020);
        assert_eq!(router.plan(NOW + 2021), Plan::Send(D), "fast again, despite the stuck probe");
        // The stuck probe finally lands, slow: older evidence than the fast one, so ignored.
        router.observe(D, (NOW + 1000, stuck), PayOutcome::Accepted, NOW + 3000);
        assert_eq!(router.plan(NOW + 3001), Plan::Send(D));
        // But a slow answer to a newer attempt latches it out.
        attempt(&mut router, D, PayOutcome::Accepted, 1500, NOW + 4600);
        assert!(!router.is_eligible(D, NOW + 4601));
    }

    #[test]
    fn a_recovering_default_gets_payments_again() {
        let mut router = router(PREVIEW_FEES);
        router.set_health(D, health(true, 0, NOW));
        assert_eq!(router.plan(NOW + 1), Plan::SendAcceptedBy(F, NOW + 1 - 11_764));
        router.set_health(D, health(false, 0, NOW + 5000));
        assert_eq!(router.plan(NOW + 5001), Plan::Send(D));
        // And the outage clock restarts from zero at the next outage.
        router.set_health(D, health(true, 0, NOW + 10_000));
        assert_eq!(router.plan(NOW + 10_001), Plan::SendAcceptedBy(F, NOW + 10_001 - 11_764));
    }

    #[test]
    fn a_success_after_a_failing_report_clears_it_and_a_stale_report_is_ignored() {
        let mut router = router(FINAL_FEES);
        router.set_health(D, health(true, 0, NOW - 100));
        attempt(&mut router, D, PayOutcome::Accepted, 5, NOW);
        assert!(router.is_eligible(D, NOW + 1));
        let mut router = self::router(FINAL_FEES);
        router.set_health(D, health(true, 0, NOW - 20_000));
        assert!(router.is_eligible(D, NOW));
    }

    #[test]
    fn observed_failures_rest_the_processor_then_it_is_probed_again() {
        let mut router = router(FINAL_FEES);
        for _ in 0..2 {
            attempt(&mut router, D, PayOutcome::Failed, 3, NOW);
        }
        assert!(router.is_eligible(D, NOW), "two failures are not a streak yet");
        attempt(&mut router, D, PayOutcome::Failed, 3, NOW);
        assert!(!router.is_eligible(D, NOW + 1));
        assert_eq!(router.availability(D, NOW + 1000), Availability::Probe, "rest is over: probe");
        assert!(!router.is_eligible(D, NOW + 1000), "probed, not flooded");
        attempt(&mut router, D, PayOutcome::Accepted, 3, NOW + 1003);
        assert_eq!(router.state(D).failure_streak, 0);
        assert!(router.is_eligible(D, NOW + 1004));
    }

    #[test]
    fn busy_is_back_pressure_not_failure() {
        let mut router = router(FINAL_FEES);
        attempt(&mut router, D, PayOutcome::Busy, 1, NOW);
        assert_eq!(router.state(D).failure_streak, 0);
        assert!(!router.is_eligible(D, NOW + 1));
        assert!(router.is_eligible(D, NOW + 250));
    }

    #[test]
    fn an_attempt_in_flight_too_long_makes_the_processor_slow_before_any_answer() {
        let mut router = router(FINAL_FEES);
        router.set_health(D, health(false, 0, NOW - 1));
        let started = NOW;
        let id = router.attempt_started(D, started);
        assert!(router.is_eligible(D, NOW + 100), "within the estimate plus slack");
        assert!(!router.is_eligible(D, NOW + 101), "a processor answering at once, 101 ms late");
        router.observe(D, (started, id), PayOutcome::Accepted, NOW + 1260);
        assert!(router.state(D).inflight.is_empty());
        assert!(!router.is_eligible(D, NOW + 1261), "one slow answer keeps it out");
        router.set_health(D, health(false, 1000, NOW + 1200));
        assert!(
            !router.is_eligible(D, NOW + 1262),
            "a report polled before the slow answer is old news"
        );
        router.set_health(D, health(false, 0, NOW + 2000));
        assert!(router.is_eligible(D, NOW + 2001), "a later report under the bound lets it back");
    }

    #[test]
    fn latency_average_follows_observations_and_a_report_resets_it() {
        let mut router = router(FINAL_FEES);
        for step in 0..30 {
            attempt(&mut router, D, PayOutcome::Accepted, 1100, NOW + step);
        }
        assert!(router.is_eligible(D, NOW + 100), "1100 ms is under the bound");
        for step in 0..30 {
            attempt(&mut router, D, PayOutcome::Accepted, 2000, NOW + step);
        }
        assert!(!router.is_eligible(D, NOW + 100));
        router.set_health(D, health(false, 0, NOW + 100));
        assert!(router.is_eligible(D, NOW + 101));
        for step in 0..30 {
            attempt(&mut router, D, PayOutcome::Accepted, 10, NOW + 200 + step);
        }
        assert!(router.expected_latency_ms(D, NOW + 300) < 20.0);
    }

    #[test]
    fn suspicion_scales_with_the_expected_time_up_to_the_bound() {
        let mut router = router(FINAL_FEES);
        router.set_health(D, health(false, 100, NOW));
        assert_eq!(router.suspicion_age_ms(D, NOW), 225.0);
        router.set_health(D, health(false, 1000, NOW + 1));
        assert_eq!(router.suspicion_age_ms(D, NOW + 1), 1250.0, "capped at the bound");
        let started = NOW + 10;
        router.attempt_started(D, started);
        assert!(router.is_eligible(D, started + 1000), "a 1000 ms processor at 1000 ms is fine");
        assert!(!router.is_eligible(D, started + 1251));
    }

    #[test]
    fn a_stale_slow_estimate_is_forgotten_so_the_processor_is_tried_again() {
        let mut router = router(FINAL_FEES);
        for step in 0..10 {
            attempt(&mut router, D, PayOutcome::Accepted, 5000, NOW + step);
        }
        assert!(!router.is_eligible(D, NOW + 100));
        assert!(!router.is_eligible(D, NOW + 9_000), "fresh evidence of slowness holds");
        assert!(router.is_eligible(D, NOW + 10_010), "no news for a health TTL: probe again");
    }

    #[test]
    fn an_older_report_does_not_replace_a_newer_one() {
        let mut router = router(FINAL_FEES);
        router.set_health(D, health(false, 0, NOW));
        router.set_health(D, health(true, 0, NOW - 1));
        assert_eq!(router.state(D).health, Some(health(false, 0, NOW)));
    }
}
